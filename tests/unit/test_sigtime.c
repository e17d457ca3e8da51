/*
 * test_sigtime.c - Date versus signingTime (sigtime.c), table-driven: the
 * hour Thunderbird allows less segel's margin, dates in the past and the
 * future, zones a reader may read differently, several Date fields, none,
 * and the Date segel writes when it adds one.
 */
#include <check.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigtime.h"
#include "testlib.h"

#define NOW	((time_t)1796292000)	/* Thu, 03 Dec 2026 10:00:00 +0000 */

static const struct {
	size_t n;
	const char *date;
	time_t now;
	enum sigtime_action want;
} cases[] = {
	{ 0, NULL, NOW, SIGTIME_ADD_DATE },
	{ 1, "Thu, 03 Dec 2026 10:00:00 +0000", NOW, SIGTIME_KEEP },
	{ 1, "Thu, 03 Dec 2026 17:00:00 +0700", NOW, SIGTIME_KEEP },
	{ 1, "Thu, 03 Dec 2026 17:00:00 +0700 (WIB)", NOW, SIGTIME_KEEP },
	{ 1, "Thu,  3 Dec 2026 10:00:00 GMT", NOW, SIGTIME_KEEP },
	{ 1, "Thu, 03 Dec 2026 10:00:00 UT", NOW, SIGTIME_KEEP },
	{ 1, "03 Dec 2026 10:00:00 +0000", NOW, SIGTIME_KEEP },
	{ 1, "Thu, 03 Dec 2026 10:00 +0000", NOW, SIGTIME_KEEP },
	/* the edge: 50 minutes either way is kept, one second more is not */
	{ 1, "Thu, 03 Dec 2026 09:10:00 +0000", NOW, SIGTIME_KEEP },
	{ 1, "Thu, 03 Dec 2026 10:50:00 +0000", NOW, SIGTIME_KEEP },
	{ 1, "Thu, 03 Dec 2026 09:09:59 +0000", NOW, SIGTIME_OMIT },
	{ 1, "Thu, 03 Dec 2026 10:50:01 +0000", NOW, SIGTIME_OMIT },
	/* the cases of issue 19: three hours old, three hours ahead */
	{ 1, "Thu, 03 Dec 2026 07:00:00 +0000", NOW, SIGTIME_OMIT },
	{ 1, "Thu, 03 Dec 2026 13:00:00 +0000", NOW, SIGTIME_OMIT },
	{ 1, "Thu, 03 Dec 2026 10:00:00 -0300", NOW, SIGTIME_OMIT },
	{ 1, "Wed, 03 Dec 2025 10:00:00 +0000", NOW, SIGTIME_OMIT },
	/* a zone a reader takes as its own local time: cannot be kept */
	{ 1, "Thu, 03 Dec 2026 10:00:00", NOW, SIGTIME_OMIT },
	{ 1, "Thu, 03 Dec 2026 10:00:00 WIB", NOW, SIGTIME_OMIT },
	{ 1, "Thu, 03 Dec 2026 05:00:00 EST", NOW, SIGTIME_OMIT },
	{ 1, "Thu, 03 Dec 2026 10:00:00 +07", NOW, SIGTIME_OMIT },
	{ 1, "Thu, 03 Dec 2026 10:00:00 +0x00", NOW, SIGTIME_OMIT },
	/* not a date */
	{ 1, "", NOW, SIGTIME_OMIT },
	{ 1, "   ", NOW, SIGTIME_OMIT },
	{ 1, "yesterday +0000", NOW, SIGTIME_OMIT },
	{ 1, "(only a comment)", NOW, SIGTIME_OMIT },
	{ 1, "Thu, 03 Dec 2026 10:00:00 +0000 (unclosed", NOW, SIGTIME_KEEP },
	/* several Date fields: readers differ on which counts */
	{ 2, "Thu, 03 Dec 2026 10:00:00 +0000", NOW, SIGTIME_OMIT },
};

START_TEST(decide_table)
{
	enum sigtime_action a = sigtime_decide(cases[_i].n, cases[_i].date,
	    cases[_i].now);

	ck_assert_msg(a == cases[_i].want, "case %d \"%s\": %s, want %s", _i,
	    cases[_i].date ? cases[_i].date : "(none)",
	    sigtime_action_name(a), sigtime_action_name(cases[_i].want));
}
END_TEST

/* The added Date: RFC 5322, local time with its offset, read back exact. */
START_TEST(format_round_trip)
{
	static const time_t ts[] = { NOW, NOW + 86399, 0, 951782400 };
	char *v;
	size_t i;

	setenv("TZ", "WIB-7", 1);
	tzset();
	v = sigtime_format(NOW);
	ck_assert_str_eq(v, "Thu, 03 Dec 2026 17:00:00 +0700");
	free(v);
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		v = sigtime_format(ts[i]);
		ck_assert_msg(sigtime_parse(v) == ts[i], "%s", v);
		ck_assert(sigtime_decide(1, v, ts[i]) == SIGTIME_KEEP);
		free(v);
	}
	setenv("TZ", "NST+3:30", 1);
	tzset();
	v = sigtime_format(NOW);
	ck_assert_str_eq(v, "Thu, 03 Dec 2026 06:30:00 -0330");
	ck_assert(sigtime_parse(v) == NOW);
	free(v);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sigtime");
	TCase *tc = tcase_create("decisions");

	g_mime_init();
	tcase_add_loop_test(tc, decide_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, format_round_trip);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
