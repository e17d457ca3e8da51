/*
 * authres.h - RFC 8601 Authentication-Results: formatting our smime result
 * (RFC 7281) and finding the authserv-id of incoming fields.
 */
#ifndef SEGEL_AUTHRES_H
#define SEGEL_AUTHRES_H

#include <stdbool.h>

#include "verify.h"

/* "none", "pass", "fail", "policy", "neutral", "temperror", "permerror". */
const char *ar_result_name(enum ar_result);

/*
 * The header value (what follows "Authentication-Results:"), e.g.
 * " mail.example; smime=pass (signature valid; signer Sari)
 * body.smime-identifier=sari@x ..." folded with "\n\t" for libmilter,
 * values quoted where RFC 8601 requires. Comments and values are bounded
 * (over-long issuer/identifier properties are left out) so that every line
 * stays under 998 characters. AR_SKIP (nothing could be checked) is written
 * as the RFC 8601 no-result form " id; none (reason)". Caller frees.
 */
char *authres_format(const char *authserv_id, const struct verify_result *);

/*
 * Extracts the authserv-id of an incoming field value (CFWS and comments
 * skipped, token or quoted-string; folding with LF or CRLF allowed).
 * Lenient about what follows the id, so that a malformed forgery naming our
 * id is still recognized. Caller frees; NULL when unparseable.
 */
char *authres_servid(const char *value);
/*
 * True when a reader could take value's authserv-id for authserv_id (see
 * authres_ours.c): compared after RFC 2047 decoding, percent and backslash
 * escapes, comments, quotes, Unicode NFKC and case folding, invisible
 * characters, look-alike letters and dots, white space around dots and
 * trailing dots removed; whatever follows the id but a DNS character
 * (a version, "/x", ";") does not make it another.
 */
bool authres_is_ours(const char *value, const char *authserv_id);

#endif
