/*
 * log.c - syslog (and stderr in the foreground) with a level filter, and
 * OpenSSL's per-thread error queue drained into the log.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include <openssl/err.h>

#include "log.h"

static atomic_int log_level = LOG_INFO;
static int log_stderr;

void
log_open(const char *ident, int to_stderr)
{
	log_stderr = to_stderr;
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_level(int priority)
{
	atomic_store(&log_level, priority);
}

static void
log_emit(int priority, const char *msg)
{
	static const char *names[] = { "emerg", "alert", "crit", "error",
	    "warning", "notice", "info", "debug" };
	char ts[32];
	time_t now;
	struct tm tm;

	syslog(priority, "%s", msg);
	if (!log_stderr)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s segel-milter[%s]: %s\n", ts,
	    names[priority & 7], msg);
}

void
log_msg(int priority, const char *fmt, ...)
{
	va_list ap;
	char buf[2048];

	if (priority > atomic_load(&log_level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_emit(priority, buf);
}

void
log_ssl(int priority, const char *prefix)
{
	unsigned long e;
	const char *file, *data, *func;
	int line, flags;
	char buf[256];

	while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_msg(priority, "%s: openssl: %s%s%s", prefix, buf,
		    (flags & ERR_TXT_STRING) && data ? ": " : "",
		    (flags & ERR_TXT_STRING) && data ? data : "");
	}
}
