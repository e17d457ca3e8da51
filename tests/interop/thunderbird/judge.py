#!/usr/bin/env python3
"""Opens each message in a running Thunderbird and prints its verdict.

  judge.py PORT_FILE CASES OUT.jsonl SHOTDIR

CASES has "name<TAB>path" lines. For each message, Thunderbird's own
MailUtils.openEMLFile opens it in a message tab, exactly as "Open Saved
Message" does; the judge then reads, in that tab's about:message window,
the S/MIME status Thunderbird's header sink received (gSignatureStatus, an
nsICMSMessageErrors code; -1 = no S/MIME signature seen), the signed-state
icon it shows, the signer's address, the Date and Subject it shows and
the text a reader sees. Then it clicks the S/MIME button, as a reader would, and
records the visible text of the Message Security panel (the popup itself
is not in screenshots). A screenshot of the window goes to
SHOTDIR/name.png. One JSON
object per line on OUT.jsonl; an error for one message is recorded for
that message, not raised.
"""
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import marionette  # noqa: E402

OPEN_AND_READ = r"""
const [path, resolve] = arguments;
const { MailUtils } = ChromeUtils.importESModule(
  "resource:///modules/MailUtils.sys.mjs");
const win = Services.wm.getMostRecentWindow("mail:3pane");
const tabmail = win.document.getElementById("tabmail");
const file = Cc["@mozilla.org/file/local;1"].createInstance(Ci.nsIFile);
file.initWithPath(path);
const url = Services.io.newFileURI(file).QueryInterface(Ci.nsIURL);
for (const t of tabmail.tabInfo.slice(1)) tabmail.closeTab(t);
MailUtils.openEMLFile(win, file, url);
const names = {};
for (const k of Object.keys(Ci.nsICMSMessageErrors))
  names[Ci.nsICMSMessageErrors[k]] = k;
const started = Date.now();
let loadedAt = 0;
function tab() {
  return tabmail.tabInfo.find(t => t.mode.name == "mailMessageTab" &&
    t.browser && t.browser.currentURI.spec.includes(url.filePath));
}
function read(t) {
  const cw = t.chromeBrowser.contentWindow;
  const icon = cw.document.getElementById("signedHdrIcon");
  let body = null;
  try {
    body = cw.getMessagePaneBrowser().contentDocument.body.innerText;
  } catch (e) { body = "(not readable: " + e + ")"; }
  const hd = cw.currentHeaderData || {};
  return {
    status: cw.gSignatureStatus,
    status_name: names[cw.gSignatureStatus] || String(cw.gSignatureStatus),
    icon: icon && !icon.hidden ? icon.getAttribute("src") : null,
    signer: cw.gSignerCert ? cw.gSignerCert.emailAddress : null,
    date_shown: hd.date ? hd.date.headerValue : null,
    subject_shown: hd.subject ? hd.subject.headerValue : null,
    body: body,
    waited_ms: Date.now() - started,
  };
}
function poll() {
  const t = tab();
  const cw = t && t.chromeBrowser.contentWindow;
  const doc = cw && cw.getMessagePaneBrowser &&
    cw.getMessagePaneBrowser().contentDocument;
  const loaded = doc && doc.readyState == "complete" && doc.body &&
    cw.gMessage;
  if (loaded && !loadedAt) loadedAt = Date.now();
  // A signature's status arrives after the body (verification is async);
  // a message Thunderbird sees no signature in keeps -1: wait 4 s for it.
  if (loaded && cw.gSignatureStatus !== undefined &&
      (cw.gSignatureStatus != -1 || Date.now() - loadedAt > 4000))
    return resolve(read(t));
  if (Date.now() - started > 30000)
    return resolve(t ? Object.assign(read(t), {timeout: true}) :
      {error: "no message tab opened"});
  win.setTimeout(poll, 200);
}
win.setTimeout(poll, 200);
"""


PANEL = r"""
const [resolve] = arguments;
const win = Services.wm.getMostRecentWindow("mail:3pane");
const t = win.document.getElementById("tabmail").tabInfo.find(
  t => t.mode.name == "mailMessageTab");
const cw = t && t.chromeBrowser.contentWindow;
const btn = cw && cw.document.getElementById("encryptionTechBtn");
if (!btn || !btn.checkVisibility())
  return resolve(null);	// no S/MIME button: Thunderbird shows no security
btn.click();
win.setTimeout(() => {
  const p = cw.document.getElementById("messageSecurityPanel");
  const seen = [];
  for (const e of p.querySelectorAll("*")) {
    if (e.children.length || !e.checkVisibility()) continue;
    const s = (e.textContent || "").trim();
    if (s) seen.push(s);
  }
  p.hidePopup();
  resolve(seen);
}, 1000);
"""


def main():
    port_file, cases, out, shots = sys.argv[1:5]
    os.makedirs(shots, exist_ok=True)
    m = marionette.connect(port_file, time.time() + 90)
    with open(cases) as f, open(out, "w") as o:
        for line in f:
            name, path = line.rstrip("\n").split("\t", 1)
            try:
                v = m.script(OPEN_AND_READ, [os.path.abspath(path)],
                             timeout_ms=45000)
            except marionette.MarionetteError as e:
                v = {"error": str(e)[:500]}
            v["name"] = name
            try:
                v["panel"] = m.script(PANEL, [], timeout_ms=10000)
            except marionette.MarionetteError as e:
                v["panel_error"] = str(e)[:300]
            try:
                png = m.command("WebDriver:TakeScreenshot", {"full": False})
                with open(os.path.join(shots, name + ".png"), "wb") as s:
                    s.write(base64.b64decode(png["value"]))
            except (marionette.MarionetteError, KeyError, TypeError):
                pass
            o.write(json.dumps(v) + "\n")
            o.flush()
            print("judge: %s: %s" % (name, v.get("status_name",
                                                  v.get("error"))),
                  file=sys.stderr)
    m.close()


main()
