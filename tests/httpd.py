#!/usr/bin/env python3
"""tests/httpd.py - a loopback HTTP server for the tests of segel's HTTP
client side (CRL distribution points, OCSP, RFC 3161 timestamping).

It is a test fixture, not part of segel: segel's code is the client.

  httpd.py --root DIR --port-file FILE [--port N]

Listens on 127.0.0.1 on a free port (or on N: a server started again on
the port it had), writes the port number to FILE once it listens, and
serves until killed:
  GET  /PATH              the file DIR/PATH (404 when there is none)
  GET  /slow/PATH         the same after 30 s (a server that hangs)
  GET  /endless           an answer that never ends (size caps)
  GET  /redirect?to=URL   302 to URL (a redirect to file:// and the like)
  POST /echo              the request body back, with its Content-Type
  POST /cmd/NAME          runs DIR/NAME.cmd (an executable) with the body
                          on stdin; its stdout is the answer, with the
                          Content-Type in DIR/NAME.type (e.g. a TSA's
                          `openssl ts -reply`)
Every request is appended to DIR/requests.log ("METHOD PATH").
"""
import argparse
import http.server
import os
import subprocess
import sys
import time
import urllib.parse


def make_handler(root):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            with open(os.path.join(root, "requests.log"), "a") as f:
                f.write("%s %s\n" % (self.command, self.path))

        def reply(self, code, body, ctype="application/octet-stream",
                  extra=None):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def file_for(self, path):
            rel = os.path.normpath(urllib.parse.unquote(path)).lstrip("/")
            if rel.startswith(".."):
                return None
            full = os.path.join(root, rel)
            return full if os.path.isfile(full) else None

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/endless":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"x" * 65536)
                except (BrokenPipeError, ConnectionResetError):
                    return
            if url.path == "/redirect":
                to = urllib.parse.parse_qs(url.query).get("to", [""])[0]
                return self.reply(302, b"", extra={"Location": to})
            path = url.path
            if path.startswith("/slow/"):
                time.sleep(30)
                path = path[len("/slow"):]
            full = self.file_for(path)
            if full is None:
                return self.reply(404, b"not found\n", "text/plain")
            with open(full, "rb") as f:
                self.reply(200, f.read())

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            path = urllib.parse.urlsplit(self.path).path
            if path == "/echo":
                return self.reply(200, body, self.headers.get(
                    "Content-Type", "application/octet-stream"))
            if path.startswith("/cmd/"):
                name = os.path.basename(path)
                cmd = os.path.join(root, name + ".cmd")
                if not os.access(cmd, os.X_OK):
                    return self.reply(404, b"no such command\n", "text/plain")
                r = subprocess.run([cmd], input=body, capture_output=True)
                if r.returncode != 0:
                    return self.reply(500, r.stderr, "text/plain")
                ctype = "application/octet-stream"
                tfile = os.path.join(root, name + ".type")
                if os.path.isfile(tfile):
                    ctype = open(tfile).read().strip()
                return self.reply(200, r.stdout, ctype)
            self.reply(404, b"not found\n", "text/plain")

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port),
                                          make_handler(a.root))
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
