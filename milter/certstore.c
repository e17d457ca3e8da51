/*
 * certstore.c - the senders' signing certificates (see certstore.h).
 *
 * certstore_load() decodes every cert_dir/ADDRESS.p12 once, checks it the
 * way the signer needs it (key, address, chain, revocation, usage), and
 * builds an immutable table sorted by address. Per-certificate problems are
 * DIAG_WARNINGs and make only that sender unusable; an unsafe store (files
 * readable by group/others, folder writable by others) is a DIAG_ERROR.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "certstore.h"
#include "util.h"

#define CS_KEY	"sign.cert_dir"

struct certstore {
	struct cert_entry *e;
	size_t n;
};

static pthread_once_t certstore_once = PTHREAD_ONCE_INIT;

/* Legacy PKCS#12 (RC2/3DES) needs the legacy provider; default must follow. */
static void
certstore_providers(void)
{
	(void)OSSL_PROVIDER_load(NULL, "legacy");
	(void)OSSL_PROVIDER_load(NULL, "default");
	ERR_clear_error();
}

const char *
cert_status_name(enum cert_status s)
{
	switch (s) {
	case CERT_OK:		return "ok";
	case CERT_NONE:		return "none";
	case CERT_EXPIRED:	return "expired";
	case CERT_NOT_YET_VALID: return "not yet valid";
	case CERT_REVOKED:	return "revoked";
	case CERT_UNTRUSTED:	return "untrusted";
	case CERT_BROKEN:	return "broken";
	}
	return "unknown";
}

/* Sets status and problem once: the first problem found is the one told. */
static void
cs_fail(struct cert_entry *e, enum cert_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
cs_fail(struct cert_entry *e, enum cert_status st, const char *fmt, ...)
{
	va_list ap;

	if (e->status != CERT_OK)
		return;
	e->status = st;
	va_start(ap, fmt);
	e->problem = xvasprintf(fmt, ap);
	va_end(ap);
}

static char *
cs_name_entry(const X509_NAME *nm, int nid)
{
	unsigned char *utf8 = NULL;
	char *s;
	int i, len;

	if ((i = X509_NAME_get_index_by_NID(nm, nid, -1)) < 0)
		return NULL;
	len = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)));
	if (len < 0)
		return NULL;
	s = xstrndup((char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return s;
}

char *
certstore_name_rfc2253(const X509_NAME *nm)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;

	if (b == NULL)
		return xstrdup("");
	X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253);
	n = BIO_get_mem_data(b, &p);
	s = xstrndup(p, n > 0 ? (size_t)n : 0);
	BIO_free(b);
	return s;
}

char *
certstore_serial_hex(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h, *s;

	if (bn == NULL || (h = BN_bn2hex(bn)) == NULL) {
		BN_free(bn);
		return xstrdup("?");
	}
	s = xstrdup(h);
	OPENSSL_free(h);
	BN_free(bn);
	return s;
}

static time_t
cs_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

/* True when the certificate names addr: SAN rfc822Name or subject email. */
bool
certstore_names_address(X509 *x, const char *addr)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	char *em;
	bool found = false;
	int i;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; !found && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_EMAIL &&
		    ASN1_STRING_length(g->d.rfc822Name) == (int)strlen(addr) &&
		    strncasecmp((const char *)ASN1_STRING_get0_data(
		    g->d.rfc822Name), addr, strlen(addr)) == 0)
			found = true;
	}
	GENERAL_NAMES_free(gens);
	if (!found && (em = cs_name_entry(X509_get_subject_name(x),
	    NID_pkcs9_emailAddress)) != NULL) {
		found = strcasecmp(em, addr) == 0;
		free(em);
	}
	return found;
}

/* Serial compare ignoring case and leading zeros. */
static bool
cs_serial_eq(const char *a, const char *b)
{
	while (*a == '0' && a[1] != '\0')
		a++;
	while (*b == '0' && b[1] != '\0')
		b++;
	return strcasecmp(a, b) == 0;
}

char *
certstore_local_reason(const char *cert_dir, X509 *cert)
{
	char *path, *line = NULL, *serial, *issuer, *f[5], *p, *r = NULL;
	size_t cap = 0;
	FILE *fp;
	int i;

	path = xasprintf("%s/revoked.list", cert_dir);
	fp = fopen(path, "r");
	free(path);
	if (fp == NULL)
		return NULL;
	serial = certstore_serial_hex(cert);
	issuer = certstore_name_rfc2253(X509_get_issuer_name(cert));
	while (r == NULL && getline(&line, &cap, fp) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		for (i = 0, p = line; i < 5; i++)
			f[i] = p ? strsep(&p, "\t") : NULL;
		if (f[0] == NULL || f[1] == NULL || line[0] == '#')
			continue;
		if (cs_serial_eq(f[0], serial) && strcmp(f[1], issuer) == 0)
			r = xasprintf("revoked locally on %s: %s",
			    f[3] ? f[3] : "?", f[4] ? f[4] : "");
	}
	free(line);
	fclose(fp);
	free(serial);
	free(issuer);
	return r;
}

bool
certstore_locally_revoked(const char *cert_dir, X509 *cert)
{
	char *r = certstore_local_reason(cert_dir, cert);
	bool yes = r != NULL;

	free(r);
	return yes;
}

/*
 * Chain check with time excluded: a certificate that fails only on its own
 * dates is checked again inside its validity (lookup decides on time).
 */
static int
cs_verify(const struct pki *p, struct cert_entry *e, STACK_OF(X509) *ca)
{
	time_t now = time(NULL), t;
	int err;

	err = pki_verify_cert(p, e->cert, ca, 0);
	if (err != X509_V_ERR_CERT_HAS_EXPIRED &&
	    err != X509_V_ERR_CERT_NOT_YET_VALID)
		return err;
	t = now < e->not_before ? e->not_before + 1 : e->not_after - 1;
	return pki_verify_cert(p, e->cert, ca, t);
}

static void
cs_check_usage(struct cert_entry *e)
{
	uint32_t ku = X509_get_key_usage(e->cert);
	uint32_t xku = X509_get_extended_key_usage(e->cert);

	if (ku != UINT32_MAX &&
	    (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0)
		cs_fail(e, CERT_UNTRUSTED, "key usage allows neither "
		    "digitalSignature nor nonRepudiation");
	if (xku != UINT32_MAX && (xku & XKU_SMIME) == 0)
		cs_fail(e, CERT_UNTRUSTED, "extended key usage lacks "
		    "emailProtection");
}

/* Fills the descriptive fields and the chain from a decoded PKCS#12. */
static void
cs_describe(struct cert_entry *e, STACK_OF(X509) *ca)
{
	const X509_NAME *subj = X509_get_subject_name(e->cert);
	int i;

	e->serial_hex = certstore_serial_hex(e->cert);
	e->issuer = certstore_name_rfc2253(X509_get_issuer_name(e->cert));
	e->subject_cn = cs_name_entry(subj, NID_commonName);
	e->unit = cs_name_entry(subj, NID_organizationalUnitName);
	e->not_before = cs_time(X509_get0_notBefore(e->cert));
	e->not_after = cs_time(X509_get0_notAfter(e->cert));
	e->chain = sk_X509_new_null();
	for (i = 0; i < sk_X509_num(ca); i++) {
		X509 *x = sk_X509_value(ca, i);

		if (X509_check_issued(x, x) == X509_V_OK)
			continue;	/* the root comes from trust_file */
		X509_up_ref(x);
		sk_X509_push(e->chain, x);
	}
}

/* Checks a decoded entry as the signer needs it. */
void
certstore_validate(struct cert_entry *e, STACK_OF(X509) *ca,
    const struct conf *c, const struct pki *p)
{
	char *local;
	int err;

	if (e->serial_hex == NULL)
		cs_describe(e, ca);
	if (e->key != NULL && !X509_check_private_key(e->cert, e->key))
		cs_fail(e, CERT_BROKEN, "the key does not match the "
		    "certificate");
	if (!certstore_names_address(e->cert, e->address))
		cs_fail(e, CERT_BROKEN, "the certificate does not name %s",
		    e->address);
	if (c->domain != NULL && !addr_in_domain(e->address, c->domain))
		cs_fail(e, CERT_BROKEN, "%s is not in the domain %s",
		    e->address, c->domain);
	if (c->cert_dir != NULL &&
	    (local = certstore_local_reason(c->cert_dir, e->cert)) != NULL) {
		cs_fail(e, CERT_REVOKED, "%s", local);
		free(local);
	}
	if (pki_is_revoked(p, e->cert))
		cs_fail(e, CERT_REVOKED, "revoked by its CA (listed in a CRL)");
	err = cs_verify(p, e, ca);
	if (err == X509_V_ERR_CERT_REVOKED)
		cs_fail(e, CERT_REVOKED, "revoked by its CA (listed in a CRL)");
	else if (err != X509_V_OK)
		cs_fail(e, CERT_UNTRUSTED, "not trusted under pki.trust_file: %s",
		    X509_verify_cert_error_string(err));
	cs_check_usage(e);
	ERR_clear_error();
}

/* Reads the one-line passphrase; NULL when missing. Caller wipes. */
static char *
cs_read_pass(const char *path)
{
	char buf[1024];
	char *s = NULL;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if (fgets(buf, sizeof(buf), fp) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		s = xstrdup(buf);
	} else if (!ferror(fp)) {
		s = xstrdup("");
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	fclose(fp);
	return s;
}

/*
 * Decodes p12path with pass. Returns 0, or -1 with a reason in why.
 * On success the caller owns *cert, *key and *ca.
 */
int
certstore_decode(const char *p12path, const char *pass, X509 **cert,
    EVP_PKEY **key, STACK_OF(X509) **ca, char *why, size_t whylen)
{
	PKCS12 *p12 = NULL;
	BIO *bio = NULL;
	int r = -1;

	*cert = NULL;
	*key = NULL;
	*ca = NULL;
	pthread_once(&certstore_once, certstore_providers);
	ERR_clear_error();
	if ((bio = BIO_new_file(p12path, "rb")) == NULL) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		goto out;
	}
	if ((p12 = d2i_PKCS12_bio(bio, NULL)) == NULL) {
		snprintf(why, whylen, "not a PKCS#12 file");
		goto out;
	}
	if (!PKCS12_parse(p12, pass, key, cert, ca) || *cert == NULL) {
		/* PKCS12_parse pairs the certificate with the key itself */
		snprintf(why, whylen, *key != NULL ? "no certificate in the "
		    "file matches the private key" : "cannot decode (wrong "
		    "passphrase?)");
		EVP_PKEY_free(*key);
		X509_free(*cert);
		sk_X509_pop_free(*ca, X509_free);
		*key = NULL;
		*cert = NULL;
		*ca = NULL;
		goto out;
	}
	if (*key == NULL) {
		snprintf(why, whylen, "holds no private key");
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	PKCS12_free(p12);
	BIO_free(bio);
	return r;
}

static bool
cs_unsafe(const char *path, struct diag *d)
{
	struct stat st;

	if (stat(path, &st) != 0 || (st.st_mode & 077) == 0)
		return false;
	diag_add(d, DIAG_ERROR, path, 0, CS_KEY, "unsafe permissions %04o: "
	    "must not be readable by group or others (chmod 600)",
	    (unsigned)(st.st_mode & 07777));
	return true;
}

static void
cs_load_one(struct cert_entry *e, const struct conf *c, const struct pki *p,
    struct diag *d)
{
	STACK_OF(X509) *ca = NULL;
	char *passpath, *pass = NULL, why[256];
	bool unsafe;

	passpath = xasprintf("%s/%s.pass", c->cert_dir, e->address);
	unsafe = cs_unsafe(e->file, d);
	unsafe = cs_unsafe(passpath, d) || unsafe;
	if (unsafe) {
		cs_fail(e, CERT_BROKEN, "unsafe file permissions");
		goto out;
	}
	if ((pass = cs_read_pass(passpath)) == NULL) {
		cs_fail(e, CERT_BROKEN, "no passphrase file %s", passpath);
		goto out;
	}
	if (certstore_decode(e->file, pass, &e->cert, &e->key, &ca, why,
	    sizeof(why)) != 0) {
		cs_fail(e, CERT_BROKEN, "%s", why);
		goto out;
	}
	certstore_validate(e, ca, c, p);
out:
	secret_free(pass, 0);
	free(passpath);
	sk_X509_pop_free(ca, X509_free);
}

static void
cs_report(const struct cert_entry *e, struct diag *d, time_t now)
{
	if (e->status != CERT_OK)
		diag_add(d, DIAG_WARNING, e->file, 0, CS_KEY,
		    "%s: %s: %s (not used for signing)", e->address,
		    cert_status_name(e->status), e->problem);
	else if (now > e->not_after)
		diag_add(d, DIAG_WARNING, e->file, 0, CS_KEY,
		    "%s: expired (not used for signing)", e->address);
	else if (now < e->not_before)
		diag_add(d, DIAG_WARNING, e->file, 0, CS_KEY,
		    "%s: not yet valid (not used before it is)", e->address);
}

/* The address of a NAME.p12, or NULL when name is no store file. */
static char *
cs_address_of(const char *dir, const char *name, struct diag *d)
{
	size_t n = strlen(name);
	char *path;
	const char *q;
	struct stat st;

	if (n <= 4 || strcmp(name + n - 4, ".p12") != 0 || name[0] == '.')
		return NULL;
	path = xasprintf("%s/%s", dir, name);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(path);
		return NULL;
	}
	for (q = name; q < name + n - 4; q++) {
		if (isupper((unsigned char)*q)) {
			diag_add(d, DIAG_WARNING, path, 0, CS_KEY, "file name "
			    "is not lower-case: ignored (rename it)");
			free(path);
			return NULL;
		}
	}
	free(path);
	return xstrndup(name, n - 4);
}

static int
cs_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cert_entry *)a)->address,
	    ((const struct cert_entry *)b)->address);
}

struct certstore *
certstore_load(const struct conf *c, const struct pki *p, struct diag *d)
{
	struct certstore *cs = xcalloc(1, sizeof(*cs));
	struct dirent **ents = NULL;
	struct cert_entry *e;
	struct stat st;
	char *addr;
	int i, n;

	if (c->cert_dir == NULL || c->cert_dir[0] == '\0')
		return cs;
	if (stat(c->cert_dir, &st) == 0 && (st.st_mode & S_IWOTH))
		diag_add(d, DIAG_ERROR, c->cert_dir, 0, CS_KEY, "unsafe "
		    "permissions %04o: the folder is writable by others",
		    (unsigned)(st.st_mode & 07777));
	if ((n = scandir(c->cert_dir, &ents, NULL, alphasort)) < 0) {
		diag_add(d, DIAG_ERROR, c->cert_dir, 0, CS_KEY,
		    "cannot read folder: %s", strerror(errno));
		return cs;
	}
	cs->e = xcalloc((size_t)n, sizeof(*cs->e));
	for (i = 0; i < n; i++) {
		if ((addr = cs_address_of(c->cert_dir, ents[i]->d_name,
		    d)) != NULL) {
			e = &cs->e[cs->n++];
			e->address = addr;
			e->file = xasprintf("%s/%s", c->cert_dir,
			    ents[i]->d_name);
			cs_load_one(e, c, p, d);
			cs_report(e, d, time(NULL));
		}
		free(ents[i]);
	}
	free(ents);
	qsort(cs->e, cs->n, sizeof(*cs->e), cs_cmp);
	return cs;
}

void
certstore_free(struct certstore *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->n; i++)
		certstore_entry_clear(&cs->e[i]);
	free(cs->e);
	free(cs);
}

void
certstore_entry_clear(struct cert_entry *e)
{
	free(e->address);
	free(e->file);
	X509_free(e->cert);
	EVP_PKEY_free(e->key);
	sk_X509_pop_free(e->chain, X509_free);
	free(e->problem);
	free(e->serial_hex);
	free(e->issuer);
	free(e->subject_cn);
	free(e->unit);
	memset(e, 0, sizeof(*e));
}

enum cert_status
certstore_lookup(const struct certstore *cs, const char *addr, time_t now,
    const struct cert_entry **entry)
{
	struct cert_entry key, *e;
	char *lc;
	size_t i;

	*entry = NULL;
	if (cs == NULL || addr == NULL)
		return CERT_NONE;
	lc = xstrdup(addr);
	for (i = 0; lc[i] != '\0'; i++)
		lc[i] = (char)tolower((unsigned char)lc[i]);
	key.address = lc;
	e = bsearch(&key, cs->e, cs->n, sizeof(*cs->e), cs_cmp);
	free(lc);
	if (e == NULL)
		return CERT_NONE;
	*entry = e;
	if (e->status != CERT_OK)
		return e->status;
	if (now < e->not_before)
		return CERT_NOT_YET_VALID;
	if (now > e->not_after)
		return CERT_EXPIRED;
	return CERT_OK;
}

size_t
certstore_count(const struct certstore *cs)
{
	return cs ? cs->n : 0;
}

const struct cert_entry *
certstore_get(const struct certstore *cs, size_t i)
{
	return cs != NULL && i < cs->n ? &cs->e[i] : NULL;
}
