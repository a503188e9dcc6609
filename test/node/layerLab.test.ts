// The layer lab's backend ('lab:run') on the demo model: a greedy reply re-run with a pinned skip set
// or with CLaSp at a fixed M gives the same tokens (lossless), drafts with exactly that set, leaves
// the original reply and its trace as they were, keeps the run as a stand-alone trace, and refuses
// bad requests with one line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppService } from '../../src/app/AppService';
import { ModelManager } from '../../src/services/ModelManager';
import { SessionStore } from '../../src/sessions/SessionStore';
import type { Message, ResponseOf } from '../../src/shared/api';
import { DEMO_Q8 } from './helpers/engine';

let dir: string;
let models: ModelManager;
let store: SessionStore;
let app: AppService;
let reply: Message;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-lab-'));
  models = new ModelManager({ backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 });
  await models.ensure();
  store = new SessionStore({ file: path.join(dir, 'lab.db') });
  app = new AppService({ models, store, persistIntervalMs: 20, log: () => {} });
  const conv = await app.invoke('conversations:create', { settings: { temperature: 0, maxTokens: 32, fixedSeed: true, seed: 7, mode: 'clasp', skip: 8 } });
  const sent = await app.invoke('chat:send', { conversationId: conv.id, content: 'Count from 12 to 30.' });
  await app.waitIdle(conv.id);
  reply = store.getMessage(sent.assistantMessage.id)!;
}, 60_000);

afterAll(async () => {
  await app?.close();
  store?.close();
  models?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('lab:run', () => {
  it('re-runs a greedy reply with a pinned skip set: same tokens, exactly that set, the original untouched', async () => {
    expect(reply.status).toBe('complete');
    expect(reply.traceId).toBeTruthy();
    const before = store.getTrace(reply.traceId!)!;
    const r: ResponseOf<'lab:run'> = await app.invoke('lab:run', { traceId: reply.traceId!, skipLayers: [30, 20, 25, 28] });
    expect(r.identical).toBe(true);
    expect(r.trace.output_ids).toEqual(reply.tokenIds);
    expect(r.trace.config).toMatchObject({ mode: 'static', skip: 4, skip_layers: [20, 25, 28, 30], seed: 7 });
    expect(r.trace.summary.drafted).toBeGreaterThan(0);
    expect(r.trace.rounds.length).toBeGreaterThan(0);
    for (const round of r.trace.rounds) expect(round.skip).toEqual([20, 25, 28, 30]);
    expect(r.trace.rounds[0]!.dp).toMatchObject({ given: true, target_pos: before.prompt_ids.length - 1 });
    expect(r.name).toBe('Lab: skip 20,25,28,30');
    // Kept as a stand-alone trace; the reply and its trace are as they were.
    expect(store.getTraceRecord(r.traceId)).toMatchObject({ source: 'lab', name: r.name });
    expect(store.getMessage(reply.id)).toEqual(reply);
    expect(store.getTrace(reply.traceId!)).toEqual(before);
  }, 60_000);

  it('re-runs with CLaSp at a fixed M: the DP runs at that M, the tokens are the same', async () => {
    const r = await app.invoke('lab:run', { traceId: reply.traceId!, claspM: 12 });
    expect(r.identical).toBe(true);
    expect(r.trace.config).toMatchObject({ mode: 'clasp', skip: 12 });
    expect(store.getTraceRecord(r.traceId)).toMatchObject({ source: 'lab', name: 'Lab: clasp M=12' });
    expect(r.trace.summary.dp_runs).toBeGreaterThan(0);
    const dp = r.trace.rounds[0]!.dp!;
    expect(dp.given).toBeUndefined();
    expect(dp.M).toBe(12);
    expect(dp.table).toHaveLength(33); // asked for, so the table can be drawn
    for (const round of r.trace.rounds) expect(round.skip).toHaveLength(12);
  }, 60_000);

  it('refuses bad requests in one line and stores nothing', async () => {
    // a trace from another model file: its greedy tokens need not match, so it is not re-run here
    const other = { ...store.getTrace(reply.traceId!)! };
    other.model = { ...other.model, file: '/elsewhere/clasp-demo-29M-f16.gguf' };
    const otherId = store.putTrace(other, { source: 'imported', name: 'other' });
    const traces = store.countRows('traces');
    const bad: [unknown, RegExp][] = [
      [{ traceId: reply.traceId, skipLayers: [3, 40] }, /layer 40 is out of range/],
      [{ traceId: reply.traceId, skipLayers: [3, 3] }, /listed twice/],
      [{ traceId: reply.traceId, skipLayers: Array.from({ length: 32 }, (_, i) => i) }, /at most 31 of the 32/],
      [{ traceId: reply.traceId, skipLayers: [3], claspM: 4 }, /exactly one/],
      [{ traceId: reply.traceId }, /exactly one/],
      [{ traceId: reply.traceId, claspM: 32 }, /skip must be between 0 and 31/],
      [{ traceId: 'nope', skipLayers: [3] }, /no trace with id nope/],
      [{ traceId: otherId, skipLayers: [3] }, /this trace is from clasp-demo-29M-f16\.gguf .*load that model/],
    ];
    for (const [payload, says] of bad) {
      const e = await app.call('lab:run', payload).then(() => null, (x: Error) => x);
      expect(e, JSON.stringify(payload)).not.toBeNull();
      expect(e!.message).toMatch(says);
      expect(e!.message).not.toContain('\n');
    }
    expect(store.countRows('traces')).toBe(traces);
  }, 60_000);
});
