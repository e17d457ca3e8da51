#!/bin/bash
# t_segelctl.sh - segelctl on the test PKI: list (text, --json), show,
# import and each of its refusals, revoke, expiring exit codes, check,
# audit verify (intact and tampered), the report from a prepared audit log
# (text figures; HTML bar lengths; a headless Chromium screenshot, read
# back with tesseract when it is installed), and revocation taking effect
# in a running segel-milter through Postfix (signed before, refused after).
#
# Needs: build/segelctl (make), tests/pki/gen, Debian's python3; chromium
# for the rendering check (skipped without); Postfix etc. for the last part
# (skipped with SEGELCTL_NO_POSTFIX=1).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

bd=${SEGEL_BUILD_DIR:-${BUILD:-build}}
case $bd in /*) ;; *) bd=$SEGEL_ROOT/$bd ;; esac
CTL=$bd/segelctl
PY=/usr/bin/python3
D=tanjungpinangkota.go.id

[ -x "$CTL" ] || { echo "FAIL: segelctl: no $CTL (run make)"; exit 1; }
T=$(mktemp -d /tmp/segel-ctl.XXXXXX)
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; }
trap cleanup EXIT

if ! "$SEGEL_ROOT/tests/pki/gen" "$T/pki" >"$T/gen.log" 2>&1 &&
	[ ! -f "$T/pki/certs/alice@$D.p12" ]; then
	echo "FAIL: pki: tests/pki/gen failed"; cat "$T/gen.log"; exit 1
fi
P=$T/pki

# conf NAME CERT_DIR: a configuration for segelctl only.
conf() {
	cat >"$T/$1.conf" <<EOF
domain = "$D";
authserv_id = "mail.$D";
socket = "unix:$T/$1.sock";
user = "";
pki: { trust_file = "$P/trust.pem"; crl_dir = "$P/crl"; };
sign: { cert_dir = "$2"; };
audit: { file = "$T/$1.audit.log"; };
EOF
}

# run NAME ARGS...: segelctl with $T/NAME.conf; out in $T/out, err in $T/err.
run() {
	local c=$1
	shift
	"$CTL" -c "$T/$c.conf" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

expect_rc() { # NAME WANT
	if [ "$RC" -eq "$2" ]; then return 0; fi
	fail "$1" "exit $RC, want $2: $(head -c 400 "$T/err") $(head -c 400 "$T/out")"
	return 1
}

# ------------------------------------------------------------- list, show
conf full "$P/certs"
run full list
if expect_rc list 0; then
	"$PY" - "$T/out" <<'EOF' && pass "list: one aligned row per certificate, statuses" || fail list "$(cat "$T/out")"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
head = lines[0]
col = head.index("STATUS")
want = {"alice": "valid", "bob": "valid", "app": "valid", "ec": "valid",
        "legacy": "valid", "carol": "expired", "dave": "revoked",
        "frank": "not yet valid", "mallory": "untrusted"}
rows = {l.split("@")[0]: l for l in lines[1:]}
assert set(rows) == set(want), rows.keys()
for who, st in want.items():
    assert rows[who][col:].strip() == st, (who, rows[who][col:])
    assert rows[who].index("Test BSrE" if who != "mallory" else "Outside") == head.index("ISSUER"), who
EOF
fi

run full list --json
if expect_rc "list --json" 0; then
	"$PY" - "$T/out" "$P/staff/alice@$D.pem" <<'EOF' && pass "list --json: parsed, fields right" || fail "list --json" "$(head -c 600 "$T/out")"
import json, sys
from cryptography import x509
rows = {r["address"]: r for r in json.load(open(sys.argv[1]))}
assert len(rows) == 9
a = rows["alice@tanjungpinangkota.go.id"]
c = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
assert a["serial"] == "%X" % c.serial_number, (a["serial"], c.serial_number)
assert a["holder"] == "Alice Wulandari" and a["unit"] == "Dinas Komunikasi dan Informatika"
assert a["status"] == "valid" and 700 < a["days_left"] < 731
assert a["issuer"].startswith("CN=Test BSrE Issuing CA,")
assert rows["carol@tanjungpinangkota.go.id"]["days_left"] < 0
assert rows["carol@tanjungpinangkota.go.id"]["status"] == "expired"
assert rows["dave@tanjungpinangkota.go.id"]["status"] == "revoked"
assert "CRL" in rows["dave@tanjungpinangkota.go.id"]["problem"]
assert rows["mallory@tanjungpinangkota.go.id"]["status"] == "untrusted"
assert rows["frank@tanjungpinangkota.go.id"]["status"] == "not yet valid"
EOF
fi

run full show "Alice@$D"
if expect_rc "show" 0; then
	if grep -q "^serial: *[0-9A-F]\+$" "$T/out" && grep -q "trust anchor: CN=Test Root CA" "$T/out" &&
		grep -q "intermediate: CN=Test BSrE Issuing CA" "$T/out" && grep -q "CRL (.*): not listed" "$T/out" &&
		grep -q "^status: *valid" "$T/out"; then
		pass "show: fields, chain, revocation status"
	else
		fail show "$(cat "$T/out")"
	fi
fi
run full show "dave@$D"
grep -q "CRL (.*): REVOKED" "$T/out" && grep -q "^status: *revoked" "$T/out" &&
	pass "show: CRL revocation" || fail "show revoked" "$(cat "$T/out")"
run full show "nobody@$D"
expect_rc "show unknown" 1 && pass "show: unknown address exits 1"

# ------------------------------------------------------------- check
run full check
if expect_rc check 0; then
	n=$(grep -c "warning: " "$T/out")
	if [ "$n" -eq 4 ] && grep -q "carol@$D: expired" "$T/out" && grep -q "dave@$D: revoked" "$T/out"; then
		pass "check: store usable, 4 warnings (carol, dave, frank, mallory)"
	else
		fail check "$(cat "$T/out")"
	fi
fi
cp -a "$P/certs" "$T/unsafe"
chmod 0644 "$T/unsafe/bob@$D.pass"
conf unsafe "$T/unsafe"
run unsafe check
expect_rc "check unsafe" 78 && grep -q "bob@$D.pass: sign.cert_dir: unsafe permissions" "$T/out" &&
	pass "check: unsafe permissions exit 78 naming the file" || fail "check unsafe" "$(cat "$T/out")"

cp -a "$P/certs" "$T/broken"
echo wrong >"$T/broken/bob@$D.pass"
conf broken "$T/broken"
run broken list --json
"$PY" -c 'import json,sys; r={x["address"]:x for x in json.load(open(sys.argv[1]))}; b=r["bob@tanjungpinangkota.go.id"]; assert b["status"]=="broken" and "passphrase" in b["problem"], b' "$T/out" &&
	pass "list: wrong passphrase shows broken" || fail "list broken" "$(cat "$T/out")"

# ------------------------------------------------------------- expiring
mkdir -m 0700 "$T/fresh"
cp -p "$P/certs/alice@$D".* "$P/certs/bob@$D".* "$T/fresh/"
conf fresh "$T/fresh"
run fresh expiring --days 30
expect_rc "expiring none" 0 && pass "expiring --days 30: none, exit 0"
run fresh expiring --days 800
expect_rc "expiring 800" 1 && [ "$(grep -c "expires on" "$T/out")" -eq 2 ] &&
	pass "expiring --days 800: both listed, exit 1" || fail "expiring 800" "$(cat "$T/out")"
run full expiring --days 0
expect_rc "expiring expired" 1 && grep -q "carol@$D: expired on" "$T/out" && ! grep -q "dave@" "$T/out" &&
	pass "expiring: an expired certificate counts; a revoked one not" || fail "expiring expired" "$(cat "$T/out")"
run fresh expiring
expect_rc "expiring default" 0 && grep -q "no certificate expires within 30 days" "$T/out" &&
	pass "expiring without --days: the documented default, 30 days" || fail "expiring default" "$(cat "$T/out")"
run full expiring --days
expect_rc "expiring usage" 64 && grep -q "expiring \[--days N\]" "$T/err" &&
	pass "expiring --days without N: usage naming the form, exit 64" || fail "expiring usage" "$(cat "$T/err")"
"$CTL" --help >"$T/out" 2>"$T/err"
RC=$?
expect_rc "--help" 0 && grep -q "^usage: segelctl" "$T/out" && [ ! -s "$T/err" ] &&
	pass "segelctl --help: usage on stdout, nothing on stderr, exit 0" || fail "--help" "$(cat "$T/err")"
run full expiring --days x
expect_rc "expiring bad N" 64 && pass "expiring --days x: usage, exit 64"

# ------------------------------------------------------------- import
mkdir -m 0700 "$T/store"
conf imp "$T/store"
src=$P/certs
run imp import "$src/alice@$D.p12" --pass-file "$src/alice@$D.pass"
if expect_rc "import" 0; then
	m1=$(stat -c %a "$T/store/alice@$D.p12") m2=$(stat -c %a "$T/store/alice@$D.pass")
	if [ "$m1" = 600 ] && [ "$m2" = 600 ] && cmp -s "$src/alice@$D.p12" "$T/store/alice@$D.p12" &&
		cmp -s "$src/alice@$D.pass" "$T/store/alice@$D.pass"; then
		pass "import: stored as ADDRESS.p12/.pass, mode 0600"
	else
		fail import "modes $m1 $m2; $(ls -la "$T/store")"
	fi
fi
run imp check
expect_rc "import then check" 0 && pass "import: the store passes check"
run imp import "$src/alice@$D.p12" --pass-file "$src/alice@$D.pass"
expect_rc "re-import" 0 && [ "$(find "$T/store/history" -name "alice@$D-*-*.p12" | wc -l)" -eq 1 ] &&
	pass "import: renewal keeps the old one in history/" || fail "import history" "$(ls -la "$T/store" "$T/store/history" 2>&1)"

# A p12 for the partner (outside the domain) and one whose key does not match.
openssl pkcs12 -export -in "$P/partner/sari.pem" -inkey "$P/partner/sari.key" -certfile "$P/chain.pem" \
	-passout pass:sari -out "$T/sari.p12" 2>/dev/null
echo sari >"$T/sari.pass"
"$PY" - "$P/staff/bob@$D.pem" "$P/staff/alice@$D.key" "$T/mismatch.p12" <<'EOF'
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.serialization import pkcs12
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
k = s.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
open(sys.argv[3], "wb").write(pkcs12.serialize_key_and_certificates(
    None, k, None, [c], s.BestAvailableEncryption(b"x")))
EOF
echo x >"$T/mismatch.pass"
echo wrong >"$T/wrong.pass"

# name | p12 | pass file | extra args | reason (grep -E on stderr)
while IFS='|' read -r name p12 pass extra want; do
	before=$(ls -A "$T/store" | sort | tr '\n' ' ')
	# shellcheck disable=SC2086
	run imp import "$p12" --pass-file "$pass" $extra
	after=$(ls -A "$T/store" | sort | tr '\n' ' ')
	if [ "$RC" -eq 1 ] && grep -Eq "import refused: .*($want)" "$T/err" && [ "$before" = "$after" ]; then
		pass "import refuses $name: $(sed 's/.*\.p12: //' "$T/err")"
	else
		fail "import refuses $name" "exit $RC, store ${before} -> ${after}: $(cat "$T/err" "$T/out")"
	fi
done <<EOF
expired|$src/carol@$D.p12|$src/carol@$D.pass||expired
revoked (CRL)|$src/dave@$D.p12|$src/dave@$D.pass||revoked by its CA
untrusted|$src/mallory@$D.p12|$src/mallory@$D.pass||not trusted
not yet valid|$src/frank@$D.p12|$src/frank@$D.pass||not valid yet
wrong domain|$T/sari.p12|$T/sari.pass||no address in the domain
address not in the certificate|$src/bob@$D.p12|$src/bob@$D.pass|--address carol@$D|does not name carol@
address outside the domain|$src/bob@$D.p12|$src/bob@$D.pass|--address bob@example.org|does not name|not in the domain
wrong passphrase|$src/bob@$D.p12|$T/wrong.pass||wrong passphrase
key mismatch|$T/mismatch.p12|$T/mismatch.pass||matches the private key
not a PKCS#12 file|$T/wrong.pass|$T/wrong.pass||not a PKCS#12
EOF

run imp import "$src/legacy@$D.p12" --pass-file "$src/legacy@$D.pass"
expect_rc "import legacy" 0 && pass "import: legacy (RC2/3DES) PKCS#12 accepted"
# The passphrase asked on a terminal (script(1) gives it one), not echoed.
if command -v script >/dev/null 2>&1; then
	mkdir -m 0700 "$T/ttystore"
	sed "s|$T/store|$T/ttystore|; s|imp.audit.log|tty.audit.log|" "$T/imp.conf" >"$T/tty.conf"
	(sleep 1; cat "$src/ec@$D.pass") | script -qec "$CTL -c $T/tty.conf import $src/ec@$D.p12" /dev/null >"$T/tty.out" 2>&1
	if grep -q "^Passphrase of .*ec@$D.p12:" "$T/tty.out" && grep -q "imported" "$T/tty.out" &&
		! grep -qF "$(cat "$src/ec@$D.pass")" "$T/tty.out" && [ -f "$T/ttystore/ec@$D.p12" ]; then
		pass "import: passphrase asked on the terminal without echo"
	else
		fail "import tty" "$(cat -A "$T/tty.out" | head -5)"
	fi
fi
run imp import
expect_rc "import usage" 64 && pass "import without FILE: usage, exit 64"
run imp import "$src/bob@$D.p12" </dev/null
# no terminal here (setsid would be needed to have none at all)
[ "$RC" -ne 0 ] && pass "import without --pass-file and no passphrase: refused (exit $RC)" ||
	fail "import no pass" "exit 0"

# Run as root, segelctl hands new store files and a new audit log to the
# owner of their folder (the daemon's user), or a reload as that user fails.
if [ "$(id -u)" = 0 ]; then
	mkdir -m 0750 "$T/owned" && mkdir -m 0700 "$T/owned/store"
	chown -R nobody:nogroup "$T/owned"
	sed "s|$T/store|$T/owned/store|; s|$T/imp.audit.log|$T/owned/audit.log|" "$T/imp.conf" >"$T/owned.conf"
	run owned import "$src/alice@$D.p12" --pass-file "$src/alice@$D.pass"
	run owned import "$src/alice@$D.p12" --pass-file "$src/alice@$D.pass"
	own=$(stat -c '%U:%a' "$T/owned/store/alice@$D.p12" "$T/owned/store/alice@$D.pass" \
		"$T/owned/store/history" "$T/owned/audit.log" | tr '\n' ' ')
	[ "$own" = "nobody:600 nobody:600 nobody:700 nobody:600 " ] &&
		pass "import as root: files, history/ and audit log belong to the folder's owner" ||
		fail "import ownership" "$own"
fi

# ------------------------------------------------------------- revoke
run imp import "$src/bob@$D.p12" --pass-file "$src/bob@$D.pass"
bob_serial=$(openssl x509 -noout -serial -in "$P/staff/bob@$D.pem" | cut -d= -f2)
run imp revoke "bob@$D" --reason "laptop stolen"
if expect_rc revoke 0 && grep -q "^$bob_serial	CN=Test BSrE Issuing CA,O=Balai Besar Sertifikasi Elektronik (TEST),C=ID	bob@$D	20[0-9-]*T[0-9:]*Z	laptop stolen$" "$T/store/revoked.list"; then
	pass "revoke: serial and issuer on revoked.list"
else
	fail revoke "$(cat "$T/out" "$T/err" "$T/store/revoked.list" 2>&1)"
fi
grep -q "no running segel-milter with" "$T/out" && pass "revoke: says no daemon of this configuration runs" ||
	fail "revoke signal message" "$(cat "$T/out")"
run imp list --json
"$PY" -c 'import json,sys; r={x["address"]:x for x in json.load(open(sys.argv[1]))}; assert r["bob@tanjungpinangkota.go.id"]["status"]=="revoked"' "$T/out" &&
	pass "revoke: list shows revoked" || fail "revoke list" "$(cat "$T/out")"
run imp import "$src/bob@$D.p12" --pass-file "$src/bob@$D.pass"
expect_rc "re-import revoked" 1 && grep -q "revoked locally" "$T/err" &&
	pass "import refuses a locally revoked serial" || fail "re-import revoked" "$(cat "$T/err")"
run imp revoke "bob@$D"
expect_rc "revoke usage" 64 && pass "revoke without --reason: usage, exit 64"
run imp revoke "nobody@$D" --reason x
expect_rc "revoke unknown" 1 && pass "revoke: unknown address exits 1"

# revoke --cert: an entry whose p12 cannot be decoded (its passphrase lost)
# is revoked by the CA's copy of the certificate; a passphrase found again
# does not bring it back.
mkdir -m 0700 "$T/lost"
conf lost "$T/lost"
run lost import "$src/ec@$D.p12" --pass-file "$src/ec@$D.pass"
echo "not the passphrase" >"$T/lost/ec@$D.pass"
run lost revoke "ec@$D" --reason "passphrase lost"
expect_rc "revoke unreadable" 1 && grep -q -- "--cert FILE" "$T/err" &&
	pass "revoke: an entry that cannot be read asks for --cert" || fail "revoke unreadable" "$(cat "$T/err")"
run lost revoke "ec@$D" --reason "passphrase lost" --cert "$P/staff/bob@$D.pem"
expect_rc "revoke --cert other" 1 && grep -q "does not name ec@$D" "$T/err" &&
	pass "revoke --cert: a certificate of another address is refused" || fail "revoke --cert other" "$(cat "$T/err")"
ec_serial=$(openssl x509 -noout -serial -in "$P/staff/ec@$D.pem" | cut -d= -f2)
run lost revoke "EC@$D" --reason "passphrase lost" --cert "$P/staff/ec@$D.pem"
expect_rc "revoke --cert" 0 && grep -q "^$ec_serial	CN=Test BSrE Issuing CA,.*	ec@$D	.*	passphrase lost$" "$T/lost/revoked.list" &&
	grep -q '"event":"revoke"' "$T/lost.audit.log" &&
	pass "revoke --cert: serial and issuer from the CA's copy on revoked.list, audited" ||
	fail "revoke --cert" "$(cat "$T/out" "$T/err" "$T/lost/revoked.list" 2>&1)"
cp "$src/ec@$D.pass" "$T/lost/ec@$D.pass"
run lost list --json
"$PY" -c 'import json,sys; r={x["address"]:x for x in json.load(open(sys.argv[1]))}; assert r["ec@tanjungpinangkota.go.id"]["status"]=="revoked", r' "$T/out" &&
	pass "revoke --cert: the passphrase found again does not bring it back" || fail "revoke --cert restored" "$(cat "$T/out")"

# ------------------------------------------------------------- audit
run imp audit verify
expect_rc "audit verify" 0 && grep -q "5 records in 1 file, chain intact" "$T/out" &&
	pass "audit verify: imports and the revocation recorded, chain intact" || fail "audit verify" "$(cat "$T/out")"
"$PY" - "$T/imp.audit.log" <<'EOF' && pass "audit: admin records (event, role, serial, operator)" || fail "audit records" "$(cat "$T/imp.audit.log")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ev = [(r["event"], r["sender"]) for r in recs]
assert ev == [("import", "alice@tanjungpinangkota.go.id")] * 2 + [
    ("import", "legacy@tanjungpinangkota.go.id"), ("import", "bob@tanjungpinangkota.go.id"),
    ("revoke", "bob@tanjungpinangkota.go.id")], ev
assert all(r["role"] == "admin" and r["login"] and r["cert_serial"] for r in recs)
assert recs[-1]["reason"] == "laptop stolen"
EOF
cp "$T/imp.audit.log" "$T/imp.audit.log.good"
sed -i '3s/legacy@/legacY@/' "$T/imp.audit.log"
run imp audit verify
expect_rc "audit tampered" 1 && grep -q "imp.audit.log:4: prev hash mismatch" "$T/out" &&
	pass "audit verify: a one-byte edit of record 3 is named at line 4, exit 1" || fail "audit tampered" "$(cat "$T/out")"
cp "$T/imp.audit.log.good" "$T/imp.audit.log"
sed -i '2d' "$T/imp.audit.log"
run imp audit verify
expect_rc "audit deleted" 1 && grep -q "imp.audit.log:2: prev hash mismatch" "$T/out" &&
	pass "audit verify: a deleted record is named" || fail "audit deleted" "$(cat "$T/out")"
cp "$T/imp.audit.log.good" "$T/imp.audit.log"

run imp
expect_rc "no command" 64 && pass "no command: usage, exit 64"
run imp frobnicate
expect_rc "unknown command" 64 && pass "unknown command: usage, exit 64"
"$CTL" -c "$T/none.conf" list >/dev/null 2>&1
[ $? -eq 78 ] && pass "missing configuration: exit 78" || fail "missing conf" "not 78"

# ------------------------------------------------------------- report
# A prepared audit log, chained here in Python (an independent check of the
# chain's definition): in the period 2026-05-01 .. 2026-10-31 alice signs 7,
# bob 3, app 5; refusals 2 x expired, 1 x login; incoming pass 6, fail 2,
# none 1; one revocation. Records before and after the period are noise.
conf rep "$P/certs"
"$PY" - "$T/rep.audit.log" <<'EOF'
import hashlib, json, sys
D = "tanjungpinangkota.go.id"
U = {"alice": "Dinas Komunikasi dan Informatika", "bob": "Bagian Umum",
     "app": "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia"}
recs = []
def rec(t, **kw):
    r = {"time": t}
    for k in ("event", "queue_id", "message_id", "role", "sender", "login",
              "cert_serial", "result", "reason", "client", "unit"):
        r[k] = kw.get(k)
    recs.append(r)
rec("2026-04-30T23:59:59Z", event="sign", role="outbound", sender="alice@" + D, result="signed", unit=U["alice"])
n = 0
for who, k in (("alice", 7), ("bob", 3), ("app", 5)):
    for i in range(k):
        n += 1
        rec("2026-%02d-%02dT08:%02d:00Z" % (5 + n % 6, 1 + n, n), event="sign", role="outbound",
            sender="%s <%s@%s>" % (who.title(), who, D), login=who + "@" + D, result="signed",
            unit=U[who], queue_id="Q%d" % n)
for i in range(2):
    rec("2026-06-0%dT09:00:00Z" % (i + 1), event="refuse", role="outbound", sender="carol@" + D,
        result="550 5.7.1", reason="no usable certificate (expired)")
rec("2026-07-01T09:00:00Z", event="refuse", role="outbound", sender="bob@" + D,
    result="550 5.7.1", reason="login may not sign as From")
for res, k in (("pass", 6), ("fail", 2), ("none", 1)):
    for i in range(k):
        rec("2026-08-%02dT10:00:00Z" % (i + 1), event="verify", role="inbound",
            sender="x@kepriprov.go.id", result=res)
rec("2026-09-15T12:00:00Z", event="revoke", role="admin", sender="dave@" + D, login="officer",
    cert_serial="ABCDEF", result="revoked", reason="left the service")
rec("2026-11-01T00:00:00Z", event="sign", role="outbound", sender="bob@" + D, result="signed", unit=U["bob"])
# rotated once: the oldest 12 records in .1, the chain running across
prev, lines = "0" * 64, []
for r in recs:
    r["prev"] = prev
    line = json.dumps(r, ensure_ascii=False, separators=(",", ":"))
    prev = hashlib.sha256(line.encode()).hexdigest()
    lines.append(line + "\n")
open(sys.argv[1] + ".1", "w").write("".join(lines[:12]))
open(sys.argv[1], "w").write("".join(lines[12:]))
EOF
run rep audit verify
expect_rc "report log verifies" 0 && grep -q "30 records in 2 files, chain intact" "$T/out" &&
	pass "audit verify accepts a chain computed independently (Python), across a rotation" ||
	fail "report log verify" "$(cat "$T/out")"

run rep report --since 2026-05-01 --until 2026-10-31 --html "$T/report.html"
if expect_rc report 0; then
	"$PY" - "$T/out" <<'EOF' && pass "report: text figures (per sender, unit, refusals, incoming, revocations, expiring)" || { fail report "see below"; cat "$T/out"; }
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
def fig(label, unit):
    m = re.search(r"^  %s\s+(\d+) %s$" % (re.escape(label), unit), t, re.M)
    assert m, (label, unit)
    return int(m.group(1))
assert "Messages signed, per sender: 15" in t
assert fig("alice@tanjungpinangkota.go.id", "signed") == 7
assert fig("app@tanjungpinangkota.go.id", "signed") == 5
assert fig("bob@tanjungpinangkota.go.id", "signed") == 3
assert fig("Dinas Komunikasi dan Informatika", "signed") == 7
assert fig("Bagian Umum", "signed") == 3
assert "Refusals, by reason: 3" in t
assert fig("no usable certificate (expired)", "refused") == 2
assert fig("login may not sign as From", "refused") == 1
assert fig("pass", "messages") == 6 and fig("fail", "messages") == 2 and fig("none", "messages") == 1
assert "Revocations: 1" in t and "dave@tanjungpinangkota.go.id" in t and "left the service" in t
assert re.search(r"Certificates expiring within 90 days of \S+: 1\ncarol@", t)
assert t.index("alice@") < t.index("app@") < t.index("bob@")   # largest first
EOF
fi

if [ -s "$T/report.html" ]; then
	"$PY" - "$T/report.html" <<'EOF' && pass "report --html: self-contained, SVG bar lengths proportional to the figures" || fail "report html" "$(head -c 800 "$T/report.html")"
import re, sys
h = open(sys.argv[1], encoding="utf-8").read()
assert "<script" not in h and "http://" not in h.replace('xmlns="http://www.w3.org/2000/svg"', "")
assert "https://" not in h and "<link" not in h and "@import" not in h
bars = re.findall(r'<rect class="bar" x="0" y="\d+" width="(\d+)" height="22" fill="[^"]+" data-value="(\d+)" data-label="([^"]*)"', h)
got = {}
for w, v, l in bars:
    got.setdefault(l, []).append((int(w), int(v)))
assert got["alice@tanjungpinangkota.go.id"] == [(560, 7)], got
assert got["bob@tanjungpinangkota.go.id"] == [(240, 3)]
assert got["app@tanjungpinangkota.go.id"] == [(400, 5)]
assert got["no usable certificate (expired)"] == [(560, 2)]
assert got["login may not sign as From"] == [(280, 1)]
assert got["pass"] == [(560, 6)] and got["fail"] == [(187, 2)] and got["none"] == [(93, 1)]
for sec in ("signed-sender", "signed-unit", "refusals", "incoming"):
    assert 'id="%s"' % sec in h
EOF
fi

CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
	skip "report rendered in headless Chromium" "chromium not installed (apt-get install chromium)"
else
	prof=$(mktemp -d "$T/chrome.XXXXXX")
	timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
		--screenshot="$T/report.png" --window-size=1200,1600 "file://$T/report.html" >"$T/chrome.log" 2>&1
	if "$PY" - "$T/report.png" <<'EOF'; then
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (1200, 1600), (w, h)
i, idat = 8, b""
while i < len(d):
    n, = struct.unpack(">I", d[i:i + 4]); t = d[i + 4:i + 8]
    if t == b"IDAT":
        idat += d[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
# a blank page compresses to almost nothing and has one or two byte values
assert len(set(raw)) > 20 and len(idat) > 20000, (len(set(raw)), len(idat))
EOF
		pass "report: headless Chromium screenshot (1200x1600) is not blank"
	else
		fail "report screenshot" "$(tail -5 "$T/chrome.log")"
	fi
	if command -v tesseract >/dev/null 2>&1 && [ -s "$T/report.png" ]; then
		tesseract "$T/report.png" "$T/ocr" >/dev/null 2>&1
		# the OCR text holds the headings, totals and each bar's "label: N"
		if "$PY" - "$T/ocr.txt" <<'EOF'; then
import re, sys
t = open(sys.argv[1], encoding="utf-8", errors="replace").read()
want = [r"signed per sender \(15\)", r"signed per unit \(15\)", r"Refusals by reason \(3\)",
        r"by result \(9\)", r"alice@tanjungpinangkota\.go\.id: 7", r"app@tanjungpinangkota\.go\.id: 5",
        r"bob@tanjungpinangkota\.go\.id: 3", r"Bagian Umum: 3", r"\(expired\): 2", r"sign as From: 1",
        r"pass: 6", r"fail: 2", r"none: 1", r"Revocations \(1\)"]
miss = [w for w in want if not re.search(w, t)]
assert not miss, miss
EOF
			pass "report: the screenshot, read back by tesseract, shows every figure"
		else
			fail "report OCR" "$(head -c 1200 "$T/ocr.txt")"
		fi
	else
		skip "report OCR" "tesseract not installed (the SVG bar lengths were checked instead)"
	fi
fi

# ------------------------------------------------------------- a running daemon
# The daemon logs the audit chain's head at start and at each reload; a head
# noted then is an anchor that `audit verify --anchor` finds in the chain.
anchor_e2e() {
	local heads h
	heads=$(sed -n 's/.*audit log .*: head \([0-9a-f]\{64\}\)$/\1/p' "$H/segel.log")
	if [ "$(printf '%s\n' "$heads" | grep -c .)" -ge 2 ]; then
		pass "e2e: the daemon logged the audit head at start and at the reload"
	else
		fail "e2e head logged" "$(grep 'audit log' "$H/segel.log")"
		return
	fi
	h=$(printf '%s\n' "$heads" | tail -n 1)
	"$CTL" -c "$H/segel.conf" audit verify --anchor "$h" >"$H/anchor.out" 2>&1 &&
		grep -q "anchor is record [0-9]* of [0-9]*" "$H/anchor.out" &&
		pass "e2e: audit verify --anchor finds the head logged at the reload" ||
		fail "e2e anchor" "$(cat "$H/anchor.out")"
	grep -q "head [0-9a-f]\{64\}" "$H/verify.out" &&
		pass "e2e: audit verify prints the current head" ||
		fail "e2e verify head" "$(cat "$H/verify.out")"
	h=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
	"$CTL" -c "$H/segel.conf" audit verify --anchor "$h" >"$H/anchor.out" 2>&1
	[ $? -eq 1 ] && grep -q "not in the chain" "$H/anchor.out" &&
		pass "e2e: an anchor the chain does not contain: BROKEN, exit 1" ||
		fail "e2e unknown anchor" "$(cat "$H/anchor.out")"
	"$CTL" -c "$H/segel.conf" audit verify --anchor xyz >"$H/anchor.out" 2>&1
	[ $? -eq 64 ] && pass "e2e: a malformed anchor is a usage error (64)" ||
		fail "e2e malformed anchor" "$(cat "$H/anchor.out")"
}

revocation_e2e() {
	local msg rc
	harness_start || { fail "revocation e2e" "harness_start failed"; return; }
	trap 'harness_stop; cleanup' EXIT
	msg=$H/m.eml
	printf 'From: Alice <alice@%s>\nTo: bob@%s\nSubject: surat %s\nMessage-ID: <%s@%s>\n\nIsi surat.\n' \
		"$DOMAIN" "$DOMAIN" 1 "rev1.$$" "$DOMAIN" >"$msg"
	send_sub alice "alice@$DOMAIN" "bob@$DOMAIN" "$msg"
	if sink_wait 1 30 && grep -qi "multipart/signed" "$(sink_last)"; then
		pass "e2e: alice's mail is signed before the revocation"
	else
		fail "e2e before" "$(last_reply)"
	fi
	"$CTL" -c "$H/segel.conf" revoke "alice@$DOMAIN" --reason "e2e test" >"$H/revoke.out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q "signalled segel-milter (pid $SEGEL_PID)" "$H/revoke.out" &&
		grep -q "segel-milter (pid $SEGEL_PID) reloaded: [0-9]* certificate" "$H/revoke.out"; then
		pass "e2e: revoke signalled the daemon of this configuration and waited for its reload (exit 0)"
	else
		fail "e2e signal" "exit $rc: $(cat "$H/revoke.out")"
	fi
	grep -q '"event":"reload".*"result":"loaded"' "$H/audit.log" &&
		pass "e2e: the reload is in the audit log" || fail "e2e reload record" "$(grep reload "$H/audit.log")"
	sed -i "s/surat 1/surat 2/; s/rev1/rev2/" "$msg"
	send_sub alice "alice@$DOMAIN" "bob@$DOMAIN" "$msg"
	if last_reply | grep -q "^550 5.7.1" && last_reply | grep -qi "revoked"; then
		pass "e2e: after the reload alice's mail is refused: $(last_reply | head -1)"
	else
		fail "e2e after" "$(last_reply)"
	fi
	"$CTL" -c "$H/segel.conf" audit verify >"$H/verify.out" 2>&1 &&
		grep -q '"event":"revoke"' "$H/audit.log" && grep -q '"event":"refuse"' "$H/audit.log" &&
		pass "e2e: daemon and segelctl records share one intact chain" ||
		fail "e2e audit" "$(cat "$H/verify.out")"
	anchor_e2e
	harness_stop
	trap cleanup EXIT
}
# ------------------------------------------------------------- a reload that fails
# Issue 17: segel.conf root-only while the daemon runs as another user.
# Every reload failed, and revoke said "signalled ... to reload", exit 0.
# Now revoke waits for the daemon's answer: exit 1, naming the cause; once
# the file is readable again, revoke (already revoked) makes it reload.
# The daemon alone (no MTA needed), as user nobody, like segel in production.
reload_fail_e2e() {
	local R=$T/rl pid i rc
	mkdir -p "$R/certs" && chmod 0711 "$T" && chmod 0755 "$R"
	cp "$P/trust.pem" "$R/trust.pem" && chmod 0644 "$R/trust.pem"
	cp -p "$P/certs/alice@$D".* "$P/certs/bob@$D".* "$R/certs/"
	chown -R nobody "$R/certs" && chmod 0700 "$R/certs"
	# the audit log's folder belongs to the daemon's user (/var/lib/segel)
	mkdir -m 0750 "$R/var" && chown nobody "$R/var"
	cat >"$R/segel.conf" <<EOF
domain = "$D";
socket = "unix:$R/s.sock";
user = "nobody";
pki: { trust_file = "trust.pem"; crl_dir = ""; };
sign: { cert_dir = "certs"; };
audit: { file = "var/audit.log"; };
archive: { dir = ""; };
limits: { tmp_dir = "/tmp"; };
EOF
	chmod 0644 "$R/segel.conf"
	"$bd/segel-milter" -f -c "$R/segel.conf" >"$R/log" 2>&1 &
	pid=$!
	for i in $(seq 1 100); do [ -S "$R/s.sock" ] && break; sleep 0.1; done
	if [ ! -S "$R/s.sock" ]; then
		fail "reload fails" "daemon did not start: $(tail -5 "$R/log")"
		kill "$pid" 2>/dev/null; return
	fi
	sleep 0.3
	chmod 0600 "$R/segel.conf"	# root-only, as make install once left it
	"$CTL" -c "$R/segel.conf" revoke "bob@$D" --reason "left" >"$R/out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] && grep -qF "segel-milter (pid $pid) did NOT take the change: reload failed: $R/segel.conf: cannot read: Permission denied" "$R/out" &&
		pass "a reload that fails (segel.conf unreadable by the daemon): revoke exits 1 naming the cause" ||
		fail "reload fails" "exit $rc: $(cat "$R/out")"
	grep -qF "reload failed ($R/segel.conf: cannot read: Permission denied)" "$R/log" &&
		pass "the daemon logs the real cause, not a syntax error" || fail "reload fails log" "$(grep reload "$R/log")"
	chmod 0644 "$R/segel.conf"
	"$CTL" -c "$R/segel.conf" revoke "bob@$D" --reason "left" >"$R/out" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && grep -q "already revoked" "$R/out" && grep -q "segel-milter (pid $pid) reloaded: [0-9]* certificate" "$R/out" &&
		pass "once readable: revoke again makes the daemon reload, exit 0" || fail "reload fixed" "exit $rc: $(cat "$R/out")"
	grep -q "bob@$D: revoked" "$R/log" && grep -q "configuration loaded (reload): [0-9]* certificate" "$R/log" &&
		pass "the daemon reloaded, and bob's certificate is revoked in it" ||
		fail "reloaded store" "$(tail -5 "$R/log")"
	kill "$pid"; wait "$pid" 2>/dev/null
}
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	skip "a reload that fails" "needs root and user nobody (the daemon drops to it)"
elif [ ! -x "$bd/segel-milter" ]; then
	skip "a reload that fails" "needs build/segel-milter"
else
	reload_fail_e2e
fi

if [ "${SEGELCTL_NO_POSTFIX:-0}" = 1 ]; then
	skip "revocation in a running daemon" "SEGELCTL_NO_POSTFIX=1"
elif [ ! -x "$bd/segel-milter" ] || ! command -v postfix >/dev/null 2>&1; then
	skip "revocation in a running daemon" "needs build/segel-milter and postfix"
else
	revocation_e2e
fi

finish
