// Moving a model's parameters and AdamW's moments in and out of checkpoint tensor maps (for saving, `--resume` and
// loadModel).
import { CheckpointError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { AdamW, AdamWState } from './adamw.js';
import type { TensorMap } from './safetensors.js';

/** The parameters by name, sharing memory with the model (save them before the next update). */
export function parameterTensors(model: Module): TensorMap {
  const map: TensorMap = new Map();
  for (const [name, t] of model.namedParameters()) map.set(name, { data: t.data, shape: t.shape });
  return map;
}

/** The name of the first tensor holding a NaN or an infinity, or null. */
export function firstNonFinite(tensors: TensorMap): string | null {
  for (const [name, t] of tensors) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return name;
  }
  return null;
}

/** Copies `tensors` into the model's parameters; names and shapes must match exactly, and every value be finite. */
export function loadParameters(model: Module, tensors: TensorMap, source: string): void {
  const bad = firstNonFinite(tensors);
  if (bad !== null) {
    throw new CheckpointError(`${source}: tensor ${bad} holds NaN or infinite values (the run that saved it had diverged): `
      + 'use a checkpoint saved before that, or train again with a lower --lr');
  }
  const params = model.namedParameters();
  const expected = new Set(params.map(([name]) => name));
  const extra = [...tensors.keys()].filter((name) => !expected.has(name));
  if (extra.length > 0) throw mismatch(source, `has tensor ${extra[0]} that the model does not have`);
  for (const [name, p] of params) {
    const t = tensors.get(name);
    if (t === undefined) throw mismatch(source, `has no tensor ${name}`);
    if (t.shape.join(',') !== p.shape.join(',')) {
      throw mismatch(source, `tensor ${name} has shape [${t.shape.join(', ')}], the model [${p.shape.join(', ')}]`);
    }
    p.data.set(t.data);
  }
}

function mismatch(source: string, problem: string): CheckpointError {
  return new CheckpointError(`${source}: ${problem}; the weights do not fit the checkpoint's model config: the checkpoint is damaged, train again`);
}

/** AdamW's moments as checkpoint tensors `<param>.m` / `<param>.v`, shaped like their parameters. */
export function optimizerTensors(model: Module, state: AdamWState): TensorMap {
  const map: TensorMap = new Map();
  for (const [name, p] of model.namedParameters()) {
    map.set(`${name}.m`, { data: state.m[name]!, shape: p.shape });
    map.set(`${name}.v`, { data: state.v[name]!, shape: p.shape });
  }
  return map;
}

/** Restores AdamW from checkpoint tensors and its step count. */
export function loadOptimizer(opt: AdamW, tensors: TensorMap, step: number, source: string): void {
  const state: AdamWState = { step, m: {}, v: {} };
  for (const [key, t] of tensors) {
    const match = /^(.*)\.(m|v)$/.exec(key);
    if (match !== null) state[match[2] as 'm' | 'v'][match[1]!] = t.data;
  }
  try {
    opt.importState(state);
  } catch (e) {
    throw new CheckpointError(`${source}: ${(e as Error).message}; the checkpoint is damaged: train again`);
  }
}
