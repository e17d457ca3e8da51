/*
 * tsa.h - RFC 3161 trusted timestamps over the audit chain's head
 * (issue 13). OpenSSL's TS API builds the request and judges the answer;
 * http_fetch() (libcurl) carries it. Nothing here is on the mail path:
 * `segelctl audit stamp` asks, `segelctl audit verify` checks.
 *
 * The imprint is the head itself: the SHA-256 of the chain's last line,
 * with hashAlgorithm sha256. A token is accepted only when it is signed by
 * a certificate whose extendedKeyUsage is timeStamping alone and critical
 * (OpenSSL's X509_PURPOSE_TIMESTAMP_SIGN), chaining to the TSA trust file,
 * checked at the token's own genTime so that it stays checkable after the
 * TSA's certificate expires.
 */
#ifndef SEGEL_TSA_H
#define SEGEL_TSA_H

#include <time.h>

#include "util.h"

#define TSA_TOKEN_MAX	65536	/* bytes of base64 accepted in a record */

/*
 * Asks url for a token over head[32], checked under trust_file: granted,
 * our imprint and nonce, signed as above. On success *token_b64 (base64
 * DER of the TimeStampToken, caller frees) and *gen_time; 0. Otherwise -1
 * with err set and *unreachable true when no answer came (network, HTTP
 * status), false when an answer came and was refused.
 */
int tsa_stamp(const char *url, const char *trust_file,
    const unsigned char head[32], long timeout_ms, char **token_b64,
    time_t *gen_time, int *unreachable, struct sbuf *err);

/*
 * Checks a token (base64 DER) under trust_file as above. On success 0 with
 * its imprint[32] and genTime; -1 with err set.
 */
int tsa_check(const char *trust_file, const char *token_b64,
    unsigned char imprint[32], time_t *gen_time, struct sbuf *err);

#endif
