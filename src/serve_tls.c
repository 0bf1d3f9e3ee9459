/*
 * serve_tls.c - the certificates of `mtasts serve`: a TLS context per
 * certificate and key pair (TLS 1.2 at least), the one for a connection
 * chosen by the name the client asks for (SNI) among each certificate's
 * DNS names, wildcards included (X509_check_host), the first pair when
 * none matches.  A reload builds a whole new set before it replaces the
 * one in use, so a broken file changes nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "serve.h"

struct cert_set {
	SSL_CTX *ctx[SERVE_CERTS_MAX];
	size_t count;
};

struct serve_tls {
	struct cert_set *current;	/* what new handshakes use */
};

static void set_free(struct cert_set *set)
{
	if (set == NULL)
		return;
	/* Connections hold their own references to their contexts. */
	for (size_t i = 0; i < set->count; i++)
		SSL_CTX_free(set->ctx[i]);
	free(set);
}

/* The last OpenSSL error as text, the queue emptied. */
static void ssl_error(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, size, "unknown error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
}

/* Pick the context whose certificate names the SNI host. */
static int on_client_hello(SSL *ssl, int *alert, void *arg)
{
	struct serve_tls *tls = arg;
	struct cert_set *set = tls->current;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)alert;
	if (name == NULL || set == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (size_t i = 0; i < set->count; i++) {
		X509 *cert = SSL_CTX_get0_certificate(set->ctx[i]);

		if (cert != NULL && X509_check_host(cert, name, 0,
						    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
						    NULL) == 1) {
			if (SSL_get_SSL_CTX(ssl) != set->ctx[i])
				SSL_set_SSL_CTX(ssl, set->ctx[i]);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* The default (first) pair: whichever set the connection started with. */
	if (SSL_get_SSL_CTX(ssl) != set->ctx[0])
		SSL_set_SSL_CTX(ssl, set->ctx[0]);
	return SSL_TLSEXT_ERR_OK;
}

/* Whether path can be read, with why in buf when not (OpenSSL says "system lib"). */
static bool readable(const char *path, const char *what, char *why, size_t why_size)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(why, why_size, "%s: cannot read the %s: %s", path, what, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

static SSL_CTX *context_new(struct serve_tls *tls, const struct serve_cert_pair *pair,
			    char *why, size_t why_size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char error[256];

	if (ctx == NULL) {
		snprintf(why, why_size, "cannot make a TLS context: out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!readable(pair->cert, "certificate", why, why_size) ||
	    !readable(pair->key, "private key", why, why_size))
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, pair->cert) != 1) {
		ssl_error(error, sizeof(error));
		snprintf(why, why_size, "%s: cannot read the certificate: %s", pair->cert, error);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, pair->key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(why, why_size, "%s: the key does not belong to the "
				 "certificate in %s", pair->key, pair->cert);
			goto fail;
		}
		ssl_error(error, sizeof(error));
		snprintf(why, why_size, "%s: cannot read the private key: %s", pair->key, error);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(why, why_size, "%s: the key does not belong to the certificate in %s",
			 pair->key, pair->cert);
		goto fail;
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, on_client_hello);
	SSL_CTX_set_tlsext_servername_arg(ctx, tls);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static struct cert_set *set_new(struct serve_tls *tls, const struct serve_config *config,
				char *why, size_t why_size)
{
	struct cert_set *set = calloc(1, sizeof(*set));

	if (set == NULL) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < config->cert_count; i++) {
		if ((set->ctx[i] = context_new(tls, &config->certs[i], why, why_size)) == NULL) {
			set_free(set);
			return NULL;
		}
		set->count++;
	}
	return set;
}

int serve_tls_new(const struct serve_config *config, struct serve_tls **ret_tls,
		  char *why, size_t why_size)
{
	struct serve_tls *tls = calloc(1, sizeof(*tls));

	if (tls == NULL) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	if ((tls->current = set_new(tls, config, why, why_size)) == NULL) {
		free(tls);
		return -1;
	}
	*ret_tls = tls;
	return 0;
}

int serve_tls_reload(struct serve_tls *tls, const struct serve_config *config,
		     char *why, size_t why_size)
{
	struct cert_set *fresh = set_new(tls, config, why, why_size);

	if (fresh == NULL)
		return -1;
	set_free(tls->current);
	tls->current = fresh;
	return 0;
}

SSL *serve_tls_new_ssl(struct serve_tls *tls)
{
	return SSL_new(tls->current->ctx[0]);
}

void serve_tls_describe(const struct serve_tls *tls, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < tls->current->count && used < size; i++) {
		X509 *cert = SSL_CTX_get0_certificate(tls->current->ctx[i]);
		char subject[256] = "?", serial[80] = "?";
		BIGNUM *bn;
		char *hex;

		if (cert != NULL) {
			X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
			bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
			if (bn != NULL && (hex = BN_bn2hex(bn)) != NULL) {
				snprintf(serial, sizeof(serial), "%s", hex);
				OPENSSL_free(hex);
			}
			BN_free(bn);
		}
		used += (size_t)snprintf(buf + used, size - used, "%s%s serial %s",
					 i > 0 ? "; " : "", subject, serial);
	}
}

void serve_tls_free(struct serve_tls *tls)
{
	if (tls == NULL)
		return;
	set_free(tls->current);
	free(tls);
}
