#!/usr/bin/env python3
"""The soak's service: on ADDR:PORT, reads frames (seq, length, crc32, payload), checks that each
comes in sequence with a right checksum, and echoes it back unchanged. A wrong frame is answered
with an error frame (seq 0xffffffff, its reason as payload) and the connection closed, so the
client can tell corruption on the way in from a lost connection.

One thread for all connections (selectors): with a thread per connection, a dump once failed
(CRIU's parasite, reading each thread's cgroup, could not create proc.crtools in the task's cwd:
EEXIST), an intermittent failure the soak is not about and must not mistake for a lost byte."""
import selectors
import socket
import struct
import sys
import zlib

HEADER = struct.Struct("!III")
ERROR_SEQ = 0xFFFFFFFF


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.expected = 0
        self.closing = False

    def frames(self):
        """Checks and echoes every whole frame received so far."""
        while len(self.inbuf) >= HEADER.size:
            seq, length, crc = HEADER.unpack_from(self.inbuf)
            if len(self.inbuf) < HEADER.size + length:
                return
            frame = bytes(self.inbuf[:HEADER.size + length])
            del self.inbuf[:HEADER.size + length]
            payload = frame[HEADER.size:]
            reason = None
            if seq != self.expected:
                reason = "frame %d came when %d was due" % (seq, self.expected)
            elif zlib.crc32(payload) != crc:
                reason = "frame %d: crc32 %08x, header says %08x" % (seq, zlib.crc32(payload), crc)
            if reason:
                r = reason.encode()
                self.outbuf += HEADER.pack(ERROR_SEQ, len(r), zlib.crc32(r)) + r
                self.closing = True
                return
            self.outbuf += frame
            self.expected += 1


def main():
    sel = selectors.DefaultSelector()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, None)

    def close(c):
        sel.unregister(c.sock)
        c.sock.close()

    while True:
        for key, events in sel.select():
            if key.data is None:
                sock, _ = s.accept()
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(sock, selectors.EVENT_READ, Conn(sock))
                continue
            c = key.data
            if events & selectors.EVENT_READ and not c.closing:
                try:
                    b = c.sock.recv(1 << 16)
                except (BlockingIOError, InterruptedError):
                    b = None
                except OSError:
                    close(c)
                    continue
                if b == b"":
                    close(c)
                    continue
                if b:
                    c.inbuf += b
                    c.frames()
            if c.outbuf:
                try:
                    n = c.sock.send(c.outbuf)
                    del c.outbuf[:n]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    close(c)
                    continue
            if c.closing and not c.outbuf:
                close(c)
                continue
            sel.modify(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.outbuf else 0), c)


if __name__ == "__main__":
    main()
