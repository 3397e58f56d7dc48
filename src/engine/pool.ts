// A buffer pool: free lists of float32 and int32 buffers keyed by exact length. A training step asks for the same
// lengths every time, so after the first step every op output, cache and gradient is a reused buffer and the
// memory in use stays flat. Lengths that went unused for KEEP_STEPS steps are dropped at a step's end (endStep), so
// shape-changing workloads (sampling with a growing context) do not hoard one buffer set per length, while loops
// that alternate a few shapes (training steps between evaluations, benchmarks that interleave several models) keep
// reusing theirs.

/** Steps a length may go unused before its free list is dropped. */
const KEEP_STEPS = 8;

interface FreeList<T> {
  buffers: T[];
  /** The step in which a buffer of this length was last taken. */
  lastTaken: number;
}

export interface PoolStats {
  /** Buffers ever created by this pool (flat after warm-up in a steady loop). */
  created: number;
  /** Buffers sitting in the free lists. */
  free: number;
  /** Bytes held in the free lists. */
  freeBytes: number;
}

class FreeLists<T extends Float32Array | Int32Array> {
  private readonly lists = new Map<number, FreeList<T>>();
  created = 0;

  constructor(private readonly make: (n: number) => T) {}

  take(n: number, step: number): T {
    const list = this.lists.get(n);
    if (list !== undefined) {
      list.lastTaken = step;
      const b = list.buffers.pop();
      if (b !== undefined) return b;
    }
    this.created++;
    return this.make(n);
  }

  give(buf: T, step: number): void {
    let list = this.lists.get(buf.length);
    if (list === undefined) {
      list = { buffers: [], lastTaken: step };
      this.lists.set(buf.length, list);
    }
    list.buffers.push(buf);
  }

  /** Drops the lists of lengths not taken since `oldest`. */
  trim(oldest: number): void {
    for (const [n, list] of this.lists) if (list.lastTaken < oldest) this.lists.delete(n);
  }

  count(): { free: number; freeBytes: number } {
    let free = 0;
    let freeBytes = 0;
    for (const list of this.lists.values()) {
      free += list.buffers.length;
      for (const b of list.buffers) freeBytes += b.byteLength;
    }
    return { free, freeBytes };
  }
}

export class BufferPool {
  private readonly f32s = new FreeLists<Float32Array>((n) => new Float32Array(n));
  private readonly i32s = new FreeLists<Int32Array>((n) => new Int32Array(n));
  private step = 0;

  /** A float32 buffer of length n with arbitrary contents. */
  f32(n: number): Float32Array {
    return this.f32s.take(n, this.step);
  }

  /** An int32 buffer of length n with arbitrary contents. */
  i32(n: number): Int32Array {
    return this.i32s.take(n, this.step);
  }

  give(buf: Float32Array | Int32Array): void {
    if (buf instanceof Float32Array) this.f32s.give(buf, this.step);
    else this.i32s.give(buf, this.step);
  }

  /** Ends a step: forgets lengths that were not used in the last KEEP_STEPS steps. */
  endStep(): void {
    this.f32s.trim(this.step - KEEP_STEPS + 1);
    this.i32s.trim(this.step - KEEP_STEPS + 1);
    this.step++;
  }

  stats(): PoolStats {
    const a = this.f32s.count();
    const b = this.i32s.count();
    return { created: this.f32s.created + this.i32s.created, free: a.free + b.free, freeBytes: a.freeBytes + b.freeBytes };
  }
}
