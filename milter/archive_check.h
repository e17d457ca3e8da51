/*
 * archive_check.h - the archive held against the audit chain (issue 13).
 *
 * Every audit record of an archived message names its file (relative to
 * archive.dir) and the SHA-256 of its bytes. archive_check() reports, file
 * by file: altered (hash differs), missing, present but named by no
 * record; and, given a pki, verifies each intact file's signature again as
 * of the time of its record (smime_verify with `now` set to it, which sets
 * X509_VERIFY_PARAM's time): a certificate that has expired since still
 * passes, one that was not valid then does not.
 */
#ifndef SEGEL_ARCHIVE_CHECK_H
#define SEGEL_ARCHIVE_CHECK_H

#include <stdbool.h>

#include "conf.h"
#include "pki.h"
#include "util.h"

struct archive_state {
	long recorded;		/* records that name a file */
	long ok;		/* present with the recorded hash */
	long altered, missing, unrecorded;
	long sig_ok;		/* signature valid at its signing time */
	long sig_bad;		/* not valid then (or unreadable) */
	long revoked_since;	/* intact, but its certificate is on a CRL */
};

/* True when st shows anything an auditor must look at. */
bool archive_state_bad(const struct archive_state *st);

/*
 * Checks c->archive_dir against c->audit_file (and its rotations). Lines
 * ("ALTERED path ...") go to out, problems only unless all. pki NULL: no
 * signature verification. 0 when done (st filled); -1 with err set when the
 * audit log or the archive folder cannot be read.
 */
int archive_check(const struct conf *c, const struct pki *pki, bool all,
    struct archive_state *st, struct sbuf *out, struct sbuf *err);

/* The one-line summary of st for dir into out. */
void archive_state_line(const char *dir, const struct archive_state *st,
    struct sbuf *out);

#endif
