// Shared by `mod train` and `mod info`: help text for the config keys, and printing of a resolved run.
import type { Command } from 'commander';
import { modelConfigSchema } from '../model/config.js';
import { defaultPresetName, getPreset, presetNames } from '../model/presets.js';
import { helpLines, type Plain } from '../model/schema.js';
import { type RunConfig, trainConfigSchema } from '../train/config.js';
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
  let s = `preset ${run.preset}\nmodel\n${formatKeyValues(run.model as unknown as Plain)}`;
  if (withTrain) s += `train\n${formatKeyValues(run.train as unknown as Plain)}`;
  return s;
}
