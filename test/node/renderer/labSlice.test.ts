// The layer lab's slice, with the API client replaced by a mock: pins are toggled, set and cleared
// per inspected source; a run asks 'lab:run' for exactly the pinned set (or a fixed M), keeps what
// the inspector shows of it, and a failure is shown for that source only; one run at a time.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResponseOf } from '../../../src/shared/api';
import { sampleTrace } from '../helpers/traces';

const call = vi.fn();
vi.mock('../../../src/renderer/lib/client', async (original) => ({ ...(await original<object>()), call }));
const { useApp } = await import('../../../src/renderer/store');
const { labRunOf } = await import('../../../src/renderer/store/labSlice');

const initial = useApp.getState();
beforeEach(() => {
  useApp.setState(initial, true);
  call.mockReset();
});

function labAnswer(skipLayers: number[] | null, identical: boolean | null): ResponseOf<'lab:run'> {
  const t = sampleTrace(4);
  t.config = { ...t.config, mode: skipLayers ? 'static' : 'clasp', skip: skipLayers ? skipLayers.length : 2, ...(skipLayers ? { skip_layers: skipLayers } : {}) };
  t.rounds[0]!.dp = { ...t.rounds[0]!.dp!, given: skipLayers ? true : undefined, path_cosine: [1, 0.99, 0.97, 0.95, 0.9] };
  return { traceId: 'lab1', name: 'lab · layers 1,3 · tiny', trace: t, identical };
}

describe('lab slice', () => {
  it('toggles, sets and clears pins per source, sorted and without duplicates', () => {
    const s = useApp.getState();
    s.toggleLabLayer('a1', 5);
    s.toggleLabLayer('a1', 2);
    s.toggleLabLayer('b', 7);
    expect(useApp.getState().labPins).toEqual({ a1: [2, 5], b: [7] });
    s.toggleLabLayer('a1', 5);
    expect(useApp.getState().labPins.a1).toEqual([2]);
    s.setLabPins('a1', [9, 3, 9, 1]);
    expect(useApp.getState().labPins.a1).toEqual([1, 3, 9]);
    s.setLabPins('a1', []);
    expect(useApp.getState().labPins.a1).toEqual([]);
    expect(useApp.getState().labPins.b).toEqual([7]);
  });

  it('runs the pinned set, and keeps its acceptance and path', async () => {
    call.mockImplementation((ch: string, p: { skipLayers?: number[] }) =>
      Promise.resolve(ch === 'lab:run' ? labAnswer(p.skipLayers ?? null, true) : []),
    );
    const s = useApp.getState();
    await s.runLab('a1', 't1'); // nothing pinned: nothing asked
    expect(call).not.toHaveBeenCalled();
    s.setLabPins('a1', [3, 1]);
    await s.runLab('a1', 't1');
    expect(call).toHaveBeenCalledWith('lab:run', { traceId: 't1', skipLayers: [1, 3] });
    const run = useApp.getState().labRuns.a1![0]!;
    expect(run).toMatchObject({ traceId: 'lab1', kind: 'set', skip: [1, 3], M: 2, identical: true, greedy: true, meanAcceptedLength: 3 });
    expect(run.path).toEqual([1, 0.99, 0.97, 0.95, 0.9]);
    expect(useApp.getState().labBusy).toBeNull();
    // a fixed M: the other request
    await s.runLab('a1', 't1', 2);
    expect(call).toHaveBeenCalledWith('lab:run', { traceId: 't1', claspM: 2 });
    expect(useApp.getState().labRuns.a1!.map((r) => r.kind)).toEqual(['set', 'clasp']);
  });

  it('shows a refusal for its source only, and runs one at a time', async () => {
    let release!: (v: unknown) => void;
    call.mockImplementationOnce(() => new Promise((r) => (release = r)));
    const s = useApp.getState();
    s.setLabPins('a1', [1]);
    const first = s.runLab('a1', 't1');
    expect(useApp.getState().labBusy).toBe('a1');
    await s.runLab('a1', 't1'); // busy: not asked again
    expect(call).toHaveBeenCalledTimes(1);
    release(labAnswer([1], true));
    await first;
    call.mockRejectedValueOnce(Object.assign(new Error('skip layers: layer 40 is out of range'), { code: 'bad_request', status: 400 }));
    await s.runLab('a1', 't1');
    expect(useApp.getState().labError).toEqual({ key: 'a1', text: expect.stringContaining('layer 40 is out of range') });
    expect(useApp.getState().labRuns.a1).toHaveLength(1);
  });

  it('draws no path from a run whose first round is not at the prompt’s last token', () => {
    const a = labAnswer(null, null);
    a.trace.rounds[0]!.dp!.target_pos = 7;
    expect(labRunOf(a).path).toBeNull();
    expect(labRunOf(a).identical).toBeNull();
  });
});
