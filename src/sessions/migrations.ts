// The session database's schema, as an ordered list of migrations. Each one runs once, inside a
// transaction together with the row that records it in `schema_version`, so a database is always at
// exactly one known version: a migration that fails leaves the file as it was.
// Append new migrations at the end; never edit one that has shipped.
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  up: (db: Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'conversations, messages, traces',
    up: (db) => {
      db.exec(`
        CREATE TABLE conversations (
          id            TEXT PRIMARY KEY,
          title         TEXT NOT NULL,
          system_prompt TEXT NOT NULL DEFAULT '',
          settings      TEXT NOT NULL,              -- ChatSettings JSON
          created_at    INTEGER NOT NULL,
          updated_at    INTEGER NOT NULL
        );

        CREATE TABLE messages (
          id              TEXT PRIMARY KEY,
          conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
          seq             INTEGER NOT NULL,         -- order within the conversation
          role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
          content         TEXT NOT NULL,
          status          TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'interrupted', 'error', 'cancelled')),
          created_at      INTEGER NOT NULL,
          updated_at      INTEGER NOT NULL,
          settings        TEXT,                     -- JSON: the settings the reply ran with
          stats           TEXT,                     -- JSON: GenerationStats
          token_ids       TEXT,                     -- JSON: number[]
          fates           TEXT,                     -- JSON: TokenFate[]
          trace_id        TEXT,
          error           TEXT,
          note            TEXT,                     -- e.g. "the 2 oldest turns were left out"
          dropped_turns   INTEGER,
          model           TEXT,                     -- JSON: {name, path, device}
          UNIQUE (conversation_id, seq)
        );
        CREATE INDEX messages_by_status ON messages(status);

        CREATE TABLE traces (
          id              TEXT PRIMARY KEY,
          conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
          message_id      TEXT REFERENCES messages(id) ON DELETE CASCADE,
          source          TEXT NOT NULL CHECK (source IN ('generated', 'imported')),
          name            TEXT NOT NULL,
          created_at      INTEGER NOT NULL,
          json            TEXT NOT NULL             -- the clasp-trace document, validated on write
        );
        CREATE INDEX traces_by_conversation ON traces(conversation_id);
        CREATE INDEX traces_by_message ON traces(message_id);
      `);
    },
  },
  {
    version: 2,
    name: 'app settings (recent models)',
    up: (db) => {
      db.exec(`CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    },
  },
  {
    version: 3,
    name: 'the text of each generated token (token-fate colouring)',
    up: (db) => {
      db.exec(`ALTER TABLE messages ADD COLUMN pieces TEXT`); // JSON: string[], one per token id
    },
  },
  {
    version: 4,
    name: 'reply versions (regenerate keeps the earlier replies)',
    up: (db) => {
      // The versions of one reply share `reply_group` (the first version's id); exactly one of them
      // has selected = 1 and is the one in the conversation. Every existing reply is its own group.
      db.exec(`
        ALTER TABLE messages ADD COLUMN reply_group TEXT;
        ALTER TABLE messages ADD COLUMN selected INTEGER NOT NULL DEFAULT 1;
        UPDATE messages SET reply_group = id WHERE role = 'assistant';
        CREATE INDEX messages_by_group ON messages(reply_group);
      `);
    },
  },
  {
    version: 5,
    name: 'trace sources: layer-lab and compare-modes runs apart from imported files',
    up: (db) => {
      // SQLite cannot change a CHECK constraint, so the table is rebuilt (nothing references it by
      // key: messages.trace_id is plain text). Lab runs were stored as 'imported' with names that
      // start "lab · " (src/app/layerLab.ts before this version); they become 'lab'.
      db.exec(`
        CREATE TABLE traces_v5 (
          id              TEXT PRIMARY KEY,
          conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
          message_id      TEXT REFERENCES messages(id) ON DELETE CASCADE,
          source          TEXT NOT NULL CHECK (source IN ('generated', 'imported', 'lab', 'compare')),
          name            TEXT NOT NULL,
          created_at      INTEGER NOT NULL,
          json            TEXT NOT NULL
        );
        INSERT INTO traces_v5 (rowid, id, conversation_id, message_id, source, name, created_at, json)
          SELECT rowid, id, conversation_id, message_id,
                 CASE WHEN source = 'imported' AND name LIKE 'lab · %' THEN 'lab' ELSE source END,
                 name, created_at, json
          FROM traces;
        DROP TABLE traces;
        ALTER TABLE traces_v5 RENAME TO traces;
        CREATE INDEX traces_by_conversation ON traces(conversation_id);
        CREATE INDEX traces_by_message ON traces(message_id);
      `);
    },
  },
];

export class MigrationError extends Error {}

/** The version recorded in the file; 0 for a new, empty database. */
export function schemaVersion(db: Database): number {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).get();
  if (!exists) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Brings the database up to the newest migration. Each migration and its schema_version row commit
 * together; a failing one rolls back and throws, leaving earlier ones applied. A file written by a
 * newer app (a higher version than we know) is refused untouched.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): { from: number; to: number } {
  checkOrder(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const from = schemaVersion(db);
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  if (from > latest) {
    throw new MigrationError(
      `the session database is at schema version ${from}, newer than this version of CLaSp Studio understands (${latest}); update the app or use another data folder`,
    );
  }
  const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (m.version <= from) continue;
    const apply = db.transaction(() => {
      m.up(db);
      record.run(m.version, m.name, Date.now());
    });
    try {
      apply.immediate();
    } catch (e) {
      throw new MigrationError(`session database migration ${m.version} (${m.name}) failed: ${(e as Error).message}`);
    }
  }
  return { from, to: schemaVersion(db) };
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new MigrationError(`migration #${i} has version ${m.version}; versions must be 1, 2, 3, ...`);
  });
}
