/*
 * certstore.h - the senders' signing certificates, loaded once per
 * configuration load (never per message) and shared read-only.
 *
 * Layout: cert_dir/ADDRESS.p12 and cert_dir/ADDRESS.pass (one line, the
 * passphrase), ADDRESS lower-case. cert_dir/revoked.list is the local
 * revocation list written by "segelctl revoke": one record per line,
 * "SERIALHEX<TAB>ISSUER-DN<TAB>ADDRESS<TAB>TIME<TAB>REASON"; a listed
 * certificate is never usable. cert_dir/history/ holds replaced files.
 *
 * A store file readable by group or others makes the whole store unsafe
 * (DIAG_ERROR: exit 78); a certificate that is expired, revoked, untrusted
 * or unreadable makes only its own sender unusable (DIAG_WARNING).
 * Passphrases are wiped as soon as the PKCS#12 file is decoded.
 */
#ifndef SEGEL_CERTSTORE_H
#define SEGEL_CERTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf.h"
#include "diag.h"
#include "pki.h"

enum cert_status {
	CERT_OK,
	CERT_NONE,		/* no certificate for the address */
	CERT_EXPIRED,
	CERT_NOT_YET_VALID,
	CERT_REVOKED,
	CERT_UNTRUSTED,		/* does not chain to pki.trust_file, bad usage */
	CERT_BROKEN		/* unreadable, wrong passphrase, key mismatch,
				   address not named in the certificate */
};

struct cert_entry {
	char *address;		/* lower-case */
	char *file;		/* path of the .p12 */
	X509 *cert;		/* NULL when broken */
	EVP_PKEY *key;		/* NULL when broken */
	STACK_OF(X509) *chain;	/* intermediates, without the root */
	enum cert_status status;	/* as of load, time checks excluded */
	char *problem;		/* plain words when status != CERT_OK */
	time_t not_before, not_after;
	char *serial_hex;	/* upper-case hex */
	char *issuer;		/* RFC 2253 */
	char *subject_cn;	/* holder name, may be NULL */
	char *unit;		/* subject OU, may be NULL */
};

struct certstore;

/* Loads every certificate of c->cert_dir; problems go to d. Never NULL. */
struct certstore *certstore_load(const struct conf *c, const struct pki *p,
    struct diag *d);
void certstore_free(struct certstore *);

/*
 * The status of addr's certificate at time now; *entry is set (or NULL
 * when there is none). Only CERT_OK may be used to sign.
 */
enum cert_status certstore_lookup(const struct certstore *, const char *addr,
    time_t now, const struct cert_entry **entry);

size_t certstore_count(const struct certstore *);
const struct cert_entry *certstore_get(const struct certstore *, size_t i);

/* "ok", "none", "expired", "not yet valid", "revoked", "untrusted", "broken" */
const char *cert_status_name(enum cert_status);

/* Reads cert_dir/revoked.list; true when cert (serial+issuer) is listed. */
bool certstore_locally_revoked(const char *cert_dir, X509 *cert);

#endif
