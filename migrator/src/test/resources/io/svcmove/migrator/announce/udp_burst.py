#!/usr/bin/env python3
"""The client of udp_counter.py.

usage: udp_burst.py send ADDR PORT COUNT SIZE   COUNT datagrams "q N" padded to SIZE bytes, 50
                                                every 10 ms (a pace the source's capture keeps up with)
       udp_burst.py count ADDR PORT             prints the counter's "count K" (3 tries, 2 s each)
"""
import socket
import sys
import time


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    if mode == "send":
        count, size = int(sys.argv[4]), int(sys.argv[5])
        for n in range(count):
            head = b"q %d " % n
            s.send(head + b"x" * (size - len(head)))
            if n % 50 == 49:
                time.sleep(0.01)
        print("sent %d" % count, flush=True)
        return
    s.settimeout(2)
    for _ in range(3):
        s.send(b"r")
        try:
            print(s.recv(100).decode(), flush=True)
            return
        except socket.timeout:
            pass
    sys.exit("no answer from the counter")


if __name__ == "__main__":
    main()
