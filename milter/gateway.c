/*
 * gateway.c - the end-of-message decision (see gateway.h): strip forged
 * results, decide the role, sign or verify, and record it (audit, archive).
 *
 * Failure rule: when policy says sign, any failure (signing, archive, audit)
 * tempfails; mail is never passed on unsigned because something broke.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "archive.h"
#include "authres.h"
#include "gateway.h"
#include "hp.h"
#include "log.h"
#include "metrics.h"
#include "ocsp.h"
#include "outbound_signed.h"
#include "sigtime.h"
#include "p11.h"
#include "smime_sign.h"
#include "verify.h"

static void
plan_edit(struct plan *p, enum edit_op op, const char *name, int index,
    const char *value)
{
	struct edit *e;

	p->edits = xreallocarray(p->edits, p->n_edits + 1, sizeof(*p->edits));
	e = &p->edits[p->n_edits++];
	e->op = op;
	e->name = xstrdup(name);
	e->index = index;
	/* The MTA puts one space after the colon itself (no HDR_LEADSPC). */
	e->value = value ? xstrdup(value + strspn(value, " ")) : NULL;
}

void
plan_free(struct plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_edits; i++) {
		free(p->edits[i].name);
		free(p->edits[i].value);
	}
	free(p->edits);
	msgbuf_free(p->new_body);
	free(p->action);
	free(p->cert_serial);
	free(p->result);
	memset(p, 0, sizeof(*p));
}

static void
plan_refuse(struct plan *p, const struct reply *r, const char *action)
{
	p->verdict = r->rcode[0] == '4' ? V_TEMPFAIL : V_REJECT;
	p->reply = *r;
	free(p->action);
	p->action = xasprintf("refused: %s", action);
}

static void
plan_internal(struct plan *p, const struct conf *c, const char *what,
    bool signing)
{
	struct reply r;

	/* on_error=accept never lets mail that should be signed out unsigned. */
	if (c->on_error == ON_ERROR_ACCEPT && !signing) {
		free(p->action);
		p->action = xasprintf("accepted after error: %s", what);
		return;
	}
	policy_internal_error(c, &r);
	plan_refuse(p, &r, what);
}

static void
strip_forged(struct plan *p, const struct msgctx *m)
{
	size_t i;

	/* From the highest index down, so earlier indexes stay valid. */
	for (i = m->n_ar_ours; i > 0; i--)
		plan_edit(p, EDIT_CHANGE, "Authentication-Results",
		    m->ar_ours[i - 1], NULL);
}

/* One audit record; x: the archive copy it names (issue 13), or NULL. */
static int
audit_rec_ext(struct runtime *rt, const char *event, const char *qid,
    const struct msgctx *m, const char *role, const struct sess_facts *f,
    const char *serial, const char *result, const char *reason,
    const char *client, const char *unit, const struct audit_extra *x)
{
	const char *sender = addr_from_shown(&m->from);
	struct audit_rec r = { event, qid, m->message_id, role, sender,
	    f->login, serial, result, reason, client, unit };

	/* no address to name: the first From as written, as evidence */
	if (sender == NULL && m->from.n > 0)
		r.sender = m->from.field[0].value;
	if (rt->audit == NULL)
		return 0;
	return audit_write_ext(rt->audit, &r, x);
}

static int
audit_rec(struct runtime *rt, const char *event, const char *qid,
    const struct msgctx *m, const char *role, const struct sess_facts *f,
    const char *serial, const char *result, const char *reason,
    const char *client, const char *unit)
{
	return audit_rec_ext(rt, event, qid, m, role, f, serial, result,
	    reason, client, unit, NULL);
}

/*
 * The A-R a verified inbound copy of the signed message would carry, for
 * local recipients: pass, unless an inbound rule (inner From, ambiguous
 * MIME, From showing another address) lowers it (smime_verify_own).
 * *result: its name for the audit and the log.
 */
static char *
internal_authres(const struct conf *c, const struct msgctx *m,
    const struct cert_entry *e, const struct sign_out *out, char **result)
{
	struct verify_result r;
	const char *from = addr_from_signer(&m->from);
	char *hdrs = xasprintf("MIME-Version: 1.0\r\nContent-Type: %s\r\n",
	    out->content_type);
	char *v;

	memset(&r, 0, sizeof(r));
	r.result = AR_PASS;
	r.identifier = xstrdup(e->address);
	r.part = xstrdup("2");
	r.serial = xstrdup(e->serial_hex);
	r.issuer = e->issuer != NULL ? xstrdup(e->issuer) : NULL;
	r.comment = xasprintf("signature valid; signed by this gateway for %s",
	    e->subject_cn ? e->subject_cn : e->address);
	if (smime_verify_own(hdrs, out->body, from, &r) != 0) {
		r.result = AR_TEMPERROR;
		free(r.comment);
		r.comment = xstrdup("internal error while checking the signed "
		    "message");
	}
	v = authres_format(c->authserv_id, &r);
	*result = xstrdup(ar_result_name(r.result));
	verify_result_free(&r);
	free(hdrs);
	return v;
}

/* hdrs (freed) with "name: value" CRLF added at its end; caller frees. */
static char *
sign_hdrs_add(char *hdrs, const char *name, const char *value)
{
	char *v = xasprintf("%s%s: %s\r\n", hdrs, name, value);

	free(hdrs);
	return v;
}

/*
 * The archive copy of a message as it leaves (hdrs, body), named with the
 * SHA-256 of its bytes in *ax for its audit record (*apath: caller frees;
 * asha holds the hex). 0, or -1 after the tempfail is planned.
 */
static int
archive_copy(const struct conf *c, const char *qid, const struct msgctx *m,
    const char *hdrs, const struct msgbuf *body, char **apath,
    char asha[65], struct audit_extra *ax, struct plan *p)
{
	struct sbuf err;

	sbuf_init(&err);
	if (archive_store(c->archive_dir, time(NULL), qid, m->message_id, hdrs,
	    body, apath, &err) != 0 || archive_sha256(*apath, asha, &err) != 0) {
		log_msg(LOG_ERR, "%s: archive: %s", qid, err.s);
		plan_internal(p, c, "archive failed", true);
		sbuf_free(&err);
		return -1;
	}
	ax->archive = archive_relative(c->archive_dir, *apath);
	ax->archive_sha256 = asha;
	sbuf_free(&err);
	return 0;
}

/*
 * Date versus signingTime (sigtime.h): sets *no_time when the signature
 * must go without signingTime; returns the Date to add (now, the moment
 * of signingTime) or NULL. Caller frees.
 */
static char *
sign_date(const struct msgctx *m, const char *qid, bool *no_time)
{
	time_t now = time(NULL);
	enum sigtime_action st = sigtime_decide(m->n_date, m->date, now);

	*no_time = st == SIGTIME_OMIT;
	if (st != SIGTIME_KEEP)
		log_msg(LOG_INFO, "%s: signingTime: %s (Date: %s)", qid,
		    sigtime_action_name(st), m->date ? m->date : "none");
	return st == SIGTIME_ADD_DATE ? sigtime_format(now) : NULL;
}

/* smime_sign; a token key only under the token's use lock, and only
 * while the module is the one it was found in (p11.h). */
static int
sign_entity(const struct cert_entry *e, const struct sign_req *req,
    struct sign_out *out, struct sbuf *err)
{
	int r;

	if (e->uri == NULL)
		return smime_sign(req, out, err);
	if (p11_use_begin(e->p11_epoch) != 0) {
		sbuf_adds(err, "the token module was restarted since the key "
		    "was loaded");
		return -1;
	}
	r = smime_sign(req, out, err);
	p11_use_end();
	return r;
}

static void
sign_failed(const struct conf *c, const char *qid, const struct cert_entry *e,
    const struct sbuf *err, struct plan *p)
{
	struct reply tr;

	if (e->uri == NULL) {
		log_msg(LOG_ERR, "%s: signing failed: %s", qid,
		    err->s ? err->s : "?");
		plan_internal(p, c, "signing failed", true);
		return;
	}
	/* the token went away, or the object: the mail waits, and the next
	 * load starts the module afresh */
	log_msg(LOG_ERR, "%s: signing failed: the key of %s in the PKCS#11 "
	    "token did not sign (%s): tempfail; reload (SIGUSR1) once the "
	    "token is back", qid, e->address, err->s ? err->s : "?");
	p11_trouble();
	policy_token_error(e->address, &tr);
	plan_refuse(p, &tr, "token key failed");
}

static void
do_sign(struct runtime *rt, const struct sess_facts *f, struct msgctx *m,
    const char *qid, const char *client, const struct cert_entry *e,
    struct plan *p)
{
	const struct conf *c = rt->conf;
	struct sign_req req = { m->content_headers.s ? m->content_headers.s : "",
	    m->body, c->footer, e, c->tmp_dir, c->memory_threshold, false, NULL };
	struct sign_out out = { NULL, NULL };
	struct audit_extra ax = { NULL, NULL, NULL, NULL };
	struct sbuf err;
	char *hdrs = NULL, *ar, *date, *apath = NULL, asha[65], *hp = NULL;
	double t0;
	size_t i;

	sbuf_init(&err);
	p->cert_serial = xstrdup(e->serial_hex);
	date = sign_date(m, qid, &req.no_signing_time);
	if (c->header_protection)	/* RFC 9788: Date as the reader sees it */
		req.protected_headers = hp = hp_collect(m->headers.s, date);
	t0 = metrics_clock();
	if (sign_entity(e, &req, &out, &err) != 0) {
		sign_failed(c, qid, e, &err, p);
		goto out;
	}
	metrics_signed(t0);
	if (c->archive_dir != NULL) {
		hdrs = msgctx_signed_headers(m, out.content_type);
		if (date != NULL)
			hdrs = sign_hdrs_add(hdrs, "Date", date);
		if (archive_copy(c, qid, m, hdrs, out.body, &apath, asha, &ax,
		    p) != 0)
			goto out;
	}
	if (audit_rec_ext(rt, "sign", qid, m, p->role, f, e->serial_hex,
	    "signed", NULL, client, e->unit, &ax) != 0) {
		log_msg(LOG_ERR, "%s: audit log write failed: %m", qid);
		plan_internal(p, c, "audit log write failed", true);
		goto out;
	}
	for (i = m->n_content_refs; i > 0; i--)
		plan_edit(p, EDIT_CHANGE, m->content_refs[i - 1].name,
		    m->content_refs[i - 1].index, NULL);
	/* Date = now = signingTime, so Thunderbird's hour rule holds. */
	if (date != NULL)
		plan_edit(p, EDIT_ADD, "Date", 0, date);
	if (!m->has_mime_version)
		plan_edit(p, EDIT_ADD, "MIME-Version", 0, "1.0");
	plan_edit(p, EDIT_ADD, "Content-Type", 0, out.content_type);
	if (m->n_rcpt_domain > 0) {
		ar = internal_authres(c, m, e, &out, &p->result);
		plan_edit(p, EDIT_INSERT_TOP, "Authentication-Results", 0, ar);
		free(ar);
		p->role = "internal";
	}
	p->new_body = out.body;
	out.body = NULL;
	p->action = xstrdup("signed");
out:
	sign_out_free(&out);
	free(hdrs);
	free(apath);
	free(date);
	free(hp);
	sbuf_free(&err);
}

/*
 * The Subject after any leading tags of ours, in any case: a sender may
 * write the pass tag himself, so no tag is left to stand that segel did not
 * put there for this message's result.
 */
static const char *
subject_untagged(const struct conf *c, const char *s)
{
	const char *t;
	bool again = true;
	size_t i, n;

	while (again) {
		again = false;
		s += strspn(s, " \t");
		for (i = 0; i < CONF_NTAGS; i++) {
			if ((t = c->subject_tag[i]) == NULL ||
			    (n = strlen(t)) == 0 || strncasecmp(s, t, n) != 0)
				continue;
			s += n;
			again = true;
		}
	}
	return s;
}

/* Subject: our tag for res, if any, before the untagged Subject. */
static void
tag_subject(const struct conf *c, const struct msgctx *m,
    enum ar_result res, const char *hp_subject, struct plan *p)
{
	const char *tag = res < CONF_NTAGS ? c->subject_tag[res] : NULL;
	const char *rest;
	char *v;

	/* RFC 9788: a tag goes before the protected Subject, the one the
	 * sender signed; without a tag the Subject is left as it came */
	if (hp_subject != NULL && tag != NULL && m->subject != NULL) {
		rest = subject_untagged(c, hp_subject);
		v = xasprintf("%s%s%s", tag, *rest != '\0' ? " " : "", rest);
		if (strcmp(v, m->subject) != 0)
			plan_edit(p, EDIT_CHANGE, "Subject", 1, v);
		free(v);
		return;
	}
	if (m->subject == NULL) {
		if (tag != NULL)
			plan_edit(p, EDIT_ADD, "Subject", 0, tag);
		return;
	}
	rest = subject_untagged(c, m->subject);
	v = tag == NULL ? xstrdup(rest) :
	    xasprintf("%s%s%s", tag, *rest != '\0' ? " " : "", rest);
	if (strcmp(v, m->subject) != 0)
		plan_edit(p, EDIT_CHANGE, "Subject", 1, v);
	free(v);
}

static void
unsigned_own(struct runtime *rt, const char *from, struct verify_result *res,
    struct plan *p)
{
	const struct conf *c = rt->conf;
	struct reply r;

	if (c->unsigned_own_domain == UNSIGNED_OWN_REJECT) {
		policy_unsigned_own(c, from, &r);
		plan_refuse(p, &r, "unsigned mail from own domain");
		return;
	}
	if (c->unsigned_own_domain == UNSIGNED_OWN_TAG) {
		free(res->comment);
		res->comment = xasprintf("not signed, although all mail of %s "
		    "is signed", c->domain);
		free(res->identifier);
		res->identifier = xstrdup(from);
	}
}

static void
do_verify(struct runtime *rt, const struct sess_facts *f, struct msgctx *m,
    const char *qid, const char *client, struct plan *p)
{
	const struct conf *c = rt->conf;
	struct verify_result res;
	/* The signer is bound to the one address From shows, and only when
	 * it shows no other (addr.h); mail claims our domain when a reader
	 * could take any address of any From field for one of ours. */
	const char *from = addr_from_signer(&m->from);
	const char *own_addr = addr_from_ours(&m->from);
	char *ar;
	bool own = own_addr != NULL && !f->local;

	memset(&res, 0, sizeof(res));
	if (!c->verify_enabled) {
		p->action = xstrdup("passed (verification off)");
		goto out;
	}
	if (smime_verify(rt->pki, m->headers.s ? m->headers.s : "", m->body,
	    from, time(NULL), &res) != 0) {
		res.result = AR_TEMPERROR;	/* its own words, when it has */
		if (res.comment == NULL)	/* some (a stale CRL, pki.h) */
			res.comment = xstrdup("internal error while verifying");
	}
	if (res.result == AR_SKIP ||
	    (res.result == AR_NONE && !own) ||
	    (res.result == AR_NONE && c->unsigned_own_domain == UNSIGNED_OWN_NONE)) {
		tag_subject(c, m, AR_SKIP, NULL, p);	/* only removes forged tags */
		p->action = xstrdup(res.result == AR_SKIP ?
		    "passed (encrypted, cannot be checked)" : "passed (unsigned)");
		goto out;
	}
	if (res.result == AR_NONE) {
		unsigned_own(rt, own_addr, &res, p);
		if (p->verdict != V_CONTINUE)
			goto record;
	}
	ar = authres_format(c->authserv_id, &res);
	plan_edit(p, EDIT_INSERT_TOP, "Authentication-Results", 0, ar);
	free(ar);
	tag_subject(c, m, res.result, res.hp_subject, p);
	if (res.hp_from != NULL || res.hp_subject != NULL)
		log_msg(LOG_INFO, "%s: protected header (RFC 9788): From: %s "
		    "Subject: %s", qid, res.hp_from ? res.hp_from : "none",
		    res.hp_subject ? res.hp_subject : "none");
	p->action = xstrdup("verified");
record:
	p->result = xstrdup(ar_result_name(res.result));
	p->cert_serial = res.serial ? xstrdup(res.serial) : NULL;
	if (audit_rec(rt, "verify", qid, m, "inbound", f, res.serial,
	    p->result, res.comment, client, NULL) != 0) {
		log_msg(LOG_ERR, "%s: audit log write failed: %m", qid);
		plan_internal(p, c, "audit log write failed", false);
	}
out:
	verify_result_free(&res);
}

/*
 * Outbound mail its sender's client signed or encrypted (issue 13,
 * outbound_signed.h): refused unless the signature holds for the sender;
 * else passed on unchanged, archived and audited like mail segel signs.
 */
static void
do_checked(struct runtime *rt, const struct sess_facts *f, struct msgctx *m,
    const char *qid, const char *client, struct plan *p)
{
	const struct conf *c = rt->conf;
	const char *from = addr_from_signer(&m->from);
	bool enc;
	struct osig_result o;
	struct audit_extra ax = { NULL, NULL, NULL, NULL };
	struct sbuf err;
	char *apath = NULL, asha[65];

	sbuf_init(&err);
	osig_check(rt, m, from, time(NULL), &o);
	p->cert_serial = o.serial != NULL ? xstrdup(o.serial) : NULL;
	enc = o.verdict == OSIG_ENCRYPTED;
	if (o.verdict == OSIG_ERROR) {
		log_msg(LOG_ERR, "%s: %s", qid, o.reason);
		plan_internal(p, c, o.reason, true);
		goto out;
	}
	if (o.verdict == OSIG_REFUSE) {
		plan_refuse(p, &o.reply, o.reason);
		if (audit_rec(rt, "refuse", qid, m, p->role, f, o.serial,
		    "550 5.7.1", o.reason, client, o.unit) != 0)
			log_msg(LOG_ERR, "%s: audit log write failed: %m", qid);
		goto out;
	}
	if (c->archive_dir != NULL && archive_copy(c, qid, m, m->headers.s ?
	    m->headers.s : "", m->body, &apath, asha, &ax, p) != 0)
		goto out;
	if (audit_rec_ext(rt, enc ? "pass" : "check", qid, m, p->role, f,
	    o.serial, enc ? "encrypted" : "checked", o.reason, client, o.unit,
	    &ax) != 0) {
		log_msg(LOG_ERR, "%s: audit log write failed: %m", qid);
		plan_internal(p, c, "audit log write failed", true);
		goto out;
	}
	p->action = xstrdup(enc ? "passed (encrypted by the client, archived)" :
	    "checked");
	if (!enc && m->n_rcpt_domain > 0 && o.authres != NULL) {
		/* colleagues get the result an inbound copy would carry */
		plan_edit(p, EDIT_INSERT_TOP, "Authentication-Results", 0,
		    o.authres);
		p->role = "internal";
		p->result = xstrdup("pass");
	}
out:
	osig_free(&o);
	free(apath);
	sbuf_free(&err);
}

static void
gateway_outbound(struct runtime *rt, const struct sess_facts *f,
    struct msgctx *m, const char *qid, const char *client,
    const struct sign_decision *d, const struct cert_entry *e, struct plan *p)
{
	p->role = "outbound";
	switch (d->action) {
	case SIGN_YES:
		do_sign(rt, f, m, qid, client, e, p);
		return;
	case SIGN_REFUSE:
		plan_refuse(p, &d->reply, d->reason);
		break;
	case SIGN_PASS:
		do_checked(rt, f, m, qid, client, p);
		return;
	case SIGN_UNSIGNED:
		p->action = xasprintf("passed unsigned (certificate %s, "
		    "on_no_cert=accept)", d->reason);
		break;
	case SIGN_NO:
		return;
	}
	if (e != NULL && e->serial_hex != NULL)
		p->cert_serial = xstrdup(e->serial_hex);
	if (audit_rec(rt, d->action == SIGN_REFUSE ? "refuse" : "pass", qid, m,
	    p->role, f, p->cert_serial, p->action, d->reason, client,
	    e ? e->unit : NULL) != 0) {
		log_msg(LOG_ERR, "%s: audit log write failed: %m", qid);
		if (p->verdict == V_CONTINUE)
			plan_internal(p, rt->conf, "audit log write failed",
			    true);
	}
}

void
gateway_eom(struct runtime *rt, const struct sess_facts *f, struct msgctx *m,
    const char *qid, const char *client, struct plan *p)
{
	const struct conf *c = rt->conf;
	const struct cert_entry *e = NULL;
	struct sign_decision d;
	enum cert_status st = CERT_NONE;
	const char *from = addr_from_single(&m->from);
	struct reply r;

	memset(p, 0, sizeof(*p));
	p->role = "inbound";
	ocsp_message_begin(rt->pki);
	if (m->state == MSG_TOO_BIG) {
		snprintf(r.text, sizeof(r.text), "Message or header too large "
		    "for the mail gateway / Ukuran surel atau kepalanya melebihi "
		    "batas gerbang surel");
		r.rcode = "552";
		r.xcode = "5.3.4";
		plan_refuse(p, &r, "too large");
		return;
	}
	if (m->state == MSG_IO_ERROR) {
		log_msg(LOG_ERR, "%s: cannot spool the message: %m", qid);
		plan_internal(p, c, "spool failed", true);
		return;
	}
	strip_forged(p, m);
	if (rt->store != NULL && addr_in_domain(from, c->domain))
		st = certstore_lookup(rt->store, from, time(NULL), &e);
	if (st == CERT_OK)
		st = ocsp_signing_status(rt->pki, e, qid);
	/* Already protected only when unambiguous: with two Content-Type
	 * fields the mail is signed rather than passed on unsigned. */
	policy_sign(c, f, &m->from, m->n_content_type == 1 &&
	    smime_is_protected(m->content_type), st, &d);
	if (d.action != SIGN_NO)
		gateway_outbound(rt, f, m, qid, client, &d, e, p);
	else
		do_verify(rt, f, m, qid, client, p);
}
