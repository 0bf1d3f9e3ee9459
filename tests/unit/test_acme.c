/*
 * test_acme.c - the pieces of the ACME client that need no server: JWK and
 * its RFC 7638 thumbprint, base64url, the ES256 signature's form, key
 * authorizations, the tls-alpn-01 certificate (RFC 8737), the CSR, the
 * schedule of retries and renewals, the checks of what the server names
 * (URLs) and of what is ordered (host names), Retry-After's bounds; and,
 * against a tiny HTTPS server that answers from a table, what the client
 * makes of answers too large, 5xx, and an account it cannot check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
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

/* ---- a tiny HTTPS server: each request's path picks a canned answer ---- */

struct route {
	const char *path;
	int status;
	const char *content_type;	/* NULL: none */
	const char *body;		/* '@' is the server's base URL; NULL: a body too large */
};

struct fake_server {
	int listener, port;
	SSL_CTX *ctx;
	char base[64];			/* https://127.0.0.1:<port> */
	char ca_file[64];
	const struct route *routes;
	size_t route_count;
	unsigned requests;
	pthread_t thread;
};

#define BIG_BODY_SIZE (ACME_RESPONSE_MAX + 4096)

static void fake_answer(struct fake_server *f, SSL *ssl)
{
	char request[8192], path[256] = "", head[512], body[1024];
	size_t used = 0;
	int n;
	const struct route *route = NULL;

	/* headers, then the body's Content-Length octets (JWS bodies are small) */
	while (used < sizeof(request) - 1 &&
	       (n = SSL_read(ssl, request + used, (int)(sizeof(request) - 1 - used))) > 0) {
		used += (size_t)n;
		request[used] = '\0';
		char *end = strstr(request, "\r\n\r\n"), *cl = strcasestr(request, "content-length:");
		if (end != NULL && (cl == NULL || used >= (size_t)(end + 4 - request) +
							  (size_t)atol(cl + 15)))
			break;
	}
	request[used] = '\0';
	sscanf(request, "%*s %255s", path);
	for (size_t i = 0; i < f->route_count; i++)
		if (strcmp(f->routes[i].path, path) == 0)
			route = &f->routes[i];
	f->requests++;
	if (route == NULL) {
		SSL_write(ssl, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			  66);
		return;
	}
	char *big = NULL;
	const char *text = body;
	size_t len;
	if (route->body == NULL) {
		big = malloc(BIG_BODY_SIZE);
		memset(big, 'x', BIG_BODY_SIZE);
		text = big;
		len = BIG_BODY_SIZE;
	} else {
		len = 0;
		for (const char *p = route->body; *p != '\0' && len < sizeof(body) - 64; p++)
			if (*p == '@')
				len += (size_t)snprintf(body + len, sizeof(body) - len, "%s", f->base);
			else
				body[len++] = *p;
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
		     "Replay-Nonce: nonce%u\r\nLocation: %s/account/1\r\n%s%s%sConnection: close\r\n\r\n",
		     route->status, len, f->requests, f->base,
		     route->content_type ? "Content-Type: " : "",
		     route->content_type ? route->content_type : "", route->content_type ? "\r\n" : "");
	SSL_write(ssl, head, n);
	for (size_t done = 0; done < len;) {
		int w = SSL_write(ssl, text + done, (int)(len - done > 16384 ? 16384 : len - done));
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	free(big);
}

static void *fake_serve(void *arg)
{
	struct fake_server *f = arg;
	int fd;

	while ((fd = accept(f->listener, NULL, NULL)) >= 0) {
		SSL *ssl = SSL_new(f->ctx);

		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			fake_answer(f, ssl);
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
	}
	return NULL;
}

/* A self-signed certificate for IP 127.0.0.1, written to f->ca_file. */
static void fake_certificate(struct fake_server *f, EVP_PKEY *key)
{
	X509 *cert = X509_new();
	X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
						  "IP:127.0.0.1");
	FILE *out;
	int fd;

	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
				   (const unsigned char *)"fake acme", -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	X509_set_pubkey(cert, key);
	X509_add_ext(cert, san, -1);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	snprintf(f->ca_file, sizeof(f->ca_file), "/tmp/test_acme_ca.XXXXXX");
	assert_true((fd = mkstemp(f->ca_file)) >= 0);
	assert_non_null(out = fdopen(fd, "w"));
	PEM_write_X509(out, cert);
	fclose(out);
	assert_int_equal(SSL_CTX_use_certificate(f->ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(f->ctx, key), 1);
	X509_EXTENSION_free(san);
	X509_free(cert);
}

static void fake_start(struct fake_server *f, const struct route *routes, size_t count)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	EVP_PKEY *key = acme_key_new();

	memset(f, 0, sizeof(*f));
	f->routes = routes;
	f->route_count = count;
	assert_non_null(f->ctx = SSL_CTX_new(TLS_server_method()));
	fake_certificate(f, key);
	EVP_PKEY_free(key);
	assert_true((f->listener = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(f->listener, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f->listener, 8), 0);
	getsockname(f->listener, (struct sockaddr *)&sin, &len);
	f->port = ntohs(sin.sin_port);
	snprintf(f->base, sizeof(f->base), "https://127.0.0.1:%d", f->port);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake_server *f)
{
	shutdown(f->listener, SHUT_RDWR);
	close(f->listener);
	pthread_join(f->thread, NULL);
	SSL_CTX_free(f->ctx);
	unlink(f->ca_file);
}

static struct acme_client *fake_client(struct fake_server *f)
{
	char url[128];
	struct acme_client_config config = { .directory_url = url, .ca_file = f->ca_file,
					      .request_timeout_ms = 5000 };
	struct acme_client *client = NULL;
	EVP_PKEY *key = acme_key_new();
	char why[256];

	snprintf(url, sizeof(url), "%s/dir", f->base);
	assert_int_equal(acme_client_new(&config, key, &client, why, sizeof(why)), 0);
	EVP_PKEY_free(key);
	return client;
}

#define DIRECTORY "{\"newNonce\":\"@/nonce\",\"newAccount\":\"@/new-account\"," \
		  "\"newOrder\":\"@/new-order\"}"
#define PROBLEM "application/problem+json"
/* The directory, a nonce and a new account: what every order begins with. */
#define ACCOUNT_ROUTES \
	{ "/dir", 200, "application/json", DIRECTORY }, \
	{ "/nonce", 200, NULL, "" }, \
	{ "/new-account", 201, "application/json", "{\"status\":\"valid\"}" }

/* acme_account_register() against routes: its outcome, why in why. */
static int fake_register(const struct route *routes, size_t count, char *why, size_t why_size)
{
	struct fake_server f;
	struct acme_client *client;
	int rc;

	fake_start(&f, routes, count);
	client = fake_client(&f);
	rc = acme_account_register(client, why, why_size);
	acme_client_free(client);
	fake_stop(&f);
	return rc;
}

/* An answer over ACME_RESPONSE_MAX is refused, and its part read is freed (ASan says so). */
static void test_fake_answer_too_large(void **state)
{
	static const struct route routes[] = { { "/dir", 200, "application/json", NULL } };
	char why[512] = "";

	(void)state;
	assert_int_equal(fake_register(routes, 1, why, sizeof(why)), ACME_FAILED);
	assert_non_null(strstr(why, "larger than"));
}

/* A 5xx before any order is the server's trouble: ACME_UNREACHABLE. */
static void test_fake_directory_5xx(void **state)
{
	static const struct route routes[] = { { "/dir", 503, NULL, "" } };
	char why[512] = "";

	(void)state;
	assert_int_equal(fake_register(routes, 1, why, sizeof(why)), ACME_UNREACHABLE);
	assert_non_null(strstr(why, "503"));
}

static const char *const http01[] = { "http-01" };

static int no_publish(void *arg, const struct acme_challenge_answer *answer)
{
	(void)arg, (void)answer;
	return -1;
}

static void no_withdraw(void *arg, const struct acme_challenge_answer *answer)
{
	(void)arg, (void)answer;
}

/* An order under way, then the outcome of newOrder as routes[3] says. */
static int fake_order(const struct route *routes, size_t count, char *why, size_t why_size)
{
	struct acme_responder responder = { no_publish, no_withdraw, NULL };
	struct fake_server f;
	struct acme_client *client;
	EVP_PKEY *key = acme_key_new();
	char *chain = NULL;
	int rc;

	fake_start(&f, routes, count);
	client = fake_client(&f);
	rc = acme_order(client, "mta-sts.example.com", key, http01, 1, &responder, &chain, why,
			why_size);
	assert_null(chain);
	acme_client_free(client);
	EVP_PKEY_free(key);
	fake_stop(&f);
	return rc;
}

/* A 5xx at newOrder is the order's failure (the name backs off), not the server's. */
static void test_fake_new_order_5xx(void **state)
{
	static const struct route routes[] = {
		ACCOUNT_ROUTES,
		{ "/new-order", 500, PROBLEM, "{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}" },
	};
	char why[512] = "";

	(void)state;
	assert_int_equal(fake_order(routes, 4, why, sizeof(why)), ACME_FAILED);
	assert_non_null(strstr(why, "500"));
}

/*
 * newOrder says unauthorized: the account is given up only when its own URL
 * says so; an account URL that answers 5xx proves nothing.
 */
static void test_fake_account_unchecked_is_kept(void **state)
{
	static const struct route unchecked[] = {
		ACCOUNT_ROUTES,
		{ "/new-order", 403, PROBLEM, "{\"type\":\"urn:ietf:params:acme:error:unauthorized\"}" },
		{ "/account/1", 503, NULL, "" },
	};
	static const struct route deactivated[] = {
		ACCOUNT_ROUTES,
		{ "/new-order", 403, PROBLEM, "{\"type\":\"urn:ietf:params:acme:error:unauthorized\"}" },
		{ "/account/1", 200, "application/json", "{\"status\":\"deactivated\"}" },
	};
	static const struct route unknown[] = {
		ACCOUNT_ROUTES,
		{ "/new-order", 400, PROBLEM,
		  "{\"type\":\"urn:ietf:params:acme:error:accountDoesNotExist\"}" },
		{ "/account/1", 400, PROBLEM,
		  "{\"type\":\"urn:ietf:params:acme:error:accountDoesNotExist\"}" },
	};
	char why[512] = "";

	(void)state;
	assert_int_equal(fake_order(unchecked, 5, why, sizeof(why)), ACME_FAILED);
	assert_int_equal(fake_order(deactivated, 5, why, sizeof(why)), ACME_ACCOUNT_GONE);
	assert_int_equal(fake_order(unknown, 5, why, sizeof(why)), ACME_ACCOUNT_GONE);
}

/* The server's status text in deactivation's sentence is escaped. */
static void test_fake_deactivate_status_escaped(void **state)
{
	static const struct route routes[] = {
		ACCOUNT_ROUTES,
		{ "/account/1", 200, "application/json", "{\"status\":\"va\\u001b[31mlid\"}" },
	};
	struct fake_server f;
	struct acme_client *client;
	char why[512] = "";

	(void)state;
	fake_start(&f, routes, 4);
	client = fake_client(&f);
	assert_int_equal(acme_account_deactivate(client, why, sizeof(why)), ACME_FAILED);
	assert_null(strchr(why, '\x1b'));
	assert_non_null(strstr(why, "\\x1b"));
	acme_client_free(client);
	fake_stop(&f);
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
	/* what the server names must be on the directory's host and port */
	const char *dir = "https://acme.example/dir";
	assert_true(acme_url_on_origin(dir, "https://acme.example/order/1"));
	assert_true(acme_url_on_origin(dir, "https://ACME.example:443/order/1"));
	assert_true(acme_url_on_origin("https://127.0.0.1:14000/dir", "https://127.0.0.1:14000/x"));
	assert_false(acme_url_on_origin(dir, "https://acme.example:8443/order/1"));
	assert_false(acme_url_on_origin(dir, "https://other.example/order/1"));
	assert_false(acme_url_on_origin(dir, "https://acme.example.other.example/x"));
	assert_false(acme_url_on_origin(dir, "https://user@acme.example/order/1"));
	assert_false(acme_url_on_origin(dir, "https://acme.example@other.example/x"));
	assert_false(acme_url_on_origin(dir, "http://acme.example/order/1"));
	assert_false(acme_url_on_origin("https://u:p@acme.example/dir", "https://acme.example/x"));
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
		cmocka_unit_test(test_fake_answer_too_large),
		cmocka_unit_test(test_fake_directory_5xx),
		cmocka_unit_test(test_fake_new_order_5xx),
		cmocka_unit_test(test_fake_account_unchecked_is_kept),
		cmocka_unit_test(test_fake_deactivate_status_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
