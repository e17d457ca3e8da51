#!/bin/bash
# t_tls_posture.sh - segel-tls-check (smtp-tls/check) and the smtp-tls/ snippets.
#
#  1. Postfix configuration folders built from smtp-tls/postfix/* with a
#     self-signed certificate: configured well -> every line OK, exit 0;
#     each defect alone -> that problem named in a FIX line, exit 1 (a few
#     only deserve a WARN and keep exit 0); several at once -> all named.
#  2. The harness's private Postfix (no milter): as the harness builds it the
#     check names what is missing; with the snippet's settings applied, a
#     plaintext RCPT to the domain is refused with 530 5.7.0 and not
#     delivered, the same over STARTTLS is delivered, plaintext between two
#     outside parties is unaffected; then the check passes (exit 0).
#  3. --probe against the STARTTLS port (protocol, cipher, chain), against
#     the sink (no STARTTLS -> FIX) and a closed port (exit 2).
#  4. The Sendmail .mc lines compile with Debian's sendmail-cf (skipped when
#     it is not installed) and the access entries are well-formed.
# Nothing outside temporary folders is touched; no system Postfix is started.
. "$(dirname "$0")/lib.sh"

CHECK=$SEGEL_ROOT/smtp-tls/check
SNIP=$SEGEL_ROOT/smtp-tls/postfix
SM=$SEGEL_ROOT/smtp-tls/sendmail
W=$(mktemp -d /tmp/segel-tlsposture.XXXXXX) || exit 1
sys_sum() { cat /etc/postfix/main.cf /etc/postfix/master.cf 2>/dev/null | sha256sum; }
sum_before=$(sys_sum)
trap 'rm -rf "$W"' EXIT
OUT=$W/out
RC=0

# run_check ARGS...: run the check, output in $OUT, status in $RC.
run_check() {
	"$CHECK" "$@" >"$OUT" 2>&1
	RC=$?
}

# expect NAME RC [REGEX...]: status RC and, for each REGEX, a matching line.
# A REGEX starting with "!" must match no line.
expect() {
	local name=$1 want=$2 re miss=""
	shift 2
	for re in "$@"; do
		if [ "${re:0:1}" = "!" ]; then
			grep -qE -- "${re:1}" "$OUT" && miss="$miss; has /${re:1}/"
		else
			grep -qE -- "$re" "$OUT" || miss="$miss; no /$re/"
		fi
	done
	if [ "$RC" = "$want" ] && [ -z "$miss" ]; then
		pass "$name"
	else
		fail "$name" "exit $RC (want $want)$miss; output: $(grep -E '^(FIX|WARN|segel-tls-check)' "$OUT" | head -8 | tr '\n' '|')"
	fi
}

# ------------------------------------------------------------ certificates

mkcert() { # DIR CN [DAYS]
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/mx-key.pem" \
		-out "$1/mx-chain.pem" -days "${3:-365}" -subj "/CN=$2" \
		-addext "subjectAltName=DNS:$2" >/dev/null 2>&1 &&
		chmod 600 "$1/mx-key.pem"
}

mkdir -p "$W/cert" "$W/cert2" "$W/expired"
mkcert "$W/cert" "mail.$DOMAIN" || { fail setup "openssl req failed"; finish; }
mkcert "$W/cert2" "mail.$DOMAIN"
"$H_PY" - "$W/expired" "mail.$DOMAIN" <<'EOF'
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
d, cn = sys.argv[1], sys.argv[2]
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now - datetime.timedelta(days=35))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), False)
        .sign(key, hashes.SHA256()))
open(d + "/mx-key.pem", "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open(d + "/mx-chain.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
EOF
chmod 600 "$W/expired/mx-key.pem" 2>/dev/null

# ------------------------------------------------------------ config folders

# The services Postfix needs besides smtpd: Debian's stock master.cf without
# its "smtp inet" line, or the two smtp(8) clients the check looks at.
base_master() {
	if [ -r /usr/share/postfix/master.cf.dist ]; then
		grep -v '^smtp[[:space:]]\+inet' /usr/share/postfix/master.cf.dist
	else
		printf 'smtp      unix  -       -       y       -       -       smtp\n'
		printf 'relay     unix  -       -       y       -       -       smtp\n'
	fi
}

# mkconf DIR: a folder configured from the snippets, /etc/postfix/ -> DIR/.
mkconf() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d/tls"
	{
		echo "compatibility_level = 3.6"
		echo "myhostname = mail.$DOMAIN"
		sed "s#/etc/postfix/#$d/#g" "$SNIP/main.cf.snippet"
	} >"$d/main.cf"
	{ base_master; cat "$SNIP/master.cf.snippet"; } >"$d/master.cf"
	cp "$SNIP/require_tls_rcpt" "$SNIP/tls_policy" "$d/"
	cp -p "$W/cert/mx-key.pem" "$W/cert/mx-chain.pem" "$d/tls/"
	cp "$W/cert/mx-chain.pem" "$d/ca.pem"
	# trust anchors for "secure": a file of our own, not the system bundle
	postconf -c "$d" -e "smtp_tls_CAfile = $d/ca.pem"
	postmap -c "$d" "$d/require_tls_rcpt" "$d/tls_policy"
}

# A fresh copy of the good folder, for one defect.
C=$W/case
fresh() { mkconf "$C"; }
pc() { postconf -c "$C" "$@" 2>/dev/null; }
policy() { # replace the policy table with the given lines
	printf '%s\n' "$@" >"$C/tls_policy"
	postmap -c "$C" "$C/tls_policy"
}
chk() { run_check "$C" --cafile "$C/ca.pem" "$@"; }

D=tanjungpinangkota\\.go\\.id

# 1a. configured well
fresh
chk
expect "well configured: exit 0, every line OK" 0 \
	"^OK: port 25 \(smtp/inet\): smtpd_tls_security_level = may" \
	"^OK: port 25 .*certificate CN = mail\.$D with matching key" \
	"^OK: port 25 .*smtpd_tls_protocols = '>=TLSv1\.2'" \
	"^OK: port 25 .*smtpd_tls_mandatory_protocols = '>=TLSv1\.2'" \
	"^OK: port 25 .*check_recipient_access hash:.*require_tls_rcpt gives 'reject_plaintext_session' for $D" \
	"^OK: port 25 .*plaintext_reject_code = 530" \
	"^OK: port 25 .*smtpd_milters includes segel" \
	"^OK: port 25 .*milter_default_action = tempfail" \
	"^OK: port 587 \(submission/inet\): smtpd_tls_security_level = encrypt" \
	"^OK: port 587 .*smtpd_sasl_auth_enable = yes" \
	"^OK: port 587 .*permit_sasl_authenticated, reject \(login required\)" \
	"^OK: outbound via smtp to $D: TLS policy 'secure protocols=>=TLSv1\.2' from $D" \
	"^OK: outbound via smtp .*trust anchors" \
	"^segel-tls-check: [0-9]+ OK, 0 WARN, 0 FIX$" \
	"!^(FIX|WARN):"
n_ok=$(grep -c '^OK:' "$OUT")
[ "$n_ok" -ge 20 ] && pass "well configured: $n_ok requirements checked" ||
	fail "well configured: requirements checked" "only $n_ok OK lines"

# 1b. well, through a relayhost, with the policy keyed by the next hop
fresh
pc -e "relay_domains = $DOMAIN" "relayhost = [127.0.0.1]:2526"
policy "[127.0.0.1]:2526 encrypt protocols=>=TLSv1.2"
chk
expect "relayhost with a next-hop policy entry: OK, exit 0" 0 \
	"next hop \[127\.0\.0\.1\]:2526" \
	"^OK: outbound via relay to \[127\.0\.0\.1\]:2526: TLS policy 'encrypt protocols=>=TLSv1\.2' from \[127\.0\.0\.1\]:2526" \
	"!^FIX:"

# 1c. each defect alone: NAME | STATUS | REGEX, after the set-up in the case.
defect() {
	local name=$1 want=$2
	shift 2
	chk
	expect "defect: $name" "$want" "$@"
}

fresh; pc -e "smtpd_tls_security_level = none"
defect "no STARTTLS on port 25" 1 \
	"^FIX: port 25 \(smtp/inet\): smtpd_tls_security_level = 'none': STARTTLS is not offered \(set smtpd_tls_security_level = may\)"

fresh; pc -X smtpd_tls_security_level; pc -e "smtpd_use_tls = yes"
defect "legacy smtpd_use_tls = yes counts as may" 0 "^OK: port 25 .*smtpd_tls_security_level = may"

fresh; pc -e "smtpd_tls_protocols = !SSLv2, !SSLv3" "smtpd_tls_mandatory_protocols = >=TLSv1"
defect "old protocols on port 25" 1 \
	"^FIX: port 25 .*smtpd_tls_protocols = '!SSLv2, !SSLv3' allows TLSv1 TLSv1\.1 \(set smtpd_tls_protocols = >=TLSv1\.2\)" \
	"^FIX: port 25 .*smtpd_tls_mandatory_protocols = '>=TLSv1' allows TLSv1 TLSv1\.1"

fresh; pc -e "smtpd_tls_protocols = TLSv1.2, TLSv1.3"
defect "protocols as an inclusion list" 0 "^OK: port 25 .*smtpd_tls_protocols = 'TLSv1\.2, TLSv1\.3' \(allows TLSv1\.2 TLSv1\.3\)"

fresh; pc -X smtpd_tls_chain_files
defect "no server certificate" 1 "^FIX: port 25 .*no server certificate"

fresh; pc -X smtpd_tls_chain_files; pc -e "smtpd_tls_cert_file = $C/tls/mx-chain.pem" "smtpd_tls_key_file = $C/tls/mx-key.pem"
defect "cert_file/key_file form" 0 "^OK: port 25 .*certificate CN = mail\.$D with matching key"

fresh; cp -p "$W/cert2/mx-key.pem" "$C/tls/mx-key.pem"
defect "key does not match the certificate" 1 "^FIX: port 25 .*private key does not belong to the certificate"

fresh; chmod 644 "$C/tls/mx-key.pem"
defect "key readable by everyone" 1 "^FIX: port 25 .*private key file .*mx-key\.pem is readable by everyone"

fresh; rm -f "$C/tls/mx-chain.pem"
defect "certificate file missing" 1 "^FIX: port 25 .*mx-chain\.pem is missing or unreadable"

fresh; cp -p "$W/expired/mx-key.pem" "$W/expired/mx-chain.pem" "$C/tls/"
defect "expired certificate" 1 "^FIX: port 25 .*certificate \(CN = mail\.$D\) expired on"

fresh
run_check "$C"
expect "self-signed certificate without --cafile: WARN only" 0 \
	"^WARN: port 25 .*certificate chain does not verify against the system CA store: self-signed"

fresh; pc -e "smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
defect "no reject_plaintext_session for the domain" 1 \
	"^FIX: port 25 .*plaintext mail to $D is accepted \(add 'check_recipient_access hash:/etc/postfix/require_tls_rcpt'"

fresh; printf 'example.org reject_plaintext_session\n' >"$C/require_tls_rcpt"; postmap -c "$C" "$C/require_tls_rcpt"
defect "access table without the domain" 1 "^FIX: port 25 .*plaintext mail to $D is accepted"

fresh; rm -f "$C/require_tls_rcpt.db"
defect "access table not postmapped" 1 "^FIX: port 25 .*require_tls_rcpt cannot be read: .*\(run: postmap .*require_tls_rcpt\)"

fresh; pc -e "smtpd_restriction_classes = tls_only" "tls_only = reject_plaintext_session"
printf '%s tls_only\n' "$DOMAIN" >"$C/require_tls_rcpt"; postmap -c "$C" "$C/require_tls_rcpt"
defect "restriction class naming reject_plaintext_session" 0 "^OK: port 25 .*gives 'tls_only' for $D"

fresh; pc -e "smtpd_recipient_restrictions = permit_mynetworks, check_recipient_access hash:$C/require_tls_rcpt, reject_unauth_destination"
defect "permit_mynetworks before the check: WARN" 0 \
	"^WARN: port 25 .*'permit_mynetworks' comes before check_recipient_access"

fresh; pc -e "plaintext_reject_code = 450"
defect "plaintext_reject_code 450: WARN" 0 "^WARN: port 25 .*plaintext_reject_code = 450: a temporary refusal.*set plaintext_reject_code = 530"

fresh; pc -MX submission/inet
defect "no submission service" 1 "^FIX: no submission service on port 587"

fresh; pc -P "submission/inet/smtpd_tls_security_level=may"
defect "submission without encrypt" 1 \
	"^FIX: port 587 \(submission/inet\): smtpd_tls_security_level = 'may': mail and passwords may be sent in plaintext"

fresh; pc -PX submission/inet/smtpd_client_restrictions submission/inet/smtpd_relay_restrictions submission/inet/smtpd_recipient_restrictions
defect "submission without required login" 1 "^FIX: port 587 .*mail is accepted without login"

fresh; pc -P "submission/inet/smtpd_client_restrictions=permit_mynetworks,permit_sasl_authenticated,reject"
pc -PX submission/inet/smtpd_relay_restrictions submission/inet/smtpd_recipient_restrictions
defect "submission open to mynetworks: WARN" 0 "^WARN: port 587 .*lets clients in mynetworks send without logging in"

fresh; pc -PX submission/inet/smtpd_sasl_auth_enable
defect "submission without SASL" 1 "^FIX: port 587 .*SASL is off"

fresh; pc -P "submission/inet/smtpd_tls_mandatory_protocols=>=TLSv1.1"
defect "old protocols on submission" 1 "^FIX: port 587 .*smtpd_tls_mandatory_protocols = '>=TLSv1\.1' allows TLSv1\.1"

fresh; pc -e "smtpd_tls_mandatory_ciphers = low"
defect "weak mandatory ciphers" 1 "^FIX: port 25 .*smtpd_tls_mandatory_ciphers = 'low'"

fresh; pc -X smtp_tls_policy_maps
defect "no TLS policy map" 1 "^FIX: outbound via smtp to $D: no smtp_tls_policy_maps and smtp_tls_security_level = 'may'"

fresh; policy "$DOMAIN may"
defect "policy 'may' for the domain" 1 "^FIX: outbound via smtp to $D: TLS policy 'may' from $D: mail may be delivered in plaintext"

fresh; policy "example.org secure"
defect "policy table without the domain" 1 "^FIX: outbound via smtp to $D: TLS policy 'may' from \(no entry for $D; smtp_tls_security_level\)"

fresh; policy "$DOMAIN dane"
defect "policy 'dane' (opportunistic without TLSA)" 1 "^FIX: outbound .*'dane' .*falls back to opportunistic TLS"

fresh; policy "$DOMAIN encrypt protocols=>=TLSv1"
defect "policy encrypt with old protocols" 1 "^FIX: outbound .*policy attribute protocols = '>=TLSv1' allows TLSv1 TLSv1\.1"

fresh; policy "$DOMAIN encrypt"; pc -e "smtp_tls_mandatory_protocols = >=TLSv1"
defect "policy encrypt, smtp_tls_mandatory_protocols old" 1 "^FIX: outbound .*smtp_tls_mandatory_protocols = '>=TLSv1' allows TLSv1"

fresh; policy ".$DOMAIN secure protocols=>=TLSv1.2"
defect "policy '.domain' alone does not cover the domain itself" 1 "^FIX: outbound via smtp to $D: TLS policy 'may' from \(no entry for $D"

fresh; policy ".go.id secure protocols=>=TLSv1.2"
defect "policy parent-domain entry (.go.id) is found" 0 "^OK: outbound .*TLS policy 'secure protocols=>=TLSv1\.2' from \.go\.id"

fresh; pc -e "myhostname = mx.example.org"
defect "certificate not naming myhostname: WARN" 0 "^WARN: port 25 .*certificate does not name myhostname mx\.example\.org"

fresh; pc -X smtp_tls_CAfile
defect "secure without trust anchors" 1 "^FIX: outbound .*'secure' needs trust anchors"

fresh; pc -e "relay_domains = $DOMAIN" "relayhost = [127.0.0.1]:2526"
defect "relayhost caveat: domain entry unused, next hop missing" 1 \
	"^WARN: outbound via relay to \[127\.0\.0\.1\]:2526: .*has an entry for $D, but it is never used" \
	"^FIX: outbound via relay to \[127\.0\.0\.1\]:2526: TLS policy 'may' .*add '\[127\.0\.0\.1\]:2526 encrypt protocols=>=TLSv1\.2'"

fresh; printf '%s smtp:[mailstore.%s]\n' "$DOMAIN" "$DOMAIN" >"$C/transport"; postmap -c "$C" "$C/transport"
pc -e "transport_maps = hash:$C/transport"
defect "transport caveat: next hop from transport_maps" 1 \
	"next hop \[mailstore\.$D\]" \
	"^FIX: outbound via smtp to \[mailstore\.$D\]: .*add '\[mailstore\.$D\] secure protocols=>=TLSv1\.2'"

fresh; pc -e "relay_domains = $DOMAIN" "relayhost = [10.1.2.3]:25"
policy "[10.1.2.3]:25 secure"
defect "secure to an IP next hop: WARN about match=" 0 "^WARN: outbound .*no name to match \(add match=HOSTNAME"

fresh; pc -e "mydestination = $DOMAIN"
defect "domain delivered on this host" 0 "^OK: outbound: $D is in mydestination"

fresh; pc -e "smtp_tls_security_level = none"
defect "no outbound TLS to other domains" 1 "^FIX: outbound to other domains: smtp_tls_security_level = 'none'"

fresh; pc -e "milter_default_action = accept"
defect "milter_default_action = accept" 1 "^FIX: port 25 .*milter_default_action = 'accept': when segel is down mail would pass unchecked"

fresh; pc -e "smtpd_milters = { unix:/segel/segel.sock, default_action=accept }"
defect "per-milter default_action=accept" 1 "^FIX: port 25 .*default_action=accept"

fresh; pc -e "smtpd_milters ="
defect "no milter: WARN" 0 "^WARN: port 25 .*smtpd_milters = '' does not name segel"

fresh; pc -MX smtp/inet
pc -M "smtp/inet=smtp inet n - y - 1 postscreen" "smtpd/pass=smtpd pass - - y - - smtpd"
defect "postscreen on port 25: smtpd pass is checked" 0 "^OK: port 25 \(smtp/inet, sessions passed to smtpd/pass\): smtpd_tls_security_level = may"

# 1d. several defects at once: each one named
fresh
pc -e "smtpd_tls_security_level = none" "milter_default_action = accept" \
	"smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination"
pc -X smtp_tls_policy_maps
pc -P "submission/inet/smtpd_tls_security_level=may"
chk
expect "configured badly: every problem named, exit 1" 1 \
	"^FIX: port 25 .*STARTTLS is not offered" \
	"^FIX: port 587 .*mail and passwords may be sent in plaintext" \
	"^FIX: outbound .*no smtp_tls_policy_maps" \
	"^FIX: port 25 .*plaintext mail to $D is accepted" \
	"^FIX: port 25 .*milter_default_action = 'accept'" \
	"^segel-tls-check: [0-9]+ OK, [0-9]+ WARN, 6 FIX$" \
	"the TLS posture is incomplete"

# 1e. usage and I/O errors
run_check "$W/no-such-folder"
expect "missing folder: exit 2" 2 "no such folder"
mkdir -p "$W/empty"
run_check "$W/empty"
expect "folder without main.cf: exit 2" 2 "main.cf: missing"
run_check --bogus
expect "unknown option: exit 2" 2 "unknown option --bogus"
run_check "$C" --cafile "$W/nope.pem"
expect "unreadable --cafile: exit 2" 2 "unreadable"
run_check --help
expect "--help: exit 0" 0 "^usage: segel-tls-check"

# 4. Sendmail: the .mc lines compile, the access entries are well-formed
if [ -r /usr/share/sendmail/cf/m4/cf.m4 ] && command -v m4 >/dev/null; then
	cat >"$W/t.mc" <<EOF
divert(-1)
include(\`/usr/share/sendmail/cf/m4/cf.m4')
divert(0)dnl
VERSIONID(\`segel t_tls_posture')dnl
OSTYPE(\`linux')dnl
include(\`$SM/segel-tls.mc')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
	if m4 "$W/t.mc" >"$W/t.cf" 2>"$W/m4.err" && [ ! -s "$W/m4.err" ]; then
		miss=""
		for re in '^O ServerCertFile=/' '^O ServerKeyFile=/' '^O CACertFile=/' \
			'^O ServerSSLOptions=.*\+SSL_OP_NO_TLSv1 .*\+SSL_OP_NO_TLSv1_1' \
			'^O ClientSSLOptions=.*\+SSL_OP_NO_TLSv1_1' '^O TLSFallbacktoClear=false' \
			'^O DaemonPortOptions=.*Port=smtp' '^O DaemonPortOptions=.*Port=submission, M=Ea' \
			'^O AuthOptions=A p y' '^Xsegel, S=local:.*F=T' \
			'^O Milter.macros.envfrom=.*\{tls_version\}' '^Kaccess '; do
			grep -qE -- "$re" "$W/t.cf" || miss="$miss /$re/"
		done
		n587=$(grep -c '^O DaemonPortOptions=.*\(587\|submission\)' "$W/t.cf")
		[ "$n587" = 1 ] || miss="$miss (port 587 listed $n587 times)"
		[ -z "$miss" ] && pass "sendmail: segel-tls.mc compiles with sendmail-cf and sets STARTTLS, protocols, MSA, milter" ||
			fail "sendmail: segel-tls.mc" "missing in the .cf:$miss"
	else
		fail "sendmail: segel-tls.mc compiles" "$(head -3 "$W/m4.err")"
	fi
else
	skip "sendmail: segel-tls.mc compiles" "sendmail-cf (m4 files) not installed"
fi
bad=$(grep -vE '^[[:space:]]*(#|$)' "$SM/access.snippet" |
	grep -vE '^TLS_(Srv|Clt|Rcpt):[^[:space:]]+[[:space:]]+((PERM|TEMP)\+)?(ENCR:(12[89]|1[3-9][0-9]|[2-9][0-9][0-9])|VERIFY:(12[89]|1[3-9][0-9]|[2-9][0-9][0-9]))(\+CN(:[^[:space:]]+)?)?$')
n_ent=$(grep -cE '^TLS_(Srv|Clt|Rcpt):' "$SM/access.snippet")
kinds=$(grep -oE '^TLS_(Srv|Clt|Rcpt):' "$SM/access.snippet" | sort -u | tr -d '\n')
if [ -z "$bad" ] && [ "$kinds" = "TLS_Clt:TLS_Rcpt:TLS_Srv:" ]; then
	pass "sendmail: access.snippet has $n_ent TLS_Srv/TLS_Rcpt/TLS_Clt entries, all ENCR or VERIFY with >= 128 bits"
else
	fail "sendmail: access.snippet entries" "bad lines: $bad; kinds: $kinds"
fi

rm -rf "$W"
trap - EXIT

# 2./3. The harness's private Postfix ---------------------------------------

H_NO_MILTER=1 harness_start || {
	skip "harness checks" "harness_start failed (see above)"
	finish
}
HC=(--smtp-port "$PORT_IN" --submission-port "$PORT_SUB" --cafile "$H/tls/server.pem")

OUT=$H/check.out
run_check "$PF_CONF" "${HC[@]}"
expect "harness Postfix as built: missing settings named, exit 1" 1 \
	"^FIX: port $PORT_IN .*smtpd_tls_protocols = '>=TLSv1' allows TLSv1 TLSv1\.1" \
	"^FIX: port $PORT_IN .*plaintext mail to $D is accepted" \
	"^FIX: outbound via relay to \[127\.0\.0\.1\]:$PORT_SINK: no smtp_tls_policy_maps" \
	"^OK: port $PORT_SUB .*smtpd_tls_security_level = encrypt"

# Apply the snippet's settings (server side and policy map; not the milter
# lines: this instance runs without segel), as an administrator would.
snippet_settings() { # NAME...: "name = value" lines of main.cf.snippet
	awk -v want=" $* " '
		/^[a-z_]+[ \t]*=/ { flush(); n = $0; sub(/[ \t]*=.*/, "", n); v = $0; sub(/^[^=]*=[ \t]*/, "", v); next }
		/^[ \t]+[^ \t#]/ && n != "" { l = $0; sub(/^[ \t]+/, "", l); v = v " " l; next }
		{ flush() }
		END { flush() }
		function flush() { if (n != "" && index(want, " " n " ")) print n " = " v; n = "" }
	' "$SNIP/main.cf.snippet" | sed "s#/etc/postfix/#$H/#g"
}
mapfile -t SETTINGS < <(snippet_settings smtpd_tls_security_level smtpd_tls_protocols \
	smtpd_tls_mandatory_protocols smtpd_tls_mandatory_ciphers smtpd_tls_auth_only \
	smtpd_recipient_restrictions plaintext_reject_code smtp_tls_security_level \
	smtp_tls_policy_maps smtp_tls_mandatory_protocols smtp_tls_mandatory_ciphers)
cp "$SNIP/require_tls_rcpt" "$SNIP/tls_policy" "$H/"
postmap -c "$PF_CONF" "$H/require_tls_rcpt" "$H/tls_policy"
if [ ${#SETTINGS[@]} -eq 11 ] && postconf -c "$PF_CONF" -e "${SETTINGS[@]}" &&
	postfix -c "$PF_CONF" reload >/dev/null 2>&1; then
	pass "snippet settings applied to the harness Postfix (${#SETTINGS[@]} parameters) and reloaded"
else
	fail "snippet settings applied" "got ${#SETTINGS[@]} settings: ${SETTINGS[*]}"
fi
sleep 2

cat >"$H/in.eml" <<EOF
From: Budi <budi@example.org>
To: Alice <alice@$DOMAIN>
Subject: TLS posture test
Date: $(date -R)
Message-ID: <posture.$$@example.org>

Halo.
EOF
before=$(sink_count)
send_in budi@example.org "alice@$DOMAIN" "$H/in.eml" --plain
reply=$(last_reply)
sleep 2
# Postfix's reject_plaintext_session answers "5.7.1 Session encryption is
# required" with plaintext_reject_code (530 in the snippet); segel's own
# refusal, when the milter runs, is 530 5.7.0.
if [[ "$reply" == "530 5.7."[01]" "* ]] && [ "$(sink_count)" = "$before" ]; then
	pass "snippet: plaintext RCPT to the domain refused ($reply), nothing delivered"
else
	fail "snippet: plaintext RCPT to the domain refused" "reply '$reply', sink $before -> $(sink_count)"
fi
if send_in budi@example.org "alice@$DOMAIN" "$H/in.eml" --tls && sink_wait $((before + 1)) 30; then
	pass "snippet: the same over STARTTLS delivered"
else
	fail "snippet: the same over STARTTLS delivered" "$(last_reply)"
fi
if send_in budi@example.org "carol@example.org" "$H/in.eml" --plain && sink_wait $((before + 2)) 30; then
	pass "snippet: plaintext between two outside parties unaffected"
else
	fail "snippet: plaintext between two outside parties unaffected" "$(last_reply)"
fi

# Now the policy entry for the next hop (the sink, via relayhost); added
# after the deliveries because smtp-sink offers no STARTTLS.
printf '[127.0.0.1]:%s encrypt protocols=>=TLSv1.2\n' "$PORT_SINK" >>"$H/tls_policy"
postmap -c "$PF_CONF" "$H/tls_policy"
run_check "$PF_CONF" "${HC[@]}"
expect "harness Postfix with the snippet: no FIX, exit 0" 0 \
	"^OK: port $PORT_IN .*smtpd_tls_protocols = '>=TLSv1\.2'" \
	"^OK: port $PORT_IN .*gives 'reject_plaintext_session' for $D" \
	"^OK: outbound via relay to \[127\.0\.0\.1\]:$PORT_SINK: TLS policy 'encrypt protocols=>=TLSv1\.2'" \
	"^WARN: outbound .*has an entry for $D, but it is never used" \
	"^   \(read from main\.cf and the tables, an approximation of Postfix's routing: .*MX lookup are not followed\)" \
	"!^FIX:"

# 3. --probe (posttls-finger, Postfix's own TLS client)
run_check --probe "127.0.0.1:$PORT_IN" --cafile "$H/tls/server.pem" --name "mail.$DOMAIN"
expect "probe STARTTLS port: protocol, cipher, chain OK, exit 0" 0 \
	"^OK: 127\.0\.0\.1:$PORT_IN: STARTTLS: protocol TLSv1\.[23], cipher [A-Z0-9_-]+" \
	"^OK: 127\.0\.0\.1:$PORT_IN: certificate chain verifies against .*, name mail\.$D matches"
proto=$(sed -n "s/^OK: .*STARTTLS: protocol \(TLSv1\.[23]\), cipher \(.*\)/\1 \2/p" "$OUT")
echo "   probe reported: $proto"

run_check --probe "127.0.0.1:$PORT_SUB" --cafile "$H/tls/server.pem"
expect "probe submission port: STARTTLS OK" 0 "^OK: 127\.0\.0\.1:$PORT_SUB: STARTTLS: protocol TLSv1\.[23]"

run_check --probe "127.0.0.1:$PORT_IN"
expect "probe without the CA: chain named as not verifying, exit 1" 1 \
	"^OK: 127\.0\.0\.1:$PORT_IN: STARTTLS: protocol TLSv1\.[23]" \
	"^FIX: 127\.0\.0\.1:$PORT_IN: certificate chain does not verify .*self-signed"

run_check --probe "127.0.0.1:$PORT_IN" --cafile "$H/tls/server.pem" --name "mx.example.org"
expect "probe with a wrong name: FIX, exit 1" 1 "^FIX: 127\.0\.0\.1:$PORT_IN: certificate chain does not verify .* for name mx\.example\.org"

postconf -c "$PF_CONF" -e "smtpd_tls_protocols = TLSv1.2" && postfix -c "$PF_CONF" reload >/dev/null 2>&1
sleep 2
run_check --probe "127.0.0.1:$PORT_IN" --cafile "$H/tls/server.pem"
expect "probe a TLS 1.2-only server: reports TLSv1.2" 0 "^OK: 127\.0\.0\.1:$PORT_IN: STARTTLS: protocol TLSv1\.2, cipher [A-Z0-9-]+"

postconf -c "$PF_CONF" -e "smtpd_tls_protocols = TLSv1, TLSv1.1" && postfix -c "$PF_CONF" reload >/dev/null 2>&1
sleep 2
run_check --probe "127.0.0.1:$PORT_IN" --cafile "$H/tls/server.pem"
expect "probe a server limited to TLS 1.0/1.1: FIX, exit 1" 1 \
	"^FIX: 127\.0\.0\.1:$PORT_IN: (STARTTLS negotiated TLSv1(\.1)? .*older than TLS 1\.2|STARTTLS offered but the TLS handshake failed)"
postconf -c "$PF_CONF" -e "smtpd_tls_protocols = >=TLSv1.2" && postfix -c "$PF_CONF" reload >/dev/null 2>&1
sleep 2

start=$(date +%s)
run_check --probe "127.0.0.1:$PORT_SINK"
took=$(($(date +%s) - start))
expect "probe a port without STARTTLS (the sink): FIX, exit 1 (${took}s)" 1 \
	"^FIX: 127\.0\.0\.1:$PORT_SINK: the server does not offer STARTTLS"

read -r closed <<<"$(_h_free_ports 1)"
run_check --probe "127.0.0.1:$closed"
expect "probe a closed port: exit 2" 2 "cannot connect: Connection refused"

run_check "$PF_CONF" "${HC[@]}" --probe "127.0.0.1:$PORT_IN"
expect "configuration and probe in one run" 0 "^== Probe: 127\.0\.0\.1:$PORT_IN ==" "^== Submission: port $PORT_SUB ==" "!^FIX:"

[ "$(sys_sum)" = "$sum_before" ] && pass "/etc/postfix untouched" ||
	fail "/etc/postfix untouched" "main.cf or master.cf changed"

finish
