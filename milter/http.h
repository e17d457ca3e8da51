/*
 * http.h - one HTTP exchange through libcurl, for what segel fetches off
 * the mail path: CRLs (segelctl crl update), OCSP answers and RFC 3161
 * timestamps. Bounded in time and size; only http and https, also after
 * a redirect.
 */
#ifndef SEGEL_HTTP_H
#define SEGEL_HTTP_H

#include <stddef.h>

#include "util.h"

struct http_req {
	const char *url;
	const char *content_type;	/* non-NULL: POST body with this type */
	const void *body;
	size_t body_len;
	long timeout_ms;		/* the whole exchange; 0: 10 s */
	size_t max_bytes;		/* answer body cap; 0: 10 MB */
	const char *accept;		/* Accept header, or NULL */
};

/*
 * Performs req. Returns 0 when the server answered 2xx, with the body in
 * *out (appended); -1 otherwise, with the reason in *err ("HTTP 404",
 * "timed out after 2000 ms", "answer larger than 1048576 bytes", curl's
 * own words). *status, when not NULL, gets the HTTP status (0: none).
 */
int http_fetch(const struct http_req *req, struct sbuf *out, long *status,
    struct sbuf *err);

#endif
