/*
 * acme.h - an ACME client (RFC 8555) for one certificate at a time:
 * synchronous HTTPS over libcurl, JWS ES256 with OpenSSL 3, JSON with
 * jansson; the challenges http-01 and tls-alpn-01 (RFC 8737).
 *
 * DESCRIPTION
 *	An acme_client holds the directory, the account key and URL, and a
 *	nonce.  acme_order() takes one name through newOrder, its
 *	authorization (the first challenge type of the caller's preference
 *	that the server offers), finalize and download.  Where the answer is
 *	published is the caller's: acme_order() calls publish before it tells
 *	the server the challenge is ready, and withdraw afterwards whatever
 *	happened.
 *
 *	Every response is read up to ACME_RESPONSE_MAX octets, every request
 *	has a deadline, waits for the server are bounded, and the caller's
 *	cancelled() is asked during transfers and between steps.  Texts from
 *	the server reach why escaped (printable ASCII; \xHH otherwise).  The
 *	client follows only https URLs on the directory's host and port,
 *	without user information; Retry-After is taken as at most a day.
 *
 * RETURN VALUES
 *	0 on success, else one of the negative ACME_* codes below with a
 *	sentence in why that names the step.
 */
#ifndef MTASTS_IO_ACME_H
#define MTASTS_IO_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define ACME_FAILED (-1)		/* this order failed; try later */
#define ACME_RATE_LIMITED (-2)		/* 429 or rateLimited: wait retry_after */
#define ACME_ACCOUNT_GONE (-3)		/* the account is deactivated, revoked or unknown */
#define ACME_CANCELLED (-4)		/* cancelled() said so */
#define ACME_UNREACHABLE (-5)		/* no answer, or a 5xx before an order: the server's */

#define ACME_RESPONSE_MAX (256 * 1024)	/* octets of one response */
#define ACME_THUMBPRINT_SIZE 44		/* base64url SHA-256, and its NUL */
#define ACME_KEY_AUTHZ_MAX 256
#define ACME_ALPN_EXTENSION_SIZE 34	/* DER OCTET STRING of a SHA-256 */
#define ACME_RETRY_AFTER_DEFAULT 3600	/* seconds, when a rate limit says none */
#define ACME_RETRY_AFTER_MAX 86400	/* seconds: a longer Retry-After is cut to this */

struct acme_client_config {
	const char *directory_url;	/* https:// */
	const char *ca_file;		/* trust for the server; NULL: the system's */
	const char *email;		/* the account's contact; NULL: none */
	unsigned request_timeout_ms;	/* per request; 0: 30 s */
	unsigned validation_wait_s;	/* longest wait for a challenge or order; 0: 60 */
	bool (*cancelled)(void *arg);	/* NULL: never */
	void *cancel_arg;
};

/* The answer to one challenge, as the caller must publish it. */
struct acme_challenge_answer {
	const char *type;		/* "http-01" or "tls-alpn-01" */
	const char *name;		/* the identifier */
	const char *token;		/* http-01: GET /.well-known/acme-challenge/<token> */
	const char *key_authorization;	/* http-01: the body */
	X509 *cert;			/* tls-alpn-01: the certificate for SNI name */
	EVP_PKEY *key;
};

struct acme_responder {
	int (*publish)(void *arg, const struct acme_challenge_answer *answer);
	void (*withdraw)(void *arg, const struct acme_challenge_answer *answer);
	void *arg;
};

struct acme_client;

/*
 * A client for the server at config->directory_url with account_key (an
 * EC P-256 key; a reference is taken).  Nothing is sent yet.
 */
int acme_client_new(const struct acme_client_config *config, EVP_PKEY *account_key,
		    struct acme_client **ret_client, char *why, size_t why_size);
void acme_client_free(struct acme_client *client);

/*
 * Find or create the account of the key (newAccount, terms agreed, the
 * contact mailto:email).  ACME_ACCOUNT_GONE when the server says the
 * key's account is deactivated or revoked.
 */
int acme_account_register(struct acme_client *client, char *why, size_t why_size);

/* Deactivate the account (RFC 8555 7.3.6); registers first if need be. */
int acme_account_deactivate(struct acme_client *client, char *why, size_t why_size);

/* When a rate limit ends (Unix seconds), after ACME_RATE_LIMITED. */
int64_t acme_retry_at(const struct acme_client *client);

/*
 * Order a certificate for name with cert_key (its CSR names only name),
 * answering the first of challenge_types the server offers.  On success
 * *ret_chain is the PEM chain, leaf first (free it).
 */
int acme_order(struct acme_client *client, const char *name, EVP_PKEY *cert_key,
	       const char *const *challenge_types, size_t challenge_type_count,
	       const struct acme_responder *responder, char **ret_chain,
	       char *why, size_t why_size);

/* ---- the pieces, for tests ---- */

/* A new EC P-256 key, or NULL. */
EVP_PKEY *acme_key_new(void);

/* The JWK of an EC P-256 public key, members in RFC 7638 order. */
int acme_jwk(EVP_PKEY *key, char *buf, size_t size);

/* The RFC 7638 thumbprint of a JWK already in its canonical form. */
void acme_thumbprint_of_jwk(const char *canonical_jwk, char out[ACME_THUMBPRINT_SIZE]);

/*
 * The seconds a Retry-After value (delta-seconds or an HTTP-date) asks
 * for at now, within 0 .. ACME_RETRY_AFTER_MAX; -1 when it is neither.
 */
int64_t acme_retry_after(const char *value, int64_t now);

/* base64url without padding; false when out is too small. */
bool acme_base64url(const unsigned char *data, size_t len, char *out, size_t size);

/* An ECDSA P-256 DER signature as the 64 octets r || s JWS wants. */
int acme_signature_raw(const unsigned char *der, size_t der_len, unsigned char raw[64]);

/* token "." thumbprint; -1 when it does not fit or the token is not base64url. */
int acme_key_authorization(const char *token, const char *thumbprint, char *buf,
			   size_t size);

/* The value of the acmeIdentifier extension: DER OCTET STRING of SHA-256(key_authorization). */
void acme_alpn_extension_value(const char *key_authorization,
			       unsigned char out[ACME_ALPN_EXTENSION_SIZE]);

/* The self-signed tls-alpn-01 certificate for name, with a new key. */
int acme_alpn_certificate(const char *name, const char *key_authorization,
			  X509 **ret_cert, EVP_PKEY **ret_key, char *why, size_t why_size);

/* A DER CSR for name (subjectAltName dNSName) signed by key. */
int acme_csr(const char *name, EVP_PKEY *key, unsigned char **ret_der, size_t *ret_len,
	     char *why, size_t why_size);

/*
 * Seconds to wait after the failures-th failure in a row: 5 minutes
 * doubled each time, at most a day, times jitter (0.9 .. 1.1).
 */
int64_t acme_backoff_seconds(unsigned failures, double jitter);

/* When a certificate is renewed: two thirds into its lifetime. */
int64_t acme_renewal_time(int64_t not_before, int64_t not_after);

#endif
