/*
 * segelctl_records.c - the commands of issue 13: `audit stamp` (an RFC
 * 3161 token over the chain's head, appended as a record), the stamp part
 * of `audit verify`, and `archive verify` (the archive against the audit
 * records that name its files).
 *
 * Exit status of audit stamp: 0 stamped (or nothing new to stamp); 1 the
 * TSA answered but its answer was refused; 69 (EX_UNAVAILABLE) no answer
 * (TSA down, HTTP error); 78 configuration. Mail never waits for any of it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "archive_check.h"
#include "audit.h"
#include "audit_stamp.h"
#include "segelctl.h"
#include "tsa.h"
#include "util.h"

#define TSA_TIMEOUT_MS	30000
#define LAST_TAIL	(256 * 1024)	/* a stamp record is a few KB */

/* Loads the configuration alone, or exits 78. */
static void
ctl_conf(struct ctl *x)
{
	diag_init(&x->d);
	if ((x->c = conf_load(x->conf_path, &x->d)) == NULL) {
		diag_print(&x->d, stderr);
		exit(EX_CONFIG);
	}
}

/*
 * True when the last record of path (or, path being empty after a
 * rotation, of path.1) is a stamp: then there is nothing new to stamp. Only
 * the file's tail is read, so an hourly run costs nothing on a long log.
 */
static bool
last_is_stamp(const char *path)
{
	char buf[LAST_TAIL + 1], *p, *end, *name = NULL;
	struct audit_entry e;
	struct stat st;
	ssize_t n;
	off_t off;
	bool stamp = false;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 &&
	    fstat(fd, &st) == 0 && st.st_size == 0) {
		close(fd);
		name = xasprintf("%s.1", path);
		fd = open(name, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 2)
		goto out;
	off = st.st_size > LAST_TAIL ? st.st_size - LAST_TAIL : 0;
	if ((n = pread(fd, buf, (size_t)(st.st_size - off), off)) <= 1)
		goto out;
	buf[n] = '\0';
	end = buf[n - 1] == '\n' ? buf + n - 1 : buf + n;
	*end = '\0';
	if ((p = strrchr(buf, '\n')) != NULL)
		p++;
	else if (off == 0)
		p = buf;
	else
		goto out;	/* a line longer than the tail: stamp anyway */
	if (audit_parse(p, (size_t)(end - p), &e) == 0) {
		stamp = e.event != NULL && strcmp(e.event, "stamp") == 0;
		audit_entry_free(&e);
	}
out:
	if (fd >= 0)
		close(fd);
	free(name);
	return stamp;
}

/* The head as 32 bytes; -1 when it is not 64 hex digits. */
static int
head_bytes(const char *hex, unsigned char out[32])
{
	unsigned int b;
	int i;

	for (i = 0; i < 32; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

/* Appends the stamp record. 0, or -1 (message printed). */
static int
stamp_write(struct audit *a, const struct conf *c, const char *head,
    const char *token, time_t gen)
{
	struct passwd *pw = getpwuid(getuid());
	char when[32], *reason;
	struct audit_rec r = { "stamp", NULL, NULL, "admin", NULL,
	    pw ? pw->pw_name : "unknown", NULL, "stamped", NULL, NULL, NULL };
	struct audit_extra ax = { NULL, NULL, when, token };
	struct tm tm;
	int rc;

	gmtime_r(&gen, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	reason = xasprintf("head %s, TSA %s", head, c->tsa_url);
	r.reason = reason;
	if ((rc = audit_write_ext(a, &r, &ax)) != 0)
		fprintf(stderr, "segelctl: %s: audit write failed: %s\n",
		    c->audit_file, strerror(errno));
	free(reason);
	return rc;
}

/* audit stamp: one token over the head, one record. */
static int
cmd_audit_stamp(struct ctl *x)
{
	unsigned char hb[32];
	char head[65], *token = NULL;
	struct audit *a = NULL;
	struct sbuf err;
	int unreach, rc = EX_CONFIG;
	time_t gen;

	ctl_conf(x);
	sbuf_init(&err);
	if (x->c->audit_file == NULL || x->c->tsa_url == NULL ||
	    x->c->tsa_trust == NULL) {
		fprintf(stderr, "segelctl: %s: audit stamp needs audit.file, "
		    "audit.tsa_url and audit.tsa_trust\n", x->conf_path);
		goto out;
	}
	if ((a = audit_open(x->c->audit_file, &err)) == NULL) {
		fprintf(stderr, "segelctl: %s\n", err.s);
		goto out;
	}
	rc = 1;
	if (audit_head(a, head) != 0 || head_bytes(head, hb) != 0) {
		fprintf(stderr, "segelctl: %s: cannot read the chain's head: "
		    "%s\n", x->c->audit_file, strerror(errno));
		goto out;
	}
	if (strspn(head, "0") == 64 || last_is_stamp(x->c->audit_file)) {
		printf("%s: nothing to stamp: no record since the last stamp\n",
		    x->c->audit_file);
		rc = 0;
		goto out;
	}
	if (tsa_stamp(x->c->tsa_url, x->c->tsa_trust, hb, TSA_TIMEOUT_MS,
	    &token, &gen, &unreach, &err) != 0) {
		fprintf(stderr, "segelctl: audit stamp: %s; no stamp written "
		    "(mail is not affected; the next stamp covers these records "
		    "too)\n", err.s);
		rc = unreach ? EX_UNAVAILABLE : 1;
		goto out;
	}
	if (stamp_write(a, x->c, head, token, gen) != 0)
		goto out;
	printf("%s: stamped head %s by %s\n", x->c->audit_file, head,
	    x->c->tsa_url);
	rc = 0;
out:
	free(token);
	audit_close(a);
	sbuf_free(&err);
	return rc;
}

int
ctl_audit_stamps(const struct ctl *x)
{
	struct stamp_state st;
	struct sbuf out, err;
	int rc;

	sbuf_init(&out);
	sbuf_init(&err);
	if (audit_stamps_check(x->c->audit_file, x->c->tsa_trust, &st, &out,
	    &err) != 0) {
		printf("stamps: cannot read the audit log: %s\n", err.s);
		rc = 1;
	} else {
		if (out.s != NULL)
			fputs(out.s, stdout);
		if (st.stamps > 0 || st.archived > 0)
			printf("stamps: %ld, %ld not valid; archived messages "
			    "%ld, %ld covered by a stamp\n", st.stamps, st.bad,
			    st.archived, st.covered);
		rc = st.bad > 0 ? 1 : 0;
	}
	sbuf_free(&out);
	sbuf_free(&err);
	return rc;
}

int
cmd_audit_sub(struct ctl *x, int argc, char **argv)
{
	(void)argv;
	if (argc != 2)
		usage("audit stamp takes no arguments");
	return cmd_audit_stamp(x);
}

/* archive verify [--all] */
int
cmd_archive(struct ctl *x, int argc, char **argv)
{
	struct archive_state st;
	struct sbuf out, err;
	bool all = false;
	int rc;

	if (argc == 3 && strcmp(argv[2], "--all") == 0)
		all = true;
	else if (argc != 2)
		usage("archive verify [--all]");
	if (strcmp(argv[1], "verify") != 0)
		usage("archive verify [--all]");
	ctl_load(x);
	if (x->c->audit_file == NULL || x->c->archive_dir == NULL) {
		fprintf(stderr, "segelctl: %s: archive verify needs audit.file "
		    "and archive.dir\n", x->conf_path);
		return EX_CONFIG;
	}
	g_mime_init();
	sbuf_init(&out);
	sbuf_init(&err);
	if (archive_check(x->c, x->p, all, &st, &out, &err) != 0) {
		printf("archive NOT CHECKED: %s\n", err.s);
		rc = 1;
	} else {
		if (out.s != NULL)
			fputs(out.s, stdout);
		sbuf_free(&err);
		archive_state_line(x->c->archive_dir, &st, &err);
		printf("%s\n", err.s);
		rc = archive_state_bad(&st) ? 1 : 0;
	}
	sbuf_free(&out);
	sbuf_free(&err);
	return rc;
}
