/*
 * audit_stamp.c - checking the chain's RFC 3161 stamps (see
 * audit_stamp.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_stamp.h"
#include "audit_walk.h"
#include "tsa.h"

/* How far the TSA's clock may be behind the host's before a stamp counts
 * as made before the records it covers: NTP keeps both within far less,
 * and a back-dated record is off by more than the hour between stamps. */
#define STAMP_CLOCK_SLACK	120

/* A record not yet covered by a stamp. */
struct uncovered {
	unsigned char hash[32];
	time_t time;
	size_t index;
	char *archive;		/* the file it names, or NULL */
};

struct stamp_walk {
	const char *trust;
	struct uncovered *v;	/* since the last stamp's imprint */
	size_t n, cap;
	struct stamp_state *st;
	struct sbuf *out;
};

static void
iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The records up to and including v[k] are covered by the stamp at w. */
static void
stamp_cover(struct stamp_walk *sw, size_t k, const struct audit_walk_rec *w,
    time_t gen)
{
	char when[32], t[32];
	size_t i;

	iso(gen, when, sizeof(when));
	sbuf_printf(sw->out, "stamp record %zu (%s:%zu): TSA time %s covers "
	    "records %zu..%zu\n", w->index, w->file, w->line, when,
	    sw->v[0].index, sw->v[k].index);
	for (i = 0; i <= k; i++) {
		if (sw->v[i].archive == NULL)
			continue;
		iso(sw->v[i].time, t, sizeof(t));
		sbuf_printf(sw->out, "stamped %s (record %zu, %s): first "
		    "stamp %s (record %zu)\n", sw->v[i].archive,
		    sw->v[i].index, t, when, w->index);
		sw->st->covered++;
		free(sw->v[i].archive);
	}
	memmove(sw->v, sw->v + k + 1, (sw->n - k - 1) * sizeof(*sw->v));
	sw->n -= k + 1;
}

/* One stamp record: its token, its imprint, its time. */
static void
stamp_one(struct stamp_walk *sw, const struct audit_walk_rec *w)
{
	unsigned char imprint[32];
	char hex[65], when[32];
	struct sbuf err;
	time_t gen, newest = 0;
	size_t k, i;

	sw->st->stamps++;
	sbuf_init(&err);
	if (sw->trust == NULL || w->e->tsa_token == NULL) {
		sw->st->bad++;
		sbuf_printf(sw->out, "BAD-STAMP record %zu (%s:%zu): %s\n",
		    w->index, w->file, w->line, sw->trust == NULL ?
		    "not checked: audit.tsa_trust is not set" : "no token");
		return;
	}
	if (tsa_check(sw->trust, w->e->tsa_token, imprint, &gen, &err) != 0) {
		sw->st->bad++;
		sbuf_printf(sw->out, "BAD-STAMP record %zu (%s:%zu): %s\n",
		    w->index, w->file, w->line, err.s);
		sbuf_free(&err);
		return;
	}
	for (k = sw->n; k > 0; k--)
		if (memcmp(sw->v[k - 1].hash, imprint, 32) == 0)
			break;
	if (k == 0) {
		audit_hex(imprint, hex);
		sw->st->bad++;
		sbuf_printf(sw->out, "BAD-STAMP record %zu (%s:%zu): the token's "
		    "imprint %s is not the chain's head at any record since the "
		    "previous stamp (a token over another head, or the records "
		    "before it were rewritten)\n", w->index, w->file, w->line,
		    hex);
		return;
	}
	for (i = 0; i < k; i++)
		if (sw->v[i].time > newest)
			newest = sw->v[i].time;
	if (gen + STAMP_CLOCK_SLACK < newest) {
		iso(gen, when, sizeof(when));
		sw->st->bad++;
		sbuf_printf(sw->out, "BAD-STAMP record %zu (%s:%zu): TSA time %s "
		    "is before records it covers\n", w->index, w->file, w->line,
		    when);
		return;
	}
	stamp_cover(sw, k - 1, w, gen);
}

/* Walk callback: stamps are checked, every record joins the uncovered. */
static int
stamp_record(const struct audit_walk_rec *w, void *arg)
{
	struct stamp_walk *sw = arg;
	struct uncovered *u;

	if (w->e != NULL && w->e->event != NULL &&
	    strcmp(w->e->event, "stamp") == 0)
		stamp_one(sw, w);
	if (sw->n == sw->cap) {
		sw->cap = sw->cap ? sw->cap * 2 : 256;
		sw->v = xreallocarray(sw->v, sw->cap, sizeof(*sw->v));
	}
	u = &sw->v[sw->n++];
	memcpy(u->hash, w->hash, 32);
	u->time = w->time;
	u->index = w->index;
	u->archive = w->e != NULL && w->e->archive != NULL ?
	    xstrdup(w->e->archive) : NULL;
	if (u->archive != NULL)
		sw->st->archived++;
	return 0;
}

int
audit_stamps_check(const char *path, const char *trust_file,
    struct stamp_state *st, struct sbuf *out, struct sbuf *err)
{
	struct stamp_walk sw;
	char t[32];
	size_t i;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&sw, 0, sizeof(sw));
	sw.trust = trust_file;
	sw.st = st;
	sw.out = out;
	r = audit_walk(path, stamp_record, &sw, err);
	for (i = 0; i < sw.n; i++) {
		if (sw.v[i].archive == NULL)
			continue;
		iso(sw.v[i].time, t, sizeof(t));
		if (r == 0)
			sbuf_printf(out, "unstamped %s (record %zu, %s): no "
			    "stamp covers it yet\n", sw.v[i].archive,
			    sw.v[i].index, t);
		free(sw.v[i].archive);
	}
	free(sw.v);
	return r == 0 ? 0 : -1;
}
