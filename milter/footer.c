/*
 * footer.c - appends the configured footer to a decoded text part (see
 * footer.h): in the part's own charset when it can hold the text, else the
 * part becomes UTF-8; in HTML as an escaped <p> before the last </body>.
 *
 * Public: footer_add(). Never fails: the worst case is an ASCII
 * transliteration of the footer.
 */
#include <string.h>

#include "footer.h"
#include "mimeio.h"

static bool
charset_is_ascii(const char *cs)
{
	return cs == NULL || g_ascii_strcasecmp(cs, "us-ascii") == 0 ||
	    g_ascii_strcasecmp(cs, "ascii") == 0;
}

/* The footer as an HTML paragraph in pure ASCII (escapes, &#N; refs). */
static GString *
footer_html(const char *footer)
{
	GString *s = g_string_new("<p>");
	const char *p;

	for (p = footer; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c == '&')
			g_string_append(s, "&amp;");
		else if (c == '<')
			g_string_append(s, "&lt;");
		else if (c == '>')
			g_string_append(s, "&gt;");
		else if (c == '"')
			g_string_append(s, "&quot;");
		else if (c == '\n')
			g_string_append(s, "<br>\n");
		else if (c < 0x80)
			g_string_append_c(s, (char)c);
		else
			g_string_append_printf(s, "&#%u;", (unsigned)c);
	}
	g_string_append(s, "</p>\n");
	return s;
}

/* Offset of the last "</body" (any case), or len when there is none. */
static size_t
html_insert_at(const guint8 *p, size_t len)
{
	size_t i = len;

	while (i >= 6) {
		i--;
		if (p[i] == '<' && i + 6 <= len &&
		    g_ascii_strncasecmp((const char *)p + i, "</body", 6) == 0)
			return i;
	}
	return len;
}

static void
bytes_insert(GByteArray *a, size_t off, const char *p, size_t n)
{
	size_t len = a->len;

	g_byte_array_set_size(a, (guint)(len + n));
	memmove(a->data + off + n, a->data + off, len - off);
	memcpy(a->data + off, p, n);
}

static void
relabel_utf8(GMimePart *part)
{
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
	    "charset", "utf-8");
}

/* Converts text from cs to UTF-8 in place; false when it cannot. */
static bool
text_to_utf8(GByteArray *text, const char *cs)
{
	gsize outlen = 0;
	gchar *utf8;

	if (text->len == 0)
		return true;	/* (and data may be NULL) */
	utf8 = g_convert((const char *)text->data, (gssize)text->len,
	    "UTF-8", g_mime_charset_iconv_name(cs), NULL, &outlen, NULL);
	if (utf8 == NULL)
		return false;
	g_byte_array_set_size(text, 0);
	g_byte_array_append(text, (guint8 *)utf8, (guint)outlen);
	g_free(utf8);
	return true;
}

/*
 * Adds the footer to a decoded text (LF line ends) in the part's charset.
 * When the charset cannot hold the footer the text is converted to UTF-8
 * and the part relabelled; when even that fails, '?' stands in for what
 * the charset cannot hold.
 */
void
footer_add(GMimePart *part, GByteArray *text, const char *footer,
    bool html)
{
	const char *cs = g_mime_object_get_content_type_parameter(
	    GMIME_OBJECT(part), "charset");
	GString *add;
	gsize outlen = 0;
	gchar *conv;
	size_t off;

	if (charset_is_ascii(cs) && mimeio_has_8bit(text->data, text->len) &&
	    g_utf8_validate((const char *)text->data, (gssize)text->len,
	    NULL)) {
		relabel_utf8(part);	/* 8-bit text mislabelled us-ascii */
		cs = "utf-8";
	} else if (cs == NULL)
		cs = "us-ascii";
	if (html)
		add = footer_html(footer);
	else {
		add = g_string_new(text->len > 0 &&
		    text->data[text->len - 1] != '\n' ? "\n" : "");
		g_string_append_printf(add, "-- \n%s\n", footer);
	}
	conv = g_convert(add->str, (gssize)add->len,
	    g_mime_charset_iconv_name(cs), "UTF-8", NULL, &outlen, NULL);
	if (conv == NULL && (text_to_utf8(text, cs) ||
	    g_utf8_validate((const char *)text->data, (gssize)text->len,
	    NULL))) {	/* (an unknown charset over UTF-8 text) */
		relabel_utf8(part);
		conv = g_strndup(add->str, add->len);
		outlen = add->len;
	} else if (conv == NULL)
		conv = g_convert_with_fallback(add->str, (gssize)add->len,
		    g_mime_charset_iconv_name(cs), "UTF-8", "?", NULL, &outlen,
		    NULL);
	if (conv == NULL) {	/* a charset iconv does not know */
		conv = g_str_to_ascii(add->str, NULL);
		outlen = strlen(conv);
	}
	off = html ? html_insert_at(text->data, text->len) : text->len;
	if (conv != NULL)
		bytes_insert(text, off, conv, outlen);
	g_free(conv);
	g_string_free(add, TRUE);
}
