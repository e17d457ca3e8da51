/*
 * crlfetch.c - fetches, checks and installs CRLs (see crlfetch.h).
 *
 * HTTP is http.c's (libcurl, bounded in time and size); parsing and the
 * signature are OpenSSL's. Nothing here trusts the network: a CRL is
 * installed only when a certificate of trust_file signed it and it is not
 * older than the copy already kept, and it never half-replaces a file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crlfetch.h"
#include "http.h"

/* Adds url to u unless it is there or is not http(s). */
static void
urls_add(struct crl_urls *u, const char *url)
{
	size_t i;

	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		return;		/* ldap:// and the like: not fetched */
	for (i = 0; i < u->n; i++)
		if (strcmp(u->v[i], url) == 0)
			return;
	u->v = xreallocarray(u->v, u->n + 1, sizeof(char *));
	u->v[u->n++] = xstrdup(url);
}

/* Adds the URIs of x's CRL distribution points (fullName only). */
static void
urls_of_cert(struct crl_urls *u, X509 *x)
{
	STACK_OF(DIST_POINT) *dps;
	DIST_POINT *dp;
	GENERAL_NAME *gn;
	const unsigned char *s;
	char *url;
	int i, j, len;

	if (x == NULL)
		return;
	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
		dp = sk_DIST_POINT_value(dps, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
		    j++) {
			gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname,
			    j);
			if (gn->type != GEN_URI)
				continue;
			s = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
			if (len <= 0 || len > 2048 || memchr(s, '\0', (size_t)len))
				continue;
			url = xstrndup((const char *)s, (size_t)len);
			urls_add(u, url);
			free(url);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
}

void
crlfetch_collect(const struct conf *c, const struct pki *p,
    const struct certstore *cs, struct crl_urls *u)
{
	const struct cert_entry *e;
	size_t i;
	int j;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < certstore_count(cs); i++) {
		e = certstore_get(cs, i);
		urls_of_cert(u, e->cert);
		for (j = 0; j < sk_X509_num(e->chain); j++)
			urls_of_cert(u, sk_X509_value(e->chain, j));
	}
	for (j = 0; p != NULL && j < sk_X509_num(p->anchors); j++)
		urls_of_cert(u, sk_X509_value(p->anchors, j));
	for (i = 0; i < c->n_crl_urls; i++)
		urls_add(u, c->crl_urls[i]);
}

void
crlfetch_urls_free(struct crl_urls *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->v[i]);
	free(u->v);
	memset(u, 0, sizeof(*u));
}

int
crlfetch_verify(const struct pki *p, X509_CRL *crl, struct sbuf *why)
{
	const X509_NAME *nm = X509_CRL_get_issuer(crl);
	bool named = false;
	X509 *x;
	int i;

	for (i = 0; i < sk_X509_num(p->anchors); i++) {
		x = sk_X509_value(p->anchors, i);
		if (X509_NAME_cmp(X509_get_subject_name(x), nm) != 0)
			continue;
		named = true;
		if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(x) & KU_CRL_SIGN))
			continue;
		if (X509_CRL_verify(crl, X509_get0_pubkey(x)) == 1) {
			ERR_clear_error();
			return 0;
		}
	}
	ERR_clear_error();
	sbuf_adds(why, named ? "its signature does not verify under the "
	    "certificate(s) of its issuer in pki.trust_file" : "its issuer is "
	    "not in pki.trust_file (add the CA or CRL-signing certificate)");
	return -1;
}

/* The CRL number as a signed comparison; both must have one. */
static int
crl_number_cmp(X509_CRL *a, X509_CRL *b, bool *both)
{
	ASN1_INTEGER *na, *nb;
	int r = 0;

	na = X509_CRL_get_ext_d2i(a, NID_crl_number, NULL, NULL);
	nb = X509_CRL_get_ext_d2i(b, NID_crl_number, NULL, NULL);
	*both = na != NULL && nb != NULL;
	if (*both)
		r = ASN1_INTEGER_cmp(na, nb);
	ASN1_INTEGER_free(na);
	ASN1_INTEGER_free(nb);
	return r;
}

int
crlfetch_newer(X509_CRL *kept, X509_CRL *got, struct sbuf *why)
{
	int tcmp, ncmp;
	bool both;

	if (X509_NAME_cmp(X509_CRL_get_issuer(kept),
	    X509_CRL_get_issuer(got)) != 0) {
		sbuf_adds(why, "issued by another CA than the CRL kept from "
		    "this URL");
		return -1;
	}
	tcmp = ASN1_TIME_compare(X509_CRL_get0_lastUpdate(got),
	    X509_CRL_get0_lastUpdate(kept));
	ncmp = crl_number_cmp(got, kept, &both);
	if (tcmp < 0 || (both && ncmp < 0)) {
		sbuf_printf(why, "older than the CRL kept (%s): refused, a "
		    "replayed CRL could take back a revocation", tcmp < 0 ?
		    "thisUpdate earlier" : "CRL number lower");
		return -1;
	}
	if (tcmp == 0 && (!both || ncmp == 0))
		return 0;
	return 1;
}

/* The answer as a CRL: DER, or PEM. NULL when it is neither. */
static X509_CRL *
crl_parse(const struct sbuf *b)
{
	const unsigned char *s = (const unsigned char *)b->s;
	X509_CRL *crl;
	BIO *bio;

	if (b->len == 0 || b->len > (size_t)INT32_MAX)
		return NULL;
	if ((crl = d2i_X509_CRL(NULL, &s, (long)b->len)) != NULL &&
	    s == (const unsigned char *)b->s + b->len)
		return crl;
	X509_CRL_free(crl);
	crl = NULL;
	if ((bio = BIO_new_mem_buf(b->s, (int)b->len)) != NULL) {
		crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return crl;
}

char *
crlfetch_path(const char *dir, const char *url)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[17];
	int i;

	if (!EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < 8)
		return NULL;
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf("%s/fetched-%s.crl", dir, hex);
}

/* The CRL of path, or NULL when there is none (or it is unreadable). */
static X509_CRL *
crl_read(const char *path)
{
	X509_CRL *crl = NULL;
	BIO *bio;

	if ((bio = BIO_new_file(path, "rb")) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	crl = d2i_X509_CRL_bio(bio, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return crl;
}

/* Writes crl (DER) to path through a temporary file and rename(2). */
static int
crl_install(const char *dir, const char *path, X509_CRL *crl,
    struct sbuf *why)
{
	unsigned char *der = NULL;
	char *tmp = xasprintf("%s/.crl-XXXXXX", dir);
	int fd, dfd, len, rc = -1;

	if ((len = i2d_X509_CRL(crl, &der)) <= 0) {
		sbuf_adds(why, "cannot encode the CRL");
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		sbuf_printf(why, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0644) != 0 || write(fd, der, (size_t)len) != len ||
	    fsync(fd) != 0) {
		sbuf_printf(why, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		sbuf_printf(why, "cannot rename to %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	OPENSSL_free(der);
	free(tmp);
	return rc;
}

/* "CN=..., number N, next update DATE" for msg. */
static void
crl_describe(X509_CRL *crl, struct sbuf *msg)
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
	    NULL);
	char *iss = pki_name_text(X509_CRL_get_issuer(crl));
	char buf[64] = "none";
	BIO *bio;
	int n;

	if ((bio = BIO_new(BIO_s_mem())) != NULL) {
		if (X509_CRL_get0_nextUpdate(crl) != NULL &&
		    ASN1_TIME_print(bio, X509_CRL_get0_nextUpdate(crl)) &&
		    (n = BIO_read(bio, buf, sizeof(buf) - 1)) > 0)
			buf[n] = '\0';
		BIO_free(bio);
	}
	sbuf_printf(msg, "CRL of %s, number %ld, next update %s", iss,
	    num ? ASN1_INTEGER_get(num) : -1L, buf);
	free(iss);
	ASN1_INTEGER_free(num);
	ERR_clear_error();
}

/* Checks a parsed CRL against trust_file and the copy kept; installs it. */
static enum crl_outcome
crl_take(const struct pki *p, const char *dir, const char *path,
    X509_CRL *got, struct sbuf *why)
{
	X509_CRL *kept;
	int cmp = 1;

	if (crlfetch_verify(p, got, why) != 0)
		return CRL_FAILED;
	if ((kept = crl_read(path)) != NULL) {
		cmp = crlfetch_newer(kept, got, why);
		X509_CRL_free(kept);
	}
	if (cmp == 0)
		return CRL_UNCHANGED;
	if (cmp < 0 || crl_install(dir, path, got, why) != 0)
		return CRL_FAILED;
	return CRL_UPDATED;
}

enum crl_outcome
crlfetch_one(const struct pki *p, const char *dir, const char *url,
    long timeout_ms, struct sbuf *msg)
{
	struct http_req req = { url, NULL, NULL, 0,
	    timeout_ms > 0 ? timeout_ms : CRLFETCH_TIMEOUT_MS,
	    CRLFETCH_MAX_BYTES, "application/pkix-crl, */*" };
	enum crl_outcome rc = CRL_FAILED;
	X509_CRL *got = NULL;
	struct sbuf body, why;
	char *path = crlfetch_path(dir, url);

	sbuf_init(&body);
	sbuf_init(&why);
	if (path == NULL)
		sbuf_adds(&why, "cannot name its file (SHA-256 unavailable)");
	else if (http_fetch(&req, &body, NULL, &why) != 0)
		;	/* why says it */
	else if ((got = crl_parse(&body)) == NULL)
		sbuf_printf(&why, "the answer (%zu bytes) is not a CRL",
		    body.len);
	else
		rc = crl_take(p, dir, path, got, &why);
	sbuf_printf(msg, "%s: %s", url, rc == CRL_UPDATED ? "updated: " :
	    rc == CRL_UNCHANGED ? "unchanged: " : "FAILED: ");
	if (rc == CRL_FAILED) {
		const char *w = why.s ? why.s : "?";
		size_t n = strlen(url);

		if (strncmp(w, url, n) == 0 && strncmp(w + n, ": ", 2) == 0)
			w += n + 2;	/* http.c names the URL already */
		sbuf_adds(msg, w);
	}
	else
		crl_describe(got, msg);
	X509_CRL_free(got);
	sbuf_free(&body);
	sbuf_free(&why);
	free(path);
	return rc;
}
