#!/bin/bash
# End to end: segel's own signed output, arriving again from outside,
# verifies as smime=pass; and a message signed for a recipient inside the
# domain (the internal role) carries the result a verified inbound copy
# would get.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
harness_start
ID=mail.tanjungpinangkota.go.id
ar_ours() { grep -i -A6 "^Authentication-Results: *$ID;" "$1" | tr -d '\r'; }

printf 'From: Alice Wulandari <alice@%s>\r\nTo: warga@example.org\r\nSubject: undangan rapat\r\nMessage-ID: <rt1@%s>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nRapat koordinasi hari Kamis, ruang rapat lantai 2.\r\nTerima kasih.\r\n' \
    "$DOMAIN" "$DOMAIN" >"$H/rt1.eml"
n=$(sink_count)
if send_sub alice alice@$DOMAIN warga@example.org "$H/rt1.eml" && sink_wait $((n + 1)); then
	f=$(grep -l 'undangan rapat' "$H"/sink/* | head -n 1)
	sink_message "$f" "$H/rt1.signed"
	grep -qi '^Content-Type: multipart/signed' "$H/rt1.signed" && pass "alice's mail left signed" ||
		fail "alice's mail signed" "$(grep -i ^Content-Type "$H/rt1.signed")"
	[ -z "$(ar_ours "$H/rt1.signed")" ] && pass "no result header on mail to an outside recipient only" ||
		fail "no A-R outbound" "$(ar_ours "$H/rt1.signed")"
	# The same bytes come back in from outside, over STARTTLS.
	n=$(sink_count)
	if send_in alice@$DOMAIN bob@$DOMAIN "$H/rt1.signed" && sink_wait $((n + 1)); then
		g=$(ls -t "$H"/sink/* | head -n 1)
		sink_message "$g" "$H/rt1.back"
		ar=$(ar_ours "$H/rt1.back")
		if [[ $ar == *"smime=pass"* ]] && [[ $ar == *"body.smime-identifier=alice@$DOMAIN"* ]] &&
		    [[ $ar == *"body.smime-part=2"* ]]; then
			pass "segel's own signed output, back from outside: smime=pass for alice"
		else
			fail "own output verifies" "A-R: $ar"
		fi
	else
		fail "own output back in" "$(last_reply)"
	fi
else
	fail "alice's mail" "$(last_reply)"
fi

# Internal: alice to bob, both in the domain.
printf 'From: alice@%s\r\nTo: bob@%s\r\nSubject: internal memo\r\n\r\nMemo.\r\n' "$DOMAIN" "$DOMAIN" >"$H/rt2.eml"
n=$(sink_count)
if send_sub alice alice@$DOMAIN bob@$DOMAIN "$H/rt2.eml" && sink_wait $((n + 1)); then
	f=$(grep -l 'internal memo' "$H"/sink/* | head -n 1)
	sink_message "$f" "$H/rt2.out"
	ar=$(ar_ours "$H/rt2.out")
	if grep -qi '^Content-Type: multipart/signed' "$H/rt2.out" && [[ $ar == *"smime=pass"* ]] &&
	    [[ $ar == *"body.smime-identifier=alice@$DOMAIN"* ]] && [[ $ar == *"body.smime-serial="* ]]; then
		pass "internal mail signed and tagged smime=pass for the local recipient"
	else
		fail "internal mail" "A-R: $ar"
	fi
	[ "$(grep -ci "^Authentication-Results: *$ID;" "$H/rt2.out")" -eq 1 ] &&
		pass "exactly one result header of ours" || fail "one A-R" "$(grep -ci "^Authentication-Results" "$H/rt2.out")"
	verify_openssl "$H/rt2.out" && pass "internal copy verifies with openssl" ||
		fail "internal copy verifies" "$(tail -2 "$H/last.verify")"
	grep -q "role=internal .*action=signed" "$H/segel.log" && pass "logged as role=internal" ||
		fail "role=internal" "$(grep role= "$H/segel.log" | tail -2)"
else
	fail "internal mail" "$(last_reply)"
fi
finish
