/*
 * tls_verify.h - the one certificate judgement for every TLS peer: the
 * policy host over HTTPS, an MX host over SMTP STARTTLS, an https: report
 * endpoint.
 *
 * SYNOPSIS
 *	// inside a handshake (libcurl's SSL context callback):
 *	tls_verify_configure_ctx(ssl_ctx, "mta-sts.example.com", 0);
 *
 *	// after a handshake that did not verify (the probe):
 *	struct tls_judgement j;
 *	tls_verify_judge(store, leaf, chain, "mx1.example.com", now, &j);
 *
 * DESCRIPTION
 *	A certificate is valid for a host when it chains to the trust store,
 *	passes the checks OpenSSL makes at TLS_VERIFY_SECURITY_LEVEL (the
 *	level a sender's OpenSSL applies by default on Debian 12: RSA keys of
 *	2048 bits or more, no SHA-1 signatures), is within its validity
 *	period, and names the host in a subjectAltName dNSName: never in the
 *	subject CN (RFC 8461 3.3 and 4.1), a wildcard only as the whole
 *	left-most label (RFC 6125 6.4.3).  Both ways of asking (during the
 *	handshake and after it) configure OpenSSL's X509_VERIFY_PARAM with
 *	tls_verify_param_setup(), so they cannot disagree.
 *
 *	OpenSSL stops a handshake at the first error it finds; the judgement
 *	after a handshake records every error in the order OpenSSL finds
 *	them, so its first error is the one the handshake would have failed
 *	with.
 *
 *	Each error falls into one kind (tls_cert_kind), which names the
 *	failure everywhere: the check "tls-cert-<kind>" of fetch and the
 *	findings "host-cert-<kind>" and "mx-cert-<kind>" of check.
 */
#ifndef MTASTS_IO_TLS_VERIFY_H
#define MTASTS_IO_TLS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TLS_VERIFY_SECURITY_LEVEL 2
#define TLS_VERIFY_ERRORS_MAX 8

enum tls_cert_kind {
	TLS_CERT_OK,
	TLS_CERT_NAME,		/* no subjectAltName dNSName matches the host */
	TLS_CERT_EXPIRED,
	TLS_CERT_NOT_YET_VALID,
	TLS_CERT_SELF_SIGNED,
	TLS_CERT_UNTRUSTED,	/* no chain to a trusted root, or a bad chain */
	TLS_CERT_WEAK,		/* key or signature below the security level */
};

struct tls_judgement {
	bool valid;
	long first_error;		/* X509_V_ERR_*, X509_V_OK when valid */
	size_t error_count;		/* distinct errors, in the order found */
	long errors[TLS_VERIFY_ERRORS_MAX];
	bool name_matches;		/* the host is one of its DNS-IDs */
	bool self_signed;
};

/*
 * Host checking (DNS-IDs only, no partial wildcards), the security level,
 * the purpose (a TLS server) and, when now is not 0, the time to judge at.
 * host may be NULL (no name check).  1 on success, 0 when out of memory.
 */
int tls_verify_param_setup(X509_VERIFY_PARAM *param, const char *host, time_t now);

/*
 * For a context that verifies during the handshake: the trust store is the
 * caller's, the rest as above; also sets the context's security level.
 * 1 on success, 0 on failure.
 */
int tls_verify_configure_ctx(SSL_CTX *ctx, const char *host, time_t now);

/*
 * Have every handshake of ctx judged by tls_verify_judge() against
 * vc->store, whatever store the context's owner (libcurl) loaded or
 * flagged: the handshake fails with the judgement's first error, which
 * SSL_get_verify_result() then reports.  vc must outlive the handshakes.
 */
struct tls_verify_context {
	X509_STORE *store;
	const char *host;
	time_t now;			/* 0: the clock */
};
void tls_verify_install(SSL_CTX *ctx, struct tls_verify_context *vc);

/*
 * Judge a certificate a server sent (leaf, and the rest of what it sent in
 * chain) against store, for host, at now (0: the clock).  Fills *ret;
 * returns 0, or -ENOMEM.
 */
int tls_verify_judge(X509_STORE *store, X509 *leaf, STACK_OF(X509) *chain,
		     const char *host, time_t now, struct tls_judgement *ret);

/*
 * The trust store every judgement uses: the certificates of ca_file, or
 * when it is NULL OpenSSL's default locations (SSL_CERT_FILE and
 * SSL_CERT_DIR honoured), and nothing else: no partial chains.  NULL when
 * it cannot be read.
 */
X509_STORE *tls_verify_store_new(const char *ca_file);

enum tls_cert_kind tls_cert_kind_of(long verify_error);

/* "name", "expired", ... ; "ok" for TLS_CERT_OK. */
const char *tls_cert_kind_name(enum tls_cert_kind kind);

/* The fetch check for an error: "tls-cert-name", "tls-cert-expired"... */
const char *tls_cert_check_name(long verify_error);

/* A sentence for an error, for people (OpenSSL's, clarified for names). */
const char *tls_cert_error_text(long verify_error);

/*
 * Every subjectAltName dNSName of a certificate, however many, in order;
 * names containing a NUL are left out.  *ret_names is a NULL-terminated
 * array (free with tls_names_free()).  0, or -ENOMEM.
 */
int tls_cert_dns_names(X509 *cert, char ***ret_names, size_t *ret_count);
char **tls_names_free(char **names);

#endif
