// One attention layer's key/value cache for one sequence (KV-cache decoding): the keys (already rotated when
// positions = 'rope') and values of the tokens this layer has processed, with each row's position. The model's
// KVCache (src/model/kv-cache.ts) holds one per layer and sequence. A Mixture-of-Depths block that skips a token
// never caches it, so rows are addressed by their stored positions, not by their index.
// The arrays are persistent (not pooled): releaseGraph() after each decode step leaves them intact.

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
