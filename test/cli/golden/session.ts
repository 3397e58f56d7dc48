// The `mod train` / `mod eval` session whose output train-output.test.ts compares with the golden file.

/**
 * A fresh run, a second fresh run into the same directory (--overwrite: a directory holding a checkpoint is refused
 * without it), a resume with nothing to do, a resume with changes. `tinyArgs(...extra)` gives the tiny run's settings
 * with `extra` replacing the same keys.
 */
export function sessionSteps(tinyArgs: (...extra: string[]) => string[], data: string, out: string): string[][] {
  const base = (...extra: string[]): string[] => ['train', ...tinyArgs(...extra), '--data', data, '--out', out];
  return [base(), [...base(), '--overwrite'], [...base(), '--resume'], [...base('--maxIters=9', '--lr=0.02'), '--resume'], ['eval', '--ckpt', out, '--data', data]];
}

/**
 * The output with the temp directory as <DIR>, durations as <T>, throughputs as <R> tok/s and every other number
 * as # (timings, speeds and float rounding vary from run to run and machine to machine).
 */
export function maskOutput(text: string, dir: string): string {
  return text.split(dir).join('<DIR>')
    .replace(/\b(\d+h\d+m|\d+m\d+s|\d+s)\b/g, '<T>')
    .replace(/[\d.]+ [kMG]?tok\/s/g, '<R> tok/s')
    .replace(/\d+(\.\d+)?(e[+-]?\d+)?/g, '#');
}

type Main = (argv: string[], io: CapturedIo) => Promise<number>;
interface CapturedIo {
  stdout: string;
  stderr: string;
  out(text: string): void;
  err(text: string): void;
}

/** Runs the session with `main` (the CLI entry of the build under test) and returns its masked transcript. */
export async function recordSession(main: Main, captureIo: () => CapturedIo, tinyArgs: (...extra: string[]) => string[], data: string, dir: string): Promise<string> {
  let text = '';
  for (const argv of sessionSteps(tinyArgs, data, `${dir}/run`)) {
    const io = captureIo();
    const code = await main(argv, io);
    text += `$ mod ${argv[0]}\n${maskOutput(io.stdout + io.stderr, dir)}exit ${code}\n`;
  }
  return text;
}
