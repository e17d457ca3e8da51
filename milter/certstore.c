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
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "certstore.h"
#include "certstore_token.h"
#include "util.h"

#define CS_KEY	"sign.cert_dir"

struct certstore {
	struct cert_entry *e;
	size_t n;
	const struct pki *pki;	/* for the stale-CRL rule at lookup */
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
	case CERT_UNAVAILABLE:	return "key unavailable";
	case CERT_CRL_STALE:	return "revocation unknown (CRL out of date)";
	}
	return "unknown";
}

/* Sets status and problem once: the first problem found is the one told. */
#define cs_fail certstore_entry_fail
void
certstore_entry_fail(struct cert_entry *e, enum cert_status st,
    const char *fmt, ...)
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
	const X509_NAME *nm;
	const ASN1_STRING *em;
	unsigned char *utf8;
	bool found = false;
	int i, len;

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
	/* every emailAddress, compared with its length: a NUL inside one
	 * ("alice@domain\0.evil") must not end the comparison early */
	nm = X509_get_subject_name(x);
	for (i = -1; !found && (i = X509_NAME_get_index_by_NID(nm,
	    NID_pkcs9_emailAddress, i)) >= 0; ) {
		em = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
		if ((len = ASN1_STRING_to_UTF8(&utf8, em)) < 0)
			continue;
		found = len == (int)strlen(addr) &&
		    strncasecmp((char *)utf8, addr, (size_t)len) == 0;
		OPENSSL_free(utf8);
	}
	return found;
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

	/* a CA's key signs certificates, not mail (RFC 5280 4.2.1.9) */
	if ((X509_get_extension_flags(e->cert) & EXFLAG_CA) ||
	    X509_check_ca(e->cert) != 0)
		cs_fail(e, CERT_UNTRUSTED, "a CA certificate (basicConstraints "
		    "CA:TRUE), not a signer's own");

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
		if (X509_check_ca(x) == 0)
			continue;	/* another holder's certificate: it is
					   not the chain, and not ours to send */
		X509_up_ref(x);
		sk_X509_push(e->chain, x);
	}
}

/* An address usable as a file name in cert_dir: no '/', no leading '.',
 * nothing at or below space. */
static bool
cs_plain_address(const char *a)
{
	const unsigned char *p = (const unsigned char *)a;

	if (*p == '\0' || *p == '.')
		return false;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '/')
			return false;
	return true;
}

/* Checks a decoded entry as the signer needs it. */
void
certstore_validate(struct cert_entry *e, STACK_OF(X509) *ca,
    const struct conf *c, const struct pki *p)
{
	char *local;
	int err, listed;

	if (e->serial_hex == NULL)
		cs_describe(e, ca);
	if (!cs_plain_address(e->address))
		cs_fail(e, CERT_BROKEN, "%s cannot be a store file name",
		    e->address);
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
	    (listed = certstore_local_find(c->cert_dir, e->cert, &local)) != 0) {
		if (listed < 0)
			cs_fail(e, CERT_BROKEN, "%s/revoked.list cannot be "
			    "read, so its revocations cannot be checked",
			    c->cert_dir);
		else
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

/*
 * Reads the one-line passphrase; NULL when missing or not a plain file
 * (a FIFO would block the load). Read without stdio, whose buffer would
 * keep a copy after fclose. Caller wipes.
 */
char *
certstore_read_secret(const char *path)
{
	char buf[1024];
	char *s = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got,
	    sizeof(buf) - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		got += (size_t)n;
		if (memchr(buf, '\n', got) != NULL)
			break;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	s = xstrdup(buf);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
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

/* The owners a store file may have: root, this process, sign's user. */
struct cs_owners {
	uid_t uid[3];
	bool drops;		/* the daemon will run as uid[2], gid */
	gid_t gid;
};

static void
cs_owners_init(struct cs_owners *o, const struct conf *c)
{
	struct passwd *pw;

	o->uid[0] = 0;
	o->uid[1] = geteuid();
	o->uid[2] = 0;
	o->drops = false;
	o->gid = 0;
	if (c->user != NULL && c->user[0] != '\0' &&
	    (pw = getpwnam(c->user)) != NULL) {
		o->uid[2] = pw->pw_uid;
		o->gid = pw->pw_gid;
		o->drops = pw->pw_uid != geteuid();
	}
}

/* Whether the daemon's user can read a file root can (a reload runs as
 * that user; a list it cannot read would leave the old store in force). */
static bool
cs_user_reads(const struct cs_owners *o, const struct stat *st)
{
	if (!o->drops)
		return true;
	if (st->st_uid == o->uid[2])
		return (st->st_mode & 0400) != 0;
	if (st->st_gid == o->gid)
		return (st->st_mode & 040) != 0;
	return (st->st_mode & 04) != 0;
}

static bool
cs_owner_ok(const struct cs_owners *o, uid_t uid)
{
	return uid == o->uid[0] || uid == o->uid[1] || uid == o->uid[2];
}

/*
 * A store file that another user can read or owns is an unsafe store
 * (error); a symbolic link or anything but a plain file makes only this
 * entry unusable: store files must live in the store itself, whose folder
 * the permission check vouches for. A missing file is not judged here.
 */
static bool
cs_unsafe(const char *path, const struct cs_owners *o, struct cert_entry *e,
    struct diag *d)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return false;
	if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
		cs_fail(e, CERT_BROKEN, "%s is %s: store files must be plain "
		    "files in the store", path, S_ISLNK(st.st_mode) ?
		    "a symbolic link" : "not a plain file");
		return true;
	}
	if ((st.st_mode & 077) != 0) {
		diag_add(d, DIAG_ERROR, path, 0, CS_KEY, "unsafe permissions "
		    "%04o: must not be readable by group or others (chmod 600)",
		    (unsigned)(st.st_mode & 07777));
		cs_fail(e, CERT_BROKEN, "unsafe file permissions");
		return true;
	}
	if (!cs_owner_ok(o, st.st_uid)) {
		diag_add(d, DIAG_ERROR, path, 0, CS_KEY, "owned by uid %u, "
		    "neither root nor the daemon's user: that user can read "
		    "the key (chown it)", (unsigned)st.st_uid);
		cs_fail(e, CERT_BROKEN, "unsafe file owner");
		return true;
	}
	return false;
}

bool
certstore_file_unsafe(const char *path, const struct conf *c,
    struct cert_entry *e, struct diag *d)
{
	struct cs_owners o;

	cs_owners_init(&o, c);
	return cs_unsafe(path, &o, e, d);
}

static void
cs_load_one(struct cert_entry *e, const struct conf *c, const struct pki *p,
    const struct cs_owners *o, struct diag *d)
{
	STACK_OF(X509) *ca = NULL;
	char *passpath, *pass = NULL, why[256];
	bool unsafe;

	passpath = xasprintf("%s/%s.pass", c->cert_dir, e->address);
	unsafe = cs_unsafe(e->file, o, e, d);
	unsafe = cs_unsafe(passpath, o, e, d) || unsafe;
	if (unsafe)
		goto out;
	if ((pass = certstore_read_secret(passpath)) == NULL) {
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

/* The address of a NAME.p12 or NAME.uri, or NULL when name is no store
 * entry. */
static char *
cs_address_of(const char *dir, const char *name, struct diag *d)
{
	size_t n = strlen(name);
	char *path;
	const char *q;
	struct stat st;

	if (n <= 4 || (strcmp(name + n - 4, ".p12") != 0 &&
	    strcmp(name + n - 4, ".uri") != 0) || name[0] == '.')
		return NULL;
	for (q = name; *q != '\0'; q++) {
		if ((unsigned char)*q <= ' ' || *q == 0x7f) {
			/* not the name itself: it would break the log line */
			diag_add(d, DIAG_WARNING, dir, 0, CS_KEY, "a store file "
			    "whose name holds spaces or control characters: "
			    "ignored (no mail address has them)");
			return NULL;
		}
	}
	path = xasprintf("%s/%s", dir, name);
	/* symbolic links are entries, refused in cs_unsafe(), not skipped */
	if (lstat(path, &st) != 0 ||
	    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
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

/*
 * The folder and revoked.list: whoever may change them may add keys or
 * take revocations back, so only root or the daemon's user may own or
 * write them. A revoked.list that cannot be read hides revocations.
 */
static void
cs_check_folder(const char *dir, const struct cs_owners *o, struct diag *d)
{
	struct stat st;
	char *rl;
	int fd;

	if (stat(dir, &st) == 0 && ((st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    !cs_owner_ok(o, st.st_uid)))
		diag_add(d, DIAG_ERROR, dir, 0, CS_KEY, "unsafe permissions "
		    "%04o (uid %u): the folder is writable by others than "
		    "root and the daemon's user", (unsigned)(st.st_mode & 07777),
		    (unsigned)st.st_uid);
	rl = xasprintf("%s/revoked.list", dir);
	if (lstat(rl, &st) != 0) {
		if (errno != ENOENT)
			diag_add(d, DIAG_ERROR, rl, 0, CS_KEY, "cannot read: "
			    "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		diag_add(d, DIAG_ERROR, rl, 0, CS_KEY, "not a plain file: "
		    "revocations cannot be checked");
	} else if ((st.st_mode & 022) || !cs_owner_ok(o, st.st_uid)) {
		diag_add(d, DIAG_ERROR, rl, 0, CS_KEY, "unsafe (mode %04o, uid "
		    "%u): others could take revocations back", (unsigned)
		    (st.st_mode & 07777), (unsigned)st.st_uid);
	} else if (!cs_user_reads(o, &st)) {
		diag_add(d, DIAG_ERROR, rl, 0, CS_KEY, "the daemon's user "
		    "cannot read it (mode %04o, uid %u): a reload would keep "
		    "the old store (chmod 644, chown to that user)",
		    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	} else if ((fd = open(rl, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0) {
		diag_add(d, DIAG_ERROR, rl, 0, CS_KEY, "cannot read: %s",
		    strerror(errno));
	} else {
		close(fd);
	}
	free(rl);
}

/* ADDRESS.p12 beside ADDRESS.uri: which key signs would be a guess. */
static void
cs_dups(struct certstore *cs)
{
	size_t i;

	for (i = 0; i + 1 < cs->n; i++) {
		if (strcmp(cs->e[i].address, cs->e[i + 1].address) != 0)
			continue;
		/* a problem found first would hide this one */
		free(cs->e[i].problem);
		free(cs->e[i + 1].problem);
		cs->e[i].problem = cs->e[i + 1].problem = NULL;
		cs->e[i].status = cs->e[i + 1].status = CERT_OK;
		cs_fail(&cs->e[i], CERT_BROKEN, "both a .p12 and a .uri entry "
		    "for %s: remove one", cs->e[i].address);
		cs_fail(&cs->e[i + 1], CERT_BROKEN, "both a .p12 and a .uri "
		    "entry for %s: remove one", cs->e[i].address);
	}
}

struct certstore *
certstore_load(const struct conf *c, const struct pki *p, struct diag *d)
{
	struct certstore *cs = xcalloc(1, sizeof(*cs));

	cs->pki = p;
	struct dirent **ents = NULL;
	struct cert_entry *e;
	struct certstore_token tok = { false, -1, "" };
	struct cs_owners o;
	char *addr;
	int i, n;

	if (c->cert_dir == NULL || c->cert_dir[0] == '\0')
		return cs;
	cs_owners_init(&o, c);
	cs_check_folder(c->cert_dir, &o, d);
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
			if (strcmp(e->file + strlen(e->file) - 4, ".uri") == 0)
				certstore_token_load(e, c, p, &tok, d);
			else
				cs_load_one(e, c, p, &o, d);
		}
		free(ents[i]);
	}
	free(ents);
	qsort(cs->e, cs->n, sizeof(*cs->e), cs_cmp);
	cs_dups(cs);
	for (i = 0; i < (int)cs->n; i++)
		cs_report(&cs->e[i], d, time(NULL));
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
	free(e->uri);
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

/*
 * The stale-CRL rule at the time of use (pki.h): a CRL goes out of date
 * while the daemon runs, without a reload. Fails closed: CERT_CRL_STALE.
 */
static enum cert_status
certstore_crl_current(const struct pki *p, const struct cert_entry *e,
    time_t now)
{
	char *why = NULL;
	int stale = pki_crl_stale(p, e->cert, e->chain, now, &why);

	free(why);
	return stale ? CERT_CRL_STALE : CERT_OK;
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
	return certstore_crl_current(cs->pki, e, now);
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
