// GGUF metadata without the engine: reads just the header and key/value section (GGUF v2/v3), never
// the tensor data, and opens the file read-only. Model discovery lists architecture and quantisation
// with it; the tokenizer tests use it so they do not depend on the native build. Bounded: a corrupt
// length cannot make it allocate or read without limit.
import { closeSync, openSync, readSync } from 'node:fs';

export type GgufValue = string | number | boolean | GgufValue[];

const MAX_STRING = 64 << 20;
const MAX_ITEMS = 16_000_000;

const enum T { U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 }

/** Reads the file sequentially in chunks, so the (large) tensor data after the metadata is never read. */
class Cursor {
  private buf = Buffer.alloc(0);
  private pos = 0;
  private filePos = 0;
  constructor(private readonly fd: number, private readonly path: string) {}

  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const rest = this.buf.subarray(this.pos);
    const chunk = Buffer.alloc(Math.max(n - rest.length, 1 << 20));
    const got = readSync(this.fd, chunk, 0, chunk.length, this.filePos);
    this.filePos += got;
    this.buf = Buffer.concat([rest, chunk.subarray(0, got)]);
    this.pos = 0;
    if (this.buf.length < n) throw new Error(`${this.path}: truncated GGUF metadata`);
  }
  private take(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  u8() { return this.take(1).readUInt8(0); }
  i8() { return this.take(1).readInt8(0); }
  u16() { return this.take(2).readUInt16LE(0); }
  i16() { return this.take(2).readInt16LE(0); }
  u32() { return this.take(4).readUInt32LE(0); }
  i32() { return this.take(4).readInt32LE(0); }
  f32() { return this.take(4).readFloatLE(0); }
  f64() { return this.take(8).readDoubleLE(0); }
  u64() { return Number(this.take(8).readBigUInt64LE(0)); }
  i64() { return Number(this.take(8).readBigInt64LE(0)); }
  str() {
    const n = this.u64();
    if (n > MAX_STRING) throw new Error(`${this.path}: a GGUF string of ${n} bytes (corrupt header?)`);
    return this.take(n).toString('utf8');
  }
}

function readValue(c: Cursor, type: number): GgufValue {
  switch (type) {
    case T.U8: return c.u8();
    case T.I8: return c.i8();
    case T.U16: return c.u16();
    case T.I16: return c.i16();
    case T.U32: return c.u32();
    case T.I32: return c.i32();
    case T.F32: return c.f32();
    case T.BOOL: return c.u8() !== 0;
    case T.STRING: return c.str();
    case T.U64: return c.u64();
    case T.I64: return c.i64();
    case T.F64: return c.f64();
    case T.ARRAY: {
      const elemType = c.u32();
      const n = c.u64();
      if (n > MAX_ITEMS) throw new Error(`a GGUF array of ${n} items (corrupt header?)`);
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, elemType);
      return out;
    }
    default: throw new Error(`unknown GGUF value type ${type}`);
  }
}

/** Returns the metadata key/value pairs of a GGUF file as a plain object. */
export function readGgufMetadata(path: string): Record<string, GgufValue> {
  const fd = openSync(path, 'r');
  try {
    const c = new Cursor(fd, path);
    const magic = String.fromCharCode(c.u8(), c.u8(), c.u8(), c.u8());
    if (magic !== 'GGUF') throw new Error(`${path}: not a GGUF file (magic ${JSON.stringify(magic)})`);
    const version = c.u32();
    if (version < 2) throw new Error(`${path}: GGUF version ${version} is not supported`);
    c.u64(); // n_tensors: tensor infos follow the metadata and are not needed here
    const nKv = c.u64();
    if (nKv > 100_000) throw new Error(`${path}: ${nKv} metadata entries (corrupt header?)`);
    const meta: Record<string, GgufValue> = {};
    for (let i = 0; i < nKv; i++) {
      const key = c.str();
      meta[key] = readValue(c, c.u32());
    }
    return meta;
  } finally {
    closeSync(fd);
  }
}
