// Regenerate and reply versions. Regenerating keeps the earlier reply as a version (with its trace
// and stats) and writes a new one; ‹ n/m › switches which version the conversation shows, and so
// which one later turns' prompts and exports use (src/sessions/versions.ts stores them).
import type { ChatSettings, Conversation, Message, ResponseOf } from '../shared/api';
import type { EngineService } from '../services/EngineService';
import type { ValidSettings } from '../services/settings';
import type { ChatMessage } from '../services/text/chatTemplate';
import type { SessionStore } from '../sessions/SessionStore';
import { ApiError } from './apiErrors';
import { toChat, type PromptPlan } from './promptPlan';
import { addReplyRow } from './ReplyStream';

/** What these need from the app (AppService implements it). */
export interface ReplyHost {
  readonly store: SessionStore;
  ready(conversationId: string): Promise<{ conv: Conversation; engine: EngineService }>;
  assertIdle(conversationId: string): void;
  prepare(engine: EngineService, conv: Conversation, turns: ChatMessage[]): { gen: ValidSettings; chat: ChatSettings; plan: PromptPlan };
  startReply(engine: EngineService, conversationId: string, msg: Message, plan: PromptPlan, gen: ValidSettings): void;
  conversationUpdated(conversationId: string): void;
}

/** A new version of the last reply (or a first reply to a trailing user turn). */
export async function regenerate(app: ReplyHost, conversationId: string, tryAnyway = false): Promise<ResponseOf<'chat:regenerate'>> {
  const { conv, engine } = await app.ready(conversationId);
  const { store } = app;
  const history = store.listMessages(conv.id);
  const last = history[history.length - 1];
  const replaced = last?.role === 'assistant' ? last : undefined;
  const base = replaced ? history.slice(0, -1) : history;
  if (base[base.length - 1]?.role !== 'user') {
    throw new ApiError('nothing to regenerate: the conversation does not end with a user message and its reply', 'bad_request');
  }
  const { gen, chat, plan } = app.prepare(engine, conv, toChat(base));
  if (tryAnyway) gen.forceSpeculation = true; // "try it anyway": this one reply speculates
  let assistantMessage!: Message;
  store.transaction(() => {
    let replyGroup: string | undefined;
    if (replaced) {
      // A reply with nothing in it (it failed before its first token) is not worth keeping.
      const empty = replaced.content.length === 0 && !replaced.traceId;
      if (empty) {
        replyGroup = replaced.versions ? (store.replyGroup(replaced.id) ?? undefined) : undefined;
        store.deleteMessage(replaced.id);
      } else {
        replyGroup = store.replyGroup(replaced.id) ?? undefined;
        store.unselectVersion(replaced.id);
      }
    }
    const row = addReplyRow(store, engine, conv.id, chat, plan, replyGroup);
    assistantMessage = store.getMessage(row.id)!; // with its versions
  });
  app.conversationUpdated(conv.id);
  app.startReply(engine, conv.id, assistantMessage, plan, gen);
  return { assistantMessage, promptTokens: plan.ids.length, droppedTurns: plan.droppedTurns };
}

/** A reply of this conversation (any version), or a clear error. */
function requireReply(store: SessionStore, conversationId: string, messageId: string): Message {
  const m = store.getMessage(messageId);
  if (!m || m.conversationId !== conversationId) throw new ApiError(`no message with id ${messageId} in this conversation`, 'not_found');
  if (m.role !== 'assistant') throw new ApiError('only assistant replies have versions', 'bad_request');
  return m;
}

/** Shows another version of a reply. Refused while a reply is written here: it may be reading the prompt. */
export function selectVersion(app: ReplyHost, conversationId: string, messageId: string): Message {
  app.assertIdle(conversationId);
  requireReply(app.store, conversationId, messageId);
  app.store.selectVersion(messageId);
  return app.store.getMessage(messageId)!;
}

/** Deletes one version of a reply (its trace with it); the last version left is not deleted here. */
export function deleteVersion(app: ReplyHost, conversationId: string, messageId: string): ResponseOf<'chat:version-delete'> {
  app.assertIdle(conversationId);
  const m = requireReply(app.store, conversationId, messageId);
  if (!m.versions) throw new ApiError('this reply has only one version; regenerate it, or edit the message before it, instead', 'bad_request');
  const shownId = app.store.deleteVersion(messageId);
  return { deleted: true, shown: shownId ? (app.store.getMessage(shownId) ?? null) : null };
}
