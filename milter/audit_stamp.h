/*
 * audit_stamp.h - the RFC 3161 stamps in the audit chain (issue 13).
 *
 * `segelctl audit stamp` appends a record {"event":"stamp", "tsa_token":
 * base64 TimeStampToken, "tsa_time": its genTime} whose token's imprint is
 * the chain's head when it asked. audit_stamps_check() walks the chain and
 * checks each stamp: the token valid under the TSA trust file at its
 * genTime; its imprint the hash of a record written since the previous
 * stamp's (the chain's head at that point: a token over another head, or a
 * chain rewritten after the stamp with every prev recomputed, has none);
 * its genTime not before the records it covers (2 minutes' slack for the
 * two clocks). For each record that names
 * an archive file it prints the first stamp covering it: the proof that
 * the signature existed then.
 */
#ifndef SEGEL_AUDIT_STAMP_H
#define SEGEL_AUDIT_STAMP_H

#include "util.h"

struct stamp_state {
	long stamps, bad;		/* stamp records; those that fail */
	long archived, covered;		/* archive records; stamped */
};

/*
 * Checks the stamps of path (and its rotations) under trust_file (NULL:
 * any stamp is reported as unchecked and counted bad). One line per stamp
 * and per archived message to out. 0 when the log could be read; -1 with
 * err set otherwise.
 */
int audit_stamps_check(const char *path, const char *trust_file,
    struct stamp_state *st, struct sbuf *out, struct sbuf *err);

#endif
