/*
 * test_verify_mime.c - the pure byte-level decisions of verify_mime.c,
 * table-driven: RFC 2046 delimiter lines (only transport padding after
 * one), boundary syntax, bare CR, and the cut of a multipart body.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "testlib.h"
#include "verify_der.h"
#include "verify_mime.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct {
	const char *line;
	int want;
} delims[] = {
	{ "--BB\r\n", 1 }, { "--BB\n", 1 }, { "--BB", 1 }, { "--BB \t\r\n", 1 },
	{ "--BB--\r\n", 2 }, { "--BB--", 2 }, { "--BB-- \t \r\n", 2 },
	{ "--BB--x\r\n", 0 },		/* issue 18: text after the close */
	{ "--BB--x", 0 }, { "--BB-- x\r\n", 0 }, { "--BB---\r\n", 0 },
	{ "--BBx\r\n", 0 }, { "--BB x\r\n", 0 }, { "--BB\r\r\n", 0 },
	{ "--BB\rx\r\n", 0 }, { "--BB\f\r\n", 0 }, { "--BB\v\r\n", 0 },
	{ "--BB\r", 0 }, { "--B\r\n", 0 }, { "-BB\r\n", 0 }, { " --BB\r\n", 0 },
	{ "--bb\r\n", 0 }, { "--BB-\r\n", 0 }, { "--BB--\r\r\n", 0 },
};

START_TEST(test_delim)
{
	const char *l = delims[_i].line;

	ck_assert_msg(vmime_delim(l, strlen(l), "BB", 2) == delims[_i].want,
	    "[%s]: %d, want %d", l, vmime_delim(l, strlen(l), "BB", 2),
	    delims[_i].want);
}
END_TEST

static const struct {
	const char *b;
	bool ok;
} bounds[] = {
	{ "BB", true }, { "----=_Part_1.2:3", true }, { "a b", true },
	{ "'()+_,-./:=?", true }, { "", false }, { "BB ", false },
	{ "B\"B", false }, { "B;B", false }, { "B\tB", false }, { "B\xc3\xa9", false },
	{ "0123456789012345678901234567890123456789012345678901234567890123456789", true },
	{ "01234567890123456789012345678901234567890123456789012345678901234567890", false },
};

START_TEST(test_boundary)
{
	ck_assert_msg(vmime_boundary_ok(bounds[_i].b) == bounds[_i].ok, "[%s]",
	    bounds[_i].b);
}
END_TEST

static const struct {
	const char *s;
	bool bare;
} crs[] = {
	{ "", false }, { "a\r\nb\r\n", false }, { "a\nb", false },
	{ "a\rb", true }, { "a\r", true }, { "a\r\r\n", true }, { "\r", true },
};

START_TEST(test_bare_cr)
{
	ck_assert(vmime_bare_cr(crs[_i].s, strlen(crs[_i].s), false) ==
	    crs[_i].bare);
}
END_TEST

/* child idx of body under boundary BB: its bytes, or NULL for none */
static const struct {
	const char *body;
	int idx;
	const char *want;
	int count;
} cuts[] = {
	{ "pre\r\n--BB\r\nA\r\n--BB\r\nS\r\n--BB--\r\n", 0, "A", 2 },
	{ "pre\r\n--BB\r\nA\r\n--BB\r\nS\r\n--BB--\r\n", 1, "S", 2 },
	{ "--BB\r\nA\r\n--BB--x\r\nEVIL\r\n--BB\r\nS\r\n--BB--\r\n", 0,
	  "A\r\n--BB--x\r\nEVIL", 2 },
	{ "--BB\r\nA\r\n--BB \r\nS\r\n--BB-- \r\n", 0, "A", 2 },
	{ "--BB\r\nA\r\n--BBB\r\nS\r\n--BB--\r\n", 0, "A\r\n--BBB\r\nS", 1 },
	{ "--BB\r\nA\r\n--BB--\r\n--BB\r\nX\r\n", 1, NULL, 1 },
	{ "--BB\r\nA", 0, NULL, 1 },	/* never ended */
	{ "no delimiter\r\n", 0, NULL, 0 },
	{ "--BB--\r\n--BB\r\nA\r\n--BB--\r\n", 0, NULL, 0 },
	{ "--BB\nA\n--BB\nS\n--BB--\n", 0, "A", 2 },
};

START_TEST(test_cut)
{
	const char *b = cuts[_i].body;
	size_t off = 0, len = 0;
	int r = vmime_child(b, strlen(b), "BB", cuts[_i].idx, &off, &len, false);

	if (cuts[_i].want == NULL)
		ck_assert_int_eq(r, -1);
	else {
		ck_assert_int_eq(r, 0);
		ck_assert_msg(len == strlen(cuts[_i].want) &&
		    memcmp(b + off, cuts[_i].want, len) == 0, "case %d: [%.*s]",
		    _i, (int)len, b + off);
	}
	ck_assert_int_eq(vmime_count(b, strlen(b), "BB", false), cuts[_i].count);
}
END_TEST

/* ---- verify_der: a SignedData taken apart (hand-made DER) ---- */

#define OID_DATA "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
#define OID_SIGNED "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"
#define SD_HEAD "\x02\x01\x01\x31\x00"		/* version, digestAlgorithms */
/* ContentInfo { signedData, [0] { SEQ { v, algs, SEQ { data, [0] OCTET
 * STRING "abc" }, signerInfos {} } } } */
static const char der_ok[] = "\x30\x2a" OID_SIGNED "\xa0\x1d\x30\x1b" SD_HEAD
    "\x30\x12" OID_DATA "\xa0\x05\x04\x03" "abc" "\x31\x00";
static const char der_small[] = "\x30\x23" OID_SIGNED "\xa0\x16\x30\x14" SD_HEAD
    "\x30\x0b" OID_DATA "\x31\x00";

static const struct {
	const char *der;
	size_t n;
	int want;
} splits[] = {
	{ der_ok, sizeof(der_ok) - 1, 0 },
	/* no eContent: detached */
	{ "\x30\x23" OID_SIGNED "\xa0\x16\x30\x14" SD_HEAD "\x30\x0b" OID_DATA
	  "\x31\x00", 37, VDER_ABSENT },
	/* indefinite lengths, chunked content: BER */
	{ "\x30\x80" OID_SIGNED "\xa0\x1d\x30\x1b" SD_HEAD "\x30\x12" OID_DATA
	  "\xa0\x05\x04\x03" "abc" "\x31\x00\x00\x00", 46, VDER_BER },
	{ "\x30\x2a" OID_SIGNED "\xa0\x1d\x30\x1b" SD_HEAD "\x30\x12" OID_DATA
	  "\xa0\x05\x24\x03\x04\x01" "a" "\x31\x00", 44, -1 },
	/* malformed */
	{ der_ok, 20, -1 },
	{ "\x31\x2a" OID_SIGNED, 13, -1 },
	{ "\x30\x2a" OID_SIGNED "\xa1\x1d", 15, -1 },
	{ "", 0, -1 },
	{ "\x30\x84\xff\xff\xff\xff", 6, -1 },
	/* content length past its element */
	{ "\x30\x2a" OID_SIGNED "\xa0\x1d\x30\x1b" SD_HEAD "\x30\x12" OID_DATA
	  "\xa0\x05\x04\x09" "abc" "\x31\x00", 44, -1 },
};

START_TEST(test_der_split)
{
	unsigned char *out = NULL;
	size_t outlen = 0, coff = 0, clen = 0;
	int r = vder_split((const unsigned char *)splits[_i].der, splits[_i].n,
	    &out, &outlen, &coff, &clen);

	if (splits[_i].want == -1)
		ck_assert_msg(r == -1 || r == VDER_BER, "case %d: %d", _i, r);
	else
		ck_assert_msg(r == splits[_i].want, "case %d: %d", _i, r);
	if (r == 0) {
		ck_assert_uint_eq(outlen, sizeof(der_small) - 1);
		ck_assert(memcmp(out, der_small, outlen) == 0);
		ck_assert_uint_eq(clen, 3);
		ck_assert(memcmp(splits[_i].der + coff, "abc", 3) == 0);
	} else
		ck_assert_ptr_null(out);
	free(out);
}
END_TEST

START_TEST(test_der_type)
{
	ck_assert_int_eq(vder_type((const unsigned char *)der_ok, 15),
	    NID_pkcs7_signed);
	ck_assert_int_eq(vder_type((const unsigned char *)"\x30\x80" OID_SIGNED,
	    13), NID_pkcs7_signed);
	ck_assert_int_eq(vder_type((const unsigned char *)"\x30\x84\x00\x00\x10"
	    "\x00\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03", 17),
	    NID_pkcs7_enveloped);
	ck_assert_int_eq(vder_type((const unsigned char *)der_ok, 6), NID_undef);
	ck_assert_int_eq(vder_type((const unsigned char *)"\x31\x00", 2), NID_undef);
	ck_assert_int_eq(vder_type((const unsigned char *)"", 0), NID_undef);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("verify_mime");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_delim, 0, NELEM(delims));
	tcase_add_loop_test(tc, test_boundary, 0, NELEM(bounds));
	tcase_add_loop_test(tc, test_bare_cr, 0, NELEM(crs));
	tcase_add_loop_test(tc, test_cut, 0, NELEM(cuts));
	tcase_add_loop_test(tc, test_der_split, 0, NELEM(splits));
	tcase_add_test(tc, test_der_type);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
