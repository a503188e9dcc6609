// What the CLaSp policy learns is kept across processes: in the app's data folder (policy/), and for
// `clasp generate` in a cache folder that --policy-dir moves and --no-policy-memory turns off. A
// corrupt file is ignored with a one-line warning. policy:forget clears it; chat:regenerate with
// tryAnyway speculates whatever the policy predicts. Each reply's stats say which plans ran where.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type ClaspApp } from '../../src/app/createApp';
import { generateCommand } from '../../src/cli/generate';
import { defaultPolicyDir } from '../../src/cli/common';
import type { Conversation, Message, ReplyEvent } from '../../src/shared/api';
import type { GenerationStats } from '../../src/shared/engineTypes';
import { DEMO_Q8 } from './helpers/engine';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-policy-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const policyFiles = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => /^policy-[0-9a-f]{16}\.json$/.test(f)) : []);

/** The stretches cover the reply's tokens in order, and the time breakdown fits in the decoding time. */
function checkStats(s: GenerationStats): void {
  let covered = 0;
  for (const st of s.stretches ?? []) {
    expect(st.from).toBe(covered);
    expect(st.reason.length).toBeGreaterThan(0);
    covered += st.n;
  }
  expect(covered).toBe(s.n_generated);
  const parts = (s.draft_ms ?? 0) + (s.verify_ms ?? 0) + (s.dp_ms ?? 0) + (s.plain_ms ?? 0);
  expect(parts).toBeGreaterThan(0);
  expect(parts).toBeLessThanOrEqual(s.decode_ms + 1e-6);
}

describe('the app keeps the policy memory in its data folder', () => {
  const open = (data: string): ClaspApp => createApp({ dataDir: data, modelOptions: { backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 }, log: () => {} });

  async function reply(c: ClaspApp, conv: Conversation, send: () => Promise<unknown>): Promise<Message> {
    const done = new Promise<void>((resolve) => {
      const off = c.app.onReplyEvent((e: ReplyEvent) => {
        if (e.type === 'done' || e.type === 'error') {
          off();
          resolve();
        }
      });
    });
    await send();
    await done;
    await c.app.waitIdle(conv.id);
    const msgs = c.store.listMessages(conv.id);
    return msgs[msgs.length - 1]!;
  }

  it('survives a restart, is forgotten on request, and "try it anyway" speculates', async () => {
    const data = path.join(dir, 'data');
    const policyDir = path.join(data, 'policy');
    let c = open(data);
    try {
      const conv = (await c.app.invoke('conversations:create', { settings: { mode: 'clasp', temperature: 0, maxTokens: 24, fixedSeed: true, seed: 0 } })) as Conversation;
      const m = await reply(c, conv, () => c.app.invoke('chat:send', { conversationId: conv.id, content: 'Count from 1 to 20.' }));
      expect(m.status).toBe('complete');
      checkStats(m.stats!);
      expect(m.stats!.earlier).toEqual({ tokens: 0, ms: 0, speedup: null }); // nothing measured before the first reply
      expect(policyFiles(policyDir)).toHaveLength(1);
      expect(c.models.current!.info.policyLoaded).toBe(false);
    } finally {
      await c.close();
    }

    c = open(data); // a new process would find the same file
    try {
      await c.models.ensure(c.store);
      const info = c.models.current!.refreshInfo();
      expect(info.policyLoaded).toBe(true);
      expect(info.policyWarning).toBeNull();
      expect(path.dirname(info.policyFile!)).toBe(policyDir);

      const conv = (await c.app.invoke('conversations:create', { settings: { mode: 'clasp', temperature: 0, maxTokens: 24, fixedSeed: true, seed: 0 } })) as Conversation;
      const first = await reply(c, conv, () => c.app.invoke('chat:send', { conversationId: conv.id, content: 'Count from 1 to 20.' }));
      // The kept table: no calibration in this process.
      expect(first.stats!.calibration_ms!).toBeLessThan(1);
      const forced = await reply(c, conv, () => c.app.invoke('chat:regenerate', { conversationId: conv.id, tryAnyway: true }));
      checkStats(forced.stats!);
      expect(forced.stats!.stretches![0]!.speculate).toBe(true);
      expect(forced.stats!.rounds).toBeGreaterThan(0);
      // The forced reply's text is the plain reply's (greedy is lossless).
      expect(forced.content).toBe(first.content);

      expect(await c.app.invoke('policy:forget', {})).toEqual({ forgotten: true, model: c.models.current!.info.name });
      expect(policyFiles(policyDir)).toHaveLength(0);
      expect(c.models.current!.refreshInfo().policyLoaded).toBe(false);
      // The next speculative reply measures the costs again.
      const fresh = await reply(c, conv, () => c.app.invoke('chat:regenerate', { conversationId: conv.id }));
      expect(fresh.stats!.calibration_ms!).toBeGreaterThan(1);
      expect(fresh.stats!.earlier!.tokens).toBe(0);
      expect(policyFiles(policyDir)).toHaveLength(1);
    } finally {
      await c.close();
    }
  });

  it('policy:forget without a model says so', async () => {
    const c = open(path.join(dir, 'data-empty'));
    try {
      expect(await c.app.invoke('policy:forget', {})).toEqual({ forgotten: false, model: null });
      await expect(c.app.call('chat:regenerate', { conversationId: 'x', tryAnyway: 'yes' })).rejects.toThrow(/tryAnyway/);
    } finally {
      await c.close();
    }
  });
});

describe('clasp generate keeps the policy memory in a cache folder', () => {
  async function run(args: string[]): Promise<{ out: string; err: string }> {
    let out = '';
    let err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
    try {
      expect(await generateCommand(['--model', DEMO_Q8, '--threads', '2', '--mode', 'clasp', '--max-tokens', '12', '--prompt', 'Once upon a time', '--json', ...args])).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    return { out, err };
  }

  it('writes, reads back, ignores a corrupt file with a warning, and can be turned off', async () => {
    const pd = path.join(dir, 'cache');
    await run(['--policy-dir', pd]);
    const files = policyFiles(pd);
    expect(files).toHaveLength(1);
    const file = path.join(pd, files[0]!);
    const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as { format: string; version: number; costs: { L: number }; memory: object };
    expect(kept.format).toBe('clasp-policy');
    expect(kept.costs.L).toBeGreaterThan(1);

    const again = JSON.parse((await run(['--policy-dir', pd])).out) as { stats: GenerationStats };
    expect(again.stats.calibration_ms!).toBeLessThan(1); // the kept table

    fs.writeFileSync(file, '{"format": "clasp-policy", "version": 1, "key": ');
    const { err, out } = await run(['--policy-dir', pd]);
    const warning = err.split('\n').filter((l) => l.includes('WARNING'));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatch(/ignored the policy memory in .*invalid JSON.*measured again/);
    expect((JSON.parse(out) as { stats: GenerationStats }).stats.calibration_ms!).toBeGreaterThan(1);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).format).toBe('clasp-policy'); // written back whole

    const forgot = JSON.parse((await run(['--policy-dir', pd, '--forget'])).out) as { stats: GenerationStats };
    expect(forgot.stats.calibration_ms!).toBeGreaterThan(1); // measured again

    const def = path.join(dir, 'default');
    const before = process.env.CLASP_POLICY_DIR;
    process.env.CLASP_POLICY_DIR = def;
    try {
      await run(['--no-policy-memory']);
      expect(policyFiles(def)).toHaveLength(0);
      await run([]);
      expect(policyFiles(def)).toHaveLength(1);
    } finally {
      if (before === undefined) delete process.env.CLASP_POLICY_DIR;
      else process.env.CLASP_POLICY_DIR = before;
    }
    await expect(generateCommand(['--no-policy-memory', '--policy-dir', def, '--prompt', 'x'])).rejects.toThrow(/not both/);
  });

  it('defaults to $CLASP_POLICY_DIR, else the XDG cache', () => {
    expect(defaultPolicyDir({ CLASP_POLICY_DIR: '/a/b' })).toBe('/a/b');
    expect(defaultPolicyDir({ XDG_CACHE_HOME: '/c' })).toBe(path.join('/c', 'clasp', 'policy'));
    expect(defaultPolicyDir({})).toBe(path.join(os.homedir(), '.cache', 'clasp', 'policy'));
  });
});
