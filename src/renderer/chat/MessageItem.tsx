// One message. User turns can be edited and resent; replies render as Markdown (or coloured by
// token fate), stream with a caret, carry their stats, and open their trace in the inspector.
import { memo, useMemo, useState } from 'react';
import type { Message } from '@shared/api';
import { CopyButton } from '../components/CopyButton';
import { Icon } from '../components/Icon';
import { mapTokensToRounds } from '../lib/fates';
import { fmtInt } from '../lib/format';
import { tokensBeforeRound } from '../lib/replay';
import { useApp } from '../store';
import { compareHold } from '../store/studioSlice';
import { Markdown } from './Markdown';
import { ReplyStats } from './ReplyStats';
import { SpeedExplanation } from './SpeedExplanation';
import { ReplyStudio } from '../studio/ReplyStudio';
import { FateStrip, TokenText } from './TokenText';

const LONG = 6000;

function UserMessage({ m, canEdit }: { m: Message; canEdit: boolean }) {
  const resend = useApp((s) => s.editAndResend);
  const held = useApp((s) => compareHold(s, 'Edit & resend', m.conversationId));
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.content);
  const [expanded, setExpanded] = useState(false);
  const long = m.content.length > LONG;

  if (editing) {
    const submit = async () => {
      const t = draft.trim();
      if (!t || held) return; // the text stays in the box until the comparison ends
      setEditing(false);
      await resend(m.id, t);
    };
    return (
      <div className="msg user editing" data-testid="message-user">
        <textarea
          className="edit-input"
          data-testid="edit-input"
          value={draft}
          autoFocus
          rows={Math.min(12, Math.max(2, draft.split('\n').length))}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              void submit();
            }
            if (e.key === 'Escape') setEditing(false);
          }}
        />
        <div className="edit-actions">
          <span className="dim">Resending replaces this turn and everything after it.</span>
          <button className="btn tiny ghost" onClick={() => setEditing(false)}>
            Cancel
          </button>
          <button className="btn tiny primary" data-testid="edit-send" disabled={!draft.trim() || !!held} title={held ?? undefined} onClick={() => void submit()}>
            Send
          </button>
        </div>
      </div>
    );
  }

  return (
    <div className="msg user" data-testid="message-user" data-id={m.id}>
      <div className="bubble">
        {long && !expanded ? (
          <>
            <div className="plain">{m.content.slice(0, 1200)}…</div>
            <button className="link" onClick={() => setExpanded(true)}>
              Show all ({fmtInt(m.content.length)} characters)
            </button>
          </>
        ) : (
          <div className="plain">{m.content}</div>
        )}
      </div>
      <div className="msg-actions">
        <CopyButton text={() => m.content} testId="copy-message" />
        {canEdit && (
          <button
            className="icon-btn"
            data-testid="edit-message"
            title="Edit and resend"
            aria-label="Edit and resend"
            onClick={() => {
              setDraft(m.content);
              setEditing(true);
            }}
          >
            <Icon name="edit" size={14} />
          </button>
        )}
      </div>
    </div>
  );
}

function AssistantMessage({ m, isLast, busy }: { m: Message; isLast: boolean; busy: boolean }) {
  const showFates = useApp((s) => s.showFates);
  const pieces = m.pieces;
  const notice = m.note;
  const modelName = useApp((s) => s.current?.name);
  const inspected = useApp((s) => s.source?.kind === 'message' && s.source.messageId === m.id);
  const inspect = useApp((s) => s.inspectMessage);
  const openInspector = useApp((s) => s.toggleInspector);
  const regenerate = useApp((s) => s.regenerate);
  const held = useApp((s) => compareHold(s, 'Regenerate', m.conversationId));
  const streaming = m.status === 'streaming';
  const n = m.fates?.length ?? 0;
  // While the inspector replays this reply, its text shows the tokens written so far, with their fates.
  const cursor = useApp((s) => (inspected && s.cursor !== null ? s.cursor : null));
  const replaying = cursor !== null;
  const firstToken = useMemo(() => (replaying && m.fates ? mapTokensToRounds(m.fates).firstToken : null), [replaying, m.fates]);
  const replayLimit = cursor !== null && firstToken ? tokensBeforeRound(firstToken, n, cursor) : undefined;
  const withPieces = (showFates || replayLimit !== undefined) && !!pieces && pieces.length === n && n > 0;

  return (
    <div className={`msg assistant ${inspected ? 'inspected' : ''} status-${m.status}`} data-testid="message-assistant" data-id={m.id} data-status={m.status}>
      {notice && (
        <div className="msg-notice" data-testid="context-notice">
          <Icon name="info" size={14} /> {notice}
        </div>
      )}
      <div className="msg-body">
        {m.content.length === 0 && streaming ? (
          <div className="thinking" aria-label="waiting for the first token">
            <span />
            <span />
            <span />
          </div>
        ) : withPieces ? (
          <TokenText m={m} pieces={pieces} limit={replayLimit} />
        ) : (
          <Markdown text={m.content} streaming={streaming} />
        )}
        {showFates && !withPieces && n > 0 && <FateStrip m={m} />}
      </div>
      {m.status === 'cancelled' && <div className="msg-status">Stopped.</div>}
      {m.status === 'interrupted' && <div className="msg-status">Interrupted: the app closed or the model changed before this reply finished.</div>}
      {m.status === 'error' && (
        <div className="msg-status error" data-testid="message-error">
          <Icon name="alert" size={14} /> {m.error ?? 'The reply failed.'}
        </div>
      )}
      <SpeedExplanation m={m} canRegenerate={isLast && !busy} />
      <div className="msg-foot">
        <ReplyStats m={m} modelName={m.model?.name ?? modelName} />
        <div className="msg-actions">
          <CopyButton text={() => m.content} testId="copy-message" />
          <button
            className={`icon-btn ${inspected ? 'on' : ''}`}
            data-testid="inspect-reply"
            title="Show this reply in the inspector"
            aria-label="Inspect"
            onClick={() => {
              openInspector(true);
              void inspect(m);
            }}
          >
            <Icon name="layers" size={14} />
          </button>
          {isLast && !busy && (
            <button
              className="icon-btn"
              data-testid="regenerate"
              disabled={!!held}
              title={held ?? 'Regenerate'}
              aria-label="Regenerate"
              onClick={() => void regenerate()}
            >
              <Icon name="refresh" size={14} />
            </button>
          )}
        </div>
      </div>
      <ReplyStudio m={m} busy={busy} />
    </div>
  );
}

export const MessageItem = memo(function MessageItem({ m, isLast, busy }: { m: Message; isLast: boolean; busy: boolean }) {
  if (m.role === 'user') return <UserMessage m={m} canEdit={!busy && !m.id.startsWith('pending-')} />;
  if (m.role === 'assistant') return <AssistantMessage m={m} isLast={isLast} busy={busy} />;
  return null;
});
