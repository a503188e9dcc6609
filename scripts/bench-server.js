#!/usr/bin/env node
// Load benchmark of `clasp serve` (not a test): starts `node bin/clasp.js serve` in a child process
// on a free loopback port, sends a bounded number of short chat requests from this process with a
// fixed concurrency, and reports throughput, latency percentiles, errors and the server's memory
// (VmRSS from /proc) before and after. Needs `npm run build:node` first (npm run bench:server does it).
//
//   node scripts/bench-server.js [--requests 300] [--concurrency 4] [--max-tokens 8] [--mode clasp]
//                                [--stream] [--threads N] [--json]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function parse(argv) {
  const o = { requests: 300, concurrency: 4, 'max-tokens': 8, mode: 'clasp', stream: false, threads: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/bench-server.js [--requests 300] [--concurrency 4] [--max-tokens 8] [--mode ar|clasp|static] [--stream] [--threads N] [--json]');
      process.exit(0);
    }
    const k = a.replace(/^--/, '');
    if (!(k in o)) throw new Error(`unknown option ${a}`);
    if (typeof o[k] === 'boolean') o[k] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      o[k] = k === 'mode' ? v : Number(v);
      if (k !== 'mode' && !(Number.isInteger(o[k]) && o[k] > 0)) throw new Error(`${a} must be a positive integer`);
    }
  }
  return o;
}

function rssKb(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1] || NaN);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const PROMPTS = [
  'Count from 1 to 10.', 'Spell the word cat.', 'What is 2 plus 3?', 'Repeat: the sky is blue.',
  'Write a poem about rain.', 'Quote a famous line.', 'Continue: once upon a time', 'Count from 5 to 9.',
  'Write a story about a fox.', 'What is 7 plus 8?', 'Spell the word house.', 'Repeat: good morning.',
];

async function startServer(opts) {
  const main = path.join(root, 'dist', 'cli', 'main.js');
  if (!fs.existsSync(main)) throw new Error('dist/ is missing: run `npm run build:node` first');
  const args = [path.join(root, 'bin', 'clasp.js'), 'serve', '--port', '0', '--no-ui', '--queue', String(Math.max(32, opts.concurrency * 2))];
  if (opts.threads) args.push('--threads', String(opts.threads));
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`the server did not start within 120 s:\n${err}`)), 120_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^API: (http:\/\/\S+)/m);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`the server exited (${code}) before it started:\n${err}`));
    });
  });
  return { child, url, stderr: () => err };
}

// The engine's own time for a request (prefill + decode, DP included), from the response's clasp.stats.
function engineMs(s) {
  return (s.prefill_ms || 0) + (s.decode_ms || 0);
}

async function one(url, opts, i) {
  const body = {
    messages: [{ role: 'user', content: PROMPTS[i % PROMPTS.length] }],
    max_tokens: opts['max-tokens'],
    temperature: 0,
    clasp: { mode: opts.mode },
    ...(opts.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
  const t0 = performance.now();
  const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!opts.stream) {
    const j = await res.json();
    const ms = performance.now() - t0;
    if (res.status !== 200) return { ok: false, ms, status: res.status, error: j?.error?.message };
    return { ok: true, ms, tokens: j.usage.completion_tokens, mal: j.clasp.stats.mean_accepted_length, engineMs: engineMs(j.clasp.stats) };
  }
  if (res.status !== 200) return { ok: false, ms: performance.now() - t0, status: res.status, error: await res.text() };
  let ttft = null;
  let tokens = 0;
  let mal = null;
  let eng = 0;
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += dec.decode(chunk, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k).replace(/^data: /, '');
      buf = buf.slice(k + 2);
      if (ev === '[DONE]') continue;
      const j = JSON.parse(ev);
      if (ttft === null && j.choices?.[0]?.delta?.content) ttft = performance.now() - t0;
      if (j.usage) tokens = j.usage.completion_tokens;
      if (j.clasp) {
        mal = j.clasp.stats.mean_accepted_length;
        eng = engineMs(j.clasp.stats);
      }
    }
  }
  return { ok: true, ms: performance.now() - t0, ttft, tokens, mal, engineMs: eng };
}

async function main() {
  const opts = parse(process.argv.slice(2));
  const log = (s) => process.stderr.write(s + '\n');
  log(`[bench:server] starting clasp serve ...`);
  const srv = await startServer(opts);
  const pid = srv.child.pid;
  try {
    // warm-up: the engine measures its step costs on the first speculative run
    for (let i = 0; i < 4; i++) await one(srv.url, opts, i);
    const before = rssKb(pid);
    log(`[bench:server] ${srv.url}: ${opts.requests} requests, concurrency ${opts.concurrency}, max_tokens ${opts['max-tokens']}, mode ${opts.mode}${opts.stream ? ', streaming' : ''}`);
    const results = [];
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < opts.requests) {
        const i = next++;
        try {
          results.push(await one(srv.url, opts, i));
        } catch (e) {
          results.push({ ok: false, ms: NaN, error: e.message });
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    const wall = (performance.now() - t0) / 1000;
    const after = rssKb(pid);
    const ok = results.filter((r) => r.ok);
    const lat = ok.map((r) => r.ms).sort((a, b) => a - b);
    const ttfts = ok.map((r) => r.ttft).filter((x) => typeof x === 'number').sort((a, b) => a - b);
    const tokens = ok.reduce((s, r) => s + r.tokens, 0);
    // runs where the adaptive policy kept speculation off report 0 (no verify rounds): left out
    const mals = ok.map((r) => r.mal).filter((x) => typeof x === 'number' && x > 0);
    const errors = results.filter((r) => !r.ok);
    const eng = ok.map((r) => r.engineMs).sort((a, b) => a - b);
    const engSum = eng.reduce((a, b) => a + b, 0);
    // graceful shutdown time
    const s0 = performance.now();
    const exited = new Promise((resolve) => srv.child.once('exit', (code, sig) => resolve({ code, sig })));
    srv.child.kill('SIGTERM');
    const exit = await exited;
    const report = {
      machine: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${os.platform()} ${os.release()}, node ${process.version}`,
      requests: opts.requests,
      concurrency: opts.concurrency,
      max_tokens: opts['max-tokens'],
      mode: opts.mode,
      stream: opts.stream,
      wall_s: +wall.toFixed(2),
      requests_per_s: +(ok.length / wall).toFixed(2),
      completion_tokens_per_s: +(tokens / wall).toFixed(1),
      latency_ms: { p50: +pct(lat, 50).toFixed(1), p90: +pct(lat, 90).toFixed(1), p99: +pct(lat, 99).toFixed(1), max: +(lat[lat.length - 1] ?? NaN).toFixed(1) },
      ...(ttfts.length ? { ttft_ms: { p50: +pct(ttfts, 50).toFixed(1), p99: +pct(ttfts, 99).toFixed(1) } } : {}),
      engine_ms: { p50: +pct(eng, 50).toFixed(1), p99: +pct(eng, 99).toFixed(1) },
      // the share of the wall time the engine was generating: the rest is HTTP, JSON, tokenizing, queueing
      engine_busy_share: +(engSum / 1000 / wall).toFixed(3),
      load_average: os.loadavg().map((x) => +x.toFixed(1)),
      mean_accepted_length: mals.length ? +(mals.reduce((a, b) => a + b, 0) / mals.length).toFixed(2) : null,
      errors: errors.length,
      error_samples: errors.slice(0, 3).map((e) => `${e.status ?? ''} ${e.error ?? ''}`.trim()),
      server_rss_mb: { before: +(before.rss / 1024).toFixed(1), after: +(after.rss / 1024).toFixed(1), peak: +(after.hwm / 1024).toFixed(1) },
      shutdown_ms: +(performance.now() - s0).toFixed(0),
      exit,
    };
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`machine: ${report.machine}`);
      console.log(`${report.requests} requests (concurrency ${report.concurrency}, max_tokens ${report.max_tokens}, mode ${report.mode}${report.stream ? ', streaming' : ''}) in ${report.wall_s} s`);
      console.log(`throughput: ${report.requests_per_s} req/s, ${report.completion_tokens_per_s} completion tokens/s`);
      console.log(`latency: p50 ${report.latency_ms.p50} ms, p90 ${report.latency_ms.p90} ms, p99 ${report.latency_ms.p99} ms, max ${report.latency_ms.max} ms`);
      if (report.ttft_ms) console.log(`time to first token: p50 ${report.ttft_ms.p50} ms, p99 ${report.ttft_ms.p99} ms`);
      console.log(`engine time per request (prefill + decode): p50 ${report.engine_ms.p50} ms, p99 ${report.engine_ms.p99} ms; engine busy ${(100 * report.engine_busy_share).toFixed(1)}% of the wall time`);
      console.log(`machine load average (1, 5, 15 min) at the end: ${report.load_average.join(', ')}`);
      console.log(`mean accepted length (tokens per verify round): ${report.mean_accepted_length ?? 'n/a'}`);
      console.log(`errors: ${report.errors}${report.errors ? ' e.g. ' + report.error_samples.join('; ') : ''}`);
      console.log(`server RSS: ${report.server_rss_mb.before} MB before, ${report.server_rss_mb.after} MB after (peak ${report.server_rss_mb.peak} MB)`);
      console.log(`shutdown (SIGTERM): ${report.shutdown_ms} ms, exit ${JSON.stringify(report.exit)}`);
    }
    return errors.length === 0 ? 0 : 1;
  } finally {
    if (srv.child.exitCode === null && srv.child.signalCode === null) srv.child.kill('SIGKILL');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`[bench:server] ${e.message}`);
    process.exitCode = 1;
  },
);
