/**
 * The pcap parser against real tcpdump captures (test/fixtures/pcap, captured by
 * capture-pcap-fixtures.sh there), compared packet by packet with tcpdump's own reading of the
 * same file; the same files byte-swapped (a big-endian writer); any chunking of the stream; and
 * fuzzing: random and damaged input never throws.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecord, ipv6, LINKTYPE, parsePcap, PcapStreamParser, tcpdumpFlags, type TcpFlag, type TcpPacket } from '../../shared/src/pcap';

const DIR = new URL('../fixtures/pcap/', import.meta.url);
const fixtures = readdirSync(DIR)
  .filter((name) => name.endsWith('.pcap'))
  .map((name) => name.slice(0, -5))
  .sort();

function bytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`${name}.pcap`, DIR)));
}

interface TcpdumpLine {
  timeUs: number;
  direction?: 'in' | 'out';
  src: string;
  dst: string;
  flags: string;
  seq?: number;
  ack?: number;
  length: number;
}

/** `1795482513.334562 ?     Out IP 198.18.98.1.39090 > 198.18.98.2.7798: Flags [S], seq 2743360041, ..., length 0` */
function parseTcpdumpText(text: string): TcpdumpLine[] {
  const lines: TcpdumpLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)\.(\d{6}) (?:\S+\s+(In|Out)\s+)?IP6? (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\](?:, seq (\d+)(?::\d+)?)?(?:, ack (\d+))?.*, length (\d+)/.exec(line);
    if (!m) continue;
    lines.push({
      timeUs: Number(m[1]) * 1_000_000 + Number(m[2]),
      ...(m[3] ? { direction: m[3] === 'Out' ? ('out' as const) : ('in' as const) } : {}),
      src: `${m[4]}:${m[5]}`,
      dst: `${m[6]}:${m[7]}`,
      flags: m[8]!,
      ...(m[9] ? { seq: Number(m[9]) } : {}),
      ...(m[10] ? { ack: Number(m[10]) } : {}),
      length: Number(m[11]),
    });
  }
  return lines;
}

/** `withDirection`: tcpdump prints In/Out for LINUX_SLL2 captures (for LINUX_SLL only with -e). */
function asTcpdumpWould(p: TcpPacket, withDirection: boolean): TcpdumpLine {
  // tcpdump prints seq for data, SYN, FIN and RST only, and ack only with the ACK flag.
  const showSeq = p.length > 0 || p.flags.some((f) => f === 'SYN' || f === 'FIN' || f === 'RST');
  return {
    timeUs: p.timeUs,
    ...(p.direction && withDirection ? { direction: p.direction } : {}),
    src: `${p.srcAddress}:${p.srcPort}`,
    dst: `${p.dstAddress}:${p.dstPort}`,
    flags: tcpdumpFlags(p.flags),
    ...(showSeq ? { seq: p.seq } : {}),
    ...(p.flags.includes('ACK') ? { ack: p.ack } : {}),
    length: p.length,
  };
}

/** The same capture as a big-endian machine would have written it (header fields and NFLOG TLVs swapped). */
function byteSwapped(file: Uint8Array): Uint8Array {
  const out = file.slice();
  const dv = new DataView(out.buffer);
  const swap32 = (at: number): void => dv.setUint32(at, dv.getUint32(at, true), false);
  const swap16 = (at: number): void => dv.setUint16(at, dv.getUint16(at, true), false);
  swap32(0);
  swap16(4);
  swap16(6);
  for (const at of [8, 12, 16, 20]) swap32(at);
  const linkType = dv.getUint32(20, false);
  let at = 24;
  while (at + 16 <= out.length) {
    const incl = dv.getUint32(at + 8, true);
    for (const field of [0, 4, 8, 12]) swap32(at + field);
    if (linkType === LINKTYPE.NFLOG) {
      let tlv = at + 16 + 4;
      const end = at + 16 + incl;
      while (tlv + 4 <= end) {
        const length = dv.getUint16(tlv, true);
        swap16(tlv);
        swap16(tlv + 2);
        if (length < 4) break;
        tlv += (length + 3) & ~3;
      }
    }
    at += 16 + incl;
  }
  return out;
}

describe('pcap fixtures captured with tcpdump', () => {
  it('has the captures the capture script makes', () => {
    expect(fixtures).toEqual(['any-sll', 'any-sll2', 'ipv6-any', 'nflog', 'nflog-any', 'veth-ns']);
  });

  for (const name of fixtures) {
    it(`${name}: every packet as tcpdump itself reads it`, () => {
      const parsed = parsePcap(bytes(name));
      expect(parsed.error).toBeUndefined();
      expect(parsed.skipped).toBe(0);
      const expected = parseTcpdumpText(readFileSync(new URL(`${name}.txt`, DIR), 'utf8'));
      expect(expected.length).toBeGreaterThan(0);
      const sll2 = parsed.header?.linkType === LINKTYPE.LINUX_SLL2;
      expect(parsed.packets.map((p) => asTcpdumpWould(p, sll2))).toEqual(expected);
    });

    it(`${name}: the same packets from a big-endian writer`, () => {
      const le = parsePcap(bytes(name));
      const be = parsePcap(byteSwapped(bytes(name)));
      expect(be.header?.littleEndian).toBe(false);
      expect(be.error).toBeUndefined();
      expect(be.packets).toEqual(le.packets);
    });
  }

  it('reads the link types and precisions tcpdump wrote', () => {
    const kinds = Object.fromEntries(fixtures.map((name) => [name, parsePcap(bytes(name)).header]));
    expect(kinds['any-sll2']).toMatchObject({ linkType: LINKTYPE.LINUX_SLL2, precision: 'us', littleEndian: true, versionMajor: 2, versionMinor: 4 });
    expect(kinds['any-sll']).toMatchObject({ linkType: LINKTYPE.LINUX_SLL, precision: 'us' });
    expect(kinds['veth-ns']).toMatchObject({ linkType: LINKTYPE.EN10MB, precision: 'ns' });
    expect(kinds['nflog']).toMatchObject({ linkType: LINKTYPE.NFLOG });
  });

  it('the unfiltered Ethernet capture counts ARP as not TCP', () => {
    const parser = new PcapStreamParser();
    const packets = parser.push(bytes('veth-ns'));
    expect(parser.notTcp).toBeGreaterThan(0);
    expect(packets.length + parser.notTcp).toBe(parser.records);
  });

  it('nflog: the dropped FIN and its retransmissions, with the rule prefix, group and OUTPUT hook', () => {
    const { packets } = parsePcap(bytes('nflog'));
    expect(packets.length).toBeGreaterThanOrEqual(2);
    for (const p of packets) {
      expect(p.nflog).toEqual({ prefix: 'tcplab-fixture', hook: 'OUTPUT', group: 42 });
      expect(p.direction).toBe('out');
      expect(p.flags).toContain('FIN');
      expect(p.dstPort).toBe(7798);
    }
    // Every copy is the same segment (same seq): retransmissions of the one FIN.
    expect(new Set(packets.map((p) => p.seq)).size).toBe(1);
    // Stamped as they were dropped, not when a batch reached tcpdump (--nflog-threshold 1): the
    // retransmission timer backs off (about 200 ms, then 400 ms, ...).
    const gaps = packets.slice(1).map((p, i) => p.timeUs - packets[i]!.timeUs);
    expect(gaps[0]).toBeGreaterThan(100_000);
  });

  it('cooked captures know the direction: the client sent SYN (out) and got SYN-ACK (in)', () => {
    for (const name of ['any-sll', 'any-sll2', 'ipv6-any']) {
      const [syn, synAck] = parsePcap(bytes(name)).packets;
      expect(syn).toMatchObject({ flags: ['SYN'], direction: 'out' });
      expect(synAck).toMatchObject({ flags: ['SYN', 'ACK'], direction: 'in', ack: (syn!.seq + 1) >>> 0 });
    }
    expect(parsePcap(bytes('ipv6-any')).packets[0]).toMatchObject({ family: 6, srcAddress: 'fd00:98::1' });
  });

  it('payload lengths come from the IP header: "hello\\n" is 6 bytes', () => {
    const data = parsePcap(bytes('any-sll2')).packets.filter((p) => p.length > 0);
    expect(data.map((p) => p.length)).toEqual([6, 6]);
    expect(data.every((p) => p.flags.includes('PSH'))).toBe(true);
  });
});

describe('streaming', () => {
  const all = fixtures.map((name) => bytes(name));

  it('any chunking of a stream gives the same packets as the whole file', () => {
    fc.assert(
      fc.property(fc.constantFrom(...all.keys()), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 60 }), (which, sizes) => {
        const file = all[which]!;
        const parser = new PcapStreamParser();
        const out: TcpPacket[] = [];
        let at = 0;
        for (let i = 0; at < file.length; i++) {
          const size = sizes[i % sizes.length]!;
          out.push(...parser.push(file.subarray(at, at + size)));
          at += size;
        }
        expect(out).toEqual(parsePcap(file).packets);
        expect(parser.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('a record is held back until its last byte arrives', () => {
    const file = bytes('any-sll2');
    const parser = new PcapStreamParser();
    expect(parser.push(file.subarray(0, 24 + 16 + 10))).toEqual([]);
    expect(parser.header?.linkType).toBe(LINKTYPE.LINUX_SLL2);
    expect(parser.pending).toBe(26);
    expect(parser.push(file.subarray(50)).length).toBe(parsePcap(file).packets.length);
  });

  it('refuses what is not pcap, with the reason', () => {
    const parser = new PcapStreamParser();
    expect(parser.push(new TextEncoder().encode('tcpdump: nflog:42: No such device exists\n'))).toEqual([]);
    expect(parser.error).toMatch(/not a pcap stream/);
    expect(parser.push(bytes('any-sll2'))).toEqual([]);
    expect(parsePcap(new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a, ...new Array<number>(20).fill(0)])).error).toMatch(/pcapng/);
    expect(parsePcap(new Uint8Array(3)).error).toMatch(/shorter than a pcap header/);
  });

  it('stops at a record length no capture could have written instead of buffering forever', () => {
    const file = bytes('any-sll2').slice();
    new DataView(file.buffer).setUint32(24 + 8, 0x7fffffff, true);
    const parser = new PcapStreamParser();
    expect(parser.push(file)).toEqual([]);
    expect(parser.error).toMatch(/damaged/);
  });

  it('a file cut inside a record says so', () => {
    const file = bytes('any-sll2');
    const cut = parsePcap(file.subarray(0, file.length - 5));
    expect(cut.error).toMatch(/ends inside a record/);
    expect(cut.packets.length).toBe(parsePcap(file).packets.length - 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Synthetic records: what the parser reads back is what was written, for every link type.

interface Spec {
  family: 4 | 6;
  src: number[];
  dst: number[];
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flagBits: number;
  window: number;
  payload: number;
  tcpOptions: number;
  out: boolean;
}

function ipPacket(s: Spec): Uint8Array {
  const tcpHeader = 20 + 4 * s.tcpOptions;
  const tcp = new Uint8Array(tcpHeader + s.payload);
  const t = new DataView(tcp.buffer);
  t.setUint16(0, s.srcPort);
  t.setUint16(2, s.dstPort);
  t.setUint32(4, s.seq);
  t.setUint32(8, s.ack);
  tcp[12] = (tcpHeader / 4) << 4;
  tcp[13] = s.flagBits;
  t.setUint16(14, s.window);
  if (s.family === 4) {
    const ip = new Uint8Array(20 + tcp.length);
    const d = new DataView(ip.buffer);
    ip[0] = 0x45;
    d.setUint16(2, ip.length);
    ip[8] = 64;
    ip[9] = 6;
    ip.set(s.src, 12);
    ip.set(s.dst, 16);
    ip.set(tcp, 20);
    return ip;
  }
  const ip = new Uint8Array(40 + tcp.length);
  const d = new DataView(ip.buffer);
  ip[0] = 0x60;
  d.setUint16(4, tcp.length);
  ip[6] = 6;
  ip[7] = 64;
  ip.set(s.src, 8);
  ip.set(s.dst, 24);
  ip.set(tcp, 40);
  return ip;
}

function frame(linkType: number, s: Spec, littleEndian: boolean): Uint8Array {
  const ip = ipPacket(s);
  const etherType = s.family === 4 ? 0x0800 : 0x86dd;
  switch (linkType) {
    case LINKTYPE.EN10MB: {
      const f = new Uint8Array(14 + ip.length);
      new DataView(f.buffer).setUint16(12, etherType);
      f.set(ip, 14);
      return f;
    }
    case LINKTYPE.LINUX_SLL: {
      const f = new Uint8Array(16 + ip.length);
      const d = new DataView(f.buffer);
      d.setUint16(0, s.out ? 4 : 0);
      d.setUint16(14, etherType);
      f.set(ip, 16);
      return f;
    }
    case LINKTYPE.LINUX_SLL2: {
      const f = new Uint8Array(20 + ip.length);
      new DataView(f.buffer).setUint16(0, etherType);
      f[10] = s.out ? 4 : 0;
      f.set(ip, 20);
      return f;
    }
    case LINKTYPE.NFLOG: {
      const prefix = [...'tcplab:x'].map((c) => c.charCodeAt(0)).concat(0);
      const tlvs = [
        [1, [0x08, 0x00, s.out ? 3 : 1, 0]],
        [10, prefix],
        [9, [...ip]],
      ] as const;
      const parts: number[] = [s.family === 4 ? 2 : 10, 0, 0, 7];
      for (const [type, value] of tlvs) {
        const header = new Uint8Array(4);
        new DataView(header.buffer).setUint16(0, 4 + value.length, littleEndian);
        new DataView(header.buffer).setUint16(2, type, littleEndian);
        parts.push(...header, ...value);
        while (parts.length % 4) parts.push(0);
      }
      return new Uint8Array(parts);
    }
    default:
      return ip;
  }
}

function pcapFile(linkType: number, littleEndian: boolean, precision: 'us' | 'ns', records: Array<{ s: Spec; sec: number; frac: number }>): Uint8Array {
  const frames = records.map((r) => frame(linkType, r.s, littleEndian));
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const d = new DataView(out.buffer);
  d.setUint32(0, precision === 'us' ? 0xa1b2c3d4 : 0xa1b23c4d, littleEndian);
  d.setUint16(4, 2, littleEndian);
  d.setUint16(6, 4, littleEndian);
  d.setUint32(16, 262144, littleEndian);
  d.setUint32(20, linkType, littleEndian);
  let at = 24;
  frames.forEach((f, i) => {
    d.setUint32(at, records[i]!.sec, littleEndian);
    d.setUint32(at + 4, records[i]!.frac, littleEndian);
    d.setUint32(at + 8, f.length, littleEndian);
    d.setUint32(at + 12, f.length, littleEndian);
    out.set(f, at + 16);
    at += 16 + f.length;
  });
  return out;
}

const spec: fc.Arbitrary<Spec> = fc.boolean().chain((v6) =>
  fc.record({
    family: fc.constant(v6 ? (6 as const) : (4 as const)),
    src: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: v6 ? 16 : 4, maxLength: v6 ? 16 : 4 }),
    dst: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: v6 ? 16 : 4, maxLength: v6 ? 16 : 4 }),
    srcPort: fc.integer({ min: 0, max: 65535 }),
    dstPort: fc.integer({ min: 0, max: 65535 }),
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    ack: fc.integer({ min: 0, max: 0xffffffff }),
    flagBits: fc.integer({ min: 0, max: 255 }),
    window: fc.integer({ min: 0, max: 65535 }),
    payload: fc.integer({ min: 0, max: 300 }),
    tcpOptions: fc.integer({ min: 0, max: 10 }),
    out: fc.boolean(),
  }),
);

const FLAG_ORDER: TcpFlag[] = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

describe('synthetic captures of every link type, byte order and precision', () => {
  it('read back exactly what was written', () => {
    const linkTypes = [LINKTYPE.EN10MB, LINKTYPE.RAW, LINKTYPE.LINUX_SLL, LINKTYPE.LINUX_SLL2, LINKTYPE.NFLOG];
    fc.assert(
      fc.property(
        fc.constantFrom(...linkTypes),
        fc.boolean(),
        fc.constantFrom('us' as const, 'ns' as const),
        fc.array(fc.record({ s: spec, sec: fc.integer({ min: 0, max: 0xffffffff }), frac: fc.integer({ min: 0, max: 999_999_999 }) }), { maxLength: 8 }),
        (linkType, littleEndian, precision, records) => {
          const recs = records.map((r) => ({ ...r, frac: precision === 'us' ? r.frac % 1_000_000 : r.frac }));
          const parsed = parsePcap(pcapFile(linkType, littleEndian, precision, recs));
          expect(parsed.error).toBeUndefined();
          expect(parsed.packets).toHaveLength(recs.length);
          parsed.packets.forEach((p, i) => {
            const { s, sec, frac } = recs[i]!;
            expect(p.timeUs).toBe(sec * 1e6 + (precision === 'us' ? frac : Math.floor(frac / 1000)));
            expect([p.srcPort, p.dstPort, p.seq, p.ack, p.window, p.length]).toEqual([s.srcPort, s.dstPort, s.seq, s.ack, s.window, s.payload]);
            expect(p.flags).toEqual(FLAG_ORDER.filter((_, bit) => (s.flagBits & (1 << bit)) !== 0));
            expect(p.family).toBe(s.family);
            if (s.family === 4) expect(p.srcAddress).toBe(s.src.join('.'));
            const cooked = linkType === LINKTYPE.LINUX_SLL || linkType === LINKTYPE.LINUX_SLL2 || linkType === LINKTYPE.NFLOG;
            expect(p.direction).toBe(cooked ? (s.out ? 'out' : 'in') : undefined);
            if (linkType === LINKTYPE.NFLOG) expect(p.nflog).toEqual({ prefix: 'tcplab:x', hook: s.out ? 'OUTPUT' : 'INPUT', group: 7 });
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('IPv6 text is RFC 5952 (and parses back to the same bytes)', () => {
    const v6 = (hex: string): Uint8Array => new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
    expect(ipv6(v6('fd000098000000000000000000000001'), 0)).toBe('fd00:98::1');
    expect(ipv6(v6('00000000000000000000000000000000'), 0)).toBe('::');
    expect(ipv6(v6('00000000000000000000000000000001'), 0)).toBe('::1');
    expect(ipv6(v6('20010db8000000010000000000000001'), 0)).toBe('2001:db8:0:1::1'); // longest run wins
    expect(ipv6(v6('20010db8000000000001000000000001'), 0)).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(ipv6(v6('20010db8000100010001000100010001'), 0)).toBe('2001:db8:1:1:1:1:1:1'); // a single 0 group is never ::
    expect(ipv6(v6('00000000000000000000ffffc6124d01'), 0)).toBe('::ffff:198.18.77.1');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }), (b) => {
        const text = ipv6(new Uint8Array(b), 0);
        if (text.startsWith('::ffff:') && text.includes('.')) return;
        const [head = '', tail] = text.split('::');
        const left = head ? head.split(':') : [];
        const right = tail === undefined ? [] : tail ? tail.split(':') : [];
        const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
        expect(groups.map((g) => parseInt(g, 16))).toEqual(Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!));
        expect(text).toBe(text.toLowerCase());
      }),
      { numRuns: 500 },
    );
  });
});

describe('fuzzing: nothing throws', () => {
  const real = fixtures.map((name) => bytes(name));

  it('random bytes after a valid header, any link type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...real), fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 300 }), (file, noise, linkType) => {
        const damaged = new Uint8Array(24 + noise.length);
        damaged.set(file.subarray(0, 24));
        new DataView(damaged.buffer).setUint32(20, linkType, true);
        damaged.set(noise, 24);
        const parser = new PcapStreamParser();
        parser.push(damaged);
      }),
      { numRuns: 2000 },
    );
  });

  it('real captures with random bytes changed', () => {
    fc.assert(
      fc.property(fc.constantFrom(...real), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), (file, edits) => {
        const damaged = file.slice();
        for (const [at, value] of edits) damaged[24 + (at % (damaged.length - 24))] = value;
        const parser = new PcapStreamParser();
        for (const p of parser.push(damaged)) {
          expect(p.length).toBeGreaterThanOrEqual(0);
          expect(p.seq).toBeLessThanOrEqual(0xffffffff);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeRecord on random frames of every link type', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 101, 113, 239, 276), fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.boolean(), (linkType, data, origLen, le) => {
        decodeRecord(linkType, data, origLen, le);
      }),
      { numRuns: 3000 },
    );
  });
});
