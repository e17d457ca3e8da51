"""A minimal Marionette client (protocol 3, JSON over TCP), stdlib only.

Thunderbird started with --marionette listens on marionette.port; this
speaks just enough of the protocol to open a session, switch to the chrome
context and run privileged JavaScript there, which is how the judge reads
the verdict Thunderbird itself computed (no OCR, no guessing).
"""
import json
import socket
import time


class MarionetteError(Exception):
    pass


class Marionette:
    def __init__(self, host, port, timeout=60):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.msgid = 0
        hello = self._read()
        if not isinstance(hello, dict) or hello.get("marionetteProtocol") != 3:
            raise MarionetteError("unexpected greeting: %r" % (hello,))

    def _read(self):
        while b":" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise MarionetteError("connection closed")
            self.buf += chunk
        n, rest = self.buf.split(b":", 1)
        n = int(n)
        while len(rest) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise MarionetteError("connection closed")
            rest += chunk
        self.buf = rest[n:]
        return json.loads(rest[:n].decode("utf-8"))

    def command(self, name, params=None):
        self.msgid += 1
        data = json.dumps([0, self.msgid, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            msg = self._read()
            if isinstance(msg, list) and len(msg) == 4 and msg[1] == self.msgid:
                if msg[2] is not None:
                    raise MarionetteError("%s: %s" % (name, msg[2]))
                return msg[3]

    def start(self):
        self.command("WebDriver:NewSession", {})
        self.command("Marionette:SetContext", {"value": "chrome"})

    def script(self, body, args=None, timeout_ms=30000):
        self.command("WebDriver:SetTimeouts", {"script": timeout_ms})
        r = self.command("WebDriver:ExecuteAsyncScript",
                         {"script": body, "args": args or [],
                          "newSandbox": True})
        return r.get("value") if isinstance(r, dict) else r

    def close(self):
        try:
            self.command("Marionette:Quit", {"flags": ["eForceQuit"]})
        except (MarionetteError, OSError):
            pass
        self.sock.close()


def connect(port_file, deadline):
    """Waits for Thunderbird to write its port, then connects."""
    last = None
    while time.time() < deadline:
        try:
            with open(port_file) as f:
                port = int(f.read().strip())
            m = Marionette("127.0.0.1", port)
            break
        except (OSError, ValueError, MarionetteError) as e:
            last = e
            time.sleep(0.5)
    else:
        raise MarionetteError("no Marionette within the time allowed: %s"
                              % last)
    m.start()	# only one session: a failure here is not retried
    return m
