#!/bin/bash
# t_metrics.sh - metrics.file, the Prometheus text file for node_exporter's
# textfile collector, through the private Postfix:
#   - off by default; after a reload with metrics.file and metrics.interval
#     it appears, mode 0644, and `promtool check metrics` (Prometheus' own
#     linter, Debian package prometheus) finds nothing to say;
#   - each decision is counted once under the right labels: a signed
#     submission, a partner's signed mail (smime=pass), a plaintext refusal,
#     a login sending as someone else; one signing time in the histogram;
#   - the gauges agree with independent readers: seconds left of alice's and
#     carol's certificates (openssl x509 -enddate), the BSrE CRL's age and
#     nextUpdate (openssl crl), the audit chain's records (wc -l);
#   - the file is replaced atomically (no temporary file stays) and written
#     once more when the daemon stops, with what happened since;
#   - a folder that does not exist, or an interval of 0, is a configuration
#     error: FILE:LINE: key: problem, exit 78.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null 2>&1 ||
	{ skip metrics "promtool not installed (Debian package prometheus; make deps)"; finish; }
harness_start || { fail harness_start "see above"; finish; }

M=$H/metrics
F=$M/segel.prom
mkdir -p "$M"

# value NAME{LABELS}: the sample's value in $F ("" when absent).
value() {
	awk -v k="$1" 'index($0, k " ") == 1 { print $NF; exit }' "$F"
}

# written_after STAMP: wait (10 s) until $F is newer than file STAMP.
written_after() {
	local i
	for i in $(seq 1 100); do
		[ "$F" -nt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# expect NAME{LABELS} WANT: one check of an exact value.
expect() {
	local got
	got=$(value "$1")
	if [ "$got" = "$2" ]; then
		pass "metrics: $1 = $2"
	else
		fail "metrics: $1" "want $2, got '${got:-absent}'"
	fi
}

# near WHAT GOT WANT TOLERANCE: |GOT - WANT| <= TOLERANCE (whole numbers).
near() {
	if [ -n "$2" ] && [ "$2" -ge $(($3 - $4)) ] 2>/dev/null && [ "$2" -le $(($3 + $4)) ]; then
		pass "metrics: $1 = $2 (independent: $3)"
	else
		fail "metrics: $1" "got '${2:-absent}', independent reading $3 (+-$4)"
	fi
}

# ---------------------------------------------------------------- off, then on
sleep 1.5
if [ -z "$(ls -A "$M")" ]; then
	pass "metrics: nothing written while metrics.file is unset"
else
	fail "metrics: off by default" "$(ls "$M")"
fi
segel_conf_set metrics.file "\"$F\""
segel_conf_set metrics.interval 1
if segel_reload; then
	pass "metrics: reload with metrics.file and metrics.interval"
else
	fail "metrics: reload" "$(tail -n 3 "$H/segel.log")"
fi
touch "$H/stamp0"
if written_after "$H/stamp0"; then
	pass "metrics: $F written within 10 s of the reload"
else
	fail "metrics: file written" "nothing in $M after 10 s"
	finish
fi
mode=$(stat -c %a "$F")
[ "$mode" = 644 ] && pass "metrics: file mode 0644 (the collector runs as another user)" ||
	fail "metrics: file mode" "$mode"

# ---------------------------------------------------------------- decisions
S=$PKI/staff
SARI=sari@kepriprov.go.id
printf 'From: alice@%s\nTo: warga@example.org\nSubject: t_metrics signed\nMessage-ID: <m1.%s@t-metrics>\n\nSurat resmi.\n' \
	"$DOMAIN" "$$" >"$H/m1.eml"
send_sub alice "alice@$DOMAIN" warga@example.org "$H/m1.eml" ||
	fail "metrics: submission" "$(last_reply)"
printf 'Content-Type: text/plain\r\n\r\nUndangan rapat.\r\n' >"$H/content.txt"
{
	printf 'From: %s\nTo: alice@%s\nSubject: t_metrics partner\nMessage-ID: <m2.%s@t-metrics>\n' \
		"$SARI" "$DOMAIN" "$$"
	openssl cms -sign -binary -in "$H/content.txt" -signer "$PKI/partner/sari.pem" \
		-inkey "$PKI/partner/sari.key" -certfile "$PKI/chain.pem"
} >"$H/m2.eml"
send_in "$SARI" "alice@$DOMAIN" "$H/m2.eml" || fail "metrics: partner mail" "$(last_reply)"
sink_wait 2 60 || fail "metrics: delivery" "two messages not in the sink"
f=$(sink_find "t_metrics partner")
if [ -n "$f" ] && fields "$f" Authentication-Results | grep -q "smime=pass"; then
	pass "metrics: the partner's mail was tagged smime=pass"
else
	fail "metrics: partner tagged" "no smime=pass in the delivered copy"
fi
send_in budi@example.org "alice@$DOMAIN" "$H/m1.eml" --plain
last_reply | grep -q '^530 5\.7\.0' || fail "metrics: plaintext refusal" "$(last_reply)"
sed "s/^From: alice@/From: bob@/" "$H/m1.eml" >"$H/m3.eml"
send_sub alice "bob@$DOMAIN" warga@example.org "$H/m3.eml"
last_reply | grep -q '^550' || fail "metrics: login refusal" "$(last_reply)"

sleep 1.2	# the audit log has every record now: one more write
touch "$H/stamp1"
written_after "$H/stamp1" || fail "metrics: rewritten" "not newer after 10 s"
if promtool check metrics <"$F" >"$H/promtool.out" 2>&1 && [ ! -s "$H/promtool.out" ]; then
	pass "metrics: promtool check metrics finds no problem ($(grep -vc '^#' "$F") samples)"
else
	fail "metrics: promtool check metrics" "$(head -n 5 "$H/promtool.out" | tr '\n' ' ')"
fi
expect 'segel_messages_total{role="outbound",action="signed"}' 1
expect 'segel_messages_total{role="inbound",action="verified"}' 1
expect 'segel_messages_total{role="inbound",action="refused"}' 1
expect 'segel_messages_total{role="outbound",action="refused"}' 1
expect 'segel_verify_results_total{result="pass"}' 1
expect 'segel_refusals_total{reason="plaintext"}' 1
expect 'segel_refusals_total{reason="login may not send as From"}' 1
expect 'segel_sign_duration_seconds_count' 1
expect 'segel_sign_duration_seconds_bucket{le="+Inf"}' 1
sum=$(value segel_sign_duration_seconds_sum)
if awk -v s="$sum" 'BEGIN { exit !(s > 0 && s < 10) }'; then
	pass "metrics: signing took $sum s, in the histogram's sum"
else
	fail "metrics: signing time sum" "'$sum'"
fi
mono=$(awk '/^segel_sign_duration_seconds_bucket/ { if ($NF < prev) bad = 1; prev = $NF } END { print bad ? "no" : "yes" }' "$F")
[ "$mono" = yes ] && pass "metrics: histogram buckets are cumulative" ||
	fail "metrics: histogram buckets" "$(grep _bucket "$F" | tr '\n' ' ')"

# ---------------------------------------------------------------- gauges
now=$(date +%s)
for who in alice carol; do
	serial=$(openssl x509 -in "$S/$who@$DOMAIN.pem" -noout -serial | cut -d= -f2)
	end=$(date -d "$(openssl x509 -in "$S/$who@$DOMAIN.pem" -noout -enddate | cut -d= -f2)" +%s)
	got=$(grep "^segel_certificate_expiry_seconds{address=\"$who@$DOMAIN\",serial=\"$serial\"" "$F" | awk '{ print $NF }')
	near "seconds left of $who's certificate" "$got" $((end - now)) 30
done
issuer=$(openssl crl -in "$PKI/crl/bsre.crl.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
last=$(date -d "$(openssl crl -in "$PKI/crl/bsre.crl.pem" -noout -lastupdate | cut -d= -f2)" +%s)
next=$(date -d "$(openssl crl -in "$PKI/crl/bsre.crl.pem" -noout -nextupdate | cut -d= -f2)" +%s)
near "age of the BSrE CRL" "$(value "segel_crl_age_seconds{issuer=\"$issuer\"}")" $((now - last)) 30
expect "segel_crl_next_update_timestamp_seconds{issuer=\"$issuer\"}" "$next"
n_crl=$(grep -c '^segel_crl_age_seconds{' "$F")
[ "$n_crl" = 2 ] && pass "metrics: one CRL age per issuer (root and BSrE)" ||
	fail "metrics: CRLs per issuer" "$n_crl lines"
expect segel_audit_records "$(wc -l <"$H/audit.log")"
left=$(ls -A "$M" | grep -vx segel.prom)
[ -z "$left" ] && pass "metrics: no temporary file left beside segel.prom" ||
	fail "metrics: temporary files" "$left"

# ---------------------------------------------------------------- README's alerts
# The rule file README shows, checked by promtool and run against this
# file's certificate samples (alice: two years, carol: expired) and two
# CRLs, one past its nextUpdate (promtool's clock starts at 0).
awk '/^## Metrics/ { m = 1 } m && /^```yaml/ { y = 1; next } y && /^```/ { exit } y' \
	"$SEGEL_ROOT/README.md" >"$H/rules.yml"
if promtool check rules "$H/rules.yml" >"$H/rules.out" 2>&1 && grep -q "SUCCESS: 2 rules found" "$H/rules.out"; then
	pass "metrics: README's two alert rules pass promtool check rules"
else
	fail "metrics: README's alert rules" "$(tr '\n' ' ' <"$H/rules.out")"
fi
series() { # ADDRESS: the certificate sample's labels and value
	grep "^segel_certificate_expiry_seconds{address=\"$1\"" "$F" | head -n 1
}
read -r a_lab a_val <<<"$(series "alice@$DOMAIN")"
read -r c_lab c_val <<<"$(series "carol@$DOMAIN")"
c_serial=$(sed 's/.*serial="\([^"]*\)".*/\1/' <<<"$c_lab")
cat >"$H/rules-test.yml" <<EOF
rule_files: [ rules.yml ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: '$a_lab'
        values: '$a_val $a_val $a_val $a_val $a_val $a_val'
      - series: '$c_lab'
        values: '$c_val $c_val $c_val $c_val $c_val $c_val'
      - series: 'segel_crl_next_update_timestamp_seconds{issuer="CN=Stale CA"}'
        values: '60 60 60 60 60 60'
      - series: 'segel_crl_next_update_timestamp_seconds{issuer="CN=Fresh CA"}'
        values: '86400 86400 86400 86400 86400 86400'
    alert_rule_test:
      - eval_time: 5m
        alertname: SegelCertificateExpiresSoon
        exp_alerts:
          - exp_labels: { severity: warning, address: "carol@$DOMAIN", serial: "$c_serial", status: expired }
            exp_annotations:
              summary: "S/MIME certificate of carol@$DOMAIN expires within 14 days"
              description: "Renew it (segelctl import) before it expires: its mail is refused after that."
      - eval_time: 5m
        alertname: SegelCrlStale
        exp_alerts:
          - exp_labels: { severity: critical, issuer: "CN=Stale CA" }
            exp_annotations:
              summary: "CRL of CN=Stale CA is past its nextUpdate"
              description: "Fetch the CA's current CRL into pki.crl_dir and reload segel-milter."
EOF
if (cd "$H" && promtool test rules rules-test.yml) >"$H/rules-test.out" 2>&1; then
	pass "metrics: the alerts fire for carol's expired certificate and the stale CRL only"
else
	fail "metrics: promtool test rules" "$(tr '\n' ' ' <"$H/rules-test.out" | cut -c1-600)"
fi

# ---------------------------------------------------------------- at exit
segel_conf_set metrics.interval 3600
segel_reload || fail "metrics: reload (interval 3600)" "$(tail -n 3 "$H/segel.log")"
sleep 1.5	# the write due at the old interval
send_sub alice "alice@$DOMAIN" warga@example.org "$H/m1.eml" ||
	fail "metrics: second submission" "$(last_reply)"
sink_wait 3 60 || fail "metrics: delivery" "third message not in the sink"
expect 'segel_messages_total{role="outbound",action="signed"}' 1
segel_stop
expect 'segel_messages_total{role="outbound",action="signed"}' 2
expect 'segel_sign_duration_seconds_count' 2

# ---------------------------------------------------------------- errors
cp "$H/segel.conf" "$H/bad.conf"
segel_conf_set metrics.file "\"$H/no-such-folder/segel.prom\""
segel_conf_set metrics.interval 0
rc=0
"$SEGEL_BIN" -n -c "$H/segel.conf" >"$H/n.out" 2>&1 || rc=$?
l1=$(grep -n 'metrics.file' "$H/segel.conf" | cut -d: -f1)
l2=$(grep -n 'metrics.interval' "$H/segel.conf" | cut -d: -f1)
if [ "$rc" = 78 ] && grep -q "segel.conf:$l1: metrics.file: .*no-such-folder.*folder does not exist" "$H/n.out" &&
	grep -q "segel.conf:$l2: metrics.interval: must be greater than 0" "$H/n.out"; then
	pass "metrics: a missing folder and interval 0 are FILE:LINE: key: problem, exit 78"
else
	fail "metrics: configuration errors" "exit $rc: $(tr '\n' ' ' <"$H/n.out")"
fi
finish
