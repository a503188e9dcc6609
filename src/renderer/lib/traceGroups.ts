// The inspector's trace list, grouped: one heading per kind of stand-alone trace (src/shared/api.ts
// TraceSource), in a fixed order. Pure, so it tests in Node.
import type { StandaloneTraceSource, TraceListItem } from '@shared/api';

/** The headings, in the order shown; a kind with no traces is left out. */
export const TRACE_GROUPS: { source: StandaloneTraceSource; heading: string }[] = [
  { source: 'imported', heading: 'Imported files' },
  { source: 'lab', heading: 'Layer lab' },
  { source: 'compare', heading: 'Compare modes' },
];

/** The list's groups: each heading with its traces, in the order given (newest first). */
export function traceGroups(list: readonly TraceListItem[]): { source: StandaloneTraceSource; heading: string; items: TraceListItem[] }[] {
  return TRACE_GROUPS.map((g) => ({ ...g, items: list.filter((t) => t.source === g.source) })).filter((g) => g.items.length > 0);
}
