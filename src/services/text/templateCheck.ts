// A model's chat template is code from the model file. Rendering is synchronous, so a template that
// loops would freeze the process on every request; it is test-rendered once at load, in a worker
// thread with a time limit, and replaced by the built-in Llama 3 template when it fails.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export const TEMPLATE_TIMEOUT_MS = 2000;
/** A test render longer than this is a template gone wrong (the sample chat is a few lines). */
const MAX_TEST_OUTPUT = 256 * 1024;

const SAMPLE = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Hello!' },
  { role: 'assistant', content: 'Hi. How can I help?' },
  { role: 'user', content: 'Tell me a joke.' },
];

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Template } = require(workerData.jinja);
try {
  const out = new Template(workerData.template).render(workerData.context);
  parentPort.postMessage({ ok: true, length: typeof out === 'string' ? out.length : -1 });
} catch (e) {
  parentPort.postMessage({ ok: false, error: String((e && e.message) || e) });
}
`;

export interface TemplateCheck {
  /** The template to use: the model's, or null for the built-in Llama 3 template. */
  template: string | null;
  /** Why the model's template is not used (for the log), or null. */
  warning: string | null;
}

export async function checkChatTemplate(
  template: string | null,
  opts: { bosToken: string | null; eosToken: string | null; timeoutMs?: number },
): Promise<TemplateCheck> {
  if (!template) return { template: null, warning: null };
  const timeoutMs = opts.timeoutMs ?? TEMPLATE_TIMEOUT_MS;
  const fallback = (why: string): TemplateCheck => ({ template: null, warning: `the model's chat template ${why}; using the built-in Llama 3 template` });
  const jinja = createRequire(__filename).resolve('@huggingface/jinja');
  const context = { messages: SAMPLE, add_generation_prompt: true, bos_token: opts.bosToken ?? '', eos_token: opts.eosToken ?? '' };
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { jinja, template, context } });
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await new Promise<{ ok: boolean; length?: number; error?: string } | 'timeout'>((resolve, reject) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (r === 'timeout') return fallback(`did not finish a test render within ${timeoutMs / 1000} s`);
    if (!r.ok) return fallback(`fails to render (${(r.error ?? '').slice(0, 200)})`);
    if ((r.length ?? -1) < 0 || (r.length ?? 0) > MAX_TEST_OUTPUT) return fallback('renders a short test chat to something that is not a short text');
    return { template, warning: null };
  } catch (e) {
    return fallback(`could not be checked (${(e as Error).message})`);
  } finally {
    clearTimeout(timer);
    void worker.terminate();
  }
}
