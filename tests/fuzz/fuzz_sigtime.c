/*
 * fuzz_sigtime.c - the Date reader behind the signingTime decision
 * (sigtime.c): any Date value a sender writes.
 *
 * Input: the Date value (NUL bytes end it).
 *   - sigtime_parse() and sigtime_decide() never crash;
 *   - a value read as instant t is kept (signingTime present) when
 *     signing at t, and left without signingTime three hours later: the
 *     decision follows the distance, never the spelling;
 *   - the Date segel would write for t reads back as t exactly, and is one
 *     line of printable ASCII.
 */
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "sigtime.h"
#include "util.h"

/* Years 1970..9999: what sigtime_format writes with four digits. */
#define T_MAX	((time_t)253402300799LL)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_mime_init();
	setenv("TZ", "WIB-7", 1);
	return 0;
}

static void
check_format(time_t t)
{
	char *v = sigtime_format(t);
	const char *p;

	for (p = v; *p != '\0'; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f, "byte 0x%02x in \"%s\"",
		    (unsigned char)*p, v);
	FUZZ_ASSERT(sigtime_parse(v) == t, "\"%s\" does not read back as %lld",
	    v, (long long)t);
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	time_t t = sigtime_parse(s);

	FUZZ_ASSERT(sigtime_decide(0, s, 0) == SIGTIME_ADD_DATE, "no Date");
	FUZZ_ASSERT(sigtime_decide(2, s, 0) == SIGTIME_OMIT, "two Dates");
	if (t != -1) {
		FUZZ_ASSERT(sigtime_decide(1, s, t) == SIGTIME_KEEP,
		    "\"%s\" read as %lld but not kept at that time", s,
		    (long long)t);
		FUZZ_ASSERT(sigtime_decide(1, s, t + 3 * 3600) == SIGTIME_OMIT,
		    "\"%s\" kept three hours later", s);
		if (t >= 0 && t <= T_MAX)
			check_format(t);
	} else
		FUZZ_ASSERT(sigtime_decide(1, s, 0) == SIGTIME_OMIT,
		    "unreadable \"%s\" not omitted", s);
	free(s);
	return 0;
}
