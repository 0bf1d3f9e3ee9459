/*
 * tls_verify.c - the one certificate judgement: OpenSSL's own verification,
 * configured in one place for the handshake (libcurl) and for judging
 * after it (the probe).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tls_verify.h"

int tls_verify_param_setup(X509_VERIFY_PARAM *param, const char *host, time_t now)
{
	/* An empty name would turn the name check off: refuse it. */
	if (host != NULL && host[0] == '\0')
		return 0;
	/* RFC 8461 3.3 and 4.1 via RFC 6125: DNS-IDs only, and a wildcard
	 * only as the whole left-most label. */
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
					X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)
		return 0;
	X509_VERIFY_PARAM_set_auth_level(param, TLS_VERIFY_SECURITY_LEVEL);
	/* The trust a handshake applies too, so both ways judge roots alike. */
	if (X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER) != 1 ||
	    X509_VERIFY_PARAM_set_trust(param, X509_TRUST_SSL_SERVER) != 1)
		return 0;
	if (now != 0)
		X509_VERIFY_PARAM_set_time(param, now);
	return 1;
}

int tls_verify_configure_ctx(SSL_CTX *ctx, const char *host, time_t now)
{
	SSL_CTX_set_security_level(ctx, TLS_VERIFY_SECURITY_LEVEL);
	return tls_verify_param_setup(SSL_CTX_get0_param(ctx), host, now);
}

X509_STORE *tls_verify_store_new(const char *ca_file)
{
	X509_STORE *store = X509_STORE_new();
	int ok;

	if (store == NULL)
		return NULL;
	ok = ca_file != NULL ? X509_STORE_load_file(store, ca_file) :
	     X509_STORE_set_default_paths(store);
	ERR_clear_error();
	if (ok != 1) {
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}

static void record_error(struct tls_judgement *j, long err)
{
	for (size_t i = 0; i < j->error_count; i++)
		if (j->errors[i] == err)
			return;
	if (j->error_count < TLS_VERIFY_ERRORS_MAX)
		j->errors[j->error_count++] = err;
}

/* Go on past each error, so that every one is seen. */
static int collect_errors(int ok, X509_STORE_CTX *sctx)
{
	struct tls_judgement *j = X509_STORE_CTX_get_app_data(sctx);

	if (!ok) {
		int err = X509_STORE_CTX_get_error(sctx);

		record_error(j, err != X509_V_OK ? err : X509_V_ERR_UNSPECIFIED);
		/* Left set, OpenSSL would later report it again in place of
		 * the chain's own error. */
		X509_STORE_CTX_set_error(sctx, X509_V_OK);
	}
	return 1;
}

int tls_verify_judge(X509_STORE *store, X509 *leaf, STACK_OF(X509) *chain,
		     const char *host, time_t now, struct tls_judgement *ret)
{
	struct tls_judgement j = { 0 };
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	int rc = -ENOMEM;

	if (host != NULL && host[0] == '\0') {
		rc = -EINVAL;
		goto out;
	}
	if (sctx == NULL || X509_STORE_CTX_init(sctx, store, leaf, chain) != 1 ||
	    tls_verify_param_setup(X509_STORE_CTX_get0_param(sctx), host, now) != 1)
		goto out;
	X509_STORE_CTX_set_app_data(sctx, &j);
	X509_STORE_CTX_set_verify_cb(sctx, collect_errors);
	if (X509_verify_cert(sctx) != 1 && j.error_count == 0)
		record_error(&j, X509_STORE_CTX_get_error(sctx) != X509_V_OK ?
			     X509_STORE_CTX_get_error(sctx) : X509_V_ERR_UNSPECIFIED);
	j.valid = j.error_count == 0;
	j.first_error = j.valid ? X509_V_OK : j.errors[0];
	j.name_matches = host == NULL ||
		X509_check_host(leaf, host, strlen(host),
				X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
				X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
	j.self_signed = X509_self_signed(leaf, 1) == 1;
	*ret = j;
	rc = 0;
out:
	X509_STORE_CTX_free(sctx);
	ERR_clear_error();
	return rc;
}

/* OpenSSL's verification step of a handshake, replaced by the judgement. */
static int judge_in_handshake(X509_STORE_CTX *sctx, void *arg)
{
	const struct tls_verify_context *vc = arg;
	struct tls_judgement j;
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx);

	if (leaf == NULL ||
	    tls_verify_judge(vc->store, leaf, X509_STORE_CTX_get0_untrusted(sctx),
			     vc->host, vc->now, &j) != 0) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	X509_STORE_CTX_set_error(sctx, (int)j.first_error);
	return j.valid ? 1 : 0;
}

void tls_verify_install(SSL_CTX *ctx, struct tls_verify_context *vc)
{
	SSL_CTX_set_cert_verify_callback(ctx, judge_in_handshake, vc);
}

enum tls_cert_kind tls_cert_kind_of(long verify_error)
{
	switch (verify_error) {
	case X509_V_OK:
		return TLS_CERT_OK;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
	case X509_V_ERR_EMAIL_MISMATCH:
		return TLS_CERT_NAME;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return TLS_CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLS_CERT_NOT_YET_VALID;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return TLS_CERT_SELF_SIGNED;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return TLS_CERT_WEAK;
	default:
		return TLS_CERT_UNTRUSTED;
	}
}

const char *tls_cert_kind_name(enum tls_cert_kind kind)
{
	switch (kind) {
	case TLS_CERT_OK:
		return "ok";
	case TLS_CERT_NAME:
		return "name";
	case TLS_CERT_EXPIRED:
		return "expired";
	case TLS_CERT_NOT_YET_VALID:
		return "not-yet-valid";
	case TLS_CERT_SELF_SIGNED:
		return "self-signed";
	case TLS_CERT_UNTRUSTED:
		return "untrusted";
	case TLS_CERT_WEAK:
		return "weak";
	}
	return "untrusted";
}

const char *tls_cert_check_name(long verify_error)
{
	switch (tls_cert_kind_of(verify_error)) {
	case TLS_CERT_OK:
		return NULL;
	case TLS_CERT_NAME:
		return "tls-cert-name";
	case TLS_CERT_EXPIRED:
		return "tls-cert-expired";
	case TLS_CERT_NOT_YET_VALID:
		return "tls-cert-not-yet-valid";
	case TLS_CERT_SELF_SIGNED:
		return "tls-cert-self-signed";
	case TLS_CERT_WEAK:
		return "tls-cert-weak";
	case TLS_CERT_UNTRUSTED:
		break;
	}
	return "tls-cert-untrusted";
}

const char *tls_cert_error_text(long verify_error)
{
	switch (verify_error) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return "no subjectAltName DNS name matches the host (the subject CN "
		       "is not used)";
	case X509_V_ERR_EE_KEY_TOO_SMALL:
		return "the certificate's key is too weak (RSA keys need 2048 bits "
		       "or more)";
	case X509_V_ERR_CA_KEY_TOO_SMALL:
		return "a CA certificate's key in the chain is too weak";
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return "a certificate in the chain is signed with a weak digest "
		       "(such as SHA-1)";
	default:
		return X509_verify_cert_error_string(verify_error);
	}
}

char **tls_names_free(char **names)
{
	if (names == NULL)
		return NULL;
	for (char **p = names; *p != NULL; p++)
		free(*p);
	free(names);
	return NULL;
}

int tls_cert_dns_names(X509 *cert, char ***ret_names, size_t *ret_count)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int total = sk_GENERAL_NAME_num(sans);
	char **names = calloc(total > 0 ? (size_t)total + 1 : 1, sizeof(*names));
	size_t count = 0;
	int rc = -ENOMEM;

	if (names == NULL)
		goto out;
	for (int i = 0; i < total; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		unsigned char *utf8 = NULL;
		int len;

		if (g->type != GEN_DNS)
			continue;
		len = ASN1_STRING_to_UTF8(&utf8, g->d.dNSName);
		if (len < 0)
			continue;
		/* A name with a NUL inside names nothing (and fools C strings). */
		if (memchr(utf8, '\0', (size_t)len) == NULL &&
		    (names[count] = strdup((const char *)utf8)) == NULL) {
			OPENSSL_free(utf8);
			names = tls_names_free(names);
			goto out;
		}
		if (names[count] != NULL)
			count++;
		OPENSSL_free(utf8);
	}
	*ret_names = names;
	*ret_count = count;
	rc = 0;
out:
	GENERAL_NAMES_free(sans);
	ERR_clear_error();
	return rc;
}
