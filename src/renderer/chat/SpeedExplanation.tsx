// Under each reply: did CLaSp make it faster, and why. The sentence and the per-plan lines come from
// the engine's decisions (lib/speedStory.ts); the bar shows where the decoding time went beside what
// plain decoding would have taken on this machine. "Try it anyway" re-runs the reply speculating
// whatever the policy predicts; "Forget what was learned" clears the policy's memory for this model.
import { useState } from 'react';
import type { Message } from '@shared/api';
import { call, errorText } from '../lib/client';
import { fmtMs } from '../lib/format';
import { partsText, speedStory } from '../lib/speedStory';
import { useApp } from '../store';
import { compareHold } from '../store/studioSlice';

export function SpeedExplanation({ m, canRegenerate }: { m: Message; canRegenerate: boolean }) {
  const regenerate = useApp((s) => s.regenerate);
  const pushError = useApp((s) => s.pushError);
  const held = useApp((s) => compareHold(s, 'Try it anyway', m.conversationId));
  const [forgotten, setForgotten] = useState(false);
  if (!m.stats || m.status === 'streaming') return null;
  const story = speedStory(m.stats);
  const total = story.parts.reduce((a, p) => a + p.ms, 0);
  const forget = async () => {
    try {
      await call('policy:forget', {});
      setForgotten(true);
    } catch (e) {
      pushError(`Could not forget: ${errorText(e)}`);
    }
  };
  return (
    <div className="speed-explanation" data-testid="speed-explanation" data-label={story.label}>
      <p className="speed-headline">
        <span className="speed-headline-text">{story.headline}</span>
        {story.canTryAnyway && canRegenerate && (
          <button
            className="link"
            data-testid="try-anyway"
            disabled={!!held}
            title={held ?? 'Regenerates this reply speculating whatever the policy predicts'}
            onClick={() => void regenerate({ tryAnyway: true })}
          >
            Try it anyway
          </button>
        )}
        {story.canForget && !forgotten && (
          <button className="link" data-testid="forget-learned" onClick={() => void forget()}>
            Forget what was learned
          </button>
        )}
      </p>
      {forgotten && <p className="speed-note">Forgotten: the next speculative reply measures this machine’s costs and counts acceptance afresh.</p>}
      {story.lines.length > 0 && (
        <ul className="speed-lines">
          {story.lines.map((l, i) => (
            <li key={i} className={l.speculate ? 'spec' : 'plain'} title={`The engine’s reason: ${l.reason}`}>
              {l.text}
            </li>
          ))}
        </ul>
      )}
      {total > 0 && (
        <div className="speed-time" data-testid="speed-breakdown">
          <div className="speed-bar" aria-hidden="true">
            {story.parts.map((p) => (
              <span key={p.label} className={`part-${p.label.replace(' ', '-')}`} style={{ flexGrow: p.ms }} title={`${p.label} ${fmtMs(p.ms)}`} />
            ))}
          </div>
          <span>
            Decoding took {fmtMs(total)}: {partsText(story.parts)}.
            {story.plainEstimateMs !== null && <> Plain decoding would take about {fmtMs(story.plainEstimateMs)} for these tokens here (the cost table measured on this machine).</>}
          </span>
        </div>
      )}
    </div>
  );
}
