#!/bin/bash
# t_man.sh - the manual pages (issue 12): every page in man/ formats without
# a single groff warning (groff -ww -z: warnings do not change groff's exit
# status, so its standard error must be empty); each option and command the
# programs' own usage texts name is described in their page; and "make
# install" puts every page where man(1) finds it. That segel.conf(5) names
# every key of the loader, and no other, is tests/unit/test_man.c.
. "$(dirname "$0")/lib.sh"

MAN=$SEGEL_ROOT/man
bd=${SEGEL_BUILD_DIR:-${BUILD:-build}}
case $bd in /*) ;; *) bd=$SEGEL_ROOT/$bd ;; esac
T=$(mktemp -d /tmp/segel-man.XXXXXX) || { fail mktemp; finish; }
trap 'rm -rf "$T"' EXIT

command -v groff >/dev/null || { skip groff "not installed (make deps: groff-base)"; finish; }

# Every page: no warning at all, in the mdoc or man(7) macros (-mandoc
# picks the right one).
pages=0
for p in "$MAN"/*.[1-9]; do
	[ -e "$p" ] || continue
	pages=$((pages + 1))
	if ! groff -ww -z -mandoc "$p" >"$T/out" 2>"$T/err"; then
		fail "groff $(basename "$p")" "groff exited $?: $(head -3 "$T/err")"
	elif [ -s "$T/err" ]; then
		fail "groff $(basename "$p")" "warnings: $(head -5 "$T/err" | tr '\n' ' ')"
	else
		pass "groff -ww -z $(basename "$p"): no warning"
	fi
done
for want in segel-milter.8 segelctl.8 segel.conf.5 segel-tls-check.8; do
	[ -f "$MAN/$want" ] && pass "man/$want exists" || fail "man/$want" "missing"
done

# documented PAGE WHAT MARKUP...: the page has one of the mdoc lines.
documented() {
	local page=$1 what=$2 m
	shift 2
	for m in "$@"; do
		grep -qE "^\.($m)( |$)" "$MAN/$page" && return 0
	done
	fail "$page documents $what" "no line '.$1' in man/$page"
	return 1
}

# segel-milter's options, from its usage text ("  -c FILE ...").
[ -x "$bd/segel-milter" ] || { fail segel-milter "not built ($bd)"; finish; }
opts=$("$bd/segel-milter" -h 2>&1 | sed -n 's/^  -\([A-Za-z]\) .*/\1/p')
n=0 bad=0
for o in $opts; do
	n=$((n + 1))
	documented segel-milter.8 "-$o" "It Fl $o" || bad=1
done
[ "$n" -ge 5 ] && [ $bad = 0 ] && pass "segel-milter.8 describes all $n options of segel-milter's usage"
[ "$n" -ge 5 ] || fail "segel-milter usage" "only $n options read from it"

# segelctl's commands ("  list [--json] ...", "  audit verify ...").
cmds=$("$bd/segelctl" --help 2>&1 | sed -n 's/^  \([a-z][a-z]*\)\( .*\)\{0,1\}$/\1/p' | sort -u)
n=0 bad=0
for c in $cmds; do
	n=$((n + 1))
	documented segelctl.8 "command $c" "It Cm $c" || bad=1
done
[ "$n" -ge 8 ] && [ $bad = 0 ] && pass "segelctl.8 describes all $n commands of segelctl's usage"
[ "$n" -ge 8 ] || fail "segelctl usage" "only $n commands read from it"
# and each --option any command takes
lopts=$("$bd/segelctl" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u)
n=0 bad=0
for o in $lopts; do
	n=$((n + 1))
	grep -qE "Fl -${o#--}( |$)" "$MAN/segelctl.8" || { fail "segelctl.8 documents $o" "no 'Fl -${o#--}'"; bad=1; }
done
[ "$n" -ge 8 ] && [ $bad = 0 ] && pass "segelctl.8 names all $n long options of segelctl's usage"

# segel-tls-check's options ("  --probe HOST:PORT ...").
opts=$("$SEGEL_ROOT/smtp-tls/check" --help 2>&1 | grep -o -- '^  --[a-z-]*' | sed 's/^  --//')
n=0 bad=0
for o in $opts; do
	n=$((n + 1))
	documented segel-tls-check.8 "--$o" "It Fl -$o" || bad=1
done
[ "$n" -ge 7 ] && [ $bad = 0 ] && pass "segel-tls-check.8 describes all $n options of its usage"
[ "$n" -ge 7 ] || fail "segel-tls-check usage" "only $n options read from it"

# make install: every page under PREFIX/share/man/manN, readable by man(1).
if make -s -C "$SEGEL_ROOT" install DESTDIR="$T/root" PREFIX=/usr BUILD="$bd" >"$T/install.log" 2>&1; then
	n=0
	for p in "$MAN"/*.[1-9]; do
		s=${p##*.}
		if [ -f "$T/root/usr/share/man/man$s/$(basename "$p")" ]; then
			n=$((n + 1))
		else
			fail "make install $(basename "$p")" "not in /usr/share/man/man$s"
		fi
	done
	[ "$n" -eq "$pages" ] && pass "make install puts all $n pages in PREFIX/share/man"
	if command -v man >/dev/null && MANWIDTH=80 man -l "$T/root/usr/share/man/man5/segel.conf.5" 2>/dev/null |
		grep -q 'sign.trusted_hosts'; then
		pass "man -l renders the installed segel.conf(5)"
	else
		fail "man -l segel.conf.5" "rendering lacks sign.trusted_hosts"
	fi
else
	fail "make install DESTDIR" "$(tail -3 "$T/install.log")"
fi
finish
