// The row under a finished reply: its versions (‹ n/m ›) and "Compare modes", whose panel opens
// below it (and stays open while a comparison of this reply runs).
import { useState } from 'react';
import type { Message } from '@shared/api';
import { useApp } from '../store';
import { CompareModes } from './CompareModes';
import { ReplyVersions } from './ReplyVersions';

export function ReplyStudio({ m, busy }: { m: Message; busy: boolean }) {
  const hasJob = useApp((s) => !!s.compares[m.id]);
  const running = useApp((s) => !!s.compares[m.id]?.running);
  // A comparison holds the whole conversation (the server refuses other work there meanwhile).
  const comparing = useApp((s) => (s.messages[m.conversationId] ?? []).some((x) => s.compares[x.id]?.running));
  const [open, setOpen] = useState(hasJob); // a result made earlier shows again when the chat is reopened
  if (m.status === 'streaming' || m.id.startsWith('pending-')) return null;
  const shown = open || running;
  return (
    <>
      <div className="reply-studio">
        <ReplyVersions m={m} busy={busy || comparing} />
        {m.content.length > 0 && (
          <button
            className="btn tiny ghost"
            data-testid="compare-modes"
            aria-expanded={shown}
            onClick={() => setOpen(!shown)}
            title="Re-run this prompt in ar, static and clasp and measure each"
          >
            ⇄ Compare modes
          </button>
        )}
      </div>
      {shown && <CompareModes m={m} busy={busy || (comparing && !running)} />}
    </>
  );
}
