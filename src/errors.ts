// Errors the user can fix. The CLI prints a UserError as one line, `error: <message>`, with no stack, and exits 2;
// anything else is a bug and is printed with its stack (exit 1).

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
