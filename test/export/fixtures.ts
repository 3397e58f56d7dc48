// Tiny seeded checkpoints for the export tests, and the reference logits of `mod` for them.
import path from 'node:path';
import { ByteTokenizer } from '../../src/data/tokenizer.js';
import { noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { Rng } from '../../src/engine/rng.js';
import { type ModelConfig, modConfigDefaults, type ModConfig } from '../../src/model/config.js';
import { calibrateCausalBias } from '../../src/model/calibrate.js';
import { loadModel } from '../../src/train/load.js';
import type { RoutingMode } from '../../src/model/mod.js';
import { randomModel, tinyConfig, writeCheckpoint } from '../sample/fixtures.js';

export { tempDir } from '../sample/fixtures.js';

export interface Case {
  name: string;
  config: ModelConfig;
  routing: RoutingMode;
}

const mod = (over: Partial<ModConfig> = {}): ModConfig => ({ ...modConfigDefaults, capacity: 0.5, every: 2, predictorHidden: 8, ...over });

/** The cases the issue asks for: dense and MoD (top-k and causal, predictor and aux), learned and RoPE positions. */
export const CASES: Case[] = [
  { name: 'dense, learned positions', config: tinyConfig(), routing: 'topk' },
  { name: 'dense, RoPE, no biases, untied head', config: tinyConfig({ positions: 'rope', bias: false, tiedEmbeddings: false }), routing: 'topk' },
  { name: 'MoD top-k, learned positions', config: tinyConfig({ nLayer: 4, mod: mod() }), routing: 'topk' },
  { name: 'MoD top-k, RoPE, sigmoid weight', config: tinyConfig({ nLayer: 4, positions: 'rope', mod: mod({ routerWeight: 'sigmoid', capacity: 0.25 }) }), routing: 'topk' },
  { name: 'MoD causal (predictor), learned positions', config: tinyConfig({ nLayer: 4, mod: mod() }), routing: 'causal' },
  { name: 'MoD causal (aux), RoPE', config: tinyConfig({ nLayer: 4, positions: 'rope', bias: false, mod: mod({ causal: 'aux' }) }), routing: 'causal' },
];

/** Writes a random model of `cfg` as a checkpoint in root/name and returns the directory. */
export function checkpointOf(root: string, name: string, cfg: ModelConfig, seed: number): string {
  const dir = path.join(root, name.replace(/[^a-z0-9]+/gi, '-'));
  writeCheckpoint(dir, randomModel(cfg, seed), new ByteTokenizer());
  return dir;
}

export interface Reference {
  /** (B, T, V) */
  logits: Float32Array;
  /** Per routed block, the tokens (of B·T) it processed. */
  processed: number[];
  /** Per routed block, the causal rule's threshold. */
  causalBias: number[];
}

/**
 * `mod`'s logits (B, T, V) for ids (B, T) from the checkpoint in `dir`, under `routing`. Under causal routing the
 * thresholds are first calibrated on ids so that each routed block processes half of the tokens (a random model's
 * rule at threshold 0 may process nearly all or none, which would not test the routing).
 */
export function referenceLogits(dir: string, ids: Int32Array, b: number, t: number, routing: RoutingMode): Reference {
  const { model } = loadModel(dir);
  if (routing === 'causal') calibrateCausalBias(model, ids, b, t, 0.5);
  const out = noGrad(() => model.forward(ids, b, t, undefined, routing));
  const logits = Float32Array.from(out.logits.data);
  const processed = out.routing.map((r) => r.processed.reduce((n, p) => n + p.length, 0));
  releaseGraph();
  return { logits, processed, causalBias: model.routedBlocks().map((blk) => blk.causalBias) };
}

/** A MoD config under random routing (no router, a predictor for the causal rule). */
export const randomRoutingConfig = (): ModelConfig => tinyConfig({ nLayer: 4, mod: mod({ routing: 'random' }) });

/**
 * `mod`'s top-k logits (B, T, V) under random routing, and the scores (B, routed blocks, T) it drew: B·T uniform
 * draws per routed block, in layer order, from the model's routing Rng.
 */
export function randomRoutingReference(dir: string, ids: Int32Array, b: number, t: number): { logits: Float32Array; scores: Float32Array } {
  const { model } = loadModel(dir);
  const routed = model.routedBlocks().length;
  const draw = new Rng(0);
  draw.setState(model.routingRng.getState());
  const drawn = Array.from({ length: routed }, () => Float32Array.from({ length: b * t }, () => draw.next()));
  const scores = new Float32Array(b * routed * t);
  for (let i = 0; i < b; i++) for (let j = 0; j < routed; j++) scores.set(drawn[j]!.subarray(i * t, (i + 1) * t), (i * routed + j) * t);
  const logits = noGrad(() => Float32Array.from(model.forward(ids, b, t).logits.data));
  releaseGraph();
  return { logits, scores };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}
