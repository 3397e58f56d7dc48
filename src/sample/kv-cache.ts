// The key/value cache of incremental decoding. Per layer and per sequence, a LayerCache holds the keys (already
// rotated when positions = 'rope') and values of the tokens that layer has processed, with each row's position.
// Every layer keeps its own length: a Mixture-of-Depths block that skips a token never caches it, so a layer's
// length may differ from other layers' and from the sequence position; attention reads only the cached rows, so a
// skipped token is invisible to that block, as it is in the batched forward.
// The arrays are persistent (not pooled): releaseGraph() after each decode step leaves them intact.
import type { ModelConfig } from '../model/config.js';

export class LayerCache {
  readonly keys: Float32Array; // (capacity, C)
  readonly values: Float32Array; // (capacity, C)
  readonly positions: Int32Array; // (capacity): the sequence position of each cached row
  /** Rows in use. */
  length = 0;

  constructor(readonly capacity: number, readonly width: number) {
    this.keys = new Float32Array(capacity * width);
    this.values = new Float32Array(capacity * width);
    this.positions = new Int32Array(capacity);
  }

  /**
   * Appends n rows: row r's key is src[r·stride + kOffset ..+C), its value src[r·stride + vOffset ..+C), its
   * position pos[r]. Returns the index of the first new row. Keys are stored as given (the caller rotates them).
   */
  append(src: Float32Array, n: number, stride: number, kOffset: number, vOffset: number, pos: ArrayLike<number>): number {
    const first = this.length;
    if (first + n > this.capacity) throw new Error(`KV cache overflow: ${first} + ${n} rows exceed its capacity of ${this.capacity}`);
    const c = this.width;
    for (let r = 0; r < n; r++) {
      const row = r * stride;
      this.keys.set(src.subarray(row + kOffset, row + kOffset + c), (first + r) * c);
      this.values.set(src.subarray(row + vOffset, row + vOffset + c), (first + r) * c);
      this.positions[first + r] = pos[r]!;
    }
    this.length = first + n;
    return first;
  }

  clear(): void {
    this.length = 0;
  }
}

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
