/*
 * msgctx.h - what segel keeps of one message while the MTA streams it:
 * envelope, the header block (bounded), the facts the rules read of the
 * headers (each worked out once, as the header arrives), and the body (in
 * memory up to a threshold, then spooled). No libmilter here;
 * glue.c feeds it and reads it at end of message.
 */
#ifndef SEGEL_MSGCTX_H
#define SEGEL_MSGCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "msgbuf.h"
#include "util.h"

/* A header that may have to be deleted: its name and 1-based index among
 * headers of that name (what smfi_chgheader wants). */
struct hdr_ref {
	char *name;
	int index;
};

enum msg_state { MSG_OK, MSG_TOO_BIG, MSG_IO_ERROR };

struct msgctx {
	char *mail_from;	/* normalized, NULL for <> */
	size_t n_rcpt_domain;	/* recipients in the domain (glue.c) */
	struct sbuf headers;	/* "Name: value\r\n" lines, as received */
	size_t n_headers;
	struct sbuf content_headers;	/* the Content-* lines only */
	char *content_type;	/* the last top-level Content-Type (as GMime
				   reads it), or NULL */
	size_t n_content_type;
	struct hdr_ref *content_refs;	/* Content-* headers, to delete */
	size_t n_content_refs;
	int *ar_ours;		/* indexes of A-R fields with our id */
	size_t n_ar_ours;
	struct from_facts from;	/* every From field, read once (addr.h): what
				   every rule and the log read of From */
	char *message_id, *subject;
	char *date;		/* the first Date value */
	size_t n_date;
	bool has_mime_version;
	struct msgbuf *body;
	enum msg_state state;
	struct timespec t0;
	/* per-name header counters for hdr_ref indexes: an open-addressing
	 * hash table keyed by the case-folded name (cap is a power of 2) */
	struct hdr_ref *counts;
	size_t n_counts, cap_counts;
};

struct msgctx *msgctx_new(const struct conf *);
void msgctx_free(struct msgctx *);

/* Adds one header (value as libmilter gives it: LF between folded lines,
 * no leading space). Updates state when a limit is passed. */
void msgctx_header(struct msgctx *, const struct conf *, const char *name,
    const char *value, const char *authserv_id);
void msgctx_body(struct msgctx *, const struct conf *, const void *, size_t);

/* The header block with the Content-* fields removed and the given
 * Content-Type (and MIME-Version if missing) added: what a signed message's
 * header block looks like, for the archive. Caller frees. */
char *msgctx_signed_headers(const struct msgctx *, const char *content_type);

#endif
