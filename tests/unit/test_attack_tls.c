/*
 * test_attack_tls.c - the adversarial review of TLS enforcement for the
 * official domain (THREATS.md 4): envelope addresses as a client writes
 * them (ARGV of MAIL and RCPT) and as Postfix resolves them ({mail_addr},
 * {rcpt_addr}), From fields a reader takes for ours, and {tls_version}
 * values no MTA should send. Each row says what RFC 5321/5322 and the MTA
 * make of the shape: refused when Postfix routes it to the domain or a
 * reader sees the domain, untouched when it does not.
 */
#include <check.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "policy.h"
#include "testlib.h"
#include "util.h"

#define D	"tanjungpinangkota.go.id"

static struct conf *
test_conf(void)
{
	static struct conf c;

	memset(&c, 0, sizeof(c));
	c.domain = (char *)D;
	c.authserv_id = (char *)"mail." D;
	c.tls_enforce = true;
	c.tls_min_version = 0x0303;
	return &c;
}

/*
 * An envelope address (an SMTP argument with its angle brackets, or a
 * macro value without) and whether it is mail of the domain. Postfix's
 * routing of each was checked against the e2e harness (t_attack_tls.sh).
 */
static const struct {
	const char *a;
	bool ours;
} env[] = {
	{ "<alice@" D ">", true },
	{ "<ALICE@TanjungPinangKota.GO.ID>", true },
	{ "<alice@" D ".>", true },			/* FQDN dot */
	{ "<\"alice\"@" D ">", true },			/* Postfix: alice@D */
	{ "<\"al ice\"@" D ">", true },
	{ "<\"al@ice\"@" D ">", true },
	{ "<\"a\\\"b\"@" D ">", true },
	{ "<@relay.example:alice@" D ">", true },	/* route dropped */
	{ "<@a.example,@b.example:alice@" D ">", true },
	{ "<@[127.0.0.1]:alice@" D ">", true },
	{ "<alice@" D "(c)>", true },			/* comment */
	{ "<alice@" D " >", true },
	{ "< alice@" D ">", true },
	{ "<alice@" D "\t>", true },
	{ "<alice@evil@" D ">", true },			/* "alice@evil"@D */
	{ "<\xc3\xa1lice@" D ">", true },		/* SMTPUTF8 local */
	{ "<alice@\xef\xbd\x94" "anjungpinangkota.go.id>", true }, /* fullwidth t */
	{ "<alice@tanjungpinangkota\xe3\x80\x82go\xe3\x80\x82id>", true },
	{ "<alice@tanjungpinang\xe2\x84\xaaota.go.id>", true },	/* Kelvin K */
	{ "alice@" D, true },				/* {rcpt_addr} */
	{ "\"al ice\"@" D, true },
	{ "ALICE@" D ".", true },
	{ "<alice@[127.0.0.1]>", false },		/* not our domain */
	{ "<alice@" D "@evil>", false },		/* goes to evil */
	{ "<\"alice@" D "\"@evil.example>", false },
	{ "<alice%" D "@relay.example>", false },	/* hop via relay.example */
	{ "<x@mail." D ">", false },			/* subdomain: DESIGN */
	{ "<a@" D ".evil.com>", false },
	{ "<a@x" D ">", false },
	{ "<a@" D "..>", false },
	{ "<a@xn--tanjungpinangkota-7lb.go.id>", false },
	{ "<alice@tanjungpinangkota.go.\xd1\x96" "d>", false }, /* Cyrillic i */
	{ "<>", false },
	{ "", false },
	{ "<" D ">", false },
	{ "<@" D ":alice@example.org>", false },	/* route via us, to them */
};

START_TEST(rcpt_shapes)
{
	struct reply r;
	struct sess_facts f = { 0 };

	ck_assert_msg(policy_tls_refuse_rcpt(test_conf(), &f, env[_i].a, &r) ==
	    env[_i].ours, "case %d: %s", _i, env[_i].a);
	if (env[_i].ours) {
		ck_assert_str_eq(r.rcode, "530");
		ck_assert_str_eq(r.xcode, "5.7.0");
	}
}
END_TEST

START_TEST(sender_shapes)
{
	struct reply r;
	struct sess_facts f = { 0 };

	ck_assert_msg(policy_tls_refuse_sender(test_conf(), &f, env[_i].a, &r) ==
	    env[_i].ours, "case %d: %s", _i, env[_i].a);
}
END_TEST

/* The same shapes over TLS 1.3, or submitted locally: never refused. */
START_TEST(shapes_over_tls)
{
	struct reply r;
	struct sess_facts t = { .tls_version = "TLSv1.3" }, l = { .local = true };

	ck_assert(!policy_tls_refuse_rcpt(test_conf(), &t, env[_i].a, &r));
	ck_assert(!policy_tls_refuse_sender(test_conf(), &t, env[_i].a, &r));
	ck_assert(!policy_tls_refuse_rcpt(test_conf(), &l, env[_i].a, &r));
}
END_TEST

/* {tls_version} values and whether a session with them may carry ours. */
static const struct {
	const char *v;
	bool ok;
} tlsv[] = {
	{ "TLSv1.3", true }, { "TLSv1.2", true }, { "tlsv1.3", true },
	{ "TLSV1.2", true },
	{ NULL, false }, { "", false }, { "TLSv1.1", false }, { "TLSv1", false },
	{ "TLSv1/SSLv3", false }, { "SSLv3", false }, { "SSLv2", false },
	{ "TLSv1.3 ", false }, { " TLSv1.3", false }, { "TLSv1.3\n", false },
	{ "TLSv1.2x", false }, { "TLSv2", false }, { "DTLSv1.2", false },
	{ "QUICv1", false }, { "unknown", false }, { "TLSv1.", false },
	{ "TLSv1.-1", false }, { "TLSv1.10", false }, { "TLS 1.3", false },
	{ "none", false }, { "0x0304", false }, { "TLSv1.2\0junk", true },
};

START_TEST(tls_values)
{
	struct reply r;
	struct sess_facts f = { .tls_version = tlsv[_i].v };
	struct conf *c = test_conf();

	ck_assert_msg(policy_tls_ok(c, &f) == tlsv[_i].ok, "case %d: %s",
	    _i, tlsv[_i].v ? tlsv[_i].v : "(null)");
	ck_assert(policy_tls_refuse_rcpt(c, &f, "<alice@" D ">", &r) ==
	    !tlsv[_i].ok);
	/* Enforcement off, or local submission: always fine. */
	c->tls_enforce = false;
	ck_assert(policy_tls_ok(c, &f));
	c->tls_enforce = true;
	f.local = true;
	ck_assert(policy_tls_ok(c, &f));
}
END_TEST

/* min_version 1.3: a 1.2 session is not enough. */
START_TEST(min_version_13)
{
	struct reply r;
	struct conf *c = test_conf();
	struct sess_facts f = { .tls_version = "TLSv1.2" };

	c->tls_min_version = 0x0304;
	ck_assert(policy_tls_refuse_rcpt(c, &f, "<alice@" D ">", &r));
	ck_assert(strstr(r.text, "TLSv1.2") != NULL);
	f.tls_version = "TLSv1.3";
	ck_assert(!policy_tls_refuse_rcpt(c, &f, "<alice@" D ">", &r));
}
END_TEST

/* From field values and whether a reader takes them for ours. */
static const struct {
	const char *v;
	bool ours;
} froms[] = {
	{ "alice@" D, true },
	{ "Alice <ALICE@" D ">", true },
	{ "\"alice\"@" D, true },
	{ "<\"alice\"@" D ">", true },
	{ "Alice <\"al ice\"@" D ">", true },
	{ "alice @ " D, true },				/* obs CFWS at '@' */
	{ "alice@ " D, true },
	{ "Alice\r\n <alice@" D ">", true },		/* folded */
	{ "alice@" D ".", true },
	{ "<@relay.example:alice@" D ">", true },	/* obs-route */
	{ "city: alice@" D ";", true },			/* group */
	{ "alice@" D " (Alice)", true },
	{ "x@example.org, alice@" D, true },
	{ "alice@\xef\xbd\x94" "anjungpinangkota.go.id", true },
	{ "\"alice\xef\xbc\xa0" D "\" <boss@example.net>", true },
	{ "=?utf-8?q?alice=40" D "?= <boss@example.net>", true },
	{ "budi@example.org", false },
	{ "\"alice@" D "\"@evil.example", true },	/* shows our address */
	{ "x@mail." D, false },
	{ "a@" D ".evil.com", false },
	{ "a@x" D, false },
	{ "alice@tanjungpinangkota.go.\xd1\x96" "d", false },
	{ "", false },
	{ "Alice", false },
};

START_TEST(from_fields)
{
	char *a = addr_from_domain_address(froms[_i].v, D);

	ck_assert_msg((a != NULL) == froms[_i].ours, "case %d: %s -> %s", _i,
	    froms[_i].v, a ? a : "(null)");
	free(a);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("attack_tls");
	TCase *tc = tcase_create("tls");

	g_mime_init();	/* addr_from_domain_address decodes with GMime */
	tcase_add_loop_test(tc, rcpt_shapes, 0, sizeof(env) / sizeof(env[0]));
	tcase_add_loop_test(tc, sender_shapes, 0, sizeof(env) / sizeof(env[0]));
	tcase_add_loop_test(tc, shapes_over_tls, 0,
	    sizeof(env) / sizeof(env[0]));
	tcase_add_loop_test(tc, tls_values, 0, sizeof(tlsv) / sizeof(tlsv[0]));
	tcase_add_test(tc, min_version_13);
	tcase_add_loop_test(tc, from_fields, 0,
	    sizeof(froms) / sizeof(froms[0]));
	suite_add_tcase(s, tc);
	return tl_run(s);
}
