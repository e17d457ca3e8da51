#!/bin/bash
# t_verify_memory.sh - bounded memory while verifying (issue 18 point 5):
# about 42 MB of opaque signed-data whose content is another opaque
# signed-data (both by the partner, sari) goes through the real Postfix to
# a freshly started segel-milter; the message must get smime=pass and the
# daemon's peak RSS (VmHWM in /proc/PID/status, read before and after)
# must stay under 64 MB. The same figure is in `make bench` (verifynest).
. "$(dirname "$0")/lib.sh"

LIMIT_KB=$((64 * 1024))
harness_start || { fail harness_start "see above"; finish; }
W=$H/tvm
mkdir -p "$W"
SARI=sari@kepriprov.go.id
RCPT=alice@$DOMAIN
k=(-signer "$PKI/partner/sari.pem" -inkey "$PKI/partner/sari.key" -certfile "$PKI/chain.pem")
{ printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  head -c 17000000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'; } >"$W/c.txt"
openssl cms -sign -nodetach -binary -in "$W/c.txt" "${k[@]}" | sed 's/\r*$/\r/' >"$W/inner.eml"
{ printf 'From: Sari <%s>\nTo: <%s>\nSubject: t_verify_memory\nDate: %s\nMessage-ID: <tvm.%s@kepriprov.go.id>\n' \
	"$SARI" "$RCPT" "$(date -R)" "$$"
  openssl cms -sign -nodetach -binary -in "$W/inner.eml" "${k[@]}" | tr -d '\r'; } >"$W/m.eml"
rm -f "$W/c.txt" "$W/inner.eml"
size=$(stat -c %s "$W/m.eml")

vm_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
segel_restart || { fail restart "segel did not restart"; finish; }
idle=$(vm_kb "$SEGEL_PID" VmHWM)
n=$(sink_count)
if send_in "$SARI" "$RCPT" "$W/m.eml" --timeout 600 && sink_wait $((n + 1)) 300; then
	peak=$(vm_kb "$SEGEL_PID" VmHWM)
	f=$(sink_find "Message-ID: <tvm.$$@kepriprov.go.id>") && sink_message "$f" "$W/out.eml"
	ar=$(fields "$W/out.eml" Authentication-Results | grep -i "^mail.$DOMAIN;" || true)
	echo "t_verify_memory: $size byte message: VmHWM $idle kB after start, $peak kB after verifying"
	if printf '%s' "$ar" | grep -q 'smime=pass'; then
		pass "nested opaque ($size bytes): smime=pass"
	else
		fail nested_opaque "want pass: $ar"
	fi
	if [ -n "$peak" ] && [ "$peak" -le "$LIMIT_KB" ]; then
		pass "peak RSS $peak kB <= $LIMIT_KB kB (idle $idle kB)"
	else
		fail peak_rss "$peak kB > $LIMIT_KB kB (idle $idle kB)"
	fi
else
	fail nested_opaque "not delivered: $(last_reply)"
fi
finish
