/*
 * mimeprep.c - the canonical, 7-bit MIME entity that gets signed (see
 * mimeprep.h). GMime parses "Content-* headers + CRLF + body" as one part;
 * a spooled body is read through a file stream so that a large attachment
 * is never copied into memory. Leaves are re-encoded by hand-built filter
 * chains (decode, then base64, or for text mimefilt's quoted-printable
 * that also reads CRLF and armours From) rather than by
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

#include "footer.h"
#include "mimefilt.h"
#include "mimefix.h"
#include "mimeio.h"
#include "hp.h"
#include "mimeprep.h"

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

/* UTF-16 and UTF-32 text has no octet lines to canonicalize or encode as
 * quoted-printable. */
static bool
charset_is_wide(const char *cs)
{
	static const char *const wide[] = { "utf-16", "utf-32", "ucs-2",
	    "ucs-4", "ucs2", "ucs4", "unicode" };
	size_t i;

	for (i = 0; cs != NULL && i < sizeof(wide) / sizeof(wide[0]); i++)
		if (g_ascii_strncasecmp(cs, wide[i], strlen(wide[i])) == 0)
			return true;
	return false;
}

/* True when raw base64 is 7-bit, alphabet only, lines of at most 76. */
static bool
base64_is_clean(GMimeStream *raw)
{
	char buf[8192];
	ssize_t n, i;
	size_t col = 0;
	bool ok = true, cr;
	unsigned char prev = 0;

	g_mime_stream_reset(raw);
	while (ok && (n = g_mime_stream_read(raw, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n && ok; i++) {
			unsigned char c = (unsigned char)buf[i];

			cr = prev == '\r';
			prev = c;
			if (cr && c != '\n')
				ok = false;	/* a CR not before LF */
			else if (c == '\n')
				col = 0;
			else if (c != '\r')
				ok = (g_ascii_isalnum(c) || c == '+' ||
				    c == '/' || c == '=') && ++col <= 76;
		}
	}
	g_mime_stream_reset(raw);
	return ok && prev != '\r';
}

/* ---- re-encoding of leaves ---- */

static void
filter_add(GMimeStream *fs, GMimeFilter *f)
{
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
	g_object_unref(f);
}

/* The part's content decoded, line ends as they are (mimefilt_qp reads
 * CRLF and LF alike); new ref. */
static GMimeStream *
leaf_decoded_stream(GMimePart *part)
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
	return fs;
}

/* Makes decoded the part's content, encoded (text: LF line ends). */
static void
leaf_set_encoded(GMimePart *part, GMimeStream *decoded, bool text)
{
	GMimeContentEncoding target = text ?
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE :
	    GMIME_CONTENT_ENCODING_BASE64;
	GMimeStream *fs = g_mime_stream_filter_new(decoded);
	GMimeDataWrapper *w;

	/* for text: quoted-printable, "From " at a line start "=46rom " */
	filter_add(fs, text ? mimefilt_qp_new() :
	    g_mime_filter_basic_new(target, TRUE));
	w = g_mime_data_wrapper_new_with_stream(fs, target);
	g_mime_part_set_content(part, w);
	g_mime_part_set_content_encoding(part, target);
	g_object_unref(w);
	g_object_unref(fs);
}

/* Wide (UTF-16/32) text in place to UTF-8 with LF line ends. */
static void
wide_to_utf8(GMimePart *part, GByteArray *text, const char *cs)
{
	gsize len = 0, i, j;
	gchar *u;

	if (text->len == 0)
		return;
	u = g_convert((const char *)text->data, (gssize)text->len, "UTF-8",
	    g_mime_charset_iconv_name(cs), NULL, &len, NULL);
	if (u == NULL)
		return;		/* left as it is; the footer falls back */
	for (i = j = 0; i < len; i++)
		if (u[i] != '\r' || i + 1 >= len || u[i + 1] != '\n')
			u[j++] = u[i];
	g_byte_array_set_size(text, 0);
	g_byte_array_append(text, (guint8 *)u, (guint)j);
	g_free(u);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
	    "charset", "utf-8");
}

/* A visible text part: decode, add the footer, re-encode. */
static int
leaf_footer(GMimePart *part, const char *footer, struct sbuf *err)
{
	GMimeObject *o = GMIME_OBJECT(part);
	const char *cs = g_mime_object_get_content_type_parameter(o,
	    "charset");
	bool wide = charset_is_wide(cs);
	GMimeStream *dec = leaf_decoded_stream(part);
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *text = g_mime_stream_mem_get_byte_array(
	    GMIME_STREAM_MEM(mem));
	int r = -1;

	if (g_mime_stream_write_to_stream(dec, mem) < 0) {
		sbuf_adds(err, "cannot decode a text part");
		goto out;
	}
	if (wide)
		wide_to_utf8(part, text, cs);
	footer_add(part, text, footer, g_mime_content_type_is_type(
	    g_mime_object_get_content_type(o), "text", "html"));
	g_mime_stream_reset(mem);
	leaf_set_encoded(part, mem, true);
	r = 0;
 out:
	g_object_unref(mem);
	g_object_unref(dec);
	return r;
}

/* ---- the walk ---- */

static int prep_object(GMimeObject *, const char *, bool, struct sbuf *);

static int
prep_leaf(GMimePart *part, const char *footer, bool visible,
    struct sbuf *err)
{
	GMimeObject *o = GMIME_OBJECT(part);
	bool text = g_mime_content_type_is_type(
	    g_mime_object_get_content_type(o), "text", "*") &&
	    !charset_is_wide(g_mime_object_get_content_type_parameter(o,
	    "charset"));	/* wide text attachments go as base64 */
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
	dec = leaf_decoded_stream(part);
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

/* Prepares part i of mp, replacing a forwarded message left unsafe. */
static int
prep_child(GMimeMultipart *mp, int i, const char *footer, bool visible,
    struct sbuf *err)
{
	GMimeObject *o = g_mime_multipart_get_part(mp, i), *repl;

	if (prep_object(o, footer, visible, err) != 0)
		return -1;
	if (GMIME_IS_MESSAGE_PART(o) && (repl = mimefix_message(o)) != NULL) {
		g_object_unref(g_mime_multipart_replace(mp, i, repl));
		g_object_unref(repl);
	}
	return 0;
}

static int
prep_object(GMimeObject *o, const char *footer, bool visible,
    struct sbuf *err)
{
	GMimeMessage *m;
	int i, n;

	/* A signed or encrypted entity's own header fields are not covered by
	 * its signature: a stray CR or 8-bit byte there is fixed like any
	 * other; its content is kept byte for byte. */
	mimefix_headers(o);
	if (object_is_protected(o))
		return 0;
	if (GMIME_IS_MULTIPART(o)) {
		drop_8bit_label(o);
		mimefix_multipart(GMIME_MULTIPART(o));
		n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
		for (i = 0; i < n; i++)
			if (prep_child(GMIME_MULTIPART(o), i, footer, visible,
			    err) != 0)
				return -1;
		return 0;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		drop_8bit_label(o);
		m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m == NULL)
			return 0;
		mimefix_headers(GMIME_OBJECT(m));
		if (m->mime_part == NULL)
			return 0;
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
		if (g_ascii_strncasecmp(p, "Content-Type", 12) == 0 &&
		    p[12 + strspn(p + 12, " \t")] == ':')
			return true;
	}
	return false;
}

/*
 * Appends the header block with white space before the colon of Content-*
 * names removed: readers disagree on "Content-Type :" (Python's email
 * ends the header block there, GMime reads the field), and segel's
 * verifier calls such MIME ambiguous, so it is never signed that way.
 */
static void
add_headers(GString *h, const char *headers)
{
	const char *p, *eol;
	size_t n, sp;

	for (p = headers; *p != '\0'; p = eol) {
		eol = p + strcspn(p, "\n");
		if (*eol == '\n')
			eol++;
		n = strcspn(p, ":\n");
		sp = 0;
		if (p[n] == ':' && g_ascii_strncasecmp(p, "Content-", 8) == 0)
			while (sp < n && (p[n - sp - 1] == ' ' || p[n - sp - 1] == '\t'))
				sp++;
		g_string_append_len(h, p, (gssize)(n - sp));
		g_string_append_len(h, p + n, (gssize)(eol - (p + n)));
	}
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
	add_headers(h, headers);
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

static int
write_entity(GMimeObject *o, struct msgbuf *out, struct sbuf *err)
{
	int e = mimeio_write(o, false, out);

	if (e != 0)
		sbuf_printf(err, "cannot write the signed entity: %s",
		    strerror(e));
	return e != 0 ? -1 : 0;
}

int
mimeprep_entity(const char *content_headers, const struct msgbuf *body,
    const char *footer, struct msgbuf *out, struct sbuf *err)
{
	return mimeprep_entity_hp(content_headers, NULL, body, footer, out,
	    err);
}

int
mimeprep_entity_hp(const char *content_headers, const char *protected,
    const struct msgbuf *body, const char *footer, struct msgbuf *out,
    struct sbuf *err)
{
	GMimeStream *in;
	GMimeParser *parser = NULL;
	GMimeObject *top = NULL, *repl;
	char *foot = NULL;
	off_t fd_off = -1;
	int r = -1;

	if (footer != NULL && *footer != '\0')	/* U+FFFD for bad bytes */
		foot = g_utf8_make_valid(footer, -1);
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
	if (prep_object(top, foot, true, err) != 0)
		goto out;
	if (GMIME_IS_MESSAGE_PART(top) && (repl = mimefix_message(top)) != NULL) {
		g_object_unref(top);
		top = repl;
	}
	if (protected != NULL)
		hp_apply(top, protected);
	if (write_entity(top, out, err) != 0)
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
	g_free(foot);
	return r;
}
