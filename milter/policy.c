/*
 * policy.c - pure decisions: roles, TLS sufficiency, who may be signed for,
 * and the refusal texts (English then Indonesian). See policy.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "policy.h"
#include "util.h"

int
policy_tls_version(const char *v)
{
	if (v == NULL || v[0] == '\0')
		return 0;
	/* Sendmail's older OpenSSL builds say "TLSv1/SSLv3" for TLS 1.0. */
	if (strcasecmp(v, "TLSv1/SSLv3") == 0)
		return 0x0301;
	if (strcasecmp(v, "SSLv3") == 0)
		return 0x0300;
	if (strcasecmp(v, "TLSv1") == 0)
		return 0x0301;
	if (strncasecmp(v, "TLSv1.", 6) == 0 && v[6] >= '0' && v[6] <= '9' &&
	    v[7] == '\0')
		return 0x0301 + (v[6] - '0');
	return -1;
}

bool
policy_tls_ok(const struct conf *c, const struct sess_facts *f)
{
	int v;

	if (!c->tls_enforce || f->local)
		return true;
	v = policy_tls_version(f->tls_version);
	return v > 0 && v >= c->tls_min_version;
}

static void
reply_set(struct reply *r, const char *rcode, const char *xcode,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
reply_set(struct reply *r, const char *rcode, const char *xcode,
    const char *fmt, ...)
{
	va_list ap;
	char *p;

	r->rcode = rcode;
	r->xcode = xcode;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	/* libmilter drops a reply containing a lone '%' or line breaks. */
	for (p = r->text; *p != '\0'; p++)
		if (*p == '%' || *p == '\r' || *p == '\n')
			*p = ' ';
}

static const char *
tls_name(int v)
{
	switch (v) {
	case 0x0301: return "1.0";
	case 0x0302: return "1.1";
	case 0x0303: return "1.2";
	case 0x0304: return "1.3";
	}
	return "1.2";
}

static void
tls_reply(const struct conf *c, const struct sess_facts *f, struct reply *r)
{
	const char *min = tls_name(c->tls_min_version);

	if (policy_tls_version(f->tls_version) == 0)
		reply_set(r, "530", "5.7.0", "Must issue a STARTTLS command "
		    "first (TLS %s or newer) for mail of %s / Wajib menggunakan "
		    "TLS (STARTTLS) versi %s atau lebih baru untuk surel %s",
		    min, c->domain, min, c->domain);
	else
		reply_set(r, "530", "5.7.0", "TLS %s or newer required for "
		    "mail of %s, this session uses %s / Wajib TLS versi %s atau "
		    "lebih baru untuk surel %s", min, c->domain,
		    f->tls_version, min, c->domain);
}

/*
 * Whether host (n bytes) is domain: case and one final dot aside, and a
 * non-ASCII name as IDNA maps it (GLib's UTS 46 mapping: fullwidth
 * letters, U+3002 dots, the Kelvin sign), as an IDNA-aware MTA or reader
 * resolves it.
 */
static bool
host_is(const char *host, size_t n, const char *domain)
{
	char *h = xasprintf("@%.*s", (int)n, host), *a = NULL;
	bool r = addr_in_domain(h, domain);
	size_t i;

	for (i = 1; h[i] != '\0' && !r; i++)
		if ((unsigned char)h[i] >= 0x80) {
			if (g_utf8_validate(h + 1, -1, NULL) &&
			    (a = g_hostname_to_ascii(h + 1)) != NULL) {
				free(h);
				h = xasprintf("@%s", a);
				r = addr_in_domain(h, domain);
				g_free(a);
			}
			break;
		}
	free(h);
	return r;
}

/*
 * Whether an envelope address, written as the client wrote it ("<...>",
 * the MAIL or RCPT argument) or as the MTA resolved it ({rcpt_addr}), is
 * in domain as RFC 5321 and Postfix read it: the domain is what follows
 * the last '@' outside a quoted local part, so a quoted local part
 * ("al ice"@d), a source route (@relay:alice@d), comments and stray white
 * space are no way around the rule. Routing that depends on the MTA's own
 * domains (alice%d@[our address]) is what {rcpt_addr} shows.
 */
bool
policy_env_in_domain(const char *v, const char *domain)
{
	const char *p, *host = NULL;
	struct sbuf b;
	bool inq = false, r;

	if (v == NULL || domain == NULL)
		return false;
	sbuf_init(&b);
	for (p = v; *p != '\0'; p++) {
		if (inq) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				inq = false;
		} else if (*p == '"')
			inq = true;
		else if (*p == '(') {
			if ((p = addr_skip_comment(p)) == NULL)
				break;
			p--;
		} else if (*p == '@') {
			host = p;
			b.len = 0;
		} else if (host != NULL && *p != '<' && *p != '>' &&
		    !isspace((unsigned char)*p))
			sbuf_add(&b, p, 1);
	}
	r = host != NULL && b.len > 0 && host_is(b.s, b.len, domain);
	sbuf_free(&b);
	return r;
}

bool
policy_tls_refuse_rcpt(const struct conf *c, const struct sess_facts *f,
    const char *rcpt, struct reply *r)
{
	if (!policy_env_in_domain(rcpt, c->domain) || policy_tls_ok(c, f))
		return false;
	tls_reply(c, f, r);
	return true;
}

bool
policy_tls_refuse_sender(const struct conf *c, const struct sess_facts *f,
    const char *sender, struct reply *r)
{
	if (!policy_env_in_domain(sender, c->domain) || policy_tls_ok(c, f))
		return false;
	tls_reply(c, f, r);
	return true;
}

static const char *
status_id_id(enum cert_status st)
{
	switch (st) {
	case CERT_OK:			return "baik";
	case CERT_NONE:			return "tidak ada";
	case CERT_EXPIRED:		return "kedaluwarsa";
	case CERT_NOT_YET_VALID:	return "belum berlaku";
	case CERT_REVOKED:		return "dicabut";
	case CERT_UNTRUSTED:		return "tidak tepercaya";
	case CERT_BROKEN:		return "rusak";
	case CERT_UNAVAILABLE:		return "kunci tidak tersedia";
	case CERT_CRL_STALE:		return "status pencabutan tidak diketahui (CRL kedaluwarsa)";
	}
	return "rusak";
}

static void
sign_refuse(struct sign_decision *d, const char *reason)
{
	d->action = SIGN_REFUSE;
	d->reason = reason;
}

/* Skips a quoted string opening at p; NULL when unterminated. */
static const char *
skip_quoted(const char *p)
{
	for (p++; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* A control character some reader may take for a line break, or hide:
 * all below 0x20 but TAB and the LF or CR LF of folding, and DEL. */
static bool
bad_ctl(const char *p)
{
	unsigned char c = (unsigned char)*p;

	if (c == '\t' || c == '\n')
		return false;
	if (c == '\r')
		return p[1] != '\n';
	return c < 0x20 || c == 0x7f;
}

/*
 * Whether a From value is one mailbox and nothing else a reader could take
 * for an address: "[phrase] <addr-spec> [comments]" or "addr-spec
 * [comments]". addr_normalize is lenient: it gives bob for "alice@x <bob@x>",
 * "<bob@x> <alice@x>" and "bob@x alice@x", which Python's email package
 * reads as alice, and so may a mail reader. Signing needs no doubt.
 */
static bool
from_shape_ok(const char *v)
{
	const char *p, *next;
	size_t words = 0, at_words = 0;
	bool angle = false, quoted = false;

	for (p = v; *p != '\0'; p++)
		if (bad_ctl(p))
			return false;
	for (p = v; *p != '\0'; p = next) {
		next = p + 1;
		if (isspace((unsigned char)*p))
			continue;
		if (*p == '(') {
			if ((next = addr_skip_comment(p)) == NULL)
				return false;
		} else if (angle)	/* only comments after the angle-addr */
			return false;
		else if (*p == '"') {
			if ((next = skip_quoted(p)) == NULL)
				return false;
			quoted = true;
		} else if (*p == '<') {
			if ((next = strchr(p, '>')) == NULL)
				return false;
			next++;
			angle = true;
		} else {
			next = p + strcspn(p, " \t\r\n(\"<");
			if (p + strcspn(p, ",;:>[]\\)") < next)
				return false;	/* a group, a list, a stray special */
			words++;
			if (p + strcspn(p, "@") < next)
				at_words++;
		}
	}
	if (angle)
		return at_words == 0;
	return words == 1 && at_words == 1 && !quoted;
}

/*
 * The value with its encoded-words decoded (RFC 2047, any charset, to
 * UTF-8), as a mail reader shows it: GMime's decoder, the one the rest of
 * segel reads mail with. NUL-free; the caller frees.
 */
static char *
from_decode(const char *v)
{
	char *g = g_mime_utils_header_decode_text(NULL, v);
	char *d = xstrdup(g != NULL ? g : v);

	g_free(g);
	return d;
}

/*
 * Whether what a reader shows of the From value names no address but addr:
 * every word of the display name, quoted strings and comments (encoded-words
 * decoded) holding an '@', or a look-alike (U+FF20 FULLWIDTH COMMERCIAL AT,
 * U+FE6B SMALL COMMERCIAL AT), must be addr itself. Else "bob@x" signs mail
 * that shows "alice@x" <bob@x> as alice in readers showing only the name.
 */
static bool
from_display_ok(const char *v, const char *addr)
{
	char *d = from_decode(v), *w, *save = NULL;
	bool ok = true;

	for (w = strtok_r(d, " \t\r\n\"()<>,;:", &save); w != NULL && ok;
	    w = strtok_r(NULL, " \t\r\n\"()<>,;:", &save))
		if ((strchr(w, '@') || strstr(w, "\xef\xbc\xa0") ||
		    strstr(w, "\xef\xb9\xab")) && strcasecmp(w, addr) != 0)
			ok = false;
	free(d);
	return ok;
}

char *
policy_from_address(const char *from_value)
{
	char *from;

	if (from_value == NULL || !from_shape_ok(from_value) ||
	    (from = addr_normalize(from_value)) == NULL)
		return NULL;
	if (!from_display_ok(from_value, from)) {
		free(from);
		return NULL;
	}
	return from;
}

/*
 * The addr-spec of a From value as written (the angle-addr, else the whole
 * value), lower-cased and trimmed, for logs: addr_normalize refuses quoted
 * local parts and white space around '@', which readers accept.
 */
static char *
from_addr_spec(const char *v)
{
	const char *s = strchr(v, '<'), *e;
	char *a, *q;

	if (s != NULL && (e = strchr(s, '>')) != NULL)
		s++;
	else {
		s = v;
		e = v + strlen(v);
	}
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	a = xstrndup(s, (size_t)(e - s));
	for (q = a; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	return a;
}

/* The decoded value with U+FF20 and U+FE6B made '@' and the white space
 * around each '@' removed ("alice @ d" is alice@d to RFC 5322's obsolete
 * syntax and to Python's parser). */
static char *
from_decode_ats(const char *v)
{
	static const char *const ats[] = { "\xef\xbc\xa0", "\xef\xb9\xab" };
	char *d = from_decode(v), *p, *q;
	size_t i;

	for (i = 0; i < 2; i++)
		for (p = d; (q = strstr(p, ats[i])) != NULL; p = q + 3)
			memcpy(q, "@  ", 3);
	for (p = q = d; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) && (q > d && q[-1] == '@'))
			continue;
		if (*p == '@')
			while (q > d && isspace((unsigned char)q[-1]))
				q--;
		*q++ = *p;
	}
	*q = '\0';
	return d;
}

char *
policy_from_domain_address(const char *from_value, const char *domain)
{
	char *d, *w, *save = NULL, *a, *found = NULL;
	const char *lt;

	if (from_value == NULL)
		return NULL;
	if ((a = addr_normalize(from_value)) != NULL &&
	    policy_env_in_domain(a, domain))
		return a;
	free(a);
	/* The mailbox as RFC 5321 reads an address: quoted local part,
	 * obs-route, white space at '@'. */
	lt = strchr(from_value, '<');
	a = from_addr_spec(from_value);
	if (addr_count(from_value) <= 1 && policy_env_in_domain(lt != NULL ? a :
	    from_value, domain))
		return a;
	free(a);
	d = from_decode_ats(from_value);
	for (w = strtok_r(d, " \t\r\n\"()<>,;:", &save); w != NULL &&
	    found == NULL; w = strtok_r(NULL, " \t\r\n\"()<>,;:", &save))
		if (strchr(w, '@') != NULL && policy_env_in_domain(w, domain) &&
		    (found = addr_normalize(w)) == NULL)
			found = from_addr_spec(w);
	free(d);
	return found;
}

/* The certificate part of the outbound decision. */
static void
policy_sign_cert(const struct conf *c, const char *from, enum cert_status st,
    struct sign_decision *d)
{
	if (st == CERT_OK) {
		d->action = SIGN_YES;
		d->reason = "signed";
		return;
	}
	d->reason = cert_status_name(st);
	/* Pasal 18 (3): a revoked certificate is never used, whatever the
	 * setting; the mail is refused rather than sent unsigned. A key whose
	 * token is away is a passing fault: the mail waits for it, whatever
	 * on_no_cert says (neither bounced nor sent unsigned); so does a
	 * certificate whose CRL is out of date (pki.crl_grace). */
	if (st != CERT_REVOKED && (st == CERT_UNAVAILABLE ||
	    st == CERT_CRL_STALE ||
	    c->on_no_cert == NOCERT_TEMPFAIL)) {
		sign_refuse(d, cert_status_name(st));
		reply_set(&d->reply, "451", "4.7.1", "No usable certificate "
		    "for %s yet: %s; try again later / Sertifikat elektronik "
		    "untuk %s belum dapat dipakai: %s; coba lagi nanti", from,
		    cert_status_name(st), from, status_id_id(st));
	} else if (st == CERT_REVOKED || c->on_no_cert == NOCERT_REJECT) {
		sign_refuse(d, cert_status_name(st));
		reply_set(&d->reply, "550", "5.7.1", "No usable certificate "
		    "for %s: %s; ask the registration officer (OP) / Sertifikat "
		    "elektronik untuk %s tidak dapat dipakai: %s; hubungi "
		    "petugas OP", from, cert_status_name(st), from, status_id_id(st));
	} else
		d->action = SIGN_UNSIGNED;
}

void
policy_sign(const struct conf *c, const struct sess_facts *f,
    const char *from_value, size_t n_from, bool is_protected,
    enum cert_status st, struct sign_decision *d)
{
	bool authed = f->login != NULL && f->login[0] != '\0';
	char *from = NULL;

	memset(d, 0, sizeof(*d));
	d->action = SIGN_NO;
	d->reason = "inbound";
	if (!c->sign_enabled || (!authed && !f->trusted_host))
		return;
	if (n_from == 1 && from_value != NULL && from_shape_ok(from_value))
		from = addr_normalize(from_value);
	if (from == NULL) {
		/* Several From addresses, or none: never signed. */
		if (authed) {
			sign_refuse(d, "not exactly one From address");
			reply_set(&d->reply, "550", "5.7.1", "A message must "
			    "have exactly one From address to be signed / Surel "
			    "harus memiliki tepat satu alamat pengirim (From) "
			    "untuk ditandatangani");
		}
		return;
	}
	if (!addr_in_domain(from, c->domain))
		goto out;
	if (authed && !conf_login_may_send(c, f->login, from)) {
		sign_refuse(d, "login may not send as From");
		reply_set(&d->reply, "550", "5.7.1", "Login %s may not send as "
		    "%s / Akun %s tidak berhak mengirim sebagai %s", f->login,
		    from, f->login, from);
		goto out;
	}
	if (!from_display_ok(from_value, from)) {
		/* Not signed for anyone; refused when a login can be told. */
		if (authed) {
			sign_refuse(d, "From shows another address");
			reply_set(&d->reply, "550", "5.7.1", "The From field "
			    "may show no address but %s / Kolom pengirim (From) "
			    "tidak boleh menampilkan alamat selain %s", from, from);
		}
		goto out;
	}
	if (is_protected) {
		d->action = SIGN_PASS;
		d->reason = "already signed or encrypted";
		goto out;
	}
	policy_sign_cert(c, from, st, d);
out:
	free(from);
}

void
policy_internal_error(const struct conf *c, struct reply *r)
{
	if (c != NULL && c->on_error == ON_ERROR_REJECT)
		reply_set(r, "550", "5.3.0", "The mail gateway could not "
		    "process this message / Gerbang surel tidak dapat memproses "
		    "surel ini");
	else
		reply_set(r, "451", "4.3.0", "Temporary failure in the mail "
		    "gateway, try again later / Gangguan sementara pada gerbang "
		    "surel, silakan coba lagi nanti");
}

/* A token key that stopped signing: passing, whatever on_error says. */
void
policy_token_error(const char *from, struct reply *r)
{
	reply_set(r, "451", "4.7.1", "The signing key for %s cannot be used "
	    "now (its security token); try again later / Kunci tanda tangan "
	    "untuk %s belum dapat dipakai; coba lagi nanti", from, from);
}

void
policy_unsigned_own(const struct conf *c, const char *from, struct reply *r)
{
	reply_set(r, "550", "5.7.1", "Mail from %s must be S/MIME signed; "
	    "unsigned mail claiming this domain is refused / Surel dari %s "
	    "wajib ditandatangani secara elektronik; surel tanpa tanda tangan "
	    "atas nama domain %s ditolak", from, from, c->domain);
}

const char *
policy_session_role(const struct sess_facts *f)
{
	return (f->login != NULL && f->login[0] != '\0') || f->trusted_host ?
	    "outbound" : "inbound";
}
