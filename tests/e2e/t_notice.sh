#!/bin/bash
# t_notice.sh - notices to the people a certificate concerns (Pasal 18(4),
# 19(2)), through the harness's private Postfix: `segelctl expiring
# --notify` and `segelctl revoke` hand their mail to Postfix's own sendmail
# (lifecycle.sendmail with -C, the private instance), it passes segel as
# local mail and reaches the sink.
#
# A certificate for hana@ that ends in 10 days; segelctl runs now and, under
# faketime, 4 and 9.5 days later: the 14-, 7- and 1-day notices arrive once
# each, addressed to hana@ and worded in Indonesian and English, with a
# summary to the officer (bob@, who has a certificate: every notice is
# signed with bob's certificate by segelctl, with segel's signing code, and
# openssl cms -verify accepts it; the daemon does not sign local mail here,
# sign.trusted_hosts is empty); a second run at the same time sends nothing. The revocation notice
# goes to the owner with a copy to the officer, reason included. Bad
# lifecycle values are reported as FILE:LINE: key: problem with exit 78.
. "$(dirname "$0")/lib.sh"

harness_start || { fail harness_start "see above"; finish; }

CTL=$(dirname "$SEGEL_BIN")/segelctl
O=$H/notice
HANA=hana@$DOMAIN
OFFICER=bob@$DOMAIN
mkdir -p "$O"

# hana's certificate, issued by BSrE, ending in 10 days, into the store.
cat >"$O/hana.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
extendedKeyUsage=emailProtection
subjectAltName=email:$HANA
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
pass_=$(openssl rand -hex 12)
if openssl req -new -newkey rsa:2048 -nodes -keyout "$O/hana.key" \
	-subj "/C=ID/O=Pemerintah Kota Tanjungpinang/OU=Bagian Umum/CN=Hana Lestari/emailAddress=$HANA" \
	-out "$O/hana.csr" 2>"$O/gen.log" &&
	openssl x509 -req -in "$O/hana.csr" -CA "$PKI/bsre.pem" -CAkey "$PKI/bsre.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 10 -sha256 -extfile "$O/hana.ext" \
		-out "$O/hana.pem" 2>>"$O/gen.log" &&
	openssl pkcs12 -export -inkey "$O/hana.key" -in "$O/hana.pem" -certfile "$PKI/bsre.pem" \
		-passout "pass:$pass_" -out "$PKI/certs/$HANA.p12" 2>>"$O/gen.log"; then
	printf '%s\n' "$pass_" >"$PKI/certs/$HANA.pass"
	chmod 0600 "$PKI/certs/$HANA.p12" "$PKI/certs/$HANA.pass"
else
	fail "hana's certificate" "$(tail -3 "$O/gen.log")"
	finish
fi
SERIAL=$(openssl x509 -noout -serial -in "$O/hana.pem" | cut -d= -f2)
END=$(date -u -d "$(openssl x509 -noout -enddate -in "$O/hana.pem" | cut -d= -f2)" +%Y-%m-%d)

segel_conf_set lifecycle.officer "\"$OFFICER\""
segel_conf_set lifecycle.sendmail "\"/usr/sbin/sendmail -C $PF_CONF -t -i\""
segel_conf_set lifecycle.state_file "\"$H/notices.state\""
segel_conf_set sign.trusted_hosts '[ ]'
segel_reload || fail "reload with the lifecycle group" "$(tail -3 "$H/segel.log")"

# run LABEL [faketime offset in seconds]: segelctl expiring --notify (output in $O/LABEL.out).
run() {
	local pre=()
	[ -n "${2:-}" ] && pre=(faketime -f "$2")
	"${pre[@]}" "$CTL" -c "$H/segel.conf" expiring --notify >"$O/$1.out" 2>&1
	echo $? >"$O/$1.rc"
}

# notice SUBJECT-PART: the newest sink file whose Subject has it (waits).
notice() {
	local f i
	for i in $(seq 1 150); do
		f=$(grep -l "^Subject: .*$1" "$H/sink"/* 2>/dev/null | xargs -r ls -t | head -n 1)
		[ -n "$f" ] && queue_empty && { echo "$f"; return 0; }
		sleep 0.2
	done
	return 1
}

# text FILE: the decoded text of the message's text/plain part.
text() {
	"$H_PY" - "$1" <<'EOF2'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
for part in m.walk():
    if part.get_content_type() == 'text/plain':
        print(part.get_content())
EOF2
}

# signed_by_officer FILE: segel signed it with the officer's certificate.
signed_by_officer() {
	grep -qi '^Content-Type: multipart/signed' "$1" && verify_openssl "$1" -signer "$O/signer.pem" &&
		openssl x509 -in "$O/signer.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "email:$OFFICER"
}

# check_owner FILE DAYS: hana's notice for DAYS days left, both languages.
check_owner() {
	local f=$1 d=$2 s=s t
	[ "$d" = 1 ] && s=
	t=$O/text.$d
	text "$f" >"$t"
	[ "$(sink_rcpts "$f")" = "$HANA" ] &&
		[ "$(fields "$f" To)" = "$HANA" ] &&
		fields "$f" From | grep -q "<$OFFICER>" &&
		fields "$f" Subject | grep -q "berakhir dalam $d hari / Your electronic certificate expires in $d day$s" &&
		grep -q "Yth. Hana Lestari" "$t" && grep -q "Dear Hana Lestari" "$t" &&
		grep -q "^  nomor seri:  $SERIAL$" "$t" && grep -q "^  serial:      $SERIAL$" "$t" &&
		grep -q "berakhir dalam $d hari:$" "$t" && grep -q "expires in $d day$s:$" "$t" &&
		grep -q "^  berakhir:    $END$" "$t" && grep -q "^  expires on:  $END$" "$t" &&
		grep -q "petugas pendaftaran (OP), $OFFICER" "$t" &&
		grep -q "registration officer (OP), $OFFICER" "$t"
}

# ------------------------------------------------------------ 14 days
n0=$(sink_count)
run now
if grep -qx 0 "$O/now.rc" && grep -q "^$HANA: 14-day notice sent (expires in 10 days)" "$O/now.out" &&
	grep -q "^$OFFICER: summary of 1 notice sent" "$O/now.out"; then
	pass "expiring --notify: the 14-day notice and the officer's summary sent, exit 0"
else
	fail "expiring --notify now" "$(cat "$O/now.out")"
fi
grep -q "alice@$DOMAIN" "$O/now.out" &&
	fail "only hana is due" "$(cat "$O/now.out")" ||
	pass "certificates far from their end (alice, bob, ...) get no notice"
if sink_wait $((n0 + 2)) 60 && f=$(notice "in 10 days") && check_owner "$f" 10; then
	pass "hana's notice arrived: to her alone, from the officer, Indonesian and English, serial and days right"
else
	fail "hana's 14-day notice" "$(ls "$H/sink" | wc -l) in sink; $(tail -3 "$H/maillog")"
fi
if [ -n "${f:-}" ] && signed_by_officer "$f"; then
	pass "the owner's notice is signed with the officer's certificate (openssl cms -verify)"
else
	fail "owner's notice signed" "$(head -3 "$H/last.verify" 2>/dev/null)"
fi
if s=$(notice "Summary: 1 electronic certificate expiring soon") &&
	[ "$(sink_rcpts "$s")" = "$OFFICER" ] &&
	text "$s" | grep -q "^  $HANA (Hana Lestari), seri/serial $SERIAL: .*, 10 hari/days$" &&
	fields "$s" Subject | grep -q "^Ringkasan: 1 sertifikat elektronik segera berakhir"; then
	pass "the officer's summary arrived, listing hana with serial and days left"
else
	fail "officer's summary" "$(ls -t "$H/sink" | head -3)"
fi
[ -n "${s:-}" ] && signed_by_officer "$s" &&
	pass "the summary is signed with the officer's certificate" ||
	fail "summary signed" "$(head -3 "$H/last.verify" 2>/dev/null)"

# ------------------------------------------------------------ not twice
n1=$(sink_count)
run again
sleep 3
if grep -q "^$HANA: the 14-day notice was already sent" "$O/again.out" &&
	! grep -q "notice sent\|summary of" "$O/again.out" && queue_empty &&
	[ "$(sink_count)" = "$n1" ]; then
	pass "a second run at the same threshold sends nothing (state file)"
else
	fail "no notice twice" "$(cat "$O/again.out"); sink $n1 -> $(sink_count)"
fi
grep -q "^$SERIAL	$HANA	14	" "$H/notices.state" &&
	[ "$(stat -c %a "$H/notices.state")" = 600 ] &&
	pass "the state file records serial, address, threshold (0600)" ||
	fail "state file" "$(cat "$H/notices.state" 2>&1)"

# ------------------------------------------------------------ 7 and 1 days
n2=$(sink_count)
run plus4 "+345600"
if grep -q "^$HANA: 7-day notice sent (expires in 6 days)" "$O/plus4.out" &&
	sink_wait $((n2 + 2)) 60 && f=$(notice "in 6 days") && check_owner "$f" 6; then
	pass "4 days later: the 7-day notice (6 days left) arrives"
else
	fail "7-day notice" "$(cat "$O/plus4.out")"
fi
n3=$(sink_count)
run plus9 "+820800"
if grep -q "^$HANA: 1-day notice sent (expires in 1 day)" "$O/plus9.out" &&
	sink_wait $((n3 + 2)) 60 && f=$(notice "in 1 day\$") && check_owner "$f" 1; then
	pass "9.5 days later: the 1-day notice arrives"
else
	fail "1-day notice" "$(cat "$O/plus9.out")"
fi
run plus9b "+824400"
grep -q "^$HANA: the 1-day notice was already sent" "$O/plus9b.out" &&
	pass "the 1-day notice is not sent twice either" ||
	fail "1-day twice" "$(cat "$O/plus9b.out")"

# ------------------------------------------------------------ failure
segel_conf_set lifecycle.sendmail '"/nonexistent/sendmail -t"'
rm -f "$H/notices.state"
run broken
if grep -qx 1 "$O/broken.rc" && grep -q "^$HANA: notice NOT sent: lifecycle.sendmail: cannot run /nonexistent/sendmail" "$O/broken.out" &&
	[ ! -s "$H/notices.state" ]; then
	pass "a notice that cannot be sent: exit 1, said, not recorded (tried again next run)"
else
	fail "send failure" "rc $(cat "$O/broken.rc"): $(cat "$O/broken.out")"
fi
segel_conf_set lifecycle.sendmail "\"/usr/sbin/sendmail -C $PF_CONF -t -i\""

# ------------------------------------------------------------ revoke
n4=$(sink_count)
"$CTL" -c "$H/segel.conf" revoke "$HANA" --reason "kunci hilang / key lost" >"$O/revoke.out" 2>&1
echo $? >"$O/revoke.rc"
if grep -qx 0 "$O/revoke.rc" && grep -q "^notice sent to $HANA, copy to $OFFICER" "$O/revoke.out"; then
	pass "revoke: done, notice sent to the owner with a copy to the officer"
else
	fail "revoke" "rc $(cat "$O/revoke.rc"): $(cat "$O/revoke.out")"
fi
if sink_wait $((n4 + 1)) 60 && f=$(notice "telah dicabut / Your electronic certificate has been revoked") &&
	[ "$(sink_rcpts "$f" | sort | tr '\n' ' ')" = "$OFFICER $HANA " ] &&
	[ "$(fields "$f" To)" = "$HANA" ] && [ "$(fields "$f" Cc)" = "$OFFICER" ] &&
	text "$f" >"$O/text.revoke" &&
	grep -q "^  alasan:      kunci hilang / key lost$" "$O/text.revoke" &&
	grep -q "^  reason:      kunci hilang / key lost$" "$O/text.revoke" &&
	grep -q "^  nomor seri:  $SERIAL$" "$O/text.revoke" && grep -q "^  serial:      $SERIAL$" "$O/text.revoke" &&
	grep -q "telah dicabut" "$O/text.revoke" && grep -q "was revoked" "$O/text.revoke"; then
	pass "the revocation notice arrived at owner and officer, reason and serial in both languages"
else
	fail "revocation notice" "$(sink_count) in sink; $(tail -2 "$H/maillog")"
fi
[ -n "${f:-}" ] && signed_by_officer "$f" &&
	pass "the revocation notice is signed with the officer's certificate" ||
	fail "revocation notice signed" "$(head -3 "$H/last.verify" 2>/dev/null)"

if grep -q "role=outbound from=$OFFICER.*action=signed" "$H/segel.log"; then
	fail "the daemon signed local mail" "$(grep "from=$OFFICER" "$H/segel.log" | tail -1)"
else
	pass "the daemon signed none of it (local mail untrusted): the signatures are segelctl's"
fi

# ------------------------------------------------------------ bad values
cp "$H/segel.conf" "$O/bad.conf"
sed -i "s|^\(\s*\)officer = .*;  # lifecycle.officer|\1officer = \"not an address\";  # lifecycle.officer|" "$O/bad.conf"
sed -i "s|^\(\s*\)sendmail = .*;  # lifecycle.sendmail|\1sendmail = \"sendmail -t\";  # lifecycle.sendmail\n  notify_days = [ 30, 0, 400 ];  # lifecycle.notify_days|" "$O/bad.conf"
"$SEGEL_BIN" -n -c "$O/bad.conf" >"$O/bad.out" 2>&1
rc=$?
ln=$(grep -n "lifecycle.officer" "$O/bad.conf" | cut -d: -f1)
if [ "$rc" = 78 ] &&
	grep -q "$O/bad.conf:$ln: lifecycle.officer: \"not an address\" is not a plain e-mail address" "$O/bad.out" &&
	grep -q "bad.conf:[0-9]*: lifecycle.sendmail: \"sendmail -t\": must start with the absolute path" "$O/bad.out" &&
	grep -q "bad.conf:[0-9]*: lifecycle.notify_days: 0: must be 1 to 365 days" "$O/bad.out" &&
	grep -q "bad.conf:[0-9]*: lifecycle.notify_days: 400: must be 1 to 365 days" "$O/bad.out"; then
	pass "bad lifecycle values: FILE:LINE: key: problem for each, exit 78"
else
	fail "bad lifecycle values" "rc $rc: $(cat "$O/bad.out")"
fi

finish
