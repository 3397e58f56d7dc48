// Where a command writes: stdout for results, stderr for diagnostics. Injected so tests can capture output.

export interface Io {
  /** Results (stdout). Text is written as given: include the newline. */
  out(text: string): void;
  /** Diagnostics and errors (stderr). */
  err(text: string): void;
  /** Resolves once everything written to `out` has been handed to the OS (stdout may be asynchronous). */
  flush?(): Promise<void>;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  flush: () => new Promise((resolve) => void process.stdout.write('', () => resolve())),
};

/** An Io that records everything, for tests. */
export function captureIo(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(text: string): void {
      io.stdout += text;
    },
    err(text: string): void {
      io.stderr += text;
    },
  };
  return io;
}
