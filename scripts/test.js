#!/usr/bin/env node
// `npm test`: the native suite (C++ ops, models, golden references, bad input), then the vitest
// suites (services, CLI, server, store, UI in headless Chromium). Ends with one summary line,
// "total: N passed, N failed", followed by ", N skipped (names: why)" when tests were skipped, and a
// non-zero exit status if anything failed. Tests are skipped only for inputs a plain clone lacks (the
// reference models outside the repository, Chromium); under CI=true they run and fail instead.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');

const root = path.resolve(__dirname, '..');
const only = process.argv[2]; // "native" | "unit" | undefined (all)
let passed = 0;
let failed = 0;
const skippedModels = []; // tests that need a reference model
let skippedUi = 0; // tests of the UI (e2e) suite

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${[cmd, ...args].join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
}

if (!only || only === 'native') {
  const bin = path.join(root, 'native', 'build', 'Release', 'clasp-native-tests');
  const alt = path.join(root, 'native', 'build', 'clasp-native-tests');
  const exe = fs.existsSync(bin) ? bin : alt;
  if (!fs.existsSync(exe)) {
    console.error('the native tests are not built; run `npm run build:native`');
    failed++;
  } else {
    const r = run(exe, []);
    process.stdout.write(r.stdout || '');
    // "native: N passed, N failed" or "native: N passed, N failed, N skipped (a, b)"
    const m = /(\d+) passed, (\d+) failed(?:, (\d+) skipped \(([^)]*)\))?/.exec(r.stdout || '');
    if (m) {
      passed += Number(m[1]);
      failed += Number(m[2]);
      if (m[4]) skippedModels.push(...m[4].split(', '));
    }
    if (r.status !== 0 && (!m || Number(m[2]) === 0)) failed++;
  }
}

if (!only || only === 'unit') {
  const report = path.join(os.tmpdir(), `clasp-vitest-${process.pid}.json`);
  const r = run(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    const j = JSON.parse(fs.readFileSync(report, 'utf8'));
    passed += j.numPassedTests;
    failed += j.numFailedTests;
    if (j.numTotalTests === 0) failed++;
    for (const file of j.testResults) {
      const e2e = path.relative(root, file.name).startsWith(path.join('test', 'e2e'));
      for (const t of file.assertionResults) {
        if (t.status !== 'skipped' && t.status !== 'pending' && t.status !== 'todo') continue;
        if (e2e) skippedUi++;
        else skippedModels.push(t.fullName);
      }
    }
    fs.rmSync(report, { force: true });
  } catch {
    failed++;
  }
  if (r.status !== 0 && failed === 0) failed++;
}

const reasons = [];
if (skippedModels.length) reasons.push(`${skippedModels.join(', ')}: no reference models, set CLASP_MODELS_DIR`);
if (skippedUi) reasons.push(`the UI suite (${skippedUi} tests): no Chromium, apt-get install chromium`);
const nSkipped = skippedModels.length + skippedUi;
console.log(`\ntotal: ${passed} passed, ${failed} failed${nSkipped ? `, ${nSkipped} skipped (${reasons.join('; ')})` : ''}`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
