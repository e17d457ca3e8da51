#!/usr/bin/env python3
"""tests/e2e/audit_tool.py - what an attacker or an auditor does to segel's
audit log by hand, for t_records.sh. A test helper, not part of segel.

  audit_tool.py archived LOG            "FILE SHA256" of each record naming
                                        an archive file
  audit_tool.py append-stamp LOG B64    a stamp record carrying token B64,
                                        chained correctly (prev = head)
  audit_tool.py append-future LOG       a record dated a day ahead, chained
  audit_tool.py rewrite LOG             change the first sign record's sender
                                        and recompute every later prev: the
                                        chain is intact again
"""
import hashlib
import json
import sys


def lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")[:-1]


def write(path, recs):
    with open(path, "wb") as f:
        f.write(b"".join(r + b"\n" for r in recs))


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    recs = lines(path)
    if cmd == "archived":
        for r in recs:
            o = json.loads(r)
            if o.get("archive"):
                print(o["archive"], o.get("archive_sha256") or "-")
    elif cmd == "append-stamp":
        head = hashlib.sha256(recs[-1]).hexdigest() if recs else "0" * 64
        o = {"time": "2026-01-01T00:00:00Z", "event": "stamp", "role": "admin",
             "result": "stamped", "tsa_token": sys.argv[3], "prev": head}
        # the time of the newest record, so only the token can be wrong
        o["time"] = json.loads(recs[-1])["time"]
        recs.append(json.dumps(o, separators=(",", ":")).encode())
        write(path, recs)
    elif cmd == "append-future":
        import datetime
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        o = {"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "event": "note",
             "prev": hashlib.sha256(recs[-1]).hexdigest()}
        recs.append(json.dumps(o, separators=(",", ":")).encode())
        write(path, recs)
    elif cmd == "rewrite":
        out, prev, done = [], "0" * 64, False
        for r in recs:
            o = json.loads(r, object_pairs_hook=lambda kv: dict(kv))
            if not done and o.get("event") == "sign":
                o["sender"] = "Mallory <mallory@tanjungpinangkota.go.id>"
                done = True
            o["prev"] = prev
            r = json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode()
            out.append(r)
            prev = hashlib.sha256(r).hexdigest()
        write(path, out)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
