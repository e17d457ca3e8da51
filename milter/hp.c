/*
 * hp.c - RFC 9788 header protection (see hp.h): the copies segel puts into
 * the part it signs, and the comparison of a received message's outer
 * header with the protected copies.
 *
 * Public: hp_collect(), hp_apply(), hp_check().
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hp.h"
#include "sigtime.h"
#include "util.h"
#include "verify_cms.h"

/* RFC 9788 §2.1 and DESIGN.md: the fields a reader shows or threads by. */
static const char *const hp_fields[] = {
	"From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID",
	"In-Reply-To", "References", NULL
};

/* The fields whose outer copy must say what the protected one says. */
static const char *const hp_compared[] = {
	"From", "To", "Subject", "Date", NULL
};

#define HP_LINE_MAX	998	/* RFC 5322 §2.1.1 */

/* True when name (n bytes, no colon) is in list, case-insensitively. */
static bool
hp_listed(const char *const *list, const char *name, size_t n)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strlen(list[i]) == n && strncasecmp(list[i], name, n) == 0)
			return true;
	return false;
}

/* The end of the field starting at p: past its last line's CRLF (or LF),
 * continuation lines (starting with SP or HTAB) included. */
static const char *
hp_field_end(const char *p)
{
	const char *eol;

	for (;;) {
		if ((eol = strchr(p, '\n')) == NULL)
			return p + strlen(p);
		p = eol + 1;
		if (*p != ' ' && *p != '\t')
			return p;
	}
}

char *
hp_collect(const char *headers, const char *date_added)
{
	struct sbuf out;
	const char *p = headers != NULL ? headers : "", *end;
	size_t n;

	sbuf_init(&out);
	while (*p != '\0' && *p != '\r' && *p != '\n') {
		end = hp_field_end(p);
		n = strcspn(p, ":\r\n");
		if (p[n] == ':' && hp_listed(hp_fields, p, n))
			sbuf_add(&out, p, (size_t)(end - p));
		p = end;
	}
	if (date_added != NULL)
		sbuf_printf(&out, "Date: %s\r\n", date_added);
	if (out.len == 0) {
		sbuf_free(&out);
		return NULL;
	}
	return sbuf_steal(&out);
}

/* True when v (n bytes) can be copied byte for byte: 7-bit, no NUL, no
 * line longer than RFC 5322 allows, and no continuation line of white
 * space only (obsolete syntax a reader may take for the end of the
 * header, so that part 1's structure would read differently). */
static bool
hp_copyable(const char *v, size_t n)
{
	size_t i, line = 0;
	bool cont = false, blank = false;

	for (i = 0; i < n; i++) {
		if ((unsigned char)v[i] >= 0x80 || v[i] == '\0')
			return false;
		if (v[i] == '\n') {
			if (cont && blank)
				return false;
			cont = blank = true;
			line = 0;
			continue;
		}
		if (v[i] != ' ' && v[i] != '\t' && v[i] != '\r')
			blank = false;
		if (++line > HP_LINE_MAX - 40)	/* room for the name */
			return false;
	}
	return !(cont && blank);
}

/* v (n bytes) unfolded: CR and LF dropped, as a reader takes it. */
static char *
hp_unfold(const char *v, size_t n)
{
	char *s = xmalloc(n + 1), *d = s;
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n')
			*d++ = v[i];
	*d = '\0';
	return s;
}

/*
 * GMime writes an address with 8-bit in its addr-spec (RFC 6532) as it is;
 * part 1 must stay 7-bit, so such a value becomes unstructured text in
 * RFC 2047 encoded-words (a reader shows the same characters).
 */
static void
hp_force_7bit(GMimeHeader *h, const char *name, const char *utf8)
{
	const char *raw = g_mime_header_get_raw_value(h);
	char *enc, *line, *folded;
	const char *c;

	for (c = raw != NULL ? raw : ""; *c != '\0'; c++)
		if ((unsigned char)*c >= 0x80)
			break;
	if (raw != NULL && *c == '\0')
		return;
	enc = g_mime_utils_header_encode_text(NULL, utf8, "utf-8");
	line = g_strdup_printf("%s: %s", name, enc);
	folded = g_mime_utils_unstructured_header_fold(NULL, NULL, line);
	g_mime_header_set_raw_value(h, folded + strlen(name) + 1);
	g_free(folded);
	g_free(line);
	g_free(enc);
}

/*
 * One field "name: value" (v: n bytes after the colon, CRLF folds kept,
 * no final CRLF) appended to o's header: as it is when it is 7-bit, else
 * written anew by GMime from its UTF-8 reading.
 */
static void
hp_add(GMimeObject *o, const char *name, const char *v, size_t n)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	GMimeHeader *h;
	struct sbuf raw;
	char *u, *valid;
	size_t i;

	if (!hp_copyable(v, n)) {
		u = hp_unfold(v, n);
		valid = g_utf8_make_valid(u + strspn(u, " \t"), -1);
		g_mime_object_append_header(o, name, valid, "utf-8");
		h = g_mime_header_list_get_header_at(hl,
		    g_mime_header_list_get_count(hl) - 1);
		hp_force_7bit(h, name, valid);
		g_free(valid);
		free(u);
		return;
	}
	/* GMime writes name ":" raw; raw is " value\n" with "\n" folds, and
	 * the writer's filter makes each LF a CRLF. */
	sbuf_init(&raw);
	if (n == 0 || (v[0] != ' ' && v[0] != '\t'))
		sbuf_add(&raw, " ", 1);
	for (i = 0; i < n; i++)
		if (v[i] != '\r')
			sbuf_add(&raw, &v[i], 1);
	sbuf_add(&raw, "\n", 1);
	g_mime_object_append_header(o, name, "", NULL);
	h = g_mime_header_list_get_header_at(hl,
	    g_mime_header_list_get_count(hl) - 1);
	g_mime_header_set_raw_value(h, raw.s);
	sbuf_free(&raw);
}

/* hp="clear" on o's Content-Type, spelled with the quotes of RFC 9788's
 * examples (GMime writes a token value bare; both mean the same). */
static void
hp_mark(GMimeObject *o)
{
	GMimeHeader *h;
	const char *raw;
	const char *bare = "hp=clear\n";
	size_t n, nb = strlen(bare);
	char *v;

	g_mime_object_set_content_type_parameter(o, "hp", "clear");
	h = g_mime_header_list_get_header(g_mime_object_get_header_list(o),
	    "Content-Type");
	if (h == NULL || (raw = g_mime_header_get_raw_value(h)) == NULL ||
	    (n = strlen(raw)) < nb || strcmp(raw + n - nb, bare) != 0)
		return;
	v = xasprintf("%.*shp=\"clear\"\n", (int)(n - nb), raw);
	g_mime_header_set_raw_value(h, v);
	free(v);
}

void
hp_apply(GMimeObject *o, const char *fields)
{
	const char *p = fields != NULL ? fields : "", *end, *v;
	char *name;
	size_t n, vn;

	while (*p != '\0') {
		end = hp_field_end(p);
		n = strcspn(p, ":\r\n");
		if (p[n] == ':') {
			name = xstrndup(p, n);
			v = p + n + 1;
			vn = (size_t)(end - v);
			while (vn > 0 && (v[vn - 1] == '\n' || v[vn - 1] == '\r'))
				vn--;
			hp_add(o, name, v, vn);
			free(name);
		}
		p = end;
	}
	hp_mark(o);
}

/* ---- receiving --------------------------------------------------------- */

/*
 * The raw values of the fields called name in o, each unfolded,
 * encoded-words decoded, runs of white space made one space, trimmed, and
 * joined with "\n"; NULL when o has none.
 */
static char *
hp_values(GMimeObject *o, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	GMimeHeader *h;
	struct sbuf out;
	const char *raw, *nm;
	char *u, *d, *p;
	int i, found = 0, n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;
	bool sp;

	sbuf_init(&out);
	for (i = 0; i < n; i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		if ((nm = g_mime_header_get_name(h)) == NULL ||
		    strcasecmp(nm, name) != 0 ||
		    (raw = g_mime_header_get_raw_value(h)) == NULL)
			continue;
		u = hp_unfold(raw, strlen(raw));
		d = g_mime_utils_header_decode_text(NULL, u);
		if (found++ > 0)
			sbuf_add(&out, "\n", 1);
		sp = false;
		for (p = d + strspn(d, " \t"); *p != '\0'; p++) {
			if (*p == ' ' || *p == '\t') {
				sp = true;
				continue;
			}
			if (sp)
				sbuf_add(&out, " ", 1);
			sp = false;
			sbuf_add(&out, p, 1);
		}
		g_free(d);
		free(u);
	}
	if (found == 0) {
		sbuf_free(&out);
		return NULL;
	}
	return out.s != NULL ? sbuf_steal(&out) : xstrdup("");
}

/* True when the outer and inner copies of name say the same. */
static bool
hp_same(GMimeObject *outer, GMimeObject *inner, const char *name)
{
	char *a = hp_values(outer, name), *b = hp_values(inner, name);
	time_t ta, tb;
	bool same;

	if (a == NULL || b == NULL)
		same = a == b;
	else if (strcasecmp(name, "Date") == 0 && strchr(a, '\n') == NULL &&
	    strchr(b, '\n') == NULL && (ta = sigtime_parse(a)) != -1 &&
	    (tb = sigtime_parse(b)) != -1)
		same = ta == tb;
	else
		same = strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

/* The first raw value of name in o, folds kept as LF, without the leading
 * space and the final newline (what a header edit takes); NULL if none. */
static char *
hp_raw(GMimeObject *o, const char *name)
{
	GMimeHeader *h = g_mime_header_list_get_header(
	    g_mime_object_get_header_list(o), name);
	const char *raw = h != NULL ? g_mime_header_get_raw_value(h) : NULL;
	char *s, *d;
	const char *p;
	size_t n;

	if (raw == NULL)
		return NULL;
	raw += strspn(raw, " \t");
	s = d = xmalloc(strlen(raw) + 1);
	for (p = raw; *p != '\0'; p++)
		if (*p != '\r')
			*d++ = *p;
	*d = '\0';
	n = strlen(s);
	while (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	return s;
}

void
hp_check(GMimeObject *outer, GMimeObject *inner, struct verify_result *res)
{
	struct sbuf diff;
	char *c;
	size_t i;

	if (outer == NULL || inner == NULL ||
	    g_mime_object_get_content_type_parameter(inner, "hp") == NULL)
		return;
	free(res->hp_subject);
	free(res->hp_from);
	res->hp_subject = hp_raw(inner, "Subject");
	res->hp_from = hp_raw(inner, "From");
	if (res->result != AR_PASS)
		return;
	sbuf_init(&diff);
	for (i = 0; hp_compared[i] != NULL; i++)
		if (!hp_same(outer, inner, hp_compared[i]))
			sbuf_printf(&diff, "%s%s", diff.len ? ", " : "",
			    hp_compared[i]);
	if (diff.len > 0) {
		c = xasprintf("signature valid, but the %s outside the signed "
		    "part differ%s from the RFC 9788 protected copy", diff.s,
		    strchr(diff.s, ',') ? "" : "s");
		verify_cms_result(res, AR_POLICY, c);
		free(c);
	}
	sbuf_free(&diff);
}
