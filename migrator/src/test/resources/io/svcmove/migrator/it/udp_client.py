#!/usr/bin/env python3
"""Sends "q N" to ADDR:PORT every INTERVAL ms and never retransmits; counts the answers.

usage: udp_client.py ADDR PORT INTERVAL_MS STOP_FILE MAX_SECONDS

Prints "ready" after the first answer, runs until STOP_FILE exists (or MAX_SECONDS pass), waits
up to 10 s for the last answers and prints one JSON line: queries sent, answered, lost (never
answered), wrong answers, and the longest wait for an answer (what a client saw during a move).
"""
import json
import os
import select
import socket
import sys
import time


def main():
    addr, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1000
    stop_file, max_seconds = sys.argv[4], float(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    sent_at = {}
    answered = {}
    wrong = 0

    def receive(until):
        nonlocal wrong
        while True:
            left = until - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                return
            try:
                data = s.recv(512)
            except ConnectionRefusedError:  # an ICMP port unreachable: counted as a loss below
                continue
            parts = data.split()
            if len(parts) == 2 and parts[0] == b"a" and parts[1].isdigit() and int(parts[1]) in sent_at:
                answered.setdefault(int(parts[1]), time.monotonic())
            else:
                wrong += 1

    s.send(b"q 0")
    sent_at[0] = time.monotonic()
    receive(time.monotonic() + 5)
    if 0 not in answered:
        print(json.dumps({"error": "no answer to the first query"}), flush=True)
        return
    print("ready", flush=True)
    end = time.monotonic() + max_seconds
    n = 1
    next_at = time.monotonic()
    while time.monotonic() < end and not os.path.exists(stop_file):
        s.send(b"q %d" % n)
        sent_at[n] = time.monotonic()
        n += 1
        next_at += interval
        receive(next_at)
    deadline = time.monotonic() + 10
    while len(answered) < n and time.monotonic() < deadline:
        receive(min(deadline, time.monotonic() + 0.1))
    waits = [answered[i] - sent_at[i] for i in answered]
    print(json.dumps({
        "sent": n,
        "answered": len(answered),
        "lost": sorted(set(range(n)) - set(answered))[:20],
        "wrong": wrong,
        "max_wait_ms": round(max(waits) * 1000, 1),
    }), flush=True)


if __name__ == "__main__":
    main()
