#!/bin/bash
# t_hp.sh - issue 13 part 1: RFC 9788 header protection through the real
# Postfix.
#   - alice submits; what leaves carries, in the signed part 1, copies of
#     From, To, Cc, Subject, Date, Message-ID, In-Reply-To, References and
#     hp="clear" on its Content-Type; openssl cms and gpgsm accept it; one
#     changed octet of the inner Subject and openssl refuses it;
#   - the same bytes arriving from outside: smime=pass; with the outer
#     Subject changed (as an attacker, or a list's "[tag]"), the Date
#     changed, or the To changed: smime=policy naming the field; the
#     Subject tag is put in front of the protected Subject;
#   - sign.header_protection = false: no copies, no hp.
. "$(dirname "$0")/lib.sh"

TO=warga@example.org
LOCAL=staf@$DOMAIN
delivered=0

harness_start || { fail harness_start "see above"; finish; }

# msg NAME: a message from alice with every protected field, Date now.
msg() {
	{
		printf 'From: Alice Wulandari <alice@%s>\n' "$DOMAIN"
		printf 'To: Warga <%s>,\n\tKepala <kepala@example.org>\n' "$TO"
		printf 'Cc: arsip@example.org\n'
		printf 'Subject: t_hp %s Perihal: Undangan rapat\n' "$1"
		printf 'Date: %s\n' "$(LC_ALL=C date -R)"
		printf 'Message-ID: <%s.%s@%s>\n' "$1" "$$" "$DOMAIN"
		printf 'In-Reply-To: <awal@%s>\nReferences: <awal@%s>\n' "$DOMAIN" "$DOMAIN"
		printf 'X-Mailer: t_hp\nMIME-Version: 1.0\n'
		printf 'Content-Type: text/plain; charset=us-ascii\n\n'
		printf 'Yth. Bapak/Ibu,\nmohon hadir.\n'
	} >"$H/$1.eml"
	echo "$H/$1.eml"
}

# delivered NAME: the newest sink file with "t_hp NAME ", waiting for it.
delivered() {
	delivered=$((delivered + 1))
	sink_wait "$delivered" 60 || return 1
	sink_find "t_hp $1 "
}

# part1 FILE OUT: the header block of part 1 of a sink file.
part1() {
	sink_message "$1" "$H/p1.msg" --crlf
	"$H_PY" - "$H/p1.msg" "$2" <<'EOF'
import re, sys
d = open(sys.argv[1], "rb").read()
m = re.search(rb'boundary="([^"]+)"', d)
i = d.find(b"--" + m.group(1) + b"\r\n") + len(m.group(1)) + 4
j = d.find(b"\r\n\r\n", i)
open(sys.argv[2], "wb").write(d[i:j + 2])
EOF
}

# ---------------------------------------------------------------- signing

f=$(msg out1)
if ! send_sub alice "alice@$DOMAIN" "$TO" "$f"; then
	fail submit "refused: $(last_reply)"
	finish
fi
if ! s=$(delivered out1); then
	fail delivered "not in the sink"
	finish
fi
part1 "$s" "$H/out1.p1"
missing=
for h in From To Cc Subject Date Message-ID In-Reply-To References; do
	grep -q "^$h: " "$H/out1.p1" || missing="$missing $h"
done
if [ -z "$missing" ] && grep -q 'hp="clear"' "$H/out1.p1" &&
	! grep -q '^X-Mailer' "$H/out1.p1" &&
	grep -q '^Subject: t_hp out1 Perihal: Undangan rapat' "$H/out1.p1"; then
	pass protected_copies_in_part1
else
	fail protected_copies_in_part1 "missing:${missing:- none}; part 1 header: $(tr '\r\n' '  ' <"$H/out1.p1")"
fi
# the inner To keeps its folding
if grep -A1 '^To: ' "$H/out1.p1" | grep -q "^	Kepala"; then
	pass inner_folding_kept
else
	fail inner_folding_kept "$(grep -A1 '^To: ' "$H/out1.p1" | tr '\r\n' '  ')"
fi
if verify_openssl "$s"; then pass hp_openssl; else fail hp_openssl "$(tail -n 2 "$H/last.verify")"; fi
if verify_gpgsm "$s"; then pass hp_gpgsm; else fail hp_gpgsm "$(grep -v '^$' "$H/last.verify" | tail -n 2)"; fi
sink_message "$s" "$H/tamper.msg" --crlf
"$H_PY" - "$H/tamper.msg" <<'EOF'
import sys
p = sys.argv[1]
d = open(p, "rb").read()
i = d.find(b"\r\n\r\n")                      # the outer header ends here
j = d.find(b"Subject: t_hp out1 Perihal", i)  # the inner copy
d = d[:j + 19] + b"p" + d[j + 20:]            # "Perihal" -> "perihal"
open(p, "wb").write(d)
EOF
if ! verify_openssl "$H/tamper.msg"; then
	pass inner_subject_octet_breaks_signature
else
	fail inner_subject_octet_breaks_signature "openssl accepted a changed inner Subject"
fi

# ---------------------------------------------------------------- inbound

# inbound NAME SED WANT WORD: the signed message, its outer header edited
# with SED, arrives from outside for a local address; A-R must say WANT
# (and WORD in the comment).
inbound() {
	local name=$1 expr=$2 want=$3 word=$4 g ar
	sink_message "$s" "$H/$name.in"
	"$H_PY" - "$H/$name.in" "$expr" "$name" <<'EOF'
import re, sys
p, expr, name = sys.argv[1:4]
d = open(p, "rb").read()
i = d.find(b"\n\n")
h, b = d[:i + 1], d[i + 1:]
old, new = expr.split("|")
if old:
    h = re.sub(old.encode(), new.encode(), h, count=1, flags=re.M)
open(p, "wb").write(b"X-T-Hp: " + name.encode() + b"\n" + h + b)
EOF
	# X-T-Hp (outside the signature) finds it: the outer Subject changes
	send_in "alice@$DOMAIN" "$LOCAL" "$H/$name.in" ||
		{ fail "$name" "inbound refused: $(last_reply)"; return; }
	delivered=$((delivered + 1))
	sink_wait "$delivered" 60
	g=$(sink_find "X-T-Hp: $name")
	[ -n "$g" ] || { fail "$name" "not delivered"; return; }
	ar=$(sed -n '/^Authentication-Results:/,/^[^ \t]/p' "$g" | tr -d '\n')
	if grep -q "smime=$want" <<<"$ar" && { [ -z "$word" ] || grep -q -- "$word" <<<"$ar"; }; then
		pass "$name"
	else
		fail "$name" "A-R: $ar"
	fi
	cp "$g" "$H/$name.delivered"
}

inbound in_unchanged '|' pass ''
inbound in_subject_changed '^Subject: (t_hp \S+ )Perihal: Undangan|Subject: \1Perihal: Pembatalan' policy 'Subject outside'
# no tag for policy here: the Subject stays as it arrived
if grep -q '^Subject: t_hp out1 Perihal: Pembatalan' "$H/in_subject_changed.delivered" 2>/dev/null; then
	pass untagged_subject_left_alone
else
	fail untagged_subject_left_alone "$(grep '^Subject:' "$H/in_subject_changed.delivered" 2>/dev/null)"
fi
inbound in_list_tag '^Subject: |Subject: [warga] ' policy 'Subject outside'
inbound in_date_changed '^Date: .*|Date: Mon, 01 Jan 2024 08:00:00 +0700' policy 'Date outside'
inbound in_to_changed '^To: Warga|To: Penipu' policy 'To outside'

# The Subject tag stands before the protected Subject, not the forged one.
segel_conf_set verify.subject_tags '{ none = ""; fail = ""; policy = "[KEBIJAKAN]"; }'
if segel_reload; then
	inbound in_tagged '^Subject: (t_hp \S+ )Perihal: Undangan|Subject: \1Perihal: Pembatalan' policy 'Subject outside'
	if grep -q '^Subject: \[KEBIJAKAN\] t_hp out1 Perihal: Undangan rapat' "$H/in_tagged.delivered" 2>/dev/null; then
		pass tag_uses_protected_subject
	else
		fail tag_uses_protected_subject "$(grep '^Subject:' "$H/in_tagged.delivered" 2>/dev/null)"
	fi
else
	fail subject_tag_reload "segel did not reload"
fi

# ---------------------------------------------------------------- off

segel_conf_set sign.header_protection false
if segel_reload; then
	f=$(msg off1)
	if send_sub alice "alice@$DOMAIN" "$TO" "$f" && s=$(delivered off1); then
		part1 "$s" "$H/off1.p1"
		if ! grep -q 'hp=' "$H/off1.p1" && ! grep -q '^Subject:' "$H/off1.p1"; then
			pass header_protection_off
		else
			fail header_protection_off "$(tr '\r\n' '  ' <"$H/off1.p1")"
		fi
	else
		fail header_protection_off "not signed and delivered: $(last_reply)"
	fi
else
	fail header_protection_off "segel did not reload with sign.header_protection = false"
fi

finish
