#!/bin/bash
# t_records.sh - issue 13 parts 3 and 4 through the real Postfix: the
# archive bound to the audit chain, and RFC 3161 timestamps on the chain.
#
# Mail signed by segel is archived; its audit record names the file and the
# SHA-256 of its bytes (checked with sha256sum). `segelctl archive verify`
# finds nothing wrong, then an edited, a deleted and an added archive file;
# re-verifies each signature at its signing time (also three years on, with
# faketime, when the certificate has expired). A loopback TSA (`openssl ts
# -reply` behind tests/httpd.py, tests/pki's TSA certificate) stamps the
# chain (`segelctl audit stamp`); `audit verify` checks the stamps and names
# the first stamp covering each archived message. Then: TSA down (exit 69,
# mail still flows), an untrusted TSA (exit 1, nothing written), a token from an untrusted TSA and a token over
# another head put into the chain, and a chain rewritten after a stamp with
# every prev recomputed: each caught by audit verify, with no anchor.
#
# Needs: the e2e harness (Postfix, swaks), openssl, python3, faketime
# (that part skipped without).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TSA_PID=
stop_tsa() { [ -z "$TSA_PID" ] || kill "$TSA_PID" 2>/dev/null; TSA_PID=; }
trap 'stop_tsa' EXIT

harness_start || { fail harness_start "see above"; finish; }
bd=${SEGEL_BUILD_DIR:-${BUILD:-build}}
case $bd in /*) ;; *) bd=$SEGEL_ROOT/$bd ;; esac
CTL=$bd/segelctl
TOOL=$E2E_DIR/audit_tool.py
LOG=$H/audit.log
TO=warga@example.org
W=$H/tsa
delivered=0

# ctl ARGS: segelctl on the harness's configuration; output in $H/ctl.out,
# exit status in RC.
ctl() { "$CTL" -c "$H/segel.conf" "$@" >"$H/ctl.out" 2>&1; RC=$?; }
# has TEXT: the last segelctl output contains TEXT.
has() { grep -qF -- "$1" "$H/ctl.out"; }
out() { head -c 1500 "$H/ctl.out" | tr '\n' '|'; }

# tsa_config NAME CERT KEY: a TSA answering at /cmd/NAME.
tsa_config() {
	cat >"$W/$1.cnf" <<CNF
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
serial = $W/$1.serial
crypto_device = builtin
signer_cert = $2
signer_key = $3
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
	echo 01 >"$W/$1.serial"
	printf '#!/bin/sh\nexec openssl ts -reply -config %s -queryfile /dev/stdin -out /dev/stdout\n' \
		"$W/$1.cnf" >"$W/$1.cmd"
	chmod +x "$W/$1.cmd"
	echo application/timestamp-reply >"$W/$1.type"
}

start_tsa() {
	rm -f "$W/port"
	"$H_PY" "$SEGEL_ROOT/tests/httpd.py" --root "$W" --port-file "$W/port" &
	TSA_PID=$!
	for _ in $(seq 1 50); do [ -s "$W/port" ] && return 0; sleep 0.1; done
	return 1
}

# token_over HEX NAME: base64 of a token by TSA NAME over the imprint HEX.
token_over() {
	openssl ts -query -digest "$1" -sha256 -cert -out "$H/q.tsq" 2>/dev/null &&
		"$W/$2.cmd" <"$H/q.tsq" >"$H/r.tsr" 2>/dev/null &&
		openssl ts -reply -in "$H/r.tsr" -token_out -out "$H/tok.der" 2>/dev/null &&
		base64 -w0 "$H/tok.der"
}

# send_signed NAME [USER]: USER (alice) submits; waits for it in the sink.
send_signed() {
	local u=${2:-alice}
	sed -e "s/^Subject: .*/Subject: t_records $1/" -e "s/^From: .*/From: <$u@$DOMAIN>/" \
		"$E2E_DIR/msgs/plain_ascii.eml" >"$H/$1.eml"
	if ! send_sub "$u" "$u@$DOMAIN" "$TO" "$H/$1.eml"; then
		fail "$1" "submission refused: $(last_reply)"
		return 1
	fi
	delivered=$((delivered + 1))
	sink_wait "$delivered" 120 || { fail "$1" "not delivered"; return 1; }
	sink_find "Subject: t_records $1" >/dev/null
}

mkdir -p "$W"
tsa_config tsa "$PKI/tsa/tsa.pem" "$PKI/tsa/tsa.key"
tsa_config outside "$PKI/outside/tsa.pem" "$PKI/outside/tsa.key"
start_tsa || { fail tsa_start "tests/httpd.py did not start"; finish; }
TSA=http://127.0.0.1:$(cat "$W/port")/cmd
segel_conf_set audit.tsa_url "\"$TSA/tsa\""
segel_conf_set audit.tsa_trust "\"$PKI/tsa/ca.pem\""
# the daemon accepts the new keys
if segel_reload; then pass conf_keys_loaded; else fail conf_keys_loaded "$(tail -n 3 "$H/segel.log")"; fi

# ---------------------------------------------------- part 3: the archive
for m in one two three; do send_signed "$m" || finish; done
n=0 ok=0
while read -r rel sha; do
	n=$((n + 1))
	got=$(sha256sum "$H/archive/$rel" 2>/dev/null | cut -d' ' -f1)
	[ -n "$got" ] && [ "$got" = "$sha" ] && ok=$((ok + 1))
done < <("$H_PY" "$TOOL" archived "$LOG")
files=$(find "$H/archive" -type f -name '*.eml' | wc -l)
if [ "$n" -eq 3 ] && [ "$ok" -eq 3 ] && [ "$files" -eq 3 ]; then
	pass "audit_names_archive_file_and_sha256"
else
	fail "audit_names_archive_file_and_sha256" "$n records, $ok matching sha256sum, $files files"
fi
grep '"event":"sign"' "$LOG" | head -n 1 >"$H/sign.rec"
if grep -q '"archive":"[0-9]\{4\}/[0-9][0-9]/[0-9][0-9]/' "$H/sign.rec" &&
	grep -q '"archive_sha256":"[0-9a-f]\{64\}"' "$H/sign.rec"; then
	pass "audit_record_shape"
else
	fail "audit_record_shape" "$(cat "$H/sign.rec")"
fi

ctl archive verify --all
if [ "$RC" -eq 0 ] && [ "$(grep -c "^ok .*signature of alice@$DOMAIN valid at" "$H/ctl.out")" -eq 3 ] &&
	has "3 files recorded, 3 intact, 0 altered, 0 missing, 0 in no record" && has ": intact"; then
	pass "archive_verify_intact"
else
	fail "archive_verify_intact" "exit $RC: $(out)"
fi

# three years on alice's certificate has expired: the copies were still
# signed while it was valid (openssl at that date says otherwise)
if command -v faketime >/dev/null; then
	f1=$(find "$H/archive" -type f -name '*.eml' | sort | head -n 1)
	if faketime -f '+1100d' openssl cms -verify -in "$f1" -CAfile "$PKI/trust.pem" \
		-purpose smimesign -out /dev/null >/dev/null 2>&1; then
		fail "later_openssl_control" "openssl accepted an expired certificate three years on"
	else
		pass "later_openssl_control"
	fi
	faketime -f '+1100d' "$CTL" -c "$H/segel.conf" archive verify --all >"$H/ctl.out" 2>&1
	RC=$?
	if [ "$RC" -eq 0 ] && [ "$(grep -c "^ok .*valid at" "$H/ctl.out")" -eq 3 ]; then
		pass "archive_signatures_valid_at_signing_time_years_later"
	else
		fail "archive_signatures_valid_at_signing_time_years_later" "exit $RC: $(out)"
	fi
else
	skip "archive_signatures_valid_at_signing_time_years_later" "faketime not installed"
fi

# the report shows the archive's state
ctl report --since "$(date -u +%Y-%m-%d)" --html "$H/report.html"
if [ "$RC" -eq 0 ] && has "Archive:" && has "3 files recorded, 3 intact" &&
	grep -q "Archive (Pasal 12)" "$H/report.html"; then
	pass "report_archive_state"
else
	fail "report_archive_state" "exit $RC: $(out)"
fi

# edit one, delete one, add one
mapfile -t F < <(find "$H/archive" -type f -name '*.eml' | sort)
cp -a "$H/archive" "$H/archive.orig"
sed -i 's/Undangan rapat/Undangan rapaT/' "${F[0]}"
rm -f "${F[1]}"
cp "${F[2]}" "$(dirname "${F[2]}")/20990101T000000Z_FORGED_forged@x.eml"
ctl archive verify
r0=${F[0]#"$H/archive/"} r1=${F[1]#"$H/archive/"}
if [ "$RC" -eq 1 ] && has "ALTERED $r0" && has "MISSING $r1" &&
	has "UNRECORDED $(dirname "${F[2]#"$H/archive/"}")/20990101T000000Z_FORGED_forged@x.eml" &&
	has "1 altered, 1 missing, 1 in no record" && has "NOT INTACT"; then
	pass "archive_edit_delete_add_found"
else
	fail "archive_edit_delete_add_found" "exit $RC: $(out)"
fi
ctl report --since "$(date -u +%Y-%m-%d)"
if has "NOT INTACT" && has "ALTERED $r0"; then
	pass "report_shows_archive_damage"
else
	fail "report_shows_archive_damage" "$(out)"
fi
rm -rf "$H/archive"
mv "$H/archive.orig" "$H/archive"
ctl archive verify
[ "$RC" -eq 0 ] && pass "archive_restored_intact" || fail "archive_restored_intact" "exit $RC: $(out)"

# bob's certificate revoked after he signed: the copy's signature was
# valid when made; revoked before the signing time, it was not
# crl_revoking SECONDS: $PKI/crl/bsre.crl.pem also revokes bob's
# certificate, with revocationDate now+SECONDS.
crl_revoking() {
	"$H_PY" - "$PKI" "$1" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
p, delta = sys.argv[1], int(sys.argv[2])
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
ca = x509.load_pem_x509_certificate(open(p + "/bsre.pem", "rb").read())
key = serialization.load_pem_private_key(open(p + "/bsre.key", "rb").read(), None)
old = x509.load_pem_x509_crl(open(p + "/crl/bsre.crl.pem", "rb").read())
bob = x509.load_pem_x509_certificate(
    open(p + "/staff/bob@tanjungpinangkota.go.id.pem", "rb").read())
b = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
     .last_update(now - datetime.timedelta(days=1))
     .next_update(now + datetime.timedelta(days=30)))
for r in old:
    if r.serial_number != bob.serial_number:
        b = b.add_revoked_certificate(r)
b = b.add_revoked_certificate(x509.RevokedCertificateBuilder()
    .serial_number(bob.serial_number)
    .revocation_date(now + datetime.timedelta(seconds=delta)).build())
open(p + "/crl/bsre.crl.pem", "wb").write(
    b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
PY
}
send_signed bob_then_revoked bob || finish
cp "$PKI/crl/bsre.crl.pem" "$H/bsre.crl.orig"
sleep 2
crl_revoking 0
ctl archive verify
if [ "$RC" -eq 0 ] && has "REVOKED-SINCE" && has "after it" && has "certificate revoked since 1"; then
	pass "archive_revoked_after_signing_is_valid_when_made"
else
	fail "archive_revoked_after_signing_is_valid_when_made" "exit $RC: $(out)"
fi
crl_revoking -86400
ctl archive verify
if [ "$RC" -eq 1 ] && has "BAD-SIGNATURE" && has "not after the signature"; then
	pass "archive_revoked_before_signing_is_bad"
else
	fail "archive_revoked_before_signing_is_bad" "exit $RC: $(out)"
fi
cp "$H/bsre.crl.orig" "$PKI/crl/bsre.crl.pem"

# ---------------------------------------------------- part 4: stamps
ctl audit stamp
if [ "$RC" -eq 0 ] && has "stamped head"; then
	pass "stamp_ok"
else
	fail "stamp_ok" "exit $RC: $(out)"
fi
if grep -q "POST /cmd/tsa" "$W/requests.log" && tail -n 1 "$LOG" | grep -q '"event":"stamp".*"tsa_token":"'; then
	pass "stamp_record_appended"
else
	fail "stamp_record_appended" "$(tail -c 300 "$LOG")"
fi
# openssl, as a judge apart from segel: the token is over the head the
# record names, which is the SHA-256 of an earlier line of the log
"$H_PY" - "$LOG" "$H/stamp.der" >"$H/stamp.head" <<'PY'
import base64, hashlib, json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
s = json.loads(lines[-1])
head = s["reason"].split()[1].rstrip(",")
open(sys.argv[2], "wb").write(base64.b64decode(s["tsa_token"]))
ok = any(hashlib.sha256(l).hexdigest() == head for l in lines[:-1])
print(head if ok else "not-in-log")
PY
if [ "$(cat "$H/stamp.head")" != not-in-log ] &&
	openssl ts -verify -token_in -in "$H/stamp.der" -digest "$(cat "$H/stamp.head")" \
		-CAfile "$PKI/tsa/ca.pem" >"$H/ts.verify" 2>&1 && grep -q "Verification: OK" "$H/ts.verify"; then
	pass "stamp_token_verified_by_openssl_ts"
else
	fail "stamp_token_verified_by_openssl_ts" "$(cat "$H/stamp.head" "$H/ts.verify" | tr '\n' ' ')"
fi
ctl audit stamp
reqs=$(grep -c "POST /cmd/tsa" "$W/requests.log")
if [ "$RC" -eq 0 ] && has "nothing to stamp" && [ "$reqs" -eq 1 ]; then
	pass "stamp_nothing_new_no_request"
else
	fail "stamp_nothing_new_no_request" "exit $RC, $reqs requests: $(out)"
fi
send_signed four || finish
ctl audit verify
if [ "$RC" -eq 0 ] && has "chain intact" && [ "$(grep -c '^stamped .*first stamp' "$H/ctl.out")" -eq 4 ] &&
	[ "$(grep -c '^unstamped ' "$H/ctl.out")" -eq 1 ] && has "stamps: 1, 0 not valid"; then
	pass "verify_first_stamp_per_message"
else
	fail "verify_first_stamp_per_message" "exit $RC: $(out)"
fi
ctl audit stamp
ctl audit verify
if [ "$RC" -eq 0 ] && [ "$(grep -c '^stamped ' "$H/ctl.out")" -eq 5 ] && ! has "unstamped" &&
	has "stamps: 2, 0 not valid; archived messages 5, 5 covered"; then
	pass "second_stamp_covers_the_rest"
else
	fail "second_stamp_covers_the_rest" "exit $RC: $(out)"
fi

# TSA down: a clear message, exit 69, nothing written, mail flows
stop_tsa
send_signed five_tsa_down && pass "mail_flows_while_tsa_down"
size=$(stat -c %s "$LOG")
ctl audit stamp
if [ "$RC" -eq 69 ] && has "no stamp written" && has "$TSA/tsa" &&
	[ "$(stat -c %s "$LOG")" -eq "$size" ]; then
	pass "stamp_tsa_down"
else
	fail "stamp_tsa_down" "exit $RC: $(out)"
fi
start_tsa || { fail tsa_restart "httpd.py"; finish; }
TSA=http://127.0.0.1:$(cat "$W/port")/cmd

# an untrusted TSA (openssl ts -reply itself refuses to sign with a
# certificate whose timeStamping EKU is not critical): refused
for bad in outside; do
	segel_conf_set audit.tsa_url "\"$TSA/$bad\""
	ctl audit stamp
	if [ "$RC" -eq 1 ] && has "does not verify" && [ "$(stat -c %s "$LOG")" -eq "$size" ]; then
		pass "stamp_refused_$bad"
	else
		fail "stamp_refused_$bad" "exit $RC: $(out)"
	fi
done
segel_conf_set audit.tsa_url "\"$TSA/tsa\""
ctl audit stamp
[ "$RC" -eq 0 ] && pass "stamp_after_tsa_back" || fail "stamp_after_tsa_back" "exit $RC: $(out)"
ctl audit verify
[ "$RC" -eq 0 ] && has "stamps: 3, 0 not valid" && pass "verify_three_stamps" ||
	fail "verify_three_stamps" "exit $RC: $(out)"

# tokens put into the chain by hand (chained correctly, so only the token
# can be wrong): an untrusted TSA over the right head; the trusted TSA
# over another head
cp "$LOG" "$H/audit.good"
head=$(sha256sum < <(tail -n 1 "$LOG" | tr -d '\n') | cut -d' ' -f1)
for c in "untrusted_tsa outside $head" "other_head tsa $(openssl rand -hex 32)"; do
	set -- $c
	cp "$H/audit.good" "$LOG"
	if ! tok=$(token_over "$3" "$2"); then
		fail "token_$1" "openssl ts could not make the token"
		continue
	fi
	"$H_PY" "$TOOL" append-stamp "$LOG" "$tok"
	ctl audit verify
	case $1 in
	untrusted_tsa) why="does not verify" ;;
	other_head) why="is not the chain's head" ;;
	esac
	if [ "$RC" -eq 1 ] && has "chain intact" && has "BAD-STAMP" && has "$why"; then
		pass "verify_catches_token_$1"
	else
		fail "verify_catches_token_$1" "exit $RC: $(out)"
	fi
done

# the chain rewritten after the stamps, every prev recomputed: the plain
# chain check is satisfied, the stamps are not
cp "$H/audit.good" "$LOG"
"$H_PY" "$TOOL" rewrite "$LOG"
ctl audit verify
if [ "$RC" -eq 1 ] && has "chain intact" && has "BAD-STAMP" && has "is not the chain's head"; then
	pass "verify_catches_rewritten_chain"
else
	fail "verify_catches_rewritten_chain" "exit $RC: $(out)"
fi
# a stamp whose TSA time is before a record it covers (a record dated
# ahead, or a TSA clock behind)
"$H_PY" "$TOOL" append-future "$LOG"
ctl audit stamp
ctl audit verify
if [ "$RC" -eq 1 ] && has "BAD-STAMP" && has "is before records it covers"; then
	pass "verify_catches_stamp_before_its_records"
else
	fail "verify_catches_stamp_before_its_records" "exit $RC: $(out)"
fi
cp "$H/audit.good" "$LOG"
ctl audit verify
[ "$RC" -eq 0 ] && pass "verify_restored_chain" || fail "verify_restored_chain" "exit $RC: $(out)"

# a TSA certificate that has expired since: the stamps were made while it
# was valid (it lives five years)
if command -v faketime >/dev/null; then
	faketime -f '+2200d' "$CTL" -c "$H/segel.conf" audit verify >"$H/ctl.out" 2>&1
	RC=$?
	if [ "$RC" -eq 0 ] && has "stamps: 3, 0 not valid"; then
		pass "stamps_valid_after_tsa_cert_expired"
	else
		fail "stamps_valid_after_tsa_cert_expired" "exit $RC: $(out)"
	fi
else
	skip "stamps_valid_after_tsa_cert_expired" "faketime not installed"
fi

# configuration: a URL that is not http(s)
segel_conf_set audit.tsa_url '"ftp://tsa.example/"'
ctl check
if [ "$RC" -eq 78 ] && grep -q "segel.conf:[0-9]*: audit.tsa_url: .*must be an http:// or https:// URL" "$H/ctl.out"; then
	pass "conf_tsa_url_checked"
else
	fail "conf_tsa_url_checked" "exit $RC: $(out)"
fi
segel_conf_set audit.tsa_url "\"$TSA/tsa\""

finish
