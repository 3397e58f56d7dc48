// Tape autograd. Ops record a node (op name, inputs, output, a backward closure over the op's saved caches) when
// grad mode is on and some input requires grad; backward(loss) walks the graph from the loss in reverse
// topological order, and every rule accumulates (+=) into the inputs' .grad.
//
// Memory: op outputs, caches and non-parameter gradients are borrowed from one buffer pool and listed on the tape;
// releaseGraph() after each step (or each sampled token) hands them all back, so memory stays flat.
import { kernels } from '../kernels/index.js';
import { BufferPool, type PoolStats } from './pool.js';
import { Tensor, sizeOf } from './tensor.js';

export interface Node {
  op: string;
  inputs: Tensor[];
  out: Tensor;
  /** Accumulates the gradients of the inputs, given d(loss)/d(out). */
  backward(dout: Float32Array): void;
}

const pool = new BufferPool();
const nodes: Node[] = [];
const borrowed: Array<Float32Array | Int32Array> = [];
const outputs: Tensor[] = [];
let gradEnabled = true;

// ------------------------------------------------------------------ temporary memory (lives until releaseGraph)

/** A pooled float32 buffer with arbitrary contents. */
export function temp(n: number): Float32Array {
  const b = pool.f32(n);
  borrowed.push(b);
  return b;
}

export function tempZeroed(n: number): Float32Array {
  return temp(n).fill(0);
}

/** A pooled int32 buffer (positions, top-k indices) with arbitrary contents. */
export function tempInts(n: number): Int32Array {
  const b = pool.i32(n);
  borrowed.push(b);
  return b;
}

/** A fresh op output of the given shape, on pooled memory. */
export function output(shape: number[]): Tensor {
  return track(new Tensor(temp(sizeOf(shape)), shape, { persistent: false }));
}

/** Lists a non-persistent tensor (output or view) so that releaseGraph() empties it. */
export function track(t: Tensor): Tensor {
  outputs.push(t);
  return t;
}

/**
 * Hands every buffer borrowed since the last call back to the pool, and forgets the graph. Op outputs are emptied,
 * so read what you need first (loss.item(), sampled logits); parameters and their gradients are untouched.
 */
export function releaseGraph(): void {
  for (const t of outputs) t.invalidate();
  for (const b of borrowed) pool.give(b);
  outputs.length = 0;
  borrowed.length = 0;
  nodes.length = 0;
  pool.endStep();
}

export interface GraphStats {
  nodes: number;
  tensors: number;
  borrowed: number;
  pool: PoolStats;
}

export function graphStats(): GraphStats {
  return { nodes: nodes.length, tensors: outputs.length, borrowed: borrowed.length, pool: pool.stats() };
}

// ------------------------------------------------------------------ grad mode and recording

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording anything (inference). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Records `out = op(inputs)` on the tape if grad mode is on and some input requires grad. */
export function record(op: string, out: Tensor, inputs: Tensor[], backward: (dout: Float32Array) => void): void {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return;
  const node: Node = { op, inputs, out, backward };
  out.requiresGrad = true;
  out.node = node;
  nodes.push(node);
}

/** Nodes recorded since the last releaseGraph(), in recording order. */
export function tapeNodes(): readonly Node[] {
  return nodes;
}

// ------------------------------------------------------------------ gradients

/** t's gradient buffer, allocated zeroed on first use (pooled unless t is persistent; views use their base's). */
export function gradOf(t: Tensor): Float32Array {
  if (t.base !== null) return gradOf(t.base);
  if (t.grad === null) t.grad = t.persistent ? new Float32Array(t.size) : tempZeroed(t.size);
  return t.grad;
}

/** t's gradient buffer if t requires grad, else null (the rule skips that gradient). */
export function gradIfNeeded(t: Tensor): Float32Array | null {
  return t.requiresGrad ? gradOf(t) : null;
}

/** t's gradient buffer, or a scratch buffer for kernels that always write every gradient. */
export function gradOrScratch(t: Tensor): Float32Array {
  return t.requiresGrad ? gradOf(t) : tempZeroed(t.size);
}

/** The nodes that lead to root, each after all of its inputs' nodes (depth-first, as micrograd). */
export function topoOrder(root: Tensor): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const visit = (t: Tensor): void => {
    const node = t.node;
    if (node === null || seen.has(node)) return;
    seen.add(node);
    for (const input of node.inputs) visit(input);
    order.push(node);
  };
  visit(root);
  return order;
}

/**
 * Accumulates d(root)/d(leaf) into the .grad of every tensor that requires grad. A one-element root is seeded with
 * 1; otherwise pass `seed` = d(L)/d(root) for the scalar L of interest.
 */
export function backward(root: Tensor, seed?: Float32Array): void {
  if (!root.requiresGrad) throw new Error('backward: the tensor does not require grad (nothing was recorded)');
  const g = gradOf(root);
  if (seed !== undefined) {
    if (seed.length !== g.length) throw new Error(`backward: seed has ${seed.length} elements, tensor ${g.length}`);
    kernels().accumulate(g, seed, g.length);
  } else {
    if (g.length !== 1) throw new Error('backward: a tensor of more than one element needs a seed gradient');
    g[0]! += 1;
  }
  const order = topoOrder(root);
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    const dout = node.out.grad;
    if (dout !== null) node.backward(dout);
  }
}

/** Zeroes the gradients of the given (persistent) tensors, before the next accumulation. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) p.grad?.fill(0);
}
