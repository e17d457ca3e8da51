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
    lib/systemd/system/segel-stamp.service lib/systemd/system/segel-stamp.timer \
    lib/systemd/system/segel-notify.service lib/systemd/system/segel-notify.timer \
    usr/lib/sysusers.d/segel.conf usr/lib/tmpfiles.d/segel.conf; do
	[ -e "$D/$f" ] && pass "installed /$f" || fail "installed /$f" "missing"
done
u=$D/lib/systemd/system/segel-milter.service
grep -q '@SBINDIR@' "$u" "$D/lib/systemd/system/segel-expiring.service" \
    "$D/lib/systemd/system/segel-stamp.service" \
    "$D/lib/systemd/system/segel-notify.service" &&
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

# segel-milter -n and the MTA's end of the socket (mtacheck.c): a private
# Postfix configuration (MAIL_CONFIG) with Debian's master.cf, chrooted.
nc_case() { # NAME SOCKET SMTPD_MILTERS WANT(regex or "none")
	sed -i "s#^socket = .*#socket = \"unix:$2\";#" "$D/n/segel.conf"
	printf 'compatibility_level = 3.6\nsmtpd_milters = %s\nnon_smtpd_milters = $smtpd_milters\n' "$3" >"$D/n/pf/main.cf"
	out=$(MAIL_CONFIG=$D/n/pf "$D/opt/segel/sbin/segel-milter" -n -c "$D/n/segel.conf" 2>&1)
	rc=$?
	if [ "$4" = none ]; then
		[ $rc -eq 0 ] && ! grep -q "socket: warning" <<<"$out" && pass "-n, $1: no warning" || fail "-n $1" "$out"
	else
		[ $rc -eq 0 ] && grep -q "socket: warning: $4" <<<"$out" && pass "-n, $1: warns" || fail "-n $1" "$out"
	fi
}
if [ -x /usr/sbin/postconf ] && [ -f /usr/share/postfix/master.cf.dist ]; then
	mkdir -p "$D/n/pf" "$D/n/certs" && chmod 0700 "$D/n/certs"
	cp /usr/share/postfix/master.cf.dist "$D/n/pf/master.cf"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null \
		-out "$D/n/trust.pem" -days 2 -subj "/CN=t" >/dev/null 2>&1
	printf 'user = "";\nsocket = "";\npki: { trust_file = "trust.pem"; crl_dir = ""; };\nsign: { cert_dir = "certs"; };\naudit: { file = ""; };\narchive: { dir = ""; };\nlimits: { tmp_dir = "/tmp"; };\n' >"$D/n/segel.conf"
	Q=/var/spool/postfix
	nc_case "chroot, README's pair" "$Q/segel/segel.sock" "unix:/segel/segel.sock" none
	nc_case "chroot, full path in main.cf" "$Q/segel/segel.sock" "unix:$Q/segel/segel.sock" \
		"Postfix's smtpd_milters .* does not reach .*write unix:/segel/segel.sock"
	nc_case "chroot, socket in /run" /run/segel/segel.sock "unix:/run/segel/segel.sock" \
		"Postfix's smtpd runs chrooted in $Q and cannot reach /run/segel/segel.sock"
	nc_case "not wired" "$Q/segel/segel.sock" "" "Postfix's smtpd_milters names no unix: socket"
	sed -i 's/^smtp      inet  n       -       y/smtp      inet  n       -       n/; s/^cleanup   unix  n       -       y/cleanup   unix  n       -       n/' "$D/n/pf/master.cf"
	nc_case "no chroot, /run on both sides" /run/segel/segel.sock "unix:/run/segel/segel.sock" none
	nc_case "no chroot, chroot-relative name" "$Q/segel/segel.sock" "unix:/segel/segel.sock" \
		"Postfix's smtpd_milters .* does not reach $Q/segel/segel.sock: write unix:$Q/segel/segel.sock"
	nc_case "a test instance's socket is not checked" /tmp/x.sock "" none
else
	skip "segel-milter -n against Postfix's settings" "postfix not installed"
fi
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
