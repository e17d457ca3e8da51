/*
 * fuzz_mime.c - the signing preparation: mimeprep's MIME walk and
 * canonicalization through smime_sign(), with the build PKI's signer.
 *
 * Input: byte 0 holds flags (bit 0: a 64-byte memory threshold so that the
 * body and the output spool to files; bit 1: no footer; bit 2: RFC 9788
 * header protection of the header block's From, To, Subject... fields,
 * hp.h); the rest is split
 * at the first empty line into the top-level content header block and the
 * body. smime_sign() may refuse (-1 with a reason) but never crash; on
 * success the Content-Type is one folded header value (LF only before a
 * TAB, no CR, 7-bit) and the new body is 7-bit and CRLF throughout (no
 * bare CR or LF, no NUL), with lines of at most 998 octets, unless the input
 * names a signed or encrypted type (those nested parts are kept byte for
 * byte by design, see mimeprep.h); see check_body(). FUZZ_STRICT=0: no
 * 7-bit and bare-CR checks. FUZZ_GATEWAY=1: header blocks as the daemon
 * passes them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/pem.h>

#include "fuzz_common.h"
#include "hp.h"
#include "smime_sign.h"
#include "util.h"

#define FOOTER "Dokumen ini ditandatangani secara elektronik \xe2\x80\x94 BSrE"

static struct cert_entry signer;
static char *tmpdir;
static bool strict, gateway_form;

static void *
load_pem(const char *name, int key)
{
	FILE *fp = fopen(fuzz_pki_path(name), "r");
	void *x;

	if (fp == NULL) {
		fprintf(stderr, "fuzz_mime: cannot open %s (run make -f "
		    "tests/fuzz/Makefile build, or set SEGEL_FUZZ_PKI)\n",
		    fuzz_pki_path(name));
		exit(1);
	}
	x = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, (void *)"") :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL)
		abort();
	return x;
}

static void
cleanup(void)
{
	(void)rmdir(tmpdir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_mime_init();
	signer.cert = load_pem("signer.pem", 0);
	signer.key = load_pem("signer.key", 1);
	signer.chain = sk_X509_new_null();
	signer.address = xstrdup("fuzz@example.org");
	signer.status = CERT_OK;
	tmpdir = fuzz_tmpdir("mime");
	atexit(cleanup);
	strict = getenv("FUZZ_STRICT") == NULL ||
	    strcmp(getenv("FUZZ_STRICT"), "0") != 0;
	gateway_form = getenv("FUZZ_GATEWAY") != NULL &&
	    strcmp(getenv("FUZZ_GATEWAY"), "1") == 0;
	return 0;
}

static bool
names_protected(const uint8_t *data, size_t size)
{
	static const char *words[] = { "signed", "encrypted", "pkcs7" };
	char *s = xmalloc(size + 1);
	size_t i;
	bool hit = false;

	for (i = 0; i < size; i++)
		s[i] = data[i] == '\0' ? ' ' : (char)data[i];
	s[size] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]) && !hit; i++)
		hit = strcasestr(s, words[i]) != NULL;
	free(s);
	return hit;
}

static void
check_ct(const char *ct)
{
	const char *p;

	FUZZ_ASSERT(ct != NULL && strncmp(ct, "multipart/signed;", 17) == 0,
	    "content type \"%s\"", ct ? ct : "(null)");
	for (p = ct; *p != '\0'; p++) {
		FUZZ_ASSERT(*p != '\r' && (unsigned char)*p < 0x80, "byte in CT");
		if (*p == '\n')
			FUZZ_ASSERT(p[1] == '\t', "LF without TAB in CT");
	}
}

/*
 * Always: no bare LF. Unless the input names a signed or encrypted type
 * (such nested parts are kept byte for byte by design, NUL and long lines
 * included): no NUL, lines of at most 998 octets, no 8-bit byte and no
 * bare CR. FUZZ_STRICT=0 leaves out the last two (the gaps mimeprep had,
 * tests/fuzz/RESULTS.md, are closed; 150,000 strict executions clean).
 */
static void
check_body(struct msgbuf *b, bool plain, bool strict)
{
	unsigned char buf[65536];
	size_t line = 0, i;
	off_t off = 0;
	ssize_t n;
	int prev = '\n';

	while ((n = msgbuf_pread(b, buf, sizeof(buf), off)) > 0) {
		for (i = 0; i < (size_t)n; i++) {
			int c = buf[i];
			long long at = (long long)off + (long long)i;

			FUZZ_ASSERT(!plain || c != '\0', "NUL at %lld", at);
			FUZZ_ASSERT(!strict || c < 0x80, "8-bit 0x%02x at %lld",
			    c, at);
			FUZZ_ASSERT(!strict || prev != '\r' || c == '\n',
			    "bare CR at %lld", at - 1);
			FUZZ_ASSERT(c != '\n' || prev == '\r', "bare LF at %lld", at);
			if (c == '\n')
				line = 0;
			else if ((c != '\r' || !strict) && ++line > 998)
				FUZZ_ASSERT(!plain, "line longer than 998 at %lld", at);
			prev = c;
		}
		off += n;
	}
	FUZZ_ASSERT(n == 0, "msgbuf_pread failed");
	FUZZ_ASSERT(!strict || prev != '\r', "ends in a bare CR");
}

/*
 * FUZZ_GATEWAY=1: the header block in the form msgctx.c gives it (every LF
 * a CRLF, and a CRLF at the end), to tell whether a finding is reachable
 * through the daemon.
 */
static char *
as_gateway(char *h)
{
	struct sbuf b;
	const char *p;

	sbuf_init(&b);
	for (p = h; *p != '\0'; p++) {
		if (*p == '\n' && (p == h || p[-1] != '\r'))
			sbuf_add(&b, "\r\n", 2);
		else
			sbuf_add(&b, p, 1);
	}
	if (b.len > 0 && (b.len < 2 || memcmp(b.s + b.len - 2, "\r\n", 2) != 0))
		sbuf_add(&b, "\r\n", 2);
	sbuf_add(&b, "", 1);
	free(h);
	return sbuf_steal(&b);
}

/* FUZZ_DUMP=FILE: the output body of the (last) input, for debugging. */
static void
dump(struct msgbuf *b)
{
	const char *path = getenv("FUZZ_DUMP");
	char buf[65536];
	off_t off = 0;
	ssize_t n;
	FILE *fp;

	if (path == NULL || (fp = fopen(path, "w")) == NULL)
		return;
	while ((n = msgbuf_pread(b, buf, sizeof(buf), off)) > 0) {
		fwrite(buf, 1, (size_t)n, fp);
		off += n;
	}
	fclose(fp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sign_req req;
	struct sign_out out;
	struct sbuf err;
	struct msgbuf *body;
	char *headers, *prot = NULL;
	bool plain;

	if (size < 1)
		return 0;
	fuzz_split(data + 1, size - 1, (data[0] & 1) ? 64 : 1 << 20, tmpdir,
	    &headers, &body);
	if (gateway_form)
		headers = as_gateway(headers);
	memset(&req, 0, sizeof(req));
	memset(&out, 0, sizeof(out));
	req.content_headers = headers;
	req.body = body;
	req.footer = (data[0] & 2) ? NULL : FOOTER;
	req.signer = &signer;
	req.tmp_dir = tmpdir;
	req.memory_threshold = (data[0] & 1) ? 64 : 1 << 20;
	if (data[0] & 4)
		req.protected_headers = prot = hp_collect(headers, NULL);
	sbuf_init(&err);
	if (smime_sign(&req, &out, &err) == 0) {
		dump(out.body);
		check_ct(out.content_type);
		FUZZ_ASSERT(out.body != NULL, "no body");
		plain = !names_protected(data + 1, size - 1);
		check_body(out.body, plain, strict && plain);
	} else
		FUZZ_ASSERT(err.len > 0, "refused without a reason");
	sign_out_free(&out);
	sbuf_free(&err);
	msgbuf_free(body);
	free(headers);
	free(prot);
	return 0;
}
