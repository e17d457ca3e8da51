/*
 * test_mimefilt.c - segel's quoted-printable encoder and CRLF filter
 * (mimefilt.c), judged by GMime's own decoder: fixed shapes (line ends,
 * blanks before them, "From " lines, long lines, control and 8-bit
 * octets, a last line without line end) and random inputs, each pushed
 * through the filter in chunks of every size from 1 octet up, so that
 * every place the filter must wait for more input is crossed.
 */
#include <check.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "mimefilt.h"
#include "testlib.h"

/* in[0..n) through filter f, written in chunks of step octets. */
static GByteArray *
run_filter(GMimeFilter *f, const char *in, size_t n, size_t step)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeStream *fs = g_mime_stream_filter_new(mem);
	GByteArray *out = g_byte_array_new(), *ba;
	size_t off, k;

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
	for (off = 0; off < n; off += k) {
		k = n - off < step ? n - off : step;
		ck_assert(g_mime_stream_write(fs, in + off, k) == (ssize_t)k);
	}
	ck_assert(g_mime_stream_flush(fs) == 0);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_byte_array_append(out, ba->data, ba->len);
	g_byte_array_free(ba, TRUE);
	g_object_unref(fs);
	g_object_unref(mem);
	return out;
}

/* GMime's decoding of quoted-printable qp. */
static GByteArray *
qp_decode(const GByteArray *qp)
{
	GMimeFilter *d = g_mime_filter_basic_new(
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, FALSE);
	GByteArray *out = run_filter(d, (const char *)qp->data, qp->len,
	    qp->len + 1);

	g_object_unref(d);
	return out;
}

/* in with CRLF made LF: what decoding the encoded text must give. */
static GByteArray *
lf_only(const char *in, size_t n)
{
	GByteArray *out = g_byte_array_new();
	size_t i;

	for (i = 0; i < n; i++)
		if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
			g_byte_array_append(out, (const guint8 *)in + i, 1);
	return out;
}

/* The encoded form: 7-bit printable, lines of at most 76 octets, no
 * blank before a line end, no line starting "From ", ends with LF. */
static void
check_form(const GByteArray *qp, const char *what)
{
	size_t i, col = 0;
	unsigned char c;

	for (i = 0; i < qp->len; i++) {
		c = qp->data[i];
		ck_assert_msg(c == '\n' || c == '\t' || (c >= ' ' && c < 127),
		    "%s: octet %u at %zu", what, c, i);
		if (c == '\n') {
			ck_assert_msg(i == 0 || (qp->data[i - 1] != ' ' &&
			    qp->data[i - 1] != '\t'), "%s: blank at %zu", what,
			    i);
			col = 0;
			continue;
		}
		if (col == 0)
			ck_assert_msg(qp->len - i < 5 ||
			    memcmp(qp->data + i, "From ", 5) != 0,
			    "%s: From at %zu", what, i);
		ck_assert_msg(++col <= 76, "%s: line over 76 at %zu", what, i);
	}
	ck_assert_msg(qp->len == 0 || qp->data[qp->len - 1] == '\n',
	    "%s: no final LF", what);
}

/* Encodes in at every chunk size up to 9 and a big one; each decodes
 * back to in (CRLF read as LF) and has the encoded form. */
static void
round_trip(const char *in, size_t n)
{
	static const size_t steps[] = { 1, 2, 3, 4, 5, 6, 7, 9, 4096 };
	GByteArray *want = lf_only(in, n), *qp, *back, *first = NULL;
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		GMimeFilter *f = mimefilt_qp_new();

		qp = run_filter(f, in, n, steps[i]);
		g_object_unref(f);
		check_form(qp, in);
		back = qp_decode(qp);
		ck_assert_msg(back->len == want->len && (want->len == 0 ||
		    memcmp(back->data, want->data, want->len) == 0), "round trip of \"%.*s\" "
		    "(step %zu): \"%.*s\"", (int)n, in, steps[i],
		    (int)qp->len, qp->data);
		if (first == NULL)
			first = qp;
		else {	/* the chunking changes nothing */
			ck_assert(qp->len == first->len && (qp->len == 0 ||
			    memcmp(qp->data, first->data, qp->len) == 0));
			g_byte_array_free(qp, TRUE);
		}
		g_byte_array_free(back, TRUE);
	}
	g_byte_array_free(first, TRUE);
	g_byte_array_free(want, TRUE);
}

static const char *const shapes[] = {
	"", "a", "a\n", "a\r\n", "\n", "\r\n", "\r", "a\r", "a\rb\n",
	"trailing space \n", "trailing tab\t\r\n", "blank at end ",
	"two blanks  \n  \n", " \r\n\t", "From me\n", "From ", "Fro",
	"F", "F\n", "From\n", "x\nFrom here\r\nFrom there", ">From x\n",
	"From From From\n", "a=b\n", "=\n", "==\r\n=", "caf\xc3\xa9\n",
	"nul\0here\n", "\x7f\x1b\n",
	"0123456789012345678901234567890123456789012345678901234567890123456789012345\n",
	"01234567890123456789012345678901234567890123456789012345678901234567890123 \n",
	"0123456789012345678901234567890123456789012345678901234567890123456789012345"
	"From the soft break on\n",
	"012345678901234567890123456789012345678901234567890123456789012345678901234"
	"From the soft break on\n",
	"01234567890123456789012345678901234567890123456789012345678901234567890123"
	"\xc3\xa9\xc3\xa9\xc3\xa9 \n",
	"-- \nDokumen ini telah ditandatangani secara elektronik.\n",
};

START_TEST(qp_shapes)
{
	const char *s = shapes[_i];
	/* "nul\0here" keeps its NUL */
	size_t n = strncmp(s, "nul", 3) == 0 ? 9 : strlen(s);

	round_trip(s, n);
}
END_TEST

START_TEST(qp_random)
{
	static const char alpha[] = "aF rom\t\r\n=.\xe9\x01";
	char buf[600];
	size_t i, n;
	int k;

	srand(16);
	for (k = 0; k < 40; k++) {
		n = (size_t)(rand() % (int)sizeof(buf));
		for (i = 0; i < n; i++)
			buf[i] = rand() % 4 == 0 ? (char)(rand() % 256) :
			    alpha[rand() % (int)(sizeof(alpha) - 1)];
		round_trip(buf, n);
	}
}
END_TEST

/* "From " armour, blanks and soft breaks in the exact form segel signs. */
START_TEST(qp_exact)
{
	GMimeFilter *f = mimefilt_qp_new();
	const char *in = "From a \r\nb\t\nFrom";
	GByteArray *qp = run_filter(f, in, strlen(in), 3);

	ck_assert_int_eq(qp->len, strlen("=46rom a=20\nb=09\nFrom=\n"));
	ck_assert(memcmp(qp->data, "=46rom a=20\nb=09\nFrom=\n", qp->len) ==
	    0);
	g_byte_array_free(qp, TRUE);
	g_object_unref(f);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mimefilt");
	TCase *tc = tcase_create("filters");

	g_mime_init();
	tcase_add_loop_test(tc, qp_shapes, 0,
	    sizeof(shapes) / sizeof(shapes[0]));
	tcase_set_timeout(tc, 60);	/* a shared, loaded machine */
	tcase_add_test(tc, qp_random);
	tcase_add_test(tc, qp_exact);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
