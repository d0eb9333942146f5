/**
 * What is read of a buffer: the part @xterm/xterm's and @xterm/headless's IBuffer share. Declared
 * here, not imported, so code without the DOM's types (tests, figures) can use it too.
 */
export interface TextBuffer {
  readonly length: number;
  getLine(y: number): { readonly isWrapped: boolean; translateToString(trimRight?: boolean): string } | undefined;
}

/**
 * A terminal buffer as text, one line per line the host wrote: rows the terminal wrapped because
 * the pane was narrow are joined again (so what a narrow projector pane shows reads the same).
 */
export function bufferText(buffer: TextBuffer): string {
  const lines: string[] = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i);
    if (!line) continue;
    // A row that continues on the next one keeps its trailing blanks: they are text.
    const text = line.translateToString(!(buffer.getLine(i + 1)?.isWrapped ?? false));
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  return lines.join('\n').replace(/\n+$/, '');
}
