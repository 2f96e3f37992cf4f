#!/usr/bin/env python3
"""Counts datagrams: "q N ..." adds N to the set of those received; "r" is answered "count K"
(K distinct N so far).

usage: udp_counter.py ADDR PORT
"""
import socket
import sys


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((sys.argv[1], int(sys.argv[2])))
    seen = set()
    while True:
        data, peer = s.recvfrom(65535)
        parts = data.split(maxsplit=2)
        if len(parts) >= 2 and parts[0] == b"q" and parts[1].isdigit():
            seen.add(int(parts[1]))
        elif parts[:1] == [b"r"]:
            s.sendto(b"count %d" % len(seen), peer)


if __name__ == "__main__":
    main()
