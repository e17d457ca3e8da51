/*
 * audit_walk.c - the audit chain, one record at a time (see audit_walk.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "audit_walk.h"

time_t
audit_time_parse(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return timegm(&tm);
}

void
audit_hex(const unsigned char h[32], char out[65])
{
	size_t i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* One file; the walk's record counter in *index. */
static int
audit_walk_file(const char *file, size_t *index, audit_walk_fn fn,
    void *arg, struct sbuf *err)
{
	struct audit_walk_rec r;
	struct audit_entry e;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int rc = 0;

	if ((fp = fopen(file, "r")) == NULL) {
		sbuf_printf(err, "%s: cannot read: %s", file, strerror(errno));
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.file = file;
	while (rc == 0 && (n = getline(&line, &cap, fp)) > 0) {
		r.line++;
		r.index = ++*index;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		SHA256((unsigned char *)line, (size_t)n, r.hash);
		if (audit_parse(line, (size_t)n, &e) == 0) {
			r.e = &e;
			r.time = audit_time_parse(e.time);
			rc = fn(&r, arg);
			audit_entry_free(&e);
		} else {
			r.e = NULL;
			r.time = -1;
			rc = fn(&r, arg);
		}
	}
	free(line);
	fclose(fp);
	return rc;
}

int
audit_walk(const char *path, audit_walk_fn fn, void *arg, struct sbuf *err)
{
	size_t index = 0;
	char *file;
	int n, i, rc = 0;
	FILE *fp;

	n = audit_rotations(path);
	for (i = n; rc == 0 && i >= 0; i--) {
		file = i > 0 ? xasprintf("%s.%d", path, i) : xstrdup(path);
		/* the current file may not exist yet right after a rotation */
		if (i == 0 && n > 0 && (fp = fopen(file, "r")) == NULL) {
			free(file);
			break;
		} else if (i == 0 && n > 0) {
			fclose(fp);
		}
		rc = audit_walk_file(file, &index, fn, arg, err);
		free(file);
	}
	return rc;
}
