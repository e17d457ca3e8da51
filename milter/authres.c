/*
 * authres.c - the RFC 8601 Authentication-Results field for the RFC 7281
 * "smime" method: writing our result and reading the authserv-id of
 * incoming fields (see authres.h).
 *
 * Public: ar_result_name, authres_format, authres_servid (authres_is_ours:
 * authres_ours.c).
 * Values taken from certificates are hostile input: they are quoted or
 * escaped as the grammar requires, stripped of control characters and
 * bounded so that no line of the field reaches 998 characters.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "util.h"

/* Longest comment and property value we write; a line stays < 998. */
#define AUTHRES_MAX_COMMENT	300
#define AUTHRES_MAX_VALUE	900

const char *
ar_result_name(enum ar_result r)
{
	switch (r) {
	case AR_PASS:		return "pass";
	case AR_FAIL:		return "fail";
	case AR_POLICY:		return "policy";
	case AR_NEUTRAL:	return "neutral";
	case AR_TEMPERROR:	return "temperror";
	case AR_PERMERROR:	return "permerror";
	case AR_NONE:
	case AR_SKIP:
	default:		return "none";
	}
}

/* RFC 2045 tspecials. */
static bool
is_tspecial(int c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool
is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

/* RFC 5322 atext. */
static bool
is_atext(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_token_char((unsigned char)*s))
			return false;
	return true;
}

static bool
is_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/*
 * True when s starts with an RFC 8601 result word. "smime=pass" inside a
 * hostile name would read as a result to a filter that only searches the
 * field for it (a Sieve :contains test); such an '=' is written as the
 * quoted-pair "\=", which parsers read as '='.
 */
static bool
result_word(const char *s)
{
	static const char *const w[] = { "pass", "fail", "softfail",
	    "hardfail", "neutral", "none", "policy", "temperror", "permerror",
	    NULL };
	int i;

	for (i = 0; w[i] != NULL; i++)
		if (strncasecmp(s, w[i], strlen(w[i])) == 0)
			return true;
	return false;
}

static bool
escape_eq(const char *s, size_t i)
{
	return s[i] == '=' && result_word(s + i + 1);
}

/* A printable ASCII byte, or '?' for anything else (controls, 8-bit). */
static int
printable(int c)
{
	return c >= 0x20 && c < 0x7f ? c :
	    (c == '\t' || c == '\r' || c == '\n' ? ' ' : '?');
}

/* Appends s (at most max bytes of it) as an RFC 2045 quoted-string. */
static void
add_quoted(struct sbuf *b, const char *s, size_t n)
{
	size_t i;
	char c;

	sbuf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		c = (char)printable((unsigned char)s[i]);
		if (c == '"' || c == '\\' || escape_eq(s, i))
			sbuf_add(b, "\\", 1);
		sbuf_add(b, &c, 1);
	}
	sbuf_add(b, "\"", 1);
}

/* Length of s as written by add_value() or add_identity() at most: quoted,
 * with '"', '\\' and (some) '=' escaped. */
static size_t
quoted_len(const char *s)
{
	size_t n = 2;

	for (; *s != '\0'; s++)
		n += (*s == '"' || *s == '\\' || *s == '=') ? 2 : 1;
	return n;
}

/* A value: a token as is, anything else quoted. */
static void
add_value(struct sbuf *b, const char *s)
{
	if (is_token(s))
		sbuf_adds(b, s);
	else
		add_quoted(b, s, strlen(s));
}

static bool
has_escape_eq(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (escape_eq(s, i))
			return true;
	return false;
}

/* An e-mail identity in [local-part "@"] domain form (RFC 8601 §2.2). */
static void
add_identity(struct sbuf *b, const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t ln;

	if (at == NULL || !is_dot_atom(at + 1, strlen(at + 1)) ||
	    strchr(at + 1, '/') != NULL || strchr(at + 1, '=') != NULL) {
		add_value(b, addr);
		return;
	}
	ln = (size_t)(at - addr);
	if (is_dot_atom(addr, ln) && !has_escape_eq(addr, ln))
		sbuf_add(b, addr, ln);
	else
		add_quoted(b, addr, ln);
	sbuf_adds(b, at);
}

/* A comment: parentheses and backslashes escaped, bounded. */
static void
add_comment(struct sbuf *b, const char *s)
{
	size_t i, n = strlen(s);
	char c;

	sbuf_adds(b, " (");
	for (i = 0; i < n && i < AUTHRES_MAX_COMMENT; i++) {
		c = (char)printable((unsigned char)s[i]);
		if (c == '(' || c == ')' || c == '\\' || escape_eq(s, i))
			sbuf_add(b, "\\", 1);
		sbuf_add(b, &c, 1);
	}
	if (i < n)
		sbuf_adds(b, "...");
	sbuf_add(b, ")", 1);
}

static void
add_prop(struct sbuf *b, const char *name, const char *v, bool identity)
{
	/* bounded as written: escapes can double a value's length */
	if (v == NULL || *v == '\0' || quoted_len(v) > AUTHRES_MAX_VALUE)
		return;
	sbuf_printf(b, "\n\tbody.smime-%s=", name);
	if (identity)
		add_identity(b, v);
	else
		add_value(b, v);
}

char *
authres_format(const char *authserv_id, const struct verify_result *res)
{
	struct sbuf b;

	sbuf_init(&b);
	sbuf_add(&b, " ", 1);
	add_value(&b, authserv_id);
	if (res->result == AR_SKIP) {
		/* Nothing was evaluated: RFC 8601 no-result, with the reason. */
		sbuf_adds(&b, "; none");
		if (res->comment != NULL && *res->comment != '\0')
			add_comment(&b, res->comment);
		return sbuf_steal(&b);
	}
	sbuf_printf(&b, ";\n\tsmime=%s", ar_result_name(res->result));
	if (res->comment != NULL && *res->comment != '\0')
		add_comment(&b, res->comment);
	add_prop(&b, "identifier", res->identifier, true);
	add_prop(&b, "part", res->part, false);
	/* RFC 7281 §3.2.3: serial and issuer go together or not at all. */
	if (res->serial != NULL && res->issuer != NULL &&
	    quoted_len(res->serial) <= AUTHRES_MAX_VALUE &&
	    quoted_len(res->issuer) <= AUTHRES_MAX_VALUE) {
		add_prop(&b, "serial", res->serial, false);
		add_prop(&b, "issuer", res->issuer, false);
	}
	return sbuf_steal(&b);
}

/* Skips folding white space and (nested) comments; NULL when unbalanced. */
static const char *
skip_cfws(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (depth > 0 && *p == '\\') {
			if (*++p == '\0')
				return NULL;
		} else if (*p == '(')
			depth++;
		else if (*p == ')') {
			if (depth == 0)
				return NULL;
			depth--;
		} else if (depth == 0 && *p != ' ' && *p != '\t' &&
		    *p != '\r' && *p != '\n')
			break;
	}
	return depth == 0 ? p : NULL;
}

/* Reads a quoted-string at p ('"'); NULL when unterminated or empty. */
static char *
read_quoted(const char *p, const char **end)
{
	struct sbuf b;

	sbuf_init(&b);
	for (p++; *p != '"'; p++) {
		if (*p == '\0' || (*p == '\\' && *++p == '\0')) {
			sbuf_free(&b);
			return NULL;
		}
		if (*p != '\r' && *p != '\n')	/* unfold */
			sbuf_add(&b, p, 1);
	}
	*end = p + 1;
	if (b.len == 0) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_steal(&b);
}

/*
 * Lenient about what follows the id: a malformed forgery that names our id
 * must still be recognized (and removed) by the caller.
 */
char *
authres_servid(const char *value)
{
	const char *p, *end;
	char *id;

	if (value == NULL || (p = skip_cfws(value)) == NULL)
		return NULL;
	if (*p == '"') {
		if ((id = read_quoted(p, &end)) == NULL)
			return NULL;
	} else {
		for (end = p; is_token_char((unsigned char)*end); end++)
			;
		if (end == p)
			return NULL;
		id = xstrndup(p, (size_t)(end - p));
	}
	if (*end != '\0' && *end != ';' && *end != '(' && *end != ' ' &&
	    *end != '\t' && *end != '\r' && *end != '\n') {
		free(id);
		return NULL;
	}
	return id;
}
