/*
 * smime_sign.c - S/MIME multipart/signed for outgoing mail (see
 * smime_sign.h). mimeprep builds the canonical 7-bit CRLF entity once;
 * those exact bytes are signed (detached CMS SignedData, SHA-256,
 * CMS_BINARY so OpenSSL does not "canonicalize" them again) and copied
 * unchanged into part 1. Part 2 is the DER signature in base64.
 *
 * Signed attributes: contentType, signingTime, messageDigest,
 * signingCertificateV2 (CMS_CADES) and our own SMIMECapabilities (AES-GCM
 * and AES-CBC, parameters omitted; no DES or RC2). OpenSSL always adds
 * signingTime when it signs, so a signature without one (sigtime.h) is
 * made again here over the remaining attributes and checked. The intermediates of the
 * signer's chain go into the certificate set; a self-signed root does not.
 *
 * Public: smime_sign(), sign_out_free(), smime_is_protected(). Errors: -1
 * with a reason (and OpenSSL's error queue) in err; nothing is left.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "mimeprep.h"
#include "smime_sign.h"

#define SIGN_CHUNK	65536

static EVP_MD *sign_sha256;
static pthread_once_t sign_once = PTHREAD_ONCE_INIT;

/* Fetched once: per-call fetches contend on a lock (STANDARDS.md §6.8). */
static void
sign_fetch(void)
{
	sign_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

bool
smime_is_protected(const char *content_type)
{
	return mimeprep_is_protected(content_type);
}

void
sign_out_free(struct sign_out *out)
{
	if (out == NULL)
		return;
	free(out->content_type);
	msgbuf_free(out->body);
	out->content_type = NULL;
	out->body = NULL;
}

/* Appends OpenSSL's error queue (and empties it) to err. */
static void
sign_drain_errors(struct sbuf *err)
{
	const char *file, *func, *data;
	unsigned long e;
	char buf[256];
	int line, flags;

	while ((e = ERR_get_error_all(&file, &line, &func, &data,
	    &flags)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		sbuf_printf(err, "; %s", buf);
		if ((flags & ERR_TXT_STRING) && data != NULL && *data != '\0')
			sbuf_printf(err, " (%s)", data);
	}
}

/* Our SMIMECapabilities, most preferred first (RFC 8551 §2.5.2, §2.7). */
static int
sign_add_caps(CMS_SignerInfo *si)
{
	static const int nids[] = { NID_aes_256_gcm, NID_aes_128_gcm,
	    NID_aes_256_cbc, NID_aes_128_cbc };
	STACK_OF(X509_ALGOR) *caps = NULL;
	size_t i;
	int ok = 0;

	for (i = 0; i < sizeof(nids) / sizeof(nids[0]); i++)
		if (!CMS_add_simple_smimecap(&caps, nids[i], -1))
			goto out;
	ok = CMS_add_smimecap(si, caps);
 out:
	sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
	return ok;
}

static int
sign_add_chain(CMS_ContentInfo *cms, STACK_OF(X509) *chain)
{
	X509 *x;
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		if (X509_check_issued(x, x) == X509_V_OK)
			continue;	/* a root: the recipient has its own */
		if (!CMS_add1_cert(cms, x))
			return 0;
	}
	return 1;
}

/* Feeds the entity's bytes to the CMS digest and finishes the signature. */
static int
sign_digest(CMS_ContentInfo *cms, const struct msgbuf *entity)
{
	const char *mem = msgbuf_mem(entity);
	size_t len = msgbuf_len(entity), off = 0;
	BIO *bio;
	char *buf = NULL;
	ssize_t n;
	int ok = 0;

	if ((bio = CMS_dataInit(cms, NULL)) == NULL)
		return 0;
	if (mem != NULL) {
		if (len > 0 && BIO_write(bio, mem, (int)len) != (int)len)
			goto out;
	} else {
		buf = xmalloc(SIGN_CHUNK);
		while (off < len) {
			n = msgbuf_pread(entity, buf, SIGN_CHUNK, (off_t)off);
			if (n <= 0 || BIO_write(bio, buf, (int)n) != (int)n)
				goto out;
			off += (size_t)n;
		}
	}
	(void)BIO_flush(bio);
	ok = CMS_dataFinal(cms, bio);
 out:
	free(buf);
	BIO_free_all(bio);
	return ok;
}

/*
 * Removes signingTime and signs the remaining signed attributes again:
 * their DER SET (the same SET OF order CMS uses, PKCS7_ATTR_SIGN) signed
 * with the key's default scheme, as CMS_SignerInfo_sign would. The new
 * signature is verified before it is used.
 */
static int
sign_drop_time(CMS_SignerInfo *si, EVP_PKEY *key)
{
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *abuf = NULL, *sig = NULL;
	size_t siglen = 0;
	int alen, i, loc, ok = 0;

	while ((loc = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime,
	    -1)) >= 0)
		X509_ATTRIBUTE_free(CMS_signed_delete_attr(si, loc));
	if ((attrs = sk_X509_ATTRIBUTE_new_null()) == NULL)
		goto out;
	for (i = 0; i < CMS_signed_get_attr_count(si); i++)
		if (!sk_X509_ATTRIBUTE_push(attrs, CMS_signed_get_attr(si, i)))
			goto out;
	if ((alen = ASN1_item_i2d((ASN1_VALUE *)attrs, &abuf,
	    ASN1_ITEM_rptr(PKCS7_ATTR_SIGN))) <= 0 ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, sign_sha256, NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, abuf, (size_t)alen) != 1)
		goto out;
	sig = OPENSSL_malloc(siglen);
	if (sig == NULL ||
	    EVP_DigestSign(md, sig, &siglen, abuf, (size_t)alen) != 1)
		goto out;
	ASN1_STRING_set0(CMS_SignerInfo_get0_signature(si), sig, (int)siglen);
	sig = NULL;
	ok = CMS_SignerInfo_verify(si) == 1;
out:
	OPENSSL_free(sig);
	OPENSSL_free(abuf);
	EVP_MD_CTX_free(md);
	sk_X509_ATTRIBUTE_free(attrs);	/* the attributes stay with si */
	return ok;
}

/* RSA (PKCS #1 v1.5) and EC: schemes that need no parameters, so the
 * SignerInfo's signatureAlgorithm stays right. Other keys keep
 * signingTime (a Thunderbird warning rather than mail that cannot go). */
static bool
sign_time_droppable(EVP_PKEY *key)
{
	return EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "EC");
}

/* The DER SignedData over entity; NULL with a reason in err. */
static unsigned char *
sign_cms(const struct cert_entry *signer, const struct msgbuf *entity,
    bool no_time, int *derlen, struct sbuf *err)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	unsigned char *der = NULL;

	pthread_once(&sign_once, sign_fetch);
	if (sign_sha256 == NULL) {
		sbuf_adds(err, "SHA-256 is not available");
		goto out;
	}
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL,
	    CMS_PARTIAL | CMS_DETACHED | CMS_BINARY)) == NULL ||
	    (si = CMS_add1_signer(cms, signer->cert, signer->key, sign_sha256,
	    CMS_BINARY | CMS_NOSMIMECAP | CMS_CADES)) == NULL ||
	    !sign_add_caps(si) || !sign_add_chain(cms, signer->chain)) {
		sbuf_adds(err, "cannot set up the CMS signature");
		goto out;
	}
	if (!sign_digest(cms, entity)) {
		sbuf_adds(err, "cannot sign the message");
		goto out;
	}
	if (no_time && sign_time_droppable(signer->key) &&
	    !sign_drop_time(si, signer->key)) {
		sbuf_adds(err, "cannot sign without signingTime");
		goto out;
	}
	if ((*derlen = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		der = NULL;
		sbuf_adds(err, "cannot encode the CMS signature");
	}
 out:
	CMS_ContentInfo_free(cms);
	return der;
}

/* True when s occurs in the entity (read in overlapping chunks). */
static bool
sign_entity_contains(const struct msgbuf *entity, const char *s)
{
	size_t slen = strlen(s), len = msgbuf_len(entity), off = 0;
	const char *mem = msgbuf_mem(entity);
	char *buf;
	ssize_t n;
	bool found = false;

	if (mem != NULL)
		return memmem(mem, len, s, slen) != NULL;
	buf = xmalloc(SIGN_CHUNK);
	while (!found && off < len) {
		n = msgbuf_pread(entity, buf, SIGN_CHUNK, (off_t)off);
		if (n <= 0)
			break;
		found = memmem(buf, (size_t)n, s, slen) != NULL;
		if ((size_t)n < slen || off + (size_t)n >= len)
			break;
		off += (size_t)n - slen + 1;
	}
	free(buf);
	return found;
}

/* A random boundary that does not occur in the entity. */
static char *
sign_boundary(const struct msgbuf *entity)
{
	unsigned char rnd[16];
	char hex[sizeof(rnd) * 2 + 1];
	char *b;
	size_t i;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return NULL;
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
		b = xasprintf("----=_segel_%s", hex);
		if (!sign_entity_contains(entity, b))
			return b;
		free(b);
	}
	return NULL;
}

static int
sign_append_entity(struct msgbuf *out, const struct msgbuf *entity)
{
	const char *mem = msgbuf_mem(entity);
	size_t len = msgbuf_len(entity), off = 0;
	char *buf;
	ssize_t n;
	int r = 0;

	if (mem != NULL)
		return msgbuf_append(out, mem, len);
	buf = xmalloc(SIGN_CHUNK);
	while (r == 0 && off < len) {
		n = msgbuf_pread(entity, buf, SIGN_CHUNK, (off_t)off);
		if (n <= 0)
			r = -1;
		else
			r = msgbuf_append(out, buf, (size_t)n);
		off += n > 0 ? (size_t)n : 0;
	}
	free(buf);
	return r;
}

/* Base64 in lines of 76 characters, each ending in CRLF. */
static int
sign_append_base64(struct msgbuf *out, const unsigned char *der, int derlen)
{
	unsigned char line[80];
	int off, n, r = 0;

	for (off = 0; r == 0 && off < derlen; off += 57) {
		n = derlen - off < 57 ? derlen - off : 57;
		n = EVP_EncodeBlock(line, der + off, n);
		line[n++] = '\r';
		line[n++] = '\n';
		r = msgbuf_append(out, line, (size_t)n);
	}
	return r;
}

static int
sign_assemble(struct msgbuf *out, const char *b, const struct msgbuf *entity,
    const unsigned char *der, int derlen)
{
	char *head = xasprintf("This is an S/MIME signed message.\r\n"
	    "\r\n--%s\r\n", b);
	char *mid = xasprintf("\r\n--%s\r\n"
	    "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
	    "\r\n", b);
	char *tail = xasprintf("\r\n--%s--\r\n", b);
	int r;

	r = msgbuf_append(out, head, strlen(head)) != 0 ||
	    sign_append_entity(out, entity) != 0 ||
	    msgbuf_append(out, mid, strlen(mid)) != 0 ||
	    sign_append_base64(out, der, derlen) != 0 ||
	    msgbuf_append(out, tail, strlen(tail)) != 0 ? -1 : 0;
	free(head);
	free(mid);
	free(tail);
	return r;
}

int
smime_sign(const struct sign_req *req, struct sign_out *out,
    struct sbuf *err)
{
	struct msgbuf *entity = NULL, *body = NULL;
	unsigned char *der = NULL;
	char *b = NULL;
	int derlen = 0, r = -1;

	out->content_type = NULL;
	out->body = NULL;
	ERR_clear_error();
	if (req->signer == NULL || req->signer->cert == NULL ||
	    req->signer->key == NULL) {
		sbuf_adds(err, "no usable signing certificate");
		goto out;
	}
	entity = msgbuf_new(req->memory_threshold, req->tmp_dir);
	if (mimeprep_entity_hp(req->content_headers, req->protected_headers,
	    req->body, req->footer, entity, err) != 0)
		goto out;
	if ((b = sign_boundary(entity)) == NULL) {
		sbuf_adds(err, "cannot choose a MIME boundary");
		goto out;
	}
	if ((der = sign_cms(req->signer, entity,
	    req->no_signing_time, &derlen, err)) == NULL)
		goto out;
	body = msgbuf_new(req->memory_threshold, req->tmp_dir);
	if (sign_assemble(body, b, entity, der, derlen) != 0) {
		sbuf_printf(err, "cannot write the signed message: %s",
		    strerror(errno));
		goto out;
	}
	out->content_type = xasprintf("multipart/signed; "
	    "protocol=\"application/pkcs7-signature\";\n\tmicalg=sha-256; "
	    "boundary=\"%s\"", b);
	out->body = body;
	body = NULL;
	r = 0;
 out:
	if (r != 0)
		sign_drain_errors(err);
	ERR_clear_error();
	OPENSSL_free(der);
	free(b);
	msgbuf_free(entity);
	msgbuf_free(body);
	return r;
}
