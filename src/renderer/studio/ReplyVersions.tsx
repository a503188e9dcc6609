// ‹ n/m › on a regenerated reply: steps through its versions (each with its own text, stats and
// trace) and deletes the one shown, after a second click to confirm.
import { useState } from 'react';
import type { Message } from '@shared/api';
import { Icon } from '../components/Icon';
import { useApp } from '../store';

export function ReplyVersions({ m, busy }: { m: Message; busy: boolean }) {
  const show = useApp((s) => s.showVersion);
  const remove = useApp((s) => s.deleteVersion);
  const [confirm, setConfirm] = useState(false);
  const v = m.versions;
  if (!v) return null;
  const n = v.ids.length;
  const i = v.index;
  return (
    <div className="reply-versions" data-testid="reply-versions" data-count={n} data-index={i + 1} role="group" aria-label="Versions of this reply">
      <button
        className="icon-btn"
        data-testid="version-prev"
        aria-label="Previous version"
        title="Previous version"
        disabled={busy || i === 0}
        onClick={() => void show(m, v.ids[i - 1])}
      >
        <Icon name="chevronLeft" size={14} />
      </button>
      <span className="versions-count" aria-live="polite">
        {i + 1}/{n}
      </span>
      <button
        className="icon-btn"
        data-testid="version-next"
        aria-label="Next version"
        title="Next version"
        disabled={busy || i === n - 1}
        onClick={() => void show(m, v.ids[i + 1])}
      >
        <Icon name="chevronRight" size={14} />
      </button>
      {confirm ? (
        <span className="version-confirm">
          <button
            className="btn tiny danger"
            data-testid="version-delete-confirm"
            onClick={() => {
              setConfirm(false);
              void remove(m);
            }}
          >
            Delete version {i + 1}
          </button>
          <button className="btn tiny ghost" onClick={() => setConfirm(false)}>
            Keep
          </button>
        </span>
      ) : (
        <button
          className="icon-btn"
          data-testid="version-delete"
          aria-label="Delete this version"
          title="Delete this version (its trace goes with it)"
          disabled={busy}
          onClick={() => setConfirm(true)}
        >
          <Icon name="trash" size={13} />
        </button>
      )}
    </div>
  );
}
