// The colour scheme in effect ('light' or 'dark'): the user's choice, or the system's when the
// choice is 'system'. Canvas views redraw when it changes, since they read colours from CSS.
import { useEffect, useState } from 'react';
import { useApp } from '../store';

function systemDark(): boolean {
  return typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches;
}

export function useScheme(): 'light' | 'dark' {
  const theme = useApp((s) => s.theme);
  const [dark, setDark] = useState(systemDark);
  useEffect(() => {
    if (typeof matchMedia === 'undefined') return;
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const on = () => setDark(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return theme === 'system' ? (dark ? 'dark' : 'light') : theme;
}
