/*
 * outbound_signed.h - outbound mail that its sender's own client
 * (Thunderbird, Outlook) already signed or encrypted (issue 13 part 2).
 *
 * Such mail is not signed again, and it is not passed on unchecked either:
 * the signature is verified as segel verifies incoming mail (smime_verify:
 * intact, chain to pki.trust_file, unrevoked by pki.crl_dir and by CRLs in
 * the message, key usage, SHA-256 or better) with these outbound rules on
 * top: the signer's certificate must name the From address (which
 * policy_sign has already bound to the login: login = From, or login_map);
 * it must be valid now (no grace for mail in transit: it is leaving now,
 * Pasal 19) and not listed in the store's revoked.list (segelctl revoke,
 * Pasal 18 (3)). Otherwise the mail is refused with 550 5.7.1 and a reason
 * in English and Indonesian, as when segel cannot sign; an internal
 * failure tempfails. Encrypted mail cannot be checked (no key): it is
 * passed on, and archived and audited as encrypted.
 *
 * No libmilter and no I/O here: the caller (gateway.c) archives, audits
 * and logs.
 */
#ifndef SEGEL_OUTBOUND_SIGNED_H
#define SEGEL_OUTBOUND_SIGNED_H

#include <time.h>

#include "msgctx.h"
#include "policy.h"
#include "runtime.h"

enum osig_verdict {
	OSIG_CHECKED,		/* signature valid: pass it on */
	OSIG_ENCRYPTED,		/* cannot be checked: pass it on */
	OSIG_REFUSE,		/* reply holds the 550 5.7.1 */
	OSIG_ERROR		/* internal failure: tempfail */
};

struct osig_result {
	enum osig_verdict verdict;
	struct reply reply;	/* OSIG_REFUSE */
	char *reason;		/* plain words, for the log and audit */
	char *serial;		/* signer's serial (hex), or NULL */
	char *unit;		/* signer's OU, or NULL */
	char *authres;		/* OSIG_CHECKED: the Authentication-Results
				   value (smime=pass) for local recipients */
};

/*
 * The check of a message m from the From address from (normalized, as
 * policy_from_address gives it; NULL when From shows no single address)
 * at time now. Fills out (osig_free).
 */
void osig_check(const struct runtime *rt, const struct msgctx *m,
    const char *from, time_t now, struct osig_result *out);
void osig_free(struct osig_result *);

#endif
