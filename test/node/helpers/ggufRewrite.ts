// Test-only: copies a GGUF file with one string metadata value set (e.g. a hostile chat template).
// The key/value section is rewritten; tensor infos and data are copied as they are (their offsets are
// relative to the aligned start of the data, which is recomputed).
import * as fs from 'node:fs';

const STRING = 8;
const ARRAY = 9;
const SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

export function setGgufString(src: string, dst: string, key: string, value: string): void {
  const buf = fs.readFileSync(src);
  if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${src}: not a GGUF file`);
  let pos = 8;
  const nTensors = Number(buf.readBigUInt64LE(pos));
  const nKv = Number(buf.readBigUInt64LE(pos + 8));
  pos += 16;
  const str = () => {
    const n = Number(buf.readBigUInt64LE(pos));
    const s = buf.toString('utf8', pos + 8, pos + 8 + n);
    pos += 8 + n;
    return s;
  };
  const skip = (type: number): void => {
    if (type === STRING) str();
    else if (type === ARRAY) {
      const t = buf.readUInt32LE(pos);
      const n = Number(buf.readBigUInt64LE(pos + 4));
      pos += 12;
      for (let i = 0; i < n; i++) skip(t);
    } else if (SIZES[type] !== undefined) pos += SIZES[type]!;
    else throw new Error(`GGUF value type ${type} is not known here`);
  };
  const kvs: Buffer[] = [];
  let alignment = 32;
  for (let i = 0; i < nKv; i++) {
    const start = pos;
    const k = str();
    const type = buf.readUInt32LE(pos);
    pos += 4;
    if (k === 'general.alignment') alignment = buf.readUInt32LE(pos);
    skip(type);
    if (k !== key) kvs.push(buf.subarray(start, pos));
  }
  const infosStart = pos;
  for (let i = 0; i < nTensors; i++) {
    str();
    const nDims = buf.readUInt32LE(pos);
    pos += 4 + 8 * nDims + 4 + 8;
  }
  const infos = buf.subarray(infosStart, pos);
  const dataStart = Math.ceil(pos / alignment) * alignment;

  const s64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const gstr = (s: string) => Buffer.concat([s64(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
  kvs.push(Buffer.concat([gstr(key), u32(STRING), gstr(value)]));
  const head = Buffer.concat([buf.subarray(0, 8), s64(nTensors), s64(kvs.length), ...kvs, infos]);
  const pad = Buffer.alloc(Math.ceil(head.length / alignment) * alignment - head.length);
  fs.writeFileSync(dst, Buffer.concat([head, pad, buf.subarray(dataStart)]));
}
