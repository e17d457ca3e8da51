/*
 * util.c - allocation, string buffers and mail-address helpers (see util.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util.h"

static void
oom(void)
{
	fputs("segel: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t sz)
{
	if (sz != 0 && n > (size_t)-1 / sz)
		oom();
	p = realloc(p, n * sz != 0 ? n * sz : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		oom();
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void
sbuf_init(struct sbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
sbuf_free(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

void
sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = xreallocarray(b->s, cap, 1);
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
sbuf_adds(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	sbuf_adds(b, s);
	free(s);
}

char *
sbuf_steal(struct sbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");

	memset(b, 0, sizeof(*b));
	return s;
}

const char *
addr_skip_comment(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return NULL;
}

/* Past the comment at p, or at the end of the string when unterminated. */
static const char *
skip_comment(const char *p)
{
	const char *q = addr_skip_comment(p);

	return q != NULL ? q : p + strlen(p);
}

size_t
addr_count(const char *v)
{
	size_t n = 0;
	int inq = 0, inangle = 0, seen = 0;
	const char *p;

	for (p = v; *p != '\0'; p++) {
		if (inq) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				inq = 0;
			continue;
		}
		if (*p == '(') {
			p = skip_comment(p) - 1;
			continue;
		}
		if (*p == '"')
			inq = 1;
		else if (*p == '<')
			inangle = 1;
		else if (*p == '>')
			inangle = 0;
		else if (*p == ',' && !inangle) {
			if (seen)
				n++;
			seen = 0;
			continue;
		} else if (*p == '@')
			seen = 1;
	}
	if (seen)
		n++;
	return n;
}

char *
addr_normalize(const char *v)
{
	const char *p, *start = NULL, *end = NULL;
	char *a, *q;
	int inq = 0;

	if (v == NULL || addr_count(v) != 1)
		return NULL;
	/* Prefer an angle-addr; else the single bare token holding '@'. */
	for (p = v; *p != '\0'; p++) {
		if (inq) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				inq = 0;
			continue;
		}
		if (*p == '"')
			inq = 1;
		else if (*p == '(')
			p = skip_comment(p) - 1;
		else if (*p == '<') {
			start = p + 1;
			end = strchr(start, '>');
			break;
		}
	}
	if (start == NULL) {
		for (p = v; *p != '\0' && isspace((unsigned char)*p); p++)
			;
		start = p;
		for (; *p != '\0' && !isspace((unsigned char)*p) && *p != '(';
		    p++)
			;
		end = p;
	}
	if (end == NULL || end <= start)
		return NULL;
	a = xstrndup(start, (size_t)(end - start));
	for (q = a; *q != '\0'; q++) {
		if (isspace((unsigned char)*q) || *q == '<' || *q == '>' ||
		    *q == '"' || *q == ',' || (unsigned char)*q < 0x20) {
			free(a);
			return NULL;
		}
		*q = (char)tolower((unsigned char)*q);
	}
	q = strchr(a, '@');
	if (q == NULL || q == a || q[1] == '\0' || strchr(q + 1, '@')) {
		free(a);
		return NULL;
	}
	return a;
}

bool
addr_in_domain(const char *addr, const char *domain)
{
	const char *at;
	size_t n;

	if (addr == NULL || domain == NULL)
		return false;
	if ((at = strrchr(addr, '@')) == NULL)
		return false;
	/* "domain." is the same domain to DNS and to a reader; were it
	 * foreign, "alice@domain." would pass the login check unsigned. */
	n = strlen(domain);
	return strncasecmp(at + 1, domain, n) == 0 &&
	    (at[1 + n] == '\0' || (at[1 + n] == '.' && at[2 + n] == '\0'));
}

bool
addr_equal(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

int
write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void
secret_free(char *s, size_t n)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, n ? n : strlen(s));
	free(s);
}
