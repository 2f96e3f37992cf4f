# A service whose memory must arrive whole: MB megabytes of random bytes, each page stamped with
# its offset, hashed at start ("ready HASH") and again every half second ("ok" or "BAD HASH").
import hashlib
import os
import sys
import time

size = int(sys.argv[1]) << 20
memory = bytearray(os.urandom(1 << 20)) * (size >> 20)
for offset in range(0, size, 4096):
    memory[offset:offset + 8] = offset.to_bytes(8, "little")
want = hashlib.sha256(memory).hexdigest()
print("ready", want, flush=True)
for _ in range(7200):
    time.sleep(0.5)
    got = hashlib.sha256(memory).hexdigest()
    print("ok" if got == want else "BAD " + got, flush=True)
