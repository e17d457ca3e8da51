/*
 * test_authres.c - Authentication-Results writer and authserv-id parser.
 */
#include <check.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "testlib.h"
#include "util.h"

#define ID "mail.tanjungpinangkota.go.id"
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct fmt_case {
	const char *name;
	struct verify_result r;
	const char *want;
};

static const struct fmt_case fmt_cases[] = {
	{ "pass, every property",
	  { AR_PASS, "signature valid; signer Sari, Pemerintah Provinsi Kepulauan Riau",
	    "sari@kepriprov.go.id", "2", "4F1A03", "CN=BSrE CA,O=BSSN,C=ID",
	    "Sari, Pemerintah Provinsi Kepulauan Riau", NULL, NULL, NULL },
	  " " ID ";\n\tsmime=pass (signature valid; signer Sari, Pemerintah "
	  "Provinsi Kepulauan Riau)\n\tbody.smime-identifier=sari@kepriprov.go.id"
	  "\n\tbody.smime-part=2\n\tbody.smime-serial=4F1A03"
	  "\n\tbody.smime-issuer=\"CN=BSrE CA,O=BSSN,C=ID\"" },
	{ "fail",
	  { AR_FAIL, "signature does not match content", "a@b.example", "1.2",
	    NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=fail (signature does not match content)"
	  "\n\tbody.smime-identifier=a@b.example\n\tbody.smime-part=1.2" },
	{ "policy",
	  { AR_POLICY, "weak digest SHA-1", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=policy (weak digest SHA-1)" },
	{ "neutral", { AR_NEUTRAL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=neutral" },
	{ "temperror", { AR_TEMPERROR, "x", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=temperror (x)" },
	{ "permerror", { AR_PERMERROR, "", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=permerror" },
	{ "none", { AR_NONE, "not signed", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=none (not signed)" },
	{ "skip is no-result",
	  { AR_SKIP, "encrypted, cannot be checked", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID "; none (encrypted, cannot be checked)" },
	{ "comment escaping",
	  { AR_FAIL, "a (b) c\\d\r\ne\x01\xc3\xa9", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=fail (a \\(b\\) c\\\\d  e??" "?)" },
	{ "issuer with quotes and backslash",
	  { AR_PASS, NULL, NULL, NULL, "01", "CN=A \\\"B\\\",O=x", NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=pass\n\tbody.smime-serial=01"
	  "\n\tbody.smime-issuer=\"CN=A \\\\\\\"B\\\\\\\",O=x\"" },
	{ "serial without issuer is dropped",
	  { AR_PASS, NULL, NULL, NULL, "01", NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=pass" },
	{ "local part that is not a dot-atom",
	  { AR_PASS, NULL, "john doe@example.com", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=pass\n\tbody.smime-identifier=\"john doe\"@example.com" },
	{ "local part with dots and plus",
	  { AR_PASS, NULL, "a.b+c@example.com", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=pass\n\tbody.smime-identifier=a.b+c@example.com" },
	{ "identifier without @ is a value",
	  { AR_PASS, NULL, "no address", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=pass\n\tbody.smime-identifier=\"no address\"" },
	{ "quote in local part",
	  { AR_PASS, NULL, "a\"b@example.com", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  " " ID ";\n\tsmime=pass\n\tbody.smime-identifier=\"a\\\"b\"@example.com" },
};

START_TEST(test_format)
{
	const struct fmt_case *c = &fmt_cases[_i];
	char *got = authres_format(ID, &c->r);

	ck_assert_msg(strcmp(got, c->want) == 0, "%s:\n got [%s]\nwant [%s]",
	    c->name, got, c->want);
	free(got);
}
END_TEST

START_TEST(test_format_quoted_servid)
{
	struct verify_result r = { AR_PASS, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	char *got = authres_format("odd id", &r);

	ck_assert_str_eq(got, " \"odd id\";\n\tsmime=pass");
	free(got);
}
END_TEST

/* Hostile, very long certificate fields: every line stays < 998. */
START_TEST(test_format_long)
{
	struct verify_result r = { AR_PASS, NULL, NULL, "2", "AB", NULL, NULL, NULL, NULL, NULL };
	char *big = xmalloc(5000), *got, *line, *save = NULL;

	memset(big, 'x', 4999);
	big[4999] = '\0';
	r.comment = big;
	r.issuer = big;
	r.identifier = big;
	got = authres_format(ID, &r);
	ck_assert_ptr_null(strstr(got, "smime-issuer"));
	ck_assert_ptr_nonnull(strstr(got, "smime-part=2"));
	for (line = strtok_r(got, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		ck_assert_uint_lt(strlen(line), 998);
	free(got);
	free(big);
}
END_TEST

/* Found by fuzz_authres: escaping doubles '"' and '\\'; bound as written. */
START_TEST(test_format_escaped_long)
{
	struct verify_result r = { AR_FAIL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	char *q = xmalloc(901), *bs = xmalloc(901), *got, *line, *save = NULL;

	memset(q, '"', 900);
	q[900] = '\0';
	memset(bs, '\\', 900);
	bs[900] = '\0';
	r.comment = bs;
	r.identifier = q;
	r.part = bs;
	r.serial = q;
	r.issuer = bs;
	got = authres_format(ID, &r);
	for (line = strtok_r(got, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		ck_assert_uint_lt(strlen(line) + strlen("Authentication-Results:"), 998);
	free(got);
	free(q);
	free(bs);
}
END_TEST

START_TEST(test_result_names)
{
	ck_assert_str_eq(ar_result_name(AR_NONE), "none");
	ck_assert_str_eq(ar_result_name(AR_PASS), "pass");
	ck_assert_str_eq(ar_result_name(AR_FAIL), "fail");
	ck_assert_str_eq(ar_result_name(AR_POLICY), "policy");
	ck_assert_str_eq(ar_result_name(AR_NEUTRAL), "neutral");
	ck_assert_str_eq(ar_result_name(AR_TEMPERROR), "temperror");
	ck_assert_str_eq(ar_result_name(AR_PERMERROR), "permerror");
}
END_TEST

struct parse_case {
	const char *value;
	const char *id;		/* NULL: unparseable */
	bool ours;
};

static const struct parse_case parse_cases[] = {
	{ " mail.tanjungpinangkota.go.id; smime=pass", ID, true },
	{ "mail.tanjungpinangkota.go.id;smime=pass", ID, true },
	{ " MAIL.TanjungPinangKota.GO.ID; smime=pass", "MAIL.TanjungPinangKota.GO.ID", true },
	{ " (forged) mail.tanjungpinangkota.go.id; smime=pass", ID, true },
	{ " (a (nested \\) comment) here)\r\n\t mail.tanjungpinangkota.go.id;", ID, true },
	{ " \"mail.tanjungpinangkota.go.id\"; smime=pass", ID, true },
	{ " \"mail.tanjungpinangkota\\.go.id\"; x", ID, true },
	{ " mail.tanjungpinangkota.go.id 1; smime=pass", ID, true },
	{ " mail.tanjungpinangkota.go.id (c) 1 (d); smime=pass", ID, true },
	{ "\r\n mail.tanjungpinangkota.go.id;\r\n\tsmime=pass", ID, true },
	{ "\n\tmail.tanjungpinangkota.go.id\n\t;\n\tsmime=pass", ID, true },
	{ " mail.tanjungpinangkota.go.id; none", ID, true },
	{ " mail.tanjungpinangkota.go.id", ID, true },
	/* malformed, but still a claim to be us: removed */
	{ " mail.tanjungpinangkota.go.id smime=pass", ID, true },
	{ " mail.tanjungpinangkota.go.id(c);", ID, true },
	{ " mx.google.com; dkim=pass", "mx.google.com", false },
	{ " tanjungpinangkota.go.id; smime=pass", "tanjungpinangkota.go.id", false },
	{ " mail.tanjungpinangkota.go.id.evil; smime=pass",
	  "mail.tanjungpinangkota.go.id.evil", false },
	{ " \"mail.tanjungpinangkota.go.id \"; x", "mail.tanjungpinangkota.go.id ", true },
	{ "", NULL, false },
	{ "   \r\n\t ", NULL, false },
	{ "; smime=pass", NULL, false },
	{ " (unterminated comment mail.tanjungpinangkota.go.id;", NULL, false },
	{ " ) mail.tanjungpinangkota.go.id;", NULL, false },
	{ " \"unterminated", NULL, false },
	{ " \"\"; x", NULL, false },
	{ " \"a\\", NULL, false },
	{ " (a\\", NULL, false },
	{ " @@@", NULL, false },
	{ " mail.tanjungpinangkota.go.id/x; smime=pass", NULL, true },
	{ " \x01\x02\xff", NULL, false },
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	char *id = authres_servid(c->value);

	if (c->id == NULL)
		ck_assert_msg(id == NULL, "case %d [%s]: got [%s]", _i,
		    c->value, id);
	else
		ck_assert_msg(id != NULL && strcmp(id, c->id) == 0,
		    "case %d [%s]: got [%s] want [%s]", _i, c->value,
		    id ? id : "(null)", c->id);
	ck_assert_msg(authres_is_ours(c->value, ID) == c->ours,
	    "case %d [%s]: is_ours", _i, c->value);
	free(id);
}
END_TEST

/*
 * Issue 18: ids a reader decodes or normalises to ours are ours. Each was
 * kept before (authres_is_ours compared the spelling).
 */
static const struct {
	const char *value;
	bool ours;
} ours_cases[] = {
	/* RFC 2047, as Python's email package and mail clients decode */
	{ " =?utf-8?q?mail=2Etanjungpinangkota=2Ego=2Eid?=; smime=pass", true },
	{ " =?UTF-8?Q?MAIL=2ETanjungpinangkota=2Ego=2Eid?=;smime=pass", true },
	{ " =?utf-8?b?bWFpbC50YW5qdW5ncGluYW5na290YS5nby5pZA==?=; smime=pass", true },
	{ " =?iso-8859-1?q?mail=2Etanjungpinangkota=2Ego=2Eid?= ; smime=pass", true },
	{ " =?utf-8?q?mail?=.tanjungpinangkota.go.id; smime=pass", true },
	{ " mail.=?utf-8?q?tanjungpinangkota?=.go.id; smime=pass", true },
	{ " \"=?utf-8?q?mail=2Etanjungpinangkota=2Ego=2Eid?=\"; smime=pass", true },
	{ " =?utf-8*id?q?mail=2Etanjungpinangkota=2Ego=2Eid?=; smime=pass", true },
	/* escapes, once or inside each other */
	{ " mail%2Etanjungpinangkota%2Ego%2Eid; smime=pass", true },
	{ " mail%2etanjungpinangkota.go.id; smime=pass", true },
	{ " =?utf-8?q?mail=252Etanjungpinangkota=252Ego=252Eid?=; smime=pass", true },
	{ " mail\\.tanjungpinangkota\\.go\\.id; smime=pass", true },
	{ " \"mail\\.tanjungpinangkota\\.go\\.id\"; smime=pass", true },
	{ " m\\a\\i\\l.tanjungpinangkota.go.id; smime=pass", true },
	/* Unicode: NFKC, case folding, invisible characters, look-alikes */
	{ " \xef\xbd\x8d\xef\xbd\x81\xef\xbd\x89\xef\xbd\x8c\xef\xbc\x8etanjungpinangkota.go.id; smime=pass", true },
	{ " mail\xe3\x80\x82tanjungpinangkota\xe3\x80\x82go\xe3\x80\x82id; smime=pass", true },
	{ " mail\xef\xbd\xa1tanjungpinangkota.go.id; smime=pass", true },
	{ " mail.tanjung\xe2\x80\x8bpinangkota.go.id; smime=pass", true },
	{ " mail.tanjungpinang\xc2\xadkota.go.id; smime=pass", true },
	{ " \xef\xbb\xbfmail.tanjungpinangkota.go.id\xe2\x81\xa0; smime=pass", true },
	{ " mail.tanjungpinangk\xd0\xbeta.go.id; smime=pass", true },
	{ " m\xd0\xb0il.t\xd0\xb0njungpin\xd0\xb0ngkot\xd0\xb0.go.id; smime=pass", true },
	{ " mail.tanjungpinang\xe2\x84\xaaota.go.id; smime=pass", true },
	{ " MAIL.TANJUNGPINANGKOTA.GO.\xc4\xb0" "D; smime=pass", true },
	{ " mail.tanjungpinangkota.go.\xe2\x85\xb0" "d; smime=pass", true },
	{ "\xc2\xa0mail.tanjungpinangkota.go.id\xe3\x80\x80; smime=pass", true },
	/* comments, quotes, white space and dots */
	{ " mail.tanjungpinangkota(x).go.id; smime=pass", true },
	{ " mail(x).tanjungpinangkota.go.id(y); smime=pass", true },
	{ " mail . tanjungpinangkota . go . id; smime=pass", true },
	{ " mail.tanjungpinangkota.go.id...; smime=pass", true },
	{ " \"mail\".\"tanjungpinangkota.go.id\"; smime=pass", true },
	{ " \"mail.tanjungpinangkota.go.id.\" 1; smime=pass", true },
	{ " mail.tanjungpinangkota.go.id:25; smime=pass", true },
	/* other hosts stay */
	{ " =?utf-8?q?mx=2Eexample=2Eorg?=; smime=pass", false },
	{ " mail.tanjungpinangkota.go.id.evil.example; smime=pass", false },
	{ " mail.tanjungpinangkota.go.idx; smime=pass", false },
	{ " mail.tanjungpinangkota.go.id-x; smime=pass", false },
	{ " x.mail.tanjungpinangkota.go.id; smime=pass", false },
	{ " mail%2Etanjungpinangkota%2Ego%2Eid%2Eevil; smime=pass", false },
	{ " mail2.tanjungpinangkota.go.id; smime=pass", false },
	{ " tanjungpinangkota.go.id; smime=pass", false },
	{ " mx.example.org; smime=pass (mail.tanjungpinangkota.go.id)", false },
};

START_TEST(test_ours_by_meaning)
{
	ck_assert_msg(authres_is_ours(ours_cases[_i].value, ID) ==
	    ours_cases[_i].ours, "case %d [%s]: want %s", _i,
	    ours_cases[_i].value, ours_cases[_i].ours ? "ours" : "not ours");
}
END_TEST

START_TEST(test_parse_null_and_long)
{
	size_t n = 200000;
	char *v = xmalloc(n + 64);

	ck_assert_ptr_null(authres_servid(NULL));
	ck_assert(!authres_is_ours(NULL, ID));
	ck_assert(!authres_is_ours(" x;", NULL));
	/* a very long comment, then our id */
	memset(v, '(', n / 2);
	memset(v + n / 2, ')', n / 2);
	strcpy(v + n, " " ID "; smime=pass");
	ck_assert(authres_is_ours(v, ID));
	/* a very long token */
	memset(v, 'a', n);
	strcpy(v + n, "; x");
	ck_assert(!authres_is_ours(v, ID));
	free(v);
}
END_TEST

/* What we write, we read back as ours. */
START_TEST(test_roundtrip)
{
	const struct fmt_case *c = &fmt_cases[_i];
	char *got = authres_format(ID, &c->r);

	ck_assert(authres_is_ours(got, ID));
	ck_assert(authres_is_ours(got, "Mail.TanjungpinangKota.go.id"));
	ck_assert(!authres_is_ours(got, "example.com"));
	free(got);
}
END_TEST

/*
 * An independent parser, Debian's python3-authres, reads every field we
 * write (unfolded) with the same result and identifier; skipped when it is
 * not installed.
 */
START_TEST(test_independent_parser)
{
	static const char py[] =
	    "import sys, authres\n"
	    "for line in sys.stdin:\n"
	    "    want, ident, value = line.rstrip('\\n').split('|', 2)\n"
	    "    a = authres.all_features().parse('Authentication-Results: ' + value)\n"
	    "    r = [x for x in a.results if x.method == 'smime']\n"
	    "    got = r[0].result if r else 'skip'\n"
	    "    p = {x.name: x.value for x in r[0].properties} if r else {}\n"
	    "    gi = p.get('smime-identifier', '-')\n"
	    "    if got != want or (ident != '-' and gi != ident):\n"
	    "        sys.exit('%s: got %s %s' % (value, got, gi))\n";
	char tmpl[] = "/tmp/segel-test-authres.XXXXXX", *cmd, *v, *q;
	FILE *f;
	int i, rc;

	if (system("/usr/bin/python3 -c 'import authres' 2>/dev/null") != 0) {
		printf("SKIP: authres independent parser: python3-authres not installed\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	cmd = xasprintf("%s/p.py", tmpl);
	f = fopen(cmd, "w");
	fputs(py, f);
	fclose(f);
	free(cmd);
	cmd = xasprintf("/usr/bin/python3 %s/p.py", tmpl);
	f = popen(cmd, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < NELEM(fmt_cases); i++) {
		v = authres_format(ID, &fmt_cases[i].r);
		for (q = v; *q != '\0'; q++)	/* unfold */
			if (*q == '\n')
				*q = ' ';
		fprintf(f, "%s|%s|%s\n", fmt_cases[i].r.result == AR_SKIP ?
		    "skip" : ar_result_name(fmt_cases[i].r.result),
		    fmt_cases[i].r.identifier != NULL &&
		    strchr(fmt_cases[i].r.identifier, '"') == NULL &&
		    strchr(fmt_cases[i].r.identifier, ' ') == NULL ?
		    fmt_cases[i].r.identifier : "-", v);
		free(v);
	}
	rc = pclose(f);
	free(cmd);
	cmd = xasprintf("rm -rf %s", tmpl);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	ck_assert_msg(rc == 0, "python3-authres disagrees (see stderr)");
}
END_TEST

static Suite *
authres_suite(void)
{
	Suite *s = suite_create("authres");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_format, 0, NELEM(fmt_cases));
	tcase_add_test(tc, test_format_quoted_servid);
	tcase_add_test(tc, test_format_long);
	tcase_add_test(tc, test_format_escaped_long);
	tcase_add_test(tc, test_result_names);
	tcase_add_loop_test(tc, test_parse, 0, NELEM(parse_cases));
	tcase_add_loop_test(tc, test_ours_by_meaning, 0, NELEM(ours_cases));
	tcase_add_test(tc, test_parse_null_and_long);
	tcase_add_loop_test(tc, test_roundtrip, 0, NELEM(fmt_cases));
	tcase_add_test(tc, test_independent_parser);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	g_mime_init();	/* authres_is_ours decodes RFC 2047 with GMime */
	return tl_run(authres_suite());
}
