/*
 * certstore_token.h - store entries whose key lives in a PKCS#11 token:
 * cert_dir/ADDRESS.crt (PEM certificate, then its chain) and
 * cert_dir/ADDRESS.uri (one line: an RFC 7512 pkcs11: URI). Checked like
 * a .p12 entry (address, chain, expiry, revocation, usage), then the key
 * is found in the token and proven with a test signature.
 */
#ifndef SEGEL_CERTSTORE_TOKEN_H
#define SEGEL_CERTSTORE_TOKEN_H

#include <stdbool.h>

#include "certstore.h"

/* The token connection of one load: made at the first token entry. */
struct certstore_token {
	bool tried;
	int rc;			/* 0 connected, -1 not (why) */
	char why[256];
};

/*
 * Loads e (address and file, the .uri path, set). A sound certificate
 * whose key cannot be used now is CERT_UNAVAILABLE (tempfail), not
 * CERT_BROKEN: the token may come back.
 */
void certstore_token_load(struct cert_entry *e, const struct conf *c,
    const struct pki *p, struct certstore_token *t, struct diag *d);

/*
 * Connects the token of c (reads and wipes the PIN file). 0, or -1 with
 * why. rw: for segelctl, which creates and destroys key objects.
 */
int certstore_token_connect(const struct conf *c, int rw, char *why,
    size_t whylen);

/* Reads a store entry's .crt: the first certificate, the rest as chain.
 * 0 (caller owns both), or -1 with why. */
int certstore_token_read_crt(const char *path, X509 **cert,
    STACK_OF(X509) **ca, char *why, size_t whylen);

#endif
