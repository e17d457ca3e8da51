/*
 * test_p11.c - store entries whose key lives in a PKCS#11 token: a real
 * SoftHSM2 token in a temporary folder (tests/pki/softhsm), loaded through
 * certstore_load as the daemon does. Check forks each case, so each one
 * starts with a fresh PKCS#11 connection.
 */
#include <sys/stat.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include "certstore.h"
#include "conf.h"
#include "p11.h"
#include "testlib.h"
#include "util.h"

#define DOM	"tanjungpinangkota.go.id"
#define BOB	"bob@" DOM
#define ALICE	"alice@" DOM
#define DAVE	"dave@" DOM
#define LABEL	"segel-unit"
#define PIN	"314159"
#define MODULE	"/usr/lib/softhsm/libsofthsm2.so"

static char pkidir[] = "/tmp/segel-test-p11.XXXXXX";
#define P(...)	tl_path(pkidir, __VA_ARGS__)

/* certs/ copied to dir with bob's (and dave's) key moved into the token. */
static void
token_store(const char *dir)
{
	tl_sh("rm -rf %s && cp -a %s %s", P("%s", dir), P("certs"),
	    P("%s", dir));
	tl_sh("%s/tests/pki/softhsm entry %s %s %s %s %s 0b0b", tl_srcdir(),
	    P("%s", dir), pkidir, BOB, LABEL, BOB);
	tl_sh("%s/tests/pki/softhsm entry %s %s %s %s %s 0d0d", tl_srcdir(),
	    P("%s", dir), pkidir, DAVE, LABEL, DAVE);
}

/* The store of dir with the pkcs11 group set to the fixture's token. */
static void
load(struct tl_store *f, const char *dir, const char *token,
    const char *pinfile)
{
	memset(f, 0, sizeof(*f));
	f->c.path = (char *)"segel.conf";
	f->c.domain = (char *)DOM;
	f->c.trust_file = xasprintf("%s/trust.pem", pkidir);
	f->c.crl_dir = xasprintf("%s/crl", pkidir);
	f->c.cert_dir = xasprintf("%s/%s", pkidir, dir);
	if (token != NULL) {
		f->c.p11_module = (char *)MODULE;
		f->c.p11_token = (char *)token;
		f->c.p11_pin_file = P("%s", pinfile);
	}
	diag_init(&f->d);
	f->p = pki_load(&f->c, &f->d);
	ck_assert_ptr_nonnull(f->p);
	f->cs = certstore_load(&f->c, f->p, &f->d);
}

static const struct cert_entry *
entry(struct tl_store *f, const char *addr, enum cert_status want)
{
	const struct cert_entry *e;
	enum cert_status st = certstore_lookup(f->cs, addr, time(NULL), &e);

	ck_assert_msg(st == want, "%s: %s, want %s (%s)", addr,
	    cert_status_name(st), cert_status_name(want),
	    e && e->problem ? e->problem : "-");
	return e;
}

START_TEST(token_key_ok)
{
	const struct cert_entry *e;
	struct tl_store f;

	token_store("s1");
	load(&f, "s1", LABEL, "pin");
	e = entry(&f, BOB, CERT_OK);
	ck_assert_ptr_nonnull(e->key);
	ck_assert_ptr_nonnull(e->uri);
	ck_assert_ptr_nonnull(strstr(e->file, ".uri"));
	ck_assert_int_gt(sk_X509_num(e->chain), 0);	/* from the .crt */
	ck_assert_ptr_null(entry(&f, ALICE, CERT_OK)->uri);	/* a file key */
	/* the certificate checks come first: dave is revoked by its CA */
	entry(&f, DAVE, CERT_REVOKED);
	tl_store_free(&f);
}
END_TEST

/* Eight threads sign at once with the token key; every signature verifies
 * (libp11's session pool: one session per operation). */
struct signer { const struct cert_entry *e; X509_STORE *st; int ok; };

static void *
sign_loop(void *arg)
{
	struct signer *s = arg;
	CMS_ContentInfo *cms;
	BIO *in, *out;
	int i;

	for (i = 0; i < 10; i++) {
		in = BIO_new_mem_buf("pesan resmi\r\n", -1);
		cms = CMS_sign(s->e->cert, s->e->key, s->e->chain, in,
		    CMS_DETACHED | CMS_BINARY);
		(void)BIO_reset(in);
		out = BIO_new(BIO_s_null());
		if (cms != NULL && CMS_verify(cms, s->e->chain, s->st, in, out,
		    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1)
			s->ok++;
		CMS_ContentInfo_free(cms);
		BIO_free(in);
		BIO_free(out);
	}
	ERR_clear_error();
	return NULL;
}

START_TEST(concurrent_signing)
{
	struct signer s[8];
	pthread_t t[8];
	struct tl_store f;
	int i;

	token_store("s2");
	load(&f, "s2", LABEL, "pin");
	for (i = 0; i < 8; i++) {
		s[i].e = entry(&f, BOB, CERT_OK);
		s[i].st = X509_STORE_new();
		s[i].ok = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, sign_loop, &s[i]),
		    0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(s[i].ok, 10);
		X509_STORE_free(s[i].st);
	}
	tl_store_free(&f);
}
END_TEST

/* What makes a token key unusable now: a tempfail, never another key. */
static const struct {
	const char *name, *token, *pinfile, *problem;
} unavail_cases[] = {
	{ "wrong PIN", LABEL, "badpin", "wrong PIN" },
	{ "missing token", "no-such-token", "pin", "not found" },
	{ "deleted key", LABEL, "pin", "no private key object" },
	{ "key of another", LABEL, "pin", "does not match the certificate" },
};

START_TEST(unavailable_table)
{
	const struct cert_entry *e;
	struct tl_store f;
	char dir[32];

	snprintf(dir, sizeof(dir), "u%d", _i);
	token_store(dir);
	if (strcmp(unavail_cases[_i].name, "deleted key") == 0)
		tl_sh("sed -i 's/%%0b%%0b/%%0e%%0e/' %s",
		    P("%s/%s.uri", dir, BOB));	/* id 0e0e: deleted below */
	if (strcmp(unavail_cases[_i].name, "key of another") == 0)
		tl_sh("sed -i 's/%%0b%%0b/%%0a%%0a/; s/object=bob/object=alice/' "
		    "%s", P("%s/%s.uri", dir, BOB));
	load(&f, dir, unavail_cases[_i].token, unavail_cases[_i].pinfile);
	e = entry(&f, BOB, CERT_UNAVAILABLE);
	ck_assert_msg(strstr(e->problem, unavail_cases[_i].problem) != NULL,
	    "%s: problem \"%s\"", unavail_cases[_i].name, e->problem);
	ck_assert_ptr_null(strstr(e->problem, PIN));	/* never the PIN */
	ck_assert_ptr_null(e->key);
	entry(&f, ALICE, CERT_OK);	/* file keys are not affected */
	tl_store_free(&f);
}
END_TEST

START_TEST(no_pkcs11_group)
{
	const struct cert_entry *e;
	struct tl_store f;

	token_store("s3");
	load(&f, "s3", NULL, NULL);
	e = entry(&f, BOB, CERT_BROKEN);
	ck_assert_ptr_nonnull(strstr(e->problem, "no pkcs11 group"));
	tl_store_free(&f);
}
END_TEST

START_TEST(p12_beside_uri)
{
	struct tl_store f;

	token_store("s4");
	tl_sh("cp -p %s %s", P("certs/%s.p12", BOB), P("s4/%s.p12", BOB));
	tl_sh("cp -p %s %s", P("certs/%s.pass", BOB), P("s4/%s.pass", BOB));
	load(&f, "s4", LABEL, "pin");
	ck_assert_ptr_nonnull(strstr(entry(&f, BOB, CERT_BROKEN)->problem,
	    "both a .p12 and a .uri"));
	tl_store_free(&f);
}
END_TEST

START_TEST(unsafe_uri_file)
{
	struct tl_store f;

	token_store("s5");
	tl_sh("chmod 0644 %s", P("s5/%s.uri", BOB));
	load(&f, "s5", LABEL, "pin");
	ck_assert_uint_gt(diag_count(&f.d, DIAG_ERROR), 0);
	entry(&f, BOB, CERT_BROKEN);
	tl_store_free(&f);
}
END_TEST

static const struct {
	const char *uri;
	int rc;
	const char *token, *object;
	size_t idlen;
} uri_cases[] = {
	{ "pkcs11:token=segel;object=bob%40x;id=%0b%0b;type=private", 0,
	    "segel", "bob@x", 2 },
	{ "pkcs11:object=a;type=private", 0, NULL, "a", 0 },
	{ "pkcs11:id=%01", 0, NULL, NULL, 1 },
	{ "pkcs11:token=segel", -1, NULL, NULL, 0 },	/* no object or id */
	{ "pkcs11:object=a;type=cert", -1, NULL, NULL, 0 },
	{ "pkcs11:object=a?pin-value=1234", -1, NULL, NULL, 0 },
	{ "pkcs11:object=a;serial=1", -1, NULL, NULL, 0 },	/* unknown */
	{ "pkcs11:object=a%4", -1, NULL, NULL, 0 },	/* bad escape */
	{ "pkcs11:object=a%00b", -1, NULL, NULL, 0 },	/* NUL in a label */
	{ "pkcs11:object=a;object=b", -1, NULL, NULL, 0 },
	{ "file:/etc/segel/x", -1, NULL, NULL, 0 },
};

START_TEST(uri_table)
{
	struct p11_uri u, v;
	char *s;

	ck_assert_int_eq(p11_uri_parse(uri_cases[_i].uri, &u),
	    uri_cases[_i].rc);
	if (uri_cases[_i].rc != 0)
		return;
	ck_assert_pstr_eq(u.token, uri_cases[_i].token);
	ck_assert_pstr_eq(u.object, uri_cases[_i].object);
	ck_assert_uint_eq(u.idlen, uri_cases[_i].idlen);
	s = p11_uri_format(u.token ? u.token : "t", u.object, u.id, u.idlen);
	ck_assert_int_eq(p11_uri_parse(s, &v), 0);	/* round trip */
	ck_assert_pstr_eq(v.object, u.object);
	ck_assert_uint_eq(v.idlen, u.idlen);
	ck_assert(u.idlen == 0 || memcmp(u.id, v.id, u.idlen) == 0);
	free(s);
	p11_uri_clear(&u);
	p11_uri_clear(&v);
}
END_TEST

/* The pkcs11 group in segel.conf: FILE:LINE: key: problem. */
static const struct {
	const char *group, *want;
} conf_cases[] = {
	{ "pkcs11 = { module = \"" MODULE "\"; token = \"t\"; pin_file = \"pin\"; };", NULL },
	{ "pkcs11 = { module = \"" MODULE "\"; token = \"t\"; pin_file = \"pin\"; slot = 1; };", ":2: pkcs11.slot: unknown key" },
	{ "pkcs11 = { module = \"" MODULE "\"; pin_file = \"pin\"; };", ":2: pkcs11.token: required" },
	{ "pkcs11 = { module = \"/nonexistent.so\"; token = \"t\"; pin_file = \"pin\"; };", ":2: pkcs11.module: /nonexistent.so" },
	{ "pkcs11 = { module = \"" MODULE "\"; token = \"t\"; pin_file = \"openpin\"; };", ":2: pkcs11.pin_file: " },
};

START_TEST(conf_table)
{
	struct diag d;
	struct conf *c;
	char text[1024], *msg;

	snprintf(text, sizeof(text), "pki: { trust_file = \"trust.pem\"; };\n"
	    "%s\nsign: { cert_dir = \"certs\"; };\nlimits: { tmp_dir = "
	    "\"/tmp\"; };\nuser = \"\";\n", conf_cases[_i].group);
	tl_write(pkidir, "p11.conf", text);
	diag_init(&d);
	c = conf_load(P("p11.conf"), &d);
	if (conf_cases[_i].want == NULL) {
		ck_assert_msg(c != NULL, "rejected: %s", d.n ? d.items[0].msg :
		    "-");
		ck_assert_str_eq(c->p11_token, "t");
	} else {
		ck_assert_ptr_null(c);
		msg = d.n ? xasprintf("%s:%d: %s: %s", d.items[0].file,
		    d.items[0].line, d.items[0].key, d.items[0].msg) : NULL;
		ck_assert_msg(msg && strstr(msg, conf_cases[_i].want), "got %s",
		    msg ? msg : "nothing");
		free(msg);
	}
	conf_free(c);
	diag_free(&d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("p11");
	TCase *tc = tcase_create("core");
	char *cmd;
	int rc;

	umask(077);
	if (access(MODULE, R_OK) != 0) {
		printf("SoftHSM2 (%s) is not installed: make deps\n", MODULE);
		return 77;
	}
	if (mkdtemp(pkidir) == NULL || tl_gen_pki(pkidir, "certs/" BOB
	    ".p12") != 0)
		return EXIT_FAILURE;
	cmd = xasprintf("set -e; S=%s/tests/pki/softhsm; D=%s; "
	    "$S init $D/hsm %s %s; "
	    "$S import $D/hsm %s %s $D/staff/%s.key %s 0b0b; "
	    "$S import $D/hsm %s %s $D/staff/%s.key %s 0a0a; "
	    "$S import $D/hsm %s %s $D/staff/%s.key %s 0d0d; "
	    "$S import $D/hsm %s %s $D/staff/%s.key gone 0e0e; "
	    "$S delete $D/hsm %s %s 0e0e; "
	    "printf '%s\\n' > $D/pin; printf '999999\\n' > $D/badpin; "
	    "printf '%s\\n' > $D/openpin; chmod 644 $D/openpin",
	    tl_srcdir(), pkidir, LABEL, PIN, LABEL, PIN, BOB, BOB,
	    LABEL, PIN, ALICE, ALICE, LABEL, PIN, DAVE, DAVE, LABEL, PIN, BOB,
	    LABEL, PIN, PIN, PIN);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make the SoftHSM2 token\n");
		return EXIT_FAILURE;
	}
	free(cmd);
	setenv("SOFTHSM2_CONF", P("hsm/softhsm2.conf"), 1);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, token_key_ok);
	tcase_add_test(tc, concurrent_signing);
	tcase_add_loop_test(tc, unavailable_table, 0,
	    sizeof(unavail_cases) / sizeof(unavail_cases[0]));
	tcase_add_test(tc, no_pkcs11_group);
	tcase_add_test(tc, p12_beside_uri);
	tcase_add_test(tc, unsafe_uri_file);
	tcase_add_loop_test(tc, uri_table, 0,
	    sizeof(uri_cases) / sizeof(uri_cases[0]));
	tcase_add_loop_test(tc, conf_table, 0,
	    sizeof(conf_cases) / sizeof(conf_cases[0]));
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	tl_rmtree(pkidir);
	return rc;
}
