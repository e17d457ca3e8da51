/*
 * certstore_revlist.c - cert_dir/revoked.list, the store's own revocation
 * list (segelctl revoke writes it): one line per revoked certificate,
 * "SERIAL ISSUER-DN TIME REASON", read on every load and by the verifier's
 * cross-check. A serial matches however it was typed; an issuer matches
 * by its RFC 2253 form.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "certstore.h"
#include "util.h"

/*
 * The serial of a revoked.list field as upper-case hex without leading
 * zeros, however it was typed ("0x..", "1a:2b", spaces); NULL when the
 * field is no serial (an unknown line). Caller frees.
 */
static char *
cs_serial_norm(const char *f)
{
	char *s = xstrdup(f), *q = s;
	const char *p = f;

	while (isspace((unsigned char)*p))
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; *p != '\0'; p++) {
		if (isxdigit((unsigned char)*p))
			*q++ = (char)toupper((unsigned char)*p);
		else if (*p != ':' && !isspace((unsigned char)*p))
			break;
	}
	*q = '\0';
	if (*p != '\0' || q == s) {
		free(s);
		return NULL;
	}
	for (q = s; *q == '0' && q[1] != '\0'; q++)
		;
	memmove(s, q, strlen(q) + 1);
	return s;
}

/* Names equal when they differ only in white space and case. */
static bool
cs_issuer_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		while (isspace((unsigned char)*a))
			a++;
		while (isspace((unsigned char)*b))
			b++;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		if (*a == '\0')
			return true;
	}
}

/*
 * Whether one revoked.list line lists serial (normalised) of issuer. The
 * list is also edited by hand: a BOM, CRLF, comments, spaces for tabs, a
 * serial alone. What cannot be read as an issuer matches any issuer (a
 * revoked serial must stay unusable); an issuer given must match.
 */
static bool
cs_line_lists(char *line, const char *serial, const char *issuer, char **f)
{
	char *p, *sp, *ser;
	bool yes;
	int i;

	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	line += strspn(line, " \t");
	if (*line == '\0' || *line == '#')
		return false;
	for (i = 0, p = line; i < 5; i++)
		f[i] = p ? strsep(&p, "\t") : NULL;
	if ((sp = strchr(f[0], ' ')) != NULL && strspn(sp, " ") != strlen(sp)) {
		*sp = '\0';		/* spaces for tabs: the serial alone */
		f[1] = NULL;
	}
	if ((ser = cs_serial_norm(f[0])) == NULL)
		return false;
	yes = strcmp(ser, serial) == 0 && (f[1] == NULL ||
	    f[1][strspn(f[1], " ")] == '\0' || cs_issuer_eq(f[1], issuer));
	free(ser);
	return yes;
}

/*
 * Looks cert up in cert_dir/revoked.list: 1 listed (*reason set, caller
 * frees), 0 not listed or no list, -1 the list is there but cannot be read
 * (not a plain file, a symbolic link, an I/O error): its revocations are
 * unknown, so the caller must not treat the certificate as unrevoked.
 */
int
certstore_local_find(const char *cert_dir, X509 *cert, char **reason)
{
	char *path, *line = NULL, *hex, *serial, *issuer, *f[5];
	size_t cap = 0;
	struct stat st;
	FILE *fp = NULL;
	int fd, r = 0;

	*reason = NULL;
	path = xasprintf("%s/revoked.list", cert_dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	hex = certstore_serial_hex(cert);
	serial = cs_serial_norm(hex);
	free(hex);
	issuer = certstore_name_rfc2253(X509_get_issuer_name(cert));
	while (r == 0 && getline(&line, &cap, fp) > 0) {
		if (serial != NULL && cs_line_lists(line, serial, issuer, f)) {
			*reason = xasprintf("revoked locally on %s: %s",
			    f[3] ? f[3] : "?", f[4] ? f[4] : "");
			r = 1;
		}
	}
	if (r == 0 && ferror(fp))
		r = -1;
	free(line);
	fclose(fp);
	free(serial);
	free(issuer);
	return r;
}

char *
certstore_local_reason(const char *cert_dir, X509 *cert)
{
	char *r;

	(void)certstore_local_find(cert_dir, cert, &r);
	return r;
}

bool
certstore_locally_revoked(const char *cert_dir, X509 *cert)
{
	char *r = certstore_local_reason(cert_dir, cert);
	bool yes = r != NULL;

	free(r);
	return yes;
}
