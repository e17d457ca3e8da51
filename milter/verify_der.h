/*
 * verify_der.h - internal to verify.c: an opaque SignedData taken apart
 * without holding its content twice (issue 18, bounded memory).
 *
 * OpenSSL's d2i copies the encapsulated content into the CMS structure, so
 * a 30 MB content costs 30 MB for the DER plus 30 MB for the copy, and more
 * for every nested layer. vder_split() instead finds the content inside the
 * DER (which stays on disk, mapped) and writes a small SignedData without
 * it; OpenSSL then verifies that as a detached signature over the content
 * read from the mapping, page by page.
 */
#ifndef SEGEL_VERIFY_DER_H
#define SEGEL_VERIFY_DER_H

#include <stddef.h>

/*
 * der (n bytes) is a DER ContentInfo whose SignedData carries its content
 * as one primitive OCTET STRING (definite lengths throughout). Returns 0
 * with *out (xmalloc'ed, *outlen bytes: the same ContentInfo without the
 * eContent) and the content's offset and length in der; VDER_ABSENT when
 * there is no content (detached); VDER_BER when some length is indefinite
 * or the content a constructed OCTET STRING (BER this does not take
 * apart); -1 when der is not such a ContentInfo.
 */
#define VDER_ABSENT	1
#define VDER_BER	2
int vder_split(const unsigned char *der, size_t n, unsigned char **out,
    size_t *outlen, size_t *coff, size_t *clen);

/* The NID of a ContentInfo's contentType, read from its first bytes
 * (BER or DER); NID_undef when they are not a ContentInfo. */
int vder_type(const unsigned char *p, size_t n);

#endif
