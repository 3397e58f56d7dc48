import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, UserError } from '../../src/errors.js';
import { isRouted, type ModConfig, type ModelConfig, modConfigDefaults, modConfigSchema, modelConfigSchema, validateModelConfig } from '../../src/model/config.js';
import { forwardFlops, routedLayers } from '../../src/model/flops.js';
import { Block, GPT } from '../../src/model/gpt.js';
import { RoutedBlock } from '../../src/model/mod.js';
import { Rng } from '../../src/engine/rng.js';
import { getPreset, presetNames } from '../../src/train/presets.js';
import { applyOverride, helpLines, splitArgs } from '../../src/cli/config-args.js';
import { resolveRun } from '../../src/cli/run-config.js';
import { editDistance, type Plain, type Schema, suggest, validateObject } from '../../src/model/schema.js';
import { trainConfigSchema, validateTrainConfig } from '../../src/train/config.js';

/** The message of the ConfigError that fn throws. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.ok(e instanceof UserError);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

const base = (): ModelConfig => getPreset('brown-small').model;

describe('model config validation', () => {
  it('accepts every preset', () => {
    for (const name of presetNames()) {
      const p = getPreset(name);
      assert.deepEqual(validateModelConfig(p.model), p.model);
      assert.deepEqual(validateTrainConfig(p.train), p.train);
    }
  });

  it('names an unknown key and suggests the closest', () => {
    const msg = configError(() => validateModelConfig({ ...base(), nLayers: 4 }));
    assert.equal(msg, "unknown config key 'nLayers'; did you mean 'nLayer'?");
  });

  it('names a missing key', () => {
    const { nHead: _, ...rest } = base();
    assert.match(configError(() => validateModelConfig(rest)), /missing key nHead \(an integer >= 1\)/);
  });

  it('rejects a bad enum value, listing the allowed ones', () => {
    assert.equal(configError(() => validateModelConfig({ ...base(), positions: 'rotary' })), "positions='rotary' is not allowed: must be one of learned, rope");
  });

  it('rejects an out-of-range value, giving the range', () => {
    assert.equal(configError(() => validateModelConfig({ ...base(), nLayer: 0 })), 'nLayer=0 is out of range: must be an integer >= 1');
    assert.equal(configError(() => validateModelConfig({ ...base(), mlpRatio: 0 })), 'mlpRatio=0 is out of range: must be a number > 0');
  });

  it('rejects a wrong type', () => {
    assert.equal(configError(() => validateModelConfig({ ...base(), nLayer: '4' })), "nLayer='4' has the wrong type: must be an integer >= 1");
    assert.equal(configError(() => validateModelConfig({ ...base(), nLayer: 2.5 })), 'nLayer=2.5 has the wrong type: must be an integer >= 1');
    assert.equal(configError(() => validateModelConfig({ ...base(), bias: 1 })), 'bias=1 has the wrong type: must be true or false');
  });

  it('checks the cross-key constraints', () => {
    assert.match(configError(() => validateModelConfig({ ...base(), nEmbd: 130 })), /nEmbd=130 is not divisible by nHead=4/);
    assert.match(configError(() => validateModelConfig({ ...base(), nEmbd: 12, nHead: 4, positions: 'rope' })), /rope' needs an even head size.*= 3/);
    assert.doesNotThrow(() => validateModelConfig({ ...base(), nEmbd: 12, nHead: 3, positions: 'rope' }));
    assert.match(configError(() => validateModelConfig({ ...base(), mlpRatio: 2.001 })), /non-integer MLP width/);
    assert.equal(validateModelConfig({ ...base(), nEmbd: 12, nHead: 4, positions: 'learned' }).nEmbd, 12, 'an odd head size is fine without rope');
    assert.equal(validateModelConfig({ ...base(), nEmbd: 8, nHead: 2, mlpRatio: 0.125 }).mlpRatio, 0.125, 'an MLP width of 1 is allowed');
  });
});

describe('train config validation', () => {
  const train = () => getPreset('brown-small').train;
  it('checks ranges and cross-key constraints', () => {
    assert.equal(configError(() => validateTrainConfig({ ...train(), beta2: 1 })), 'beta2=1 is out of range: must be a number in [0, 1)');
    assert.equal(configError(() => validateTrainConfig({ ...train(), minLr: 0.1 })), 'minLr=0.1 is out of range: must be <= lr=0.002');
    assert.match(configError(() => validateTrainConfig({ ...train(), warmupIters: 5000 })), /warmupIters=5000 .* lrDecayIters=3000/);
    assert.equal(configError(() => validateTrainConfig({ ...train(), tokenizer: 'bytes' })), "tokenizer='bytes' is not allowed: must be one of byte, char; did you mean 'byte'?");
    assert.equal(configError(() => validateTrainConfig({ ...train(), out: null })), 'out=null is not allowed: must be a string');
  });
});

describe('override parsing', () => {
  it('splits --key=value, --key value and bare boolean flags', () => {
    const kind = (k: string) => (k === 'bias' ? 'flag' : k === 'lr' || k === 'out' || k === 'minLr' ? 'value' : 'unknown');
    assert.deepEqual(splitArgs(['--lr=1e-3', '--out', 'dir', '--bias', '--minLr', '-1'], kind), [
      ['lr', '1e-3'],
      ['out', 'dir'],
      ['bias', 'true'],
      ['minLr', '-1'],
    ]);
    assert.match(configError(() => splitArgs(['--lr=1e-3', '--bias', '--lr', '-1'], kind)), /^--lr is given twice \('1e-3' and '-1'\): give it once$/);
    assert.deepEqual(splitArgs(['--bias', 'false', '--out=a=b'], kind), [['bias', 'false'], ['out', 'a=b']]);
    assert.match(configError(() => splitArgs(['--lr'], kind)), /--lr needs a value/);
    assert.match(configError(() => splitArgs(['stray'], kind)), /unexpected argument 'stray'/);
  });

  it('types values by the schema and applies them over the preset', () => {
    const run = resolveRun(['--maxIters=2000', '--evalInterval', '250', '--lr=1e-3', '--batchSize=12', '--seed=1', '--out', 'runs/x', '--data', 'a.txt', '--nLayer=2', '--bias', '--positions=rope', '--resume'], 'train');
    assert.equal(run.preset, 'brown-small');
    assert.equal(run.train.maxIters, 2000);
    assert.equal(run.train.evalInterval, 250);
    assert.equal(run.train.lr, 0.001);
    assert.equal(run.train.batchSize, 12);
    assert.equal(run.train.seed, 1);
    assert.equal(run.train.out, 'runs/x');
    assert.equal(run.train.data, 'a.txt');
    assert.equal(run.model.nLayer, 2);
    assert.equal(run.model.bias, true);
    assert.equal(run.model.positions, 'rope');
    assert.equal(run.resume, true);
  });

  it('takes the preset from anywhere in the arguments, null for nullable keys; a key given twice is an error', () => {
    const run = resolveRun(['--nLayer=3', '--preset', 'shakespeare-char-cpu', '--data=null'], 'info');
    assert.equal(run.preset, 'shakespeare-char-cpu');
    assert.equal(run.model.nLayer, 3);
    assert.equal(run.train.data, null);
    assert.equal(run.resume, false);
    assert.equal(configError(() => resolveRun(['--nLayer=2', '--preset', 'shakespeare-char-cpu', '--nLayer=3'], 'info')), "--nLayer is given twice ('2' and '3'): give it once");
    assert.equal(configError(() => resolveRun(['--resume', '--resume=false'], 'train')), "--resume is given twice ('true' and 'false'): give it once");
  });

  it('gives one-line errors for unknown keys, bad types and ranges', () => {
    assert.equal(configError(() => resolveRun(['--nLayers=4'], 'train')), "unknown config key 'nLayers'; did you mean 'nLayer'?");
    assert.equal(configError(() => resolveRun(['--learningRate=1'], 'train')), "unknown config key 'learningRate'");
    assert.equal(configError(() => resolveRun(['--nLayer=four'], 'train')), "nLayer='four' has the wrong type: must be an integer >= 1");
    assert.equal(configError(() => resolveRun(['--lr', '-1'], 'train')), 'lr=-1 is out of range: must be a number > 0');
    assert.equal(configError(() => resolveRun(['--bias=yes'], 'train')), "bias='yes' has the wrong type: must be true or false");
    assert.equal(configError(() => resolveRun(['--positions=ROPE'], 'train')), "positions='ROPE' is not allowed: must be one of learned, rope; did you mean 'rope'?");
    assert.equal(configError(() => resolveRun(['--lr='], 'train')), "lr='' has the wrong type: must be a number > 0");
    assert.equal(configError(() => resolveRun(['--out=null'], 'train')), 'out=null is not allowed: must be a string');
  });

  it('rejects --resume for info and --vocabSize for train, and a data-less shakespeare-char-cpu run', () => {
    assert.match(configError(() => resolveRun(['--resume'], 'info')), /unknown config key 'resume'/);
    assert.match(configError(() => resolveRun(['--vocabSize=65'], 'train')), /vocabSize=65 cannot be set for training: the tokenizer decides/);
    assert.equal(resolveRun(['--vocabSize=65'], 'info').model.vocabSize, 65);
    assert.match(configError(() => resolveRun(['--preset=shakespeare-char-cpu'], 'train')), /needs a training text file: pass --data PATH/);
    assert.equal(resolveRun(['--preset=shakespeare-char-cpu', '--data', 'input.txt'], 'train').train.data, 'input.txt');
    assert.match(configError(() => resolveRun(['--preset=shakespear'], 'train')), /unknown preset 'shakespear'; did you mean 'shakespeare-char-cpu'\?/);
  });
});

describe('the mod section of the real model schema', () => {
  const dense = (): Plain => ({ ...(base() as unknown as Plain) });
  const withMod = (mod: Partial<ModConfig>): ModelConfig => ({ ...base(), mod: { ...modConfigDefaults, ...mod } });

  it('validates present and absent sections with dotted keys in messages', () => {
    assert.deepEqual(validateModelConfig(base()), base());
    assert.deepEqual(validateModelConfig({ ...base(), mod: null }), base());
    assert.deepEqual(validateModelConfig(withMod({ capacity: 0.5, routing: 'random' })).mod, { ...modConfigDefaults, capacity: 0.5, routing: 'random' });
    assert.equal(configError(() => validateModelConfig(withMod({ capacity: 2 }))), 'mod.capacity=2 is out of range: must be a number in (0, 1]');
    assert.equal(configError(() => validateModelConfig({ ...base(), mod: { ...modConfigDefaults, capacty: 0.5 } })), "unknown config key 'mod.capacty'; did you mean 'mod.capacity'?");
    assert.equal(configError(() => validateModelConfig(withMod({ every: 0 }))), 'mod.every=0 is out of range: must be an integer >= 1');
    assert.match(configError(() => validateModelConfig({ ...base(), mod: { ...modConfigDefaults, routing: 'expert' } })), /mod.routing='expert' is not allowed: must be one of learned, random/);
  });

  it('every key, the mod section\'s included, has a help line; every enum value of the mod section validates', () => {
    const specs = [...Object.entries(modelConfigSchema), ...Object.entries(modConfigSchema).map(([k, v]) => [`mod.${k}`, v] as const)];
    for (const [key, spec] of specs) assert.ok(spec.doc.length > 10, `${key} has a doc`);
    for (const [key, spec] of Object.entries(modConfigSchema)) {
      if (spec.type !== 'enum') continue;
      for (const value of spec.values) {
        const mod = { ...modConfigDefaults, [key]: value, ...(value === 'random' ? { causal: 'predictor' } : {}) };
        assert.equal(validateModelConfig({ ...base(), mod }).mod![key as keyof ModConfig], value);
      }
    }
  });

  it('only a mod section without `causal` is legacy: one with `causal` must give every key', () => {
    const { auxWeight: _, ...noAux } = modConfigDefaults;
    assert.equal(configError(() => validateModelConfig({ ...base(), mod: noAux })), 'section mod is missing key mod.auxWeight (a number >= 0)');
  });

  it('a config or mod section that is not an object is a ConfigError, not a TypeError', () => {
    assert.equal(configError(() => validateModelConfig(null)), 'config must be an object, got null');
    assert.equal(configError(() => validateModelConfig('x')), "config must be an object, got 'x'");
    assert.equal(configError(() => validateModelConfig({ ...base(), mod: [] })), 'section mod must be an object, got []');
    assert.equal(configError(() => validateModelConfig({ ...base(), mod: 'x' })), "section mod must be an object, got 'x'");
  });

  it('applies --mod.key overrides, creating the section from its defaults, and --mod=null removes it', () => {
    const obj = dense();
    applyOverride(modelConfigSchema, obj, 'mod.capacity', '0.25');
    assert.deepEqual(obj.mod, { ...modConfigDefaults, capacity: 0.25 });
    assert.deepEqual(validateModelConfig(obj).mod, { ...modConfigDefaults, capacity: 0.25 });
    applyOverride(modelConfigSchema, obj, 'mod', 'null');
    assert.deepEqual(obj, dense());
    assert.equal(configError(() => applyOverride(modelConfigSchema, obj, 'mod.capasity', '1')), "unknown config key 'mod.capasity'; did you mean 'mod.capacity'?");
    assert.equal(configError(() => applyOverride(modelConfigSchema, obj, 'nLayer.x', '1')), "unknown config key 'nLayer.x'; did you mean 'nLayer'?");
    assert.equal(configError(() => applyOverride(modelConfigSchema, obj, 'mod.capacity', '0')), 'mod.capacity=0 is out of range: must be a number in (0, 1]');
  });
});

/** Bad capacities accepted and good ones rejected by `validate` (ModelConfig with a mod section → config). */
function capacityRangeErrors(validate: (value: unknown) => unknown): string[] {
  const errors: string[] = [];
  const tryCapacity = (c: number): boolean => {
    try {
      validate({ ...base(), mod: { ...modConfigDefaults, capacity: c } });
      return true;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const want = `mod.capacity=${c} is out of range: must be a number in (0, 1]`;
      if (e.message !== want) errors.push(`said '${e.message}' instead of '${want}'`);
      return false;
    }
  };
  for (const c of [0, -0.125, -1, 1.0000001, 1.5, 2]) if (tryCapacity(c)) errors.push(`accepted ${c}`);
  for (const c of [1e-6, 0.125, 0.5, 0.999, 1]) if (!tryCapacity(c)) errors.push(`rejected ${c}`);
  return errors;
}

/** Layers a config marks routed by `routed`, for every = 1, 2, 3 over 1, 4 and 5 layers, against the README's rule. */
function blockZeroErrors(routed: (cfg: ModelConfig, layer: number) => boolean): string[] {
  const errors: string[] = [];
  for (const every of [1, 2, 3]) {
    for (const nLayer of [1, 4, 5]) {
      const cfg: ModelConfig = { ...base(), nLayer, mod: { ...modConfigDefaults, every } };
      // Routed: every `every`-th block, i % every == every − 1, except block 0, which is always full.
      const want = Array.from({ length: nLayer }, (_, l) => l).filter((l) => l > 0 && l % every === every - 1);
      const got = Array.from({ length: nLayer }, (_, l) => l).filter((l) => routed(cfg, l));
      if (got.join() !== want.join()) errors.push(`every ${every}, ${nLayer} layers: routed ${got.join()} instead of ${want.join()}`);
    }
  }
  return errors;
}

describe('Mixture-of-Depths config claims', () => {
  it('0 < capacity <= 1 in the real schema (a widened range fails the check)', () => {
    assert.deepEqual(capacityRangeErrors(validateModelConfig), []);
    assert.deepEqual(modConfigSchema.capacity, { ...modConfigSchema.capacity, min: 0, max: 1, minExclusive: true });
    // Control: the same model schema with capacity allowed in [0, 2].
    const widened: Schema = { ...modelConfigSchema, mod: { ...modelConfigSchema.mod, fields: { ...modConfigSchema, capacity: { type: 'number', min: 0, max: 2, doc: 'wide' } } } };
    const errors = capacityRangeErrors((v) => validateObject(widened, v));
    assert.deepEqual(errors.filter((e) => e.startsWith('accepted')), ['accepted 0', 'accepted 1.0000001', 'accepted 1.5', 'accepted 2']);
  });

  it('block 0 is always full, even with every = 1 (dropping the layer > 0 rule fails the check)', () => {
    assert.deepEqual(blockZeroErrors(isRouted), []);
    assert.equal(isRouted(base(), 1), false, 'a dense config routes nothing');
    assert.equal(isRouted({ ...base(), mod: null }, 1), false);
    const broken = (cfg: ModelConfig, layer: number): boolean => cfg.mod != null && layer % cfg.mod.every === cfg.mod.every - 1;
    assert.ok(blockZeroErrors(broken).length >= 3, 'control: routing block 0 is caught');
    // The model and the FLOP count follow the same rule: with every = 1, block 0 is a dense Block on all T tokens.
    const cfg: ModelConfig = { ...base(), nLayer: 3, nEmbd: 32, nHead: 2, blockSize: 16, mod: { ...modConfigDefaults, every: 1, capacity: 0.25 } };
    const model = new GPT(cfg, new Rng(1));
    assert.deepEqual(model.h.map((blk) => blk instanceof RoutedBlock), [false, true, true]);
    assert.ok(model.h[0] instanceof Block);
    assert.deepEqual(routedLayers(cfg), [1, 2]);
    assert.deepEqual(forwardFlops(cfg, 16).blocks.map((blk) => blk.tokens), [16, 4, 4]);
  });
});

describe('schema helpers', () => {
  it('edit distance and suggestions', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(suggest('nlayer', ['nLayer', 'nHead']), 'nLayer');
    assert.equal(suggest('zzz', ['nLayer', 'nHead']), null);
    assert.equal(suggest('shakes', ['brown-small', 'shakespeare-char-cpu']), 'shakespeare-char-cpu');
  });

  it('model and train keys do not collide, and help lists every key', () => {
    const model = Object.keys(modelConfigSchema);
    const train = Object.keys(trainConfigSchema);
    assert.deepEqual(model.filter((k) => train.includes(k)), []);
    const p = getPreset('brown-small');
    const help = [...helpLines(modelConfigSchema, p.model as unknown as Plain), ...helpLines(trainConfigSchema, p.train as unknown as Plain)].join('\n');
    for (const k of [...model, ...train]) assert.match(help, new RegExp(`--${k}[=.]`));
  });
});

describe('presets', () => {
  it("shakespeare-char-cpu is nanoGPT's CPU recipe exactly", () => {
    const p = getPreset('shakespeare-char-cpu');
    assert.deepEqual(p.model, {
      vocabSize: 65,
      blockSize: 64,
      nLayer: 4,
      nHead: 4,
      nEmbd: 128,
      mlpRatio: 4,
      bias: false,
      tiedEmbeddings: true,
      positions: 'learned',
    });
    const t = p.train;
    assert.deepEqual(
      [t.batchSize, t.lr, t.minLr, t.lrSchedule, t.lrDecayIters, t.maxIters, t.warmupIters, t.beta1, t.beta2, t.weightDecay, t.gradClip, t.tokenizer, t.evalInterval, t.evalIters, t.gradAccumSteps],
      [12, 1e-3, 1e-4, 'cosine', 2000, 2000, 100, 0.9, 0.99, 0.1, 1.0, 'char', 250, 20, 1],
    );
    assert.equal(p.requiresData, true);
    assert.equal(t.data, null);
  });

  it('brown-small is a byte-level run on the Brown corpus', () => {
    const p = getPreset('brown-small');
    assert.equal(p.train.tokenizer, 'byte');
    assert.equal(p.train.data, null);
    assert.equal(p.model.vocabSize, 256);
    assert.equal(resolveRun([], 'train').preset, 'brown-small');
  });

  it('getPreset returns a copy', () => {
    getPreset('brown-small').model.nLayer = 99;
    assert.equal(getPreset('brown-small').model.nLayer, 4);
  });
});
