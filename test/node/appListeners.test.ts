// An app listens to its ModelManager (load progress, loaded, unloaded) and must stop listening when
// it closes: a ModelManager outlives the apps made on it (tests, a server restarted in-process), and
// listeners left behind keep every closed app alive and set off Node's MaxListenersExceededWarning.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppService } from '../../src/app/AppService';
import { createApp } from '../../src/app/createApp';
import { ClaspServer } from '../../src/server/server';
import { createUiExtension } from '../../src/server/uiRoutes';
import { ModelManager } from '../../src/services/ModelManager';
import { SessionStore } from '../../src/sessions/SessionStore';

const EVENTS = ['progress', 'loaded', 'unloaded'] as const;
const counts = (m: ModelManager) => EVENTS.map((e) => m.listenerCount(e));

let dir: string;
let models: ModelManager;
let store: SessionStore;
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-listeners-'));
  models = new ModelManager();
  store = new SessionStore({ file: path.join(dir, 's.db') });
  warnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
  store.close();
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('apps give back their ModelManager listeners', () => {
  it('AppService.close() removes what its constructor added, however many apps come and go', async () => {
    const base = counts(models);
    const app = new AppService({ models, store, log: () => {} });
    expect(counts(models)).toEqual(base.map((n) => n + 1));
    await app.close();
    expect(counts(models)).toEqual(base);
    for (let i = 0; i < 12; i++) await new AppService({ models, store, log: () => {} }).close();
    expect(counts(models)).toEqual(base);
    await new Promise((r) => setImmediate(r)); // a warning is emitted on the next tick
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  });

  it('a server closes the app behind its UI extension, and createApp.close() closes its app', async () => {
    const base = counts(models);
    const server = new ClaspServer({ models, port: 0, log: () => {} });
    server.use(createUiExtension(new AppService({ models, store, log: () => {} })));
    await server.listen();
    expect(counts(models)).toEqual(base.map((n) => n + 1));
    await server.close();
    expect(counts(models)).toEqual(base);

    const a = createApp({ dataDir: path.join(dir, 'data'), models, log: () => {} });
    expect(counts(models)).toEqual(base.map((n) => n + 1));
    await a.close();
    expect(counts(models)).toEqual(base);
  });
});
