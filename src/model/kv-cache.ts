// The key/value cache of incremental decoding: one LayerCache (src/nn/layer-cache.ts) per layer and per sequence.
// Every layer keeps its own length: a Mixture-of-Depths block that skips a token never caches it, so a layer's
// length may differ from other layers' and from the sequence position; attention reads only the cached rows, so a
// skipped token is invisible to that block, as it is in the batched forward.
import { LayerCache } from '../nn/layer-cache.js';
import type { ModelConfig } from './config.js';

export class KVCache {
  /** layers[l][b]: layer l's cache of sequence b. */
  readonly layers: LayerCache[][];
  /** Per sequence: the position of its next token, i.e. the tokens of the current window fed so far. */
  readonly nextPos: Int32Array;

  constructor(nLayer: number, readonly batch: number, readonly capacity: number, readonly width: number) {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`KV cache: batch ${batch} must be an integer >= 1`);
    this.layers = [];
    for (let l = 0; l < nLayer; l++) this.layers.push(Array.from({ length: batch }, () => new LayerCache(capacity, width)));
    this.nextPos = new Int32Array(batch);
  }

  /** A cache for `batch` sequences of up to blockSize tokens of a model with this config. */
  static forModel(config: ModelConfig, batch = 1): KVCache {
    return new KVCache(config.nLayer, batch, config.blockSize, config.nEmbd);
  }

  /** Empties every layer of every sequence. */
  clear(): void {
    for (const layer of this.layers) for (const c of layer) c.clear();
    this.nextPos.fill(0);
  }

  /** Whether some sequence has reached the capacity (the next token needs a new, cropped window). */
  full(): boolean {
    return this.nextPos.some((p) => p >= this.capacity);
  }
}
export { LayerCache } from '../nn/layer-cache.js';
