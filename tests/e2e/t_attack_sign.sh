#!/bin/bash
# t_attack_sign.sh - the signing oracle end to end (THREATS.md section 1):
# bob, logged in with SMTP AUTH as bob@DOMAIN, submits From fields that a
# reader may show as alice, through the real Postfix (which is what decides
# what segel sees: obsolete "From :" names, bare CR, NUL, case of names).
#
# The judge is the same for every case: either the submission is refused
# (5xx), or whatever reaches the sink, if it is signed, shows bob and only
# bob. "Shows" is read by Python's email package (policy.default): every
# From field, in any spelling of the name, decoded; one mailbox, bob's, and
# no '@' in its display name but bob's own address. Unit cases (every shape,
# policy_sign directly) are in tests/unit/test_attack_sign.c.
#
# Also: a signed message carries nothing outside its multipart/signed (no
# text a reader would show beside the signed part), and which of the
# headers a reader sees are inside the signature (printed; RFC 8551 3.1
# header protection is optional and segel does not do it).
. "$(dirname "$0")/lib.sh"

TO=warga@example.org
delivered=0

harness_start || { fail harness_start "see above"; finish; }
D=$DOMAIN

# shows_only_bob FILE: exit 0 when FILE is unsigned, or signed and showing
# bob alone; prints what a reader would see.
shows_only_bob() {
	"$H_PY" - "$1" "bob@$D" <<'EOF'
import sys, email, re
from email import policy
raw = open(sys.argv[1], "rb").read()
bob = sys.argv[2]
m = email.message_from_bytes(raw, policy=policy.default)
if m.get_content_type() != "multipart/signed":
    print("unsigned"); sys.exit(0)
# every header line whose name is From in any case, with or without the
# obsolete white space before the colon
hdr = raw.split(b"\n\n", 1)[0]
names = re.findall(rb"(?im)^(from)[ \t]*:", hdr)
froms = [v for k, v in m.items() if k.strip().lower() == "from"]
seen = []
for v in froms:
    try:
        seen += [(a.display_name, a.addr_spec) for a in v.addresses]
    except Exception as e:
        seen.append(("?", "unparsable: %r" % e))
print("signed; From fields %d; reader sees %r" % (len(names), seen))
ok = len(names) == 1 and len(seen) == 1 and seen[0][1].lower() == bob and \
    all(w.lower() == bob for w in re.findall(r"\S*[@\uff20\ufe6b]\S*", seen[0][0]))
sys.exit(0 if ok else 1)
EOF
}

# attack NAME: the headers (printf format) come on stdin as one string.
attack() {
	local name=$1 hdrs=$2 file=$H/$1.eml r f
	{ printf -- "$hdrs"; printf 'To: %s\nSubject: t_attack %s\n\nbody\n' "$TO" "$name"; } >"$file"
	send_sub bob "bob@$D" "$TO" "$file"
	r=$(last_reply | tr '\n' ' ')
	case $r in
	5*) pass "$name"; echo "info: $name: refused: $r"; return ;;
	250*) ;;
	*) fail "$name" "reply: $r"; return ;;
	esac
	delivered=$((delivered + 1))
	if ! sink_wait "$delivered" 60 || ! f=$(sink_find "Subject: t_attack $name"); then
		fail "$name" "accepted but not delivered"
		return
	fi
	sink_message "$f" "$H/$name.out"
	if out=$(shows_only_bob "$H/$name.out"); then
		pass "$name"
	else
		fail "$name" "$out"
	fi
	echo "info: $name: accepted: $out"
}

# ---------------------------------------------------------------- honest

attack honest_bob "From: Bob Santoso <bob@$D>\n"
if grep -q 'multipart/signed' "$H/honest_bob.out" 2>/dev/null; then
	pass honest_bob_signed
else
	fail honest_bob_signed "bob's own mail was not signed"
fi

# ---------------------------------------------------------------- attacks

attack two_addresses "From: alice@$D, bob@$D\n"
attack group "From: x: alice@$D;\n"
attack group_of_bob "From: x: <bob@$D>;\n"
attack display_bob_addr_alice "From: \"bob@$D\" <alice@$D>\n"
attack display_alice_addr_bob "From: \"alice@$D\" <bob@$D>\n"
attack bare_then_angle "From: alice@$D <bob@$D>\n"
attack angle_then_bare "From: <bob@$D> alice@$D\n"
attack two_angles "From: <bob@$D> <alice@$D>\n"
attack two_bare "From: bob@$D alice@$D\n"
attack comment_alice "From: bob@$D (alice@$D)\n"
attack comment_bob "From: alice@$D (bob)\n"
attack quoted_local_evil "From: \"alice@$D\"@evil.example\n"
attack quoted_local "From: \"alice\"@$D\n"
attack route "From: <@evil.example:alice@$D>\n"
attack encoded_q "From: =?utf-8?q?alice=40$D?= <bob@$D>\n"
attack encoded_b "From: =?utf-8?b?$(printf 'alice@%s' "$D" | base64 -w0)?= <bob@$D>\n"
attack fullwidth_at "From: alice\357\274\240$D <bob@$D>\n"
attack two_from "From: <bob@$D>\nFrom: <alice@$D>\n"
attack two_from_case "FROM: <alice@$D>\nfrom: <bob@$D>\n"
attack obsolete_colon "From: <bob@$D>\nFrom : <alice@$D>\n"
attack obsolete_colon_first "From : <alice@$D>\nFrom: <bob@$D>\n"
attack obsolete_tab "From\t: <alice@$D>\nFrom: <bob@$D>\n"
attack folded "From: \"Alice\"\n <bob@$D>,\n alice@$D\n"
attack bare_cr "From: <bob@$D>\rFrom: alice@$D\n"
attack nul "From: <bob@$D>\000, alice@$D\n"
attack trailing_dot "From: alice@$D.\n"
attack uppercase "From: ALICE@$(tr a-z A-Z <<<"$D")\n"

# ------------------------------------------------ documented, not refused

# Sender: and Resent-From: are not part of the decision (only From is).
attack sender_alice "From: bob@$D\nSender: alice@$D\n"
attack resent_from_alice "From: bob@$D\nResent-From: alice@$D\n"
# the envelope sender is not part of the decision either
file=$H/envelope_alice.eml
printf 'From: bob@%s\nTo: %s\nSubject: t_attack envelope_alice\n\nbody\n' "$D" "$TO" >"$file"
send_sub bob "alice@$D" "$TO" "$file"
echo "info: envelope_alice (MAIL FROM alice, From bob, login bob): $(last_reply | tr '\n' ' ')"
case $(last_reply) in 250*) delivered=$((delivered + 1)) ;; esac

# ------------------------------------------- nothing outside the signature

# bob's body tries to end the signed part early and add text after it.
{
	printf 'From: bob@%s\nTo: %s\nSubject: t_attack smuggle\n' "$D" "$TO"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain\n\nsigned text\n'
	printf -- '------=_segel_0--\n--\n\nunsigned text after the signed part\n'
} >"$H/smuggle.eml"
send_sub bob "bob@$D" "$TO" "$H/smuggle.eml"
delivered=$((delivered + 1))
if sink_wait "$delivered" 60 && f=$(sink_find "Subject: t_attack smuggle"); then
	sink_message "$f" "$H/smuggle.out" --crlf
	if verify_openssl "$f" && "$H_PY" - "$H/smuggle.out" <<'EOF'
import sys, email
from email import policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
parts = m.get_payload()
ok = m.get_content_type() == "multipart/signed" and len(parts) == 2 and \
    not (m.epilogue or "").strip() and \
    "unsigned text" not in (m.preamble or "") + (m.epilogue or "") and \
    parts[1].get_content_type() == "application/pkcs7-signature"
sys.exit(0 if ok else 1)
EOF
	then
		pass smuggle_inside_signature
	else
		fail smuggle_inside_signature "see $H/smuggle.out"
	fi
	# which headers a reader sees are inside the signed content
	"$H_PY" - "$H/smuggle.out" <<'EOF'
import sys, email
from email import policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
inner = m.get_payload()[0]
for h in ("From", "To", "Subject", "Date", "Sender", "Reply-To"):
    print("info: header %-8s inside the signature: %s" % (h, "yes" if inner.get(h) else "no"))
EOF
else
	fail smuggle_inside_signature "not delivered"
fi


# bob sends two Content-Type fields of different case: after signing, only
# segel's multipart/signed may remain (a surviving one would make a reader
# parse the signed body with bob's boundary).
{
	printf 'From: bob@%s\nTo: %s\nSubject: t_attack content_type_twice\n' "$D" "$TO"
	printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="X"\n'
	printf 'CONTENT-TYPE: text/plain\n\n--X\nContent-Type: text/plain\n\nsatu\n--X--\n'
} >"$H/ct2.eml"
send_sub bob "bob@$D" "$TO" "$H/ct2.eml"
case $(last_reply) in
250*)
	delivered=$((delivered + 1))
	if sink_wait "$delivered" 60 && f=$(sink_find "Subject: t_attack content_type_twice"); then
		sink_message "$f" "$H/ct2.out"
		n=$(sed '/^$/q' "$H/ct2.out" | grep -ci '^content-type[ \t]*:')
		if [ "$n" = 1 ] && grep -qi '^content-type: multipart/signed' "$H/ct2.out"; then
			pass content_type_twice_one_left
		else
			fail content_type_twice_one_left "$n top-level Content-Type fields in $H/ct2.out"
		fi
	else
		fail content_type_twice_one_left "not delivered"
	fi ;;
*) pass content_type_twice_one_left; echo "info: content_type_twice: $(last_reply)" ;;
esac

# ------------------------------------------------ for the report (info)

# The sendmail command on the gateway host: the harness puts 127.0.0.1 in
# sign.trusted_hosts (the shipped default is none since issue 17), so any
# local user is a trusted host here.
printf 'From: alice@%s\nTo: %s\nSubject: t_attack local_as_alice\n\nbody\n' "$D" "$TO" >"$H/local.eml"
if send_local "alice@$D" "$TO" "$H/local.eml"; then
	delivered=$((delivered + 1))
	if sink_wait "$delivered" 60 && f=$(sink_find "Subject: t_attack local_as_alice") &&
		grep -q 'multipart/signed' "$f"; then
		echo "info: local_as_alice: sendmail command, From alice, no login: SIGNED with alice's certificate (sign.trusted_hosts has 127.0.0.1)"
	else
		echo "info: local_as_alice: not signed"
	fi
fi

# Inbound: sari (kepriprov.go.id, valid certificate) signs mail whose From a
# reader shows as alice. segel's verification reads the From leniently.
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nisi surat\r\n' >"$H/content.txt"
{
	printf 'From: alice@%s <sari@kepriprov.go.id>\nTo: staf@%s\nSubject: t_attack inbound_as_alice\n' "$D" "$D"
	openssl cms -sign -binary -in "$H/content.txt" -signer "$PKI/partner/sari.pem" \
		-inkey "$PKI/partner/sari.key" -certfile "$PKI/chain.pem"
} >"$H/inbound.eml"
if send_in sari@kepriprov.go.id "staf@$D" "$H/inbound.eml"; then
	delivered=$((delivered + 1))
	if sink_wait "$delivered" 60 && f=$(sink_find "Subject: t_attack inbound_as_alice"); then
		echo "info: inbound_as_alice: $(grep -A2 '^Authentication-Results: mail' "$f" | tr -s '\n\t ' ' ' | cut -c1-200)"
		sink_message "$f" "$H/inbound.out"
		echo "info: inbound_as_alice: a reader sees $("$H_PY" -c '
import sys, email
from email import policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
print([a.addr_spec for a in m["From"].addresses])' "$H/inbound.out")"
	fi
else
	echo "info: inbound_as_alice: $(last_reply)"
fi

finish
