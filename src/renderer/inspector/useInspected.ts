// What the inspector is looking at, resolved from the store: the rounds buffer, the whole trace
// when one is loaded, the message (for token texts), and how many rounds the replay cursor shows.
import type { Message } from '@shared/api';
import type { Trace } from '@shared/trace';
import type { RoundsBuffer } from '../lib/rounds';
import { useApp } from '../store';
import { sourceKey } from '../store/inspectorSlice';

export interface Inspected {
  key: string | null;
  buf: RoundsBuffer | null;
  trace: Trace | null;
  message: Message | null;
  /** rounds to show (the replay cursor, or all) */
  n: number;
  L: number;
  version: number;
  live: boolean;
  /** the replay cursor shows every round */
  cursorAll: boolean;
}

export function useInspected(): Inspected {
  const source = useApp((s) => s.source);
  const key = sourceKey(source);
  const buf = useApp((s) => (key ? (s.buffers[key] ?? null) : null));
  const trace = useApp((s) => (key ? (s.traces[key] ?? null) : null));
  const message = useApp((s) => {
    if (source?.kind !== 'message') return null;
    return s.messages[source.conversationId]?.find((m) => m.id === source.messageId) ?? null;
  });
  const live = useApp((s) => !!s.activeReply && source?.kind === 'message' && s.activeReply.messageId === source.messageId);
  const version = useApp((s) => s.inspectorVersion);
  const cursor = useApp((s) => s.cursor);
  const count = buf?.count ?? 0;
  const n = cursor === null ? count : Math.min(count, cursor);
  return { key, buf, trace, message, n, L: buf?.nLayer ?? trace?.model.n_layer ?? 0, version, live, cursorAll: cursor === null };
}
