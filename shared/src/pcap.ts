/**
 * Classic pcap streams (what `tcpdump -w -` writes) -> TCP packet records, incrementally: feed
 * the bytes as they arrive over an SSH channel, in chunks of any size, and complete records come
 * out. Pure TypeScript (no Node Buffer): Uint8Array and DataView only.
 *
 * Formats (https://www.tcpdump.org/linktypes.html, draft-ietf-opsawg-pcap):
 * - file header: magic a1b2c3d4 (microsecond stamps) or a1b23c4d (nanosecond), in either byte
 *   order, which is then the byte order of every header field of the file;
 * - link types: EN10MB (1, Ethernet with 802.1Q/802.1ad tags), RAW (101), LINUX_SLL (113,
 *   `-i any` before libpcap 1.10), LINUX_SLL2 (276, `-i any` since), NFLOG (239, `-i nflog:G`).
 *   Cooked headers and NFLOG's hook say which way the packet went;
 * - NFLOG: a 4-byte header (family, version, resource id) then TLVs whose length and type are
 *   in the capturing host's byte order (the file's), each padded to 4 bytes: type 1 is the
 *   packet header (hardware protocol, netfilter hook), 9 the payload (the IP packet), 10 the
 *   prefix given to `--nflog-prefix`;
 * - network: IPv4 (options, first fragments only) and IPv6 (hop-by-hop, routing, destination
 *   options and fragment extension headers) carrying TCP.
 *
 * Damaged input never throws: a record that cannot be read is counted in `skipped`; a file header
 * that is not pcap, or a record length no capture could have written, stops the stream with
 * `error` set (nothing after it can be framed).
 */

export type TcpFlag = 'SYN' | 'ACK' | 'FIN' | 'RST' | 'PSH' | 'URG' | 'ECE' | 'CWR';

/** Flags in bit order, which is also the order tcpdump prints them in ([S.], [FP.]). */
export const TCP_FLAG_BITS: ReadonlyArray<readonly [TcpFlag, number]> = [
  ['FIN', 0x01],
  ['SYN', 0x02],
  ['RST', 0x04],
  ['PSH', 0x08],
  ['ACK', 0x10],
  ['URG', 0x20],
  ['ECE', 0x40],
  ['CWR', 0x80],
];

export const LINKTYPE = { EN10MB: 1, RAW: 101, LINUX_SLL: 113, NFLOG: 239, LINUX_SLL2: 276 } as const;

/** Netfilter hooks as NFLOG reports them. */
export const NF_HOOKS = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'] as const;
export type NfHook = (typeof NF_HOOKS)[number];

export interface PcapHeader {
  littleEndian: boolean;
  /** Timestamps' fractional part: microseconds (a1b2c3d4) or nanoseconds (a1b23c4d). */
  precision: 'us' | 'ns';
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  /** The link type (low 16 bits of the header's network field). */
  linkType: number;
}

export interface TcpPacket {
  /** Capture time: the capturing host's wall clock, epoch microseconds. */
  timeUs: number;
  /** Index of the record in its file, from 0 (Wireshark's frame number minus one). */
  index: number;
  family: 4 | 6;
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  /** Set flags in TCP_FLAG_BITS order. */
  flags: TcpFlag[];
  /** Raw (absolute) sequence and acknowledgement numbers, 0 .. 2^32-1. */
  seq: number;
  ack: number;
  window: number;
  /** TCP payload bytes (from the IP length, so a truncated capture still counts them all). */
  length: number;
  /**
   * Which way the packet went on the capturing host, when the link layer says: cooked captures
   * (outgoing = 'out', anything else 'in'), NFLOG (OUTPUT/POSTROUTING = 'out').
   */
  direction?: 'in' | 'out';
  /** NFLOG only: the rule's --nflog-prefix and the hook the packet was logged at. */
  nflog?: { prefix: string; hook?: NfHook; group: number };
}

/** One pcap stream, fed in pieces. */
export class PcapStreamParser {
  header: PcapHeader | undefined;
  /** Why the stream stopped being readable; once set, push() returns nothing. */
  error: string | undefined;
  /** Records read so far (TCP or not). */
  records = 0;
  /** Records that were readable but not TCP over IP (ARP, UDP, ...). */
  notTcp = 0;
  /** Records that could not be decoded (truncated or inconsistent headers). */
  skipped = 0;
  private buffer: Uint8Array = new Uint8Array(0);
  private offset = 0;

  /** Adds bytes; returns the TCP packets completed by them, in stream order. */
  push(chunk: Uint8Array): TcpPacket[] {
    if (this.error) return [];
    this.append(chunk);
    const out: TcpPacket[] = [];
    if (!this.header) {
      if (this.available() < 24) return out;
      const header = parseHeader(this.view(24));
      if (typeof header === 'string') {
        this.error = header;
        return out;
      }
      this.header = header;
      this.offset += 24;
    }
    const { littleEndian } = this.header;
    // The largest record libpcap itself accepts is 256 KiB (or the snaplen, if larger).
    const maxRecord = Math.max(this.header.snaplen, 262_144);
    while (this.available() >= 16) {
      const recordHeader = this.view(16);
      const dv = new DataView(recordHeader.buffer, recordHeader.byteOffset, 16);
      const inclLen = dv.getUint32(8, littleEndian);
      if (inclLen > maxRecord) {
        this.error = `record ${this.records} claims ${inclLen} bytes, more than a capture can hold (${maxRecord}): the stream is damaged`;
        break;
      }
      if (this.available() < 16 + inclLen) break;
      const seconds = dv.getUint32(0, littleEndian);
      const fraction = dv.getUint32(4, littleEndian);
      const origLen = dv.getUint32(12, littleEndian);
      this.offset += 16;
      const data = this.view(inclLen);
      this.offset += inclLen;
      const index = this.records++;
      const timeUs = seconds * 1_000_000 + (this.header.precision === 'ns' ? Math.floor(fraction / 1000) : fraction);
      const decoded = decodeRecord(this.header.linkType, data, Math.max(origLen, inclLen), littleEndian);
      if (decoded === 'not-tcp') this.notTcp++;
      else if (decoded === 'bad') this.skipped++;
      else out.push({ timeUs, index, ...decoded });
    }
    this.compact();
    return out;
  }

  /** Bytes received but not yet part of a complete record. */
  get pending(): number {
    return this.available();
  }

  private available(): number {
    return this.buffer.length - this.offset;
  }

  private view(length: number): Uint8Array {
    return this.buffer.subarray(this.offset, this.offset + length);
  }

  private append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.available() === 0) {
      this.buffer = chunk;
      this.offset = 0;
      return;
    }
    const merged = new Uint8Array(this.available() + chunk.length);
    merged.set(this.buffer.subarray(this.offset), 0);
    merged.set(chunk, this.available());
    this.buffer = merged;
    this.offset = 0;
  }

  private compact(): void {
    if (this.offset === this.buffer.length) {
      this.buffer = new Uint8Array(0);
      this.offset = 0;
    } else if (this.offset > 0) {
      // Keep only the unread tail, copied: the chunk it came from can then be freed.
      this.buffer = this.buffer.slice(this.offset);
      this.offset = 0;
    }
  }
}

/** A whole pcap file at once. */
export function parsePcap(bytes: Uint8Array): { header: PcapHeader | undefined; packets: TcpPacket[]; error: string | undefined; records: number; skipped: number } {
  const parser = new PcapStreamParser();
  const packets = parser.push(bytes);
  const error = parser.error ?? (!parser.header ? 'shorter than a pcap header' : parser.pending > 0 ? `the file ends inside a record (${parser.pending} bytes left over)` : undefined);
  return { header: parser.header, packets, error, records: parser.records, skipped: parser.skipped };
}

function parseHeader(bytes: Uint8Array): PcapHeader | string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const magic = dv.getUint32(0, false);
  let littleEndian: boolean;
  let precision: 'us' | 'ns';
  switch (magic) {
    case 0xa1b2c3d4:
      [littleEndian, precision] = [false, 'us'];
      break;
    case 0xd4c3b2a1:
      [littleEndian, precision] = [true, 'us'];
      break;
    case 0xa1b23c4d:
      [littleEndian, precision] = [false, 'ns'];
      break;
    case 0x4d3cb2a1:
      [littleEndian, precision] = [true, 'ns'];
      break;
    case 0x0a0d0d0a:
      return 'this is a pcapng file; tcpdump writes classic pcap with -w (and so does TCP Lab)';
    default:
      return `not a pcap stream (magic ${magic.toString(16).padStart(8, '0')})`;
  }
  return {
    littleEndian,
    precision,
    versionMajor: dv.getUint16(4, littleEndian),
    versionMinor: dv.getUint16(6, littleEndian),
    snaplen: dv.getUint32(16, littleEndian),
    linkType: dv.getUint32(20, littleEndian) & 0xffff,
  };
}

type Decoded = Omit<TcpPacket, 'timeUs' | 'index'>;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const PACKET_OUTGOING = 4;

/** One record's bytes -> a TCP packet, 'not-tcp', or 'bad' (headers cut short or inconsistent). */
export function decodeRecord(linkType: number, data: Uint8Array, origLen: number, littleEndian: boolean): Decoded | 'not-tcp' | 'bad' {
  const dv = new DataView(data.buffer, data.byteOffset, data.length);
  switch (linkType) {
    case LINKTYPE.EN10MB: {
      let at = 12;
      if (data.length < at + 2) return 'bad';
      let etherType = dv.getUint16(at, false);
      // 802.1Q and 802.1ad (QinQ) tags: 4 bytes each before the real ethertype.
      while (etherType === 0x8100 || etherType === 0x88a8) {
        at += 4;
        if (data.length < at + 2) return 'bad';
        etherType = dv.getUint16(at, false);
      }
      return decodeNetwork(etherType, data.subarray(at + 2), origLen - at - 2, undefined);
    }
    case LINKTYPE.RAW: {
      if (data.length < 1) return 'bad';
      const version = (data[0] ?? 0) >> 4;
      return decodeNetwork(version === 6 ? ETHERTYPE_IPV6 : version === 4 ? ETHERTYPE_IPV4 : 0, data, origLen, undefined);
    }
    case LINKTYPE.LINUX_SLL: {
      if (data.length < 16) return 'bad';
      const direction = dv.getUint16(0, false) === PACKET_OUTGOING ? 'out' : 'in';
      return decodeNetwork(dv.getUint16(14, false), data.subarray(16), origLen - 16, { direction });
    }
    case LINKTYPE.LINUX_SLL2: {
      if (data.length < 20) return 'bad';
      const direction = data[10] === PACKET_OUTGOING ? 'out' : 'in';
      return decodeNetwork(dv.getUint16(0, false), data.subarray(20), origLen - 20, { direction });
    }
    case LINKTYPE.NFLOG:
      return decodeNflog(data, dv, littleEndian);
    default:
      return 'not-tcp';
  }
}

const NFULA_PACKET_HDR = 1;
const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;

function decodeNflog(data: Uint8Array, dv: DataView, littleEndian: boolean): Decoded | 'not-tcp' | 'bad' {
  if (data.length < 4) return 'bad';
  const family = data[0];
  const group = dv.getUint16(2, false);
  let at = 4;
  let prefix = '';
  let hook: NfHook | undefined;
  let payload: Uint8Array | undefined;
  while (at + 4 <= data.length) {
    const length = dv.getUint16(at, littleEndian);
    // The type's top bits are netlink flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
    const type = dv.getUint16(at + 2, littleEndian) & 0x3fff;
    if (length < 4 || at + length > data.length) return 'bad';
    const value = data.subarray(at + 4, at + length);
    if (type === NFULA_PACKET_HDR && value.length >= 3) hook = NF_HOOKS[value[2] ?? 255];
    else if (type === NFULA_PAYLOAD) payload = value;
    else if (type === NFULA_PREFIX) prefix = asciiz(value);
    at += (length + 3) & ~3;
  }
  if (!payload) return 'bad';
  const etherType = family === 2 ? ETHERTYPE_IPV4 : family === 10 ? ETHERTYPE_IPV6 : 0;
  const direction = hook === 'OUTPUT' || hook === 'POSTROUTING' ? 'out' : hook === undefined ? undefined : 'in';
  return decodeNetwork(etherType, payload, payload.length, { ...(direction ? { direction } : {}), nflog: { prefix, ...(hook ? { hook } : {}), group } });
}

function asciiz(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    if (byte === 0) break;
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '?';
  }
  return text;
}

type Extra = Pick<TcpPacket, 'direction' | 'nflog'>;

function decodeNetwork(etherType: number, ip: Uint8Array, ipOrigLen: number, extra: Extra | undefined): Decoded | 'not-tcp' | 'bad' {
  const dv = new DataView(ip.buffer, ip.byteOffset, ip.length);
  if (etherType === ETHERTYPE_IPV4) {
    if (ip.length < 20 || (ip[0] ?? 0) >> 4 !== 4) return 'bad';
    const ihl = ((ip[0] ?? 0) & 0x0f) * 4;
    if (ihl < 20 || ip.length < ihl) return 'bad';
    if (ip[9] !== 6) return 'not-tcp';
    if ((dv.getUint16(6, false) & 0x1fff) !== 0) return 'not-tcp'; // a later fragment: no TCP header
    // A GSO super-packet captured before segmentation has total length 0: use what was on the wire.
    const total = dv.getUint16(2, false) || ipOrigLen;
    if (total < ihl) return 'bad';
    return decodeTcp(ip.subarray(ihl), total - ihl, 4, ipv4(ip, 12), ipv4(ip, 16), extra);
  }
  if (etherType === ETHERTYPE_IPV6) {
    if (ip.length < 40 || (ip[0] ?? 0) >> 4 !== 6) return 'bad';
    let next = ip[6] ?? 0;
    let at = 40;
    let remaining = dv.getUint16(4, false) || ipOrigLen - 40;
    // Extension headers: hop-by-hop (0), routing (43), destination options (60): (len + 1) * 8; fragment (44): 8.
    while (next === 0 || next === 43 || next === 60 || next === 44) {
      if (ip.length < at + 8) return 'bad';
      if (next === 44 && (dv.getUint16(at + 2, false) & 0xfff8) !== 0) return 'not-tcp';
      const size = next === 44 ? 8 : ((ip[at + 1] ?? 0) + 1) * 8;
      next = ip[at] ?? 0;
      at += size;
      remaining -= size;
    }
    if (next !== 6) return 'not-tcp';
    if (ip.length < at || remaining < 0) return 'bad';
    return decodeTcp(ip.subarray(at), remaining, 6, ipv6(ip, 8), ipv6(ip, 24), extra);
  }
  return 'not-tcp';
}

function decodeTcp(tcp: Uint8Array, segmentLength: number, family: 4 | 6, srcAddress: string, dstAddress: string, extra: Extra | undefined): Decoded | 'bad' {
  if (tcp.length < 20) return 'bad';
  const dv = new DataView(tcp.buffer, tcp.byteOffset, tcp.length);
  const dataOffset = ((tcp[12] ?? 0) >> 4) * 4;
  if (dataOffset < 20 || segmentLength < dataOffset) return 'bad';
  const bits = tcp[13] ?? 0;
  return {
    family,
    srcAddress,
    srcPort: dv.getUint16(0, false),
    dstAddress,
    dstPort: dv.getUint16(2, false),
    flags: TCP_FLAG_BITS.filter(([, bit]) => (bits & bit) !== 0).map(([name]) => name),
    seq: dv.getUint32(4, false),
    ack: dv.getUint32(8, false),
    window: dv.getUint16(14, false),
    length: segmentLength - dataOffset,
    ...(extra?.direction ? { direction: extra.direction } : {}),
    ...(extra?.nflog ? { nflog: extra.nflog } : {}),
  };
}

function ipv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** RFC 5952 text (lowercase, longest run of two or more zero groups as ::), IPv4-mapped as ss prints it. */
export function ipv6(bytes: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[at + 2 * i] ?? 0) << 8) | (bytes[at + 2 * i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${ipv4(bytes, at + 12)}`;
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** `[S.]`-style flag text as tcpdump prints it: F S R P . (ACK) U E W, or `none`. */
export function tcpdumpFlags(flags: readonly TcpFlag[]): string {
  const letters: Record<TcpFlag, string> = { SYN: 'S', FIN: 'F', RST: 'R', PSH: 'P', ACK: '.', URG: 'U', ECE: 'E', CWR: 'W' };
  const text = TCP_FLAG_BITS.filter(([name]) => flags.includes(name)).map(([name]) => letters[name]).join('');
  return text || 'none';
}
