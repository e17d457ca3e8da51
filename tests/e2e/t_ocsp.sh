#!/bin/bash
# t_ocsp.sh - OCSP (pki.ocsp) through the daemon and the private Postfix.
#
# Real responders: `openssl ocsp -index ... -port` on loopback, signing with
# a responder certificate the test BSrE CA delegated (extended key usage
# OCSPSigning); two more sign with keys it never authorised (one chained to
# the outside CA, one BSrE-issued without OCSPSigning). tests/httpd.py with
# tests/ocsp_front.py stands in front of the good responder for what a
# responder does wrong: answer slowly, or answer with a recorded old answer
# (another nonce; no nonce and past its nextUpdate, made under faketime).
# Each case has its own certificate, whose Authority Information Access
# names the responder of that case; none of them is in crl_dir's CRL, so
# only OCSP can find a revocation.
#
# Inbound: a partner whose certificate is revoked at OCSP gets smime=fail
# (and smime=pass with pki.ocsp = "off": OCSP alone decided); good passes;
# unknown, down, slow, wrong signer, replayed fall back to the CRL (pass)
# under "on", each for the reason logged, and give smime=temperror under
# "required"; a slow responder costs at most pki.ocsp_timeout; an answer is
# cached (one request for two messages). Store: a certificate revoked at
# OCSP is refused for signing (550), a good one signs, a silent responder
# under "required" is a 451.
. "$(dirname "$0")/lib.sh"

# The responders and the front are this script's own: stopped on exit
# (set before harness_start, which keeps this trap and runs it after its own).
OPIDS=()
ocsp_stop() {
	local p
	for p in "${OPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${OPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap ocsp_stop EXIT

harness_start || { fail harness_start "see above"; finish; }

O=$H/ocsp
WWW=$O/www
RCPT=alice@$DOMAIN
mkdir -p "$O" "$WWW"

read -r RPORT WPORT W2PORT DEAD OLDPORT STALEPORT <<<"$(_h_free_ports 6)"

# ------------------------------------------------------------ the PKI

# cert NAME CA CAKEY EXT: a P-256 key and a certificate NAME.pem issued by
# CA with the extension lines EXT.
cert() {
	local n=$1 ca=$2 cakey=$3 ext=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$O/$n.key" -subj "/C=ID/O=Segel Test/CN=$n" \
		-out "$O/$n.csr" 2>>"$O/gen.log" &&
		printf '%b\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' "$ext" >"$O/$n.ext" &&
		openssl x509 -req -in "$O/$n.csr" -CA "$ca" -CAkey "$cakey" \
			-set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
			-extfile "$O/$n.ext" -out "$O/$n.pem" 2>>"$O/gen.log"
}

# leaf NAME EMAIL URL: an S/MIME signer issued by BSrE, OCSP responder URL.
leaf() {
	cert "$1" "$PKI/bsre.pem" "$PKI/bsre.key" "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\nsubjectAltName=email:$2\nauthorityInfoAccess=OCSP;URI:$3"
}

# index LETTER NAME: the line of NAME in an openssl ocsp index (V or R).
index() {
	local s exp rev=
	s=$(openssl x509 -noout -serial -in "$O/$2.pem" | cut -d= -f2)
	exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
	[ "$1" = R ] && rev="$(date -u -d '-1 hour' +%y%m%d%H%M%SZ),keyCompromise"
	printf '%s\t%s\t%s\t%s\tunknown\t/CN=%s\n' "$1" "$exp" "$rev" "$s" "$2"
}

# responder PORT CERT KEY INDEX [faketime spec]: openssl ocsp on loopback.
responder() {
	local pre=()
	[ -n "${5:-}" ] && pre=(faketime -f "$5")
	"${pre[@]}" openssl ocsp -index "$4" -port "$1" -rsigner "$2" -rkey "$3" \
		-CA "$PKI/bsre.pem" -nmin 60 -ignore_err >>"$O/responder.$1.log" 2>&1 &
	OPIDS+=($!)
}

# up PORT: wait until something listens there.
up() {
	local i
	for i in $(seq 1 100); do _h_listening "$1" && return 0; sleep 0.1; done
	return 1
}

# The front (tests/httpd.py + tests/ocsp_front.py): its port goes into
# the certificates of the cases it serves.
"$H_PY" "$SEGEL_ROOT/tests/httpd.py" --root "$WWW" --port-file "$O/front.port" \
	>"$O/front.log" 2>&1 &
OPIDS+=($!)
for i in $(seq 1 100); do [ -s "$O/front.port" ] && break; sleep 0.1; done
FPORT=$(cat "$O/front.port" 2>/dev/null)
[ -n "$FPORT" ] || { fail "front" "$(cat "$O/front.log")"; finish; }

P=kepriprov.go.id
gen_ok=1
{
	cert resp "$PKI/bsre.pem" "$PKI/bsre.key" "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning" &&
	cert wrongca "$PKI/outside/ca.pem" "$PKI/outside/ca.key" "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning" &&
	cert noeku "$PKI/bsre.pem" "$PKI/bsre.key" "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth" &&
	leaf good "good@$P" "http://127.0.0.1:$RPORT/" &&
	leaf revoked "revoked@$P" "http://127.0.0.1:$RPORT/" &&
	leaf unknown "unknown@$P" "http://127.0.0.1:$RPORT/" &&
	leaf cached "cached@$P" "http://127.0.0.1:$FPORT/cmd/fwd" &&
	leaf down "down@$P" "http://127.0.0.1:$DEAD/" &&
	leaf slow "slow@$P" "http://127.0.0.1:$FPORT/cmd/slow" &&
	leaf wrong "wrong@$P" "http://127.0.0.1:$WPORT/" &&
	leaf wrong2 "wrong2@$P" "http://127.0.0.1:$W2PORT/" &&
	leaf replay "replay@$P" "http://127.0.0.1:$FPORT/cmd/replay" &&
	leaf stale "stale@$P" "http://127.0.0.1:$FPORT/cmd/stale" &&
	leaf sgood "sgood@$DOMAIN" "http://127.0.0.1:$RPORT/" &&
	leaf srevoked "srevoked@$DOMAIN" "http://127.0.0.1:$RPORT/" &&
	leaf sdown "sdown@$DOMAIN" "http://127.0.0.1:$DEAD/"
} || gen_ok=0
[ "$gen_ok" = 1 ] || { fail "test PKI" "$(tail -5 "$O/gen.log")"; finish; }

for n in fwd slow replay stale; do
	ln -s "$SEGEL_ROOT/tests/ocsp_front.py" "$WWW/$n.cmd"
	echo application/ocsp-response >"$WWW/$n.type"
done
echo "$RPORT" >"$WWW/fwd.port"
echo 15 >"$WWW/slow.delay"

# What the responders know. replay and stale are revoked now; their
# recorded answers were made while they were good.
{
	for n in good cached slow sgood; do index V $n; done
	for n in revoked wrong wrong2 replay stale srevoked; do index R $n; done
} >"$O/index.txt"
{ index V replay; index V stale; } >"$O/index.old"
responder "$RPORT" "$O/resp.pem" "$O/resp.key" "$O/index.txt"
responder "$WPORT" "$O/wrongca.pem" "$O/wrongca.key" "$O/index.txt"
responder "$W2PORT" "$O/noeku.pem" "$O/noeku.key" "$O/index.txt"
responder "$OLDPORT" "$O/resp.pem" "$O/resp.key" "$O/index.old"
responder "$STALEPORT" "$O/resp.pem" "$O/resp.key" "$O/index.old" "-3d"
if ! up "$RPORT" || ! up "$WPORT" || ! up "$W2PORT" || ! up "$OLDPORT" || ! up "$STALEPORT"; then
	fail "responders" "$(tail -3 "$O"/responder.*.log "$O/front.log")"
	finish
fi

# The recorded answers: one made now with its own nonce (only the nonce
# tells it from a fresh one), one without a nonce made three days ago
# (nextUpdate an hour after that).
openssl ocsp -issuer "$PKI/bsre.pem" -cert "$O/replay.pem" -url "http://127.0.0.1:$OLDPORT/" \
	-respout "$WWW/replay.der" -CAfile "$PKI/trust.pem" -verify_other "$PKI/bsre.pem" \
	>"$O/rec.log" 2>&1
openssl ocsp -issuer "$PKI/bsre.pem" -cert "$O/stale.pem" -url "http://127.0.0.1:$STALEPORT/" \
	-no_nonce -respout "$WWW/stale.der" -noverify >"$O/rec-stale.log" 2>&1
if grep -q "replay.pem: good" "$O/rec.log" && grep -qx "good" "$O/rec-stale.log" &&
	grep -q "Status times invalid" "$O/rec-stale.log"; then
	pass "recorded answers: replay says good (nonce, current), stale says good (no nonce, expired)"
else
	fail "recorded answers" "$(cat "$O/rec.log" "$O/rec-stale.log")"
fi

# The responder itself, asked by openssl's own client: the index is right.
for n in good:good revoked:revoked unknown:unknown; do
	c=${n%%:*} want=${n##*:}
	if openssl ocsp -issuer "$PKI/bsre.pem" -cert "$O/$c.pem" -url "http://127.0.0.1:$RPORT/" \
		-CAfile "$PKI/trust.pem" -verify_other "$PKI/bsre.pem" 2>&1 | grep -q "$c.pem: $want"; then
		pass "openssl ocsp client: $c is $want at the test responder"
	else
		fail "responder says $want for $c" "$(tail -3 "$O/responder.$RPORT.log")"
	fi
done

# ------------------------------------------------------------ inbound

printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nYth. Bapak/Ibu,\r\nlaporan terlampir.\r\n' >"$O/content.txt"
SEQ=0

# inbound NAME: sends a message signed by NAME@kepriprov.go.id; sets AR
# (our Authentication-Results) and SECS (the SMTP session's seconds).
inbound() {
	local n=$1 f t0 t1
	SEQ=$((SEQ + 1))
	{
		printf 'From: %s@%s\nTo: %s\nSubject: t_ocsp %s %s\nDate: %s\nMessage-ID: <%s.%s.%s@t-ocsp.example>\n' \
			"$n" "$P" "$RCPT" "$n" "$SEQ" "$(date -R)" "$n" "$SEQ" "$$"
		openssl cms -sign -binary -in "$O/content.txt" -signer "$O/$n.pem" -inkey "$O/$n.key" \
			-certfile "$PKI/chain.pem"
	} >"$O/$n.$SEQ.eml"
	AR= SECS=
	t0=$(date +%s.%N)
	send_in "$n@$P" "$RCPT" "$O/$n.$SEQ.eml"
	t1=$(date +%s.%N)
	SECS=$("$H_PY" -c "print(round($t1 - $t0, 1))")
	for _ in $(seq 1 150); do
		f=$(sink_find "Subject: t_ocsp $n $SEQ") && break
		sleep 0.2
	done
	[ -n "${f:-}" ] && AR=$(fields "$f" Authentication-Results | grep "mail.$DOMAIN")
	return 0
}

# expect NAME RESULT WHAT: the last inbound's result.
expect() {
	if grep -q "smime=$2 " <<<"$AR "; then
		pass "$3"
	else
		fail "$3" "got: ${AR:-no message}; log: $(grep -i ocsp "$H/segel.log" | tail -2)"
	fi
}

# Control: OCSP off, the partner revoked only at OCSP passes.
segel_conf_set pki.ocsp '"off"'
segel_reload || fail "reload ocsp=off" "$(tail -2 "$H/segel.log")"
inbound revoked
expect revoked pass "control: pki.ocsp off: a signer revoked only at OCSP passes (no CRL lists it)"

segel_conf_set pki.ocsp '"on"'
segel_conf_set pki.ocsp_timeout 4
segel_reload || fail "reload ocsp=on" "$(tail -2 "$H/segel.log")"

inbound revoked
expect revoked fail "on: a partner revoked at its OCSP responder: smime=fail"
grep -q 'certificate revoked at its OCSP responder' <<<"$AR" &&
	pass "the result says why: certificate revoked at its OCSP responder" ||
	fail "revoked reason" "$AR"

inbound good
expect good pass "on: good at OCSP: smime=pass"

inbound unknown
expect unknown pass "on: unknown at OCSP falls back to the CRL: smime=pass"
grep -q "OCSP .*does not know it" "$H/segel.log" &&
	pass "unknown: logged as the responder not knowing it" ||
	fail "unknown logged" "$(grep OCSP "$H/segel.log" | tail -2)"

inbound down
expect down pass "on: responder down (nothing listens) falls back to the CRL: smime=pass"

inbound slow
expect slow pass "on: a responder slower than pki.ocsp_timeout falls back to the CRL: smime=pass"
if "$H_PY" -c "import sys; sys.exit(0 if float('$SECS') < 10 else 1)"; then
	pass "slow responder: the session took ${SECS%.*} s (timeout 4 s, responder 15 s)"
else
	fail "slow responder waited for" "$SECS s"
fi
grep -q "OCSP http://127.0.0.1:$FPORT/cmd/slow: .*[Tt]imed out\|OCSP http://127.0.0.1:$FPORT/cmd/slow: .*[Tt]imeout" "$H/segel.log" &&
	pass "slow: logged as timed out" ||
	fail "slow logged" "$(grep OCSP "$H/segel.log" | tail -2)"

inbound wrong
expect wrong pass "on: an answer signed under the outside CA is not believed (its 'revoked' ignored, CRL decides)"
grep -q "OCSP http://127.0.0.1:$WPORT/: answer's signature not accepted" "$H/segel.log" &&
	pass "wrong key: logged as signature not accepted" ||
	fail "wrong key logged" "$(grep OCSP "$H/segel.log" | tail -2)"

inbound wrong2
expect wrong2 pass "on: an answer signed by a BSrE certificate without OCSPSigning is not believed"
grep -q "OCSP http://127.0.0.1:$W2PORT/: answer's signature not accepted" "$H/segel.log" &&
	pass "no OCSPSigning: logged as signature not accepted" ||
	fail "no OCSPSigning logged" "$(grep OCSP "$H/segel.log" | tail -2)"

inbound replay
expect replay pass "on: a replayed 'good' answer with another nonce is rejected (CRL decides)"
grep -q "OCSP http://127.0.0.1:$FPORT/cmd/replay: answer's nonce is not ours" "$H/segel.log" &&
	pass "replay: logged as a nonce that is not ours" ||
	fail "replay logged" "$(grep OCSP "$H/segel.log" | tail -2)"

inbound stale
expect stale pass "on: a replayed answer without nonce past its nextUpdate is rejected"
grep -q "OCSP http://127.0.0.1:$FPORT/cmd/stale: answer out of date" "$H/segel.log" &&
	pass "stale: logged as out of date" ||
	fail "stale logged" "$(grep OCSP "$H/segel.log" | tail -2)"

# The cache: two messages, one request (the answer is good for 60 min).
inbound cached
expect cached pass "on: good through the front: smime=pass"
inbound cached
expect cached pass "on: the second message of the same signer: smime=pass"
c=$(grep -c "POST /cmd/fwd" "$WWW/requests.log" 2>/dev/null || true)
[ "$c" = 1 ] && pass "cache: one OCSP request for two messages until nextUpdate" ||
	fail "cache" "$c requests to the responder"

# required: no good answer is a temperror; revoked stays fail, good passes.
segel_conf_set pki.ocsp '"required"'
segel_reload || fail "reload ocsp=required" "$(tail -2 "$H/segel.log")"
for n in unknown down replay stale wrong; do
	inbound $n
	expect $n temperror "required: $n gives smime=temperror"
done
# the reload forgot the silent responders: each was asked again
off=$(grep -c "did not answer within the last 60 s" "$H/segel.log" || true)
[ "$off" = 0 ] && pass "a reload asks responders that were silent again (none skipped)" ||
	fail "reload forgets silence" "$off skipped"
inbound good
expect good pass "required: good still passes"
inbound revoked
expect revoked fail "required: revoked still fails"

# ------------------------------------------------------------ the store

# store ADDR NAME: NAME's key and certificate as ADDR's PKCS#12 in the store.
store() {
	local pass
	pass=$(openssl rand -hex 12)
	printf '%s\n' "$pass" >"$PKI/certs/$1.pass"
	openssl pkcs12 -export -inkey "$O/$2.key" -in "$O/$2.pem" -certfile "$PKI/bsre.pem" \
		-passout "pass:$pass" -out "$PKI/certs/$1.p12" 2>>"$O/gen.log"
	chmod 0600 "$PKI/certs/$1.pass" "$PKI/certs/$1.p12"
}
store "sgood@$DOMAIN" sgood
store "srevoked@$DOMAIN" srevoked
store "sdown@$DOMAIN" sdown

# outbound ADDR: a message from ADDR by the trusted application host.
outbound() {
	SEQ=$((SEQ + 1))
	printf 'From: %s\nTo: warga@example.org\nSubject: t_ocsp out %s %s\nDate: %s\nMessage-ID: <out.%s.%s@t-ocsp.example>\n\nSurat resmi.\n' \
		"$1" "$1" "$SEQ" "$(date -R)" "$SEQ" "$$" >"$O/out.$SEQ.eml"
	send_in "$1" warga@example.org "$O/out.$SEQ.eml" --li 127.0.0.1
}

segel_conf_set pki.ocsp '"off"'
segel_reload || fail "reload store" "$(tail -2 "$H/segel.log")"
outbound "srevoked@$DOMAIN"
if last_reply | grep -q '^250'; then
	pass "control: pki.ocsp off: the store certificate revoked only at OCSP still signs"
else
	fail "control store" "$(last_reply)"
fi

segel_conf_set pki.ocsp '"on"'
segel_reload || fail "reload store on" "$(tail -2 "$H/segel.log")"
outbound "srevoked@$DOMAIN"
if last_reply | grep -q '^550 5.7.1 .*revoked'; then
	pass "on: a store certificate revoked at OCSP is refused for signing: $(last_reply | cut -c1-60)"
else
	fail "store revoked refused" "$(last_reply)"
fi
grep -q "srevoked@$DOMAIN: certificate .* revoked at its OCSP responder" "$H/segel.log" &&
	pass "store revoked: logged with the certificate's serial" ||
	fail "store revoked logged" "$(grep OCSP "$H/segel.log" | tail -2)"

n0=$(sink_count)
outbound "sgood@$DOMAIN"
if last_reply | grep -q '^250' && sink_wait $((n0 + 1)) &&
	f=$(sink_find "Subject: t_ocsp out sgood@$DOMAIN $SEQ") &&
	grep -qi '^Content-Type: multipart/signed' "$f"; then
	pass "on: a store certificate good at OCSP signs"
else
	fail "store good signs" "$(last_reply)"
fi

outbound "sdown@$DOMAIN"
if last_reply | grep -q '^250'; then
	pass "on: the store certificate's responder down: signed on the CRL's word"
else
	fail "store down on" "$(last_reply)"
fi
segel_conf_set pki.ocsp '"required"'
segel_reload || fail "reload store required" "$(tail -2 "$H/segel.log")"
outbound "sdown@$DOMAIN"
if last_reply | grep -q '^451 4.7.1'; then
	pass "required: the store certificate's responder down: 451, the mail waits"
else
	fail "store down required" "$(last_reply)"
fi

finish
