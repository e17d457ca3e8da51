/*
 * metrics.h - numbers for the monitoring: a Prometheus text file.
 *
 * The gateway's decisions are counted in process memory (one call per
 * decision, any thread); metrics_write() puts them, together with what the
 * current generation shows (days left of each store certificate, age of the
 * newest CRL per issuer, length of the audit chain), into metrics.file in
 * the text exposition format that node_exporter's textfile collector reads.
 * The file is replaced atomically (a temporary name that does not end in
 * ".prom", then rename), so the collector never reads half a file.
 */
#ifndef SEGEL_METRICS_H
#define SEGEL_METRICS_H

#include <time.h>

#include "runtime.h"
#include "util.h"

/* A message decided at end of data: plan role, action text, smime result
 * (NULL when none). The action's first word is the label ("signed",
 * "verified", "passed", "refused", ...); "refused: REASON" also counts
 * the reason. */
void metrics_decision(const char *role, const char *action,
    const char *result);
/* A command refused before the message (530 5.7.0 for plaintext). */
void metrics_refused(const char *role, const char *reason);
/* A signature made: t0 is metrics_clock() taken just before signing. */
void metrics_signed(double t0);
/* Monotonic seconds, for metrics_signed. */
double metrics_clock(void);

/* Writes everything to path atomically (mode 0644). 0, or -1 with the
 * reason in err. */
int metrics_write(const char *path, const struct runtime *rt, time_t now,
    struct sbuf *err);
/* The text that metrics_write puts into the file, appended to b. */
void metrics_format(struct sbuf *b, const struct runtime *rt, time_t now);

/* Starts the thread that writes metrics.file of the current generation
 * every metrics.interval seconds; 0 or -1. */
int metrics_start(void);
/* One last write of the current generation's file (at exit). */
void metrics_flush(void);
/* Forgets every count (unit tests). */
void metrics_reset(void);

#endif
