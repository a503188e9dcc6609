// The stand-alone traces the backend keeps, under one heading per kind: imported files, layer-lab
// runs and "Compare modes" runs. Open one again (also after a reload) or delete it. A reply's own
// trace is not listed: it is reached from its reply, and goes with it.
import { useEffect, useState } from 'react';
import type { StandaloneTraceSource } from '@shared/api';
import { Icon } from '../components/Icon';
import { fmtWhen } from '../lib/format';
import { traceGroups } from '../lib/traceGroups';
import { useApp } from '../store';

export function TraceList() {
  const list = useApp((s) => s.storedTraces);
  const load = useApp((s) => s.loadStoredTraces);
  const show = useApp((s) => s.showStoredTrace);
  const remove = useApp((s) => s.deleteStoredTrace);
  const shownId = useApp((s) => (s.source?.kind === 'import' ? (s.source.traceId ?? null) : null));
  const [open, setOpen] = useState(false);
  useEffect(() => {
    void load();
  }, [load]);
  if (list.length === 0) return null;
  return (
    <div className="trace-list-wrap">
      <button
        className="btn tiny ghost"
        data-testid="trace-list-toggle"
        aria-expanded={open}
        title="Stored traces: imported files, layer-lab and compare-modes runs"
        onClick={() => setOpen(!open)}
      >
        <Icon name="layers" size={14} /> Traces ({list.length})
      </button>
      {open && (
        <div className="trace-list" data-testid="trace-list" aria-label="Stored traces">
          {traceGroups(list).map((g) => (
            <section key={g.source} className="trace-group" data-testid="trace-group" data-source={g.source} aria-label={g.heading}>
              <h4>{g.heading}</h4>
              <ul>
                {g.items.map((t) => (
                  <li key={t.id} data-testid="trace-item" data-id={t.id} data-source={t.source} aria-current={t.id === shownId || undefined}>
                    <button
                      className="link trace-open"
                      title={`Show ${t.name}`}
                      onClick={() => {
                        setOpen(false);
                        void show(t.id, t.name, { origin: t.source as StandaloneTraceSource });
                      }}
                    >
                      {t.name}
                    </button>
                    <span className="dim small">{fmtWhen(t.createdAt)}</span>
                    <button
                      className="icon-btn"
                      data-testid="trace-delete"
                      aria-label={`Delete ${t.name}`}
                      title="Delete this trace"
                      onClick={() => void remove(t.id)}
                    >
                      <Icon name="trash" size={13} />
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
    </div>
  );
}
