// The line under the inspector's header: what is shown (a live or stored reply, or an imported trace),
// and a way back to the last imported trace.
import { useApp } from '../store';
import type { Inspected } from './useInspected';

export function SourceLine({ ins }: { ins: Inspected }) {
  const source = useApp((s) => s.source);
  const title = useApp((s) => (source?.kind === 'message' ? s.conversations.find((c) => c.id === source.conversationId)?.title : undefined));
  const lastImport = useApp((s) => s.lastImport);
  const showImport = useApp((s) => s.showImport);
  const back =
    lastImport && source?.kind !== 'import' ? (
      <button className="btn tiny ghost back-import" data-testid="inspector-back-to-import" title="Show the imported trace again" onClick={showImport}>
        ↩ {lastImport.name}
      </button>
    ) : null;
  if (!source) return back ? <div className="source-line">{back}</div> : null;
  if (source.kind === 'import') {
    const t = ins.trace;
    return (
      <div className="source-line" data-testid="inspector-source">
        <span className="src-chip import">imported</span>
        <span className="src-name">{source.name}</span>
        {t && (
          <span className="dim">
            {t.model.name} · {t.config.mode} · {t.summary.n_generated} tokens
          </span>
        )}
      </div>
    );
  }
  return (
    <div className="source-line" data-testid="inspector-source">
      {ins.live ? <span className="src-chip live">● live</span> : <span className="src-chip">reply</span>}
      <span className="src-name">{title ?? 'conversation'}</span>
      {ins.message?.stats && <span className="dim">{ins.message.stats.mode} · {ins.message.stats.n_generated} tokens</span>}
      <span className="spacer" />
      {back}
    </div>
  );
}
