// Measures llama.cpp (node-llama-cpp's prebuilt CPU binary) on a GGUF file: prompt processing of a
// 64-token prompt and greedy decoding, with a fixed thread count. Prints one JSON line.
// usage: node bench/llamacpp.mjs MODEL.gguf THREADS PROMPT_LEN GEN_LEN
import { getLlama } from 'node-llama-cpp';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const version = JSON.parse(readFileSync(require.resolve('node-llama-cpp').replace(/dist\/.*$/, 'package.json'), 'utf8')).version;

const [modelPath, threadsArg = '2', promptLenArg = '64', genArg = '64'] = process.argv.slice(2);
const threads = Number(threadsArg), promptLen = Number(promptLenArg), gen = Number(genArg);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const rssBefore = process.memoryUsage().rss;
const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
const ctx = await model.createContext({ contextSize: 1024, threads, batchSize: 512, sequences: 1 });
const prompt = Array.from({ length: promptLen }, (_, k) => (k * 37 + 11) % 8192);

async function once() {
  const seq = ctx.getSequence();
  const t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(prompt);
  const t1 = performance.now();
  let n = 0;
  const t2 = performance.now();
  for await (const _tok of seq.evaluate([prompt[prompt.length - 1]], { temperature: 0 })) {
    if (++n >= gen) break;
  }
  const t3 = performance.now();
  seq.dispose();
  return { prefill: promptLen / ((t1 - t0) / 1000), decode: n / ((t3 - t2) / 1000) };
}

await once(); // warm-up
let best = { prefill: 0, decode: 0 };
for (let i = 0; i < 3; i++) {
  const r = await once();
  best = { prefill: Math.max(best.prefill, r.prefill), decode: Math.max(best.decode, r.decode) };
}
const rss = process.memoryUsage().rss;
console.log(JSON.stringify({ engine: 'llama.cpp', version,
  prefill_tok_s: best.prefill, decode_tok_s: best.decode, rss_mb: rss / 1e6, rss_delta_mb: (rss - rssBefore) / 1e6 }));
await ctx.dispose();
await model.dispose();
await llama.dispose();
