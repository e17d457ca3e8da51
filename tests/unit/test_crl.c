/*
 * test_crl.c - the CRL shapes of RFC 5280 (tests/pki/crlshapes.py), the
 * stale-CRL rule (pki.crl_grace) and the checks of segelctl crl update
 * (crlfetch.c), on a fresh test PKI.
 *
 * For each shape a revoked certificate must be found both by OpenSSL's
 * chain check (pki_verify_cert: extended CRL support) and by segel's own
 * crl_dir cross-check (pki_is_revoked), and a certificate the shape does
 * not list must still verify.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "certstore.h"
#include "conf.h"
#include "crlfetch.h"
#include "diag.h"
#include "pki.h"
#include "testlib.h"
#include "util.h"

static char pkidir[] = "/tmp/segel-test-crl.XXXXXX";
#define DOMAIN "tanjungpinangkota.go.id"

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

static X509_CRL *
read_crl(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509_CRL *c;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	c = PEM_read_X509_CRL(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_ptr_nonnull(c);
	return c;
}

static STACK_OF(X509) *
chain(void)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	sk_X509_push(sk, read_cert(tl_path(pkidir, "chain.pem")));
	return sk;
}

/* The PKI with TRUST (relative) and crl_dir CRL (relative), grace g. */
static struct pki *
load(const char *trust, const char *crl, long grace)
{
	struct conf c;
	struct diag d;
	struct pki *p;

	memset(&c, 0, sizeof(c));
	c.path = "segel.conf";
	c.trust_file = xstrdup(tl_path(pkidir, "%s", trust));
	c.crl_dir = xstrdup(tl_path(pkidir, "%s", crl));
	c.crl_grace = grace;
	diag_init(&d);
	p = pki_load(&c, &d);
	if (p == NULL)
		diag_print(&d, stderr);
	ck_assert_ptr_nonnull(p);
	diag_free(&d);
	free(c.trust_file);
	free(c.crl_dir);
	return p;
}

static const struct {
	const char *crl;	/* crl_dir under pkidir */
	const char *cert;	/* under pkidir */
	int revoked;
} shapes[] = {
	/* BSrE's CRL signed by a separate CRL-signing key */
	{ "shapes/crl-sepkey", "staff/dave@" DOMAIN ".pem", 1 },
	{ "shapes/crl-sepkey", "staff/alice@" DOMAIN ".pem", 0 },
	/* an indirect CRL (certificateIssuer) for ivan's cRLIssuer */
	{ "shapes/crl-indirect", "shapes/ivan@" DOMAIN ".pem", 1 },
	{ "shapes/crl-indirect", "staff/alice@" DOMAIN ".pem", 0 },
	{ "shapes/crl-indirect", "staff/dave@" DOMAIN ".pem", 0 },
	/* a base CRL that lists nobody and a delta that lists dave */
	{ "shapes/crl-delta", "staff/dave@" DOMAIN ".pem", 1 },
	{ "shapes/crl-delta", "staff/alice@" DOMAIN ".pem", 0 },
	/* the base alone: dave was not yet revoked */
	{ "shapes/crl-old", "staff/dave@" DOMAIN ".pem", 0 },
};

START_TEST(shape)
{
	struct pki *p = load("shapes/trust.pem", shapes[_i].crl, 0);
	X509 *x = read_cert(tl_path(pkidir, "%s", shapes[_i].cert));
	STACK_OF(X509) *ch = chain();
	int err = pki_verify_cert(p, x, ch, 0);
	bool delta = strstr(shapes[_i].crl, "delta") != NULL;

	ck_assert_msg(pki_is_revoked(p, x) == shapes[_i].revoked,
	    "%s in %s: cross-check says %d", shapes[_i].cert, shapes[_i].crl,
	    pki_is_revoked(p, x));
	/* OpenSSL applies a delta only for a certificate with a freshestCRL
	 * extension (none here): there the cross-check alone finds it */
	if (shapes[_i].revoked && !delta)
		ck_assert_msg(err == X509_V_ERR_CERT_REVOKED, "%s in %s: "
		    "OpenSSL says %s", shapes[_i].cert, shapes[_i].crl,
		    X509_verify_cert_error_string(err));
	else if (!shapes[_i].revoked)
		ck_assert_msg(err == X509_V_OK, "%s in %s: OpenSSL says %s",
		    shapes[_i].cert, shapes[_i].crl,
		    X509_verify_cert_error_string(err));
	sk_X509_pop_free(ch, X509_free);
	X509_free(x);
	pki_free(p);
}
END_TEST

/* A CRL that claims BSrE's name but is signed by an unrelated key. */
START_TEST(sepkey_needs_trusted_signer)
{
	/* trust.pem lacks the CRL-signing certificate: OpenSSL cannot use
	 * the CRL (no CRL found is tolerated), the cross-check still lists */
	struct pki *p = load("trust.pem", "shapes/crl-sepkey", 0);
	X509 *x = read_cert(tl_path(pkidir, "staff/dave@" DOMAIN ".pem"));
	STACK_OF(X509) *ch = chain();

	ck_assert_int_ne(pki_verify_cert(p, x, ch, 0), X509_V_ERR_CERT_REVOKED);
	ck_assert_int_eq(pki_is_revoked(p, x), 1);
	sk_X509_pop_free(ch, X509_free);
	X509_free(x);
	pki_free(p);
}
END_TEST

/* The stale-CRL rule: nextUpdate 2 days ago. */
START_TEST(stale_rule)
{
	X509 *alice = read_cert(tl_path(pkidir, "staff/alice@" DOMAIN ".pem"));
	X509 *dave;
	STACK_OF(X509) *ch = chain();
	struct pki *p;
	char *why = NULL;

	p = load("trust.pem", "shapes/crl-stale", 86400);
	ck_assert_int_eq(pki_crl_stale(p, alice, ch, 0, &why), 1);
	ck_assert_msg(why != NULL && strstr(why, "CN=Test BSrE Issuing CA,O=") &&
	    strstr(why, "pki.crl_grace (86400s)"), "%s", why);
	free(why);
	/* the listed revocation still counts */
	dave = read_cert(tl_path(pkidir, "staff/dave@" DOMAIN ".pem"));
	ck_assert_int_eq(pki_is_revoked(p, dave), 1);
	X509_free(dave);
	pki_free(p);
	p = load("trust.pem", "shapes/crl-stale", 3 * 86400);
	ck_assert_int_eq(pki_crl_stale(p, alice, ch, 0, &why), 0);
	ck_assert_ptr_null(why);
	/* judged at the time asked: a week later the grace is over */
	ck_assert_int_eq(pki_crl_stale(p, alice, ch, time(NULL) + 7 * 86400,
	    &why), 1);
	free(why);
	pki_free(p);
	/* a current CRL, or none for the issuer: not stale */
	p = load("trust.pem", "crl", 0);
	ck_assert_int_eq(pki_crl_stale(p, alice, ch, 0, &why), 0);
	ck_assert_int_eq(pki_crl_stale(p, alice, ch, time(NULL) + 40 * 86400,
	    &why), 1);
	free(why);
	pki_free(p);
	sk_X509_pop_free(ch, X509_free);
	X509_free(alice);
}
END_TEST

/* Through the store: alice tempfails (CERT_CRL_STALE) past the grace. */
START_TEST(stale_store)
{
	const struct cert_entry *e;
	struct conf c;
	struct diag d;
	struct pki *p;
	struct certstore *cs;

	memset(&c, 0, sizeof(c));
	c.path = "segel.conf";
	c.domain = DOMAIN;
	c.trust_file = xstrdup(tl_path(pkidir, "trust.pem"));
	c.crl_dir = xstrdup(tl_path(pkidir, "shapes/crl-stale"));
	c.cert_dir = xstrdup(tl_path(pkidir, "certs"));
	c.crl_grace = 86400;
	diag_init(&d);
	ck_assert_ptr_nonnull((p = pki_load(&c, &d)));
	cs = certstore_load(&c, p, &d);
	ck_assert_int_eq(certstore_lookup(cs, "alice@" DOMAIN, time(NULL), &e),
	    CERT_CRL_STALE);
	ck_assert_int_eq(certstore_lookup(cs, "dave@" DOMAIN, time(NULL), &e),
	    CERT_REVOKED);
	certstore_free(cs);
	pki_free(p);
	diag_free(&d);
	free(c.trust_file);
	free(c.crl_dir);
	free(c.cert_dir);
}
END_TEST

/* segelctl crl update's rules: signer in trust_file, never older. */
START_TEST(fetch_rules)
{
	struct pki *p = load("shapes/trust.pem", "crl", 0);
	struct pki *pc = load("chain-trust.pem", "crl", 0);
	struct pki *pr = load("trust.pem", "crl", 0);
	X509_CRL *old = read_crl(tl_path(pkidir, "shapes/crl-old/bsre.crl.pem"));
	X509_CRL *nu = read_crl(tl_path(pkidir, "shapes/crl-new.pem"));
	X509_CRL *sep = read_crl(tl_path(pkidir,
	    "shapes/crl-sepkey/bsre-sepkey.crl.pem"));
	X509_CRL *root = read_crl(tl_path(pkidir, "crl/root.crl.pem"));
	struct sbuf why;

	sbuf_init(&why);
	/* trust.pem without BSrE's certificate: its CRL is refused */
	ck_assert_int_eq(crlfetch_verify(pr, nu, &why), -1);
	ck_assert_msg(strstr(why.s, "not in pki.trust_file"), "%s", why.s);
	pki_free(pr);
	sbuf_free(&why);
	/* only the CRL-signing certificate bears BSrE's name there */
	ck_assert_int_eq(crlfetch_verify(p, nu, &why), -1);
	ck_assert_msg(strstr(why.s, "does not verify"), "%s", why.s);
	/* signed by the CRL-signing certificate of shapes/trust.pem */
	ck_assert_int_eq(crlfetch_verify(p, sep, &why), 0);
	ck_assert_int_eq(crlfetch_verify(pc, nu, &why), 0);
	/* the separate-key CRL under BSrE's own key: does not verify */
	sbuf_free(&why);
	ck_assert_int_eq(crlfetch_verify(pc, sep, &why), -1);
	ck_assert_msg(strstr(why.s, "does not verify"), "%s", why.s);
	sbuf_free(&why);
	ck_assert_int_eq(crlfetch_newer(old, nu, &why), 1);
	ck_assert_int_eq(crlfetch_newer(nu, nu, &why), 0);
	ck_assert_int_eq(crlfetch_newer(nu, old, &why), -1);
	ck_assert_msg(strstr(why.s, "replayed"), "%s", why.s);
	sbuf_free(&why);
	ck_assert_int_eq(crlfetch_newer(nu, root, &why), -1);
	sbuf_free(&why);
	X509_CRL_free(old);
	X509_CRL_free(nu);
	X509_CRL_free(sep);
	X509_CRL_free(root);
	pki_free(p);
	pki_free(pc);
}
END_TEST

/* pki.crl_grace and pki.crl_urls in a configuration file. */
START_TEST(conf_keys)
{
	static const char *bad[] = {
	    "pki: { trust_file = \"trust.pem\"; crl_grace = \"soon\"; };",
	    "pki: { trust_file = \"trust.pem\"; crl_grace = \"100d\"; };",
	    "pki: { trust_file = \"trust.pem\"; crl_urls = [ \"ftp://x/y.crl\" ]; };",
	    "pki: { trust_file = \"trust.pem\"; crl_urls = [ 3 ]; };",
	    "pki: { trust_file = \"trust.pem\"; crl_urls = \"http://x/y.crl\"; };",
	};
	struct conf *c;
	struct diag d;
	char *path = xasprintf("%s/t.conf", pkidir), *text;
	size_t i;

	ck_assert_int_eq(conf_parse_duration("24h"), 86400);
	ck_assert_int_eq(conf_parse_duration("2d"), 172800);
	ck_assert_int_eq(conf_parse_duration("0"), 0);
	ck_assert_int_eq(conf_parse_duration("h"), -1);
	ck_assert_int_eq(conf_parse_duration("5x"), -1);
	tl_write(pkidir, "t.conf", "user = \"\";\npki: { trust_file = \"trust.pem\"; "
	    "crl_urls = [ \"http://crl.example/a.crl\", "
	    "\"https://crl.example/b.crl\" ]; crl_grace = \"2d\"; };\n"
	    "sign: { cert_dir = \"certs\"; };\n");
	diag_init(&d);
	c = conf_load(path, &d);
	if (c == NULL)
		diag_print(&d, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->n_crl_urls, 2);
	ck_assert_str_eq(c->crl_urls[1], "https://crl.example/b.crl");
	ck_assert_int_eq(c->crl_grace, 172800);
	conf_free(c);
	diag_free(&d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = xasprintf("%s\nuser = \"\";\nsign: { cert_dir = \"certs\"; };\n", bad[i]);
		tl_write(pkidir, "t.conf", text);
		diag_init(&d);
		ck_assert_msg(conf_load(path, &d) == NULL, "accepted: %s", bad[i]);
		ck_assert_msg(d.n > 0 && d.items[0].line == 1 &&
		    strncmp(d.items[0].key, "pki.crl_", 8) == 0, "%s: %s", bad[i],
		    d.n ? d.items[0].msg : "no problem reported");
		diag_free(&d);
		free(text);
	}
	free(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("crl");
	TCase *tc = tcase_create("core");
	char *cmd;
	int rc;

	if (mkdtemp(pkidir) == NULL ||
	    tl_gen_pki(pkidir, "certs/alice@" DOMAIN ".p12") != 0)
		return EXIT_FAILURE;
	cmd = xasprintf("/usr/bin/python3 '%s/tests/pki/crlshapes.py' '%s' && "
	    "cat '%s/trust.pem' '%s/chain.pem' > '%s/chain-trust.pem'",
	    tl_srcdir(), pkidir, pkidir, pkidir, pkidir);
	rc = system(cmd);
	free(cmd);
	if (rc != 0)
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, shape, 0, sizeof(shapes) / sizeof(shapes[0]));
	tcase_add_test(tc, sepkey_needs_trusted_signer);
	tcase_add_test(tc, stale_rule);
	tcase_add_test(tc, stale_store);
	tcase_add_test(tc, fetch_rules);
	tcase_add_test(tc, conf_keys);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	tl_rmtree(pkidir);
	return rc;
}
