/*
 * http.c - one HTTP exchange through libcurl (see http.h).
 *
 * libcurl does the protocol; this file only bounds it: a total timeout,
 * a cap on the answer's size enforced while it arrives (a CRL server that
 * sends forever costs max_bytes, not memory), no protocol but http and
 * https (a redirect to file:// or gopher:// is refused), no signals (the
 * daemon is threaded), and no proxy unless the environment names one,
 * as curl itself does.
 */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"

#define HTTP_TIMEOUT_MS	10000L
#define HTTP_MAX_BYTES	(10u * 1024 * 1024)
#define HTTP_REDIRECTS	3L

struct http_sink {
	struct sbuf *out;
	size_t got, max;
	int too_big;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc = CURLE_FAILED_INIT;

static void
http_global_init(void)
{
	http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* libcurl's write callback: keeps the answer, stops past the cap. */
static size_t
http_write(char *p, size_t size, size_t n, void *arg)
{
	struct http_sink *k = arg;
	size_t len = size * n;

	if (len > k->max - k->got) {
		k->too_big = 1;
		return 0;	/* CURLE_WRITE_ERROR */
	}
	sbuf_add(k->out, p, len);
	k->got += len;
	return len;
}

/* Sets the options of one bounded exchange; CURLE_OK or the first error. */
static CURLcode
http_setup(CURL *h, const struct http_req *req, struct http_sink *k,
    struct curl_slist **hdrs, char *ebuf)
{
	CURLcode rc = CURLE_OK;
	char line[256];

#define SET(opt, val) do { if (rc == CURLE_OK) \
	rc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, HTTP_REDIRECTS);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms :
	    HTTP_TIMEOUT_MS);
	SET(CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms :
	    HTTP_TIMEOUT_MS);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)k->max);
	SET(CURLOPT_WRITEFUNCTION, http_write);
	SET(CURLOPT_WRITEDATA, k);
	SET(CURLOPT_ERRORBUFFER, ebuf);
	SET(CURLOPT_USERAGENT, "segel/" SEGEL_VERSION);
	if (req->content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s",
		    req->content_type);
		*hdrs = curl_slist_append(*hdrs, line);
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, req->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (req->accept != NULL) {
		snprintf(line, sizeof(line), "Accept: %s", req->accept);
		*hdrs = curl_slist_append(*hdrs, line);
	}
	if (*hdrs != NULL)
		SET(CURLOPT_HTTPHEADER, *hdrs);
#undef SET
	return rc;
}

int
http_fetch(const struct http_req *req, struct sbuf *out, long *status,
    struct sbuf *err)
{
	struct http_sink k = { out, 0, req->max_bytes > 0 ? req->max_bytes :
	    HTTP_MAX_BYTES, 0 };
	struct curl_slist *hdrs = NULL;
	char ebuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;
	CURL *h;

	if (status != NULL)
		*status = 0;
	pthread_once(&http_once, http_global_init);
	if (http_init_rc != CURLE_OK || (h = curl_easy_init()) == NULL) {
		sbuf_printf(err, "%s: libcurl cannot start", req->url);
		return -1;
	}
	if ((rc = http_setup(h, req, &k, &hdrs, ebuf)) == CURLE_OK)
		rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (status != NULL)
		*status = code;
	if (k.too_big || rc == CURLE_FILESIZE_EXCEEDED)
		sbuf_printf(err, "%s: answer larger than %zu bytes", req->url,
		    k.max);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		sbuf_printf(err, "%s: timed out after %ld ms", req->url,
		    req->timeout_ms > 0 ? req->timeout_ms : HTTP_TIMEOUT_MS);
	else if (rc != CURLE_OK)
		sbuf_printf(err, "%s: %s", req->url, ebuf[0] != '\0' ? ebuf :
		    curl_easy_strerror(rc));
	else if (code < 200 || code > 299)
		sbuf_printf(err, "%s: HTTP %ld", req->url, code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc == CURLE_OK && !k.too_big && code >= 200 && code <= 299 ?
	    0 : -1;
}
