import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { address, hostLabel, isIPv4, isIPv6, port, shellQuote, unixUser } from '../../shared/src/safe-values';

/** Runs `printf '%s\0' <words>` in a real shell and returns the words it saw. */
function shellWords(shell: string, commandLineWords: string[]): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${commandLineWords.join(' ')}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

function firstMessage(result: { success: boolean; error?: { issues: Array<{ message: string }> } }): string | undefined {
  return result.success ? undefined : result.error?.issues[0]?.message;
}

const SHELLS = ['/bin/sh', '/bin/dash', '/bin/bash'];

describe('hostLabel', () => {
  it('accepts short names', () => {
    for (const ok of ['H1', 'H2', 'h1', 'lab-host_2', '0', 'a'.repeat(32)]) expect(hostLabel.safeParse(ok).success, ok).toBe(true);
  });
  it('refuses anything else, saying what a label looks like', () => {
    for (const bad of ['', '-H1', '_H1', 'H 1', 'H1;reboot', 'a'.repeat(33), 'H1.lab']) {
      expect(hostLabel.safeParse(bad).success, bad).toBe(false);
    }
    expect(firstMessage(hostLabel.safeParse('H1;reboot'))).toMatch(/letters, digits/);
    expect(firstMessage(hostLabel.safeParse(42))).toBe('must be a short name such as H1');
  });
});

describe('port', () => {
  it('accepts 1..65535', () => {
    for (const ok of [1, 22, 2222, 65535]) expect(port.parse(ok)).toBe(ok);
  });
  it('refuses the rest with one clear message', () => {
    for (const bad of [0, -1, 65536, 22.5, Number.NaN, Infinity, 'ssh', null, true]) {
      expect(firstMessage(port.safeParse(bad)), String(bad)).toBe('must be a number from 1 to 65535');
    }
    expect(firstMessage(port.safeParse('22'))).toBe('must be a number from 1 to 65535 (write it without quotes)');
  });
});

describe('address', () => {
  const good = [
    '192.168.56.11',
    '10.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    'h1',
    'H1',
    'h1.lab.example',
    'xn--bcher-kva.example',
    'a-b.c-d.e',
    '::1',
    '::',
    'fd00::11',
    '2001:db8::8a2e:370:7334',
    '2001:0db8:0000:0000:0000:ff00:0042:8329',
    '::ffff:192.0.2.1',
    'fe80::1%eth0',
    'FE80::ABCD',
  ];
  it('accepts IPv4, IPv6 and host names', () => {
    for (const ok of good) expect(address.safeParse(ok).success, ok).toBe(true);
  });

  it('refuses shell metacharacters, naming the culprit', () => {
    expect(firstMessage(address.safeParse('h1;rm -rf /'))).toMatch(/^contains ";", which is not allowed in an address/);
    expect(firstMessage(address.safeParse('$(reboot)'))).toMatch(/^contains "\$", which is not allowed in an address/);
    expect(firstMessage(address.safeParse('`reboot`'))).toMatch(/^contains "`"/);
    expect(firstMessage(address.safeParse('h1 h2'))).toMatch(/^contains a space/);
    expect(firstMessage(address.safeParse('h1\nreboot'))).toMatch(/^contains a line break/);
    expect(firstMessage(address.safeParse('h1|nc'))).toMatch(/^contains "\|"/);
    expect(firstMessage(address.safeParse('h1&'))).toMatch(/^contains "&"/);
    expect(firstMessage(address.safeParse('h1>x'))).toMatch(/^contains ">"/);
    expect(firstMessage(address.safeParse("h1'"))).toMatch(/^contains "'"/);
    expect(firstMessage(address.safeParse('h*'))).toMatch(/^contains "\*"/);
  });

  it('explains the near misses', () => {
    expect(firstMessage(address.safeParse('-oProxyCommand=reboot'))).toMatch(/^must not start with "-"/);
    expect(firstMessage(address.safeParse('010.0.0.1'))).toMatch(/leading zeros/);
    expect(firstMessage(address.safeParse('10.0.0'))).toMatch(/four numbers/);
    expect(firstMessage(address.safeParse('256.1.1.1'))).toMatch(/not a valid IPv4 address/);
    expect(firstMessage(address.safeParse('[fd00::1]'))).toBe('write the IPv6 address without brackets: fd00::1');
    expect(firstMessage(address.safeParse('h1:2222'))).toMatch(/must not include a port/);
    expect(firstMessage(address.safeParse('fd00::1::2'))).toMatch(/not a valid IPv6/);
    expect(firstMessage(address.safeParse('lab_h1'))).toMatch(/"_" is not allowed/);
    expect(firstMessage(address.safeParse('h1-.lab'))).toMatch(/not a valid host name/);
    expect(firstMessage(address.safeParse(''))).toMatch(/must not be empty/);
    expect(firstMessage(address.safeParse(12))).toMatch(/written as text/);
  });

  it('IPv4 and IPv6 parsing agree with the obvious cases', () => {
    expect(isIPv4('1.2.3.4')).toBe(true);
    expect(isIPv4('1.2.3.4.5')).toBe(false);
    expect(isIPv4('01.2.3.4')).toBe(false);
    expect(isIPv6('1:2:3:4:5:6:7:8')).toBe(true);
    expect(isIPv6('1:2:3:4:5:6:7:8:9')).toBe(false);
    expect(isIPv6('1:2:3:4:5:6:7::')).toBe(true);
    expect(isIPv6('1:2:3:4:5:6:7:8::')).toBe(false);
    expect(isIPv6('1:2:3:4:5:6:1.2.3.4')).toBe(true);
    expect(isIPv6('12345::')).toBe(false);
    expect(isIPv6('fe80::1%-x')).toBe(false);
  });

  it('anything it accepts passes through a real shell unquoted, as one unchanged word', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom(...'abz09.-_:%;$`() |&<>*?[]{}\'"\\!#~=,\n\tAZ/'.split('')), maxLength: 20 }), { maxLength: 30 }), (candidates) => {
        const accepted = candidates.filter((c) => address.safeParse(c).success || unixUser.safeParse(c).success || hostLabel.safeParse(c).success);
        if (accepted.length === 0) return;
        for (const shell of SHELLS) expect(shellWords(shell, accepted)).toEqual(accepted);
      }),
      { numRuns: 40 },
    );
    for (const shell of SHELLS) expect(shellWords(shell, good)).toEqual(good);
  });
});

describe('unixUser', () => {
  it('accepts POSIX portable user names', () => {
    for (const ok of ['lab', 'root', 'a', 'lab.user', 'lab_user', 'lab-user', '_apt', 'Lab2', 'x'.repeat(32)]) {
      expect(unixUser.safeParse(ok).success, ok).toBe(true);
    }
  });
  it('refuses the rest, saying why', () => {
    expect(firstMessage(unixUser.safeParse('$(reboot)'))).toMatch(/^contains "\$", which is not allowed in a user name/);
    expect(firstMessage(unixUser.safeParse('lab;reboot'))).toMatch(/^contains ";"/);
    expect(firstMessage(unixUser.safeParse('lab user'))).toMatch(/^contains a space/);
    expect(firstMessage(unixUser.safeParse('-oProxyCommand'))).toMatch(/^must not start with "-"/);
    expect(firstMessage(unixUser.safeParse('1000'))).toMatch(/not a numeric uid/);
    expect(firstMessage(unixUser.safeParse('x'.repeat(33)))).toMatch(/at most 32/);
    expect(firstMessage(unixUser.safeParse(''))).toMatch(/must not be empty/);
    expect(firstMessage(unixUser.safeParse('lab$'))).toMatch(/"\$"/);
  });
});

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(shellQuote('abc')).toBe('abc');
    expect(shellQuote('/tmp/x-1.log')).toBe('/tmp/x-1.log');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(reboot)')).toBe("'$(reboot)'");
    expect(shellQuote('FOO=bar')).toBe("'FOO=bar'");
    expect(shellQuote('~')).toBe("'~'");
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });

  it('every string comes back unchanged from sh, dash and bash', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }).map((s) => s.replace(/\0/g, '')), { minLength: 1, maxLength: 20 }), (words) => {
        for (const shell of SHELLS) expect(shellWords(shell, words.map(shellQuote))).toEqual(words);
      }),
      { numRuns: 15 },
    );
    const nasty = ["'", "''", "'\\''", '"', '\\', '$HOME', '`id`', '$(id)', '*', '?', '[a]', '{a,b}', '~root', '!!', '#x', 'a\nb', '-n', '%1', ' ', '\t'];
    for (const shell of SHELLS) expect(shellWords(shell, nasty.map(shellQuote))).toEqual(nasty);
    // Dozens of real shells: give a loaded machine time, it proves nothing about speed.
  }, 60_000);

  it('quotes a whole command for sh -c', () => {
    const inner = `printf '%s' "it's $((1+1))"`;
    expect(execFileSync('/bin/sh', ['-c', `sh -c ${shellQuote(inner)}`], { encoding: 'utf8' })).toBe("it's 2");
  });
});
