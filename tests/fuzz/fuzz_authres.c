/*
 * fuzz_authres.c - the Authentication-Results parser and writer.
 *
 * Input: byte 0 picks the result; the rest is split at NUL bytes into
 * VALUE, ID, COMMENT, IDENTIFIER, PART, SERIAL, ISSUER (missing ones NULL).
 *   - authres_servid(VALUE) and authres_is_ours(VALUE, ID) never crash, and
 *     a returned id is non-empty and has no CR/LF (it was unfolded);
 *   - authres_format(ID, result) is a header value whose every LF is
 *     followed by a TAB, without CR or NUL or 8-bit; when ID is 1..200
 *     printable ASCII bytes, no line of the field (with its name) is
 *     longer than 998 bytes (RFC 5322 2.1.1), and
 *     authres_servid() of the formatted value gives ID back exactly
 *     (the round trip that lets segel find and remove its own results);
 *     when ID is also a token, as the configuration demands of
 *     authserv_id, authres_is_ours() knows the formatted value as ours.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "authres.h"
#include "fuzz_common.h"
#include "util.h"

#define NFIELDS 7

static bool
printable_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 200)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/*
 * An id the configuration accepts (conf_check.c check_servid: a token, no
 * tspecials): only for those must authres_is_ours() know the field again.
 * A quoted id with an escaped quote inside is never ours to write.
 */
static bool
token_id(const char *s)
{
	return printable_id(s) && strpbrk(s, " ()<>@,;:\\\"/[]?=") == NULL;
}

/* "Authentication-Results:" before the value on the first line. */
#define AR_NAME_LEN 23

static void
check_value(const char *v, const char *id)
{
	const char *p;
	size_t line = AR_NAME_LEN;
	bool bounded = printable_id(id);

	for (p = v; *p != '\0'; p++) {
		FUZZ_ASSERT(*p != '\r' && (unsigned char)*p < 0x80,
		    "byte 0x%02x in formatted value", (unsigned char)*p);
		if (*p == '\n') {
			FUZZ_ASSERT(p[1] == '\t', "LF not followed by TAB");
			line = 0;
		} else if (++line > 998 && bounded)
			FUZZ_ASSERT(0, "a line longer than 998 bytes: \"%s\"", v);
	}
}

static void
round_trip(const char *id, char **f, int result)
{
	struct verify_result r;
	char *v, *back;

	memset(&r, 0, sizeof(r));
	r.result = (enum ar_result)(result % 8);
	r.comment = f[2];
	r.identifier = f[3];
	r.part = f[4];
	r.serial = f[5];
	r.issuer = f[6];
	v = authres_format(id, &r);
	FUZZ_ASSERT(v != NULL, "authres_format returned NULL");
	check_value(v, id);
	if (printable_id(id)) {
		back = authres_servid(v);
		FUZZ_ASSERT(back != NULL && strcmp(back, id) == 0,
		    "round trip: id \"%s\" came back as \"%s\" from \"%s\"",
		    id, back ? back : "(null)", v);
		if (token_id(id))
			FUZZ_ASSERT(authres_is_ours(v, id), "not ours: \"%s\"",
			    v);
		free(back);
	}
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	char *copy, *f[NFIELDS], *p, *id;
	size_t i, n;

	if (!init) {	/* authres_is_ours decodes RFC 2047 with GMime */
		g_mime_init();
		init = true;
	}
	if (size < 1)
		return 0;
	copy = xmalloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	memset(f, 0, sizeof(f));
	for (p = copy, n = 0; n < NFIELDS && p <= copy + size - 1; n++) {
		f[n] = p;
		p += strlen(p) + 1;
	}

	id = authres_servid(f[0]);
	if (id != NULL) {
		FUZZ_ASSERT(*id != '\0', "empty id");
		for (i = 0; id[i] != '\0'; i++)
			FUZZ_ASSERT(id[i] != '\r' && id[i] != '\n',
			    "CR/LF in id");
	}
	(void)authres_is_ours(f[0], f[1]);
	(void)authres_is_ours(f[0], id);
	round_trip(f[1] != NULL ? f[1] : "mail.example.org", f, data[0]);
	if (id != NULL)
		round_trip(id, f, data[0]);
	free(id);
	free(copy);
	return 0;
}
