// `mod compare` end to end on a tiny budget and a tiny model: every output file, the CSV, equal budgets, the SVGs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { parseCurvesCsv } from '../../src/compare/report.js';
import { OUTPUT_FILES } from '../../src/compare/run.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { trainingFlops } from '../../src/model/flops.js';
import { readLog } from '../../src/train/run-log.js';
import { tempDir, tinyTextFile } from '../train/fixtures/tiny-run.js';
import { checkXml } from './xml.js';

const dir = tempDir('mod-compare-');
const data = tinyTextFile(dir);
const out = path.join(dir, 'cmp');
const BUDGET = 1e9;
const ARGS = [
  'compare', `--budget=${BUDGET}`, '--nLayer=2', '--nHead=2', '--nEmbd=32', '--blockSize=32', '--batchSize=4', '--evalIters=2',
  '--tokenizer=char', `--data=${data}`, '--evals=4', `--out=${out}`,
];
const VARIANTS = ['dense', 'mod', 'random'];
let result = { code: -1, stdout: '', stderr: '' };

before(async () => {
  const io = captureIo();
  const code = await main(ARGS, io);
  result = { code, stdout: io.stdout, stderr: io.stderr };
});

describe('a tiny comparison', () => {
  test('succeeds and writes every file, and a checkpoint and log per run', () => {
    assert.equal(result.code, 0, result.stderr);
    for (const f of Object.values(OUTPUT_FILES)) assert.ok(existsSync(path.join(out, f)), `${f} is missing`);
    for (const v of VARIANTS) {
      const run = path.join(out, 'runs', `${v}-s1337`);
      for (const f of ['config.json', 'model.safetensors', 'log.jsonl', 'train.log']) assert.ok(existsSync(path.join(run, f)), `${v}: ${f} is missing`);
    }
  });

  test('prints progress with the current run, ETA and best val loss per variant, then the table', () => {
    assert.match(result.stdout, /^\[2\/3\] mod-s1337: \d+ steps of /m);
    assert.match(result.stdout, /^\[3\/3 random-s1337\] iter \d+\/\d+ \| \d+% \| ETA \S+ \| best val: dense \d\.\d{4}, mod \d\.\d{4}, random \d\.\d{4} \| val /m);
    assert.match(result.stdout, /^\| mod \| L2 C32 H2, c=0\.125 every 2 \(learned\) \|/m);
  });

  test('curves.csv parses, has the columns, one row per evaluation, monotone in FLOPs per run', () => {
    const text = readFileSync(path.join(out, OUTPUT_FILES.csv), 'utf8');
    assert.equal(text.split('\n')[0], 'variant,seed,iter,trainFlops,tokens,wallMs,trainLoss,valLoss');
    const rows = parseCurvesCsv(text);
    for (const v of VARIANTS) {
      const mine = rows.filter((r) => r.variant === v);
      assert.equal(mine.length, 4, `${v}: 4 evaluations`);
      assert.deepEqual(mine.map((r) => r.iter), readLog(path.join(out, 'runs', `${v}-s1337`)).map((r) => r.iter));
      for (let i = 1; i < mine.length; i++) {
        assert.ok(mine[i]!.trainFlops > mine[i - 1]!.trainFlops, `${v}: FLOPs increase`);
        assert.ok(mine[i]!.tokens > mine[i - 1]!.tokens && mine[i]!.wallMs >= mine[i - 1]!.wallMs);
      }
      for (const r of mine) assert.ok(r.seed === 1337 && r.valLoss > 0 && Number.isFinite(r.valLoss) && r.wallMs > 0);
      // Evaluations at evenly spaced FLOPs: j/4 of the budget, within one step.
      const step = mine[mine.length - 1]!.trainFlops / mine[mine.length - 1]!.iter;
      mine.forEach((r, j) => assert.ok(Math.abs(r.trainFlops - ((j + 1) * BUDGET) / 4) <= step, `${v} eval ${j}`));
    }
  });

  test('every variant spends the same budget within one step (FLOPs counted from its checkpoint config)', () => {
    for (const v of VARIANTS) {
      const run = path.join(out, 'runs', `${v}-s1337`);
      const ckpt = loadCheckpoint(run);
      const perStep = trainingFlops(ckpt.config.model).perSequence * 4;
      const spent = ckpt.meta.iteration * perStep;
      assert.ok(Math.abs(spent - BUDGET) <= perStep, `${v}: spent ${spent}, budget ${BUDGET}, step ${perStep}`);
      assert.equal(ckpt.config.train.lrDecayIters, ckpt.meta.iteration);
      assert.equal(ckpt.config.model.mod?.routing, v === 'dense' ? undefined : v === 'mod' ? 'learned' : 'random');
    }
  });

  test('the loss plots are valid SVG with one line per variant and the variant names', () => {
    for (const f of [OUTPUT_FILES.flops, OUTPUT_FILES.wall]) {
      const svg = readFileSync(path.join(out, f), 'utf8');
      const doc = checkXml(svg);
      assert.equal(doc.root, 'svg');
      const lines = svg.match(/aria-roledescription="line mark"/g) ?? [];
      assert.equal(lines.length, 3, `${f}: one line per variant`);
      for (const v of VARIANTS) assert.match(doc.text, new RegExp(`^${v}$`, 'm'), `${f}: legend entry ${v}`);
      assert.equal((svg.match(/aria-roledescription="point"/g) ?? []).length, 12, `${f}: a point per evaluation`);
    }
  });

  test('the routing heat-map is valid SVG: a cell per token and routed block, a dot per processed token', () => {
    const svg = readFileSync(path.join(out, OUTPUT_FILES.routing), 'utf8');
    assert.equal(checkXml(svg).root, 'svg');
    // blockSize 32 tokens × 1 routed block (layer 1 of 2); k = 0.125 · 32 = 4 processed.
    assert.equal((svg.match(/aria-roledescription="rect mark"/g) ?? []).length, 32);
    assert.equal((svg.match(/aria-roledescription="point"/g) ?? []).length, 4);
    assert.match(svg, />block 1</);
  });

  test('report.md has the table, the causal-routing section, the plots and the commands', () => {
    const md = readFileSync(path.join(out, OUTPUT_FILES.report), 'utf8');
    for (const v of VARIANTS) assert.match(md, new RegExp(`^\\| ${v} \\| `, 'm'));
    assert.match(md, /\| variant \| model \| params \| FLOPs \/ forward \| vs dense \| steps \| training FLOPs \| final val loss \(eval batches\) \| val loss \(whole val split\) \| Δ vs dense \| ms \/ step \| speed vs dense \|/);
    assert.match(md, /^\| dense \| L2 C32 H2 dense \| [\d,]+ \| [\d.]+ MFLOP \| 1\.000 \| \d+ \| [\d.]+ [MG]FLOP \| \d\.\d{4} \| \d\.\d{4} \| — \| [\d.]+ \| 1\.00× \|/m);
    assert.match(md, /## Causal routing/);
    // The causal evaluation of `mod eval`: top-k loss, causal loss, their difference, the rule's accuracy.
    assert.match(md, /^\| mod \| \d\.\d{4} \| \d\.\d{4} \| [+−]\d\.\d{4} \| \d+\.\d % \(\d+\.\d\) \|$/m);
    assert.match(md, /!\[val loss vs training FLOPs\]\(loss-vs-flops\.svg\)/);
    assert.match(md, /!\[routing heat-map\]\(routing\.svg\)/);
    assert.ok(md.includes(`npx mod compare --budget=1000000000 `), 'the compare command');
    assert.match(md, /^npx mod train --preset=brown-small .*--mod\.routing=random .*--maxIters=\d+ /m);
  });

  test('--reuse keeps the finished runs and rewrites the same curves', async () => {
    const csv = readFileSync(path.join(out, OUTPUT_FILES.csv), 'utf8');
    const log = readFileSync(path.join(out, 'runs', 'mod-s1337', 'log.jsonl'), 'utf8');
    const io = captureIo();
    assert.equal(await main([...ARGS, '--reuse'], io), 0, io.stderr);
    assert.match(io.stdout, /^mod-s1337: reusing the finished run in /m);
    assert.doesNotMatch(io.stdout, /val \d\.\d{4} at iter/, 'nothing trained');
    assert.equal(readFileSync(path.join(out, OUTPUT_FILES.csv), 'utf8'), csv);
    assert.equal(readFileSync(path.join(out, 'runs', 'mod-s1337', 'log.jsonl'), 'utf8'), log);
  });
});
