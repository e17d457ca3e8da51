/*
 * diag.h - a list of problems, each tied to a file, a line and a key.
 *
 * Configuration and certificate-store checks collect every problem instead
 * of stopping at the first; diag_print() writes them as
 * "FILE:LINE: key: problem" (or "FILE: key: problem" when no line is known).
 * A diag owns its strings; diag_free() accepts NULL.
 */
#ifndef SEGEL_DIAG_H
#define SEGEL_DIAG_H

#include <stdio.h>
#include <stddef.h>

enum diag_severity { DIAG_ERROR, DIAG_WARNING };

struct diag_item {
	enum diag_severity sev;
	char *file;
	int line;		/* 0: unknown */
	char *key;		/* may be "" */
	char *msg;
};

struct diag {
	struct diag_item *items;
	size_t n, cap;
};

void diag_init(struct diag *);
void diag_free(struct diag *);
void diag_add(struct diag *, enum diag_severity, const char *file, int line,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
size_t diag_count(const struct diag *, enum diag_severity);
void diag_print(const struct diag *, FILE *);
/* Moves every item of src to the end of dst; src is left empty. */
void diag_move(struct diag *dst, struct diag *src);

#endif
