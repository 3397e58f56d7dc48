// `mod bench decode`: the JSON shape, and the threshold calibration that makes a random MoD model route ~12.5%.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrateForDecode } from '../../src/bench/decode.js';
import { decodeJson, decodeTable } from '../../src/cli/bench.js';
import { Rng } from '../../src/engine/rng.js';
import { modConfigDefaults } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { tinyConfig } from '../sample/fixtures.js';

test('--json is exactly {"decode":[dense, mod with processedFraction]}; the table shows the speedup', () => {
  const rows = [{ variant: 'dense', tokensPerSec: 100.5 }, { variant: 'mod', tokensPerSec: 170, processedFraction: 0.125 }] as const;
  assert.equal(decodeJson(rows), '{"decode":[{"variant":"dense","tokensPerSec":100.5},{"variant":"mod","tokensPerSec":170,"processedFraction":0.125}]}\n');
  assert.match(decodeTable(rows), /mod\s+170\s+1\.69x\s+12\.5 %/);
});

test('calibration makes a random MoD model process about 12.5 % of its own greedy text', () => {
  const cfg = tinyConfig({ blockSize: 64, nLayer: 4, mod: { ...modConfigDefaults, capacity: 0.125, every: 2 } });
  const model = new GPT(cfg, new Rng(3));
  const realised = calibrateForDecode(model, 0.125);
  assert.ok(realised > 0.06 && realised < 0.2, `realised ${realised}`);
  assert.ok(model.routedBlocks().every((b) => b.causalBias !== 0));
});
