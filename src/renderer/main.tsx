// Renderer entry: the app, or the heatmap benchmark page when opened with #bench.
import { StrictMode, lazy, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
// One sheet per folder. Order matters where rules tie: theme and base first, then shared components,
// then each part of the window.
import './styles/theme.css';
import './styles/base.css';
import './components/components.css';
import './sidebar/sidebar.css';
import './chat/chat.css';
import './chat/markdown.css';
import './chat/composer.css';
import './settings/settings.css';
import './inspector/inspector.css';
import './inspector/round-detail.css';
import './inspector/layer-lab.css';
import './bench/bench.css';
import './studio/studio.css';

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
