/*
 * util.h - small helpers shared by every module: allocation that aborts on
 * failure (a milter that cannot allocate tempfails via its caller's guard;
 * these are used only where a failure cannot be reported sensibly) and
 * string buffers. The address functions are addr.h's, included here.
 */
#ifndef SEGEL_UTIL_H
#define SEGEL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* Growable byte buffer; always NUL-terminated after any append. */
struct sbuf {
	char *s;
	size_t len, cap;
};
void sbuf_init(struct sbuf *);
void sbuf_free(struct sbuf *);
void sbuf_add(struct sbuf *, const void *, size_t);
void sbuf_adds(struct sbuf *, const char *);
void sbuf_printf(struct sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/* Returns the string and leaves the buffer empty; caller frees. */
char *sbuf_steal(struct sbuf *);

/* write(2) all of p, retrying on EINTR and short writes: 0, or -1 with errno. */
int write_full(int fd, const void *p, size_t n);

/* Wipe and free a secret. Accepts NULL. */
void secret_free(char *, size_t);

#endif
