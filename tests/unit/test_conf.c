/*
 * test_conf.c - the configuration loader: defaults, relative paths, CIDRs,
 * login_map, and the error table (FILE:LINE: key: problem, all of them).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "testlib.h"
#include "util.h"

static char tmpdir[] = "/tmp/segel-conf.XXXXXX";

static void
put(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", tmpdir, name);
	FILE *fp = fopen(p, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	free(p);
}

static void
setup(void)
{
	char *p;

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	put("trust.pem", "");
	p = xasprintf("%s/certs", tmpdir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/tmp", tmpdir);
	mkdir(p, 0700);
	free(p);
}

static struct conf *
load(const char *text, struct diag *d)
{
	char *p = xasprintf("%s/segel.conf", tmpdir);
	struct conf *c;

	put("segel.conf", text);
	diag_init(d);
	c = conf_load(p, d);
	free(p);
	return c;
}

#define MINIMAL "user = \"\";\npki: { trust_file = \"trust.pem\"; };\n" \
	"sign: { cert_dir = \"certs\"; };\nlimits: { tmp_dir = \"tmp\"; };\n"

START_TEST(defaults_and_relative_paths)
{
	struct diag d;
	struct conf *c = load(MINIMAL, &d);
	char *want;

	diag_print(&d, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->domain, "tanjungpinangkota.go.id");
	ck_assert_int_eq(c->on_error, ON_ERROR_TEMPFAIL);
	ck_assert_int_eq(c->on_no_cert, NOCERT_REJECT);
	ck_assert_int_eq(c->unsigned_own_domain, UNSIGNED_OWN_TAG);
	ck_assert_int_eq(c->tls_min_version, 0x0303);
	ck_assert(c->tls_enforce && c->sign_enabled && c->verify_enabled);
	ck_assert_uint_eq(c->n_trusted_hosts, 0);	/* none unless configured */
	ck_assert_ptr_nonnull(strstr(c->footer, "BSrE"));
	want = xasprintf("%s/trust.pem", c->dir);
	ck_assert_str_eq(c->trust_file, want);
	free(want);
	ck_assert_ptr_null(c->crl_dir);
	ck_assert_ptr_null(c->archive_dir);
	conf_free(c);
	diag_free(&d);
}
END_TEST

/*
 * issue 17: a file the daemon cannot read was reported as libconfig's
 * "syntax error: file I/O error"; it must name the cause. A folder in the
 * file's place fails in libconfig's read (EISDIR); permissions (0000)
 * only when not root, who reads anything.
 */
START_TEST(unreadable_names_the_cause)
{
	char *p = xasprintf("%s/folder.conf", tmpdir);
	struct diag d;

	mkdir(p, 0700);
	diag_init(&d);
	ck_assert_ptr_null(conf_load(p, &d));
	ck_assert_uint_eq(d.n, 1);
	ck_assert_msg(strstr(d.items[0].msg, "cannot read: ") != NULL &&
	    strstr(d.items[0].msg, "syntax") == NULL, "%s", d.items[0].msg);
	diag_free(&d);
	free(p);
	if (geteuid() != 0) {
		p = xasprintf("%s/segel.conf", tmpdir);
		put("segel.conf", MINIMAL);
		chmod(p, 0);
		diag_init(&d);
		ck_assert_ptr_null(conf_load(p, &d));
		ck_assert_str_eq(d.items[0].msg, "cannot read: Permission denied");
		chmod(p, 0600);
		diag_free(&d);
		free(p);
	}
}
END_TEST

static const struct {
	const char *text;	/* appended to MINIMAL */
	int line;
	const char *key, *msg;
} errors[] = {
	{ "x = 1;\n", 5, "x", "unknown key" },
	{ "tls: { enforce = 2; };\n", 5, "tls.enforce", "true or false" },
	{ "on_error = \"ignore\";\n", 5, "on_error", "must be one of" },
	{ "log_level = \"loud\";\n", 5, "log_level", "must be one of" },
	{ "socket = \"inet:a:1\";\n", 5, "socket", "inet:PORT@HOST" },
	{ "verify: { subject_tags: { fail = \"a\\nb\"; }; };\n", 5, "verify.subject_tags.fail", "one line" },
	{ "limits: { tmp_dir = \"tmp\"; message_size = -5; };\n", 5, "limits.message_size", "negative" },
	{ "archive: { dir = \"nowhere\"; };\n", 5, "archive.dir", "No such file" },
	{ "sign: { cert_dir = \"certs\"; footer = \"\\xff\\xfe\"; };\n", 4, "sign.footer", "UTF-8" },
};

START_TEST(error_table)
{
	struct diag d;
	char *text = xasprintf("%s%s", MINIMAL, errors[_i].text);
	struct conf *c;
	size_t i;
	int found = 0;

	/* later groups of the same name are errors in libconfig; use a fresh
	 * file with the group replaced when the case redefines "sign". */
	if (strncmp(errors[_i].text, "limits:", 7) == 0) {
		free(text);
		text = xasprintf("user = \"\";\npki: { trust_file = \"trust.pem\"; };\n"
		    "sign: { cert_dir = \"certs\"; };\n\n%s", errors[_i].text);
	}
	if (strncmp(errors[_i].text, "sign:", 5) == 0) {
		free(text);
		text = xasprintf("user = \"\";\npki: { trust_file = \"trust.pem\"; };\n"
		    "limits: { tmp_dir = \"tmp\"; };\n%s", errors[_i].text);
	}
	c = load(text, &d);
	ck_assert_ptr_null(c);
	for (i = 0; i < d.n; i++)
		if (strcmp(d.items[i].key, errors[_i].key) == 0 &&
		    strstr(d.items[i].msg, errors[_i].msg) != NULL &&
		    d.items[i].line > 0)
			found = 1;
	if (!found)
		diag_print(&d, stderr);
	ck_assert_msg(found, "case %d: %s", _i, errors[_i].key);
	diag_free(&d);
	free(text);
}
END_TEST

START_TEST(cidrs)
{
	struct cidr c;
	unsigned char a4[4] = { 10, 1, 2, 3 }, b4[4] = { 10, 2, 0, 1 };
	unsigned char a6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	ck_assert(conf_parse_cidr("10.1.0.0/16", &c));
	ck_assert(cidr_match(&c, AF_INET, a4));
	ck_assert(!cidr_match(&c, AF_INET, b4));
	ck_assert(!cidr_match(&c, AF_INET6, a6));
	ck_assert(conf_parse_cidr("10.1.2.3", &c) && c.bits == 32);
	ck_assert(cidr_match(&c, AF_INET, a4));
	ck_assert(conf_parse_cidr("2001:db8::/32", &c));
	ck_assert(cidr_match(&c, AF_INET6, a6));
	ck_assert(conf_parse_cidr("10.1.2.0/23", &c));
	ck_assert(cidr_match(&c, AF_INET, a4));
	ck_assert(!conf_parse_cidr("10.0.0.0/33", &c));
	ck_assert(!conf_parse_cidr("10.0.0.0/", &c));
	ck_assert(!conf_parse_cidr("banana", &c));
	ck_assert(!conf_parse_cidr("::1/129", &c));
}
END_TEST

START_TEST(login_map)
{
	struct diag d;
	struct conf *c;

	put("logins", "# comment\nsekretariat humas@tanjungpinangkota.go.id\n"
	    "  Bob  <Kabag@TanjungPinangKota.go.id>\n");
	c = load(MINIMAL "sign2 = 1;\n", &d);
	ck_assert_ptr_null(c);		/* unknown key sign2 */
	diag_free(&d);
	c = load("user = \"\";\npki: { trust_file = \"trust.pem\"; };\n"
	    "limits: { tmp_dir = \"tmp\"; };\nsign: { cert_dir = \"certs\"; "
	    "login_map = \"logins\"; };\n", &d);
	diag_print(&d, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert(conf_login_may_send(c, "sekretariat", "humas@tanjungpinangkota.go.id"));
	ck_assert(conf_login_may_send(c, "bob", "kabag@tanjungpinangkota.go.id"));
	ck_assert(conf_login_may_send(c, "x@tanjungpinangkota.go.id", "X@TanjungPinangKota.go.id"));
	ck_assert(!conf_login_may_send(c, "sekretariat", "alice@tanjungpinangkota.go.id"));
	ck_assert(!conf_login_may_send(c, "", "alice@tanjungpinangkota.go.id"));
	conf_free(c);
	diag_free(&d);
}
END_TEST

START_TEST(addresses)
{
	char *a;

	ck_assert_str_eq((a = addr_normalize("Alice <Alice@Example.ORG>")), "alice@example.org");
	free(a);
	ck_assert_str_eq((a = addr_normalize("<a@b.c>")), "a@b.c");
	free(a);
	ck_assert_str_eq((a = addr_normalize("\"Doe, J\" <j@d.e>")), "j@d.e");
	free(a);
	ck_assert_str_eq((a = addr_normalize("j@d.e (comment, with comma)")), "j@d.e");
	free(a);
	ck_assert_ptr_null(addr_normalize("a@b.c, d@e.f"));
	ck_assert_ptr_null(addr_normalize("<>"));
	ck_assert_ptr_null(addr_normalize("undisclosed-recipients:;"));
	ck_assert_ptr_null(addr_normalize("a@b@c"));
	ck_assert_uint_eq(addr_count("a@b.c, \"x,y\" <d@e.f>"), 2);
	ck_assert(addr_in_domain("a@TanjungPinangKota.go.id", "tanjungpinangkota.go.id"));
	ck_assert(!addr_in_domain("a@tanjungpinangkota.go.id.evil.com", "tanjungpinangkota.go.id"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("load");

	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_add_test(tc, defaults_and_relative_paths);
	tcase_add_test(tc, unreadable_names_the_cause);
	tcase_add_loop_test(tc, error_table, 0, sizeof(errors) / sizeof(errors[0]));
	tcase_add_test(tc, cidrs);
	tcase_add_test(tc, login_map);
	tcase_add_test(tc, addresses);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
