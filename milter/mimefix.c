/*
 * mimefix.c - what a transport would change outside the leaves' content,
 * made safe before signing (see mimefix.h): raw 8-bit, stray CRs and
 * overlong lines in header fields, preambles and epilogues, and forwarded
 * messages too malformed for GMime to re-encode.
 *
 * Public: mimefix_headers(), mimefix_multipart(), mimefix_message().
 * Never fails: what cannot be encoded is replaced ('?', a space, a
 * dropped field, a base64 attachment).
 */
#include <string.h>

#include "mimefix.h"
#include "mimeio.h"

/*
 * True for text a transport would change: 8-bit, a CR not before LF, or a
 * line of more than 900 octets (Postfix breaks lines at 998).
 */
static bool
text_needs_fixing(const char *s)
{
	size_t col = 0;

	for (; *s != '\0'; s++) {
		if ((*s & 0x80) || (*s == '\r' && s[1] != '\n'))
			return true;
		col = *s == '\n' ? 0 : col + 1;
		if (col > 900)
			return true;
	}
	return false;
}

/* A header name can only be printable ASCII: no encoding exists. */
static bool
name_is_clean(const char *n)
{
	if (n == NULL || *n == '\0')
		return false;
	for (; *n != '\0'; n++)
		if (*n <= ' ' || *n > '~' || *n == ':')
			return false;
	return true;
}

/* An RFC 2045 token of sane length (a parameter name). */
static bool
token_is_clean(const char *n)
{
	size_t len = strlen(n);

	return len > 0 && len <= 64 && name_is_clean(n) &&
	    strcspn(n, "()<>@,;:\\\"/[]?=") == len;
}

/*
 * A Content-Type or Content-Disposition value rebuilt from its parsed form
 * with only clean parameter names and quoted values, so that GMime's
 * parameter encoder never sees a hostile name (it loops without end on
 * some 8-bit ones). NULL for other fields. Caller g_free()s.
 */
static char *
structured_clean(const char *field, const char *value)
{
	GMimeContentType *ct = NULL;
	GMimeContentDisposition *cd = NULL;
	GMimeParamList *pl;
	GMimeParam *prm;
	GString *s;
	const char *v;
	int i;

	if (g_ascii_strcasecmp(field, "Content-Type") == 0) {
		ct = g_mime_content_type_parse(NULL, value);
		s = g_string_new(NULL);
		g_string_printf(s, "%s/%s", g_mime_content_type_get_media_type(
		    ct), g_mime_content_type_get_media_subtype(ct));
		pl = g_mime_content_type_get_parameters(ct);
	} else if (g_ascii_strcasecmp(field, "Content-Disposition") == 0) {
		cd = g_mime_content_disposition_parse(NULL, value);
		s = g_string_new(g_mime_content_disposition_get_disposition(cd));
		pl = g_mime_content_disposition_get_parameters(cd);
	} else
		return NULL;
	for (i = 0; i < g_mime_param_list_length(pl); i++) {
		prm = g_mime_param_list_get_parameter_at(pl, i);
		if (!token_is_clean(g_mime_param_get_name(prm)))
			continue;
		g_string_append_printf(s, "; %s=\"", g_mime_param_get_name(prm));
		for (v = g_mime_param_get_value(prm); v && *v != '\0'; v++)
			if (*v == '"' || *v == '\\')
				g_string_append_c(s, '_');
			else
				g_string_append_c(s, *v == '\r' || *v == '\n' ?
				    ' ' : *v);
		g_string_append_c(s, '"');
	}
	if (ct != NULL)
		g_object_unref(ct);
	if (cd != NULL)
		g_object_unref(cd);
	return g_string_free(s, FALSE);
}

/*
 * Raw header values a transport would change (a UTF-8 file name, an
 * unencoded Subject in a forwarded message, a stray CR, an overlong line)
 * are set again from their decoded value, so that GMime writes them folded,
 * with RFC 2047 / RFC 2231 encoding. A field with such a name is dropped.
 */
void
mimefix_headers(GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	GMimeHeader *h;
	const char *raw;
	char *value, *p;
	int i;

	for (i = 0; i < g_mime_header_list_get_count(hl); i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		if (!name_is_clean(g_mime_header_get_name(h))) {
			g_mime_header_list_remove_at(hl, i--);	/* no fix */
			continue;
		}
		raw = g_mime_header_get_raw_value(h);
		if (raw == NULL || !text_needs_fixing(raw))
			continue;
		value = structured_clean(g_mime_header_get_name(h),
		    g_mime_header_get_value(h));
		if (value == NULL)
			value = g_strdup(g_mime_header_get_value(h));
		for (p = value; p != NULL && *p != '\0'; p++)
			if (*p == '\r' || *p == '\n')
				*p = ' ';
		g_mime_header_set_value(h, NULL, value ? value : "", "utf-8");
		raw = g_mime_header_get_raw_value(h);
		if (raw != NULL && text_needs_fixing(raw)) {
			/* 8-bit where no encoding is allowed (a media type) */
			g_free(value);
			value = g_str_to_ascii(g_mime_header_get_value(h), "C");
			g_mime_header_set_value(h, NULL, value, NULL);
		}
		g_free(value);
	}
}

/* RFC 2046 bchars, 1 to 70 of them, not ending in a space. */
static bool
boundary_is_clean(const char *b)
{
	size_t len = strlen(b);

	return len > 0 && len <= 70 && b[len - 1] != ' ' &&
	    strspn(b, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ") == len;
}

/* Nobody reads a preamble or epilogue: 8-bit there becomes '?', a stray
 * CR a space, and overlong lines are broken. */
static char *
text_make_7bit(const char *s)
{
	GString *c;
	size_t col = 0;

	if (s == NULL || !text_needs_fixing(s))
		return NULL;
	c = g_string_sized_new(strlen(s));
	for (; *s != '\0'; s++) {
		if (col >= 900 && *s != '\n' && *s != '\r') {
			g_string_append(c, "\r\n");
			col = 0;
		}
		if (*s & 0x80)
			g_string_append_c(c, '?');
		else if (*s == '\r' && s[1] != '\n')
			g_string_append_c(c, ' ');
		else
			g_string_append_c(c, *s);
		col = *s == '\n' ? 0 : col + 1;
	}
	return g_string_free(c, FALSE);
}

void
mimefix_multipart(GMimeMultipart *mp)
{
	const char *b = g_mime_multipart_get_boundary(mp);
	char *c;

	if (b != NULL && !boundary_is_clean(b))
		g_mime_multipart_set_boundary(mp, NULL);	/* a new one */

	if ((c = text_make_7bit(g_mime_multipart_get_prologue(mp))) != NULL)
		g_mime_multipart_set_prologue(mp, c);
	g_free(c);
	if ((c = text_make_7bit(g_mime_multipart_get_epilogue(mp))) != NULL)
		g_mime_multipart_set_epilogue(mp, c);
	g_free(c);
}



/* True when mb holds octets a transport would change: 8-bit, NUL, a CR
 * not before LF, a line over 998 octets. */
static bool
bytes_unsafe(const struct msgbuf *mb)
{
	unsigned char buf[65536];
	size_t col = 0, i;
	off_t off = 0;
	ssize_t n;
	int prev = 0;

	while ((n = msgbuf_pread(mb, buf, sizeof(buf), off)) > 0) {
		for (i = 0; i < (size_t)n; i++) {
			if (buf[i] == 0 || buf[i] > 0x7f ||
			    (prev == '\r' && buf[i] != '\n'))
				return true;
			col = buf[i] == '\n' ? 0 : col + 1;
			if (col > 998)
				return true;
			prev = buf[i];
		}
		off += n;
	}
	return prev == '\r';
}

/*
 * A forwarded message that is still unsafe once prepared (malformed inside,
 * e.g. a stray CR that GMime reads as the end of a header) is carried as a
 * base64 attachment "forwarded.eml" instead, so that the signature survives
 * the trip. NULL when o is fine (or cannot be replaced).
 */
GMimeObject *
mimefix_message(GMimeObject *o)
{
	struct msgbuf *mb = msgbuf_new(1 << 20, NULL);
	GMimeStream *s = NULL;
	GMimeDataWrapper *w;
	GMimePart *part = NULL;

	if (mimeio_write(o, false, mb) != 0 || !bytes_unsafe(mb))
		goto out;
	msgbuf_reset(mb);
	if (mimeio_write(o, true, mb) != 0 ||
	    (s = mimeio_msgbuf_stream(mb)) == NULL)
		goto out;
	part = g_mime_part_new_with_type("application", "octet-stream");
	w = g_mime_data_wrapper_new_with_stream(s,
	    GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
	g_mime_part_set_filename(part, "forwarded.eml");
 out:
	if (s != NULL)
		g_object_unref(s);
	msgbuf_free(mb);
	return part != NULL ? GMIME_OBJECT(part) : NULL;
}
