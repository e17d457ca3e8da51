/*
 * test_lifecycle.c - the keys of issue 14 parts 3 and 4 and the parts of
 * OCSP and the notices that need no server: pki.ocsp, pki.ocsp_timeout and
 * the lifecycle group (defaults, order, every error as FILE:LINE: key:
 * problem), the notice thresholds, and ocsp_check() without an answer
 * (off, no responder named, issuer unknown, a closed port, the 60 s
 * memory of a silent responder, the per-message time budget). The answers
 * of real responders are tested through the daemon in t_ocsp.sh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "conf.h"
#include "notice.h"
#include "ocsp.h"
#include "testlib.h"
#include "util.h"

static char tmpdir[] = "/tmp/segel-life.XXXXXX";

#define MINIMAL "user = \"\";\npki: { trust_file = \"trust.pem\"; };\n" \
	"sign: { cert_dir = \"certs\"; };\nlimits: { tmp_dir = \"tmp\"; };\n"

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	tl_write(tmpdir, "trust.pem", "");
	mkdir(tl_path(tmpdir, "certs"), 0700);
	mkdir(tl_path(tmpdir, "tmp"), 0700);
}

static void
teardown(void)
{
	tl_rmtree(tmpdir);
	strcpy(tmpdir, "/tmp/segel-life.XXXXXX");
}

static struct conf *
load(const char *text, struct diag *d)
{
	tl_write(tmpdir, "segel.conf", text);
	diag_init(d);
	return conf_load(tl_path(tmpdir, "segel.conf"), d);
}

START_TEST(defaults)
{
	struct diag d;
	struct conf *c = load(MINIMAL, &d);

	diag_print(&d, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->pki_ocsp, OCSP_OFF);
	ck_assert_uint_eq(c->ocsp_timeout, 3);
	ck_assert_ptr_null(c->officer);
	ck_assert_uint_eq(c->n_notify_days, 4);
	ck_assert_int_eq(c->notify_days[0], 30);
	ck_assert_int_eq(c->notify_days[1], 14);
	ck_assert_int_eq(c->notify_days[2], 7);
	ck_assert_int_eq(c->notify_days[3], 1);
	ck_assert_str_eq(c->notice_sendmail, "/usr/sbin/sendmail -t -i");
	ck_assert_str_eq(c->notice_state, "/var/lib/segel/notices.state");
	conf_free(c);
	diag_free(&d);
}
END_TEST

/* Thresholds sorted largest first, duplicates dropped; the officer's
 * address lower-cased; a relative state file under the config's folder. */
START_TEST(values)
{
	struct diag d;
	struct conf *c = load("user = \"\";\npki: { trust_file = \"trust.pem\"; "
	    "ocsp = \"required\"; ocsp_timeout = 5; };\n"
	    "sign: { cert_dir = \"certs\"; };\nlimits: { tmp_dir = \"tmp\"; };\n"
	    "lifecycle: { officer = \"OP@TanjungpinangKota.go.id\";\n"
	    "  notify_days = [ 7, 60, 7, 2 ]; state_file = \"notices\";\n"
	    "  sendmail = \"/usr/sbin/sendmail -C /x -t\"; };\n", &d);

	diag_print(&d, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->pki_ocsp, OCSP_REQUIRED);
	ck_assert_uint_eq(c->ocsp_timeout, 5);
	ck_assert_str_eq(c->officer, "op@tanjungpinangkota.go.id");
	ck_assert_uint_eq(c->n_notify_days, 3);
	ck_assert_int_eq(c->notify_days[0], 60);
	ck_assert_int_eq(c->notify_days[1], 7);
	ck_assert_int_eq(c->notify_days[2], 2);
	ck_assert_str_eq(c->notice_state, tl_path(c->dir, "notices"));
	conf_free(c);
	diag_free(&d);
}
END_TEST

static const struct {
	const char *text;	/* after MINIMAL's keys */
	const char *key, *words;
	int line;
} errors[] = {
	{ "pki: { trust_file = \"trust.pem\";\n ocsp = \"maybe\"; };",
	    "pki.ocsp", "must be one of off, on, required", 2 },
	{ "pki: { trust_file = \"trust.pem\";\n ocsp_timeout = 0; };",
	    "pki.ocsp_timeout", "must be 1 to 60 seconds", 2 },
	{ "pki: { trust_file = \"trust.pem\";\n ocsp_timeout = 61; };",
	    "pki.ocsp_timeout", "must be 1 to 60 seconds", 2 },
	{ "pki: { trust_file = \"trust.pem\";\n ocsp = true; };",
	    "pki.ocsp", "must be a string", 2 },
	{ "pki: { trust_file = \"trust.pem\"; };\nlifecycle: {\n officer = \"a@b@c\"; };",
	    "lifecycle.officer", "not a plain e-mail address", 3 },
	{ "pki: { trust_file = \"trust.pem\"; };\nlifecycle: {\n officer = \"Op <op@x.id>\"; };",
	    "lifecycle.officer", "not a plain e-mail address", 3 },
	{ "pki: { trust_file = \"trust.pem\"; };\nlifecycle: {\n notify_days = [ ]; };",
	    "lifecycle.notify_days", "must list 1 to 8", 3 },
	{ "pki: { trust_file = \"trust.pem\"; };\nlifecycle: {\n notify_days = [ 0 ]; };",
	    "lifecycle.notify_days", "0: must be 1 to 365 days", 3 },
	{ "pki: { trust_file = \"trust.pem\"; };\nlifecycle: {\n notify_days = [ \"30\" ]; };",
	    "lifecycle.notify_days", "element 1 must be a whole number", 3 },
	{ "pki: { trust_file = \"trust.pem\"; };\nlifecycle: {\n notify_days = 30; };",
	    "lifecycle.notify_days", "must be a list of whole numbers", 3 },
	{ "pki: { trust_file = \"trust.pem\"; };\nlifecycle: {\n sendmail = \"sendmail -t\"; };",
	    "lifecycle.sendmail", "must start with the absolute path", 3 },
	{ "pki: { trust_file = \"trust.pem\"; };\nlifecycle: {\n state_file = \"\"; };",
	    "lifecycle.state_file", "must not be empty", 3 },
};

START_TEST(error_table)
{
	char *text = xasprintf("user = \"\";\nsign: { cert_dir = \"certs\"; };\n"
	    "limits: { tmp_dir = \"tmp\"; };\n%s\n", errors[_i].text);
	struct diag d;
	struct conf *c = load(text, &d);
	size_t i;
	int found = 0;

	ck_assert_ptr_null(c);
	for (i = 0; i < d.n; i++)
		if (strcmp(d.items[i].key, errors[_i].key) == 0 &&
		    strstr(d.items[i].msg, errors[_i].words) != NULL &&
		    d.items[i].line == errors[_i].line + 3)
			found = 1;
	if (!found)
		diag_print(&d, stderr);
	ck_assert_msg(found, "%s: no \"%s\" at line %d", errors[_i].key,
	    errors[_i].words, errors[_i].line + 3);
	diag_free(&d);
	free(text);
}
END_TEST

/* The smallest threshold not below the whole days left (rounded up). */
START_TEST(thresholds)
{
	struct conf c;
	time_t now = 1800000000;
	long left = -1;

	memset(&c, 0, sizeof(c));
	c.notify_days[0] = 30;
	c.notify_days[1] = 14;
	c.notify_days[2] = 7;
	c.notify_days[3] = 1;
	c.n_notify_days = 4;
	ck_assert_int_eq(notice_threshold(&c, now + 31 * 86400, now, &left), 0);
	ck_assert_int_eq(left, 31);
	ck_assert_int_eq(notice_threshold(&c, now + 30 * 86400, now, &left), 30);
	ck_assert_int_eq(notice_threshold(&c, now + 15 * 86400, now, &left), 30);
	ck_assert_int_eq(notice_threshold(&c, now + 14 * 86400, now, &left), 14);
	ck_assert_int_eq(notice_threshold(&c, now + 7 * 86400 + 1, now, &left), 14);
	ck_assert_int_eq(left, 8);
	ck_assert_int_eq(notice_threshold(&c, now + 6 * 86400, now, &left), 7);
	ck_assert_int_eq(notice_threshold(&c, now + 86400, now, &left), 1);
	ck_assert_int_eq(notice_threshold(&c, now + 3600, now, &left), 1);
	ck_assert_int_eq(left, 1);
	ck_assert_int_eq(notice_threshold(&c, now, now, &left), 0);
	ck_assert_int_eq(notice_threshold(&c, now - 86400, now, &left), 0);
}
END_TEST

/* ---------------------------------------------------------------- OCSP */

static char pkidir[] = "/tmp/segel-life-pki.XXXXXX";
static int have_pki;

static void
pki_setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(pkidir));
	have_pki = tl_gen_pki(pkidir, "bsre.pem") == 0;
}

static void
pki_teardown(void)
{
	tl_rmtree(pkidir);
}

/* A BSrE-issued signer whose AIA names url; returns it (caller frees). */
static X509 *
signer_with(const char *name, const char *url)
{
	X509 *x;
	FILE *fp;

	tl_sh("printf 'basicConstraints=CA:FALSE\\nkeyUsage=digitalSignature\\n"
	    "extendedKeyUsage=emailProtection\\nsubjectAltName=email:%s@x.id\\n"
	    "authorityInfoAccess=OCSP;URI:%s\\n' >%s/%s.ext && "
	    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout %s/%s.key -subj /CN=%s -out %s/%s.csr 2>/dev/null && "
	    "openssl x509 -req -in %s/%s.csr -CA %s/bsre.pem -CAkey %s/bsre.key "
	    "-set_serial 0x$(openssl rand -hex 8) -days 3 -extfile %s/%s.ext "
	    "-out %s/%s.pem 2>/dev/null", name, url, pkidir, name, pkidir, name,
	    name, pkidir, name, pkidir, name, pkidir, pkidir, pkidir, name,
	    pkidir, name);
	fp = fopen(tl_path(pkidir, "%s.pem", name), "r");
	ck_assert_ptr_nonnull(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_ptr_nonnull(x);
	return x;
}

static X509 *
read_pem(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	ck_assert_ptr_nonnull(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_ptr_nonnull(x);
	return x;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(ocsp_without_answer)
{
	struct pki *p;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *down, *late, *plain, *bsre;
	struct timespec t0;
	char why[256];

	if (!have_pki)
		ck_abort_msg("tests/pki/gen failed");
	ocsp_cache_clear();
	p = tl_load_pki(pkidir, "crl");
	ck_assert_ptr_nonnull(p);
	bsre = read_pem(tl_path(pkidir, "bsre.pem"));
	sk_X509_push(chain, bsre);
	/* port 9 (discard) is closed on loopback here: refused at once */
	down = signer_with("down", "http://127.0.0.1:9/");
	late = signer_with("late", "http://127.0.0.1:7/");
	plain = read_pem(tl_path(pkidir, "partner/sari.pem"));

	p->ocsp = OCSP_OFF;
	p->ocsp_timeout_ms = 1000;
	ck_assert_int_eq(ocsp_check(p, down, chain, why, sizeof(why)), OCSP_ST_NONE);
	p->ocsp = OCSP_ON;
	ck_assert_int_eq(ocsp_check(p, plain, chain, why, sizeof(why)), OCSP_ST_NONE);
	ck_assert_int_eq(ocsp_check(p, down, NULL, why, sizeof(why)), OCSP_ST_NOANSWER);
	ck_assert_msg(strstr(why, "issuer not found") != NULL, "%s", why);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ocsp_check(p, down, chain, why, sizeof(why)), OCSP_ST_NOANSWER);
	ck_assert_msg(ms_since(&t0) < 3000, "waited %ld ms", ms_since(&t0));
	ck_assert_int_eq(ocsp_check(p, down, chain, why, sizeof(why)), OCSP_ST_NOANSWER);
	ck_assert_msg(strstr(why, "did not answer within the last 60 s") != NULL,
	    "%s", why);

	/* one message's budget spent: no more asking */
	p->ocsp_timeout_ms = 200;
	ocsp_message_begin(p);
	usleep(300 * 1000);
	ck_assert_int_eq(ocsp_check(p, late, chain, why, sizeof(why)), OCSP_ST_NOANSWER);
	ck_assert_msg(strstr(why, "no time left") != NULL, "%s", why);
	p->ocsp = OCSP_OFF;
	ocsp_message_begin(p);		/* off: no budget kept */

	X509_free(down);
	X509_free(late);
	X509_free(plain);
	sk_X509_pop_free(chain, X509_free);
	pki_free(p);
	ocsp_cache_clear();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("conf");
	TCase *to = tcase_create("ocsp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, values);
	tcase_add_loop_test(tc, error_table, 0, sizeof(errors) / sizeof(errors[0]));
	tcase_add_test(tc, thresholds);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(to, pki_setup, pki_teardown);
	tcase_set_timeout(to, 60);
	tcase_add_test(to, ocsp_without_answer);
	suite_add_tcase(s, to);
	return tl_run(s);
}
