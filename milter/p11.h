/*
 * p11.h - signing keys that live in a PKCS#11 token (an HSM, or SoftHSM2
 * for tests), through libp11. The only module that includes libp11.
 *
 * One connection per process: the module is loaded (C_Initialize) once and
 * kept, because PKCS#11 login state and C_CloseAllSessions are per
 * application and slot, not per caller: two generations of the store each
 * with their own slot list would log each other out. A load (start or
 * reload) calls p11_connect(), which logs in again only when the PIN
 * changed or the previous load met a token problem.
 *
 * Threads: libp11 gives every private-key operation its own session from
 * a per-slot pool (mutex + condition variable) and initializes the module
 * with CKF_OS_LOCKING_OK, which is what PKCS#11 asks of a multi-threaded
 * application (a session is used by one thread at a time, login is shared
 * by all sessions). segel's own calls here are serialized by one mutex.
 *
 * The PIN is never logged; the caller wipes its copy. EVP_PKEYs returned
 * hold only the public part and a handle: the private key never leaves
 * the token.
 */
#ifndef SEGEL_P11_H
#define SEGEL_P11_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * Loads module (once), finds the token labelled token, logs in with pin;
 * rw: sessions may create and destroy objects (segelctl), else read-only
 * (the daemon). 0, or -1 with a reason in why (module, token or login).
 */
int p11_connect(const char *module, const char *token, const char *pin,
    int rw, char *why, size_t whylen);

/*
 * The private key that uri (RFC 7512: token, object, id, type) names in
 * the connected token, proven by a test signature that cert's public key
 * verifies. 0 and *key (caller frees with EVP_PKEY_free), or -1 with why.
 */
int p11_key(const char *uri, X509 *cert, EVP_PKEY **key, char *why,
    size_t whylen);

/*
 * The module's incarnation: it changes when the module is started again
 * after a token problem, which retires every key found before. A signer
 * with a token key calls p11_use_begin(epoch at load) first (0: go on,
 * then p11_use_end(); -1: the key is retired, tempfail).
 */
unsigned long p11_epoch(void);
/* A token key failed to sign: the next p11_connect starts afresh. */
void p11_trouble(void);
int p11_use_begin(unsigned long epoch);
void p11_use_end(void);

/*
 * Stores key in the connected token as a private (CKA_PRIVATE), sensitive
 * (CKA_SENSITIVE) object labelled label with CKA_ID id; returns its URI
 * (caller frees) or NULL with why. CKA_EXTRACTABLE is left to the token's
 * default: libp11 0.4.12 does not set it (see README).
 */
char *p11_store(EVP_PKEY *key, const char *label, const unsigned char *id,
    size_t idlen, char *why, size_t whylen);

/* Destroys the private key object that uri names. 0, 1 none, -1 why. */
int p11_remove(const char *uri, char *why, size_t whylen);

/*
 * RFC 7512 parsing, shared with the tests: the token, object (label) and
 * id attributes of uri, percent-decoded (NULL when absent; caller frees).
 * 0, or -1 when uri is no pkcs11: URI or names no object or id.
 */
struct p11_uri {
	char *token;
	char *object;
	unsigned char *id;
	size_t idlen;
};
int p11_uri_parse(const char *uri, struct p11_uri *u);
void p11_uri_clear(struct p11_uri *u);
/* "pkcs11:token=..;object=..;id=%..;type=private" (caller frees). */
char *p11_uri_format(const char *token, const char *object,
    const unsigned char *id, size_t idlen);

#endif
