// Writes test/cli/golden/train-session.txt: the output of a sequence of `mod train` / `mod eval` calls (see
// train-output.test.ts), numbers masked. Run from a checkout's root after `npm run build`:
//   node test/cli/golden/make-golden.mjs > test/cli/golden/train-session.txt
// The committed file was made with the code before the trainer became a library function (commit a6e27cb), so the
// test shows the CLI's output did not change.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.cwd();
const load = (p) => import(pathToFileURL(path.join(root, p)).href);
const { captureIo } = await load('dist/src/cli/io.js');
const { main } = await load('dist/src/cli/main.js');
const { tinyArgs, tinyTextFile } = await load('dist/test/train/fixtures/tiny-run.js');
const { recordSession } = await load('dist/test/cli/golden/session.js');

const dir = mkdtempSync(path.join(tmpdir(), 'mod-golden-'));
const data = tinyTextFile(dir);
process.stdout.write(await recordSession(main, captureIo, tinyArgs, data, dir));
