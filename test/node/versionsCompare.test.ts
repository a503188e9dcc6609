// Reply versions and "Compare modes" through AppService on the demo model: switching a version
// changes the prompt of the next turn, deleting a version, and a compare job that measures every
// mode, reports progress, checks greedy texts match, can be cancelled, and leaves the chat alone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiError } from '../../src/app/apiErrors';
import { AppService } from '../../src/app/AppService';
import { median, summarize } from '../../src/app/compareModes';
import { ModelManager } from '../../src/services/ModelManager';
import { SessionStore } from '../../src/sessions/SessionStore';
import type { AppEvent, ChatSettings, Conversation, ReplyEvent, ResponseOf } from '../../src/shared/api';
import type { CompareEvent, CompareRun } from '../../src/shared/compare';
import type { Trace } from '../../src/shared/trace';
import { DEMO_Q8 } from './helpers/engine';

let dir: string;
let models: ModelManager;
let store: SessionStore;
let app: AppService;
let replyEvents: ReplyEvent[];
let appEvents: AppEvent[];

const GREEDY: Partial<ChatSettings> = { temperature: 0, maxTokens: 12, fixedSeed: true, seed: 0 };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-versions-app-'));
  models = new ModelManager({ backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 });
  await models.ensure();
});
afterAll(() => {
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  store = new SessionStore({ file: path.join(dir, `s-${Math.random().toString(36).slice(2)}.db`) });
  app = new AppService({ models, store, persistIntervalMs: 20, log: () => {} });
  replyEvents = [];
  appEvents = [];
  app.onReplyEvent((e) => replyEvents.push(e));
  app.onAppEvent((e) => appEvents.push(e));
});
afterEach(async () => {
  await app.close();
  store.close();
});

const newChat = async (settings: Partial<ChatSettings> = GREEDY) => (await app.call('conversations:create', { settings })) as Conversation;
const rejects = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: ApiError) => e,
  );

async function send(convId: string, content: string) {
  const r = (await app.call('chat:send', { conversationId: convId, content })) as ResponseOf<'chat:send'>;
  await app.waitIdle(convId);
  return r;
}
async function regenerate(convId: string) {
  const r = (await app.call('chat:regenerate', { conversationId: convId })) as ResponseOf<'chat:regenerate'>;
  await app.waitIdle(convId);
  return r;
}

function compareEvents(jobId: string): CompareEvent[] {
  return appEvents.filter((e): e is CompareEvent => e.type.startsWith('compare-') && (e as CompareEvent).jobId === jobId);
}

describe('reply versions (AppService)', () => {
  it('switching a version changes what the next turn is prompted with, and deleting one shows another', async () => {
    // Greedy, the second version cut shorter: the two versions surely differ in length.
    const c = await newChat({ ...GREEDY, maxTokens: 12 });
    const a = await send(c.id, 'Count from 1 to 20.');
    await app.call('conversations:update', { id: c.id, settings: { maxTokens: 3 } });
    const b = await regenerate(c.id);
    const v1 = store.getMessage(a.assistantMessage.id)!;
    const v2 = store.getMessage(b.assistantMessage.id)!;
    expect(v1.tokenIds!.length).toBeGreaterThan(v2.tokenIds!.length);
    expect(v2.versions).toEqual({ ids: [v1.id, v2.id], index: 1 });
    const count = async () => ((await app.call('chat:count', { conversationId: c.id, content: 'And another.' })) as ResponseOf<'chat:count'>).promptTokens!;
    const withV2 = await count();

    const shown = (await app.call('chat:version', { conversationId: c.id, messageId: v1.id })) as ResponseOf<'chat:version'>;
    expect(shown.id).toBe(v1.id);
    expect(shown.versions).toEqual({ ids: [v1.id, v2.id], index: 0 });
    expect(store.listMessages(c.id).map((m) => m.id)).toEqual([a.userMessage.id, v1.id]);
    // the prompt of a later turn is built from the shown version
    const withV1 = await count();
    expect(withV1).toBeGreaterThan(withV2);
    const next = await send(c.id, 'And another.');
    expect(next.promptTokens).toBe(withV1);

    // a third turn exists now; the earlier reply's versions still switch, and the order holds
    await app.call('chat:version', { conversationId: c.id, messageId: v2.id });
    expect(store.listMessages(c.id).map((m) => m.id)).toEqual([a.userMessage.id, v2.id, next.userMessage.id, next.assistantMessage.id]);

    const del = (await app.call('chat:version-delete', { conversationId: c.id, messageId: v2.id })) as ResponseOf<'chat:version-delete'>;
    expect(del.deleted).toBe(true);
    expect(del.shown?.id).toBe(v1.id);
    expect(del.shown?.versions).toBeUndefined();
    expect(store.getTrace(v2.traceId!)).toBeUndefined();
    expect(store.getTrace(v1.traceId!)).toBeDefined();
    // the last version left is not deleted this way
    const e = await rejects(app.call('chat:version-delete', { conversationId: c.id, messageId: v1.id }));
    expect(e.code).toBe('bad_request');
    expect(e.message).toMatch(/only one version/);
    // a user turn has no versions; a message of another conversation is not found
    expect((await rejects(app.call('chat:version', { conversationId: c.id, messageId: a.userMessage.id }))).code).toBe('bad_request');
    const other = await newChat();
    expect((await rejects(app.call('chat:version', { conversationId: other.id, messageId: v1.id }))).code).toBe('not_found');
  });

  it('the chat export shows the selected version and says which', async () => {
    const c = await newChat();
    await send(c.id, 'Count from 1 to 3.');
    await regenerate(c.id);
    const md = (await app.call('export:chat', { conversationId: c.id, format: 'markdown' })) as ResponseOf<'export:chat'>;
    expect(md.content).toMatch(/version 2 of 2 \(the one shown/);
    const json = JSON.parse(((await app.call('export:chat', { conversationId: c.id, format: 'json' })) as ResponseOf<'export:chat'>).content!) as {
      messages: { role: string; version?: unknown }[];
    };
    expect(json.messages).toHaveLength(2);
    expect(json.messages[1]!.version).toEqual({ n: 2, of: 2 });
  });
});

describe('compare modes (AppService)', () => {
  it('runs ar, static and clasp N times each, with progress, identical greedy texts, and no change to the chat', async () => {
    const c = await newChat({ ...GREEDY, skip: 8 });
    const r = await send(c.id, 'Count from 1 to 20.');
    const before = store.listMessages(c.id);
    const tracesBefore = store.countRows('traces');
    const started = (await app.call('compare:start', {
      conversationId: c.id,
      messageId: r.assistantMessage.id,
      repeats: 2,
      maxTokens: 16,
    })) as ResponseOf<'compare:start'>;
    expect(started.total).toBe(6);
    // the conversation is busy meanwhile
    expect((await rejects(app.call('chat:send', { conversationId: c.id, content: 'hi' }))).code).toBe('busy');
    await app.waitIdle(c.id);
    const evs = compareEvents(started.jobId);
    const progress = evs.filter((e) => e.type === 'compare-progress');
    expect(progress.map((e) => (e.type === 'compare-progress' ? e.done : -1))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const done = evs[evs.length - 1]!;
    expect(done.type).toBe('compare-done');
    if (done.type !== 'compare-done') return;
    const res = done.result;
    expect(res.cancelled).toBe(false);
    expect(res.greedy).toBe(true);
    expect(res.identical).toBe(true);
    expect(res.differing).toEqual([]);
    expect(res.rows.map((row) => row.mode)).toEqual(['ar', 'static', 'clasp']);
    expect(res.runs).toHaveLength(6);
    for (const row of res.rows) {
      expect(row.runs).toBe(2);
      expect(row.medianTokensPerS).toBeGreaterThan(0);
      expect(row.speedupMin!).toBeLessThanOrEqual(row.speedupMax!);
    }
    expect(res.rows[0]!.speedup).toBe(1);
    // static at M = 8 drafts: the lossless check above means something
    expect(res.rows[1]!.acceptanceRate).not.toBeNull();
    expect(res.runs.filter((x) => x.mode === 'static').every((x) => x.drafted > 0)).toBe(true);
    // nothing was added to the conversation; each run's trace is kept apart, as a 'compare' trace
    expect(store.listMessages(c.id)).toEqual(before);
    expect(store.countRows('traces')).toBe(tracesBefore + 6);
    expect(res.runs.map((x) => x.name)).toEqual(['ar', 'static', 'clasp', 'ar', 'static', 'clasp'].map((m, i) => `Compare: ${m} run ${(i / 3 | 0) + 1} of 2`));
    for (const run of res.runs) {
      expect(store.getTraceRecord(run.traceId)).toMatchObject({ source: 'compare', name: run.name, conversationId: c.id, messageId: null });
      const t = (await app.call('trace:get', { traceId: run.traceId })) as Trace;
      expect(t.config.mode).toBe(run.mode);
      expect(t.summary.n_generated).toBe(run.nGenerated);
      expect(t.rounds.length > 0).toBe(run.mode !== 'ar'); // static at M = 8 drafts: its rounds can be inspected
    }
    // listed by traces:list under their source, deletable like an imported trace, and gone with the chat
    const listed = (await app.call('traces:list', {})) as ResponseOf<'traces:list'>;
    expect(listed.filter((t) => t.source === 'compare' && t.conversationId === c.id)).toHaveLength(6);
    expect(await app.call('trace:delete', { traceId: res.runs[0]!.traceId })).toEqual({ deleted: true });
    expect((await rejects(app.call('trace:delete', { traceId: store.getMessage(r.assistantMessage.id)!.traceId! }))).code).toBe('bad_request');
    await app.call('conversations:delete', { id: c.id });
    expect(store.countRows('traces')).toBe(tracesBefore - 1); // the reply's trace and the 5 runs left went with it
  });

  it('can be cancelled, says so, and frees the conversation', async () => {
    const c = await newChat({ ...GREEDY, maxTokens: 64 });
    const r = await send(c.id, 'Count from 1 to 100.');
    const started = (await app.call('compare:start', {
      conversationId: c.id,
      messageId: r.assistantMessage.id,
      repeats: 10,
      maxTokens: 64,
    })) as ResponseOf<'compare:start'>;
    expect(await app.call('compare:cancel', { jobId: started.jobId })).toEqual({ cancelled: true });
    const done = compareEvents(started.jobId).find((e) => e.type === 'compare-done');
    expect(done?.type === 'compare-done' && done.result.cancelled).toBe(true);
    expect(done?.type === 'compare-done' && done.result.runs.length).toBeLessThan(30);
    expect(await app.call('compare:cancel', { jobId: started.jobId })).toEqual({ cancelled: false });
    await send(c.id, 'Thanks.'); // not busy any more
  });

  it('refuses a message that is not a shown reply', async () => {
    const c = await newChat();
    const r = await send(c.id, 'Hi.');
    expect((await rejects(app.call('compare:start', { conversationId: c.id, messageId: r.userMessage.id, repeats: 1 }))).code).toBe('bad_request');
    expect((await rejects(app.call('compare:start', { conversationId: c.id, messageId: 'nope', repeats: 1 }))).code).toBe('not_found');
    expect((await rejects(app.call('compare:start', { conversationId: c.id, messageId: r.assistantMessage.id, repeats: 0 }))).code).toBe('bad_request');
  });
});

describe('compare figures', () => {
  const run = (mode: CompareRun['mode'], repeat: number, tokensPerS: number): CompareRun => ({
    traceId: `t-${mode}-${repeat}`,
    name: `Compare: ${mode} run ${repeat + 1} of 3`,
    mode,
    repeat,
    tokensPerS,
    ttftMs: 10 + repeat,
    nGenerated: 8,
    acceptanceRate: null,
    drafted: mode === 'ar' ? 0 : 8,
    accepted: mode === 'ar' ? 0 : 4,
  });
  it('median, per-repeat speed-up spread, and the greedy text check', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const runs = [run('ar', 0, 100), run('clasp', 0, 150), run('ar', 1, 50), run('clasp', 1, 100), run('ar', 2, 100), run('clasp', 2, 120)];
    const same = [1, 2, 3];
    const texts = runs.map((r, i) => ({ label: `${r.mode} run ${r.repeat + 1}`, ids: i === 3 ? [1, 2, 4] : same }));
    const res = summarize(runs, texts, {
      jobId: 'j',
      conversationId: 'c',
      messageId: 'm',
      repeats: 3,
      maxTokens: 8,
      greedy: true,
      model: 'm',
      machine: 'test',
      cancelled: false,
    });
    const clasp = res.rows.find((r) => r.mode === 'clasp')!;
    expect(clasp.medianTokensPerS).toBe(120);
    expect(clasp.speedup).toBeCloseTo(120 / 100);
    expect(clasp.speedupMin).toBeCloseTo(1.2); // 120/100
    expect(clasp.speedupMax).toBeCloseTo(2); // 100/50: paired with the ar run of the same repeat
    expect(clasp.acceptanceRate).toBeCloseTo(0.5);
    expect(res.identical).toBe(false);
    expect(res.differing).toEqual(['clasp run 2']);
    expect(summarize(runs, texts, { ...res, greedy: false }).identical).toBeNull();
  });
});
