/*
 * glue.c - the only file that speaks libmilter.
 *
 * Callbacks gather what the MTA tells (macros, envelope, headers, body) into
 * a per-connection context owning a per-message context, call the pure
 * decisions (policy.c, gateway.c) and apply the answer. The connection keeps
 * the configuration generation it started with. Every failure maps to
 * on_error (default tempfail). Modifications happen only at end of message.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <libmilter/mfapi.h>
#include <openssl/err.h>

#include "audit.h"
#include "gateway.h"
#include "glue.h"
#include "log.h"
#include "metrics.h"
#include "msgctx.h"
#include "policy.h"
#include "runtime.h"

struct conn {
	struct runtime *rt;	/* the generation this connection uses */
	char client[INET6_ADDRSTRLEN];
	bool local, trusted;
	struct msgctx *msg;
	char *from_ours;	/* first From field showing the domain */
};

#define CONN(ctx)	((struct conn *)smfi_getpriv(ctx))

static const char *
macro(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static void
facts(SMFICTX *ctx, const struct conn *cn, struct sess_facts *f)
{
	f->local = cn->local;
	f->trusted_host = cn->trusted;
	f->tls_version = macro(ctx, "{tls_version}");
	f->login = macro(ctx, "{auth_authen}");
}

static sfsistat
reply(SMFICTX *ctx, const struct reply *r)
{
	smfi_setreply(ctx, (char *)r->rcode, (char *)r->xcode, (char *)r->text);
	return r->rcode[0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
}

static sfsistat
glue_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;

	(void)f2;
	(void)f3;
	if ((f0 & want) != want) {
		log_msg(LOG_ERR, "the MTA does not offer header and body "
		    "changes; refusing to run without them");
		return SMFIS_REJECT;
	}
	*pf0 = want | (f0 & SMFIF_SETSYMLIST);
	*pf1 = f1 & GLUE_PROTO;	/* libmilter emulates NR_ steps the MTA lacks */
	*pf2 = *pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT,
		    "j {daemon_name} {client_addr} {client_connections}");
		smfi_setsymlist(ctx, SMFIM_HELO,
		    "{tls_version} {cipher} {cipher_bits}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_type} {auth_authen} "
		    "{tls_version} {cipher} {cipher_bits} {mail_addr}");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i {rcpt_addr}");
		smfi_setsymlist(ctx, SMFIM_EOH, "i {tls_version} {auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOM, "i {tls_version} {cipher} "
		    "{cipher_bits} {auth_authen}");
	}
	return SMFIS_CONTINUE;
}

/*
 * Postfix feeds non-SMTP mail (the sendmail command) through
 * non_smtpd_milters with an emulated connection from "localhost",
 * 127.0.0.1, port 0 (cleanup_milter.c); an SMTP client always has a port.
 * But a host allowed XCLIENT can claim exactly that (NAME=localhost
 * ADDR=127.0.0.1 PORT=0): smtpd always defines {client_connections},
 * cleanup's emulation never does.
 */
static bool
is_local_submission(SMFICTX *ctx, const char *host, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	return sa != NULL && sa->sa_family == AF_INET && sin->sin_port == 0 &&
	    ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK &&
	    host != NULL && strcmp(host, "localhost") == 0 &&
	    smfi_getsymval(ctx, (char *)"{client_connections}") == NULL;
}

static bool
is_trusted(const struct conf *c, const struct sockaddr *sa, char *buf,
    size_t n)
{
	const void *a = NULL;
	size_t i;

	if (sa == NULL) {
		snprintf(buf, n, "unknown");
		return false;
	}
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)n) == NULL) {
		snprintf(buf, n, "local");
		return false;
	}
	for (i = 0; i < c->n_trusted_hosts; i++)
		if (cidr_match(&c->trusted_hosts[i], sa->sa_family, a))
			return true;
	return false;
}

static sfsistat
glue_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct conn *cn = calloc(1, sizeof(*cn));

	/* No reply here (SMFIP_NR_CONN): without a context, MAIL tempfails. */
	if (cn == NULL || (cn->rt = runtime_get()) == NULL) {
		free(cn);
		return SMFIS_NOREPLY;
	}
	cn->trusted = is_trusted(cn->rt->conf, sa, cn->client,
	    sizeof(cn->client));
	cn->local = is_local_submission(ctx, host, sa);
	smfi_setpriv(ctx, cn);
	return SMFIS_NOREPLY;
}

static void
message_reset(struct conn *cn)
{
	msgctx_free(cn->msg);
	cn->msg = NULL;
	free(cn->from_ours);
	cn->from_ours = NULL;
}

/*
 * A plaintext refusal (530): one log line and one audit record, like every
 * other decision; an audit write failure is logged (the mail is refused
 * anyway, so nothing passes unrecorded).
 */
static sfsistat
tls_refused(SMFICTX *ctx, const struct conn *cn, const struct sess_facts *f,
    const char *from, const char *rcpt, const struct reply *r)
{
	const char *qid = macro(ctx, "i") ? macro(ctx, "i") : "NOQUEUE";
	const char *tls = f->tls_version ? f->tls_version : "none";
	const char *role = policy_session_role(f);
	struct audit_rec rec = { "refuse", qid, NULL, role, from, f->login,
	    NULL, "530 5.7.0", "plaintext", cn->client, NULL };

	log_msg(LOG_NOTICE, "%s: role=%s from=%s%s%s client=%s "
	    "action=refused reason=plaintext tls=%s", qid, role,
	    from ? from : "<>", rcpt ? " to=" : "", rcpt ? rcpt : "",
	    cn->client, tls);
	if (cn->rt->audit != NULL && audit_write(cn->rt->audit, &rec) != 0)
		log_msg(LOG_ERR, "%s: audit log write failed: %m", qid);
	metrics_refused(role, "plaintext");
	return reply(ctx, r);
}

static sfsistat
glue_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *cn = CONN(ctx);
	struct sess_facts f;
	struct reply r;

	if (cn == NULL)
		return SMFIS_TEMPFAIL;
	message_reset(cn);
	cn->msg = msgctx_new(cn->rt->conf);
	cn->msg->mail_from = argv[0] ? addr_normalize(argv[0]) : NULL;
	facts(ctx, cn, &f);
	/* The sender as written and as the MTA resolved it ({mail_addr}:
	 * alice%domain@[our address] is alice@domain to Postfix). */
	if (policy_tls_refuse_sender(cn->rt->conf, &f, argv[0], &r) ||
	    policy_tls_refuse_sender(cn->rt->conf, &f,
	    macro(ctx, "{mail_addr}"), &r))
		return tls_refused(ctx, cn, &f, cn->msg->mail_from ?
		    cn->msg->mail_from : argv[0], NULL, &r);
	return SMFIS_CONTINUE;
}

static sfsistat
glue_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *cn = CONN(ctx);
	struct sess_facts f;
	struct reply r;
	sfsistat rc = SMFIS_CONTINUE;
	char *rcpt;

	if (cn == NULL || cn->msg == NULL)
		return SMFIS_TEMPFAIL;
	rcpt = argv[0] ? addr_normalize(argv[0]) : NULL;
	facts(ctx, cn, &f);
	/* As written, and where the MTA will deliver it ({rcpt_addr}: Postfix
	 * drops source routes and applies the percent hack for its own
	 * domains and addresses). */
	if (policy_tls_refuse_rcpt(cn->rt->conf, &f, argv[0], &r) ||
	    policy_tls_refuse_rcpt(cn->rt->conf, &f,
	    macro(ctx, "{rcpt_addr}"), &r))
		rc = tls_refused(ctx, cn, &f, cn->msg->mail_from,
		    rcpt ? rcpt : argv[0], &r);
	else {
		cn->msg->n_rcpt++;
		if (policy_env_in_domain(argv[0], cn->rt->conf->domain) ||
		    policy_env_in_domain(macro(ctx, "{rcpt_addr}"),
		    cn->rt->conf->domain))
			cn->msg->n_rcpt_domain++;
	}
	free(rcpt);
	return rc;
}

static sfsistat
glue_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *cn = CONN(ctx);

	/* No reply (SMFIP_NR_HDR): without a message, end of headers tempfails. */
	if (cn == NULL || cn->msg == NULL)
		return SMFIS_NOREPLY;
	msgctx_header(cn->msg, cn->rt->conf, name, value ? value : "",
	    cn->rt->conf->authserv_id);
	/* Every From field, not only the first the message keeps: a reader
	 * may show the second. */
	if (cn->from_ours == NULL && strcasecmp(name, "From") == 0)
		cn->from_ours = policy_from_domain_address(value ? value : "",
		    cn->rt->conf->domain);
	return SMFIS_NOREPLY;
}

static sfsistat
glue_eoh(SMFICTX *ctx)
{
	struct conn *cn = CONN(ctx);
	struct sess_facts f;
	struct reply r;

	if (cn == NULL || cn->msg == NULL)
		return SMFIS_TEMPFAIL;
	facts(ctx, cn, &f);
	/* Any address of any From field a reader could take for ours. */
	if (policy_tls_refuse_sender(cn->rt->conf, &f, cn->from_ours, &r))
		return tls_refused(ctx, cn, &f, cn->from_ours, NULL, &r);
	return SMFIS_CONTINUE;
}

static sfsistat
glue_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *cn = CONN(ctx);

	/* No reply (SMFIP_NR_BODY): a failure is answered at end of message. */
	if (cn != NULL && cn->msg != NULL)
		msgctx_body(cn->msg, cn->rt->conf, chunk, len);
	return SMFIS_NOREPLY;
}

static int
apply_body(SMFICTX *ctx, const struct msgbuf *b)
{
	char *chunk;
	off_t off = 0;
	ssize_t r;

	if ((chunk = malloc(65536)) == NULL)
		return -1;
	while ((r = msgbuf_pread(b, chunk, 65536, off)) > 0) {
		if (smfi_replacebody(ctx, (unsigned char *)chunk, (int)r) !=
		    MI_SUCCESS) {
			free(chunk);
			return -1;
		}
		/* No smfi_progress() here: Postfix refuses other requests
		 * mixed into a body replacement. */
		off += r;
	}
	free(chunk);
	return r < 0 ? -1 : 0;
}

static int
apply_plan(SMFICTX *ctx, const struct plan *p)
{
	const struct edit *e;
	size_t i;
	int r = MI_SUCCESS;

	for (i = 0; i < p->n_edits && r == MI_SUCCESS; i++) {
		e = &p->edits[i];
		switch (e->op) {
		case EDIT_CHANGE:
			r = smfi_chgheader(ctx, e->name, e->index, e->value);
			break;
		case EDIT_INSERT_TOP:
			r = smfi_insheader(ctx, 0, e->name, e->value);
			break;
		case EDIT_ADD:
			r = smfi_addheader(ctx, e->name, e->value);
			break;
		}
	}
	if (r != MI_SUCCESS)
		return -1;
	if (p->new_body != NULL)
		return apply_body(ctx, p->new_body);
	return 0;
}

static long
elapsed_ms(const struct msgctx *m)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - m->t0.tv_sec) * 1000 +
	    (now.tv_nsec - m->t0.tv_nsec) / 1000000;
}

static void
log_decision(SMFICTX *ctx, const struct conn *cn, const struct sess_facts *f,
    const char *qid, const struct plan *p)
{
	const char *cipher = macro(ctx, "{cipher}"),
	    *bits = macro(ctx, "{cipher_bits}");

	char *from = cn->msg->n_from == 1 ?
	    addr_normalize(cn->msg->from_value) : NULL;

	log_msg(p->verdict == V_CONTINUE ? LOG_INFO : LOG_NOTICE,
	    "%s: role=%s from=%s login=%s client=%s tls=%s cipher=%s bits=%s "
	    "action=%s%s%s%s%s%s%s ms=%ld", qid, p->role,
	    from ? from : "-", f->login ? f->login : "-", cn->client,
	    f->tls_version ? f->tls_version : (f->local ? "local" : "none"),
	    cipher ? cipher : "-", bits ? bits : "-", p->action ? p->action : "-",
	    p->cert_serial ? " cert_serial=" : "",
	    p->cert_serial ? p->cert_serial : "",
	    p->result ? " smime=" : "", p->result ? p->result : "",
	    p->verdict != V_CONTINUE ? " reply=" : "",
	    p->verdict != V_CONTINUE ? p->reply.rcode : "",
	    elapsed_ms(cn->msg));
	free(from);
}

static sfsistat
glue_eom(SMFICTX *ctx)
{
	struct conn *cn = CONN(ctx);
	const char *qid = macro(ctx, "i") ? macro(ctx, "i") : "NOQUEUE";
	struct sess_facts f;
	struct plan p;
	sfsistat rc = SMFIS_CONTINUE;

	if (cn == NULL || cn->msg == NULL)
		return SMFIS_TEMPFAIL;
	ERR_clear_error();
	facts(ctx, cn, &f);
	gateway_eom(cn->rt, &f, cn->msg, qid, cn->client, &p);
	log_ssl(LOG_ERR, qid);
	if (p.verdict != V_CONTINUE)
		rc = reply(ctx, &p.reply);
	else if ((p.new_body != NULL && smfi_progress(ctx) != MI_SUCCESS) ||
	    apply_plan(ctx, &p) != 0) {
		/* A half-applied change must not leave: tempfail, never accept. */
		struct reply r;

		log_msg(LOG_ERR, "%s: the MTA refused a modification", qid);
		policy_internal_error(NULL, &r);
		rc = reply(ctx, &r);
		free(p.action);
		p.action = xstrdup("tempfail: modification failed");
	}
	log_decision(ctx, cn, &f, qid, &p);
	metrics_decision(p.role, p.action, p.result);
	plan_free(&p);
	message_reset(cn);
	return rc;
}

static sfsistat
glue_abort(SMFICTX *ctx)
{
	struct conn *cn = CONN(ctx);

	if (cn != NULL)
		message_reset(cn);
	return SMFIS_CONTINUE;
}

static sfsistat
glue_close(SMFICTX *ctx)
{
	struct conn *cn = CONN(ctx);

	if (cn == NULL)
		return SMFIS_CONTINUE;
	message_reset(cn);
	runtime_put(cn->rt);
	free(cn);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc glue_desc = {
	.xxfi_name = "segel",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY |
	    SMFIF_SETSYMLIST,
	.xxfi_connect = glue_connect,
	.xxfi_envfrom = glue_envfrom,
	.xxfi_envrcpt = glue_envrcpt,
	.xxfi_header = glue_header,
	.xxfi_eoh = glue_eoh,
	.xxfi_body = glue_body,
	.xxfi_eom = glue_eom,
	.xxfi_abort = glue_abort,
	.xxfi_close = glue_close,
	.xxfi_negotiate = glue_negotiate,
};

int
glue_open(const char *socket)
{
	if (smfi_setconn((char *)socket) != MI_SUCCESS ||
	    smfi_register(glue_desc) != MI_SUCCESS) {
		log_msg(LOG_ERR, "cannot register the milter on %s", socket);
		return -1;
	}
	smfi_settimeout(7210);
	if (smfi_opensocket(true) != MI_SUCCESS) {
		log_msg(LOG_ERR, "cannot open the milter socket %s", socket);
		return -1;
	}
	return 0;
}

int
glue_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}

void
glue_stop(void)
{
	smfi_stop();
}
