/*
 * test_serve_challenges.c - the ACME challenge answers of `mtasts serve`
 * (src/serve_challenges.c): http-01 tokens and TLS-ALPN-01 certificates
 * put, found, replaced and dropped; the table full; and an answer put by
 * one process found by another (the table is shared by the workers).
 */
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "unit.h"

#include "serve.h"

static void http01_put_find_drop(void **state)
{
	struct serve_challenges *c = serve_challenges_new();
	char buf[SERVE_KEY_AUTHZ_MAX + 1];
	char long_token[SERVE_TOKEN_MAX + 2];

	(void)state;
	assert_non_null(c);
	assert_false(serve_challenges_http01(c, "tok", buf, sizeof(buf)));
	assert_int_equal(serve_challenges_put_http01(c, "tok", "tok.thumb"), 0);
	assert_true(serve_challenges_http01(c, "tok", buf, sizeof(buf)));
	assert_string_equal(buf, "tok.thumb");
	/* Tokens compare exactly. */
	assert_false(serve_challenges_http01(c, "TOK", buf, sizeof(buf)));
	/* Put again: replaced, not doubled. */
	assert_int_equal(serve_challenges_put_http01(c, "tok", "tok.other"), 0);
	assert_true(serve_challenges_http01(c, "tok", buf, sizeof(buf)));
	assert_string_equal(buf, "tok.other");
	/* Too small a buffer: not found rather than cut. */
	assert_false(serve_challenges_http01(c, "tok", buf, 4));
	serve_challenges_drop_http01(c, "tok");
	assert_false(serve_challenges_http01(c, "tok", buf, sizeof(buf)));
	memset(long_token, 'a', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	assert_int_equal(serve_challenges_put_http01(c, long_token, "x"), -1);
	serve_challenges_free(c);
}

static void full_table(void **state)
{
	struct serve_challenges *c = serve_challenges_new();
	char token[32], buf[64];

	(void)state;
	for (int i = 0; i < SERVE_CHALLENGES_MAX; i++) {
		snprintf(token, sizeof(token), "t%d", i);
		assert_int_equal(serve_challenges_put_http01(c, token, token), 0);
	}
	assert_int_equal(serve_challenges_put_http01(c, "one-more", "x"), -1);
	serve_challenges_drop_http01(c, "t7");
	assert_int_equal(serve_challenges_put_http01(c, "one-more", "x"), 0);
	assert_true(serve_challenges_http01(c, "one-more", buf, sizeof(buf)));
	assert_true(serve_challenges_http01(c, "t8", buf, sizeof(buf)));
	assert_string_equal(buf, "t8");
	serve_challenges_free(c);
}

static void make_pair(const char *name, X509 **ret_cert, EVP_PKEY **ret_key)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();

	assert_non_null(key);
	assert_non_null(cert);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
				   (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	X509_set_pubkey(cert, key);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	*ret_cert = cert;
	*ret_key = key;
}

static void alpn01_put_find_drop(void **state)
{
	struct serve_challenges *c = serve_challenges_new();
	X509 *cert, *found_cert;
	EVP_PKEY *key, *found_key;

	(void)state;
	make_pair("mta-sts.example.com", &cert, &key);
	assert_false(serve_challenges_alpn01(c, "mta-sts.example.com", &found_cert, &found_key));
	assert_int_equal(serve_challenges_put_alpn01(c, "mta-sts.example.com", cert, key), 0);
	/* Names compare without regard to case, as SNI does. */
	assert_true(serve_challenges_alpn01(c, "MTA-STS.Example.COM", &found_cert, &found_key));
	assert_int_equal(X509_cmp(cert, found_cert), 0);
	assert_int_equal(EVP_PKEY_eq(key, found_key), 1);
	assert_int_equal(X509_check_private_key(found_cert, found_key), 1);
	X509_free(found_cert);
	EVP_PKEY_free(found_key);
	/* An http-01 token of the same text is another answer. */
	assert_int_equal(serve_challenges_put_http01(c, "mta-sts.example.com", "k"), 0);
	serve_challenges_drop_alpn01(c, "mta-sts.example.com");
	assert_false(serve_challenges_alpn01(c, "mta-sts.example.com", &found_cert, &found_key));
	assert_int_equal(serve_challenges_put_alpn01(c, "x", NULL, key), -1);
	X509_free(cert);
	EVP_PKEY_free(key);
	serve_challenges_free(c);
}

/* A child process (a worker) puts answers; the parent finds them. */
static void shared_between_processes(void **state)
{
	struct serve_challenges *c = serve_challenges_new();
	X509 *cert, *found_cert;
	EVP_PKEY *key, *found_key;
	char buf[64];
	int status;
	pid_t pid;

	(void)state;
	make_pair("mta-sts.shared.example", &cert, &key);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = serve_challenges_put_http01(c, "from-child", "child.auth") |
			 serve_challenges_put_alpn01(c, "mta-sts.shared.example", cert, key);
		_exit(rc == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(serve_challenges_http01(c, "from-child", buf, sizeof(buf)));
	assert_string_equal(buf, "child.auth");
	assert_true(serve_challenges_alpn01(c, "mta-sts.shared.example", &found_cert, &found_key));
	assert_int_equal(X509_cmp(cert, found_cert), 0);
	X509_free(found_cert);
	EVP_PKEY_free(found_key);
	X509_free(cert);
	EVP_PKEY_free(key);
	serve_challenges_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(http01_put_find_drop),
		cmocka_unit_test(full_table),
		cmocka_unit_test(alpn01_put_find_drop),
		cmocka_unit_test(shared_between_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
