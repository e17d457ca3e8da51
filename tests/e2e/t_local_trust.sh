#!/bin/bash
# t_local_trust.sh - issue 17, the loopback trust default and the role of a
# plaintext refusal, on the private Postfix:
#   - without sign.trusted_hosts (the shipped default since issue 17), mail
#     from the sendmail command with From alice leaves unsigned and is
#     logged role=inbound "passed (unsigned)": Postfix tells the milter no
#     local user, so segel cannot bind it to alice;
#   - with 127.0.0.1 listed (an explicit choice), the same mail is signed;
#   - a plaintext MAIL FROM the domain by a trusted host is refused 530 5.7.0
#     and logged role=outbound (it was logged role=inbound).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
harness_start || { echo "FAIL: harness: harness_start failed"; exit 1; }

local_mail() { # SUBJECT
	printf 'From: Alice <alice@%s>\nTo: bob@%s\nSubject: %s\nMessage-ID: <%s.%s@%s>\n\nIsi.\n' \
		"$DOMAIN" "$DOMAIN" "$1" "$1" "$$" "$DOMAIN" >"$H/$1.eml"
	send_local "alice@$DOMAIN" "bob@$DOMAIN" "$H/$1.eml"
}

segel_conf_unset sign.trusted_hosts
if segel_reload; then
	n=$(sink_count)
	local_mail local-default
	if sink_wait $((n + 1)) 60 && f=$(sink_find "Subject: local-default"); then
		if ! grep -qi '^Content-Type: multipart/signed' "$f" &&
			grep -q 'role=inbound from=alice@.* action=passed (unsigned)' "$H/segel.log"; then
			pass "no trusted_hosts (default): sendmail-command mail From alice leaves unsigned, logged role=inbound passed (unsigned)"
		else
			fail "default: local mail" "$(grep -i '^Content-Type' "$f"; grep 'local-default\|role=' "$H/segel.log" | tail -2)"
		fi
	else
		fail "default: local mail delivered" "$(cat "$H/last.sendmail")"
	fi
else
	fail "reload without trusted_hosts" "$(tail -3 "$H/segel.log")"
fi

segel_conf_set sign.trusted_hosts '[ "127.0.0.1/32" ]'
if segel_reload; then
	n=$(sink_count)
	local_mail local-trusted
	if sink_wait $((n + 1)) 60 && f=$(sink_find "Subject: local-trusted") &&
		grep -qi '^Content-Type: multipart/signed' "$f"; then
		pass "trusted_hosts with 127.0.0.1 (opt-in): the same mail is signed"
	else
		fail "trusted: local mail signed" "$(grep 'role=' "$H/segel.log" | tail -2)"
	fi
else
	fail "reload with trusted_hosts" "$(tail -3 "$H/segel.log")"
fi

printf 'From: App <app@%s>\nTo: warga@example.org\nSubject: plain\n\nx\n' "$DOMAIN" >"$H/plain.eml"
send_in "app@$DOMAIN" warga@example.org "$H/plain.eml" --plain --li 127.0.0.1
if last_reply | grep -q '^530 5.7.0' &&
	grep -q 'role=outbound from=app@.* action=refused reason=plaintext' "$H/segel.log"; then
	pass "plaintext MAIL FROM the domain by a trusted host: 530 5.7.0, logged role=outbound"
else
	fail "trusted plaintext role" "$(last_reply | head -1); $(grep 'reason=plaintext' "$H/segel.log" | tail -1)"
fi
finish
