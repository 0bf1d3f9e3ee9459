/*
 * test_dkim_verify.c - DKIM verdicts (dkim_verify_message) of messages
 * signed here with libopendkim under a key made here, looked up in a key
 * file, and of the real reports of tests/unit/data/tlsrpt.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
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
static char key_record[1024];		/* "v=DKIM1; k=rsa; p=..." */
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
	snprintf(key_record, sizeof(key_record), "v=DKIM1; k=rsa; p=%s", p64);
	fprintf(f, "sel._domainkey.example.org %s\n", key_record);
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

/*
 * A DKIM-Signature field that cannot be used at all (no b=, a d= with
 * control characters) is PERMERROR, not NONE (RFC 6376 6.1.1), with a
 * reason; the d= is not repeated.
 */
static void test_unusable_signature(void **state)
{
	static const char *const fields[] = {
		"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel;\r\n"
		"\th=from; bh=AAAA\r\n",
		"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=ex\x1b[31mample.org;\r\n"
		"\ts=sel; h=from; bh=AAAA; b=AAAA\r\n",
		"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=ex\xc2\x9b" "31mample.org;\r\n"
		"\ts=sel; h=from; bh=AAAA; b=AAAA\r\n",
		"dkim-signature:v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA\r\n",
	};
	char message[2048];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
		snprintf(message, sizeof(message), "%s%s", fields[i], MESSAGE);
		struct dkim_outcome o = verify(message, key_file);

		if (o.verdict != DKIM_VERDICT_PERMERROR)
			fail_msg("field %zu: verdict %s", i, dkim_verdict_name(o.verdict));
		assert_string_equal(o.domain, "");
		assert_true(o.reason[0] != '\0');
		for (const char *c = o.reason; *c != '\0'; c++)
			assert_true(*c >= 0x20 && *c < 0x7f);
	}
	/* a field that only looks like one is no signature */
	snprintf(message, sizeof(message), "X-DKIM-Signature: v=1; d=example.org\r\n"
		 "DKIM-Signature-Note: none\r\n%s", MESSAGE);
	assert_int_equal(verify(message, key_file).verdict, DKIM_VERDICT_NONE);
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

/*
 * A name server on a loopback address of its own (port 53, so it needs the
 * right to bind there; skipped without it): the key of
 * sel._domainkey.example.org in a TXT record, NXDOMAIN for every other name.
 */
#define FAKE_DNS_ADDR "127.83.75.1"

struct fake_dns {
	int fd;
	atomic_bool stop;
	atomic_int queries;
};

static size_t fake_dns_reply(const unsigned char *q, size_t q_len, unsigned char *r, size_t r_size)
{
	static const char wanted[] = "\003sel\012_domainkey\007example\003org";
	size_t name_end = 12, record_len = strlen(key_record), o;
	bool found;

	while (name_end < q_len && q[name_end] != 0)
		name_end += (size_t)q[name_end] + 1;
	if (name_end + 5 > q_len || name_end + 5 + 12 + 2 * 2 + record_len > r_size)
		return 0;
	found = name_end - 12 == sizeof(wanted) - 1 &&
		strncasecmp((const char *)q + 12, wanted, sizeof(wanted) - 1) == 0 &&
		q[name_end + 1] == 0 && q[name_end + 2] == 16;
	o = name_end + 5;
	memcpy(r, q, o);
	r[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD as asked */
	r[3] = found ? 0 : 3;		/* NOERROR or NXDOMAIN */
	r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
	if (!found)
		return o;
	r[7] = 1;
	size_t rdlen = record_len + (record_len + 254) / 255;
	const unsigned char rr[] = { 0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60,
				     (unsigned char)(rdlen >> 8), (unsigned char)rdlen };

	memcpy(r + o, rr, sizeof(rr));
	o += sizeof(rr);
	for (size_t i = 0; i < record_len; i += 255) {
		size_t piece = record_len - i < 255 ? record_len - i : 255;

		r[o++] = (unsigned char)piece;
		memcpy(r + o, key_record + i, piece);
		o += piece;
	}
	return o;
}

static void *fake_dns_serve(void *arg)
{
	struct fake_dns *dns = arg;

	while (!atomic_load(&dns->stop)) {
		struct pollfd pfd = { .fd = dns->fd, .events = POLLIN };
		unsigned char q[512], r[1024];
		struct sockaddr_in peer;
		socklen_t peer_len = sizeof(peer);
		ssize_t n;
		size_t len;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(dns->fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &peer_len);
		if (n < 12)
			continue;
		atomic_fetch_add(&dns->queries, 1);
		len = fake_dns_reply(q, (size_t)n, r, sizeof(r));
		if (len > 0)
			(void)sendto(dns->fd, r, len, 0, (struct sockaddr *)&peer, peer_len);
	}
	return NULL;
}

static void test_dns(void **state)
{
	struct dkim_options options = { .dns_servers = FAKE_DNS_ADDR, .timeout_ms = 2000 };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct fake_dns dns = { .fd = socket(AF_INET, SOCK_DGRAM, 0) };
	char *signed_message = sign(MESSAGE, "sel", "example.org");
	char *other_selector = sign(MESSAGE, "gone", "example.org");
	struct dkim_outcome o;
	pthread_t server;
	char why[160];

	(void)state;
	assert_true(dns.fd >= 0);
	inet_pton(AF_INET, FAKE_DNS_ADDR, &addr.sin_addr);
	if (bind(dns.fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(dns.fd);
		free(signed_message);
		free(other_selector);
		skip();
	}
	assert_int_equal(pthread_create(&server, NULL, fake_dns_serve, &dns), 0);

	assert_int_equal(dkim_verify_message((unsigned char *)signed_message, strlen(signed_message),
					     &options, &o, why, sizeof(why)), 0);
	assert_int_equal(o.verdict, DKIM_VERDICT_PASS);
	assert_string_equal(o.domain, "example.org");
	assert_string_equal(o.selector, "sel");

	/* NXDOMAIN: no such key, permanent */
	assert_int_equal(dkim_verify_message((unsigned char *)other_selector, strlen(other_selector),
					     &options, &o, why, sizeof(why)), 0);
	if (o.verdict != DKIM_VERDICT_PERMERROR)
		fail_msg("verdict %s: %s", dkim_verdict_name(o.verdict), o.reason);
	assert_string_equal(o.selector, "gone");

	atomic_store(&dns.stop, true);
	pthread_join(server, NULL);
	close(dns.fd);
	assert_true(atomic_load(&dns.queries) >= 2);
	free(signed_message);
	free(other_selector);
}

/* The message with count signatures of domains x0.example... that have no key. */
static char *with_junk_signatures(const char *message, size_t count)
{
	size_t size = strlen(message) + count * 128 + 1, len = 0;
	char *out = malloc(size);

	assert_non_null(out);
	for (size_t i = 0; i < count; i++)
		len += (size_t)snprintf(out + len, size - len, "DKIM-Signature: v=1; a=rsa-sha256; "
					"c=relaxed/relaxed; d=x%zu.example; s=s; h=from; bh=AAAA; "
					"b=AAAA\r\n", i);
	snprintf(out + len, size - len, "%s", message);
	return out;
}

/* A UDP socket on addr port 53 that never answers, or -1 without the right to bind there. */
static int black_hole(const char *addr_text)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(53) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, addr_text, &addr.sin_addr);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The queries that reached fd, read without waiting. */
static int queries_waiting(int fd)
{
	unsigned char q[512];
	int count = 0;

	while (recv(fd, q, sizeof(q), MSG_DONTWAIT) > 0)
		count++;
	return count;
}

/*
 * 20 signatures and a name server that never answers: one lookup of 1 s
 * each would take 20 s, but all of them together stop at the deadline of
 * 2.5 s, TEMPERROR.
 */
static void test_dns_deadline(void **state)
{
	struct dkim_options options = { .dns_servers = "127.83.75.2", .timeout_ms = 1000,
					.total_timeout_ms = 2500 };
	char *message = with_junk_signatures(MESSAGE, 20);
	int fd = black_hole(options.dns_servers), queries;
	struct dkim_outcome o;
	struct timespec start, end;
	double elapsed;
	char why[160];

	(void)state;
	if (fd < 0) {
		free(message);
		skip();
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(dkim_verify_message((unsigned char *)message, strlen(message), &options,
					     &o, why, sizeof(why)), 0);
	clock_gettime(CLOCK_MONOTONIC, &end);
	elapsed = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
	queries = queries_waiting(fd);
	close(fd);
	if (elapsed > 2.75)
		fail_msg("%.2f s, past the deadline of 2.5 s (%d queries)", elapsed, queries);
	if (o.verdict != DKIM_VERDICT_TEMPERROR)
		fail_msg("verdict %s: %s", dkim_verdict_name(o.verdict), o.reason);
	assert_non_null(strstr(o.reason, "2500 ms"));
	assert_true(queries >= 1 && queries <= 3);
	free(message);
}

/*
 * Only the first 8 signatures are examined (RFC 6376 6.1 lets a verifier
 * limit them): 20 signatures of domains without a key make 8 lookups.
 */
static void test_signature_limit(void **state)
{
	struct dkim_options options = { .dns_servers = FAKE_DNS_ADDR, .timeout_ms = 2000 };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct fake_dns dns = { .fd = socket(AF_INET, SOCK_DGRAM, 0) };
	char *signed_message = sign(MESSAGE, "sel", "example.org");
	char *junk_first = with_junk_signatures(signed_message, 20);
	char *junk_after = with_junk_signatures(signed_message, 7);
	struct dkim_outcome o;
	pthread_t server;
	char why[160];

	(void)state;
	assert_true(dns.fd >= 0);
	inet_pton(AF_INET, FAKE_DNS_ADDR, &addr.sin_addr);
	if (bind(dns.fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(dns.fd);
		free(signed_message);
		free(junk_first);
		free(junk_after);
		skip();
	}
	assert_int_equal(pthread_create(&server, NULL, fake_dns_serve, &dns), 0);
	assert_int_equal(dkim_verify_message((unsigned char *)junk_first, strlen(junk_first),
					     &options, &o, why, sizeof(why)), 0);
	assert_int_equal(atomic_load(&dns.queries), 8);
	assert_int_equal(o.verdict, DKIM_VERDICT_PERMERROR);
	/* the good one as the eighth is still judged */
	atomic_store(&dns.queries, 0);
	assert_int_equal(dkim_verify_message((unsigned char *)junk_after, strlen(junk_after),
					     &options, &o, why, sizeof(why)), 0);
	assert_int_equal(atomic_load(&dns.queries), 8);
	if (o.verdict != DKIM_VERDICT_PASS)
		fail_msg("verdict %s: %s", dkim_verdict_name(o.verdict), o.reason);
	assert_string_equal(o.domain, "example.org");
	atomic_store(&dns.stop, true);
	pthread_join(server, NULL);
	close(dns.fd);
	free(signed_message);
	free(junk_first);
	free(junk_after);
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
		cmocka_unit_test(test_unusable_signature),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_dns_timeout),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_dns_deadline),
		cmocka_unit_test(test_signature_limit),
		cmocka_unit_test(test_setup_errors),
	};

	if (argc > 1)
		data_dir = argv[1];
	return cmocka_run_group_tests(tests, make_keys, remove_keys);
}
