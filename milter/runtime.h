/*
 * runtime.h - one loaded generation of everything the daemon reads at
 * start: configuration, trust store, certificate store, audit log.
 *
 * runtime_load() builds a generation completely; runtime_publish() swaps
 * it in atomically; each connection holds a reference (runtime_get /
 * runtime_put) to the generation it started with, so a reload never
 * changes what a running transaction sees. A generation is never mutated
 * after it is built.
 */
#ifndef SEGEL_RUNTIME_H
#define SEGEL_RUNTIME_H

#include <stdbool.h>

#include "audit.h"
#include "certstore.h"
#include "conf.h"
#include "diag.h"
#include "pki.h"

struct runtime {
	int refs;		/* guarded by the runtime lock */
	struct conf *conf;
	struct pki *pki;
	struct certstore *store;
	struct audit *audit;	/* NULL when audit.file is unset */
};

/*
 * Loads path. Problems (errors and warnings) go to d. Returns NULL when
 * any error was found. With open_audit false the audit log is not opened
 * (for -n).
 */
struct runtime *runtime_load(const char *path, struct diag *d,
    bool open_audit);
/* Frees a generation that was never published. */
void runtime_free(struct runtime *);

/* Makes rt current; the previous generation is released. */
void runtime_publish(struct runtime *rt);
/* The current generation with a reference taken, or NULL. */
struct runtime *runtime_get(void);
/* Drops a reference; the last one frees the generation. Accepts NULL. */
void runtime_put(struct runtime *);

#endif
