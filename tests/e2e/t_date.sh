#!/bin/bash
# t_date.sh - Date and signingTime end to end (issue 19; sigtime.h).
# Thunderbird calls a genuine signature invalid when the message's Date is
# more than an hour from the CMS signingTime, or when there is no Date
# (mailnews/mime/src/mimecms.cpp). alice submits four messages:
#   - a Date of now: Date unchanged, signingTime present and near it;
#   - no Date: segel adds one (exactly one), signingTime within a minute;
#   - a Date three hours old and one three hours ahead: Date unchanged (never
#     backdated or rewritten) and no signingTime in the signed attributes;
# and openssl cms -verify and gpgsm accept all four. Postfix is told not to
# add a Date itself (local_header_rewrite_clients empty), as for the
# city's PCs, which are not the gateway's own addresses.
. "$(dirname "$0")/lib.sh"

TO=warga@example.org
delivered=0

harness_start || { fail harness_start "see above"; finish; }
postconf -c "$PF_CONF" -e "local_header_rewrite_clients =" &&
	postfix -c "$PF_CONF" reload >/dev/null 2>&1 ||
	{ fail postfix_reload "local_header_rewrite_clients"; finish; }
sleep 1

# msg NAME DATE|"" -> file; no Date header when DATE is empty
msg() {
	local f=$H/$1.eml
	{
		printf 'From: Alice Wulandari <alice@%s>\r\nTo: Warga <%s>\r\n' "$DOMAIN" "$TO"
		printf 'Subject: t_date %s\r\nMessage-ID: <%s.%s@pc.%s>\r\n' "$1" "$1" "$RANDOM" "$DOMAIN"
		[ -n "$2" ] && printf 'Date: %s\r\n' "$2"
		printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
		printf 'Undangan rapat koordinasi, hari Senin pukul 09.00 WIB.\r\n'
	} >"$f"
	echo "$f"
}

# The signingTime of a signed message as seconds since the epoch, or "".
signing_time() {
	openssl cms -cmsout -print -in "$1" 2>/dev/null | awk '
		/object: signingTime/ { want = 1; next }
		want && /UTCTIME:|GENERALIZEDTIME:/ { sub(/.*TIME:/, ""); print; exit }
	' | { read -r t && [ -n "$t" ] && date -u -d "$t" +%s; }
}

# date_case NAME DATE WANT: WANT is "time" (signingTime near Date) or
# "notime" (no signingTime); DATE "" submits without a Date.
date_case() {
	local name=$1 date=$2 want=$3 f out dates st dt
	if ! send_sub alice "alice@$DOMAIN" "$TO" "$(msg "$name" "$date")"; then
		fail "$name" "submission refused: $(last_reply)"
		return
	fi
	delivered=$((delivered + 1))
	if ! sink_wait "$delivered" 60 || ! f=$(sink_find "Subject: t_date $name"); then
		fail "$name" "not delivered"
		return
	fi
	out=$H/$name.out
	sink_message "$f" "$out" --crlf
	dates=$(fields "$out" Date)
	if [ "$(printf '%s\n' "$dates" | grep -c .)" != 1 ]; then
		fail "${name}_one_date" "Date fields: [$dates]"
	elif [ -n "$date" ] && [ "$dates" != "$date" ]; then
		fail "${name}_date_kept" "sent [$date], delivered [$dates]"
	else
		pass "${name}_date (Date: $dates)"
	fi
	st=$(signing_time "$out")
	dt=$(date -u -d "$dates" +%s 2>/dev/null)
	case $want in
	time)
		if [ -n "$st" ] && [ -n "$dt" ] && [ $((st > dt ? st - dt : dt - st)) -le 60 ]; then
			pass "${name}_signingtime (signingTime $((st - dt)) s from Date)"
		else
			fail "${name}_signingtime" "signingTime [$st] Date [$dt]"
		fi ;;
	notime)
		if [ -z "$st" ] && openssl cms -cmsout -print -in "$out" 2>/dev/null |
			grep -q 'object: messageDigest'; then
			pass "${name}_no_signingtime"
		else
			fail "${name}_no_signingtime" "signingTime [$st]"
		fi ;;
	esac
	if verify_openssl "$out"; then
		pass "${name}_openssl"
	else
		fail "${name}_openssl" "$(tail -n 3 "$H/last.verify" | tr '\n' ' ')"
	fi
	if verify_gpgsm "$out"; then
		pass "${name}_gpgsm"
	else
		fail "${name}_gpgsm" "$(grep -v '^$' "$H/last.verify" | tail -n 3 | tr '\n' ' ')"
	fi
}

date_case date_now "$(LC_ALL=C date -R)" time
date_case date_none "" time
date_case date_3h_old "$(LC_ALL=C date -R -d '3 hours ago')" notime
date_case date_3h_ahead "$(LC_ALL=C date -R -d '3 hours')" notime
grep -q 'signingTime: add-date' "$H/segel.log" && pass "log_add_date" ||
	fail "log_add_date" "no 'signingTime: add-date' in segel.log"
[ "$(grep -c 'signingTime: omit' "$H/segel.log")" -ge 2 ] && pass "log_omit" ||
	fail "log_omit" "fewer than two 'signingTime: omit' lines in segel.log"
finish
