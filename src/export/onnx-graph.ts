// A small builder of ONNX graphs on top of onnx-proto (the ONNX .proto compiled by protobufjs): nodes with fresh
// value names, initializers, typed inputs and outputs, serialised by protobufjs. No ONNX semantics live here; the
// model's graph is in src/export/onnx.ts.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** An attribute value: int, float, ints, floats or string (the kinds the exporter needs). */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

/** A graph input or output: its element type and shape (a string is a symbolic dimension). */
export interface ValueSpec {
  name: string;
  type: 'float32' | 'int64';
  shape: Array<number | string>;
}

const ELEM = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 } as const;

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

function valueInfo(v: ValueSpec): onnxProto.onnx.IValueInfoProto {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: ELEM[v.type], shape: { dim } } } };
}

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** One node; returns the names of its `outputs` fresh outputs (named after `hint`). */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1, hint = opType): string[] {
    const out = Array.from({ length: outputs }, () => this.fresh(hint));
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({ opType, input: inputs, output: out, name: `${hint}_${this.counter}`, attribute: attribute_ });
    return out;
  }

  /** node() with one output. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = opType): string {
    return this.node(opType, inputs, attrs, 1, hint)[0]!;
  }

  /** Names `input` `name` (a graph output) through an Identity node. */
  identity(input: string, name: string): void {
    this.claim(name);
    this.nodes.push({ opType: 'Identity', input: [input], output: [name], name: `output_${name}` });
  }

  /** A float32 initializer (row-major `dims`), under `name` if free (checkpoint names are kept), else a fresh one. */
  floats(name: string, data: Float32Array, dims: number[]): string {
    const n = this.names.has(name) ? this.fresh(name) : this.claim(name);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name: n, dataType: ELEM.float32, dims, rawData: raw });
    return n;
  }

  /** An int64 initializer. */
  ints(hint: string, data: number[], dims: number[] = [data.length]): string {
    const n = this.fresh(hint);
    this.initializers.push({ name: n, dataType: ELEM.int64, dims, int64Data: data });
    return n;
  }

  /** A scalar (rank 0) float32 constant. */
  scalar(hint: string, value: number): string {
    return this.floats(this.fresh(hint), Float32Array.of(value), []);
  }

  /** The serialised ModelProto (IR version 8, ai.onnx opset `opset`). */
  encode(inputs: ValueSpec[], outputs: ValueSpec[], opset: number, docString: string): Uint8Array {
    const graph: onnxProto.onnx.IGraphProto = {
      name: 'mod',
      node: this.nodes,
      initializer: this.initializers,
      input: inputs.map(valueInfo),
      output: outputs.map(valueInfo),
    };
    const model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: opset }],
      producerName: 'mixture-of-depths',
      docString,
      graph,
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }

  private fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.counter++}`;
    while (this.names.has(n));
    return this.claim(n);
  }

  private claim(name: string): string {
    this.names.add(name);
    return name;
  }
}
