// `mod sweep` end to end on a tiny corpus: 2 sizes × 2 variants at one tiny budget plus the claim runs, every output
// written; then a sweep stopped part-way (AbortSignal) reuses its finished runs and resumes the stopped one.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { loadDataset } from '../../src/data/index.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { parseSweepArgs } from '../../src/cli/sweep-options.js';
import { SWEEP_FILES, runSweep } from '../../src/sweep/run.js';
import { RUNS_CSV_COLUMNS } from '../../src/sweep/report.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { readLog } from '../../src/train/run-log.js';
import { checkXml } from '../compare/xml.js';
import { tempDir, tinyTextFile } from '../train/fixtures/tiny-run.js';

const dir = tempDir('mod-sweep-');
const data = tinyTextFile(dir);
const BUDGET = 1e9;
const TINY = ['--sizes=L4C16H2,L4C32H2', '--blockSize=32', '--batchSize=4', '--evalIters=2', '--tokenizer=char', `--data=${data}`];

function csvRows(file: string): Array<Record<string, string>> {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [cols[i]!, c])));
}

describe('a tiny sweep', () => {
  const out = path.join(dir, 'sweep');
  let result = { code: -1, stdout: '', stderr: '' };
  before(async () => {
    const io = captureIo();
    const code = await main(['sweep', `--budgets=${BUDGET}`, ...TINY, `--out=${out}`], io);
    result = { code, stdout: io.stdout, stderr: io.stderr };
  });

  test('succeeds and writes every output, and a checkpoint per run', () => {
    assert.equal(result.code, 0, result.stderr);
    for (const f of Object.values(SWEEP_FILES)) assert.ok(existsSync(path.join(out, f)), `${f} is missing`);
    for (const r of csvRows(path.join(out, SWEEP_FILES.csv))) assert.ok(existsSync(path.join(out, 'runs', r.run!, 'model.safetensors')), r.run);
  });

  test('progress covers the whole sweep: runs done of the total (claim runs included) and an ETA', () => {
    assert.match(result.stdout, /4 isoFLOP runs \+ up to 7 claim runs/);
    assert.match(result.stdout, /^\[1\/11\] b1e9\/L4C16H2H?\d*-dense-s1337: \d+ steps/m);
    assert.match(result.stdout, /^\[11\/11 b1e9\/\S+\] iter \d+\/\d+ \| \d+% \| ETA \S+ \|/m);
    assert.match(result.stdout, /^claims at the MoD optimum: 7 more runs/m);
  });

  test('runs.csv: a row per run (4 isoFLOP + claim runs), the budget spent within a step, epochs counted', () => {
    const rows = csvRows(path.join(out, SWEEP_FILES.csv));
    const trainTokens = loadDataset({ data, tokenizer: 'char', blockSize: 32 }).train.length;
    assert.equal(readFileSync(path.join(out, SWEEP_FILES.csv), 'utf8').split('\n')[0], RUNS_CSV_COLUMNS.join(','));
    assert.equal(rows.length, 11);
    const iso = rows.filter((r) => r.arm === 'dense' || (r.arm === 'mod' && r.seed === '1337'));
    assert.deepEqual(new Set(iso.map((r) => `${r.size} ${r.arm}`)), new Set(['L4C16H2 dense', 'L4C16H2 mod', 'L4C32H2 dense', 'L4C32H2 mod']));
    const optimum = rows.find((r) => r.arm === 'random')!.size;
    assert.equal(rows.filter((r) => r.arm === 'random' && r.size === optimum).length, 3, 'claim c: 3 random seeds');
    assert.equal(rows.filter((r) => r.arm === 'mod' && r.size === optimum).length, 3, 'claim c: 3 learned seeds');
    assert.deepEqual(rows.filter((r) => r.arm.startsWith('mod-')).map((r) => r.arm).sort(), ['mod-c0.5', 'mod-every4']);
    for (const r of rows) {
      const ckpt = loadCheckpoint(path.join(out, 'runs', r.run!));
      const perStep = Number(r.trainFlops) / ckpt.meta.iteration;
      assert.ok(Math.abs(Number(r.trainFlops) - BUDGET) <= perStep / 2 + 1, `${r.run}: spent ${r.trainFlops}`);
      assert.equal(Number(r.steps), ckpt.meta.iteration);
      assert.ok(Math.abs(Number(r.epochs) - Number(r.tokens) / trainTokens) < 1e-3, `${r.run}: epochs = tokens / training tokens`);
      assert.equal(r.overfitRisk, Number(r.epochs) > 4 ? 'yes' : 'no');
      assert.ok(Number(r.valLoss) > 0 && Number.isFinite(Number(r.valLoss)));
      assert.equal(r.causalValLoss === '', r.arm === 'dense');
    }
  });

  test('report.md: the claims table a–e with verdicts, the optima, the curves with epochs, the commands', () => {
    const md = readFileSync(path.join(out, SWEEP_FILES.report), 'utf8');
    for (const id of ['a', 'b', 'c', 'd', 'e']) assert.match(md, new RegExp(`^\\| ${id} \\| .* \\| \\*\\*(holds|does not hold|inconclusive)\\*\\* \\|`, 'm'), `claim ${id}`);
    assert.match(md, /^\| c \| .* \| learned \d\.\d{4} ± \d\.\d{4} \(3 seeds\) vs random \d\.\d{4} ± \d\.\d{4} \(3 seeds\) \|/m);
    assert.match(md, /^\| 1\.0e\+9 \| dense \| [\d.]+k \| \d\.\d{4} \| n\/a \(1 seed\) \| lowest point \(fewer than 3 sizes\) \| L4C(16|32)H2 \| \d+ \| [\d.]+ \|/m);
    assert.match(md, /^\| L4C32H2 \| L4 C32 H2 \| [\d,]+ \| \d+ \| [\d.]+( ⚠)? \| \d\.\d{4} \| \d+ \|/m);
    assert.match(md, /!\[isoFLOP curves\]\(isoflop\.svg\)/);
    assert.ok(md.includes(`npx mod sweep --budgets=${BUDGET} --sizes=L4C16H2,L4C32H2`));
    assert.match(md, /^npx mod train --preset=brown-small .*--mod\.routing=random /m);
    assert.match(result.stdout, /^\| c \| /m, 'the claims table is printed');
  });

  test('the plots are valid SVG: points, fitted curves (none with 2 sizes) and optima per variant', () => {
    const iso = readFileSync(path.join(out, SWEEP_FILES.isoflop), 'utf8');
    assert.equal(checkXml(iso).root, 'svg');
    // 2 sizes × 2 variants as points, 2 optima marks.
    assert.equal((iso.match(/aria-roledescription="point"/g) ?? []).length, 6);
    for (const v of ['dense', 'mod']) assert.match(checkXml(iso).text, new RegExp(`^${v}$`, 'm'));
    const opt = readFileSync(path.join(out, SWEEP_FILES.optimum), 'utf8');
    assert.equal(checkXml(opt).root, 'svg');
    assert.equal((opt.match(/aria-roledescription="line mark"/g) ?? []).length, 2, 'a line per variant');
  });
});

describe('a stopped sweep', () => {
  test('resumes: finished runs are reused untouched, the stopped run continues from its checkpoint', async () => {
    const out = path.join(dir, 'stopped');
    const opts = parseSweepArgs([`--budgets=${BUDGET}`, ...TINY, '--claim-seeds=0', `--out=${out}`]);
    const controller = new AbortController();
    const first = await runSweep(opts, {
      signal: controller.signal,
      benchRepeats: 1,
      onStep: () => undefined,
      onRunStart: (i) => {
        if (i === 2) setImmediate(() => controller.abort());
      },
    });
    assert.equal(first.aborted, true);
    const stoppedDir = path.join(out, 'runs', 'b1e9', 'L4C32H2-dense-s1337');
    const stoppedAt = loadCheckpoint(stoppedDir).meta.iteration;
    const finishedLog = path.join(out, 'runs', 'b1e9', 'L4C16H2-mod-s1337', 'log.jsonl');
    const mtime = statSync(finishedLog).mtimeMs;
    const log = readFileSync(finishedLog, 'utf8');

    const seen = { reused: [] as number[], resumed: [] as Array<[number, number]>, started: [] as number[] };
    const second = await runSweep({ ...opts, resume: true }, {
      benchRepeats: 1,
      onRunReused: (i) => seen.reused.push(i),
      onRunResumed: (i, iter) => seen.resumed.push([i, iter]),
      onRunStart: (i) => seen.started.push(i),
    });
    assert.equal(second.aborted, false);
    assert.deepEqual(seen.reused, [0, 1]);
    assert.deepEqual(seen.resumed, [[2, stoppedAt]]);
    assert.ok(stoppedAt > 0 && stoppedAt < loadCheckpoint(stoppedDir).config.train.maxIters, `stopped part-way at ${stoppedAt}`);
    assert.deepEqual(seen.started, [0, 1, 2, 3]);
    assert.equal(readFileSync(finishedLog, 'utf8'), log);
    assert.equal(statSync(finishedLog).mtimeMs, mtime, 'the finished run was not touched');
    const ckpt = loadCheckpoint(stoppedDir);
    assert.equal(ckpt.meta.iteration, ckpt.config.train.maxIters);
    assert.deepEqual(readLog(stoppedDir).map((r) => r.iter), [...new Set(readLog(stoppedDir).map((r) => r.iter))].sort((a, b) => a - b));
    for (const f of Object.values(SWEEP_FILES)) assert.ok(existsSync(path.join(out, f)));
    assert.equal(csvRows(path.join(out, SWEEP_FILES.csv)).length, 4);
  });

  test('the runs directory spelled another way holds the same runs; a run trained anew and stopped is resumed, not reused', async () => {
    const out = path.join(dir, 'respelled');
    const opts = parseSweepArgs([`--budgets=${BUDGET}`, ...TINY, '--claim-seeds=0', `--out=${out}`]);
    assert.equal((await runSweep(opts, { benchRepeats: 1 })).aborted, false);
    const reused: number[] = [];
    const relative = path.relative(process.cwd(), opts.runsDir);
    assert.notEqual(relative, opts.runsDir);
    await runSweep({ ...opts, runsDir: relative, resume: true }, { benchRepeats: 1, onRunReused: (i) => reused.push(i) });
    assert.deepEqual(reused, [0, 1, 2, 3]);

    // Without --resume the first run is trained anew; stopped after one step, its old summary must be gone.
    const controller = new AbortController();
    const anew = await runSweep({ ...opts, resume: false }, { benchRepeats: 1, signal: controller.signal, onStep: () => controller.abort() });
    assert.equal(anew.aborted, true);
    const seen = { reused: [] as number[], resumed: [] as Array<[number, number]> };
    await runSweep({ ...opts, resume: true }, {
      benchRepeats: 1,
      onRunReused: (i) => seen.reused.push(i),
      onRunResumed: (i, iter) => seen.resumed.push([i, iter]),
    });
    assert.deepEqual(seen.resumed, [[0, 1]]);
    assert.deepEqual(seen.reused, [1, 2, 3]);
  });

  test('--max-epochs: runs planned past it are not trained, and the report says which', async () => {
    const out = path.join(dir, 'max-epochs');
    const opts = parseSweepArgs([`--budgets=${BUDGET}`, ...TINY, '--claim-seeds=0', `--out=${out}`]);
    const epochs = (await runSweep(opts, { benchRepeats: 1 })).runs.map((r) => r.epochs);
    // Between the smallest dense run's epochs and the next: only runs with fewer epochs stay.
    const sorted = [...epochs].sort((a, b) => a - b);
    const cut = (sorted[0]! + sorted[1]!) / 2;
    const notices: string[] = [];
    const result = await runSweep({ ...opts, maxEpochs: cut, resume: true }, { benchRepeats: 1, onNotice: (m) => notices.push(m) });
    assert.equal(result.runs.length, 1);
    assert.ok(result.runs[0]!.epochs <= cut);
    assert.equal(notices.filter((m) => / skipped, [0-9.]+ epochs is past --max-epochs=/.test(m)).length, 3);
    assert.match(result.report!, /Not trained, because they would have run past `--max-epochs=[0-9.]+` \(epochs in brackets\): b1e9\//);
    assert.equal(csvRows(path.join(out, SWEEP_FILES.csv)).length, 1);
  });
});
