// Shared by `mod train`, `mod info` and `mod compare`: a run's config resolved from a preset plus command-line
// overrides (nanoGPT's configurator without exec: `--key=value` / `--key value`, typed by the schema), help text
// for the config keys, and printing of a resolved run.
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { checkRoutedBlocks, modelConfigSchema, validateModelConfig } from '../model/config.js';
import { flatKeys, type Plain, type Schema, specOf, unknownKey } from '../model/schema.js';
import { type RunConfig, type TrainRun, trainConfigSchema, validateTrainConfig } from '../train/config.js';
import { defaultPresetName, getPreset, presetNames } from '../train/presets.js';
import { applyOverride, helpLines, type KeyKind, parseValue, splitArgs } from './config-args.js';
import { formatKeyValues } from './format.js';

/** Adds the presets and every config key (with the default preset's values) to a command's --help. */
export function addConfigHelp(cmd: Command, withTrainKeys: boolean, extra: string[] = []): void {
  const preset = getPreset(defaultPresetName);
  const presets = presetNames().map((n) => `  ${n.padEnd(22)}${getPreset(n).description}`);
  const lines = [
    '',
    `Presets (--preset NAME, default ${defaultPresetName}):`,
    ...presets,
    '',
    `Model keys (values of ${defaultPresetName}):`,
    ...helpLines(modelConfigSchema, preset.model as unknown as Plain),
  ];
  if (withTrainKeys) lines.push('', 'Train keys:', ...helpLines(trainConfigSchema, preset.train as unknown as Plain));
  lines.push(...extra, '', 'Settings are --key=value or --key value; booleans also --key alone; nullable keys take null.');
  cmd.addHelpText('after', lines.join('\n'));
}

/** The resolved config as copy-pasteable key=value lines. */
export function formatRun(run: RunConfig, withTrain: boolean): string {
  let s = `preset ${run.preset ?? '(none)'}\nmodel\n${formatKeyValues(run.model as unknown as Plain)}`;
  if (withTrain) s += `train\n${formatKeyValues(run.train as unknown as Plain)}`;
  return s;
}

/** Every override key of a run: train keys and model keys share one flat namespace. */
export const runSchema: Schema = { ...trainConfigSchema, ...modelConfigSchema };

export type RunCommand = 'train' | 'info';

/** Keys that are not config values but options of the command. */
const COMMAND_KEYS: Record<RunCommand, readonly string[]> = { train: ['preset', 'resume', 'overwrite', 'force', 'skipNonFinite'], info: ['preset'] };
/** Command keys that are booleans (`--resume` alone means true). */
const FLAGS = ['resume', 'overwrite', 'force'];

/**
 * Resolves `[--preset NAME] [--key=value | --key value ...]` (and `--resume`, `--overwrite`, `--force`,
 * `--skipNonFinite=N` for train) to a validated run. A key given twice is an error. For `train`, vocabSize is not
 * settable (the tokenizer decides) and a preset that needs a data file must get one.
 */
export function resolveRun(args: readonly string[], command: RunCommand): TrainRun & { preset: string } {
  const extra = COMMAND_KEYS[command];
  const pairs = splitArgs(args, (key) => keyKind(key, extra));
  let presetName = defaultPresetName;
  const flags: Record<string, boolean> = {};
  let skipNonFinite: number | undefined;
  const overrides: Array<[string, string]> = [];
  for (const [key, value] of pairs) {
    if (key === 'preset' && extra.includes(key)) presetName = value;
    else if (FLAGS.includes(key) && extra.includes(key)) flags[key] = parseFlag(key, value);
    else if (key === 'skipNonFinite' && extra.includes(key)) skipNonFinite = parseValue({ type: 'int', min: 0, doc: '' }, value, key) as number;
    else overrides.push([key, value]);
  }
  const preset = getPreset(presetName);
  const model = structuredClone(preset.model) as unknown as Plain;
  const train = structuredClone(preset.train) as unknown as Plain;
  for (const [key, value] of overrides) {
    if (!isKnown(key)) throw unknownKey(key, [...flatKeys(runSchema), ...extra]);
    if (command === 'train' && key === 'vocabSize') {
      throw new ConfigError(`vocabSize=${value} cannot be set for training: the tokenizer decides it (byte: 256; char: the distinct characters of the data)`);
    }
    const root = key.split('.')[0]!;
    if (Object.hasOwn(modelConfigSchema, root)) applyOverride(modelConfigSchema, model, key, value);
    else applyOverride(trainConfigSchema, train, key, value);
  }
  const run = {
    preset: preset.name, model: validateModelConfig(model), train: validateTrainConfig(train), resume: flags.resume === true,
    ...(flags.overwrite === true ? { overwrite: true } : {}),
    ...(flags.force === true ? { force: true } : {}),
    ...(skipNonFinite === undefined ? {} : { skipNonFinite }),
  };
  checkRoutedBlocks(run.model);
  if (command === 'train' && preset.requiresData && run.train.data === null) {
    throw new ConfigError(`preset ${preset.name} needs a training text file: pass --data PATH (${preset.dataHint ?? 'a UTF-8 text file'})`);
  }
  return run;
}

function isKnown(key: string): boolean {
  try {
    specOf(runSchema, key);
    return true;
  } catch {
    return false;
  }
}

function keyKind(key: string, extra: readonly string[]): KeyKind {
  if (FLAGS.includes(key) && extra.includes(key)) return 'flag';
  if (extra.includes(key)) return 'value';
  if (!isKnown(key)) return 'unknown';
  return specOf(runSchema, key).type === 'boolean' ? 'flag' : 'value';
}

function parseFlag(key: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') throw new ConfigError(`${key}='${value}' has the wrong type: must be true or false`);
  return value === 'true';
}
