#!/bin/bash
# t_attack_verify.sh - inbound shapes that need the real Postfix in front of
# segel (the unit cases are in tests/unit/test_attack_verify.c):
# - forged results under header names Postfix may hand over differently
#   (lower and upper case, a space before the colon) and our id with a
#   trailing dot, RFC 2047-encoded, percent-escaped, with full-width dots
#   or a comment inside are removed (issue 18); ARC- and X- look-alikes stay;
# - two From header fields: never pass;
# - a genuine signed message with "--BB--x" and text after its signed part
#   (issue 18 point 1): never pass;
# - an internal copy (bob to a colleague) whose body is a message/rfc822
#   from another address is policy, as the inbound copy would be;
# - archive copies, their folders and the audit log the daemon made are
#   private to its user; the socket is 0660 in socket_group;
# - a partner certificate (issued by the trusted test BSrE CA) whose CN and
#   O carry CR LF, a whole Authentication-Results line and parentheses: the
#   delivered message has exactly one field of ours, python3-authres reads
#   one smime=pass from it, and no header line was injected;
# - with a pass Subject tag configured, a Subject that already carries it
#   (unsigned, or a policy result; any case) loses it.
. "$(dirname "$0")/lib.sh"

harness_start || { fail harness_start "see above"; finish; }

W=$H/tav
mkdir -p "$W"
SARI=sari@kepriprov.go.id
ID=mail.$DOMAIN
RCPT=alice@$DOMAIN
N=0

printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nYth. Bapak/Ibu,\r\nmohon transfer ke rekening 123.\r\n' >"$W/content.txt"

hdr() { # NAME FROM
	printf 'From: %s\nTo: %s\nSubject: t_attack_verify %s\nDate: %s\nMessage-ID: <%s.%s@t-attack.example>\n' \
		"$2" "$RCPT" "$1" "$(date -R)" "$1" "$$"
}

sign() { # CERT KEY
	openssl cms -sign -binary -in "$W/content.txt" -signer "$1" -inkey "$2" \
		-certfile "$PKI/chain.pem"
}

deliver() { # NAME FROM FILE: the delivered copy in $W/NAME.out
	local f
	N=$((N + 1))
	send_in "$2" "$RCPT" "$3" || { echo "swaks: $(last_reply)"; return 1; }
	sink_wait "$N" 30 || { echo "not delivered"; return 1; }
	f=$(sink_find "Message-ID: <$1.$$@t-attack.example>") || { echo "not in the sink"; return 1; }
	sink_message "$f" "$W/$1.out"
}

# Our fields in FILE, unfolded, one a line (name compared without the
# space a reader may allow before the colon).
ours() { fields "$1" Authentication-Results | grep -i "^$ID;" || true; }

ar_parse() { # VALUE: "RESULT COUNT" as python3-authres reads it
	"$H_PY" - "$1" <<'EOF'
import sys, authres
a = authres.all_features().parse('Authentication-Results: ' + sys.argv[1])
print(a.results[0].result if a.results else '-', len(a.results))
EOF
}

# ---------------------------------------------------------------- forged
{
	printf 'authentication-results: %s; smime=pass (forged-lc)\n' "$ID"
	printf 'AUTHENTICATION-RESULTS: %s; smime=pass (forged-uc)\n' "$ID"
	printf 'Authentication-Results : %s; smime=pass (forged-sp)\n' "$ID"
	printf 'Authentication-Results: %s.; smime=pass (forged-dot)\n' "$ID"
	printf 'Authentication-Results:\n\t%s\n\t; smime=pass (forged-fold)\n' "$ID"
	# issue 18: ids a reader decodes to ours
	printf 'Authentication-Results: =?utf-8?q?%s?=; smime=pass (forged-2047)\n' "$(printf %s "$ID" | sed 's/\./=2E/g')"
	printf 'Authentication-Results: %s; smime=pass (forged-pct)\n' "$(printf %s "$ID" | sed 's/\./%2E/g')"
	printf 'Authentication-Results: %s; smime=pass (forged-nfkc)\n' "$(printf %s "$ID" | sed 's/\./\xef\xbc\x8e/g')"
	printf 'Authentication-Results: "%s" (c); smime=pass (forged-cfws)\n' "$(printf %s "$ID" | sed 's/\./(x)./')"
	printf 'ARC-Authentication-Results: i=1; %s; smime=pass (arc-keep)\n' "$ID"
	printf 'X-Authentication-Results: %s; smime=pass (x-keep)\n' "$ID"
	hdr forged "$SARI"
	sign "$PKI/partner/sari.pem" "$PKI/partner/sari.key"
} >"$W/forged.eml"
if why=$(deliver forged "$SARI" "$W/forged.eml"); then
	for t in lc uc sp dot fold 2047 pct nfkc cfws; do
		if grep -q "forged-$t" "$W/forged.out"; then
			fail "forged_$t" "still there: $(grep -i "forged-$t" "$W/forged.out")"
		else
			pass "forged_$t: removed"
		fi
	done
	for t in arc x; do
		if grep -q "($t-keep)" "$W/forged.out"; then
			pass "lookalike_$t: left alone"
		else
			fail "lookalike_$t" "removed"
		fi
	done
	n=$(ours "$W/forged.out" | grep -c .)
	if [ "$n" -eq 1 ] && ours "$W/forged.out" | grep -q 'smime=pass'; then
		pass "forged: exactly one field of ours, smime=pass"
	else
		fail forged "$n fields of ours: $(ours "$W/forged.out" | tr '\n' '|')"
	fi
else
	fail forged "$why"
fi

# ---------------------------------------------------------------- close_x
# Issue 18 point 1, as reproduced: the partner's genuine signed message
# re-sent with the boundary renamed and "--BB--x" plus the attacker's text
# after the signed part. RFC 2046 makes that line text: never pass.
{
	hdr close_x "$SARI"
	sign "$PKI/partner/sari.pem" "$PKI/partner/sari.key"
} >"$W/close_x.tmp"
b=$(sed -n 's/.*boundary="\([^"]*\)".*/\1/p' "$W/close_x.tmp" | head -1)
awk -v d="--$b" 'index($0, d) == 1 && ++k == 2 {
	print "--BB--x"; print "TAMBAHAN: transfer 500 juta ke rekening 123" }
	{ print }' "$W/close_x.tmp" | sed "s/$b/BB/g" >"$W/close_x.eml"
if why=$(deliver close_x "$SARI" "$W/close_x.eml"); then
	ar=$(ours "$W/close_x.out")
	if [ -n "$ar" ] && ! printf '%s' "$ar" | grep -q 'smime=pass'; then
		pass "close_x: not pass ($(printf '%s' "$ar" | grep -o 'smime=[a-z]*'))"
	else
		fail close_x "want no pass: $ar"
	fi
else
	fail close_x "$why"
fi

# ---------------------------------------------------------------- internal
# Issue 18 point 3: bob, logged in, writes to a colleague; the signed
# internal copy carries the result an inbound copy would get, so a body
# that shows another From (message/rfc822 from the Walikota) is never
# "pass (signed by this gateway for bob)".
BOB=bob@$DOMAIN
internal() { # NAME: send $W/NAME.eml as bob to $RCPT, delivered copy in NAME.out
	local f
	N=$((N + 1))
	send_sub bob "$BOB" "$RCPT" "$W/$1.eml" || { echo "swaks: $(last_reply)"; return 1; }
	sink_wait "$N" 30 || { echo "not delivered"; return 1; }
	f=$(sink_find "Message-ID: <$1.$$@t-attack.example>") || { echo "not in the sink"; return 1; }
	sink_message "$f" "$W/$1.out"
}
{
	hdr int_rfc822 "$BOB"
	printf 'MIME-Version: 1.0\nContent-Type: message/rfc822\n\n'
	printf 'From: Walikota Tanjungpinang <walikota@%s>\nTo: %s\nSubject: Perintah\n\nTransfer ke rekening 123.\n' "$DOMAIN" "$RCPT"
} >"$W/int_rfc822.eml"
{
	hdr int_plain "$BOB"
	printf 'Content-Type: text/plain\n\nMemo.\n'
} >"$W/int_plain.eml"
if why=$(internal int_rfc822); then
	ar=$(ours "$W/int_rfc822.out")
	if printf '%s' "$ar" | grep -q 'smime=policy' && printf '%s' "$ar" | grep -q 'From inside'; then
		pass "internal_rfc822: smime=policy, as an inbound copy"
	else
		fail internal_rfc822 "want policy: $ar"
	fi
else
	fail internal_rfc822 "$why"
fi
if why=$(internal int_plain); then
	ar=$(ours "$W/int_plain.out")
	if printf '%s' "$ar" | grep -q 'smime=pass.*signed by this gateway for'; then
		pass "internal_plain: smime=pass"
	else
		fail internal_plain "want pass: $ar"
	fi
else
	fail internal_plain "$why"
fi

# ---------------------------------------------------------------- modes
# Issue 18 point 6: what the live daemon created (archive copies of the
# internal mail above, the audit log) is its user's alone; the socket is
# 0660 in socket_group (the harness names "postfix").
bad=$(find "$H/archive" -mindepth 1 \( -type f -o -type d \) -perm /077 2>/dev/null;
	find "$H/audit.log" -perm /077 2>/dev/null)
n=$(find "$H/archive" -type f -name '*.eml' | grep -c .)
if [ -z "$bad" ] && [ "$n" -gt 0 ] && [ -s "$H/audit.log" ]; then
	pass "modes: $n archive copies, their folders and audit.log private"
else
	fail modes "readable beyond the owner: $bad ($n archive copies)"
fi
sm=$(stat -c '%a %G' "$H/segel.sock" 2>/dev/null)
if [ "$sm" = "660 postfix" ]; then
	pass "socket: 0660, group postfix"
else
	fail socket "$sm"
fi

# ---------------------------------------------------------------- two From
{
	hdr two_from "$SARI"
	printf 'From: %s\n' "$SARI"
	sign "$PKI/partner/sari.pem" "$PKI/partner/sari.key"
} >"$W/two_from.eml"
if why=$(deliver two_from "$SARI" "$W/two_from.eml"); then
	ar=$(ours "$W/two_from.out")
	if printf '%s' "$ar" | grep -q 'smime=policy'; then
		pass "two_from: smime=policy"
	else
		fail two_from "want policy: $ar"
	fi
else
	fail two_from "$why"
fi

# ---------------------------------------------------------------- hostile CN
"$H_PY" - "$PKI" "$W/evil" <<'EOF'
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
P, out = sys.argv[1:3]
ca = x509.load_pem_x509_certificate(open(P + '/bsre.pem', 'rb').read())
cak = serialization.load_pem_private_key(open(P + '/bsre.key', 'rb').read(), None)
ID = 'mail.tanjungpinangkota.go.id'
subj = x509.Name([
    x509.NameAttribute(NameOID.COMMON_NAME,
        'Eve) smime=pass (\r\nAuthentication-Results: ' + ID + '; smime=pass', _validate=False),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'x\n\tsmime=pass\r\n\r\nbody', _validate=False),
    x509.NameAttribute(NameOID.EMAIL_ADDRESS, 'eve@kepriprov.go.id')])
now = datetime.datetime.utcnow()
k = ec.generate_private_key(ec.SECP256R1())
c = (x509.CertificateBuilder().subject_name(subj).issuer_name(ca.subject)
     .public_key(k.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(now - datetime.timedelta(days=1))
     .not_valid_after(now + datetime.timedelta(days=30))
     .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
     .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
     .sign(cak, hashes.SHA256()))
open(out + '.pem', 'wb').write(c.public_bytes(serialization.Encoding.PEM))
open(out + '.key', 'wb').write(k.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF
{ hdr hostile_cn eve@kepriprov.go.id; sign "$W/evil.pem" "$W/evil.key"; } >"$W/hostile.eml"
if why=$(deliver hostile_cn eve@kepriprov.go.id "$W/hostile.eml"); then
	ar=$(ours "$W/hostile_cn.out")
	head=$(sed -n '1,/^$/p' "$W/hostile_cn.out")
	if [ "$(printf '%s\n' "$ar" | grep -c .)" -ne 1 ]; then
		fail hostile_cn "fields of ours: $(fields "$W/hostile_cn.out" Authentication-Results | tr '\n' '|')"
	elif printf '%s\n' "$head" | grep -qE '^(smime=|body$|Authentication-Results: mail[^;]*; smime=pass$)'; then
		fail hostile_cn "a header line was injected: $head"
	elif [ -n "$("$H_PY" -c 'import authres' 2>/dev/null && echo y)" ] &&
		[ "$(ar_parse "$ar")" != "pass 1" ]; then
		fail hostile_cn "python3-authres reads $(ar_parse "$ar"): $ar"
	else
		pass "hostile_cn: one field of ours, one smime=pass, nothing injected"
	fi
else
	fail hostile_cn "$why"
fi

# ---------------------------------------------------------------- subject tags
# With verify.subject_tags.pass set, a sender can write that tag into the
# Subject himself: unsigned from outside (no result) or a policy result
# (no tag configured) must not keep it (gateway.c tag_subject removes any
# leading tag of ours, in any case, before adding the one for the result).
segel_conf_set verify.subject_tags '{ pass = "[TERVERIFIKASI]"; fail = "[PALSU]"; }'
if segel_reload; then
	subj() { fields "$1" Subject; }
	{
		hdr tag_unsigned budi@example.org | sed 's/^Subject: /Subject: [TERVERIFIKASI] /'
		printf 'Content-Type: text/plain\n\nmohon transfer ke rekening 123\n'
	} >"$W/tag_unsigned.eml"
	{
		hdr tag_policy budi@kepriprov.go.id | sed 's/^Subject: /Subject: [terverifikasi] /'
		sign "$PKI/partner/sari.pem" "$PKI/partner/sari.key"
	} >"$W/tag_policy.eml"
	{ hdr tag_pass "$SARI"; sign "$PKI/partner/sari.pem" "$PKI/partner/sari.key"; } >"$W/tag_pass.eml"
	for t in tag_unsigned:budi@example.org tag_policy:budi@kepriprov.go.id tag_pass:$SARI; do
		n=${t%%:*}
		if ! why=$(deliver "$n" "${t#*:}" "$W/$n.eml"); then
			fail "$n" "$why"
		elif [ "$n" = tag_pass ]; then
			case $(subj "$W/$n.out") in
			"[TERVERIFIKASI] t_attack_verify"*) pass "$n: pass tag added" ;;
			*) fail "$n" "Subject: $(subj "$W/$n.out")" ;;
			esac
		else
			case $(subj "$W/$n.out") in
			*"[TERVERIFIKASI]"* | *"[terverifikasi]"*) fail "$n" "a pass tag the sender wrote stands: Subject: $(subj "$W/$n.out")" ;;
			*) pass "$n: no pass tag in: $(subj "$W/$n.out")" ;;
			esac
		fi
	done
else
	fail subject_tags "reload failed: $(tail -n 3 "$H/segel.log" | tr '\n' ' ')"
fi

finish
