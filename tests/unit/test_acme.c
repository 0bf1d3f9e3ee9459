/*
 * test_acme.c - the pieces of the ACME client that need no server: JWK and
 * its RFC 7638 thumbprint, base64url, the ES256 signature's form, key
 * authorizations, the tls-alpn-01 certificate (RFC 8737), the CSR, the
 * schedule of retries and renewals, and the checks of what the server
 * names (URLs) and of what is ordered (host names).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "acme.h"
#include "acme_internal.h"

/* RFC 7638 section 3.1: the canonical JWK of the example RSA key and its thumbprint. */
static void test_thumbprint_rfc7638(void **state)
{
	static const char jwk[] =
		"{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78"
		"LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5Js"
		"GY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7"
		"d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPks"
		"INHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"}";
	char thumbprint[ACME_THUMBPRINT_SIZE];

	(void)state;
	acme_thumbprint_of_jwk(jwk, thumbprint);
	assert_string_equal(thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

/* RFC 4648 section 10, in the URL alphabet and without padding. */
static void test_base64url(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff", "-_8" },
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(acme_base64url((const unsigned char *)cases[i].in,
					   strlen(cases[i].in), out, sizeof(out)));
		assert_string_equal(out, cases[i].out);
	}
	assert_false(acme_base64url((const unsigned char *)"foobar", 6, out, 8));
}

/* The JWK carries the key's own coordinates, members in lexical order. */
static void test_jwk_of_ec_key(void **state)
{
	EVP_PKEY *key = acme_key_new(), *rsa = EVP_RSA_gen(2048);
	BIGNUM *x = NULL;
	unsigned char xb[32];
	char jwk[256], x64[64], expected[128];

	(void)state;
	assert_non_null(key);
	assert_int_equal(acme_jwk(key, jwk, sizeof(jwk)), 0);
	assert_true(EVP_PKEY_get_bn_param(key, "qx", &x));
	assert_int_equal(BN_bn2binpad(x, xb, sizeof(xb)), 32);
	acme_base64url(xb, sizeof(xb), x64, sizeof(x64));
	snprintf(expected, sizeof(expected), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"",
		 x64);
	assert_memory_equal(jwk, expected, strlen(expected));
	assert_int_equal(strlen(jwk), strlen(expected) + 43 + 2);
	assert_int_equal(acme_jwk(key, jwk, 40), -1);	/* does not fit */
	assert_int_equal(acme_jwk(rsa, jwk, sizeof(jwk)), -1);
	BN_free(x);
	EVP_PKEY_free(key);
	EVP_PKEY_free(rsa);
}

/* Short r and s are padded to 32 octets each; anything after the DER is refused. */
static void test_signature_raw_padding(void **state)
{
	static const unsigned char der[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02 };
	static const unsigned char trailing[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01,
						  0x02, 0x00 };
	unsigned char raw[64], expected[64] = { 0 };

	(void)state;
	expected[31] = 1;
	expected[63] = 2;
	assert_int_equal(acme_signature_raw(der, sizeof(der), raw), 0);
	assert_memory_equal(raw, expected, 64);
	assert_int_equal(acme_signature_raw(trailing, sizeof(trailing), raw), -1);
	assert_int_equal(acme_signature_raw(der, 5, raw), -1);
}

/* A real ES256 signature survives the trip DER -> r||s -> DER and verifies. */
static void test_signature_raw_verifies(void **state)
{
	static const unsigned char message[] = "eyJhbGciOiJFUzI1NiJ9.e30";
	EVP_PKEY *key = acme_key_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128], raw[64], *again = NULL;
	size_t der_len = sizeof(der);
	ECDSA_SIG *sig = ECDSA_SIG_new();
	int again_len;

	(void)state;
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &der_len, message, sizeof(message) - 1), 1);
	assert_int_equal(acme_signature_raw(der, der_len, raw), 0);
	assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL),
					BN_bin2bn(raw + 32, 32, NULL)), 1);
	again_len = i2d_ECDSA_SIG(sig, &again);
	assert_true(again_len > 0);
	EVP_MD_CTX_reset(md);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestVerify(md, again, (size_t)again_len, message,
					  sizeof(message) - 1), 1);
	OPENSSL_free(again);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
}

static void test_key_authorization(void **state)
{
	char buf[ACME_KEY_AUTHZ_MAX];

	(void)state;
	/* RFC 8555 section 8.1's token */
	assert_int_equal(acme_key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
						"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
						buf, sizeof(buf)), 0);
	assert_string_equal(buf, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
			    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* a token that could walk out of the challenge path, or none */
	assert_int_equal(acme_key_authorization("../x", "t", buf, sizeof(buf)), -1);
	assert_int_equal(acme_key_authorization("", "t", buf, sizeof(buf)), -1);
	assert_int_equal(acme_key_authorization("abcdef", "ghijkl", buf, 8), -1);
}

/* RFC 8737 section 3: OCTET STRING (04), 32 octets (20), SHA-256 of the key authorization. */
static void test_alpn_extension_value(void **state)
{
	unsigned char value[ACME_ALPN_EXTENSION_SIZE], digest[32];

	(void)state;
	acme_alpn_extension_value("token.thumbprint", value);
	SHA256((const unsigned char *)"token.thumbprint", 16, digest);
	assert_int_equal(value[0], 0x04);
	assert_int_equal(value[1], 0x20);
	assert_memory_equal(value + 2, digest, 32);
}

/* The certificate: the name as its only SAN, the critical acmeIdentifier, self-signed. */
static void test_alpn_certificate(void **state)
{
	unsigned char value[ACME_ALPN_EXTENSION_SIZE];
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *data;
	GENERAL_NAMES *names;
	const GENERAL_NAME *gn;
	char why[256];
	int at;

	(void)state;
	assert_int_equal(acme_alpn_certificate("mta-sts.example.com", "tok.thumb", &cert, &key,
					       why, sizeof(why)), 0);
	at = X509_get_ext_by_OBJ(cert, oid, -1);
	assert_true(at >= 0);
	ext = X509_get_ext(cert, at);
	assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
	data = X509_EXTENSION_get_data(ext);
	acme_alpn_extension_value("tok.thumb", value);
	assert_int_equal(ASN1_STRING_length(data), sizeof(value));
	assert_memory_equal(ASN1_STRING_get0_data(data), value, sizeof(value));
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(names), 1);
	gn = sk_GENERAL_NAME_value(names, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.dNSName),
			    "mta-sts.example.com");
	assert_int_equal(X509_verify(cert, key), 1);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	GENERAL_NAMES_free(names);
	X509_free(cert);
	EVP_PKEY_free(key);
	/* what is not a host name is refused, not written into a certificate */
	assert_int_equal(acme_alpn_certificate("a,DNS:b", "tok.thumb", &cert, &key, why,
					       sizeof(why)), -1);
	assert_non_null(strstr(why, "not a host name"));
	ASN1_OBJECT_free(oid);
}

static void test_csr(void **state)
{
	EVP_PKEY *key = acme_key_new();
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len;
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *names;
	char why[256];

	(void)state;
	assert_int_equal(acme_csr("mta-sts.example.org", key, &der, &len, why, sizeof(why)), 0);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	exts = X509_REQ_get_extensions(req);
	names = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(names), 1);
	assert_string_equal((const char *)ASN1_STRING_get0_data(
				    sk_GENERAL_NAME_value(names, 0)->d.dNSName),
			    "mta-sts.example.org");
	GENERAL_NAMES_free(names);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	OPENSSL_free(der);
	assert_int_equal(acme_csr("", key, &der, &len, why, sizeof(why)), -1);
	EVP_PKEY_free(key);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(acme_backoff_seconds(0, 1.0), 0);
	assert_int_equal(acme_backoff_seconds(1, 1.0), 300);
	assert_int_equal(acme_backoff_seconds(2, 1.0), 600);
	assert_int_equal(acme_backoff_seconds(3, 1.0), 1200);
	assert_int_equal(acme_backoff_seconds(9, 1.0), 76800);
	assert_int_equal(acme_backoff_seconds(10, 1.0), 86400);	/* a day at most */
	assert_int_equal(acme_backoff_seconds(1000, 1.0), 86400);
	assert_int_equal(acme_backoff_seconds(1, 1.1), 330);
	assert_int_equal(acme_backoff_seconds(1, 0.9), 270);
}

static void test_renewal_time(void **state)
{
	(void)state;
	/* 90 days: renewed after 60 */
	assert_int_equal(acme_renewal_time(1000, 1000 + 90 * 86400), 1000 + 60 * 86400);
	assert_int_equal(acme_renewal_time(0, 300), 200);
}

/* What the client follows and shows: https, printable, bounded. */
/* Retry-After: bounded whatever the server sends (now: 2026-01-01 00:00:00 UTC) */
static void test_retry_after(void **state)
{
	const int64_t now = 1767225600;

	(void)state;
	assert_int_equal(acme_retry_after("120", now), 120);
	assert_int_equal(acme_retry_after("0", now), 0);
	assert_int_equal(acme_retry_after("86400", now), ACME_RETRY_AFTER_MAX);
	assert_int_equal(acme_retry_after("86401", now), ACME_RETRY_AFTER_MAX);
	assert_int_equal(acme_retry_after("9223372036854775807", now), ACME_RETRY_AFTER_MAX);
	assert_int_equal(acme_retry_after("99999999999999999999999", now), ACME_RETRY_AFTER_MAX);
	assert_int_equal(acme_retry_after("-5", now), 0);
	assert_int_equal(acme_retry_after("-99999999999999999999999", now), 0);
	assert_int_equal(acme_retry_after("garbage", now), -1);
	assert_int_equal(acme_retry_after("12abc", now), -1);
	assert_int_equal(acme_retry_after("", now), -1);
	/* HTTP-dates: ten minutes on, in the past, a century on */
	assert_int_equal(acme_retry_after("Thu, 01 Jan 2026 00:10:00 GMT", now), 600);
	assert_int_equal(acme_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now), 0);
	assert_int_equal(acme_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", now),
			 ACME_RETRY_AFTER_MAX);
}

static void test_url_and_name_checks(void **state)
{
	char long_url[URL_MAX + 16];

	(void)state;
	assert_true(acme_url_ok("https://acme.example/dir"));
	assert_false(acme_url_ok("http://acme.example/dir"));
	assert_false(acme_url_ok("https://acme.example/a b"));
	assert_false(acme_url_ok("https://acme.example/\x1b[31m"));
	assert_false(acme_url_ok("https://acme.example/\xc3\xa9"));
	memset(long_url, 'a', sizeof(long_url) - 1);
	memcpy(long_url, "https://", 8);
	long_url[sizeof(long_url) - 1] = '\0';
	assert_false(acme_url_ok(long_url));
	assert_true(acme_host_name_ok("mta-sts.example.com"));
	assert_false(acme_host_name_ok(""));
	assert_false(acme_host_name_ok("mta-sts.example.com\"}]"));
	assert_false(acme_host_name_ok("*.example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_jwk_of_ec_key),
		cmocka_unit_test(test_signature_raw_padding),
		cmocka_unit_test(test_signature_raw_verifies),
		cmocka_unit_test(test_key_authorization),
		cmocka_unit_test(test_alpn_extension_value),
		cmocka_unit_test(test_alpn_certificate),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_renewal_time),
		cmocka_unit_test(test_url_and_name_checks),
		cmocka_unit_test(test_retry_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
