// Where models come from: the bundled demo model by default, a GGUF file or a Hugging Face folder
// otherwise. Paths are checked here so the user gets one clear line, before the engine is involved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './native';

export const BUNDLED_MODEL_FILE = 'clasp-demo-29M-q8_0.gguf';

export function bundledModelPath(): string {
  return path.join(repoRoot(), 'resources', BUNDLED_MODEL_FILE);
}

/** Resolves and checks a model path; throws an Error naming the path and the problem. */
export function resolveModelPath(p: string | undefined): string {
  const full = path.resolve(p && p.length > 0 ? p : bundledModelPath());
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch {
    throw new Error(`${full}: no such file or directory`);
  }
  if (st.isDirectory()) {
    if (!fs.existsSync(path.join(full, 'config.json'))) {
      throw new Error(`${full}: a model folder needs config.json and *.safetensors (Hugging Face layout)`);
    }
    return full;
  }
  if (!st.isFile()) throw new Error(`${full}: not a regular file`);
  return full;
}

/** True when `candidate` lies inside `dir` (after resolving symlinks): models load only from --models-dir. */
export function isInside(dir: string, candidate: string): boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const d = real(dir);
  const c = real(candidate);
  const rel = path.relative(d, c);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Lists the models in a folder: *.gguf files and Hugging Face subfolders (with config.json). Symlinks
 * are followed; an entry that cannot be read (a dangling link, no permission) is left out. */
export function listModels(dir: string): { name: string; path: string; kind: 'gguf' | 'hf'; bytes: number }[] {
  const out: { name: string; path: string; kind: 'gguf' | 'hf'; bytes: number }[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  const stat = (p: string): fs.Stats | null => {
    try {
      return fs.statSync(p);
    } catch {
      return null;
    }
  };
  for (const name of names) {
    const p = path.join(dir, name);
    const st = stat(p);
    if (!st) continue;
    if (st.isFile() && name.toLowerCase().endsWith('.gguf')) {
      out.push({ name: name.replace(/\.gguf$/i, ''), path: p, kind: 'gguf', bytes: st.size });
    } else if (st.isDirectory() && stat(path.join(p, 'config.json'))?.isFile()) {
      let bytes = 0;
      let files: string[];
      try {
        files = fs.readdirSync(p);
      } catch {
        continue;
      }
      for (const f of files) if (f.endsWith('.safetensors')) bytes += stat(path.join(p, f))?.size ?? 0;
      out.push({ name, path: p, kind: 'hf', bytes });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const GGUF_MAGIC = 0x46554747; // "GGUF", little-endian

/**
 * A quick look at a model before anything is unloaded for it: a GGUF file must start with the GGUF
 * magic and a known version; a Hugging Face folder needs a config.json that parses and readable
 * *.safetensors files. Throws an Error naming the path and the problem. (The engine checks fully.)
 */
export function checkModelFile(full: string): void {
  const st = fs.statSync(full);
  if (st.isDirectory()) {
    let config: unknown;
    try {
      config = JSON.parse(fs.readFileSync(path.join(full, 'config.json'), 'utf8'));
    } catch (e) {
      throw new Error(`${full}: config.json cannot be read as JSON (${(e as Error).message.slice(0, 200)})`);
    }
    if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error(`${full}: config.json is not a JSON object`);
    const weights = fs.readdirSync(full).filter((f) => f.endsWith('.safetensors'));
    if (weights.length === 0) throw new Error(`${full}: no *.safetensors files`);
    for (const f of weights) {
      try {
        fs.accessSync(path.join(full, f), fs.constants.R_OK);
      } catch {
        throw new Error(`${path.join(full, f)}: cannot be read`);
      }
    }
    return;
  }
  const head = Buffer.alloc(8);
  const fd = fs.openSync(full, 'r');
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, 8, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (n < 8 || head.readUInt32LE(0) !== GGUF_MAGIC) throw new Error(`${full}: not a GGUF file`);
  const version = head.readUInt32LE(4);
  if (version < 2 || version > 3) throw new Error(`${full}: GGUF version ${version} is not supported (2 or 3)`);
}
