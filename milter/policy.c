/*
 * policy.c - pure decisions: roles, TLS sufficiency, who may be signed for,
 * and the refusal texts (English then Indonesian). See policy.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"
#include "util.h"

int
policy_tls_version(const char *v)
{
	if (v == NULL || v[0] == '\0')
		return 0;
	/* Sendmail's older OpenSSL builds say "TLSv1/SSLv3" for TLS 1.0. */
	if (strcasecmp(v, "TLSv1/SSLv3") == 0)
		return 0x0301;
	if (strcasecmp(v, "SSLv3") == 0)
		return 0x0300;
	if (strcasecmp(v, "TLSv1") == 0)
		return 0x0301;
	if (strncasecmp(v, "TLSv1.", 6) == 0 && v[6] >= '0' && v[6] <= '9' &&
	    v[7] == '\0')
		return 0x0301 + (v[6] - '0');
	return -1;
}

bool
policy_tls_ok(const struct conf *c, const struct sess_facts *f)
{
	int v;

	if (!c->tls_enforce || f->local)
		return true;
	v = policy_tls_version(f->tls_version);
	return v > 0 && v >= c->tls_min_version;
}

static void
reply_set(struct reply *r, const char *rcode, const char *xcode,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
reply_set(struct reply *r, const char *rcode, const char *xcode,
    const char *fmt, ...)
{
	va_list ap;
	char *p;

	r->rcode = rcode;
	r->xcode = xcode;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	/* libmilter drops a reply containing a lone '%' or line breaks. */
	for (p = r->text; *p != '\0'; p++)
		if (*p == '%' || *p == '\r' || *p == '\n')
			*p = ' ';
}

static const char *
tls_name(int v)
{
	switch (v) {
	case 0x0301: return "1.0";
	case 0x0302: return "1.1";
	case 0x0303: return "1.2";
	case 0x0304: return "1.3";
	}
	return "1.2";
}

static void
tls_reply(const struct conf *c, const struct sess_facts *f, struct reply *r)
{
	const char *min = tls_name(c->tls_min_version);

	if (policy_tls_version(f->tls_version) == 0)
		reply_set(r, "530", "5.7.0", "Must issue a STARTTLS command "
		    "first (TLS %s or newer) for mail of %s / Wajib menggunakan "
		    "TLS (STARTTLS) versi %s atau lebih baru untuk surel %s",
		    min, c->domain, min, c->domain);
	else
		reply_set(r, "530", "5.7.0", "TLS %s or newer required for "
		    "mail of %s, this session uses %s / Wajib TLS versi %s atau "
		    "lebih baru untuk surel %s", min, c->domain,
		    f->tls_version, min, c->domain);
}

bool
policy_tls_refuse_rcpt(const struct conf *c, const struct sess_facts *f,
    const char *rcpt, struct reply *r)
{
	if (!addr_env_in_domain(rcpt, c->domain) || policy_tls_ok(c, f))
		return false;
	tls_reply(c, f, r);
	return true;
}

bool
policy_tls_refuse_sender(const struct conf *c, const struct sess_facts *f,
    const char *sender, struct reply *r)
{
	if (!addr_env_in_domain(sender, c->domain) || policy_tls_ok(c, f))
		return false;
	tls_reply(c, f, r);
	return true;
}

static const char *
status_id_id(enum cert_status st)
{
	switch (st) {
	case CERT_OK:			return "baik";
	case CERT_NONE:			return "tidak ada";
	case CERT_EXPIRED:		return "kedaluwarsa";
	case CERT_NOT_YET_VALID:	return "belum berlaku";
	case CERT_REVOKED:		return "dicabut";
	case CERT_UNTRUSTED:		return "tidak tepercaya";
	case CERT_BROKEN:		return "rusak";
	case CERT_UNAVAILABLE:		return "kunci tidak tersedia";
	case CERT_CRL_STALE:		return "status pencabutan tidak diketahui (CRL kedaluwarsa)";
	}
	return "rusak";
}

static void
sign_refuse(struct sign_decision *d, const char *reason)
{
	d->action = SIGN_REFUSE;
	d->reason = reason;
}

/* The certificate part of the outbound decision. */
static void
policy_sign_cert(const struct conf *c, const char *from, enum cert_status st,
    struct sign_decision *d)
{
	if (st == CERT_OK) {
		d->action = SIGN_YES;
		d->reason = "signed";
		return;
	}
	d->reason = cert_status_name(st);
	/* Pasal 18 (3): a revoked certificate is never used, whatever the
	 * setting; the mail is refused rather than sent unsigned. A key whose
	 * token is away is a passing fault: the mail waits for it, whatever
	 * on_no_cert says (neither bounced nor sent unsigned); so does a
	 * certificate whose CRL is out of date (pki.crl_grace). */
	if (st != CERT_REVOKED && (st == CERT_UNAVAILABLE ||
	    st == CERT_CRL_STALE ||
	    c->on_no_cert == NOCERT_TEMPFAIL)) {
		sign_refuse(d, cert_status_name(st));
		reply_set(&d->reply, "451", "4.7.1", "No usable certificate "
		    "for %s yet: %s; try again later / Sertifikat elektronik "
		    "untuk %s belum dapat dipakai: %s; coba lagi nanti", from,
		    cert_status_name(st), from, status_id_id(st));
	} else if (st == CERT_REVOKED || c->on_no_cert == NOCERT_REJECT) {
		sign_refuse(d, cert_status_name(st));
		reply_set(&d->reply, "550", "5.7.1", "No usable certificate "
		    "for %s: %s; ask the registration officer (OP) / Sertifikat "
		    "elektronik untuk %s tidak dapat dipakai: %s; hubungi "
		    "petugas OP", from, cert_status_name(st), from, status_id_id(st));
	} else
		d->action = SIGN_UNSIGNED;
}

void
policy_sign(const struct conf *c, const struct sess_facts *f,
    const struct from_facts *ff, bool is_protected, enum cert_status st,
    struct sign_decision *d)
{
	bool authed = f->login != NULL && f->login[0] != '\0';
	const char *from = addr_from_single(ff);

	memset(d, 0, sizeof(*d));
	d->action = SIGN_NO;
	d->reason = "inbound";
	if (!c->sign_enabled || (!authed && !f->trusted_host))
		return;
	if (from == NULL) {
		/* Several From addresses, or none: never signed. */
		if (authed) {
			sign_refuse(d, "not exactly one From address");
			reply_set(&d->reply, "550", "5.7.1", "A message must "
			    "have exactly one From address to be signed / Surel "
			    "harus memiliki tepat satu alamat pengirim (From) "
			    "untuk ditandatangani");
		}
		return;
	}
	if (!addr_in_domain(from, c->domain))
		return;
	if (authed && !conf_login_may_send(c, f->login, from)) {
		sign_refuse(d, "login may not send as From");
		reply_set(&d->reply, "550", "5.7.1", "Login %s may not send as "
		    "%s / Akun %s tidak berhak mengirim sebagai %s", f->login,
		    from, f->login, from);
		return;
	}
	if (addr_from_signer(ff) == NULL) {
		/* Not signed for anyone; refused when a login can be told. */
		if (authed) {
			sign_refuse(d, "From shows another address");
			reply_set(&d->reply, "550", "5.7.1", "The From field "
			    "may show no address but %s / Kolom pengirim (From) "
			    "tidak boleh menampilkan alamat selain %s", from, from);
		}
		return;
	}
	if (is_protected) {
		d->action = SIGN_PASS;
		d->reason = "already signed or encrypted";
		return;
	}
	policy_sign_cert(c, from, st, d);
}

void
policy_internal_error(const struct conf *c, struct reply *r)
{
	if (c != NULL && c->on_error == ON_ERROR_REJECT)
		reply_set(r, "550", "5.3.0", "The mail gateway could not "
		    "process this message / Gerbang surel tidak dapat memproses "
		    "surel ini");
	else
		reply_set(r, "451", "4.3.0", "Temporary failure in the mail "
		    "gateway, try again later / Gangguan sementara pada gerbang "
		    "surel, silakan coba lagi nanti");
}

/* A token key that stopped signing: passing, whatever on_error says. */
void
policy_token_error(const char *from, struct reply *r)
{
	reply_set(r, "451", "4.7.1", "The signing key for %s cannot be used "
	    "now (its security token); try again later / Kunci tanda tangan "
	    "untuk %s belum dapat dipakai; coba lagi nanti", from, from);
}

void
policy_unsigned_own(const struct conf *c, const char *from, struct reply *r)
{
	reply_set(r, "550", "5.7.1", "Mail from %s must be S/MIME signed; "
	    "unsigned mail claiming this domain is refused / Surel dari %s "
	    "wajib ditandatangani secara elektronik; surel tanpa tanda tangan "
	    "atas nama domain %s ditolak", from, from, c->domain);
}

const char *
policy_session_role(const struct sess_facts *f)
{
	return (f->login != NULL && f->login[0] != '\0') || f->trusted_host ?
	    "outbound" : "inbound";
}
