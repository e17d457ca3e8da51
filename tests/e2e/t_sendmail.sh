#!/bin/bash
# t_sendmail.sh - segel in front of a real Sendmail (Debian 12's
# sendmail-bin, unpacked privately: tests/e2e/lib_sendmail.sh), wired as
# README's "Wiring segel into Sendmail" says, with the project's own
# smtp-tls/sendmail/segel-tls.mc and access entries:
#   - README's Sendmail lines are the .mc's lines this Sendmail runs;
#   - plaintext mail to the domain is refused 530 5.7.0, mail over TLS is
#     accepted and delivered;
#   - alice logs in with Sendmail's AUTH (a private SASL database) on the
#     MSA port: her mail leaves signed, and openssl cms and gpgsm accept it
#     at the sink; the milter saw Sendmail's {auth_authen}, {tls_version},
#     {cipher}, {cipher_bits} and queue id {i};
#   - a login sending as someone else is refused 550 5.7.1;
#   - a partner's signed mail is tagged smime=pass, and forged results
#     naming our authserv-id are removed (Sendmail's header indexes);
#   - segel stopped: Sendmail tempfails (F=T), nothing reaches the sink,
#     nothing waits in its queue; segel back: mail is signed again.
. "$(dirname "$0")/lib_sendmail.sh"

rc=0
sm_harness_start || rc=$?
if [ "$rc" = 2 ]; then
	skip sendmail "Debian's sendmail-bin could not be fetched with apt-get download (see above)"
	finish
elif [ "$rc" = 3 ]; then
	skip sendmail "no UTS and no private mount namespace can be made here ($SM_NS_ERR)"
	finish
elif [ "$rc" != 0 ]; then
	fail sm_harness_start "see above"
	finish
fi

ID=mail.$DOMAIN
SARI=sari@kepriprov.go.id
delivered=0

# sm_wait N: N messages in the sink and Sendmail's queue empty (60 s).
sm_wait() {
	local i
	for i in $(seq 1 600); do
		[ "$(sink_count)" -ge "$1" ] && [ "$(sm_queue_count)" = 0 ] && return 0
		sleep 0.1
	done
	_h_say "sm_wait: $(sink_count) of $1 in the sink, $(sm_queue_count) queued"
	return 1
}

# msg NAME FROM TO: a plain test message into $H/NAME.eml.
msg() {
	printf 'From: %s\nTo: %s\nSubject: t_sendmail %s\nDate: %s\nMessage-ID: <%s.%s@t-sendmail>\n\nIsi surat %s.\n' \
		"$2" "$3" "$1" "$(date -R)" "$1" "$$" "$1" >"$H/$1.eml"
}

# delivered NAME: the sink file of message NAME, after waiting for it.
delivered() {
	delivered=$((delivered + 1))
	sm_wait "$delivered" && sink_find "Subject: t_sendmail $1"
}

# ---------------------------------------------------------------- README
# Every line of README's Sendmail block is a line of segel-tls.mc (which
# this Sendmail's sendmail.cf is built from), but for the socket path.
awk '/^## Wiring segel into Sendmail/ { s = 1 } s && /^```/ { if (b) exit; b = 1; next } s && b' \
	"$SEGEL_ROOT/README.md" >"$H/readme.mc"
missing=$(grep -vxFf <(sed 's/dnl$//' "$SEGEL_ROOT/smtp-tls/sendmail/segel-tls.mc") "$H/readme.mc" || true)
if [ -s "$H/readme.mc" ] && [ -z "$missing" ]; then
	pass "sendmail: README's $(wc -l <"$H/readme.mc") Sendmail lines are segel-tls.mc's"
else
	fail "sendmail: README's Sendmail lines" "not in segel-tls.mc: ${missing:-README has no block}"
fi
if grep -q "^Xsegel, S=local:$H/segel.sock, F=T" "$H/sm/sendmail.cf"; then
	pass "sendmail: sendmail.cf has segel's filter with F=T"
else
	fail "sendmail: filter line" "$(grep '^X' "$H/sm/sendmail.cf")"
fi

# README's recommended setting: no trusted hosts, so only Sendmail's AUTH
# can make segel sign (the harness trusts 127.0.0.1 otherwise). Where no
# private mount namespace can be made (a chroot), Sendmail cannot be given
# its SASL file without touching the machine's: it runs without AUTH, and
# segel signs for the trusted host 127.0.0.1 (the harness's setting).
if [ "$SM_AUTH" = 1 ]; then
	segel_conf_set sign.trusted_hosts '[ ]'
	if segel_reload; then
		pass "sendmail: segel reloaded with sign.trusted_hosts = [ ]"
	else
		fail "sendmail: reload without trusted hosts" "$(tail -n 2 "$H/segel.log")"
	fi
	how="STARTTLS + AUTH PLAIN"
	who="login=alice@$DOMAIN"
else
	echo "NOTE: no private mount namespace here ($SM_NS_ERR): Sendmail runs without AUTH; the trusted host 127.0.0.1 is signed for instead"
	how="STARTTLS from the trusted host 127.0.0.1, no AUTH"
	who="login=-"
fi

# ---------------------------------------------------------------- TLS rule
msg plain budi@example.org "alice@$DOMAIN"
sm_send_in budi@example.org "alice@$DOMAIN" "$H/plain.eml" --plain
r=$(last_reply)
if grep -q '^530 5\.7\.0 .*STARTTLS.*Wajib menggunakan TLS' <<<"$r"; then
	pass "sendmail: plaintext mail to the domain refused by segel: ${r:0:60}..."
else
	fail "sendmail: plaintext refusal" "$r"
fi
msg tls budi@example.org "alice@$DOMAIN"
if sm_send_in budi@example.org "alice@$DOMAIN" "$H/tls.eml" && f=$(delivered tls); then
	pass "sendmail: the same mail over STARTTLS is accepted and delivered"
else
	fail "sendmail: TLS mail" "$(last_reply)"
fi
if [ -z "$(sink_find "t_sendmail plain")" ]; then
	pass "sendmail: the plaintext attempt did not reach the sink"
else
	fail "sendmail: plaintext" "delivered anyway"
fi

# ---------------------------------------------------------------- signing
msg signed "alice@$DOMAIN" warga@example.org
if sm_send_sub alice "alice@$DOMAIN" warga@example.org "$H/signed.eml" && f=$(delivered signed); then
	pass "sendmail: alice's submission ($how) accepted and delivered"
	if verify_openssl "$f"; then
		pass "sendmail: signed; openssl cms -verify accepts it"
	else
		fail "sendmail: openssl cms -verify" "$(tail -n 3 "$H/last.verify" | tr '\n' ' ')"
	fi
	if verify_gpgsm "$f"; then
		pass "sendmail: gpgsm --verify accepts it (GOODSIG, trusted chain)"
	else
		fail "sendmail: gpgsm --verify" "$(grep -v '^$' "$H/last.verify" | tail -n 3 | tr '\n' ' ')"
	fi
	qid=$(sed -n 's/.*with ESMTPSA\{0,1\} id \([A-Za-z0-9]*\).*/\1/p' "$f" | head -n 1)
	line=$(grep "role=outbound from=alice@$DOMAIN .*action=signed" "$H/segel.log" | tail -n 1)
	want="^.*: ${qid:-?}: role=outbound from=alice@$DOMAIN $who client=127.0.0.1 tls=TLSv1\.[23] cipher=[A-Z0-9_-]+ bits=(128|256) action=signed"
	if grep -Eq "$want" <<<"$line"; then
		pass "sendmail: segel saw Sendmail's {i} $qid, $([ "$SM_AUTH" = 1 ] && echo '{auth_authen}, '){tls_version}, {cipher}, {cipher_bits}"
	else
		fail "sendmail: macros" "queue id '$qid', log: $line"
	fi
else
	fail "sendmail: alice's submission" "$(last_reply)"
fi
if [ "$SM_AUTH" = 0 ]; then
	skip "sendmail: login checks" "Sendmail runs without AUTH here ($SM_NS_ERR)"
else
msg notbob "bob@$DOMAIN" warga@example.org
sm_send_sub alice "bob@$DOMAIN" warga@example.org "$H/notbob.eml"
r=$(last_reply)
if grep -q '^550 5\.7\.1 ' <<<"$r"; then
	pass "sendmail: alice's login sending as bob refused: ${r:0:50}..."
else
	fail "sendmail: login may not send as From" "$r"
fi

# What Sendmail's own sendmail command (its MSP) does: SMTP from 127.0.0.1
# to the MTA port, no login. Never signed, whatever From says.
msg nologin "alice@$DOMAIN" warga@example.org
if sm_send_in "alice@$DOMAIN" warga@example.org "$H/nologin.eml" --li 127.0.0.1 &&
	f=$(delivered nologin); then
	if ! grep -qi '^Content-Type: multipart/signed' "$f"; then
		pass "sendmail: From alice without a login (127.0.0.1, MTA port) is not signed"
	else
		fail "sendmail: no login" "signed without AUTH"
	fi
else
	fail "sendmail: no login" "$(last_reply)"
fi
fi

# ---------------------------------------------------------------- verifying
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nUndangan rapat koordinasi.\r\n' >"$H/content.txt"
{
	printf 'Authentication-Results: %s; smime=fail (forged, top)\n' "$ID"
	printf 'From: %s\nTo: alice@%s\nSubject: t_sendmail partner\nDate: %s\nMessage-ID: <partner.%s@t-sendmail>\n' \
		"$SARI" "$DOMAIN" "$(date -R)" "$$"
	printf 'Authentication-Results: %s;\n\tsmime=pass (forged, folded)\n' "$ID"
	printf 'Authentication-Results: elsewhere.example; smime=pass\n'
	openssl cms -sign -binary -in "$H/content.txt" -signer "$PKI/partner/sari.pem" \
		-inkey "$PKI/partner/sari.key" -certfile "$PKI/chain.pem"
} >"$H/partner.eml"
if sm_send_in "$SARI" "alice@$DOMAIN" "$H/partner.eml" && f=$(delivered partner); then
	ours=$(fields "$f" Authentication-Results | grep -i "^$ID;" || true)
	if [ "$(grep -c . <<<"$ours")" = 1 ] && grep -q "smime=pass" <<<"$ours" &&
		! grep -q forged <<<"$ours"; then
		pass "sendmail: the partner's signed mail is tagged smime=pass, both forged results removed"
	else
		fail "sendmail: partner's mail" "our A-R fields: $(tr '\n' '|' <<<"$ours")"
	fi
	if fields "$f" Authentication-Results | grep -q '^elsewhere\.example; smime=pass'; then
		pass "sendmail: another host's Authentication-Results stays"
	else
		fail "sendmail: foreign A-R" "$(fields "$f" Authentication-Results | tr '\n' '|')"
	fi
	sink_message "$f" "$H/partner.out" --crlf
	if verify_openssl "$H/partner.out"; then
		pass "sendmail: the delivered partner mail still verifies (openssl)"
	else
		fail "sendmail: partner mail after Sendmail" "$(tail -n 2 "$H/last.verify" | tr '\n' ' ')"
	fi
else
	fail "sendmail: partner's mail" "$(last_reply)"
fi
{
	printf 'From: %s\nTo: alice@%s\nSubject: t_sendmail forged\nDate: %s\n' "$SARI" "$DOMAIN" "$(date -R)"
	printf 'Authentication-Results: %s; smime=pass header.s=sari@kepriprov.go.id\n\nBukan surat bertanda tangan.\n' "$ID"
} >"$H/forged.eml"
if sm_send_in "$SARI" "alice@$DOMAIN" "$H/forged.eml" && f=$(delivered forged); then
	if ! fields "$f" Authentication-Results | grep -qi "^$ID;.*smime=pass"; then
		pass "sendmail: a forged smime=pass on unsigned mail is removed"
	else
		fail "sendmail: forged result" "$(fields "$f" Authentication-Results | tr '\n' '|')"
	fi
else
	fail "sendmail: forged mail" "$(last_reply)"
fi

# ---------------------------------------------------------------- segel down
segel_stop
n0=$(sink_count)
msg down "alice@$DOMAIN" warga@example.org
sm_send_sub alice "alice@$DOMAIN" warga@example.org "$H/down.eml"
r_sub=$(last_reply)
msg downin budi@example.org "alice@$DOMAIN"
sm_send_in budi@example.org "alice@$DOMAIN" "$H/downin.eml"
r_in=$(last_reply)
sleep 3
if grep -q '^4[0-9][0-9] ' <<<"$r_sub" && grep -q '^4[0-9][0-9] ' <<<"$r_in"; then
	pass "sendmail: segel stopped: Sendmail tempfails (F=T): submission '${r_sub:0:40}', inbound '${r_in:0:40}'"
else
	fail "sendmail: segel stopped" "submission: $r_sub / inbound: $r_in"
fi
if [ "$(sink_count)" = "$n0" ] && [ "$(sm_queue_count)" = 0 ]; then
	pass "sendmail: segel stopped: nothing delivered, nothing queued (the senders keep their mail)"
else
	fail "sendmail: segel stopped" "sink $n0 -> $(sink_count), queue $(sm_queue_count)"
fi
if segel_start && sm_send_sub alice "alice@$DOMAIN" warga@example.org "$H/down.eml" &&
	f=$(delivered down) && verify_openssl "$f"; then
	pass "sendmail: segel back: the retried submission leaves signed"
else
	fail "sendmail: segel back" "$(last_reply) $(tail -n 2 "$H/last.verify" 2>/dev/null | tr '\n' ' ')"
fi
finish
