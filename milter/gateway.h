/*
 * gateway.h - the end-of-message decision: from a collected message, the
 * session facts and the current generation, a plan of what the milter glue
 * must do (verdict and reply, header edits, new body) and what to log.
 * No libmilter here: glue.c applies the plan.
 */
#ifndef SEGEL_GATEWAY_H
#define SEGEL_GATEWAY_H

#include "msgctx.h"
#include "policy.h"
#include "runtime.h"

enum verdict { V_CONTINUE, V_REJECT, V_TEMPFAIL };
enum edit_op { EDIT_CHANGE, EDIT_INSERT_TOP, EDIT_ADD };

struct edit {
	enum edit_op op;
	char *name;
	int index;		/* EDIT_CHANGE: 1-based; value NULL deletes */
	char *value;		/* folded with "\n\t" */
};

struct plan {
	enum verdict verdict;
	struct reply reply;	/* V_REJECT / V_TEMPFAIL */
	struct edit *edits;	/* applied in order */
	size_t n_edits;
	struct msgbuf *new_body;	/* NULL: body unchanged */
	const char *role;	/* "outbound", "inbound", "internal" */
	char *action;		/* "signed", "refused: ...", "verified" */
	char *cert_serial;
	char *result;		/* smime result, or NULL */
};

/* Fills p (caller frees with plan_free). Never fails: internal problems
 * become a tempfail (or on_error) verdict in the plan. */
void gateway_eom(struct runtime *rt, const struct sess_facts *f,
    struct msgctx *m, const char *queue_id, const char *client,
    struct plan *p);
void plan_free(struct plan *);

#endif
