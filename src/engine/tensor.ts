// The tensor: a dense row-major float32 array with a shape, and a gradient buffer allocated on first use.
// Index arrays (token ids, targets, positions, top-k indices) are plain Int32Arrays, not Tensors.
import type { Node } from './autograd.js';

const EMPTY = new Float32Array(0);

export interface TensorOptions {
  requiresGrad?: boolean;
  /**
   * Parameters and tensors made by the caller own their memory (persistent). Op outputs borrow theirs from the
   * buffer pool until releaseGraph(), which hands it back and empties the tensor.
   */
  persistent?: boolean;
  /** A view (reshape) shares the data and the gradient of its base. */
  base?: Tensor | null;
}

export class Tensor {
  data: Float32Array;
  readonly shape: number[];
  requiresGrad: boolean;
  readonly persistent: boolean;
  readonly base: Tensor | null;
  /** The recorded op that produced this tensor; null for leaves and for results computed without recording. */
  node: Node | null = null;
  private ownGrad: Float32Array | null = null;

  constructor(data: Float32Array, shape: number[], opts: TensorOptions = {}) {
    if (data.length !== sizeOf(shape)) throw new Error(`Tensor: ${data.length} floats do not fill shape [${shape.join(', ')}]`);
    this.data = data;
    this.shape = shape;
    this.requiresGrad = opts.requiresGrad ?? false;
    this.persistent = opts.persistent ?? true;
    this.base = opts.base ?? null;
  }

  /** d(loss)/d(this), accumulated by backward(); null until a gradient first reaches this tensor. */
  get grad(): Float32Array | null {
    return this.base !== null ? this.base.grad : this.ownGrad;
  }

  set grad(g: Float32Array | null) {
    if (this.base !== null) this.base.grad = g;
    else this.ownGrad = g;
  }

  get size(): number {
    return this.data.length;
  }

  /** The value of a one-element tensor (e.g. a loss). */
  item(): number {
    if (this.data.length !== 1) throw new Error(`item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    return this.data[0]!;
  }

  /** Empties a released op output, so that a use after releaseGraph() fails loudly instead of reading reused memory. */
  invalidate(): void {
    this.data = EMPTY;
    this.ownGrad = null;
    this.node = null;
  }

  /** A persistent tensor over a copy of `values`. */
  static from(values: ArrayLike<number>, shape: number[], requiresGrad = false): Tensor {
    return new Tensor(Float32Array.from(values), shape, { requiresGrad });
  }

  static zeros(shape: number[], requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(sizeOf(shape)), shape, { requiresGrad });
  }

  /** A trainable parameter (persistent, requires grad), zero-filled; modules initialise it. */
  static param(shape: number[]): Tensor {
    return Tensor.zeros(shape, true);
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function shapeStr(t: Tensor): string {
  return `[${t.shape.join(', ')}]`;
}
