// Picks the model (recently used first), shows load progress and the device it runs on, and says
// loudly when the app fell back to the CPU and why.
import { useMemo } from 'react';
import { fmtBytes } from '../lib/format';
import { useApp } from '../store';

export function ModelPicker() {
  const models = useApp((s) => s.models);
  const current = useApp((s) => s.current);
  const load = useApp((s) => s.modelLoad);
  const loadModel = useApp((s) => s.loadModel);

  // models:list holds the recent ones first, most recent first.
  const { recentItems, others } = useMemo(() => ({ recentItems: models.filter((m) => m.recent), others: models.filter((m) => !m.recent) }), [models]);

  const value = load?.path ?? current?.path ?? '';
  const known = models.some((m) => m.path === value);
  return (
    <div className="model-picker">
      <label className="side-label" htmlFor="model-picker">
        Model
      </label>
      <select
        id="model-picker"
        data-testid="model-picker"
        value={value}
        disabled={!!load}
        onChange={(e) => void loadModel(e.target.value)}
      >
        {!known && <option value={value}>{current?.name ?? (value ? value.split(/[\\/]/).pop() : 'No model loaded')}</option>}
        {recentItems.length > 0 && (
          <optgroup label="Recent">
            {recentItems.map((m) => (
              <option key={m.path} value={m.path}>
                {m.name}
              </option>
            ))}
          </optgroup>
        )}
        {others.length > 0 && (
          <optgroup label={recentItems.length ? 'Available' : 'Models'}>
            {others.map((m) => (
              <option key={m.path} value={m.path}>
                {m.name}
              </option>
            ))}
          </optgroup>
        )}
      </select>
      {load && (
        <div className="model-load" data-testid="model-load-progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(load.fraction * 100)}>
          <div className="bar">
            <div className="fill" style={{ width: `${Math.max(4, load.fraction * 100)}%` }} />
          </div>
          <span className="model-load-msg">{load.message || 'loading…'}</span>
        </div>
      )}
      {current && !load && (
        <div className="model-meta" title={current.path}>
          {current.nLayer} layers · {current.nEmbd} wide · {current.weightType} · ctx {current.nCtx}
          {current.weightBytes > 0 && ` · ${fmtBytes(current.weightBytes)}`}
        </div>
      )}
      <DeviceIndicator />
    </div>
  );
}

export function DeviceIndicator() {
  const current = useApp((s) => s.current);
  if (!current) return null;
  const cuda = /cuda/i.test(current.backend);
  const fallback = !cuda && !!current.backendReason;
  const detail = (current.deviceInfo || current.backend).replace(/^(cpu|cuda)\s*/i, '').replace(/^\((.*)\)$/, '$1');
  return (
    <div className={`device ${cuda ? 'gpu' : 'cpu'} ${fallback ? 'fallback' : ''}`} data-testid="device-indicator" title={current.backendReason ?? current.deviceInfo}>
      <span className="device-dot" />
      <span className="device-text">
        <strong>{cuda ? 'CUDA' : 'CPU'}</strong> {detail && <span className="dim">· {detail}</span>}
      </span>
      {fallback && <span className="device-reason">No GPU in use: {current.backendReason}</span>}
    </div>
  );
}
