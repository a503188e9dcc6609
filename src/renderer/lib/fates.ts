// Links a reply's tokens to the verify rounds that produced them. A round emits its accepted drafts
// and then one correction or bonus token, so each 'correction'/'bonus' closes a round; 'plain'
// tokens (the first token, from the prefill, and plain steps after a fallback) belong to none.
import type { TokenFate } from '@shared/api';

export interface TokenRoundMap {
  /** per token: the round index, or -1 */
  roundOf: Int32Array;
  /** per round: the index of its first token (its first accepted draft, or its correction/bonus) */
  firstToken: number[];
}

export function mapTokensToRounds(fates: readonly TokenFate[]): TokenRoundMap {
  const roundOf = new Int32Array(fates.length).fill(-1);
  const firstToken: number[] = [];
  let r = 0;
  let open = false;
  for (let i = 0; i < fates.length; i++) {
    const f = fates[i];
    if (f === 'plain') continue;
    if (!open) {
      firstToken.push(i);
      open = true;
    }
    roundOf[i] = r;
    if (f === 'correction' || f === 'bonus') {
      r++;
      open = false;
    }
  }
  return { roundOf, firstToken };
}

export const FATE_LABEL: Record<TokenFate, string> = {
  accepted: 'accepted draft',
  correction: 'correction (the full model disagreed with the draft)',
  bonus: 'bonus (every draft accepted, one more from the full model)',
  plain: 'plain decoding step',
};
