#!/bin/bash
# t_sign.sh - outbound signing end to end: alice submits (STARTTLS + AUTH)
# each awkward message of tests/e2e/msgs/ (and a few generated ones), segel
# signs it, Postfix relays it to a sink that does not announce 8BITMIME (so
# any 8-bit left would be downgraded and break the signature), and then:
#   - openssl cms -verify and gpgsm --verify accept what the sink received;
#   - tests/interop/sign-judge: 7-bit, lines <= 998, multipart/signed with
#     sha-256, the footer once in each text part a reader sees, attachments
#     decoding to the bytes that were sent;
#   - already signed and encrypted mail passes untouched (t_client_signed.sh
#     checks the client's signature: issue 13);
#   - refusals: a login sending as someone else, expired, revoked, untrusted
#     and missing certificates (550 5.7.1 with the reason);
#   - mail claiming alice from an outside client is never signed;
#   - a 50 MB attachment is signed without the daemon holding it in memory.
# Bare-LF input cannot be produced over SMTP; test_sign covers it.
. "$(dirname "$0")/lib.sh"

MSGS=$E2E_DIR/msgs
JUDGE=$SEGEL_ROOT/tests/interop/sign-judge
TO=warga@example.org
delivered=0

harness_start || { fail harness_start "see above"; finish; }
FOOTER=$(sed -n 's/^  footer = "\(.*\)";.*/\1/p' "$H/segel.conf")
[ -n "$FOOTER" ] || { fail footer_configured "no sign.footer in $H/segel.conf"; finish; }

# The newest sink file with "Subject: t_sign NAME"; waits for delivery.
delivered_file() {
	delivered=$((delivered + 1))
	sink_wait "$delivered" "${2:-60}" || return 1
	sink_find "Subject: t_sign $1"
}

# signed_case NAME FILE VISIBLE [sign-judge args]: submit as alice, judge.
signed_case() {
	local name=$1 file=$2 vis=$3 f
	shift 3
	if ! send_sub alice "alice@$DOMAIN" "$TO" "$file"; then
		fail "$name" "submission refused: $(last_reply)"
		return
	fi
	if ! f=$(delivered_file "$name" 180); then
		fail "$name" "not delivered to the sink"
		return
	fi
	sink_message "$f" "$H/$name.out" --crlf
	if verify_openssl "$f"; then
		pass "${name}_openssl"
	else
		fail "${name}_openssl" "$(tail -n 3 "$H/last.verify" | tr '\n' ' ')"
	fi
	if verify_gpgsm "$f"; then
		pass "${name}_gpgsm"
	else
		fail "${name}_gpgsm" "$(grep -v '^$' "$H/last.verify" | tail -n 3 | tr '\n' ' ')"
	fi
	if "$JUDGE" "$H/$name.out" "$FOOTER" --visible "$vis" "$@" >"$H/$name.judge" 2>&1; then
		pass "${name}_content"
	else
		fail "${name}_content" "$(cat "$H/$name.judge")"
	fi
}

# A copy of FILE with alice replaced by WHO (From header and subject tag).
as_sender() {
	sed -e "s/alice@/$1@/g" -e "s/^Subject: t_sign .*/Subject: t_sign $2/" \
		"$MSGS/plain_ascii.eml" >"$H/$2.eml"
	echo "$H/$2.eml"
}

# ---------------------------------------------------------------- signed

signed_case plain_ascii "$MSGS/plain_ascii.eml" 1
signed_case utf8_8bit "$MSGS/utf8_8bit.eml" 1
signed_case latin1_qp "$MSGS/latin1_qp.eml" 1
signed_case html_only "$MSGS/html_only.eml" 1
signed_case alternative "$MSGS/alternative.eml" 2
printf 'attached text \303\251' >"$H/notes.txt"
signed_case nested "$MSGS/nested.eml" 2 --attach notes.txt "$H/notes.txt"
signed_case from_lines "$MSGS/from_lines.eml" 1
signed_case no_mime "$MSGS/no_mime.eml" 1
printf 'nama;kota\nAndr\303\251;Tanjungpinang' >"$H/data.csv"
signed_case 7bit_8bit "$MSGS/7bit_8bit.eml" 1 --attach data.csv "$H/data.csv"

# generated: trailing white space, a 3000-octet line, a binary "PDF"
{
	printf 'From: Alice <alice@%s>\nTo: %s\nSubject: t_sign trailing_ws\n' "$DOMAIN" "$TO"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
	printf 'spaces   \ntab\t\n \n\t \t\nend  \n'
} >"$H/trailing_ws.eml"
signed_case trailing_ws "$H/trailing_ws.eml" 1

{
	printf 'From: Alice <alice@%s>\nTo: %s\nSubject: t_sign long_lines\n' "$DOMAIN" "$TO"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
	printf 'Content-Transfer-Encoding: 8bit\n\n'
	"$H_PY" -c 'print(("kata " * 600) + "\u00e9")'
	printf 'short line\n'
} >"$H/long_lines.eml"
signed_case long_lines "$H/long_lines.eml" 1

# No CR, LF or NUL in the attachment: SMTP itself would not carry them.
"$H_PY" - "$H/doc.pdf" <<'EOF'
import random, sys
random.seed(7)
data = bytes(random.choice([b for b in range(1, 256) if b not in (10, 13)])
             for _ in range(200000))
open(sys.argv[1], "wb").write(b"%PDF-1.7 " + data)
EOF
{
	printf 'From: Alice <alice@%s>\nTo: %s\nSubject: t_sign mixed_pdf\n' "$DOMAIN" "$TO"
	printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="P"\n\n'
	printf -- '--P\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
	printf 'Terlampir dokumen \303\251.\n--P\n'
	printf 'Content-Type: application/pdf; name="doc.pdf"\n'
	printf 'Content-Disposition: attachment; filename="doc.pdf"\n'
	printf 'Content-Transfer-Encoding: binary\n\n'
	cat "$H/doc.pdf"
	printf '\n--P--\n'
} >"$H/mixed_pdf.eml"
signed_case mixed_pdf "$H/mixed_pdf.eml" 1 --attach doc.pdf "$H/doc.pdf"

# ---------------------------------------------------------------- untouched

# untouched_case NAME FILE: delivered, body byte for byte as submitted.
untouched_case() {
	local name=$1 file=$2 f rc
	if ! send_sub alice "alice@$DOMAIN" "$TO" "$file"; then
		fail "$name" "submission refused: $(last_reply)"
		return
	fi
	if ! f=$(delivered_file "$name"); then
		fail "$name" "not delivered to the sink"
		return
	fi
	sink_message "$f" "$H/$name.out"
	"$H_PY" - "$file" "$H/$name.out" <<'EOF'
import sys
def body(p):
    d = open(p, "rb").read().replace(b"\r\n", b"\n")
    return d[d.find(b"\n\n") + 2:].rstrip(b"\n")
sys.exit(0 if body(sys.argv[1]) == body(sys.argv[2]) else 1)
EOF
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$name" "body changed (compare $file and $H/$name.out)"
	elif grep -q '=_segel_' "$H/$name.out"; then
		fail "$name" "signed a second time"
	else
		pass "$name"
	fi
}

printf 'Sudah ditandatangani oleh klien surel.\n' >"$H/inner.txt"
openssl cms -sign -in "$H/inner.txt" -text -md sha256 \
	-signer "$PKI/staff/alice@$DOMAIN.pem" -inkey "$PKI/staff/alice@$DOMAIN.key" \
	-certfile "$PKI/chain.pem" -from "alice@$DOMAIN" -to "$TO" \
	-subject "t_sign already_signed" -out "$H/already_signed.eml" 2>"$H/cms.log" ||
	fail already_signed_prepare "$(cat "$H/cms.log")"
untouched_case already_signed "$H/already_signed.eml"
f=$(sink_find "Subject: t_sign already_signed")
if [ -n "$f" ] && verify_openssl "$f"; then
	pass already_signed_still_verifies
else
	fail already_signed_still_verifies "$(tail -n 2 "$H/last.verify" 2>/dev/null)"
fi

openssl cms -encrypt -in "$H/inner.txt" -aes256 -from "alice@$DOMAIN" -to "$TO" \
	-subject "t_sign encrypted" -out "$H/encrypted.eml" \
	"$PKI/partner/sari.pem" 2>"$H/cms.log" ||
	fail encrypted_prepare "$(cat "$H/cms.log")"
untouched_case encrypted "$H/encrypted.eml"

# ---------------------------------------------------------------- refusals

# refused NAME LOGIN FROM FILE WORD: 550 5.7.1 naming WORD, nothing delivered.
refused() {
	local name=$1 login=$2 from=$3 file=$4 word=$5 r
	send_sub "$login" "$from" "$TO" "$file"
	r=$(last_reply)
	if grep -q '^550[ -]5\.7\.1' <<<"$r" && grep -qi -- "$word" <<<"$r"; then
		pass "$name"
	else
		fail "$name" "reply: $r"
	fi
}

refused bob_as_alice bob "alice@$DOMAIN" "$(as_sender alice bob_as_alice)" "may not send as"
refused carol_expired carol "carol@$DOMAIN" "$(as_sender carol carol_expired)" expired
refused dave_revoked dave "dave@$DOMAIN" "$(as_sender dave dave_revoked)" revoked
refused mallory_untrusted mallory "mallory@$DOMAIN" "$(as_sender mallory mallory_untrusted)" untrusted
refused erin_no_certificate erin "erin@$DOMAIN" "$(as_sender erin erin_no_certificate)" none
sleep 1
if ! grep -qE 'Subject: t_sign (bob_as_alice|carol_expired|dave_revoked|mallory_untrusted|erin_no_certificate)' "$H/sink"/* 2>/dev/null; then
	pass refused_not_delivered
else
	fail refused_not_delivered "a refused message reached the sink"
fi

# An outside client claiming to be alice: never signed (delivered or not).
file=$(as_sender alice outside_claims_alice)
sed -i "s/^To: .*/To: staf@$DOMAIN/" "$file"
send_in "alice@$DOMAIN" "staf@$DOMAIN" "$file"
sleep 2
sink_wait "$delivered" 20 >/dev/null 2>&1
f=$(sink_find "Subject: t_sign outside_claims_alice")
if [ -n "$f" ] && grep -qi 'multipart/signed\|smime.p7s' "$f"; then
	fail outside_claims_alice_unsigned "signed: $f"
else
	pass outside_claims_alice_unsigned
	[ -n "$f" ] && delivered=$((delivered + 1))
fi

# ---------------------------------------------------------------- 50 MB

hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SEGEL_PID/status"; }
"$H_PY" - "$H/big.bin" <<'EOF'
import os, sys
open(sys.argv[1], "wb").write(os.urandom(50 * 1024 * 1024))
EOF
{
	printf 'From: Alice <alice@%s>\nTo: %s\nSubject: t_sign large_50mb\n' "$DOMAIN" "$TO"
	printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="G"\n\n'
	printf -- '--G\nContent-Type: text/plain\n\nBerkas besar terlampir.\n--G\n'
	printf 'Content-Type: application/octet-stream; name="big.bin"\n'
	printf 'Content-Disposition: attachment; filename="big.bin"\n'
	printf 'Content-Transfer-Encoding: base64\n\n'
	base64 -w 76 "$H/big.bin"
	printf -- '--G--\n'
} >"$H/large_50mb.eml"
before=$(hwm)
t0=$(date +%s)
signed_case large_50mb "$H/large_50mb.eml" 1 --attach big.bin "$H/big.bin"
t1=$(date +%s)
after=$(hwm)
echo "info: 50 MB attachment: submit+sign+relay $((t1 - t0)) s; segel-milter peak RSS ${before} kB before, ${after} kB after"
if [ -n "$after" ] && [ "$after" -lt $((before + 40 * 1024)) ]; then
	pass large_50mb_not_in_memory
else
	fail large_50mb_not_in_memory "peak RSS grew from ${before} kB to ${after} kB"
fi

finish
