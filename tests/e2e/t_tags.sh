#!/bin/bash
# End to end: mail From the official domain arriving unsigned from outside
# (the classic spoof) with verify.unsigned_own_domain = tag | reject | none,
# and the subject tags per result: [TIDAK BERTANDA TANGAN] for none and
# [TANDA TANGAN TIDAK SAH] for fail by default, a configured text instead,
# "" for none at all (the body is never changed).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
harness_start
ID=mail.tanjungpinangkota.go.id

spoof() {	# subject -> file
	local f=$H/spoof-$RANDOM.eml
	printf 'From: Wali Kota <walikota@%s>\r\nTo: bob@%s\r\nSubject: %s\r\nMessage-ID: <%s@spoof>\r\n\r\nTransfer dana segera.\r\n' \
	    "$DOMAIN" "$DOMAIN" "$1" "$RANDOM$RANDOM" >"$f"
	echo "$f"
}
delivered() {	# subject -> prints the delivered message's path
	local f
	f=$(grep -l -F "$1" "$H"/sink/* 2>/dev/null | head -n 1)
	[ -n "$f" ] && sink_message "$f" "$f.msg" && echo "$f.msg"
}
ar_ours() { grep -i -A6 "^Authentication-Results: *$ID;" "$1" | tr -d '\r'; }
body_of() { sed '1,/^\r\?$/d' "$1" | tr -d '\r'; }

# --- the defaults: smime=none, and the none and fail Subject tags on
# (lib.sh turns the tags off for the other tests)
segel_conf_set subject_tags '{ }'
segel_reload || fail "reload with the default subject tags" "$(tail -n 3 "$H/segel.log")"
n=$(sink_count)
m=$(spoof "spoof default")
if send_in walikota@$DOMAIN bob@$DOMAIN "$m" && sink_wait $((n + 1)); then
	d=$(delivered "spoof default")
	ar=$(ar_ours "$d")
	if [[ $ar == *"smime=none"* ]] && [[ $ar == *"not signed"* ]] &&
	    [[ $ar == *"body.smime-identifier=walikota@$DOMAIN"* ]]; then
		pass "unsigned own-domain mail from outside tagged smime=none (tag is the default)"
	else
		fail "unsigned own-domain tagged" "A-R: $ar"
	fi
	grep -q '^Subject: \[TIDAK BERTANDA TANGAN\] spoof default' "$d" &&
		pass "subject tag [TIDAK BERTANDA TANGAN] for smime=none by default" ||
		fail "subject tag for none by default" "$(grep ^Subject "$d")"
	[ "$(body_of "$d")" = "Transfer dana segera." ] && pass "body unchanged" ||
		fail "body unchanged" "$(body_of "$d")"
else
	fail "unsigned own-domain tagged" "$(last_reply)"
fi

# --- a configured text for none; fail keeps its default
segel_conf_set subject_tags '{ none = "[BELUM DITANDATANGANI]"; }'
if segel_reload; then
	n=$(sink_count)
	m=$(spoof "spoof tagged")
	if send_in walikota@$DOMAIN bob@$DOMAIN "$m" && sink_wait $((n + 1)); then
		d=$(delivered "spoof tagged")
		grep -q '^Subject: \[BELUM DITANDATANGANI\] spoof tagged' "$d" &&
			pass "configured subject tag for smime=none" || fail "subject tag none" "$(grep ^Subject "$d")"
	else
		fail "subject tag none" "$(last_reply)"
	fi
	# A tampered signature from the partner: smime=fail and its tag.
	f=$H/signed-in.eml
	printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nRapat hari Senin pukul 09.00.\r\n' >"$H/content.txt"
	{
		printf 'From: Sari <sari@kepriprov.go.id>\r\nTo: bob@%s\r\nSubject: partner tampered\r\nMessage-ID: <t1@kepriprov>\r\n' "$DOMAIN"
		openssl cms -sign -in "$H/content.txt" -binary -signer "$PKI/partner/sari.pem" \
		    -inkey "$PKI/partner/sari.key" -certfile "$PKI/chain.pem" | sed 's/Senin/Selasa/'
	} >"$f"
	n=$(sink_count)
	if send_in sari@kepriprov.go.id bob@$DOMAIN "$f" && sink_wait $((n + 1)); then
		d=$(delivered "partner tampered")
		grep -q '^Subject: \[TANDA TANGAN TIDAK SAH\] partner tampered' "$d" &&
			ar_ours "$d" | grep -q 'smime=fail' &&
			pass "default subject tag for smime=fail, with the fail result" ||
			fail "subject tag fail" "$(grep ^Subject "$d"); $(ar_ours "$d")"
	else
		fail "subject tag fail" "$(last_reply)"
	fi
else
	fail "reload with subject tags" "$(tail -3 "$H/segel.log")"
fi

# --- "" turns a tag off
segel_conf_set subject_tags '{ none = ""; }'
if segel_reload; then
	n=$(sink_count)
	m=$(spoof "spoof untagged")
	if send_in walikota@$DOMAIN bob@$DOMAIN "$m" && sink_wait $((n + 1)); then
		d=$(delivered "spoof untagged")
		grep -q '^Subject: spoof untagged' "$d" && ar_ours "$d" | grep -q 'smime=none' &&
			pass "none = \"\" leaves the Subject alone (smime=none still added)" ||
			fail "subject tag off" "$(grep ^Subject "$d"); $(ar_ours "$d")"
	else
		fail "subject tag off" "$(last_reply)"
	fi
else
	fail "reload with a tag off" "$(tail -3 "$H/segel.log")"
fi

# --- reject
segel_conf_set unsigned_own_domain '"reject"'
if segel_reload; then
	n=$(sink_count)
	m=$(spoof "spoof reject")
	send_in walikota@$DOMAIN bob@$DOMAIN "$m"
	r=$(last_reply)
	if [[ $r == 550\ 5.7.1* ]] && [[ $r == *"must be S/MIME signed"* ]] && [[ $r == *"wajib ditandatangani"* ]]; then
		pass "unsigned own-domain mail refused with 550 5.7.1 (English / Indonesian) under reject"
	else
		fail "unsigned own-domain reject" "reply: $r"
	fi
	sleep 1
	[ -z "$(delivered "spoof reject")" ] && pass "the refused spoof was not delivered" ||
		fail "refused spoof delivered" "found in sink"
	# Mail from an outside domain is unaffected by the rule.
	n=$(sink_count)
	printf 'From: budi@example.org\r\nTo: bob@%s\r\nSubject: outside unsigned\r\n\r\nHalo.\r\n' "$DOMAIN" >"$H/o.eml"
	if send_in budi@example.org bob@$DOMAIN "$H/o.eml" && sink_wait $((n + 1)); then
		pass "unsigned mail from another domain still delivered under reject"
	else
		fail "outside unsigned under reject" "$(last_reply)"
	fi
	# Staff's own outbound mail is signed, never caught by the rule.
	n=$(sink_count)
	printf 'From: alice@%s\r\nTo: warga@example.org\r\nSubject: staff outbound\r\n\r\nHalo.\r\n' "$DOMAIN" >"$H/s.eml"
	if send_sub alice alice@$DOMAIN warga@example.org "$H/s.eml" && sink_wait $((n + 1)); then
		d=$(delivered "staff outbound")
		grep -qi '^Content-Type: multipart/signed' "$d" && pass "staff mail still signed under reject" ||
			fail "staff mail under reject" "not signed"
	else
		fail "staff mail under reject" "$(last_reply)"
	fi
else
	fail "reload with reject" "$(tail -3 "$H/segel.log")"
fi

# --- none: no result at all
segel_conf_set unsigned_own_domain '"none"'
if segel_reload; then
	n=$(sink_count)
	m=$(spoof "spoof none")
	if send_in walikota@$DOMAIN bob@$DOMAIN "$m" && sink_wait $((n + 1)); then
		d=$(delivered "spoof none")
		[ -z "$(ar_ours "$d")" ] && pass "unsigned_own_domain = none adds no result" ||
			fail "none adds no result" "$(ar_ours "$d")"
	else
		fail "unsigned_own_domain = none" "$(last_reply)"
	fi
else
	fail "reload with none" "$(tail -3 "$H/segel.log")"
fi
finish
