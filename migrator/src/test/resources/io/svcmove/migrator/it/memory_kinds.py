#!/usr/bin/env python3
"""A service with memory of the kinds pre-copy cannot shrink: SHARED_MB of shared anonymous memory
and HUGE_MB of private memory advised to transparent huge pages, both written; then it idles.

usage: memory_kinds.py SHARED_MB HUGE_MB   (prints "ready" once both are written)
"""
import mmap
import sys
import time

MB = 1024 * 1024


def main():
    shared_mb, huge_mb = int(sys.argv[1]), int(sys.argv[2])
    shared = mmap.mmap(-1, shared_mb * MB, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    huge = mmap.mmap(-1, huge_mb * MB, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    huge.madvise(mmap.MADV_HUGEPAGE)
    for buf, size in ((shared, shared_mb * MB), (huge, huge_mb * MB)):
        for off in range(0, size, 4096):
            buf[off] = 1
    print("ready", flush=True)
    for _ in range(3600):
        time.sleep(1)


if __name__ == "__main__":
    main()
