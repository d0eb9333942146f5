/**
 * Keystroke echo latency as a person at the keyboard sees it, measured inside the page: from the
 * keydown of a token's last character to the first animation frame at which the pane's xterm
 * holds the host's echo of the whole token. The test driver's own round trips (Playwright over
 * CDP, a few hundred milliseconds on a loaded machine) are not part of it.
 */
import type { Page } from 'playwright-core';

export async function timedEcho(page: Page, host: 'H1' | 'H2', pane: 'upper' | 'lower', token: string, timeoutMs = 30_000): Promise<number> {
  // A string, run in the page: this project's TypeScript has no DOM types.
  const args = JSON.stringify({ host, pane, token, timeoutMs });
  await page.evaluate(`(() => {
    const { host, pane, token, timeoutMs } = ${args};
    window.__echo = new Promise((resolve, reject) => {
      let t0 = 0;
      const deadline = setTimeout(() => reject(new Error('no echo of ' + token + ' in ' + host + ' ' + pane + ' within ' + timeoutMs + ' ms')), timeoutMs);
      const check = () => {
        if (window.tcplab.paneText(host, pane).includes(token)) {
          clearTimeout(deadline);
          resolve(performance.now() - t0);
        } else requestAnimationFrame(check);
      };
      const onKey = (e) => {
        if (e.key !== token.at(-1)) return;
        document.removeEventListener('keydown', onKey, true);
        t0 = performance.now();
        requestAnimationFrame(check);
      };
      document.addEventListener('keydown', onKey, true);
    });
  })()`);
  await page.keyboard.type(token);
  return page.evaluate<number>('window.__echo');
}
