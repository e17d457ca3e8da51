/*
 * mtacheck.c - what `segel-milter -n` can tell about the MTA's end of the
 * socket (see mtacheck.h). A socket path that Postfix does not reach makes
 * every message tempfail, and nothing on segel's side looks wrong; Debian's
 * chrooted smtpd and cleanup make that easy to get wrong.
 *
 * Asks the local Postfix with postconf(1): queue_directory, smtpd_milters,
 * non_smtpd_milters (expanded), and the chroot column of the services that
 * run smtpd and cleanup. Only warnings: the MTA may be another host's.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtacheck.h"
#include "util.h"

#define POSTCONF "/usr/sbin/postconf"

/* The output of a postconf command line, or NULL; caller frees. */
static char *
mc_postconf(const char *args)
{
	char *cmd = xasprintf("%s %s 2>/dev/null", POSTCONF, args), buf[4096];
	struct sbuf out;
	size_t n;
	FILE *fp;

	sbuf_init(&out);
	if ((fp = popen(cmd, "r")) != NULL) {
		while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
			sbuf_add(&out, buf, n);
		if (pclose(fp) != 0) {
			sbuf_free(&out);
			sbuf_init(&out);
		}
	}
	free(cmd);
	return out.len > 0 ? sbuf_steal(&out) : NULL;
}

/* The next line of text after p, or NULL. */
static const char *
mc_next(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl != NULL && nl[1] != '\0' ? nl + 1 : NULL;
}

/*
 * Whether a service whose command is cmd runs chrooted, from postconf -F
 * lines "smtp/inet/command = smtpd" and "smtp/inet/chroot = y".
 */
static bool
mc_chrooted(const char *fields, const char *cmd)
{
	const char *p, *q, *e;
	size_t nl, cl = strlen(cmd);
	char *want;
	bool any = false;

	for (p = fields; p != NULL; p = mc_next(p)) {
		if ((e = strstr(p, "/command = ")) == NULL ||
		    (strchr(p, '\n') != NULL && e > strchr(p, '\n')) ||
		    strncmp(e + 11, cmd, cl) != 0 ||
		    (e[11 + cl] != ' ' && e[11 + cl] != '\n' &&
		    e[11 + cl] != '\0'))
			continue;
		nl = (size_t)(e - p);
		want = xasprintf("%.*s/chroot = y", (int)nl, p);
		for (q = fields; q != NULL; q = mc_next(q))
			if (strncmp(q, want, strlen(want)) == 0)
				any = true;
		free(want);
	}
	return any;
}

/*
 * Whether one of the unix: entries of milters reaches sock: relative to
 * qd when chrooted. *seen says whether there was any unix: entry.
 */
static bool
mc_reaches(const char *milters, const char *qd, bool chroot,
    const char *sock, bool *seen)
{
	char *copy = xstrdup(milters ? milters : ""), *save = NULL, *t, *p;
	bool hit = false;

	*seen = false;
	for (t = strtok_r(copy, " ,\t\n{}", &save); t != NULL;
	    t = strtok_r(NULL, " ,\t\n{}", &save)) {
		if (strncmp(t, "unix:", 5) == 0)
			t += 5;
		else if (strncmp(t, "local:", 6) == 0)
			t += 6;
		else
			continue;
		*seen = true;
		p = chroot ? xasprintf("%s%s", qd, t) : xstrdup(t);
		hit |= strcmp(p, sock) == 0;
		free(p);
	}
	free(copy);
	return hit;
}

static void
mc_judge(const struct conf *c, const char *param, const char *milters,
    const char *qd, bool chroot, const char *sock, struct diag *d)
{
	size_t ql = strlen(qd);
	bool seen;

	if (mc_reaches(milters, qd, chroot, sock, &seen))
		return;
	if (!seen && strcmp(param, "smtpd_milters") == 0)
		diag_add(d, DIAG_WARNING, c->path, 0, "socket", "Postfix's "
		    "smtpd_milters names no unix: socket: segel is not wired "
		    "into this host's Postfix (README: Wiring)");
	else if (seen && chroot && strncmp(sock, qd, ql) == 0 &&
	    sock[ql] == '/')
		diag_add(d, DIAG_WARNING, c->path, 0, "socket", "Postfix's %s "
		    "(%s) does not reach %s: its %s runs chrooted in %s, "
		    "write unix:%s", param, milters, sock, param[0] == 's' ?
		    "smtpd" : "cleanup", qd, sock + ql);
	else if (seen && chroot)
		diag_add(d, DIAG_WARNING, c->path, 0, "socket", "Postfix's %s "
		    "runs chrooted in %s and cannot reach %s: put the socket "
		    "under %s (README: Wiring)", param[0] == 's' ? "smtpd" :
		    "cleanup", qd, sock, qd);
	else if (seen)
		diag_add(d, DIAG_WARNING, c->path, 0, "socket", "Postfix's %s "
		    "(%s) does not reach %s: write unix:%s", param, milters,
		    sock, sock);
}

void
mtacheck_socket(const struct conf *c, struct diag *d)
{
	char *vals = NULL, *fields = NULL, *line[3] = { NULL, NULL, NULL };
	const char *sock = c->socket;
	int i;

	if (strncmp(sock, "unix:", 5) == 0)
		sock += 5;
	else if (strncmp(sock, "local:", 6) == 0)
		sock += 6;
	else
		return;
	if (access(POSTCONF, X_OK) != 0 || (vals = mc_postconf("-xh "
	    "queue_directory smtpd_milters non_smtpd_milters")) == NULL)
		goto out;
	/* three lines; an empty value is an empty line */
	line[0] = vals;
	for (i = 1; i < 3 && line[i - 1] != NULL; i++)
		if ((line[i] = strchr(line[i - 1], '\n')) != NULL)
			*line[i]++ = '\0';
	if (line[2] == NULL)
		goto out;
	line[2][strcspn(line[2], "\n")] = '\0';
	/* only a system socket: a test instance's is none of Postfix's business */
	if (strncmp(sock, line[0], strlen(line[0])) != 0 &&
	    strncmp(sock, "/run/", 5) != 0)
		goto out;
	fields = mc_postconf("-F");
	mc_judge(c, "smtpd_milters", line[1], line[0],
	    mc_chrooted(fields, "smtpd"), sock, d);
	if (line[2][0] != '\0')
		mc_judge(c, "non_smtpd_milters", line[2], line[0],
		    mc_chrooted(fields, "cleanup"), sock, d);
out:
	free(vals);
	free(fields);
}
