/*
 * test_serve_config.c - the settings of `mtasts serve` (src/serve_config.c
 * over the shared reader of config_fields.h): the YAML file read to its
 * meaning, every rejection with its place, the checks of every source,
 * addresses and networks; and Prometheus label values (src/prometheus.c).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#include "prometheus.h"
#include "serve.h"

/* Load text as a settings file over the defaults; returns the reader's result. */
static int load_text(const char *text, struct serve_config *c, char *why, size_t why_size)
{
	char path[] = "/tmp/test_serve_config.XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	serve_config_defaults(c);
	rc = serve_config_load(path, c, why, why_size);
	unlink(path);
	return rc;
}

static void test_file(void **state)
{
	struct serve_config c;
	char why[SERVE_WHY_SIZE] = "";

	(void)state;
	if (load_text("store: /srv/r.db\n"
		      "certificates:\n"
		      "  - {cert: /a.pem, key: /a.key}\n"
		      "  - cert: /b.pem\n"
		      "    key: /b.key\n"
		      "listen: ['127.0.0.1:8443', '[::1]:8443']\n"
		      "listen_plain: 127.0.0.1:8080\n"
		      "report_path: /reports\n"
		      "max_body: 0x100000\n"
		      "timeout: 5\n"
		      "user: _mtasts\n"
		      "metrics_allow: [10.0.0.0/8]\n"
		      "retention_days: 400\n"
		      "verbose: yes\n", &c, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_string_equal(c.store, "/srv/r.db");
	assert_int_equal(c.cert_count, 2);
	assert_string_equal(c.certs[1].cert, "/b.pem");
	assert_string_equal(c.certs[1].key, "/b.key");
	assert_int_equal(c.listen_count, 2);
	assert_string_equal(c.listen[1], "[::1]:8443");
	assert_int_equal(c.listen_plain_count, 1);
	assert_string_equal(c.report_path, "/reports");
	assert_int_equal(c.max_body, 1048576);
	assert_int_equal(c.timeout, 5);
	assert_int_equal(c.max_connections, 1024);	/* the default stays */
	assert_string_equal(c.user, "_mtasts");
	assert_int_equal(c.metrics_allow_count, 1);
	assert_int_equal(c.retention_days, 400);
	assert_int_equal(c.prune_interval, SERVE_PRUNE_INTERVAL_DEFAULT);	/* the default */
	assert_true(c.verbose);
	assert_int_equal(serve_config_check(&c, why, sizeof(why)), 0);
	serve_config_release(&c);
}

static void test_file_errors(void **state)
{
	static const struct {
		const char *text;
		const char *why;	/* a part of the reason */
	} rows[] = {
		{ "max_bodyy: 1\n", "1:1: unknown key 'max_bodyy'; did you mean 'max_body'?" },
		{ "timeout: 1\ntimeout: 2\n", "2:1: timeout is given twice (first on line 1)" },
		{ "timeout: \"5\"\n", "1:10: timeout: \"5\" is a quoted string" },
		{ "timeout: 0\n", "1:10: timeout: 0 is out of range" },
		{ "max_body: 10\n", "out of range" },
		{ "listen: {a: 1}\n", "1:9: listen: a mapping where a string or a list" },
		{ "certificates:\n  - {cert: /a.pem}\n", "2:5: certificates[0]: give both cert and key" },
		{ "certificates:\n  - {cert: /a, key: /b, chain: /c}\n", "unknown key 'chain'" },
		{ "certificates: /a.pem\n", "certificates: a word where a list" },
		{ "- a\n", "1:1: the file is a list; it must be a mapping" },
		{ "store: \"a\x01\"\n", "control character" },
		{ "retention_days: 36501\n", "1:17: retention_days: 36501 is out of range" },
		{ "retention_days: -1\n", "retention_days" },
		{ "prune_interval: 0\n", "prune_interval: 0 is out of range" },
		{ "verbose: 2\n", "verbose" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct serve_config c;
		char why[SERVE_WHY_SIZE] = "";

		if (load_text(rows[i].text, &c, why, sizeof(why)) == 0)
			fail_msg("accepted: %s", rows[i].text);
		if (strstr(why, rows[i].why) == NULL)
			fail_msg("%s -> %s; expected %s", rows[i].text, why, rows[i].why);
		serve_config_release(&c);
	}
}

static void test_checks(void **state)
{
	struct serve_config c;
	char why[SERVE_WHY_SIZE];

	(void)state;
	serve_config_defaults(&c);
	assert_int_equal(c.retention_days, 0);	/* reports are kept forever */
	assert_int_equal(c.prune_interval, 3600);
	assert_int_equal(serve_config_check(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "nothing to serve"));
	assert_int_equal(serve_config_append(c.listen, &c.listen_count, SERVE_LISTEN_MAX,
					     "127.0.0.1:443"), 0);
	assert_int_equal(serve_config_check(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "HTTPS needs a certificate"));
	serve_config_clear_list(c.listen, &c.listen_count);
	assert_int_equal(serve_config_append(c.listen_plain, &c.listen_plain_count,
					     SERVE_LISTEN_MAX, "localhost:80"), 0);
	assert_int_equal(serve_config_check(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "'localhost:80' is not an IP address and port"));
	serve_config_clear_list(c.listen_plain, &c.listen_plain_count);
	assert_int_equal(serve_config_append(c.listen_plain, &c.listen_plain_count,
					     SERVE_LISTEN_MAX, "[::1]:8080"), 0);
	assert_int_equal(serve_config_set(&c.report_path, "tlsrpt"), 0);
	assert_int_equal(serve_config_check(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "must be a path starting with '/'"));
	assert_int_equal(serve_config_set(&c.report_path, "/tlsrpt"), 0);
	assert_int_equal(serve_config_append(c.metrics_allow, &c.metrics_allow_count,
					     SERVE_ALLOW_MAX, "10.0.0.0/33"), 0);
	assert_int_equal(serve_config_check(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "metrics-allow"));
	serve_config_clear_list(c.metrics_allow, &c.metrics_allow_count);
	assert_int_equal(serve_config_check(&c, why, sizeof(why)), 0);
	serve_config_release(&c);
}

static void test_addresses(void **state)
{
	static const struct {
		const char *text;
		const char *host;	/* NULL: refused */
		uint16_t port;
	} rows[] = {
		{ "127.0.0.1:443", "127.0.0.1", 443 },
		{ "[::]:443", "::", 443 },
		{ "[2001:db8::1]:8443", "2001:db8::1", 8443 },
		{ "::1:443", NULL, 0 },		/* IPv6 without brackets is ambiguous */
		{ "127.0.0.1", NULL, 0 },
		{ "127.0.0.1:", NULL, 0 },
		{ "127.0.0.1:0", NULL, 0 },
		{ "127.0.0.1:65536", NULL, 0 },
		{ "127.0.0.1:-1", NULL, 0 },
		{ "127.0.0.1:44x", NULL, 0 },
		{ "localhost:443", NULL, 0 },
		{ "[]:443", NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		char host[64] = "";
		uint16_t port = 0;
		bool ok = serve_split_address(rows[i].text, host, sizeof(host), &port);

		if (ok != (rows[i].host != NULL))
			fail_msg("%s: %s", rows[i].text, ok ? "accepted" : "refused");
		if (ok) {
			assert_string_equal(host, rows[i].host);
			assert_int_equal(port, rows[i].port);
		}
	}
}

static void test_cidr(void **state)
{
	static const struct {
		const char *cidr;
		const char *address;
		bool inside;
	} rows[] = {
		{ "127.0.0.0/8", "127.1.2.3", true },
		{ "127.0.0.0/8", "128.0.0.1", false },
		{ "127.0.0.0/8", "::ffff:127.0.0.1", true },	/* an IPv4 client of [::] */
		{ "127.0.0.0/8", "::1", false },
		{ "::1", "::1", true },
		{ "::1", "::2", false },
		{ "2001:db8::/32", "2001:db8:ffff::1", true },
		{ "2001:db8::/32", "2001:db9::1", false },
		{ "192.0.2.128/25", "192.0.2.200", true },
		{ "192.0.2.128/25", "192.0.2.100", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "10.0.0.1", "10.0.0.1", true },
		{ "10.0.0.1", "10.0.0.2", false },
		{ "10.0.0.0/8", "", false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct serve_cidr cidr;

		assert_true(serve_parse_cidr(rows[i].cidr, &cidr));
		if (serve_cidr_contains(&cidr, rows[i].address) != rows[i].inside)
			fail_msg("%s in %s: expected %d", rows[i].address, rows[i].cidr,
				 rows[i].inside);
	}
	static const char *const bad[] = { "", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129",
		"10.0.0.0/+8", "10.0.0/8", "example.com" };
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct serve_cidr cidr;

		if (serve_parse_cidr(bad[i], &cidr))
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_label_value(void **state)
{
	char buf[64];

	(void)state;
	prom_label_value("example.com", buf, sizeof(buf));
	assert_string_equal(buf, "example.com");
	prom_label_value("a\"b\\c\nd\x01" "e\xc3\xa9", buf, sizeof(buf));
	assert_string_equal(buf, "a\\\"b\\\\c\\nd\\\\x01e\\\\xc3\\\\xa9");
	prom_label_value("abcdefghij", buf, 5);
	assert_string_equal(buf, "abcd");
	prom_label_value("ab\"", buf, 4);	/* never half an escape */
	assert_string_equal(buf, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_label_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
