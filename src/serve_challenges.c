/*
 * serve_challenges.c - the ACME challenge answers `mtasts serve` gives
 * while the certificate manager has orders open: http-01 tokens and
 * TLS-ALPN-01 certificates, behind one mutex (the manager writes from its
 * thread, the loop reads).  Few are open at once, so a list does.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "serve.h"

struct answer {
	char key[SERVE_TOKEN_MAX + 1];	/* http-01 token, or the name for tls-alpn-01 */
	bool alpn;
	char key_authorization[SERVE_KEY_AUTHZ_MAX + 1];
	X509 *cert;
	EVP_PKEY *key_pair;
};

struct serve_challenges {
	pthread_mutex_t lock;
	struct answer *answers;
	size_t count;
};

struct serve_challenges *serve_challenges_new(void)
{
	struct serve_challenges *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->answers = calloc(SERVE_CHALLENGES_MAX, sizeof(*c->answers));
	if (c->answers == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->answers);
		free(c);
		return NULL;
	}
	return c;
}

static void answer_clear(struct answer *a)
{
	X509_free(a->cert);
	EVP_PKEY_free(a->key_pair);
	memset(a, 0, sizeof(*a));
}

void serve_challenges_free(struct serve_challenges *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->count; i++)
		answer_clear(&c->answers[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->answers);
	free(c);
}

/* Names compare without regard to case; tokens exactly.  Called locked. */
static struct answer *find(struct serve_challenges *c, const char *key, bool alpn)
{
	for (size_t i = 0; i < c->count; i++) {
		struct answer *a = &c->answers[i];

		if (a->alpn == alpn &&
		    (alpn ? strcasecmp(a->key, key) == 0 : strcmp(a->key, key) == 0))
			return a;
	}
	return NULL;
}

/* The slot for key: its own, or a new one; NULL when full.  Called locked. */
static struct answer *slot(struct serve_challenges *c, const char *key, bool alpn)
{
	struct answer *a = find(c, key, alpn);

	if (a != NULL) {
		answer_clear(a);
	} else {
		if (c->count >= SERVE_CHALLENGES_MAX)
			return NULL;
		a = &c->answers[c->count++];
	}
	strcpy(a->key, key);
	a->alpn = alpn;
	return a;
}

static void drop(struct serve_challenges *c, const char *key, bool alpn)
{
	struct answer *a;

	pthread_mutex_lock(&c->lock);
	if ((a = find(c, key, alpn)) != NULL) {
		answer_clear(a);
		*a = c->answers[--c->count];
		memset(&c->answers[c->count], 0, sizeof(*a));
	}
	pthread_mutex_unlock(&c->lock);
}

int serve_challenges_put_http01(struct serve_challenges *c, const char *token,
				const char *key_authorization)
{
	struct answer *a;

	if (strlen(token) > SERVE_TOKEN_MAX || strlen(key_authorization) > SERVE_KEY_AUTHZ_MAX)
		return -1;
	pthread_mutex_lock(&c->lock);
	if ((a = slot(c, token, false)) != NULL)
		strcpy(a->key_authorization, key_authorization);
	pthread_mutex_unlock(&c->lock);
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
	pthread_mutex_lock(&c->lock);
	if ((a = find(c, token, false)) != NULL && strlen(a->key_authorization) < size) {
		strcpy(buf, a->key_authorization);
		found = true;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

int serve_challenges_put_alpn01(struct serve_challenges *c, const char *name, X509 *cert,
				EVP_PKEY *key)
{
	struct answer *a;

	if (strlen(name) > SERVE_TOKEN_MAX || cert == NULL || key == NULL)
		return -1;
	pthread_mutex_lock(&c->lock);
	if ((a = slot(c, name, true)) != NULL) {
		X509_up_ref(cert);
		EVP_PKEY_up_ref(key);
		a->cert = cert;
		a->key_pair = key;
	}
	pthread_mutex_unlock(&c->lock);
	return a != NULL ? 0 : -1;
}

void serve_challenges_drop_alpn01(struct serve_challenges *c, const char *name)
{
	drop(c, name, true);
}

bool serve_challenges_alpn01(struct serve_challenges *c, const char *name, X509 **ret_cert,
			     EVP_PKEY **ret_key)
{
	struct answer *a;
	bool found = false;

	if (strlen(name) > SERVE_TOKEN_MAX)
		return false;
	pthread_mutex_lock(&c->lock);
	if ((a = find(c, name, true)) != NULL) {
		X509_up_ref(a->cert);
		EVP_PKEY_up_ref(a->key_pair);
		*ret_cert = a->cert;
		*ret_key = a->key_pair;
		found = true;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}
