// A small, spec-exact reader and writer of the safetensors format (huggingface/safetensors), F32 tensors only:
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   JSON header {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}}
//             padded with spaces so that the data starts 8-byte aligned
//   rest      the byte buffer; data_offsets are relative to its start, tensors are row-major little-endian and
//             together cover the buffer exactly (no holes, no overlaps, nothing after the last tensor).
// npm has no maintained safetensors package (`safetensors@0.0.1` is an empty placeholder), hence this file.
// Bytes in, bytes out, with no Node module, so the browser reads checkpoints with it; file I/O is in
// safetensors-file.ts.

export interface TensorData {
  data: Float32Array;
  shape: number[];
}
export type TensorMap = Map<string, TensorData>;
export type Metadata = Record<string, string>;

/** A malformed file. The message says what is wrong, without the file name (the caller adds it). */
export class SafetensorsFormatError extends Error {}

/** The reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;
const METADATA_KEY = '__metadata__';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Tensor data is copied to and from Float32Arrays as raw bytes, which is little-endian only on such hosts. */
export function assertLittleEndian(): void {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error('safetensors: big-endian hosts are not supported');
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The padded header bytes (length prefix included) for these tensors, in map order. */
export function encodeHeader(tensors: TensorMap, metadata: Metadata): Uint8Array {
  const header: Record<string, unknown> = { [METADATA_KEY]: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === METADATA_KEY) throw new Error(`safetensors: '${METADATA_KEY}' is not a tensor name`);
    if (elementCount(t.shape) !== t.data.length) {
      throw new Error(`safetensors: tensor ${name} has shape [${t.shape.join(', ')}] but ${t.data.length} elements`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = json.length + ((8 - ((8 + json.length) % 8)) % 8);
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.length); // space padding
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** The raw bytes of a tensor's data (little-endian F32). */
export function tensorBytes(t: TensorData): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** The whole file as bytes. */
export function encodeSafetensors(tensors: TensorMap, metadata: Metadata): Uint8Array {
  assertLittleEndian();
  const header = encodeHeader(tensors, metadata);
  let size = header.length;
  for (const t of tensors.values()) size += t.data.byteLength;
  const out = new Uint8Array(size);
  out.set(header, 0);
  let at = header.length;
  for (const t of tensors.values()) {
    out.set(tensorBytes(t), at);
    at += t.data.byteLength;
  }
  return out;
}

export interface ParsedHeader {
  metadata: Metadata;
  entries: Map<string, HeaderEntry>;
  /** File offset of the byte buffer: 8 + N. */
  dataStart: number;
}

/** Reads the header length from the first 8 bytes and checks it against the file size. */
export function headerLength(prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) throw new SafetensorsFormatError(`file is ${fileSize} bytes, too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, fileSize - 8))) {
    throw new SafetensorsFormatError(`header length ${n} is larger than the ${fileSize - 8} bytes after it (or than ${MAX_HEADER})`);
  }
  return Number(n);
}

/** Parses and checks the header; `fileSize` bounds the data offsets. */
export function parseHeader(headerBytes: Uint8Array, fileSize: number): ParsedHeader {
  const n = headerLength(headerBytes, fileSize);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(headerBytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new SafetensorsFormatError(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SafetensorsFormatError('header is not a JSON object');
  const metadata: Metadata = {};
  const entries = new Map<string, HeaderEntry>();
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) Object.assign(metadata, checkMetadata(v));
    else entries.set(name, checkEntry(name, v));
  }
  checkCoverage(entries, fileSize - 8 - n);
  return { metadata, entries, dataStart: 8 + n };
}

function checkMetadata(v: unknown): Metadata {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw new SafetensorsFormatError(`${METADATA_KEY} is not a map of strings`);
  }
  return v as Metadata;
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function checkEntry(name: string, v: unknown): HeaderEntry {
  const e = v as Partial<HeaderEntry> | null;
  if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
    throw new SafetensorsFormatError(`tensor ${name}: header entry needs dtype, shape and data_offsets`);
  }
  if (e.dtype !== 'F32') throw new SafetensorsFormatError(`tensor ${name}: dtype ${e.dtype} is not supported (only F32)`);
  const [b, end] = e.data_offsets;
  if (!e.shape.every(isCount) || e.data_offsets.length !== 2 || !isCount(b) || !isCount(end) || end < b) {
    throw new SafetensorsFormatError(`tensor ${name}: bad shape or data_offsets in the header`);
  }
  if (end - b !== elementCount(e.shape) * 4) {
    throw new SafetensorsFormatError(`tensor ${name}: data_offsets span ${end - b} bytes but shape [${e.shape.join(', ')}] needs ${elementCount(e.shape) * 4}`);
  }
  return { dtype: e.dtype, shape: e.shape, data_offsets: [b, end] };
}

function checkCoverage(entries: Map<string, HeaderEntry>, dataBytes: number): void {
  const spans = [...entries].map(([name, e]) => ({ name, b: e.data_offsets[0], e: e.data_offsets[1] })).sort((x, y) => x.b - y.b || x.e - y.e);
  let at = 0;
  for (const s of spans) {
    if (s.e > dataBytes) {
      throw new SafetensorsFormatError(`tensor ${s.name}: data_offsets end at byte ${s.e} but the data is only ${dataBytes} bytes (truncated file?)`);
    }
    if (s.b !== at) throw new SafetensorsFormatError(`tensor ${s.name}: data starts at byte ${s.b}, expected ${at} (hole or overlap)`);
    at = s.e;
  }
  if (at !== dataBytes) throw new SafetensorsFormatError(`${dataBytes - at} bytes after the last tensor (wrong byte count)`);
}

/** Decodes a whole file held in memory. Tensors are copies (4-byte aligned, independent of `buf`). */
export function decodeSafetensors(buf: Uint8Array): { tensors: TensorMap; metadata: Metadata } {
  assertLittleEndian();
  const h = parseHeader(buf, buf.length);
  const tensors: TensorMap = new Map();
  for (const [name, e] of h.entries) {
    const start = buf.byteOffset + h.dataStart + e.data_offsets[0];
    const bytes = buf.buffer.slice(start, buf.byteOffset + h.dataStart + e.data_offsets[1]);
    tensors.set(name, { data: new Float32Array(bytes), shape: [...e.shape] });
  }
  return { tensors, metadata: h.metadata };
}
