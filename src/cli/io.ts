// Where a command writes: stdout for results, stderr for diagnostics. Injected so tests can capture output.

export interface Io {
  /** Results (stdout). Text is written as given: include the newline. */
  out(text: string): void;
  /** Diagnostics and errors (stderr). */
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
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
