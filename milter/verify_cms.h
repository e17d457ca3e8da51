/*
 * verify_cms.h - internal to verify.c: judging one CMS SignedData.
 */
#ifndef SEGEL_VERIFY_CMS_H
#define SEGEL_VERIFY_CMS_H

#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>

#include "pki.h"
#include "verify.h"

/*
 * Judges cms (SignedData) over content (the canonical signed bytes, or NULL
 * when the content is encapsulated) for a message From from (NULL when
 * unknown) arriving at now; fills res (strings owned by res). A SignedData
 * without signers (certs-only) gives AR_NONE.
 */
void verify_cms_check(const struct pki *, CMS_ContentInfo *, BIO *content,
    const char *from, time_t now, struct verify_result *res);

/* Sets the result and replaces the comment (copied; NULL for none). */
void verify_cms_result(struct verify_result *, enum ar_result,
    const char *comment);

#endif
