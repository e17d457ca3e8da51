#!/usr/bin/env python3
"""tests/ocsp_front.py - what stands in front of a real `openssl ocsp -port`
responder in the OCSP tests: the ways a responder misbehaves.

It is a command for tests/httpd.py's POST /cmd/NAME (linked as
DIR/NAME.cmd): the OCSP request on stdin, the answer on stdout. What it
does depends on NAME:
  fwd      passes the request to the responder on port DIR/fwd.port and
           its answer back (and keeps a copy in DIR/fwd.last.der)
  slow     the same after DIR/slow.delay seconds (default 10)
  other    ignores the request and answers DIR/NAME.der, an answer
           recorded earlier (replayed: another nonce, or none and out
           of date)
A test fixture, not part of segel.
"""
import os
import sys
import time
import urllib.request

here = os.path.dirname(os.path.abspath(sys.argv[0]))
name = os.path.basename(sys.argv[0]).removesuffix(".cmd")


def read(fname, default=None):
    path = os.path.join(here, fname)
    if not os.path.exists(path):
        return default
    with open(path, "rb") as f:
        return f.read()


def forward(port_file, body):
    port = int(read(port_file).strip())
    req = urllib.request.Request("http://127.0.0.1:%d/" % port, data=body,
                                 headers={"Content-Type":
                                          "application/ocsp-request"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.read()


def main():
    body = sys.stdin.buffer.read()
    if name not in ("fwd", "slow"):
        out = read(name + ".der")
        if out is None:
            return 1
    else:
        if name == "slow":
            time.sleep(float(read("slow.delay", b"10")))
        out = forward("fwd.port", body)
        with open(os.path.join(here, name + ".last.der"), "wb") as f:
            f.write(out)
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
