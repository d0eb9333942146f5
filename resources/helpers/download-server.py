#!/usr/bin/env python3
"""The server of TCP Lab's half-close-download experiment, like the article's web download.

Accepts one connection, reads the request until the client shuts its sending side (EOF: the
client's FIN has arrived and this side is in CLOSE_WAIT), then sends SIZE bytes spread over
SECONDS, then closes. Data keeps flowing to a client that has already sent its FIN.

Uploaded to a lab host by TCP Lab for one run and removed afterwards. Python 3.5 or later,
standard library only.
"""
import argparse
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser(description='Serve one download after the client half-closes.')
    parser.add_argument('--port', type=int, required=True, help='TCP port to listen on')
    parser.add_argument('--bind', default='0.0.0.0', help='address to listen on (default: all IPv4 addresses)')
    parser.add_argument('--bytes', type=int, default=4000000, help='how much to send (default 4000000)')
    parser.add_argument('--seconds', type=float, default=3.0, help='spread the transfer over this long (default 3)')
    args = parser.parse_args()

    family = socket.AF_INET6 if ':' in args.bind else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.bind, args.port))
    listener.listen(1)
    print('download-server: listening on port {}'.format(args.port), flush=True)
    conn, peer = listener.accept()
    listener.close()
    print('download-server: connection from {}:{}'.format(peer[0], peer[1]), flush=True)

    request = b''
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            break
        request += chunk
    print('download-server: request {!r}, then EOF: the client has half-closed (its FIN arrived)'.format(request.decode(errors='replace').strip()), flush=True)
    print('download-server: this side is in CLOSE_WAIT and still sends {} bytes over {} s'.format(args.bytes, args.seconds), flush=True)

    block = b'x' * 65536
    started = time.monotonic()
    sent = 0
    while sent < args.bytes:
        n = min(len(block), args.bytes - sent)
        conn.sendall(block[:n])
        sent += n
        # Pace the transfer, so the half-closed connection can be watched while data flows.
        ahead = started + args.seconds * sent / args.bytes - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    print('download-server: sent {} bytes; closing (FIN)'.format(sent), flush=True)
    conn.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
