#!/bin/bash
# The milter-protocol scripts against segel-milter running under valgrind
# memcheck: no invalid reads or writes, no use of uninitialised memory, and
# no definitely or indirectly lost blocks (OpenSSL's legacy provider's
# exit-time context is suppressed, see tests/valgrind.supp).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${SEGEL_BUILD_DIR:-$root/build}/segel-milter
T=$(mktemp -d /tmp/segel-vg.XXXXXX)
npass=0 nfail=0
pass() { echo "PASS: $1"; npass=$((npass + 1)); }
fail() { echo "FAIL: $1: $2"; nfail=$((nfail + 1)); }
skip() { echo "SKIP: $1: $2"; echo "0 passed, 0 failed, 1 skipped"; exit 0; }
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ "$nfail" -eq 0 ] && rm -rf "$T" || echo "kept $T"' EXIT
command -v valgrind >/dev/null || skip "valgrind memcheck" "valgrind is not installed"
# An ASan build cannot run under valgrind.
if nm -an "$bin" 2>/dev/null | grep -q __asan_init; then
	skip "valgrind memcheck" "this build is instrumented with ASan"
fi

"$root/tests/pki/gen" "$T/pki" >/dev/null || { fail pki "gen failed"; exit 1; }
mkdir -p "$T/tmp"
cat >"$T/segel.conf" <<EOC
socket = "unix:$T/m.sock";
user = "";
pki: { trust_file = "pki/trust.pem"; crl_dir = "pki/crl"; };
sign: { cert_dir = "pki/certs"; trusted_hosts = [ "127.0.0.1/32" ]; };
audit: { file = "audit.log"; };
limits: { tmp_dir = "tmp"; };
EOC
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --suppressions="$root/tests/valgrind.supp" --num-callers=30 \
    "$bin" -f -c "$T/segel.conf" >"$T/vg.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -S "$T/m.sock" ] && break; sleep 0.1; done
[ -S "$T/m.sock" ] || { fail "start under valgrind" "$(tail -20 "$T/vg.log")"; exit 1; }
for s in tls forged login; do
	if out=$(miltertest -s "$here/$s.lua" -D sock="unix:$T/m.sock" -D dir="$here" 2>&1); then
		pass "miltertest $s.lua under valgrind"
	else
		fail "miltertest $s.lua under valgrind" "$out"
	fi
done
kill -USR1 "$pid"
for _ in $(seq 300); do grep -q "configuration loaded (reload)" "$T/vg.log" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"; rc=$?
pid=
errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$T/vg.log" | tail -1)
if [ "$rc" -eq 0 ] && [ "${errs:-x}" = 0 ]; then
	pass "valgrind memcheck: 0 errors, no definitely/indirectly lost blocks"
else
	fail "valgrind memcheck" "exit $rc, errors ${errs:-?}: $(grep -A25 -E 'definitely lost in|indirectly lost in|Invalid|uninitialised' "$T/vg.log" | head -60)"
fi
echo "$npass passed, $nfail failed, 0 skipped"
[ "$nfail" -eq 0 ]
