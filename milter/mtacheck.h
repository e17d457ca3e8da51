/*
 * mtacheck.h - checks of the MTA's side that `segel-milter -n` can make on
 * this host: whether the local Postfix's smtpd_milters and
 * non_smtpd_milters reach the configured unix socket, given Debian's
 * chrooted smtpd and cleanup. Runs postconf(1); silent when Postfix is not
 * installed, the socket is not unix:, or the socket is neither under
 * Postfix's queue_directory nor under /run (a test instance's).
 */
#ifndef SEGEL_MTACHECK_H
#define SEGEL_MTACHECK_H

#include "conf.h"
#include "diag.h"

/* Adds a warning (FILE: socket: problem) to d for each mismatch found. */
void mtacheck_socket(const struct conf *, struct diag *);

#endif
