/*
 * mimefilt.c - the GMime filter of the signing path that sees every byte
 * of each text part (see mimefilt.h): a quoted-printable encoder that also
 * reads CRLF as a line end and armours "From " at line starts (the bare
 * LFs left are made CRLF by mimeio's output stream). Before it, GMime's QP encoder, dos2unix and
 * unix2dos and a separate "From " filter made four octet-at-a-time passes
 * over each text part; at 100 KB they were most of mimeprep's cost
 * (BENCHMARKS.md, issue 16). GMime's own "From " armour
 * (GMIME_FILTER_FROM_MODE_ARMOR) is not used: it drops a last line shorter
 * than five octets that starts with 'F'.
 *
 * Public: mimefilt_qp_new(). Objects are GObjects.
 */
#include <string.h>

#include "mimefilt.h"

/* Longest encoded line before the soft break's "=" (RFC 2045 6.7 (5)). */
#define QP_MAX	75

/* ---- quoted-printable, CRLF or LF in, LF out, "From " armoured ---- */

typedef struct {
	GMimeFilter parent;
	size_t col;		/* octets on the current output line */
} MimefiltQp;

typedef struct {
	GMimeFilterClass parent_class;
} MimefiltQpClass;

G_DEFINE_TYPE(MimefiltQp, mimefilt_qp, GMIME_TYPE_FILTER)

/* Octets that stand for themselves: 1 anywhere, 2 (blanks) but at a
 * line's end. */
static const unsigned char qp_safe[256] = {
	['\t'] = 2, [' '] = 2,
	['!'] = 1, ['"'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1,
	['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1,
	['-'] = 1, ['.'] = 1, ['/'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	[':'] = 1, [';'] = 1, ['<'] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['['] = 1, ['\\'] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
};

/*
 * How many input octets at p (n left) end a line here: 1 for LF, 2 for
 * CRLF, 0 for none; -1 when it cannot be told before more input comes.
 */
static int
qp_eol(const char *p, size_t n, gboolean last)
{
	if (n == 0)
		return last ? 0 : -1;
	if (p[0] == '\n')
		return 1;
	if (p[0] != '\r')
		return 0;
	if (n == 1)
		return last ? 0 : -1;
	return p[1] == '\n' ? 2 : 0;
}

/*
 * The encoded form of the octet at p (n left, n >= 1) on a line with col
 * octets so far, into tok; its length, or 0 when more input is needed to
 * decide (a blank or CR that may end the line, an 'F' that may begin
 * "From ").
 */
static size_t
qp_token(const char *p, size_t n, size_t col, gboolean last, char *tok)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c = (unsigned char)*p;
	int e;

	if (c == ' ' || c == '\t') {	/* encoded at a line's end */
		if ((e = qp_eol(p + 1, n - 1, last)) < 0)
			return 0;
		if (e == 0 && n > 1) {
			tok[0] = (char)c;
			return 1;
		}
	} else if (c == 'F' && col == 0) {
		if (n < 5 && !last && strncmp(p, "From ", n) == 0)
			return 0;
		if (n < 5 || memcmp(p, "From ", 5) != 0) {
			tok[0] = 'F';
			return 1;
		}
	} else if (qp_safe[c]) {
		tok[0] = (char)c;
		return 1;
	}
	tok[0] = '=';
	tok[1] = hex[c >> 4];
	tok[2] = hex[c & 15];
	return 3;
}

/* Encodes in[0..len); what cannot be decided yet is backed up. */
static void
mimefilt_qp_run(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace, gboolean last)
{
	MimefiltQp *q = (MimefiltQp *)f;
	char *p = in, *end = in + len, *o, tok[3];
	size_t t;
	int e;

	(void)prespace;
	g_mime_filter_set_size(f, len * 3 + (len / QP_MAX + 2) * 2 + 8,
	    FALSE);
	o = f->outbuf;
	while (p < end) {
		/* the common octet: printable, not a blank, not a line's 'F' */
		if (qp_safe[(unsigned char)*p] == 1 && q->col < QP_MAX &&
		    (*p != 'F' || q->col > 0)) {
			*o++ = *p++;
			q->col++;
			continue;
		}
		if ((e = qp_eol(p, (size_t)(end - p), last)) < 0)
			break;
		if (e > 0) {
			*o++ = '\n';
			q->col = 0;
			p += e;
			continue;
		}
		if ((t = qp_token(p, (size_t)(end - p), q->col, last,
		    tok)) == 0)
			break;
		if (q->col + t > QP_MAX) {	/* soft line break */
			*o++ = '=';
			*o++ = '\n';
			q->col = 0;
			if ((t = qp_token(p, (size_t)(end - p), 0, last,
			    tok)) == 0)
				break;
		}
		*o++ = tok[0];
		if (t == 3) {
			*o++ = tok[1];
			*o++ = tok[2];
		}
		q->col += t;
		p++;
	}
	if (p < end)
		g_mime_filter_backup(f, p, (size_t)(end - p));
	if (last && q->col > 0) {	/* no line end: as GMime, a soft one */
		*o++ = '=';
		*o++ = '\n';
		q->col = 0;
	}
	*out = f->outbuf;
	*outlen = (size_t)(o - f->outbuf);
	*outprespace = f->outpre;
}

static void
mimefilt_qp_filter(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace)
{
	mimefilt_qp_run(f, in, len, prespace, out, outlen, outprespace,
	    FALSE);
}

static void
mimefilt_qp_complete(GMimeFilter *f, char *in, size_t len, size_t prespace,
    char **out, size_t *outlen, size_t *outprespace)
{
	mimefilt_qp_run(f, in, len, prespace, out, outlen, outprespace, TRUE);
}

static void
mimefilt_qp_reset(GMimeFilter *f)
{
	((MimefiltQp *)f)->col = 0;
}

static GMimeFilter *
mimefilt_qp_copy(GMimeFilter *f)
{
	(void)f;
	return g_object_new(mimefilt_qp_get_type(), NULL);
}

static void
mimefilt_qp_class_init(MimefiltQpClass *klass)
{
	GMimeFilterClass *fc = GMIME_FILTER_CLASS(klass);

	fc->copy = mimefilt_qp_copy;
	fc->filter = mimefilt_qp_filter;
	fc->complete = mimefilt_qp_complete;
	fc->reset = mimefilt_qp_reset;
}

static void
mimefilt_qp_init(MimefiltQp *q)
{
	q->col = 0;
}

GMimeFilter *
mimefilt_qp_new(void)
{
	return g_object_new(mimefilt_qp_get_type(), NULL);
}
