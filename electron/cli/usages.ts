/**
 * Usage lines of the commands whose code is loaded only when they run (the app server, figures):
 * `tcplab help` and every other command start without loading a web server, a terminal emulator
 * and a rasterizer.
 */
/** Live (hosts or the local lab), or a recorded run with no hosts (`--replay`, electron/web/replay-command.ts). */
export const WEB_USAGE = 'web (--hosts FILE | --lab local) [--port N] [--known-hosts FILE] [--out DIR] [--experiments DIR] | web --replay DIR [--port N]';
export const FIGURES_USAGE = 'figures <run-dir> [--at TIME] [--from TIME --to TIME] [--out DIR] [--scale 2|3] [--theme light|dark]';
export const REPORT_USAGE = 'report <run-dir> [--out FILE] [--at TIME]';
