#!/bin/bash
# t_crl.sh - issue 14, parts 1 and 2, through the daemon on a real Postfix:
#   - segelctl crl update fetches a CRL from a loopback HTTP server
#     (tests/httpd.py), checks it, installs it and makes the daemon reload:
#     a certificate revoked at its CA stops being used for signing, with no
#     one copying a file;
#   - a replayed older CRL is refused (exit 1, the kept CRL stays);
#   - a CRL from an issuer not in trust_file is refused;
#   - the stale-CRL rule: crl_dir's CRL 2 days past nextUpdate, crl_grace
#     1h: alice's mail waits (451); crl_grace 3d: signed;
#   - the separate-key CRL shape: dave refused (550 revoked).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
HTTPD=
# set before harness_start, which chains it after its own
trap '[ -z "$HTTPD" ] || kill "$HTTPD" 2>/dev/null || true' EXIT
harness_start
TOP=$(cd "$here/../.." && pwd)
W=$H/crl
mkdir -p "$W/www"
DOMAIN=tanjungpinangkota.go.id
TO=kepala@kepriprov.go.id
CTL=${BUILD:-build}/segelctl
[ -x "$CTL" ] || CTL=$TOP/$CTL

msg() { # NAME FROM
	printf 'From: %s\r\nTo: %s\r\nSubject: t_crl %s\r\nMessage-ID: <%s.%s@t-crl.example>\r\n\r\nSurat uji %s.\r\n' \
		"$2" "$TO" "$1" "$1" "$$" "$1" >"$W/$1.eml"
}
code() { last_reply | head -n 1 | cut -c1-3; }
submit() { msg "$1" "$2@$DOMAIN"; send_sub "$2" "$2@$DOMAIN" "$TO" "$W/$1.eml" >/dev/null 2>&1 || true; code; }

# A CRL of BSrE: crl NUMBER LAST_UPDATE_DAYS_AGO OUT [ADDRESS...] (revoked)
crl() {
	/usr/bin/python3 - "$TOP/tests/pki" "$H/pki" "$@" <<'PY'
import datetime, sys
sys.path.insert(0, sys.argv[1])
import gen
from cryptography import x509
from cryptography.hazmat.primitives import serialization
pki, num, ago, out, addrs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6:]
ld = lambda p: open(pki + "/" + p, "rb").read()
bsre = x509.load_pem_x509_certificate(ld("bsre.pem"))
key = serialization.load_pem_private_key(ld("bsre.key"), None)
rev = [(x509.load_pem_x509_certificate(ld("staff/%s.pem" % a)).serial_number, gen.NOW - gen.DAY) for a in addrs]
last = gen.NOW - ago * gen.DAY
open(out, "wb").write(gen.crl(bsre, key, rev, last, last + 30 * gen.DAY, num))
PY
}

# the fixture server
/usr/bin/python3 "$TOP/tests/httpd.py" --root "$W/www" --port-file "$W/port" &
HTTPD=$!
for i in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
PORT=$(cat "$W/port")
URL="http://127.0.0.1:$PORT/bsre.crl"

# trust_file: root and BSrE's issuing CA (the signer of its CRL)
cat "$H/pki/trust.pem" "$H/pki/chain.pem" >"$W/trust.pem"
mkdir -p "$W/crldir"
cp "$H/pki/crl/root.crl.pem" "$W/crldir/"
crl 2 1 "$W/crldir/bsre.crl.pem" "dave@$DOMAIN"
segel_conf_set pki.trust_file "\"$W/trust.pem\""
segel_conf_set pki.crl_dir "\"$W/crldir\""
segel_conf_set pki.crl_urls "[ \"$URL\" ]"
segel_reload >/dev/null || fail reload "$(tail -n 3 "$H/segel.log")"

r=$(submit before alice)
[ "$r" = 250 ] && pass "alice signs before the revocation" || fail "alice before" "got $r"

# the CA revokes alice: a newer CRL at the distribution point
crl 3 0 "$W/www/bsre.crl" "dave@$DOMAIN" "alice@$DOMAIN"
if "$CTL" -c "$H/segel.conf" crl update >"$W/upd.out" 2>&1 &&
	grep -q "$URL: updated" "$W/upd.out" && grep -q "reloaded" "$W/upd.out"; then
	pass "crl update: fetched, installed, daemon reloaded"
else
	fail "crl update" "$(cat "$W/upd.out")"
fi
r=$(submit after alice)
[ "$r" = 550 ] && last_reply | grep -q revoked && pass "alice refused after crl update: $(last_reply | head -n 1 | cut -c1-80)" ||
	fail "alice after" "got $(last_reply | head -n 1)"
grep -q '"event":"crl-update".*"result":"ok"' "$H/audit.log" && pass "audit log: crl-update ok" ||
	fail "audit crl-update" "$(grep crl-update "$H/audit.log" || echo none)"
grep -q "GET /bsre.crl" "$W/www/requests.log" && pass "the fixture served the CRL" || fail "requests.log" "no GET"

# a replayed older CRL (number 1, listing nobody) is refused
crl 1 5 "$W/www/bsre.crl"
before=$(sha256sum "$W"/crldir/fetched-*.crl | cut -d' ' -f1)
if ! "$CTL" -c "$H/segel.conf" crl update >"$W/replay.out" 2>&1 &&
	grep -q "FAILED: older than the CRL kept" "$W/replay.out" &&
	[ "$(sha256sum "$W"/crldir/fetched-*.crl | cut -d' ' -f1)" = "$before" ]; then
	pass "replayed old CRL refused, exit 1, the kept CRL unchanged"
else
	fail "replay" "$(cat "$W/replay.out")"
fi
"$CTL" -c "$H/segel.conf" check >"$W/check.out" 2>&1 || true
grep -q "segelctl crl update at .*older than" "$W/check.out" && pass "segelctl check shows the failed update" ||
	fail "check" "$(cat "$W/check.out")"

# a CRL whose issuer is not in trust_file
segel_conf_set pki.trust_file "\"$H/pki/trust.pem\""
crl 9 0 "$W/www/bsre.crl" "alice@$DOMAIN"
"$CTL" -c "$H/segel.conf" crl update >"$W/untrusted.out" 2>&1 || true
grep -q "FAILED: its issuer is not in pki.trust_file" "$W/untrusted.out" && pass "CRL of an issuer outside trust_file refused" ||
	fail "untrusted issuer" "$(cat "$W/untrusted.out")"

# a distribution point that is not there, and one that hangs
segel_conf_set pki.crl_urls "[ \"http://127.0.0.1:$PORT/gone.crl\", \"http://127.0.0.1:$PORT/slow/bsre.crl\" ]"
SEGELCTL_CRL_TIMEOUT=2 "$CTL" -c "$H/segel.conf" crl update >"$W/down.out" 2>&1 && rc=0 || rc=$?
if [ "$rc" = 1 ] && grep -q "gone.crl: FAILED: HTTP 404" "$W/down.out" &&
	grep -q "slow/bsre.crl: FAILED: .*timed out" "$W/down.out"; then
	pass "crl update: a 404 and a server that hangs (2 s) both FAILED, exit 1"
else
	fail "404/slow" "rc $rc: $(cat "$W/down.out")"
fi
# the report counts the runs: ok, replay, untrusted, 404/slow
"$CTL" -c "$H/segel.conf" report --since 2000-01-01 >"$W/report.out" 2>&1 || true
grep -q "^CRL updates: 4, failed: 3" "$W/report.out" && pass "segelctl report: CRL updates: 4, failed: 3" ||
	fail "report" "$(grep -A4 'CRL updates' "$W/report.out" || tail -n 5 "$W/report.out")"
segel_conf_unset pki.crl_urls

# the stale-CRL rule and the separate-key shape
/usr/bin/python3 "$TOP/tests/pki/crlshapes.py" "$H/pki" >/dev/null
segel_conf_set pki.crl_dir "\"$H/pki/shapes/crl-stale\""
segel_conf_set pki.crl_grace '"1h"'
segel_reload >/dev/null || fail reload "$(tail -n 3 "$H/segel.log")"
r=$(submit stale alice)
[ "$r" = 451 ] && last_reply | grep -q "revocation unknown" && pass "stale CRL past crl_grace: alice waits: $(last_reply | head -n 1 | cut -c1-90)" ||
	fail "stale 1h" "got $(last_reply | head -n 1)"
r=$(submit stale_dave dave)
[ "$r" = 550 ] && pass "stale CRL still revokes dave (550)" || fail "stale dave" "got $(last_reply | head -n 1)"
segel_conf_set pki.crl_grace '"3d"'
segel_reload >/dev/null || fail reload "$(tail -n 3 "$H/segel.log")"
r=$(submit grace alice)
[ "$r" = 250 ] && pass "stale CRL within crl_grace 3d: alice signs" || fail "grace 3d" "got $(last_reply | head -n 1)"

# signed_msg NAME FROM CERT KEY [CRLFILE]: $W/NAME.eml, multipart/signed by
# CERT/KEY (with BSrE's certificate), carrying CRLFILE in the SignedData's
# crls field when given (the openssl command cannot add one: the DER is
# spliced below; the crls field is outside what is signed).
signed_msg() {
	local name=$1 from=$2 cert=$3 key=$4 crlf=${5:-}
	printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nSurat uji %s.\r\n' "$name" >"$W/$name.txt"
	openssl cms -sign -binary -in "$W/$name.txt" -signer "$cert" -inkey "$key" \
		-certfile "$H/pki/chain.pem" -outform DER -out "$W/$name.p7s"
	/usr/bin/python3 - "$W/$name.p7s" "$crlf" "$W/$name.txt" "$from" "$TO" "$name.$$" >"$W/$name.eml" <<'PY'
import base64, sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
p7s, crlf, txt, frm, to, mid = sys.argv[1:]
der = open(p7s, "rb").read()

def tlv(b, i):          # (tag, start of value, end of value)
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n

def enc(tag, v):
    n = len(v)
    if n < 0x80:
        return bytes([tag, n]) + v
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + v

if crlf:
    crl = x509.load_pem_x509_crl(open(crlf, "rb").read()).public_bytes(serialization.Encoding.DER)
    _, ci0, ci1 = tlv(der, 0)                 # ContentInfo
    _, o0, o1 = tlv(der, ci0)                 # contentType OID
    _, e0, e1 = tlv(der, o1)                  # [0] EXPLICIT
    _, s0, s1 = tlv(der, e0)                  # SignedData
    kids, i = [], s0
    while i < s1:
        t, v0, v1 = tlv(der, i)
        kids.append((t, der[i:v1]))
        i = v1
    out = b""
    for j, (t, raw) in enumerate(kids):
        if j == len(kids) - 1:                # signerInfos, after crls [1]
            out += enc(0xA1, crl)
        out += raw
    der = enc(0x30, der[ci0:o1] + enc(0xA0, enc(0x30, out)))
body = open(txt, "rb").read()
sig = base64.encodebytes(der).replace(b"\n", b"\r\n")
sys.stdout.buffer.write(
    ("From: %s\r\nTo: %s\r\nSubject: t_crl\r\nMessage-ID: <%s@t-crl.example>\r\n"
     "MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/"
     "pkcs7-signature\"; micalg=sha-256; boundary=\"BB\"\r\n\r\n--BB\r\n"
     % (frm, to, mid)).encode() + body +
    b"\r\n--BB\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n" + sig + b"--BB--\r\n")
PY
}

# inbound NAME FROM: sends $W/NAME.eml from outside; the result word of
# its Authentication-Results (pass, fail, ...) and the comment.
inbound() {
	local f i
	send_in "$2" "$TO" "$W/$1.eml" >/dev/null 2>&1 || { echo "refused $(code)"; return; }
	for i in $(seq 60); do
		f=$(grep -l "Message-ID: <$1.$$@t-crl.example>" "$H"/sink/* 2>/dev/null | head -n 1) && break
		sleep 0.5
	done
	[ -n "$f" ] || { echo "not delivered"; return; }
	sink_message "$f" "$W/$1.out"
	tr -d '\r\n\t' <"$W/$1.out" | grep -o 'smime=[a-z]* ([^)]*)' | head -n 1
}

# ivan (the indirect shape's certificate) in the store, with a login
cp -p "$H/pki/shapes/ivan@$DOMAIN.p12" "$H/pki/shapes/ivan@$DOMAIN.pass" "$H/pki/certs/"
printf %s rahasia-ivan | saslpasswd2 -f "$H/sasl/sasldb2" -p -c -u "$DOMAIN" ivan
chown postfix:postfix "$H/sasl/sasldb2"
segel_conf_set pki.trust_file "\"$H/pki/shapes/trust.pem\""
segel_conf_set pki.crl_grace '"24h"'
S=$H/pki/staff
# shape, crl_dir, the revoked one, certificate folder
for row in "separate CRL-signing key|crl-sepkey|dave|$S" \
	"indirect CRL|crl-indirect|ivan|$H/pki/shapes" \
	"delta CRL|crl-delta|dave|$S"; do
	IFS='|' read -r shape dir who wdir <<<"$row"
	segel_conf_set pki.crl_dir "\"$H/pki/shapes/$dir\""
	segel_reload >/dev/null || fail "reload $shape" "$(tail -n 3 "$H/segel.log")"
	r=$(submit "${dir}_out_$who" "$who")
	[ "$r" = 550 ] && last_reply | grep -q revoked && pass "$shape: signing for revoked $who refused (550)" ||
		fail "$shape: signing $who" "got $(last_reply | head -n 1)"
	r=$(submit "${dir}_out_alice" alice)
	[ "$r" = 250 ] && pass "$shape: alice still signs" || fail "$shape: alice" "got $(last_reply | head -n 1)"
	signed_msg "${dir}_in_$who" "$who@$DOMAIN" "$wdir/$who@$DOMAIN.pem" "$wdir/$who@$DOMAIN.key"
	r=$(inbound "${dir}_in_$who" "$who@$DOMAIN")
	case $r in "smime=fail (certificate revoked"*) pass "$shape: inbound signature by revoked $who: $r" ;;
	*) fail "$shape: inbound $who" "$r" ;; esac
	signed_msg "${dir}_in_sari" "sari@kepriprov.go.id" "$H/pki/partner/sari.pem" "$H/pki/partner/sari.key"
	r=$(inbound "${dir}_in_sari" "sari@kepriprov.go.id")
	case $r in "smime=pass"*) pass "$shape: inbound signature by sari passes" ;;
	*) fail "$shape: inbound sari" "$r" ;; esac
done

# a CRL carried in the message next to crl_dir's (signing has no such CRL)
segel_conf_set pki.trust_file "\"$H/pki/trust.pem\""
segel_conf_set pki.crl_dir "\"$H/pki/shapes/crl-old\""
segel_reload >/dev/null || fail "reload crl-old" "$(tail -n 3 "$H/segel.log")"
signed_msg msg_plain "dave@$DOMAIN" "$S/dave@$DOMAIN.pem" "$S/dave@$DOMAIN.key"
r=$(inbound msg_plain "dave@$DOMAIN")
case $r in "smime=pass"*) pass "crl_dir from before dave's revocation, no CRL carried: pass (the control)" ;;
*) fail "control" "$r" ;; esac
signed_msg msg_new "dave@$DOMAIN" "$S/dave@$DOMAIN.pem" "$S/dave@$DOMAIN.key" "$H/pki/shapes/crl-new.pem"
r=$(inbound msg_new "dave@$DOMAIN")
case $r in "smime=fail (certificate revoked"*) pass "a newer CRL carried in the message revokes dave: $r" ;;
*) fail "carried newer CRL" "$r" ;; esac
segel_conf_set pki.crl_dir "\"$H/pki/crl\""
segel_reload >/dev/null || fail "reload crl" "$(tail -n 3 "$H/segel.log")"
signed_msg msg_old "dave@$DOMAIN" "$S/dave@$DOMAIN.pem" "$S/dave@$DOMAIN.key" "$H/pki/shapes/crl-old/bsre.crl.pem"
r=$(inbound msg_old "dave@$DOMAIN")
case $r in "smime=fail (certificate revoked"*) pass "an older CRL carried in the message does not hide crl_dir's revocation: $r" ;;
*) fail "carried older CRL" "$r" ;; esac

# the stale rule, inbound: sari's signature is temperror, not pass
segel_conf_set pki.crl_dir "\"$H/pki/shapes/crl-stale\""
segel_conf_set pki.crl_grace '"1h"'
segel_reload >/dev/null || fail "reload stale" "$(tail -n 3 "$H/segel.log")"
signed_msg stale_sari "sari@kepriprov.go.id" "$H/pki/partner/sari.pem" "$H/pki/partner/sari.key"
r=$(inbound stale_sari "sari@kepriprov.go.id")
case $r in "smime=temperror (revocation status unknown"*) pass "stale CRL past crl_grace: inbound $r" ;;
*) fail "stale inbound" "$r" ;; esac
kill "$HTTPD" 2>/dev/null || true
wait "$HTTPD" 2>/dev/null || true
HTTPD=
finish
