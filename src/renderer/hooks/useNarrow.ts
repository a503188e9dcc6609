// Whether the window is narrow (below 1100 px, where base.css puts the inspector under the chat and
// the inspector switches to tabs). Follows resizes.
import { useEffect, useState } from 'react';

export const NARROW_QUERY = '(max-width: 1100px)';

function matches(): boolean {
  return typeof matchMedia !== 'undefined' && matchMedia(NARROW_QUERY).matches;
}

export function useNarrow(): boolean {
  const [narrow, setNarrow] = useState(matches);
  useEffect(() => {
    if (typeof matchMedia === 'undefined') return;
    const mq = matchMedia(NARROW_QUERY);
    const on = () => setNarrow(mq.matches);
    on();
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return narrow;
}
