#!/bin/bash
# End to end: the adversarial review of TLS enforcement (THREATS.md 4).
# Envelope and header shapes that Postfix routes to, or a reader takes for,
# the official domain, sent over plaintext from an outside client: each
# must be refused with 530 5.7.0 and not delivered. Shapes that are not
# mail of the domain (a quoted local part naming it but delivered elsewhere,
# a subdomain, Sender:/Reply-To:) must pass. Postfix's own routing of each
# shape is what decides: the sink shows where the copies went. Also: a TCP
# client on 127.0.0.1 and an XCLIENT host posing as local submission are
# not exempt, and segel-tls-check finds a second plaintext smtpd port.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
harness_start

# raw [--tls] [--src ADDR] CMD...: one SMTP session, byte for byte; prints
# "VERB=code" for each command. "DATA:text" / "BDAT:text" send a message
# (\n becomes CRLF). The client is 127.0.0.2 unless --src.
raw() {
	"$H_PY" - "$PORT_IN" "$@" <<'EOF'
import socket, ssl, sys
port, args = int(sys.argv[1]), sys.argv[2:]
tls, src = False, "127.0.0.2"
while args and args[0] in ("--tls", "--src"):
    if args[0] == "--tls":
        tls, args = True, args[1:]
    else:
        src, args = args[1], args[2:]
s = socket.socket()
s.bind((src, 0))
s.settimeout(30)
s.connect(("127.0.0.1", port))
f = s.makefile("rb")
def rd():
    while True:
        l = f.readline().decode("utf-8", "replace").rstrip("\r\n")
        if len(l) < 4 or l[3] != "-":
            return l
def cmd(c):
    s.sendall(c + b"\r\n")
    return rd()
rd()
cmd(b"EHLO mx.example.org")
if tls:
    cmd(b"STARTTLS")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    s = ctx.wrap_socket(s)
    f = s.makefile("rb")
    cmd(b"EHLO mx.example.org")
out = []
for a in args:
    b = a.encode("utf-8")
    if a.startswith(("DATA:", "BDAT:")):
        text = b[5:].replace(b"\\n", b"\r\n") + b"\r\n"
        if a.startswith("DATA:"):
            r = cmd(b"DATA")
            if r.startswith("354"):
                s.sendall(text + b".\r\n")
                r = rd()
        else:
            s.sendall(b"BDAT %d LAST\r\n" % len(text) + text)
            r = rd()
        out.append(a[:4] + "=" + r[:3])
    else:
        out.append(a.split(":")[0].split()[0] + "=" + cmd(b)[:3])
cmd(b"QUIT")
print(" ".join(out))
EOF
}

N=0
# t: a new $TAG; msg [header lines]: a message text for raw, tagged with it
# for sink_find.
t() { N=$((N + 1)); TAG="tls-attack-$N-$RANDOM"; }
msg() {
	printf 'DATA:%sTo: x@example.org\\nSubject: %s\\nMessage-ID: <%s@test>\\n\\nHello.' \
	    "${1:-From: budi@example.org\\n}" "$TAG" "$TAG"
}

# rcpts_of TAG: the recipients of the sink's copy of TAG, on one line.
rcpts_of() {
	local f
	f=$(sink_find "$1") && sink_rcpts "$f" | tr '\n' ' '
}

# refused NAME OUT WHERE: OUT (raw's output) shows 530 at WHERE (RCPT, MAIL,
# DATA or BDAT) and no copy of $TAG reached the sink.
refused() {
	sleep 0.5
	if [[ " $2 " == *" $3=530 "* ]] && ! sink_find "$TAG" >/dev/null; then
		pass "$1"
	else
		fail "$1" "session: $2; sink: $(rcpts_of "$TAG")"
	fi
}

# delivered NAME OUT RCPT: the message was accepted and reached the sink for
# RCPT (as Postfix relayed it).
delivered() {
	local f i
	for i in $(seq 1 50); do
		f=$(sink_find "$TAG") && break
		sleep 0.2
	done
	if [[ " $2 " == *" DATA=250 "* || " $2 " == *" BDAT=250 "* ]] &&
	    [ -n "$f" ] && sink_rcpts "$f" | grep -qxF -- "$3"; then
		pass "$1"
	else
		fail "$1" "session: $2; sink: ${f:+$(sink_rcpts "$f" | tr '\n' ' ')}"
	fi
}

D=$DOMAIN
FW=$(printf '\xef\xbd\x94anjungpinangkota.go.id')	# fullwidth t (UTS 46 maps it)

# --- recipients Postfix routes to the domain: refused at RCPT.
for to in "alice@$D" "ALICE@TanjungPinangKota.GO.ID" "alice@$D." \
    "\"alice\"@$D" "\"al ice\"@$D" "@relay.example:alice@$D" \
    "@[127.0.0.1]:alice@$D" "alice%$D@[127.0.0.1]" "alice@$D@[127.0.0.1]" \
    "$D!alice@[127.0.0.1]" "alice@$D(comment)" "alice@$D " " alice@$D"; do
	t; out=$(raw "MAIL FROM:<budi@example.org>" "RCPT TO:<$to>" "$(msg)")
	refused "plaintext RCPT TO:<$to> refused" "$out" RCPT
done
t; 
# --- envelope senders in the domain (as written or as Postfix resolves them).
for from in "\"alice\"@$D" "@relay.example:alice@$D" "alice%$D@[127.0.0.1]" \
    "alice@$D@[127.0.0.1]" "alice@$D(comment)" "alice@$FW"; do
	t; out=$(raw "MAIL FROM:<$from> SMTPUTF8" "RCPT TO:<siti@example.org>" "$(msg)")
	refused "plaintext MAIL FROM:<$from> refused" "$out" MAIL
done

# --- From fields a reader takes for the domain: refused at end of headers.
for hdr in "From: \\\"alice\\\"@$D" "From: Alice <\\\"alice\\\"@$D>" \
    "From: alice @ $D" "From: Alice\\n <alice@$D>" \
    "From: budi@example.org\\nFrom: alice@$D" "From: alice@$FW"; do
	t; out=$(raw "MAIL FROM:<budi@example.org>" "RCPT TO:<siti@example.org>" \
	    "$(msg "$hdr\\n")")
	refused "plaintext with ${hdr//\\n/ | } refused" "$out" DATA
done
t; out=$(raw "MAIL FROM:<>" "RCPT TO:<siti@example.org>" "$(msg "From: alice@$D\\n")")
refused "null sender <> with a From in the domain refused" "$out" DATA
t; m=$(msg "From: alice@$D\\n")
t; out=$(raw "MAIL FROM:<budi@example.org>" "RCPT TO:<siti@example.org>" "BDAT:${m#DATA:}")
refused "BDAT (CHUNKING) with a From in the domain refused" "$out" BDAT

# "From :" (white space before the colon, RFC 5322 obs-optional): Python's
# email package reads it as the From field. Either segel refuses it, or
# Postfix did not keep it as a header field.
t; out=$(raw "MAIL FROM:<budi@example.org>" "RCPT TO:<siti@example.org>" \
    "$(msg "From : alice@$D\\n")")
sleep 0.5
if [[ " $out " == *" DATA=530 "* ]]; then
	pass "\"From :\" in the domain refused"
elif f=$(sink_find "$TAG") && ! "$H_PY" - "$f" "$D" <<'EOF2'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
sys.exit(0 if any(sys.argv[2] in str(v) for v in m.get_all("From", [])) else 1)
EOF2
then
	pass "\"From :\" is no header field once Postfix has it (and passes)"
else
	fail "\"From :\"" "session: $out; From: $(fields "$f" From)"
fi

# --- many recipients, the domain last (pipelined in one write by swaks).
m=$H/pipe.eml
TAG="tls-attack-pipe-$RANDOM"
printf 'From: budi@example.org\r\nTo: x@example.org\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n\r\nHello.\r\n' \
    "$TAG" "$TAG" >"$m"
n=$(sink_count)
send_in budi@example.org "a@example.org,b@example.org,c@example.org,alice@$D" "$m" \
    --plain --pipeline >/dev/null 2>&1
if grep -q "530 5.7.0" "$H/last.swaks" && sink_wait $((n + 1)) 10 &&
    f=$(sink_find "$TAG") && ! sink_rcpts "$f" | grep -qi "$D"; then
	pass "pipelined RCPTs: the domain's one refused, the others delivered without it"
else
	fail "pipelined RCPTs" "$(grep -E '^<.* 530' "$H/last.swaks"); $(rcpts_of "$TAG")"
fi

# --- a TCP client on 127.0.0.1 calling itself localhost is not local
# submission (that is Postfix's emulated connection with port 0).
t; out=$(raw --src 127.0.0.1 "MAIL FROM:<budi@example.org>" "RCPT TO:<alice@$D>" "$(msg)")
refused "127.0.0.1 over TCP is no local submission" "$out" RCPT

# --- not mail of the domain: plaintext passes (or Postfix, not segel,
# refuses: sender-specified routing through a relay domain is its to judge).
for to in "\"alice@$D\"@example.org" "alice%$D@example.org"; do
	t; out=$(raw "MAIL FROM:<budi@example.org>" "RCPT TO:<$to>" "$(msg)")
	[[ " $out " == *" RCPT=530 "* ]] &&
		fail "RCPT TO:<$to> (delivered to example.org) is not ours" "$out" ||
		pass "RCPT TO:<$to> (routed to example.org) is not refused by segel"
done
t; out=$(raw "MAIL FROM:<budi@example.org>" "RCPT TO:<x@mail.$D>" "$(msg)")
delivered "a subdomain is not the domain (DESIGN: exact match)" "$out" "x@mail.$D"
t; out=$(raw "MAIL FROM:<budi@example.org>" "RCPT TO:<siti@example.org>" \
    "$(msg "From: budi@example.org\\nSender: alice@$D\\nReply-To: alice@$D\\n")")
delivered "Sender:/Reply-To: in the domain with From outside pass (the rule is From)" \
    "$out" "siti@example.org"

# --- the same shapes over STARTTLS are delivered.
t; out=$(raw --tls "MAIL FROM:<\"alice\"@$D>" "RCPT TO:<@relay.example:bob@$D>" \
    "$(msg "From: \\\"alice\\\"@$D\\n")")
delivered "quoted and routed addresses over STARTTLS delivered" "$out" "bob@$D"

# --- XCLIENT (only where smtpd_authorized_xclient_hosts names the client,
# e.g. a front proxy): claiming Postfix's emulated local submission
# (localhost, 127.0.0.1, port 0) must not exempt the session from the rule.
postconf -c "$PF_CONF" -e "smtpd_authorized_xclient_hosts = 127.0.0.2" &&
    postfix -c "$PF_CONF" reload >/dev/null 2>&1
sleep 2
t; out=$(raw "XCLIENT NAME=localhost ADDR=127.0.0.1 PORT=0" "EHLO mx.example.org" \
    "MAIL FROM:<budi@example.org>" "RCPT TO:<alice@$D>" "$(msg)")
if [[ " $out " != *" XCLIENT=220 "* ]]; then
	skip "XCLIENT posing as local submission" "Postfix refused XCLIENT: $out"
else
	refused "XCLIENT posing as local submission (localhost, 127.0.0.1, port 0) is refused" "$out" RCPT
fi
postconf -c "$PF_CONF" -X smtpd_authorized_xclient_hosts &&
    postfix -c "$PF_CONF" reload >/dev/null 2>&1

# --- segel-tls-check against a configuration that looks safe but is not:
# the snippets' good folder plus a second smtpd on another port that takes
# mail for the domain in plaintext, without the recipient check or segel.
CHECK=$SEGEL_ROOT/smtp-tls/check
C=$H/tlscheck
mkdir -p "$C/tls"
{
	echo "compatibility_level = 3.6"
	echo "myhostname = mail.$DOMAIN"
	sed "s#/etc/postfix/#$C/#g" "$SEGEL_ROOT/smtp-tls/postfix/main.cf.snippet"
} >"$C/main.cf"
{
	printf 'relay     unix  -       -       y       -       -       smtp\n'
	printf 'smtp      unix  -       -       y       -       -       smtp\n'
	cat "$SEGEL_ROOT/smtp-tls/postfix/master.cf.snippet"
} >"$C/master.cf"
cp "$SEGEL_ROOT/smtp-tls/postfix/require_tls_rcpt" "$SEGEL_ROOT/smtp-tls/postfix/tls_policy" "$C/"
cp -p "$H/tls/server.pem" "$C/tls/mx-chain.pem"
cat "$H/tls/server.key" >"$C/tls/mx-key.pem"
chmod 600 "$C/tls/mx-key.pem"
postconf -c "$C" -e "smtpd_tls_chain_files = $C/tls/mx-key.pem, $C/tls/mx-chain.pem" \
    "smtp_tls_CAfile = $C/tls/mx-chain.pem"
postmap -c "$C" "$C/require_tls_rcpt" "$C/tls_policy"
"$CHECK" "$C" --cafile "$C/tls/mx-chain.pem" >"$H/tlscheck.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ! grep -q '^FIX:' "$H/tlscheck.out" &&
	pass "segel-tls-check: the snippets' folder passes" ||
	fail "segel-tls-check: the snippets' folder" "exit $rc: $(grep -E '^FIX' "$H/tlscheck.out" | head -3)"
cp "$C/master.cf" "$C/master.cf.good"
printf '%s\n' "2525 inet n - y - - smtpd" "  -o smtpd_tls_security_level=none" \
    "  -o smtpd_recipient_restrictions=permit_mynetworks,reject_unauth_destination" \
    "  -o smtpd_milters=" >>"$C/master.cf"
"$CHECK" "$C" --cafile "$C/tls/mx-chain.pem" >"$H/tlscheck.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q '^FIX: port 2525 .*plaintext mail to .* is accepted' "$H/tlscheck.out" &&
	pass "segel-tls-check: a plaintext smtpd on port 2525 is a FIX" ||
	fail "segel-tls-check: plaintext smtpd on port 2525" "exit $rc: $(grep -E '^(FIX|WARN)|2525' "$H/tlscheck.out" | head -4)"
# The same on loopback only (a content filter's re-injection port): WARN.
cp "$C/master.cf.good" "$C/master.cf"
printf '%s\n' "127.0.0.1:10025 inet n - y - - smtpd" "  -o smtpd_tls_security_level=none" \
    "  -o smtpd_milters=" >>"$C/master.cf"
"$CHECK" "$C" --cafile "$C/tls/mx-chain.pem" >"$H/tlscheck.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^WARN: port 10025 .*loopback' "$H/tlscheck.out" &&
	pass "segel-tls-check: a plaintext re-injection port on loopback is a WARN" ||
	fail "segel-tls-check: loopback re-injection port" "exit $rc: $(grep -E '^(FIX|WARN)|10025' "$H/tlscheck.out" | head -4)"
# smtps (465, TLS from the first byte) with old protocols allowed: a FIX.
cp "$C/master.cf.good" "$C/master.cf"
printf '%s\n' "smtps inet n - y - - smtpd" "  -o smtpd_tls_wrappermode=yes" \
    "  -o smtpd_tls_security_level=encrypt" "  -o smtpd_tls_mandatory_protocols=>=TLSv1" \
    "  -o smtpd_milters=" >>"$C/master.cf"
"$CHECK" "$C" --cafile "$C/tls/mx-chain.pem" >"$H/tlscheck.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "^FIX: port 465 .*smtpd_tls_mandatory_protocols = '>=TLSv1' allows TLSv1" "$H/tlscheck.out" &&
	pass "segel-tls-check: smtps allowing TLSv1 is a FIX" ||
	fail "segel-tls-check: smtps with TLSv1" "exit $rc: $(grep -E '^(FIX|WARN)|465' "$H/tlscheck.out" | head -4)"
finish
