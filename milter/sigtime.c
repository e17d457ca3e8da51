/*
 * sigtime.c - Date versus CMS signingTime (see sigtime.h for the rule
 * segel follows and where Thunderbird's comes from).
 *
 * Public: sigtime_decide(), sigtime_parse(), sigtime_format(),
 * sigtime_action_name(). Errors: none; what cannot be read is "far".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "sigtime.h"
#include "util.h"

/* The value without (comments) and with one space for each run of WSP. */
static char *
sigtime_uncomment(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && depth > 0 && s[1] != '\0')
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (depth == 0 && isspace((unsigned char)*s)) {
			if (o > out && o[-1] != ' ')
				*o++ = ' ';
		} else if (depth == 0)
			*o++ = *s;
	}
	while (o > out && o[-1] == ' ')
		o--;
	*o = '\0';
	return out;
}

/* A zone every reader takes the same way: NSPR (Thunderbird) reads a
 * missing or unknown zone as the reader's own local time. */
static bool
sigtime_zone_clear(const char *zone)
{
	size_t i;

	if ((zone[0] == '+' || zone[0] == '-') && strlen(zone) == 5) {
		for (i = 1; i < 5; i++)
			if (!isdigit((unsigned char)zone[i]))
				return false;
		return true;
	}
	return strcasecmp(zone, "UT") == 0 || strcasecmp(zone, "UTC") == 0 ||
	    strcasecmp(zone, "GMT") == 0;
}

time_t
sigtime_parse(const char *date)
{
	GDateTime *dt = NULL;
	char *v = NULL, *zone;
	time_t t = -1;

	if (date == NULL)
		goto out;
	v = sigtime_uncomment(date);
	zone = strrchr(v, ' ');
	if (zone == NULL || !sigtime_zone_clear(zone + 1))
		goto out;
	if ((dt = g_mime_utils_header_decode_date(v)) == NULL)
		goto out;
	t = (time_t)g_date_time_to_unix(dt);
out:
	if (dt != NULL)
		g_date_time_unref(dt);
	free(v);
	return t;
}

enum sigtime_action
sigtime_decide(size_t n_date, const char *date, time_t now)
{
	time_t t;
	double d;

	if (n_date == 0)
		return SIGTIME_ADD_DATE;
	/* Readers differ on which of several Date fields counts. */
	if (n_date > 1 || (t = sigtime_parse(date)) == -1)
		return SIGTIME_OMIT;
	d = difftime(t, now);
	if (d < 0)
		d = -d;
	return d <= SIGTIME_TOLERANCE - SIGTIME_MARGIN ? SIGTIME_KEEP :
	    SIGTIME_OMIT;
}

char *
sigtime_format(time_t t)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	/* Names spelled out: strftime's %a and %b follow the locale. */
	if (localtime_r(&t, &tm) == NULL && gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	off = tm.tm_gmtoff / 60;
	return xasprintf("%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

const char *
sigtime_action_name(enum sigtime_action a)
{
	switch (a) {
	case SIGTIME_KEEP:
		return "keep";
	case SIGTIME_ADD_DATE:
		return "add-date";
	case SIGTIME_OMIT:
		return "omit";
	}
	return "?";
}
