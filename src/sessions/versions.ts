// Reply versions: regenerating keeps the earlier replies. The versions of one reply share
// `reply_group` (migration 4) and exactly one of them is selected: that one is in the conversation
// (listMessages, the prompt of later turns, exports); the others stay, with their traces, until
// deleted. Versions of a reply lie between the same two user turns, so ordering by seq still works.
import type { Database } from 'better-sqlite3';
import type { Message } from '../shared/api';

/** The versions of each reply group in a conversation that has more than one, oldest first. */
export function versionGroups(db: Database, conversationId: string): Map<string, string[]> {
  const rows = db
    .prepare(`SELECT id, reply_group AS g FROM messages WHERE conversation_id = ? AND reply_group IS NOT NULL ORDER BY seq`)
    .all(conversationId) as { id: string; g: string }[];
  const groups = new Map<string, string[]>();
  for (const r of rows) groups.set(r.g, [...(groups.get(r.g) ?? []), r.id]);
  for (const [g, ids] of groups) if (ids.length < 2) groups.delete(g);
  return groups;
}

/** Adds `versions` to the replies that have more than one version. */
export function withVersions(m: Message, group: string | null, groups: Map<string, string[]>): Message {
  const ids = group ? groups.get(group) : undefined;
  return ids ? { ...m, versions: { ids, index: ids.indexOf(m.id) } } : m;
}

export function groupOf(db: Database, messageId: string): { group: string | null; conversationId: string; role: string } | undefined {
  return db.prepare('SELECT reply_group AS "group", conversation_id AS conversationId, role FROM messages WHERE id = ?').get(messageId) as
    { group: string | null; conversationId: string; role: string } | undefined;
}

/** Makes `messageId` the selected version of its reply; false when there is no such reply. */
export function selectVersion(db: Database, messageId: string): boolean {
  const row = groupOf(db, messageId);
  if (!row?.group) return false;
  db.transaction(() => {
    db.prepare('UPDATE messages SET selected = 0 WHERE reply_group = ?').run(row.group);
    db.prepare('UPDATE messages SET selected = 1 WHERE id = ?').run(messageId);
  }).immediate();
  return true;
}

/**
 * Deletes one version (its trace goes with it). When it was the selected one, the newest remaining
 * version becomes selected. Returns the selected version's id afterwards, or null when none is left.
 */
export function deleteVersion(db: Database, messageId: string): string | null {
  const row = groupOf(db, messageId);
  if (!row?.group) return null;
  return db
    .transaction(() => {
      db.prepare('DELETE FROM messages WHERE id = ?').run(messageId);
      const left = db.prepare('SELECT id, selected FROM messages WHERE reply_group = ? ORDER BY seq').all(row.group) as { id: string; selected: number }[];
      if (left.length === 0) return null;
      const kept = left.find((r) => r.selected === 1) ?? left[left.length - 1]!;
      db.prepare('UPDATE messages SET selected = 1 WHERE id = ?').run(kept.id);
      return kept.id;
    })
    .immediate();
}

/** Takes a reply out of the conversation, keeping it as an earlier version. */
export function unselect(db: Database, messageId: string): void {
  db.prepare('UPDATE messages SET selected = 0 WHERE id = ?').run(messageId);
}
