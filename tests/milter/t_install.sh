#!/bin/bash
# make install into a DESTDIR: every file where README says, the unit's
# placeholders filled in, and the hardened unit's exposure as systemd
# itself rates it (systemd-analyze security --offline).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d /tmp/segel-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
npass=0 nfail=0 nskip=0
pass() { echo "PASS: $1"; npass=$((npass + 1)); }
fail() { echo "FAIL: $1: $2"; nfail=$((nfail + 1)); }
skip() { echo "SKIP: $1: $2"; nskip=$((nskip + 1)); }

if out=$(make -C "$root" -s install DESTDIR="$D" PREFIX=/opt/segel BUILD="${BUILD:-build}" 2>&1); then
	pass "make install DESTDIR=... PREFIX=/opt/segel"
else
	fail "make install" "$out"
fi
for f in opt/segel/sbin/segel-milter opt/segel/sbin/segelctl opt/segel/sbin/segel-tls-check \
    etc/segel/segel.conf lib/systemd/system/segel-milter.service \
    lib/systemd/system/segel-expiring.service lib/systemd/system/segel-expiring.timer \
    usr/lib/sysusers.d/segel.conf usr/lib/tmpfiles.d/segel.conf; do
	[ -e "$D/$f" ] && pass "installed /$f" || fail "installed /$f" "missing"
done
u=$D/lib/systemd/system/segel-milter.service
grep -q '@SBINDIR@' "$u" "$D/lib/systemd/system/segel-expiring.service" &&
	fail "unit placeholders" "@SBINDIR@ left" || pass "units point at /opt/segel/sbin"
grep -q '^ExecReload=/bin/kill -USR1 \$MAINPID' "$u" && pass "reload sends SIGUSR1" || fail "ExecReload" "$(grep ExecReload "$u")"
grep -q '^ExecStartPre=.*segel-milter -n' "$u" && pass "ExecStartPre checks the configuration" || fail "ExecStartPre" "missing"
"$D/opt/segel/sbin/segel-milter" -V | grep -q '^segel-milter ' && pass "installed binary runs (-V)" || fail "-V" "no version"
if command -v systemd-analyze >/dev/null; then
	line=$(systemd-analyze security --offline=yes "$u" 2>&1 | grep 'Overall exposure level')
	x=$(printf '%s' "$line" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
	if [ -n "$x" ] && awk "BEGIN{exit !($x < 5.0)}"; then
		pass "systemd-analyze security: exposure $x (OK or better)"
	else
		fail "systemd-analyze security" "$line"
	fi
else
	skip "systemd-analyze security" "systemd-analyze not installed"
fi
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
