/*
 * fuzz_common.c - helpers shared by the libFuzzer targets (fuzz_common.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "util.h"

const char *
fuzz_pki_dir(void)
{
	const char *d = getenv("SEGEL_FUZZ_PKI");

	return d != NULL && *d != '\0' ? d : "build/fuzz/pki";
}

char *
fuzz_tmpdir(const char *name)
{
	const char *base = getenv("FUZZ_TMPDIR");
	char *d;

	d = xasprintf("%s/segel-fuzz-%s.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp", name);
	if (mkdtemp(d) == NULL) {
		perror(d);
		abort();
	}
	return d;
}

const char *
fuzz_pki_path(const char *name)
{
	static char buf[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fuzz_pki_dir(), name);
	return buf[i];
}

void
fuzz_split(const uint8_t *data, size_t size, size_t threshold,
    const char *tmp_dir, char **headers, struct msgbuf **body)
{
	size_t i, hlen = size, boff = size;

	for (i = 0; i < size; i++) {
		if (i + 3 < size && memcmp(data + i, "\r\n\r\n", 4) == 0) {
			hlen = i + 2;
			boff = i + 4;
			break;
		}
		if (i + 1 < size && memcmp(data + i, "\n\n", 2) == 0) {
			hlen = i + 1;
			boff = i + 2;
			break;
		}
	}
	*headers = xmalloc(hlen + 1);
	memcpy(*headers, data, hlen);
	(*headers)[hlen] = '\0';
	*body = msgbuf_new(threshold, tmp_dir);
	if (boff < size && msgbuf_append(*body, data + boff, size - boff) != 0)
		fuzz_fail(__FILE__, __LINE__, "msgbuf_append", "spool failed");
}

void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: fuzz assertion failed: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
