#!/usr/bin/env node
'use strict';
// The `clasp` CLI. The TypeScript sources are compiled to dist/ by `npm run build:node`.
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('clasp: the CLI is not built yet; run `npm install` (or `npm run build:node`) first');
  process.exit(1);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { console.error(e); process.exitCode = 1; },
);
