// Copies text to the clipboard. The Clipboard API exists only in secure contexts (https, localhost,
// Electron); over plain http (`clasp serve` opened from another machine) it is missing, so a hidden
// textarea and execCommand('copy') do it instead. Resolves to whether the copy worked.
export async function copyText(text: string): Promise<boolean> {
  if (typeof navigator !== 'undefined' && navigator.clipboard && typeof window !== 'undefined' && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* denied: try the fallback */
    }
  }
  return copyWithTextarea(text);
}

function copyWithTextarea(text: string): boolean {
  if (typeof document === 'undefined') return false;
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  ta.style.left = '-9999px';
  document.body.appendChild(ta);
  const focused = document.activeElement as HTMLElement | null;
  ta.select();
  let ok: boolean;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  focused?.focus?.();
  return ok;
}
