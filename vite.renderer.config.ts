// Builds the React renderer (src/renderer) into out/renderer. The same bundle runs in Electron and
// in a browser against `clasp serve`, whose CSP allows only same-origin scripts and styles: so every
// asset is bundled and referenced relatively (base './'), with no CDN or remote fonts.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

export default defineConfig({
  root: resolve(__dirname, 'src/renderer'),
  base: './',
  plugins: [react()],
  resolve: {
    alias: { '@shared': resolve(__dirname, 'src/shared') },
  },
  build: {
    outDir: resolve(__dirname, 'out/renderer'),
    emptyOutDir: true,
    // No inline module-preload polyfill script: the CSP forbids inline scripts.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
    target: 'es2022',
  },
  server: { port: 5173, strictPort: false },
});
