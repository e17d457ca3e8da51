# tests/e2e/lib.sh - end-to-end harness: a private Postfix on loopback with
# segel-milter, a sink that stores what leaves, and independent S/MIME judges.
#
# Source it from a test script (bash; set -euo pipefail is fine), then:
#
#   harness_start            temp dir $H, PKI, Postfix, smtp-sink, segel-milter;
#                            installs an EXIT trap that calls harness_stop (a
#                            trap the script set before still runs, afterwards)
#   harness_stop             stop everything (the trap does it; may be called by
#                            hand, and harness_start again afterwards)
#   segel_conf_set KEY VAL   rewrite one line of $H/segel.conf (KEY: name, or
#                            section.name when ambiguous such as sign.enabled;
#                            VAL in libconfig syntax, e.g. '"tempfail"'); adds
#                            the key when absent.  No reload by itself.
#   segel_conf_unset KEY     delete that line (the daemon's default applies)
#   segel_reload             SIGUSR1 and wait for "configuration loaded" (0) or
#                            "reload failed" (1) in $H/segel.log; 2 on timeout (10 s)
#   segel_start, segel_stop, segel_restart   the daemon alone (SEGEL_PID)
#   send_sub USER FROM TO FILE [swaks args]
#                            submission port: STARTTLS + AUTH PLAIN as USER
#                            (a local part, or a whole login), password
#                            rahasia-LOCAL or $SUB_PASS
#   send_in FROM TO FILE [--plain|--tls] [--li ADDR] [swaks args]
#                            inbound port from 127.0.0.2 (an outside client;
#                            --li 127.0.0.1 is the trusted application host),
#                            STARTTLS unless --plain
#   send_local FROM TO FILE  Postfix's sendmail -C $H/postfix (output in
#                            $H/last.sendmail)
#   last_reply               the last server reply of the last swaks session
#                            (not the reply to QUIT), without swaks's markers
#   sink_wait N [TIMEOUT]    N messages in the sink and the queue empty (30 s)
#   sink_count, sink_last, sink_find STRING, sink_rcpts FILE,
#   sink_message FILE OUT [--crlf]   the message without smtp-sink's additions
#   queue_empty              0 when the private Postfix queue is empty
#   verify_openssl MSG [openssl args]   openssl cms -verify -purpose smimesign
#                            against $PKI/trust.pem
#   verify_gpgsm MSG         gpgsm --verify with a private homedir; 0 only for
#                            "Good signature" with status GOODSIG and TRUST_FULLY
#                            (an expired or untrusted signer prints "Good
#                            signature" too)
#   Both judges take a sink file or a message file, and leave their output in
#   $H/last.verify.
#   fields FILE NAME         the header fields NAME of a stored message,
#                            unfolded, one a line
#   pass NAME, fail NAME DETAILS, skip NAME WHY, finish
#
# swaks sends FILE byte for byte (--no-data-fixup): line ends made CRLF,
# leading dots doubled, nothing else (no token expansion, no added headers).
# Its transcript is $H/last.swaks (--suppress-data); the return value is swaks's.
#
# Variables after harness_start: H, PKI (= $H/pki), DOMAIN, PORT_IN, PORT_SUB,
# PORT_SINK, SEGEL_PID (empty with H_NO_MILTER=1), SEGEL_BIN, PF_CONF
# (= $H/postfix, the -c folder).  Files: $H/segel.conf, $H/segel.log,
# $H/maillog (Postfix), $H/sink/ (one file per message), $H/audit.log,
# $H/archive/, $H/tmp/.  Environment: H_NO_MILTER=1 (no milter at all),
# KEEP=1 (keep $H; it is also kept when a check failed), SEGEL_BUILD_DIR
# (default $BUILD or build, relative to the repository root),
# SEGEL_LOG_LEVEL (default info), H_BASE (parent of $H, default /tmp),
# H_PKI_CACHE=0 (a new PKI for every instance instead of a copy of the one
# cached in $SEGEL_BUILD_DIR/e2e-pki for up to 12 hours).
#
# Nothing outside $H is written.  Runs as root (Postfix needs it).  SASL
# accounts: alice bob erin carol dave frank legacy mallory app ec, login
# LOCAL@tanjungpinangkota.go.id, password rahasia-LOCAL.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SEGEL_ROOT=$(cd "$E2E_DIR/../.." && pwd)
DOMAIN=tanjungpinangkota.go.id
H_USERS="alice bob erin carol dave frank legacy mallory app ec"
H_PY=/usr/bin/python3
H_PASSED=0
H_FAILED=0
H_SKIPPED=0
H=${H:-}
SEGEL_PID=
SINK_PID=

_h_say() { echo "harness: $*" >&2; }

# fields FILE NAME: the header fields NAME of a stored message, unfolded,
# one a line.
fields() {
	"$H_PY" - "$1" "$2" <<'EOF'
import sys, re
raw = open(sys.argv[1], 'rb').read().decode('latin-1').replace('\r\n', '\n')
head = raw.split('\n\n', 1)[0]
for f in re.split(r'\n(?![ \t])', head):
    name, _, value = f.partition(':')
    if name.strip().lower() == sys.argv[2].lower():
        print(re.sub(r'\n[ \t]', ' ', value).strip())
EOF
}

# ---------------------------------------------------------------- results

pass() { H_PASSED=$((H_PASSED + 1)); echo "PASS: $1"; }
fail() { H_FAILED=$((H_FAILED + 1)); echo "FAIL: $1: ${2:-}"; }
skip() { H_SKIPPED=$((H_SKIPPED + 1)); echo "SKIP: $1: ${2:-}"; }

finish() {
	echo "$H_PASSED passed, $H_FAILED failed, $H_SKIPPED skipped"
	[ "$H_FAILED" -eq 0 ] && exit 0
	exit 1
}

# ---------------------------------------------------------------- set-up

# Free TCP ports on 127.0.0.1 below the ephemeral range: N numbers.
_h_free_ports() {
	"$H_PY" - "$1" <<'EOF'
import random, socket, sys
n, got = int(sys.argv[1]), []
while len(got) < n:
    p = random.randint(20000, 32000)
    if p in got:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    got.append(p)
print(" ".join(map(str, got)))
EOF
}

_h_tls_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$H/tls/server.key" -out "$H/tls/server.pem" -days 30 \
		-subj "/CN=mail.$DOMAIN" -addext "subjectAltName=DNS:mail.$DOMAIN" \
		>"$H/tls/req.log" 2>&1
}

_h_sasl() {
	local u
	cat >"$PF_CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $H/sasl/sasldb2
EOF
	for u in $H_USERS; do
		printf %s "rahasia-$u" |
			saslpasswd2 -f "$H/sasl/sasldb2" -p -c -u "$DOMAIN" "$u" || return 1
	done
	chown -R postfix:postfix "$H/sasl"
	chmod 0600 "$H/sasl/sasldb2"
}

# $H/segel.conf: one setting per line, each tagged "# section.key" so that
# segel_conf_set can find it.
_h_segel_conf() {
	local footer="Dokumen ini telah ditandatangani secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh BSrE."
	cat >"$H/segel.conf" <<EOF
# segel.conf written by tests/e2e/lib.sh. One setting per line; the trailing
# "# section.key" tags are what segel_conf_set looks for.
domain = "$DOMAIN";  # domain
authserv_id = "mail.$DOMAIN";  # authserv_id
socket = "unix:$H/segel.sock";  # socket
user = "";  # user
socket_group = "postfix";  # socket_group
on_error = "tempfail";  # on_error
log_level = "${SEGEL_LOG_LEVEL:-info}";  # log_level
pki: {
  trust_file = "$H/pki/trust.pem";  # pki.trust_file
  crl_dir = "$H/pki/crl";  # pki.crl_dir
};
tls: {
  enforce = true;  # tls.enforce
  min_version = "TLSv1.2";  # tls.min_version
};
sign: {
  enabled = true;  # sign.enabled
  cert_dir = "$H/pki/certs";  # sign.cert_dir
  trusted_hosts = [ "127.0.0.1/32" ];  # sign.trusted_hosts
  login_map = "";  # sign.login_map
  footer = "$footer";  # sign.footer
  on_no_cert = "reject";  # sign.on_no_cert
};
verify: {
  enabled = true;  # verify.enabled
  unsigned_own_domain = "tag";  # verify.unsigned_own_domain
  # Subject tags off, so tests find mail by its Subject (t_tags: defaults).
  subject_tags = { none = ""; fail = ""; };  # verify.subject_tags
};
audit: {
  file = "$H/audit.log";  # audit.file
};
archive: {
  dir = "$H/archive";  # archive.dir
};
limits: {
  message_size = 104857600;  # limits.message_size
  memory_body = 1048576;  # limits.memory_body
  header_bytes = 1048576;  # limits.header_bytes
  header_count = 10000;  # limits.header_count
  tmp_dir = "$H/tmp";  # limits.tmp_dir
};
EOF
}

_h_main_cf() {
	local milters="" 
	[ "${H_NO_MILTER:-0}" = 1 ] || milters="unix:$H/segel.sock"
	cat >"$PF_CONF/main.cf" <<EOF
# Private Postfix instance of the segel e2e harness (tests/e2e/lib.sh).
compatibility_level = 3.6
config_directory = $PF_CONF
queue_directory = $H/spool
data_directory = $H/data
mail_owner = postfix
setgid_group = postdrop
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
syslog_name = segel-e2e
maillog_file = $H/maillog
maillog_file_prefixes = $H
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
relay_domains = $DOMAIN, kepriprov.go.id, example.org
relayhost = [127.0.0.1]:$PORT_SINK
mynetworks = 127.0.0.1/32
disable_dns_lookups = yes
smtp_host_lookup = native
smtp_connection_cache_on_demand = no
smtpd_banner = \$myhostname ESMTP segel-e2e
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
message_size_limit = 80000000
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
smtpd_tls_security_level = may
smtpd_tls_cert_file = $H/tls/server.pem
smtpd_tls_key_file = $H/tls/server.key
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtp_tls_security_level = none
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_milters = $milters
non_smtpd_milters = $milters
milter_default_action = tempfail
milter_protocol = 6
EOF
}

_h_master_cf() {
	cat >"$PF_CONF/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$PORT_IN inet n - n - - smtpd
127.0.0.1:$PORT_SUB inet n - n - - smtpd
  -o syslog_name=segel-e2e/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
  -o milter_macro_daemon_name=ORIGINATING
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

_h_start_sink() {
	smtp-sink -8 -u postfix -d "$H/sink/%Y%m%d%H%M%S." "127.0.0.1:$PORT_SINK" 256 \
		>"$H/sink.log" 2>&1 &
	SINK_PID=$!
}

_h_listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# Wait for an SMTP greeting on PORT (proves the service really runs).
_h_greets() {
	"$H_PY" - "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rb")
line = f.readline()
s.sendall(b"QUIT\r\n")
f.readline()
s.close()
sys.exit(0 if line.startswith(b"220") else 1)
EOF
}

_h_master_pid() {
	local p
	p=$(tr -d ' \n' <"$H/spool/pid/master.pid" 2>/dev/null) || return 1
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

_h_start_postfix() {
	local i out
	if ! out=$(script -qec "postfix -c '$PF_CONF' start" /dev/null 2>&1); then
		_h_say "postfix start failed: $out"
		return 1
	fi
	for i in $(seq 1 100); do
		if _h_master_pid >/dev/null && _h_listening "$PORT_IN" &&
			_h_listening "$PORT_SUB" && _h_listening "$PORT_SINK"; then
			_h_greets "$PORT_IN" && _h_greets "$PORT_SUB" && return 0
		fi
		sleep 0.1
	done
	_h_say "Postfix or the sink did not come up; tail of $H/maillog:"
	tail -n 20 "$H/maillog" >&2 2>/dev/null
	return 1
}

# Everything the harness runs; "make deps" installs it.
_h_prereqs() {
	local c missing=
	if [ "$(id -u)" -ne 0 ]; then
		_h_say "must run as root (a private Postfix needs it)"
		return 1
	fi
	for c in postfix smtp-sink swaks saslpasswd2 gpgsm gpgconf openssl script ss perl; do
		command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$c" >/dev/null 2>&1 ||
			missing="$missing $c"
	done
	"$H_PY" -c 'import cryptography' 2>/dev/null || missing="$missing python3-cryptography"
	# swaks installs without its TLS modules (they are Recommends): then every
	# STARTTLS fails with no server reply at all
	swaks --support 2>&1 | grep -qx '=== TLS supported' ||
		missing="$missing swaks-TLS(libnet-ssleay-perl,libio-socket-ssl-perl)"
	id postfix >/dev/null 2>&1 || missing="$missing (user postfix)"
	if [ -n "$missing" ]; then
		_h_say "missing:$missing (run make deps)"
		return 1
	fi
}

# The test PKI into $PKI.  tests/pki/gen takes seconds (RSA keys), so one
# run is kept in CACHE (a symlink to a complete copy, swapped atomically) and
# copied for each instance while younger than 12 hours and newer than the
# generator.  H_PKI_CACHE=0 generates afresh every time.
_h_pki() {
	local cache=$1 gen=$SEGEL_ROOT/tests/pki/gen tmp
	if [ "${H_PKI_CACHE:-1}" = 1 ] && [ -f "$cache/.complete" ] &&
		[ "$cache/.complete" -nt "$gen" ] && [ "$cache/.complete" -nt "$gen.py" ] &&
		[ -z "$(find "$cache/.complete" -mmin +720 2>/dev/null)" ] &&
		cp -a "$cache/." "$PKI" 2>/dev/null; then
		rm -f "$PKI/.complete"
		return 0
	fi
	rm -rf "$PKI"
	if ! "$gen" "$PKI" >"$H/pki.log" 2>&1; then
		_h_say "tests/pki/gen failed:"; cat "$H/pki.log" >&2; return 1
	fi
	[ "${H_PKI_CACHE:-1}" = 1 ] || return 0
	# best effort: a failure here only costs the next run time
	mkdir -p "$(dirname "$cache")" 2>/dev/null &&
		tmp=$(mktemp -d "$cache.XXXXXX" 2>/dev/null) || return 0
	if cp -a "$PKI/." "$tmp/" && touch "$tmp/.complete" &&
		ln -sfn "$(basename "$tmp")" "$tmp.link" && mv -T "$tmp.link" "$cache"; then
		# earlier copies no one can still be reading
		find "$(dirname "$cache")" -maxdepth 1 -name "$(basename "$cache").??????" \
			-type d ! -path "$tmp" -mmin +10 -exec rm -rf {} + 2>/dev/null
	else
		rm -rf "$tmp" "$tmp.link"
	fi
	return 0
}

# Keep a test script's own EXIT trap: it runs after harness_stop, with the
# script's exit status in $?.
_h_prev_exit_trap=
_h_chain_exit_trap() {
	local cur
	cur=$(trap -p EXIT)
	case $cur in *harness_stop*) return 0 ;; esac
	_h_prev_exit_trap=
	if [ -n "$cur" ]; then
		eval "set -- $cur"
		_h_prev_exit_trap=$3
	fi
}
_h_prev_exit() {
	[ -n "$_h_prev_exit_trap" ] || return 0
	(exit "$_h_exit_rc")
	eval "$_h_prev_exit_trap"
}

harness_start() {
	_h_prereqs || return 1
	H=$(mktemp -d "${H_BASE:-/tmp}/segel-e2e.XXXXXX") || return 1
	chmod 0755 "$H"
	export H
	PKI=$H/pki
	PF_CONF=$H/postfix
	_h_stopped=
	_h_started=1
	_h_exit_rc=0
	_h_chain_exit_trap
	trap '_h_exit_rc=$?; harness_stop; _h_prev_exit' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local bd=${SEGEL_BUILD_DIR:-${BUILD:-build}}
	case $bd in /*) ;; *) bd=$SEGEL_ROOT/$bd ;; esac
	SEGEL_BIN=$bd/segel-milter
	mkdir -p "$PF_CONF/sasl" "$H/spool" "$H/data" "$H/sink" "$H/sasl" "$H/tls" \
		"$H/archive" "$H/tmp" || return 1
	chmod 0700 "$H/tmp" "$H/tls"
	chown postfix:postfix "$H/data" "$H/sink"
	read -r PORT_IN PORT_SUB PORT_SINK <<<"$(_h_free_ports 3)"
	export PORT_IN PORT_SUB PORT_SINK
	_h_pki "$bd/e2e-pki" || return 1
	_h_tls_cert || { _h_say "TLS certificate failed"; return 1; }
	_h_sasl || { _h_say "sasldb failed"; return 1; }
	_h_segel_conf
	_h_main_cf
	_h_master_cf
	_h_start_sink
	if [ "${H_NO_MILTER:-0}" != 1 ]; then
		segel_start || return 1
	fi
	_h_start_postfix || return 1
	_h_say "up in $H (in $PORT_IN, submission $PORT_SUB, sink $PORT_SINK)"
}

# ---------------------------------------------------------------- segel

segel_start() {
	local i rc
	if [ ! -x "$SEGEL_BIN" ]; then
		_h_say "no $SEGEL_BIN (run make first, or set H_NO_MILTER=1)"
		return 1
	fi
	rm -f "$H/segel.sock"
	"$SEGEL_BIN" -f -c "$H/segel.conf" >>"$H/segel.log" 2>&1 &
	SEGEL_PID=$!
	for i in $(seq 1 150); do
		if [ -S "$H/segel.sock" ]; then
			sleep 0.2
			return 0
		fi
		if ! kill -0 "$SEGEL_PID" 2>/dev/null; then
			rc=0
			wait "$SEGEL_PID" || rc=$?
			_h_say "segel-milter exited ($rc) at start; $H/segel.log:"
			tail -n 20 "$H/segel.log" >&2
			SEGEL_PID=
			return 1
		fi
		sleep 0.1
	done
	_h_say "segel-milter did not create $H/segel.sock within 15 s"
	return 1
}

segel_stop() {
	local i
	[ -n "${SEGEL_PID:-}" ] || return 0
	kill -TERM "$SEGEL_PID" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$SEGEL_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SEGEL_PID" 2>/dev/null; then
		_h_say "segel-milter ignored SIGTERM for 10 s; killing it"
		kill -KILL "$SEGEL_PID" 2>/dev/null || true
	fi
	wait "$SEGEL_PID" 2>/dev/null || true
	SEGEL_PID=
}

segel_restart() { segel_stop; segel_start; }

# Edit $H/segel.conf: MODE set|unset, KEY, VALUE.
_h_conf_edit() {
	M=$1 K=$2 V=${3:-} "$H_PY" - "$H/segel.conf" <<'EOF'
import os, re, sys
path, mode, key, val = sys.argv[1], os.environ["M"], os.environ["K"], os.environ["V"]
lines = open(path).read().split("\n")
tag = re.compile(r"#\s*([A-Za-z0-9_.]+)\s*$")
hits = []
for i, l in enumerate(lines):
    m = tag.search(l)
    if m and (m.group(1) == key or ("." not in key and m.group(1).endswith("." + key))):
        hits.append(i)
if len(hits) > 1:
    sys.exit("segel_conf: %s is ambiguous, say section.%s" % (key, key))
name = key.split(".")[-1]
if mode == "unset":
    if hits:
        del lines[hits[0]]
elif hits:
    indent = re.match(r"\s*", lines[hits[0]]).group(0)
    lines[hits[0]] = "%s%s = %s;  # %s" % (indent, name, val, tag.search(lines[hits[0]]).group(1))
elif "." in key:
    sect = key.split(".")[0]
    idx = [i for i, l in enumerate(lines) if re.match(r"\s*%s\s*[:=]\s*\{" % re.escape(sect), l)]
    new = "  %s = %s;  # %s" % (name, val, key)
    if idx:
        lines.insert(idx[0] + 1, new)
    else:
        lines[-1:-1] = ["%s: {" % sect, new, "};"]
else:
    lines.insert(len(lines) - 1, "%s = %s;  # %s" % (key, val, key))
open(path, "w").write("\n".join(lines))
EOF
}

segel_conf_set() { _h_conf_edit set "$1" "$2"; }
segel_conf_unset() { _h_conf_edit unset "$1"; }

segel_reload() {
	local off i new
	[ -n "${SEGEL_PID:-}" ] || { _h_say "segel_reload: no segel-milter running"; return 2; }
	off=$(stat -c %s "$H/segel.log" 2>/dev/null || echo 0)
	kill -USR1 "$SEGEL_PID" || return 2
	for i in $(seq 1 100); do
		new=$(tail -c +"$((off + 1))" "$H/segel.log" 2>/dev/null)
		if grep -q "reload failed" <<<"$new"; then
			return 1
		fi
		if grep -q "configuration loaded" <<<"$new"; then
			return 0
		fi
		sleep 0.1
	done
	_h_say "segel_reload: no 'configuration loaded' or 'reload failed' within 10 s"
	return 2
}

# ---------------------------------------------------------------- sending

# Make FILE into a DATA payload: CRLF lines, dot-stuffed, ending in ".".
# swaks then sends it byte for byte (--no-data-fixup).
_h_data() {
	perl -e '
		local $/; my $d = <STDIN>;
		$d =~ s/\r?\n/\r\n/g;
		$d .= "\r\n" if length($d) && $d !~ /\r\n\z/;
		$d =~ s/^\./../mg;
		print $d, ".";
	' <"$1" >"$H/last.data"
}

_h_swaks() {
	swaks --no-data-fixup --suppress-data --data "@$H/last.data" "$@" >"$H/last.swaks" 2>&1
}

send_sub() {
	local user=$1 from=$2 to=$3 file=$4 login pw
	shift 4
	login=$user
	case $login in *@*) ;; *) login=$user@$DOMAIN ;; esac
	pw=${SUB_PASS:-rahasia-${login%@*}}
	_h_data "$file" || return 1
	_h_swaks --server 127.0.0.1 --port "$PORT_SUB" --tls \
		--auth PLAIN --auth-user "$login" --auth-password "$pw" \
		--helo "pc.$DOMAIN" --from "$from" --to "$to" "$@"
}

send_in() {
	local from=$1 to=$2 file=$3 tls=--tls li=127.0.0.2
	local args=()
	shift 3
	while [ $# -gt 0 ]; do
		case $1 in
		--plain) tls= ;;
		--tls) tls=--tls ;;
		--li) li=$2; shift ;;
		*) args+=("$1") ;;
		esac
		shift
	done
	_h_data "$file" || return 1
	_h_swaks --server 127.0.0.1 --port "$PORT_IN" ${tls:+"$tls"} --li "$li" \
		--helo mx.example.org --from "$from" --to "$to" "${args[@]}"
}

send_local() {
	local from=$1 to=$2 file=$3
	local IFS=,
	# shellcheck disable=SC2086
	/usr/sbin/sendmail -C "$PF_CONF" -i -f "$from" -- $to <"$file" >"$H/last.sendmail" 2>&1
}

# The last server reply of the last swaks session, not counting the reply to
# QUIT; markers ("<-", "<~", "<**", "<~*") removed.
last_reply() {
	awk '
		/^ *(->|~>|\*\*>|\*~>) / { cmd = $0; n = 0; next }
		/^<(-|~|\*\*|~\*) / {
			if (n == 0) { g++; gcmd[g] = cmd }
			n++; line = $0; sub(/^<[-~*]+ +/, "", line); txt[g] = txt[g] (n > 1 ? "\n" : "") line
		}
		END {
			for (i = g; i > 0; i--)
				if (gcmd[i] !~ /(->|~>) QUIT/) { print txt[i]; exit }
		}
	' "$H/last.swaks"
}

# ---------------------------------------------------------------- the sink

sink_count() { find "$H/sink" -maxdepth 1 -type f | wc -l; }

sink_last() { ls -t "$H/sink"/* 2>/dev/null | head -n 1; }

queue_empty() {
	[ -z "$(find "$H/spool/maildrop" "$H/spool/incoming" "$H/spool/active" \
		"$H/spool/deferred" "$H/spool/hold" -type f 2>/dev/null | head -n 1)" ]
}

sink_wait() {
	local want=$1 timeout=${2:-30} i sizes prev=
	for i in $(seq 1 $((timeout * 10))); do
		if [ "$(sink_count)" -ge "$want" ] && queue_empty; then
			sizes=$(find "$H/sink" -maxdepth 1 -type f -printf '%s %f\n' | sort)
			[ "$sizes" = "$prev" ] && return 0
			prev=$sizes
		fi
		sleep 0.1
	done
	_h_say "sink_wait: $(sink_count) of $want messages after ${timeout}s; queue:"
	find "$H/spool/maildrop" "$H/spool/incoming" "$H/spool/active" \
		"$H/spool/deferred" "$H/spool/hold" -type f 2>/dev/null >&2
	return 1
}

# The newest sink file containing STRING (fixed string, e.g. a Message-ID).
sink_find() {
	local f
	f=$(grep -lF -- "$1" "$H/sink"/* 2>/dev/null | xargs -r ls -t | head -n 1)
	[ -n "$f" ] && echo "$f"
}

# The envelope recipients smtp-sink recorded, one a line.
sink_rcpts() { sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "$1"; }

# The message as Postfix delivered it: without smtp-sink's records, its own
# Received: header and the empty line it appends.  LF line ends as stored;
# --crlf writes CRLF (the form on the wire, what signatures are made over).
sink_message() {
	"$H_PY" - "$1" "$2" "${3:-}" <<'EOF'
import sys
src, out, crlf = sys.argv[1], sys.argv[2], sys.argv[3] == "--crlf"
lines = open(src, "rb").read().split(b"\n")
i = 0
while i < len(lines) and lines[i].split(b":")[0] in (
        b"X-Client-Addr", b"X-Client-Proto", b"X-Helo-Args", b"X-Mail-Args", b"X-Rcpt-Args"):
    i += 1
if i < len(lines) and lines[i].startswith(b"Received: ") and b"smtp-sink" in b"".join(lines[i:i + 3]):
    i += 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
body = lines[i:]
# the file ends "...\n" + the sink's empty line "\n": drop both empties
if len(body) >= 2 and body[-1] == b"" and body[-2] == b"":
    body = body[:-1]
data = b"\n".join(body)
if crlf:
    data = data.replace(b"\n", b"\r\n")
open(out, "wb").write(data)
EOF
}

# ---------------------------------------------------------------- judges

# A sink file or a plain message file: give the judges the message alone.
_h_judge_input() {
	if head -n 1 "$1" | grep -q '^X-Client-Addr: '; then
		sink_message "$1" "$2" --crlf
	else
		cp "$1" "$2"
	fi
}

verify_openssl() {
	local msg=$1
	shift
	_h_judge_input "$msg" "$H/verify.msg" || return 1
	openssl cms -verify -in "$H/verify.msg" -CAfile "$PKI/trust.pem" \
		-purpose smimesign -out /dev/null "$@" >"$H/last.verify" 2>&1
}

_h_gpgsm_setup() {
	local g=$H/gnupg fpr
	[ -f "$g/.ready" ] && return 0
	mkdir -p "$g" && chmod 0700 "$g"
	fpr=$(openssl x509 -in "$PKI/root.pem" -noout -fingerprint -sha1 | cut -d= -f2)
	printf '%s S relax\n' "$fpr" >"$g/trustlist.txt"
	printf 'disable-crl-checks\n' >"$g/gpgsm.conf"
	gpgsm --homedir "$g" --batch --import "$PKI/root.pem" "$PKI/bsre.pem" \
		>"$g/import.log" 2>&1 || return 1
	touch "$g/.ready"
}

# Split a multipart/signed message: part 1 (exact bytes between the first
# delimiter line and the CRLF before the next) and the DER signature.
# application/pkcs7-mime: the signature alone (no part file written).
_h_smime_split() {
	"$H_PY" - "$1" "$2" "$3" <<'EOF'
import base64, re, sys
src, part_out, sig_out = sys.argv[1:4]
data = open(src, "rb").read()
data = re.sub(rb"\r?\n", b"\r\n", data)   # the wire form: CRLF everywhere
end = data.find(b"\r\n\r\n")
if end < 0:
    sys.exit("no end of headers")
hdr = re.sub(rb"\r\n[ \t]+", b" ", data[:end])
ct = b""
for line in hdr.split(b"\r\n"):
    if line.lower().startswith(b"content-type:"):
        ct = line
if b"pkcs7-mime" in ct.lower() or b"x-pkcs7-mime" in ct.lower():
    open(sig_out, "wb").write(base64.b64decode(re.sub(rb"\s", b"", data[end + 4:])))
    sys.exit(0)
m = re.search(rb'boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))', ct, re.I)
if not m:
    sys.exit("no boundary")
delim = b"\r\n--" + (m.group(1) or m.group(2))
pos = end + 2                       # the CRLF that ends the header block
d1 = data.find(delim, pos)
if d1 < 0:
    sys.exit("no first delimiter")
start = data.find(b"\r\n", d1 + len(delim)) + 2
d2 = data.find(delim, start)
if d2 < 0:
    sys.exit("no second delimiter")
open(part_out, "wb").write(data[start:d2])
s2 = data.find(b"\r\n", d2 + len(delim)) + 2
d3 = data.find(delim, s2)
part2 = data[s2:d3 if d3 >= 0 else len(data)]
body = part2[part2.find(b"\r\n\r\n") + 4:] if not part2.startswith(b"\r\n") else part2[2:]
open(sig_out, "wb").write(base64.b64decode(re.sub(rb"\s", b"", body)))
EOF
}

verify_gpgsm() {
	local msg=$1 g=$H/gnupg
	_h_gpgsm_setup || { echo "gpgsm setup failed" >"$H/last.verify"; return 1; }
	_h_judge_input "$msg" "$H/verify.msg" || return 1
	rm -f "$H/verify.part" "$H/verify.sig"
	if ! _h_smime_split "$H/verify.msg" "$H/verify.part" "$H/verify.sig" \
		>"$H/last.verify" 2>&1; then
		return 1
	fi
	if [ -f "$H/verify.part" ]; then
		gpgsm --homedir "$g" --batch --status-fd 1 --verify "$H/verify.sig" "$H/verify.part"
	else
		gpgsm --homedir "$g" --batch --status-fd 1 --verify "$H/verify.sig"
	fi >>"$H/last.verify" 2>&1
	# "Good signature" alone is also printed for an expired signer
	# (status EXPKEYSIG): demand GOODSIG and a trusted chain.
	grep -q "Good signature" "$H/last.verify" &&
		grep -q '^\[GNUPG:\] GOODSIG ' "$H/last.verify" &&
		grep -Eq '^\[GNUPG:\] TRUST_(FULLY|ULTIMATE)' "$H/last.verify"
}

# ---------------------------------------------------------------- stop

# Stops everything of this instance.  Called by the EXIT trap, or by hand
# (then a later harness_start may start a new instance).
harness_stop() {
	local rc=${_h_exit_rc:-0} pid i
	# only what harness_start made: never an inherited $H
	[ -n "${_h_started:-}" ] && [ -n "${H:-}" ] && [ -d "$H" ] || return 0
	[ -n "${_h_stopped:-}" ] && return 0
	_h_stopped=1
	if pid=$(_h_master_pid); then
		postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
		for i in $(seq 1 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			_h_say "Postfix master $pid did not stop; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	_h_kill_leftovers
	if [ -n "${SINK_PID:-}" ]; then
		kill -TERM "$SINK_PID" 2>/dev/null || true
		wait "$SINK_PID" 2>/dev/null || true
		SINK_PID=
	fi
	segel_stop
	if [ -d "$H/gnupg" ]; then
		gpgconf --homedir "$H/gnupg" --kill all >/dev/null 2>&1 || true
	fi
	if [ "$H_FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
		# for CI logs, where $H does not outlive the job
		if [ -s "$H/segel.log" ]; then
			_h_say "last lines of $H/segel.log:"
			tail -n 12 "$H/segel.log" | cut -c1-300 >&2
		fi
		if grep -qE 'warning|error|fatal|panic' "$H/maillog" 2>/dev/null; then
			_h_say "Postfix warnings in $H/maillog:"
			grep -E 'warning|error|fatal|panic' "$H/maillog" | tail -n 8 | cut -c1-300 >&2
		fi
	fi
	if [ "${KEEP:-0}" = 1 ] || [ "$H_FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
		_h_say "kept $H"
	else
		rm -rf "$H"
	fi
	return 0
}

# Postfix daemons of this instance (MAIL_CONFIG = our folder) that outlived
# the master, e.g. after a KILL.
_h_kill_leftovers() {
	local e p
	for e in $(grep -lzx "MAIL_CONFIG=$PF_CONF" /proc/[0-9]*/environ 2>/dev/null); do
		p=${e#/proc/}
		p=${p%/environ}
		kill -KILL "$p" 2>/dev/null || true
	done
}
