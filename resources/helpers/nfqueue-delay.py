#!/usr/bin/env python3
"""Holds packets back for a while, as a slow network link would: TCP Lab's `delay` step.

TCP Lab adds an iptables rule that sends the experiment's packets to NFQUEUE queue QUEUE (with
--queue-bypass, so they flow unhindered when nothing reads the queue), then runs this program as
root. Each queued packet is accepted DELAY_MS after it arrived, in arrival order. The program
ends when its standard input closes (TCP Lab's channel ends, also when the controller crashes),
or on SIGINT, SIGTERM or SIGHUP; packets still held then are dropped by the kernel, and TCP
retransmits them.

Talks to the kernel over netlink directly (nfnetlink_queue), so it needs nothing beyond the
Python 3 standard library. Uploaded by TCP Lab for one run and removed afterwards.
"""
import argparse
import collections
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_CFG_CMD_UNBIND = 2
NFQNL_COPY_META = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_ACCEPT = 1


def attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def message(kind, flags, queue, attributes, seq):
    # nfgenmsg: family AF_UNSPEC, version 0, resource id (the queue number) in network order.
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + attributes
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + body


class Queue:
    def __init__(self, number):
        self.number = number
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((0, 0))

    def request(self, kind, attributes):
        self.seq += 1
        self.sock.send(message(kind, NLM_F_REQUEST | NLM_F_ACK, self.number, attributes, self.seq))
        while True:
            data = self.sock.recv(65536)
            for mtype, _, body in parse(data):
                if mtype == NLMSG_ERROR:
                    error = struct.unpack_from('=i', body, 0)[0]
                    if error:
                        raise OSError(-error, os.strerror(-error))
                    return

    def bind(self):
        self.request(NFQNL_MSG_CONFIG, attribute(NFQA_CFG_CMD, struct.pack('=BBH', NFQNL_CFG_CMD_BIND, 0, 0)))
        # Metadata only: the verdict needs the packet's id, not its bytes.
        self.request(NFQNL_MSG_CONFIG, attribute(NFQA_CFG_PARAMS, struct.pack('>IB', 0, NFQNL_COPY_META)))

    def unbind(self):
        try:
            self.request(NFQNL_MSG_CONFIG, attribute(NFQA_CFG_CMD, struct.pack('=BBH', NFQNL_CFG_CMD_UNBIND, 0, 0)))
        except OSError:
            pass

    def accept(self, packet_id):
        self.sock.send(message(NFQNL_MSG_VERDICT, NLM_F_REQUEST, self.number, attribute(NFQA_VERDICT_HDR, struct.pack('>II', NF_ACCEPT, packet_id)), 0))

    def packet_ids(self, data):
        for mtype, _, body in parse(data):
            if mtype != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                continue
            at = 4  # after nfgenmsg
            while at + 4 <= len(body):
                length, kind = struct.unpack_from('=HH', body, at)
                if length < 4:
                    break
                if kind & 0x7FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from('>I', body, at + 4)[0]
                at += (length + 3) & ~3


def parse(data):
    at = 0
    while at + 16 <= len(data):
        length, mtype, flags, _, _ = struct.unpack_from('=IHHII', data, at)
        if length < 16:
            break
        yield mtype, flags, data[at + 16:at + length]
        at += (length + 3) & ~3


def main():
    parser = argparse.ArgumentParser(description='Delay the packets of an NFQUEUE queue, as a slow link would.')
    parser.add_argument('--queue', type=int, required=True, help='NFQUEUE queue number (iptables --queue-num)')
    parser.add_argument('--delay-ms', type=int, required=True, help='how long each packet is held')
    parser.add_argument('--tag', default='', help='ignored: marks the process as a TCP Lab session\'s')
    args = parser.parse_args()

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)

    queue = Queue(args.queue)
    try:
        queue.bind()
    except OSError as error:
        print('nfqueue-delay: cannot bind queue {}: {} (is nfnetlink_queue available, and are we root?)'.format(args.queue, error), file=sys.stderr, flush=True)
        return 2
    print('ready: holding packets of queue {} for {} ms'.format(args.queue, args.delay_ms), flush=True)

    held = collections.deque()
    delay = args.delay_ms / 1000.0
    stdin = sys.stdin.fileno()
    watch = [queue.sock, stdin]
    count = 0
    try:
        while True:
            timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
            ready, _, _ = select.select(watch, [], [], timeout)
            if stdin in ready and not os.read(stdin, 4096):
                break
            if queue.sock in ready:
                arrived = time.monotonic()
                for packet_id in queue.packet_ids(queue.sock.recv(1 << 16)):
                    held.append((arrived + delay, packet_id))
                    count += 1
            while held and held[0][0] <= time.monotonic():
                queue.accept(held.popleft()[1])
    except KeyboardInterrupt:
        pass
    finally:
        queue.unbind()
    print('nfqueue-delay: delayed {} packets; stopped'.format(count), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
