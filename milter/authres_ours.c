/*
 * authres_ours.c - does an incoming Authentication-Results claim to be
 * ours? (see authres.h).
 *
 * Public: authres_is_ours.
 *
 * Why by meaning: a forged field is removed only if segel recognizes it,
 * but it is believed by whatever reads it later, and mail clients, Sieve
 * filters and people decode and normalise before they compare (Python's
 * email package decodes RFC 2047, a person reads a full-width or Cyrillic
 * letter as the Latin one). So the authserv-id is brought to one form
 * (decoded, unescaped, NFKC, case-folded, invisible characters dropped,
 * look-alikes mapped) and compared with ours brought to the same form.
 * Removing a foreign field by mistake costs nothing; keeping a forged one
 * shows a pass nobody gave.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "authres.h"
#include "util.h"

#define OURS_DECODE_ROUNDS	4	/* encodings inside encodings */

/* RFC 2047 encoded-words, leniently (inside words, in quotes). */
static char *
decode_2047(const char *s)
{
	GMimeParserOptions *o = g_mime_parser_options_new();
	char *d;

	g_mime_parser_options_set_rfc2047_compliance_mode(o,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	d = g_mime_utils_header_decode_text(o, s);
	g_mime_parser_options_free(o);
	return d != NULL ? d : g_strdup(s);
}

/* %XX escapes as their bytes. */
static char *
decode_percent(const char *s)
{
	char *d = g_malloc(strlen(s) + 1), *q = d;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && g_ascii_isxdigit(s[1]) &&
		    g_ascii_isxdigit(s[2])) {
			*q++ = (char)(g_ascii_xdigit_value(s[1]) * 16 +
			    g_ascii_xdigit_value(s[2]));
			s += 2;
		} else
			*q++ = *s;
	}
	*q = '\0';
	return d;
}

/* Comments removed, quotes and backslashes dropped (unescaped). */
static char *
strip_syntax(const char *s)
{
	char *d = g_malloc(strlen(s) + 1), *q = d;
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			if (s[1] == '\0')
				break;
			if (depth == 0)
				*q++ = s[1];
			s++;
		} else if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (depth == 0 && *s != '"')
			*q++ = *s;
	}
	*q = '\0';
	return d;
}

/* A Latin letter or dot a reader takes c for, or c. */
static gunichar
lookalike(gunichar c)
{
	static const gunichar map[][2] = {
		{ 0x0430, 'a' }, { 0x0435, 'e' }, { 0x043e, 'o' },
		{ 0x0440, 'p' }, { 0x0441, 'c' }, { 0x0443, 'y' },
		{ 0x0445, 'x' }, { 0x0456, 'i' }, { 0x0458, 'j' },
		{ 0x0455, 's' }, { 0x0501, 'd' }, { 0x043a, 'k' },
		{ 0x04bb, 'h' }, { 0x0261, 'g' }, { 0x0131, 'i' },
		{ 0x03bf, 'o' }, { 0x03b1, 'a' }, { 0x03b9, 'i' },
		{ 0x03ba, 'k' }, { 0x03bd, 'v' }, { 0x03c1, 'p' },
		{ 0x03c4, 't' }, { 0x0251, 'a' }, { 0x1d0f, 'o' },
		{ 0x3002, '.' }, { 0xff61, '.' }, { 0x2024, '.' },
		{ 0xfe52, '.' }, { 0x00b7, '.' }, { 0x2027, '.' },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(map); i++)
		if (map[i][0] == c)
			return map[i][1];
	return c;
}

/* NFKC, case folded, invisible characters dropped, look-alikes mapped. */
static char *
unicode_fold(const char *s)
{
	char *v = g_utf8_make_valid(s, -1), *n, *f, *p;
	GString *out;
	gunichar c;

	n = g_utf8_normalize(v, -1, G_NORMALIZE_NFKC);
	f = g_utf8_casefold(n != NULL ? n : v, -1);
	g_free(n);
	n = g_utf8_normalize(f, -1, G_NORMALIZE_NFKC);
	out = g_string_new(NULL);
	for (p = n != NULL ? n : f; *p != '\0'; p = g_utf8_next_char(p)) {
		c = g_utf8_get_char(p);
		if (g_unichar_type(c) == G_UNICODE_FORMAT ||
		    g_unichar_type(c) == G_UNICODE_NON_SPACING_MARK ||
		    (g_unichar_iscntrl(c) && !g_unichar_isspace(c)))
			continue;
		g_string_append_unichar(out, g_unichar_isspace(c) ? ' ' :
		    lookalike(c));
	}
	g_free(v);
	g_free(f);
	g_free(n);
	return g_string_free(out, FALSE);
}

/*
 * The leading id of a folded value, up to white space or ';', without
 * trailing dots; with join, white space next to a dot does not end it
 * ("mail . example").
 */
static char *
leading_id(const char *s, bool join)
{
	GString *out = g_string_new(NULL);
	size_t n;

	s += strspn(s, " ");
	for (; *s != '\0' && *s != ';'; s++) {
		if (*s == ' ') {
			n = strspn(s, " ");
			if (!join || (s[n] != '.' && (out->len == 0 ||
			    out->str[out->len - 1] != '.')))
				break;
			s += n - 1;
			continue;
		}
		g_string_append_c(out, *s);
	}
	while (out->len > 0 && out->str[out->len - 1] == '.')
		g_string_truncate(out, out->len - 1);
	return g_string_free(out, FALSE);
}

/* The value as a reader sees it: decoded, unescaped, folded. */
static char *
reader_text(const char *value)
{
	char *s = g_strdup(value), *a, *b;
	int i;

	for (i = 0; i < OURS_DECODE_ROUNDS; i++) {
		a = decode_2047(s);
		b = decode_percent(a);
		g_free(a);
		if (strcmp(b, s) == 0) {
			g_free(b);
			break;
		}
		g_free(s);
		s = b;
	}
	a = strip_syntax(s);
	b = unicode_fold(a);
	g_free(a);
	g_free(s);
	return b;
}

/* A character that continues a host name: "ours.x", "ours-x", "ours1". */
static bool
dns_char(char c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
	    (c & 0x80) != 0;
}

static bool
names(const char *id, const char *ours)
{
	size_t n = strlen(ours);

	return n > 0 && strncmp(id, ours, n) == 0 && !dns_char(id[n]);
}

bool
authres_is_ours(const char *value, const char *authserv_id)
{
	char *text, *ours, *id, *joined;
	bool r;

	if (value == NULL || authserv_id == NULL)
		return false;
	text = reader_text(value);
	id = leading_id(text, false);
	joined = leading_id(text, true);
	g_free(text);
	text = reader_text(authserv_id);
	ours = leading_id(text, false);
	r = names(id, ours) || names(joined, ours);
	g_free(text);
	g_free(ours);
	g_free(id);
	g_free(joined);
	return r;
}
