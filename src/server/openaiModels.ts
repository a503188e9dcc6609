// The models of /v1/models: ModelManager's catalogue (the one the app's model list shows), each with
// an id made from its file or folder name. A request names a model by that id, never by a path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelManager } from '../services/ModelManager';
import { HttpError } from './http';

/** A model a request may name: the loaded one, the bundled one, and those in --models-dir. */
export interface ModelEntry {
  id: string;
  path: string;
  /** the file's modification time (s), 0 when it cannot be read */
  created: number;
}

/** A model's id in /v1/models: its file name without .gguf, or its folder's name. */
export function modelId(p: string): string {
  return path.basename(p).replace(/\.gguf$/i, '');
}

/** The catalogue with ids; when two models share an id, the first one (the loaded model) keeps it. */
export function modelEntries(models: ModelManager): ModelEntry[] {
  const out: ModelEntry[] = [];
  const seen = new Set<string>();
  for (const m of models.catalogue()) {
    const full = path.resolve(m.path);
    const id = modelId(full);
    if (seen.has(id)) continue;
    seen.add(id);
    let created = 0;
    try {
      created = Math.floor(fs.statSync(full).mtimeMs / 1000);
    } catch {
      /* listed but gone: keep it with 0 */
    }
    out.push({ id, path: full, created });
  }
  return out;
}

/** The catalogue entry a request names; 404 model_not_found otherwise (never a path). */
export function findModel(models: ModelManager, name: string): ModelEntry {
  const list = modelEntries(models);
  const cur = models.current;
  const found =
    list.find((m) => m.id === name) ??
    list.find((m) => m.id.toLowerCase() === name.toLowerCase().replace(/\.gguf$/, '')) ??
    (cur && cur.info.name === name ? list.find((m) => m.path === path.resolve(cur.info.path)) : undefined);
  if (!found) {
    throw new HttpError(404, `The model '${name}' does not exist or you do not have access to it (see GET /v1/models).`, 'invalid_request_error', 'model_not_found', 'model');
  }
  return found;
}

/** A model as OpenAI's model object. */
export function modelObject(m: ModelEntry, now: number) {
  return { id: m.id, object: 'model', created: m.created || now, owned_by: 'clasp' };
}
