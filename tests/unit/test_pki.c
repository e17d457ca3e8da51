/*
 * test_pki.c - trust store and CRLs on the test PKI (tests/pki/gen).
 *
 * Run from the repository root (or set SEGEL_SRCDIR). The PKI is generated
 * once into a temporary folder that is removed at the end.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "conf.h"
#include "diag.h"
#include "pki.h"
#include "testlib.h"
#include "util.h"

static char pkidir[] = "/tmp/segel-test-pki.XXXXXX";
#define P(rel)	tl_path(pkidir, "%s", (rel))

static X509 *
read_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_ptr_nonnull(x);
	return x;
}

static STACK_OF(X509) *
read_chain(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *fp = fopen(path, "r");
	X509 *x;

	ck_assert_ptr_nonnull(fp);
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	fclose(fp);
	return sk;
}

static struct pki *
load(const char *trust, const char *crl, struct diag *d)
{
	struct conf c;

	memset(&c, 0, sizeof(c));
	c.path = "segel.conf";
	c.trust_file = (char *)trust;
	c.crl_dir = (char *)crl;
	diag_init(d);
	return pki_load(&c, d);
}

static const struct {
	const char *who;	/* staff/ADDRESS.pem or a path under pkidir */
	const char *crl;	/* crl folder under pkidir, or NULL */
	long shift;		/* seconds added to now for the check time */
	int want;
} verify_cases[] = {
	{ "staff/alice@tanjungpinangkota.go.id.pem", "crl", 0, X509_V_OK },
	{ "staff/alice@tanjungpinangkota.go.id.pem", NULL, 0, X509_V_OK },
	{ "staff/ec@tanjungpinangkota.go.id.pem", "crl", 0, X509_V_OK },
	{ "staff/dave@tanjungpinangkota.go.id.pem", "crl", 0,
	    X509_V_ERR_CERT_REVOKED },
	/* a stale CRL still revokes what it lists */
	{ "staff/dave@tanjungpinangkota.go.id.pem", "crl-expired", 0,
	    X509_V_ERR_CERT_REVOKED },
	{ "staff/alice@tanjungpinangkota.go.id.pem", "crl-expired", 0,
	    X509_V_OK },
	/* no CRL known: revocation is not checked */
	{ "staff/dave@tanjungpinangkota.go.id.pem", NULL, 0, X509_V_OK },
	{ "staff/carol@tanjungpinangkota.go.id.pem", "crl", 0,
	    X509_V_ERR_CERT_HAS_EXPIRED },
	{ "staff/frank@tanjungpinangkota.go.id.pem", "crl", 0,
	    X509_V_ERR_CERT_NOT_YET_VALID },
	{ "staff/mallory@tanjungpinangkota.go.id.pem", "crl", 0,
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	/* the check time is honoured: alice three years on */
	{ "staff/alice@tanjungpinangkota.go.id.pem", "crl", 3L * 365 * 86400,
	    X509_V_ERR_CERT_HAS_EXPIRED },
};

START_TEST(verify_table)
{
	struct diag d;
	struct pki *p;
	STACK_OF(X509) *chain;
	X509 *x;
	int got;

	p = load(P("trust.pem"), verify_cases[_i].crl ?
	    P(verify_cases[_i].crl) : NULL, &d);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(diag_count(&d, DIAG_ERROR), 0);
	x = read_cert(P(verify_cases[_i].who));
	chain = read_chain(P("chain.pem"));
	got = pki_verify_cert(p, x, chain, verify_cases[_i].shift ?
	    time(NULL) + verify_cases[_i].shift : 0);
	ck_assert_msg(got == verify_cases[_i].want, "%s with %s: got %d (%s), "
	    "want %d", verify_cases[_i].who, verify_cases[_i].crl ?
	    verify_cases[_i].crl : "no CRL", got,
	    X509_verify_cert_error_string(got), verify_cases[_i].want);
	X509_free(x);
	sk_X509_pop_free(chain, X509_free);
	pki_free(p);
	diag_free(&d);
}
END_TEST

START_TEST(without_chain_untrusted)
{
	struct diag d;
	struct pki *p = load(P("trust.pem"), P("crl"), &d);
	X509 *x = read_cert(P("staff/alice@tanjungpinangkota.go.id.pem"));

	ck_assert_int_eq(pki_verify_cert(p, x, NULL, 0),
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	X509_free(x);
	pki_free(p);
	diag_free(&d);
}
END_TEST

START_TEST(is_revoked)
{
	struct diag d;
	struct pki *p = load(P("trust.pem"), P("crl"), &d);
	X509 *dave = read_cert(P("staff/dave@tanjungpinangkota.go.id.pem"));
	X509 *alice = read_cert(P("staff/alice@tanjungpinangkota.go.id.pem"));

	ck_assert_int_eq(pki_is_revoked(p, dave), 1);
	ck_assert_int_eq(pki_is_revoked(p, alice), 0);
	ck_assert_int_eq(sk_X509_CRL_num(p->crls), 2);
	ck_assert_int_eq(sk_X509_num(p->anchors), 1);
	X509_free(dave);
	X509_free(alice);
	pki_free(p);
	diag_free(&d);
}
END_TEST

START_TEST(missing_trust_file)
{
	struct diag d;
	struct pki *p = load(P("no-such.pem"), NULL, &d);

	ck_assert_ptr_null(p);
	ck_assert_uint_eq(diag_count(&d, DIAG_ERROR), 1);
	ck_assert_ptr_nonnull(strstr(d.items[0].file, "no-such.pem"));
	ck_assert_ptr_nonnull(strstr(d.items[0].msg, "No such file"));
	diag_free(&d);
}
END_TEST

START_TEST(empty_trust_file)
{
	struct diag d;
	struct pki *p;
	FILE *fp = fopen(P("empty.pem"), "w");

	fputs("not a certificate\n", fp);
	fclose(fp);
	p = load(P("empty.pem"), NULL, &d);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(diag_count(&d, DIAG_ERROR), 1);
	ck_assert_ptr_nonnull(strstr(d.items[0].msg, "no PEM certificate"));
	diag_free(&d);
}
END_TEST

START_TEST(crl_problems)
{
	struct diag d;
	struct pki *p;
	char cmd[2048];
	FILE *fp;
	size_t i;
	int warned = 0, broken = 0, der = 0;

	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp %s %s/ && openssl crl "
	    "-in %s -outform DER -out %s/root.der && mkdir -p %s/sub",
	    P("crl-mixed"), P("crl-expired/bsre.crl.pem"), P("crl-mixed"),
	    P("crl/root.crl.pem"), P("crl-mixed"), P("crl-mixed"));
	ck_assert_int_eq(system(cmd), 0);
	fp = fopen(P("crl-mixed/zz-garbage.crl"), "w");
	fputs("garbage\n", fp);
	fclose(fp);
	p = load(P("trust.pem"), P("crl-mixed"), &d);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < d.n; i++) {
		if (d.items[i].sev == DIAG_WARNING &&
		    strstr(d.items[i].msg, "nextUpdate") &&
		    strstr(d.items[i].file, "bsre.crl.pem"))
			warned++;
		if (d.items[i].sev == DIAG_ERROR &&
		    strstr(d.items[i].file, "zz-garbage.crl"))
			broken++;
	}
	der = sk_X509_CRL_num(p->crls);
	ck_assert_int_eq(warned, 1);
	ck_assert_int_eq(broken, 1);
	ck_assert_int_eq(der, 2);	/* the PEM and the DER one */
	pki_free(p);
	diag_free(&d);
}
END_TEST

struct thr_arg {
	struct pki *p;
	X509 *alice, *dave;
	STACK_OF(X509) *chain;
	int wrong;
};

static void *
thr_verify(void *arg)
{
	struct thr_arg *a = arg;
	int i;

	for (i = 0; i < 200; i++) {
		if (pki_verify_cert(a->p, a->alice, a->chain, 0) != X509_V_OK)
			__atomic_add_fetch(&a->wrong, 1, __ATOMIC_RELAXED);
		if (pki_verify_cert(a->p, a->dave, a->chain, 0) !=
		    X509_V_ERR_CERT_REVOKED)
			__atomic_add_fetch(&a->wrong, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* One loaded store shared by 8 threads: every answer stays right. */
START_TEST(shared_between_threads)
{
	struct thr_arg a;
	struct diag d;
	pthread_t t[8];
	int i;

	a.p = load(P("trust.pem"), P("crl"), &d);
	a.alice = read_cert(P("staff/alice@tanjungpinangkota.go.id.pem"));
	a.dave = read_cert(P("staff/dave@tanjungpinangkota.go.id.pem"));
	a.chain = read_chain(P("chain.pem"));
	a.wrong = 0;
	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, thr_verify, &a);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(a.wrong, 0);
	X509_free(a.alice);
	X509_free(a.dave);
	sk_X509_pop_free(a.chain, X509_free);
	pki_free(a.p);
	diag_free(&d);
}
END_TEST

START_TEST(free_null)
{
	pki_free(NULL);
	ck_assert_int_eq(pki_is_revoked(NULL, NULL), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pki");
	TCase *tc = tcase_create("core");
	int rc;

	if (mkdtemp(pkidir) == NULL ||
	    tl_gen_pki(pkidir, "certs/alice@tanjungpinangkota.go.id.p12") != 0)
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, verify_table, 0,
	    sizeof(verify_cases) / sizeof(verify_cases[0]));
	tcase_add_test(tc, without_chain_untrusted);
	tcase_add_test(tc, is_revoked);
	tcase_add_test(tc, missing_trust_file);
	tcase_add_test(tc, empty_trust_file);
	tcase_add_test(tc, crl_problems);
	tcase_add_test(tc, shared_between_threads);
	tcase_add_test(tc, free_null);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	tl_rmtree(pkidir);
	return rc;
}
