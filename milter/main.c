/*
 * main.c - segel-milter: options, start-up, privilege drop, reload thread.
 *
 *   segel-milter [-c FILE] [-f] [-n] [-p SOCKET] [-V]
 *
 * Start-up as root: load everything (configuration, trust, certificates,
 * audit log), open the socket, give it to the MTA's group, then drop to
 * `user` and make the process undumpable (keys are in memory). SIGUSR1
 * reloads from a dedicated thread: the new generation is built completely
 * and swapped in; if it fails, the old one stays (logged). SIGTERM stops
 * (libmilter owns SIGHUP/SIGTERM/SIGINT).
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/ssl.h>

#include "audit.h"
#include "diag.h"
#include "glue.h"
#include "log.h"
#include "metrics.h"
#include "mtacheck.h"
#include "runtime.h"
#include "util.h"

static const char *conf_path = SEGEL_DEFAULT_CONF;

static void
usage(void)
{
	fprintf(stderr, "usage: segel-milter [-c FILE] [-f] [-n] [-p SOCKET] "
	    "[-V]\n"
	    "  -c FILE    configuration (default %s)\n"
	    "  -f         stay in the foreground, log to stderr too\n"
	    "  -n         check the configuration and certificate store, "
	    "print every\n"
	    "             problem as FILE:LINE: key: problem, exit 0 or 78\n"
	    "  -p SOCKET  listen here instead of `socket`\n"
	    "  -V         print the version\n", SEGEL_DEFAULT_CONF);
	exit(EX_USAGE);
}

static void
log_diag(const struct diag *d)
{
	const struct diag_item *it;
	size_t i;

	for (i = 0; i < d->n; i++) {
		it = &d->items[i];
		if (it->line > 0)
			log_msg(it->sev == DIAG_ERROR ? LOG_ERR : LOG_WARNING,
			    "%s:%d: %s%s%s", it->file, it->line, it->key,
			    it->key[0] ? ": " : "", it->msg);
		else
			log_msg(it->sev == DIAG_ERROR ? LOG_ERR : LOG_WARNING,
			    "%s: %s%s%s", it->file, it->key,
			    it->key[0] ? ": " : "", it->msg);
	}
}

/*
 * The audit chain's head goes to the system log at start and at each
 * reload: a copy outside the audit file that `segelctl audit verify
 * --anchor HEAD` can check the file against later.
 */
static void
log_audit_head(struct runtime *rt)
{
	char head[65];

	if (rt->audit != NULL && audit_head(rt->audit, head) == 0)
		log_msg(LOG_NOTICE, "audit log %s: head %s",
		    rt->conf->audit_file, head);
}

/* The first error of a failed load, as FILE:LINE: key: problem. */
static char *
first_error(const struct diag *d)
{
	const struct diag_item *it;
	size_t i;

	for (i = 0; i < d->n; i++) {
		it = &d->items[i];
		if (it->sev != DIAG_ERROR)
			continue;
		if (it->line > 0)
			return xasprintf("%s:%d: %s%s%s", it->file, it->line,
			    it->key, it->key[0] ? ": " : "", it->msg);
		return xasprintf("%s: %s%s%s", it->file, it->key,
		    it->key[0] ? ": " : "", it->msg);
	}
	return xstrdup("unknown error");
}

/*
 * The outcome of a reload goes to the audit log (through rt's handle:
 * the new generation's, or the one kept after a failure), with this
 * process id: segelctl, having changed the store and sent SIGUSR1, waits
 * for this record and reports it (storeadmin_await_reload).
 */
static void
reload_record(struct runtime *rt, const char *result, const char *text)
{
	char *why = xasprintf("pid %ld: %s", (long)getpid(), text);
	struct audit_rec rec = { "reload", NULL, NULL, "daemon", NULL, NULL,
	    NULL, result, why, NULL, NULL };

	if (rt != NULL && rt->audit != NULL && audit_write(rt->audit, &rec) != 0)
		log_msg(LOG_ERR, "audit log write failed (reload record): %s",
		    strerror(errno));
	free(why);
}

static void
reload_once(void)
{
	struct runtime *rt, *cur;
	struct diag d;
	char *why;

	log_msg(LOG_NOTICE, "reload requested (SIGUSR1): reading %s",
	    conf_path);
	diag_init(&d);
	rt = runtime_load(conf_path, &d, true);
	log_diag(&d);
	if (rt == NULL) {
		why = first_error(&d);
		log_msg(LOG_ERR, "reload failed (%s); keeping the previous "
		    "configuration and certificates", why);
		cur = runtime_get();
		reload_record(cur, "failed", why);
		runtime_put(cur);
		free(why);
		diag_free(&d);
		return;
	}
	diag_free(&d);
	log_set_level(rt->conf->log_level);
	log_audit_head(rt);
	runtime_publish(rt);
	why = xasprintf("%zu certificate(s)", rt->store ?
	    certstore_count(rt->store) : 0);
	log_msg(LOG_NOTICE, "configuration loaded (reload): %s", why);
	cur = runtime_get();
	reload_record(cur, "loaded", why);
	runtime_put(cur);
	free(why);
}

static void *
reload_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	for (;;)
		if (sigwait(set, &sig) == 0)
			reload_once();
	return NULL;
}

static int
check_only(void)
{
	struct runtime *rt;
	struct diag d;
	int rc;

	diag_init(&d);
	rt = runtime_load(conf_path, &d, false);
	if (rt != NULL)
		mtacheck_socket(rt->conf, &d);
	diag_print(&d, stdout);
	rc = rt != NULL && diag_count(&d, DIAG_ERROR) == 0 ? 0 : EX_CONFIG;
	if (rc == 0)
		printf("%s: configuration OK (%zu certificate(s), %zu "
		    "warning(s))\n", conf_path,
		    rt->store ? certstore_count(rt->store) : 0,
		    diag_count(&d, DIAG_WARNING));
	runtime_free(rt);
	diag_free(&d);
	return rc;
}

/* Hands the unix socket and the writable paths to the run-time user. */
static int
prepare_paths(const struct conf *c, const char *sock, uid_t uid, gid_t gid)
{
	const char *path = NULL;
	gid_t sgid = gid;
	struct group *gr;

	if (strncmp(sock, "unix:", 5) == 0)
		path = sock + 5;
	else if (strncmp(sock, "local:", 6) == 0)
		path = sock + 6;
	if (c->socket_group[0] != '\0' && (gr = getgrnam(c->socket_group)))
		sgid = gr->gr_gid;
	if (path != NULL && (chown(path, getuid() == 0 ? uid : (uid_t)-1,
	    sgid) != 0 || chmod(path, 0660) != 0)) {
		log_msg(LOG_ERR, "socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (getuid() == 0 && c->audit_file != NULL &&
	    chown(c->audit_file, uid, gid) != 0 && errno != ENOENT)
		log_msg(LOG_WARNING, "audit.file %s: %s", c->audit_file,
		    strerror(errno));
	return 0;
}

static int
drop_privileges(const struct conf *c, const char *sock)
{
	struct passwd *pw = NULL;
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (c->user[0] != '\0') {
		if ((pw = getpwnam(c->user)) == NULL) {
			log_msg(LOG_ERR, "user %s: no such user", c->user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (prepare_paths(c, sock, uid, gid) != 0)
		return -1;
	if (pw != NULL && getuid() == 0) {
		if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 ||
		    setuid(uid) != 0 || setuid(0) == 0) {
			log_msg(LOG_ERR, "cannot drop privileges to %s: %s",
			    c->user, strerror(errno));
			return -1;
		}
		log_msg(LOG_INFO, "running as %s", c->user);
	}
	/* Keys live in this process: no core dumps, no ptrace by peers. */
	prctl(PR_SET_DUMPABLE, 0);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *sock_override = NULL;
	int ch, foreground = 0, check = 0;
	struct runtime *rt;
	struct diag d;
	static sigset_t set;
	pthread_t tid;
	char *sock;

	while ((ch = getopt(argc, argv, "c:fnp:Vh")) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		case 'p': sock_override = optarg; break;
		case 'V':
			printf("segel-milter %s\n", SEGEL_VERSION);
			return 0;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	prctl(PR_SET_DUMPABLE, 0);
	OPENSSL_init_ssl(0, NULL);
	g_mime_init();
	if (check)
		return check_only();
	log_open("segel-milter", foreground);
	diag_init(&d);
	rt = runtime_load(conf_path, &d, true);
	log_diag(&d);
	if (rt == NULL) {
		diag_print(&d, stderr);
		log_msg(LOG_ERR, "%s: configuration not usable; not starting",
		    conf_path);
		diag_free(&d);
		return EX_CONFIG;
	}
	diag_free(&d);
	log_set_level(rt->conf->log_level);
	sock = xstrdup(sock_override ? sock_override : rt->conf->socket);
	/* nothing segel writes is for the MTA but the socket (chmod 0660) */
	umask(077);
	if (glue_open(sock) != 0 || drop_privileges(rt->conf, sock) != 0)
		return EX_OSERR;
	log_audit_head(rt);
	runtime_publish(rt);
	if (!foreground && daemon(0, 0) != 0)
		return EX_OSERR;
	signal(SIGPIPE, SIG_IGN);
	/* Every thread blocks the signals libmilter's own thread waits for
	 * (SIGHUP, SIGTERM, SIGINT) and ours (SIGUSR1). */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (pthread_create(&tid, NULL, reload_thread, &set) != 0 ||
	    metrics_start() != 0)
		return EX_OSERR;
	log_msg(LOG_NOTICE, "segel-milter %s started on %s (%zu certificate(s))",
	    SEGEL_VERSION, sock, rt->store ? certstore_count(rt->store) : 0);
	ch = glue_run();
	log_msg(LOG_NOTICE, "segel-milter stopping");
	metrics_flush();	/* the last counts, for the collector */
	runtime_publish(NULL);
	free(sock);
	return ch == 0 ? 0 : EX_SOFTWARE;
}
