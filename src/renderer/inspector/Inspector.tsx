// The right column: what CLaSp did, round by round, for the reply being generated, a stored reply,
// or an imported trace file. Heatmaps of skipped layers and hidden-state similarity (canvas), the
// acceptance chart, a replay scrubber, and the drill-down into one round.
import { useEffect, useState } from 'react';
import { Icon } from '../components/Icon';
import { useNarrow } from '../hooks/useNarrow';
import { useApp } from '../store';
import { EmptyInspector } from './EmptyInspector';
import { ExportButtons } from './ExportButtons';
import { Heatmaps } from './Heatmaps';
import { ImportButton } from './ImportButton';
import { Replay } from './Replay';
import { RoundDetail } from './RoundDetail';
import { SourceLine } from './SourceLine';
import { Summary } from './Summary';
import { TraceList } from './TraceList';
import { useInspected } from './useInspected';
import { AbCompare } from '../studio/AbCompare';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'layers', label: 'Layers' },
  { id: 'similarity', label: 'Similarity' },
  { id: 'drafts', label: 'Drafts' },
  { id: 'round', label: 'Round' },
] as const;
type Tab = (typeof TABS)[number]['id'];

export function Inspector() {
  const narrow = useNarrow();
  const [tab, setTab] = useState<Tab>('overview');
  const selectedRound = useApp((s) => s.selectedRound);
  // In the narrow layout a picked round opens the Round tab, so its drill-down is what shows.
  useEffect(() => {
    if (selectedRound !== null) setTab('round');
  }, [selectedRound]);
  const open = useApp((s) => s.inspectorOpen);
  const toggle = useApp((s) => s.toggleInspector);
  const importError = useApp((s) => s.importError);
  const clearImportError = useApp((s) => s.clearImportError);
  const source = useApp((s) => s.source);
  const loading = useApp((s) => s.traceLoading);
  const ins = useInspected();

  if (!open) return null;

  let body;
  if (!source) {
    body = <EmptyInspector reason="Send a message to watch CLaSp work live: which layers it skips, how similar the hidden states stay, and how many drafted tokens the full model accepts. Or import a trace file." />;
  } else if (!ins.buf || ins.buf.count === 0) {
    const stats = ins.message?.stats;
    body = loading ? (
      <EmptyInspector reason="Loading the trace…" />
    ) : ins.live ? (
      (ins.message?.fates?.length ?? 0) > 8 ? (
        <EmptyInspector reason="Decoding plainly so far: no draft and verify rounds yet. Either the mode is ar, or the adaptive policy switched speculation off because it did not pay here; it re-tests now and then." />
      ) : (
        <EmptyInspector reason="Waiting for the first verify round…" />
      )
    ) : stats?.mode === 'ar' || ins.trace?.config.mode === 'ar' ? (
      <EmptyInspector reason="This reply used plain decoding (ar): there are no draft and verify rounds to show." />
    ) : (
      <EmptyInspector reason="No rounds recorded for this reply." />
    );
  } else if (narrow) {
    // Below 1100 px the inspector sits under the chat with little height: one part at a time.
    body = (
      <>
        <div className="insp-tabs" role="tablist" aria-label="Inspector parts">
          {TABS.map((t) => (
            <button key={t.id} role="tab" data-testid={`inspector-tab-${t.id}`} aria-selected={tab === t.id} onClick={() => setTab(t.id)}>
              {t.label}
            </button>
          ))}
        </div>
        <div className="insp-tab-body" role="tabpanel" data-tab={tab}>
          {tab === 'overview' && (
            <>
              <AbCompare ins={ins} />
              <Summary ins={ins} />
              <Replay ins={ins} />
            </>
          )}
          {(tab === 'layers' || tab === 'similarity' || tab === 'drafts') && <Heatmaps ins={ins} only={tab} />}
          {tab === 'round' && (
            <section className="insp-section">
              <RoundDetail ins={ins} />
            </section>
          )}
        </div>
      </>
    );
  } else {
    body = (
      <>
        <AbCompare ins={ins} />
        <Summary ins={ins} />
        <Replay ins={ins} />
        <Heatmaps ins={ins} />
        <section className="insp-section">
          <RoundDetail ins={ins} />
        </section>
      </>
    );
  }

  return (
    <aside className="inspector" aria-label="Inspector" data-testid="inspector">
      <header className="insp-top">
        <h2>
          <Icon name="layers" size={16} /> Inspector
        </h2>
        <span className="spacer" />
        <TraceList />
        <ImportButton />
        <ExportButtons ins={ins} />
        <button className="icon-btn" aria-label="Hide the inspector" title="Hide the inspector" onClick={() => toggle(false)}>
          <Icon name="close" size={14} />
        </button>
      </header>
      {importError && (
        <div className="import-error" data-testid="import-error" role="alert">
          <Icon name="alert" size={14} />
          <span>Could not import: {importError}. Nothing was changed.</span>
          <button className="icon-btn" aria-label="Dismiss" onClick={clearImportError}>
            <Icon name="close" size={12} />
          </button>
        </div>
      )}
      <SourceLine ins={ins} />
      <div className="insp-scroll">{body}</div>
    </aside>
  );
}
