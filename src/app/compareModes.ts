// "Compare modes": the prompt of one reply re-run in ar, static and clasp, N repeats each, with the
// conversation's seed fixed. Repeat r runs every mode back to back (interleaved), so a change in the
// machine's load hits all modes alike; a warm-up run first puts the prompt in the KV cache, so no
// measured run pays the prefill alone. The conversation stays as it was; each run's trace is kept as a
// stand-alone trace of source 'compare' ("Compare: clasp run 2 of 3"), linked to the conversation so
// it goes with it, so a run can be opened in the inspector or pinned as A.
// Figures (median tok/s, TTFT, speed-up vs ar and its spread) are defined in docs/NUMBERS.md.
import * as crypto from 'node:crypto';
import type { AppEvent, ChatSettings, RequestOf, ResponseOf } from '../shared/api';
import { COMPARE_LIMITS, COMPARE_MODES, type CompareMode, type CompareResult, type CompareRow, type CompareRun } from '../shared/compare';
import type { EngineService } from '../services/EngineService';
import type { ValidSettings } from '../services/settings';
import { buildTrace } from '../services/traceBuilder';
import type { Trace } from '../shared/trace';
import { ApiError } from './apiErrors';
import { toChat } from './promptPlan';
import { replySettings } from './ReplyStream';
import type { ReplyHost } from './replyVersions';

export interface CompareSpec {
  conversationId: string;
  messageId: string;
  promptIds: number[];
  /** the conversation's settings (mode, skip, sampling); the seed is fixed, the mode set per run */
  settings: ChatSettings;
  repeats: number;
  maxTokens: number;
  greedy: boolean;
}

export class CompareJob {
  readonly id = crypto.randomUUID();
  readonly ac = new AbortController();
  readonly total: number;
  /** Resolves when the job has ended (done, cancelled or failed) and its last event is out. */
  done: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: EngineService,
    readonly spec: CompareSpec,
    private readonly emit: (e: AppEvent) => void,
    /** stores one run's trace under `name`; returns its id */
    private readonly keep: (trace: Trace, name: string) => string,
  ) {
    this.total = spec.repeats * COMPARE_MODES.length;
  }

  /** The settings of one mode's runs: the conversation's, with this mode, a fixed seed and the job's length. */
  settingsFor(mode: CompareMode): ValidSettings {
    const s = this.spec.settings;
    const chat: ChatSettings = { ...s, mode, fixedSeed: true, maxTokens: this.spec.maxTokens, ...(this.spec.greedy ? { temperature: 0 } : {}) };
    // No DP table: the comparison times the decoding, not the inspector's extras.
    return { ...replySettings(this.engine, chat).gen, dpTable: false };
  }

  /** Runs the job. `release` frees the conversation before the last event goes out, so a client may act on it at once. */
  start(release: () => void): void {
    this.done = this.run().then(
      (result) => {
        release();
        this.emit({ type: 'compare-done', ...this.ids(), result });
      },
      (e: unknown) => {
        release();
        this.emit({ type: 'compare-error', ...this.ids(), message: (e as Error).message });
      },
    );
  }

  cancel(): Promise<void> {
    this.ac.abort();
    return this.done;
  }

  private ids() {
    return { jobId: this.id, conversationId: this.spec.conversationId, messageId: this.spec.messageId };
  }

  private async run(): Promise<CompareResult> {
    const { spec, engine, ac } = this;
    const gens = Object.fromEntries(COMPARE_MODES.map((m) => [m, this.settingsFor(m)])) as Record<CompareMode, ValidSettings>;
    this.emit({ type: 'compare-progress', ...this.ids(), done: 0, total: this.total, mode: 'warm-up' });
    await engine.generate(spec.promptIds, { ...gens.ar, maxTokens: 1 } as ValidSettings, { signal: ac.signal });
    const runs: CompareRun[] = [];
    const texts: { label: string; ids: number[] }[] = [];
    outer: for (let r = 0; r < spec.repeats; r++) {
      for (const mode of COMPARE_MODES) {
        if (ac.signal.aborted) break outer;
        const res = await engine.generate(spec.promptIds, gens[mode], { signal: ac.signal, skipSpecial: true });
        if (res.finishReason === 'cancelled') break outer;
        const st = res.stats;
        const name = compareRunName(mode, r, spec.repeats);
        runs.push({
          traceId: this.keep(buildTrace(engine.info, gens[mode], res), name),
          name,
          mode,
          repeat: r,
          tokensPerS: st.tokens_per_s,
          ttftMs: st.ttft_ms,
          nGenerated: st.n_generated,
          acceptanceRate: st.acceptance_rate,
          drafted: st.drafted ?? 0,
          accepted: st.accepted ?? 0,
        });
        texts.push({ label: `${mode} run ${r + 1}`, ids: res.ids });
        this.emit({ type: 'compare-progress', ...this.ids(), done: runs.length, total: this.total, mode });
      }
    }
    return summarize(runs, texts, {
      ...this.ids(),
      repeats: spec.repeats,
      maxTokens: spec.maxTokens,
      greedy: spec.greedy,
      model: engine.info.name,
      machine: machineOf(engine),
      cancelled: ac.signal.aborted,
    });
  }
}

/** "Compare: clasp run 2 of 3", a run's name in the trace list (r is 0-based). */
export function compareRunName(mode: CompareMode, r: number, repeats: number): string {
  return `Compare: ${mode} run ${r + 1} of ${repeats}`;
}

function machineOf(engine: EngineService): string {
  return engine.info.deviceInfo || engine.info.backend;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The table from the runs; exported for its unit test. */
export function summarize(
  runs: CompareRun[],
  texts: { label: string; ids: number[] }[],
  meta: Omit<CompareResult, 'rows' | 'runs' | 'identical' | 'differing'>,
): CompareResult {
  const arRuns = runs.filter((r) => r.mode === 'ar');
  const arMedian = median(arRuns.map((r) => r.tokensPerS));
  const rows: CompareRow[] = [];
  for (const mode of COMPARE_MODES) {
    const mine = runs.filter((r) => r.mode === mode);
    if (mine.length === 0) continue;
    const tps = mine.map((r) => r.tokensPerS);
    // Per-repeat ratios against the ar run made next to it (same repeat).
    const ratios = mine
      .map((r) => {
        const ar = arRuns.find((a) => a.repeat === r.repeat);
        return ar && ar.tokensPerS > 0 ? r.tokensPerS / ar.tokensPerS : NaN;
      })
      .filter(Number.isFinite);
    const drafted = mine.reduce((a, r) => a + r.drafted, 0);
    const accepted = mine.reduce((a, r) => a + r.accepted, 0);
    rows.push({
      mode,
      runs: mine.length,
      medianTokensPerS: median(tps),
      minTokensPerS: Math.min(...tps),
      maxTokensPerS: Math.max(...tps),
      medianTtftMs: median(mine.map((r) => r.ttftMs)),
      speedup: arMedian > 0 ? median(tps) / arMedian : null,
      speedupMin: ratios.length ? Math.min(...ratios) : null,
      speedupMax: ratios.length ? Math.max(...ratios) : null,
      acceptanceRate: drafted > 0 ? accepted / drafted : null,
    });
  }
  const ref = texts[0]?.ids ?? [];
  const differing = meta.greedy ? texts.filter((t) => t.ids.length !== ref.length || t.ids.some((id, i) => id !== ref[i])).map((t) => t.label) : [];
  return { ...meta, rows, runs, identical: meta.greedy ? differing.length === 0 && texts.length > 0 : null, differing };
}

/** What starting a comparison needs from the app (AppService implements it). */
export interface CompareHost extends Pick<ReplyHost, 'store' | 'ready' | 'prepare'> {
  emitApp(e: AppEvent): void;
  /** Runs the job as the conversation's one activity (no reply meanwhile); a model switch stops it. */
  runCompare(job: CompareJob): void;
}

/** compare:start: checks the reply and the settings, then starts the job; progress comes as app events. */
export async function startCompare(host: CompareHost, p: RequestOf<'compare:start'>): Promise<ResponseOf<'compare:start'>> {
  const { conv, engine } = await host.ready(p.conversationId);
  const shown = host.store.listMessages(conv.id);
  const i = shown.findIndex((m) => m.id === p.messageId);
  if (i < 0) throw new ApiError(`no reply with id ${p.messageId} is shown in this conversation`, 'not_found');
  if (shown[i]!.role !== 'assistant') throw new ApiError('compare:start takes an assistant reply: its prompt is re-run', 'bad_request');
  const greedy = p.greedy ?? true;
  const maxTokens = p.maxTokens ?? Math.min(conv.settings.maxTokens, COMPARE_LIMITS.maxTokens.default);
  // The prompt as it was for that reply: the turns before it, planned like a send.
  const { plan } = host.prepare(engine, { ...conv, settings: { ...conv.settings, maxTokens } }, toChat(shown.slice(0, i)));
  const job = new CompareJob(
    engine,
    { conversationId: conv.id, messageId: p.messageId, promptIds: plan.ids, settings: conv.settings, repeats: p.repeats, maxTokens, greedy },
    (e) => host.emitApp(e),
    (trace, name) => host.store.putTrace(trace, { source: 'compare', name, conversationId: conv.id }),
  );
  COMPARE_MODES.forEach((m) => job.settingsFor(m)); // throws ApiError now, not mid-run, when a mode's settings do not fit
  host.runCompare(job);
  return { jobId: job.id, total: job.total };
}

/** compare:cancel: stops the job (what it measured so far still comes as its result). */
export async function cancelCompare(jobs: Iterable<CompareJob>, jobId: string): Promise<ResponseOf<'compare:cancel'>> {
  const job = [...jobs].find((j) => j.id === jobId);
  if (job) await job.cancel();
  return { cancelled: !!job };
}
