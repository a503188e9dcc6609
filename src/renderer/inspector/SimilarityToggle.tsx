// Chooses what the similarity heatmap shows: the DP path's cosine or each layer's own change.
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
