/*
 * test_certstore.c - the signing-certificate store on the test PKI.
 *
 * Run from the repository root (or set SEGEL_SRCDIR): tests/pki/gen builds
 * the PKI once into a temporary folder; each case that changes the store
 * works on its own copy of certs/.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "certstore.h"
#include "conf.h"
#include "diag.h"
#include "pki.h"
#include "testlib.h"
#include "util.h"

#define DOM "tanjungpinangkota.go.id"

static char pkidir[] = "/tmp/segel-test-cs.XXXXXX";
#define P(...)	tl_path(pkidir, __VA_ARGS__)

/* A private copy of certs/ named dir. */
static void
copy_store(const char *dir)
{
	tl_sh("rm -rf %s && cp -a %s %s", P("%s", dir), P("certs"), P("%s", dir));
}

static int
diag_has(const struct diag *d, enum diag_severity sev, const char *file,
    const char *text)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->items[i].sev == sev &&
		    (file == NULL || strstr(d->items[i].file, file)) &&
		    strstr(d->items[i].msg, text))
			return 1;
	return 0;
}

static const struct {
	const char *local;
	enum cert_status at_load;	/* entry->status */
	enum cert_status now;		/* certstore_lookup(now) */
} status_cases[] = {
	{ "alice", CERT_OK, CERT_OK },
	{ "bob", CERT_OK, CERT_OK },
	{ "app", CERT_OK, CERT_OK },
	{ "ec", CERT_OK, CERT_OK },
	{ "legacy", CERT_OK, CERT_OK },		/* RC2/3DES PKCS#12 */
	{ "carol", CERT_OK, CERT_EXPIRED },
	{ "frank", CERT_OK, CERT_NOT_YET_VALID },
	{ "dave", CERT_REVOKED, CERT_REVOKED },
	{ "mallory", CERT_UNTRUSTED, CERT_UNTRUSTED },
	{ "nobody", CERT_NONE, CERT_NONE },
};

START_TEST(status_table)
{
	const struct cert_entry *e;
	enum cert_status st;
	struct tl_store f;
	char addr[128];

	tl_store_load(&f, pkidir, "certs", DOM, NULL);
	ck_assert_uint_eq(diag_count(&f.d, DIAG_ERROR), 0);
	snprintf(addr, sizeof(addr), "%s@%s", status_cases[_i].local, DOM);
	st = certstore_lookup(f.cs, addr, time(NULL), &e);
	ck_assert_msg(st == status_cases[_i].now, "%s: lookup %s, want %s "
	    "(problem: %s)", addr, cert_status_name(st),
	    cert_status_name(status_cases[_i].now),
	    e && e->problem ? e->problem : "-");
	if (status_cases[_i].at_load == CERT_NONE) {
		ck_assert_ptr_null(e);
	} else {
		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(e->status, status_cases[_i].at_load);
		ck_assert_ptr_nonnull(e->cert);
		if (e->status == CERT_OK)
			ck_assert_ptr_nonnull(e->key);
	}
	if (status_cases[_i].now != CERT_OK &&
	    status_cases[_i].now != CERT_NONE)
		ck_assert_msg(diag_has(&f.d, DIAG_WARNING, addr, addr),
		    "no load warning for %s", addr);
	tl_store_free(&f);
}
END_TEST

START_TEST(fields)
{
	const struct cert_entry *e;
	struct tl_store f;
	X509 *x;
	FILE *fp;
	char *hex;

	tl_store_load(&f, pkidir, "certs", DOM, NULL);
	ck_assert_int_eq(certstore_count(f.cs), 9);
	ck_assert_int_eq(certstore_lookup(f.cs, "Alice@TanjungpinangKota.go.id",
	    time(NULL), &e), CERT_OK);
	ck_assert_str_eq(e->address, "alice@" DOM);
	ck_assert_str_eq(e->subject_cn, "Alice Wulandari");
	ck_assert_str_eq(e->unit, "Dinas Komunikasi dan Informatika");
	ck_assert_str_eq(e->issuer, "CN=Test BSrE Issuing CA,"
	    "O=Balai Besar Sertifikasi Elektronik (TEST),C=ID");
	ck_assert_int_eq(sk_X509_num(e->chain), 1);	/* root left out */
	fp = fopen(P("staff/alice@" DOM ".pem"), "r");
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	hex = certstore_serial_hex(x);
	ck_assert_str_eq(e->serial_hex, hex);
	ck_assert_ptr_null(strpbrk(hex, "abcdef"));
	ck_assert_int_eq(X509_cmp(x, e->cert), 0);
	ck_assert(e->not_before < time(NULL) && e->not_after > time(NULL));
	ck_assert(e->not_after - e->not_before > 300L * 86400);
	ck_assert_ptr_eq(certstore_get(f.cs, 0)->address[0] == 'a' ?
	    certstore_get(f.cs, 0) : NULL, certstore_get(f.cs, 0));
	ck_assert_ptr_null(certstore_get(f.cs, 9));
	free(hex);
	X509_free(x);
	tl_store_free(&f);
}
END_TEST

START_TEST(unsafe_file)
{
	struct tl_store f;

	copy_store("unsafe1");
	tl_sh("chmod 0640 %s", P("unsafe1/bob@" DOM ".p12"));
	tl_store_load(&f, pkidir, "unsafe1", DOM, NULL);
	ck_assert(diag_has(&f.d, DIAG_ERROR, "bob@" DOM ".p12",
	    "unsafe permissions"));
	tl_store_free(&f);

	copy_store("unsafe2");
	tl_sh("chmod 0604 %s", P("unsafe2/alice@" DOM ".pass"));
	tl_store_load(&f, pkidir, "unsafe2", DOM, NULL);
	ck_assert(diag_has(&f.d, DIAG_ERROR, "alice@" DOM ".pass",
	    "unsafe permissions"));
	tl_store_free(&f);

	copy_store("unsafe3");
	tl_sh("chmod 0777 %s", P("unsafe3"));
	tl_store_load(&f, pkidir, "unsafe3", DOM, NULL);
	ck_assert(diag_has(&f.d, DIAG_ERROR, "unsafe3", "writable by others"));
	tl_store_free(&f);
}
END_TEST

START_TEST(safe_store_no_error)
{
	struct tl_store f;

	copy_store("safe");
	tl_store_load(&f, pkidir, "safe", DOM, NULL);
	ck_assert_uint_eq(diag_count(&f.d, DIAG_ERROR), 0);
	tl_store_free(&f);
}
END_TEST

static const struct {
	const char *name;
	const char *setup;	/* shell; $S is the store folder */
	const char *addr;
	enum cert_status want;
	const char *problem;
	const char *warn_file;
} broken_cases[] = {
	{ "wrong passphrase", "echo wrong > $S/bob@" DOM ".pass",
	    "bob@" DOM, CERT_BROKEN, "passphrase", "bob@" DOM ".p12" },
	{ "missing pass", "rm $S/bob@" DOM ".pass",
	    "bob@" DOM, CERT_BROKEN, "no passphrase file", "bob@" DOM ".p12" },
	{ "not pkcs12", "echo junk > $S/bob@" DOM ".p12",
	    "bob@" DOM, CERT_BROKEN, "not a PKCS#12", "bob@" DOM ".p12" },
	{ "address mismatch", "cp -p $S/alice@" DOM ".p12 $S/zed@" DOM
	    ".p12 && cp -p $S/alice@" DOM ".pass $S/zed@" DOM ".pass",
	    "zed@" DOM, CERT_BROKEN, "does not name", "zed@" DOM ".p12" },
	{ "locally revoked", "printf '%s\\t%s\\t%s\\t%s\\t%s\\n' $(openssl "
	    "x509 -noout -serial -in $S/../staff/alice@" DOM ".pem | cut -d= "
	    "-f2) 'CN=Test BSrE Issuing CA,O=Balai Besar Sertifikasi Elektronik"
	    " (TEST),C=ID' alice@" DOM " 2026-11-01T00:00:00Z 'key lost' > "
	    "$S/revoked.list", "alice@" DOM, CERT_REVOKED, "key lost",
	    "alice@" DOM ".p12" },
	{ "locally listed, other issuer", "printf '%s\\tCN=Other\\tx\\tt\\tr\\n'"
	    " $(openssl x509 -noout -serial -in $S/../staff/alice@" DOM ".pem "
	    "| cut -d= -f2) > $S/revoked.list", "alice@" DOM, CERT_OK, NULL,
	    NULL },
	{ "upper-case file ignored", "mv $S/bob@" DOM ".p12 $S/Bob@" DOM
	    ".p12", "bob@" DOM, CERT_NONE, NULL, "Bob@" DOM ".p12" },
	{ "key mismatch", "/usr/bin/python3 -c 'import sys\n"
	    "from cryptography import x509\n"
	    "from cryptography.hazmat.primitives import serialization as s\n"
	    "from cryptography.hazmat.primitives.serialization import pkcs12\n"
	    "c = x509.load_pem_x509_certificate(open(sys.argv[1], \"rb\").read())\n"
	    "k = s.load_pem_private_key(open(sys.argv[2], \"rb\").read(), None)\n"
	    "open(sys.argv[3], \"wb\").write(pkcs12.serialize_key_and_certificates("
	    "None, k, None, [c], s.BestAvailableEncryption(b\"x\")))' "
	    "$S/../staff/bob@" DOM ".pem $S/../staff/alice@" DOM ".key "
	    "$S/bob@" DOM ".p12 && echo x > $S/bob@" DOM ".pass",
	    "bob@" DOM, CERT_BROKEN, "matches the private key", "bob@" DOM ".p12" },
};

START_TEST(broken_table)
{
	const struct cert_entry *e;
	enum cert_status st;
	struct tl_store f;
	char dir[64];

	snprintf(dir, sizeof(dir), "broken%d", _i);
	copy_store(dir);
	tl_sh("S=%s; %s", P("%s", dir), broken_cases[_i].setup);
	tl_store_load(&f, pkidir, dir, DOM, NULL);
	st = certstore_lookup(f.cs, broken_cases[_i].addr, time(NULL), &e);
	ck_assert_msg(st == broken_cases[_i].want, "%s: got %s (%s)",
	    broken_cases[_i].name, cert_status_name(st),
	    e && e->problem ? e->problem : "-");
	if (broken_cases[_i].problem != NULL)
		ck_assert_msg(e != NULL && e->problem != NULL &&
		    strstr(e->problem, broken_cases[_i].problem), "%s: "
		    "problem %s", broken_cases[_i].name, e && e->problem ?
		    e->problem : "-");
	if (broken_cases[_i].warn_file != NULL)
		ck_assert_msg(diag_has(&f.d, DIAG_WARNING,
		    broken_cases[_i].warn_file, ""), "%s: no warning naming "
		    "%s", broken_cases[_i].name, broken_cases[_i].warn_file);
	ck_assert_uint_eq(diag_count(&f.d, DIAG_ERROR), 0);
	tl_store_free(&f);
}
END_TEST

START_TEST(outside_domain)
{
	const struct cert_entry *e;
	struct tl_store f;

	tl_store_load(&f, pkidir, "certs", "example.org", NULL);
	ck_assert_int_eq(certstore_lookup(f.cs, "alice@" DOM, time(NULL), &e),
	    CERT_BROKEN);
	ck_assert_ptr_nonnull(strstr(e->problem, "not in the domain"));
	tl_store_free(&f);
}
END_TEST

START_TEST(expiry_at_lookup_time)
{
	const struct cert_entry *e;
	struct tl_store f;
	time_t now = time(NULL);

	tl_store_load(&f, pkidir, "certs", DOM, NULL);
	/* years ahead crl/'s CRLs are out of date (CERT_CRL_STALE, test_crl):
	 * this test is about the certificates' own dates */
	f.p->crl_grace = 5L * 365 * 86400;
	ck_assert_int_eq(certstore_lookup(f.cs, "alice@" DOM,
	    now + 3L * 365 * 86400, &e), CERT_EXPIRED);
	ck_assert_int_eq(certstore_lookup(f.cs, "frank@" DOM,
	    now + 400L * 86400, &e), CERT_OK);
	ck_assert_int_eq(certstore_lookup(f.cs, "carol@" DOM,
	    now - 300L * 86400, &e), CERT_OK);
	tl_store_free(&f);
}
END_TEST

START_TEST(names_and_free)
{
	ck_assert_str_eq(cert_status_name(CERT_NOT_YET_VALID), "not yet valid");
	ck_assert_str_eq(cert_status_name(CERT_OK), "ok");
	certstore_free(NULL);
	ck_assert_uint_eq(certstore_count(NULL), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("certstore");
	TCase *tc = tcase_create("core");
	int rc;

	umask(077);
	if (mkdtemp(pkidir) == NULL ||
	    tl_gen_pki(pkidir, "certs/legacy@" DOM ".p12") != 0)
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, status_table, 0,
	    sizeof(status_cases) / sizeof(status_cases[0]));
	tcase_add_test(tc, fields);
	tcase_add_test(tc, unsafe_file);
	tcase_add_test(tc, safe_store_no_error);
	tcase_add_loop_test(tc, broken_table, 0,
	    sizeof(broken_cases) / sizeof(broken_cases[0]));
	tcase_add_test(tc, outside_domain);
	tcase_add_test(tc, expiry_at_lookup_time);
	tcase_add_test(tc, names_and_free);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	tl_rmtree(pkidir);
	return rc;
}
