/*
 * p11.c - signing keys in a PKCS#11 token through libp11 (see p11.h).
 *
 * Public: p11_connect, p11_key, p11_store, p11_remove, p11_uri_parse,
 * p11_uri_clear, p11_uri_format. Errors come back as -1 (or NULL) with a
 * reason in plain words; libp11's and the token's error codes are drained
 * from OpenSSL's queue into that reason, never a PIN.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <libp11.h>

#include "p11.h"
#include "util.h"

/*
 * The process's one connection. A slot list is never released before
 * exit, since a release closes every session of the slot
 * (C_CloseAllSessions), those of keys an older generation still signs
 * with included; a new list is made only when logging in again.
 */
static struct {
	pthread_mutex_t lock;
	PKCS11_CTX *ctx;
	char *module;
	PKCS11_SLOT *slots;
	unsigned int nslots;
	PKCS11_SLOT *slot;	/* the token's, NULL when not logged in */
	int rw;			/* its sessions may change objects */
	char *label;
	unsigned char pin_md[SHA256_DIGEST_LENGTH];
	bool suspect;		/* the last load met a token problem */
	unsigned char refused_md[SHA256_DIGEST_LENGTH];	/* last PIN the
				   token refused; all zero: none */
} p11 = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Signatures with token keys hold p11_use for reading; a module restart
 * holds it for writing and moves the epoch on, which retires every key
 * loaded before (see p11_use_begin). */
static pthread_rwlock_t p11_use = PTHREAD_RWLOCK_INITIALIZER;
static unsigned long p11_epoch_n = 1;

/* why := what, then OpenSSL's (libp11's) last error, if any. */
static void
p11_why(char *why, size_t whylen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, whylen, "%s (%s)", what, buf);
	} else
		snprintf(why, whylen, "%s", what);
	ERR_clear_error();
}

/* A new context for module, initialized (C_Initialize). */
static PKCS11_CTX *
p11_ctx_new(const char *module, char *why, size_t whylen)
{
	PKCS11_CTX *ctx;

	if ((ctx = PKCS11_CTX_new()) == NULL) {
		p11_why(why, whylen, "cannot create a libp11 context");
		return NULL;
	}
	if (PKCS11_CTX_load(ctx, module) != 0) {
		p11_why(why, whylen, "cannot load the PKCS#11 module "
		    "(pkcs11.module)");
		PKCS11_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * Loads module once. After a token problem the module is started again
 * (C_Finalize, C_Initialize): a token that went away and came back is
 * not always seen by a module that stays initialized (SoftHSM answers
 * C_GetSlotList with CKR_GENERAL_ERROR). The new context is loaded before
 * the old one is unloaded, so the library stays mapped for the objects
 * of older generations, which never sign again (the epoch changes, under
 * the write lock: no signature is under way meanwhile).
 */
static int
p11_module(const char *module, bool restart, char *why, size_t whylen)
{
	PKCS11_CTX *ctx;

	if (p11.ctx != NULL && strcmp(p11.module, module) == 0 && !restart)
		return 0;
	if ((ctx = p11_ctx_new(module, why, whylen)) == NULL)
		return -1;
	pthread_rwlock_wrlock(&p11_use);
	p11_epoch_n++;
	if (p11.ctx != NULL) {
		PKCS11_CTX_unload(p11.ctx);	/* C_Finalize; kept allocated */
		/* initialize again: the finalize was for everyone */
		if (strcmp(p11.module, module) == 0 &&
		    PKCS11_CTX_load(ctx, module) != 0) {
			pthread_rwlock_unlock(&p11_use);
			p11_why(why, whylen, "cannot restart the PKCS#11 "
			    "module");
			p11.ctx = NULL;
			return -1;
		}
	}
	pthread_rwlock_unlock(&p11_use);
	p11.ctx = ctx;
	free(p11.module);
	p11.module = xstrdup(module);
	p11.slots = NULL;
	p11.nslots = 0;
	p11.slot = NULL;
	return 0;
}

void
p11_trouble(void)
{
	pthread_mutex_lock(&p11.lock);
	p11.suspect = true;
	pthread_mutex_unlock(&p11.lock);
}

unsigned long
p11_epoch(void)
{
	unsigned long e;

	pthread_rwlock_rdlock(&p11_use);
	e = p11_epoch_n;
	pthread_rwlock_unlock(&p11_use);
	return e;
}

int
p11_use_begin(unsigned long epoch)
{
	pthread_rwlock_rdlock(&p11_use);
	if (epoch == p11_epoch_n)
		return 0;
	pthread_rwlock_unlock(&p11_use);
	return -1;
}

void
p11_use_end(void)
{
	pthread_rwlock_unlock(&p11_use);
}

static PKCS11_SLOT *
p11_find_slot(const char *label)
{
	unsigned int i;
	PKCS11_TOKEN *t;

	for (i = 0; i < p11.nslots; i++) {
		t = p11.slots[i].token;
		if (t != NULL && t->initialized && t->label != NULL &&
		    strcmp(t->label, label) == 0)
			return &p11.slots[i];
	}
	return NULL;
}

/* Finds the token again (it may have gone and come back) and logs in. */
static int
p11_login(const char *token, const char *pin, int rw, char *why,
    size_t whylen)
{
	PKCS11_SLOT *slot, *slots;
	unsigned int nslots;

	if (p11.slot != NULL)
		(void)PKCS11_logout(p11.slot);	/* a PIN that changed must be
						   checked, not inherited */
	p11.slot = NULL;
	ERR_clear_error();
	/* A fresh list: PKCS11_update_slots of libp11 0.4.12 misreads its
	 * old list beyond the first slot (it crashes). The old list is kept,
	 * not released (see the struct): a few hundred bytes per reload that
	 * met a token problem or a new PIN. */
	slots = NULL;
	nslots = 0;
	if (PKCS11_enumerate_slots(p11.ctx, &slots, &nslots) != 0) {
		p11_why(why, whylen, "cannot list the PKCS#11 slots");
		return -1;
	}
	p11.slots = slots;
	p11.nslots = nslots;
	if ((slot = p11_find_slot(token)) == NULL) {
		snprintf(why, whylen, "token \"%s\" not found (pkcs11.token): "
		    "not inserted, not initialized, or another label", token);
		return -1;
	}
	if (slot->token->userPinLocked) {
		snprintf(why, whylen, "token \"%s\": the user PIN is locked",
		    token);
		return -1;
	}
	/* the session pool's mode is fixed by its first session: r/o for
	 * the daemon, r/w for segelctl import and revoke */
	(void)PKCS11_open_session(slot, rw);
	if (PKCS11_login(slot, 0, pin) != 0) {
		p11_why(why, whylen, "login refused: wrong PIN in "
		    "pkcs11.pin_file?");
		return -2;
	}
	p11.slot = slot;
	return 0;
}

int
p11_connect(const char *module, const char *token, const char *pin, int rw,
    char *why, size_t whylen)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	int r = -1;

	SHA256((const unsigned char *)pin, strlen(pin), md);
	pthread_mutex_lock(&p11.lock);
	if (p11_module(module, p11.suspect && p11.ctx != NULL, why,
	    whylen) != 0)
		goto out;
	/* a real token locks the PIN after a few wrong tries: a PIN it
	 * refused is not offered again at every reload */
	if (CRYPTO_memcmp(md, p11.refused_md, sizeof(md)) == 0) {
		snprintf(why, whylen, "login refused earlier with this PIN: "
		    "not tried again (the token counts wrong tries); correct "
		    "pkcs11.pin_file and reload");
		goto out;
	}
	if (p11.slot != NULL && !p11.suspect && strcmp(p11.label, token) == 0 &&
	    CRYPTO_memcmp(md, p11.pin_md, sizeof(md)) == 0 && p11.rw >= rw) {
		r = 0;		/* same token, same PIN, no trouble since */
		goto out;
	}
	if ((r = p11_login(token, pin, rw, why, whylen)) != 0) {
		if (r == -2)
			memcpy(p11.refused_md, md, sizeof(md));
		r = -1;
		goto out;
	}
	memcpy(p11.pin_md, md, sizeof(md));
	p11.rw = rw;
	memset(p11.refused_md, 0, sizeof(p11.refused_md));
	free(p11.label);
	p11.label = xstrdup(token);
	r = 0;
out:
	p11.suspect = r != 0;
	pthread_mutex_unlock(&p11.lock);
	OPENSSL_cleanse(md, sizeof(md));
	ERR_clear_error();
	return r;
}

/* Whether key k is the one u names (id and object, those given). */
static bool
p11_matches(const PKCS11_KEY *k, const struct p11_uri *u)
{
	if (u->id != NULL && (k->id_len != u->idlen ||
	    memcmp(k->id, u->id, u->idlen) != 0))
		return false;
	if (u->object != NULL && (k->label == NULL ||
	    strcmp(k->label, u->object) != 0))
		return false;
	return k->isPrivate;
}

/* A signature by key over a random digest that cert's key verifies: the
 * PIN, the object and the pairing with the certificate all at once. */
static bool
p11_proves(EVP_PKEY *key, X509 *cert)
{
	unsigned char md[32], sig[1024];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *sc = NULL, *vc = NULL;
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	bool ok = false;

	if (pub == NULL || EVP_PKEY_size(key) > (int)sizeof(sig) ||
	    RAND_bytes(md, sizeof(md)) != 1)
		return false;
	if ((sc = EVP_PKEY_CTX_new(key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(sc) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(sc, EVP_sha256()) <= 0 ||
	    EVP_PKEY_sign(sc, sig, &siglen, md, sizeof(md)) <= 0)
		goto out;
	if ((vc = EVP_PKEY_CTX_new(pub, NULL)) == NULL ||
	    EVP_PKEY_verify_init(vc) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(vc, EVP_sha256()) <= 0)
		goto out;
	ok = EVP_PKEY_verify(vc, sig, siglen, md, sizeof(md)) == 1;
out:
	EVP_PKEY_CTX_free(sc);
	EVP_PKEY_CTX_free(vc);
	return ok;
}

/* The key u names in the connected token; caller holds the lock. */
static int
p11_find_key(const struct p11_uri *u, X509 *cert, EVP_PKEY **key,
    char *why, size_t whylen)
{
	PKCS11_KEY *keys = NULL;
	unsigned int i, n = 0, seen = 0;
	EVP_PKEY *pk;

	if (PKCS11_enumerate_keys(p11.slot->token, &keys, &n) != 0) {
		p11_why(why, whylen, "cannot list the token's keys");
		return -1;
	}
	/* a deleted object may linger in libp11's cache beside a new one
	 * with the same id: the first that proves itself is the key */
	for (i = 0; i < n; i++) {
		if (!p11_matches(&keys[i], u))
			continue;
		seen++;
		if ((pk = PKCS11_get_private_key(&keys[i])) == NULL)
			continue;
		if (cert == NULL || p11_proves(pk, cert)) {
			*key = pk;
			return 0;
		}
		EVP_PKEY_free(pk);
	}
	ERR_clear_error();
	snprintf(why, whylen, seen == 0 ? "no private key object in token "
	    "\"%s\" matches the URI" : "the key object in token \"%s\" did "
	    "not sign (gone meanwhile?) or does not match the certificate",
	    p11.label);
	return -1;
}

int
p11_key(const char *uri, X509 *cert, EVP_PKEY **key, char *why,
    size_t whylen)
{
	struct p11_uri u;
	int r = -1;

	*key = NULL;
	if (p11_uri_parse(uri, &u) != 0) {
		snprintf(why, whylen, "not a pkcs11: URI naming an object or "
		    "id");
		return -1;
	}
	pthread_mutex_lock(&p11.lock);
	if (p11.slot == NULL)
		snprintf(why, whylen, "the token is not connected");
	else if (u.token != NULL && strcmp(u.token, p11.label) != 0)
		snprintf(why, whylen, "the URI names token \"%s\", "
		    "pkcs11.token is \"%s\"", u.token, p11.label);
	else
		r = p11_find_key(&u, cert, key, why, whylen);
	if (r != 0)
		p11.suspect = true;	/* the next load looks again */
	pthread_mutex_unlock(&p11.lock);
	p11_uri_clear(&u);
	ERR_clear_error();
	return r;
}

char *
p11_store(EVP_PKEY *key, const char *label, const unsigned char *id,
    size_t idlen, char *why, size_t whylen)
{
	char *uri = NULL, *lab = xstrdup(label);
	unsigned char *idc = xmalloc(idlen ? idlen : 1);

	memcpy(idc, id, idlen);
	pthread_mutex_lock(&p11.lock);
	if (p11.slot == NULL)
		snprintf(why, whylen, "the token is not connected");
	else if (PKCS11_store_private_key(p11.slot->token, key, lab, idc,
	    idlen) != 0)
		p11_why(why, whylen, "the token refused the key");
	else
		uri = p11_uri_format(p11.label, label, id, idlen);
	pthread_mutex_unlock(&p11.lock);
	free(lab);
	free(idc);
	ERR_clear_error();
	return uri;
}

int
p11_remove(const char *uri, char *why, size_t whylen)
{
	PKCS11_KEY *keys = NULL;
	unsigned int i, n = 0;
	struct p11_uri u;
	int r = 1;

	if (p11_uri_parse(uri, &u) != 0) {
		snprintf(why, whylen, "not a pkcs11: URI naming an object or "
		    "id");
		return -1;
	}
	pthread_mutex_lock(&p11.lock);
	if (p11.slot == NULL || PKCS11_enumerate_keys(p11.slot->token, &keys,
	    &n) != 0) {
		p11_why(why, whylen, "cannot list the token's keys");
		r = -1;
	}
	/* libp11 0.4.12 only destroys the object (the array stays valid) */
	for (i = 0; r != -1 && i < n; i++) {
		if (!p11_matches(&keys[i], &u))
			continue;
		if (PKCS11_remove_key(&keys[i]) != 0) {
			p11_why(why, whylen, "the token refused to destroy "
			    "the key");
			r = -1;
		} else
			r = 0;
	}
	p11.suspect = true;	/* the cache still lists it: look again */
	pthread_mutex_unlock(&p11.lock);
	p11_uri_clear(&u);
	ERR_clear_error();
	return r;
}
