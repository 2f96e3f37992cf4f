#!/usr/bin/env python3
"""Line echo on ADDR:PORT: answers "ok <line>" to each line, one thread per connection."""
import socket
import sys
import threading


def serve(conn):
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            conn.sendall(b"ok " + line)


def main():
    addr, port = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7000
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
