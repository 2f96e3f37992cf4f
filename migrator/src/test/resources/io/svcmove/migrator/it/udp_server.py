#!/usr/bin/env python3
"""A small UDP responder (as a DNS server answers queries): each datagram "q N" gets "a N" back.

usage: udp_server.py ADDR PORT
"""
import socket
import sys


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], int(sys.argv[2])))
    while True:
        data, peer = s.recvfrom(512)
        parts = data.split()
        if len(parts) == 2 and parts[0] == b"q":
            s.sendto(b"a " + parts[1], peer)


if __name__ == "__main__":
    main()
