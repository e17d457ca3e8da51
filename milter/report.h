/*
 * report.h - the evaluation report from the audit log (Pasal 26):
 * messages signed per sender and per unit, refusals by reason, incoming
 * verification results by kind, revocations and imports in the period,
 * and the store's certificates that expire within 90 days.
 */
#ifndef SEGEL_REPORT_H
#define SEGEL_REPORT_H

#include <stdio.h>
#include <time.h>

#include "certstore.h"
#include "conf.h"
#include "util.h"

/*
 * Reads c->audit_file (and its rotated predecessors) for records with
 * since <= time < until, writes the plain-text report to out and, when
 * html is not NULL, a self-contained HTML page (inline SVG charts) to html.
 * cs may be NULL (no expiry section). Returns 0, or -1 with err set.
 */
int report_run(const struct conf *c, const struct certstore *cs, time_t now,
    time_t since, time_t until, FILE *out, const char *html,
    struct sbuf *err);

/* Parses "YYYY-MM-DD" (00:00 UTC) or "YYYY-MM-DDTHH:MM:SSZ"; -1 if bad. */
time_t report_parse_date(const char *);

#endif
