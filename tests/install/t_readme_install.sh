#!/bin/bash
# t_readme_install.sh - README's "Build and install" and "Wiring segel into
# Postfix", walked as root on a fresh Debian 12 the way a new administrator
# would: packages, make install, sysusers/tmpfiles, a test CA, segelctl
# import, the system Postfix configured with the smtp-tls snippet and the
# main.cf, SASL and smtpd.conf blocks *read from README.md*, Debian's
# chrooted smtpd, and segel-milter started as the installed unit starts it
# (its ExecStartPre and ExecStart lines, as root; the daemon drops to segel).
# Then it proves:
#   - no main.cf key is set twice (postconf warns "overriding" otherwise);
#   - alice's mail through the submission port leaves signed
#     (openssl cms -verify on what reaches a sink);
#   - a plaintext RCPT to the domain is refused with the text README says;
#   - a reload the daemon cannot do (segel.conf made root-only) makes
#     segelctl revoke exit 1 naming the cause, and systemd-tmpfiles puts the
#     file right again;
#   - segelctl revoke alice exits 0 and her next message is refused 550 5.7.1.
#
# It changes the machine (packages, /etc/postfix, /etc/segel, user segel), so
# it is not part of "make check": run it in a throw-away root,
#   ../shared/tools/fresh-machine make check-install
# It refuses to run where segel or a configured Postfix is already installed
# (SEGEL_INSTALL_ANYWAY=1 overrides). Deviations from README, all for a test
# on a shared host: the smtpd ports are 127.0.0.1:random instead of 25/587,
# mail leaves for a local smtp-sink (relayhost), and Postfix logs to a file.
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
say() { echo "t_readme_install: $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "t_readme_install: run as root, in a fresh root (see the header)" >&2; exit 2; }
if [ "${SEGEL_INSTALL_ANYWAY:-0}" != 1 ] &&
	{ [ -e /etc/segel/segel.conf ] || [ -e /etc/postfix/main.cf ] || [ -e /usr/local/sbin/segel-milter ]; }; then
	echo "t_readme_install: this machine already has segel or Postfix configured; this test" >&2
	echo "rewrites /etc/postfix and /etc/segel. Run it in ../shared/tools/fresh-machine" >&2
	echo "(or set SEGEL_INSTALL_ANYWAY=1 on a machine you are willing to change)." >&2
	exit 2
fi
W=$(mktemp -d /var/tmp/segel-install.XXXXXX) || exit 2
chmod 0755 "$W"
PIDS=()
cleanup() {
	postfix stop >/dev/null 2>&1
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ "${KEEP:-0}" = 1 ] && say "kept $W" || rm -rf "$W"
}
trap cleanup EXIT

# ---------------------------------------------------------------- packages
# README: "make deps-build" to build; "make deps-runtime" on the mail
# server. Test tools: swaks (the client; libnet-ssleay-perl for its --tls),
# python3-cryptography (tests/pki/gen), systemd (systemd-sysusers/-tmpfiles,
# on every Debian host).
TEST_PKGS="swaks libnet-ssleay-perl python3 python3-cryptography systemd"
export DEBIAN_FRONTEND=noninteractive
# what an administrator answers when Debian's postfix package asks
echo "postfix postfix/main_mailer_type select Internet Site" | debconf-set-selections
echo "postfix postfix/mailname string mail.$D" | debconf-set-selections
apt-get update -qq >"$W/apt.log" 2>&1
if make -s deps-build >>"$W/apt.log" 2>&1 && make -s deps-runtime >>"$W/apt.log" 2>&1; then
	pass "make deps-build, make deps-runtime"
else
	die "make deps-build/deps-runtime" "$(tail -5 "$W/apt.log")"
fi
apt-get install -y -qq --no-install-recommends $TEST_PKGS >>"$W/apt.log" 2>&1 ||
	die "test packages" "$(tail -5 "$W/apt.log")"
for p in opendkim chromium valgrind clang; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' &&
		fail "no test tools on the mail server" "$p is installed"
done

# ---------------------------------------------------------------- build and install
if make -s install >"$W/install.log" 2>&1; then
	pass "make install"
else
	die "make install" "$(tail -20 "$W/install.log")"
fi
SBIN=/usr/local/sbin
systemd-sysusers >"$W/sysusers.log" 2>&1 || die "systemd-sysusers" "$(cat "$W/sysusers.log")"
systemd-tmpfiles --create >"$W/tmpfiles.log" 2>&1	# /run, /proc bits fail in a chroot; checked below
# Postfix reaches the socket (group segel-sock), never segel's own files
# (grep -w would take "segel-sock" for "segel": whole lines only)
pf_groups=$(id -nG postfix 2>/dev/null | tr ' ' '\n')
id segel >/dev/null 2>&1 && grep -qx segel-sock <<<"$pf_groups" && ! grep -qx segel <<<"$pf_groups" &&
	pass "systemd-sysusers: user segel, postfix in group segel-sock and not in segel" ||
	fail "sysusers" "$(id segel; id postfix)"
[ "$(stat -c '%U:%G %a' /etc/segel/segel.conf)" = "root:segel 640" ] &&
	[ "$(stat -c '%U:%G %a' /var/spool/postfix/segel)" = "segel:segel-sock 750" ] &&
	[ "$(stat -c '%U:%G %a' /var/lib/segel)" = "segel:segel 700" ] &&
	[ "$(stat -c '%U:%G %a' /etc/segel/certs)" = "segel:segel 700" ] &&
	pass "tmpfiles: segel.conf root:segel 0640, socket folder segel-sock in the chroot, data and store segel's alone" ||
	fail "tmpfiles" "$(stat -c '%n %U:%G %a' /etc/segel/segel.conf /var/spool/postfix/segel /var/lib/segel /etc/segel/certs 2>&1; cat "$W/tmpfiles.log")"

# ---------------------------------------------------------------- the CA, the store
tests/pki/gen "$W/pki" >"$W/pki.log" 2>&1 || die "tests/pki/gen" "$(tail -5 "$W/pki.log")"
P=$W/pki
install -m 0644 "$P/trust.pem" /etc/segel/trust.pem
install -m 0644 "$P"/crl/* /etc/segel/crl/
if "$SBIN/segelctl" import "$P/certs/alice@$D.p12" --pass-file "$P/certs/alice@$D.pass" >"$W/import.out" 2>&1; then
	pass "segelctl import alice ($(head -1 "$W/import.out"))"
else
	fail "segelctl import" "$(cat "$W/import.out")"
fi
"$SBIN/segel-milter" -n >"$W/n.out" 2>&1 && pass "segel-milter -n: $(tail -1 "$W/n.out")" ||
	fail "segel-milter -n" "$(cat "$W/n.out")"

# ---------------------------------------------------------------- Postfix, as README says
# block AFTER-LINE-REGEX: the first fenced block after a README line.
block() {
	awk -v re="$1" '
		found == 0 && $0 ~ re { found = 1; next }
		found == 1 && /^```/ { found = 2; next }
		found == 2 && /^```/ { exit }
		found == 2 { print }
	' README.md
}
free_ports() {
	python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}
read -r P25 P587 PSINK <<<"$(free_ports)"
DOC=/usr/local/share/doc/segel/smtp-tls/postfix

# The server certificate the snippet names (a real one in production).
mkdir -p /etc/postfix/tls
openssl req -x509 -newkey rsa:2048 -nodes -keyout /etc/postfix/tls/mx-key.pem \
	-out /etc/postfix/tls/mx-chain.pem -days 30 -subj "/CN=mail.$D" \
	-addext "subjectAltName=DNS:mail.$D" >"$W/req.log" 2>&1 && chmod 0600 /etc/postfix/tls/mx-key.pem

# README: delete Debian's keys the snippet sets, append the snippet, the tables.
postconf -X smtpd_tls_cert_file smtpd_tls_key_file smtpd_tls_security_level \
	smtp_tls_security_level smtp_tls_session_cache_database
cat "$DOC/main.cf.snippet" >>/etc/postfix/main.cf
cp "$DOC/require_tls_rcpt" "$DOC/tls_policy" /etc/postfix/
# test only: the sink is the next hop and speaks no TLS
echo "[127.0.0.1]:$PSINK none" >>/etc/postfix/tls_policy
postmap /etc/postfix/require_tls_rcpt /etc/postfix/tls_policy
# README's segel block, as README prints it.
block "segel's part" >"$W/segel-main.cf"
grep -q '^milter_protocol' "$W/segel-main.cf" || die "README's main.cf block" "not found in README.md"
cat "$W/segel-main.cf" >>/etc/postfix/main.cf
# The test's own delivery settings, replacing Debian's lines in place.
postconf -e "myhostname = mail.$D" "mydestination =" "relay_domains = $D" \
	"relayhost = [127.0.0.1]:$PSINK" "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
	"mynetworks = 127.0.0.0/8" "disable_dns_lookups = yes" "smtp_host_lookup = native" \
	"local_recipient_maps =" "maillog_file = /var/log/postfix.log"
if out=$(postconf -n 2>&1 >/dev/null) && ! grep -q overriding <<<"$out"; then
	pass "main.cf: Debian's file + snippet + README's block set no key twice"
else
	fail "main.cf keys set twice" "$out"
fi
# master.cf: the snippet's submission block; both ports moved to loopback.
sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$P25 inet n - y - - smtpd/" /etc/postfix/master.cf
grep -q "^127.0.0.1:$P25 inet" /etc/postfix/master.cf || die "master.cf" "Debian's smtp inet line not found"
awk '/^submission inet/ { on = 1 } on && /^$/ { exit } on { print }' "$DOC/master.cf.snippet" |
	sed "s/^submission inet/127.0.0.1:$P587 inet/" >>/etc/postfix/master.cf
# SASL, README's smtpd.conf and commands.
mkdir -p /etc/postfix/sasl
block 'sasl/smtpd[.]conf`:$' >/etc/postfix/sasl/smtpd.conf
grep -q '^sasldb_path:' /etc/postfix/sasl/smtpd.conf || die "README's smtpd.conf block" "$(cat /etc/postfix/sasl/smtpd.conf)"
mkdir -p /var/spool/postfix/etc
printf %s "rahasia-alice" | saslpasswd2 -p -f /var/spool/postfix/etc/sasldb2 -c -u "$D" alice
chown root:postfix /var/spool/postfix/etc/sasldb2
chmod 0640 /var/spool/postfix/etc/sasldb2

# Postfix's own start as Debian's postfix@-.service does it (no systemd here).
/usr/lib/postfix/configure-instance.sh - >"$W/pf.log" 2>&1
if postfix check >>"$W/pf.log" 2>&1 && postfix start >>"$W/pf.log" 2>&1; then
	pass "postfix check && postfix start (chrooted smtpd, as Debian ships it)"
else
	die "postfix start" "$(cat "$W/pf.log"; tail -20 /var/log/postfix.log 2>/dev/null)"
fi

# ---------------------------------------------------------------- segel, as the unit starts it
UNIT=/lib/systemd/system/segel-milter.service
pre=$(sed -n 's/^ExecStartPre=//p' "$UNIT")
start=$(sed -n 's/^ExecStart=//p' "$UNIT")
$pre >"$W/pre.out" 2>&1 || die "unit ExecStartPre ($pre)" "$(cat "$W/pre.out")"
$start >"$W/segel.log" 2>&1 &
SPID=$!
PIDS+=("$SPID")
for i in $(seq 1 100); do [ -S /var/spool/postfix/segel/segel.sock ] && break; sleep 0.1; done
if [ -S /var/spool/postfix/segel/segel.sock ] && kill -0 "$SPID" 2>/dev/null &&
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$SPID/status")" = "$(id -u segel)" ]; then
	pass "unit's ExecStart: socket in Postfix's chroot, daemon running as segel"
else
	die "segel-milter start" "$(cat "$W/segel.log")"
fi

# The socket path chosen once: -n asks Postfix and finds it reachable.
"$SBIN/segel-milter" -n >"$W/n2.out" 2>&1
if [ $? -eq 0 ] && ! grep -q "socket: warning" "$W/n2.out"; then
	pass "segel-milter -n after wiring: Postfix's smtpd_milters reaches the socket (no warning)"
else
	fail "segel-milter -n after wiring" "$(cat "$W/n2.out")"
fi

# ---------------------------------------------------------------- mail
mkdir -p "$W/sink" && chown postfix "$W/sink"
/usr/sbin/smtp-sink -u postfix -d "$W/sink/%Y%m%d%H%M%S." "127.0.0.1:$PSINK" 256 >"$W/sink.log" 2>&1 &
PIDS+=("$!")
for i in $(seq 1 100); do
	python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $P587)))" && break
	sleep 0.2
done
n_sink() { find "$W/sink" -type f | wc -l; }
wait_sink() { # N: until N files, 60 s
	local i
	for i in $(seq 1 300); do [ "$(n_sink)" -ge "$1" ] && return 0; sleep 0.2; done
	return 1
}
msg() { printf 'From: Alice <alice@%s>\r\nTo: bob@%s\r\nSubject: %s\r\nMessage-ID: <%s.%s@%s>\r\n\r\nIsi surat.\r\n' \
	"$D" "$D" "$1" "$1" "$$" "$D"; }
submit() { # SUBJECT
	swaks --server 127.0.0.1 --port "$P587" --tls --auth PLAIN \
		--auth-user "alice@$D" --auth-password rahasia-alice --helo "pc.$D" \
		--from "alice@$D" --to "bob@$D" --data "$(msg "$1")" >"$W/swaks.out" 2>&1
}

submit surat-1
if wait_sink 1 && f=$(ls -t "$W"/sink/* | head -1) &&
	openssl cms -verify -in "$f" -CAfile "$P/root.pem" -out /dev/null >"$W/verify.out" 2>&1; then
	pass "alice's mail through submission (SASL login alice@$D) leaves signed: openssl cms -verify OK"
else
	fail "signing" "$(tail -5 "$W/swaks.out"; cat "$W/verify.out" 2>/dev/null; tail -5 "$W/segel.log")"
fi

# Plaintext, from outside, to the domain: README says Postfix's text.
swaks --server 127.0.0.1 --port "$P25" --helo mx.example.org --from budi@example.org \
	--to "staf@$D" --data "$(printf 'From: budi@example.org\r\nSubject: x\r\n\r\nx\r\n')" >"$W/plain.out" 2>&1
if grep -q '^<\*\* *530 5.7.1 .*Session encryption is required' "$W/plain.out"; then
	pass "plaintext RCPT to the domain: $(grep -m1 '^<\*\* *530' "$W/plain.out" | sed 's/^<\*\* *//'), as README says"
else
	fail "plaintext refusal" "$(grep '^<' "$W/plain.out" | tail -3)"
fi

# A reload the daemon cannot do: revoke says so, exit 1, with the cause.
chmod 0600 /etc/segel/segel.conf
"$SBIN/segelctl" revoke "bob@$D" --cert "$P/staff/bob@$D.pem" --reason "test" >"$W/rfail.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "did NOT take the change: reload failed: /etc/segel/segel.conf: cannot read: Permission denied" "$W/rfail.out"; then
	pass "segel.conf unreadable by segel: segelctl revoke exits 1 naming the cause"
else
	fail "failed reload reported" "exit $rc: $(cat "$W/rfail.out")"
fi
systemd-tmpfiles --create >/dev/null 2>&1
[ "$(stat -c '%G %a' /etc/segel/segel.conf)" = "segel 640" ] &&
	pass "systemd-tmpfiles --create puts segel.conf back to root:segel 0640" ||
	fail "tmpfiles z line" "$(stat -c '%U:%G %a' /etc/segel/segel.conf)"

# The revocation, and the next message.
"$SBIN/segelctl" revoke "alice@$D" --reason "left the service" >"$W/revoke.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q "segel-milter (pid $SPID) reloaded" "$W/revoke.out"; then
	pass "segelctl revoke alice: exit 0, $(grep reloaded "$W/revoke.out")"
else
	fail "revoke" "exit $rc: $(cat "$W/revoke.out")"
fi
submit surat-2
if grep -q '^<~\* *550 5.7.1 .*revoked' "$W/swaks.out"; then
	pass "the next message from alice is refused: $(grep -m1 '^<~\* *550' "$W/swaks.out" | sed 's/^<~\* *//' | cut -c1-100)"
else
	fail "after revoke" "$(grep '^<' "$W/swaks.out" | tail -3)"
fi
finish
