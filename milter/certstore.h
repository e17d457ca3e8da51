/*
 * certstore.h - the senders' signing certificates, loaded once per
 * configuration load (never per message) and shared read-only.
 *
 * Layout: cert_dir/ADDRESS.p12 and cert_dir/ADDRESS.pass (one line, the
 * passphrase), or, for a key in a PKCS#11 token (the pkcs11 group),
 * cert_dir/ADDRESS.crt (PEM: the certificate, then its chain) and
 * cert_dir/ADDRESS.uri (one line, an RFC 7512 pkcs11: URI); ADDRESS
 * lower-case. cert_dir/revoked.list is the local
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
	CERT_BROKEN,		/* unreadable, wrong passphrase, key mismatch,
				   address not named in the certificate */
	CERT_UNAVAILABLE,	/* a sound certificate whose key is in a
				   token that cannot be used now (missing,
				   PIN refused, key object gone): tempfail */
	CERT_CRL_STALE		/* revocation unknown: its CRL is past
				   nextUpdate + pki.crl_grace (pki.h), judged
				   at each lookup: tempfail */
};

struct cert_entry {
	char *address;		/* lower-case */
	char *file;		/* path of the .p12, or of the .uri */
	char *uri;		/* pkcs11: URI of a key in a token, else NULL */
	unsigned long p11_epoch;	/* the token module's incarnation when
					   key was found (p11_use_begin) */
	X509 *cert;		/* NULL when the file could not be decoded */
	EVP_PKEY *key;		/* NULL when the file could not be decoded;
				   use only when status is CERT_OK */
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

/* "ok", "none", "expired", "not yet valid", "revoked", "untrusted",
 * "broken", "key unavailable" */
const char *cert_status_name(enum cert_status);

/* cert_dir/revoked.list (certstore_revlist.c): 1 listed (*reason set,
 * caller frees), 0 not listed or no list, -1 the list cannot be read. */
int certstore_local_find(const char *cert_dir, X509 *cert, char **reason);
/* Reads cert_dir/revoked.list; true when cert (serial+issuer) is listed. */
bool certstore_locally_revoked(const char *cert_dir, X509 *cert);
/* The same, as "revoked locally on TIME: REASON" (caller frees), or NULL. */
char *certstore_local_reason(const char *cert_dir, X509 *cert);

/*
 * Pieces of the load shared with segelctl import (same checks as the
 * daemon). certstore_decode() reads a PKCS#12 file (legacy ones included):
 * 0 and the caller owns *cert, *key, *ca; or -1 with a reason in why.
 * certstore_validate() checks a decoded entry (address, file, cert, key
 * set) against c and p, filling the descriptive fields and chain and
 * setting status and problem;
 * time is not judged (see certstore_lookup). ca: the file's CA certificates.
 */
int certstore_decode(const char *p12path, const char *pass, X509 **cert,
    EVP_PKEY **key, STACK_OF(X509) **ca, char *why, size_t whylen);
void certstore_validate(struct cert_entry *e, STACK_OF(X509) *ca,
    const struct conf *c, const struct pki *p);
/* Frees what e owns and zeroes it (e itself is the caller's). */
void certstore_entry_clear(struct cert_entry *e);
/* True when x names addr (SAN rfc822Name or subject emailAddress; any case). */
bool certstore_names_address(X509 *x, const char *addr);
/* Upper-case hex serial; RFC 2253 name. Caller frees. */
char *certstore_serial_hex(X509 *x);
char *certstore_name_rfc2253(const X509_NAME *nm);

/*
 * For certstore_token.c. certstore_entry_fail() sets e's status and
 * problem unless a problem was already found. certstore_file_unsafe() is
 * the store's file check (owner, mode, plain file): true when path may
 * not be used (reported to d or e). certstore_read_secret() reads a
 * one-line secret file without stdio (caller wipes with secret_free).
 */
void certstore_entry_fail(struct cert_entry *e, enum cert_status st,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool certstore_file_unsafe(const char *path, const struct conf *c,
    struct cert_entry *e, struct diag *d);
char *certstore_read_secret(const char *path);

#endif
