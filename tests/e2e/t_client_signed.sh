#!/bin/bash
# t_client_signed.sh - issue 13 part 2: outbound mail that the sender's own
# client already signed (openssl cms and gpgsm stand in for Thunderbird and
# Outlook) or encrypted, through the real Postfix:
#   - alice's signature (openssl cms, gpgsm) passes untouched, is archived
#     and audited (event check, result checked) and logged action=checked;
#   - bob's address under alice's login (login_map) signed by bob: accepted;
#     the same From signed by alice: 550 5.7.1 "signed by";
#   - an expired (carol), a CRL-revoked (dave), an untrusted (mallory) and a
#     store-revoked (segelctl revoke) certificate, and a tampered body:
#     550 5.7.1 naming the reason, nothing delivered, a refuse record;
#   - encrypted mail: delivered unchanged, archived, audited as encrypted.
. "$(dirname "$0")/lib.sh"

TO=warga@example.org
delivered=0

harness_start || { fail harness_start "see above"; finish; }
CTL=$(dirname "$SEGEL_BIN")/segelctl

# gpgsm with alice's key and bob's, imported from unprotected PKCS#12 files
# (3DES: what gpgsm 2.2 reads); the agent is ours and stopped at exit.
G=$H/gpgsm-sign
gpg_ready=0
gpgsm_setup() {
	local u
	command -v gpgsm >/dev/null 2>&1 || return 1
	mkdir -p "$G" && chmod 0700 "$G"
	printf '%s S relax\n' "$(openssl x509 -in "$PKI/root.pem" -noout -fingerprint -sha1 | cut -d= -f2)" >"$G/trustlist.txt"
	printf 'disable-crl-checks\n' >"$G/gpgsm.conf"
	gpgsm --homedir "$G" --batch --import "$PKI/root.pem" "$PKI/bsre.pem" >"$G/log" 2>&1 || return 1
	for u in alice; do
		openssl pkcs12 -export -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES \
			-macalg sha1 -passout pass: -in "$PKI/staff/$u@$DOMAIN.pem" \
			-inkey "$PKI/staff/$u@$DOMAIN.key" -out "$G/$u.p12" || return 1
		gpgsm --homedir "$G" --batch --pinentry-mode loopback --passphrase '' \
			--import "$G/$u.p12" >>"$G/log" 2>&1 || return 1
	done
}
# a slow first start of gpg-agent can fail the import: one more try
gpgsm_setup || { gpgconf --homedir "$G" --kill gpg-agent 2>/dev/null; sleep 1; gpgsm_setup; } && gpg_ready=1
trap 'gpgconf --homedir "$G" --kill gpg-agent 2>/dev/null' EXIT

# The text part every case signs: "Subject: t_client NAME" in the outer
# header, a short CRLF body.
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nSurat resmi yang ditandatangani di klien.\r\n' >"$H/part.txt"

# cms_signed NAME FROM SIGNER: multipart/signed by openssl cms as SIGNER.
cms_signed() {
	local name=$1 from=$2 signer=$3 dir=$PKI/staff
	printf 'Surat resmi yang ditandatangani di klien.\n' >"$H/$name.in"
	openssl cms -sign -in "$H/$name.in" -text -md sha256 \
		-signer "$dir/$signer@$DOMAIN.pem" -inkey "$dir/$signer@$DOMAIN.key" \
		-certfile "$PKI/chain.pem" -from "$from" -to "$TO" \
		-subject "t_client $name" -out "$H/$name.eml" 2>"$H/$name.cms" ||
		{ fail "${name}_prepare" "$(cat "$H/$name.cms")"; return 1; }
	echo "$H/$name.eml"
}

# gpgsm_signed NAME FROM: multipart/signed made around gpgsm's detached
# signature by alice.
gpgsm_signed() {
	local name=$1 from=$2 b=gpgsm-b0und4ry
	gpgsm --homedir "$G" --batch --pinentry-mode loopback --passphrase '' \
		-u "alice@$DOMAIN" --include-certs -1 --detach-sign "$H/part.txt" \
		>"$H/$name.sig" 2>"$H/$name.gpgsm" ||
		{ fail "${name}_prepare" "$(tail -n 2 "$H/$name.gpgsm")"; return 1; }
	{
		printf 'From: %s\r\nTo: %s\r\nSubject: t_client %s\r\n' "$from" "$TO" "$name"
		printf 'MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="%s"\r\n\r\n' "$b"
		printf -- '--%s\r\n' "$b"
		cat "$H/part.txt"
		printf '\r\n--%s\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\n' "$b"
		printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
		base64 -w 76 "$H/$name.sig" | sed 's/$/\r/'
		printf -- '--%s--\r\n' "$b"
	} >"$H/$name.eml"
	echo "$H/$name.eml"
}

# The body of FILE and of the delivered OUT are the same bytes.
same_body() {
	"$H_PY" - "$1" "$2" <<'EOF'
import sys
def body(p):
    d = open(p, "rb").read().replace(b"\r\n", b"\n")
    return d[d.find(b"\n\n") + 2:].rstrip(b"\n")
sys.exit(0 if body(sys.argv[1]) == body(sys.argv[2]) else 1)
EOF
}

# accepted NAME LOGIN FROM FILE RESULT: delivered unchanged, archived, an
# audit record with RESULT (checked | encrypted), a log line.
accepted() {
	local name=$1 login=$2 from=$3 file=$4 want=$5 f n0
	n0=$(grep -c "action=checked" "$H/segel.log")
	if ! send_sub "$login" "$from" "$TO" "$file"; then
		fail "$name" "submission refused: $(last_reply)"
		return
	fi
	delivered=$((delivered + 1))
	if ! sink_wait "$delivered" 60 || ! f=$(sink_find "Subject: t_client $name"); then
		fail "$name" "not delivered to the sink"
		return
	fi
	sink_message "$f" "$H/$name.out"
	if ! same_body "$file" "$H/$name.out"; then
		fail "${name}_unchanged" "body changed (compare $file and $H/$name.out)"
	elif grep -q '=_segel_' "$H/$name.out"; then
		fail "${name}_unchanged" "signed a second time"
	else
		pass "${name}_unchanged"
	fi
	if [ "$want" = checked ]; then
		if verify_openssl "$f"; then
			pass "${name}_still_verifies"
		else
			fail "${name}_still_verifies" "$(tail -n 2 "$H/last.verify")"
		fi
	fi
	if grep -rlF "Subject: t_client $name" "$H/archive" >/dev/null 2>&1; then
		pass "${name}_archived"
	else
		fail "${name}_archived" "no archive file with its Subject under $H/archive"
	fi
	if grep -F "\"result\":\"$want\"" "$H/audit.log" | grep -qF "\"sender\":\"$from\""; then
		pass "${name}_audited"
	else
		fail "${name}_audited" "no audit record result=$want sender=$from: $(tail -n 1 "$H/audit.log")"
	fi
	if [ "$want" = checked ] && [ "$(grep -c "action=checked" "$H/segel.log")" -ne $((n0 + 1)) ]; then
		fail "${name}_logged" "no new action=checked line in $H/segel.log"
	elif [ "$want" = checked ]; then
		pass "${name}_logged"
	fi
}

# refused NAME LOGIN FROM FILE WORD: 550 5.7.1 naming WORD (in English and
# with the Indonesian half), a refuse record, nothing delivered.
refused() {
	local name=$1 login=$2 from=$3 file=$4 word=$5 r n0 n1
	n0=$(grep -F '"event":"refuse"' "$H/audit.log" | grep -cF "client-signed")
	send_sub "$login" "$from" "$TO" "$file"
	r=$(last_reply)
	if grep -q '^550[ -]5\.7\.1' <<<"$r" && grep -qi -- "$word" <<<"$r" &&
		grep -q ' / ' <<<"$r"; then
		pass "$name"
	else
		fail "$name" "reply: $r"
	fi
	n1=$(grep -F '"event":"refuse"' "$H/audit.log" | grep -cF "client-signed")
	if [ "$n1" -eq $((n0 + 1)) ]; then
		pass "${name}_audited"
	else
		fail "${name}_audited" "no refuse record for a client-signed message"
	fi
}

# ---------------------------------------------------------------- accepted

if f=$(cms_signed openssl_alice "alice@$DOMAIN" alice); then
	accepted openssl_alice alice "alice@$DOMAIN" "$f" checked
fi
if [ "$gpg_ready" = 1 ]; then
	if f=$(gpgsm_signed gpgsm_alice "alice@$DOMAIN"); then
		accepted gpgsm_alice alice "alice@$DOMAIN" "$f" checked
	fi
else
	skip gpgsm_alice "gpgsm missing or its key import failed: $(tail -n 2 "$G/log" 2>/dev/null)"
fi

# to a colleague: delivered with the result an inbound copy would carry
if f=$(cms_signed to_colleague "alice@$DOMAIN" alice) &&
	send_sub alice "alice@$DOMAIN" "staf@$DOMAIN" "$f"; then
	delivered=$((delivered + 1))
	sink_wait "$delivered" 60
	g=$(sink_find "Subject: t_client to_colleague")
	if [ -n "$g" ] && fields "$g" Authentication-Results | grep -q 'smime=pass'; then
		pass to_colleague_authres_pass
	else
		fail to_colleague_authres_pass "A-R: $([ -n "$g" ] && fields "$g" Authentication-Results)"
	fi
else
	fail to_colleague_authres_pass "not accepted: $(last_reply)"
fi

# bob's address under alice's login (sign.login_map)
printf 'alice@%s bob@%s\n' "$DOMAIN" "$DOMAIN" >"$H/login.map"
segel_conf_set sign.login_map "\"$H/login.map\""
if segel_reload; then
	if f=$(cms_signed bob_by_alice_login "bob@$DOMAIN" bob); then
		accepted bob_by_alice_login alice "bob@$DOMAIN" "$f" checked
	fi
	if f=$(cms_signed bob_signed_by_alice "bob@$DOMAIN" alice); then
		refused bob_signed_by_alice alice "bob@$DOMAIN" "$f" "signed by alice@"
	fi
else
	fail login_map_reload "segel did not reload with the login map"
fi

# ---------------------------------------------------------------- refused

f=$(cms_signed carol_expired "carol@$DOMAIN" carol) &&
	refused carol_expired carol "carol@$DOMAIN" "$f" "expired"
f=$(cms_signed dave_revoked "dave@$DOMAIN" dave) &&
	refused dave_revoked dave "dave@$DOMAIN" "$f" "revoked"
f=$(cms_signed mallory_untrusted "mallory@$DOMAIN" mallory) &&
	refused mallory_untrusted mallory "mallory@$DOMAIN" "$f" "untrusted"
if f=$(cms_signed tampered "alice@$DOMAIN" alice); then
	sed -i 's/Surat resmi/Surat palsu/' "$f"
	refused tampered alice "alice@$DOMAIN" "$f" "does not match"
fi
# bob's certificate revoked in the store only (no CRL knows it yet)
if "$CTL" -c "$H/segel.conf" revoke "bob@$DOMAIN" --reason "kunci hilang (uji)" >"$H/revoke.out" 2>&1; then
	f=$(cms_signed bob_store_revoked "bob@$DOMAIN" bob) &&
		refused bob_store_revoked bob "bob@$DOMAIN" "$f" "revoked"
else
	fail bob_store_revoked "segelctl revoke failed: $(cat "$H/revoke.out")"
fi
sleep 1
if ! grep -qE 'Subject: t_client (bob_signed_by_alice|carol_expired|dave_revoked|mallory_untrusted|tampered|bob_store_revoked)' "$H/sink"/* 2>/dev/null; then
	pass refused_not_delivered
else
	fail refused_not_delivered "a refused message reached the sink"
fi

# ---------------------------------------------------------------- encrypted

printf 'Rahasia.\n' >"$H/secret.txt"
if openssl cms -encrypt -in "$H/secret.txt" -aes256 -from "alice@$DOMAIN" -to "$TO" \
	-subject "t_client encrypted" -out "$H/encrypted.eml" \
	"$PKI/partner/sari.pem" 2>"$H/enc.log"; then
	accepted encrypted alice "alice@$DOMAIN" "$H/encrypted.eml" encrypted
else
	fail encrypted_prepare "$(cat "$H/enc.log")"
fi

# ---------------------------------------------------- archive and records
# Every copy of a checked or encrypted message is named, with its SHA-256,
# by its audit record: `segelctl archive verify` finds none unrecorded, the
# signed ones verify again, the encrypted one is checked by its bytes.
bd=${SEGEL_BUILD_DIR:-${BUILD:-build}}
case $bd in /*) ;; *) bd=$SEGEL_ROOT/$bd ;; esac
"$bd/segelctl" -c "$H/segel.conf" archive verify --all \
	>"$H/archive-verify.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && ! grep -qE '^(UNRECORDED|ALTERED|MISSING|BAD-SIGNATURE)' "$H/archive-verify.out" &&
	grep -q '^ok .*encrypted by the client' "$H/archive-verify.out" &&
	grep -q '^ok .*signature of alice@' "$H/archive-verify.out"; then
	pass archive_bound_to_audit
else
	fail archive_bound_to_audit "exit $rc: $(cat "$H/archive-verify.out")"
fi

finish
