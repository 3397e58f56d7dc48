// `mod train` prints exactly what it printed before the trainer became a library function that reports through
// callbacks: a session of fresh, repeated and resumed runs and an eval, numbers masked, against a golden file made
// with the earlier code (golden/make-golden.mjs says how).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { tempDir, tinyArgs, tinyTextFile } from '../train/fixtures/tiny-run.js';
import { recordSession } from './golden/session.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled tests run from dist/test/cli; the golden file stays in the source tree.
const golden = path.join(here.includes(`${path.sep}dist${path.sep}`) ? here.replace(`${path.sep}dist${path.sep}`, path.sep) : here, 'golden', 'train-session.txt');

test('train, train again, resume with nothing to do, resume with changes, eval: the same output as before', async () => {
  const dir = tempDir('mod-golden-');
  const data = tinyTextFile(dir);
  assert.equal(await recordSession(main, captureIo, tinyArgs, data, dir), readFileSync(golden, 'utf8'));
});

test('the comparison can fail: a changed line is caught', () => {
  const expected = readFileSync(golden, 'utf8');
  assert.notEqual(expected.replace('note: resuming with changed train settings', 'note: resuming with new settings'), expected);
  assert.match(expected, /^note: .* holds a checkpoint; this new run replaces it/m);
});
