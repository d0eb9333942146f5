#!/usr/bin/env python3
"""A buggy server for TCP Lab's close-wait-leak experiment.

It answers each request line with "ok", but when a client closes its end it forgets to call
close(): the connection stays in CLOSE_WAIT, holding a file descriptor and kernel memory, until
this process ends (Ctrl-C). The bug is on purpose: students find it with ss -tanp.

Uploaded to a lab host by TCP Lab for one run and removed afterwards. Python 3.5 or later,
standard library only.
"""
import argparse
import os
import selectors
import socket
import sys


def open_fds():
    try:
        return len(os.listdir('/proc/self/fd'))
    except OSError:
        return -1


def main():
    parser = argparse.ArgumentParser(description='A server that never closes connections the client has closed (a CLOSE_WAIT leak).')
    parser.add_argument('--port', type=int, required=True, help='TCP port to listen on')
    parser.add_argument('--bind', default='0.0.0.0', help='address to listen on (default: all IPv4 addresses)')
    args = parser.parse_args()

    family = socket.AF_INET6 if ':' in args.bind else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.bind, args.port))
    listener.listen(128)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    # The bug: sockets whose client has gone, kept here instead of being closed.
    leaked = []
    print('leaky-server: listening on port {}; Ctrl-C stops it'.format(args.port), flush=True)
    try:
        while True:
            for key, _ in selector.select():
                sock = key.fileobj
                if sock is listener:
                    conn, peer = listener.accept()
                    conn.setblocking(False)
                    selector.register(conn, selectors.EVENT_READ, '{}:{}'.format(peer[0], peer[1]))
                    continue
                try:
                    data = sock.recv(4096)
                except ConnectionResetError:
                    data = b''
                if data:
                    sock.sendall(b'ok\n')
                    continue
                selector.unregister(sock)
                leaked.append(sock)  # should be: sock.close()
                print('{}: client closed its end; not closing ours (the bug): {} in CLOSE_WAIT, {} open files'.format(key.data, len(leaked), open_fds()), flush=True)
    except KeyboardInterrupt:
        print('\nleaky-server: stopped with {} leaked connections; the kernel closes them now'.format(len(leaked)), flush=True)
        return 0


if __name__ == '__main__':
    sys.exit(main())
