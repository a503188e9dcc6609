// Trace sources in the session store: migration 5 gives layer-lab and compare-modes runs sources of
// their own ('lab', 'compare') apart from imported files. Tested on a database written with the
// schema before it (4), where lab runs were stored as 'imported' with names starting "lab · ".
import { describe, expect, it } from 'vitest';
import { SessionStore } from '../../src/sessions/SessionStore';
import { MIGRATIONS } from '../../src/sessions/migrations';
import { sampleTrace } from './helpers/traces';
import { openOldDatabase, useDatabaseFile } from './helpers/oldDatabase';

const dbFile = useDatabaseFile('clasp-trace-sources-');

/** A schema-4 database: a conversation with a reply and its trace, an imported file, and a lab run. */
function schema4Database(): void {
  const { db, now } = openOldDatabase(dbFile(), 4);
  db.prepare(
    'INSERT INTO messages (id, conversation_id, seq, role, content, status, created_at, updated_at, trace_id, reply_group) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run('a1', 'c1', 1, 'assistant', 'Hi.', 'complete', now, now, 't-reply', 'a1');
  const put = db.prepare('INSERT INTO traces (id, conversation_id, message_id, source, name, created_at, json) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const json = JSON.stringify(sampleTrace());
  put.run('t-reply', 'c1', 'a1', 'generated', 'reply', now, json);
  put.run('t-file', null, null, 'imported', 'run.json · demo · clasp', now + 1, json);
  put.run('t-lab', 'c1', null, 'imported', 'lab · layers 3,5,7 · demo', now + 2, json);
  db.close();
}

describe('trace sources (migration 5)', () => {
  it('upgrades a schema-4 database: lab runs become "lab", the rest keep their source, nothing is lost', () => {
    schema4Database();
    const s = new SessionStore({ file: dbFile() });
    try {
      expect(s.migrated).toEqual({ from: 4, to: MIGRATIONS.length });
      const bySource = Object.fromEntries(s.listTraces().map((t) => [t.id, t.source]));
      expect(bySource).toEqual({ 't-reply': 'generated', 't-file': 'imported', 't-lab': 'lab' });
      expect(s.getTraceRecord('t-lab')).toMatchObject({ name: 'lab · layers 3,5,7 · demo', conversationId: 'c1' });
      expect(s.getTrace('t-file')).toEqual(sampleTrace());
      // the new sources are accepted, an unknown one is still refused by the schema
      const id = s.putTrace(sampleTrace(), { source: 'compare', name: 'Compare: clasp run 1 of 1', conversationId: 'c1' });
      expect(s.getTraceRecord(id)!.source).toBe('compare');
      expect(() => s.db.prepare(`UPDATE traces SET source = 'other' WHERE id = ?`).run(id)).toThrow(/CHECK constraint/);
      // the foreign keys survived the rebuild: deleting the conversation takes its traces
      s.deleteConversation('c1');
      expect(s.listTraces().map((t) => t.id)).toEqual(['t-file']);
    } finally {
      s.close();
    }
  });

  it('a new database takes every source', () => {
    const s = new SessionStore({ file: dbFile() });
    try {
      for (const source of ['generated', 'imported', 'lab', 'compare'] as const) s.putTrace(sampleTrace(), { source, name: source });
      expect(
        s
          .listTraces()
          .map((t) => t.source)
          .sort(),
      ).toEqual(['compare', 'generated', 'imported', 'lab']);
    } finally {
      s.close();
    }
  });
});
