// A term with its definition on hover and on keyboard focus (title alone is invisible to keyboards
// and slow to appear, so the definition is also drawn as a small popover).
import type { ReactNode } from 'react';

export function Hint({ children, text, testId }: { children: ReactNode; text: string; testId?: string }) {
  return (
    <span className="hint" tabIndex={0} title={text} data-testid={testId}>
      {children}
      <span className="hint-pop" role="tooltip">
        {text}
      </span>
    </span>
  );
}
