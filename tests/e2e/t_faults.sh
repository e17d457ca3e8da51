#!/bin/bash
# t_faults.sh - nothing lost when things go wrong, end to end through the
# private Postfix (milter_default_action = tempfail):
#
#   kill       SIGKILL segel-milter in the middle of a stream of 200 messages
#              from alice (4 parallel senders), restart it: every message
#              Postfix accepted (250) is delivered signed and verifiable by
#              openssl, none leaves unsigned, every other one got a 4xx (the
#              sender retries); counted from the swaks transcripts.
#   spool      limits.tmp_dir on a full 1 MB tmpfs, limits.memory_body 64 KB:
#              a 5 MB message (submitted, and inbound) gets 4xx; no crash.
#   audit      the audit file made immutable (chattr +i), replaced by a
#              folder, or on a full tmpfs: signing tempfails (4xx, nothing
#              delivered: no mail signed without its record); no crash.
#   reload     a broken configuration (reload fails, the old one stays, mail
#              is still signed); a deleted key (bob's .p12 removed: bob gets
#              550 naming the reason, alice is still signed); an expired CRL
#              (pki.crl_dir = $PKI/crl-expired: pki.h keeps a stale CRL's
#              revocations, so dave is still refused and dave's signature
#              inbound is still smime=fail "certificate revoked"; alice
#              waits (451) past pki.crl_grace and is signed within it).
#   stuck      SIGSTOP the daemon with milter_*_timeout = 5s in Postfix: the
#              client gets 4xx within the timeout, nothing is delivered;
#              SIGCONT and mail flows again.
#
# Everything on loopback, every wait bounded. Needs root (tmpfs mounts,
# chattr); a part that cannot run here is skipped with the reason.
. "$(dirname "$0")/lib.sh"

ALICE=alice@$DOMAIN
BOB=bob@$DOMAIN
DAVE=dave@$DOMAIN
TO=warga@example.org
ID=mail.$DOMAIN
MOUNTS=()

cleanup_mounts() {
	local m
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	[ -n "${H:-}" ] && [ -f "$H/audit.log" ] && chattr -i "$H/audit.log" 2>/dev/null
	return 0
}

harness_start || { fail harness_start "see above"; finish; }
# lib.sh's EXIT trap stops the harness; unmount first so $H can be removed.
trap '_h_exit_rc=$?; cleanup_mounts; harness_stop' EXIT
W=$H/tf
mkdir -p "$W"
CONF0=$W/segel.conf.orig
cp "$H/segel.conf" "$CONF0"

msg() { # NAME FROM [BODY-BYTES]: a message file in $W/NAME.eml
	{
		printf 'From: %s\r\nTo: %s\r\nSubject: t_faults %s\r\nMessage-ID: <%s.%s@t-faults.example>\r\n\r\n' \
			"$2" "$TO" "$1" "$1" "$$"
		if [ -n "${3:-}" ]; then
			head -c "$3" /dev/urandom | base64 -w 76
		else
			printf 'Surat uji %s.\r\n' "$1"
		fi
	} >"$W/$1.eml"
}

code() { last_reply | head -n 1 | cut -c1-3; }

# delivered NAME [SECONDS]: the sink file of message NAME (waits).
delivered() {
	local i
	for i in $(seq 1 $((${2:-30} * 2))); do
		sink_find "Message-ID: <$1.$$@t-faults.example>" && return 0
		sleep 0.5
	done
	return 1
}

# signed_ok NAME USER: submitted as USER, delivered signed, openssl verifies.
signed_ok() {
	local f
	msg "$1" "$2@$DOMAIN"
	if ! send_sub "$2" "$2@$DOMAIN" "$TO" "$W/$1.eml"; then
		echo "refused: $(last_reply | head -n 1)"
		return 1
	fi
	f=$(delivered "$1") || { echo "accepted but not delivered"; return 1; }
	grep -qi '^Content-Type: multipart/signed' "$f" || { echo "delivered UNSIGNED"; return 1; }
	verify_openssl "$f" || { echo "openssl: $(tail -n 2 "$H/last.verify" | tr '\n' ' ')"; return 1; }
}

alive() { [ -n "${SEGEL_PID:-}" ] && kill -0 "$SEGEL_PID" 2>/dev/null; }

restore_conf() {
	cp "$CONF0" "$H/segel.conf"
	segel_reload >/dev/null || { alive || segel_start; }
}

# ================================================================ kill

kill_test() {
	local n=200 par=4 s i k pids=() acc=0 temp=0 other=0 lost=0 unsigned=0 bad=0 f t
	mkdir -p "$W/kill"
	for i in $(seq 1 $n); do
		printf 'From: %s\r\nTo: %s\r\nSubject: t_faults kill %d\r\nMessage-ID: <kill-%d.%s@t-faults.example>\r\n\r\nPesan %d dari aliran.\r\n.\r\n' \
			"$ALICE" "$TO" "$i" "$i" "$$" "$i" >"$W/kill/$i.data"
	done
	# $par senders, each its own share of the messages, one session each.
	for s in $(seq 0 $((par - 1))); do
		(
			for i in $(seq $((s + 1)) $par $n); do
				timeout 60 swaks --no-data-fixup --suppress-data --data "@$W/kill/$i.data" \
					--server 127.0.0.1 --port "$PORT_SUB" --tls \
					--auth PLAIN --auth-user "$ALICE" --auth-password rahasia-alice \
					--helo "pc.$DOMAIN" --from "$ALICE" --to "$TO" \
					>"$W/kill/$i.swaks" 2>&1
			done
		) &
		pids+=($!)
	done
	# Kill once a part of the stream went through, restart 2 s later.
	for t in $(seq 1 100); do
		[ "$(grep -l 'queued as' "$W/kill"/*.swaks 2>/dev/null | wc -l)" -ge 30 ] && break
		sleep 0.1
	done
	k=$(grep -l 'queued as' "$W/kill"/*.swaks 2>/dev/null | wc -l)
	kill -KILL "$SEGEL_PID"
	wait "$SEGEL_PID" 2>/dev/null || true
	SEGEL_PID=
	sleep 2
	if ! segel_start; then
		fail kill_restart "segel_start after SIGKILL failed"
		wait "${pids[@]}"
		return
	fi
	wait "${pids[@]}"
	echo "kill: SIGKILL after $k accepted messages, restarted 2 s later"
	for i in $(seq 1 $n); do
		if grep -q '^<[-~] *250 .*queued as' "$W/kill/$i.swaks"; then
			acc=$((acc + 1))
		elif grep -qE '^<(\*\*|~\*) *4[0-9][0-9][ -]' "$W/kill/$i.swaks"; then
			temp=$((temp + 1))
		else
			other=$((other + 1))
			echo "kill: message $i neither 250 nor 4xx: $(grep -E '^<' "$W/kill/$i.swaks" | tail -n 1) $(grep -iE 'error|timed out' "$W/kill/$i.swaks" | head -n 1)"
		fi
	done
	# Postfix accepted them: wait until the queue has drained to the sink.
	for t in $(seq 1 120); do
		queue_empty && [ "$(grep -l "kill-[0-9]*\.$$@" "$H/sink"/* 2>/dev/null | wc -l)" -ge "$acc" ] && break
		sleep 0.5
	done
	for i in $(seq 1 $n); do
		f=$(sink_find "Message-ID: <kill-$i.$$@t-faults.example>") || f=
		if grep -q '^<[-~] *250 .*queued as' "$W/kill/$i.swaks"; then
			if [ -z "$f" ]; then
				lost=$((lost + 1)); echo "kill: accepted message $i not delivered"
			elif ! grep -qi '^Content-Type: multipart/signed' "$f"; then
				unsigned=$((unsigned + 1)); echo "kill: message $i delivered UNSIGNED"
			elif ! verify_openssl "$f"; then
				bad=$((bad + 1)); echo "kill: message $i does not verify: $(tail -n 1 "$H/last.verify")"
			fi
		elif [ -n "$f" ]; then
			if grep -qi '^Content-Type: multipart/signed' "$f"; then
				echo "kill: message $i refused to the client but delivered (signed): a duplicate when the client retries"
			else
				unsigned=$((unsigned + 1)); echo "kill: message $i refused to the client but delivered UNSIGNED"
			fi
		fi
	done
	echo "kill: $n sent: $acc accepted (250), $temp tempfailed (4xx), $other other; delivered: $((acc - lost)), unsigned $unsigned, not verifying $bad"
	if [ "$temp" -eq 0 ]; then
		skip kill_stream "the kill missed every session (no 4xx); nothing was tested"
	elif [ "$lost" -eq 0 ] && [ "$unsigned" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$other" -eq 0 ]; then
		pass "kill_stream: $acc accepted all delivered signed and verified, $temp got 4xx, none unsigned"
	else
		fail kill_stream "lost $lost, unsigned $unsigned, not verifying $bad, neither 250 nor 4xx $other (of $n)"
	fi
	if why=$(signed_ok after_kill alice); then
		pass "kill_after: the restarted daemon signs"
	else
		fail kill_after "$why"
	fi
}

# ================================================================ spool

# small_tmpfs DIR SIZE: mount a tmpfs; 1 when mounting is not possible here.
small_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" 2>"$W/mount.err" || return 1
	MOUNTS+=("$1")
}

# fill DIR: fill the file system of DIR (ENOSPC for the next write).
fill() { dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null || true; }

spool_test() {
	local c
	if ! small_tmpfs "$W/spool" 1m; then
		skip spool_full "cannot mount a tmpfs here: $(cat "$W/mount.err")"
		return
	fi
	fill "$W/spool"
	segel_conf_set limits.tmp_dir "\"$W/spool\""
	segel_conf_set limits.memory_body 65536
	if ! segel_reload; then
		fail spool_reload "reload with tmp_dir on the small tmpfs failed: $(tail -n 3 "$H/segel.log")"
		restore_conf
		return
	fi
	msg spool_sub "$ALICE" 5000000
	send_sub alice "$ALICE" "$TO" "$W/spool_sub.eml" --timeout 120 || true
	c=$(code)
	if [[ $c == 4* ]] && alive; then
		pass "spool_full_sub: 5 MB submission with the spool full: $(last_reply | head -n 1); segel: $(grep -i 'no space' "$H/segel.log" | tail -n 1 | sed 's/.*\]: //')"
	else
		fail spool_full_sub "want 4xx and the daemon alive, got '$(last_reply | head -n 1)', alive=$(alive && echo yes || echo no)"
	fi
	msg spool_in "sari@kepriprov.go.id" 5000000
	send_in sari@kepriprov.go.id "$ALICE" "$W/spool_in.eml" --timeout 120 || true
	c=$(code)
	if [[ $c == 4* ]] && alive; then
		pass "spool_full_in: 5 MB inbound with the spool full: $(last_reply | head -n 1)"
	else
		fail spool_full_in "want 4xx and the daemon alive, got '$(last_reply | head -n 1)', alive=$(alive && echo yes || echo no)"
	fi
	sleep 1
	if delivered spool_sub 1 >/dev/null; then
		fail spool_nothing_delivered "the tempfailed submission was delivered"
	fi
	restore_conf
	if why=$(signed_ok after_spool alice); then
		pass "spool_after: with the spool back, mail is signed"
	else
		fail spool_after "$why"
	fi
}

# ================================================================ audit

# audit_case NAME: the audit file is broken already; alice submits.
audit_case() {
	local c
	msg "$1" "$ALICE"
	send_sub alice "$ALICE" "$TO" "$W/$1.eml" || true
	c=$(code)
	sleep 1
	if [[ $c == 4* ]] && alive && ! delivered "$1" 2 >/dev/null; then
		pass "$1: signing tempfails, nothing delivered: $(last_reply | head -n 1); segel: $(grep -i 'audit' "$H/segel.log" | tail -n 1 | grep -o 'action=.*' | sed 's/ ms=[0-9]*$//')"
	else
		fail "$1" "want 4xx, nothing delivered, daemon alive; got '$(last_reply | head -n 1)', delivered=$(delivered "$1" 1 >/dev/null && echo yes || echo no), alive=$(alive && echo yes || echo no)"
	fi
}

audit_test() {
	local A=$H/audit.log
	[ -f "$A" ] || : >"$A"
	# 1. immutable
	if chattr +i "$A" 2>"$W/chattr.err"; then
		audit_case audit_immutable
		chattr -i "$A"
	else
		skip audit_immutable "chattr +i not supported here: $(cat "$W/chattr.err")"
	fi
	if why=$(signed_ok after_audit1 alice); then
		pass "audit_recovered_immutable: writable again, mail is signed"
	else
		fail audit_recovered_immutable "$why"
	fi
	# 2. replaced by a folder (the writer reopens the path and fails)
	mv "$A" "$A.saved"
	mkdir "$A"
	audit_case audit_is_folder
	rmdir "$A"
	mv "$A.saved" "$A"
	if why=$(signed_ok after_audit2 alice); then
		pass "audit_recovered_folder: the file is back, mail is signed"
	else
		fail audit_recovered_folder "$why"
	fi
	# 3. a full file system
	if small_tmpfs "$W/auditfs" 256k; then
		: >"$W/auditfs/audit.log"
		segel_conf_set audit.file "\"$W/auditfs/audit.log\""
		if segel_reload; then
			fill "$W/auditfs"
			# the reload wrote its own record: the log's last page is
			# partly used, and a short record would still fit in it
			head -c 8192 /dev/zero >>"$W/auditfs/audit.log" 2>/dev/null
			audit_case audit_fs_full
		else
			fail audit_fs_full "reload with audit.file on the tmpfs failed"
		fi
		restore_conf
	else
		skip audit_fs_full "cannot mount a tmpfs here: $(cat "$W/mount.err")"
	fi
	if why=$(signed_ok after_audit3 alice); then
		pass "audit_after: mail is signed again"
	else
		fail audit_after "$why"
	fi
	if segel_ctl_verify=$("$(dirname "$SEGEL_BIN")/segelctl" -c "$H/segel.conf" audit verify 2>&1); then
		pass "audit_chain: the audit chain is intact after the faults ($segel_ctl_verify)"
	else
		fail audit_chain "$segel_ctl_verify"
	fi
}

# ================================================================ reload

reload_test() {
	local pid=$SEGEL_PID c r f off
	# 1. broken configuration: the old one stays
	printf 'this is { not a configuration\n' >>"$H/segel.conf"
	r=0; segel_reload || r=$?
	if [ "$r" -eq 1 ] && [ "$SEGEL_PID" = "$pid" ] && alive; then
		pass "reload_broken: reload refused, same daemon running ($(grep 'reload failed' "$H/segel.log" | tail -n 1 | sed 's/.*\]: //'))"
	else
		fail reload_broken "segel_reload gave $r (want 1), alive=$(alive && echo yes || echo no)"
	fi
	if why=$(signed_ok reload_broken_signs alice); then
		pass "reload_broken_still_signs: the old configuration still signs"
	else
		fail reload_broken_still_signs "$why"
	fi
	cp "$CONF0" "$H/segel.conf"
	segel_reload || fail reload_restore "the original configuration did not load again"

	# 2. a deleted key: that sender unusable, the others fine
	mkdir -p "$W/keys"
	mv "$PKI/certs/$BOB.p12" "$PKI/certs/$BOB.pass" "$W/keys/"
	if segel_reload; then
		pass "reload_deleted_key: configuration loaded without bob's key"
	else
		fail reload_deleted_key "reload failed: $(tail -n 3 "$H/segel.log")"
	fi
	msg deleted_key_bob "$BOB"
	send_sub bob "$BOB" "$TO" "$W/deleted_key_bob.eml" || true
	r=$(last_reply | head -n 1)
	if [[ $r == 550* ]] && grep -qi "$BOB" <<<"$r" && grep -qiE 'none|no usable' <<<"$r"; then
		pass "deleted_key_bob_refused: $r"
	else
		fail deleted_key_bob_refused "want 550 naming bob and the reason, got '$r'"
	fi
	if why=$(signed_ok deleted_key_alice alice); then
		pass "deleted_key_alice_signed: the other senders are still signed"
	else
		fail deleted_key_alice_signed "$why"
	fi
	mv "$W/keys/$BOB.p12" "$W/keys/$BOB.pass" "$PKI/certs/"
	segel_reload || fail reload_restore "bob's key back: reload failed"
	if why=$(signed_ok key_back_bob bob); then
		pass "key_back_bob: bob's key back after a reload, bob is signed"
	else
		fail key_back_bob "$why"
	fi

	# 3. an expired CRL (nextUpdate 30 days ago)
	segel_conf_set pki.crl_dir "\"$PKI/crl-expired\""
	off=$(stat -c %s "$H/segel.log")
	if segel_reload; then
		if tail -c +"$((off + 1))" "$H/segel.log" | grep -q 'past its nextUpdate'; then
			pass "reload_expired_crl: loaded, with the warning: $(tail -c +"$((off + 1))" "$H/segel.log" | grep 'past its nextUpdate' | head -n 1 | sed 's/.*\]: //')"
		else
			fail reload_expired_crl "loaded without the 'past its nextUpdate' warning"
		fi
	else
		fail reload_expired_crl "reload with crl-expired failed: $(tail -n 3 "$H/segel.log")"
	fi
	msg expired_crl_dave "$DAVE"
	send_sub dave "$DAVE" "$TO" "$W/expired_crl_dave.eml" || true
	r=$(last_reply | head -n 1)
	if [[ $r == 550* ]] && grep -qi revoked <<<"$r"; then
		pass "expired_crl_dave_refused: a stale CRL still revokes what it lists: $r"
	else
		fail expired_crl_dave_refused "want 550 revoked, got '$r'"
	fi
	# dave's signature inbound: still revoked
	printf 'Content-Type: text/plain\r\n\r\nSurat dari dave.\r\n' >"$W/dave.txt"
	{
		printf 'From: %s\r\nTo: %s\r\nSubject: t_faults dave_in\r\nMessage-ID: <dave_in.%s@t-faults.example>\r\n' "$DAVE" "$ALICE" "$$"
		openssl cms -sign -binary -in "$W/dave.txt" -signer "$PKI/staff/$DAVE.pem" \
			-inkey "$PKI/staff/$DAVE.key" -certfile "$PKI/chain.pem"
	} >"$W/dave_in.eml"
	send_in "$DAVE" "$ALICE" "$W/dave_in.eml" || true
	if f=$(delivered dave_in) && sink_message "$f" "$W/dave_in.out" &&
		grep -qiE "^Authentication-Results: *$ID;" "$W/dave_in.out" &&
		tr -d '\n' <"$W/dave_in.out" | grep -q 'smime=fail (certificate revoked'; then
		pass "expired_crl_dave_inbound: smime=fail (certificate revoked) with the stale CRL"
	else
		fail expired_crl_dave_inbound "reply '$(last_reply | head -n 1)'; A-R: $(grep -i -A2 '^Authentication-Results' "$W/dave_in.out" 2>/dev/null | tr '\n' ' ')"
	fi
	# issue 14's stale-CRL rule: past pki.crl_grace (24h by default) no
	# one covered by that CRL is signed for: alice's mail waits (451)
	msg expired_crl_alice "$ALICE"
	send_sub alice "$ALICE" "$TO" "$W/expired_crl_alice.eml" || true
	r=$(last_reply | head -n 1)
	case $r in
	451*"revocation unknown"*) pass "expired_crl_alice_waits: past crl_grace, revocation unknown: $r" ;;
	*) fail expired_crl_alice_waits "want 451 revocation unknown, got '$r'" ;;
	esac
	segel_conf_set pki.crl_grace '"31d"'
	segel_reload >/dev/null || true
	if why=$(signed_ok expired_crl_alice_grace alice); then
		pass "expired_crl_alice_signed: within pki.crl_grace others are still signed with the stale CRL"
	else
		fail expired_crl_alice_signed "$why"
	fi
	restore_conf
}

# ================================================================ stuck

stuck_test() {
	local t0 t1 c
	postconf -c "$PF_CONF" -e milter_connect_timeout=5s milter_command_timeout=5s \
		milter_content_timeout=5s &&
		postfix -c "$PF_CONF" reload >/dev/null 2>&1 ||
		{ fail stuck_setup "postconf/postfix reload failed"; return; }
	sleep 1
	kill -STOP "$SEGEL_PID"
	msg stuck "$ALICE"
	t0=$(date +%s)
	send_sub alice "$ALICE" "$TO" "$W/stuck.eml" --timeout 60 || true
	t1=$(date +%s)
	c=$(code)
	kill -CONT "$SEGEL_PID"
	if [[ $c == 4* ]] && [ $((t1 - t0)) -le 40 ]; then
		pass "stuck_tempfail: SIGSTOPped milter, client got $(last_reply | head -n 1) after $((t1 - t0)) s"
	else
		fail stuck_tempfail "want 4xx within 40 s, got '$(last_reply | head -n 1)' after $((t1 - t0)) s"
	fi
	sleep 2
	if delivered stuck 1 >/dev/null; then
		fail stuck_not_delivered "the tempfailed message was delivered"
	else
		pass "stuck_not_delivered: nothing left unsigned"
	fi
	if alive && why=$(signed_ok after_stuck alice); then
		pass "stuck_after_sigcont: SIGCONT, mail flows and is signed again"
	else
		fail stuck_after_sigcont "${why:-daemon not alive}"
	fi
}

# ================================================================ run

PARTS=${FAULTS_PARTS:-kill spool audit reload stuck}
for p in $PARTS; do
	echo "--- $p"
	"${p}_test"
	if ! alive; then
		fail "${p}_daemon" "segel-milter is not running after the $p part; restarting"
		segel_start || { fail restart "cannot restart"; finish; }
	fi
done
finish
