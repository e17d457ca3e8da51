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

segel_conf_set pki.trust_file "\"$H/pki/shapes/trust.pem\""
segel_conf_set pki.crl_dir "\"$H/pki/shapes/crl-sepkey\""
segel_reload >/dev/null || fail reload "$(tail -n 3 "$H/segel.log")"
r=$(submit sepkey_dave dave)
[ "$r" = 550 ] && pass "CRL by a separate CRL-signing key: dave refused" || fail "sepkey dave" "got $(last_reply | head -n 1)"
r=$(submit sepkey_alice alice)
[ "$r" = 250 ] && pass "CRL by a separate CRL-signing key: alice signs" || fail "sepkey alice" "got $(last_reply | head -n 1)"
finish
