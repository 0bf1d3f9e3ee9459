/*
 * test_dkim_verify.c - DKIM verdicts (dkim_verify_message) of messages
 * signed here with libopendkim under a key made here, looked up in a key
 * file, and of the real reports of tests/unit/data/tlsrpt.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "unit.h"

#include "dkim_verify.h"

static const char *data_dir = "tests/unit/data/tlsrpt";

static char private_pem[4096];
static char key_file[64];
static char empty_key_file[64];

#define MESSAGE_HEADER \
	"From: tlsrpt@example.org\r\n" \
	"To: reports@example.com\r\n" \
	"Subject: Report Domain: example.com\r\n" \
	"  Submitter: example.org\r\n" \
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n" \
	"Message-ID: <1@example.org>\r\n"
#define MESSAGE_BODY "A report is attached.\r\n\r\nRegards.\r\n"
#define MESSAGE MESSAGE_HEADER "\r\n" MESSAGE_BODY

/* A key pair: the private key as PEM, the public key record in a key file. */
static int make_keys(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned char *der = NULL;
	int der_len, fd;
	char *p64;
	FILE *f;

	(void)state;
	assert_non_null(key);
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
	int n = BIO_read(bio, private_pem, sizeof(private_pem) - 1);

	assert_true(n > 0);
	private_pem[n] = '\0';
	der_len = i2d_PUBKEY(key, &der);
	assert_true(der_len > 0);
	p64 = malloc((size_t)der_len * 2 + 4);
	assert_non_null(p64);
	EVP_EncodeBlock((unsigned char *)p64, der, der_len);

	snprintf(key_file, sizeof(key_file), "/tmp/test_dkim_keys.XXXXXX");
	fd = mkstemp(key_file);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "sel._domainkey.example.org v=DKIM1; k=rsa; p=%s\n", p64);
	fclose(f);

	snprintf(empty_key_file, sizeof(empty_key_file), "/tmp/test_dkim_empty.XXXXXX");
	fd = mkstemp(empty_key_file);
	assert_true(fd >= 0);
	close(fd);

	free(p64);
	OPENSSL_free(der);
	BIO_free(bio);
	EVP_PKEY_free(key);
	return 0;
}

static int remove_keys(void **state)
{
	(void)state;
	unlink(key_file);
	unlink(empty_key_file);
	return 0;
}

/* The DKIM-Signature field for message (CRLF), signed as selector._domainkey.domain. */
static char *sign(const char *message, const char *selector, const char *domain)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM_STAT status;
	DKIM *dkim;
	const char *p = message, *body;
	unsigned char sig[4096];
	char *out;

	assert_non_null(lib);
	dkim = dkim_sign(lib, (const unsigned char *)"test", NULL, (dkim_sigkey_t)private_pem,
			 (const unsigned char *)selector, (const unsigned char *)domain,
			 DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &status);
	assert_non_null(dkim);
	body = strstr(message, "\r\n\r\n");
	assert_non_null(body);
	body += 2;
	while (p < body) {
		const char *end = strstr(p, "\r\n");

		while (end[2] == ' ' || end[2] == '\t')
			end = strstr(end + 2, "\r\n");
		assert_int_equal(dkim_header(dkim, (unsigned char *)(uintptr_t)p, (size_t)(end - p)),
				 DKIM_STAT_OK);
		p = end + 2;
	}
	assert_int_equal(dkim_eoh(dkim), DKIM_STAT_OK);
	assert_int_equal(dkim_body(dkim, (unsigned char *)(uintptr_t)(body + 2),
				   strlen(body + 2)), DKIM_STAT_OK);
	assert_int_equal(dkim_eom(dkim, NULL), DKIM_STAT_OK);
	assert_int_equal(dkim_getsighdr(dkim, sig, sizeof(sig), strlen("DKIM-Signature: ")),
			 DKIM_STAT_OK);
	out = malloc(strlen((char *)sig) + strlen(message) + 32);
	assert_non_null(out);
	sprintf(out, "DKIM-Signature: %s\r\n%s", (char *)sig, message);
	dkim_free(dkim);
	dkim_close(lib);
	return out;
}

static struct dkim_outcome verify(const char *message, const char *keys)
{
	struct dkim_options options = { .timeout_ms = 2000, .key_file = keys };
	struct dkim_outcome outcome;
	char why[160] = "";

	memset(&outcome, 0x5a, sizeof(outcome));
	if (dkim_verify_message((const unsigned char *)message, strlen(message), &options,
				&outcome, why, sizeof(why)) != 0)
		fail_msg("dkim_verify_message: %s", why);
	return outcome;
}

/* message with the first occurrence of from replaced by to (same length or not). */
static char *replace(const char *message, const char *from, const char *to)
{
	const char *at = strstr(message, from);
	char *out = malloc(strlen(message) + strlen(to) + 1);

	assert_non_null(at);
	assert_non_null(out);
	sprintf(out, "%.*s%s%s", (int)(at - message), message, to, at + strlen(from));
	return out;
}

static void test_pass(void **state)
{
	char *signed_message = sign(MESSAGE, "sel", "example.org");
	struct dkim_outcome o = verify(signed_message, key_file);

	(void)state;
	assert_int_equal(o.verdict, DKIM_VERDICT_PASS);
	assert_string_equal(o.domain, "example.org");
	assert_string_equal(o.selector, "sel");
	assert_string_equal(o.reason, "");

	/* the same with LF line ends, as a mailbox file holds it */
	char *lf = malloc(strlen(signed_message) + 1);
	size_t o_len = 0;

	assert_non_null(lf);
	for (const char *c = signed_message; *c != '\0'; c++)
		if (*c != '\r')
			lf[o_len++] = *c;
	lf[o_len] = '\0';
	o = verify(lf, key_file);
	assert_int_equal(o.verdict, DKIM_VERDICT_PASS);
	free(lf);
	free(signed_message);
}

static void test_fail(void **state)
{
	char *signed_message = sign(MESSAGE, "sel", "example.org");
	char *body_changed = replace(signed_message, "Regards.", "Regardz.");
	char *header_changed = replace(signed_message, "Report Domain: example.com",
				       "Report Domain: example.net");
	struct dkim_outcome o;

	(void)state;
	o = verify(body_changed, key_file);
	assert_int_equal(o.verdict, DKIM_VERDICT_FAIL);
	assert_string_equal(o.domain, "example.org");
	assert_string_equal(o.reason, "body hash mismatch");

	o = verify(header_changed, key_file);
	assert_int_equal(o.verdict, DKIM_VERDICT_FAIL);
	assert_string_equal(o.selector, "sel");
	assert_true(o.reason[0] != '\0');

	/* relaxed canonicalisation: refolding white space changes nothing */
	char *refolded = replace(signed_message, "\r\n  Submitter", "\r\n\tSubmitter");

	o = verify(refolded, key_file);
	assert_int_equal(o.verdict, DKIM_VERDICT_PASS);
	free(refolded);
	free(body_changed);
	free(header_changed);
	free(signed_message);
}

static void test_none(void **state)
{
	struct dkim_outcome o = verify(MESSAGE, key_file);

	(void)state;
	assert_int_equal(o.verdict, DKIM_VERDICT_NONE);
	assert_string_equal(o.domain, "");
	assert_string_equal(o.reason, "");
	o = verify("", key_file);
	assert_int_equal(o.verdict, DKIM_VERDICT_NONE);
	assert_string_equal(dkim_verdict_name(DKIM_VERDICT_NONE), "none");
	assert_string_equal(dkim_verdict_name(DKIM_VERDICT_PASS), "pass");
	assert_string_equal(dkim_verdict_name(DKIM_VERDICT_FAIL), "fail");
	assert_string_equal(dkim_verdict_name(DKIM_VERDICT_TEMPERROR), "temperror");
	assert_string_equal(dkim_verdict_name(DKIM_VERDICT_PERMERROR), "permerror");
}

/*
 * A selector with no record is PERMERROR: the key file answered, and it has
 * no such key, as a DNS NXDOMAIN would (RFC 6376 6.1.2: permanent).
 */
static void test_missing_key(void **state)
{
	char *signed_message = sign(MESSAGE, "gone", "example.org");
	struct dkim_outcome o = verify(signed_message, key_file);

	(void)state;
	assert_int_equal(o.verdict, DKIM_VERDICT_PERMERROR);
	assert_string_equal(o.domain, "example.org");
	assert_string_equal(o.selector, "gone");
	assert_non_null(strstr(o.reason, "key"));
	free(signed_message);
}

static void test_samples(void **state)
{
	static const char *files[] = { "google-1.eml", "google-2.eml", "google-no-policy.eml",
				       "microsoft-2.eml", "microsoft-sts-tlsa.eml",
				       "microsoft-success.eml" };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		char path[512];
		FILE *f;
		char *data = malloc(64 * 1024);
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", data_dir, files[i]);
		f = fopen(path, "rb");
		assert_non_null(f);
		assert_non_null(data);
		len = fread(data, 1, 64 * 1024 - 1, f);
		fclose(f);
		data[len] = '\0';
		struct dkim_outcome o = verify(data, empty_key_file);

		/* signed, but no key can be found: never a pass */
		assert_int_equal(o.verdict, DKIM_VERDICT_PERMERROR);
		assert_true(strcmp(o.domain, "google.com") == 0 ||
			    strcmp(o.domain, "microsoft.com") == 0);
		assert_true(o.selector[0] != '\0');
		free(data);
	}
}

/* A name server that does not answer: TEMPERROR, within the timeout. */
static void test_dns_timeout(void **state)
{
	struct dkim_options options = { .dns_servers = "192.0.2.1", .timeout_ms = 1000 };
	char *signed_message = sign(MESSAGE, "sel", "example.org");
	struct dkim_outcome o;
	struct timespec start, end;
	char why[160];

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(dkim_verify_message((unsigned char *)signed_message, strlen(signed_message),
					     &options, &o, why, sizeof(why)), 0);
	clock_gettime(CLOCK_MONOTONIC, &end);
	assert_int_equal(o.verdict, DKIM_VERDICT_TEMPERROR);
	assert_string_equal(o.domain, "example.org");
	assert_true(end.tv_sec - start.tv_sec < 5);
	free(signed_message);
}

static void test_setup_errors(void **state)
{
	struct dkim_options options = { .key_file = NULL };
	struct dkim_outcome o = { .verdict = DKIM_VERDICT_PASS };
	char why[160];

	(void)state;
	options.dns_servers = "::1";
	assert_int_equal(dkim_verify_message((const unsigned char *)MESSAGE, strlen(MESSAGE),
					     &options, &o, why, sizeof(why)), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(why, "dkim: the name servers \"::1\" are not up to 3 IPv4 addresses");
	options.dns_servers = "192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4";
	assert_int_equal(dkim_verify_message((const unsigned char *)MESSAGE, strlen(MESSAGE),
					     &options, &o, why, sizeof(why)), -1);
	options.dns_servers = NULL;
	assert_int_equal(dkim_verify_message(NULL, 5, &options, &o, why, sizeof(why)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(o.verdict, DKIM_VERDICT_PASS);	/* untouched */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_dns_timeout),
		cmocka_unit_test(test_setup_errors),
	};

	if (argc > 1)
		data_dir = argv[1];
	return cmocka_run_group_tests(tests, make_keys, remove_keys);
}
