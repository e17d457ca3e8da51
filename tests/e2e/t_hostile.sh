#!/bin/bash
# t_hostile.sh - known hostile message shapes through the private Postfix to
# segel-milter: inbound to the domain over STARTTLS (the verification path)
# and submitted by alice (the signing path).
#
# Shapes (generated here at test time, nothing big is committed): 3000-deep
# multipart nesting; a boundary that never appears, a missing boundary
# parameter, the same boundary repeated in nested parts; a 200 KB header
# line; 20,000 header fields; NUL bytes; invalid base64 in the signature
# part; a truncated CMS; random bytes as CMS; signatures carrying 3000 and
# 1500 certificates; 500 forged Authentication-Results naming our
# authserv-id; a part header with a raw UTF-8 file name; fuzz_mime's
# Content-Type that sends GMime's parameter encoder into an endless
# allocation (tests/fuzz/regress/fuzz_mime-param-encode-oom). The daemon's
# data size is capped (prlimit, 4 x HOSTILE_MAX_RSS_MB) to protect the host.
#
# Each case must end in a verdict or a tempfail, never a crash:
#   - 250 and delivered: inbound with exactly one Authentication-Results of
#     ours (and no forged one left); submitted mail multipart/signed and
#     verifiable by openssl (never unsigned);
#   - or refused with 5xx, or tempfailed with 4xx;
# and afterwards the same segel-milter process is alive (when it is not, the
# case fails and a new daemon serves the cases that follow), its VmHWM stays
# under HOSTILE_MAX_RSS_MB (default 300) and the case took at most
# HOSTILE_MAX_SECONDS (default 60). Each case prints what happened (reply,
# result, time, VmHWM) so that the behaviour is documented in the log.
. "$(dirname "$0")/lib.sh"

MAX_S=${HOSTILE_MAX_SECONDS:-60}
MAX_MB=${HOSTILE_MAX_RSS_MB:-300}
ID=mail.$DOMAIN
SARI=sari@kepriprov.go.id
ALICE=alice@$DOMAIN

harness_start || { fail harness_start "see above"; finish; }
# Postfix's own MIME parser stops at mime_nesting_limit (100): its smtp
# client would bounce the 3000-deep messages ("MIME nesting exceeds safety
# limit") after segel has judged them. Raised so that segel's verdict is
# what reaches the sink.
postconf -c "$PF_CONF" -e mime_nesting_limit=4000 &&
	postfix -c "$PF_CONF" reload >/dev/null 2>&1 || { fail postfix_reload "mime_nesting_limit"; finish; }
W=$H/th
mkdir -p "$W"
PID0=$SEGEL_PID
# A cap far above MAX_MB, so that a runaway allocation ends in a failed
# allocation of the daemon (and a FAIL here) rather than a starved machine.
# Not for an ASan daemon (its shadow memory counts as data).
cap_memory() {
	if ! grep -q __asan_init "$SEGEL_BIN" 2>/dev/null; then
		prlimit --pid "$PID0" --data=$((MAX_MB * 4 * 1024 * 1024)) 2>/dev/null ||
			echo "note: prlimit --data failed; no memory cap on the daemon"
	fi
}
cap_memory

# ---------------------------------------------------------------- messages

printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nIsi surat yang ditandatangani.\r\n' >"$W/content.txt"
# A real detached signature by sari (DER), to truncate and to wrap.
openssl cms -sign -binary -in "$W/content.txt" -signer "$PKI/partner/sari.pem" \
	-inkey "$PKI/partner/sari.key" -certfile "$PKI/chain.pem" -outform DER \
	-out "$W/sari.p7s" 2>"$W/openssl.log" || { fail setup "openssl cms -sign"; finish; }

# Thousands of distinct certificates (one EC key, quick), then real
# signatures by sari that carry them all.
"$H_PY" - 3000 >"$W/many.pem" <<'EOF'
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime(2026, 1, 1)
for i in range(int(sys.argv[1])):
    n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'junk %d' % i)])
    c = (x509.CertificateBuilder().subject_name(n).issuer_name(n)
         .public_key(k.public_key()).serial_number(i + 1)
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=9))
         .sign(k, hashes.SHA256()))
    sys.stdout.buffer.write(c.public_bytes(serialization.Encoding.PEM))
EOF
awk '{ print } /END CERTIFICATE/ && ++n >= 1500 { exit }' "$W/many.pem" >"$W/half.pem"
for n in many half; do
	cat "$PKI/chain.pem" "$W/$n.pem" >"$W/$n-chain.pem"
	openssl cms -sign -binary -in "$W/content.txt" -signer "$PKI/partner/sari.pem" \
		-inkey "$PKI/partner/sari.key" -certfile "$W/$n-chain.pem" -outform DER \
		-out "$W/$n.p7s" 2>>"$W/openssl.log" || { fail setup "openssl cms -sign -certfile $n"; finish; }
done

"$H_PY" - "$W" "$DOMAIN" "$ID" "$$" <<'EOF'
import base64, os, sys
w, domain, servid, pid = sys.argv[1:5]
content = open(os.path.join(w, 'content.txt'), 'rb').read()

def hdr(name, frm, to):
    return ('From: %s\r\nTo: %s\r\nSubject: t_hostile %s\r\n'
            'Message-ID: <%s.%s@t-hostile.example>\r\nMIME-Version: 1.0\r\n'
            % (frm, to, name, name, pid)).encode()

def b64(b):
    s = base64.b64encode(b).decode()
    return ('\r\n'.join(s[i:i + 76] for i in range(0, len(s), 76)) + '\r\n').encode()

def signed(sigpart, first=content):
    return (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
            b' micalg=sha-256; boundary="sig"\r\n\r\n--sig\r\n' + first +
            b'\r\n--sig\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n'
            b'Content-Transfer-Encoding: base64\r\n\r\n' + sigpart + b'--sig--\r\n')

def nested(depth):
    out = [b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for i in range(1, depth):
        out.append(b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i))
    out.append(b'--b%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n' % (depth - 1))
    for i in range(depth - 1, -1, -1):
        out.append(b'--b%d--\r\n' % i)
    return b''.join(out)

def put(name, data):
    open(os.path.join(w, name + '.eml'), 'wb').write(data)

sari = 'sari@kepriprov.go.id'
alice = 'alice@' + domain
IN = lambda n: hdr(n, sari, alice)
SUB = lambda n: hdr(n, alice, 'warga@example.org')
p7s = lambda n: open(os.path.join(w, n + '.p7s'), 'rb').read()

deep = nested(3000)
put('in_nest3000', IN('in_nest3000') + signed(b64(p7s('sari')), deep))
put('sub_nest3000', SUB('sub_nest3000') + deep)
nob = (b'Content-Type: multipart/mixed; boundary="never-seen"\r\n\r\n'
       b'--other\r\nContent-Type: text/plain\r\n\r\nteks tanpa batas \xc3\xa9\r\n--other--\r\n')
put('in_boundary_missing', IN('in_boundary_missing') + signed(b64(p7s('sari')), nob))
put('sub_boundary_missing', SUB('sub_boundary_missing') + nob)
noparam = (b'Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhalo\r\n--x--\r\n')
put('sub_boundary_param_missing', SUB('sub_boundary_param_missing') + noparam)
put('in_signed_no_boundary', IN('in_signed_no_boundary') +
    b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256\r\n\r\n'
    b'--sig\r\n' + content + b'\r\n--sig--\r\n')
rep = (b'Content-Type: multipart/mixed; boundary="r"\r\n\r\n--r\r\n'
       b'Content-Type: multipart/alternative; boundary="r"\r\n\r\n--r\r\n'
       b'Content-Type: text/plain\r\n\r\nsatu\r\n--r\r\nContent-Type: text/html\r\n\r\n'
       b'<p>dua</p>\r\n--r--\r\n--r--\r\n--r--\r\n')
put('sub_boundary_repeated', SUB('sub_boundary_repeated') + rep)
put('in_boundary_repeated', IN('in_boundary_repeated') +
    b'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
    b' micalg=sha-256; boundary="sig"\r\n\r\n--sig\r\n' + content + b'\r\n--sig\r\n' +
    content + b'\r\n--sig\r\nContent-Type: application/pkcs7-signature\r\n'
    b'Content-Transfer-Encoding: base64\r\n\r\n' + b64(p7s('sari')) +
    b'--sig\r\n--sig--\r\n--sig--\r\n')
long = b'X-Long: ' + b'a' * (200 * 1024) + b'\r\n'
put('in_header_200k', IN('in_header_200k') + long + signed(b64(p7s('sari'))))
put('sub_header_200k', SUB('sub_header_200k') + long + content)
many = b''.join(b'X-H-%d: nilai %d\r\n' % (i, i) for i in range(20000))
put('in_headers_20000', IN('in_headers_20000') + many + signed(b64(p7s('sari'))))
put('sub_headers_20000', SUB('sub_headers_20000') + many + content)
nul = b'Content-Type: text/plain; charset=us-ascii\r\n\r\nawal\x00tengah\x00\x00akhir\r\n\x00\r\n'
put('sub_nul', SUB('sub_nul') + nul)
put('in_nul', IN('in_nul') + signed(b64(p7s('sari')),
    b'Content-Type: text/plain\r\n\r\nisi\x00dengan\x00nol\r\n'))
put('in_bad_base64', IN('in_bad_base64') + signed(b'!!!! bukan base64 $$$ ====\r\nMII@@@\r\n'))
d = p7s('sari')
put('in_cms_truncated', IN('in_cms_truncated') + signed(b64(d[:len(d) // 2])))
put('in_cms_random', IN('in_cms_random') + signed(b64(os.urandom(4096))))
put('in_certs_3000', IN('in_certs_3000') + signed(b64(p7s('many'))))
put('in_certs_1500', IN('in_certs_1500') + signed(b64(p7s('half'))))
forged = b''.join(b'Authentication-Results: %s; smime=pass (forged %d)\r\n'
                  % (servid.encode(), i) for i in range(500))
put('in_forged_ar_500', IN('in_forged_ar_500') + forged + signed(b64(p7s('sari'))))
# fuzz_mime's finding (tests/fuzz/regress/fuzz_mime-param-encode-oom) as
# mail: a Content-Type with 8-bit bytes in a parameter without '='.
ct = (b'Content-Type: multipart/aType: text/html; charset' + b'w' * 25 + b'\x8b' +
      b'w' * 19 + b'Jwwww\xaewwwwww----=_sege\xc3\xa9<\r\n')
put('sub_ct_param_loop', SUB('sub_ct_param_loop').replace(b'MIME-Version: 1.0\r\n', b'') +
    b'MIME-Version: 1.0\r\n' + ct + b'\r\nisi\r\n')
put('sub_utf8_filename', SUB('sub_utf8_filename') +
    b'Content-Type: multipart/mixed; boundary="u"\r\n\r\n--u\r\n'
    b'Content-Type: text/plain; charset=utf-8\r\n\r\nLampiran terlampir.\r\n--u\r\n'
    b'Content-Type: application/pdf; name="laporan-\xc3\xa9.pdf"\r\n'
    b'Content-Disposition: attachment; filename="laporan-\xc3\xa9.pdf"\r\n'
    b'Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--u--\r\n')
EOF
[ -f "$W/in_forged_ar_500.eml" ] || { fail setup "message generation"; finish; }

# ---------------------------------------------------------------- judging

# fields FILE NAME: see tests/e2e/lib.sh.

hwm_mb() { awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

# The delivered copy of case NAME: its own top-level Subject (a bounce
# quotes the headers too, but has another Subject).
delivered_copy() {
	local f
	for f in $(grep -lF -- "Message-ID: <$1.$$@t-hostile.example>" "$H/sink"/* 2>/dev/null); do
		if [ "$(fields "$f" Subject)" = "t_hostile $1" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

# segel's log line for the queue id of the last reply: "action=... smime=...".
segel_action() {
	local qid
	qid=$(last_reply | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' | head -n 1)
	[ -n "$qid" ] || return 0
	grep -F "$qid: " "$H/segel.log" | grep -o 'action=.*' | sed 's/ ms=.*//' | head -n 1
}

# The first line of the last reply: code and text.
reply1() { last_reply | head -n 1 | tr -d '\r'; }

# hcase NAME in|sub: send $W/NAME.eml, judge, report.
hcase() {
	local name=$1 mode=$2 file=$W/$1.eml t0 t1 code r f ar ours what ok=1 mb n8
	t0=$(date +%s)
	if [ "$mode" = in ]; then
		send_in "$SARI" "$ALICE" "$file" --timeout "$MAX_S" || true
	else
		send_sub alice "$ALICE" warga@example.org "$file" --timeout "$MAX_S" || true
	fi
	r=$(reply1)
	code=${r:0:3}
	case $code in
	250)
		f=
		while [ -z "$f" ] && [ $(( $(date +%s) - t0 )) -le "$MAX_S" ]; do
			f=$(delivered_copy "$name") || f=
			[ -n "$f" ] || sleep 0.5
		done
		if [ -z "$f" ]; then
			what="accepted but not delivered within ${MAX_S}s ($(grep -F "$(last_reply | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p'): to=" "$H/maillog" | grep -o 'status=.*' | head -n 1))"; ok=0
		elif [ "$mode" = in ]; then
			sink_message "$f" "$W/$name.out"
			ar=$(fields "$W/$name.out" Authentication-Results)
			ours=$(printf '%s\n' "$ar" | grep -ci "^$ID;" || true)
			what="delivered, $(printf '%s\n' "$ar" | grep -i "^$ID;" | head -n 1 | grep -o 'smime=[a-z]*\( ([^)]*)\)\{0,1\}\|; none ([^)]*)' | head -n 1)"
			if [ "$ours" -ne 1 ]; then
				what="$what; $ours Authentication-Results of ours (want 1)"; ok=0
			elif printf '%s\n' "$ar" | grep -qi forged; then
				what="$what; a forged Authentication-Results survived"; ok=0
			fi
		else
			if ! grep -qi '^Content-Type: multipart/signed' "$f"; then
				what="delivered UNSIGNED"; ok=0
			elif verify_openssl "$f"; then
				what="delivered signed, openssl verifies it"
				n8=$(LC_ALL=C grep -c $'[\x80-\xff]' "$f" || true)
				[ "$n8" -eq 0 ] || what="$what (note: $n8 lines with 8-bit bytes)"
			else
				what="delivered signed but openssl does not verify it: $(grep -v '^$' "$H/last.verify" | tail -n 2 | tr '\n' ' ')"; ok=0
			fi
		fi ;;
	4[0-9][0-9]) what="tempfail: $r" ;;
	5[0-9][0-9]) what="refused: $r" ;;
	*) what="no verdict (reply '$r')"; ok=0 ;;
	esac
	t1=$(date +%s)
	mb=$(hwm_mb "$PID0")
	if [ "$SEGEL_PID" != "$PID0" ] || ! kill -0 "$PID0" 2>/dev/null; then
		what="$what; segel-milter (pid $PID0) is gone"; ok=0
	fi
	if [ -n "$mb" ] && [ "$mb" -gt "$MAX_MB" ]; then
		what="$what; VmHWM ${mb} MB > ${MAX_MB} MB"; ok=0
	fi
	if [ $((t1 - t0)) -gt "$MAX_S" ]; then
		what="$what; took $((t1 - t0)) s > ${MAX_S} s"; ok=0
	fi
	what="$what [segel: $(segel_action); $((t1 - t0)) s, VmHWM ${mb:-?} MB]"
	if [ $ok = 1 ]; then pass "$name: $what"; else fail "$name" "$what"; fi
	if ! kill -0 "$PID0" 2>/dev/null; then
		# judged above; a new daemon for the cases that follow
		echo "note: $name: last lines of the daemon's log: $(tail -n 2 "$H/segel.log" | tr '\n' ' ')"
		wait "$PID0" 2>/dev/null || true
		segel_start || { fail restart "segel-milter does not start again"; finish; }
		PID0=$SEGEL_PID
		cap_memory
	fi
}

# ---------------------------------------------------------------- cases

# HOSTILE_CASES="name ..." runs only those.
hcase_filtered() {
	case " ${HOSTILE_CASES:-$1} " in *" $1 "*) hcase "$@" ;; esac
}

hcase_filtered in_nest3000 in
hcase_filtered sub_nest3000 sub
hcase_filtered in_boundary_missing in
hcase_filtered sub_boundary_missing sub
hcase_filtered sub_boundary_param_missing sub
hcase_filtered in_signed_no_boundary in
hcase_filtered in_boundary_repeated in
hcase_filtered sub_boundary_repeated sub
hcase_filtered in_header_200k in
hcase_filtered sub_header_200k sub
# What reaches segel of the 200 KB line: Postfix keeps at most
# header_size_limit (102400) bytes of one header field and drops the rest.
if f=$(delivered_copy in_header_200k); then
	echo "note: X-Long delivered with $(fields "$f" X-Long | wc -c) bytes of 204800 (Postfix header_size_limit $(postconf -c "$PF_CONF" -h header_size_limit))"
fi
hcase_filtered in_headers_20000 in
hcase_filtered sub_headers_20000 sub
hcase_filtered in_nul in
hcase_filtered sub_nul sub
hcase_filtered in_bad_base64 in
hcase_filtered in_cms_truncated in
hcase_filtered in_cms_random in
hcase_filtered in_certs_3000 in
hcase_filtered in_certs_1500 in
hcase_filtered in_forged_ar_500 in
hcase_filtered sub_utf8_filename sub
hcase_filtered sub_ct_param_loop sub

# Still serving: an ordinary message afterwards is signed.
printf 'From: %s\r\nTo: warga@example.org\r\nSubject: t_hostile after\r\nMessage-ID: <after.%s@t-hostile.example>\r\n\r\nMasih jalan.\r\n' \
	"$ALICE" "$$" >"$W/after.eml"
if send_sub alice "$ALICE" warga@example.org "$W/after.eml" &&
	f=$(for i in $(seq 1 60); do sink_find "Message-ID: <after.$$@t-hostile.example>" && break; sleep 0.5; done) &&
	[ -n "$f" ] && verify_openssl "$f"; then
	pass "after_all: the daemon (pid $PID0) still signs; VmHWM $(hwm_mb "$PID0") MB"
else
	fail after_all "an ordinary message after the hostile ones: $(last_reply | head -n 1)"
fi
BADLOG='AddressSanitizer|runtime error|segfault|assert|GLib-ERROR|GLib-CRITICAL|GMime-CRITICAL|failed to allocate'
if grep -qiE "$BADLOG" "$H/segel.log"; then
	fail segel_log "$(grep -iE "$BADLOG" "$H/segel.log" | head -n 3)"
else
	pass "segel_log: no sanitizer report, assertion or GLib error in the daemon's log"
fi
finish
