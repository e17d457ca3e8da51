/*
 * storeadmin.c - the changes segelctl makes to the certificate store (see
 * storeadmin.h): atomic replacement, install with history, the local
 * revocation list, and the reload signal to a running segel-milter.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "conf.h"
#include "storeadmin.h"

/*
 * The configuration file process pid was started with (-c, else the
 * default), resolved against its working folder; NULL when unknown.
 */
static char *
sa_proc_conf(const char *pid)
{
	char path[300], buf[8192], *conf = SEGEL_DEFAULT_CONF, *p, *r;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	for (p = buf; p < buf + n; p += strlen(p) + 1) {
		if (strcmp(p, "-c") == 0 && p + 3 < buf + n)
			conf = p + 3;
		else if (strncmp(p, "-c", 2) == 0 && p[2] != '\0')
			conf = p + 2;
	}
	if (conf[0] == '/')
		return realpath(conf, NULL);
	snprintf(path, sizeof(path), "/proc/%s/cwd/%s", pid, conf);
	r = realpath(path, NULL);
	return r;
}

int
storeadmin_signal_daemon(const char *conf_path, pid_t *pids, int max,
    int *nfail, struct sbuf *msg)
{
	struct dirent *de;
	char path[300], comm[64], *mine, *theirs;
	DIR *d;
	FILE *fp;
	int n = 0;

	*nfail = 0;
	if ((d = opendir("/proc")) == NULL)
		return 0;
	mine = realpath(conf_path, NULL);
	while (mine != NULL && n < max && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), fp) != NULL &&
		    strcmp(comm, "segel-milter\n") == 0) {
			theirs = sa_proc_conf(de->d_name);
			if (theirs != NULL && strcmp(mine, theirs) == 0) {
				if (kill((pid_t)atol(de->d_name), SIGUSR1) == 0) {
					sbuf_printf(msg, "signalled segel-milter "
					    "(pid %s) to reload\n", de->d_name);
					pids[n++] = (pid_t)atol(de->d_name);
				} else {
					sbuf_printf(msg, "cannot signal "
					    "segel-milter (pid %s): %s\n",
					    de->d_name, strerror(errno));
					(*nfail)++;
				}
			}
			free(theirs);
		}
		fclose(fp);
	}
	closedir(d);
	free(mine);
	if (n == 0 && *nfail == 0)
		sbuf_printf(msg, "no running segel-milter with %s found: the "
		    "change takes effect when it next starts or reloads\n",
		    conf_path);
	return n;
}

/* The reload record of pid in line, if it is one: 1 loaded, 0 failed. */
static int
sa_reload_line(const char *line, size_t len, const char *tag,
    struct sbuf *why)
{
	struct audit_entry e;
	int rc = -1;

	memset(&e, 0, sizeof(e));
	if (audit_parse(line, len, &e) != 0)
		return -1;
	if (e.event != NULL && strcmp(e.event, "reload") == 0 &&
	    e.reason != NULL && strncmp(e.reason, tag, strlen(tag)) == 0 &&
	    e.result != NULL) {
		rc = strcmp(e.result, "loaded") == 0;
		sbuf_adds(why, e.reason + strlen(tag));
	}
	audit_entry_free(&e);
	return rc;
}

/*
 * Reads audit_path's whole lines from *off on (an audit log is large; it
 * is read from where the caller started), advancing *off past them.
 */
static int
sa_scan_reload(const char *audit_path, off_t *off, const char *tag,
    struct sbuf *why)
{
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int rc = -1;

	if ((fp = fopen(audit_path, "r")) == NULL)
		return -1;
	if (fstat(fileno(fp), &st) == 0 && st.st_size < *off)
		*off = 0;	/* rotated meanwhile: the new file */
	if (fseeko(fp, *off, SEEK_SET) != 0)
		goto out;
	while (rc < 0 && (n = getline(&line, &cap, fp)) > 0 &&
	    line[n - 1] == '\n') {
		*off += n;
		rc = sa_reload_line(line, (size_t)n - 1, tag, why);
	}
out:
	free(line);
	fclose(fp);
	return rc;
}

int
storeadmin_await_reload(const char *audit_path, off_t off, pid_t pid,
    int timeout_ms, struct sbuf *why)
{
	char tag[32];
	int rc, waited;

	snprintf(tag, sizeof(tag), "pid %ld: ", (long)pid);
	for (waited = 0; waited <= timeout_ms; waited += 100) {
		if ((rc = sa_scan_reload(audit_path, &off, tag, why)) >= 0)
			return rc ? 0 : 1;
		if (kill(pid, 0) != 0 && errno == ESRCH) {
			sbuf_adds(why, "the daemon exited");
			return -1;
		}
		usleep(100 * 1000);
	}
	sbuf_printf(why, "no reload record within %d s", timeout_ms / 1000);
	return -1;
}

/* A file written as root goes to the owner of its folder. */
static int
sa_adopt(int fd, const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	struct stat ds;
	int rc = 0;

	if (slash != NULL)
		*slash = '\0';
	if (geteuid() == 0 && stat(slash ? dir : ".", &ds) == 0)
		rc = fchown(fd, ds.st_uid, ds.st_gid);
	free(dir);
	return rc;
}

int
storeadmin_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode)
{
	char *tmp = xasprintf("%s.tmpXXXXXX", path), *dir, *slash;
	const char *p = data;
	ssize_t w;
	int fd, dfd, saved;

	if ((fd = mkstemp(tmp)) < 0)
		goto fail;
	if (fchmod(fd, mode) != 0 || sa_adopt(fd, path) != 0)
		goto fail_fd;
	while (len > 0) {
		if ((w = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail_fd;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto fail_fd;
	}
	if (rename(tmp, path) != 0)
		goto fail_unlink;
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if ((dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	free(tmp);
	return 0;
fail_fd:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail:
	free(tmp);
	return -1;
}

int
storeadmin_lock(const char *cert_dir)
{
	char *p = xasprintf("%s/.segelctl.lock", cert_dir);
	/* O_NOFOLLOW: the daemon's user owns the folder and could point a
	 * link anywhere for root to create */
	int fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	free(p);
	if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}



int
storeadmin_slurp(const char *path, struct sbuf *b)
{
	char buf[8192];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(b, buf, n);
	if (ferror(fp)) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	sbuf_add(b, "", 0);
	return 0;
}


/*
 * storeadmin_slurp for a file inside the store: a plain file, not through
 * a symbolic link (the daemon's user could point one at a secret of root,
 * whose text would land in a file it can read). ENOENT when missing.
 */
static int
sa_slurp_store(const char *path, struct sbuf *b)
{
	char buf[8192];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		sbuf_add(b, buf, (size_t)n);
	}
	close(fd);
	sbuf_add(b, "", 0);
	return 0;
}

/* Links the current pair of addr into history/; *kept names the .p12. */
static int
sa_keep_old(const char *cert_dir, const char *addr, const char *serial,
    time_t now, char **kept)
{
	const char *ext[2] = { "p12", "pass" };
	char *hist, *from, *to, ts[32];
	struct tm tm;
	int i, rc = 0, hfd = -1;

	/* history/ is opened without following a link (the daemon's user
	 * could plant one) and the links are made relative to that fd */
	hist = xasprintf("%s/history", cert_dir);
	if ((mkdir(hist, 0700) != 0 && errno != EEXIST) ||
	    (hfd = open(hist, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || sa_adopt(hfd, hist) != 0)
		rc = -1;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; rc == 0 && i < 2; i++) {
		from = xasprintf("%s/%s.%s", cert_dir, addr, ext[i]);
		to = xasprintf("%s-%s-%s.%s", addr, serial ? serial :
		    "unreadable", ts, ext[i]);
		if (linkat(AT_FDCWD, from, hfd, to, 0) != 0 &&
		    errno != ENOENT && errno != EEXIST)
			rc = -1;
		else if (i == 0)
			*kept = xasprintf("%s/%s", hist, to);
		free(from);
		free(to);
	}
	if (hfd >= 0)
		close(hfd);
	free(hist);
	return rc;
}

int
storeadmin_install(const char *cert_dir, const char *addr,
    const char *old_serial, time_t now, const struct sbuf *p12,
    const char *pass, char **kept, struct sbuf *err)
{
	char *pp = xasprintf("%s/%s.pass", cert_dir, addr);
	char *pf = xasprintf("%s/%s.p12", cert_dir, addr);
	char *line = xasprintf("%s\n", pass);
	struct stat st;
	int rc = -1;

	*kept = NULL;
	if (addr[0] == '\0' || addr[0] == '.' || strchr(addr, '/') != NULL) {
		errno = EINVAL;
		sbuf_printf(err, "%s cannot be a file name in %s", addr,
		    cert_dir);
		goto out;
	}
	if (lstat(pf, &st) == 0 &&
	    sa_keep_old(cert_dir, addr, old_serial, now, kept) != 0) {
		sbuf_printf(err, "cannot keep the old certificate in "
		    "%s/history: %s", cert_dir, strerror(errno));
		goto out;
	}
	if (storeadmin_write_atomic(pp, line, strlen(line), 0600) != 0 ||
	    storeadmin_write_atomic(pf, p12->s, p12->len, 0600) != 0) {
		sbuf_printf(err, "cannot write %s: %s", pf, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	secret_free(line, 0);
	free(pp);
	free(pf);
	return rc;
}

/* Text safe for one revoked.list field: no tabs or line ends. */
static char *
sa_field(const char *s)
{
	char *t = xstrdup(s), *p;

	for (p = t; *p != '\0'; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	return t;
}

int
storeadmin_revoke(const char *cert_dir, const struct cert_entry *e,
    const char *reason, time_t now, struct sbuf *err)
{
	char *path = xasprintf("%s/revoked.list", cert_dir);
	char *r = sa_field(reason), ts[32];
	struct sbuf b;
	struct tm tm;
	int rc;

	sbuf_init(&b);
	if (sa_slurp_store(path, &b) != 0 && errno != ENOENT) {
		rc = -1;
		goto out;
	}
	if (b.len > 0 && b.s[b.len - 1] != '\n')
		sbuf_adds(&b, "\n");
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sbuf_printf(&b, "%s\t%s\t%s\t%s\t%s\n", e->serial_hex, e->issuer,
	    e->address, ts, r);
	rc = storeadmin_write_atomic(path, b.s, b.len, 0644);
out:
	if (rc != 0)
		sbuf_printf(err, "%s: %s", path, strerror(errno));
	sbuf_free(&b);
	free(path);
	free(r);
	return rc;
}

