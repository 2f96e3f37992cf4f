#!/usr/bin/env python3
"""bench-flood's attacker, run on the bed's client host: for SECONDS, against ADDR:PORT (an agent's
peer port), at once

  - HOLD plain TCP connections that send nothing, kept open: any the agent closes is opened again,
    at most REOPEN a second in all;
  - SLOW TLS handshakes: a real ClientHello (Python's ssl, no certificate) sent one byte every
    DRIBBLE seconds, opened again when the agent gives up on it;
  - a stream of garbage: random bytes as fast as one connection takes them, reconnecting when the
    agent closes it.

usage: flood-client.py ADDR PORT SECONDS [HOLD] [SLOW] [REOPEN] [DRIBBLE] [FROM]   (defaults 1000 20 200 0.5)

FROM (e.g. 198.18.0.20-83) spreads the connections over those source addresses, round robin, as a
flood from many hosts would come: they must be this host's own.

Stops by itself after SECONDS (or on SIGTERM) and prints one JSON line: connections opened and
closed by the agent (with the most held open at once), handshake bytes dribbled, garbage bytes sent."""
import errno
import json
import os
import resource
import selectors
import signal
import socket
import ssl
import sys
import time

addr, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
hold = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
slow = int(sys.argv[5]) if len(sys.argv) > 5 else 20
reopen_rate = float(sys.argv[6]) if len(sys.argv) > 6 else 200
dribble = float(sys.argv[7]) if len(sys.argv) > 7 else 0.5
if len(sys.argv) > 8:
    base, _, last = sys.argv[8].rpartition("-")
    prefix, _, first = base.rpartition(".")
    sources = [prefix + "." + str(i) for i in range(int(first), int(last) + 1)]
else:
    sources = [""]  # the kernel's choice
next_source = 0


def source():
    global next_source
    next_source += 1
    return (sources[next_source % len(sources)], 0)

# One descriptor per connection, and then some.
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, hold + slow + 256), hard))


def client_hello():
    """The first flight of a TLS client, as bytes: what a real handshake would start with."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="node")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


HELLO = client_hello()
GARBAGE = os.urandom(64 << 10)
stats = {"opened": 0, "closed_by_agent": 0, "connect_failures": 0, "held_max": 0, "hello_bytes": 0, "garbage_bytes": 0,
         "garbage_connections": 0}
sel = selectors.DefaultSelector()
conns = {}  # socket -> kind ("hold" or "slow"), with the slow ones' progress in slow_state
slow_state = {}
end = time.monotonic() + seconds
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def connect(kind):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(source())
    s.setblocking(False)
    err = s.connect_ex((addr, port))
    if err not in (0, errno.EINPROGRESS):
        s.close()
        stats["connect_failures"] += 1
        return
    stats["opened"] += 1
    conns[s] = kind
    if kind == "slow":
        slow_state[s] = [0, time.monotonic()]  # bytes of the hello sent, when the next goes
    sel.register(s, selectors.EVENT_READ)


def drop(s, by_agent):
    sel.unregister(s)
    conns.pop(s)
    slow_state.pop(s, None)
    s.close()
    if by_agent:
        stats["closed_by_agent"] += 1


garbage = None


def garbage_step():
    """Sends one slice of garbage; a new connection when the agent closed the last one."""
    global garbage
    if garbage is None:
        garbage = socket.create_connection((addr, port), timeout=1, source_address=source())
        garbage.settimeout(0.05)
        stats["garbage_connections"] += 1
    try:
        stats["garbage_bytes"] += garbage.send(GARBAGE)
    except socket.timeout:
        pass
    except OSError:
        garbage.close()
        garbage = None


budget, last = 0.0, time.monotonic()
while not stop and time.monotonic() < end:
    now = time.monotonic()
    budget = min(budget + (now - last) * reopen_rate, reopen_rate)  # at most a second's worth at once
    last = now
    kinds = [k for k in conns.values()]
    for kind, want in (("slow", slow), ("hold", hold)):
        missing = want - kinds.count(kind)
        while missing > 0 and budget >= 1:
            connect(kind)
            missing -= 1
            budget -= 1
    stats["held_max"] = max(stats["held_max"], len(conns))
    for key, _ in sel.select(timeout=0.01):
        s = key.fileobj
        try:
            if not s.recv(4096):
                drop(s, True)
        except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError):
            drop(s, True)
        except BlockingIOError:
            pass
    for s, state in list(slow_state.items()):
        sent, due = state
        if now >= due and sent < len(HELLO):
            try:
                if s.send(HELLO[sent:sent + 1]) == 1:
                    state[0] += 1
                    stats["hello_bytes"] += 1
            except (BlockingIOError, OSError):
                pass
            state[1] = now + dribble
    try:
        garbage_step()
    except OSError:
        stats["connect_failures"] += 1
        garbage = None

for s in list(conns):
    drop(s, False)
if garbage is not None:
    garbage.close()
print(json.dumps(stats))
