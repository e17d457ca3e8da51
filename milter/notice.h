/*
 * notice.h - notices to the people a certificate concerns (Perwali Pasal
 * 18(4), 19(2)): its owner before it expires and when it is revoked, and
 * the registration officer (lifecycle.officer) each time.
 *
 * A notice is a plain-text mail in Indonesian and English, From the
 * officer (or postmaster@domain when none is set), handed to the local MTA
 * by lifecycle.sendmail ("sendmail -t -i": recipients from the header).
 * When the officer's address has a usable certificate whose key is a file
 * in the store, segelctl signs the notice itself with segel's signing code
 * (footer, 7-bit, detached CMS) before handing it over: it does not depend
 * on the daemon trusting local mail (sign.trusted_hosts without loopback),
 * and the daemon passes it on as already signed. A key in a PKCS#11 token
 * is the daemon's alone: such an officer's notices are signed by the
 * daemon only when it signs local mail.
 *
 * Expiry notices: one per certificate (serial) and threshold of
 * lifecycle.notify_days, the smallest threshold not below the days left;
 * lifecycle.state_file remembers which were sent ("SERIAL ADDRESS DAYS
 * TIME", tab-separated, replaced atomically after each notice), so no
 * notice goes out twice and a failed one is tried again on the next run.
 */
#ifndef SEGEL_NOTICE_H
#define SEGEL_NOTICE_H

#include <stdio.h>
#include <time.h>

#include "certstore.h"
#include "conf.h"
#include "util.h"

/*
 * Hands one message (header and body, LF line ends) to lifecycle.sendmail.
 * The composers sign it first, as segel signs (smime_sign()), when the
 * officer has a usable certificate with a file key in the store cs.
 * 0, or -1 with the reason in err.
 */
int notice_send(const struct conf *c, const char *msg, struct sbuf *err);

/*
 * The expiry notices due at now for the store cs, and a summary to the
 * officer of those sent. What was done is printed to out. Returns the
 * number of notices that could not be sent (0: all well).
 */
int notice_expiring(const struct conf *c, const struct certstore *cs,
    time_t now, FILE *out);

/* The revocation notice for e to its owner, a copy to the officer. */
int notice_revoked(const struct conf *c, const struct certstore *cs,
    const struct cert_entry *e, const char *reason, time_t now,
    struct sbuf *err);

/*
 * For tests and the summary: the threshold of notify_days due for a
 * certificate ending at not_after (0: none), and its whole days left.
 */
int notice_threshold(const struct conf *c, time_t not_after, time_t now,
    long *days_left);

#endif
