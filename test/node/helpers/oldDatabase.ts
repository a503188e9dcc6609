// A sessions database written with an older schema, as the app of that version left it: the first
// `version` migrations and one conversation, "c1" ("Old chat"). The caller adds the rows it needs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, expect } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion } from '../../../src/sessions/migrations';
import type { ChatSettings } from '../../../src/shared/api';

export const OLD_SETTINGS: ChatSettings = { mode: 'clasp', skip: 'auto', maxDraft: 12, temperature: 0, topP: 1, topK: 0, seed: 0, maxTokens: 16 };

export function openOldDatabase(file: string, version: number): { db: BetterSqlite3.Database; now: number } {
  const db = new BetterSqlite3(file);
  migrate(db, MIGRATIONS.slice(0, version));
  expect(schemaVersion(db)).toBe(version);
  const now = Date.now();
  db.prepare('INSERT INTO conversations (id, title, system_prompt, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    'c1',
    'Old chat',
    '',
    JSON.stringify(OLD_SETTINGS),
    now,
    now,
  );
  return { db, now };
}

/** A sessions.db path in a fresh temp folder for each test of the file (removed after it). */
export function useDatabaseFile(prefix: string): () => string {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  return () => path.join(dir, 'sessions.db');
}
