// chat:count: the composer's context meter asks the server, which counts the prompt exactly as
// chat:send will (template, system prompt, history, turns left out), and says when it cannot fit.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppService } from '../../src/app/AppService';
import { ModelManager } from '../../src/services/ModelManager';
import { SessionStore } from '../../src/sessions/SessionStore';
import type { Conversation, ResponseOf } from '../../src/shared/api';
import { DEMO_Q8 } from './helpers/engine';

let dir: string;
let models: ModelManager;
let store: SessionStore;
let app: AppService;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-count-'));
  models = new ModelManager({ backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 });
  await models.ensure();
  store = new SessionStore({ file: path.join(dir, 's.db') });
  app = new AppService({ models, store, persistIntervalMs: 20, log: () => {} });
});

afterAll(async () => {
  await app.close();
  store.close();
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('chat:count', () => {
  it('counts what chat:send then counts, history and system prompt included', async () => {
    const c = (await app.call('conversations:create', { systemPrompt: 'You are terse.', settings: { temperature: 0, maxTokens: 8, fixedSeed: true } })) as Conversation;
    const first = (await app.call('chat:count', { conversationId: c.id, content: 'Count to three.' })) as ResponseOf<'chat:count'>;
    const sent = (await app.call('chat:send', { conversationId: c.id, content: 'Count to three.' })) as ResponseOf<'chat:send'>;
    await app.waitIdle(c.id);
    expect(first).toMatchObject({ fits: true, droppedTurns: 0, nCtx: models.current!.info.nCtx });
    expect(first.promptTokens).toBe(sent.promptTokens);
    // the second message's prompt holds the first turn too: more than the words alone
    const second = (await app.call('chat:count', { conversationId: c.id, content: 'And to four?' })) as ResponseOf<'chat:count'>;
    const sent2 = (await app.call('chat:send', { conversationId: c.id, content: 'And to four?' })) as ResponseOf<'chat:send'>;
    await app.waitIdle(c.id);
    expect(second.promptTokens).toBe(sent2.promptTokens);
    expect(second.promptTokens!).toBeGreaterThan(first.promptTokens!);
  });

  it('says why a message cannot fit, as chat:send would refuse it', async () => {
    const c = (await app.call('conversations:create', {})) as Conversation;
    const words = 'zygomorphic quixotic xylophone juxtaposition '.repeat(200);
    const r = (await app.call('chat:count', { conversationId: c.id, content: words })) as ResponseOf<'chat:count'>;
    expect(r.fits).toBe(false);
    expect(r.reason).toMatch(/context holds/);
    await expect(app.call('chat:send', { conversationId: c.id, content: words })).rejects.toThrow(/context holds/);
  });
});
