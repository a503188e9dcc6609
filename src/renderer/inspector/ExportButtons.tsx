// Saves the shown trace: an imported one as it came, a stored reply's as JSON, Spec-Bench JSONL or CSV.
import { Icon } from '../components/Icon';
import { call, errorText } from '../lib/client';
import { downloadText, safeFilename } from '../lib/download';
import { useApp } from '../store';
import type { Inspected } from './useInspected';

export function ExportButtons({ ins }: { ins: Inspected }) {
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
      const r = await call('export:trace', { traceId, format });
      if (r.savedTo) toast(`Saved to ${r.savedTo}`);
      else if (r.content !== undefined) downloadText(r.content, r.filename, r.mimeType);
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
