/**
 * Netcat is four programs (DESIGN.md): which one a host has, from its help text. Shared by the
 * runner (which maps `nc:` intents to the flavor) and the preflight (which reports it).
 */
export type NetcatFlavor = 'openbsd' | 'ncat' | 'traditional' | 'busybox';

/** The flavor a netcat's `-h` (or `--version`) text names, or undefined for none we know. */
export function classifyNetcat(helpText: string): NetcatFlavor | undefined {
  if (/OpenBSD netcat/i.test(helpText)) return 'openbsd';
  if (/\bNcat\b/.test(helpText)) return 'ncat';
  if (/BusyBox/.test(helpText)) return 'busybox';
  if (/\[v1\.1\d/.test(helpText) || /connect to somewhere:/.test(helpText)) return 'traditional';
  return undefined;
}

/** A shell snippet printing `@@<command>` and the first lines of its help for each netcat installed. */
export const NETCAT_PROBE = 'for c in nc ncat netcat; do command -v $c >/dev/null 2>&1 && { echo "@@$c"; { $c -h; $c --version; } 2>&1 </dev/null | head -8; }; done; true';

/** The first netcat in NETCAT_PROBE's output whose flavor is known, or null. */
export function parseNetcatProbe(stdout: string): { command: string; flavor: NetcatFlavor } | null {
  for (const section of stdout.split('@@').slice(1)) {
    const [command = '', ...text] = section.split('\n');
    const flavor = classifyNetcat(text.join('\n'));
    if (flavor && /^(nc|ncat|netcat)$/.test(command)) return { command, flavor };
  }
  return null;
}
