/**
 * Lines kept above the screen per pane (a 100 MB flood keeps only its tail). Its own module so
 * tests outside the page can read it without xterm's DOM types.
 */
export const SCROLLBACK_LINES = 10_000;
