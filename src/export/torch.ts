// A checkpoint as a PyTorch model directory: config.json (the model config, the tokenizer spec and the causal rule's
// thresholds), model.safetensors (the weights under their checkpoint names), and the package's python/ files:
// modeling_mod.py (the model, torch only), train_ddp.py (continued training, torchrun + DDP) and README.md.
import { copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { routedLayers } from '../model/flops.js';
import { encodeSafetensors } from '../train/safetensors.js';
import { type CausalBias, causalBiases, readSource } from './source.js';
import { ensureDir } from '../train/out-dir.js';

export const TORCH_FORMAT = 'mod-torch';
export const TORCH_FILES = ['modeling_mod.py', 'train_ddp.py', 'README.md'] as const;

export interface TorchOptions {
  causalBias?: CausalBias;
}

export interface TorchSummary {
  files: string[];
  tensors: number;
}

/** The package's python/ directory (src/export or dist/src/export → the package root). */
export function pythonDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'python');
    if (existsSync(path.join(candidate, TORCH_FILES[0]))) return candidate;
  }
  throw new Error(`python/${TORCH_FILES[0]} not found above ${fileURLToPath(import.meta.url)}: the package is incomplete`);
}

/** Writes the PyTorch directory of the checkpoint in `ckptDir` into `outDir` (created if needed). */
export function exportTorch(ckptDir: string, outDir: string, opts: TorchOptions = {}): TorchSummary {
  const src = readSource(ckptDir);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new ConfigError(`--out ${outDir} is a file: give a directory for the PyTorch files`);
  const causalBias = causalBiases(opts.causalBias, routedLayers(src.config).length);
  ensureDir(outDir);
  const config = { format: TORCH_FORMAT, formatVersion: 1, model: src.config, tokenizer: src.tokenizer, causalBias };
  writeFileSync(path.join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'model.safetensors'), encodeSafetensors(src.tensors, { format: TORCH_FORMAT }));
  for (const f of TORCH_FILES) copyFileSync(path.join(pythonDir(), f), path.join(outDir, f));
  return { files: ['config.json', 'model.safetensors', ...TORCH_FILES], tensors: src.tensors.size };
}
