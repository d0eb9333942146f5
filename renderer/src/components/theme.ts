/** Light and dark: the user's last choice, else the system's; applied as a class on <html>. */
import { useCallback, useState } from 'react';

const KEY = 'tcplab-theme';

export function initialDark(): boolean {
  const saved = localStorage.getItem(KEY);
  const dark = saved ? saved === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.classList.toggle('dark', dark);
  return dark;
}

export function useTheme(onChange: (dark: boolean) => void): [boolean, () => void] {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains('dark'));
  const toggle = useCallback(() => {
    const next = !document.documentElement.classList.contains('dark');
    document.documentElement.classList.toggle('dark', next);
    localStorage.setItem(KEY, next ? 'dark' : 'light');
    setDark(next);
    onChange(next);
  }, [onChange]);
  return [dark, toggle];
}
