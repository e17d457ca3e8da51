/*
 * outbound_signed.c - the check of outbound mail its sender's client
 * already signed or encrypted (see outbound_signed.h).
 *
 * Public: osig_check(), osig_free().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "authres.h"
#include "certstore.h"
#include "outbound_signed.h"
#include "verify.h"

void
osig_free(struct osig_result *o)
{
	if (o == NULL)
		return;
	free(o->reason);
	free(o->serial);
	free(o->unit);
	free(o->authres);
	memset(o, 0, sizeof(*o));
}

/* OSIG_REFUSE with 550 5.7.1 and the formatted text; reason kept. */
static void
osig_refuse(struct osig_result *o, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
osig_refuse(struct osig_result *o, const char *reason, const char *fmt, ...)
{
	va_list ap;

	o->verdict = OSIG_REFUSE;
	o->reply.rcode = "550";
	o->reply.xcode = "5.7.1";
	va_start(ap, fmt);
	vsnprintf(o->reply.text, sizeof(o->reply.text), fmt, ap);
	va_end(ap);
	free(o->reason);
	o->reason = xstrdup(reason);
}

/*
 * A certificate that cannot be used, in the words policy.c uses when segel
 * cannot sign (cert_status_name, and the Indonesian beside it), so that a
 * sender reads the same refusal whoever signed.
 */
static void
osig_refuse_cert(struct osig_result *o, const char *from, enum cert_status st)
{
	const char *en = cert_status_name(st), *id;
	char *why;

	switch (st) {
	case CERT_EXPIRED:		id = "kedaluwarsa"; break;
	case CERT_NOT_YET_VALID:	id = "belum berlaku"; break;
	case CERT_REVOKED:		id = "dicabut"; break;
	case CERT_UNTRUSTED:		id = "tidak tepercaya"; break;
	default:			id = "rusak"; break;
	}
	why = xasprintf("client-signed: certificate %s", en);
	osig_refuse(o, why, "No usable certificate for %s: %s; ask the "
	    "registration officer (OP) / Sertifikat elektronik untuk %s tidak "
	    "dapat dipakai: %s; hubungi petugas OP", from, en, from, id);
	free(why);
}

/* The certificate status a failed chain's comment names, or CERT_OK when
 * the failure is not the certificate's (an altered message). */
static enum cert_status
osig_status_of(const char *comment)
{
	if (comment == NULL)
		return CERT_OK;
	if (strstr(comment, "revoked") != NULL)
		return CERT_REVOKED;
	if (strstr(comment, "expired") != NULL)
		return CERT_EXPIRED;
	if (strstr(comment, "not yet valid") != NULL)
		return CERT_NOT_YET_VALID;
	if (strstr(comment, "trusted CA") != NULL ||
	    strstr(comment, "not valid") != NULL)
		return CERT_UNTRUSTED;
	return CERT_OK;
}

/* The subject's OU of x, or NULL (for the audit's per-unit report). */
static char *
osig_unit(X509 *x)
{
	char buf[256];

	if (x == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_organizationalUnitName, buf, sizeof(buf)) <= 0)
		return NULL;
	return xstrdup(buf);
}

/*
 * The outbound rules beyond a verified pass: valid at this moment, and not
 * in the store's revoked.list. 0 when they hold; else o is filled.
 */
static int
osig_outbound_rules(const struct conf *c, X509 *x, const char *from,
    time_t now, struct osig_result *o)
{
	char *why = NULL;
	int r;

	if (x == NULL) {
		o->verdict = OSIG_ERROR;
		o->reason = xstrdup("client-signed: signer certificate not kept");
		return -1;
	}
	if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0) {
		osig_refuse_cert(o, from, CERT_EXPIRED);
		return -1;
	}
	if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0) {
		osig_refuse_cert(o, from, CERT_NOT_YET_VALID);
		return -1;
	}
	if (c->cert_dir == NULL)
		return 0;
	if ((r = certstore_local_find(c->cert_dir, x, &why)) < 0) {
		o->verdict = OSIG_ERROR;
		o->reason = xstrdup("client-signed: the store's revoked.list "
		    "cannot be read");
		return -1;
	}
	free(why);
	if (r == 1) {
		osig_refuse_cert(o, from, CERT_REVOKED);
		return -1;
	}
	return 0;
}

/* A verification result that is not a pass, as a refusal or an error. */
static void
osig_not_pass(const struct verify_result *res, const char *from,
    struct osig_result *o)
{
	const char *c = res->comment != NULL ? res->comment : "not valid";
	enum cert_status st;
	char *why = xasprintf("client-signed: %s", c);

	switch (res->result) {
	case AR_TEMPERROR:
		o->verdict = OSIG_ERROR;
		o->reason = why;
		return;
	case AR_FAIL:
		if ((st = osig_status_of(c)) != CERT_OK) {
			osig_refuse_cert(o, from, st);
			break;
		}
		osig_refuse(o, why, "The signature of this message does not "
		    "match its content; send it again / Tanda tangan surel ini "
		    "tidak cocok dengan isinya; kirim ulang");
		break;
	case AR_POLICY:
		if (res->identifier != NULL && strstr(c, "not the From") != NULL) {
			osig_refuse(o, why, "The message is signed by %s, not "
			    "by %s / Surel ditandatangani oleh %s, bukan oleh %s",
			    res->identifier, from, res->identifier, from);
			break;
		}
		/* FALLTHROUGH */
	default:
		osig_refuse(o, why, "The signature of this message cannot be "
		    "accepted: %s / Tanda tangan surel ini tidak dapat "
		    "diterima: %s", c, c);
		break;
	}
	free(why);
}

void
osig_check(const struct runtime *rt, const struct msgctx *m,
    const char *from, time_t now, struct osig_result *o)
{
	struct verify_result res;

	memset(o, 0, sizeof(*o));
	memset(&res, 0, sizeof(res));
	if (from == NULL) {	/* policy_sign refuses this before */
		osig_refuse(o, "client-signed: no single From address",
		    "A message must have exactly one From address / Surel "
		    "harus memiliki tepat satu alamat pengirim (From)");
		return;
	}
	if (smime_verify(rt->pki, m->headers.s ? m->headers.s : "", m->body,
	    from, now, &res) != 0 && res.result != AR_TEMPERROR)
		res.result = AR_TEMPERROR;
	if (res.serial != NULL)
		o->serial = xstrdup(res.serial);
	o->unit = osig_unit(res.signer_cert);
	if (res.result == AR_SKIP) {
		o->verdict = OSIG_ENCRYPTED;
		o->reason = xstrdup("client-encrypted, cannot be checked");
	} else if (res.result == AR_NONE) {
		/* a Content-Type that says signed over content that is not */
		osig_refuse(o, "client-signed: no signature found",
		    "The message says it is signed but carries no signature / "
		    "Surel mengaku bertanda tangan tetapi tidak memuat tanda "
		    "tangan");
	} else if (res.result != AR_PASS)
		osig_not_pass(&res, from, o);
	else if (osig_outbound_rules(rt->conf, res.signer_cert, from, now,
	    o) == 0) {
		o->verdict = OSIG_CHECKED;
		o->reason = xstrdup(res.comment != NULL ? res.comment :
		    "signature valid");
		o->authres = authres_format(rt->conf->authserv_id, &res);
	}
	verify_result_free(&res);
}
