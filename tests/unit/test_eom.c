/*
 * test_eom.c - the end-of-message decision as a table (issue 16): each row
 * a message shape (From, Sender and Resent-* fields, signed or not), the
 * session and a configuration; gateway_eom() runs on a runtime holding the
 * test PKI's certificate store, trust store and an audit log, and the row
 * says the verdict, the header edits, what the log says (role, action,
 * smime result, from=) and what the TLS rule would refuse on.
 *
 * Signed rows carry a real signature: openssl cms signs with alice's key in
 * the test PKI, once, at start. Every rule reads the message's From facts
 * (addr.h): the row's "shown" is what the log and the audit record name,
 * "ours" the address the TLS rule and unsigned own-domain mail go by.
 */
#include <check.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "msgctx.h"
#include "runtime.h"
#include "sigtime.h"
#include "testlib.h"
#include "util.h"
#include "verify.h"

#define D "tanjungpinangkota.go.id"
#define ALICE "alice@" D
#define BOB "bob@" D
#define OUT "rudi@example.org"

static char tmpdir[] = "/tmp/segel-test-eom.XXXXXX";
static char *pkidir;
static struct tl_store ts;
static struct runtime rt;
static char *signed_ct;		/* Content-Type of alice's signed entity */
static char *signed_body;	/* its body, CRLF */

enum body { PLAIN, SIGNED };

/* The session and the message of a row, and what must come of it. */
struct eom_case {
	const char *name;
	const char *login;	/* {auth_authen}, NULL: none */
	bool trusted;		/* sign.trusted_hosts */
	bool local;		/* the sendmail command */
	bool rcpt_ours;		/* a recipient in the domain */
	enum unsigned_own uo;	/* verify.unsigned_own_domain */
	const char *hdrs;	/* the row's fields, "Name: value\n" each */
	enum body body;
	enum verdict verdict;
	const char *rcode;	/* reply code when refused */
	const char *role;	/* the log's role= */
	const char *action;	/* the log's action= (a prefix of it) */
	const char *result;	/* the log's smime=, NULL: none */
	const char *edits;	/* header edits: -deleted ~changed +added ^top */
	const char *shown;	/* the log's and the audit record's sender */
	const char *ours;	/* what the TLS rule goes by, NULL: none */
};

#define TAG UNSIGNED_OWN_TAG
#define REJ UNSIGNED_OWN_REJECT
#define NONE UNSIGNED_OWN_NONE
#define GO V_CONTINUE
#define NO V_REJECT
#define SIGN_EDITS "-Content-Type +Content-Type"
#define SIGN_EDITS_IN SIGN_EDITS " ^Authentication-Results"
#define UNSIGNED_TAGGED "^Authentication-Results ~Subject"

static const struct eom_case cases[] = {
	/* --- one From: the plain shapes every rule agrees on */
	{ "out: alice signs", ALICE, false, false, false, TAG,
	  "From: Alice <" ALICE ">\n", PLAIN, GO, NULL, "outbound", "signed",
	  NULL, SIGN_EDITS, ALICE, ALICE },
	{ "out: alice to a colleague: internal, pass", ALICE, false, false,
	  true, TAG, "From: " ALICE "\n", PLAIN, GO, NULL, "internal",
	  "signed", "pass", SIGN_EDITS_IN, ALICE, ALICE },
	{ "out: bob as alice", BOB, false, false, false, TAG,
	  "From: " ALICE "\n", PLAIN, NO, "550", "outbound",
	  "refused: login may not send as From", NULL, "", ALICE, ALICE },
	{ "out: alice, no certificate of hers in another domain", ALICE,
	  false, false, false, TAG, "From: " OUT "\n", PLAIN, GO, NULL,
	  "inbound", "passed (unsigned)", NULL, "", OUT, NULL },
	{ "in: unsigned from outside", NULL, false, false, true, REJ,
	  "From: " OUT "\n", PLAIN, GO, NULL, "inbound", "passed (unsigned)",
	  NULL, "", OUT, NULL },
	{ "in: unsigned as alice, tag", NULL, false, false, true, TAG,
	  "From: " ALICE "\n", PLAIN, GO, NULL, "inbound", "verified", "none",
	  UNSIGNED_TAGGED, ALICE, ALICE },
	{ "in: unsigned as alice, reject", NULL, false, false, true, REJ,
	  "From: " ALICE "\n", PLAIN, NO, "550", "inbound",
	  "refused: unsigned mail from own domain", "none", "", ALICE, ALICE },
	{ "in: unsigned as alice, none", NULL, false, false, true, NONE,
	  "From: " ALICE "\n", PLAIN, GO, NULL, "inbound", "passed (unsigned)",
	  NULL, "", ALICE, ALICE },
	{ "in: unsigned as alice by the sendmail command", NULL, false, true,
	  true, REJ, "From: " ALICE "\n", PLAIN, GO, NULL, "inbound",
	  "passed (unsigned)", NULL, "", ALICE, ALICE },
	{ "in: signed by alice, From alice", NULL, false, false, true, REJ,
	  "From: Alice <" ALICE ">\n", SIGNED, GO, NULL, "inbound", "verified",
	  "pass", "^Authentication-Results", ALICE, ALICE },
	{ "in: signed by alice, From bob", NULL, false, false, true, REJ,
	  "From: " BOB "\n", SIGNED, GO, NULL, "inbound", "verified", "policy",
	  "^Authentication-Results", BOB, BOB },
	{ "in: signed by alice, display name shows bob", NULL, false, false,
	  true, REJ, "From: \"" BOB "\" <" ALICE ">\n", SIGNED, GO, NULL,
	  "inbound", "verified", "policy", "^Authentication-Results", ALICE,
	  ALICE },

	/* --- several From fields: never signed, never bound to a signer,
	 * and any of them claims the domain */
	{ "out: alice, From twice", ALICE, false, false, false, TAG,
	  "From: " ALICE "\nFrom: " ALICE "\n", PLAIN, NO, "550", "outbound",
	  "refused: not exactly one From address", NULL, "", ALICE, ALICE },
	{ "out: alice, From alice then bob", ALICE, false, false, false, TAG,
	  "From: " ALICE "\nFrom: " BOB "\n", PLAIN, NO, "550", "outbound",
	  "refused: not exactly one From address", NULL, "", ALICE, ALICE },
	{ "out: alice, From outside then alice", ALICE, false, false, false,
	  TAG, "From: " OUT "\nFrom: " ALICE "\n", PLAIN, NO, "550", "outbound",
	  "refused: not exactly one From address", NULL, "", ALICE, ALICE },
	{ "out: alice, one field, two mailboxes", ALICE, false, false, false,
	  TAG, "From: " ALICE ", " BOB "\n", PLAIN, NO, "550", "outbound",
	  "refused: not exactly one From address", NULL, "", ALICE, ALICE },
	{ "out: trusted host, From twice: not signed, tagged as unsigned",
	  NULL, true, false, false, TAG, "From: app@" D "\nFrom: app@" D "\n",
	  PLAIN, GO, NULL, "inbound", "verified", "none", UNSIGNED_TAGGED,
	  "app@" D, "app@" D },
	/* the bug of issue 16: the second From was not looked at */
	{ "in: unsigned, From outside then alice, reject", NULL, false, false,
	  true, REJ, "From: " OUT "\nFrom: " ALICE "\n", PLAIN, NO, "550",
	  "inbound", "refused: unsigned mail from own domain", "none", "",
	  ALICE, ALICE },
	{ "in: unsigned, From outside then alice, tag", NULL, false, false,
	  true, TAG, "From: " OUT "\nFrom: " ALICE "\n", PLAIN, GO, NULL,
	  "inbound", "verified", "none", UNSIGNED_TAGGED, ALICE, ALICE },
	{ "in: unsigned, From outside then alice, none", NULL, false, false,
	  true, NONE, "From: " OUT "\nFrom: " ALICE "\n", PLAIN, GO, NULL,
	  "inbound", "passed (unsigned)", NULL, "", ALICE, ALICE },
	{ "in: unsigned, From alice then outside, reject", NULL, false, false,
	  true, REJ, "From: " ALICE "\nFrom: " OUT "\n", PLAIN, NO, "550",
	  "inbound", "refused: unsigned mail from own domain", "none", "",
	  ALICE, ALICE },
	{ "in: unsigned, alice only in the second's display name", NULL,
	  false, false, true, REJ, "From: " OUT "\nFrom: \"" ALICE "\" <x@"
	  "example.org>\n", PLAIN, NO, "550", "inbound",
	  "refused: unsigned mail from own domain", "none", "", ALICE, ALICE },
	{ "in: unsigned, From twice outside", NULL, false, false, true, REJ,
	  "From: " OUT "\nFrom: x@example.org\n", PLAIN, GO, NULL, "inbound",
	  "passed (unsigned)", NULL, "", NULL, NULL },
	{ "in: signed by alice, From alice twice", NULL, false, false, true,
	  REJ, "From: " ALICE "\nFrom: " ALICE "\n", SIGNED, GO, NULL,
	  "inbound", "verified", "policy", "^Authentication-Results", ALICE,
	  ALICE },
	{ "in: signed by alice, From alice then outside", NULL, false, false,
	  true, REJ, "From: " ALICE "\nFrom: " OUT "\n", SIGNED, GO, NULL,
	  "inbound", "verified", "policy", "^Authentication-Results", ALICE,
	  ALICE },
	{ "in: signed by alice, From outside then alice", NULL, false, false,
	  true, REJ, "From: " OUT "\nFrom: " ALICE "\n", SIGNED, GO, NULL,
	  "inbound", "verified", "policy", "^Authentication-Results", ALICE,
	  ALICE },
	{ "in: no From at all", NULL, false, false, true, REJ,
	  "", PLAIN, GO, NULL, "inbound", "passed (unsigned)", NULL, "",
	  NULL, NULL },
	{ "out: alice, no From at all", ALICE, false, false, false, TAG,
	  "", PLAIN, NO, "550", "outbound",
	  "refused: not exactly one From address", NULL, "", NULL, NULL },
	{ "in: From a group", NULL, false, false, true, REJ,
	  "From: undisclosed-recipients:;\n", PLAIN, GO, NULL, "inbound",
	  "passed (unsigned)", NULL, "", NULL, NULL },

	/* --- Sender: a reader may show it ("on behalf of"), but signing
	 * and the signer's binding are the From address's alone */
	{ "out: alice, Sender bob", ALICE, false, false, false, TAG,
	  "From: " ALICE "\nSender: " BOB "\n", PLAIN, GO, NULL, "outbound",
	  "signed", NULL, SIGN_EDITS, ALICE, ALICE },
	{ "out: bob, From alice, Sender bob", BOB, false, false, false, TAG,
	  "From: " ALICE "\nSender: " BOB "\n", PLAIN, NO, "550", "outbound",
	  "refused: login may not send as From", NULL, "", ALICE, ALICE },
	{ "out: alice, From bob, Sender alice", ALICE, false, false, false,
	  TAG, "Sender: " ALICE "\nFrom: " BOB "\n", PLAIN, NO, "550",
	  "outbound", "refused: login may not send as From", NULL, "", BOB,
	  BOB },
	{ "in: signed by alice, From outside, Sender alice", NULL, false,
	  false, true, REJ, "From: " OUT "\nSender: " ALICE "\n", SIGNED, GO,
	  NULL, "inbound", "verified", "policy", "^Authentication-Results",
	  OUT, NULL },
	{ "in: signed by alice, From alice, Sender outside", NULL, false,
	  false, true, REJ, "From: " ALICE "\nSender: " OUT "\n", SIGNED, GO,
	  NULL, "inbound", "verified", "pass", "^Authentication-Results",
	  ALICE, ALICE },
	{ "in: unsigned, From outside, Sender alice", NULL, false, false,
	  true, REJ, "From: " OUT "\nSender: " ALICE "\n", PLAIN, GO, NULL,
	  "inbound", "passed (unsigned)", NULL, "", OUT, NULL },
	{ "in: unsigned, From alice, Sender outside, tag", NULL, false, false,
	  true, TAG, "From: " ALICE "\nSender: " OUT "\n", PLAIN, GO, NULL,
	  "inbound", "verified", "none", UNSIGNED_TAGGED, ALICE, ALICE },

	/* --- Resent-*: a resend is still the From address's message */
	{ "out: alice resends bob's", ALICE, false, false, false, TAG,
	  "Resent-From: " ALICE "\nResent-Sender: " ALICE "\nFrom: " BOB "\n",
	  PLAIN, NO, "550", "outbound", "refused: login may not send as From",
	  NULL, "", BOB, BOB },
	{ "out: alice, Resent-From bob", ALICE, false, false, false, TAG,
	  "Resent-From: " BOB "\nFrom: " ALICE "\n", PLAIN, GO, NULL,
	  "outbound", "signed", NULL, SIGN_EDITS, ALICE, ALICE },
	{ "out: alice, From twice, Resent-From alice", ALICE, false, false,
	  false, TAG, "Resent-From: " ALICE "\nFrom: " ALICE "\nFrom: " BOB
	  "\n", PLAIN, NO, "550", "outbound",
	  "refused: not exactly one From address", NULL, "", ALICE, ALICE },
	{ "in: signed by alice, From alice, Resent-From outside", NULL, false,
	  false, true, REJ, "Resent-From: " OUT "\nResent-Date: x\nFrom: "
	  ALICE "\n", SIGNED, GO, NULL, "inbound", "verified", "pass",
	  "^Authentication-Results", ALICE, ALICE },
	{ "in: signed by alice, From outside, Resent-From alice", NULL, false,
	  false, true, REJ, "Resent-From: " ALICE "\nFrom: " OUT "\n", SIGNED,
	  GO, NULL, "inbound", "verified", "policy", "^Authentication-Results",
	  OUT, NULL },
	{ "in: unsigned, From outside, Resent-From alice", NULL, false, false,
	  true, REJ, "Resent-From: " ALICE "\nFrom: " OUT "\n", PLAIN, GO,
	  NULL, "inbound", "passed (unsigned)", NULL, "", OUT, NULL },

	/* --- results of ours that arrive with the mail go, whatever else */
	{ "in: forged pass on an unsigned alice", NULL, false, false, true,
	  TAG, "Authentication-Results: mail." D "; smime=pass\nSubject: "
	  "[TIDAK BERTANDA TANGAN] x\nFrom: " ALICE "\n", PLAIN, GO, NULL,
	  "inbound", "verified", "none",
	  "-Authentication-Results ^Authentication-Results", ALICE, ALICE },
	{ "out: forged pass on alice's", ALICE, false, false, false, TAG,
	  "Authentication-Results: mail." D "; smime=pass\nFrom: " ALICE "\n",
	  PLAIN, GO, NULL, "outbound", "signed", NULL,
	  "-Authentication-Results " SIGN_EDITS, ALICE, ALICE },
};

/* The edits of p as "-Name ~Name +Name ^Name" (see struct eom_case). */
static char *
edits_summary(const struct plan *p)
{
	struct sbuf b;
	const struct edit *e;
	size_t i;

	sbuf_init(&b);
	sbuf_adds(&b, "");
	for (i = 0; i < p->n_edits; i++) {
		e = &p->edits[i];
		sbuf_printf(&b, "%s%c%s", i > 0 ? " " : "",
		    e->op == EDIT_ADD ? '+' : e->op == EDIT_INSERT_TOP ? '^' :
		    e->value == NULL ? '-' : '~', e->name);
	}
	return sbuf_steal(&b);
}

/* Feeds "Name: value\n" lines to m as libmilter would. */
static void
feed_headers(struct msgctx *m, const char *lines)
{
	const char *p, *nl, *colon;
	char *name, *value;

	for (p = lines; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		colon = strchr(p, ':');
		ck_assert(nl != NULL && colon != NULL && colon < nl);
		name = xstrndup(p, (size_t)(colon - p));
		value = xstrndup(colon + 2, (size_t)(nl - colon - 2));
		msgctx_header(m, rt.conf, name, value, rt.conf->authserv_id);
		free(name);
		free(value);
	}
}

/* The row's message: its fields, then a Date of now, Subject, Message-ID,
 * MIME-Version and the body's Content-Type, then the body. */
static struct msgctx *
build(const struct eom_case *t)
{
	struct msgctx *m = msgctx_new(rt.conf);
	char *date = sigtime_format(time(NULL));
	const char *plain = "Halo Bapak/Ibu,\r\nIni surat resmi.\r\n";
	const char *body = t->body == SIGNED ? signed_body : plain;

	feed_headers(m, t->hdrs);
	msgctx_header(m, rt.conf, "Date", date, rt.conf->authserv_id);
	if (m->subject == NULL)
		msgctx_header(m, rt.conf, "Subject", "Rapat",
		    rt.conf->authserv_id);
	msgctx_header(m, rt.conf, "Message-ID", "<eom@" D ">",
	    rt.conf->authserv_id);
	msgctx_header(m, rt.conf, "MIME-Version", "1.0", rt.conf->authserv_id);
	msgctx_header(m, rt.conf, "Content-Type", t->body == SIGNED ?
	    signed_ct : "text/plain; charset=us-ascii", rt.conf->authserv_id);
	msgctx_body(m, rt.conf, body, strlen(body));
	m->n_rcpt_domain = t->rcpt_ours ? 1 : 0;
	free(date);
	return m;
}

/* The last line of the audit log, or "". */
static char *
audit_last(void)
{
	size_t n;
	char *s = tl_slurp(tl_path(tmpdir, "audit.log"), &n), *l;

	ck_assert_ptr_nonnull(s);
	while (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	l = xstrdup((l = strrchr(s, '\n')) != NULL ? l + 1 : s);
	free(s);
	return l;
}

static void
check_str(int i, const char *what, const char *got, const char *want)
{
	if (want == NULL)
		ck_assert_msg(got == NULL, "row %d (%s): %s %s, want none", i,
		    cases[i].name, what, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
		    "row %d (%s): %s %s, want %s", i, cases[i].name, what,
		    got ? got : "(none)", want);
}

START_TEST(eom_table)
{
	const struct eom_case *t = &cases[_i];
	struct sess_facts f = { t->local, t->trusted, "TLSv1.3", t->login };
	struct msgctx *m;
	struct plan p;
	char *ed, *rec, *want_sender;
	const char *shown;

	rt.conf->unsigned_own_domain = t->uo;
	m = build(t);
	gateway_eom(&rt, &f, m, "EOMTEST", "192.0.2.1", &p);
	ck_assert_msg(p.verdict == t->verdict, "row %d (%s): verdict %d, "
	    "want %d (action %s)", _i, t->name, p.verdict, t->verdict,
	    p.action ? p.action : "-");
	if (t->rcode != NULL)
		check_str(_i, "reply", p.reply.rcode, t->rcode);
	check_str(_i, "role", p.role, t->role);
	ck_assert_msg(p.action != NULL && strncmp(p.action, t->action,
	    strlen(t->action)) == 0, "row %d (%s): action %s, want %s", _i,
	    t->name, p.action ? p.action : "-", t->action);
	check_str(_i, "smime", p.result, t->result);
	ed = edits_summary(&p);
	check_str(_i, "edits", ed, t->edits);
	/* the log's from= and the TLS rule's address, from the same facts */
	shown = addr_from_shown(&m->from);
	check_str(_i, "from=", shown, t->shown);
	check_str(_i, "TLS rule's From", addr_from_ours(&m->from), t->ours);
	/* the audit record (every decision but a plain pass writes one)
	 * names the sender the log names */
	if (strncmp(t->action, "passed (unsigned)", 17) != 0) {
		rec = audit_last();
		want_sender = xasprintf("\"sender\":\"%s\"", shown ? shown :
		    (m->from.n > 0 ? m->from.field[0].value : ""));
		ck_assert_msg(strstr(rec, "\"queue_id\":\"EOMTEST\"") != NULL &&
		    (shown == NULL && m->from.n == 0 ?
		    strstr(rec, "\"sender\"") == NULL || strstr(rec,
		    "\"sender\":null") != NULL : strstr(rec, want_sender) !=
		    NULL), "row %d (%s): audit record %s, want %s", _i,
		    t->name, rec, want_sender);
		free(want_sender);
		free(rec);
	}
	free(ed);
	plan_free(&p);
	msgctx_free(m);
}
END_TEST

/* Setup, outside any test: says what failed and exits 2. */
static void
need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "test_eom: setup: %s\n", what);
		exit(2);
	}
}

/* alice's signed entity, as openssl cms writes it: its Content-Type and
 * its body with CRLF line ends. */
static void
sign_with_openssl(void)
{
	char *s, *sep, *ct, *e, *cmd;
	size_t n;

	cmd = xasprintf("cd %s && printf 'Content-Type: text/plain; charset=us-ascii"
	    "\\r\\n\\r\\nHalo Bapak/Ibu,\\r\\nIni surat resmi.\\r\\n' > c.txt && "
	    "openssl cms -sign -binary -in c.txt -signer %s/staff/%s.pem "
	    "-inkey %s/staff/%s.key -certfile %s/chain.pem > s.eml && "
	    "sed -i 's/\\r*$/\\r/' s.eml", tmpdir, pkidir, ALICE, pkidir,
	    ALICE, pkidir);
	need(system(cmd) == 0, "openssl cms -sign");
	free(cmd);
	s = tl_slurp(tl_path(tmpdir, "s.eml"), &n);
	need(s != NULL, "no signed message");
	sep = strstr(s, "\r\n\r\n");
	ct = strstr(s, "Content-Type: ");
	need(sep != NULL && ct != NULL && ct < sep, "signed message shape");
	ct += strlen("Content-Type: ");
	e = strstr(ct, "\r\n");
	signed_ct = xstrndup(ct, (size_t)(e - ct));
	signed_body = xstrdup(sep + 4);
	free(s);
}

/* tl_store_load without its Check assertions (this runs before any test). */
static void
store_load(void)
{
	memset(&ts, 0, sizeof(ts));
	ts.c.path = (char *)"segel.conf";
	ts.c.domain = (char *)D;
	ts.c.trust_file = xasprintf("%s/trust.pem", pkidir);
	ts.c.crl_dir = xasprintf("%s/crl", pkidir);
	ts.c.cert_dir = xasprintf("%s/certs", pkidir);
	diag_init(&ts.d);
	need((ts.p = pki_load(&ts.c, &ts.d)) != NULL, "pki_load");
	need((ts.cs = certstore_load(&ts.c, ts.p, &ts.d)) != NULL,
	    "certstore_load");
}

static void
setup(void)
{
	struct sbuf err;

	need(mkdtemp(tmpdir) != NULL, "mkdtemp");
	pkidir = xasprintf("%s/pki", tmpdir);
	if (tl_gen_pki(pkidir, "certs/" ALICE ".p12") != 0)
		exit(2);
	store_load();
	ts.c.authserv_id = (char *)"mail." D;
	ts.c.sign_enabled = true;
	ts.c.verify_enabled = true;
	ts.c.on_no_cert = NOCERT_REJECT;
	ts.c.on_error = ON_ERROR_TEMPFAIL;
	ts.c.subject_tag[AR_NONE] = (char *)"[TIDAK BERTANDA TANGAN]";
	ts.c.subject_tag[AR_FAIL] = (char *)"[TANDA TANGAN TIDAK SAH]";
	ts.c.max_headers = 1000;
	ts.c.max_header_bytes = 1 << 20;
	ts.c.max_message_size = 10 << 20;
	ts.c.memory_threshold = 1 << 20;
	ts.c.tmp_dir = tmpdir;
	sbuf_init(&err);
	rt.refs = 1;
	rt.conf = &ts.c;
	rt.pki = ts.p;
	rt.store = ts.cs;
	rt.audit = audit_open(tl_path(tmpdir, "audit.log"), &err);
	need(rt.audit != NULL, "audit_open");
	sbuf_free(&err);
	sign_with_openssl();
}

int
main(void)
{
	Suite *s = suite_create("eom");
	TCase *tc = tcase_create("table");
	int rc;

	g_mime_init();
	setup();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, eom_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	audit_close(rt.audit);
	tl_store_free(&ts);
	free(signed_ct);
	free(signed_body);
	tl_rmtree(tmpdir);
	free(pkidir);
	return rc;
}
