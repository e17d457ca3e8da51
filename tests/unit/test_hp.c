/*
 * test_hp.c - RFC 9788 header protection (milter/hp.c): which fields are
 * copied and how, that the copies are inside the signed bytes (openssl cms
 * and gpgsm as judges; one changed octet of the inner Subject fails), and
 * the inbound rule: an outer From, To, Subject or Date that differs from its
 * protected copy lowers a pass to policy naming the field.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <openssl/pem.h>

#include "hp.h"
#include "smime_sign.h"
#include "testlib.h"
#include "verify.h"

#define ALICE	"alice@tanjungpinangkota.go.id"
#define CRLF	"\r\n"

static char pkidir[] = "/tmp/segel-test-hp-XXXXXX";
static struct pki *pki;

#define P(f)	tl_path(pkidir, "%s", f)

/* The outer header a submission has, before segel signs it. */
static const char outer_hdrs[] =
    "Received: from pc by mail" CRLF
    "From: Alice Wulandari <" ALICE ">" CRLF
    "To: warga@example.org," CRLF "\tkepala@example.org" CRLF
    "Subject: Perihal: Undangan rapat" CRLF
    "Date: Thu, 03 Dec 2026 10:00:00 +0700" CRLF
    "Message-ID: <hp-1@tanjungpinangkota.go.id>" CRLF
    "X-Mailer: test" CRLF
    "References: <a@x> <b@x>" CRLF;

static struct cert_entry *
load_signer(const char *addr)
{
	struct cert_entry *e = xcalloc(1, sizeof(*e));
	char *path;
	FILE *fp;
	X509 *x;

	path = tl_path(pkidir, "staff/%s.pem", addr);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(e->cert = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	path = tl_path(pkidir, "staff/%s.key", addr);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(e->key = PEM_read_PrivateKey(fp, NULL, NULL,
	    (void *)""));
	fclose(fp);
	e->chain = sk_X509_new_null();
	path = P("chain.pem");
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
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

/* A signed message: the outer header (hdrs plus MIME-Version and the new
 * Content-Type, CRLF) and the signed body. */
struct hp_msg {
	char *headers;
	char *body;
	size_t len;
};

static void
hp_msg_free(struct hp_msg *m)
{
	free(m->headers);
	free(m->body);
}

/* Signs a short text body with header protection of hdrs (or none). */
static void
sign_with(const char *hdrs, bool protect, struct hp_msg *m)
{
	struct cert_entry *e = load_signer(ALICE);
	struct msgbuf *body = msgbuf_new(1 << 20, NULL);
	struct sign_req req;
	struct sign_out out = { NULL, NULL };
	struct sbuf err, ct;
	char *prot = protect ? hp_collect(hdrs, NULL) : NULL;
	const char *p;
	ssize_t n;

	ck_assert_int_eq(msgbuf_append(body, "Yth. Bapak/Ibu," CRLF, 17), 0);
	memset(&req, 0, sizeof(req));
	req.content_headers = "Content-Type: text/plain; charset=utf-8" CRLF;
	req.body = body;
	req.footer = "";
	req.signer = e;
	req.memory_threshold = 1 << 20;
	req.protected_headers = prot;
	sbuf_init(&err);
	ck_assert_msg(smime_sign(&req, &out, &err) == 0, "%s", err.s);
	sbuf_init(&ct);
	for (p = out.content_type; *p != '\0'; p++)
		sbuf_adds(&ct, *p == '\n' ? CRLF : (char[2]){ *p, 0 });
	m->headers = xasprintf("%sMIME-Version: 1.0" CRLF "Content-Type: %s"
	    CRLF, hdrs, ct.s);
	m->len = msgbuf_len(out.body);
	m->body = xmalloc(m->len + 1);
	n = msgbuf_pread(out.body, m->body, m->len, 0);
	ck_assert_int_eq(n, (ssize_t)m->len);
	m->body[m->len] = '\0';
	sbuf_free(&ct);
	sbuf_free(&err);
	sign_out_free(&out);
	msgbuf_free(body);
	free(prot);
	signer_free(e);
}

/* tl_path: static buffers; a name the test keeps is copied. */
static char *
write_msg(const char *name, const struct hp_msg *m)
{
	const char *path = tl_path(pkidir, "%s.eml", name);
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
	fprintf(fp, "%s" CRLF, m->headers);
	fwrite(m->body, 1, m->len, fp);
	fclose(fp);
	return xstrdup(path);
}

static int
openssl_verify(const char *path)
{
	char *ca = P("trust.pem");
	char *cmd = xasprintf("openssl cms -verify -in %s -CAfile %s "
	    "-purpose smimesign -out /dev/null >%s.verify 2>&1", path, ca, path);
	int r = system(cmd);

	free(cmd);
	return r;
}

/* The header block of part 1 (between the first delimiter and the empty
 * line), as a string. */
static char *
part1_header(const struct hp_msg *m)
{
	const char *s = strstr(m->body, "--=_"), *h, *e;

	ck_assert_ptr_nonnull(s);
	h = strstr(s, CRLF) + 2;
	ck_assert_ptr_nonnull(e = strstr(h, CRLF CRLF));
	return xstrndup(h, (size_t)(e - h + 2));
}

/* ---- hp_collect ------------------------------------------------------ */

START_TEST(collect_fields)
{
	char *c = hp_collect(outer_hdrs, NULL), *d;

	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c,
	    "From: Alice Wulandari <" ALICE ">" CRLF
	    "To: warga@example.org," CRLF "\tkepala@example.org" CRLF
	    "Subject: Perihal: Undangan rapat" CRLF
	    "Date: Thu, 03 Dec 2026 10:00:00 +0700" CRLF
	    "Message-ID: <hp-1@tanjungpinangkota.go.id>" CRLF
	    "References: <a@x> <b@x>" CRLF);
	d = hp_collect("X-A: 1" CRLF "Received: x" CRLF, "Thu, 03 Dec 2026 "
	    "17:05:09 +0700");
	ck_assert_str_eq(d, "Date: Thu, 03 Dec 2026 17:05:09 +0700" CRLF);
	ck_assert_ptr_null(hp_collect("X-A: 1" CRLF, NULL));
	ck_assert_ptr_null(hp_collect("", NULL));
	free(c);
	free(d);
}
END_TEST

/* ---- signing ---------------------------------------------------------- */

/* Part 1 carries the copies, in order, folding kept, and hp="clear". */
START_TEST(sign_part1_header)
{
	struct hp_msg m;
	char *h;

	sign_with(outer_hdrs, true, &m);
	h = part1_header(&m);
	ck_assert_msg(strstr(h, "hp=\"clear\"") != NULL, "%s", h);
	ck_assert_msg(strncmp(h, "Content-Type: text/plain", 24) == 0, "%s", h);
	ck_assert_msg(strstr(h, "From: Alice Wulandari <" ALICE ">" CRLF
	    "To: warga@example.org," CRLF "\tkepala@example.org" CRLF
	    "Subject: Perihal: Undangan rapat" CRLF
	    "Date: Thu, 03 Dec 2026 10:00:00 +0700" CRLF
	    "Message-ID: <hp-1@tanjungpinangkota.go.id>" CRLF
	    "References: <a@x> <b@x>" CRLF) != NULL, "%s", h);
	ck_assert_msg(strstr(h, "X-Mailer") == NULL, "%s", h);
	ck_assert_msg(strstr(h, "Received") == NULL, "%s", h);
	free(h);
	hp_msg_free(&m);
}
END_TEST

/* Off: no copies, no hp. */
START_TEST(sign_off)
{
	struct hp_msg m;
	char *h;

	sign_with(outer_hdrs, false, &m);
	h = part1_header(&m);
	ck_assert_msg(strstr(h, "hp=") == NULL && strstr(h, "Subject") == NULL,
	    "%s", h);
	free(h);
	hp_msg_free(&m);
}
END_TEST

/* A raw UTF-8 Subject is written as an encoded-word: part 1 stays 7-bit. */
START_TEST(sign_8bit_subject)
{
	struct hp_msg m;
	char *h;
	size_t i;

	sign_with("From: " ALICE CRLF "Subject: Rapat \xc3\xa9valuasi" CRLF,
	    true, &m);
	h = part1_header(&m);
	ck_assert_msg(strcasestr(h, "Subject: Rapat =?utf-8?") != NULL, "%s", h);
	for (i = 0; i < m.len; i++)
		ck_assert_msg((unsigned char)m.body[i] < 0x80, "8-bit at %zu", i);
	free(h);
	hp_msg_free(&m);
}
END_TEST

/* A continuation line of white space only, and a line too long to keep:
 * written again (unfolded, refolded), so no line of part 1's header is
 * blank before its end and none passes 998 octets. */
START_TEST(sign_odd_folding)
{
	struct hp_msg m;
	char *h, *long_subj = xmalloc(1201), *hdrs;
	const char *p, *eol;

	memset(long_subj, 'a', 1200);
	long_subj[1200] = '\0';
	hdrs = xasprintf("From: " ALICE CRLF "To: a@example.org," CRLF " " CRLF
	    "\tb@example.org" CRLF "Subject: %s" CRLF, long_subj);
	sign_with(hdrs, true, &m);
	h = part1_header(&m);
	for (p = h; *p != '\0'; p = eol + 2) {
		ck_assert_ptr_nonnull(eol = strstr(p, CRLF));
		ck_assert_msg(p[strspn(p, " \t")] != '\r', "blank header line "
		    "in: %s", h);
		ck_assert_msg(eol - p <= 998, "line of %zu octets", (size_t)(eol - p));
	}
	ck_assert_msg(strstr(h, "b@example.org") != NULL, "%s", h);
	ck_assert_msg(strstr(h, "aaaaaaaaaa") != NULL, "%s", h);
	free(h);
	free(hdrs);
	free(long_subj);
	hp_msg_free(&m);
}
END_TEST

/* openssl cms and gpgsm accept it; one octet of the inner Subject changed
 * and both openssl and segel's own verification fail. */
START_TEST(sign_judges)
{
	struct hp_msg m;
	struct msgbuf *b;
	struct verify_result r;
	char *path, *cmd, *hit, *ca = P("trust.pem"), *chain = P("chain.pem");

	sign_with(outer_hdrs, true, &m);
	path = write_msg("hp_ok", &m);
	ck_assert_msg(openssl_verify(path) == 0, "openssl rejected %s", path);
	if (system("command -v gpgsm >/dev/null 2>&1") == 0) {
		cmd = xasprintf("%s/tests/interop/gpgsm-verify %s %s %s "
		    ">%s.gpgsm 2>&1", tl_srcdir(), path, ca, chain, path);
		ck_assert_msg(system(cmd) == 0, "gpgsm rejected %s", path);
		free(cmd);
	} else
		fprintf(stderr, "SKIP: sign_judges gpgsm: not installed\n");
	free(path);
	hit = strstr(m.body, "Subject: Perihal: Undangan");
	ck_assert_ptr_nonnull(hit);
	hit[9] = 'p';		/* "Perihal" -> "perihal" */
	path = write_msg("hp_tampered", &m);
	ck_assert_msg(openssl_verify(path) != 0, "tampered inner Subject "
	    "verified");
	b = msgbuf_new(1 << 20, NULL);
	ck_assert_int_eq(msgbuf_append(b, m.body, m.len), 0);
	ck_assert_int_eq(smime_verify(pki, m.headers, b, ALICE, time(NULL),
	    &r), 0);
	ck_assert_int_eq(r.result, AR_FAIL);
	verify_result_free(&r);
	msgbuf_free(b);
	free(path);
	hp_msg_free(&m);
}
END_TEST

/* ---- receiving -------------------------------------------------------- */

struct in_case {
	const char *name;
	const char *from, *to;	/* text replacing the first, or NULL */
	enum ar_result want;
	const char *word;	/* in the comment */
};

static const struct in_case in_cases[] = {
	{ "unchanged", NULL, NULL, AR_PASS, NULL },
	{ "subject_changed", "Subject: Perihal: Undangan rapat",
	  "Subject: Perihal: Pembatalan rapat", AR_POLICY, "Subject" },
	{ "list_tag", "Subject: Perihal:", "Subject: [warga] Perihal:",
	  AR_POLICY, "Subject" },
	{ "date_changed", "Date: Thu, 03 Dec 2026 10:00:00",
	  "Date: Fri, 04 Dec 2026 10:00:00", AR_POLICY, "Date" },
	{ "date_same_instant", "Date: Thu, 03 Dec 2026 10:00:00 +0700",
	  "Date: Thu, 03 Dec 2026 03:00:00 +0000", AR_PASS, NULL },
	{ "to_changed", "\tkepala@example.org", "\tlain@example.org",
	  AR_POLICY, "To" },
	{ "to_refolded", "To: warga@example.org,\r\n\tkepala",
	  "To: warga@example.org, kepala", AR_PASS, NULL },
	{ "from_name_changed", "From: Alice Wulandari", "From: Walikota",
	  AR_POLICY, "From" },
	{ "subject_removed", "Subject: Perihal: Undangan rapat\r\n", "",
	  AR_POLICY, "Subject" },
	{ "two_fields", "Subject: Perihal: Undangan",
	  "Subject: Perihal: Undangan rapat\r\nDate: Thu, 03 Dec 2026 "
	  "10:00:00 +0700\r\nSubject: Perihal: Undangan", AR_POLICY, "Subject" },
};

START_TEST(inbound)
{
	const struct in_case *c = &in_cases[_i];
	struct hp_msg m;
	struct msgbuf *b;
	struct verify_result r;
	char *h, *at;

	sign_with(outer_hdrs, true, &m);
	if (c->from != NULL) {
		ck_assert_ptr_nonnull(at = strstr(m.headers, c->from));
		h = xasprintf("%.*s%s%s", (int)(at - m.headers), m.headers,
		    c->to, at + strlen(c->from));
		free(m.headers);
		m.headers = h;
	}
	b = msgbuf_new(1 << 20, NULL);
	ck_assert_int_eq(msgbuf_append(b, m.body, m.len), 0);
	ck_assert_int_eq(smime_verify(pki, m.headers, b, ALICE, time(NULL),
	    &r), 0);
	ck_assert_msg(r.result == c->want, "%s: result %d (%s)", c->name,
	    r.result, r.comment ? r.comment : "");
	if (c->word != NULL)
		ck_assert_msg(r.comment != NULL && strstr(r.comment, c->word) &&
		    strstr(r.comment, "RFC 9788"), "%s: %s", c->name, r.comment);
	ck_assert_msg(r.hp_subject != NULL && strcmp(r.hp_subject,
	    "Perihal: Undangan rapat") == 0, "%s: protected Subject %s",
	    c->name, r.hp_subject ? r.hp_subject : "(null)");
	verify_result_free(&r);
	msgbuf_free(b);
	hp_msg_free(&m);
}
END_TEST

/* Without hp the outer fields are not compared (legacy signed mail). */
START_TEST(inbound_no_hp)
{
	struct hp_msg m;
	struct msgbuf *b;
	struct verify_result r;
	char *at;

	sign_with(outer_hdrs, false, &m);
	ck_assert_ptr_nonnull(at = strstr(m.headers, "Undangan"));
	memcpy(at, "Undingan", 8);
	b = msgbuf_new(1 << 20, NULL);
	ck_assert_int_eq(msgbuf_append(b, m.body, m.len), 0);
	ck_assert_int_eq(smime_verify(pki, m.headers, b, ALICE, time(NULL),
	    &r), 0);
	ck_assert_int_eq(r.result, AR_PASS);
	ck_assert_ptr_null(r.hp_subject);
	verify_result_free(&r);
	msgbuf_free(b);
	hp_msg_free(&m);
}
END_TEST

/*
 * Opaque signed-data (application/pkcs7-mime) whose content has hp="clear":
 * the same comparison. subject: the outer Subject; want the result.
 */
static void
opaque_case(const char *subject, enum ar_result want)
{
	char *cmd, *raw, *sep, *hdrs;
	const char *dir = tl_path(pkidir, "%s", "");
	struct msgbuf *b;
	struct verify_result r;
	size_t n;

	tl_write(pkidir, "op.txt", "Content-Type: text/plain; charset=us-ascii; "
	    "hp=\"clear\"\r\nFrom: " ALICE "\r\nTo: warga@example.org\r\n"
	    "Subject: Perihal: Undangan rapat\r\n\r\nHalo.\r\n");
	cmd = xasprintf("cd %s && openssl cms -sign -nodetach -binary -in op.txt "
	    "-signer staff/" ALICE ".pem -inkey staff/" ALICE ".key -certfile "
	    "chain.pem -out op.eml", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	ck_assert_ptr_nonnull(raw = tl_slurp(tl_path(pkidir, "op.eml"), &n));
	ck_assert_ptr_nonnull(sep = strstr(raw, "\n\n"));
	*sep = '\0';
	hdrs = xasprintf("From: " ALICE "\r\nTo: warga@example.org\r\n"
	    "Subject: %s\r\n%s\r\n", subject, raw);
	b = msgbuf_new(1 << 20, NULL);
	ck_assert_int_eq(msgbuf_append(b, sep + 2, strlen(sep + 2)), 0);
	ck_assert_int_eq(smime_verify(pki, hdrs, b, ALICE, time(NULL), &r), 0);
	ck_assert_msg(r.result == want, "opaque, Subject %s: %d (%s)", subject,
	    r.result, r.comment ? r.comment : "");
	if (want == AR_POLICY)
		ck_assert_msg(strstr(r.comment, "Subject") != NULL, "%s",
		    r.comment);
	verify_result_free(&r);
	msgbuf_free(b);
	free(hdrs);
	free(raw);
}

START_TEST(inbound_opaque)
{
	opaque_case("Perihal: Undangan rapat", AR_PASS);
	opaque_case("Perihal: Pembatalan rapat", AR_POLICY);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hp");
	TCase *tc = tcase_create("core");
	int rc;

	if (mkdtemp(pkidir) == NULL ||
	    tl_gen_pki(pkidir, "staff/" ALICE ".key") != 0)
		return EXIT_FAILURE;
	g_mime_init();
	pki = tl_load_pki(pkidir, "crl");
	if (pki == NULL)
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, collect_fields);
	tcase_add_test(tc, sign_part1_header);
	tcase_add_test(tc, sign_off);
	tcase_add_test(tc, sign_8bit_subject);
	tcase_add_test(tc, sign_odd_folding);
	tcase_add_test(tc, sign_judges);
	tcase_add_loop_test(tc, inbound, 0,
	    sizeof(in_cases) / sizeof(in_cases[0]));
	tcase_add_test(tc, inbound_no_hp);
	tcase_add_test(tc, inbound_opaque);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	pki_free(pki);
	g_mime_shutdown();
	tl_rmtree(pkidir);
	return rc;
}
