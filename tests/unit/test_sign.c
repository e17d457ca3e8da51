/*
 * test_sign.c - smime_sign() and mimeprep on a table of awkward messages.
 *
 * Each case is signed with a certificate of the test PKI (tests/pki/gen,
 * generated once into a temporary folder; run from the repository root or
 * set SEGEL_SRCDIR) and then judged from outside:
 *   - the new body is 7-bit, CRLF only, lines of at most 998 octets, so
 *     Postfix's 7-bit downgrade and line splitting have nothing to change;
 *   - the whole message verifies with the openssl binary
 *     (openssl cms -verify -CAfile trust.pem -purpose smimesign);
 *   - part 1, parsed again, has the footer exactly once in each text part a
 *     reader sees and none elsewhere; attachments decode to the same bytes.
 * Further tests: the signed attributes (openssl cms -cmsout -print), the
 * certificates carried, gpgsm (tests/interop/gpgsm-verify), tampering,
 * nested signed parts kept byte for byte, errors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "diag.h"
#include "mimeprep.h"
#include "msgbuf.h"
#include "pki.h"
#include "smime_sign.h"
#include "testlib.h"
#include "util.h"
#include "verify.h"

#define FOOTER	"Dokumen ini ditandatangani secara elektronik \xe2\x80\x94 " \
		"BSrE \xe2\x9c\x93 <&>"
#define MARKER	"Dokumen ini ditandatangani secara elektronik"
#define ALICE	"alice@tanjungpinangkota.go.id"
#define EC	"ec@tanjungpinangkota.go.id"
/* UTF-16LE "Halo \u00e9\r\n\u0a0d\r\n" */
#define UTF16_B64 "SABhAGwAbwAgAOkADQAKAA0KDQAKAA=="

static char pkidir[] = "/tmp/segel-test-sign.XXXXXX";
#define P(rel)	tl_path(pkidir, "%s", (rel))
static struct pki *pki;		/* for segel's own verifier */

/* ---- the signer, built directly (certstore is not under test) ---- */

static struct cert_entry *
load_signer(const char *addr)
{
	struct cert_entry *e = xcalloc(1, sizeof(*e));
	char path[1100];
	FILE *fp;
	X509 *x;

	snprintf(path, sizeof(path), "%s/staff/%s.pem", pkidir, addr);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(e->cert = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	snprintf(path, sizeof(path), "%s/staff/%s.key", pkidir, addr);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(e->key = PEM_read_PrivateKey(fp, NULL, NULL,
	    (void *)""));
	fclose(fp);
	e->chain = sk_X509_new_null();
	ck_assert_ptr_nonnull(fp = fopen(P("chain.pem"), "r"));
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		sk_X509_push(e->chain, x);
	fclose(fp);
	e->address = xstrdup(addr);
	e->status = CERT_OK;
	return e;
}

static void
signer_free(struct cert_entry *e)
{
	X509_free(e->cert);
	EVP_PKEY_free(e->key);
	sk_X509_pop_free(e->chain, X509_free);
	free(e->address);
	free(e);
}

/* ---- the cases ---- */

struct sign_case {
	const char *name;
	const char *headers;
	const char *body;	/* NULL: built by make_body() */
	int visible;		/* text parts that must carry the footer */
	int html;		/* of which text/html */
	const char *attach;	/* filename whose bytes must survive */
	bool spool;		/* a tiny memory threshold */
	const char *signer;
	const char *attach_exp;	/* the attachment's bytes, when fixed */
};

#define CRLF "\r\n"
static const struct sign_case cases[] = {
	{ "plain_ascii", "Content-Type: text/plain; charset=us-ascii" CRLF,
	  "Hello world." CRLF "Second line." CRLF, 1, 0, NULL, false, ALICE, NULL },
	{ "utf8_no_cte", "Content-Type: text/plain; charset=utf-8" CRLF,
	  "Selamat pagi \xe2\x80\x94 caf\xc3\xa9 \xe2\x9c\x93" CRLF,
	  1, 0, NULL, false, ALICE, NULL },
	{ "latin1_qp", "Content-Type: text/plain; charset=iso-8859-1" CRLF
	  "Content-Transfer-Encoding: quoted-printable" CRLF,
	  "Caf=E9 ol=E9, na=EFve." CRLF, 1, 0, NULL, false, ALICE, NULL },
	{ "html_only", "Content-Type: text/html; charset=utf-8" CRLF,
	  "<html><head></head><BODY><p>Halo \xc3\xa9</p></BODY></html>" CRLF,
	  1, 1, NULL, false, ALICE, NULL },
	{ "alternative", "Content-Type: multipart/alternative; boundary=\"A\""
	  CRLF, "--A" CRLF "Content-Type: text/plain; charset=utf-8" CRLF
	  "Content-Transfer-Encoding: 8bit" CRLF CRLF "Halo \xc3\xa9" CRLF
	  "--A" CRLF "Content-Type: text/html; charset=utf-8" CRLF
	  "Content-Transfer-Encoding: 8bit" CRLF CRLF
	  "<html><body>Halo \xc3\xa9</body></html>" CRLF "--A--" CRLF,
	  2, 1, NULL, false, ALICE, NULL },
	{ "mixed_binary_pdf", NULL, NULL, 1, 0, "doc.pdf", false, ALICE, NULL },
	{ "nested", "Content-Type: multipart/mixed; boundary=\"M\"" CRLF
	  "Content-Transfer-Encoding: 8bit" CRLF,
	  "preamble" CRLF "--M" CRLF
	  "Content-Type: multipart/alternative; boundary=\"A\"" CRLF CRLF
	  "--A" CRLF "Content-Type: text/plain; charset=utf-8" CRLF CRLF
	  "plain \xc3\xa9" CRLF "--A" CRLF
	  "Content-Type: multipart/related; boundary=\"R\"" CRLF CRLF
	  "--R" CRLF "Content-Type: text/html; charset=utf-8" CRLF CRLF
	  "<html><body><img src=\"cid:i\"></body></html>" CRLF "--R" CRLF
	  "Content-Type: image/png" CRLF "Content-ID: <i>" CRLF
	  "Content-Transfer-Encoding: base64" CRLF CRLF "iVBORw0KGgo=" CRLF
	  "--R--" CRLF "--A--" CRLF "--M" CRLF
	  "Content-Type: text/plain; charset=utf-8; name=\"notes.txt\"" CRLF
	  "Content-Disposition: attachment; filename=\"notes.txt\"" CRLF CRLF
	  "attached text \xc3\xa9" CRLF "--M" CRLF
	  "Content-Type: message/rfc822" CRLF CRLF
	  "Subject: forwarded" CRLF "Content-Type: text/plain; charset=utf-8"
	  CRLF "Content-Transfer-Encoding: 8bit" CRLF CRLF "inner \xc3\xa9" CRLF
	  "--M--" CRLF "epilogue" CRLF, 2, 1, "notes.txt", false, ALICE, NULL },
	{ "long_lines", "Content-Type: text/plain; charset=utf-8" CRLF
	  "Content-Transfer-Encoding: 8bit" CRLF, NULL, 1, 0, NULL, false,
	  ALICE, NULL },
	{ "from_lines", "Content-Type: text/plain" CRLF,
	  "From here on" CRLF "From: not a header" CRLF ">From quoted" CRLF
	  "F" CRLF "From" CRLF "From ", 1, 0, NULL, false, ALICE, NULL },
	{ "trailing_ws", "Content-Type: text/plain" CRLF,
	  "spaces   " CRLF "tab\t" CRLF " " CRLF "\t \t" CRLF "end  ",
	  1, 0, NULL, false, ALICE, NULL },
	{ "no_mime_headers", "", "Plain old mail." CRLF, 1, 0, NULL, false,
	  ALICE, NULL },
	{ "no_mime_8bit", "", "Tanpa header MIME \xc3\xa9" CRLF, 1, 0, NULL,
	  false, ALICE, NULL },
	{ "bare_lf", "Content-Type: multipart/mixed; boundary=\"L\"" CRLF,
	  "--L\nContent-Type: text/plain; charset=utf-8\n\nline one\n"
	  "line two \xc3\xa9\n--L\nContent-Type: application/octet-stream\n"
	  "Content-Disposition: attachment; filename=\"x.bin\"\n\n"
	  "abc\n--L--\n", 1, 0, NULL, false, ALICE, NULL },
	/* GMime writes preamble and epilogue raw: the output stream makes
	 * their bare LFs CRLF (issue 16: no unix2dos filter stage) */
	{ "bare_lf_preamble", "Content-Type: multipart/mixed; boundary=\"L\""
	  CRLF, "pre\namble\r\n\n--L\nContent-Type: text/plain\n\nisi\n"
	  "--L--\nepi\nlogue\n", 1, 0, NULL, false, ALICE, NULL },
	{ "7bit_with_8bit", "Content-Type: text/plain; charset=utf-8" CRLF
	  "Content-Transfer-Encoding: 7bit" CRLF,
	  "labelled 7bit but \xc3\xa9\xc3\xa8" CRLF, 1, 0, NULL, false, ALICE, NULL },
	{ "7bit_attachments_8bit", "Content-Type: multipart/mixed; "
	  "boundary=\"S\"" CRLF, "--S" CRLF "Content-Type: text/plain" CRLF
	  CRLF "see attachments" CRLF "--S" CRLF
	  "Content-Type: text/csv; charset=utf-8" CRLF
	  "Content-Disposition: attachment; filename=\"data.csv\"" CRLF
	  "Content-Transfer-Encoding: 7bit" CRLF CRLF
	  "nama;kota" CRLF "Andr\xc3\xa9;Tanjungpinang" CRLF "--S" CRLF
	  "Content-Type: application/octet-stream" CRLF
	  "Content-Transfer-Encoding: 7bit" CRLF CRLF "\xff\xfe raw" CRLF
	  "--S--" CRLF, 1, 0, "data.csv", false, ALICE,
	  "nama;kota" CRLF "Andr\xc3\xa9;Tanjungpinang" },
	{ "8bit_headers", "Content-Type: multipart/mixed; boundary=\"H\""
	  CRLF, "Pr\xc3\xa9" "ambule 8-bit" CRLF "--H" CRLF
	  "Content-Type: text/plain; charset=utf-8" CRLF CRLF "isi" CRLF
	  "--H" CRLF "Content-Type: application/pdf; "
	  "name=\"Laporan_\xc3\xa9.pdf\"" CRLF "Content-Disposition: "
	  "attachment; filename=\"Laporan_\xc3\xa9.pdf\"" CRLF
	  "Content-Description: Laporan bulanan \xc3\xa9" CRLF
	  "Content-Transfer-Encoding: base64" CRLF CRLF "JVBERi0xLjc=" CRLF
	  "--H" CRLF "Content-Type: message/rfc822" CRLF CRLF
	  "From: Andr\xc3\xa9 <andre@example.org>" CRLF
	  "Subject: Rapat \xc3\xa9t\xc3\xa9" CRLF CRLF "inner" CRLF
	  "--H--" CRLF "Epilog \xc3\xa9" CRLF, 1, 0,
	  "Laporan_\xc3\xa9.pdf", false, ALICE, "%PDF-1.7" },
	{ "unknown_charset", "Content-Type: text/plain; charset=x-no-such"
	  CRLF, "plain ascii text" CRLF, 1, 0, NULL, false, ALICE, NULL },
	{ "unclosed_multipart", "Content-Type: multipart/mixed; boundary=\"U\""
	  CRLF, "--U" CRLF "Content-Type: text/plain" CRLF CRLF "no end" CRLF,
	  1, 0, NULL, false, ALICE, NULL },
	{ "empty_body", "Content-Type: text/plain; charset=utf-8" CRLF, "", 1,
	  0, NULL, false, ALICE, NULL },
	{ "windows1252_plain", "Content-Type: text/plain; charset=windows-1252"
	  CRLF "Content-Transfer-Encoding: 8bit" CRLF,
	  "Harga \x80 10 \x96 \x93kutip\x94" CRLF, 1, 0, NULL, false, ALICE,
	  NULL },
	{ "long_header", NULL, "body" CRLF, 1, 0, NULL, false, ALICE, NULL },
	/* found by fuzz_mime (FUZZ_STRICT=1): */
	{ "header_bare_cr", "Content-Type: text/html; charset=utf-8" CRLF
	  "Content-Trans-ferEncoding: 8bit\r2" CRLF, "<html><body>Halo "
	  "\xc3\xa9</body></html>" CRLF, 1, 1, NULL, false, ALICE, NULL },
	{ "8bit_media_type", "Content-Type: multipart/al\xb0" "ernative; "
	  "boundary=\"A\"" CRLF, "--A" CRLF "Content-Type: text/plain; "
	  "charset=utf-7" CRLF "Content-Transfer-Encoding: 8bit" CRLF CRLF
	  "Halo \xc3\xa9" CRLF "--A--" CRLF, 1, 0, NULL, false, ALICE, NULL },
	{ "base64_bare_cr", "Content-Type: multipart/mixed; boundary=\"C\""
	  CRLF, "--C" CRLF "Content-Type: text/plain" CRLF CRLF "lihat" CRLF
	  "--C" CRLF "Content-Type: application/octet-stream; name=\"cr.bin\""
	  CRLF "Content-Transfer-Encoding: base64" CRLF CRLF "QUJD\rREVG" CRLF
	  "--C--" CRLF, 1, 0, "cr.bin", false, ALICE, "ABCDEF" },
	{ "utf16_visible", "Content-Type: text/plain; charset=utf-16le" CRLF
	  "Content-Transfer-Encoding: base64" CRLF,
	  UTF16_B64 CRLF, 1, 0, NULL, false, ALICE,
	  NULL },
	{ "utf16_attachment", "Content-Type: multipart/mixed; boundary=\"W\""
	  CRLF, "--W" CRLF "Content-Type: text/plain" CRLF CRLF "isi" CRLF
	  "--W" CRLF "Content-Type: text/plain; charset=utf-16le; "
	  "name=\"w.txt\"" CRLF "Content-Transfer-Encoding: base64" CRLF CRLF
	  UTF16_B64 CRLF "--W--" CRLF, 1, 0, "w.txt",
	  false, ALICE, NULL },
	{ "8bit_header_name", "Content-Type: text/plain; charset=utf-8" CRLF
	  "Content-\xc3\xc3Transfer-Encoding: 8bit" CRLF, "Halo \xc3\xa9" CRLF,
	  1, 0, NULL, false, ALICE, NULL },
	{ "spaced_header_names", "Content-Type : text/html; charset=utf-8"
	  CRLF "Content-Transfer-Encoding :8bit" CRLF, "<p>Halo \xc3\xa9</p>"
	  CRLF, 1, 1, NULL, false, ALICE, NULL },
	{ "malformed_forward", "Content-Type: multipart/mixed; boundary=\"X\""
	  CRLF, "--X" CRLF "Content-Type: text/plain" CRLF CRLF "lihat" CRLF
	  "--X" CRLF "Content-Type: message/rfc822\rmax_non" CRLF CRLF
	  "caf\xe9 " CRLF "--X--" CRLF, 1, 0, "forwarded.eml", false, ALICE,
	  "caf\xe9 " CRLF CRLF },
	/* GMime's parameter encoder looped without end on this name: */
	{ "param_encode_loop", "Content-Type: text/html; charsetwwwwwwwwww"
	  "wwwwwwwwwwwwwww\x8bwwwwwwwwwwwwwwwwwwwJwwww\xaewwwwww----=_sege"
	  "\xc3\xa9<" CRLF, "<p>hi</p>" CRLF, 1, 1, NULL, false, ALICE, NULL },
	/* invalid (8-bit) boundary: GMime finds no part, all is preamble */
	{ "8bit_boundary", "Content-Type: multipart/mixed; boundary="
	  "\"\xea\xeaM\"" CRLF, "--\xea\xeaM" CRLF "Content-Type: text/plain; "
	  "charset=utf-8" CRLF CRLF "isi \xc3\xa9" CRLF "--\xea\xeaM--" CRLF,
	  0, 0, NULL, false, ALICE, NULL },
	{ "toplevel_malformed_forward", "Content-Type: message/rfc822" CRLF,
	  "Su\x86\x86" "bject`\xe7 x" CRLF "Content-Type: text/plain" CRLF CRLF
	  "inner \xe9" CRLF, 0, 0, NULL, false, ALICE, NULL },
	{ "empty_latin1", "Content-Type: text/plain; charset=iso-8859-1" CRLF,
	  "", 1, 0, NULL, false, ALICE, NULL },
	{ "base64_one_line", "Content-Type: multipart/mixed; boundary=\"B\""
	  CRLF, NULL, 1, 0, "one.bin", false, ALICE, NULL },
	{ "large_spooled", NULL, NULL, 1, 0, "doc.pdf", true, ALICE, NULL },
	{ "ec_signer", "Content-Type: text/plain; charset=utf-8" CRLF,
	  "Signed with P-256 \xc3\xa9" CRLF, 1, 0, NULL, false, EC, NULL },
};

/* The attachment of mixed_binary_pdf / large_spooled: every byte value,
 * NUL, bare CR and LF, a run far beyond 998 octets without a line end. */
static GByteArray *
pdf_bytes(size_t size)
{
	GByteArray *a = g_byte_array_new();
	size_t i;

	g_byte_array_append(a, (const guint8 *)"%PDF-1.7\r\n", 10);
	for (i = 0; a->len < size; i++) {
		guint8 c = (guint8)((i * 7 + i / 3) & 0xff);

		if (c == '\r' || c == '\n')
			c = (i % 5) ? 'x' : c;
		g_byte_array_append(a, &c, 1);
	}
	return a;
}

static GByteArray *
one_line_bytes(void)
{
	GByteArray *a = g_byte_array_new();
	guint8 c;
	size_t i;

	for (i = 0; i < 6000; i++) {
		c = (guint8)(i * 13);
		g_byte_array_append(a, &c, 1);
	}
	return a;
}

/* Body and headers of the generated cases; caller frees both. */
static void
make_body(const struct sign_case *c, GString *h, GString *b)
{
	GByteArray *att;
	size_t i;
	char *enc;

	g_string_assign(h, c->headers ? c->headers : "");
	if (strcmp(c->name, "long_header") == 0) {	/* one 1100-octet line */
		g_string_assign(h, "Content-Type: text/plain; charset=utf-8; "
		    "x-note=\"");
		for (i = 0; i < 1100; i++)
			g_string_append_c(h, 'a');
		g_string_append(h, "\"" CRLF);
		g_string_assign(b, c->body);
		return;
	}
	if (strcmp(c->name, "long_lines") == 0) {
		for (i = 0; i < 3000; i++)
			g_string_append_c(b, i % 100 == 99 ? ' ' : 'a');
		g_string_append(b, "\xc3\xa9" CRLF "short" CRLF);
		return;
	}
	if (strcmp(c->name, "base64_one_line") == 0) {
		att = one_line_bytes();
		enc = g_base64_encode(att->data, att->len);
		g_string_append_printf(b, "--B" CRLF "Content-Type: text/plain"
		    CRLF CRLF "see attachment" CRLF "--B" CRLF
		    "Content-Type: application/octet-stream; name=\"one.bin\""
		    CRLF "Content-Transfer-Encoding: base64" CRLF CRLF "%s" CRLF
		    "--B--" CRLF, enc);
		g_free(enc);
		g_byte_array_unref(att);
		return;
	}
	att = pdf_bytes(c->spool ? 3 * 1024 * 1024 : 20000);
	g_string_assign(h, "Content-Type: multipart/mixed; boundary=\"P\"" CRLF);
	g_string_append(b, "--P" CRLF "Content-Type: text/plain; "
	    "charset=utf-8" CRLF "Content-Transfer-Encoding: 8bit" CRLF CRLF
	    "Terlampir dokumen \xc3\xa9." CRLF "--P" CRLF
	    "Content-Type: application/pdf; name=\"doc.pdf\"" CRLF
	    "Content-Disposition: attachment; filename=\"doc.pdf\"" CRLF
	    "Content-Transfer-Encoding: binary" CRLF CRLF);
	g_string_append_len(b, (const char *)att->data, (gssize)att->len);
	g_string_append(b, CRLF "--P--" CRLF);
	g_byte_array_unref(att);
}

static GByteArray *
expected_attachment(const struct sign_case *c)
{
	if (strcmp(c->name, "utf16_attachment") == 0) {
		gsize n = 0;
		guchar *d = g_base64_decode(UTF16_B64, &n);
		GByteArray *a = g_byte_array_append(g_byte_array_new(), d,
		    (guint)n);

		g_free(d);
		return a;	/* U+0A0D is 0D 0A: no line end to convert */
	}
	if (c->attach_exp != NULL)
		return g_byte_array_append(g_byte_array_new(),
		    (const guint8 *)c->attach_exp, (guint)strlen(c->attach_exp));
	if (strcmp(c->name, "base64_one_line") == 0)
		return one_line_bytes();
	if (strcmp(c->name, "nested") == 0) {
		GByteArray *a = g_byte_array_new();

		g_byte_array_append(a, (const guint8 *)"attached text \xc3\xa9",
		    16);
		return a;
	}
	return pdf_bytes(c->spool ? 3 * 1024 * 1024 : 20000);
}

/* ---- signing and judging ---- */

struct signed_msg {
	GByteArray *body;	/* the new body */
	char *ct;		/* out.content_type */
	char *boundary;
	bool spooled;
};

static void
signed_msg_free(struct signed_msg *m)
{
	g_byte_array_unref(m->body);
	free(m->ct);
	free(m->boundary);
}

static GByteArray *
msgbuf_bytes(const struct msgbuf *mb)
{
	GByteArray *a = g_byte_array_sized_new((guint)msgbuf_len(mb));
	char buf[65536];
	off_t off = 0;
	ssize_t n;

	while ((n = msgbuf_pread(mb, buf, sizeof(buf), off)) > 0) {
		g_byte_array_append(a, (guint8 *)buf, (guint)n);
		off += n;
	}
	ck_assert_uint_eq(a->len, msgbuf_len(mb));
	return a;
}

/* Set by a test for the next sign_case_run: sign without signingTime. */
static bool sign_no_time;

static void
sign_case_run(const struct sign_case *c, struct signed_msg *m)
{
	GString *h = g_string_new(NULL), *b = g_string_new(NULL);
	struct cert_entry *signer = load_signer(c->signer);
	struct sign_req req;
	struct sign_out out = { NULL, NULL };
	struct msgbuf *body;
	struct sbuf err;
	const char *p;

	if (c->body == NULL || c->headers == NULL)
		make_body(c, h, b);
	else {
		g_string_assign(h, c->headers);
		g_string_assign(b, c->body);
	}
	body = msgbuf_new(c->spool ? 65536 : 1 << 24, NULL);
	ck_assert_int_eq(msgbuf_append(body, b->str, b->len), 0);
	ck_assert(!c->spool || msgbuf_fd(body) != -1);
	memset(&req, 0, sizeof(req));
	req.content_headers = h->str;
	req.body = body;
	req.footer = FOOTER;
	req.signer = signer;
	req.memory_threshold = c->spool ? 65536 : 1 << 24;
	req.no_signing_time = sign_no_time;
	sbuf_init(&err);
	ck_assert_msg(smime_sign(&req, &out, &err) == 0, "%s: %s", c->name,
	    err.s ? err.s : "");
	m->body = msgbuf_bytes(out.body);
	m->spooled = msgbuf_fd(out.body) != -1;
	m->ct = xstrdup(out.content_type);
	ck_assert_ptr_nonnull(p = strstr(m->ct, "boundary=\""));
	m->boundary = xstrndup(p + 10, strcspn(p + 10, "\""));
	sign_out_free(&out);
	sign_out_free(&out);	/* twice: must be harmless */
	sbuf_free(&err);
	msgbuf_free(body);
	signer_free(signer);
	g_string_free(h, TRUE);
	g_string_free(b, TRUE);
}

/* 7-bit, no NUL, CRLF only, lines of at most 998 octets: a 7-bit
 * downgrade or smtp_line_length_limit would change nothing. */
static void
judge_transport_safe(const char *name, const GByteArray *a)
{
	size_t i, col = 0;

	for (i = 0; i < a->len; i++) {
		guint8 c = a->data[i];

		ck_assert_msg(c != 0 && c < 0x80, "%s: octet %02x at %zu", name,
		    c, i);
		if (c == '\n') {
			ck_assert_msg(i > 0 && a->data[i - 1] == '\r',
			    "%s: bare LF at %zu", name, i);
			col = 0;
			continue;
		}
		if (c == '\r')
			ck_assert_msg(i + 1 < a->len && a->data[i + 1] == '\n',
			    "%s: bare CR at %zu", name, i);
		else
			ck_assert_msg(++col <= 998, "%s: line over 998 at %zu",
			    name, i);
	}
}

/* The bytes of part 1, exactly as signed. */
static GByteArray *
part1(const struct signed_msg *m)
{
	char *open = xasprintf("--%s\r\n", m->boundary);
	char *close = xasprintf("\r\n--%s\r\n", m->boundary);
	const char *d = (const char *)m->body->data, *s, *e;
	GByteArray *a = g_byte_array_new();

	s = memmem(d, m->body->len, open, strlen(open));
	ck_assert_ptr_nonnull(s);
	s += strlen(open);
	e = memmem(s, m->body->len - (size_t)(s - d), close, strlen(close));
	ck_assert_ptr_nonnull(e);
	g_byte_array_append(a, (const guint8 *)s, (guint)(e - s));
	free(open);
	free(close);
	return a;
}

/* Writes a whole message around the signed body; returns its path. */
static char *
write_message(const char *name, const struct signed_msg *m)
{
	char *path = xasprintf("%s/%s.eml", pkidir, name);
	GString *ct = g_string_new(NULL);
	const char *p;
	FILE *fp;

	for (p = m->ct; *p != '\0'; p++)
		if (*p == '\n')
			g_string_append(ct, "\r\n");
		else
			g_string_append_c(ct, *p);
	ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
	fprintf(fp, "From: Alice <" ALICE ">\r\nTo: warga@example.org\r\n"
	    "Subject: test %s\r\nMIME-Version: 1.0\r\nContent-Type: %s\r\n\r\n",
	    name, ct->str);
	fwrite(m->body->data, 1, m->body->len, fp);
	fclose(fp);
	g_string_free(ct, TRUE);
	return path;
}

static int
openssl_verify(const char *path)
{
	char *cmd = xasprintf("openssl cms -verify -in %s -CAfile %s "
	    "-purpose smimesign -out /dev/null >%s.verify 2>&1", path,
	    P("trust.pem"), path);
	int r = system(cmd);

	free(cmd);
	return r;
}

struct walk {
	int visible, html, footers;
	const char *attach;
	GByteArray *attach_bytes;
	const char *name;
};

static bool
is_visible_text(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	const char *d = g_mime_object_get_disposition(o);

	return (g_mime_content_type_is_type(ct, "text", "plain") ||
	    g_mime_content_type_is_type(ct, "text", "html")) &&
	    (d == NULL || strcasecmp(d, "attachment") != 0) &&
	    g_mime_part_get_filename(GMIME_PART(o)) == NULL;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

static void
walk_leaf(GMimeObject *o, struct walk *w, bool top)
{
	GMimeStream *mem;
	char *text;
	bool html = g_mime_content_type_is_type(
	    g_mime_object_get_content_type(o), "text", "html");
	int n;

	if (GMIME_IS_TEXT_PART(o)) {
		text = g_mime_text_part_get_text(GMIME_TEXT_PART(o));
		n = html ? count(text, MARKER) : count(text, FOOTER);
		if (top && is_visible_text(o)) {
			ck_assert_msg(n == 1, "%s: footer %d times in a %s part",
			    w->name, n, html ? "html" : "plain");
			w->visible++;
			w->html += html;
			if (html) {
				ck_assert(strstr(text, "&lt;&amp;&gt;") != NULL);
				ck_assert(strstr(text, "&#10003;") != NULL);
				ck_assert_msg(strcasestr(text, "</body>") == NULL ||
				    strstr(text, MARKER) < strcasestr(text,
				    "</body>"), "footer after </body>");
			}
		} else
			ck_assert_msg(count(text, MARKER) == 0,
			    "%s: footer in an attachment", w->name);
		g_free(text);
	}
	if (w->attach != NULL && GMIME_IS_PART(o) &&
	    g_strcmp0(g_mime_part_get_filename(GMIME_PART(o)), w->attach) == 0) {
		mem = g_mime_stream_mem_new();
		g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(
		    GMIME_PART(o)), mem);
		w->attach_bytes = g_byte_array_new();
		g_byte_array_append(w->attach_bytes,
		    g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->data,
		    g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->len);
		g_object_unref(mem);
	}
}

static void
walk(GMimeObject *o, struct walk *w, bool top)
{
	GMimeMessage *msg;
	int i;

	if (GMIME_IS_MULTIPART(o)) {
		for (i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(o));
		    i++)
			walk(g_mime_multipart_get_part(GMIME_MULTIPART(o), i), w,
			    top);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (msg != NULL && msg->mime_part != NULL)
			walk(msg->mime_part, w, false);
	} else if (GMIME_IS_PART(o))
		walk_leaf(o, w, top);
}

static void
judge_content(const struct sign_case *c, const GByteArray *p1)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(
	    (const char *)p1->data, p1->len);
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeObject *top = g_mime_parser_construct_part(parser, NULL);
	struct walk w = { 0, 0, 0, c->attach, NULL, c->name };
	GByteArray *exp;

	ck_assert_ptr_nonnull(top);
	walk(top, &w, true);
	ck_assert_msg(w.visible == c->visible, "%s: %d visible text parts, "
	    "want %d", c->name, w.visible, c->visible);
	ck_assert_int_eq(w.html, c->html);
	if (c->attach != NULL) {
		ck_assert_msg(w.attach_bytes != NULL, "%s: %s missing", c->name,
		    c->attach);
		exp = expected_attachment(c);
		ck_assert_msg(exp->len == w.attach_bytes->len &&
		    memcmp(exp->data, w.attach_bytes->data, exp->len) == 0,
		    "%s: %s changed (%u vs %u bytes)", c->name, c->attach,
		    w.attach_bytes->len, exp->len);
		g_byte_array_unref(exp);
		g_byte_array_unref(w.attach_bytes);
	}
	g_object_unref(top);
	g_object_unref(parser);
	g_object_unref(s);
}

/* No line of part 1 starts with "From " or ends in white space. */
static void
judge_armour(const char *name, const GByteArray *p1)
{
	const char *d = (const char *)p1->data, *end = d + p1->len, *l, *nl;

	for (l = d; l < end; l = nl + 2) {
		nl = memmem(l, (size_t)(end - l), "\r\n", 2);
		if (nl == NULL)
			nl = end;
		ck_assert_msg(nl - l < 5 || strncmp(l, "From ", 5) != 0,
		    "%s: a line starts with From", name);
		ck_assert_msg(nl == l || (nl[-1] != ' ' && nl[-1] != '\t'),
		    "%s: trailing white space", name);
		if (nl == end)
			break;
	}
}

/* The entity's own header block names exactly one Content-Type. */
static void
judge_one_content_type(const char *name, const GByteArray *p1)
{
	const char *d = (const char *)p1->data, *end, *l;
	int n = 0;

	end = memmem(d, p1->len, "\r\n\r\n", 4);
	ck_assert_ptr_nonnull(end);
	for (l = d; l < end; l = strstr(l, "\r\n") + 2)
		n += g_ascii_strncasecmp(l, "content-type", 12) == 0;
	ck_assert_msg(n == 1, "%s: %d Content-Type fields in part 1", name, n);
}

/* segel's own verifier (verify.c) passes what segel signs. */
static void
judge_own_verifier(const struct sign_case *c, const struct signed_msg *m)
{
	struct msgbuf *body = msgbuf_new(1 << 20, NULL);
	struct verify_result res;
	GString *h = g_string_new("Content-Type: ");
	const char *p;

	for (p = m->ct; *p != '\0'; p++)
		if (*p == '\n')
			g_string_append(h, "\r\n");
		else
			g_string_append_c(h, *p);
	g_string_append(h, "\r\n");
	ck_assert_int_eq(msgbuf_append(body, m->body->data, m->body->len), 0);
	ck_assert_int_eq(smime_verify(pki, h->str, body, c->signer, time(NULL),
	    &res), 0);
	ck_assert_msg(res.result == AR_PASS, "%s: own verifier says %d (%s)",
	    c->name, res.result, res.comment ? res.comment : "");
	ck_assert_str_eq(res.identifier, c->signer);
	verify_result_free(&res);
	msgbuf_free(body);
	g_string_free(h, TRUE);
}

START_TEST(sign_table)
{
	const struct sign_case *c = &cases[_i];
	struct signed_msg m;
	GByteArray *p1;
	char *path;

	sign_case_run(c, &m);
	judge_transport_safe(c->name, m.body);
	ck_assert_msg(strncmp(m.ct, "multipart/signed; protocol=\"application/"
	    "pkcs7-signature\";\n\tmicalg=sha-256; boundary=\"", 73) == 0,
	    "content type: %s", m.ct);
	ck_assert(!c->spool || m.spooled);
	p1 = part1(&m);
	judge_content(c, p1);
	judge_armour(c->name, p1);
	judge_one_content_type(c->name, p1);
	path = write_message(c->name, &m);
	ck_assert_msg(openssl_verify(path) == 0, "%s: openssl cms -verify "
	    "failed, see %s.verify", c->name, path);
	judge_own_verifier(c, &m);
	free(path);
	g_byte_array_unref(p1);
	signed_msg_free(&m);
}
END_TEST

static char *
sign_plain(const char *name, const char *signer)
{
	struct sign_case c = cases[0];
	struct signed_msg m;
	char *path;

	c.name = name;
	c.signer = signer;
	sign_case_run(&c, &m);
	path = write_message(name, &m);
	signed_msg_free(&m);
	return path;
}

static char *
slurp(const char *path)
{
	struct sbuf b;
	char buf[4096];
	size_t n;
	FILE *fp = fopen(path, "r");

	ck_assert_msg(fp != NULL, "read %s", path);
	sbuf_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(&b, buf, n);
	fclose(fp);
	sbuf_adds(&b, "");
	return sbuf_steal(&b);
}

/* signingTime, signingCertificateV2, our SMIMECapabilities (AES only). */
START_TEST(cms_attributes)
{
	char *path = sign_plain("attrs", ALICE), *cmd, *out, *caps, *end;

	cmd = xasprintf("openssl cms -cmsout -print -in %s >%s.print 2>&1",
	    path, path);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("%s.print", path);
	out = slurp(cmd);
	free(cmd);
	ck_assert_msg(strstr(out, "signingTime") != NULL, "no signingTime");
	ck_assert(strstr(out, "messageDigest") != NULL);
	ck_assert_msg(strstr(out, "id-smime-aa-signingCertificateV2") != NULL,
	    "no signingCertificateV2");
	ck_assert_ptr_nonnull(caps = strstr(out, "S/MIME Capabilities"));
	ck_assert_ptr_nonnull(end = strstr(caps, "object:"));
	*end = '\0';	/* caps: this attribute only */
	ck_assert(strstr(caps, "aes-256-gcm") != NULL);
	ck_assert(strstr(caps, "aes-128-gcm") != NULL);
	ck_assert(strstr(caps, "aes-256-cbc") != NULL);
	ck_assert(strstr(caps, "aes-128-cbc") != NULL);
	ck_assert(strstr(caps, "aes-256-gcm") < strstr(caps, "aes-128-cbc"));
	ck_assert_msg(strcasestr(caps, "des") == NULL, "DES advertised");
	ck_assert_msg(strcasestr(caps, "rc2") == NULL, "RC2 advertised");
	ck_assert_msg(strstr(out, "algorithm: sha256 (") != NULL,
	    "digest is not SHA-256");
	ck_assert_msg(strstr(out, "eContent: <ABSENT>") != NULL,
	    "signature is not detached");
	free(out);
	free(path);
}
END_TEST

/*
 * A Date far from now (sigtime.h): no signingTime, the other attributes
 * kept, and the signature made again over them verifies in OpenSSL and
 * gpgsm, for an RSA and an EC signer.
 */
START_TEST(cms_without_signing_time)
{
	const char *names[] = { "notime_rsa", "notime_ec" };
	const char *signers[] = { ALICE, EC };
	char *path, *cmd, *out;

	sign_no_time = true;
	path = sign_plain(names[_i], signers[_i]);
	sign_no_time = false;
	cmd = xasprintf("openssl cms -cmsout -print -in %s >%s.print 2>&1",
	    path, path);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("%s.print", path);
	out = slurp(cmd);
	free(cmd);
	ck_assert_msg(strstr(out, "signingTime") == NULL, "signingTime kept");
	ck_assert(strstr(out, "messageDigest") != NULL);
	ck_assert(strstr(out, "contentType") != NULL);
	ck_assert(strstr(out, "id-smime-aa-signingCertificateV2") != NULL);
	ck_assert(strstr(out, "S/MIME Capabilities") != NULL);
	free(out);
	ck_assert_msg(openssl_verify(path) == 0, "%s: openssl cms -verify "
	    "failed", names[_i]);
	if (system("command -v gpgsm >/dev/null 2>&1") == 0) {
		cmd = xasprintf("%s/tests/interop/gpgsm-verify %s %s %s "
		    ">%s.gpgsm 2>&1", tl_srcdir(), path, P("trust.pem"),
		    P("chain.pem"), path);
		ck_assert_msg(system(cmd) == 0, "gpgsm rejected %s", path);
		free(cmd);
	} else
		fprintf(stderr, "SKIP: cms_without_signing_time gpgsm: "
		    "gpgsm not installed\n");
	free(path);
}
END_TEST

/* The intermediate is carried, the root is not, and neither twice. */
START_TEST(cms_certificates)
{
	char *path = sign_plain("certs", ALICE), *cmd, *out;

	cmd = xasprintf("openssl cms -cmsout -in %s -outform DER | openssl "
	    "pkcs7 -inform DER -print_certs -noout >%s.certs 2>&1", path,
	    path);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("%s.certs", path);
	out = slurp(cmd);
	free(cmd);
	ck_assert_int_eq(count(out, "subject="), 2);
	ck_assert_int_eq(count(out, "CN = Test BSrE Issuing CA\nissuer="), 1);
	ck_assert_int_eq(count(out, "CN = Alice Wulandari"), 1);
	ck_assert_msg(count(out, "CN = Test Root CA Indonesia\nissuer=") == 0,
	    "root carried: %s", out);
	free(out);
	free(path);
}
END_TEST

START_TEST(gpgsm_verifies)
{
	const char *names[] = { "gpgsm_rsa", "gpgsm_ec" };
	const char *signers[] = { ALICE, EC };
	char *path, *cmd;

	if (system("command -v gpgsm >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: gpgsm_verifies: gpgsm not installed\n");
		return;
	}
	path = sign_plain(names[_i], signers[_i]);
	cmd = xasprintf("%s/tests/interop/gpgsm-verify %s %s %s >%s.gpgsm "
	    "2>&1", tl_srcdir(), path, P("trust.pem"), P("chain.pem"), path);
	ck_assert_msg(system(cmd) == 0, "gpgsm rejected %s (see %s.gpgsm)",
	    path, path);
	free(cmd);
	free(path);
}
END_TEST

/* The judge can fail: one changed octet in part 1 breaks verification. */
START_TEST(tampered_fails)
{
	struct signed_msg m;
	char *path, *hit;

	sign_case_run(&cases[0], &m);
	hit = memmem(m.body->data, m.body->len, "Hello", 5);
	ck_assert_ptr_nonnull(hit);
	hit[0] = 'J';
	path = write_message("tampered", &m);
	ck_assert_msg(openssl_verify(path) != 0, "tampered message verified");
	free(path);
	signed_msg_free(&m);
}
END_TEST

/* A signed part inside the message is kept byte for byte. */
START_TEST(nested_signed_kept)
{
	static const char inner[] =
	    "Content-Type: multipart/signed; protocol=\"application/pkcs7-"
	    "signature\"; micalg=sha-256; boundary=\"S\"" CRLF CRLF
	    "--S" CRLF "Content-Type: text/plain" CRLF CRLF
	    "From inside   " CRLF "--S" CRLF
	    "Content-Type: application/pkcs7-signature" CRLF
	    "Content-Transfer-Encoding: base64" CRLF CRLF "AAAA" CRLF
	    "--S--" CRLF;
	struct sign_case c = cases[0];
	struct signed_msg m;
	char *body = xasprintf("--O" CRLF "Content-Type: text/plain" CRLF CRLF
	    "outer" CRLF "--O" CRLF "%s" CRLF "--O--" CRLF, inner);

	c.name = "nested_signed";
	c.headers = "Content-Type: multipart/mixed; boundary=\"O\"" CRLF;
	c.body = body;
	sign_case_run(&c, &m);
	ck_assert_msg(memmem(m.body->data, m.body->len, inner,
	    strlen(inner)) != NULL, "nested signed part changed");
	free(body);
	signed_msg_free(&m);
}
END_TEST

/* Without a footer nothing is added. */
START_TEST(no_footer)
{
	struct msgbuf *body = msgbuf_new(1 << 20, NULL), *out;
	struct sbuf err;

	sbuf_init(&err);
	msgbuf_append(body, "Hi" CRLF, 4);
	out = msgbuf_new(1 << 20, NULL);
	ck_assert_int_eq(mimeprep_entity("", body, "", out, &err), 0);
	ck_assert_str_eq(msgbuf_mem(out), "Content-Type: text/plain; "
	    "charset=us-ascii" CRLF "Content-Transfer-Encoding: "
	    "quoted-printable" CRLF CRLF "Hi" CRLF);
	msgbuf_free(out);
	msgbuf_free(body);
	sbuf_free(&err);
}
END_TEST

START_TEST(errors)
{
	struct cert_entry e;
	struct sign_req req;
	struct sign_out out;
	struct msgbuf *body = msgbuf_new(1024, NULL);
	struct sbuf err;

	memset(&e, 0, sizeof(e));
	memset(&req, 0, sizeof(req));
	sbuf_init(&err);
	req.content_headers = "";
	req.body = body;
	req.signer = &e;		/* broken: no key, no certificate */
	ck_assert_int_eq(smime_sign(&req, &out, &err), -1);
	ck_assert_ptr_null(out.body);
	ck_assert_ptr_null(out.content_type);
	ck_assert(err.len > 0);
	sign_out_free(NULL);
	msgbuf_free(body);
	sbuf_free(&err);
}
END_TEST

/* A key that does not belong to the certificate: OpenSSL's reason. */
START_TEST(key_mismatch)
{
	struct cert_entry *alice = load_signer(ALICE), *bob = load_signer(
	    "bob@tanjungpinangkota.go.id");
	struct msgbuf *body = msgbuf_new(1024, NULL);
	struct sign_req req;
	struct sign_out out;
	struct sbuf err;
	EVP_PKEY *k = alice->key;

	alice->key = bob->key;
	memset(&req, 0, sizeof(req));
	sbuf_init(&err);
	msgbuf_append(body, "Hi" CRLF, 4);
	req.content_headers = "";
	req.body = body;
	req.signer = alice;
	ck_assert_int_eq(smime_sign(&req, &out, &err), -1);
	ck_assert_ptr_null(out.body);
	ck_assert_msg(err.s != NULL && strstr(err.s, "CMS") != NULL &&
	    strstr(err.s, "private key does not match") != NULL, "err: %s",
	    err.s ? err.s : "");
	alice->key = k;
	signer_free(alice);
	signer_free(bob);
	msgbuf_free(body);
	sbuf_free(&err);
}
END_TEST

static const struct {
	const char *ct;
	bool protected;
} prot_cases[] = {
	{ "multipart/signed; protocol=\"application/pkcs7-signature\"", true },
	{ "Multipart/Signed", true },
	{ " multipart/encrypted; boundary=x", true },
	{ "application/pkcs7-mime; smime-type=enveloped-data", true },
	{ "application/x-pkcs7-mime;name=smime.p7m", true },
	{ "APPLICATION/PKCS7-MIME", true },
	{ "multipart/mixed; boundary=\"multipart/signed\"", false },
	{ "multipart/signedx", false },
	{ "text/plain", false },
	{ "application/pkcs7-signature", false },
	{ "", false },
	{ NULL, false },
};

START_TEST(protected_table)
{
	ck_assert_msg(smime_is_protected(prot_cases[_i].ct) ==
	    prot_cases[_i].protected, "%s", prot_cases[_i].ct ?
	    prot_cases[_i].ct : "(null)");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("core");
	int rc;

	if (mkdtemp(pkidir) == NULL ||
	    tl_gen_pki(pkidir, "staff/" ALICE ".key") != 0)
		return EXIT_FAILURE;
	g_mime_init();
	/* a GLib critical (e.g. g_convert on NULL) is a bug: abort the test */
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	if ((pki = tl_load_pki(pkidir, "crl")) == NULL) {
		fprintf(stderr, "test_sign: cannot load %s\n", P("trust.pem"));
		return 1;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, sign_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, cms_attributes);
	tcase_add_loop_test(tc, cms_without_signing_time, 0, 2);
	tcase_add_test(tc, cms_certificates);
	tcase_add_loop_test(tc, gpgsm_verifies, 0, 2);
	tcase_add_test(tc, tampered_fails);
	tcase_add_test(tc, nested_signed_kept);
	tcase_add_test(tc, no_footer);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, key_mismatch);
	tcase_add_loop_test(tc, protected_table, 0,
	    sizeof(prot_cases) / sizeof(prot_cases[0]));
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	pki_free(pki);
	g_mime_shutdown();
	tl_rmtree(pkidir);
	return rc;
}
