/**
 * Validators for every value that ends up in a command run on a lab host: host labels, ports,
 * addresses and user names. A value that passes these can be pasted into a shell command line
 * unquoted, because it contains nothing a shell interprets (no spaces, quotes, `;`, `$`, `` ` ``,
 * `|`, `&`, `<`, `>`, globs...) and cannot be mistaken for an option (no leading `-`).
 *
 * `shellQuote` is for the rare value that cannot be restricted that way (a file name, a whole
 * command passed to `sh -c`).
 *
 * The `is...` predicates and `...Problem` explainers are exported for callers that validate
 * outside zod; the zod schemas use them and carry the explanations as their messages.
 */
import { z } from 'zod';

/** Characters a POSIX shell (or bash/zsh) gives a meaning to, for error messages. */
const SHELL_SPECIAL = /[\s;&|<>()$`\\"'*?[\]{}~!#=%^,]/;

function describeChar(c: string): string {
  if (c === ' ') return 'a space';
  if (c === '\t') return 'a tab';
  if (c === '\n' || c === '\r') return 'a line break';
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `a control character (U+${code.toString(16).padStart(4, '0').toUpperCase()})`;
  return `"${c}"`;
}

function firstShellSpecial(s: string): string | undefined {
  const m = SHELL_SPECIAL.exec(s);
  if (m) return m[0];
  for (const c of s) {
    const code = c.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return c;
  }
  return undefined;
}

/**
 * Builds a string schema whose refinement explains the problem; a missing value falls through to
 * the caller's error map (yaml-load says "missing"), any other wrong type gets `typeMessage`.
 */
function explainedString(typeMessage: string, problem: (s: string) => string | undefined) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? undefined : typeMessage) })
    .superRefine((value, ctx) => {
      const why = problem(value);
      if (why !== undefined) ctx.addIssue({ code: 'custom', message: why, input: value });
    });
}

// ---------------------------------------------------------------------------------------------
// Host labels

const HOST_LABEL = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export function hostLabelProblem(s: string): string | undefined {
  if (HOST_LABEL.test(s)) return undefined;
  if (s === '') return 'must not be empty; use a short name such as H1';
  if (s.length > 32) return 'must be at most 32 characters, such as H1';
  return 'must be a short name of letters, digits, "-" and "_" that starts with a letter or digit, such as H1';
}

export const hostLabel = explainedString('must be a short name such as H1', hostLabelProblem);

// ---------------------------------------------------------------------------------------------
// Ports

export const PORT_MESSAGE = 'must be a number from 1 to 65535';

function portError(issue: { input?: unknown }): string | undefined {
  if (issue.input === undefined) return undefined;
  if (typeof issue.input === 'string' && /^\d+$/.test(issue.input.trim())) {
    return `${PORT_MESSAGE} (write it without quotes)`;
  }
  return PORT_MESSAGE;
}

export const port = z.number({ error: portError }).int({ error: portError }).min(1, { error: portError }).max(65535, { error: portError });

export function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** Dotted-quad IPv4 without leading zeros (`010.0.0.1` means 8.0.0.1 to inet_aton: refused). */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/** IPv6 in any RFC 4291 text form (`::`, embedded IPv4), with an optional zone (`%eth0`). */
export function isIPv6(s: string): boolean {
  let text = s;
  const percent = text.indexOf('%');
  if (percent !== -1) {
    const zone = text.slice(percent + 1);
    if (!/^[A-Za-z0-9_.-]{1,32}$/.test(zone) || zone.startsWith('-')) return false;
    text = text.slice(0, percent);
  }
  if (text.length === 0 || !/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  let groups = 0;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    // Embedded IPv4 in the last 32 bits (::ffff:192.0.2.1).
    if (!isIPv4(text.slice(lastColon + 1))) return false;
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parseHalf = (half: string): boolean => {
    if (half === '') return true;
    const parts = half.split(':');
    for (const p of parts) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return false;
      groups += 1;
    }
    return true;
  };
  if (!halves.every(parseHalf)) return false;
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

/** A DNS host name (RFC 1123 labels), not all-numeric at the end (that would be an IPv4 typo). */
export function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  if (!labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

export function addressProblem(s: string): string | undefined {
  if (isIPv4(s) || isIPv6(s) || isHostname(s)) return undefined;
  if (s.trim() === '') return 'must not be empty; give an IPv4 address, an IPv6 address or a host name';
  if (s.startsWith('-')) return 'must not start with "-" (it would be read as an option); give an IPv4 address, an IPv6 address or a host name';
  // Brackets and "%" get their own advice below (IPv6 written as [addr], or with a bad zone).
  const special = firstShellSpecial(s.replace(/[[\]%]/g, ''));
  if (special !== undefined) {
    return `contains ${describeChar(special)}, which is not allowed in an address; give an IPv4 address (192.168.56.11), an IPv6 address (fd00::11) or a host name (h1.lab.example)`;
  }
  if (/^\[.*\]$/.test(s)) return `write the IPv6 address without brackets: ${s.slice(1, -1)}`;
  if (/^[\d.]+$/.test(s)) {
    if (s.split('.').some((p) => /^0\d/.test(p))) return 'is not a valid IPv4 address: write the numbers without leading zeros';
    return 'is not a valid IPv4 address: it needs four numbers from 0 to 255, such as 192.168.56.11';
  }
  if (s.includes(':')) {
    if (/^[^:]+:\d+$/.test(s)) return 'must not include a port; put the port in "port:"';
    return 'is not a valid IPv6 address';
  }
  if (s.includes('_')) return 'is not a valid host name: "_" is not allowed in host names (use "-")';
  if (s.length > 253) return 'is not a valid host name: longer than 253 characters';
  return 'is not a valid host name: use letters, digits and "-" between dots, each part starting and ending with a letter or digit';
}

export const address = explainedString(
  'must be an IPv4 address, an IPv6 address or a host name, written as text',
  addressProblem,
);

// ---------------------------------------------------------------------------------------------
// Unix user names

/**
 * POSIX portable user name: letters, digits, ".", "_" and "-", not starting with "-"
 * (POSIX.1-2017 3.437); at most 32 characters (Linux's limit). An all-digit name is refused too,
 * because tools such as chown and sudo -u take it as a numeric uid.
 */
export function unixUserProblem(s: string): string | undefined {
  if (/^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/.test(s) && !/^\d+$/.test(s) && s !== '.' && s !== '..') return undefined;
  if (s === '') return 'must not be empty; give the login name on the host, such as lab or root';
  if (s.startsWith('-')) return 'must not start with "-" (it would be read as an option); give the login name on the host, such as lab or root';
  if (s.length > 32) return 'must be at most 32 characters';
  if (/^\d+$/.test(s)) return 'must be a user name, not a numeric uid';
  const bad = [...s].find((c) => !/[A-Za-z0-9._-]/.test(c));
  if (bad !== undefined) {
    return `contains ${describeChar(bad)}, which is not allowed in a user name; use letters, digits, ".", "_" and "-" only`;
  }
  return 'is not a valid user name';
}

export const unixUser = explainedString('must be a user name such as lab or root, written as text', unixUserProblem);

// ---------------------------------------------------------------------------------------------
// Quoting

/** Words a shell passes through unchanged in any argument position. */
const SHELL_SAFE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

/**
 * POSIX shell quoting: the result is read back by sh, bash, dash or zsh as exactly `s`, one word.
 * Safe words (letters, digits, `_@%+:,./-`) are returned as they are, for readable commands;
 * everything else is wrapped in single quotes, with each `'` written as `'\''`.
 * A NUL character cannot be passed in a command line at all, so it throws.
 */
export function shellQuote(s: string): string {
  if (s.includes('\0')) throw new Error('shellQuote: a NUL character cannot be passed to a shell');
  if (SHELL_SAFE_WORD.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
