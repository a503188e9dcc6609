// The imported traces the backend keeps: open one again (also after a reload) or delete it.
import { useEffect, useState } from 'react';
import { Icon } from '../components/Icon';
import { fmtWhen } from '../lib/format';
import { useApp } from '../store';

export function TraceList() {
  const list = useApp((s) => s.importedTraces);
  const load = useApp((s) => s.loadImportedTraces);
  const show = useApp((s) => s.showStoredTrace);
  const remove = useApp((s) => s.deleteImportedTrace);
  const shownId = useApp((s) => (s.source?.kind === 'import' ? (s.source.traceId ?? null) : null));
  const [open, setOpen] = useState(false);
  useEffect(() => {
    void load();
  }, [load]);
  if (list.length === 0) return null;
  return (
    <div className="trace-list-wrap">
      <button className="btn tiny ghost" data-testid="trace-list-toggle" aria-expanded={open} title="Imported traces" onClick={() => setOpen(!open)}>
        <Icon name="layers" size={14} /> Traces ({list.length})
      </button>
      {open && (
        <ul className="trace-list" data-testid="trace-list" aria-label="Imported traces">
          {list.map((t) => (
            <li key={t.id} data-testid="trace-item" data-id={t.id} aria-current={t.id === shownId || undefined}>
              <button
                className="link trace-open"
                title={`Show ${t.name}`}
                onClick={() => {
                  setOpen(false);
                  void show(t.id, t.name);
                }}
              >
                {t.name}
              </button>
              <span className="dim small">{fmtWhen(t.createdAt)}</span>
              <button className="icon-btn" data-testid="trace-delete" aria-label={`Delete ${t.name}`} title="Delete this imported trace" onClick={() => void remove(t.id)}>
                <Icon name="trash" size={13} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
