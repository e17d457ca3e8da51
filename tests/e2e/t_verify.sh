#!/bin/bash
# t_verify.sh - inbound S/MIME verification end to end, through the private
# Postfix and segel-milter: mail from an outside client (send_in), signed by
# independent tools (openssl cms multipart and opaque, gpgsm, Python
# cryptography), must arrive with exactly one Authentication-Results of ours
# carrying the RFC 7281 result; forged results that name our authserv-id
# (plain, several, odd case, folded, quoted, comment first) are removed while
# a foreign one stays; the delivered body is byte-identical to what was sent
# and a delivered multipart/signed still verifies with openssl. When Debian's
# python3-authres is installed, that independent parser must read our field
# with the same result.
. "$(dirname "$0")/lib.sh"

harness_start || { fail harness_start "see above"; finish; }

W=$H/tv
mkdir -p "$W"
S=$PKI/staff
SARI=sari@kepriprov.go.id
ID=mail.$DOMAIN
RCPT=alice@$DOMAIN
N=0

printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nYth. Bapak/Ibu,\r\nUndangan rapat koordinasi hari Senin.\r\n.baris yang mulai dengan titik\r\n' >"$W/content.txt"

# hdr NAME FROM: the top header fields of test message NAME.
hdr() {
	printf 'From: %s\nTo: %s\nSubject: t_verify %s\nDate: %s\nMessage-ID: <%s.%s@t-verify.example>\n' \
		"$2" "$RCPT" "$1" "$(date -R)" "$1" "$$"
}

# sign_openssl CERT KEY [cms options]: openssl's S/MIME output on stdout.
sign_openssl() {
	local c=$1 k=$2
	shift 2
	openssl cms -sign -binary -in "$W/content.txt" -signer "$c" -inkey "$k" \
		-certfile "$PKI/chain.pem" "$@"
}

sign_python() { # CERT KEY
	"$H_PY" - "$1" "$2" "$PKI/chain.pem" "$W/content.txt" <<'EOF'
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
key = serialization.load_pem_private_key(open(sys.argv[2], 'rb').read(), None)
chain = x509.load_pem_x509_certificate(open(sys.argv[3], 'rb').read())
b = (pkcs7.PKCS7SignatureBuilder().set_data(open(sys.argv[4], 'rb').read())
     .add_signer(cert, key, hashes.SHA256()).add_certificate(chain))
sys.stdout.buffer.write(b.sign(serialization.Encoding.SMIME,
                               [pkcs7.PKCS7Options.DetachedSignature]))
EOF
}

# sign_gpgsm CERT KEY: multipart/signed around a gpgsm detached signature.
sign_gpgsm() {
	local g=$W/gpgsm-sign email
	rm -rf "$g" && mkdir -m 700 "$g" || return 1
	printf '#!/bin/sh\necho OK\nwhile read -r c r; do case $c in GETPIN) echo "D segel"; echo OK;; BYE) echo OK; exit 0;; *) echo OK;; esac; done\n' >"$g/pin.sh"
	chmod +x "$g/pin.sh"
	echo "pinentry-program $g/pin.sh" >"$g/gpg-agent.conf"
	echo "$(openssl x509 -in "$PKI/root.pem" -noout -fingerprint -sha1 | cut -d= -f2) S relax" >"$g/trustlist.txt"
	echo disable-crl-checks >"$g/gpgsm.conf"
	email=$(openssl x509 -in "$1" -noout -email | head -n 1)
	gpgsm --homedir "$g" --batch --import "$PKI/root.pem" "$PKI/bsre.pem" >"$g/log" 2>&1
	# gpgsm cannot read about one PKCS#12 in twenty (it depends on the
	# random salt): export again until it can
	local try
	for try in 1 2 3 4 5 6; do
		openssl pkcs12 -export -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
			-in "$1" -inkey "$2" -passout pass:segel -out "$g/k.p12" || return 1
		gpgsm --homedir "$g" --batch --import "$g/k.p12" >>"$g/log" 2>&1
		grep -q 'secret keys imported: 1' "$g/log" && break
	done
	gpgsm --homedir "$g" --batch --detach-sign --include-certs -1 -u "$email" \
		"$W/content.txt" >"$g/sig" 2>>"$g/log"
	local rc=$?
	gpgconf --homedir "$g" --kill gpg-agent >/dev/null 2>&1
	[ $rc -eq 0 ] && [ -s "$g/sig" ] || return 1
	printf 'MIME-Version: 1.0\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="=-gpgsm-="\n\n--=-gpgsm-=\n'
	cat "$W/content.txt"
	printf '\r\n--=-gpgsm-=\nContent-Type: application/pkcs7-signature; name=smime.p7s\nContent-Transfer-Encoding: base64\n\n'
	base64 -w 64 "$g/sig"
	printf -- '--=-gpgsm-=--\n'
}

# fields FILE NAME: see tests/e2e/lib.sh.

# An independent RFC 8601/7281 parser (Debian's python3-authres) reads the
# field: prints "RESULT IDENTIFIER PART", or fails.
ar_parse() {
	"$H_PY" - "$1" <<'EOF'
import sys, authres
a = authres.all_features().parse('Authentication-Results: ' + sys.argv[1])
r = [x for x in a.results if x.method == 'smime']
if len(r) != 1:
    sys.exit('no single smime result')
p = {x.name: x.value for x in r[0].properties}
print(r[0].result, p.get('smime-identifier', '-'), p.get('smime-part', '-'))
EOF
}
HAVE_AUTHRES=$("$H_PY" -c 'import authres' 2>/dev/null && echo yes || true)

# Body (after the first empty line) of both files, in CRLF form, identical?
same_body() {
	"$H_PY" - "$1" "$2" <<'EOF'
import sys
def body(p):
    b = open(p, 'rb').read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    return b.split(b'\r\n\r\n', 1)[1]
sys.exit(0 if body(sys.argv[1]) == body(sys.argv[2]) else 1)
EOF
}

# deliver NAME FROM FILE: send FILE inbound; the delivered copy in $W/NAME.out.
deliver() {
	local f
	N=$((N + 1))
	if ! send_in "$2" "$RCPT" "$3"; then
		echo "swaks: $(last_reply)"
		return 1
	fi
	sink_wait "$N" 30 || { echo "not delivered"; return 1; }
	f=$(sink_find "Message-ID: <$1.$$@t-verify.example>") || { echo "not in the sink"; return 1; }
	sink_message "$f" "$W/$1.out"
}

# check NAME FROM FILE RESULT [REGEX...]: delivered with exactly one A-R of
# ours (the first A-R field), smime=RESULT, each REGEX found in it; the
# body unchanged.
check() {
	local name=$1 from=$2 file=$3 want=$4 why ar re
	shift 4
	if ! why=$(deliver "$name" "$from" "$file"); then
		fail "$name" "$why"
		return
	fi
	ar=$(fields "$W/$name.out" Authentication-Results | grep -i "^$ID;" || true)
	if [ "$(printf '%s\n' "$ar" | grep -c .)" -ne 1 ]; then
		fail "$name" "want one A-R of ours, got: $(fields "$W/$name.out" Authentication-Results | tr '\n' '|')"
		return
	fi
	if ! fields "$W/$name.out" Authentication-Results | head -n 1 | grep -qi "^$ID;"; then
		fail "$name" "our A-R is not the top-most one"
		return
	fi
	if ! printf '%s' "$ar" | grep -q "smime=$want\b"; then
		fail "$name" "want smime=$want: $ar"
		return
	fi
	for re in "$@"; do
		if ! printf '%s' "$ar" | grep -qE -- "$re"; then
			fail "$name" "no /$re/ in: $ar"
			return
		fi
	done
	if ! same_body "$file" "$W/$name.out"; then
		fail "$name" "delivered body differs from the sent one"
		return
	fi
	if [ -n "$HAVE_AUTHRES" ]; then
		local parsed
		if ! parsed=$(ar_parse "$ar" 2>&1) || [ "${parsed%% *}" != "$want" ]; then
			fail "$name" "python3-authres reads the field as: $parsed"
			return
		fi
		pass "$name: smime=$want (python3-authres reads: $parsed)"
	else
		pass "$name: smime=$want"
	fi
}

# ---------------------------------------------------------------- pass

{ hdr multipart_openssl "$SARI"; sign_openssl "$PKI/partner/sari.pem" "$PKI/partner/sari.key"; } >"$W/m1.eml"
check multipart_openssl "$SARI" "$W/m1.eml" pass \
	'\(signature valid; signer Sari, Pemerintah Provinsi Kepulauan Riau\)' \
	"body\.smime-identifier=$SARI" 'body\.smime-part=2' \
	'body\.smime-serial=[0-9A-F]+' 'body\.smime-issuer="CN=Test BSrE Issuing CA,'
if [ -f "$W/multipart_openssl.out" ]; then
	if verify_openssl "$W/multipart_openssl.out"; then
		pass "multipart_openssl: delivered copy still verifies with openssl"
	else
		fail "multipart_openssl: delivered copy still verifies with openssl" "$(tail -n 2 "$H/last.verify" | tr '\n' ' ')"
	fi
fi

{ hdr opaque_openssl "$SARI"; sign_openssl "$PKI/partner/sari.pem" "$PKI/partner/sari.key" -nodetach; } >"$W/m2.eml"
check opaque_openssl "$SARI" "$W/m2.eml" pass 'body\.smime-part=1$|body\.smime-part=1 '

if command -v gpgsm >/dev/null && sign_gpgsm "$PKI/partner/sari.pem" "$PKI/partner/sari.key" >"$W/g.part"; then
	{ hdr gpgsm "$SARI"; cat "$W/g.part"; } >"$W/m3.eml"
	check gpgsm "$SARI" "$W/m3.eml" pass "body\.smime-identifier=$SARI"
else
	skip gpgsm "gpgsm could not sign (see $W/gpgsm-sign/log)"
fi

if sign_python "$PKI/partner/sari.pem" "$PKI/partner/sari.key" >"$W/p.part"; then
	{ hdr python_cryptography "$SARI"; cat "$W/p.part"; } >"$W/m4.eml"
	check python_cryptography "$SARI" "$W/m4.eml" pass "body\.smime-identifier=$SARI"
else
	fail python_cryptography "signing with Python cryptography failed"
fi

# A body larger than limits.memory_body (set to 64 KiB here) is spooled to a
# file and verified from there: 2 MB of quoted-printable text, opaque too.
segel_conf_set memory_body 65536
if segel_reload; then
	{
		printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
		seq -f 'Baris %05g laporan keuangan triwulan III, Dinas Pendapatan Daerah=20' 1 30000 | sed 's/$/\r/'
	} >"$W/big.txt"
	big() { # NAME [cms options]
		local n=$1
		shift
		hdr "$n" "$SARI"
		openssl cms -sign -binary -in "$W/big.txt" -signer "$PKI/partner/sari.pem" \
			-inkey "$PKI/partner/sari.key" -certfile "$PKI/chain.pem" "$@"
	}
	big large_spooled >"$W/m11.eml"
	check large_spooled "$SARI" "$W/m11.eml" pass 'body\.smime-part=2'
	big large_opaque_spooled -nodetach >"$W/m12.eml"
	check large_opaque_spooled "$SARI" "$W/m12.eml" pass 'body\.smime-part=1'
	big large_spooled_tampered | sed 's/Baris 29999/Baris 29998/' >"$W/m13.eml"
	check large_spooled_tampered "$SARI" "$W/m13.eml" fail 'signature does not match content'
else
	fail large_spooled "reload with limits.memory_body = 65536 failed: $(tail -n 3 "$H/segel.log" | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- not pass

{ hdr tampered "$SARI"; sign_openssl "$PKI/partner/sari.pem" "$PKI/partner/sari.key"; } |
	sed 's/hari Senin/hari Selasa/' >"$W/m5.eml"
check tampered "$SARI" "$W/m5.eml" fail 'signature does not match content' \
	"body\.smime-identifier=$SARI"

{ hdr outside_ca outsider@example.org; sign_openssl "$PKI/outside/signer.pem" "$PKI/outside/signer.key"; } >"$W/m6.eml"
check outside_ca outsider@example.org "$W/m6.eml" fail 'certificate not issued by a trusted CA'

DAVE=dave@$DOMAIN
{ hdr revoked "$DAVE"; sign_openssl "$S/$DAVE.pem" "$S/$DAVE.key"; } >"$W/m7.eml"
check revoked "$DAVE" "$W/m7.eml" fail 'certificate revoked'

{ hdr signer_not_from budi@kepriprov.go.id; sign_openssl "$PKI/partner/sari.pem" "$PKI/partner/sari.key"; } >"$W/m8.eml"
check signer_not_from budi@kepriprov.go.id "$W/m8.eml" policy \
	"signer $SARI is not the From address" "body\.smime-identifier=$SARI"

# The signer is bound to the one address From shows, and only when it
# shows no other: a partner's valid signature under a From whose display
# name reads as a city address is policy, not pass.
{ hdr display_spoof "alice@$DOMAIN <$SARI>"; sign_openssl "$PKI/partner/sari.pem" "$PKI/partner/sari.key"; } >"$W/m8b.eml"
check display_spoof "$SARI" "$W/m8b.eml" policy "is not the From address" \
	"body\.smime-identifier=$SARI"
{ hdr display_plain "Sari <$SARI>"; sign_openssl "$PKI/partner/sari.pem" "$PKI/partner/sari.key"; } >"$W/m8c.eml"
check display_plain "$SARI" "$W/m8c.eml" pass "body\.smime-identifier=$SARI"
# Unsigned mail whose From a reader takes for a city address (only in the
# display name) is tagged as unsigned own-domain mail (unsigned_own_domain
# = tag in the harness).
printf 'Content-Type: text/plain\n\nTolong transfer dana hari ini.\n' >"$W/u.body"
{ hdr own_display "walikota@$DOMAIN <boss@example.net>"; cat "$W/u.body"; } >"$W/m8d.eml"
check own_display boss@example.net "$W/m8d.eml" none "not signed, although all mail" \
	"body\.smime-identifier=walikota@$DOMAIN"

# ---------------------------------------------------------------- forged results

{
	printf 'Authentication-Results: %s; smime=pass (forged-1)\n' "$ID"
	printf 'Authentication-Results: MAIL.TanjungPinangKota.GO.ID; smime=pass (forged-2)\n'
	printf 'Authentication-Results: (a comment first) %s;\n\tsmime=pass\n\t(forged-3)\n' "$ID"
	printf 'Authentication-Results: "%s"; dkim=pass (forged-4)\n' "$ID"
	printf 'Authentication-Results: %s 1; spf=pass (forged-5)\n' "$ID"
	printf 'Authentication-Results: mx.kepriprov.go.id; dkim=pass header.d=kepriprov.go.id (foreign-keep)\n'
	hdr forged "$SARI"
	sign_openssl "$PKI/partner/sari.pem" "$PKI/partner/sari.key"
} >"$W/m9.eml"
check forged "$SARI" "$W/m9.eml" pass
if [ -f "$W/forged.out" ]; then
	if grep -q 'forged-' "$W/forged.out"; then
		fail forged_removed "still there: $(grep 'forged-' "$W/forged.out" | tr '\n' '|')"
	else
		pass "forged_removed: five forged results with our id (odd case, folded, quoted, versioned, comment first) gone"
	fi
	if fields "$W/forged.out" Authentication-Results | grep -q '^mx\.kepriprov\.go\.id; dkim=pass.*(foreign-keep)'; then
		pass "forged_foreign_kept: a foreign authserv-id's result stays"
	else
		fail forged_foreign_kept "$(fields "$W/forged.out" Authentication-Results | tr '\n' '|')"
	fi
fi

# Unsigned mail from outside: forged results go, no result of ours is added.
{
	printf 'Authentication-Results: %s; smime=pass (forged-6)\n' "$ID"
	printf 'Authentication-Results: mx.example.org; spf=pass (foreign-keep)\n'
	hdr unsigned budi@example.org
	printf 'Content-Type: text/plain\n\nHalo, tanpa tanda tangan.\n'
} >"$W/m10.eml"
if why=$(deliver unsigned budi@example.org "$W/m10.eml"); then
	ars=$(fields "$W/unsigned.out" Authentication-Results)
	if printf '%s\n' "$ars" | grep -q 'forged-6' || printf '%s\n' "$ars" | grep -qi "^$ID;"; then
		fail unsigned_forged_removed "A-R fields: $(printf '%s' "$ars" | tr '\n' '|')"
	elif ! printf '%s\n' "$ars" | grep -q 'foreign-keep'; then
		fail unsigned_forged_removed "the foreign A-R is gone"
	elif ! same_body "$W/m10.eml" "$W/unsigned.out"; then
		fail unsigned_forged_removed "body changed"
	else
		pass "unsigned_forged_removed: forged result removed, none added, foreign kept"
	fi
else
	fail unsigned_forged_removed "$why"
fi

finish
