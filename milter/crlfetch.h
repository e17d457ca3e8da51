/*
 * crlfetch.h - keeping pki.crl_dir current (segelctl crl update).
 *
 * The URLs are the HTTP CRL distribution points of every certificate segel
 * relies on (the store's certificates and their chains, the certificates of
 * pki.trust_file) and pki.crl_urls. A fetched CRL is taken only when it
 * parses, is not a delta-less copy older than the one kept, and its
 * signature verifies under a certificate of trust_file that bears its
 * issuer's name (and may sign CRLs); it then replaces its file in crl_dir
 * atomically (write, fsync, rename). The file of a URL is
 * crl_dir/fetched-HASH.crl (DER), HASH the first 16 hex digits of the
 * SHA-256 of the URL, so hand-copied files are left alone.
 */
#ifndef SEGEL_CRLFETCH_H
#define SEGEL_CRLFETCH_H

#include <stddef.h>

#include <openssl/x509.h>

#include "certstore.h"
#include "conf.h"
#include "pki.h"
#include "util.h"

#define CRLFETCH_TIMEOUT_MS	15000
#define CRLFETCH_MAX_BYTES	((size_t)32 << 20)
#define CRLFETCH_STATUS		".crl-update.status"	/* in crl_dir */

struct crl_urls {
	char **v;
	size_t n;
};

/* The URLs to fetch, each once, in the order found. */
void crlfetch_collect(const struct conf *, const struct pki *,
    const struct certstore *, struct crl_urls *);
void crlfetch_urls_free(struct crl_urls *);

/*
 * 0 when crl's signature verifies under a certificate of p's trust_file
 * with the CRL's issuer name and cRLSign (or no key usage); -1 with why.
 */
int crlfetch_verify(const struct pki *p, X509_CRL *crl, struct sbuf *why);

/*
 * Compares a fetched CRL with the one kept: 1 newer (take it), 0 the same
 * (thisUpdate and number equal), -1 older or of another issuer (refuse: a
 * replayed old CRL could take back a revocation), with why.
 */
int crlfetch_newer(X509_CRL *kept, X509_CRL *got, struct sbuf *why);

enum crl_outcome { CRL_UPDATED, CRL_UNCHANGED, CRL_FAILED };

/*
 * Fetches url (timeout_ms, 0: CRLFETCH_TIMEOUT_MS), checks it and installs
 * it in dir. msg gets one line saying what happened.
 */
enum crl_outcome crlfetch_one(const struct pki *, const char *dir,
    const char *url, long timeout_ms, struct sbuf *msg);

/* crl_dir/fetched-HASH.crl for url; caller frees. */
char *crlfetch_path(const char *dir, const char *url);

#endif
