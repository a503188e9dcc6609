// Per-token fates from the engine's event order (tokens of a round first, then its round event).
import { describe, expect, it } from 'vitest';
import { FateTracker, fatesFromRounds } from '../../src/app/fates';
import type { RoundEvent } from '../../src/shared/engineTypes';

function round(drafts: number[], accepted: number, next: number): RoundEvent {
  return {
    index: 0, pos: 0, skip: [], dp: null,
    draft: { ids: drafts, q: drafts.map(() => 0.9), top1: drafts.map(() => 0.9), ms: 1 },
    verify: { accepted, p: drafts.map(() => 0.9), next_id: next, ms: 1 },
    policy: null,
  };
}

/** Feeds tokens then the round, as the engine does. */
function feed(t: FateTracker, r: RoundEvent, emitted = r.verify.accepted + 1) {
  const seq = [...r.draft.ids.slice(0, r.verify.accepted), r.verify.next_id];
  for (const id of seq.slice(0, emitted)) t.token(id);
  t.round(r);
}

describe('FateTracker', () => {
  it('first token plain, then accepted drafts and a correction or a bonus per round', () => {
    const t = new FateTracker('clasp', 1000, () => 0);
    t.token(1);
    feed(t, round([2, 3, 9], 2, 4)); // 2 accepted, then a correction
    feed(t, round([5, 6], 2, 7)); // all accepted: bonus
    expect(t.final()).toEqual(['plain', 'accepted', 'accepted', 'correction', 'accepted', 'accepted', 'bonus']);
    const out = t.take();
    expect(out.ids).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(out.fates).toEqual(t.final());
  });

  it('holds tokens back until their round arrives, then releases them with the right fates', () => {
    let now = 0;
    const t = new FateTracker('clasp', 300, () => now);
    t.token(1);
    t.token(2);
    t.token(3);
    expect(t.take()).toEqual({ ids: [1], fates: ['plain'], from: 0 });
    now = 100;
    expect(t.take().ids).toEqual([]);
    t.round(round([2, 8], 1, 3));
    expect(t.take()).toEqual({ ids: [2, 3], fates: ['accepted', 'correction'], from: 1 });
    expect(t.pending).toBe(0);
  });

  it("plain steps (speculation switched off) go out as 'plain' after the hold, and a late round corrects", () => {
    let now = 0;
    const t = new FateTracker('clasp', 300, () => now);
    t.token(1);
    t.take();
    t.token(2); // plain step at t=0
    now = 350;
    expect(t.take()).toEqual({ ids: [2], fates: ['plain'], from: 1 });
    // speculation comes back: a round whose tokens arrive now
    t.token(3);
    t.token(4);
    t.round(round([3, 9], 1, 4));
    expect(t.take()).toEqual({ ids: [3, 4], fates: ['accepted', 'correction'], from: 2 });
    expect(t.corrected).toBe(false);
    expect(t.final()).toEqual(['plain', 'plain', 'accepted', 'correction']);

    // a round so late that its tokens already went out as plain: the final fates are corrected
    t.token(5);
    t.token(6);
    now = 1000;
    expect(t.take().fates).toEqual(['plain', 'plain']);
    t.round(round([5, 6, 7], 2, 8)); // 5 and 6 were accepted drafts
    expect(t.corrected).toBe(true);
    expect(t.final().slice(4)).toEqual(['accepted', 'accepted']);
  });

  it('a round cut short by an end token or max tokens claims only the tokens that were emitted', () => {
    const t = new FateTracker('clasp', 0, () => 0);
    t.token(1);
    t.token(50); // a plain step before the round
    feed(t, round([2, 3, 4, 5], 4, 6), 2); // only 2 of its 5 tokens were emitted
    expect(t.final()).toEqual(['plain', 'plain', 'accepted', 'accepted']);
  });

  it("ar: everything is 'plain' at once", () => {
    const t = new FateTracker('ar', 10_000, () => 0);
    for (const id of [1, 2, 3]) t.token(id);
    expect(t.take()).toEqual({ ids: [1, 2, 3], fates: ['plain', 'plain', 'plain'], from: 0 });
  });

  it('take(true) releases everything at the end', () => {
    const t = new FateTracker('static', 10_000, () => 0);
    t.token(1);
    t.token(2);
    expect(t.take().ids).toEqual([1]);
    expect(t.take(true)).toEqual({ ids: [2], fates: ['plain'], from: 1 });
  });

  it('fatesFromRounds recomputes a finished reply from ids and rounds', () => {
    const rounds = [round([2, 3, 9], 2, 4), round([5, 6], 2, 7)];
    expect(fatesFromRounds('clasp', [1, 2, 3, 4, 5, 6, 7], rounds)).toEqual(['plain', 'accepted', 'accepted', 'correction', 'accepted', 'accepted', 'bonus']);
    expect(fatesFromRounds('ar', [1, 2], [])).toEqual(['plain', 'plain']);
    expect(fatesFromRounds('clasp', [], [])).toEqual([]);
  });
});
