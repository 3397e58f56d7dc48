// The routing of a trained MoD checkpoint on a sample text: for each routed block, the router score of every token
// and whether the block processed it (its top-k), from the routing decisions of one forward pass.
import { noGrad, releaseGraph } from '../engine/autograd.js';
import type { Tokenizer } from '../data/index.js';
import { loadModel } from '../train/load.js';

export interface RoutingCell {
  /** Layer index of the routed block. */
  block: number;
  pos: number;
  /** The token as shown on the axis. */
  token: string;
  score: number;
  selected: boolean;
}

export interface RoutingMap {
  /** The sample's tokens as shown. */
  tokens: string[];
  /** Layer indices of the routed blocks. */
  blocks: number[];
  /** Tokens each routed block processed. */
  k: number;
  cells: RoutingCell[];
}

/** A token as one visible glyph: space ␣, newline ↵, tab →, other control or non-ASCII bytes ·. */
export function showToken(tokenizer: Tokenizer, id: number): string {
  const s = tokenizer.decode([id]);
  if (s === ' ') return '␣';
  if (s === '\n') return '↵';
  if (s === '\t') return '→';
  if (s.length !== 1 || s.charCodeAt(0) < 0x20 || s === '\ufffd') return '·';
  return s;
}

/** The routing of the checkpoint in `dir` on `ids` (one sequence, at most blockSize tokens). */
export function routingMap(dir: string, ids: Int32Array, tokenizer: Tokenizer): RoutingMap {
  const { model } = loadModel(dir);
  const t = ids.length;
  const cells: RoutingCell[] = [];
  const blocks: number[] = [];
  let k = 0;
  const tokens = Array.from(ids, (id) => showToken(tokenizer, id));
  noGrad(() => {
    for (const { layer, topk } of model.forward(ids, 1, t).routing) {
      const { idx, scores } = topk!;
      const chosen = new Set(idx);
      blocks.push(layer);
      k = topk!.k;
      for (let pos = 0; pos < t; pos++) cells.push({ block: layer, pos, token: tokens[pos]!, score: scores.data[pos]!, selected: chosen.has(pos) });
    }
    releaseGraph();
  });
  return { tokens, blocks, k, cells };
}
