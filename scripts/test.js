#!/usr/bin/env node
// `npm test`: the native suite (C++ ops, models, golden references, bad input), then the vitest
// suites (services, CLI, server, sessions, UI in headless Chromium). Ends with one summary line,
// "total: N passed, N failed", followed by ", N skipped (names: why)" when tests were skipped, and a
// non-zero exit status if anything failed. Tests are skipped only for inputs a plain clone lacks (the
// reference models outside the repository, Chromium); under CI=true they run and fail instead.
// `node scripts/test.js native|node|e2e` runs one part (npm run test:native, test:node, test:e2e).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');

const root = path.resolve(__dirname, '..');

/** The native binary's last line: "native: N passed, N failed[, N skipped (a, b)]". */
function parseNativeSummary(stdout) {
  const m = /(\d+) passed, (\d+) failed(?:, (\d+) skipped \(([^)]*)\))?/.exec(stdout);
  if (!m) return null;
  return { passed: Number(m[1]), failed: Number(m[2]), skipped: m[4] ? m[4].split(', ') : [] };
}

/** Skipped tests in vitest's JSON report: the UI (e2e) suite's count, and the names of the others. */
function vitestSkips(report) {
  const out = { ui: 0, names: [] };
  for (const file of report.testResults) {
    const e2e = path.relative(root, file.name).startsWith(path.join('test', 'e2e'));
    for (const t of file.assertionResults) {
      if (t.status !== 'skipped' && t.status !== 'pending' && t.status !== 'todo') continue;
      if (e2e) out.ui++;
      else out.names.push(t.fullName);
    }
  }
  return out;
}

/** "total: N passed, N failed" plus, when anything was skipped, ", N skipped (what: why; ...)". */
function summaryLine({ passed, failed, skippedNames, skippedUi }) {
  const reasons = [];
  if (skippedNames.length) reasons.push(`${skippedNames.join(', ')}: no reference models, set CLASP_MODELS_DIR`);
  if (skippedUi) reasons.push(`the UI suite (${skippedUi} tests): no Chromium, apt-get install chromium`);
  const n = skippedNames.length + skippedUi;
  return `total: ${passed} passed, ${failed} failed${n ? `, ${n} skipped (${reasons.join('; ')})` : ''}`;
}

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${[cmd, ...args].join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
}

function main(only) {
  const t = { passed: 0, failed: 0, skippedNames: [], skippedUi: 0 };
  if (!only || only === 'native') {
    const bin = path.join(root, 'native', 'build', 'Release', 'clasp-native-tests');
    const alt = path.join(root, 'native', 'build', 'clasp-native-tests');
    const exe = fs.existsSync(bin) ? bin : alt;
    if (!fs.existsSync(exe)) {
      console.error('the native tests are not built; run `npm run build:native`');
      t.failed++;
    } else {
      const r = run(exe, []);
      process.stdout.write(r.stdout || '');
      const s = parseNativeSummary(r.stdout || '');
      if (s) {
        t.passed += s.passed;
        t.failed += s.failed;
        t.skippedNames.push(...s.skipped);
      }
      if (r.status !== 0 && (!s || s.failed === 0)) t.failed++;
    }
  }

  if (!only || only === 'node' || only === 'e2e') {
    const report = path.join(os.tmpdir(), `clasp-vitest-${process.pid}.json`);
    const folder = only ? [path.join('test', only)] : []; // test/node or test/e2e; both without
    const r = run(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...folder, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    try {
      const j = JSON.parse(fs.readFileSync(report, 'utf8'));
      t.passed += j.numPassedTests;
      t.failed += j.numFailedTests;
      if (j.numTotalTests === 0) t.failed++;
      const s = vitestSkips(j);
      t.skippedNames.push(...s.names);
      t.skippedUi += s.ui;
      fs.rmSync(report, { force: true });
    } catch {
      t.failed++;
    }
    if (r.status !== 0 && t.failed === 0) t.failed++;
  }

  console.log(`\n${summaryLine(t)}`);
  return t.failed === 0 && t.passed > 0 ? 0 : 1;
}

const PARTS = ['native', 'node', 'e2e'];
if (require.main === module) {
  const only = process.argv[2]; // "native" | "node" | "e2e" | undefined (all)
  if (only !== undefined && !PARTS.includes(only)) {
    console.error(`scripts/test.js: unknown part "${only}"; the parts are ${PARTS.join(', ')} (none: all)`);
    process.exit(2);
  }
  process.exit(main(only));
}
module.exports = { parseNativeSummary, vitestSkips, summaryLine };
