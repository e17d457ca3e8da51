/*
 * fuzz_conf.c - conf_load() on arbitrary files.
 *
 * Each input is written to DIR/segel.conf in a private temporary folder that
 * also holds trust.pem, crl/, certs/, tmp/ and login.map, so that the seeds'
 * relative paths resolve. conf_load() must never crash and either return a
 * configuration (whose invariants are checked) or report at least one error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "fuzz_common.h"
#include "util.h"

static char *dir;
static char *confpath;

static void
put(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(p, "w");

	if (fp == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
	free(p);
}

static void
sub(const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);

	mkdir(p, 0700);
	free(p);
}

static void
cleanup(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_conf: cannot remove %s\n", dir);
	free(cmd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	dir = fuzz_tmpdir("conf");
	atexit(cleanup);
	sub("crl");
	sub("certs");
	sub("tmp");
	sub("archive");
	put("trust.pem", "");
	put("login.map", "# login address\nkasir bendahara@tanjungpinangkota.go.id\n");
	confpath = xasprintf("%s/segel.conf", dir);
	return 0;
}

static void
check_conf(const struct conf *c)
{
	size_t i;

	FUZZ_ASSERT(c->path != NULL && c->dir != NULL, "no path");
	FUZZ_ASSERT(c->domain != NULL && c->authserv_id != NULL &&
	    c->socket != NULL && c->trust_file != NULL && c->cert_dir != NULL &&
	    c->tmp_dir != NULL, "a required string is NULL");
	FUZZ_ASSERT(c->memory_threshold <= c->max_message_size,
	    "memory_body %zu > message_size %zu", c->memory_threshold,
	    c->max_message_size);
	FUZZ_ASSERT(c->tls_min_version >= 0x0300 && c->tls_min_version <= 0x0304,
	    "tls_min_version 0x%x", c->tls_min_version);
	for (i = 0; i < c->n_trusted_hosts; i++)
		FUZZ_ASSERT((c->trusted_hosts[i].family == AF_INET &&
		    c->trusted_hosts[i].bits >= 0 && c->trusted_hosts[i].bits <= 32) ||
		    (c->trusted_hosts[i].family == AF_INET6 &&
		    c->trusted_hosts[i].bits >= 0 && c->trusted_hosts[i].bits <= 128),
		    "bad cidr %zu", i);
	for (i = 0; i < c->n_logins; i++)
		FUZZ_ASSERT(c->logins[i].login && c->logins[i].address, "login");
	(void)conf_login_may_send(c, "kasir", "bendahara@tanjungpinangkota.go.id");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d;
	struct conf *c;
	FILE *fp;

	if ((fp = fopen(confpath, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	fclose(fp);
	diag_init(&d);
	c = conf_load(confpath, &d);
	if (c != NULL)
		check_conf(c);
	else
		FUZZ_ASSERT(diag_count(&d, DIAG_ERROR) > 0,
		    "conf_load returned NULL without an error");
	conf_free(c);
	diag_free(&d);
	return 0;
}
