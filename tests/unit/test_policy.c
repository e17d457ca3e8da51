/*
 * test_policy.c - the pure decisions of policy.c, table-driven: TLS version
 * strings as Postfix and Sendmail send them, missing macros, look-alike
 * domains, local submission, and who may be signed for.
 */
#include <check.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "policy.h"
#include "testlib.h"

static struct conf *
test_conf(void)
{
	static struct conf c;
	static struct login_pair pairs[] = {
		{ (char *)"sekretariat", (char *)"humas@tanjungpinangkota.go.id" },
	};

	memset(&c, 0, sizeof(c));
	c.domain = (char *)"tanjungpinangkota.go.id";
	c.authserv_id = (char *)"mail.tanjungpinangkota.go.id";
	c.tls_enforce = true;
	c.tls_min_version = 0x0303;
	c.sign_enabled = true;
	c.on_no_cert = NOCERT_REJECT;
	c.logins = pairs;
	c.n_logins = 1;
	return &c;
}

static const struct {
	const char *v;
	int want;
} versions[] = {
	{ NULL, 0 }, { "", 0 }, { "TLSv1.3", 0x0304 }, { "TLSv1.2", 0x0303 },
	{ "TLSv1.1", 0x0302 }, { "TLSv1", 0x0301 }, { "TLSv1/SSLv3", 0x0301 },
	{ "SSLv3", 0x0300 }, { "tlsv1.2", 0x0303 }, { "TLSv1.9", 0x030a },
	{ "QUIC", -1 }, { "TLSv1.", -1 }, { "TLSv1.2x", -1 },
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

START_TEST(tls_version_strings)
{
	ck_assert_int_eq(policy_tls_version(versions[_i].v), versions[_i].want);
}
END_TEST

/* rcpt, tls_version, local, enforce, min, refused? */
static const struct {
	const char *rcpt, *tls;
	bool local, enforce;
	int min;
	bool refused;
} rcpt_cases[] = {
	{ "alice@tanjungpinangkota.go.id", NULL, false, true, 0x0303, true },
	{ "alice@tanjungpinangkota.go.id", "", false, true, 0x0303, true },
	{ "alice@TanjungPinangKota.GO.ID", NULL, false, true, 0x0303, true },
	{ "alice@tanjungpinangkota.go.id", "TLSv1.3", false, true, 0x0303, false },
	{ "alice@tanjungpinangkota.go.id", "TLSv1.2", false, true, 0x0303, false },
	{ "alice@tanjungpinangkota.go.id", "TLSv1.1", false, true, 0x0303, true },
	{ "alice@tanjungpinangkota.go.id", "TLSv1", false, true, 0x0303, true },
	{ "alice@tanjungpinangkota.go.id", "TLSv1/SSLv3", false, true, 0x0303, true },
	{ "alice@tanjungpinangkota.go.id", "TLSv1", false, true, 0x0301, false },
	{ "alice@tanjungpinangkota.go.id", "TLSv1.2", false, true, 0x0304, true },
	{ "alice@tanjungpinangkota.go.id", "bogus", false, true, 0x0303, true },
	{ "alice@tanjungpinangkota.go.id", NULL, true, true, 0x0303, false },
	{ "alice@tanjungpinangkota.go.id", NULL, false, false, 0x0303, false },
	{ "bob@example.org", NULL, false, true, 0x0303, false },
	{ "a@tanjungpinangkota.go.id.evil.com", NULL, false, true, 0x0303, false },
	{ "a@xtanjungpinangkota.go.id", NULL, false, true, 0x0303, false },
	{ "a@sub.tanjungpinangkota.go.id", NULL, false, true, 0x0303, false },
	{ "tanjungpinangkota.go.id@example.org", NULL, false, true, 0x0303, false },
	{ NULL, NULL, false, true, 0x0303, false },
};

START_TEST(tls_refuse_rcpt)
{
	struct conf *c = test_conf();
	struct sess_facts f = { rcpt_cases[_i].local, false, rcpt_cases[_i].tls,
	    NULL };
	struct reply r;
	bool got;

	c->tls_enforce = rcpt_cases[_i].enforce;
	c->tls_min_version = rcpt_cases[_i].min;
	got = policy_tls_refuse_rcpt(c, &f, rcpt_cases[_i].rcpt, &r);
	ck_assert_msg(got == rcpt_cases[_i].refused, "case %d (%s, %s)", _i,
	    rcpt_cases[_i].rcpt, rcpt_cases[_i].tls);
	if (got) {
		ck_assert_str_eq(r.rcode, "530");
		ck_assert_str_eq(r.xcode, "5.7.0");
		ck_assert_ptr_nonnull(strstr(r.text, "or newer"));
		if (rcpt_cases[_i].tls == NULL || rcpt_cases[_i].tls[0] == '\0')
			ck_assert_ptr_nonnull(strstr(r.text, "STARTTLS"));
		ck_assert_ptr_nonnull(strstr(r.text, " / Wajib"));
	}
}
END_TEST

START_TEST(tls_refuse_sender)
{
	struct conf *c = test_conf();
	struct sess_facts plain = { false, true, NULL, NULL };
	struct sess_facts tls = { false, true, "TLSv1.3", NULL };
	struct sess_facts local = { true, true, NULL, NULL };
	struct reply r;

	ck_assert(policy_tls_refuse_sender(c, &plain, "app@tanjungpinangkota.go.id", &r));
	ck_assert(!policy_tls_refuse_sender(c, &tls, "app@tanjungpinangkota.go.id", &r));
	ck_assert(!policy_tls_refuse_sender(c, &local, "app@tanjungpinangkota.go.id", &r));
	ck_assert(!policy_tls_refuse_sender(c, &plain, "x@example.org", &r));
	ck_assert(!policy_tls_refuse_sender(c, &plain, NULL, &r));
}
END_TEST

/* issue 17: a plaintext refusal of a trusted host was logged role=inbound */
START_TEST(refusal_role)
{
	struct sess_facts stranger = { false, false, NULL, NULL };
	struct sess_facts app = { false, true, NULL, NULL };
	struct sess_facts staff = { false, false, NULL, "alice@tanjungpinangkota.go.id" };
	struct sess_facts empty_login = { false, false, NULL, "" };

	ck_assert_str_eq(policy_session_role(&stranger), "inbound");
	ck_assert_str_eq(policy_session_role(&app), "outbound");
	ck_assert_str_eq(policy_session_role(&staff), "outbound");
	ck_assert_str_eq(policy_session_role(&empty_login), "inbound");
}
END_TEST

/* login, trusted, from value, n_from, protected, status -> action, rcode */
static const struct {
	const char *login;
	bool trusted;
	const char *from;
	size_t n_from;
	bool prot;
	enum cert_status st;
	enum on_no_cert onc;
	enum sign_action want;
	const char *rcode;
} sign_cases[] = {
	{ "alice@tanjungpinangkota.go.id", false, "Alice <alice@tanjungpinangkota.go.id>", 1, false, CERT_OK, NOCERT_REJECT, SIGN_YES, NULL },
	{ "ALICE@TANJUNGPINANGKOTA.GO.ID", false, "alice@tanjungpinangkota.go.id", 1, false, CERT_OK, NOCERT_REJECT, SIGN_YES, NULL },
	{ "bob@tanjungpinangkota.go.id", false, "alice@tanjungpinangkota.go.id", 1, false, CERT_OK, NOCERT_REJECT, SIGN_REFUSE, "550" },
	{ "sekretariat", false, "humas@tanjungpinangkota.go.id", 1, false, CERT_OK, NOCERT_REJECT, SIGN_YES, NULL },
	{ "sekretariat", false, "alice@tanjungpinangkota.go.id", 1, false, CERT_OK, NOCERT_REJECT, SIGN_REFUSE, "550" },
	{ "alice@tanjungpinangkota.go.id", false, "a@tanjungpinangkota.go.id, b@tanjungpinangkota.go.id", 1, false, CERT_OK, NOCERT_REJECT, SIGN_REFUSE, "550" },
	{ "alice@tanjungpinangkota.go.id", false, "alice@tanjungpinangkota.go.id", 2, false, CERT_OK, NOCERT_REJECT, SIGN_REFUSE, "550" },
	{ "alice@tanjungpinangkota.go.id", false, NULL, 0, false, CERT_OK, NOCERT_REJECT, SIGN_REFUSE, "550" },
	{ NULL, true, NULL, 0, false, CERT_OK, NOCERT_REJECT, SIGN_NO, NULL },
	{ NULL, false, "alice@tanjungpinangkota.go.id", 1, false, CERT_OK, NOCERT_REJECT, SIGN_NO, NULL },
	{ NULL, true, "app@tanjungpinangkota.go.id", 1, false, CERT_OK, NOCERT_REJECT, SIGN_YES, NULL },
	{ NULL, true, "noreply@example.org", 1, false, CERT_OK, NOCERT_REJECT, SIGN_NO, NULL },
	{ "alice@tanjungpinangkota.go.id", false, "alice@gmail.com", 1, false, CERT_OK, NOCERT_REJECT, SIGN_NO, NULL },
	{ "alice@tanjungpinangkota.go.id", false, "alice@tanjungpinangkota.go.id", 1, true, CERT_OK, NOCERT_REJECT, SIGN_PASS, NULL },
	{ "carol@tanjungpinangkota.go.id", false, "carol@tanjungpinangkota.go.id", 1, false, CERT_EXPIRED, NOCERT_REJECT, SIGN_REFUSE, "550" },
	{ "carol@tanjungpinangkota.go.id", false, "carol@tanjungpinangkota.go.id", 1, false, CERT_EXPIRED, NOCERT_TEMPFAIL, SIGN_REFUSE, "451" },
	{ "carol@tanjungpinangkota.go.id", false, "carol@tanjungpinangkota.go.id", 1, false, CERT_EXPIRED, NOCERT_ACCEPT, SIGN_UNSIGNED, NULL },
	{ "erin@tanjungpinangkota.go.id", false, "erin@tanjungpinangkota.go.id", 1, false, CERT_NONE, NOCERT_REJECT, SIGN_REFUSE, "550" },
	{ "dave@tanjungpinangkota.go.id", false, "dave@tanjungpinangkota.go.id", 1, false, CERT_REVOKED, NOCERT_ACCEPT, SIGN_REFUSE, "550" },
	/* issue 15: a token key that cannot be used now waits, whatever on_no_cert says */
	{ "bob@tanjungpinangkota.go.id", false, "bob@tanjungpinangkota.go.id", 1, false, CERT_UNAVAILABLE, NOCERT_REJECT, SIGN_REFUSE, "451" },
	{ "bob@tanjungpinangkota.go.id", false, "bob@tanjungpinangkota.go.id", 1, false, CERT_UNAVAILABLE, NOCERT_ACCEPT, SIGN_REFUSE, "451" },
	{ "bob@tanjungpinangkota.go.id", false, "bob@tanjungpinangkota.go.id", 1, false, CERT_UNAVAILABLE, NOCERT_TEMPFAIL, SIGN_REFUSE, "451" },
	{ "dave@tanjungpinangkota.go.id", false, "dave@tanjungpinangkota.go.id", 1, false, CERT_REVOKED, NOCERT_TEMPFAIL, SIGN_REFUSE, "550" },
	{ "mallory@tanjungpinangkota.go.id", false, "mallory@tanjungpinangkota.go.id", 1, false, CERT_UNTRUSTED, NOCERT_REJECT, SIGN_REFUSE, "550" },
	{ "frank@tanjungpinangkota.go.id", false, "frank@tanjungpinangkota.go.id", 1, false, CERT_NOT_YET_VALID, NOCERT_REJECT, SIGN_REFUSE, "550" },
};

START_TEST(sign_decisions)
{
	struct conf *c = test_conf();
	struct sess_facts f = { false, sign_cases[_i].trusted, "TLSv1.3",
	    sign_cases[_i].login };
	struct sign_decision d;

	c->on_no_cert = sign_cases[_i].onc;
	sign_value(c, &f, sign_cases[_i].from, sign_cases[_i].n_from,
	    sign_cases[_i].prot, sign_cases[_i].st, &d);
	ck_assert_msg(d.action == sign_cases[_i].want, "case %d: action %d, "
	    "want %d", _i, d.action, sign_cases[_i].want);
	if (sign_cases[_i].rcode != NULL) {
		ck_assert_str_eq(d.reply.rcode, sign_cases[_i].rcode);
		ck_assert_ptr_nonnull(strstr(d.reply.text, " / "));
	}
}
END_TEST

START_TEST(refusal_names_the_reason)
{
	struct conf *c = test_conf();
	struct sess_facts f = { false, false, "TLSv1.3",
	    "carol@tanjungpinangkota.go.id" };
	struct sign_decision d;

	sign_value(c, &f, "carol@tanjungpinangkota.go.id", 1, false,
	    CERT_EXPIRED, &d);
	ck_assert_ptr_nonnull(strstr(d.reply.text, "expired"));
	ck_assert_ptr_nonnull(strstr(d.reply.text, "kedaluwarsa"));
	sign_value(c, &f, "carol@tanjungpinangkota.go.id", 1, false,
	    CERT_REVOKED, &d);
	ck_assert_ptr_nonnull(strstr(d.reply.text, "revoked"));
	ck_assert_str_eq(d.reply.xcode, "5.7.1");
	c->sign_enabled = false;
	sign_value(c, &f, "carol@tanjungpinangkota.go.id", 1, false,
	    CERT_OK, &d);
	ck_assert_int_eq(d.action, SIGN_NO);
}
END_TEST

START_TEST(replies_are_safe_for_libmilter)
{
	struct conf *c = test_conf();
	struct sess_facts f = { false, false, "TLSv1.3", "bob%s\n@x" };
	struct sign_decision d;

	sign_value(c, &f, "alice@tanjungpinangkota.go.id", 1, false, CERT_OK, &d);
	ck_assert_int_eq(d.action, SIGN_REFUSE);
	ck_assert_ptr_null(strchr(d.reply.text, '%'));
	ck_assert_ptr_null(strchr(d.reply.text, '\n'));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("decisions");

	g_mime_init();	/* policy_sign decodes encoded-words with GMime */
	tcase_add_loop_test(tc, tls_version_strings, 0,
	    sizeof(versions) / sizeof(versions[0]));
	tcase_add_loop_test(tc, tls_refuse_rcpt, 0,
	    sizeof(rcpt_cases) / sizeof(rcpt_cases[0]));
	tcase_add_test(tc, tls_refuse_sender);
	tcase_add_test(tc, refusal_role);
	tcase_add_loop_test(tc, sign_decisions, 0,
	    sizeof(sign_cases) / sizeof(sign_cases[0]));
	tcase_add_test(tc, refusal_names_the_reason);
	tcase_add_test(tc, replies_are_safe_for_libmilter);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
