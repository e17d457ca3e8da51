/*
 * mimeprep.c - the canonical, 7-bit MIME entity that gets signed (see
 * mimeprep.h). GMime parses "Content-* headers + CRLF + body" as one part;
 * a spooled body is read through a file stream so that a large attachment
 * is never copied into memory. Leaves are re-encoded by hand-built filter
 * chains (decode, dos2unix for text, encode, From armour) rather than by
 * g_mime_object_encode(), which leaves parts labelled 7bit or binary alone
 * (STANDARDS.md §5). The result is written once, with CRLF, into a msgbuf.
 *
 * Public: mimeprep_entity(), mimeprep_is_protected(). Errors: -1 and a
 * reason in err; nothing is left allocated.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "mimeprep.h"

/* ---- a write-only GMimeStream that appends to a msgbuf ---- */

typedef struct {
	GMimeStream parent;
	struct msgbuf *mb;
	int error;		/* errno of the first failed append */
} MimeprepOut;

typedef struct {
	GMimeStreamClass parent_class;
} MimeprepOutClass;

G_DEFINE_TYPE(MimeprepOut, mimeprep_out, GMIME_TYPE_STREAM)

static ssize_t
mimeprep_out_write(GMimeStream *s, const char *buf, size_t len)
{
	MimeprepOut *o = (MimeprepOut *)s;

	if (o->error != 0)
		return -1;
	if (msgbuf_append(o->mb, buf, len) != 0) {
		o->error = errno ? errno : EIO;
		return -1;
	}
	s->position += (gint64)len;
	return (ssize_t)len;
}

static ssize_t
mimeprep_out_read(GMimeStream *s, char *buf, size_t len)
{
	(void)s, (void)buf, (void)len;
	return -1;
}

static int
mimeprep_out_nop(GMimeStream *s)
{
	(void)s;
	return 0;
}

static gboolean
mimeprep_out_eos(GMimeStream *s)
{
	(void)s;
	return TRUE;
}

static gint64
mimeprep_out_seek(GMimeStream *s, gint64 off, GMimeSeekWhence whence)
{
	(void)s, (void)off, (void)whence;
	return -1;
}

static gint64
mimeprep_out_tell(GMimeStream *s)
{
	return s->position;
}

static GMimeStream *
mimeprep_out_substream(GMimeStream *s, gint64 start, gint64 end)
{
	(void)s, (void)start, (void)end;
	return NULL;
}

static void
mimeprep_out_class_init(MimeprepOutClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS(klass);

	sc->read = mimeprep_out_read;
	sc->write = mimeprep_out_write;
	sc->flush = mimeprep_out_nop;
	sc->close = mimeprep_out_nop;
	sc->eos = mimeprep_out_eos;
	sc->reset = mimeprep_out_nop;
	sc->seek = mimeprep_out_seek;
	sc->tell = mimeprep_out_tell;
	sc->length = mimeprep_out_tell;
	sc->substream = mimeprep_out_substream;
}

static void
mimeprep_out_init(MimeprepOut *o)
{
	o->mb = NULL;
	o->error = 0;
}

static MimeprepOut *
mimeprep_out_new(struct msgbuf *mb)
{
	MimeprepOut *o = g_object_new(mimeprep_out_get_type(), NULL);

	g_mime_stream_construct(GMIME_STREAM(o), 0, -1);
	o->mb = mb;
	return o;
}

/*
 * ---- a filter that armours "From " at line starts as "=46rom " ----
 * GMime's own (GMIME_FILTER_FROM_MODE_ARMOR) drops a last line shorter than
 * five bytes that starts with 'F' (a final "F\n" vanishes), so it is not used.
 */

typedef struct {
	GMimeFilter parent;
	gboolean midline;	/* not at the start of a line */
} MimeprepFrom;

typedef struct {
	GMimeFilterClass parent_class;
} MimeprepFromClass;

G_DEFINE_TYPE(MimeprepFrom, mimeprep_from, GMIME_TYPE_FILTER)

static void
mimeprep_from_run(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace, gboolean last)
{
	MimeprepFrom *ff = (MimeprepFrom *)f;
	char *p = in, *end = in + len, *o, *nl;
	size_t n;

	g_mime_filter_set_size(f, len + (len / 5 + 1) * 2, FALSE);
	o = f->outbuf;
	while (p < end) {
		n = (size_t)(end - p);
		if (!ff->midline && n < 5 && !last && memchr(p, '\n', n) ==
		    NULL && strncmp(p, "From ", n) == 0) {
			g_mime_filter_backup(f, p, n);	/* maybe "From " */
			break;
		}
		if (!ff->midline && n >= 5 && memcmp(p, "From ", 5) == 0) {
			memcpy(o, "=46rom ", 7);
			o += 7;
			p += 5;
			ff->midline = TRUE;
			continue;
		}
		nl = memchr(p, '\n', n);
		n = nl != NULL ? (size_t)(nl - p) + 1 : n;
		memcpy(o, p, n);
		o += n;
		p += n;
		ff->midline = nl == NULL;
	}
	(void)prespace;
	*out = f->outbuf;
	*outlen = (size_t)(o - f->outbuf);
	*outprespace = f->outpre;
}

static void
mimeprep_from_filter(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace)
{
	mimeprep_from_run(f, in, len, prespace, out, outlen, outprespace,
	    FALSE);
}

static void
mimeprep_from_complete(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace)
{
	mimeprep_from_run(f, in, len, prespace, out, outlen, outprespace,
	    TRUE);
}

static void
mimeprep_from_reset(GMimeFilter *f)
{
	((MimeprepFrom *)f)->midline = FALSE;
}

static GMimeFilter *
mimeprep_from_copy(GMimeFilter *f)
{
	(void)f;
	return g_object_new(mimeprep_from_get_type(), NULL);
}

static void
mimeprep_from_class_init(MimeprepFromClass *klass)
{
	GMimeFilterClass *fc = GMIME_FILTER_CLASS(klass);

	fc->copy = mimeprep_from_copy;
	fc->filter = mimeprep_from_filter;
	fc->complete = mimeprep_from_complete;
	fc->reset = mimeprep_from_reset;
}

static void
mimeprep_from_init(MimeprepFrom *ff)
{
	ff->midline = FALSE;
}

/* ---- classification ---- */

bool
mimeprep_is_protected(const char *ct)
{
	static const char *const types[] = { "multipart/signed",
	    "multipart/encrypted", "application/pkcs7-mime",
	    "application/x-pkcs7-mime" };
	size_t i, n;

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t\r\n");
	n = strcspn(ct, "; \t\r\n(");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (n == strlen(types[i]) && strncasecmp(ct, types[i], n) == 0)
			return true;
	return false;
}

static bool
object_is_protected(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	return g_mime_content_type_is_type(ct, "multipart", "signed") ||
	    g_mime_content_type_is_type(ct, "multipart", "encrypted") ||
	    g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
	    g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime");
}

/* A text/plain or text/html part shown inline (not an attachment). */
static bool
leaf_is_visible_text(GMimePart *part)
{
	GMimeObject *o = GMIME_OBJECT(part);
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	const char *disp = g_mime_object_get_disposition(o);

	if (!g_mime_content_type_is_type(ct, "text", "plain") &&
	    !g_mime_content_type_is_type(ct, "text", "html"))
		return false;
	if (disp != NULL && strcasecmp(disp, "attachment") == 0)
		return false;
	return g_mime_part_get_filename(part) == NULL;
}

/* True when raw base64 is 7-bit, alphabet only, lines of at most 76. */
static bool
base64_is_clean(GMimeStream *raw)
{
	char buf[8192];
	ssize_t n, i;
	size_t col = 0;
	bool ok = true;

	g_mime_stream_reset(raw);
	while (ok && (n = g_mime_stream_read(raw, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n && ok; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == '\n')
				col = 0;
			else if (c == '\r')
				continue;
			else if (g_ascii_isalnum(c) || c == '+' || c == '/' ||
			    c == '=')
				ok = ++col <= 76;
			else
				ok = false;
		}
	}
	g_mime_stream_reset(raw);
	return ok;
}

/* ---- re-encoding of leaves ---- */

static void
filter_add(GMimeStream *fs, GMimeFilter *f)
{
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
	g_object_unref(f);
}

/* The part's content decoded (and, for text, with LF line ends); new ref. */
static GMimeStream *
leaf_decoded_stream(GMimePart *part, bool text)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *raw = g_mime_data_wrapper_get_stream(w);
	GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(w);
	GMimeStream *fs;

	g_mime_stream_reset(raw);
	fs = g_mime_stream_filter_new(raw);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE)
		filter_add(fs, g_mime_filter_basic_new(enc, FALSE));
	if (text)
		filter_add(fs, g_mime_filter_dos2unix_new(FALSE));
	return fs;
}

/* Makes decoded (LF line ends for text) the part's content, encoded. */
static void
leaf_set_encoded(GMimePart *part, GMimeStream *decoded, bool text)
{
	GMimeContentEncoding target = text ?
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE :
	    GMIME_CONTENT_ENCODING_BASE64;
	GMimeStream *fs = g_mime_stream_filter_new(decoded);
	GMimeDataWrapper *w;

	filter_add(fs, g_mime_filter_basic_new(target, TRUE));
	if (text)	/* "From " at a line start becomes "=46rom " */
		filter_add(fs, g_object_new(mimeprep_from_get_type(), NULL));
	w = g_mime_data_wrapper_new_with_stream(fs, target);
	g_mime_part_set_content(part, w);
	g_mime_part_set_content_encoding(part, target);
	g_object_unref(w);
	g_object_unref(fs);
}

/* ---- the footer ---- */

static bool
charset_is_ascii(const char *cs)
{
	return cs == NULL || g_ascii_strcasecmp(cs, "us-ascii") == 0 ||
	    g_ascii_strcasecmp(cs, "ascii") == 0;
}

static bool
has_8bit(const guint8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] & 0x80)
			return true;
	return false;
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
static void
footer_add(GMimePart *part, GByteArray *text, const char *footer, bool html)
{
	const char *cs = g_mime_object_get_content_type_parameter(
	    GMIME_OBJECT(part), "charset");
	GString *add;
	gsize outlen = 0;
	gchar *conv;
	size_t off;

	if (charset_is_ascii(cs) && has_8bit(text->data, text->len) &&
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

/* A visible text part: decode, add the footer, re-encode. */
static int
leaf_footer(GMimePart *part, const char *footer, struct sbuf *err)
{
	GMimeContentType *ct = g_mime_object_get_content_type(
	    GMIME_OBJECT(part));
	GMimeStream *dec = leaf_decoded_stream(part, true);
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *text = g_mime_stream_mem_get_byte_array(
	    GMIME_STREAM_MEM(mem));
	int r = -1;

	if (g_mime_stream_write_to_stream(dec, mem) < 0) {
		sbuf_adds(err, "cannot decode a text part");
		goto out;
	}
	footer_add(part, text, footer,
	    g_mime_content_type_is_type(ct, "text", "html"));
	g_mime_stream_reset(mem);
	leaf_set_encoded(part, mem, true);
	r = 0;
 out:
	g_object_unref(mem);
	g_object_unref(dec);
	return r;
}

/* ---- 8-bit outside the leaves' content ---- */

/*
 * Raw 8-bit header values (a UTF-8 file name, an unencoded Subject in a
 * forwarded message) are set again from their decoded value, so that GMime
 * writes them with RFC 2047 / RFC 2231 encoding.
 */
static void
headers_make_7bit(GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	GMimeHeader *h;
	const char *raw;
	char *value;
	int i;

	for (i = 0; i < g_mime_header_list_get_count(hl); i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		raw = g_mime_header_get_raw_value(h);
		if (raw == NULL || !has_8bit((const guint8 *)raw, strlen(raw)))
			continue;
		value = g_strdup(g_mime_header_get_value(h));
		g_mime_header_set_value(h, NULL, value, "utf-8");
		g_free(value);
	}
}

/* Nobody reads a preamble or epilogue; 8-bit there becomes '?'. */
static char *
text_make_7bit(const char *s)
{
	char *c, *p;

	if (s == NULL || !has_8bit((const guint8 *)s, strlen(s)))
		return NULL;
	c = g_strdup(s);
	for (p = c; *p != '\0'; p++)
		if (*p & 0x80)
			*p = '?';
	return c;
}

static void
multipart_make_7bit(GMimeMultipart *mp)
{
	char *c;

	if ((c = text_make_7bit(g_mime_multipart_get_prologue(mp))) != NULL)
		g_mime_multipart_set_prologue(mp, c);
	g_free(c);
	if ((c = text_make_7bit(g_mime_multipart_get_epilogue(mp))) != NULL)
		g_mime_multipart_set_epilogue(mp, c);
	g_free(c);
}

/* ---- the walk ---- */

static int prep_object(GMimeObject *, const char *, bool, struct sbuf *);

static int
prep_leaf(GMimePart *part, const char *footer, bool visible,
    struct sbuf *err)
{
	GMimeObject *o = GMIME_OBJECT(part);
	bool text = g_mime_content_type_is_type(
	    g_mime_object_get_content_type(o), "text", "*");
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *dec;

	if (w == NULL)
		return 0;	/* empty part: nothing to encode */
	if (visible && footer != NULL && leaf_is_visible_text(part))
		return leaf_footer(part, footer, err);
	if (g_mime_part_get_content_encoding(part) ==
	    GMIME_CONTENT_ENCODING_BASE64 &&
	    g_mime_data_wrapper_get_encoding(w) ==
	    GMIME_CONTENT_ENCODING_BASE64 &&
	    base64_is_clean(g_mime_data_wrapper_get_stream(w)))
		return 0;	/* keep the original bytes */
	dec = leaf_decoded_stream(part, text);
	leaf_set_encoded(part, dec, text);
	g_object_unref(dec);
	return 0;
}

/* Multiparts and messages may only be labelled 7bit once leaves are. */
static void
drop_8bit_label(GMimeObject *o)
{
	const char *cte = g_mime_object_get_header(o,
	    "Content-Transfer-Encoding");

	if (cte != NULL && (strcasestr(cte, "8bit") != NULL ||
	    strcasestr(cte, "binary") != NULL))
		g_mime_object_remove_header(o, "Content-Transfer-Encoding");
}

static int
prep_object(GMimeObject *o, const char *footer, bool visible,
    struct sbuf *err)
{
	GMimeMessage *m;
	int i, n;

	if (object_is_protected(o))
		return 0;	/* kept byte for byte */
	headers_make_7bit(o);
	if (GMIME_IS_MULTIPART(o)) {
		drop_8bit_label(o);
		multipart_make_7bit(GMIME_MULTIPART(o));
		n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
		for (i = 0; i < n; i++)
			if (prep_object(g_mime_multipart_get_part(
			    GMIME_MULTIPART(o), i), footer, visible, err) != 0)
				return -1;
		return 0;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		drop_8bit_label(o);
		m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m == NULL || m->mime_part == NULL)
			return 0;
		headers_make_7bit(GMIME_OBJECT(m));
		/* a forwarded message is not ours to add a footer to */
		return prep_object(m->mime_part, footer, false, err);
	}
	if (GMIME_IS_PART(o))
		return prep_leaf(GMIME_PART(o), footer, visible, err);
	return 0;
}

/* ---- input and output ---- */

static bool
has_content_type(const char *h)
{
	const char *p;

	for (p = h; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (g_ascii_strncasecmp(p, "Content-Type:", 13) == 0)
			return true;
	}
	return false;
}

/*
 * "headers + CRLF + body" as one stream; a spooled body is read in place
 * through a duplicate of its descriptor. *fd_off gets the spool file's
 * offset to restore afterwards (-1 when in memory). NULL on failure.
 */
static GMimeStream *
input_stream(const char *headers, const struct msgbuf *body, off_t *fd_off)
{
	GMimeStream *cat = g_mime_stream_cat_new(), *s;
	GString *h = g_string_new(NULL);
	const char *mem = msgbuf_mem(body);
	int fd;

	*fd_off = -1;
	if (!has_content_type(headers))
		g_string_append(h, "Content-Type: text/plain; charset=us-ascii\r\n");
	g_string_append(h, headers);
	g_string_append(h, "\r\n");
	s = g_mime_stream_mem_new_with_buffer(h->str, h->len);
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	g_string_free(h, TRUE);
	if (mem != NULL)
		s = g_mime_stream_mem_new_with_buffer(mem, msgbuf_len(body));
	else {
		fd = dup(msgbuf_fd(body));
		if (fd == -1 || (*fd_off = lseek(fd, 0, SEEK_CUR)) == -1 ||
		    lseek(fd, 0, SEEK_SET) == -1) {
			if (fd != -1)
				close(fd);
			g_object_unref(cat);
			return NULL;
		}
		s = g_mime_stream_fs_new_with_bounds(fd, 0,
		    (gint64)msgbuf_len(body));
	}
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	return cat;
}

/* Writes o with CRLF line ends into out; 0 or -1. */
static int
write_entity(GMimeObject *o, struct msgbuf *out, struct sbuf *err)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	MimeprepOut *os = mimeprep_out_new(out);
	GMimeStream *fs = g_mime_stream_filter_new(GMIME_STREAM(os));
	int r = -1;

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	/* belt and braces: no bare LF may survive (preambles, raw parts) */
	filter_add(fs, g_mime_filter_unix2dos_new(FALSE));
	if (g_mime_object_write_to_stream(o, fo, fs) < 0 ||
	    g_mime_stream_flush(fs) < 0 || os->error != 0) {
		sbuf_printf(err, "cannot write the signed entity: %s",
		    os->error ? strerror(os->error) : "GMime write error");
		goto out;
	}
	r = 0;
 out:
	g_object_unref(fs);
	g_object_unref(os);
	g_mime_format_options_free(fo);
	return r;
}

int
mimeprep_entity(const char *content_headers, const struct msgbuf *body,
    const char *footer, struct msgbuf *out, struct sbuf *err)
{
	GMimeStream *in;
	GMimeParser *parser = NULL;
	GMimeObject *top = NULL;
	off_t fd_off = -1;
	int r = -1;

	if (footer != NULL && *footer == '\0')
		footer = NULL;
	if ((in = input_stream(content_headers ? content_headers : "", body,
	    &fd_off)) == NULL) {
		sbuf_printf(err, "cannot read the spooled body: %s",
		    strerror(errno));
		goto out;
	}
	parser = g_mime_parser_new_with_stream(in);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	if ((top = g_mime_parser_construct_part(parser, NULL)) == NULL) {
		sbuf_adds(err, "cannot parse the message content as MIME");
		goto out;
	}
	if (prep_object(top, footer, true, err) != 0 ||
	    write_entity(top, out, err) != 0)
		goto out;
	r = 0;
 out:
	if (top != NULL)
		g_object_unref(top);
	if (parser != NULL)
		g_object_unref(parser);
	if (in != NULL)
		g_object_unref(in);
	if (fd_off != -1)
		(void)lseek(msgbuf_fd(body), fd_off, SEEK_SET);
	return r;
}
