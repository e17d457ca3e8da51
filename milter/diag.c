/*
 * diag.c - problem lists for configuration and store checks (see diag.h).
 * Allocation failure aborts: a checker that cannot report is of no use.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "util.h"

void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
diag_free(struct diag *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].key);
		free(d->items[i].msg);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}

void
diag_add(struct diag *d, enum diag_severity sev, const char *file, int line,
    const char *key, const char *fmt, ...)
{
	struct diag_item *it;
	va_list ap;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->items = xreallocarray(d->items, d->cap, sizeof(*d->items));
	}
	it = &d->items[d->n++];
	it->sev = sev;
	it->file = xstrdup(file ? file : "(unknown)");
	it->line = line;
	it->key = xstrdup(key ? key : "");
	va_start(ap, fmt);
	it->msg = xvasprintf(fmt, ap);
	va_end(ap);
}

size_t
diag_count(const struct diag *d, enum diag_severity sev)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		if (d->items[i].sev == sev)
			n++;
	return n;
}

void
diag_print(const struct diag *d, FILE *fp)
{
	const struct diag_item *it;
	size_t i;

	for (i = 0; i < d->n; i++) {
		it = &d->items[i];
		if (it->line > 0)
			fprintf(fp, "%s:%d: ", it->file, it->line);
		else
			fprintf(fp, "%s: ", it->file);
		if (it->key[0] != '\0')
			fprintf(fp, "%s: ", it->key);
		fprintf(fp, "%s%s\n", it->sev == DIAG_WARNING ? "warning: " : "",
		    it->msg);
	}
}

void
diag_move(struct diag *dst, struct diag *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		if (dst->n == dst->cap) {
			dst->cap = dst->cap ? dst->cap * 2 : 8;
			dst->items = xreallocarray(dst->items, dst->cap,
			    sizeof(*dst->items));
		}
		dst->items[dst->n++] = src->items[i];
	}
	free(src->items);
	memset(src, 0, sizeof(*src));
}
