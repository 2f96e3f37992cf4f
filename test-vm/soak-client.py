#!/usr/bin/env python3
"""The soak's clients: N connections to ADDR:PORT, each sending frames (seq, length, crc32, random
payload) one after the other and checking that the echo is byte for byte what it sent.

usage: soak-client.py ADDR PORT N STATUS_FILE MARK_FILE STOP_FILE MAX_SECONDS

Every 200 ms it writes STATUS_FILE (JSON): connections alive, frames and bytes verified, errors,
the worst stall (longest wait for one echo) and how many connections have not completed an
exchange since MARK_FILE last changed, so the driver can tell that every connection still works
after a move. Runs until STOP_FILE exists or MAX_SECONDS pass; exits 1 if anything went wrong."""
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import zlib

HEADER = struct.Struct("!III")
POOL = os.urandom(1 << 20)  # random bytes to slice from: os.urandom per frame costs too much CPU


class Conn:
    def __init__(self, i):
        self.i = i
        self.alive = False
        self.frames = 0
        self.bytes = 0
        self.worst = 0.0
        self.error = None
        self.mark = -1  # the mark seen when the last exchange completed


def read_exactly(s, n):
    chunks, got = [], 0
    while got < n:
        b = s.recv(n - got)
        if not b:
            raise ConnectionError("closed by the server after %d of %d bytes" % (got, n))
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def current_mark(mark_file):
    try:
        with open(mark_file) as f:
            return int(f.read().strip() or -1)
    except (OSError, ValueError):
        return -1


def run(c, addr, port, mark_file, stop):
    rnd = random.Random(c.i)
    try:
        s = socket.create_connection((addr, port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(120)  # a move freezes for under a second; two minutes means the connection is gone
        c.alive = True
        seq = 0
        while not stop.is_set():
            mark = current_mark(mark_file)
            length = rnd.randint(16, 4096)
            off = rnd.randrange(0, len(POOL) - length)
            payload = POOL[off:off + length]
            frame = HEADER.pack(seq, length, zlib.crc32(payload)) + payload
            t0 = time.monotonic()
            s.sendall(frame)
            echo = read_exactly(s, HEADER.size)
            eseq, elen, _ = HEADER.unpack(echo)
            echo += read_exactly(s, elen)
            c.worst = max(c.worst, time.monotonic() - t0)
            if eseq == 0xFFFFFFFF:
                raise ValueError("the server saw a wrong frame: " + echo[HEADER.size:].decode(errors="replace"))
            if echo != frame:
                bad = next(i for i in range(min(len(echo), len(frame))) if echo[i] != frame[i]) if len(echo) == len(frame) else -1
                raise ValueError("frame %d echoed wrong (%d bytes back for %d, first wrong byte %d)" % (seq, len(echo), len(frame), bad))
            c.frames += 1
            c.bytes += len(frame)
            c.mark = mark
            seq += 1
            time.sleep(rnd.uniform(0.02, 0.08))  # about 2 MB/s over 50 connections: steady, not a CPU hog
        s.close()
    except Exception as e:  # every failure is the soak's finding: record it, never hide it
        c.error = "connection %d: %s: %s" % (c.i, type(e).__name__, e)
    finally:
        c.alive = c.error is None and c.alive


def status(conns, mark_file, done=False):
    mark = current_mark(mark_file)
    return {
        "connections": len(conns),
        "alive": sum(c.alive for c in conns),
        "frames": sum(c.frames for c in conns),
        "bytes_verified": sum(c.bytes for c in conns),
        "errors": [c.error for c in conns if c.error][:10],
        "error_count": sum(1 for c in conns if c.error),
        "worst_stall_ms": round(max(c.worst for c in conns) * 1000, 1),
        "mark": mark,
        "behind": sum(1 for c in conns if c.mark < mark),
        "done": done,
    }


def write(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def main():
    addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    status_file, mark_file, stop_file, max_seconds = sys.argv[4], sys.argv[5], sys.argv[6], float(sys.argv[7])
    stop = threading.Event()
    conns = [Conn(i) for i in range(n)]
    threads = [threading.Thread(target=run, args=(c, addr, port, mark_file, stop), daemon=True) for c in conns]
    for t in threads:
        t.start()
    end = time.monotonic() + max_seconds
    while time.monotonic() < end and not os.path.exists(stop_file):
        write(status_file, status(conns, mark_file))
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(130)
    final = status(conns, mark_file, done=True)
    write(status_file, final)
    print(json.dumps(final), flush=True)
    sys.exit(0 if final["error_count"] == 0 and final["alive"] == n else 1)


if __name__ == "__main__":
    main()
