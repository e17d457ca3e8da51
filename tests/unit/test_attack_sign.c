/*
 * test_attack_sign.c - trying to make segel sign as someone who has not
 * proved to be that sender (THREATS.md section 1). Bob is a member of staff
 * logged in as bob@tanjungpinangkota.go.id; he wants mail to leave signed
 * while a reader sees alice as its sender. Each From shape is fed to the
 * real policy_sign, addr_normalize and msgctx, as libmilter would give it
 * (LF between folded lines, no leading space).
 *
 * Rule: sign only when the From field is one mailbox, nothing in it shows
 * another address, and that mailbox is the login's (or paired with it in
 * sign.login_map) or the client is a trusted host. "bob" rows are attacks.
 */
#include <check.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "msgctx.h"
#include "policy.h"
#include "util.h"

#define D "tanjungpinangkota.go.id"
#define ALICE "alice@" D
#define BOB "bob@" D

static struct conf *
test_conf(void)
{
	static struct conf c;
	static struct login_pair pairs[] = {
		{ (char *)"sekretariat", (char *)"humas@" D },
	};

	memset(&c, 0, sizeof(c));
	c.domain = (char *)D;
	c.authserv_id = (char *)"mail." D;
	c.tls_enforce = true;
	c.tls_min_version = 0x0303;
	c.sign_enabled = true;
	c.on_no_cert = NOCERT_REJECT;
	c.logins = pairs;
	c.n_logins = 1;
	c.max_headers = 10000;
	c.max_header_bytes = 1048576;
	c.max_message_size = 1048576;
	c.memory_threshold = 1048576;
	c.tmp_dir = (char *)"/tmp";
	return &c;
}

/* login (NULL: none), trusted host, From value -> action */
static const struct {
	const char *login;
	bool trusted;
	const char *from;
	enum sign_action want;
} shapes[] = {
	/* --- the honest forms still sign */
	{ BOB, false, BOB, SIGN_YES },
	{ BOB, false, "<" BOB ">", SIGN_YES },
	{ BOB, false, "Bob Santoso <" BOB ">", SIGN_YES },
	{ BOB, false, "\"Santoso, Bob\" <" BOB ">", SIGN_YES },
	{ BOB, false, "\"Bob\"\n <" BOB ">", SIGN_YES },
	{ BOB, false, "Bob\r\n <" BOB ">", SIGN_YES },
	{ BOB, false, "B. Santoso <" BOB "> (Bagian Umum)", SIGN_YES },
	{ BOB, false, BOB " (Bob Santoso)", SIGN_YES },
	{ BOB, false, "=?utf-8?q?Bob_Santoso?= <" BOB ">", SIGN_YES },
	{ BOB, false, "\"" BOB "\" <" BOB ">", SIGN_YES },
	{ BOB, false, "BOB@TANJUNGPINANGKOTA.GO.ID", SIGN_YES },
	{ "BOB@" D, false, "Bob <bob@TanjungPinangKota.go.id>", SIGN_YES },
	{ "sekretariat", false, "Humas <humas@" D ">", SIGN_YES },
	{ NULL, true, "Aplikasi <app@" D ">", SIGN_YES },
	/* --- bob asking for alice's certificate */
	{ BOB, false, ALICE, SIGN_REFUSE },
	{ BOB, false, "Alice <" ALICE ">", SIGN_REFUSE },
	{ BOB, false, "\"" BOB "\" <" ALICE ">", SIGN_REFUSE },
	{ BOB, false, ALICE " (bob)", SIGN_REFUSE },
	{ BOB, false, ALICE ", " BOB, SIGN_REFUSE },
	{ BOB, false, BOB ", " ALICE, SIGN_REFUSE },
	{ BOB, false, "x: " ALICE ";", SIGN_REFUSE },
	{ BOB, false, "x: <" BOB ">;", SIGN_REFUSE },
	{ BOB, false, "\"" ALICE "\"@evil.example", SIGN_REFUSE },
	{ BOB, false, "\"alice\"@" D, SIGN_REFUSE },
	{ BOB, false, "<@evil.example:" ALICE ">", SIGN_REFUSE },
	{ BOB, false, "<@" D ":" BOB ">", SIGN_REFUSE },
	{ "sekretariat", false, ALICE, SIGN_REFUSE },
	{ "alice", false, ALICE, SIGN_REFUSE },
	{ ALICE "@evil.example", false, ALICE, SIGN_REFUSE },
	{ "bob@evil.example", false, BOB, SIGN_REFUSE },
	/* --- bob's certificate, a reader may see alice */
	{ BOB, false, ALICE " <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "<" BOB "> " ALICE, SIGN_REFUSE },
	{ BOB, false, "<" BOB "> <" ALICE ">", SIGN_REFUSE },
	{ BOB, false, BOB " " ALICE, SIGN_REFUSE },
	{ BOB, false, "<" BOB ">;<" ALICE ">", SIGN_REFUSE },
	{ BOB, false, "<" BOB ">, <>", SIGN_REFUSE },
	{ BOB, false, "\"x\" <" BOB ">, \"y\"", SIGN_REFUSE },
	{ BOB, false, BOB " (unterminated <" ALICE ">", SIGN_REFUSE },
	{ BOB, false, "\"" ALICE "\" <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "\"Alice\n " ALICE "\" <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "Alice <" BOB "> (" ALICE ")", SIGN_REFUSE },
	{ BOB, false, BOB " (" ALICE ")", SIGN_REFUSE },
	{ BOB, false, "=?utf-8?q?alice=40" D "?= <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "=?UTF-8?B?YWxpY2VAdGFuanVuZ3BpbmFuZ2tvdGEuZ28uaWQ=?= <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "\"=?utf-8?q?" ALICE "?=\" <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "alice\xef\xbc\xa0" D " <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "\"alice\xef\xb9\xab" D "\" <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "=?utf-16le?b?YQBAAGIA?= <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "<" BOB ">\rFrom: " ALICE, SIGN_REFUSE },
	{ BOB, false, "<" BOB ">\r, " ALICE, SIGN_REFUSE },
	{ BOB, false, "Bob\x0b" ALICE " <" BOB ">", SIGN_REFUSE },
	{ BOB, false, "\"Bob\x1b[8m\" <" BOB ">", SIGN_REFUSE },
	/* --- look-alike domains: bob may not claim alice at any spelling */
	{ BOB, false, ALICE ".", SIGN_REFUSE },
	{ BOB, false, "Alice <" ALICE ".>", SIGN_REFUSE },
	{ BOB, false, "alice@TANJUNGPINANGKOTA.GO.ID.", SIGN_REFUSE },
	/* not ours at all: never signed, passed as mail of another domain */
	{ BOB, false, "alice@sub." D, SIGN_NO },
	{ BOB, false, "alice@" D ".evil.example", SIGN_NO },
	/* --- a trusted host: the same shapes are never signed */
	{ NULL, true, ALICE " <app@" D ">", SIGN_NO },
	{ NULL, true, "\"" ALICE "\" <app@" D ">", SIGN_NO },
	{ NULL, true, "<app@" D "> <" ALICE ">", SIGN_NO },
	{ NULL, true, "app@" D ", " ALICE, SIGN_NO },
	/* --- neither logged in nor trusted: never signed, whatever the From */
	{ NULL, false, ALICE, SIGN_NO },
	{ "", false, ALICE, SIGN_NO },
};

/* policy_sign on n From fields of value, each read as msgctx reads it. */
static void
sign_value(const struct conf *c, const struct sess_facts *f, const char *value,
    size_t n, bool prot, enum cert_status st, struct sign_decision *d)
{
	struct from_facts ff = { NULL, 0, 0 };
	size_t i;

	for (i = 0; i < n && value != NULL; i++)
		addr_from_add(&ff, value, c->domain);
	policy_sign(c, f, &ff, prot, st, d);
	addr_from_free(&ff);
}

START_TEST(from_shapes)
{
	struct conf *c = test_conf();
	struct sess_facts f = { false, shapes[_i].trusted, "TLSv1.3",
	    shapes[_i].login };
	struct sign_decision d;

	sign_value(c, &f, shapes[_i].from, 1, false, CERT_OK, &d);
	ck_assert_msg(d.action == shapes[_i].want, "case %d (login %s, From %s): "
	    "action %d (%s), want %d", _i, shapes[_i].login ?
	    shapes[_i].login : "-", shapes[_i].from, d.action, d.reason,
	    shapes[_i].want);
	if (d.action == SIGN_REFUSE) {
		ck_assert_str_eq(d.reply.rcode, "550");
		ck_assert_str_eq(d.reply.xcode, "5.7.1");
		ck_assert_ptr_null(strpbrk(d.reply.text, "\r\n%"));
	}
}
END_TEST

/*
 * The certificate status must never rescue a wrong sender: a refused
 * shape stays refused under every on_no_cert, and "already signed" does
 * not let a colleague's From through.
 */
START_TEST(status_never_rescues)
{
	static const enum on_no_cert oncs[] = {
		NOCERT_REJECT, NOCERT_TEMPFAIL, NOCERT_ACCEPT
	};
	struct conf *c = test_conf();
	struct sess_facts f = { false, false, "TLSv1.3", BOB };
	struct sign_decision d;
	size_t i;

	for (i = 0; i < sizeof(oncs) / sizeof(oncs[0]); i++) {
		c->on_no_cert = oncs[i];
		sign_value(c, &f, ALICE, 1, false, CERT_NONE, &d);
		ck_assert_int_eq(d.action, SIGN_REFUSE);
		sign_value(c, &f, ALICE, 1, true, CERT_OK, &d);
		ck_assert_int_eq(d.action, SIGN_REFUSE);
		sign_value(c, &f, ALICE " <" BOB ">", 1, false, CERT_OK, &d);
		ck_assert_int_eq(d.action, SIGN_REFUSE);
	}
}
END_TEST

/* Two From fields in any spelling of the name are two From fields. */
static const char *const from_names[] = { "From", "FROM", "from", "fRoM" };

START_TEST(msgctx_counts_every_from)
{
	struct conf *c = test_conf();
	struct sess_facts f = { false, false, "TLSv1.3", BOB };
	struct sign_decision d;
	struct msgctx *m = msgctx_new(c);

	msgctx_header(m, c, from_names[_i], "<" BOB ">", c->authserv_id);
	msgctx_header(m, c, "Subject", "x", c->authserv_id);
	msgctx_header(m, c, from_names[(_i + 1) % 4], "<" ALICE ">",
	    c->authserv_id);
	ck_assert_int_eq(m->from.n, 2);
	ck_assert_str_eq(m->from.field[0].value, "<" BOB ">");
	policy_sign(c, &f, &m->from, false, CERT_OK, &d);
	ck_assert_int_eq(d.action, SIGN_REFUSE);
	msgctx_free(m);
}
END_TEST

/* Same From twice: still refused (a reader may show either). */
START_TEST(msgctx_same_from_twice)
{
	struct conf *c = test_conf();
	struct sess_facts f = { false, false, "TLSv1.3", BOB };
	struct sign_decision d;
	struct msgctx *m = msgctx_new(c);

	msgctx_header(m, c, "From", BOB, c->authserv_id);
	msgctx_header(m, c, "From", BOB, c->authserv_id);
	policy_sign(c, &f, &m->from, false, CERT_OK, &d);
	ck_assert_int_eq(d.action, SIGN_REFUSE);
	msgctx_free(m);
}
END_TEST

/*
 * A From hidden past the header limits: the message is marked too big
 * (gateway_eom refuses it with 552) rather than judged on the headers
 * that fitted.
 */
START_TEST(msgctx_from_past_the_limit)
{
	struct conf *c = test_conf();
	struct msgctx *m;
	int i;

	c->max_headers = 5;
	m = msgctx_new(c);
	msgctx_header(m, c, "From", BOB, c->authserv_id);
	for (i = 0; i < 4; i++)
		msgctx_header(m, c, "X-Filler", "x", c->authserv_id);
	ck_assert_int_eq(m->state, MSG_OK);
	msgctx_header(m, c, "From", ALICE, c->authserv_id);
	ck_assert_int_eq(m->state, MSG_TOO_BIG);
	msgctx_free(m);
}
END_TEST

/* A folded From as libmilter gives it (LF, then the continuation). */
START_TEST(msgctx_folded_from)
{
	struct conf *c = test_conf();
	struct sess_facts f = { false, false, "TLSv1.3", BOB };
	struct sign_decision d;
	struct msgctx *m = msgctx_new(c);

	msgctx_header(m, c, "From", "\"Bob Santoso\"\n\t<" BOB ">",
	    c->authserv_id);
	policy_sign(c, &f, &m->from, false, CERT_OK, &d);
	ck_assert_int_eq(d.action, SIGN_YES);
	msgctx_free(m);
	m = msgctx_new(c);
	msgctx_header(m, c, "From", "\"Bob Santoso\"\n\t<" BOB ">,\n "
	    ALICE, c->authserv_id);
	policy_sign(c, &f, &m->from, false, CERT_OK, &d);
	ck_assert_int_eq(d.action, SIGN_REFUSE);
	msgctx_free(m);
}
END_TEST

/* addr_in_domain: the fully qualified spelling with a final dot is ours. */
static const struct {
	const char *a;
	bool in;
} domains[] = {
	{ ALICE, true }, { "alice@TANJUNGPINANGKOTA.GO.ID", true },
	{ ALICE ".", true }, { ALICE "..", false }, { "alice@sub." D, false },
	{ "alice@x" D, false }, { "alice@" D ".evil.example", false },
	{ D "@evil.example", false }, { "alice@", false }, { NULL, false },
};

START_TEST(in_domain)
{
	ck_assert_msg(addr_in_domain(domains[_i].a, D) == domains[_i].in,
	    "case %d: %s", _i, domains[_i].a);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("attack_sign");
	TCase *tc = tcase_create("oracle");
	SRunner *sr;
	int nf;

	g_mime_init();	/* policy_sign decodes encoded-words with GMime */
	tcase_add_loop_test(tc, from_shapes, 0,
	    sizeof(shapes) / sizeof(shapes[0]));
	tcase_add_test(tc, status_never_rescues);
	tcase_add_loop_test(tc, msgctx_counts_every_from, 0, 4);
	tcase_add_test(tc, msgctx_same_from_twice);
	tcase_add_test(tc, msgctx_from_past_the_limit);
	tcase_add_test(tc, msgctx_folded_from);
	tcase_add_loop_test(tc, in_domain, 0,
	    sizeof(domains) / sizeof(domains[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
