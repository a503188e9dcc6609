// AppService end to end on the bundled demo model: send and stream, stop, regenerate (versions), edit and
// resend, busy and delete while streaming, no model switch mid-reply, context overflow, crash
// recovery of a reply being written, and the stored stats, fates and trace.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/app/apiErrors';
import { AppService } from '../../src/app/AppService';
import { ModelManager } from '../../src/services/ModelManager';
import { SessionStore } from '../../src/sessions/SessionStore';
import type { ChatSettings, Conversation, Message, ModelEvent, ReplyEvent, ResponseOf, TokenFate } from '../../src/shared/api';
import type { RoundEvent } from '../../src/shared/engineTypes';
import { parseTrace } from '../../src/shared/trace';
import { DEMO_Q8 } from './helpers/engine';

let dir: string;
let models: ModelManager;
let store: SessionStore;
let app: AppService;
let events: ReplyEvent[];

const GREEDY: Partial<ChatSettings> = { temperature: 0, maxTokens: 24, fixedSeed: true, seed: 0 };
/** The demo model's longest greedy reply found (about 200 tokens): the tests that act while a reply streams use it. */
const LONG_REPLY = 'Count from 1 to 1000.';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-appsvc-'));
  models = new ModelManager({ backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 });
  await models.ensure();
});

afterAll(() => {
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

let dbFile: string;
beforeEach(() => {
  dbFile = path.join(dir, `s-${Math.random().toString(36).slice(2)}.db`);
  store = new SessionStore({ file: dbFile });
  app = new AppService({ models, store, persistIntervalMs: 20, log: () => {} });
  events = [];
  app.onReplyEvent((e) => events.push(e));
});

afterEach(async () => {
  await app.close();
  store.close();
});

async function newChat(settings: Partial<ChatSettings> = GREEDY, systemPrompt = ''): Promise<Conversation> {
  return (await app.call('conversations:create', { settings, systemPrompt })) as Conversation;
}

function waitFor(pred: (e: ReplyEvent) => boolean, timeoutMs = 30_000): Promise<ReplyEvent> {
  const seen = events.find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out waiting for a reply event')), timeoutMs);
    const off = app.onReplyEvent((e) => {
      if (pred(e)) {
        clearTimeout(t);
        off();
        resolve(e);
      }
    });
  });
}

const doneOf = (id: string) => waitFor((e) => (e.type === 'done' || e.type === 'error') && e.messageId === id);

function eventsOf(id: string) {
  const mine = events.filter((e) => 'messageId' in e && e.messageId === id);
  const tokens = mine.filter((e): e is Extract<ReplyEvent, { type: 'tokens' }> => e.type === 'tokens');
  const rounds = mine.filter((e): e is Extract<ReplyEvent, { type: 'rounds' }> => e.type === 'rounds').flatMap((e) => e.rounds);
  return {
    mine,
    tokens,
    text: tokens.map((e) => e.text).join(''),
    ids: tokens.flatMap((e) => e.ids),
    fates: tokens.flatMap((e) => e.fates),
    rounds,
  };
}

async function send(convId: string, content: string, editOf?: string) {
  const r = (await app.call('chat:send', { conversationId: convId, content, ...(editOf ? { editOf } : {}) })) as ResponseOf<'chat:send'>;
  const done = await doneOf(r.assistantMessage.id);
  return { r, done };
}

function count(f: TokenFate[], k: TokenFate) {
  return f.filter((x) => x === k).length;
}

describe('AppService on the demo model', () => {
  it('sends, streams batched events, and stores the reply with stats, fates and a trace', async () => {
    const c = await newChat({ ...GREEDY, skip: 8 }); // an explicit M: this reply surely drafts
    const t0 = Date.now();
    const { r, done } = await send(c.id, 'Count from 1 to 20.');
    const elapsed = Date.now() - t0;
    expect(r.userMessage.content).toBe('Count from 1 to 20.');
    expect(r.assistantMessage.status).toBe('streaming');
    expect(r.droppedTurns).toBe(0);
    expect(r.promptTokens).toBeGreaterThan(5);

    const start = events.find((e) => e.type === 'start')!;
    expect(start).toEqual({ type: 'start', conversationId: c.id, messageId: r.assistantMessage.id, promptTokens: r.promptTokens, droppedTurns: 0 });
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    const ev = eventsOf(r.assistantMessage.id);
    expect(ev.mine[0]!.type).toBe('start');
    expect(ev.mine[ev.mine.length - 1]!.type).toBe('done');

    // batching: far fewer events than tokens, and never more than ~25 token batches a second
    expect(ev.ids.length).toBe(done.stats.n_generated);
    expect(ev.tokens.length).toBeLessThanOrEqual(Math.ceil(elapsed / 40) + 2);

    const stored = store.getMessage(r.assistantMessage.id)!;
    expect(stored.status).toBe('complete');
    expect(stored.content).toBe(ev.text);
    expect(stored.content).toMatch(/^1, 2, 3/);
    expect(stored.content).not.toContain('<|eot_id|>');
    expect(stored.tokenIds).toEqual(ev.ids);
    expect(stored.stats).toEqual(done.stats);
    expect(stored.stats!.mode).toBe('clasp');
    expect(stored.settings).toMatchObject({ mode: 'clasp', temperature: 0, maxTokens: 24, seed: 0 });
    expect(stored.model).toMatchObject({ name: expect.any(String), device: expect.stringMatching(/cpu/) });

    // fates: one per token, as the engine streamed them; the first is plain; each round gives
    // `accepted` accepted drafts, then a correction (a draft was rejected) or a bonus (all accepted)
    const fates = stored.fates!;
    expect(fates).toHaveLength(stored.tokenIds!.length);
    expect(fates[0]).toBe('plain');
    expect(ev.fates).toEqual(fates);
    const rounds = ev.rounds;
    expect(rounds.length).toBe(done.stats.rounds);
    expect(rounds.length).toBeGreaterThan(0);
    const closing = count(fates, 'correction') + count(fates, 'bonus');
    expect(closing).toBeLessThanOrEqual(rounds.length);
    expect(closing).toBeGreaterThanOrEqual(rounds.length - 1); // the last round may be cut short
    expect(count(fates, 'accepted')).toBeLessThanOrEqual(done.stats.accepted!);
    // the trace
    expect(done.traceId).toBeTruthy();
    expect(stored.traceId).toBe(done.traceId);
    const trace = (await app.call('trace:get', { traceId: done.traceId! })) as ReturnType<typeof parseTrace>;
    // rounds and plain stretches in position order give every token's fate
    const steps = [
      ...(rounds as RoundEvent[]).map((rd) => ({ pos: rd.pos, f: [...Array<TokenFate>(rd.verify.accepted).fill('accepted'), (rd.verify.accepted < rd.draft.ids.length ? 'correction' : 'bonus') as TokenFate] })),
      ...(trace.plain ?? []).map((p) => ({ pos: p.pos, f: Array<TokenFate>(p.n).fill('plain') })),
    ].sort((a, b) => a.pos - b.pos);
    const expected: TokenFate[] = ['plain', ...steps.flatMap((x) => x.f)];
    expect(fates).toEqual(expected.slice(0, fates.length));
    expect(trace.output_ids).toEqual(stored.tokenIds);
    expect(trace.rounds.length).toBe(rounds.length);
    expect(trace.config.mode).toBe('clasp');
    const exported = (await app.call('export:trace', { traceId: done.traceId!, format: 'json' })) as { content: string };
    expect(parseTrace(exported.content)).toEqual(trace);
    // a reply's own trace goes with the reply, not on its own
    const del = (await app.call('trace:delete', { traceId: done.traceId! }).catch((e: ApiError) => e)) as ApiError;
    expect(del.code).toBe('bad_request');
    expect(store.getTrace(done.traceId!)).toBeDefined();

    // the title comes from the first message
    expect(store.getConversation(c.id)!.title).toBe('Count from 1 to 20.');

    // chat export
    const md = (await app.call('export:chat', { conversationId: c.id, format: 'markdown' })) as { content: string };
    expect(md.content).toContain('## Assistant');
    expect(md.content).toContain(stored.content);
    expect(md.content).toContain('tok/s');
  });

  it("ar mode: every token is 'plain' and no rounds are sent", async () => {
    const c = await newChat({ ...GREEDY, mode: 'ar' });
    const { r, done } = await send(c.id, 'Count from 1 to 10.');
    if (done.type !== 'done') throw new Error(JSON.stringify(done));
    const ev = eventsOf(r.assistantMessage.id);
    expect(ev.rounds).toEqual([]);
    expect(new Set(store.getMessage(r.assistantMessage.id)!.fates)).toEqual(new Set(['plain']));
    expect(done.stats.rounds).toBeNull();
  });

  it("stop: the reply so far is kept as 'cancelled'", async () => {
    // the demo's longest greedy reply (about 200 tokens; a story ends after some 20, which a fast
    // machine writes before the first batch of tokens arrives here)
    const c = await newChat({ ...GREEDY, maxTokens: 1000 });
    const r = (await app.call('chat:send', { conversationId: c.id, content: LONG_REPLY })) as ResponseOf<'chat:send'>;
    await waitFor((e) => e.type === 'tokens' && e.messageId === r.assistantMessage.id);
    const s = await app.call('chat:stop', { conversationId: c.id });
    expect(s).toEqual({ stopped: true, messageId: r.assistantMessage.id });
    const done = await doneOf(r.assistantMessage.id);
    expect(done.type === 'done' && done.finishReason).toBe('cancelled');
    const m = store.getMessage(r.assistantMessage.id)!;
    expect(m.status).toBe('cancelled');
    expect(m.content).toBe(eventsOf(m.id).text);
    expect(m.tokenIds!.length).toBeGreaterThan(0);
    expect(m.tokenIds!.length).toBeLessThan(1000);
    expect(m.fates).toHaveLength(m.tokenIds!.length);
    // the next message works
    const again = await send(c.id, 'Thanks.');
    expect(again.done.type).toBe('done');
  });

  it('regenerate keeps the earlier reply as a version, with its trace', async () => {
    const c = await newChat();
    const first = await send(c.id, 'Count from 1 to 5.');
    const oldId = first.r.assistantMessage.id;
    const oldTrace = store.getMessage(oldId)!.traceId!;
    const oldContent = store.getMessage(oldId)!.content;
    const g = (await app.call('chat:regenerate', { conversationId: c.id })) as ResponseOf<'chat:regenerate'>;
    expect(g.assistantMessage.versions).toEqual({ ids: [oldId, g.assistantMessage.id], index: 1 });
    const done = await doneOf(g.assistantMessage.id);
    expect(done.type).toBe('done');
    const msgs = store.listMessages(c.id);
    expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(msgs[1]!.id).toBe(g.assistantMessage.id);
    // the earlier version stays, with its trace, out of the conversation
    expect(store.getMessage(oldId)!.content).toBe(oldContent);
    expect(store.getTrace(oldTrace)).toBeDefined();
    expect(msgs[1]!.traceId).not.toBe(oldTrace);
    // greedy with a fixed seed: the same text again
    expect(msgs[1]!.content).toBe(oldContent);
    expect(msgs[1]!.content.length).toBeGreaterThan(0);
  });

  it('edit and resend replaces that user message and drops everything after it', async () => {
    const c = await newChat({ ...GREEDY, maxTokens: 8 });
    const a = await send(c.id, 'Count from 1 to 5.');
    await send(c.id, 'Now count from 10 to 15.');
    expect(store.listMessages(c.id)).toHaveLength(4);
    const userId = a.r.userMessage.id;
    const e = await send(c.id, 'Spell the word cat.', userId);
    expect(e.r.userMessage.id).toBe(userId);
    expect(e.r.userMessage.content).toBe('Spell the word cat.');
    const msgs = store.listMessages(c.id);
    expect(msgs.map((m) => [m.role, m.id])).toEqual([
      ['user', userId],
      ['assistant', e.r.assistantMessage.id],
    ]);
    expect(msgs[0]!.content).toBe('Spell the word cat.');
    // editing an assistant message is refused
    const err = await app.call('chat:send', { conversationId: c.id, content: 'x', editOf: e.r.assistantMessage.id }).catch((x: ApiError) => x);
    expect((err as ApiError).message).toMatch(/editOf must name a user message/);
  });

  it('a second send while a reply streams is refused (busy); deleting the conversation cancels it', async () => {
    const c = await newChat({ ...GREEDY, maxTokens: 1000 });
    const r = (await app.call('chat:send', { conversationId: c.id, content: LONG_REPLY })) as ResponseOf<'chat:send'>;
    const busy = (await app.call('chat:send', { conversationId: c.id, content: 'again' }).catch((e: ApiError) => e)) as ApiError;
    expect(busy.code).toBe('busy');
    expect(busy.status).toBe(409);
    expect((await app.call('chat:regenerate', { conversationId: c.id }).catch((e: ApiError) => e) as ApiError).code).toBe('busy');

    await waitFor((e) => e.type === 'tokens' && e.messageId === r.assistantMessage.id);
    expect(await app.call('conversations:delete', { id: c.id })).toEqual({ deleted: true });
    const done = await doneOf(r.assistantMessage.id);
    expect(done.type === 'done' && done.finishReason).toBe('cancelled');
    expect(store.getConversation(c.id)).toBeUndefined();
    expect(store.getMessage(r.assistantMessage.id)).toBeUndefined();
    expect(store.countRows('traces')).toBe(0);
  });

  it('a killed app leaves the reply so far, marked interrupted on the next open', async () => {
    const c = await newChat({ ...GREEDY, maxTokens: 1000 });
    // The "next launch" opens the file while this process is mid-reply: inside the second 'tokens'
    // event (the first batch has been written by then, and the reply cannot end during a callback).
    let snapshot: { interrupted: number; message: Message } | null = null;
    let batches = 0;
    const off = app.onReplyEvent((e) => {
      if (e.type !== 'tokens' || snapshot || ++batches < 2) return;
      const next = new SessionStore({ file: dbFile });
      try {
        snapshot = { interrupted: next.interruptedOnOpen, message: next.getMessage(e.messageId)! };
      } finally {
        next.close();
      }
    });
    const { r } = await send(c.id, LONG_REPLY); // long enough for two batches of tokens on a fast machine
    off();
    expect(snapshot).not.toBeNull();
    const { interrupted, message: m } = snapshot!;
    expect(interrupted).toBe(1);
    expect(m.id).toBe(r.assistantMessage.id);
    expect(m.status).toBe('interrupted');
    expect(m.content.length).toBeGreaterThan(0);
    expect(m.tokenIds!.length).toBeGreaterThan(0);
    expect(m.fates).toHaveLength(m.tokenIds!.length);
    expect(store.getMessage(r.assistantMessage.id)!.content.startsWith(m.content)).toBe(true);
  });

  it('drops the oldest turns when the conversation outgrows the context, and says so', async () => {
    const c = await newChat({ ...GREEDY, maxTokens: 8 }, 'You are a counting assistant.');
    const long = 'The quick brown fox jumps over the lazy dog near the river bank today. '.repeat(8);
    for (let i = 0; i < 12; i++) {
      store.addMessage({ conversationId: c.id, role: 'user', content: `Turn ${i}: ${long}`, status: 'complete' });
      store.addMessage({ conversationId: c.id, role: 'assistant', content: `Reply ${i}: ${long}`, status: 'complete' });
    }
    const { r, done } = await send(c.id, 'Count from 1 to 3.');
    expect(done.type).toBe('done');
    expect(r.droppedTurns).toBeGreaterThan(0);
    expect(r.droppedTurns).toBeLessThan(12);
    expect(r.promptTokens).toBeLessThanOrEqual(1024 - 8);
    const start = events.find((e) => e.type === 'start' && e.messageId === r.assistantMessage.id);
    expect(start).toMatchObject({ droppedTurns: r.droppedTurns });
    const m = store.getMessage(r.assistantMessage.id)!;
    expect(m.droppedTurns).toBe(r.droppedTurns);
    expect(m.note).toMatch(/oldest turns were left out of the prompt.*context \(1024 tokens\)/);
    // the window shows the stored note from the first event on
    expect(start).toMatchObject({ note: m.note });

    // a single message longer than the whole context is refused and nothing is stored
    const before = store.listMessages(c.id).length;
    const huge = 'word '.repeat(3000);
    const err = (await app.call('chat:send', { conversationId: c.id, content: huge }).catch((e: ApiError) => e)) as ApiError;
    expect(err.code).toBe('bad_request');
    expect(err.message).toMatch(/context holds 1024/);
    expect(store.listMessages(c.id)).toHaveLength(before);
  });

  it('no switch under a streaming reply: a bad file or another model is refused, and the reply finishes', async () => {
    const copy = path.join(dir, 'other-model.gguf');
    fs.copyFileSync(DEMO_Q8, copy);
    const bad = path.join(dir, 'garbage.gguf');
    fs.writeFileSync(bad, 'not a model at all');
    const modelEvents: ModelEvent[] = [];
    app.onModelEvent((e) => modelEvents.push(e));
    const c = await newChat({ ...GREEDY, maxTokens: 1000 });
    const r = (await app.call('chat:send', { conversationId: c.id, content: LONG_REPLY })) as ResponseOf<'chat:send'>;
    await waitFor((e) => e.type === 'tokens' && e.messageId === r.assistantMessage.id);
    try {
      const badErr = (await app.call('models:load', { path: bad }).catch((e: ApiError) => e)) as ApiError;
      expect(badErr).toBeInstanceOf(ApiError);
      expect(badErr.message).toMatch(/not a GGUF file/);
      const busy = (await app.call('models:load', { path: copy }).catch((e: ApiError) => e)) as ApiError;
      expect(busy.code).toBe('busy');
      const done = await doneOf(r.assistantMessage.id);
      expect(done.type === 'done' && done.finishReason).not.toBe('cancelled');
      expect(store.getMessage(r.assistantMessage.id)!.status).toBe('complete');
      expect(models.current!.info.path).toBe(path.resolve(DEMO_Q8));
      // once the reply is done, the switch goes through and the conversation goes on with the new model
      const info = (await app.call('models:load', { path: copy })) as { path: string };
      expect(info.path).toBe(copy);
      expect(modelEvents.some((e) => e.type === 'progress')).toBe(true);
      expect(modelEvents.some((e) => e.type === 'loaded' && e.info.path === copy)).toBe(true);
      expect(((await app.call('models:current', {})) as ResponseOf<'models:current'>)!.info.path).toBe(copy);
      expect(((await app.call('models:list', {})) as ResponseOf<'models:list'>).some((x) => x.path === copy && x.loaded)).toBe(true);
      const again = await send(c.id, 'Thanks.');
      expect(again.done.type).toBe('done');
      expect(store.getMessage(again.r.assistantMessage.id)!.model!.path).toBe(copy);
    } finally {
      await models.load(DEMO_Q8);
    }
  });

  it('a model that cannot be loaded gives a clear error and a model event', async () => {
    const bad = path.join(dir, 'bad.gguf');
    fs.writeFileSync(bad, 'not a gguf');
    const modelEvents: ModelEvent[] = [];
    app.onModelEvent((e) => modelEvents.push(e));
    const err = (await app.call('models:load', { path: bad }).catch((e: ApiError) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toMatch(/bad\.gguf could not be loaded/);
    expect(modelEvents.some((e) => e.type === 'error')).toBe(true);
    // ModelManager frees the old model before loading a new one; the next send loads the usual one again
    const c = await newChat();
    const { done } = await send(c.id, 'Count from 1 to 3.');
    expect(done.type).toBe('done');
  });

  it('messages:list returns the conversation in order', async () => {
    const c = await newChat({ ...GREEDY, maxTokens: 4 });
    await send(c.id, 'Hi');
    const list = (await app.call('messages:list', { conversationId: c.id })) as Message[];
    expect(list.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(list[1]!.status).toBe('complete');
  });
});
