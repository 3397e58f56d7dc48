// Errors the user can fix. The CLI prints a UserError as one line, `error: <message>`, with no stack, and exits 2;
// anything else is a bug: one line too (exit 1), its stack only with MOD_DEBUG=1.

/** Base of every error caused by the user's input (flags, files, data), not by a bug. One line, no stack. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config key that does not exist, has the wrong type, or is out of range. */
export class ConfigError extends UserError {}

/** A checkpoint directory that is missing, incomplete, corrupt or from an incompatible version. */
export class CheckpointError extends UserError {}

/** Training stopped because the loss, a gradient norm or the weights stopped being finite numbers. */
export class DivergenceError extends UserError {
  constructor(message: string, readonly iteration: number) {
    super(message);
  }
}

/** The machine cannot run what was asked: too little memory, a directory that cannot be written, another run's lock. */
export class ResourceError extends UserError {}
