/*
 * verify_opaque.c - application/pkcs7-mime signed-data verified in bounded
 * memory (see verify_int.h).
 *
 * Public: verify_opaque.
 *
 * Why: the content of an opaque signature can be as large as the message
 * (tens of MB), and is itself MIME to be looked at. Decoded into memory,
 * copied by d2i, parsed by GMime from a copy and decoded again when it is
 * another pkcs7-mime, it cost five times its size (issue 18: 127 MB for a
 * 42 MB message). Here the DER goes to an unlinked temporary file, mapped;
 * vder_split() leaves OpenSSL a small detached SignedData and the content
 * is read from the mapping (pages released as they are read) and parsed
 * by GMime from the file. Only BER that vder_split does not take apart
 * (indefinite lengths, chunked content) is read into memory, and only up
 * to VERIFY_BER_MAX.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include "util.h"
#include "verify_cms.h"
#include "verify_der.h"
#include "hp.h"
#include "verify_int.h"
#include "verify_mime.h"

#define VERIFY_BER_MAX	(12 * 1024 * 1024)	/* BER read whole */

/* The decoded DER: an unlinked file, mapped read-only. */
struct der {
	int fd;
	const unsigned char *p;
	size_t n;
	void *map;
};

static void
der_close(struct der *d)
{
	if (d->map != NULL)
		munmap(d->map, d->n);
	if (d->fd != -1)
		close(d->fd);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}

/* Decodes leaf o into a temporary file in tmp_dir and maps it. */
static int
der_open(GMimeObject *o, const char *tmp_dir, struct der *d)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
	GMimeStream *out;
	struct stat st;
	int fd;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (w == NULL || (d->fd = msgbuf_tmpfile(tmp_dir)) == -1 ||
	    (fd = dup(d->fd)) == -1)
		return -1;
	out = g_mime_stream_fs_new(fd);
	if (g_mime_data_wrapper_write_to_stream(w, out) < 0 ||
	    g_mime_stream_flush(out) != 0) {
		g_object_unref(out);
		return -1;
	}
	g_object_unref(out);
	if (fstat(d->fd, &st) != 0 || st.st_size <= 0 ||
	    (uintmax_t)st.st_size > VERIFY_OPAQUE_MAX)
		return -1;
	d->n = (size_t)st.st_size;
	d->map = mmap(NULL, d->n, PROT_READ, MAP_PRIVATE, d->fd, 0);
	if (d->map == MAP_FAILED) {
		d->map = NULL;
		return -1;
	}
	d->p = d->map;
	return 0;
}

/* The content bytes [off, off + len) of the file, parsed by GMime. */
static GMimeObject *
parse_file(int fd, size_t off, size_t len)
{
	GMimeStream *s;
	GMimeParser *parser;
	GMimeObject *o;
	int dfd = dup(fd);

	if (dfd == -1)
		return NULL;
	s = g_mime_stream_fs_new_with_bounds(dfd, (gint64)off,
	    (gint64)(off + len));
	parser = g_mime_parser_new_with_stream(s);
	o = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	g_object_unref(s);
	return o;
}

static GMimeObject *
parse_mem(const unsigned char *p, size_t n)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)p, n);
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeObject *o = g_mime_parser_construct_part(parser, NULL);

	g_object_unref(parser);
	g_object_unref(s);
	return o;
}

/*
 * The signature over content (NULL: encapsulated in cms), and the signed
 * content as a reader sees it: a signature over encrypted content says
 * nothing of its author, ambiguous MIME is neutral, an inner From other
 * than From is policy.
 */
static void
opaque_check(const struct pki *pki, CMS_ContentInfo *cms, BIO *content,
    GMimeObject *inner, GMimeObject *outer, const char *from, time_t now,
    struct verify_result *res)
{
	const char *why;

	if (inner != NULL && verify_is_encrypted(inner)) {
		verify_cms_result(res, AR_SKIP,
		    "signed content is encrypted, cannot be checked");
		return;
	}
	verify_cms_check(pki, cms, content, from, now, res);
	if (res->result != AR_PASS || inner == NULL)
		return;
	if ((why = vmime_ambiguous(inner)) != NULL)
		verify_cms_result(res, AR_NEUTRAL, why);
	else {
		verify_inner_from(inner, from, res);
		hp_check(outer, inner, res);	/* RFC 9788 hp= */
	}
}

/* DER with the content in one piece: a small detached SignedData. */
static void
opaque_split(const struct pki *pki, const struct der *d,
    const unsigned char *small, size_t slen, size_t coff, size_t clen,
    GMimeObject *outer, const char *from, time_t now,
    struct verify_result *res)
{
	const unsigned char *sp = small;
	CMS_ContentInfo *cms;
	GMimeObject *inner;
	BIO *bio;

	if ((cms = d2i_CMS_ContentInfo(NULL, &sp, (long)slen)) == NULL) {
		verify_cms_result(res, AR_NEUTRAL, "S/MIME content unparseable");
		return;
	}
	inner = parse_file(d->fd, coff, clen);
	if ((bio = verify_mapbio((const char *)d->p + coff, clen)) == NULL)
		verify_cms_result(res, AR_TEMPERROR, "internal error reading the message");
	else
		opaque_check(pki, cms, bio, inner, outer, from, now, res);
	BIO_free(bio);
	if (inner != NULL)
		g_object_unref(inner);
	CMS_ContentInfo_free(cms);
}

/* BER that vder_split leaves whole: read into memory, it is small. */
static void
opaque_whole(const struct pki *pki, const struct der *d, GMimeObject *outer,
    const char *from, time_t now, struct verify_result *res)
{
	const unsigned char *dp = d->p;
	ASN1_OCTET_STRING **pos;
	CMS_ContentInfo *cms;
	GMimeObject *inner = NULL;

	if ((cms = d2i_CMS_ContentInfo(NULL, &dp, (long)d->n)) == NULL) {
		verify_cms_result(res, AR_NEUTRAL, "S/MIME content unparseable");
		return;
	}
	if (CMS_is_detached(cms) || (pos = CMS_get0_content(cms)) == NULL ||
	    *pos == NULL)
		verify_cms_result(res, AR_NEUTRAL, "signed data without content");
	else {
		inner = parse_mem(ASN1_STRING_get0_data(*pos),
		    (size_t)ASN1_STRING_length(*pos));
		opaque_check(pki, cms, NULL, inner, outer, from, now, res);
	}
	if (inner != NULL)
		g_object_unref(inner);
	CMS_ContentInfo_free(cms);
}

void
verify_opaque(const struct pki *pki, GMimeObject *o, GMimeObject *outer,
    const char *tmp_dir, const char *from, time_t now,
    struct verify_result *res)
{
	const char *st = g_mime_object_get_content_type_parameter(o, "smime-type");
	unsigned char *small = NULL;
	size_t slen, coff, clen;
	struct der d = { -1, NULL, 0, NULL };
	int nid, r;

	if (st != NULL && strcasestr(st, "enveloped") != NULL) {
		verify_cms_result(res, AR_SKIP, "encrypted, cannot be checked");
		return;
	}
	if (der_open(o, tmp_dir, &d) != 0) {
		verify_cms_result(res, AR_NEUTRAL, "S/MIME part unreadable");
		goto out;
	}
	nid = vder_type(d.p, d.n);
	if (verify_nid_encrypted(nid))
		verify_cms_result(res, AR_SKIP, "encrypted, cannot be checked");
	else if (nid == NID_undef)
		verify_cms_result(res, AR_NEUTRAL, "S/MIME content unparseable");
	else if (nid != NID_pkcs7_signed)
		verify_cms_result(res, AR_NEUTRAL, "S/MIME content is not signed data");
	else if ((r = vder_split(d.p, d.n, &small, &slen, &coff, &clen)) == 0)
		opaque_split(pki, &d, small, slen, coff, clen, outer, from, now,
		    res);
	else if (r == VDER_ABSENT)
		verify_cms_result(res, AR_NEUTRAL, "signed data without content");
	else if (r == VDER_BER && d.n <= VERIFY_BER_MAX)
		opaque_whole(pki, &d, outer, from, now, res);
	else if (r == VDER_BER)
		verify_cms_result(res, AR_NEUTRAL, "S/MIME content too large in "
		    "its BER encoding");
	else
		verify_cms_result(res, AR_NEUTRAL, "S/MIME content unparseable");
out:
	free(small);
	der_close(&d);
	ERR_clear_error();
}
