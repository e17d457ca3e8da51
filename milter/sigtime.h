/*
 * sigtime.h - how a signed message's Date and the CMS signingTime are kept
 * in step, because Thunderbird shows a genuine signature as invalid when
 * they are more than an hour apart or the message has no Date
 * (mailnews/mime/src/mimecms.cpp, nsSMimeVerificationListener::Notify:
 * |Date - signingTime| / 1 s > 3600, or Date not parseable, gives
 * VERIFY_TIME_MISMATCH; no signingTime at all gives SUCCESS).
 *
 * segel never backdates: signingTime is the moment it signs or absent.
 * Pure functions; no I/O, no libmilter.
 */
#ifndef SEGEL_SIGTIME_H
#define SEGEL_SIGTIME_H

#include <stddef.h>
#include <time.h>

/* Thunderbird's window, and the part of it segel leaves unused for clock
 * steps, slow signing and readers that parse a Date differently. */
#define SIGTIME_TOLERANCE	3600
#define SIGTIME_MARGIN		600

enum sigtime_action {
	SIGTIME_KEEP,		/* Date near now: signingTime = now */
	SIGTIME_ADD_DATE,	/* no Date: add Date = now, signingTime = now */
	SIGTIME_OMIT		/* Date far, unclear or several: no signingTime */
};

/* The decision for a message with n_date Date fields, the first being
 * date (NULL when n_date is 0), signed at now. */
enum sigtime_action sigtime_decide(size_t n_date, const char *date,
    time_t now);

/* The instant a Date value names, or -1 when it is not an RFC 5322 date
 * with a zone every reader understands (numeric, UT, UTC or GMT). */
time_t sigtime_parse(const char *date);

/* An RFC 5322 Date value for t in local time with its numeric offset,
 * e.g. "Thu, 03 Dec 2026 17:05:09 +0700"; caller frees. */
char *sigtime_format(time_t t);

/* The action's name for logs: "keep", "add-date", "omit". */
const char *sigtime_action_name(enum sigtime_action);

#endif
