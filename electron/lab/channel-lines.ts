/** Line framing for the engine's exec channels, whose programs all speak one line per message. */

interface DataSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
}

/** Calls onLine for each complete line; UTF-8 is decoded across chunk boundaries. */
export function onLines(source: DataSource, onLine: (line: string) => void): void {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  source.on('data', (chunk: Buffer) => {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      onLine(line);
    }
  });
}
