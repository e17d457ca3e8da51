/*
 * ocsp.c - asking a certificate's OCSP responder (see ocsp.h).
 *
 * OpenSSL builds the request, parses the answer and judges its signature
 * (OCSP_basic_verify: a chain to the trust anchors, and a signer that is
 * the issuer or its delegated responder); http_fetch() carries it. Nothing
 * here parses ASN.1 or speaks HTTP by itself.
 *
 * The cache is shared by all worker threads under one mutex and survives
 * reloads: an answer is about a certificate and its issuer's key (the
 * CertID), not about a configuration.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "http.h"
#include "log.h"
#include "ocsp.h"
#include "util.h"

#define OCSP_CACHE_MAX	1024	/* answers kept; the oldest go first */
#define OCSP_DOWN_MAX	64	/* silent responders remembered */

struct ocsp_answer {
	unsigned char *id;	/* DER of the CertID */
	int idlen;
	enum ocsp_status st;
	char *why;
	time_t until;		/* nextUpdate */
};

struct ocsp_down {
	char *url;
	time_t until;
};

static pthread_mutex_t ocsp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ocsp_answer ocsp_cache[OCSP_CACHE_MAX];
static size_t ocsp_ncache;
static struct ocsp_down ocsp_downs[OCSP_DOWN_MAX];
static _Thread_local long long ocsp_deadline_ms;	/* 0: none */

const char *
ocsp_status_name(enum ocsp_status st)
{
	switch (st) {
	case OCSP_ST_NONE:	return "none";
	case OCSP_ST_GOOD:	return "good";
	case OCSP_ST_REVOKED:	return "revoked";
	case OCSP_ST_UNKNOWN:	return "unknown";
	case OCSP_ST_NOANSWER:	return "no answer";
	}
	return "?";
}

/* Monotonic milliseconds, for the per-message budget. */
static long long
ocsp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ocsp_message_begin(const struct pki *p)
{
	ocsp_deadline_ms = p != NULL && p->ocsp != OCSP_OFF ?
	    ocsp_now_ms() + p->ocsp_timeout_ms : 0;
}

/* Drops entry i of the cache (lock held). */
static void
ocsp_cache_drop(size_t i)
{
	free(ocsp_cache[i].id);
	free(ocsp_cache[i].why);
	ocsp_cache[i] = ocsp_cache[--ocsp_ncache];
	memset(&ocsp_cache[ocsp_ncache], 0, sizeof(ocsp_cache[0]));
}

void
ocsp_forget_silence(void)
{
	size_t i;

	pthread_mutex_lock(&ocsp_lock);
	for (i = 0; i < OCSP_DOWN_MAX; i++) {
		free(ocsp_downs[i].url);
		ocsp_downs[i].url = NULL;
	}
	pthread_mutex_unlock(&ocsp_lock);
}

void
ocsp_cache_clear(void)
{
	pthread_mutex_lock(&ocsp_lock);
	while (ocsp_ncache > 0)
		ocsp_cache_drop(0);
	pthread_mutex_unlock(&ocsp_lock);
	ocsp_forget_silence();
}

/* A cached answer for the CertID id that is still current: 1 and *st, why. */
static int
ocsp_cache_get(const unsigned char *id, int idlen, enum ocsp_status *st,
    char *why, size_t whylen)
{
	time_t now = time(NULL);
	int found = 0;
	size_t i;

	pthread_mutex_lock(&ocsp_lock);
	for (i = 0; i < ocsp_ncache; i++) {
		if (ocsp_cache[i].idlen != idlen ||
		    memcmp(ocsp_cache[i].id, id, (size_t)idlen) != 0)
			continue;
		if (ocsp_cache[i].until <= now) {
			ocsp_cache_drop(i);
			break;
		}
		*st = ocsp_cache[i].st;
		if (why != NULL)
			snprintf(why, whylen, "%s (cached)", ocsp_cache[i].why);
		found = 1;
		break;
	}
	pthread_mutex_unlock(&ocsp_lock);
	return found;
}

/* Keeps an answer until its nextUpdate; a full cache loses its oldest. */
static void
ocsp_cache_put(const unsigned char *id, int idlen, enum ocsp_status st,
    const char *why, time_t until)
{
	struct ocsp_answer *a;
	size_t i, old = 0;

	if (until <= time(NULL))
		return;
	pthread_mutex_lock(&ocsp_lock);
	for (i = 0; i < ocsp_ncache; i++)
		if (ocsp_cache[i].idlen == idlen &&
		    memcmp(ocsp_cache[i].id, id, (size_t)idlen) == 0) {
			ocsp_cache_drop(i);
			break;
		}
	if (ocsp_ncache == OCSP_CACHE_MAX) {
		for (i = 1; i < ocsp_ncache; i++)
			if (ocsp_cache[i].until < ocsp_cache[old].until)
				old = i;
		ocsp_cache_drop(old);
	}
	a = &ocsp_cache[ocsp_ncache++];
	a->id = xmalloc((size_t)idlen);
	memcpy(a->id, id, (size_t)idlen);
	a->idlen = idlen;
	a->st = st;
	a->why = xstrdup(why);
	a->until = until;
	pthread_mutex_unlock(&ocsp_lock);
}

/* True when url did not answer within the last OCSP_RETRY seconds. */
static int
ocsp_is_down(const char *url)
{
	time_t now = time(NULL);
	int down = 0;
	size_t i;

	pthread_mutex_lock(&ocsp_lock);
	for (i = 0; i < OCSP_DOWN_MAX; i++)
		if (ocsp_downs[i].url != NULL &&
		    strcmp(ocsp_downs[i].url, url) == 0 &&
		    ocsp_downs[i].until > now)
			down = 1;
	pthread_mutex_unlock(&ocsp_lock);
	return down;
}

/* Remembers (or forgets, when answered) a silent responder. */
static void
ocsp_mark(const char *url, int down)
{
	size_t i, slot = OCSP_DOWN_MAX;
	time_t now = time(NULL);

	pthread_mutex_lock(&ocsp_lock);
	for (i = 0; i < OCSP_DOWN_MAX; i++) {
		if (ocsp_downs[i].url != NULL &&
		    strcmp(ocsp_downs[i].url, url) == 0) {
			slot = i;
			break;
		}
		if (slot == OCSP_DOWN_MAX && (ocsp_downs[i].url == NULL ||
		    ocsp_downs[i].until <= now))
			slot = i;
	}
	if (slot == OCSP_DOWN_MAX)
		slot = 0;
	free(ocsp_downs[slot].url);
	ocsp_downs[slot].url = down ? xstrdup(url) : NULL;
	ocsp_downs[slot].until = now + OCSP_RETRY;
	pthread_mutex_unlock(&ocsp_lock);
}

/* The first http(s) OCSP URL of cert's AIA, or NULL (caller frees). */
static char *
ocsp_url(X509 *cert)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
	char *url = NULL;
	int i;

	for (i = 0; i < sk_OPENSSL_STRING_num(urls) && url == NULL; i++) {
		const char *u = sk_OPENSSL_STRING_value(urls, i);

		if (strncmp(u, "http://", 7) == 0 ||
		    strncmp(u, "https://", 8) == 0)
			url = xstrdup(u);
	}
	X509_email_free(urls);
	return url;
}

/* Is cand the certificate that signed cert? */
static int
ocsp_issued_by(X509 *cand, X509 *cert)
{
	EVP_PKEY *k;

	if (X509_check_issued(cand, cert) != X509_V_OK)
		return 0;
	k = X509_get0_pubkey(cand);
	return k != NULL && X509_verify(cert, k) == 1;
}

/* cert's issuer among untrusted, then the anchors; not up-ref'd. */
static X509 *
ocsp_issuer(const struct pki *p, X509 *cert, STACK_OF(X509) *untrusted)
{
	int i;

	for (i = 0; i < sk_X509_num(untrusted); i++)
		if (ocsp_issued_by(sk_X509_value(untrusted, i), cert))
			return sk_X509_value(untrusted, i);
	for (i = 0; i < sk_X509_num(p->anchors); i++)
		if (ocsp_issued_by(sk_X509_value(p->anchors, i), cert))
			return sk_X509_value(p->anchors, i);
	ERR_clear_error();
	return NULL;
}

/* Time left for this query, in ms: the timeout, or less within a message. */
static long
ocsp_time_left(const struct pki *p)
{
	long long left;

	if (ocsp_deadline_ms == 0)
		return p->ocsp_timeout_ms;
	left = ocsp_deadline_ms - ocsp_now_ms();
	if (left > p->ocsp_timeout_ms)
		left = p->ocsp_timeout_ms;
	return left > 0 ? (long)left : 0;
}

/* POSTs req to url; the DER answer, or NULL with why. */
static OCSP_RESPONSE *
ocsp_send(const struct pki *p, const char *url, OCSP_REQUEST *req,
    char *why, size_t whylen)
{
	struct http_req hr;
	struct sbuf out, err;
	unsigned char *der = NULL;
	const unsigned char *q;
	OCSP_RESPONSE *resp = NULL;
	int len;

	memset(&hr, 0, sizeof(hr));
	sbuf_init(&out);
	sbuf_init(&err);
	if ((len = i2d_OCSP_REQUEST(req, &der)) <= 0) {
		snprintf(why, whylen, "cannot encode the request");
		goto out;
	}
	hr.url = url;
	hr.content_type = "application/ocsp-request";
	hr.accept = "application/ocsp-response";
	hr.body = der;
	hr.body_len = (size_t)len;
	hr.max_bytes = OCSP_MAX_ANSWER;
	if ((hr.timeout_ms = ocsp_time_left(p)) <= 0) {
		snprintf(why, whylen, "no time left within pki.ocsp_timeout");
		goto out;
	}
	if (http_fetch(&hr, &out, NULL, &err) != 0) {
		const char *e = err.s ? err.s : "failed";
		size_t ul = strlen(url);

		/* http.c's words may start with the URL: the log has it */
		if (strncmp(e, url, ul) == 0 && strncmp(e + ul, ": ", 2) == 0)
			e += ul + 2;
		snprintf(why, whylen, "%s", e);
		goto out;
	}
	q = (const unsigned char *)out.s;
	if (out.len == 0 || (resp = d2i_OCSP_RESPONSE(NULL, &q,
	    (long)out.len)) == NULL)
		snprintf(why, whylen, "not an OCSP response");
out:
	OPENSSL_free(der);
	sbuf_free(&out);
	sbuf_free(&err);
	ERR_clear_error();
	return resp;
}

/*
 * Accepts bs for req: nonce (a different one is a replay), signature and
 * the signer's authority. 0, or -1 with why.
 */
static int
ocsp_accept(const struct pki *p, OCSP_REQUEST *req, OCSP_BASICRESP *bs,
    STACK_OF(X509) *untrusted, int *nonce, char *why, size_t whylen)
{
	X509_STORE *store;
	int i, ok;

	switch (OCSP_check_nonce(req, bs)) {
	case 0:
		snprintf(why, whylen, "answer's nonce is not ours (a replayed "
		    "answer)");
		return -1;
	case 1:
		*nonce = 1;
		break;
	default:			/* the responder does not echo nonces */
		*nonce = 0;
		break;
	}
	/* A store of its own: pki's is set for S/MIME signers and CRLs. */
	if ((store = X509_STORE_new()) == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	for (i = 0; i < sk_X509_num(p->anchors); i++)
		X509_STORE_add_cert(store, sk_X509_value(p->anchors, i));
	ok = OCSP_basic_verify(bs, untrusted, store, 0);
	X509_STORE_free(store);
	if (ok != 1) {
		unsigned long e = ERR_peek_last_error();
		const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

		snprintf(why, whylen, "answer's signature not accepted: %s",
		    r != NULL ? r : "not from the issuer or its responder");
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* Seconds since the epoch of an ASN1_TIME, or 0. */
static time_t
ocsp_time(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/*
 * The status of id in bs, its dates checked. Without a nonce the answer
 * must carry a nextUpdate still to come, or be at most OCSP_SKEW old.
 */
static enum ocsp_status
ocsp_read_status(OCSP_BASICRESP *bs, OCSP_CERTID *id, int nonce,
    time_t *until, char *why, size_t whylen)
{
	ASN1_GENERALIZEDTIME *thisupd, *nextupd, *revtime;
	int status, reason;
	char when[32];
	time_t rt;

	if (OCSP_resp_find_status(bs, id, &status, &reason, &revtime,
	    &thisupd, &nextupd) != 1) {
		snprintf(why, whylen, "the answer is about another certificate");
		return OCSP_ST_NOANSWER;
	}
	if (OCSP_check_validity(thisupd, nextupd, OCSP_SKEW,
	    nonce || nextupd != NULL ? -1 : OCSP_SKEW) != 1) {
		ERR_clear_error();
		snprintf(why, whylen, "answer out of date (thisUpdate/"
		    "nextUpdate): an old answer replayed, or a clock wrong");
		return OCSP_ST_NOANSWER;
	}
	*until = nextupd != NULL ? ocsp_time(nextupd) : 0;
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		snprintf(why, whylen, "good");
		return OCSP_ST_GOOD;
	case V_OCSP_CERTSTATUS_REVOKED:
		rt = ocsp_time(revtime);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
		    gmtime(&rt));
		snprintf(why, whylen, "revoked on %s (%s)", when,
		    reason >= 0 ? OCSP_crl_reason_str(reason) : "no reason given");
		return OCSP_ST_REVOKED;
	default:
		snprintf(why, whylen, "the responder does not know it");
		return OCSP_ST_UNKNOWN;
	}
}

/* One exchange with url about id; the status, and until for the cache. */
static enum ocsp_status
ocsp_ask(const struct pki *p, const char *url, OCSP_CERTID *id,
    STACK_OF(X509) *untrusted, time_t *until, char *why, size_t whylen)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *rid = OCSP_CERTID_dup(id);
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	enum ocsp_status st = OCSP_ST_NOANSWER;
	int nonce = 0, rs;

	if (req == NULL || rid == NULL || !OCSP_request_add0_id(req, rid)) {
		OCSP_CERTID_free(rid);
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (!OCSP_request_add1_nonce(req, NULL, -1) ||
	    (resp = ocsp_send(p, url, req, why, whylen)) == NULL)
		goto out;
	if ((rs = OCSP_response_status(resp)) !=
	    OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(why, whylen, "responder says %s",
		    OCSP_response_status_str(rs));
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		snprintf(why, whylen, "not a basic OCSP response");
		goto out;
	}
	if (ocsp_accept(p, req, bs, untrusted, &nonce, why, whylen) == 0)
		st = ocsp_read_status(bs, id, nonce, until, why, whylen);
out:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return st;
}

/* The untrusted certificates plus the issuer, for OCSP_basic_verify. */
static STACK_OF(X509) *
ocsp_chain(STACK_OF(X509) *untrusted, X509 *issuer)
{
	STACK_OF(X509) *all = sk_X509_new_null();
	int i;

	if (all == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(untrusted); i++)
		sk_X509_push(all, sk_X509_value(untrusted, i));
	sk_X509_push(all, issuer);
	return all;
}

/* Asks (or finds in the cache) about cert, whose issuer is known. */
static enum ocsp_status
ocsp_lookup(const struct pki *p, X509 *cert, X509 *issuer,
    STACK_OF(X509) *untrusted, const char *url, char *why, size_t whylen)
{
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
	STACK_OF(X509) *all = NULL;
	unsigned char *der = NULL;
	enum ocsp_status st = OCSP_ST_NOANSWER;
	time_t until = 0;
	int len;

	if (id == NULL || (len = i2d_OCSP_CERTID(id, &der)) <= 0) {
		snprintf(why, whylen, "cannot make the certificate's OCSP ID");
		goto out;
	}
	if (ocsp_cache_get(der, len, &st, why, whylen))
		goto out;
	if (ocsp_is_down(url)) {
		snprintf(why, whylen, "did not answer within the last %d s",
		    OCSP_RETRY);
		goto out;
	}
	all = ocsp_chain(untrusted, issuer);
	st = ocsp_ask(p, url, id, all, &until, why, whylen);
	ocsp_mark(url, st == OCSP_ST_NOANSWER);
	if (st != OCSP_ST_NOANSWER)
		ocsp_cache_put(der, len, st, why, until);
out:
	sk_X509_free(all);
	OPENSSL_free(der);
	OCSP_CERTID_free(id);
	ERR_clear_error();
	return st;
}

enum ocsp_status
ocsp_check(const struct pki *p, X509 *cert, STACK_OF(X509) *untrusted,
    char *why, size_t whylen)
{
	char scratch[256];
	enum ocsp_status st;
	X509 *issuer;
	char *url;

	if (why == NULL) {
		why = scratch;
		whylen = sizeof(scratch);
	}
	why[0] = '\0';
	if (p == NULL || cert == NULL || p->ocsp == OCSP_OFF ||
	    (url = ocsp_url(cert)) == NULL)
		return OCSP_ST_NONE;
	if ((issuer = ocsp_issuer(p, cert, untrusted)) == NULL) {
		snprintf(why, whylen, "issuer not found, OCSP cannot be asked");
		free(url);
		return OCSP_ST_NOANSWER;
	}
	st = ocsp_lookup(p, cert, issuer, untrusted, url, why, whylen);
	if (st == OCSP_ST_NOANSWER || st == OCSP_ST_UNKNOWN)
		log_msg(LOG_WARNING, "OCSP %s: %s", url, why);
	else
		log_msg(LOG_DEBUG, "OCSP %s: %s", url, why);
	free(url);
	return st;
}

enum cert_status
ocsp_signing_status(const struct pki *p, const struct cert_entry *e,
    const char *qid)
{
	char why[256];

	switch (ocsp_check(p, e->cert, e->chain, why, sizeof(why))) {
	case OCSP_ST_REVOKED:
		log_msg(LOG_WARNING, "%s: %s: certificate %s revoked at its "
		    "OCSP responder: %s; not signing", qid, e->address,
		    e->serial_hex, why);
		return CERT_REVOKED;
	case OCSP_ST_UNKNOWN:
	case OCSP_ST_NOANSWER:
		if (p->ocsp != OCSP_REQUIRED)
			return CERT_OK;
		log_msg(LOG_WARNING, "%s: %s: no OCSP answer and pki.ocsp is "
		    "\"required\": not signing now", qid, e->address);
		return CERT_UNAVAILABLE;
	default:
		return CERT_OK;
	}
}
