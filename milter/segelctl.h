/*
 * segelctl.h - what the parts of segelctl share: the loaded state and the
 * commands (segelctl.c: main, check, audit, report; segelctl_list.c: list,
 * show, expiring; segelctl_change.c: import, revoke; segelctl_crl.c: crl update).
 */
#ifndef SEGELCTL_H
#define SEGELCTL_H

#include <time.h>

#include "certstore.h"
#include "conf.h"
#include "diag.h"
#include "pki.h"

#define EXPIRING_DAYS	30
#define RELOAD_WAIT	15	/* s; SEGELCTL_RELOAD_WAIT overrides */

struct ctl {
	const char *conf_path;
	struct conf *c;
	struct pki *p;
	struct certstore *cs;
	struct diag d;
	time_t now;
};

enum ctl_fmt { F_DAY, F_ISO, F_HUMAN, F_STAMP };

void __attribute__((noreturn)) usage(const char *);
void ctl_load(struct ctl *);
const char *ctl_status(const struct ctl *, const struct cert_entry *, long *);
void ctl_date(time_t, char *, size_t, enum ctl_fmt);

int cmd_list(struct ctl *, int, char **);
int cmd_show(struct ctl *, int, char **);
int cmd_expiring(struct ctl *, int, char **);
int cmd_import(struct ctl *, int, char **);
int cmd_revoke(struct ctl *, int, char **);
/* segelctl_records.c (issue 13) */
int cmd_audit_sub(struct ctl *, int, char **);
int cmd_archive(struct ctl *, int, char **);
int ctl_audit_stamps(const struct ctl *);
/* segelctl_change.c, also for segelctl_crl.c */
int ctl_audit(const struct ctl *, const char *event, const char *addr,
    const char *serial, const char *result, const char *reason,
    const char *unit);
int ctl_reload(const struct ctl *);
/* segelctl_crl.c: crl update; what check says about revocation data */
int cmd_crl(struct ctl *, int, char **);
void crl_check_diag(const struct conf *, const struct pki *, struct diag *);

#endif
