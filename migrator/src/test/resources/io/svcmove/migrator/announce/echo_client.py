#!/usr/bin/env python3
"""A client that keeps one connection alive and sends a numbered request every INTERVAL ms.

usage: echo_client.py ADDR PORT INTERVAL_MS STOP_FILE MAX_SECONDS

Prints "ready" once connected, then runs until STOP_FILE exists (or MAX_SECONDS pass), waits a
bounded time (env ECHO_DRAIN_S, 10 s) for the last answers and prints one JSON line: how many requests were sent and
answered, whether every request was answered exactly once and in order, the longest gap between
two answers (the stall a user would see), the longest time one request waited for its answer, and
what broke the connection if something did (a reset: the JSON line is printed all the same).
"""
import json
import os
import socket
import sys
import threading
import time


def main():
    addr, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1000
    stop_file, max_seconds = sys.argv[4], float(sys.argv[5])
    conn = socket.create_connection((addr, port), timeout=10)
    conn.settimeout(None)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sent_at = []      # monotonic time each request went out, by number
    answers = []      # (number answered, monotonic time), in arrival order
    bad = []          # lines that were not "ok <n>"
    closed = threading.Event()
    errors = []       # what broke the connection, and when (seconds after "ready")
    start = time.monotonic()

    def broke(e):
        errors.append("%s after %.3f s, %d answers" % (type(e).__name__, time.monotonic() - start, len(answers)))
        closed.set()

    def reader():
        try:
            with conn.makefile("rb") as lines:
                for line in lines:
                    parts = line.split()
                    if len(parts) == 2 and parts[0] == b"ok" and parts[1].isdigit():
                        answers.append((int(parts[1]), time.monotonic()))
                    else:
                        bad.append(line[:80].decode("latin-1"))
        except OSError as e:
            broke(e)
        closed.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    print("ready", flush=True)
    end = time.monotonic() + max_seconds
    n = 0
    next_at = time.monotonic()
    while time.monotonic() < end and not os.path.exists(stop_file) and not closed.is_set():
        sent_at.append(time.monotonic())
        try:
            conn.sendall(b"%d\n" % n)
        except OSError as e:
            broke(e)
            break
        n += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    # The last answers: a bounded wait (ECHO_DRAIN_S, 10 s: a connection that stalled long may be
    # backing off its retransmissions), then whatever came is what the client saw.
    deadline = time.monotonic() + float(os.environ.get("ECHO_DRAIN_S", "10"))
    while len(answers) < n and time.monotonic() < deadline and not closed.is_set():
        time.sleep(0.01)
    got = [a for a, _ in answers]
    times = [at for _, at in answers]
    gaps = [b - a for a, b in zip(times, times[1:])]
    waits = [at - sent_at[a] for a, at in answers if a < len(sent_at)]
    print(json.dumps({
        "sent": n,
        "answered": len(got),
        "in_order_once": got == list(range(n)),
        "first_wrong": next((i for i, a in enumerate(got) if a != i), None),
        "duplicates": len(got) - len(set(got)),
        "bad_lines": bad[:5],
        "closed_by_peer": closed.is_set(),
        "errors": errors,
        "max_stall_ms": round(max(gaps) * 1000, 1) if gaps else None,
        "max_wait_ms": round(max(waits) * 1000, 1) if waits else None,
    }), flush=True)
    conn.close()


if __name__ == "__main__":
    main()
