#!/bin/bash
# t_demo.sh - `make demo` tells the truth: it exits 0 only when all four of its
# stories happened (each checked by the demo itself), and when segel is
# stopped or absent it says which stories failed, why (the MTA's own reply),
# and exits 1.  Runs tests/demo three times (about 15 s each) into its own
# output folder.
. "$(dirname "$0")/lib.sh"
cd "$SEGEL_ROOT" || exit 1

T=$(mktemp -d /tmp/segel-t-demo.XXXXXX)
trap 'rm -rf "$T"' EXIT

# run NAME [VAR=VALUE ...]: tests/demo with that environment; rc in $T/NAME.rc,
# output in $T/NAME.log; the harness folder a failing demo keeps is removed.
run() {
	local name=$1 kept
	shift
	env "$@" DEMO_OUT="$T/$name.out" tests/demo >"$T/$name.log" 2>&1
	echo $? >"$T/$name.rc"
	kept=$(sed -n 's/^harness: kept //p' "$T/$name.log")
	case $kept in /tmp/segel-e2e.*) rm -rf "$kept" ;; esac
}

# story LOG KEY: the summary line of story KEY (1, 2, forged, 3)
story() {
	case $2 in
	1) grep -m1 "1. Alice's ordinary mail:" "$1" ;;
	2) grep -m1 "2. Signed mail from the province:" "$1" ;;
	forged) grep -m1 "Forged 'smime=pass' header:" "$1" ;;
	3) grep -m1 "3. Mail to the city without encryption:" "$1" ;;
	esac
}

# --- the demo as a newcomer runs it
run normal
rc=$(cat "$T/normal.rc")
oks=0
for k in 1 2 forged 3; do story "$T/normal.log" $k | grep -q ' OK ' && oks=$((oks + 1)); done
if [ "$rc" = 0 ] && [ "$oks" = 4 ] && grep -q '^demo: OK: all 4 stories' "$T/normal.log"; then
	pass "demo: exit 0 and four OK stories"
else
	fail "demo" "exit $rc, $oks of 4 stories OK: $(grep -E '^  [123 ]' "$T/normal.log" | tail -n 4)"
fi
# what it claims is what it kept: the signed mail verifies here too
if [ -s "$T/normal.out/signed.eml" ] &&
	openssl cms -verify -in "$T/normal.out/signed.eml" -CAfile "$T/normal.out/trust.pem" \
		-purpose smimesign -out /dev/null >"$T/verify.log" 2>&1; then
	pass "demo: the signed.eml it keeps verifies with openssl cms"
else
	fail "demo: kept signed.eml" "$(head -n 3 "$T/verify.log" 2>/dev/null)"
fi
if grep -q 'smime=pass' "$T/normal.out/incoming.eml" 2>/dev/null &&
	! grep -q 'forged by the sender' "$T/normal.out/forged.eml" 2>/dev/null; then
	pass "demo: the kept incoming.eml says smime=pass, forged.eml has lost the forged header"
else
	fail "demo: kept messages" "incoming.eml or forged.eml do not say what the summary says"
fi

# --- segel stopped after start: Postfix tempfails, nothing is signed
run stopped DEMO_STOP_SEGEL=1
rc=$(cat "$T/stopped.rc")
s1=$(story "$T/stopped.log" 1)
s3=$(story "$T/stopped.log" 3)
if [ "$rc" = 1 ] && grep -q 'FAILED  refused at submission: 4[0-9][0-9] ' <<<"$s1" &&
	grep -q 'FAILED  .*4[0-9][0-9] ' <<<"$s3" && grep -q '^demo: FAILED: 4 of 4' "$T/stopped.log"; then
	pass "demo with segel stopped: exit 1, each story FAILED with Postfix's 4xx reply"
else
	fail "demo with segel stopped" "exit $rc; $s1 / $s3"
fi

# --- no milter at all: the bare Postfix signs nothing and takes plaintext
run nomilter H_NO_MILTER=1
rc=$(cat "$T/nomilter.rc")
s1=$(story "$T/nomilter.log" 1)
s3=$(story "$T/nomilter.log" 3)
if [ "$rc" = 1 ] && grep -q 'FAILED  it left the gateway NOT signed' <<<"$s1" &&
	grep -q 'FAILED  plaintext delivery was ACCEPTED' <<<"$s3"; then
	pass "demo without segel: exit 1, 'NOT signed' and 'plaintext ACCEPTED' named"
else
	fail "demo without segel" "exit $rc; $s1 / $s3"
fi

finish
