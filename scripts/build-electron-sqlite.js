#!/usr/bin/env node
// Builds better-sqlite3 for the installed Electron into build/electron-sqlite/better_sqlite3.node.
//
// better-sqlite3 is a native module and is not ABI-stable across Node and Electron. The copy in
// node_modules stays the Node build (tests, the CLI, `clasp serve`); the Electron main process loads
// this one through better-sqlite3's `nativeBinding` option (src/main/index.ts).
//
// How: copy the better-sqlite3 package to a scratch folder and run prebuild-install there for
// `--runtime electron --target <version>` (downloads the matching prebuilt binary); when no prebuilt
// exists, fall back to node-gyp against Electron's headers (npm's bundled node-gyp). Nothing in
// node_modules is touched.
//
// It skips, with a message and exit status 0, when it cannot or need not work: Electron or its
// binary is missing (ELECTRON_SKIP_BINARY_DOWNLOAD=1, as in CI), there is no network, or the output
// is already up to date. `--force` rebuilds; `--strict` makes failures exit 1 (for packaging).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'build', 'electron-sqlite');
const outFile = path.join(outDir, 'better_sqlite3.node');
const stampFile = path.join(outDir, 'stamp.json');
const args = new Set(process.argv.slice(2));
const strict = args.has('--strict');
const force = args.has('--force');

function log(msg) {
  console.error(`[build-electron-sqlite] ${msg}`);
}

function skip(msg) {
  log(`skipped: ${msg}`);
  log('the Electron app needs this build; run `node scripts/build-electron-sqlite.js` later (with internet) to make it');
  process.exit(0);
}

function fail(msg) {
  log(`failed: ${msg}`);
  if (strict) process.exit(1);
  log('continuing without it (pass --strict to make this an error); the Electron app will say how to fix it');
  process.exit(0);
}

function pkgVersion(name) {
  try {
    return require(path.join(root, 'node_modules', name, 'package.json')).version;
  } catch {
    return null;
  }
}

function electronBinaryPresent() {
  // electron's install script writes path.txt and dist/ once the binary is downloaded.
  const dir = path.join(root, 'node_modules', 'electron');
  try {
    const rel = fs.readFileSync(path.join(dir, 'path.txt'), 'utf8').trim();
    return fs.existsSync(path.join(dir, 'dist', rel));
  } catch {
    return false;
  }
}

const electronVersion = pkgVersion('electron');
const sqliteVersion = pkgVersion('better-sqlite3');
if (!sqliteVersion) skip('better-sqlite3 is not installed');
if (!electronVersion) skip('electron is not installed');
if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD && process.env.ELECTRON_SKIP_BINARY_DOWNLOAD !== '0') {
  skip('ELECTRON_SKIP_BINARY_DOWNLOAD is set, so there is no Electron to build for');
}
if (!electronBinaryPresent() && !force) skip(`Electron ${electronVersion}'s binary is not installed (node_modules/electron/dist)`);

const target = { electron: electronVersion, betterSqlite3: sqliteVersion, platform: process.platform, arch: process.arch };
if (!force && fs.existsSync(outFile)) {
  try {
    const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    if (JSON.stringify(stamp) === JSON.stringify(target)) {
      log(`up to date: ${path.relative(root, outFile)} (Electron ${electronVersion}, better-sqlite3 ${sqliteVersion})`);
      process.exit(0);
    }
  } catch {
    /* no stamp: rebuild */
  }
}

// A scratch copy of the package (without its Node build), so node_modules keeps the Node binary.
const src = path.join(root, 'node_modules', 'better-sqlite3');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-electron-sqlite-'));
const pkgDir = path.join(work, 'better-sqlite3');
function cleanup() {
  fs.rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
fs.cpSync(src, pkgDir, { recursive: true, filter: (p) => !p.startsWith(path.join(src, 'build')) });

function run(cmd, argv, extraEnv = {}) {
  const r = spawnSync(cmd, argv, {
    cwd: pkgDir,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 10 * 60 * 1000,
  });
  return r.status === 0;
}

const built = path.join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
log(`building better-sqlite3 ${sqliteVersion} for Electron ${electronVersion} (${process.platform}-${process.arch})`);

// 1. A prebuilt binary for this Electron (what better-sqlite3's own install does for Node).
let ok = false;
let prebuild;
try {
  prebuild = require.resolve('prebuild-install/bin.js', { paths: [src, root] });
} catch {
  prebuild = null;
}
if (prebuild) {
  ok = run(process.execPath, [prebuild, '--runtime', 'electron', '--target', electronVersion, '--arch', process.arch, '--platform', process.platform, '--tag-prefix', 'v', '--verbose']) && fs.existsSync(built);
  if (!ok) log('no prebuilt binary could be fetched (offline, or none published for this Electron)');
}

// 2. Compile it against Electron's headers with npm's node-gyp (needs a C++ toolchain and the network).
if (!ok) {
  const gyp = process.env.npm_config_node_gyp || (() => {
    try {
      const npmDir = path.dirname(require.resolve('npm/package.json', { paths: [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules')] }));
      return path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    } catch {
      return null;
    }
  })();
  if (gyp && fs.existsSync(gyp)) {
    log('compiling with node-gyp against the Electron headers');
    ok = run(process.execPath, [gyp, 'rebuild', '--release', `--target=${electronVersion}`, `--arch=${process.arch}`, '--dist-url=https://electronjs.org/headers', '--runtime=electron'], {
      npm_config_runtime: 'electron',
      npm_config_target: electronVersion,
      npm_config_disturl: 'https://electronjs.org/headers',
    }) && fs.existsSync(built);
  } else {
    log("npm's node-gyp was not found; cannot compile from source");
  }
}

if (!ok) {
  fail(`could not get better-sqlite3 for Electron ${electronVersion} (no network, or no prebuilt binary and no compiler)`);
}

fs.mkdirSync(outDir, { recursive: true });
fs.copyFileSync(built, outFile);
fs.writeFileSync(stampFile, JSON.stringify(target) + '\n');
log(`built ${path.relative(root, outFile)}`);
