/*
 * storeadmin_token.h - segelctl's changes for keys in a PKCS#11 token:
 * moving a decoded PKCS#12's key into the token (import --to-token), and
 * destroying a token key (revoke --destroy-key). Kept beside storeadmin.c,
 * out of the daemon's path.
 */
#ifndef SEGEL_STOREADMIN_TOKEN_H
#define SEGEL_STOREADMIN_TOKEN_H

#include <openssl/x509.h>

#include "certstore.h"
#include "conf.h"
#include "util.h"

/*
 * Stores e->key in c's token (private, sensitive; label e->address, id the
 * certificate's subject key identifier), proves it signs for e->cert,
 * writes cert_dir/ADDRESS.crt (e->cert, then ca) and ADDRESS.uri, and
 * removes cert_dir/ADDRESS.p12 and .pass. The URI written goes to *uri
 * (caller frees). 0, or -1 with a message in err (nothing removed).
 */
int storeadmin_to_token(const struct conf *c, const struct cert_entry *e,
    STACK_OF(X509) *ca, char **uri, struct sbuf *err);

/* Destroys the token key that uri names: 0 done, 1 none, -1 err. */
int storeadmin_token_destroy(const struct conf *c, const char *uri,
    struct sbuf *err);

#endif
