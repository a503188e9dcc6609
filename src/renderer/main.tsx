// Renderer entry: the app, or the heatmap benchmark page when opened with #bench.
import { StrictMode, lazy, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);

if (location.hash === '#bench') {
  const Bench = lazy(() => import('./bench/HeatmapBench').then((m) => ({ default: m.HeatmapBench })));
  root.render(
    <Suspense fallback={null}>
      <Bench />
    </Suspense>,
  );
} else {
  const App = lazy(() => import('./App').then((m) => ({ default: m.App })));
  root.render(
    <StrictMode>
      <Suspense fallback={<div className="boot">CLaSp Studio</div>}>
        <App />
      </Suspense>
    </StrictMode>,
  );
}
