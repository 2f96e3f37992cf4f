#!/usr/bin/env python3
"""A daemon that logs: appends "tick N" to LOG (opened with O_APPEND, line-buffered) every 20 ms.

usage: ticker.py LOG
"""
import sys
import time


def main():
    with open(sys.argv[1], "a", buffering=1) as log:
        n = 0
        while True:
            log.write("tick %d\n" % n)
            n += 1
            time.sleep(0.02)


if __name__ == "__main__":
    main()
