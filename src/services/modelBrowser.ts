// The browser's "Open model…" dialog, server side: lists folders and models, but only inside the
// allowed folders (--models-dir and the folders discovery reads: LM Studio's, Ollama's, the HF
// cache). A path is checked as written before anything is looked at (outside: refused, without
// saying whether it exists), then with its symlinks resolved (a link leading out: refused). Each
// entry's links are resolved and checked the same way; one leading out is shown as such, never
// followed. Models are described from their headers (modelDiscovery.ts). Only readdir, stat,
// realpath and read-only opens are used.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelFolder, ModelFolderEntry } from '../shared/api';
import { describeGguf, describeHfFolder, discoverHfCache, discoverOllama, type FoundModel, type ModelSource } from './modelDiscovery';

export interface BrowseRoot {
  source: ModelSource;
  label: string;
  path: string;
}

/** A listing refused: `code` says whether the request was bad or the folder is not there. */
export class BrowseError extends Error {
  constructor(
    message: string,
    readonly code: 'bad_request' | 'not_found',
  ) {
    super(message);
  }
}

/** The most entries one listing returns (a folder of thousands of files stays answerable). */
export const MAX_ENTRIES = 1000;

function inside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function realpath(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

/** The roots that exist, each with its resolved path (the one symlink checks compare against). */
function existing(roots: BrowseRoot[]): (BrowseRoot & { real: string })[] {
  return roots.flatMap((r) => {
    const real = realpath(r.path);
    return real && fs.statSync(real).isDirectory() ? [{ ...r, path: path.resolve(r.path), real }] : [];
  });
}

function entryOf(m: FoundModel, name = path.basename(m.path)): ModelFolderEntry {
  return { name, path: m.path, type: 'model', kind: m.kind, bytes: m.bytes, arch: m.arch, quant: m.quant, supported: m.supported, ...(m.reason ? { reason: m.reason } : {}) };
}

/** One folder's folders and models (other files are left out), folders first, by name. */
function listFolder(dir: string, source: ModelSource, reals: string[]): { entries: ModelFolderEntry[]; truncated: boolean } {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new BrowseError(`${dir}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'bad_request');
  }
  const out: ModelFolderEntry[] = [];
  for (const name of names.sort((a, b) => a.localeCompare(b))) {
    if (name.startsWith('.')) continue;
    const p = path.join(dir, name);
    const real = realpath(p);
    if (!real) continue; // a dangling link
    let st: fs.Stats;
    try {
      st = fs.statSync(real);
    } catch {
      continue;
    }
    const isModelFile = st.isFile() && name.toLowerCase().endsWith('.gguf');
    if (!st.isDirectory() && !isModelFile) continue;
    if (!reals.some((r) => inside(r, real))) {
      out.push({ name, path: p, type: st.isDirectory() ? 'folder' : 'model', bytes: 0, supported: false, reason: 'a link to a place outside the allowed folders' });
      continue;
    }
    if (isModelFile) {
      const m = describeGguf(p, name, source);
      if (m) out.push(entryOf(m, name));
    } else {
      const hf = describeHfFolder(p, name, source);
      out.push(hf ? entryOf(hf, name) : { name, path: p, type: 'folder', bytes: 0 });
    }
  }
  out.sort((a, b) => (a.type === b.type ? 0 : a.type === 'folder' ? -1 : 1));
  return { entries: out.slice(0, MAX_ENTRIES), truncated: out.length > MAX_ENTRIES };
}

/**
 * Lists `p` (absent: the allowed folders themselves). Throws BrowseError with one line for the user:
 * a relative path, a path outside the allowed folders, one that is not there or not a folder.
 */
export function browseModels(roots: BrowseRoot[], p?: string): ModelFolder {
  const have = existing(roots);
  if (p === undefined) {
    return { path: null, label: null, parent: null, truncated: false, entries: have.map((r) => ({ name: r.label, path: r.path, type: 'folder', bytes: 0 })) };
  }
  if (p.includes('\0') || !path.isAbsolute(p)) throw new BrowseError(`${p.replace(/\0/g, '\\0')}: not an absolute path`, 'bad_request');
  const want = path.resolve(p);
  const allowedText = have.length ? have.map((r) => r.path).join(', ') : 'none here';
  // Checked as written first: a path outside is refused before it is looked at.
  const root = have.filter((r) => inside(r.path, want) || inside(r.real, want)).sort((a, b) => b.path.length - a.path.length)[0];
  if (!root) throw new BrowseError(`${want}: outside the allowed folders (${allowedText})`, 'bad_request');
  const real = realpath(want);
  if (!real) throw new BrowseError(`${want}: no such folder`, 'not_found');
  const reals = have.map((r) => r.real);
  if (!reals.some((r) => inside(r, real))) throw new BrowseError(`${want}: a link that leads outside the allowed folders`, 'bad_request');
  if (!fs.statSync(real).isDirectory()) throw new BrowseError(`${want}: not a folder`, 'bad_request');

  const atRoot = want === root.path || want === root.real;
  const base = inside(root.path, want) ? root.path : root.real;
  const parent = atRoot ? null : path.dirname(want);
  const label = atRoot ? root.label : `${root.label} / ${path.relative(base, want).split(path.sep).join(' / ')}`;
  // Ollama keeps models as digest-named blobs, the HF cache as models--org--name/snapshots/<rev>: at
  // their top, their models are listed by the names discovery gives (llama3.2:1b, org/name).
  if (atRoot && (root.source === 'ollama' || root.source === 'hf-cache')) {
    const found = root.source === 'ollama' ? discoverOllama(want) : discoverHfCache(want);
    return { path: want, label, parent, truncated: found.length > MAX_ENTRIES, entries: found.slice(0, MAX_ENTRIES).map((m) => entryOf(m, m.name)) };
  }
  return { path: want, label, parent, ...listFolder(want, root.source, reals) };
}
