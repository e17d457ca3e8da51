#!/bin/bash
# End to end: TLS enforcement for the official domain through the private
# Postfix (issue 3): plaintext to the domain refused with 530 5.7.0 and not
# delivered; the same over STARTTLS delivered; plaintext from the trusted
# application host with a From in the domain refused; plaintext between two
# outside parties unaffected; local submission with sendmail delivered;
# tls.enforce = false turns the check off.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
harness_start

msg() {	# from to subject
	local f=$H/msg-$RANDOM.eml
	printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n\r\nHello.\r\n' \
	    "$1" "$2" "$3" "$RANDOM$RANDOM" >"$f"
	echo "$f"
}

n0=$(sink_count)
m=$(msg budi@example.org bob@$DOMAIN "plaintext to the domain")
send_in budi@example.org bob@$DOMAIN "$m" --plain
r=$(last_reply)
if [[ $r == 530\ 5.7.0* ]] && [[ $r == *STARTTLS* ]] && [[ $r == *Wajib* ]]; then
	pass "plaintext to the domain refused with 530 5.7.0 (English / Indonesian)"
else
	fail "plaintext to the domain refused" "reply: $r"
fi
grep -q '"event":"refuse".*"result":"530 5.7.0","reason":"plaintext"' "$H/audit.log" &&
	pass "the plaintext refusal is an audit record" ||
	fail "plaintext refusal audited" "$(tail -n 2 "$H/audit.log")"
sleep 1
[ "$(sink_count)" -eq "$n0" ] && pass "refused plaintext mail not delivered" ||
	fail "refused plaintext mail not delivered" "sink has $(sink_count) (was $n0)"

m=$(msg budi@example.org bob@$DOMAIN "same over STARTTLS")
if send_in budi@example.org bob@$DOMAIN "$m" --tls && sink_wait $((n0 + 1)); then
	pass "the same over STARTTLS delivered"
else
	fail "STARTTLS delivery" "$(last_reply)"
fi
grep -Eq "role=inbound .*tls=TLSv1\.[23] cipher=[A-Z0-9_-]+ bits=[0-9]+" "$H/segel.log" &&
	pass "the session's TLS protocol, cipher and bits are in the log line" ||
	fail "TLS facts logged" "$(grep role= "$H/segel.log" | tail -2)"

m=$(msg app@$DOMAIN x@example.org "app host plaintext")
send_in app@$DOMAIN x@example.org "$m" --plain --li 127.0.0.1
r=$(last_reply)
[[ $r == 530\ 5.7.0* ]] && pass "plaintext from the trusted application host in the domain refused" ||
	fail "plaintext from app host" "reply: $r"

# Envelope outside, From header in the domain: refused at end of headers.
m=$(msg "Alice <alice@$DOMAIN>" x@example.org "From header in domain")
send_in bounce@example.org x@example.org "$m" --plain
r=$(last_reply)
[[ $r == 530\ 5.7.0* ]] && pass "plaintext with a From header in the domain refused" ||
	fail "plaintext From header" "reply: $r"
# The same when only the display name reads as a city address.
m=$(msg "walikota@$DOMAIN <boss@example.net>" x@example.org "From display in domain")
send_in bounce@example.org x@example.org "$m" --plain
r=$(last_reply)
[[ $r == 530\ 5.7.0* ]] && pass "plaintext with a city address in the From display name refused" ||
	fail "plaintext From display name" "reply: $r"

n1=$(sink_count)
m=$(msg budi@example.net siti@example.org "outside to outside")
if send_in budi@example.net siti@example.org "$m" --plain && sink_wait $((n1 + 1)); then
	pass "plaintext between two outside parties unaffected"
else
	fail "outside to outside" "$(last_reply)"
fi

n2=$(sink_count)
m=$(msg "Aplikasi <app@$DOMAIN>" bob@$DOMAIN "local submission")
if send_local app@$DOMAIN bob@$DOMAIN "$m" && sink_wait $((n2 + 1)); then
	pass "local submission with sendmail delivered (never crossed a network)"
else
	fail "local submission" "$(cat "$H/last.sendmail" 2>/dev/null); $(tail -3 "$H/maillog")"
fi
grep -q "tls=local" "$H/segel.log" && pass "local submission recognised as local" ||
	fail "local recognised" "$(grep role= "$H/segel.log" | tail -2)"

segel_conf_set tls.enforce false
if segel_reload; then
	n3=$(sink_count)
	m=$(msg budi@example.org bob@$DOMAIN "enforcement off")
	if send_in budi@example.org bob@$DOMAIN "$m" --plain && sink_wait $((n3 + 1)); then
		pass "tls.enforce = false lets plaintext through"
	else
		fail "tls.enforce = false" "$(last_reply)"
	fi
else
	fail "reload with tls.enforce = false" "$(tail -3 "$H/segel.log")"
fi
finish
