#!/bin/bash
# t_pkcs11.sh - issue 15: a staff key that lives only in a PKCS#11 token
# (SoftHSM2 in its own folder under $H, SOFTHSM2_CONF passed to the daemon).
# bob's key is moved into the token (his .p12 and .pass removed; the store
# holds bob.crt + bob.uri); then, through the real Postfix:
#   - bob's mail is signed with the token key: openssl cms and gpgsm accept
#     it, and the signer is bob's certificate;
#   - a wrong PIN, a missing token and a deleted key object each give bob
#     "451 4.7.1" (never unsigned mail, never a bounce) with a clear log
#     line, while alice (file key) is still signed; the daemon recovers
#     once the token is back (reload);
#   - segelctl import --to-token moves alice's PKCS#12 key into the token:
#     her .p12 and .pass are gone, the token refuses C_GetAttributeValue of
#     the private key's components (sensitive, not extractable), list and
#     show say "token", her mail is signed with it; revoke --destroy-key
#     destroys the object and her mail is refused;
#   - the PIN never reaches the log.
. "$(dirname "$0")/lib.sh"

SOFTHSM=$SEGEL_ROOT/tests/pki/softhsm
LABEL=segel-e2e
PIN=pin-Rahasia-7391
BOB=bob@$DOMAIN
TO=warga@example.org
n=0

if [ ! -e /usr/lib/softhsm/libsofthsm2.so ] || ! command -v softhsm2-util >/dev/null; then
	skip pkcs11 "SoftHSM2 is not installed (make deps)"
	finish
fi
harness_start || { fail harness_start "see above"; finish; }

HSM=$H/hsm
export SOFTHSM2_CONF=$HSM/softhsm2.conf
"$SOFTHSM" init "$HSM" "$LABEL" "$PIN" &&
	"$SOFTHSM" import "$HSM" "$LABEL" "$PIN" "$PKI/staff/$BOB.key" "$BOB" 0b0b &&
	"$SOFTHSM" entry "$PKI/certs" "$PKI" "$BOB" "$LABEL" "$BOB" 0b0b ||
	{ fail token_setup "tests/pki/softhsm failed"; finish; }
(umask 077; printf '%s\n' "$PIN" >"$HSM/pin")
echo "pkcs11 = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; token = \"$LABEL\"; pin_file = \"$HSM/pin\"; };  # pkcs11" >>"$H/segel.conf"
segel_restart || { fail segel_start "with the pkcs11 group"; finish; }
[ ! -e "$PKI/certs/$BOB.p12" ] && [ ! -e "$PKI/certs/$BOB.pass" ] &&
	pass no_file_key || fail no_file_key "bob's .p12 or .pass is still in the store"

msg() {
	printf 'From: %s\r\nTo: %s\r\nSubject: t_pkcs11 %s\r\nDate: %s\r\nMessage-ID: <%s.%s@%s>\r\n\r\nSurat resmi (%s).\r\n' \
		"$1" "$TO" "$2" "$(date -R)" "$2" "$$" "$DOMAIN" "$2" >"$H/$2.eml"
}

# signed NAME LOCAL: LOCAL's mail is delivered, signed by LOCAL's certificate.
signed() {
	local name=$1 who=$2 f
	msg "$who@$DOMAIN" "$name"
	if ! send_sub "$who" "$who@$DOMAIN" "$TO" "$H/$name.eml"; then
		fail "$name" "refused: $(last_reply)"
		return
	fi
	n=$((n + 1))
	if ! sink_wait "$n" 60 || ! f=$(sink_find "Subject: t_pkcs11 $name"); then
		fail "$name" "not delivered"
		return
	fi
	if verify_openssl "$f" -signer "$H/$name.signer.pem"; then
		pass "${name}_openssl"
	else
		fail "${name}_openssl" "$(tail -n 3 "$H/last.verify" | tr '\n' ' ')"
	fi
	if verify_gpgsm "$f"; then
		pass "${name}_gpgsm"
	else
		fail "${name}_gpgsm" "$(grep -v '^$' "$H/last.verify" | tail -n 3 | tr '\n' ' ')"
	fi
	if cmp -s <(openssl x509 -in "$H/$name.signer.pem" -noout -serial) \
		<(openssl x509 -in "$PKI/staff/$who@$DOMAIN.pem" -noout -serial); then
		pass "${name}_signer"
	else
		fail "${name}_signer" "not $who's certificate"
	fi
}

# waits NAME LOGTEXT: bob's mail is refused 451 4.7.1, nothing reaches the
# sink, and the log says LOGTEXT.
waits() {
	local name=$1 text=$2 before
	before=$(sink_count)
	msg "$BOB" "$name"
	if send_sub bob "$BOB" "$TO" "$H/$name.eml"; then
		fail "$name" "accepted: $(last_reply)"
	elif last_reply | grep -q '^451 4\.7\.1'; then
		pass "$name"
	else
		fail "$name" "want 451 4.7.1, got: $(last_reply)"
	fi
	sleep 1
	[ "$(sink_count)" = "$before" ] && pass "${name}_nothing_sent" ||
		fail "${name}_nothing_sent" "a message reached the sink"
	grep -q -- "$text" "$H/segel.log" && pass "${name}_logged" ||
		fail "${name}_logged" "no log line with \"$text\""
}

reload_ok() {
	segel_reload && pass "$1" || fail "$1" "reload: $(tail -n 3 "$H/segel.log" | tr '\n' ' ')"
}

signed token_signed bob
signed file_key_signed alice

# Eight sessions sign with the token key at once (libmilter threads; libp11
# gives each signature its own PKCS#11 session): all eight arrive, each
# verified.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	msg "$BOB" "parallel$i"
	swaks --server 127.0.0.1 --port "$PORT_SUB" --tls --auth PLAIN \
		--auth-user "$BOB" --auth-password rahasia-bob --helo "pc.$DOMAIN" \
		--from "$BOB" --to "$TO" --data "@$H/parallel$i.eml" \
		>"$H/parallel$i.swaks" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"	# not a bare wait: the harness's daemons are children too
n=$((n + 8))
good=0
if sink_wait "$n" 120; then
	for i in 1 2 3 4 5 6 7 8; do
		f=$(sink_find "Subject: t_pkcs11 parallel$i") && verify_openssl "$f" &&
			good=$((good + 1))
	done
fi
[ "$good" = 8 ] && pass parallel_signed || fail parallel_signed "$good of 8 delivered and verified"

# The daemon's memory (what a core dump would hold, read from /proc/PID/mem)
# holds no part of bob's token key; alice's file key, loaded the same way,
# is found: the search works.
if /usr/bin/python3 "$SEGEL_ROOT/tests/pki/memscan" "$SEGEL_PID" "$PKI/staff/$BOB.key" \
	"$PKI/staff/alice@$DOMAIN.key" >"$H/memscan.out" 2>&1; then
	if grep -q "alice@$DOMAIN.key: found" "$H/memscan.out" &&
		grep -q "$BOB.key: absent" "$H/memscan.out"; then
		pass memory_holds_no_token_key
	else
		fail memory_holds_no_token_key "$(tr '\n' ' ' <"$H/memscan.out")"
	fi
else
	fail memory_holds_no_token_key "$(tr '\n' ' ' <"$H/memscan.out")"
fi

# A wrong PIN: a reload keeps the daemon up, bob waits, alice goes on.
(umask 077; printf 'salah-0000\n' >"$HSM/pin")
reload_ok reload_wrong_pin
waits wrong_pin "$BOB: key unavailable: token: login refused: wrong PIN"
signed wrong_pin_alice_signed alice
(umask 077; printf '%s\n' "$PIN" >"$HSM/pin")
reload_ok reload_pin_fixed
signed pin_fixed_signed bob

# The token goes away (its folder moved out of SoftHSM's tokendir).
mkdir -p "$HSM/away"
mv "$HSM/tokens/"* "$HSM/away/"
reload_ok reload_token_gone
waits token_gone "$BOB: key unavailable: token:"
mv "$HSM/away/"* "$HSM/tokens/"
reload_ok reload_token_back
signed token_back_signed bob

# The key object is destroyed while the daemon runs: the next mail waits
# (the daemon's handle no longer signs), a reload says why, and a key put
# back is used after the next reload.
"$SOFTHSM" delete "$HSM" "$LABEL" "$PIN" 0b0b || fail delete_key "pkcs11-tool --delete-object"
waits key_deleted_running "did not sign"
reload_ok reload_key_deleted
waits key_deleted "$BOB: key unavailable: token: no private key object"
"$SOFTHSM" import "$HSM" "$LABEL" "$PIN" "$PKI/staff/$BOB.key" "$BOB" 0b0b
reload_ok reload_key_back
signed key_back_signed bob

# segelctl import --to-token (the daemon running: it reloads).
CTL=$(dirname "$SEGEL_BIN")/segelctl
ALICE=alice@$DOMAIN
ATTRS=$SEGEL_ROOT/tests/pki/p11-attrs
if "$CTL" -c "$H/segel.conf" import "$PKI/certs/$ALICE.p12" --pass-file "$PKI/certs/$ALICE.pass" \
	--to-token >"$H/import.out" 2>&1; then
	pass import_to_token
else
	fail import_to_token "$(cat "$H/import.out")"
fi
if [ ! -e "$PKI/certs/$ALICE.p12" ] && [ ! -e "$PKI/certs/$ALICE.pass" ] &&
	[ -s "$PKI/certs/$ALICE.crt" ] && [ -s "$PKI/certs/$ALICE.uri" ] &&
	! grep -rlq 'PRIVATE KEY' "$PKI/certs"; then
	pass import_no_file_copy
else
	fail import_no_file_copy "$(ls "$PKI/certs" | grep alice | tr '\n' ' ')"
fi
if /usr/bin/python3 "$ATTRS" /usr/lib/softhsm/libsofthsm2.so "$LABEL" "$PIN" "$ALICE" >"$H/attrs.out" 2>&1; then
	pass import_key_not_readable
else
	fail import_key_not_readable "$(tr '\n' ' ' <"$H/attrs.out")"
fi
"$CTL" -c "$H/segel.conf" list >"$H/list.out" 2>&1
grep -Eq "^$ALICE .* token +valid\$" "$H/list.out" && grep -Eq "^bob@$DOMAIN .* token +valid\$" "$H/list.out" &&
	grep -Eq "^app@$DOMAIN .* file +valid\$" "$H/list.out" &&
	pass list_key_location || fail list_key_location "$(cat "$H/list.out")"
"$CTL" -c "$H/segel.conf" show "$ALICE" | grep -q '^key in: *token pkcs11:token=' &&
	pass show_key_location || fail show_key_location "no 'key in: token' line"
signed imported_signed alice
# libp11 0.4.12 stores RSA keys only: an EC key is refused, the store as it was.
EC=ec@$DOMAIN
if "$CTL" -c "$H/segel.conf" import "$PKI/certs/$EC.p12" --pass-file "$PKI/certs/$EC.pass" \
	--to-token >"$H/import-ec.out" 2>&1; then
	fail import_ec_refused "accepted: $(cat "$H/import-ec.out")"
elif grep -q 'Not supported' "$H/import-ec.out" && [ -e "$PKI/certs/$EC.p12" ] &&
	[ -e "$PKI/certs/$EC.pass" ] && [ ! -e "$PKI/certs/$EC.uri" ]; then
	pass import_ec_refused
else
	fail import_ec_refused "$(cat "$H/import-ec.out"; ls "$PKI/certs" | grep '^ec')"
fi
if "$CTL" -c "$H/segel.conf" revoke "$ALICE" --reason "kunci dicabut (uji)" --destroy-key >"$H/revoke.out" 2>&1 &&
	grep -q 'destroyed' "$H/revoke.out"; then
	pass revoke_destroy_key
else
	fail revoke_destroy_key "$(cat "$H/revoke.out")"
fi
rc=0
/usr/bin/python3 "$ATTRS" /usr/lib/softhsm/libsofthsm2.so "$LABEL" "$PIN" "$ALICE" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass revoke_object_gone || fail revoke_object_gone "p11-attrs exit $rc (2: no such key)"
msg "$ALICE" revoked
if send_sub alice "$ALICE" "$TO" "$H/revoked.eml"; then
	fail revoked_refused "accepted: $(last_reply)"
else
	last_reply | grep -q '^550 5\.7\.1' && pass revoked_refused ||
		fail revoked_refused "$(last_reply)"
fi

if grep -q -- "$PIN" "$H/segel.log" "$H/maillog" "$H/audit.log" 2>/dev/null; then
	fail pin_not_logged "the PIN is in a log"
else
	pass pin_not_logged
fi
finish
