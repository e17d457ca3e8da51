/*
 * audit.h - the tamper-evident audit log (Pasal 22, 26).
 *
 * One JSON object per line; each carries "prev", the SHA-256 (hex) of the
 * previous line's bytes (without its newline), so an edited, deleted or
 * reordered record breaks the chain. Writers in many threads and processes
 * serialize on a mutex and an flock(2) of the file; each write re-reads the
 * last line under the lock. A write failure is returned to the caller, who
 * applies on_error: no mail is signed without its record.
 */
#ifndef SEGEL_AUDIT_H
#define SEGEL_AUDIT_H

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

struct audit_rec {
	const char *event;	/* "sign", "refuse", "verify", "import",
				   "revoke", "reload", ... */
	const char *queue_id;
	const char *message_id;
	const char *role;	/* "outbound", "inbound", "admin" */
	const char *sender;
	const char *login;
	const char *cert_serial;
	const char *result;	/* "signed", "pass", "550 5.7.1", ... */
	const char *reason;
	const char *client_addr;
	const char *unit;	/* signer's OU, for reports */
};

/* Fields of issue 13, each written only when set (older records keep
 * their shape). */
struct audit_extra {
	const char *archive;	/* archive file, relative to archive.dir */
	const char *archive_sha256;	/* hex SHA-256 of its bytes */
	const char *tsa_time;	/* event "stamp": its genTime, ISO 8601 */
	const char *tsa_token;	/* event "stamp": base64 DER TimeStampToken */
};

struct audit;

/* Opens (creating 0600: the MTA has the socket only) path. NULL with err
 * set on failure. */
struct audit *audit_open(const char *path, struct sbuf *err);
void audit_close(struct audit *);
/* Appends one record. 0, or -1 with errno set. Thread-safe. */
int audit_write(struct audit *, const struct audit_rec *);
/* The same with the fields of x (NULL: none). */
int audit_write_ext(struct audit *, const struct audit_rec *,
    const struct audit_extra *x);

/*
 * The chain's head: the hash of the last record, 64 zeros when there is
 * none. Written down elsewhere (the daemon logs it at start and reload;
 * `segelctl audit verify` prints it), a head is an anchor: a chain rebuilt
 * from scratch or cut before it no longer contains it. 0, or -1.
 */
int audit_head(struct audit *, char head[65]);

/*
 * Walks the chain of path (and its rotated predecessors path.1, ...).
 * Returns 0 when intact; otherwise 1 and describes the first broken record
 * (file and line) in err. With anchor (a head noted earlier, 64 hex
 * digits; NULL for none), the chain must also contain a record whose hash
 * it is.
 */
int audit_verify(const char *path, const char *anchor, struct sbuf *err);

/*
 * Rotation: path is renamed to path.1 (path.1 to path.2, ...; newest is .1)
 * by logrotate or similar, uncompressed; the first record of a new, empty
 * path chains to the last record of path.1. A writer that holds the old
 * file reopens path before writing. The first record of the oldest file
 * has prev = 64 zeros; when older rotated files were deleted, the chain
 * simply starts at the oldest one left (noted in err on success).
 * On success err gets a one-line summary ("N records in M files ...",
 * the head, and where the anchor is).
 */

/* One record read back (report, verify). Strings owned; NULL when null. */
struct audit_entry {
	char *time, *event, *queue_id, *message_id, *role, *sender, *login,
	    *cert_serial, *result, *reason, *client, *unit, *prev;
	char *archive, *archive_sha256, *tsa_token, *tsa_time;
};
/* Parses one line (no newline). 0, or -1 when it is not a JSON object. */
int audit_parse(const char *line, size_t len, struct audit_entry *e);
void audit_entry_free(struct audit_entry *);
/* How many rotated files path.1 .. path.N exist (N). */
int audit_rotations(const char *path);
/* Appends s as a JSON string literal (null for NULL); not-UTF-8 bytes as
 * the text \xHH. */
void audit_json_string(struct sbuf *b, const char *s);

#endif
