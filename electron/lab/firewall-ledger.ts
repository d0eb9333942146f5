/**
 * Firewall rules are borrowed, never owned (DESIGN.md). Every rule the engine adds carries the
 * comment `tcplab:<session>`; the engine removes exactly those rules, and at connect removes the
 * rules of sessions that are no longer alive (a crashed or killed run). Rules of anyone else are
 * never touched. The host's own iptables is the ledger: it survives a crash of this machine.
 */
import type { FirewallRule } from '../../shared/src/experiment-schema';
import type { SshHost } from './ssh-host';

export const RULE_COMMENT_PREFIX = 'tcplab:';

/** Tokens we pass back to iptables from `iptables -S`; anything else is left alone. */
const SAFE_TOKEN = /^[A-Za-z0-9_.:,/!-]+$/;

export class RuleRefused extends Error {}

/** The iptables arguments (after -A/-D) for an experiment rule. */
export function ruleArguments(rule: FirewallRule, experimentPort: number, sessionId: string, sshPort: number): string[] {
  const port = (p: number | '{port}' | undefined): number | undefined => (p === '{port}' ? experimentPort : p);
  const dport = port(rule.dport);
  const sport = port(rule.sport);
  if (dport === undefined && sport === undefined) {
    throw new RuleRefused('a firewall rule must match a port, or it could cut the SSH connection the lab runs over');
  }
  if (dport === sshPort || sport === sshPort) {
    throw new RuleRefused(`refused: the rule matches port ${sshPort}, which carries this host's SSH connection; use another experiment port`);
  }
  const args = [rule.chain, '-p', 'tcp'];
  if (dport !== undefined) args.push('--dport', String(dport));
  if (sport !== undefined) args.push('--sport', String(sport));
  if (rule.tcpFlags) {
    const mask = rule.tcpFlags.mask ?? rule.tcpFlags.set;
    args.push('--tcp-flags', mask.join(','), rule.tcpFlags.set.join(','));
  }
  args.push('-m', 'comment', '--comment', `${RULE_COMMENT_PREFIX}${sessionId}`, '-j', rule.action);
  return args;
}

/** The command a person would type: `iptables -w -A OUTPUT ...`, with sudo when not root. */
export function iptablesCommand(host: SshHost, action: '-A' | '-D', args: string[]): string {
  const base = `iptables -w ${action} ${args.join(' ')}`;
  return host.host.sudo === 'none' ? base : `sudo ${base}`;
}

interface OwnedRule {
  sessionId: string;
  /** The rule as `iptables -S` prints it, minus the leading `-A`. */
  args: string[];
}

export async function listOwnedRules(host: SshHost): Promise<OwnedRule[]> {
  const listing = await host.run('iptables -w -S', { root: true });
  const rules: OwnedRule[] = [];
  for (const line of listing.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    if (tokens[0] !== '-A') continue;
    const commentAt = tokens.indexOf('--comment');
    const comment = commentAt >= 0 ? tokens[commentAt + 1]?.replace(/^"|"$/g, '') : undefined;
    if (!comment?.startsWith(RULE_COMMENT_PREFIX)) continue;
    const args = tokens.slice(1).map((t) => t.replace(/^"|"$/g, ''));
    if (!args.every((t) => SAFE_TOKEN.test(t))) continue;
    rules.push({ sessionId: comment.slice(RULE_COMMENT_PREFIX.length), args });
  }
  return rules;
}

/** Removes this host's rules of the sessions `shouldRemove` picks; returns the commands run. */
export async function removeRules(host: SshHost, shouldRemove: (sessionId: string) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const rule of await listOwnedRules(host)) {
    if (!shouldRemove(rule.sessionId)) continue;
    const command = `iptables -w -D ${rule.args.join(' ')}`;
    await host.run(command, { root: true });
    removed.push(command);
  }
  return removed;
}

/** Whether a rule of this session is in place (after a step typed it into a pane). */
export async function hasRule(host: SshHost, sessionId: string): Promise<boolean> {
  return (await listOwnedRules(host)).some((r) => r.sessionId === sessionId);
}
