/*
 * audit_walk.h - reading the audit chain record by record, oldest first,
 * for the checks that look at what the records say (stamps, archive).
 *
 * audit_walk() reads path.N .. path.1, path (as audit_verify() does) and
 * calls fn for each record with the parsed entry and the record's own hash
 * (the chain's head right after it). It does not judge the chain:
 * audit_verify() does. Lines that are not JSON are passed with e NULL.
 */
#ifndef SEGEL_AUDIT_WALK_H
#define SEGEL_AUDIT_WALK_H

#include <stddef.h>
#include <time.h>

#include "audit.h"
#include "util.h"

struct audit_walk_rec {
	const struct audit_entry *e;	/* NULL: not a JSON object */
	unsigned char hash[32];		/* SHA-256 of this line */
	const char *file;
	size_t line;			/* in file, from 1 */
	size_t index;			/* in the whole chain, from 1 */
	time_t time;			/* e->time, or -1 */
};

/* fn returns 0 to go on, anything else to stop (audit_walk returns it). */
typedef int (*audit_walk_fn)(const struct audit_walk_rec *, void *arg);

/* 0 when every file was read; -1 with err set when one could not be. */
int audit_walk(const char *path, audit_walk_fn fn, void *arg,
    struct sbuf *err);

/* "YYYY-MM-DDTHH:MM:SSZ" to time_t; -1 when it is not that. */
time_t audit_time_parse(const char *);
/* 64 lowercase hex digits of h[32] into out[65]. */
void audit_hex(const unsigned char h[32], char out[65]);

#endif
