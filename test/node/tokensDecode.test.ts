// tokens:decode: the inspector's way to show token ids as text (imported traces, rejected drafts),
// with the loaded model's tokenizer; ids outside the vocabulary come back as null; bad payloads are 400s.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppService } from '../../src/app/AppService';
import { ApiError } from '../../src/app/apiErrors';
import { ModelManager } from '../../src/services/ModelManager';
import { SessionStore } from '../../src/sessions/SessionStore';
import { DEMO_Q8 } from './helpers/engine';

let dir: string;
let models: ModelManager;
let store: SessionStore;
let app: AppService;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-decode-'));
  models = new ModelManager({ backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 });
  await models.ensure();
  store = new SessionStore({ file: path.join(dir, 's.db') });
  app = new AppService({ models, store, log: () => {} });
});

afterAll(async () => {
  await app.close();
  store.close();
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('tokens:decode', () => {
  it("gives each id's text with the loaded model's tokenizer", async () => {
    const tok = models.current!.tokenizer;
    const ids = tok.encode('Hello world, lighthouse', { addBos: false });
    const r = (await app.call('tokens:decode', { ids: [...ids, tok.vocabSize + 5] })) as { model: string; pieces: (string | null)[] };
    expect(r.model).toBe(models.current!.info.name);
    expect(r.pieces.slice(0, ids.length).join('')).toBe('Hello world, lighthouse');
    expect(r.pieces[ids.length]).toBeNull();
  });

  it('refuses bad payloads', async () => {
    for (const p of [{ ids: [-1] }, { ids: [1.5] }, { ids: 'x' }, {}]) {
      const e = (await app.call('tokens:decode', p).catch((x: ApiError) => x)) as ApiError;
      expect(e).toBeInstanceOf(ApiError);
      expect(e.code).toBe('bad_request');
    }
  });
});
