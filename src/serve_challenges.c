/*
 * serve_challenges.c - the ACME challenge answers `mtasts serve` gives
 * while the certificate manager has orders open: http-01 tokens and
 * TLS-ALPN-01 certificates.
 *
 * The manager runs in one worker, but the CA's validation request may
 * reach any worker, so the table is one anonymous shared mapping made
 * before the workers are forked, behind a robust process-shared mutex (a
 * worker that dies holding it does not stop the others).  Certificates
 * and keys are kept as DER and read back for each handshake that asks:
 * few handshakes do.  Few answers are open at once, so a list does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "serve.h"

#define DER_CERT_MAX 4096
#define DER_KEY_MAX 1024

struct answer {
	bool used;
	bool alpn;
	char key[SERVE_TOKEN_MAX + 1];	/* http-01 token, or the name for tls-alpn-01 */
	char key_authorization[SERVE_KEY_AUTHZ_MAX + 1];
	unsigned char cert[DER_CERT_MAX];
	size_t cert_len;
	unsigned char key_pair[DER_KEY_MAX];
	size_t key_pair_len;
};

struct serve_challenges {
	pthread_mutex_t lock;
	struct answer answers[SERVE_CHALLENGES_MAX];
};

struct serve_challenges *serve_challenges_new(void)
{
	struct serve_challenges *c;
	pthread_mutexattr_t attr;
	bool made;

	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	made = pthread_mutexattr_init(&attr) == 0;
	if (!made || pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&c->lock, &attr) != 0) {
		if (made)
			pthread_mutexattr_destroy(&attr);
		munmap(c, sizeof(*c));
		return NULL;
	}
	pthread_mutexattr_destroy(&attr);
	return c;
}

void serve_challenges_free(struct serve_challenges *c)
{
	if (c == NULL)
		return;
	/* The mapping is anonymous: each process unmaps its own view. */
	munmap(c, sizeof(*c));
}

static void lock(struct serve_challenges *c)
{
	/* The owner died mid-update: its answer may be half written, drop all. */
	if (pthread_mutex_lock(&c->lock) == EOWNERDEAD) {
		for (size_t i = 0; i < SERVE_CHALLENGES_MAX; i++)
			c->answers[i].used = false;
		pthread_mutex_consistent(&c->lock);
	}
}

static void unlock(struct serve_challenges *c)
{
	pthread_mutex_unlock(&c->lock);
}

/* Names compare without regard to case; tokens exactly.  Called locked. */
static struct answer *find(struct serve_challenges *c, const char *key, bool alpn)
{
	for (size_t i = 0; i < SERVE_CHALLENGES_MAX; i++) {
		struct answer *a = &c->answers[i];

		if (a->used && a->alpn == alpn &&
		    (alpn ? strcasecmp(a->key, key) == 0 : strcmp(a->key, key) == 0))
			return a;
	}
	return NULL;
}

/* The slot for key: its own, or a free one; NULL when full.  Called locked. */
static struct answer *slot(struct serve_challenges *c, const char *key, bool alpn)
{
	struct answer *a = find(c, key, alpn);

	for (size_t i = 0; a == NULL && i < SERVE_CHALLENGES_MAX; i++)
		if (!c->answers[i].used)
			a = &c->answers[i];
	if (a == NULL)
		return NULL;
	memset(a, 0, sizeof(*a));
	a->used = true;
	a->alpn = alpn;
	strcpy(a->key, key);
	return a;
}

static void drop(struct serve_challenges *c, const char *key, bool alpn)
{
	struct answer *a;

	if (strlen(key) > SERVE_TOKEN_MAX)
		return;
	lock(c);
	if ((a = find(c, key, alpn)) != NULL)
		memset(a, 0, sizeof(*a));
	unlock(c);
}

int serve_challenges_put_http01(struct serve_challenges *c, const char *token,
				const char *key_authorization)
{
	struct answer *a;

	if (strlen(token) > SERVE_TOKEN_MAX || strlen(key_authorization) > SERVE_KEY_AUTHZ_MAX)
		return -1;
	lock(c);
	if ((a = slot(c, token, false)) != NULL)
		strcpy(a->key_authorization, key_authorization);
	unlock(c);
	return a != NULL ? 0 : -1;
}

void serve_challenges_drop_http01(struct serve_challenges *c, const char *token)
{
	drop(c, token, false);
}

bool serve_challenges_http01(struct serve_challenges *c, const char *token, char *buf,
			     size_t size)
{
	struct answer *a;
	bool found = false;

	if (strlen(token) > SERVE_TOKEN_MAX)
		return false;
	lock(c);
	if ((a = find(c, token, false)) != NULL && strlen(a->key_authorization) < size) {
		strcpy(buf, a->key_authorization);
		found = true;
	}
	unlock(c);
	return found;
}

int serve_challenges_put_alpn01(struct serve_challenges *c, const char *name, X509 *cert,
				EVP_PKEY *key)
{
	unsigned char cert_der[DER_CERT_MAX], key_der[DER_KEY_MAX];
	unsigned char *p;
	int cert_len, key_len;
	struct answer *a;

	if (strlen(name) > SERVE_TOKEN_MAX || cert == NULL || key == NULL)
		return -1;
	if ((cert_len = i2d_X509(cert, NULL)) <= 0 || cert_len > DER_CERT_MAX ||
	    (key_len = i2d_PrivateKey(key, NULL)) <= 0 || key_len > DER_KEY_MAX)
		return -1;
	p = cert_der;
	i2d_X509(cert, &p);
	p = key_der;
	i2d_PrivateKey(key, &p);
	lock(c);
	if ((a = slot(c, name, true)) != NULL) {
		memcpy(a->cert, cert_der, (size_t)cert_len);
		a->cert_len = (size_t)cert_len;
		memcpy(a->key_pair, key_der, (size_t)key_len);
		a->key_pair_len = (size_t)key_len;
	}
	unlock(c);
	OPENSSL_cleanse(key_der, sizeof(key_der));
	return a != NULL ? 0 : -1;
}

void serve_challenges_drop_alpn01(struct serve_challenges *c, const char *name)
{
	drop(c, name, true);
}

bool serve_challenges_alpn01(struct serve_challenges *c, const char *name, X509 **ret_cert,
			     EVP_PKEY **ret_key)
{
	unsigned char cert_der[DER_CERT_MAX], key_der[DER_KEY_MAX];
	size_t cert_len = 0, key_len = 0;
	const unsigned char *p;
	struct answer *a;
	X509 *cert;
	EVP_PKEY *key;

	if (strlen(name) > SERVE_TOKEN_MAX)
		return false;
	lock(c);
	if ((a = find(c, name, true)) != NULL) {
		memcpy(cert_der, a->cert, a->cert_len);
		cert_len = a->cert_len;
		memcpy(key_der, a->key_pair, a->key_pair_len);
		key_len = a->key_pair_len;
	}
	unlock(c);
	if (a == NULL)
		return false;
	p = cert_der;
	cert = d2i_X509(NULL, &p, (long)cert_len);
	p = key_der;
	key = d2i_AutoPrivateKey(NULL, &p, (long)key_len);
	OPENSSL_cleanse(key_der, sizeof(key_der));
	if (cert == NULL || key == NULL) {
		X509_free(cert);
		EVP_PKEY_free(key);
		return false;
	}
	*ret_cert = cert;
	*ret_key = key;
	return true;
}
