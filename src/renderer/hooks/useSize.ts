// The CSS-pixel size of an element, kept current with a ResizeObserver.
import { useEffect, useState, type RefObject } from 'react';

export function useSize(ref: RefObject<HTMLElement | null>): { width: number; height: number } {
  const [size, setSize] = useState({ width: 0, height: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver((entries) => {
      const r = entries[0]?.contentRect;
      if (r) setSize((s) => (Math.round(r.width) === s.width && Math.round(r.height) === s.height ? s : { width: Math.round(r.width), height: Math.round(r.height) }));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return size;
}

/** A value that follows `value` at most every `ms` milliseconds (for charts that are slow to redraw). */
export function useThrottled<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  const [last, setLast] = useState(0);
  useEffect(() => {
    const now = performance.now();
    const wait = Math.max(0, last + ms - now);
    const t = setTimeout(() => {
      setV(value);
      setLast(performance.now());
    }, wait);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value, ms]);
  return v;
}
