# tests/e2e/lib_sendmail.sh - a private Sendmail on loopback in front of the
# harness's sink, with segel-milter wired in as README's "Wiring segel into
# Sendmail" says. Source it after nothing else (it sources lib.sh), then:
#
#   sm_harness_start   harness_start (PKI, SASL accounts, segel-milter, sink;
#                      the Postfix instance stays idle), then Debian's
#                      Sendmail from its packages, unpacked privately, with a
#                      sendmail.cf built from smtp-tls/sendmail/segel-tls.mc;
#                      returns 2 (and says why) when the packages cannot be
#                      fetched, 1 on any other failure
#   sm_send_in FROM TO FILE [--plain] [--li ADDR] [swaks args]
#                      Sendmail's MTA port, from 127.0.0.2, STARTTLS unless
#                      --plain
#   sm_send_sub USER FROM TO FILE [swaks args]
#                      Sendmail's MSA port: STARTTLS + AUTH PLAIN as USER
#                      (password rahasia-LOCAL, as in lib.sh)
#   sm_queue_count     messages in Sendmail's queue ($H/sm/mqueue)
#   sm_start, sm_stop  the Sendmail daemon alone (SM_PID); the EXIT trap
#                      stops it before harness_stop
#
# Nothing system-wide is touched: Debian's sendmail-bin and sendmail-cf
# (and two libraries sendmail-bin needs that a minimal machine may lack) are
# fetched with `apt-get download` (apt's own lists and archive; no package
# is installed, Postfix stays as it is) and unpacked with dpkg-deb -x into
# $SEGEL_BUILD_DIR/sendmail-root, kept there while apt offers the same
# version. The daemon runs from there with -C $H/sm/sendmail.cf, its own
# queue, aliases, status and pid files, access map, certificates and SASL
# files under $H/sm, on two loopback ports, inside its own UTS and mount
# namespaces (see _sm). Sendmail logs through syslog(3) only, which a test
# machine may not run: the test judges by SMTP replies, Sendmail's queue,
# the sink and segel's log.
#
# Variables: SM_PORT_IN, SM_PORT_SUB, SM_ROOT (the unpacked packages),
# SM_CF ($H/sm/sendmail.cf), SM_PID.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SM_DEBS="sendmail-bin sendmail-cf libwrap0 liblockfile1"
SM_PID=
SM_ROOT=

# The unpacked packages in $SEGEL_BUILD_DIR/sendmail-root (cached while the
# version apt offers is the one unpacked). 2 when apt-get download fails.
_sm_fetch() {
	local bd=$1 want have tmp d
	SM_ROOT=$bd/sendmail-root
	SM_LIBS=$SM_ROOT/usr/lib/x86_64-linux-gnu:$SM_ROOT/lib/x86_64-linux-gnu
	want=$(apt-cache policy sendmail-bin 2>/dev/null | sed -n 's/^ *Candidate: //p')
	have=$(cat "$SM_ROOT/.version" 2>/dev/null)
	if [ -x "$SM_ROOT/usr/libexec/sendmail/sendmail" ] && [ -n "$have" ] &&
		{ [ -z "$want" ] || [ "$want" = "(none)" ] || [ "$want" = "$have" ]; }; then
		return 0
	fi
	tmp=$(mktemp -d "$bd/sendmail-debs.XXXXXX") || return 1
	# apt's download runs as _apt, which cannot write under build/: fetch
	# into a folder it can (the files end up root's either way)
	chmod 0755 "$tmp"
	if ! (cd "$tmp" && apt-get download $SM_DEBS) >"$tmp/download.log" 2>&1; then
		_h_say "apt-get download $SM_DEBS failed:"
		grep -E '^(E|W):' "$tmp/download.log" | head -n 3 >&2
		rm -rf "$tmp"
		return 2
	fi
	rm -rf "$SM_ROOT.new" && mkdir -p "$SM_ROOT.new" || return 1
	for d in "$tmp"/*.deb; do
		dpkg-deb -x "$d" "$SM_ROOT.new" || { rm -rf "$tmp"; return 1; }
	done
	# setgid smmsp in the package: a setgid program ignores
	# LD_LIBRARY_PATH, and the private copy needs no group of its own
	chmod -R g-s "$SM_ROOT.new/usr/libexec/sendmail"
	dpkg-deb -f "$tmp"/sendmail-bin_*.deb Version >"$SM_ROOT.new/.version"
	rm -rf "$SM_ROOT" "$tmp"
	mv "$SM_ROOT.new" "$SM_ROOT"
}

# Sendmail from the private tree: its libraries first.
# Sendmail from the private tree, in namespaces of its own (unshare):
#   - mount: Cyrus SASL reads Sendmail.conf only from /etc/sasl2,
#     /etc/sasl, /usr/lib/x86_64-linux-gnu/sasl2 or /usr/lib/sasl2 (Sendmail
#     clears SASL_CONF_PATH from its environment), so /usr/lib/sasl2 shows
#     $H/sm/sasl there, and nowhere else;
#   - UTS: Sendmail sleeps a minute (daemon, newaliases, queue run alike)
#     when the machine's name has no dot (a container's "vm"), so it is
#     named mail.$DOMAIN there; the machine's own name is not changed.
_sm() {
	if [ "${SM_AUTH:-1}" = 0 ]; then	# no private mount namespace here
		unshare --uts /bin/sh -c 'hostname "$1" && shift && exec "$@"' \
			sh "mail.$DOMAIN" env LD_LIBRARY_PATH="$SM_LIBS" \
			"$SM_ROOT/usr/libexec/sendmail/sendmail" "$@"
		return
	fi
	unshare --uts --mount --propagation private /bin/sh -c '
		hostname "$1" && mount --bind "$2" /usr/lib/sasl2 &&
		shift 2 && exec "$@"' sh "mail.$DOMAIN" "$H/sm/sasl" \
		env LD_LIBRARY_PATH="$SM_LIBS" "$SM_ROOT/usr/libexec/sendmail/sendmail" "$@"
}

# segel-tls.mc as an administrator would adapt it: certificate paths, the
# access map, the milter socket and the two listeners (loopback ports).
_sm_site_mc() {
	sed -e "s|/etc/ssl/certs/ca-certificates.crt|$H/sm/tls/ca.pem|" \
		-e "s|\`/etc/ssl/certs'|\`$H/sm/tls/certs'|" \
		-e "s|/etc/mail/tls/mx-chain.pem|$H/sm/tls/server.pem|" \
		-e "s|/etc/mail/tls/mx-key.pem|$H/sm/tls/server.key|" \
		-e "s|/etc/mail/access|$H/sm/access|" \
		-e "s|/run/segel/segel.sock|$H/segel.sock|" \
		-e "s|Name=MTA-v4, Port=smtp|Name=MTA-v4, Addr=127.0.0.1, Port=$SM_PORT_IN|" \
		-e "s|Name=MSA-v4, Port=submission|Name=MSA-v4, Addr=127.0.0.1, Port=$SM_PORT_SUB|" \
		"$SEGEL_ROOT/smtp-tls/sendmail/segel-tls.mc" >"$H/sm/segel-tls.mc"
}

# The test's sendmail.mc: private files, no DNS, everything relayed to the
# sink; then the project's lines.
_sm_mc() {
	local cf=$SM_ROOT/usr/share/sendmail/cf
	cat >"$H/sm/sendmail.mc" <<EOF
divert(-1)
include(\`$cf/m4/cf.m4')
divert(0)dnl
VERSIONID(\`segel tests/e2e/lib_sendmail.sh')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mail.$DOMAIN')dnl
define(\`QUEUE_DIR', \`$H/sm/mqueue')dnl
define(\`ALIAS_FILE', \`$H/sm/aliases')dnl
define(\`STATUS_FILE', \`$H/sm/statistics')dnl
define(\`HELP_FILE', \`$SM_ROOT/etc/mail/helpfile')dnl
define(\`confPID_FILE', \`$H/sm/sendmail.pid')dnl
define(\`confHOSTS_FILE', \`$H/sm/hosts')dnl
define(\`confSERVICE_SWITCH_FILE', \`$H/sm/service.switch')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confDEF_USER_ID', \`postfix:postfix')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
define(\`confLOG_LEVEL', \`14')dnl
dnl a test machine shared by parallel builds: no refusal for load
define(\`confREFUSE_LA', \`1000')dnl
define(\`confQUEUE_LA', \`1000')dnl
define(\`confDELAY_LA', \`0')dnl
dnl the test folder is under /tmp: a sticky folder is safe to Sendmail only so
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $PORT_SINK')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $PORT_SINK')dnl
define(\`confAUTH_REALM', \`$DOMAIN')dnl
include(\`$H/sm/segel-tls.mc')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
	m4 "$H/sm/sendmail.mc" >"$H/sm/sendmail.cf" 2>"$H/sm/m4.err" && [ ! -s "$H/sm/m4.err" ]
}

# Certificates (the harness's server pair), access map, aliases, SASL.
_sm_files() {
	mkdir -p "$H/sm/mqueue" "$H/sm/tls/certs" "$H/sm/sasl" || return 1
	chmod 0700 "$H/sm/mqueue" "$H/sm/tls"
	cp "$H/tls/server.pem" "$H/sm/tls/server.pem"
	cp "$H/tls/server.key" "$H/sm/tls/server.key"
	chmod 0600 "$H/sm/tls/server.key"
	cp "$H/tls/server.pem" "$H/sm/tls/ca.pem"
	printf '127.0.0.1\tlocalhost mail.%s\n' "$DOMAIN" >"$H/sm/hosts"
	printf 'hosts\tfiles\naliases\tfiles\n' >"$H/sm/service.switch"
	: >"$H/sm/statistics"
	printf 'postmaster: root\n' >"$H/sm/aliases"
	# the project's access entries but those for Sendmail as a client
	# (TLS_Rcpt, TLS_Srv: the sink stands for every next hop and speaks no
	# TLS; t_tls_posture checks them) and the mail store's (a DNS name),
	# then what this test needs: relaying for the domains the harness
	# knows, the trusted application host 127.0.0.1
	grep -vE '^(TLS_Rcpt|TLS_Srv|TLS_Clt:mailstore)' \
		"$SEGEL_ROOT/smtp-tls/sendmail/access.snippet" >"$H/sm/access"
	cat >>"$H/sm/access" <<EOF
To:$DOMAIN	RELAY
To:kepriprov.go.id	RELAY
To:example.org	RELAY
Connect:127.0.0.1	RELAY
EOF
	LD_LIBRARY_PATH=$SM_LIBS "$SM_ROOT/usr/libexec/sendmail/makemap" -C "$H/sm/sendmail.cf" hash "$H/sm/access" <"$H/sm/access" ||
		return 1
	_sm -C "$H/sm/sendmail.cf" -bi >"$H/sm/newaliases.log" 2>&1 || return 1
	# SASL: the harness's accounts, in a copy Sendmail owns
	cp "$H/sasl/sasldb2" "$H/sm/sasl/sasldb2" && chown root:root "$H/sm/sasl/sasldb2" &&
		chmod 0600 "$H/sm/sasl/sasldb2" || return 1
	cat >"$H/sm/sasl/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $H/sm/sasl/sasldb2
EOF
}

# Waits for both listeners to greet (5 s).
_sm_up() {
	local i
	for i in $(seq 1 50); do
		if _h_listening "$SM_PORT_IN" && _h_listening "$SM_PORT_SUB"; then
			_h_greets "$SM_PORT_IN" && _h_greets "$SM_PORT_SUB" && return 0
		fi
		sleep 0.1
	done
	return 1
}

sm_start() {
	rm -f "$H/sm/sendmail.pid"
	# -bd: daemon; -q1s: run the queue every second (tempfailed mail is
	# retried once segel is back); -O: nothing from /etc/mail
	_sm -C "$H/sm/sendmail.cf" -bd -q1s >"$H/sm/daemon.log" 2>&1 || { _h_say "Sendmail: $(cat "$H/sm/daemon.log")"; return 1; }
	_sm_up || { _h_say "Sendmail did not greet on $SM_PORT_IN/$SM_PORT_SUB"; return 1; }
	SM_PID=$(head -n 1 "$H/sm/sendmail.pid" 2>/dev/null)
}

# Stops the daemon, then whatever of ours still runs in its namespace (a
# delivery or queue run it forked): only processes in that UTS namespace.
sm_stop() {
	local i ns p
	[ -n "${SM_PID:-}" ] || return 0
	ns=$(readlink "/proc/$SM_PID/ns/uts" 2>/dev/null)
	kill -TERM "$SM_PID" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$SM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SM_PID" 2>/dev/null || true
	if [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/uts)" ]; then
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/uts" 2>/dev/null)" = "$ns" ] &&
				kill -KILL "${p#/proc/}" 2>/dev/null
		done
	fi
	SM_PID=
}

sm_harness_start() {
	local bd=${SEGEL_BUILD_DIR:-${BUILD:-build}} rc=0
	case $bd in /*) ;; *) bd=$SEGEL_ROOT/$bd ;; esac
	_sm_fetch "$bd" || return $?
	local nf
	nf=$(LD_LIBRARY_PATH=$SM_LIBS ldd "$SM_ROOT/usr/libexec/sendmail/sendmail" 2>&1 |
		awk '/not found/ { print $1 }' | tr '\n' ' ')
	if [ -n "$nf" ]; then
		_h_say "the private sendmail lacks libraries: $nf(add their packages to SM_DEBS)"
		return 1
	fi
	[ -d /usr/lib/sasl2 ] || { _h_say "no /usr/lib/sasl2 (libsasl2-2; make deps)"; return 1; }
	command -v m4 >/dev/null || { _h_say "m4 missing (make deps)"; return 1; }
	# Sendmail's SASL file is shown to it alone, in a mount namespace whose
	# mounts do not propagate back (see _sm). Where that namespace cannot be
	# made (a chroot, whose / is not a mount point: "cannot change root
	# filesystem propagation"; a container without CAP_SYS_ADMIN), a bind
	# mount would reach the machine's own /usr/lib/sasl2: not done.
	# There Sendmail runs without AUTH and segel signs for the trusted host
	# 127.0.0.1 instead (SM_AUTH=0, the issue's fallback); t_sendmail says
	# so. No UTS namespace either: 3.
	SM_AUTH=1
	# (SM_FORCE_NO_AUTH=1 takes this path on any machine, to test it.)
	if [ -n "${SM_FORCE_NO_AUTH:-}" ] && SM_NS_ERR="SM_FORCE_NO_AUTH is set" ||
		! SM_NS_ERR=$(unshare --uts --mount --propagation private true 2>&1); then
		SM_AUTH=0
		if ! unshare --uts true 2>/dev/null; then
			export SM_NS_ERR
			return 3
		fi
	fi
	export SM_AUTH SM_NS_ERR
	harness_start || return 1
	# Sendmail stops first, while $H is still there
	trap '_h_exit_rc=$?; sm_stop; harness_stop; _h_prev_exit' EXIT
	read -r SM_PORT_IN SM_PORT_SUB <<<"$(_h_free_ports 2)"
	export SM_PORT_IN SM_PORT_SUB
	mkdir -p "$H/sm" || return 1
	_sm_site_mc
	if ! _sm_mc; then
		_h_say "m4 failed: $(head -n 3 "$H/sm/m4.err")"
		return 1
	fi
	_sm_files || { _h_say "Sendmail's files failed"; return 1; }
	sm_start || rc=1
	[ "$rc" = 0 ] && _h_say "Sendmail up (MTA $SM_PORT_IN, MSA $SM_PORT_SUB)"
	return $rc
}

sm_send_in() {
	local from=$1 to=$2 file=$3 tls=--tls li=127.0.0.2
	local args=()
	shift 3
	while [ $# -gt 0 ]; do
		case $1 in
		--plain) tls= ;;
		--li) li=$2; shift ;;
		*) args+=("$1") ;;
		esac
		shift
	done
	_h_data "$file" || return 1
	_h_swaks --server 127.0.0.1 --port "$SM_PORT_IN" ${tls:+"$tls"} --li "$li" \
		--helo mx.example.org --from "$from" --to "$to" "${args[@]}"
}

sm_send_sub() {
	local user=$1 from=$2 to=$3 file=$4 login
	shift 4
	login=$user
	case $login in *@*) ;; *) login=$user@$DOMAIN ;; esac
	_h_data "$file" || return 1
	if [ "${SM_AUTH:-1}" = 0 ]; then	# the trusted host, MTA port, no login
		_h_swaks --server 127.0.0.1 --port "$SM_PORT_IN" --tls --li 127.0.0.1 \
			--helo "pc.$DOMAIN" --from "$from" --to "$to" "$@"
		return
	fi
	_h_swaks --server 127.0.0.1 --port "$SM_PORT_SUB" --tls \
		--auth PLAIN --auth-user "$login" --auth-password "rahasia-${login%@*}" \
		--helo "pc.$DOMAIN" --from "$from" --to "$to" "$@"
}

sm_queue_count() { find "$H/sm/mqueue" -maxdepth 1 -name 'qf*' | wc -l; }
