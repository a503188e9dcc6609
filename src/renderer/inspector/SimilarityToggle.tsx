// Chooses what the similarity heatmap shows (the DP path's cosine or each layer's own change) and its colour scale.
import { useApp } from '../store';

export function SimilarityToggle() {
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

const SCALES = [
  { value: 'reply', label: 'this reply', help: "From this reply's lowest cosine to 1: the most contrast, but colours differ between replies." },
  { value: 'fixed', label: 'fixed 0.50–1', help: 'One range for every reply, so colours compare across replies.' },
  { value: 'log', label: 'log (nines)', help: '−log10(1 − cos): 0.9, 0.99, 0.999 evenly apart, so small per-layer changes stay visible.' },
] as const;

/** Chooses the similarity heatmap's colour scale (kept across replies and reloads). */
export function SimilarityScale() {
  const scale = useApp((s) => s.simScale);
  const set = useApp((s) => s.setSimScale);
  return (
    <label className="small dim scale-pick">
      scale{' '}
      <select data-testid="similarity-scale" value={scale} title={SCALES.find((x) => x.value === scale)?.help} onChange={(e) => set(e.target.value as (typeof SCALES)[number]['value'])}>
        {SCALES.map((x) => (
          <option key={x.value} value={x.value} title={x.help}>
            {x.label}
          </option>
        ))}
      </select>
    </label>
  );
}
