// safetensors files on disk (Node): writing a file to a descriptor without a whole-file copy, and reading only the
// header of a file. The format itself is in safetensors.ts.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { assertLittleEndian, encodeHeader, headerLength, type Metadata, parseHeader, type ParsedHeader, tensorBytes, type TensorMap } from './safetensors.js';

function writeAll(fd: number, buf: Uint8Array): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
}

/** Writes a whole safetensors file to an open file descriptor, tensor data straight from the arrays. */
export function writeSafetensors(fd: number, tensors: TensorMap, metadata: Metadata): void {
  assertLittleEndian();
  writeAll(fd, encodeHeader(tensors, metadata));
  for (const t of tensors.values()) writeAll(fd, tensorBytes(t));
}

/** Reads only the header of a file (cheap; for consistency checks). */
export function readHeader(path: string): ParsedHeader {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    readSync(fd, prefix, 0, Math.min(8, size), 0);
    const n = headerLength(prefix, size);
    const buf = new Uint8Array(8 + n);
    let got = 0;
    while (got < buf.length) {
      const r = readSync(fd, buf, got, buf.length - got, got);
      if (r === 0) break;
      got += r;
    }
    return parseHeader(buf, size);
  } finally {
    closeSync(fd);
  }
}
