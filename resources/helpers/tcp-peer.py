#!/usr/bin/env python3
"""A netcat for TCP Lab, for hosts whose netcat cannot do what an experiment asks.

Copies the terminal to the connection and the connection to the terminal, like nc, with the
behaviours TCP Lab's experiments name spelled out instead of depending on a netcat flavor:

  --half-close   at the end of input (Ctrl-D), shut down the sending side (FIN) and keep
                 receiving; without it the connection stays open in both directions
  --on-peer-close exit|stay
                 when the peer closes its side: close too and exit, or stay (the connection
                 then waits in CLOSE_WAIT until Ctrl-C)

Listening, it accepts one connection and keeps the listening socket open until it exits, as
OpenBSD nc does. Ctrl-C closes the connection and exits. Uploaded to a lab host by TCP Lab for
one run and removed afterwards. Python 3.5 or later, standard library only.
"""
import argparse
import os
import select
import socket
import sys


def open_connection(args):
    if args.listen is not None:
        family = socket.AF_INET6 if ':' in args.bind else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((args.bind, args.listen))
        listener.listen(1)
        conn, peer = listener.accept()
        if args.verbose:
            print('Connection received on {} {}'.format(peer[0], peer[1]), file=sys.stderr, flush=True)
        return listener, conn
    address, port = args.connect[0], int(args.connect[1])
    try:
        conn = socket.create_connection((address, port))
    except OSError as error:
        print('tcp-peer: connect to {} port {} (tcp) failed: {}'.format(address, port, error.strerror or error), file=sys.stderr, flush=True)
        sys.exit(1)
    if args.verbose:
        print('Connection to {} {} port [tcp/*] succeeded!'.format(address, port), file=sys.stderr, flush=True)
    return None, conn


def main():
    parser = argparse.ArgumentParser(description='A netcat with explicit half-close and peer-close behaviour.')
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--listen', type=int, metavar='PORT', help='accept one connection on PORT')
    mode.add_argument('--connect', nargs=2, metavar=('ADDRESS', 'PORT'), help='connect to ADDRESS PORT')
    parser.add_argument('--bind', default='0.0.0.0', help='address to listen on (default: all IPv4 addresses)')
    parser.add_argument('--half-close', action='store_true', help='shut down the sending side at the end of input')
    parser.add_argument('--on-peer-close', choices=['exit', 'stay'], default='stay', help='what to do when the peer closes (default: stay)')
    parser.add_argument('-v', '--verbose', action='store_true', help='report the connection on stderr')
    args = parser.parse_args()

    try:
        listener, conn = open_connection(args)
        stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
        reading = [stdin, conn]
        while reading:
            ready, _, _ = select.select(reading, [], [])
            if stdin in ready:
                data = os.read(stdin, 65536)
                if data:
                    conn.sendall(data)
                else:
                    reading.remove(stdin)
                    if args.half_close:
                        conn.shutdown(socket.SHUT_WR)
            if conn in ready:
                try:
                    data = conn.recv(65536)
                except ConnectionResetError:
                    data = b''
                if data:
                    os.write(stdout, data)
                else:
                    reading.remove(conn)
                    if args.on_peer_close == 'exit':
                        break
        # Both directions are done (or the peer closed and we exit): close, as nc does.
        conn.close()
        if listener is not None:
            listener.close()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
