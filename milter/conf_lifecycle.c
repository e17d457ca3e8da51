/*
 * conf_lifecycle.c - the checks of the lifecycle group (issue 14): who gets
 * the notices (lifecycle.officer), when (lifecycle.notify_days), how they
 * leave (lifecycle.sendmail) and where segelctl remembers what it sent
 * (lifecycle.state_file). See notice.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf_impl.h"
#include "util.h"

static const int default_days[] = { 30, 14, 7, 1 };

/* The officer's address: empty (none), or local@domain, nothing blank. */
void
check_officer(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	const unsigned char *p = (const unsigned char *)c->officer;
	const char *at = strchr(c->officer, '@');

	if (c->officer[0] == '\0') {
		free(c->officer);
		c->officer = NULL;
		return;
	}
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' ||
		    *p == ',' || *p == '"')
			break;
	if (*p != '\0' || at == NULL || at == c->officer || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		conf_err(lc, s, key, "\"%s\" is not a plain e-mail address "
		    "(local@domain)", c->officer);
	else
		for (char *q = c->officer; *q != '\0'; q++)
			*q = (char)tolower((unsigned char)*q);
}

/* The command line: its first word an absolute path (checked when used). */
void
check_sendmail(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	if (c->notice_sendmail[0] != '/')
		conf_err(lc, s, key, "\"%s\": must start with the absolute "
		    "path of the program (e.g. /usr/sbin/sendmail -t -i)",
		    c->notice_sendmail);
}

/* Resolved against the configuration's folder; the folder is checked when
 * segelctl writes it, not by the daemon, which never does. */
void
check_state_file(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	char *abs;

	if (c->notice_state[0] == '\0') {
		conf_err(lc, s, key, "must not be empty");
		return;
	}
	abs = conf_resolve_path(c, c->notice_state);
	free(c->notice_state);
	c->notice_state = abs;
}

/* Puts v into c's thresholds, largest first, without duplicates. */
static void
notify_add(struct conf *c, int v)
{
	size_t i, j;

	for (i = 0; i < c->n_notify_days; i++)
		if (c->notify_days[i] == v)
			return;
	for (i = 0; i < c->n_notify_days && c->notify_days[i] > v; i++)
		;
	for (j = c->n_notify_days; j > i; j--)
		c->notify_days[j] = c->notify_days[j - 1];
	c->notify_days[i] = v;
	c->n_notify_days++;
}

void
load_notify_days(struct loadctx *lc, struct conf *c, const config_t *cfg)
{
	const config_setting_t *arr = config_lookup(cfg,
	    "lifecycle.notify_days"), *e;
	const char *key = "lifecycle.notify_days";
	unsigned i, n;
	long long v;

	c->n_notify_days = 0;
	if (arr == NULL || !conf_type_ok(C_INTS, arr)) {
		for (i = 0; i < sizeof(default_days) / sizeof(default_days[0]); i++)
			notify_add(c, default_days[i]);
		return;
	}
	n = (unsigned)config_setting_length(arr);
	if (n == 0 || n > CONF_MAX_NOTIFY)
		conf_err(lc, arr, key, "must list 1 to %d numbers of days",
		    CONF_MAX_NOTIFY);
	for (i = 0; i < n && i < CONF_MAX_NOTIFY; i++) {
		e = config_setting_get_elem(arr, i);
		if (config_setting_type(e) != CONFIG_TYPE_INT &&
		    config_setting_type(e) != CONFIG_TYPE_INT64) {
			conf_err(lc, e, key, "element %u must be a whole number "
			    "of days", i + 1);
			continue;
		}
		v = config_setting_get_int64(e);
		if (v < 1 || v > 365)
			conf_err(lc, e, key, "%lld: must be 1 to 365 days", v);
		else
			notify_add(c, (int)v);
	}
}
