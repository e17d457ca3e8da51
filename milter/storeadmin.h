/*
 * storeadmin.h - changes segelctl makes to the certificate store, kept out
 * of the daemon's path: atomic file replacement, installing a PKCS#12 with
 * its passphrase (keeping the one it replaces in history/), appending to
 * revoked.list, and asking a running segel-milter to reload.
 *
 * Files written as root belong to the owner of their folder (the daemon's
 * user), so that a reload after the daemon dropped privileges can read
 * them. Functions return 0, or -1 with errno set and a message in err.
 */
#ifndef SEGEL_STOREADMIN_H
#define SEGEL_STOREADMIN_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "certstore.h"
#include "util.h"

/* Temporary file in the same folder, fsync, rename, fsync of the folder. */
int storeadmin_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode);
/* Reads a whole (small) file into b. */
int storeadmin_slurp(const char *path, struct sbuf *b);
/* An exclusive lock serializing changes to cert_dir: an fd to close. */
int storeadmin_lock(const char *cert_dir);

/*
 * Stores p12 (the file's bytes, unchanged) and pass as cert_dir/ADDRESS.p12
 * and .pass, mode 0600. An existing pair is first linked into
 * cert_dir/history/ADDRESS-OLDSERIAL-TIME.p12/.pass (kept names go to
 * *kept, caller frees; NULL when there was none).
 */
int storeadmin_install(const char *cert_dir, const char *addr,
    const char *old_serial, time_t now, const struct sbuf *p12,
    const char *pass, char **kept, struct sbuf *err);

/* Appends e's "SERIAL\tISSUER\tADDRESS\tTIME\tREASON" to revoked.list. */
int storeadmin_revoke(const char *cert_dir, const struct cert_entry *e,
    const char *reason, time_t now, struct sbuf *err);

/*
 * SIGUSR1 to each process named segel-milter started with conf_path (as
 * "pkill -USR1 -x segel-milter", but daemons of other configurations, such
 * as test instances, are left alone; segel-milter does not chdir, so a
 * relative -c resolves against /proc/PID/cwd). The daemon writes no pid
 * file. The pids signalled go to pids (at most max), the number of daemons
 * that could not be signalled (EPERM: not root) to *nfail; appends one line
 * per daemon (or one saying none) to msg; returns how many were signalled.
 */
int storeadmin_signal_daemon(const char *conf_path, pid_t *pids, int max,
    int *nfail, struct sbuf *msg);

/*
 * After a reload segel-milter appends to its audit log a record
 * {"event":"reload","result":"loaded"|"failed","reason":"pid PID: TEXT"}
 * (TEXT: the certificate count, or the first error as FILE:LINE: key:
 * problem). Waits up to timeout_ms for pid's record past byte off of
 * audit_path (taken before the signal). Returns 0 loaded, 1 failed, -1
 * no record (the daemon exited, or timeout); TEXT or why goes to why.
 */
int storeadmin_await_reload(const char *audit_path, off_t off, pid_t pid,
    int timeout_ms, struct sbuf *why);

#endif
