/*
 * runtime.c - loaded generations and their atomic swap (see runtime.h).
 */
#include <pthread.h>
#include <stdlib.h>

#include "ocsp.h"
#include "runtime.h"
#include "util.h"

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *runtime_current;

struct runtime *
runtime_load(const char *path, struct diag *d, bool open_audit)
{
	struct runtime *rt = xcalloc(1, sizeof(*rt));
	struct sbuf err;

	rt->refs = 1;
	if ((rt->conf = conf_load(path, d)) == NULL)
		goto fail;
	if ((rt->pki = pki_load(rt->conf, d)) == NULL)
		goto fail;
	if (rt->conf->sign_enabled)
		rt->store = certstore_load(rt->conf, rt->pki, d);
	if (diag_count(d, DIAG_ERROR) > 0)
		goto fail;
	if (open_audit && rt->conf->audit_file != NULL) {
		sbuf_init(&err);
		rt->audit = audit_open(rt->conf->audit_file, &err);
		if (rt->audit == NULL) {
			diag_add(d, DIAG_ERROR, rt->conf->path, 0, "audit.file",
			    "%s: %s", rt->conf->audit_file, err.s ? err.s : "?");
			sbuf_free(&err);
			goto fail;
		}
		sbuf_free(&err);
	}
	ocsp_forget_silence();	/* a reload asks silent responders again */
	return rt;
fail:
	runtime_free(rt);
	return NULL;
}

void
runtime_free(struct runtime *rt)
{
	if (rt == NULL)
		return;
	audit_close(rt->audit);
	certstore_free(rt->store);
	pki_free(rt->pki);
	conf_free(rt->conf);
	free(rt);
}

void
runtime_publish(struct runtime *rt)
{
	struct runtime *old;

	pthread_mutex_lock(&runtime_lock);
	old = runtime_current;
	runtime_current = rt;
	pthread_mutex_unlock(&runtime_lock);
	runtime_put(old);
}

struct runtime *
runtime_get(void)
{
	struct runtime *rt;

	pthread_mutex_lock(&runtime_lock);
	rt = runtime_current;
	if (rt != NULL)
		rt->refs++;
	pthread_mutex_unlock(&runtime_lock);
	return rt;
}

void
runtime_put(struct runtime *rt)
{
	int last;

	if (rt == NULL)
		return;
	pthread_mutex_lock(&runtime_lock);
	last = --rt->refs == 0;
	pthread_mutex_unlock(&runtime_lock);
	if (last)
		runtime_free(rt);
}
