// One precedence rule between skip and skip ratio (a ratio, when set, wins), the same in the engine
// call, the stored trace and the panel's helpers; and a cleared ratio (null over the wire) stays
// cleared. Runs on the bundled demo model: the skip sets the engine drafted with are the proof.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppService } from '../../src/app/AppService';
import { ModelManager } from '../../src/services/ModelManager';
import { toNativeParams, validateSettings } from '../../src/services/settings';
import { SessionStore } from '../../src/sessions/SessionStore';
import type { Conversation, ReplyEvent, ResponseOf } from '../../src/shared/api';
import { applySettingsPatch, changedSettings, defaultChatSettings, effectiveSkip, resetPatch } from '../../src/shared/settings';
import { DEMO_Q8 } from './helpers/engine';

let dir: string;
let models: ModelManager;
let store: SessionStore;
let app: AppService;
const events: ReplyEvent[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-skiprule-'));
  models = new ModelManager({ backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 });
  await models.ensure();
  store = new SessionStore({ file: path.join(dir, 's.db') });
  app = new AppService({ models, store, persistIntervalMs: 20, log: () => {} });
  app.onReplyEvent((e) => events.push(e));
});

afterAll(async () => {
  await app.close();
  store.close();
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('skip and skip ratio', () => {
  it('resolves to one M by the shared rule: a ratio wins over skip, capped below the layer count', () => {
    expect(effectiveSkip({ skip: 8, skipRatio: 0.5 }, 32)).toBe(16);
    expect(effectiveSkip({ skip: 8 }, 32)).toBe(8);
    expect(effectiveSkip({ skip: 'auto', skipRatio: null }, 32)).toBe('auto');
    expect(effectiveSkip({ skip: 'auto', skipRatio: 0.99 }, 8)).toBe(7);
    // the addon gets one explicit M, never both
    const p = toNativeParams(validateSettings({ mode: 'static', skip: 8, skipRatio: 0.5 }, 32), 32);
    expect(p.skip).toBe(16);
    expect(p.skipRatio).toBeUndefined();
  });

  it('drafts with the M the trace records and the panel shows, with skip 8 and ratio 0.5 both set', async () => {
    const L = models.current!.info.nLayer;
    const want = Math.min(L - 1, Math.round(0.5 * L));
    expect(want).not.toBe(2); // the two settings must disagree for the test to mean anything
    const settings = { ...defaultChatSettings(), mode: 'static' as const, skip: 2, skipRatio: 0.5, temperature: 0, maxTokens: 24, fixedSeed: true };
    const c = (await app.call('conversations:create', { settings })) as Conversation;
    const r = (await app.call('chat:send', { conversationId: c.id, content: 'Count from 1 to 20.' })) as ResponseOf<'chat:send'>;
    await app.waitIdle(c.id);
    const rounds = events.filter((e) => e.type === 'rounds' && e.messageId === r.assistantMessage.id).flatMap((e) => (e.type === 'rounds' ? e.rounds : []));
    expect(rounds.length).toBeGreaterThan(0); // drafting happened
    for (const round of rounds) expect(round.skip.length).toBe(want);
    const msg = ((await app.call('messages:list', { conversationId: c.id })) as { id: string; traceId?: string | null }[]).find((m) => m.id === r.assistantMessage.id)!;
    const trace = (await app.call('trace:get', { traceId: msg.traceId! })) as { config: { skip: number | 'auto' } };
    expect(trace.config.skip).toBe(want);
    expect(effectiveSkip(settings, L)).toBe(want);
  });

  it('clears the optional settings (ratio, DET, LOI) with null over the wire, so Reset resets everything', async () => {
    const c = (await app.call('conversations:create', { settings: { skip: 8, skipRatio: 0.5, det: 0.6, loi: 4, temperature: 1.2, fixedSeed: true, seed: 7 } })) as Conversation;
    expect(c.settings.skipRatio).toBe(0.5);
    const D = defaultChatSettings(models.current!.defaults);
    expect(changedSettings(c.settings, D).sort()).toEqual(['det', 'fixedSeed', 'loi', 'seed', 'skip', 'skipRatio', 'temperature']);
    // one optional setting back to automatic
    const noDet = (await app.call('conversations:update', { id: c.id, settings: { det: null } })) as Conversation;
    expect(noDet.settings.det).toBeUndefined();
    expect(noDet.settings.loi).toBe(4);
    // Reset: the panel's patch
    expect(resetPatch(D)).toEqual({ ...D, skipRatio: null, det: null, loi: null });
    const reset = (await app.call('conversations:update', { id: c.id, settings: resetPatch(D) })) as Conversation;
    expect(reset.settings).toEqual(D);
    expect(changedSettings(reset.settings, D)).toEqual([]);
    // the renderer applies the same patch the same way
    expect(applySettingsPatch(c.settings, resetPatch(D))).toEqual(D);
    // a bad ratio is still refused with a reason
    await expect(app.call('conversations:update', { id: c.id, settings: { skipRatio: 1.5 } })).rejects.toThrow(/skipRatio/);
  });
});
