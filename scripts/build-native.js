#!/usr/bin/env node
// Builds the native engine (the Node addon, the native test binary and the engine CLI) with cmake-js.
// Node's headers come from the local installation (npm's `nodedir`), so nothing is downloaded.
// The CUDA backend is built too when nvcc is found (ENGINE_CUDA=AUTO); set ENGINE_CUDA=OFF to skip.
'use strict';
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  try {
    const d = execFileSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).trim();
    if (d && d !== 'undefined' && fs.existsSync(path.join(d, 'include', 'node', 'node_api.h'))) return d;
  } catch { /* npm not on PATH: fall through */ }
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined;
}

const nodedir = nodeDir();
const env = { ...process.env };
if (nodedir) env.npm_config_nodedir = nodedir;
const addonApi = require('node-addon-api').include_dir.replace(/"/g, '');
const cuda = process.env.ENGINE_CUDA || 'AUTO';
const args = [
  require.resolve('cmake-js/bin/cmake-js'), 'compile', '-d', 'native', '-O', 'native/build', '-p', '2', '-m',
  `--CDNODE_ADDON_API_DIR=${path.resolve(root, addonApi)}`, `--CDENGINE_CUDA=${cuda}`,
];
console.error(`[build-native] cmake-js (node headers: ${nodedir || 'cmake-js default'}, ENGINE_CUDA=${cuda})`);
const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('[build-native] the native build failed; see the compiler output above');
  process.exit(r.status || 1);
}
const addon = path.join(root, 'native', 'build', 'Release', 'clasp_engine.node');
if (!fs.existsSync(addon)) {
  console.error(`[build-native] build finished but ${addon} is missing`);
  process.exit(1);
}
console.error(`[build-native] built ${path.relative(root, addon)}`);
