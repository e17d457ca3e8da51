/*
 * policy.h - the pure decisions of segel: which role a message has, whether
 * a session's TLS is good enough, whether a login may have mail signed, and
 * the SMTP reply for each refusal. No I/O, no libmilter: every function is
 * a function of its arguments, so unit tests build cases in three lines.
 */
#ifndef SEGEL_POLICY_H
#define SEGEL_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "certstore.h"
#include "conf.h"

/* What is known about the SMTP session when a decision is taken. */
struct sess_facts {
	bool local;		/* non-SMTP submission (sendmail command) */
	bool trusted_host;	/* client address in sign.trusted_hosts */
	const char *tls_version;	/* {tls_version}, NULL: no TLS */
	const char *login;	/* {auth_authen}, NULL/"": none */
};

/* An SMTP refusal: codes and a one-line text (English / Indonesian). */
struct reply {
	const char *rcode;	/* "530", "550", "451" */
	const char *xcode;	/* "5.7.0", ... */
	char text[512];
};

/*
 * The protocol of a {tls_version} value as Postfix or Sendmail send it
 * ("TLSv1.3", "TLSv1.2", "TLSv1", "TLSv1/SSLv3", "SSLv3"): 0x0300..0x0304,
 * 0 for NULL or "" (no TLS), -1 for an unknown value.
 */
int policy_tls_version(const char *);
/* True when the session's TLS is enough (or enforcement is off or local). */
bool policy_tls_ok(const struct conf *, const struct sess_facts *);

/*
 * RCPT TO: true, with r filled, when rcpt (raw or resolved, as above) is in
 * the domain and the session is not TLS enough. MAIL FROM / From: the same
 * for a sender in the domain.
 */
bool policy_tls_refuse_rcpt(const struct conf *, const struct sess_facts *,
    const char *rcpt, struct reply *r);
bool policy_tls_refuse_sender(const struct conf *, const struct sess_facts *,
    const char *sender, struct reply *r);

/*
 * The role a refusal before the message (plaintext, at MAIL or RCPT) is
 * logged with: "outbound" for a client that logged in or is a trusted
 * host (it sends as the organisation), else "inbound".
 */
const char *policy_session_role(const struct sess_facts *);

enum sign_action {
	SIGN_NO,		/* not outbound: treat as inbound */
	SIGN_YES,		/* sign with the sender's certificate */
	SIGN_PASS,		/* outbound, already signed/encrypted: untouched */
	SIGN_UNSIGNED,		/* outbound, on_no_cert=accept: pass unsigned */
	SIGN_REFUSE		/* refuse with reply */
};

struct sign_decision {
	enum sign_action action;
	const char *reason;	/* short, for logs and audit */
	struct reply reply;	/* SIGN_REFUSE */
};

/*
 * The outbound decision at end of message, from the message's From facts
 * (addr.h), whether the content is already S/MIME, and st, the certificate
 * status of addr_from_single(from) when that is in the domain.
 */
void policy_sign(const struct conf *, const struct sess_facts *,
    const struct from_facts *from, bool is_protected, enum cert_status st,
    struct sign_decision *out);

/* 451 4.7.1: the key of from in a PKCS#11 token did not sign (issue 15). */
void policy_token_error(const char *from, struct reply *r);
/* 451 4.3.0 (or 550 5.3.0 for on_error=reject) for internal failures. */
void policy_internal_error(const struct conf *, struct reply *);
/* 550 5.7.1 for verify.unsigned_own_domain = reject. */
void policy_unsigned_own(const struct conf *, const char *from, struct reply *);

#endif
