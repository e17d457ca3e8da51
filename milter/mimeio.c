/*
 * mimeio.c - GMime plumbing for mimeprep (see mimeio.h): a write-only
 * stream that appends to a msgbuf (so a large signed entity spools to disk
 * instead of growing a GByteArray), a filter that armours "From " at line
 * starts as "=46rom " in quoted-printable output, writing an object with
 * CRLF into a msgbuf, and a stream over a msgbuf's bytes.
 *
 * Public: mimeio_out_new(), mimeio_out_error(), mimeio_from_new(),
 * mimeio_has_8bit(), mimeio_write(), mimeio_msgbuf_stream(). Errors: a
 * failed append makes every later write fail and is kept for
 * mimeio_out_error().
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mimefilt.h"
#include "mimeio.h"

/* ---- a write-only GMimeStream that appends to a msgbuf ---- */

typedef struct {
	GMimeStream parent;
	struct msgbuf *mb;
	int error;		/* errno of the first failed append */
} MimeioOut;

typedef struct {
	GMimeStreamClass parent_class;
} MimeioOutClass;

G_DEFINE_TYPE(MimeioOut, mimeio_out, GMIME_TYPE_STREAM)

static ssize_t
mimeio_out_write(GMimeStream *s, const char *buf, size_t len)
{
	MimeioOut *o = (MimeioOut *)s;

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
mimeio_out_read(GMimeStream *s, char *buf, size_t len)
{
	(void)s, (void)buf, (void)len;
	return -1;
}

static int
mimeio_out_nop(GMimeStream *s)
{
	(void)s;
	return 0;
}

static gboolean
mimeio_out_eos(GMimeStream *s)
{
	(void)s;
	return TRUE;
}

static gint64
mimeio_out_seek(GMimeStream *s, gint64 off, GMimeSeekWhence whence)
{
	(void)s, (void)off, (void)whence;
	return -1;
}

static gint64
mimeio_out_tell(GMimeStream *s)
{
	return s->position;
}

static GMimeStream *
mimeio_out_substream(GMimeStream *s, gint64 start, gint64 end)
{
	(void)s, (void)start, (void)end;
	return NULL;
}

static void
mimeio_out_class_init(MimeioOutClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS(klass);

	sc->read = mimeio_out_read;
	sc->write = mimeio_out_write;
	sc->flush = mimeio_out_nop;
	sc->close = mimeio_out_nop;
	sc->eos = mimeio_out_eos;
	sc->reset = mimeio_out_nop;
	sc->seek = mimeio_out_seek;
	sc->tell = mimeio_out_tell;
	sc->length = mimeio_out_tell;
	sc->substream = mimeio_out_substream;
}

static void
mimeio_out_init(MimeioOut *o)
{
	o->mb = NULL;
	o->error = 0;
}

GMimeStream *
mimeio_out_new(struct msgbuf *mb)
{
	MimeioOut *o = g_object_new(mimeio_out_get_type(), NULL);

	g_mime_stream_construct(GMIME_STREAM(o), 0, -1);
	o->mb = mb;
	return GMIME_STREAM(o);
}

int
mimeio_out_error(GMimeStream *s)
{
	return ((MimeioOut *)s)->error;
}

/*
 * ---- a filter that armours "From " at line starts as "=46rom " ----
 * GMime's own (GMIME_FILTER_FROM_MODE_ARMOR) drops a last line shorter than
 * five bytes that starts with 'F' (a final "F\n" vanishes), so it is not used.
 */

typedef struct {
	GMimeFilter parent;
	gboolean midline;	/* not at the start of a line */
} MimeioFrom;

typedef struct {
	GMimeFilterClass parent_class;
} MimeioFromClass;

G_DEFINE_TYPE(MimeioFrom, mimeio_from, GMIME_TYPE_FILTER)

static void
mimeio_from_run(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace, gboolean last)
{
	MimeioFrom *ff = (MimeioFrom *)f;
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
mimeio_from_filter(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace)
{
	mimeio_from_run(f, in, len, prespace, out, outlen, outprespace,
	    FALSE);
}

static void
mimeio_from_complete(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace)
{
	mimeio_from_run(f, in, len, prespace, out, outlen, outprespace,
	    TRUE);
}

static void
mimeio_from_reset(GMimeFilter *f)
{
	((MimeioFrom *)f)->midline = FALSE;
}

static GMimeFilter *
mimeio_from_copy(GMimeFilter *f)
{
	(void)f;
	return g_object_new(mimeio_from_get_type(), NULL);
}

static void
mimeio_from_class_init(MimeioFromClass *klass)
{
	GMimeFilterClass *fc = GMIME_FILTER_CLASS(klass);

	fc->copy = mimeio_from_copy;
	fc->filter = mimeio_from_filter;
	fc->complete = mimeio_from_complete;
	fc->reset = mimeio_from_reset;
}

static void
mimeio_from_init(MimeioFrom *ff)
{
	ff->midline = FALSE;
}

GMimeFilter *
mimeio_from_new(void)
{
	return g_object_new(mimeio_from_get_type(), NULL);
}

/* Eight octets at a time: this runs over every visible text part. */
bool
mimeio_has_8bit(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t w, acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, c + i, 8);
		acc |= w;
		if ((i & 511) == 0 && (acc & 0x8080808080808080ULL) != 0)
			return true;
	}
	if ((acc & 0x8080808080808080ULL) != 0)
		return true;
	for (; i < n; i++)
		if (c[i] & 0x80)
			return true;
	return false;
}

/* Writes o (without its own header fields: content_only) with CRLF line
 * ends into out; 0, or an errno value. */
int
mimeio_write(GMimeObject *o, bool content_only, struct msgbuf *out)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	GMimeStream *os = mimeio_out_new(out);
	GMimeStream *fs = g_mime_stream_filter_new(os);
	GMimeFilter *f;
	int e;

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	/* belt and braces: no bare LF may survive (preambles, raw parts) */
	f = mimefilt_crlf_new();
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
	g_object_unref(f);
	if ((content_only ? g_mime_object_write_content_to_stream(o, fo, fs) :
	    g_mime_object_write_to_stream(o, fo, fs)) < 0 ||
	    g_mime_stream_flush(fs) < 0)
		e = mimeio_out_error(os) ? mimeio_out_error(os) : EIO;
	else
		e = mimeio_out_error(os);
	g_object_unref(fs);
	g_object_unref(os);
	g_mime_format_options_free(fo);
	return e;
}

/* A stream over mb's bytes that outlives mb; NULL on failure. */
GMimeStream *
mimeio_msgbuf_stream(const struct msgbuf *mb)
{
	const char *mem = msgbuf_mem(mb);
	int fd;

	if (mem != NULL)
		return g_mime_stream_mem_new_with_buffer(mem, msgbuf_len(mb));
	if ((fd = dup(msgbuf_fd(mb))) == -1)
		return NULL;
	return g_mime_stream_fs_new_with_bounds(fd, 0, (gint64)msgbuf_len(mb));
}
