/*
 * log.h - logging to syslog (and stderr with -f).
 *
 * log_msg() filters by the configured level. log_ssl() drains this thread's
 * OpenSSL error queue into the log; call it after every OpenSSL failure.
 * Never log passphrases or key material.
 */
#ifndef SEGEL_LOG_H
#define SEGEL_LOG_H

#include <syslog.h>

void log_open(const char *ident, int to_stderr);
void log_set_level(int priority);	/* LOG_ERR .. LOG_DEBUG */
void log_msg(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs "prefix: <error>" for each queued OpenSSL error; clears the queue. */
void log_ssl(int priority, const char *prefix);

#endif
