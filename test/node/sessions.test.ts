// SessionStore on Node's better-sqlite3 build: files, WAL, migrations, crash recovery, traces.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionStore, StoreError } from '../../src/sessions/SessionStore';
import { MIGRATIONS, MigrationError, migrate, schemaVersion, type Migration } from '../../src/sessions/migrations';
import { TraceError } from '../../src/shared/trace';
import { sampleTrace } from './helpers/traces';
import type { ChatSettings } from '../../src/shared/api';

const SETTINGS: ChatSettings = {
  mode: 'clasp', skip: 'auto', det: 0.7, maxDraft: 12, loi: 4, temperature: 0, topP: 1, topK: 0, seed: 0, maxTokens: 16,
};

let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-store-'));
  file = path.join(dir, 'nested', 'sessions.db');
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SessionStore', () => {
  it('creates the file (and its folder) in WAL mode at the newest schema version', () => {
    const s = new SessionStore({ file });
    expect(fs.existsSync(file)).toBe(true);
    expect(s.journalMode()).toBe('wal');
    expect(s.schemaVersion()).toBe(MIGRATIONS.length);
    expect(s.migrated).toEqual({ from: 0, to: MIGRATIONS.length });
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    s.close();
  });

  it('keeps everything across a reopen, and applies no migration twice', () => {
    const s = new SessionStore({ file });
    const c = s.createConversation({ title: 'Hello', systemPrompt: 'Be brief.', settings: SETTINGS });
    const u = s.addMessage({ conversationId: c.id, role: 'user', content: 'Hi', status: 'complete' });
    const a = s.addMessage({ conversationId: c.id, role: 'assistant', content: '', status: 'streaming', settings: SETTINGS });
    s.updateMessage(a.id, { content: 'Hello there', status: 'complete', tokenIds: [1, 2], fates: ['plain', 'bonus'] });
    s.close();

    const r = new SessionStore({ file });
    expect(r.migrated).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length });
    const rows = r.db.prepare('SELECT version FROM schema_version ORDER BY version').all() as { version: number }[];
    expect(rows.map((x) => x.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(r.listConversations()).toEqual([expect.objectContaining({ id: c.id, title: 'Hello', systemPrompt: 'Be brief.', settings: SETTINGS })]);
    const msgs = r.listMessages(c.id);
    expect(msgs.map((m) => [m.id, m.role, m.content, m.status])).toEqual([
      [u.id, 'user', 'Hi', 'complete'],
      [a.id, 'assistant', 'Hello there', 'complete'],
    ]);
    expect(msgs[1]!.tokenIds).toEqual([1, 2]);
    expect(msgs[1]!.fates).toEqual(['plain', 'bonus']);
    expect(msgs[1]!.settings).toEqual(SETTINGS);
    expect(r.interruptedOnOpen).toBe(0);
    r.close();
  });

  it("marks replies still 'streaming' (the app was killed) as 'interrupted', keeping their text", () => {
    const s = new SessionStore({ file });
    const c = s.createConversation({ title: 't', systemPrompt: '', settings: SETTINGS });
    s.addMessage({ conversationId: c.id, role: 'user', content: 'Count to ten', status: 'complete' });
    const a = s.addMessage({ conversationId: c.id, role: 'assistant', content: '', status: 'streaming' });
    s.updateMessage(a.id, { content: '1, 2, 3,', tokenIds: [10, 11, 12], fates: ['plain', 'accepted', 'correction'] });
    // No close(): the process dies with the database open. A second connection stands in for the
    // next launch (WAL keeps what the first one committed).
    const r = new SessionStore({ file });
    expect(r.interruptedOnOpen).toBe(1);
    const m = r.getMessage(a.id)!;
    expect(m.status).toBe('interrupted');
    expect(m.content).toBe('1, 2, 3,');
    expect(m.tokenIds).toEqual([10, 11, 12]);
    r.close();
    s.close();
  });

  it('migrations run in order, each with its version row in one transaction; a failing one changes nothing', () => {
    const db = new BetterSqlite3(path.join(dir, 'm.db'));
    const ok: Migration[] = [{ version: 1, name: 'a', up: (d) => d.exec('CREATE TABLE a (x)') }];
    expect(migrate(db, ok)).toEqual({ from: 0, to: 1 });
    expect(migrate(db, ok)).toEqual({ from: 1, to: 1 }); // idempotent
    const bad: Migration[] = [
      ...ok,
      { version: 2, name: 'b', up: (d) => { d.exec('CREATE TABLE b (y)'); d.exec('THIS IS NOT SQL'); } },
    ];
    expect(() => migrate(db, bad)).toThrow(MigrationError);
    expect(() => migrate(db, bad)).toThrow(/migration 2 \(b\) failed/);
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toBeUndefined();
    // versions must be 1..n
    expect(() => migrate(db, [{ version: 2, name: 'x', up: () => {} }])).toThrow(/versions must be 1, 2, 3/);
    db.close();
  });

  it('refuses, untouched, a database from a newer app', () => {
    const s = new SessionStore({ file });
    s.db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(99, 'future', 0);
    s.close();
    expect(() => new SessionStore({ file })).toThrow(/schema version 99, newer than this version/);
  });

  it('says clearly when the file is not a database', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'this is not sqlite '.repeat(100));
    expect(() => new SessionStore({ file })).toThrow(StoreError);
    expect(() => new SessionStore({ file })).toThrow(/not a CLaSp Studio session database/);
  });

  it('deleting a conversation deletes its messages and the traces of its replies, not imported traces', () => {
    const s = new SessionStore({ file });
    const c = s.createConversation({ title: 't', systemPrompt: '', settings: SETTINGS });
    const keep = s.createConversation({ title: 'other', systemPrompt: '', settings: SETTINGS });
    s.addMessage({ conversationId: c.id, role: 'user', content: 'q', status: 'complete' });
    const a = s.addMessage({ conversationId: c.id, role: 'assistant', content: 'r', status: 'complete' });
    const tid = s.putTrace(sampleTrace(), { source: 'generated', name: 'gen', conversationId: c.id, messageId: a.id });
    s.updateMessage(a.id, { traceId: tid });
    const imported = s.importTrace(JSON.stringify(sampleTrace())).id;
    s.addMessage({ conversationId: keep.id, role: 'user', content: 'stay', status: 'complete' });

    expect(s.deleteConversation(c.id)).toBe(true);
    expect(s.getConversation(c.id)).toBeUndefined();
    expect(s.listMessages(c.id)).toEqual([]);
    expect(s.getTrace(tid)).toBeUndefined();
    expect(s.getTrace(imported)).toBeDefined();
    expect(s.listMessages(keep.id)).toHaveLength(1);
    expect(s.countRows('messages')).toBe(1);
    expect(s.deleteConversation(c.id)).toBe(false);
    s.close();
  });

  it('deleting a reply deletes its trace; deleting after a message keeps the ones before', () => {
    const s = new SessionStore({ file });
    const c = s.createConversation({ title: 't', systemPrompt: '', settings: SETTINGS });
    const m1 = s.addMessage({ conversationId: c.id, role: 'user', content: '1', status: 'complete' });
    const m2 = s.addMessage({ conversationId: c.id, role: 'assistant', content: '2', status: 'complete' });
    const tid = s.putTrace(sampleTrace(), { source: 'generated', name: 'g', conversationId: c.id, messageId: m2.id });
    s.addMessage({ conversationId: c.id, role: 'user', content: '3', status: 'complete' });
    expect(s.deleteMessagesAfter(c.id, s.messageSeq(m1.id)!)).toBe(2);
    expect(s.listMessages(c.id).map((m) => m.content)).toEqual(['1']);
    expect(s.getTrace(tid)).toBeUndefined();
    // positions keep growing after deletes, so order is stable
    const m4 = s.addMessage({ conversationId: c.id, role: 'assistant', content: '4', status: 'complete' });
    expect(s.listMessages(c.id).map((m) => m.id)).toEqual([m1.id, m4.id]);
    s.close();
  });

  it('stores a trace and reads back the same document', () => {
    const s = new SessionStore({ file });
    const t = sampleTrace();
    const { id, trace } = s.importTrace(JSON.stringify(t), 'x');
    expect(trace).toEqual(t);
    expect(s.getTrace(id)).toEqual(t);
    expect(s.listTraces()).toEqual([expect.objectContaining({ id, source: 'imported', name: 'x', conversationId: null })]);
    s.close();
  });

  it('rejects corrupt or hostile trace files with a clear error and changes nothing', () => {
    const s = new SessionStore({ file });
    const before = s.countRows('traces');
    const t = sampleTrace();
    const cases: [string, RegExp][] = [
      ['{"format": "clasp-tr', /not valid JSON/],
      [JSON.stringify({ format: 'something-else', version: 1 }), /not a clasp-trace document/],
      [JSON.stringify({ ...t, version: 2 }), /version/],
      [JSON.stringify({ ...t, prompt_ids: new Array(1_000_001).fill(1) }), /prompt_ids/],
      [JSON.stringify({ ...t, rounds: [{ ...t.rounds[0], skip: [7] }] }), /layer index >= n_layer/],
      [JSON.stringify({ ...t, rounds: [{ ...t.rounds[0], draft: { ...t.rounds[0]!.draft, q: [0.5] } }] }), /one entry per draft id/],
      [JSON.stringify({ ...t, rounds: [{ ...t.rounds[0], verify: { ...t.rounds[0]!.verify, p: [0.5] } }] }), /verify\.p/],
      [JSON.stringify({ ...t, rounds: [{ ...t.rounds[0], dp: { ...t.rounds[0]!.dp, path_cosine: [1] } }] }), /n_layer \+ 1/],
      [JSON.stringify({ ...t, model: { ...t.model, file: '../'.repeat(2000) + 'etc/passwd' } }), /model\.file/],
      [JSON.stringify({ ...t, summary: { ...t.summary, mode: '<script>' } }), /summary\.mode/],
      [JSON.stringify([1, 2, 3]), /not a clasp-trace document/],
      ['null', /invalid clasp-trace/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        s.importTrace(text, 'bad.json');
      } catch (e) {
        err = e;
      }
      expect(err, text.slice(0, 80)).toBeInstanceOf(TraceError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message.length).toBeLessThan(1000);
    }
    expect(s.countRows('traces')).toBe(before);
    s.close();
  });

  it('app settings round-trip as JSON', () => {
    const s = new SessionStore({ file });
    expect(s.getSetting('recentModels')).toBeUndefined();
    s.setSetting('recentModels', ['/a', '/b']);
    s.setSetting('recentModels', ['/c']);
    expect(s.getSetting('recentModels')).toEqual(['/c']);
    s.close();
  });

  it('a message for a missing conversation is a not_found StoreError', () => {
    const s = new SessionStore({ file });
    expect(() => s.addMessage({ conversationId: 'nope', role: 'user', content: 'x', status: 'complete' })).toThrow(/no conversation with id nope/);
    s.close();
  });
});
