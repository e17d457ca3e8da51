#!/bin/bash
# t_deb.sh - the Debian package (issue 12), installed on this machine the way
# an administrator installs it, its programs run in the installed layout,
# then removed and purged:
#   - apt-get install ./build/segel_VERSION_amd64.deb pulls what the package
#     needs (every library the programs link is in its Depends);
#   - it installs the programs, the manual pages, README, the conffile
#     /etc/segel/segel.conf, every unit and timer of systemd/, and the
#     sysusers and tmpfiles snippets, whose user, group and folders exist
#     afterwards with the owners and modes the snippet names;
#   - nothing is enabled or started, and the shipped configuration is
#     refused (exit 78, naming pki.trust_file) until a CA file is there;
#   - with a test CA and store: segel-milter -n, segelctl list, and the
#     daemon as the unit starts it (ExecStartPre, ExecStart in the
#     foreground): socket in Postfix's chroot, running as segel; a
#     segelctl import while it runs is taken (the reload answered through
#     the audit log); SIGTERM stops it;
#   - purge removes the configuration and the empty folders, and keeps the
#     audit log, the archive and the store (and so user segel); a second
#     install purged at once leaves nothing: user, groups, folders gone.
#
# It changes the machine (packages, users, /etc/segel), so it is not part of
# "make check". Run it in a throw-away root, after "make deb":
#   ../shared/tools/fresh-machine make check-deb
# It refuses to run where segel is already installed or configured
# (SEGEL_INSTALL_ANYWAY=1 overrides).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
D=tanjungpinangkota.go.id
npass=0 nfail=0 nskip=0
pass() { echo "PASS: $1"; npass=$((npass + 1)); }
fail() { echo "FAIL: $1: ${2:-}"; nfail=$((nfail + 1)); }
skip() { echo "SKIP: $1: $2"; nskip=$((nskip + 1)); }
finish() {
	echo "$npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" -eq 0 ]
	exit
}
die() { fail "$1" "${2:-}"; finish; }

[ "$(id -u)" = 0 ] || { echo "t_deb: run as root, in a fresh root (see the header)" >&2; exit 2; }
if [ "${SEGEL_INSTALL_ANYWAY:-0}" != 1 ] &&
	{ [ -e /etc/segel ] || [ -e /var/lib/segel ] || dpkg-query -W segel >/dev/null 2>&1; }; then
	echo "t_deb: segel is installed or configured on this machine; this test installs" >&2
	echo "and purges the package. Run it in ../shared/tools/fresh-machine" >&2
	echo "(or set SEGEL_INSTALL_ANYWAY=1 on a machine you are willing to change)." >&2
	exit 2
fi
VERSION=$(sed -n 's/^VERSION *= *//p' Makefile)
DEB=$root/build/segel_${VERSION}_amd64.deb
[ -f "$DEB" ] || die "package" "$DEB missing: run make deb (make check-deb does)"
W=$(mktemp -d /var/tmp/segel-deb.XXXXXX) || exit 2
chmod 0755 "$W"
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ "${KEEP:-0}" = 1 ] && echo "t_deb: kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
# what an administrator answers when Debian's postfix package asks
echo "postfix postfix/main_mailer_type select Internet Site" | debconf-set-selections
echo "postfix postfix/mailname string mail.$D" | debconf-set-selections

# ---------------------------------------------------------------- lintian
if command -v lintian >/dev/null; then
	if lintian --fail-on error,warning "$DEB" >"$W/lintian.out" 2>&1; then
		pass "lintian: no error or warning ($(grep -c '^[IP]:' "$W/lintian.out") informational tags; overrides explained in debian/segel.lintian-overrides)"
	else
		fail "lintian" "$(grep -E '^[EW]:' "$W/lintian.out" | head -5)"
	fi
else
	skip "lintian" "not installed (make deps-deb)"
fi

# ---------------------------------------------------------------- install
apt-get update -qq >"$W/apt.log" 2>&1
if apt-get install -y --no-install-recommends "$DEB" >"$W/install.log" 2>&1; then
	new=$(sed -n '/NEW packages will be installed/,/^[0-9]* upgraded/p' "$W/install.log" |
		sed '1d;$d' | wc -w)
	pass "apt-get install ./build/segel_${VERSION}_amd64.deb ($new new packages, segel included)"
else
	die "apt-get install" "$(tail -10 "$W/install.log")"
fi
dpkg-query -W -f='${Status}' segel | grep -q 'install ok installed' ||
	die "dpkg status" "$(dpkg-query -W -f='${Status}' segel)"

# Every library the programs link comes from a package the Depends names.
deps=$(dpkg-query -W -f='${Depends}' segel | tr ',|' '\n\n' | sed 's/(.*)//; s/ //g' | sort -u)
bad=""
nlib=0
for b in /usr/sbin/segel-milter /usr/sbin/segelctl; do
	ldd "$b" | grep -q 'not found' && bad="$bad $b: $(ldd "$b" | grep 'not found' | tr '\n' ' ')"
	for so in $(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		path=$(ldd "$b" | awk -v s="$so" '$1 == s { print $3 }')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
		[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
		nlib=$((nlib + 1))
		grep -qx "$pkg" <<<"$deps" || bad="$bad $b: $so ($pkg) not in Depends;"
	done
done
[ -z "$bad" ] && [ "$nlib" -gt 5 ] &&
	pass "the $nlib libraries segel-milter and segelctl link are all from packages in Depends" ||
	fail "Depends" "${bad:-only $nlib libraries read} (Depends: $(echo $deps))"

# ---------------------------------------------------------------- what it installed
files=$(dpkg -L segel)
missing=""
want="/usr/sbin/segel-milter /usr/sbin/segelctl /usr/sbin/segel-tls-check
/usr/share/doc/segel/README.md /usr/share/doc/segel/copyright
/usr/lib/sysusers.d/segel.conf /usr/lib/tmpfiles.d/segel.conf /etc/segel/segel.conf"
for p in man/*.[1-9]; do
	want="$want /usr/share/man/man${p##*.}/$(basename "$p").gz"
done
units=0
for u in systemd/*.service systemd/*.timer systemd/*.socket systemd/*.path; do
	[ -e "$u" ] || continue
	want="$want /lib/systemd/system/$(basename "$u")"
	units=$((units + 1))
done
for f in $want; do
	grep -qx "$f" <<<"$files" && [ -e "$f" ] || missing="$missing $f"
done
[ -z "$missing" ] &&
	pass "installed: the 3 programs, $(ls man/*.[1-9] | wc -l) manual pages, README, all $units units and timers of systemd/, sysusers and tmpfiles snippets" ||
	fail "installed files" "missing:$missing"
grep -q '^ExecStart=/usr/sbin/segel-milter ' /lib/systemd/system/segel-milter.service &&
	! grep -q '@SBINDIR@\|/usr/local' /lib/systemd/system/*segel* &&
	pass "units name /usr/sbin and /usr/share/doc (no @SBINDIR@, no /usr/local)" ||
	fail "units" "$(grep -H 'Exec\|Documentation' /lib/systemd/system/*segel*)"
dpkg-query -W -f='${Conffiles}\n' segel | grep -q '^ /etc/segel/segel.conf ' &&
	cmp -s /etc/segel/segel.conf conf/segel.conf &&
	pass "/etc/segel/segel.conf is a conffile, the annotated conf/segel.conf" ||
	fail "conffile" "$(dpkg-query -W -f='${Conffiles}' segel)"
if command -v man >/dev/null; then
	MANWIDTH=80 man segel.conf 2>/dev/null | grep -q 'pki.trust_file' &&
		pass "man segel.conf finds the installed page" || fail "man segel.conf" "not found or empty"
else
	skip "man segel.conf" "man-db is not installed here (the pages are checked as files above)"
fi

# ---------------------------------------------------------------- user and folders
pf_groups=$(id -nG postfix 2>/dev/null | tr ' ' '\n')
id segel >/dev/null 2>&1 && getent group segel-sock >/dev/null &&
	grep -qx segel-sock <<<"$pf_groups" && ! grep -qx segel <<<"$pf_groups" &&
	pass "sysusers at install: user segel, group segel-sock with postfix in it (not in segel)" ||
	fail "sysusers" "$(id segel 2>&1; id postfix 2>&1)"
# each d/z line of the snippet: PATH MODE USER GROUP, as installed
bad="" n=0
while read -r type path mode user group _; do
	case $type in d | z) ;; *) continue ;; esac
	n=$((n + 1))
	got=$(stat -c '%a %U %G' "$path" 2>&1)
	[ "$got" = "${mode#0} $user $group" ] || bad="$bad $path: $got (want ${mode#0} $user $group);"
done < <(grep -v '^#' systemd/segel.tmpfiles)
[ -z "$bad" ] && [ "$n" -ge 5 ] &&
	pass "tmpfiles at install: all $n folders and segel.conf with the snippet's mode, owner and group" ||
	fail "tmpfiles" "${bad:-only $n lines read}"

# ---------------------------------------------------------------- not started
en=$(find /etc/systemd/system -name 'segel*' 2>/dev/null)
[ -z "$en" ] && pass "nothing enabled (no segel unit or timer linked under /etc/systemd/system)" ||
	fail "enabled" "$en"
out=$(segel-milter -n 2>&1)
rc=$?
[ $rc = 78 ] && grep -q '^/etc/segel/segel.conf:[0-9]*: pki.trust_file: ' <<<"$out" &&
	pass "shipped configuration without a CA file: segel-milter -n exits 78 naming pki.trust_file" ||
	fail "segel-milter -n before set-up" "exit $rc: $out"

# ---------------------------------------------------------------- a test store
apt-get install -y -qq --no-install-recommends python3-cryptography >>"$W/apt.log" 2>&1 ||
	die "test packages" "$(tail -5 "$W/apt.log")"
tests/pki/gen "$W/pki" >"$W/pki.log" 2>&1 || die "tests/pki/gen" "$(tail -5 "$W/pki.log")"
P=$W/pki
install -m 0644 "$P/trust.pem" /etc/segel/trust.pem
install -m 0644 "$P"/crl/* /etc/segel/crl/
segelctl import "$P/certs/alice@$D.p12" --pass-file "$P/certs/alice@$D.pass" >"$W/import.out" 2>&1 &&
	pass "segelctl import alice ($(head -1 "$W/import.out"))" ||
	fail "segelctl import alice" "$(cat "$W/import.out")"
out=$(segel-milter -n 2>&1)
rc=$?
[ $rc = 0 ] && grep -q 'configuration OK (1 certificate' <<<"$out" &&
	pass "segel-milter -n: $(tail -1 <<<"$out")" || fail "segel-milter -n" "exit $rc: $out"
out=$(segelctl list 2>&1)
rc=$?
[ $rc = 0 ] && grep "alice@$D" <<<"$out" | grep -qw valid &&
	pass "segelctl list: alice@$D valid" || fail "segelctl list" "exit $rc: $out"

# ---------------------------------------------------------------- the daemon, as the unit starts it
UNIT=/lib/systemd/system/segel-milter.service
pre=$(sed -n 's/^ExecStartPre=//p' "$UNIT")
start=$(sed -n 's/^ExecStart=//p' "$UNIT")
SOCK=/var/spool/postfix/segel/segel.sock
$pre >"$W/pre.out" 2>&1 || fail "unit ExecStartPre ($pre)" "$(cat "$W/pre.out")"
$start >"$W/segel.log" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do [ -S $SOCK ] && break; sleep 0.1; done
if [ -S $SOCK ] && kill -0 "$SPID" 2>/dev/null &&
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$SPID/status")" = "$(id -u segel)" ] &&
	[ "$(stat -c '%G %a' $SOCK)" = "segel-sock 660" ]; then
	pass "unit's ExecStart ($start): in the foreground as segel, socket $SOCK segel-sock 0660"
else
	die "segel-milter -f" "$(cat "$W/segel.log"; ls -l $SOCK 2>&1)"
fi
# A change while it runs: segelctl signals the daemon and reads its answer
# from the audit log (/var/lib/segel/audit.log, written by the daemon as segel).
if segelctl import "$P/certs/bob@$D.p12" --pass-file "$P/certs/bob@$D.pass" >"$W/import2.out" 2>&1 &&
	grep -q "segel-milter (pid $SPID) reloaded" "$W/import2.out"; then
	pass "segelctl import bob while the daemon runs: $(grep reloaded "$W/import2.out")"
else
	fail "segelctl import bob (daemon running)" "$(cat "$W/import2.out"; tail -5 "$W/segel.log")"
fi
kill -TERM "$SPID"
for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SPID" 2>/dev/null; then
	fail "SIGTERM" "segel-milter still running after 5 s"
else
	wait "$SPID"
	rc=$?
	[ $rc = 0 ] && pass "SIGTERM: segel-milter stopped, exit 0" || fail "SIGTERM" "exit $rc: $(tail -3 "$W/segel.log")"
fi
SPID=
[ -s /var/lib/segel/audit.log ] && [ "$(stat -c %U /var/lib/segel/audit.log)" = segel ] &&
	segelctl audit verify >"$W/audit.out" 2>&1 &&
	pass "audit log /var/lib/segel/audit.log, segel's, verifies: $(cat "$W/audit.out")" ||
	fail "audit log" "$(ls -l /var/lib/segel; cat "$W/audit.out" 2>/dev/null)"

# ---------------------------------------------------------------- remove, purge
# One archived message: no mail crossed this daemon (no MTA is wired to
# it here), so the archive holds one file put there as segel would.
install -d -o segel -g segel -m 0700 /var/lib/segel/archive/2026
install -o segel -g segel -m 0600 /dev/null /var/lib/segel/archive/2026/test.eml
apt-get remove -y segel >"$W/remove.log" 2>&1 || fail "apt-get remove" "$(tail -5 "$W/remove.log")"
[ ! -e /usr/sbin/segel-milter ] && [ -f /etc/segel/segel.conf ] &&
	pass "apt-get remove: programs gone, /etc/segel/segel.conf kept" ||
	fail "remove" "$(ls -l /usr/sbin/segel* /etc/segel 2>&1)"
apt-get purge -y segel >"$W/purge.log" 2>&1 || fail "apt-get purge" "$(tail -5 "$W/purge.log")"
gone="" kept=""
for f in /etc/segel/segel.conf /run/segel /var/spool/postfix/segel; do
	[ -e "$f" ] && gone="$gone $f"
done
for f in /var/lib/segel/audit.log /var/lib/segel/archive/2026/test.eml \
	"/etc/segel/certs/alice@$D.p12" /etc/segel/trust.pem; do
	[ -e "$f" ] || kept="$kept $f"
done
[ -z "$gone" ] && [ -z "$kept" ] && id segel >/dev/null 2>&1 &&
	pass "purge: segel.conf and the socket folders gone; audit log, archive, store, trust.pem and so user segel kept ($(grep -c '^segel: kept' "$W/purge.log") notes)" ||
	fail "purge" "left:${gone:- none}; lost:${kept:- none}; $(grep '^segel:' "$W/purge.log")"
find /var/lib/dpkg/info /var/lib/systemd/deb-systemd-helper-enabled -name 'segel*' 2>/dev/null | grep -q . &&
	fail "purge" "dpkg or systemd state left: $(find /var/lib/dpkg/info /var/lib/systemd/deb-systemd-helper-enabled -name 'segel*')" ||
	pass "purge: no dpkg or deb-systemd-helper state left"

# ---------------------------------------------------------------- install, purge: nothing left
# The administrator's records are theirs to delete; then an installation
# that was never used purges to nothing.
rm -rf /var/lib/segel /etc/segel
apt-get install -y --no-install-recommends "$DEB" >"$W/install2.log" 2>&1 ||
	die "second apt-get install" "$(tail -5 "$W/install2.log")"
id segel >/dev/null 2>&1 && [ -d /etc/segel/certs ] && [ -d /var/lib/segel/archive ] ||
	fail "second install" "user or folders missing"
apt-get purge -y segel >"$W/purge2.log" 2>&1 || fail "second apt-get purge" "$(tail -5 "$W/purge2.log")"
left=""
for f in /etc/segel /var/lib/segel /run/segel /var/spool/postfix/segel; do
	[ -e "$f" ] && left="$left $f"
done
getent passwd segel >/dev/null && left="$left user:segel"
for g in segel segel-sock; do getent group $g >/dev/null && left="$left group:$g"; done
[ -z "$left" ] &&
	pass "install then purge: user segel, groups segel and segel-sock, every folder gone" ||
	fail "purge of an unused install" "left:$left; $(cat "$W/purge2.log" | tail -5)"
finish
