#!/usr/bin/env python3
"""A well-behaved client for TCP Lab's close-wait-leak experiment.

Opens COUNT connections one after another; on each it sends one request line, reads the reply
line, and closes. Reading the whole reply first matters: closing a socket with unread data
sends RST instead of FIN.

Uploaded to a lab host by TCP Lab for one run and removed afterwards. Python 3.5 or later,
standard library only.
"""
import argparse
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser(description='Open COUNT short connections to a server, one after another.')
    parser.add_argument('--to', required=True, help='server address')
    parser.add_argument('--port', type=int, required=True, help='server port')
    parser.add_argument('--count', type=int, default=10, help='how many connections (default 10)')
    parser.add_argument('--pause-ms', type=int, default=20, help='pause between connections (default 20 ms)')
    args = parser.parse_args()

    for i in range(1, args.count + 1):
        try:
            sock = socket.create_connection((args.to, args.port), timeout=5)
        except OSError as error:
            print('connection {}: {}'.format(i, error), flush=True)
            return 1
        local = sock.getsockname()
        sock.sendall('request {}\n'.format(i).encode())
        reply = b''
        while not reply.endswith(b'\n'):
            chunk = sock.recv(100)
            if not chunk:
                break
            reply += chunk
        sock.close()
        print('connection {} from port {}: got {!r}, closed'.format(i, local[1], reply.decode(errors='replace').strip()), flush=True)
        time.sleep(args.pause_ms / 1000)
    print('connect-many: {} connections opened and closed by this client'.format(args.count), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
