/*
 * acme_crypto.c - the pieces of the ACME client made of OpenSSL alone:
 * base64url, the account's JWK and its RFC 7638 thumbprint, the ES256
 * signature as JWS wants it, key authorizations, the tls-alpn-01
 * certificate (RFC 8737) and the CSR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "acme.h"
#include "acme_internal.h"
#include "util.h"

#define ALPN_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"

bool acme_base64url(const unsigned char *data, size_t len, char *out, size_t size)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	if (size < (len * 4 + 2) / 3 + 1)
		return false;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		size_t n = len - i >= 3 ? 3 : len - i;

		if (n > 1)
			v |= (uint32_t)data[i + 1] << 8;
		if (n > 2)
			v |= data[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (n > 1)
			out[o++] = alphabet[(v >> 6) & 63];
		if (n > 2)
			out[o++] = alphabet[v & 63];
	}
	out[o] = '\0';
	return true;
}

char *acme_base64url_new(const unsigned char *data, size_t len)
{
	size_t size = (len * 4 + 2) / 3 + 1;
	char *out = malloc(size);

	if (out != NULL)
		acme_base64url(data, len, out, size);
	return out;
}

EVP_PKEY *acme_key_new(void)
{
	return EVP_EC_gen("P-256");
}

int acme_jwk(EVP_PKEY *key, char *buf, size_t size)
{
	BIGNUM *x = NULL, *y = NULL;
	unsigned char xb[32], yb[32];
	char x64[64], y64[64];
	char curve[32];
	int ret = -1;

	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve,
					    sizeof(curve), NULL) ||
	    strcmp(curve, "prime256v1") != 0)
		return -1;
	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2binpad(x, xb, sizeof(xb)) < 0 || BN_bn2binpad(y, yb, sizeof(yb)) < 0)
		goto out;
	acme_base64url(xb, sizeof(xb), x64, sizeof(x64));
	acme_base64url(yb, sizeof(yb), y64, sizeof(y64));
	if ((size_t)snprintf(buf, size, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
			     x64, y64) < size)
		ret = 0;
out:
	BN_free(x);
	BN_free(y);
	return ret;
}

void acme_thumbprint_of_jwk(const char *canonical_jwk, char out[ACME_THUMBPRINT_SIZE])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)canonical_jwk, strlen(canonical_jwk), digest);
	acme_base64url(digest, sizeof(digest), out, ACME_THUMBPRINT_SIZE);
}

int acme_signature_raw(const unsigned char *der, size_t der_len, unsigned char raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;
	int ret = -1;

	if (sig == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (p == der + der_len && BN_bn2binpad(r, raw, 32) == 32 &&
	    BN_bn2binpad(s, raw + 32, 32) == 32)
		ret = 0;
	ECDSA_SIG_free(sig);
	return ret;
}

int acme_key_authorization(const char *token, const char *thumbprint, char *buf, size_t size)
{
	if (*token == '\0' || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789-_") != strlen(token))
		return -1;
	if ((size_t)snprintf(buf, size, "%s.%s", token, thumbprint) >= size)
		return -1;
	return 0;
}

void acme_alpn_extension_value(const char *key_authorization,
			       unsigned char out[ACME_ALPN_EXTENSION_SIZE])
{
	out[0] = 0x04;			/* OCTET STRING */
	out[1] = SHA256_DIGEST_LENGTH;
	SHA256((const unsigned char *)key_authorization, strlen(key_authorization), out + 2);
}

bool acme_host_name_ok(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= 253 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == len;
}

/* subjectAltName dNSName=name, for a certificate or a request's extensions. */
static GENERAL_NAMES *dns_names(const char *name)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

	if (names == NULL || gn == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, name, -1))
		goto fail;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(names, gn))
		goto fail;
	return names;
fail:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return NULL;
}

static bool set_common_name(X509_NAME *subject, const char *name)
{
	return X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
					  (const unsigned char *)name, -1, -1, 0) == 1;
}

int acme_alpn_certificate(const char *name, const char *key_authorization, X509 **ret_cert,
			  EVP_PKEY **ret_key, char *why, size_t why_size)
{
	unsigned char value[ACME_ALPN_EXTENSION_SIZE];
	EVP_PKEY *key = acme_key_new();
	X509 *cert = X509_new();
	GENERAL_NAMES *names = NULL;
	ASN1_OBJECT *oid = OBJ_txt2obj(ALPN_IDENTIFIER_OID, 1);
	ASN1_OCTET_STRING *octets = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	unsigned char serial[16];
	BIGNUM *serial_bn = NULL;
	int ret = -1;

	if (!acme_host_name_ok(name)) {
		say_why(why, why_size, "tls-alpn-01: '%s' is not a host name", name);
		goto out;
	}
	acme_alpn_extension_value(key_authorization, value);
	if (key == NULL || cert == NULL || oid == NULL || octets == NULL ||
	    RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((serial_bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    !BN_to_ASN1_INTEGER(serial_bn, X509_get_serialNumber(cert)) ||
	    !X509_set_version(cert, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 86400) ||
	    !set_common_name(X509_get_subject_name(cert), name) ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(cert)) ||
	    !X509_set_pubkey(cert, key) || (names = dns_names(name)) == NULL ||
	    !X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) ||
	    !ASN1_OCTET_STRING_set(octets, value, sizeof(value)) ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, octets)) == NULL ||
	    !X509_add_ext(cert, ext, -1) || X509_sign(cert, key, EVP_sha256()) == 0)
		goto fail;
	*ret_cert = cert;
	*ret_key = key;
	cert = NULL;
	key = NULL;
	ret = 0;
	goto out;
fail:
	say_why(why, why_size, "tls-alpn-01: the certificate for %s could not be made "
		"(out of memory?)", name);
out:
	BN_free(serial_bn);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(octets);
	ASN1_OBJECT_free(oid);
	GENERAL_NAMES_free(names);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

int acme_csr(const char *name, EVP_PKEY *key, unsigned char **ret_der, size_t *ret_len,
	     char *why, size_t why_size)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *names = NULL;
	unsigned char *der = NULL;
	int len, ret = -1;

	if (!acme_host_name_ok(name)) {
		say_why(why, why_size, "CSR: '%s' is not a host name", name);
		goto out;
	}
	if (req == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !set_common_name(X509_REQ_get_subject_name(req), name) ||
	    !X509_REQ_set_pubkey(req, key) || (names = dns_names(name)) == NULL ||
	    !X509V3_add1_i2d(&exts, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) ||
	    !X509_REQ_add_extensions(req, exts) || X509_REQ_sign(req, key, EVP_sha256()) == 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0) {
		say_why(why, why_size, "CSR: the request for %s could not be made", name);
		goto out;
	}
	*ret_der = der;
	*ret_len = (size_t)len;
	ret = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(names);
	X509_REQ_free(req);
	return ret;
}
