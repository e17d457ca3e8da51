/*
 * test_verify_mime.c - the pure byte-level decisions of verify_mime.c,
 * table-driven: RFC 2046 delimiter lines (only transport padding after
 * one), boundary syntax, bare CR, and the cut of a multipart body.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
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

int
main(void)
{
	Suite *s = suite_create("verify_mime");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_delim, 0, NELEM(delims));
	tcase_add_loop_test(tc, test_boundary, 0, NELEM(bounds));
	tcase_add_loop_test(tc, test_bare_cr, 0, NELEM(crs));
	tcase_add_loop_test(tc, test_cut, 0, NELEM(cuts));
	suite_add_tcase(s, tc);
	return tl_run(s);
}
