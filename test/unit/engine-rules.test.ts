import { describe, expect, it } from 'vitest';
import { ruleArguments, RuleRefused } from '../../electron/lab/firewall-ledger';
import { parseIpAddresses } from '../../electron/lab/lab-session';
import { backoffMs } from '../../electron/lab/ssh-host';
import { judge } from '../../electron/lab/experiment-runner';
import type { ConnectionHistory } from '../../shared/src/reconcile';

describe('firewall rules are built from intent and never cut SSH', () => {
  it('renders the article\'s FIN-drop rule with the session tag', () => {
    expect(ruleArguments({ chain: 'OUTPUT', protocol: 'tcp', dport: '{port}', tcpFlags: { set: ['FIN'] }, action: 'DROP' }, 7777, 'ab12cd34', 22)).toEqual(
      ['OUTPUT', '-p', 'tcp', '--dport', '7777', '--tcp-flags', 'FIN', 'FIN', '-m', 'comment', '--comment', 'tcplab:ab12cd34', '-j', 'DROP'],
    );
  });

  it('refuses a rule on the SSH port, whichever way it matches', () => {
    expect(() => ruleArguments({ chain: 'INPUT', protocol: 'tcp', dport: 22, action: 'DROP' }, 7777, 's', 22)).toThrow(RuleRefused);
    expect(() => ruleArguments({ chain: 'OUTPUT', protocol: 'tcp', sport: '{port}', action: 'REJECT' }, 2222, 's', 2222)).toThrow(/carries this host's SSH connection/);
  });

  it('refuses a rule that matches no port', () => {
    expect(() => ruleArguments({ chain: 'OUTPUT', protocol: 'tcp', action: 'DROP' }, 7777, 's', 22)).toThrow(/must match a port/);
  });

  it('uses the mask when given', () => {
    const args = ruleArguments({ chain: 'INPUT', protocol: 'tcp', sport: 80, tcpFlags: { set: ['SYN', 'ACK'], mask: ['SYN', 'ACK', 'FIN'] }, action: 'DROP' }, 7777, 's', 22);
    expect(args.join(' ')).toContain('--sport 80 --tcp-flags SYN,ACK,FIN SYN,ACK');
  });
});

describe('reconnect backoff', () => {
  it('doubles from one second and stops at thirty', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffMs(n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('own addresses', () => {
  it('reads `ip -o addr show`', () => {
    const output = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '1: lo    inet6 ::1/128 scope host noprefixroute \\       valid_lft forever preferred_lft forever',
      '2: mgmt0    inet 198.18.78.2/30 scope global mgmt0\\       valid_lft forever preferred_lft forever',
      '3: lab0    inet6 fe80::c485:63ff:fed7:f410/64 scope link \\       valid_lft forever preferred_lft forever',
    ].join('\n');
    expect(parseIpAddresses(output)).toEqual(['127.0.0.1', '::1', '198.18.78.2', 'fe80::c485:63ff:fed7:f410']);
  });
});

describe('verdicts', () => {
  const history = (states: ConnectionHistory['states'][number]['state'][]): ConnectionHistory => ({
    local: '10.0.0.1:40000',
    remote: '10.0.0.2:7777',
    states: states.map((state, i) => ({ state, hostTimeUs: i, seen: 'trace' as const })),
  });

  it('passes when some connection passes the states in order and ends where promised', () => {
    expect(judge([history(['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1'])], ['ESTABLISHED', 'FIN_WAIT1'], 'FIN_WAIT1')).toBeUndefined();
  });

  it('says what was expected and what was observed otherwise', () => {
    const why = judge([history(['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2'])], ['ESTABLISHED', 'FIN_WAIT1'], 'FIN_WAIT1');
    expect(why).toBe('expected ESTABLISHED -> FIN_WAIT1 ending in FIN_WAIT1; observed 10.0.0.1:40000 -> 10.0.0.2:7777: SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2');
    expect(judge([], ['ESTABLISHED'])).toMatch(/no connection on the port/);
  });
});
