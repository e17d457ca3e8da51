/*
 * mimeio.c - GMime plumbing for mimeprep (see mimeio.h): a write-only
 * stream that appends to a msgbuf (so a large signed entity spools to disk
 * instead of growing a GByteArray), writing an object with CRLF into a
 * msgbuf, and a stream over a msgbuf's bytes. ("From " armour is done by
 * the quoted-printable encoder, mimefilt.c.)
 *
 * Public: mimeio_out_new(), mimeio_out_error(),
 * mimeio_has_8bit(), mimeio_write(), mimeio_msgbuf_stream(). Errors: a
 * failed append makes every later write fail and is kept for
 * mimeio_out_error().
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mimeio.h"

/* ---- a write-only GMimeStream that appends to a msgbuf ---- */

typedef struct {
	GMimeStream parent;
	struct msgbuf *mb;
	int error;		/* errno of the first failed append */
	char last;		/* the last byte written, for a CR before LF */
} MimeioOut;

typedef struct {
	GMimeStreamClass parent_class;
} MimeioOutClass;

G_DEFINE_TYPE(MimeioOut, mimeio_out, GMIME_TYPE_STREAM)

/* Appends n bytes to the msgbuf; false (error set) when it cannot. */
static bool
mimeio_out_add(MimeioOut *o, const char *p, size_t n)
{
	if (n == 0)
		return true;
	if (msgbuf_append(o->mb, p, n) != 0) {
		o->error = errno ? errno : EIO;
		return false;
	}
	o->parent.position += (gint64)n;
	o->last = p[n - 1];
	return true;
}

/*
 * Appends buf with every LF that has no CR before it made CRLF: the
 * "no bare LF" guarantee for what GMime writes raw (preambles, parts kept
 * as they were), in the one pass that copies the bytes anyway rather than
 * in a filter stage that copies them once more.
 */
static ssize_t
mimeio_out_write(GMimeStream *s, const char *buf, size_t len)
{
	MimeioOut *o = (MimeioOut *)s;
	const char *p = buf, *end = buf + len, *nl;
	bool cr;

	if (o->error != 0)
		return -1;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		cr = nl > p ? nl[-1] == '\r' : o->last == '\r';
		if (!mimeio_out_add(o, p, (size_t)(nl - p)) ||
		    !mimeio_out_add(o, cr ? "\n" : "\r\n", cr ? 1 : 2))
			return -1;
		p = nl + 1;
	}
	if (!mimeio_out_add(o, p, (size_t)(end - p)))
		return -1;
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
	o->last = '\0';
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
	int e;

	/* GMime writes CRLF; the stream makes any bare LF left CRLF too */
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	if ((content_only ? g_mime_object_write_content_to_stream(o, fo, os) :
	    g_mime_object_write_to_stream(o, fo, os)) < 0 ||
	    g_mime_stream_flush(os) < 0)
		e = mimeio_out_error(os) ? mimeio_out_error(os) : EIO;
	else
		e = mimeio_out_error(os);
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
