#!/bin/bash
# Milter-protocol tests: the real build/segel-milter on a temporary socket,
# driven by miltertest (Lua scripts in this folder); the configuration
# checker (-n) on a table of broken files; reload on SIGUSR1 with a broken
# file keeps the old configuration; SIGTERM stops cleanly.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${SEGEL_BUILD_DIR:-$root/build}/segel-milter
T=$(mktemp -d /tmp/segel-milter.XXXXXX)
npass=0 nfail=0
pass() { echo "PASS: $1"; npass=$((npass + 1)); }
fail() { echo "FAIL: $1: $2"; nfail=$((nfail + 1)); }
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ "$nfail" -eq 0 ] && [ -z "${KEEP:-}" ] && rm -rf "$T" || echo "kept $T"
}
trap cleanup EXIT

"$root/tests/pki/gen" "$T/pki" >/dev/null || { fail "pki" "tests/pki/gen failed"; exit 1; }
mkdir -p "$T/tmp" "$T/archive"
write_conf() {
	cat >"$1" <<EOC
domain = "tanjungpinangkota.go.id";
authserv_id = "mail.tanjungpinangkota.go.id";
socket = "unix:$T/m.sock";
user = "";
on_error = "tempfail";
log_level = "debug";
pki: {
  trust_file = "pki/trust.pem";
  crl_dir = "pki/crl";
};
tls: {
  enforce = true;
  min_version = "TLSv1.2";
};
sign: {
  enabled = true;
  cert_dir = "pki/certs";
  trusted_hosts = [ "127.0.0.1/32" ];
  on_no_cert = "reject";
};
verify: {
  enabled = true;
  unsigned_own_domain = "tag";
};
audit: { file = "audit.log"; };
archive: { dir = "archive"; };
limits: { tmp_dir = "tmp"; };
EOC
}
write_conf "$T/segel.conf"

# --- -n on a good file
if out=$("$bin" -n -c "$T/segel.conf" 2>&1); then
	pass "-n accepts the good configuration"
else
	fail "-n good configuration" "exit $?: $out"
fi

# --- -n on broken files: each kind named with FILE:LINE: key, exit 78
bad_case() {	# name sed-expression expected-regex
	local f="$T/bad-$1.conf" out rc
	sed -e "$2" "$T/segel.conf" >"$f"
	out=$("$bin" -n -c "$f" 2>&1); rc=$?
	if [ "$rc" -eq 78 ] && printf '%s\n' "$out" | grep -Eq "^$f:[0-9]+: $3"; then
		pass "-n reports $1"
	else
		fail "-n reports $1" "exit $rc, output: $out"
	fi
}
bad_case unknown-key   's/^log_level.*/colour = "blue";/'            'colour: unknown key'
bad_case wrong-type    's/enforce = true;/enforce = "yes";/'          'tls.enforce: must be true or false'
bad_case bad-enum      's/on_error = "tempfail"/on_error = "maybe"/'  'on_error: "maybe": must be one of'
bad_case bad-enum2     's/on_no_cert = "reject"/on_no_cert = "sign"/' 'sign.on_no_cert: "sign": must be one of'
bad_case bad-cidr      's|"127.0.0.1/32"|"10.0.0.0/33"|'              'sign.trusted_hosts: "10.0.0.0/33" is not'
bad_case missing-trust 's|pki/trust.pem|pki/none.pem|'                'pki.trust_file: .*No such file'
bad_case missing-crl   's|pki/crl"|pki/nocrl"|'                       'pki.crl_dir: .*No such file'
bad_case missing-store 's|pki/certs|pki/nocerts|'                     'sign.cert_dir: .*No such file'
bad_case bad-socket    "s|unix:$T/m.sock|inet:localhost:8891|"        'socket: .*inet:PORT@HOST'
bad_case bad-tlsver    's/TLSv1.2/TLSv1.4/'                           'tls.min_version: "TLSv1.4"'
bad_case bad-servid    's/"mail.tanjungpinangkota.go.id"/"mail x"/'    'authserv_id: .*token'
bad_case bad-user      's/^user = "";/user = "no-such-user-x";/'      'user: no such user'
bad_case bad-domain    's/^domain = .*/domain = "not a domain";/'     'domain: .*not a domain name'
bad_case syntax        's/^log_level = "debug";/log_level = = "debug";/' 'syntax error'
bad_case audit-folder  's|file = "audit.log"|file = "nodir/audit.log"|' 'audit.file: .*folder does not exist'
# All problems of one file are reported, not only the first.
sed -e 's/^log_level.*/colour = "blue";/' -e 's/enforce = true;/enforce = 1;/' \
    -e 's/on_error = "tempfail"/on_error = "maybe"/' "$T/segel.conf" >"$T/bad-many.conf"
n=$("$bin" -n -c "$T/bad-many.conf" 2>&1 | grep -c "^$T/bad-many.conf:[0-9]*: ")
[ "$n" -eq 3 ] && pass "-n reports every problem of a file (3 of 3)" || fail "-n reports all problems" "got $n of 3"
# An unsafe store is an error; a missing file is too.
chmod 0644 "$T/pki/certs/alice@tanjungpinangkota.go.id.pass"
out=$("$bin" -n -c "$T/segel.conf" 2>&1); rc=$?
[ "$rc" -eq 78 ] && printf '%s' "$out" | grep -q "alice@tanjungpinangkota.go.id.pass" &&
	pass "-n refuses a store file readable by others" || fail "-n unsafe store" "exit $rc: $out"
chmod 0600 "$T/pki/certs/alice@tanjungpinangkota.go.id.pass"
out=$("$bin" -n -c "$T/nonexistent.conf" 2>&1); rc=$?
[ "$rc" -eq 78 ] && pass "-n on a missing file exits 78" || fail "-n missing file" "exit $rc: $out"
# Expired/revoked certificates are warnings, not errors.
out=$("$bin" -n -c "$T/segel.conf" 2>&1); rc=$?
[ "$rc" -eq 0 ] && printf '%s' "$out" | grep -q "carol@tanjungpinangkota.go.id" &&
	pass "-n lists the expired certificate as a warning, exit 0" || fail "-n warnings" "exit $rc: $out"
# The daemon refuses to start on a bad file.
"$bin" -f -c "$T/bad-bad-enum.conf" >"$T/bad-start.log" 2>&1; rc=$?
[ "$rc" -eq 78 ] && pass "daemon refuses to start on a bad configuration (78)" || fail "daemon bad start" "exit $rc"

# --- the daemon under miltertest
start() {
	"$bin" -f -c "$T/segel.conf" >>"$T/segel.log" 2>&1 &
	pid=$!
	for _ in $(seq 300); do [ -S "$T/m.sock" ] && return 0; sleep 0.1; done
	return 1
}
start || { fail "daemon start" "no socket; log: $(tail -5 "$T/segel.log")"; exit 1; }
pass "daemon starts and opens its socket"
perm=$(stat -c %a "$T/m.sock")
[ "$perm" = 660 ] && pass "socket mode 0660" || fail "socket mode" "$perm"

lua() {	# script
	local out
	if out=$(miltertest -s "$here/$1.lua" -D sock="unix:$T/m.sock" -D dir="$here" 2>&1); then
		pass "miltertest $1.lua"
	else
		fail "miltertest $1.lua" "$out"
	fi
}
lua tls
lua forged
lua login

grep -q "role=outbound .*action=refused: login may not send as From" "$T/segel.log" &&
	pass "refusal logged with role and reason" || fail "refusal log line" "$(grep role= "$T/segel.log" | tail -3)"
grep -Eq "L3: role=outbound from=erin@tanjungpinangkota.go.id .*action=refused: none .*reply=550" "$T/segel.log" &&
	pass "no-certificate refusal logged with queue id, reason and reply" || fail "no-cert log line" "$(grep L3 "$T/segel.log")"
grep -q '"event":"refuse".*"queue_id":"L1"' "$T/audit.log" && pass "refusal recorded in the audit log" ||
	fail "audit record" "$(tail -2 "$T/audit.log")"
if grep -Eiq 'rahasia|BEGIN .*PRIVATE|pass(phrase|word)=' "$T/segel.log"; then
	fail "no secrets in the log" "$(grep -Ei 'rahasia|PRIVATE' "$T/segel.log" | head -2)"
else
	pass "no passphrase or key material in the log"
fi

# --- reload: broken file keeps the old configuration; a good one is taken
reload_wait() {	# pattern
	local n0
	n0=$(grep -c "$1" "$T/segel.log")
	kill -USR1 "$pid"
	for _ in $(seq 100); do
		[ "$(grep -c "$1" "$T/segel.log")" -gt "$n0" ] && return 0
		sleep 0.1
	done
	return 1
}
cp "$T/segel.conf" "$T/segel.conf.good"
sed -i 's/on_error = "tempfail"/on_error = "maybe"/' "$T/segel.conf"
if reload_wait "reload failed"; then
	kill -0 "$pid" 2>/dev/null && pass "SIGUSR1 with a broken file: still running" ||
		fail "reload broken" "daemon died"
	lua tls
	grep -q 'on_error: "maybe"' "$T/segel.log" && pass "reload failure names the problem" ||
		fail "reload failure message" "$(tail -3 "$T/segel.log")"
else
	fail "SIGUSR1 with a broken file" "no 'reload failed' in the log"
fi
cp "$T/segel.conf.good" "$T/segel.conf"
reload_wait "configuration loaded (reload)" && pass "SIGUSR1 with a good file reloads" ||
	fail "reload good" "$(tail -3 "$T/segel.log")"

# --- SIGTERM stops cleanly
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	fail "SIGTERM" "still running after 10 s"
else
	wait "$pid"; rc=$?
	[ "$rc" -eq 0 ] && pass "SIGTERM stops cleanly (exit 0)" || fail "SIGTERM exit" "$rc"
fi
pid=
echo "$npass passed, $nfail failed, 0 skipped"
[ "$nfail" -eq 0 ]
