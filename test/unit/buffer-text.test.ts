/** Pane text for tests and copy-out: rows wrapped by a narrow pane read as the line the host wrote. */
import { Terminal } from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { bufferText } from '../../renderer/src/terminals/buffer-text';

function written(cols: number, data: string): Promise<string> {
  const term = new Terminal({ cols, rows: 5, allowProposedApi: true });
  return new Promise((resolve) => term.write(data, () => resolve(bufferText(term.buffer.active))));
}

describe('bufferText', () => {
  it('joins rows the terminal wrapped, keeping blanks inside the line', async () => {
    const line = '*** Not pasted: 70,017 characters is more than a pane takes at once ***';
    expect(await written(20, `${line}\r\nnext`)).toBe(`${line}\nnext`);
    expect(await written(10, `0123456789     x\r\n`)).toBe('0123456789     x');
  });

  it('keeps lines the host ended itself apart, and drops the empty rows after the last one', async () => {
    expect(await written(40, 'a\r\n\r\nb\r\n\r\n')).toBe('a\n\nb');
  });
});
