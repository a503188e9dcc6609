// A conversation's title: "New chat" until its first message names it.
export const DEFAULT_TITLE = 'New chat';

/** The first line of the first message, cut to 60 characters. */
export function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]!.trim();
  return line.length > 60 ? `${line.slice(0, 57).trimEnd()}…` : line || DEFAULT_TITLE;
}
