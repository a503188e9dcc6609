// The right column: what CLaSp did, round by round, for the reply being generated, a stored reply,
// or an imported trace file. Heatmaps of skipped layers and hidden-state similarity (canvas), the
// acceptance chart, a replay scrubber, and the drill-down into one round.
import { useEffect, useMemo, useRef } from 'react';
import { Hint } from '../components/Hint';
import { Icon } from '../components/Icon';
import { cssVar, ramp, viridis } from '../lib/colors';
import { client, errorText } from '../lib/client';
import { downloadText, safeFilename } from '../lib/download';
import { fmtInt, fmtNum, fmtPct } from '../lib/format';
import type { HeatmapData } from '../lib/heatmap';
import type { RoundsBuffer } from '../lib/rounds';
import { DEFS, isDemoModel } from '../chat/ReplyStats';
import { useScheme } from '../hooks/useScheme';
import { useApp } from '../store';
import { AcceptanceChart } from './AcceptanceChart';
import { HeatmapCanvas } from './HeatmapCanvas';
import { RoundDetail } from './RoundDetail';
import { useInspected, type Inspected } from './useInspected';

const MAX_IMPORT_BYTES = 200 * 1024 * 1024;

function ImportButton() {
  const importText = useApp((s) => s.importTraceText);
  const toggle = useApp((s) => s.toggleInspector);
  const ref = useRef<HTMLInputElement>(null);
  const onFile = async (f: File | undefined) => {
    if (!f) return;
    if (f.size > MAX_IMPORT_BYTES) {
      useApp.setState({ importError: `${f.name}: the file is larger than 200 MB` });
      return;
    }
    let text: string;
    try {
      text = await f.text();
    } catch (e) {
      useApp.setState({ importError: `${f.name}: could not read the file (${errorText(e)})` });
      return;
    }
    if (importText(text, f.name)) toggle(true);
  };
  return (
    <label className="btn tiny ghost file-btn" title="Open a clasp-trace JSON file and replay it here">
      <Icon name="upload" size={14} /> Import
      <input
        ref={ref}
        type="file"
        accept=".json,application/json"
        data-testid="import-trace"
        className="visually-hidden"
        onChange={(e) => {
          void onFile(e.target.files?.[0]);
          e.target.value = '';
        }}
      />
    </label>
  );
}

function ExportButtons({ ins }: { ins: Inspected }) {
  const source = useApp((s) => s.source);
  const pushError = useApp((s) => s.pushError);
  const toast = useApp((s) => s.showToast);
  const traceId = ins.message?.traceId ?? null;
  const imported = source?.kind === 'import' ? ins.trace : null;
  const ready = !!imported || (!!traceId && !ins.live);
  const title = ready ? 'Save this trace' : ins.live ? 'Available when the reply finishes' : 'No trace for this reply';

  const run = async (format: 'json' | 'specbench' | 'csv') => {
    try {
      if (imported) {
        downloadText(JSON.stringify(imported, null, 1), `${safeFilename(source?.kind === 'import' ? source.name.replace(/\.json$/i, '') : 'trace')}.json`);
        return;
      }
      if (!traceId) return;
      const r = await client.exportTrace(traceId, format);
      if (r.savedTo) toast(`Saved to ${r.savedTo}`);
      else if (r.text !== undefined) {
        const ext = format === 'json' ? 'json' : format === 'csv' ? 'csv' : 'jsonl';
        const mime = format === 'csv' ? 'text/csv' : format === 'json' ? 'application/json' : 'application/x-ndjson';
        downloadText(r.text, r.filename ?? `clasp-trace-${traceId}.${format === 'specbench' ? 'specbench.' : ''}${ext}`, r.mime ?? mime);
      }
    } catch (e) {
      pushError(`Could not export the trace: ${errorText(e)}`);
    }
  };
  return (
    <div className="seg" role="group" aria-label="Export trace">
      <button className="btn tiny ghost" data-testid="export-trace" disabled={!ready} title={title} onClick={() => void run('json')}>
        <Icon name="download" size={14} /> Trace
      </button>
      {!imported && (
        <>
          <button className="btn tiny ghost" data-testid="export-trace-specbench" disabled={!ready} title="Spec-Bench answer JSONL" onClick={() => void run('specbench')}>
            Spec-Bench
          </button>
          <button className="btn tiny ghost" data-testid="export-trace-csv" disabled={!ready} title="One CSV row per round" onClick={() => void run('csv')}>
            CSV
          </button>
        </>
      )}
    </div>
  );
}

function SourceLine({ ins }: { ins: Inspected }) {
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

function Summary({ ins }: { ins: Inspected }) {
  const modelName = useApp((s) => s.current?.name);
  const { buf, n } = ins;
  if (!buf) return null;
  const t = buf.totals(n);
  const lastM = n > 0 ? buf.rounds[n - 1].skip.length : null;
  const stats = ins.trace?.summary ?? ins.message?.stats ?? null;
  const speedup = !ins.live && ins.cursorAll ? stats?.speedup ?? null : null;
  const demo = isDemoModel(ins.trace?.model.name ?? modelName);
  return (
    <div className="summary" data-testid="inspector-summary">
      <div className="stat">
        <span className="stat-num">{fmtInt(t.rounds)}</span>
        <span className="stat-label">rounds</span>
      </div>
      <Hint text={DEFS.mal}>
        <div className="stat">
          <span className="stat-num">{t.rounds ? fmtNum(t.meanAcceptedLength, 2) : '–'}</span>
          <span className="stat-label">mean accepted length</span>
        </div>
      </Hint>
      <Hint text={DEFS.rate}>
        <div className="stat">
          <span className="stat-num">{t.drafted ? fmtPct(t.acceptanceRate) : '–'}</span>
          <span className="stat-label">acceptance</span>
        </div>
      </Hint>
      <div className="stat">
        <span className="stat-num">{fmtInt(t.dpRuns)}</span>
        <span className="stat-label">DP runs</span>
      </div>
      <div className="stat">
        <span className="stat-num">{lastM ?? '–'}</span>
        <span className="stat-label">layers skipped now</span>
      </div>
      {speedup !== null && (
        <Hint text={DEFS.speedup + (demo ? ' ' + DEFS.demo : '')}>
          <div className="stat">
            <span className="stat-num">
              {fmtNum(speedup, 2)}×{demo && <sup className="demo-mark">*</sup>}
            </span>
            <span className="stat-label">predicted speed-up</span>
          </div>
        </Hint>
      )}
      {demo && (
        <p className="demo-foot" data-testid="demo-model-note">
          * The demo model was trained with layer dropout, which gives it the layer redundancy large Llama 3 models have; its speed-ups are a
          demonstration.
        </p>
      )}
    </div>
  );
}

function Replay({ ins }: { ins: Inspected }) {
  const cursor = useApp((s) => s.cursor);
  const replaying = useApp((s) => s.replaying);
  const setCursor = useApp((s) => s.setCursor);
  const setReplaying = useApp((s) => s.setReplaying);
  const total = ins.buf?.count ?? 0;

  useEffect(() => {
    if (!replaying || total === 0) return;
    let raf = 0;
    let last = performance.now();
    let pos = useApp.getState().cursor ?? 0;
    if (pos >= total) pos = 0;
    // A whole reply plays in about 8 s, and never slower than 20 rounds per second.
    const rate = Math.max(20, total / 8);
    const step = (now: number) => {
      pos = Math.min(total, pos + ((now - last) / 1000) * rate);
      last = now;
      setCursor(Math.floor(pos));
      if (pos >= total) {
        setReplaying(false);
        setCursor(null);
        return;
      }
      raf = requestAnimationFrame(step);
    };
    raf = requestAnimationFrame(step);
    return () => cancelAnimationFrame(raf);
  }, [replaying, total, setCursor, setReplaying]);

  if (ins.live || total === 0) return null;
  return (
    <div className="replay">
      <button
        className="icon-btn"
        data-testid="replay-toggle"
        aria-label={replaying ? 'Pause the replay' : 'Replay'}
        title={replaying ? 'Pause' : 'Replay the rounds as they happened'}
        onClick={() => setReplaying(!replaying)}
      >
        <Icon name={replaying ? 'pause' : 'play'} size={14} />
      </button>
      <input
        type="range"
        data-testid="replay-slider"
        aria-label="Rounds shown"
        min={0}
        max={total}
        value={cursor ?? total}
        onChange={(e) => {
          setReplaying(false);
          const v = Number(e.target.value);
          setCursor(v >= total ? null : v);
        }}
      />
      <span className="dim small replay-count">
        {fmtInt(cursor ?? total)} / {fmtInt(total)}
      </span>
    </div>
  );
}

function SimilarityToggle() {
  const metric = useApp((s) => s.simMetric);
  const set = useApp((s) => s.setSimMetric);
  return (
    <div className="seg small-seg" role="radiogroup" aria-label="Similarity measure" data-testid="similarity-toggle">
      <button role="radio" aria-checked={metric === 'path'} className={metric === 'path' ? 'on' : ''} data-testid="similarity-path" onClick={() => set('path')}>
        DP path
      </button>
      <button role="radio" aria-checked={metric === 'layer'} className={metric === 'layer' ? 'on' : ''} data-testid="similarity-layer" onClick={() => set('layer')}>
        per-layer change
      </button>
    </div>
  );
}

function domainLo(min: number): number {
  // Cosines near 1 matter: stretch the scale from the data's minimum (rounded down) to 1.
  if (!(min < 1)) return 0.9;
  return Math.max(-1, Math.floor(min * 100) / 100);
}

function Heatmaps({ ins }: { ins: Inspected }) {
  const scheme = useScheme();
  const metric = useApp((s) => s.simMetric);
  const buf = ins.buf as RoundsBuffer;
  const luts = useMemo(() => {
    const base = cssVar('--heat-base', scheme === 'dark' ? [34, 37, 46] : [236, 238, 243]);
    const hot = cssVar('--skip', [255, 140, 66]);
    return { skip: ramp(base, hot), base };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scheme]);

  const skipData = (b: RoundsBuffer, n: number): HeatmapData => ({
    values: b.skip,
    nLayer: b.nLayer,
    n,
    lo: 0,
    hi: 1,
    lut: luts.skip,
    empty: [...luts.base, 255] as [number, number, number, number],
  });
  const simLo = domainLo(metric === 'path' ? buf.pathMin : buf.layerMin);
  const simData = (b: RoundsBuffer, n: number): HeatmapData => ({
    values: metric === 'path' ? b.pathCos : b.layerCos,
    nLayer: b.nLayer,
    n,
    lo: simLo,
    hi: 1,
    lut: viridis,
    empty: [...luts.base, 255] as [number, number, number, number],
  });

  const roundLine = (r: number) => {
    const rd = buf.rounds[r];
    return (
      <>
        <b>Round {r}</b> <span className="dim">pos {rd.pos}</span>
        <div>
          accepted {rd.verify.accepted} of {rd.draft.ids.length} · M={rd.skip.length}
        </div>
      </>
    );
  };

  return (
    <>
      <section className="insp-section">
        <div className="insp-head">
          <h3>
            <Hint text="Each column is one verify round; each row a decoder layer (0 at the top). A filled cell: that layer was skipped while drafting the round. With more rounds than pixels, a cell shows the share of its rounds that skipped the layer.">
              Skipped layers
            </Hint>
          </h3>
          <span className="legend-ramp">
            <span>kept</span>
            <span className="ramp skip" />
            <span>skipped</span>
          </span>
        </div>
        <HeatmapCanvas
          testId="inspector-skip-heatmap"
          label="Skipped layers"
          height={150}
          buf={buf}
          n={ins.n}
          version={ins.version}
          data={skipData}
          tooltip={(r, l) => (
            <>
              {roundLine(r)}
              <div>
                layer {l}: <b>{buf.skip[r * buf.nLayer + l] ? 'skipped' : 'kept'}</b>
              </div>
            </>
          )}
        />
      </section>

      <section className="insp-section">
        <div className="insp-head">
          <h3>
            <Hint
              text={
                metric === 'path'
                  ? "Cosine similarity between the DP's chosen path state and the full model's state after each layer, for the target token of the DP that set the round's skip set. Near 1: skipping those layers barely changed the state. Ticks above: rounds where the DP ran."
                  : "cos(h_l, h_{l−1}) of the DP's target token: how little layer l−1 changed the hidden state. Near 1: the layer barely changed it, so it is a good one to skip. Ticks above: rounds where the DP ran."
              }
            >
              Hidden-state similarity
            </Hint>
          </h3>
          <SimilarityToggle />
        </div>
        <HeatmapCanvas
          testId="inspector-similarity-heatmap"
          label={metric === 'path' ? 'DP path cosine' : 'per-layer change cosine'}
          height={150}
          buf={buf}
          n={ins.n}
          version={ins.version}
          data={simData}
          dpTicks
          tooltip={(r, l) => {
            const v = (metric === 'path' ? buf.pathCos : buf.layerCos)[r * buf.nLayer + l];
            const dpr = buf.dpRoundFor(r);
            return (
              <>
                {roundLine(r)}
                <div>
                  {metric === 'path' ? `after layer ${l}: path cos` : `layer ${l} change: cos(h${l + 1}, h${l})`} = <b>{Number.isNaN(v) ? '–' : v.toFixed(4)}</b>
                </div>
                <div className="dim">{dpr >= 0 ? (dpr === r ? 'DP ran before this round' : `from the DP before round ${dpr}`) : 'no DP yet'}</div>
              </>
            );
          }}
        />
        <div className="legend-ramp end">
          <span>{simLo.toFixed(2)}</span>
          <span className="ramp viridis" />
          <span>1.00</span>
        </div>
      </section>

      <section className="insp-section">
        <div className="insp-head">
          <h3>
            <Hint text={`${DEFS.rate} ${DEFS.mal}`}>Accepted drafts</Hint>
          </h3>
        </div>
        <AcceptanceChart buf={buf} n={ins.n} version={ins.version} />
      </section>
    </>
  );
}

function EmptyInspector({ reason }: { reason: string }) {
  return (
    <div className="insp-empty" data-testid="inspector-empty">
      <div className="insp-empty-art" aria-hidden="true">
        {Array.from({ length: 48 }, (_, i) => (
          <span key={i} className={(i * 7) % 5 === 0 || (i * 3) % 11 === 0 ? 'on' : ''} />
        ))}
      </div>
      <p>{reason}</p>
    </div>
  );
}

export function Inspector() {
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
  } else {
    body = (
      <>
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
