/*
 * test_osig.c - outbound mail its sender's client signed (issue 13 part 2,
 * milter/outbound_signed.c): messages signed and encrypted by openssl cms
 * with the test PKI, checked by osig_check() as the gateway does at end of
 * message. Table: who signed, which From, what must happen, and the words
 * the refusal must carry (English and Indonesian).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gmime/gmime.h>
#include <openssl/pem.h>

#include "certstore.h"
#include "outbound_signed.h"
#include "testlib.h"

#define D	"tanjungpinangkota.go.id"

static char pkidir[] = "/tmp/segel-test-osig-XXXXXX";
static struct pki *pki;

struct ocase {
	const char *name;
	const char *make;	/* shell: writes m.eml (lib.sh helpers) */
	const char *from;
	enum osig_verdict want;
	const char *en, *id;	/* in the reply text (OSIG_REFUSE) */
};

/* lib.sh for the cases: sign WHO [openssl args] > file */
static const char lib_sh[] =
    "sign() { u=$1; shift; printf 'Surat resmi.\\n' > in.txt; "
    "openssl cms -sign -in in.txt -text -md sha256 "
    "-signer $P/staff/$u@" D ".pem -inkey $P/staff/$u@" D ".key "
    "-certfile $P/chain.pem \"$@\"; }\n";

static const struct ocase cases[] = {
	{ "alice", "sign alice > m.eml", "alice@" D, OSIG_CHECKED, NULL, NULL },
	{ "bob_from_signed_by_alice", "sign alice > m.eml", "bob@" D,
	  OSIG_REFUSE, "signed by alice@" D ", not by bob@" D,
	  "ditandatangani oleh alice@" D },
	{ "carol_expired", "sign carol > m.eml", "carol@" D, OSIG_REFUSE,
	  "No usable certificate for carol@" D ": expired", "kedaluwarsa" },
	{ "dave_revoked_by_crl", "sign dave > m.eml", "dave@" D, OSIG_REFUSE,
	  ": revoked", "dicabut" },
	{ "mallory_untrusted", "sign mallory > m.eml", "mallory@" D,
	  OSIG_REFUSE, ": untrusted", "tidak tepercaya" },
	{ "frank_not_yet_valid", "sign frank > m.eml", "frank@" D, OSIG_REFUSE,
	  "not yet valid", "belum berlaku" },
	{ "tampered", "sign alice | sed 's/Surat resmi/Surat palsu/' > m.eml",
	  "alice@" D, OSIG_REFUSE, "does not match its content",
	  "tidak cocok dengan isinya" },
	{ "sha1", "sign alice -md sha1 > m.eml", "alice@" D, OSIG_REFUSE,
	  "weak digest SHA-1", "tidak dapat diterima" },
	{ "encrypted", "printf 'Rahasia.\\n' > in.txt; openssl cms -encrypt "
	  "-aes256 -in in.txt $P/partner/sari.pem > m.eml", "alice@" D,
	  OSIG_ENCRYPTED, NULL, NULL },
	{ "says_signed_but_is_not", "printf 'Content-Type: multipart/signed; "
	  "protocol=\"application/pkcs7-signature\"; boundary=B\\n\\n--B\\n"
	  "Content-Type: text/plain\\n\\nx\\n--B--\\n' > m.eml", "alice@" D,
	  OSIG_REFUSE, "signature", "Tanda tangan" },
	{ "no_from", "sign alice > m.eml", NULL, OSIG_REFUSE,
	  "exactly one From", "tepat satu" },
};

/* m.eml split into the header block (From first, CRLF) and the body. */
static void
load_msg(const char *dir, const char *from, struct msgctx *m)
{
	char *path = xasprintf("%s/m.eml", dir), *raw, *p, *sep;
	struct sbuf crlf;
	size_t n;

	ck_assert_ptr_nonnull(raw = tl_slurp(path, &n));
	sbuf_init(&crlf);
	for (p = raw; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			sbuf_add(&crlf, "\r", 1);
		sbuf_add(&crlf, p, 1);
	}
	ck_assert_ptr_nonnull(sep = strstr(crlf.s, "\r\n\r\n"));
	memset(m, 0, sizeof(*m));
	sbuf_init(&m->headers);
	if (from != NULL)
		sbuf_printf(&m->headers, "From: %s\r\n", from);
	sbuf_add(&m->headers, crlf.s, (size_t)(sep - crlf.s) + 2);
	m->body = msgbuf_new(1 << 20, NULL);
	ck_assert_int_eq(msgbuf_append(m->body, sep + 4,
	    strlen(sep + 4)), 0);
	sbuf_free(&crlf);
	free(raw);
	free(path);
}

static void
msg_free(struct msgctx *m)
{
	sbuf_free(&m->headers);
	msgbuf_free(m->body);
}

/* A runtime with the test PKI and a conf naming dir as the store. */
static void
rt_init(struct runtime *rt, struct conf *c, const char *cert_dir)
{
	memset(rt, 0, sizeof(*rt));
	memset(c, 0, sizeof(*c));
	c->authserv_id = "mail." D;
	c->cert_dir = (char *)cert_dir;
	rt->conf = c;
	rt->pki = pki;
}

START_TEST(table)
{
	const struct ocase *k = &cases[_i];
	char *dir = xasprintf("%s/case%02d", pkidir, _i);
	struct runtime rt;
	struct conf c;
	struct msgctx m;
	struct osig_result o;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tl_script(dir, pkidir, k->make);
	load_msg(dir, k->from, &m);
	rt_init(&rt, &c, dir);
	osig_check(&rt, &m, k->from, time(NULL), &o);
	ck_assert_msg(o.verdict == k->want, "%s: verdict %d (%s), reply %s",
	    k->name, o.verdict, o.reason ? o.reason : "",
	    o.verdict == OSIG_REFUSE ? o.reply.text : "-");
	if (k->want == OSIG_REFUSE) {
		ck_assert_str_eq(o.reply.rcode, "550");
		ck_assert_str_eq(o.reply.xcode, "5.7.1");
		ck_assert_msg(strstr(o.reply.text, k->en) != NULL &&
		    strstr(o.reply.text, k->id) != NULL &&
		    strstr(o.reply.text, " / ") != NULL, "%s: %s", k->name,
		    o.reply.text);
	}
	if (k->want == OSIG_CHECKED) {
		ck_assert_ptr_nonnull(o.serial);
		ck_assert_msg(o.unit != NULL && strstr(o.unit, "Komunikasi"),
		    "%s: unit %s", k->name, o.unit ? o.unit : "(null)");
		ck_assert_msg(o.authres != NULL && strstr(o.authres,
		    "smime=pass"), "%s: %s", k->name, o.authres);
	}
	osig_free(&o);
	msg_free(&m);
	free(dir);
}
END_TEST

/* Revoked in the store's revoked.list only (segelctl revoke; no CRL knows
 * it): refused; the same message without the list passes. */
START_TEST(store_revoked)
{
	char *dir = xasprintf("%s/store", pkidir), *hex, *iss, *line;
	struct runtime rt;
	struct conf c;
	struct msgctx m;
	struct osig_result o;
	FILE *fp;
	X509 *x;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tl_script(dir, pkidir, "sign alice > m.eml");
	load_msg(dir, "alice@" D, &m);
	rt_init(&rt, &c, dir);
	osig_check(&rt, &m, "alice@" D, time(NULL), &o);
	ck_assert_int_eq(o.verdict, OSIG_CHECKED);
	osig_free(&o);
	ck_assert_ptr_nonnull(fp = fopen(tl_path(pkidir, "staff/alice@" D
	    ".pem"), "r"));
	ck_assert_ptr_nonnull(x = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	hex = certstore_serial_hex(x);
	iss = certstore_name_rfc2253(X509_get_issuer_name(x));
	line = xasprintf("%s\t%s\talice@" D "\t2026-12-01T00:00:00Z\tkunci "
	    "hilang\n", hex, iss);
	tl_write(dir, "revoked.list", line);
	ck_assert_int_eq(chmod(tl_path(dir, "revoked.list"), 0600), 0);
	osig_check(&rt, &m, "alice@" D, time(NULL), &o);
	ck_assert_msg(o.verdict == OSIG_REFUSE && strstr(o.reply.text,
	    "revoked") && strstr(o.reply.text, "dicabut"), "verdict %d: %s",
	    o.verdict, o.reply.text);
	osig_free(&o);
	X509_free(x);
	free(hex);
	free(iss);
	free(line);
	msg_free(&m);
	free(dir);
}
END_TEST

/* Without trust anchors nothing can be checked: an internal error
 * (tempfail), never a pass. */
START_TEST(no_trust_is_error)
{
	char *dir = xasprintf("%s/notrust", pkidir);
	struct runtime rt;
	struct conf c;
	struct msgctx m;
	struct osig_result o;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tl_script(dir, pkidir, "sign alice > m.eml");
	load_msg(dir, "alice@" D, &m);
	rt_init(&rt, &c, dir);
	rt.pki = NULL;
	osig_check(&rt, &m, "alice@" D, time(NULL), &o);
	ck_assert_int_eq(o.verdict, OSIG_ERROR);
	osig_free(&o);
	msg_free(&m);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("osig");
	TCase *tc = tcase_create("core");
	int rc;

	if (mkdtemp(pkidir) == NULL ||
	    tl_gen_pki(pkidir, "staff/alice@" D ".key") != 0)
		return EXIT_FAILURE;
	g_mime_init();
	if ((pki = tl_load_pki(pkidir, "crl")) == NULL)
		return EXIT_FAILURE;
	tl_write(pkidir, "lib.sh", lib_sh);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, store_revoked);
	tcase_add_test(tc, no_trust_is_error);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	pki_free(pki);
	g_mime_shutdown();
	tl_rmtree(pkidir);
	return rc;
}
