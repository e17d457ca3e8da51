/*
 * verify.c - verification of incoming S/MIME signatures and the RFC 7281
 * result (see verify.h).
 *
 * Public: smime_verify, smime_verify_own, verify_result_free; to
 * verify_opaque.c (verify_int.h): verify_is_pkcs7_mime, verify_is_encrypted,
 * verify_inner_from, verify_mapbio, verify_nid_encrypted.
 *
 * This file finds the signature: GMime gives the structure (content types,
 * boundaries, the signature part); the signed bytes of a multipart/signed
 * are cut from the received buffer at RFC 2046 delimiters (never
 * re-serialized), checked against GMime's reading (verify_mime.c), and
 * only bare LF is turned into CRLF. verify_cms.c then judges the CMS;
 * opaque signed-data is verified by verify_opaque.c. Everything read from
 * the message is bounded; an unexpected input gives a result, never a
 * crash. Internal failures give AR_TEMPERROR and -1.
 */
#include <sys/mman.h>

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>

#include "policy.h"
#include "util.h"
#include "hp.h"
#include "verify.h"
#include "verify_cms.h"
#include "verify_der.h"
#include "verify_int.h"
#include "verify_mime.h"

#define VERIFY_SIG_MAX		(1024 * 1024)	/* decoded detached signature */
#define VERIFY_SNIFF_BYTES	512	/* a ContentInfo's type, decoded */
#define VERIFY_FOOTER_MAX	4096		/* a list footer, as encoded */

enum loc_kind { LOC_NONE, LOC_DETACHED, LOC_OPAQUE, LOC_ENCRYPTED };

struct loc {
	enum loc_kind kind;
	GMimeObject *obj;	/* the multipart/signed or the pkcs7-mime part */
	const char *part;	/* IMAP section of the signature */
	bool nested;		/* first part of a top-level multipart/mixed */
	bool mixed;		/* the same, detached or opaque */
};

void
verify_result_free(struct verify_result *res)
{
	if (res == NULL)
		return;
	free(res->comment);
	free(res->identifier);
	free(res->part);
	free(res->serial);
	free(res->issuer);
	free(res->signer_name);
	free(res->hp_subject);
	free(res->hp_from);
	X509_free(res->signer_cert);
	memset(res, 0, sizeof(*res));
}

/* ---- the signed bytes to OpenSSL -------------------------------------- */

struct mapbio {
	const char *p;
	size_t n, pos, dropped;
	bool drop;		/* a file mapping: release what was read */
};

static int
mapbio_read(BIO *bio, char *out, int len)
{
	struct mapbio *m = BIO_get_data(bio);
	size_t k = m->n - m->pos;

	if (len <= 0)
		return 0;
	if (k > (size_t)len)
		k = (size_t)len;
	memcpy(out, m->p + m->pos, k);
	m->pos += k;
	if (m->drop && m->pos - m->dropped >= VMIME_DROP_STEP) {
		vmime_drop(m->p + m->dropped, m->p + m->pos);
		m->dropped = m->pos;
	}
	return (int)k;
}

static long
mapbio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct mapbio *m = BIO_get_data(bio);

	(void)num, (void)ptr;
	switch (cmd) {
	case BIO_CTRL_RESET:
		m->pos = m->dropped = 0;
		return 1;
	case BIO_CTRL_EOF:
		return m->pos >= m->n;
	case BIO_CTRL_PENDING:
		return (long)(m->n - m->pos);
	case BIO_CTRL_FLUSH:
		return 1;
	default:
		return 0;
	}
}

static int
mapbio_destroy(BIO *bio)
{
	free(BIO_get_data(bio));
	BIO_set_data(bio, NULL);
	return 1;
}

static BIO_METHOD *mapbio_meth;

static void
mapbio_init_once(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() |
	    BIO_TYPE_SOURCE_SINK, "segel mapping");

	if (m != NULL && (BIO_meth_set_read(m, mapbio_read) != 1 ||
	    BIO_meth_set_ctrl(m, mapbio_ctrl) != 1 ||
	    BIO_meth_set_destroy(m, mapbio_destroy) != 1)) {
		BIO_meth_free(m);
		m = NULL;
	}
	mapbio_meth = m;
}

/*
 * A read BIO over p. Never a memory BIO: OpenSSL 3.0's CMS_verify copies a
 * memory BIO given as content and leaks the copy when CMS_dataInit fails
 * (found by fuzz_verify).
 */
static BIO *
readbio_new(const char *p, size_t n, bool drop)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct mapbio *m;
	BIO *bio;

	pthread_once(&once, mapbio_init_once);
	if (mapbio_meth == NULL || (bio = BIO_new(mapbio_meth)) == NULL)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->p = p;
	m->n = n;
	m->drop = drop;
	BIO_set_data(bio, m);
	BIO_set_init(bio, 1);
	return bio;
}

BIO *
verify_mapbio(const char *p, size_t n)
{
	return readbio_new(p, n, true);
}

/* A BIO over the bytes with every bare LF made CRLF (copied only then). */
static BIO *
canon_bio(const char *p, size_t n, char **copy, int mapped)
{
	size_t i, j, e, lfs = 0;
	const char *s, *nl;
	char *q;

	*copy = NULL;
	/* count bare LFs with memchr, a mapped body dropped step by step */
	for (i = 0; i < n; i = e) {
		e = n - i > VMIME_DROP_STEP ? i + VMIME_DROP_STEP : n;
		for (s = p + i; (nl = memchr(s, '\n', (size_t)(p + e - s))) !=
		    NULL; s = nl + 1)
			if (nl == p || nl[-1] != '\r')
				lfs++;
		if (mapped && e < n)
			vmime_drop(p + i, p + e);
	}
	if (n + lfs > INT_MAX)
		return NULL;
	if (lfs == 0)
		return readbio_new(n ? p : "", n, mapped);
	q = xmalloc(n + lfs);
	for (i = j = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			q[j++] = '\r';
		q[j++] = p[i];
	}
	*copy = q;
	return readbio_new(q, j, false);
}

/* ---- MIME structure ---------------------------------------------------- */

/* What to append so that the header block ends with an empty line. */
static const char *
header_end(const char *h, size_t n)
{
	if (n == 0 || strcmp(h, "\n") == 0 || strcmp(h, "\r\n") == 0)
		return n == 0 ? "\r\n" : "";
	if (h[n - 1] != '\n')
		return "\r\n\r\n";
	if (h[n - 2] == '\n' || (n >= 3 && h[n - 2] == '\r' && h[n - 3] == '\n'))
		return "";
	return "\r\n";
}

/* The message as one MIME entity: header block, then the body (not copied
 * when it is in a file). */
static GMimeObject *
parse_entity(const char *headers, struct msgbuf *body, int64_t *base)
{
	GMimeStream *cat, *s;
	GMimeParser *parser;
	GMimeObject *obj;
	size_t hl = strlen(headers);
	const char *end;
	int fd;

	cat = g_mime_stream_cat_new();
	s = g_mime_stream_mem_new_with_buffer(headers, hl);
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	end = header_end(headers, hl);
	*base = (int64_t)(hl + strlen(end));
	if (*end != '\0') {
		s = g_mime_stream_mem_new_with_buffer(end, strlen(end));
		g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
		g_object_unref(s);
	}
	if (msgbuf_mem(body) != NULL)
		s = g_mime_stream_mem_new_with_buffer(msgbuf_mem(body),
		    msgbuf_len(body));
	else if ((fd = dup(msgbuf_fd(body))) == -1) {
		g_object_unref(cat);
		return NULL;
	} else
		s = g_mime_stream_fs_new_with_bounds(fd, 0,
		    (gint64)msgbuf_len(body));
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	parser = g_mime_parser_new_with_stream(cat);
	obj = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	g_object_unref(cat);
	return obj;
}

static bool
is_type(GMimeObject *o, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	return ct != NULL && g_mime_content_type_is_type(ct, type, sub);
}

bool
verify_is_pkcs7_mime(GMimeObject *o)
{
	const char *fn;
	size_t n;

	if (!GMIME_IS_PART(o))
		return false;
	if (is_type(o, "application", "pkcs7-mime") ||
	    is_type(o, "application", "x-pkcs7-mime"))
		return true;
	/* RFC 8551 §3.10: octet-stream named *.p7m */
	if (!is_type(o, "application", "octet-stream") ||
	    (fn = g_mime_part_get_filename(GMIME_PART(o))) == NULL)
		return false;
	n = strlen(fn);
	return n >= 4 && strcasecmp(fn + n - 4, ".p7m") == 0;
}

static bool
is_smime_signed(GMimeObject *o)
{
	const char *proto;

	if (!GMIME_IS_MULTIPART_SIGNED(o))
		return false;
	proto = g_mime_object_get_content_type_parameter(o, "protocol");
	return proto != NULL &&
	    (strcasecmp(proto, "application/pkcs7-signature") == 0 ||
	    strcasecmp(proto, "application/x-pkcs7-signature") == 0);
}

/* The signature a reader sees as covering entity o, at IMAP section sec. */
static void
locate_in(GMimeObject *o, struct loc *l, const char *sec, const char *sigsec)
{
	if (is_smime_signed(o)) {
		l->kind = LOC_DETACHED;
		l->part = sigsec;
	} else if (GMIME_IS_MULTIPART_ENCRYPTED(o)) {
		l->kind = LOC_ENCRYPTED;
	} else if (verify_is_pkcs7_mime(o)) {
		l->kind = LOC_OPAQUE;
		l->part = sec;
	}
	l->obj = o;
}

/*
 * The top-level entity, or the first part of a top-level multipart/mixed
 * (a mailing list's footer appended after the signed content).
 */
static void
locate(GMimeObject *top, struct loc *l)
{
	GMimeMultipart *mp;

	memset(l, 0, sizeof(*l));
	l->kind = LOC_NONE;
	locate_in(top, l, "1", "2");
	if (l->kind != LOC_NONE || !GMIME_IS_MULTIPART(top) ||
	    !is_type(top, "multipart", "mixed"))
		return;
	mp = GMIME_MULTIPART(top);
	if (g_mime_multipart_get_count(mp) > 0)
		locate_in(g_mime_multipart_get_part(mp, 0), l, "1", "1.2");
	l->nested = l->kind == LOC_DETACHED;
	l->mixed = l->kind != LOC_NONE;
	if (l->kind == LOC_NONE)
		l->obj = top;
}

/*
 * True when the stream holds more than max bytes. A read error ends the
 * count: a substream of a GMimeStreamCat returns -1 at its end.
 */
static bool
stream_longer(GMimeStream *s, size_t max)
{
	char buf[16384];
	size_t total = 0;
	gssize r;

	if (g_mime_stream_reset(s) == -1)
		return true;
	while ((r = g_mime_stream_read(s, buf, sizeof(buf))) > 0)
		if ((total += (size_t)r) > max)
			break;
	g_mime_stream_reset(s);
	return total > max;
}

/*
 * The decoded content of a leaf, at most max bytes; NULL otherwise. The
 * encoded size is counted first (GMime's stream length is not reliable for
 * a part of a file stream), so hostile sizes are refused before decoding.
 */
static GByteArray *
decode_part(GMimeObject *o, size_t max)
{
	GMimeDataWrapper *w;
	GMimeStream *src, *mem;
	GByteArray *a;

	if (!GMIME_IS_PART(o) ||
	    (w = g_mime_part_get_content(GMIME_PART(o))) == NULL ||
	    (src = g_mime_data_wrapper_get_stream(w)) == NULL ||
	    stream_longer(src, max / 3 * 4 + max / 16 + 4096))
		return NULL;
	a = g_byte_array_new();
	mem = g_mime_stream_mem_new_with_byte_array(a);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	if (g_mime_data_wrapper_write_to_stream(w, mem) < 0 || a->len > max ||
	    a->len > INT_MAX) {
		g_object_unref(mem);
		g_byte_array_free(a, TRUE);
		return NULL;
	}
	g_object_unref(mem);
	return a;
}

/*
 * After a signed first part, a mailing list adds one short inline
 * text/plain footer. Anything else (attachments, HTML, more parts) is
 * content nobody signed, shown beside the signed part.
 */
static bool
footer_only(GMimeObject *top)
{
	GMimeMultipart *mp = GMIME_MULTIPART(top);
	GMimeContentDisposition *d;
	GMimeDataWrapper *w;
	GMimeStream *st;
	GMimeObject *f;

	if (g_mime_multipart_get_count(mp) != 2)
		return false;
	f = g_mime_multipart_get_part(mp, 1);
	if (!GMIME_IS_PART(f) || !is_type(f, "text", "plain"))
		return false;
	d = g_mime_object_get_content_disposition(f);
	if (d != NULL && g_mime_content_disposition_is_attachment(d))
		return false;
	if ((w = g_mime_part_get_content(GMIME_PART(f))) == NULL ||
	    (st = g_mime_data_wrapper_get_stream(w)) == NULL)
		return true;	/* empty */
	return !stream_longer(st, VERIFY_FOOTER_MAX);
}

static int
cms_type(CMS_ContentInfo *cms)
{
	return OBJ_obj2nid(CMS_get0_type(cms));
}

bool
verify_nid_encrypted(int nid)
{
	return nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData ||
	    nid == NID_pkcs7_encrypted;
}

/*
 * The NID of the CMS a pkcs7-mime leaf carries, from its first decoded
 * bytes: the type is known without decoding (or holding) the rest.
 */
static int
sniff_type(GMimeObject *o)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
	GMimeContentEncoding enc;
	GMimeStream *src, *f;
	GMimeFilter *dec;
	unsigned char buf[VERIFY_SNIFF_BYTES];
	size_t n = 0;
	gssize r;

	if (w == NULL || (src = g_mime_data_wrapper_get_stream(w)) == NULL ||
	    g_mime_stream_reset(src) == -1)
		return NID_undef;
	enc = g_mime_data_wrapper_get_encoding(w);
	f = g_mime_stream_filter_new(src);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		dec = g_mime_filter_basic_new(enc, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), dec);
		g_object_unref(dec);
	}
	while (n < sizeof(buf) && (r = g_mime_stream_read(f, (char *)buf + n,
	    sizeof(buf) - n)) > 0)
		n += (size_t)r;
	g_object_unref(f);
	g_mime_stream_reset(src);
	return vder_type(buf, n);
}

bool
verify_is_encrypted(GMimeObject *o)
{
	const char *st;

	if (GMIME_IS_MULTIPART_ENCRYPTED(o))
		return true;
	if (!verify_is_pkcs7_mime(o))
		return false;
	/* Any other label is not believed: a reader decodes the CMS. */
	st = g_mime_object_get_content_type_parameter(o, "smime-type");
	if (st != NULL && strcasestr(st, "enveloped") != NULL)
		return true;
	return verify_nid_encrypted(sniff_type(o));
}

/* ---- detached and opaque ----------------------------------------------- */

#define VERIFY_DIFFERS "the MIME structure reads otherwise at the byte level"

/*
 * Part 1's bytes as received, cut at RFC 2046 delimiters: [*off, *off + *n)
 * of raw. NULL, or why they cannot be taken for the part GMime parsed (the
 * same parts, starting at the same bytes).
 */
static const char *
signed_bytes(const struct raw *raw, GMimeObject *top, const struct loc *l,
    size_t *off, size_t *n)
{
	bool mapped = raw->map != NULL;
	size_t o = 0, len = raw->n, co, clen, boff;
	const char *b;

	if (l->nested) {
		if (!vmime_agrees(raw, 0, raw->n, GMIME_MULTIPART(top)))
			return VERIFY_DIFFERS;
		b = g_mime_multipart_get_boundary(GMIME_MULTIPART(top));
		if (vmime_child(raw->p, raw->n, b, 0, &co, &clen, mapped) != 0 ||
		    vmime_body(raw->p + co, clen, &boff) != 0)
			return "multipart/signed boundaries not found";
		o = co + boff;
		len = clen - boff;
	}
	if (!vmime_agrees(raw, o, len, GMIME_MULTIPART(l->obj)))
		return VERIFY_DIFFERS;
	b = g_mime_multipart_get_boundary(GMIME_MULTIPART(l->obj));
	if (vmime_child(raw->p + o, len, b, 0, &co, &clen, mapped) != 0)
		return "multipart/signed boundaries not found";
	*off = o + co;
	*n = clen;
	return NULL;
}

/*
 * Why the multipart/signed cannot be taken as one signed part and its
 * signature, or NULL; *off and *n are then the signed bytes. A bare CR
 * outside them ends a line for some readers and not for others.
 */
static const char *
detached_shape(const struct raw *raw, GMimeObject *top, const struct loc *l,
    size_t *off, size_t *n)
{
	GMimeObject *sig = g_mime_multipart_get_part(GMIME_MULTIPART(l->obj), 1);
	const char *why;
	bool mapped = raw->map != NULL;

	if (!is_type(sig, "application", "pkcs7-signature") &&
	    !is_type(sig, "application", "x-pkcs7-signature"))
		return "the signature part is not application/pkcs7-signature";
	if ((why = signed_bytes(raw, top, l, off, n)) != NULL)
		return why;
	if (vmime_bare_cr(raw->p, *off, mapped) ||
	    vmime_bare_cr(raw->p + *off + *n, raw->n - *off - *n, mapped))
		return "a bare CR in the MIME structure (readers split lines "
		    "differently)";
	return NULL;
}

/*
 * A reader of protected headers shows the From inside the signed content:
 * of a wrapped message/rfc822 (RFC 8551 §3.1), or of a part with RFC
 * 9788's hp parameter. A pass stands only when that From shows one
 * address (addr_from_mailbox), the From address.
 */
void
verify_inner_from(GMimeObject *o, const char *from, struct verify_result *res)
{
	GMimeMessage *msg;
	const char *v;
	char *a = NULL;

	if (res->result != AR_PASS || o == NULL)
		return;
	if (GMIME_IS_MESSAGE_PART(o)) {
		msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		o = msg != NULL ? GMIME_OBJECT(msg) : NULL;
	} else if (g_mime_object_get_content_type_parameter(o, "hp") == NULL)
		return;
	if (o == NULL || vmime_hdr_count(o, "From") == 0)
		return;
	if (vmime_hdr_count(o, "From") != 1 ||
	    (v = g_mime_object_get_header(o, "From")) == NULL ||
	    (a = addr_from_mailbox(v)) == NULL || from == NULL ||
	    strcasecmp(a, from) != 0)
		verify_cms_result(res, AR_POLICY,
		    "the From inside the signed content is not the From address");
	free(a);
}

static void
verify_detached(const struct pki *pki, const struct raw *raw,
    GMimeObject *top, const struct loc *l, const char *from, time_t now,
    struct verify_result *res)
{
	GMimeMultipart *mp = GMIME_MULTIPART(l->obj);
	CMS_ContentInfo *cms = NULL;
	GByteArray *der = NULL;
	const unsigned char *dp;
	const char *why;
	char *copy = NULL;
	BIO *bio = NULL;
	size_t off, n;

	if (g_mime_multipart_get_count(mp) != 2) {
		verify_cms_result(res, AR_NEUTRAL, "malformed multipart/signed");
		goto out;
	}
	if ((why = detached_shape(raw, top, l, &off, &n)) != NULL) {
		verify_cms_result(res, AR_NEUTRAL, why);
		goto out;
	}
	if (verify_is_encrypted(g_mime_multipart_get_part(mp, 0))) {
		verify_cms_result(res, AR_SKIP, "signed content is encrypted, cannot be checked");
		goto out;
	}
	if ((der = decode_part(g_mime_multipart_get_part(mp, 1),
	    VERIFY_SIG_MAX)) == NULL) {
		verify_cms_result(res, AR_NEUTRAL, "signature part unreadable or too large");
		goto out;
	}
	dp = der->data;
	if ((cms = d2i_CMS_ContentInfo(NULL, &dp, (long)der->len)) == NULL ||
	    cms_type(cms) != NID_pkcs7_signed) {
		verify_cms_result(res, AR_NEUTRAL, "signature unparseable");
		goto out;
	}
	if ((bio = canon_bio(raw->p + off, n, &copy, raw->map != NULL)) == NULL) {
		verify_cms_result(res, AR_TEMPERROR, "internal error reading the message");
		goto out;
	}
	verify_cms_check(pki, cms, bio, from, now, res);
	verify_inner_from(g_mime_multipart_get_part(mp, 0), from, res);
	hp_check(top, g_mime_multipart_get_part(mp, 0), res);
out:
	BIO_free(bio);
	free(copy);
	CMS_ContentInfo_free(cms);
	if (der != NULL)
		g_byte_array_free(der, TRUE);
}

/* The same checks as detached_shape(), for a pkcs7-mime part. */
static const char *
opaque_shape(const struct raw *raw, GMimeObject *top, const struct loc *l)
{
	if (l->mixed && !vmime_agrees(raw, 0, raw->n, GMIME_MULTIPART(top)))
		return VERIFY_DIFFERS;
	if (vmime_bare_cr(raw->p, raw->n, raw->map != NULL))
		return "a bare CR in the MIME structure (readers split lines "
		    "differently)";
	return NULL;
}

/*
 * What follows the signed first part of a multipart/mixed: a list footer,
 * said in the comment (a reader sees it beside the signed text), or more
 * (policy).
 */
static void
unsigned_after(GMimeObject *top, struct verify_result *res)
{
	const char *c = res->comment != NULL ? res->comment : "signature valid";
	bool footer = footer_only(top);
	char *s;

	if (g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 1)
		return;
	/* first: a long signer name may cut the comment short */
	s = xasprintf("%s; %s", footer ? "the list footer after the signed "
	    "part is not signed" : "unsigned content after the signed part", c);
	verify_cms_result(res, footer ? AR_PASS : AR_POLICY, s);
	free(s);
}

int
smime_verify(const struct pki *pki, const char *headers, struct msgbuf *body,
    const char *from_addr, time_t now, struct verify_result *res)
{
	GMimeObject *top = NULL;
	const char *why;
	struct raw raw;
	struct loc l;

	memset(res, 0, sizeof(*res));
	res->result = AR_NONE;
	ERR_clear_error();
	if (vmime_open(body, &raw) != 0 ||
	    (top = parse_entity(headers != NULL ? headers : "", body,
	    &raw.base)) == NULL) {
		verify_cms_result(res, AR_TEMPERROR, "internal error reading the message");
		goto out;
	}
	locate(top, &l);
	if (l.kind == LOC_ENCRYPTED)
		verify_cms_result(res, AR_SKIP, "encrypted, cannot be checked");
	else if (l.kind != LOC_NONE && (pki == NULL || pki->store == NULL))
		verify_cms_result(res, AR_TEMPERROR, "no trust anchors loaded");
	else if (l.kind != LOC_NONE && (why = vmime_ambiguous(top)) != NULL)
		verify_cms_result(res, AR_NEUTRAL, why);
	else if (l.kind == LOC_DETACHED)
		verify_detached(pki, &raw, top, &l, from_addr, now, res);
	else if (l.kind == LOC_OPAQUE && (why = opaque_shape(&raw, top, &l)) != NULL)
		verify_cms_result(res, AR_NEUTRAL, why);
	else if (l.kind == LOC_OPAQUE)
		verify_opaque(pki, l.obj, top, msgbuf_tmp_dir(body), from_addr,
		    now, res);
	if (l.mixed && res->result == AR_PASS)
		unsigned_after(top, res);
	if (l.part != NULL && res->result != AR_NONE && res->result != AR_SKIP &&
	    res->part == NULL)
		res->part = xstrdup(l.part);
out:
	if (top != NULL)
		g_object_unref(top);
	vmime_close(&raw);
	ERR_clear_error();
	return res->result == AR_TEMPERROR ? -1 : 0;
}

/*
 * A message this gateway signed: the checks of smime_verify() but the
 * signature's own (it was just made), so that the internal copy's result
 * is the one an inbound copy of the same bytes would get.
 */
static void
own_shape(const struct raw *raw, GMimeObject *top, const struct loc *l,
    const char *from, struct verify_result *res)
{
	const char *why;
	size_t off, n;

	if (l->kind != LOC_DETACHED || l->mixed)
		verify_cms_result(res, AR_NEUTRAL, "not one multipart/signed");
	else if ((why = vmime_ambiguous(top)) != NULL)
		verify_cms_result(res, AR_NEUTRAL, why);
	else if (g_mime_multipart_get_count(GMIME_MULTIPART(l->obj)) != 2)
		verify_cms_result(res, AR_NEUTRAL, "malformed multipart/signed");
	else if ((why = detached_shape(raw, top, l, &off, &n)) != NULL)
		verify_cms_result(res, AR_NEUTRAL, why);
	else if (from == NULL || res->identifier == NULL ||
	    strcasecmp(from, res->identifier) != 0)
		verify_cms_result(res, AR_POLICY,
		    "the signer is not the one From address");
	else
		verify_inner_from(g_mime_multipart_get_part(
		    GMIME_MULTIPART(l->obj), 0), from, res);
}

int
smime_verify_own(const char *headers, struct msgbuf *body,
    const char *from_addr, struct verify_result *res)
{
	GMimeObject *top = NULL;
	struct raw raw;
	struct loc l;

	if (vmime_open(body, &raw) != 0 ||
	    (top = parse_entity(headers != NULL ? headers : "", body,
	    &raw.base)) == NULL) {
		verify_cms_result(res, AR_TEMPERROR, "internal error reading the message");
		goto out;
	}
	locate(top, &l);
	own_shape(&raw, top, &l, from_addr, res);
out:
	if (top != NULL)
		g_object_unref(top);
	vmime_close(&raw);
	return res->result == AR_TEMPERROR ? -1 : 0;
}
