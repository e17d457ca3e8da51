#!/bin/bash
# t_attack_store.sh - the certificate store under attack, with the real
# daemon and Postfix (THREATS.md sections 2 and 5; the file shapes one by
# one are in tests/unit/test_attack_store.c):
#   - revoked.list edited by hand (CRLF, a comment, the serial alone with
#     spaces): after a reload alice's mail is refused as revoked;
#   - revoked.list then replaced by a symbolic link: the reload fails and
#     the old store (alice revoked) stays in force;
#   - segel-milter -n: 78 for a symlinked revoked.list, a group-writable
#     store folder, a store file of another user; 0 with a warning for a
#     .p12 that is a symbolic link (only that sender is unusable);
#   - no passphrase or private-key bytes in the daemon's log, the audit
#     log, the mail log, /proc/PID/cmdline or /proc/PID/environ;
#   - a daemon that drops to another user stays non-dumpable (/proc/PID
#     belongs to root, not to that user).
. "$(dirname "$0")/lib.sh"

TO=warga@example.org
A=alice@$DOMAIN
delivered=0

harness_start || { fail harness_start "see above"; finish; }
S=$H/pki/certs

printf 'From: Alice <%s>\nTo: %s\nSubject: t_attack_store %s\n\nIsi surat.\n' \
	"$A" "$TO" one >"$H/m1.eml"

# ---------------------------------------------------- before: alice signs
if send_sub alice "$A" "$TO" "$H/m1.eml" && sink_wait 1 60; then
	pass "alice signs with a clean store"
	delivered=1
else
	fail "alice signs with a clean store" "$(last_reply)"
fi

# ------------------------------------------- revoked.list edited by hand
ser=$(openssl x509 -noout -serial -in "$H/pki/staff/$A.pem" | cut -d= -f2)
printf '# revoked by hand, laptop lost\r\n\r\n  %s   \r\n' "$ser" >"$S/revoked.list"
chmod 644 "$S/revoked.list"
if segel_reload; then
	if send_sub alice "$A" "$TO" "$H/m1.eml"; then
		fail "hand-edited revoked.list" "accepted after reload: $(last_reply)"
	elif last_reply | grep -q "^550 5.7.1 .*revoked"; then
		pass "hand-edited revoked.list (serial alone, CRLF): refused as revoked"
	else
		fail "hand-edited revoked.list" "$(last_reply)"
	fi
else
	fail "hand-edited revoked.list" "reload failed: $(tail -n 5 "$H/segel.log")"
fi

# ------------------------- revoked.list becomes a symbolic link: reload fails
mv "$S/revoked.list" "$H/revoked.list.real"
ln -s "$H/revoked.list.real" "$S/revoked.list"
rc=0
segel_reload || rc=$?
if [ "$rc" = 1 ] && grep -q "revoked.list.*not a plain file" "$H/segel.log"; then
	pass "revoked.list a symbolic link: reload refused, says why"
else
	fail "revoked.list symlink reload" "rc $rc: $(tail -n 5 "$H/segel.log")"
fi
if send_sub alice "$A" "$TO" "$H/m1.eml"; then
	fail "old store kept" "alice accepted: $(last_reply)"
else
	pass "after the refused reload alice stays revoked"
fi
rm "$S/revoked.list"
mv "$H/revoked.list.real" "$S/revoked.list"

# ------------------------------------------------------ segel-milter -n
# check_n NAME WANT SETUP UNDO [GREP]: -n on the harness configuration
check_n() {
	local name=$1 want=$2 rc=0
	eval "$3"
	"$SEGEL_BIN" -n -c "$H/segel.conf" >"$H/n.out" 2>&1 || rc=$?
	eval "$4"
	if [ "$rc" = "$want" ] && { [ -z "${5:-}" ] || grep -q "$5" "$H/n.out"; }; then
		pass "-n: $name: exit $rc"
	else
		fail "-n: $name" "exit $rc, want $want: $(head -c 600 "$H/n.out")"
	fi
}
check_n "clean store" 0 : :
check_n "revoked.list a symbolic link" 78 \
	'mv $S/revoked.list $H/rl; ln -s $H/rl $S/revoked.list' \
	'rm $S/revoked.list; mv $H/rl $S/revoked.list' "revoked.list.*not a plain file"
check_n "store folder writable by its group" 78 'chmod 770 $S' 'chmod 700 $S' "writable by others"
check_n "a .pass owned by another user" 78 "chown nobody $S/bob@$DOMAIN.pass" \
	"chown root $S/bob@$DOMAIN.pass" "owned by uid"
check_n "a .p12 that is a symbolic link (that sender only)" 0 \
	"mv $S/bob@$DOMAIN.p12 $H/bob.p12; ln -s $H/bob.p12 $S/bob@$DOMAIN.p12" \
	"rm $S/bob@$DOMAIN.p12; mv $H/bob.p12 $S/bob@$DOMAIN.p12" "bob@.*symbolic link"

# ------------------------------------------------------------- secrets
leaks=
for f in "$S"/*.pass; do
	pw=$(head -n 1 "$f")
	for l in "$H/segel.log" "$H/audit.log" "$H"/*.log; do
		[ -f "$l" ] && grep -qF -- "$pw" "$l" && leaks="$leaks $(basename "$f") in $l;"
	done
	tr '\0' '\n' <"/proc/$SEGEL_PID/cmdline" | grep -qF -- "$pw" && leaks="$leaks $f in cmdline;"
	tr '\0' '\n' <"/proc/$SEGEL_PID/environ" | grep -qF -- "$pw" && leaks="$leaks $f in environ;"
done
# private-key bytes: a few base64 lines from the middle of each PEM key
for k in "$H"/pki/staff/*.key; do
	for line in $(sed -n '5p;10p;15p' "$k"); do
		for l in "$H"/*.log; do
			grep -qF -- "$line" "$l" && leaks="$leaks $(basename "$k") in $l;"
		done
	done
done
[ -z "$leaks" ] && pass "no passphrase or key bytes in logs, cmdline, environ" ||
	fail "secrets" "$leaks"

# ----------------------------------------- non-dumpable after dropping
# A second daemon of its own that drops to nobody: were it dumpable, any
# other process running as nobody could read its memory (ptrace, /proc).
D2=$H/drop
mkdir -p "$D2" && chmod 755 "$D2"
sed -e "s|^user = .*|user = \"nobody\";|" -e "s|$H/segel.sock|$D2/s.sock|" \
	-e "s|^  file = .*audit.*|  file = \"$D2/audit.log\";|" \
	-e "/# archive.dir/d" \
	-e "s|socket_group = .*|socket_group = \"\";|" "$H/segel.conf" >"$D2/segel.conf"
"$SEGEL_BIN" -f -c "$D2/segel.conf" >"$D2/log" 2>&1 &
pid2=$!
for i in $(seq 1 100); do [ -S "$D2/s.sock" ] && break; sleep 0.1; done
uid2=$(awk '/^Uid:/ { print $2 }' "/proc/$pid2/status" 2>/dev/null)
if ! command -v setpriv >/dev/null; then
	skip "non-dumpable" "no setpriv (util-linux)"
elif [ "$uid2" != "$(id -u nobody)" ]; then
	fail "non-dumpable" "the daemon runs as uid ${uid2:-?}: $(tail -n 5 "$D2/log")"
elif setpriv --reuid=nobody --regid=nogroup --clear-groups \
	head -c 1 "/proc/$pid2/environ" >/dev/null 2>&1; then
	fail "non-dumpable" "another process of nobody reads /proc/$pid2/environ"
else
	pass "daemon running as nobody is not dumpable (nobody cannot read its /proc)"
fi
kill -TERM "$pid2" 2>/dev/null
wait "$pid2" 2>/dev/null

finish
