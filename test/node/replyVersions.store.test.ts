// Reply versions in the session store: migration 4 upgrades a database made with the old schema in
// place (nothing lost), and the versions of a reply can be listed, switched and deleted.
import { describe, expect, it } from 'vitest';
import { SessionStore } from '../../src/sessions/SessionStore';
import { MIGRATIONS } from '../../src/sessions/migrations';
import { sampleTrace } from './helpers/traces';
import { openOldDatabase, OLD_SETTINGS, useDatabaseFile } from './helpers/oldDatabase';

const dbFile = useDatabaseFile('clasp-versions-');

/** A database written by the app before versions existed (schema 3), with a conversation, two turns and a trace. */
function oldDatabase(): { convId: string; replyId: string; traceId: string } {
  const { db, now } = openOldDatabase(dbFile(), 3);
  const ins = db.prepare(
    'INSERT INTO messages (id, conversation_id, seq, role, content, status, created_at, updated_at, trace_id, pieces) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  ins.run('u1', 'c1', 1, 'user', 'Hello?', 'complete', now, now, null, null);
  ins.run('a1', 'c1', 2, 'assistant', 'Hi there.', 'complete', now, now, 't1', JSON.stringify(['Hi', ' there.']));
  db.prepare('INSERT INTO traces (id, conversation_id, message_id, source, name, created_at, json) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    't1',
    'c1',
    'a1',
    'generated',
    'old',
    now,
    JSON.stringify(sampleTrace()),
  );
  db.close();
  return { convId: 'c1', replyId: 'a1', traceId: 't1' };
}

describe('reply versions in the store', () => {
  it('migration 4 upgrades an old database in place, keeping every row', () => {
    const old = oldDatabase();
    const s = new SessionStore({ file: dbFile() });
    try {
      expect(s.migrated).toEqual({ from: 3, to: MIGRATIONS.length });
      const msgs = s.listMessages(old.convId);
      expect(msgs.map((m) => [m.id, m.role, m.content])).toEqual([
        ['u1', 'user', 'Hello?'],
        ['a1', 'assistant', 'Hi there.'],
      ]);
      expect(msgs[1]!.pieces).toEqual(['Hi', ' there.']);
      expect(msgs[1]!.traceId).toBe(old.traceId);
      expect(msgs[1]!.versions).toBeUndefined(); // one version: no ‹ n/m ›
      expect(s.getTrace(old.traceId)).toBeDefined();
      // the old reply is a group of its own, and a new version joins it
      expect(s.replyGroup('a1')).toBe('a1');
      const v2 = s.addMessage({ conversationId: 'c1', role: 'assistant', content: 'Hello!', status: 'complete', replyGroup: 'a1' });
      s.unselectVersion('a1');
      expect(s.listMessages('c1').map((m) => m.id)).toEqual(['u1', v2.id]);
      expect(s.getMessage(v2.id)!.versions).toEqual({ ids: ['a1', v2.id], index: 1 });
    } finally {
      s.close();
    }
  });

  it('switches versions, keeps later turns in order, and deletes a version with its trace', () => {
    const s = new SessionStore({ file: dbFile() });
    try {
      const c = s.createConversation({ title: 't', systemPrompt: '', settings: OLD_SETTINGS });
      s.addMessage({ conversationId: c.id, role: 'user', content: 'q1', status: 'complete' });
      const a = s.addMessage({ conversationId: c.id, role: 'assistant', content: 'v1', status: 'complete' });
      const ta = s.putTrace(sampleTrace(), { source: 'generated', name: 'a', conversationId: c.id, messageId: a.id });
      s.unselectVersion(a.id);
      const b = s.addMessage({ conversationId: c.id, role: 'assistant', content: 'v2', status: 'complete', replyGroup: s.replyGroup(a.id)! });
      s.addMessage({ conversationId: c.id, role: 'user', content: 'q2', status: 'complete' });
      const shown = () => s.listMessages(c.id).map((m) => m.content);
      expect(shown()).toEqual(['q1', 'v2', 'q2']);

      expect(s.selectVersion(a.id)).toBe(true);
      expect(shown()).toEqual(['q1', 'v1', 'q2']);
      expect(s.listMessages(c.id)[1]!.versions).toEqual({ ids: [a.id, b.id], index: 0 });

      // Deleting the shown version shows the other one; its trace goes with it.
      expect(s.deleteVersion(a.id)).toBe(b.id);
      expect(shown()).toEqual(['q1', 'v2', 'q2']);
      expect(s.getTrace(ta)).toBeUndefined();
      expect(s.listMessages(c.id)[1]!.versions).toBeUndefined();
      // user turns have no versions
      expect(s.selectVersion(s.listMessages(c.id)[0]!.id)).toBe(false);
    } finally {
      s.close();
    }
  });

  it('edit-and-resend (delete after a turn) removes every version after it', () => {
    const s = new SessionStore({ file: dbFile() });
    try {
      const c = s.createConversation({ title: 't', systemPrompt: '', settings: OLD_SETTINGS });
      const u = s.addMessage({ conversationId: c.id, role: 'user', content: 'q1', status: 'complete' });
      const a = s.addMessage({ conversationId: c.id, role: 'assistant', content: 'v1', status: 'complete' });
      s.unselectVersion(a.id);
      s.addMessage({ conversationId: c.id, role: 'assistant', content: 'v2', status: 'complete', replyGroup: a.id });
      expect(s.deleteMessagesAfter(c.id, s.messageSeq(u.id)!)).toBe(2);
      expect(s.countRows('messages')).toBe(1);
    } finally {
      s.close();
    }
  });
});
