// Conversations, messages and traces in one SQLite file (better-sqlite3, WAL).
//
// Nothing is lost when the app is killed mid-reply: the assistant row is written with status
// 'streaming' when the reply starts and its content is updated as tokens arrive; opening the store
// marks any row still 'streaming' as 'interrupted', keeping the text written so far.
//
// better-sqlite3 is a native module and its build is tied to one ABI: the default build serves Node
// (tests, the CLI, `clasp serve`); the Electron main process passes `nativeBinding`, the path of a
// build made for Electron by scripts/build-electron-sqlite.js.
import * as crypto from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import type { ChatSettings, Conversation, Message, MessageStatus, TokenFate, TraceSource } from '../shared/api';
import type { GenerationStats } from '../shared/engineTypes';
import { parseTrace, validateTrace, type Trace } from '../shared/trace';
import { prepareDbFile } from './dbFile';
import { json, toConversation, toMessage, type ConversationRow, type MessageRow } from './rows';
import { migrate, schemaVersion } from './migrations';
import * as versions from './versions';

export interface SessionStoreOptions {
  /** The database file, or ':memory:'. Its folder is created when missing. */
  file: string;
  /** Path of a better_sqlite3.node built for this runtime (Electron); default: the package's own build. */
  nativeBinding?: string;
}

export class StoreError extends Error {
  constructor(message: string, readonly code: 'not_found' | 'invalid' = 'invalid') {
    super(message);
  }
}

export interface NewMessage {
  conversationId: string;
  role: Message['role'];
  content: string;
  status: MessageStatus;
  settings?: ChatSettings;
  note?: string;
  droppedTurns?: number;
  model?: Message['model'];
  /** an assistant reply: the reply it is a new version of (its reply_group); absent: a reply of its own */
  replyGroup?: string;
}

export interface MessagePatch {
  content?: string;
  status?: MessageStatus;
  stats?: GenerationStats | null;
  tokenIds?: number[] | null;
  fates?: TokenFate[] | null;
  traceId?: string | null;
  error?: string | null;
  note?: string | null;
  pieces?: string[] | null;
}

export interface TraceRecord {
  id: string;
  name: string;
  source: TraceSource;
  conversationId: string | null;
  messageId: string | null;
  createdAt: number;
}


export function newId(): string {
  return crypto.randomUUID();
}

export class SessionStore {
  readonly db: Database;
  readonly file: string;
  /** How many replies were found mid-stream (the app was killed) and marked 'interrupted' on open. */
  readonly interruptedOnOpen: number;
  readonly migrated: { from: number; to: number };
  private closed = false;

  constructor(opts: SessionStoreOptions) {
    this.file = opts.file;
    if (opts.file !== ':memory:') prepareDbFile(opts.file);
    const dbOpts: BetterSqlite3.Options = {};
    if (opts.nativeBinding) dbOpts.nativeBinding = opts.nativeBinding;
    try {
      this.db = new BetterSqlite3(opts.file, dbOpts);
    } catch (e) {
      throw new Error(`cannot open the session database ${opts.file}: ${(e as Error).message}`);
    }
    try {
      // The first statement reads the header: a file that is not a database fails here, clearly.
      try {
        this.db.pragma('journal_mode = WAL');
      } catch (e) {
        throw new StoreError(`${opts.file} is not a CLaSp Studio session database (${(e as Error).message})`);
      }
      this.db.pragma('synchronous = NORMAL'); // with WAL: durable against app crashes, fast commits
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('secure_delete = ON'); // deleted chats are overwritten, not left in free pages
      this.migrated = migrate(this.db);
      this.interruptedOnOpen = this.db
        .prepare(`UPDATE messages SET status = 'interrupted', updated_at = ? WHERE status = 'streaming'`)
        .run(Date.now()).changes;
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  schemaVersion(): number {
    return schemaVersion(this.db);
  }

  journalMode(): string {
    return String(this.db.pragma('journal_mode', { simple: true }));
  }

  // ---- conversations ----

  listConversations(): Conversation[] {
    const rows = this.db.prepare('SELECT * FROM conversations ORDER BY updated_at DESC, rowid DESC').all() as ConversationRow[];
    return rows.map(toConversation);
  }

  getConversation(id: string): Conversation | undefined {
    const row = this.db.prepare('SELECT * FROM conversations WHERE id = ?').get(id) as ConversationRow | undefined;
    return row ? toConversation(row) : undefined;
  }

  requireConversation(id: string): Conversation {
    const c = this.getConversation(id);
    if (!c) throw new StoreError(`no conversation with id ${id}`, 'not_found');
    return c;
  }

  createConversation(c: { title: string; systemPrompt: string; settings: ChatSettings }): Conversation {
    const now = Date.now();
    const conv: Conversation = { id: newId(), title: c.title, systemPrompt: c.systemPrompt, settings: c.settings, createdAt: now, updatedAt: now };
    this.db
      .prepare('INSERT INTO conversations (id, title, system_prompt, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(conv.id, conv.title, conv.systemPrompt, JSON.stringify(conv.settings), now, now);
    return conv;
  }

  updateConversation(id: string, patch: { title?: string; systemPrompt?: string; settings?: ChatSettings }): Conversation {
    const cur = this.requireConversation(id);
    const next: Conversation = {
      ...cur,
      title: patch.title ?? cur.title,
      systemPrompt: patch.systemPrompt ?? cur.systemPrompt,
      settings: patch.settings ?? cur.settings,
      updatedAt: Math.max(Date.now(), cur.updatedAt),
    };
    this.db
      .prepare('UPDATE conversations SET title = ?, system_prompt = ?, settings = ?, updated_at = ? WHERE id = ?')
      .run(next.title, next.systemPrompt, JSON.stringify(next.settings), next.updatedAt, id);
    return next;
  }

  touchConversation(id: string): void {
    this.db.prepare('UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?').run(Date.now(), id);
  }

  /** Deletes a conversation with its messages and the traces of its replies. */
  deleteConversation(id: string): boolean {
    return this.db.prepare('DELETE FROM conversations WHERE id = ?').run(id).changes > 0;
  }

  // ---- messages ----

  /** The conversation as shown: each reply's selected version, with `versions` when it has several. */
  listMessages(conversationId: string): Message[] {
    const rows = this.db.prepare('SELECT * FROM messages WHERE conversation_id = ? AND selected = 1 ORDER BY seq').all(conversationId) as MessageRow[];
    const groups = versions.versionGroups(this.db, conversationId);
    return rows.map((r) => versions.withVersions(toMessage(r), r.reply_group, groups));
  }

  /** One message (any version), with `versions` when its reply has several. */
  getMessage(id: string): Message | undefined {
    const row = this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
    return row ? versions.withVersions(toMessage(row), row.reply_group, versions.versionGroups(this.db, row.conversation_id)) : undefined;
  }

  // Reply versions (versions.ts): the group a reply belongs to, which version is shown, deleting one.
  replyGroup = (id: string): string | null => versions.groupOf(this.db, id)?.group ?? null;
  selectVersion = (id: string): boolean => versions.selectVersion(this.db, id);
  /** Returns the id of the version shown afterwards (null: none left). */
  deleteVersion = (id: string): string | null => versions.deleteVersion(this.db, id);
  /** Keeps a reply as an earlier version, out of the conversation (regenerate). */
  unselectVersion = (id: string): void => versions.unselect(this.db, id);

  /** The message's position in its conversation (for "delete everything after"). */
  messageSeq(id: string): number | undefined {
    const row = this.db.prepare('SELECT seq FROM messages WHERE id = ?').get(id) as { seq: number } | undefined;
    return row?.seq;
  }

  addMessage(m: NewMessage): Message {
    const now = Date.now();
    const id = newId();
    const insert = this.db.transaction(() => {
      const { s } = this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM messages WHERE conversation_id = ?').get(m.conversationId) as { s: number };
      this.db
        .prepare(
          `INSERT INTO messages (id, conversation_id, seq, role, content, status, created_at, updated_at, settings, note, dropped_turns, model, reply_group)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, m.conversationId, s, m.role, m.content, m.status, now, now, json(m.settings), m.note ?? null, m.droppedTurns ?? null, json(m.model), m.role === 'assistant' ? (m.replyGroup ?? id) : null);
      this.touchConversation(m.conversationId);
    });
    try {
      insert.immediate();
    } catch (e) {
      if (/FOREIGN KEY/.test((e as Error).message)) throw new StoreError(`no conversation with id ${m.conversationId}`, 'not_found');
      throw e;
    }
    return this.getMessage(id)!;
  }

  /** Updates the given fields; returns false when the message no longer exists (e.g. deleted). */
  updateMessage(id: string, patch: MessagePatch): boolean {
    const sets: string[] = [];
    const vals: unknown[] = [];
    const put = (col: string, v: unknown) => {
      sets.push(`${col} = ?`);
      vals.push(v);
    };
    if (patch.content !== undefined) put('content', patch.content);
    if (patch.status !== undefined) put('status', patch.status);
    if (patch.stats !== undefined) put('stats', json(patch.stats));
    if (patch.tokenIds !== undefined) put('token_ids', json(patch.tokenIds));
    if (patch.fates !== undefined) put('fates', json(patch.fates));
    if (patch.traceId !== undefined) put('trace_id', patch.traceId);
    if (patch.error !== undefined) put('error', patch.error);
    if (patch.note !== undefined) put('note', patch.note);
    if (patch.pieces !== undefined) put('pieces', json(patch.pieces));
    put('updated_at', Date.now());
    vals.push(id);
    return this.db.prepare(`UPDATE messages SET ${sets.join(', ')} WHERE id = ?`).run(...vals).changes > 0;
  }

  deleteMessage(id: string): boolean {
    return this.db.prepare('DELETE FROM messages WHERE id = ?').run(id).changes > 0;
  }

  /** Deletes the messages after position `seq` of a conversation (edit-and-resend); returns how many. */
  deleteMessagesAfter(conversationId: string, seq: number): number {
    return this.db.prepare('DELETE FROM messages WHERE conversation_id = ? AND seq > ?').run(conversationId, seq).changes;
  }

  /** Runs `fn` in one transaction (all or nothing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---- traces ----

  /** Stores a trace after validating it again (a generated trace must meet the same schema as an import). */
  putTrace(
    trace: Trace,
    meta: { source: TraceSource; name: string; conversationId?: string | null; messageId?: string | null },
  ): string {
    const valid = validateTrace(trace, meta.name);
    const id = newId();
    this.db
      .prepare('INSERT INTO traces (id, conversation_id, message_id, source, name, created_at, json) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, meta.conversationId ?? null, meta.messageId ?? null, meta.source, meta.name.slice(0, 500), Date.now(), JSON.stringify(valid));
    return id;
  }

  /** Parses, validates and stores an untrusted trace file; throws TraceError and stores nothing when it is bad. */
  importTrace(text: string, name = 'imported trace'): { id: string; trace: Trace } {
    const trace = parseTrace(text, name);
    const id = this.putTrace(trace, { source: 'imported', name });
    return { id, trace };
  }

  getTrace(id: string): Trace | undefined {
    const row = this.db.prepare('SELECT json FROM traces WHERE id = ?').get(id) as { json: string } | undefined;
    return row ? (JSON.parse(row.json) as Trace) : undefined;
  }

  getTraceRecord(id: string): TraceRecord | undefined {
    return this.db.prepare(`SELECT ${TRACE_RECORD} FROM traces WHERE id = ?`).get(id) as TraceRecord | undefined;
  }

  listTraces(): TraceRecord[] {
    return this.db.prepare(`SELECT ${TRACE_RECORD} FROM traces ORDER BY created_at DESC, rowid DESC`).all() as TraceRecord[];
  }

  deleteTrace(id: string): boolean {
    return this.db.prepare('DELETE FROM traces WHERE id = ?').run(id).changes > 0;
  }

  countRows(table: 'conversations' | 'messages' | 'traces'): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  }

  // ---- app settings (small JSON values: recent models, ...) ----

  getSetting<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM app_settings WHERE key = ?').get(key) as { value: string } | undefined;
    if (!row) return undefined;
    try {
      return JSON.parse(row.value) as T;
    } catch {
      return undefined;
    }
  }

  setSetting(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO app_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }
}

const TRACE_RECORD = 'id, name, source, conversation_id AS conversationId, message_id AS messageId, created_at AS createdAt';
