/*
 * verify_int.h - internal to verify.c and verify_opaque.c: what both need
 * of a parsed entity (implemented in verify.c) and the opaque path.
 */
#ifndef SEGEL_VERIFY_INT_H
#define SEGEL_VERIFY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gmime/gmime.h>
#include <openssl/bio.h>

#include "pki.h"
#include "verify.h"

#define VERIFY_OPAQUE_MAX	(256 * 1024 * 1024)	/* decoded */

/* application/pkcs7-mime, x-pkcs7-mime, or octet-stream named *.p7m. */
bool verify_is_pkcs7_mime(GMimeObject *);
/* An encrypted entity (multipart/encrypted, or a pkcs7-mime whose CMS type,
 * read from its first bytes, is enveloped or encrypted data). */
bool verify_is_encrypted(GMimeObject *);
/* Lowers a pass when the From a reader of protected headers sees inside o
 * (message/rfc822, RFC 9788 hp=) is not from. */
void verify_inner_from(GMimeObject *o, const char *from,
    struct verify_result *res);
/* A read BIO over the bytes [p, p + n) of a read-only mapping, releasing
 * the pages it has handed out (NULL on failure). */
BIO *verify_mapbio(const char *p, size_t n);
/* Encrypted-data NIDs: a signature over them says nothing of the author. */
bool verify_nid_encrypted(int nid);

/*
 * The pkcs7-mime part o (top-level or first of a multipart/mixed): its
 * SignedData verified with the content read from a temporary file in
 * tmp_dir, never held in memory whole (verify_der.h); the content's MIME
 * checked as in the detached case (encrypted, ambiguous, inner From, and
 * the RFC 9788 protected copies against outer, the message's header).
 */
void verify_opaque(const struct pki *, GMimeObject *o, GMimeObject *outer,
    const char *tmp_dir, const char *from, time_t now,
    struct verify_result *res);

#endif
