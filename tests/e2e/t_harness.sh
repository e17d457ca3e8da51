#!/bin/bash
# t_harness.sh - proves the e2e harness itself, without segel (H_NO_MILTER=1):
# ports, TLS and SASL on submission, the sink, sendmail -C, the two
# independent S/MIME judges (they pass a good signature and fail a tampered
# one), and that nothing outside $H is touched.
. "$(dirname "$0")/lib.sh"

sys_sum() { cat /etc/postfix/main.cf /etc/postfix/master.cf 2>/dev/null | sha256sum; }

# Postfix masters of the system instance: their working folder is the
# system queue (other tests may run private instances at the same time).
system_masters() {
	local p n=0
	for p in $(pgrep -x master); do
		[ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = /var/spool/postfix ] && n=$((n + 1))
	done
	echo "$n"
}

sum_before=$(sys_sum)
masters_before=$(system_masters)
stamp=$(mktemp /tmp/segel-stamp.XXXXXX)

H_NO_MILTER=1 harness_start || { fail harness_start "see above"; finish; }
pass harness_start

# 1. plain mail in on PORT_IN from an outside client reaches the sink
cat >"$H/plain.eml" <<EOF
From: Budi <budi@example.org>
To: Alice <alice@$DOMAIN>
Subject: plain harness test
Date: $(date -R)
Message-ID: <plain.$$@example.org>

Halo Alice,
.a line that starts with a dot
terakhir
EOF
if send_in budi@example.org "alice@$DOMAIN" "$H/plain.eml" --plain; then
	if sink_wait 1 20; then
		f=$(sink_last)
		sink_message "$f" "$H/plain.out"
		if grep -q '^X-Client-Addr: 127.0.0.1$' "$f" &&
			grep -q '^Received: from mx.example.org (unknown \[127.0.0.2\])' "$H/plain.out" &&
			grep -q '^\.a line that starts with a dot$' "$H/plain.out" &&
			[ "$(sink_rcpts "$f")" = "alice@$DOMAIN" ] &&
			[ "$(tail -n 1 "$H/plain.out")" = terakhir ]; then
			pass inbound_plain_reaches_sink
		else
			fail inbound_plain_reaches_sink "unexpected content in $f"
		fi
	else
		fail inbound_plain_reaches_sink "not in the sink"
	fi
else
	fail inbound_plain_reaches_sink "swaks: $(last_reply)"
fi

# 2. inbound with STARTTLS (the default of send_in)
if send_in budi@example.org "bob@$DOMAIN" "$H/plain.eml" && sink_wait 2 20 &&
	grep -q 'using TLSv1\.[23]' "$(sink_last)"; then
	pass inbound_starttls
else
	fail inbound_starttls "$(last_reply)"
fi

# 3. submission without TLS and AUTH is refused
n=$(sink_count)
swaks --server 127.0.0.1 --port "$PORT_SUB" --from "alice@$DOMAIN" --to "bob@$DOMAIN" \
	--suppress-data >"$H/last.swaks" 2>&1
rc=$?
if [ $rc -ne 0 ] && last_reply | grep -q '^530 5\.7\.0'; then
	pass submission_without_tls_refused
else
	fail submission_without_tls_refused "rc=$rc reply=$(last_reply)"
fi

# 4. submission with TLS but without AUTH is refused
swaks --server 127.0.0.1 --port "$PORT_SUB" --tls --from "alice@$DOMAIN" --to "bob@$DOMAIN" \
	--suppress-data >"$H/last.swaks" 2>&1
rc=$?
if [ $rc -ne 0 ] && last_reply | grep -q '^5[0-9][0-9] '; then
	pass submission_without_auth_refused
else
	fail submission_without_auth_refused "rc=$rc reply=$(last_reply)"
fi

# 5. a wrong password is refused
if SUB_PASS=salah send_sub alice "alice@$DOMAIN" "bob@$DOMAIN" "$H/plain.eml"; then
	fail submission_bad_password_refused "accepted"
elif last_reply | grep -q '^535 '; then
	pass submission_bad_password_refused
else
	fail submission_bad_password_refused "$(last_reply)"
fi
[ "$(sink_count)" -eq "$n" ] || fail submission_refusals_deliver_nothing "sink grew"

# 6. submission with TLS + AUTH delivers
cat >"$H/sub.eml" <<EOF
From: Alice Wulandari <alice@$DOMAIN>
To: Bob Santoso <bob@$DOMAIN>
Subject: submission harness test
Date: $(date -R)
Message-ID: <sub.$$@$DOMAIN>

Halo Bob.
EOF
if send_sub alice "alice@$DOMAIN" "bob@$DOMAIN" "$H/sub.eml" && sink_wait $((n + 1)) 20 &&
	grep -q 'with ESMTPSA id' "$(sink_last)"; then
	pass submission_auth_delivers
else
	fail submission_auth_delivers "$(last_reply)"
fi

# 7. local submission with sendmail -C
n=$(sink_count)
if send_local "app@$DOMAIN" "bob@$DOMAIN" "$H/sub.eml" && sink_wait $((n + 1)) 30 &&
	grep -q '^X-Mail-Args: <app@' "$(sink_last)"; then
	pass sendmail_local_delivers
else
	fail sendmail_local_delivers "$(cat "$H/last.sendmail")"
fi

# 8. the judges: an openssl-signed message survives the 7-bit sink and
# passes both; a tampered copy fails both.
P=$PKI
printf 'Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\nSurat resmi nomor 1.\nBaris kedua.\n' >"$H/part.txt"
openssl cms -sign -in "$H/part.txt" -signer "$P/staff/alice@$DOMAIN.pem" \
	-inkey "$P/staff/alice@$DOMAIN.key" -certfile "$P/chain.pem" -md sha256 \
	-out "$H/smime.body" 2>"$H/sign.err"
{
	printf 'From: Alice Wulandari <alice@%s>\nTo: budi@example.org\n' "$DOMAIN"
	printf 'Subject: signed by openssl\nDate: %s\nMessage-ID: <s.%s@%s>\n' "$(date -R)" "$$" "$DOMAIN"
	cat "$H/smime.body"
} >"$H/signed.eml"
if verify_openssl "$H/signed.eml" && verify_gpgsm "$H/signed.eml"; then
	pass judges_accept_openssl_signed_file
else
	fail judges_accept_openssl_signed_file "$(cat "$H/last.verify")"
fi
n=$(sink_count)
if send_in "alice@$DOMAIN" budi@example.org "$H/signed.eml" --li 127.0.0.1 &&
	sink_wait $((n + 1)) 20; then
	sig=$(sink_last)
	if verify_openssl "$sig"; then
		pass openssl_verifies_after_sink
	else
		fail openssl_verifies_after_sink "$(cat "$H/last.verify")"
	fi
	if verify_gpgsm "$sig"; then
		pass gpgsm_verifies_after_sink
	else
		fail gpgsm_verifies_after_sink "$(tail -n 5 "$H/last.verify")"
	fi
	sink_message "$sig" "$H/tampered.eml"
	sed -i 's/^Baris kedua\.$/Baris KEDUA./' "$H/tampered.eml"
	if ! grep -q 'Baris KEDUA' "$H/tampered.eml"; then
		fail tamper_setup "could not find the line to change"
	else
		if verify_openssl "$H/tampered.eml"; then
			fail openssl_rejects_tampered "verified"
		else
			pass openssl_rejects_tampered
		fi
		if verify_gpgsm "$H/tampered.eml"; then
			fail gpgsm_rejects_tampered "verified"
		else
			pass gpgsm_rejects_tampered
		fi
	fi
	# a signature by the outside CA does not chain to trust.pem
	openssl cms -sign -in "$H/part.txt" -signer "$P/outside/signer.pem" \
		-inkey "$P/outside/signer.key" -md sha256 -out "$H/outside.eml" 2>/dev/null
	if verify_openssl "$H/outside.eml"; then
		fail openssl_rejects_untrusted "verified"
	else
		pass openssl_rejects_untrusted
	fi
	if verify_gpgsm "$H/outside.eml"; then
		fail gpgsm_rejects_untrusted "verified"
	else
		pass gpgsm_rejects_untrusted
	fi
	# an expired signer: gpgsm still prints "Good signature"; the judge must not pass it
	openssl cms -sign -in "$H/part.txt" -signer "$P/staff/carol@$DOMAIN.pem" \
		-inkey "$P/staff/carol@$DOMAIN.key" -certfile "$P/chain.pem" -out "$H/expired.eml" 2>/dev/null
	if verify_openssl "$H/expired.eml" || verify_gpgsm "$H/expired.eml"; then
		fail judges_reject_expired_signer "verified: $(tail -n 3 "$H/last.verify")"
	else
		pass judges_reject_expired_signer
	fi
else
	fail signed_through_sink "$(last_reply)"
fi

# 9. nothing outside $H
[ "$(sys_sum)" = "$sum_before" ] && pass system_postfix_config_unchanged ||
	fail system_postfix_config_unchanged "/etc/postfix/main.cf or master.cf changed"
[ "$(system_masters)" = "$masters_before" ] && pass no_system_postfix_started ||
	fail no_system_postfix_started "a system Postfix master (queue /var/spool/postfix) appeared"
changed=$(find /etc/postfix /var/spool/postfix /var/lib/postfix /etc/sasldb2 \
	-newer "$stamp" 2>/dev/null | head -n 5)
rm -f "$stamp"
[ -z "$changed" ] && pass nothing_written_outside ||
	fail nothing_written_outside "$changed"

# 10. stop really stops: no process of this instance survives
cf=$PF_CONF
KEEP_SAVE=${KEEP:-0}
KEEP=1 harness_stop >/dev/null 2>&1
left=$(grep -lzx "MAIL_CONFIG=$cf" /proc/[0-9]*/environ 2>/dev/null | wc -l)
{ [ -n "$SINK_PID" ] || pgrep -f "smtp-sink.*:$PORT_SINK" >/dev/null; } && left=$((left + 1))
[ "$left" -eq 0 ] && pass harness_stop_leaves_no_process ||
	fail harness_stop_leaves_no_process "$left left"
if [ "$KEEP_SAVE" = 1 ] || [ "$H_FAILED" -gt 0 ]; then echo "harness: kept $H" >&2; else rm -rf "$H"; fi
finish
