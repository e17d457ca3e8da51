/*
 * addr.c - the one reading of mail addresses (see addr.h): envelope
 * arguments, From values, and the per-message From facts. Everything a rule
 * asks of a From value is worked out here, once per field, from one
 * decoding of its encoded-words.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "addr.h"
#include "util.h"

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

/*
 * Whether host (n bytes) is domain: case and one final dot aside, and a
 * non-ASCII name as IDNA maps it (GLib's UTS 46 mapping: fullwidth
 * letters, U+3002 dots, the Kelvin sign), as an IDNA-aware MTA or reader
 * resolves it.
 */
static bool
host_is(const char *host, size_t n, const char *domain)
{
	char *h = xasprintf("@%.*s", (int)n, host), *a = NULL;
	bool r = addr_in_domain(h, domain);
	size_t i;

	for (i = 1; h[i] != '\0' && !r; i++)
		if ((unsigned char)h[i] >= 0x80) {
			if (g_utf8_validate(h + 1, -1, NULL) &&
			    (a = g_hostname_to_ascii(h + 1)) != NULL) {
				free(h);
				h = xasprintf("@%s", a);
				r = addr_in_domain(h, domain);
				g_free(a);
			}
			break;
		}
	free(h);
	return r;
}

/*
 * Whether an envelope address, written as the client wrote it ("<...>",
 * the MAIL or RCPT argument) or as the MTA resolved it ({rcpt_addr}), is
 * in domain as RFC 5321 and Postfix read it: the domain is what follows
 * the last '@' outside a quoted local part, so a quoted local part
 * ("al ice"@d), a source route (@relay:alice@d), comments and stray white
 * space are no way around the rule. Routing that depends on the MTA's own
 * domains (alice%d@[our address]) is what {rcpt_addr} shows.
 */
bool
addr_env_in_domain(const char *v, const char *domain)
{
	const char *p, *host = NULL;
	struct sbuf b;
	bool inq = false, r;

	if (v == NULL || domain == NULL)
		return false;
	sbuf_init(&b);
	for (p = v; *p != '\0'; p++) {
		if (inq) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				inq = false;
		} else if (*p == '"')
			inq = true;
		else if (*p == '(') {
			if ((p = addr_skip_comment(p)) == NULL)
				break;
			p--;
		} else if (*p == '@') {
			host = p;
			b.len = 0;
		} else if (host != NULL && *p != '<' && *p != '>' &&
		    !isspace((unsigned char)*p))
			sbuf_add(&b, p, 1);
	}
	r = host != NULL && b.len > 0 && host_is(b.s, b.len, domain);
	sbuf_free(&b);
	return r;
}

/* Skips a quoted string opening at p; NULL when unterminated. */
static const char *
skip_quoted(const char *p)
{
	for (p++; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* A control character some reader may take for a line break, or hide:
 * all below 0x20 but TAB and the LF or CR LF of folding, and DEL. */
static bool
bad_ctl(const char *p)
{
	unsigned char c = (unsigned char)*p;

	if (c == '\t' || c == '\n')
		return false;
	if (c == '\r')
		return p[1] != '\n';
	return c < 0x20 || c == 0x7f;
}

/*
 * Whether a From value is one mailbox and nothing else a reader could take
 * for an address: "[phrase] <addr-spec> [comments]" or "addr-spec
 * [comments]". addr_normalize is lenient: it gives bob for "alice@x <bob@x>",
 * "<bob@x> <alice@x>" and "bob@x alice@x", which Python's email package
 * reads as alice, and so may a mail reader. Signing needs no doubt.
 */
static bool
from_shape_ok(const char *v)
{
	const char *p, *next;
	size_t words = 0, at_words = 0;
	bool angle = false, quoted = false;

	for (p = v; *p != '\0'; p++)
		if (bad_ctl(p))
			return false;
	for (p = v; *p != '\0'; p = next) {
		next = p + 1;
		if (isspace((unsigned char)*p))
			continue;
		if (*p == '(') {
			if ((next = addr_skip_comment(p)) == NULL)
				return false;
		} else if (angle)	/* only comments after the angle-addr */
			return false;
		else if (*p == '"') {
			if ((next = skip_quoted(p)) == NULL)
				return false;
			quoted = true;
		} else if (*p == '<') {
			if ((next = strchr(p, '>')) == NULL)
				return false;
			next++;
			angle = true;
		} else {
			next = p + strcspn(p, " \t\r\n(\"<");
			if (p + strcspn(p, ",;:>[]\\)") < next)
				return false;	/* a group, a list, a stray special */
			words++;
			if (p + strcspn(p, "@") < next)
				at_words++;
		}
	}
	if (angle)
		return at_words == 0;
	return words == 1 && at_words == 1 && !quoted;
}

/*
 * The value with its encoded-words decoded (RFC 2047, any charset, to
 * UTF-8), as a mail reader shows it: GMime's decoder, the one the rest of
 * segel reads mail with. NUL-free; the caller frees.
 */
static char *
from_decode(const char *v)
{
	char *g = g_mime_utils_header_decode_text(NULL, v);
	char *d = xstrdup(g != NULL ? g : v);

	g_free(g);
	return d;
}

/*
 * Whether what a reader shows of the From value (decoded) names no address
 * but addr:
 * every word of the display name, quoted strings and comments (encoded-words
 * decoded) holding an '@', or a look-alike (U+FF20 FULLWIDTH COMMERCIAL AT,
 * U+FE6B SMALL COMMERCIAL AT), must be addr itself. Else "bob@x" signs mail
 * that shows "alice@x" <bob@x> as alice in readers showing only the name.
 */
static bool
from_display_ok(const char *decoded, const char *addr)
{
	char *d = xstrdup(decoded), *w, *save = NULL;
	bool ok = true;

	for (w = strtok_r(d, " \t\r\n\"()<>,;:", &save); w != NULL && ok;
	    w = strtok_r(NULL, " \t\r\n\"()<>,;:", &save))
		if ((strchr(w, '@') || strstr(w, "\xef\xbc\xa0") ||
		    strstr(w, "\xef\xb9\xab")) && strcasecmp(w, addr) != 0)
			ok = false;
	free(d);
	return ok;
}

/*
 * The addr-spec of a From value as written (the angle-addr, else the whole
 * value), lower-cased and trimmed, for logs: addr_normalize refuses quoted
 * local parts and white space around '@', which readers accept.
 */
static char *
from_addr_spec(const char *v)
{
	const char *s = strchr(v, '<'), *e;
	char *a, *q;

	if (s != NULL && (e = strchr(s, '>')) != NULL)
		s++;
	else {
		s = v;
		e = v + strlen(v);
	}
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	a = xstrndup(s, (size_t)(e - s));
	for (q = a; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	return a;
}

/* The decoded value with U+FF20 and U+FE6B made '@' and the white space
 * around each '@' removed ("alice @ d" is alice@d to RFC 5322's obsolete
 * syntax and to Python's parser). */
static char *
from_decode_ats(const char *decoded)
{
	static const char *const ats[] = { "\xef\xbc\xa0", "\xef\xb9\xab" };
	char *d = xstrdup(decoded), *p, *q;
	size_t i;

	for (i = 0; i < 2; i++)
		for (p = d; (q = strstr(p, ats[i])) != NULL; p = q + 3)
			memcpy(q, "@  ", 3);
	for (p = q = d; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) && (q > d && q[-1] == '@'))
			continue;
		if (*p == '@')
			while (q > d && isspace((unsigned char)q[-1]))
				q--;
		*q++ = *p;
	}
	*q = '\0';
	return d;
}

/*
 * An address in domain that a reader could take the value for: the mailbox
 * as addr_normalize reads it, then as RFC 5321 reads an address (quoted
 * local part, obs-route, white space at '@'), then any address-like word
 * of what a reader shows (decoded). NULL when there is none.
 */
static char *
from_ours(const char *value, const char *decoded, const char *domain)
{
	char *d, *w, *save = NULL, *a, *found = NULL;
	const char *lt;

	if ((a = addr_normalize(value)) != NULL &&
	    addr_env_in_domain(a, domain))
		return a;
	free(a);
	lt = strchr(value, '<');
	a = from_addr_spec(value);
	if (addr_count(value) <= 1 && addr_env_in_domain(lt != NULL ? a :
	    value, domain))
		return a;
	free(a);
	d = from_decode_ats(decoded);
	for (w = strtok_r(d, " \t\r\n\"()<>,;:", &save); w != NULL &&
	    found == NULL; w = strtok_r(NULL, " \t\r\n\"()<>,;:", &save))
		if (strchr(w, '@') != NULL && addr_env_in_domain(w, domain) &&
		    (found = addr_normalize(w)) == NULL)
			found = from_addr_spec(w);
	free(d);
	return found;
}

/* Every reading of one From value, from one decoding of it. */
static void
from_field_read(struct from_field *fl, const char *value, const char *domain)
{
	char *decoded = from_decode(value);

	memset(fl, 0, sizeof(*fl));
	fl->value = xstrdup(value);
	if (from_shape_ok(value))
		fl->addr = addr_normalize(value);
	fl->display_ok = fl->addr != NULL && from_display_ok(decoded, fl->addr);
	if (domain != NULL)
		fl->ours = from_ours(value, decoded, domain);
	free(decoded);
}

/* Frees what from_field_read allocated (not fl itself). */
static void
from_field_free(struct from_field *fl)
{
	free(fl->value);
	free(fl->addr);
	free(fl->ours);
}

/* One more From field: every reading of it, and where the first of ours is. */
void
addr_from_add(struct from_facts *ff, const char *value, const char *domain)
{
	struct from_field *fl;

	if (ff->n == 0)
		ff->first_ours = 0;
	ff->field = xreallocarray(ff->field, ff->n + 1, sizeof(*ff->field));
	fl = &ff->field[ff->n];
	from_field_read(fl, value, domain);
	/* first_ours == n means none so far; it moves with n until found */
	if (ff->first_ours == ff->n && fl->ours == NULL)
		ff->first_ours++;
	ff->n++;
}

/* Frees the fields; ff is left empty (zeroed). Accepts NULL. */
void
addr_from_free(struct from_facts *ff)
{
	size_t i;

	if (ff == NULL)
		return;
	for (i = 0; i < ff->n; i++)
		from_field_free(&ff->field[i]);
	free(ff->field);
	memset(ff, 0, sizeof(*ff));
}

/* Readings of the facts: see addr.h; strings owned by ff. */
const char *
addr_from_single(const struct from_facts *ff)
{
	return ff->n == 1 ? ff->field[0].addr : NULL;
}

const char *
addr_from_signer(const struct from_facts *ff)
{
	return ff->n == 1 && ff->field[0].display_ok ? ff->field[0].addr : NULL;
}

const char *
addr_from_ours(const struct from_facts *ff)
{
	return ff->first_ours < ff->n ? ff->field[ff->first_ours].ours : NULL;
}

const char *
addr_from_shown(const struct from_facts *ff)
{
	const char *a = addr_from_single(ff);

	return a != NULL ? a : addr_from_ours(ff);
}

/* One value's signer reading, for a From outside the message's header
 * block (inside signed content). */
char *
addr_from_mailbox(const char *from_value)
{
	struct from_field fl;
	char *a;

	if (from_value == NULL)
		return NULL;
	from_field_read(&fl, from_value, NULL);
	a = fl.display_ok ? fl.addr : NULL;
	if (a != NULL)
		fl.addr = NULL;
	from_field_free(&fl);
	return a;
}

/* One value's domain reading (the TLS rule's, for tests and tools). */
char *
addr_from_domain_address(const char *from_value, const char *domain)
{
	struct from_field fl;
	char *a;

	if (from_value == NULL || domain == NULL)
		return NULL;
	from_field_read(&fl, from_value, domain);
	a = fl.ours;
	fl.ours = NULL;
	from_field_free(&fl);
	return a;
}
