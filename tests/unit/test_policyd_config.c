/*
 * test_policyd_config.c - the YAML settings of `mtasts policyd`
 * (src/policyd_config.c, src/yaml_tree.c): the peer's example files read
 * to the peer's meaning, every rejection with its sentence and place, and
 * the zone of a socketmap name.
 */
#include <stdlib.h>

#include "unit.h"

#include "policyd_config.h"

static const char *data_dir = "tests/unit/data/policyd";

static void load(const char *name, struct policyd_config *c)
{
	char path[512], why[POLICYD_WHY_SIZE] = "";

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	if (policyd_config_load(path, c, why, sizeof(why)) != 0)
		fail_msg("%s: %s", name, why);
}

static void parse_ok(const char *text, struct policyd_config *c)
{
	char why[POLICYD_WHY_SIZE] = "";

	if (policyd_config_parse(text, strlen(text), c, why, sizeof(why)) != 0)
		fail_msg("%s\n-> %s", text, why);
}

static void check_default_zone(const struct policyd_zone *z)
{
	assert_null(z->name);
	assert_true(z->timeout == 4);
	assert_false(z->strict_testing);
	assert_true(z->require_sni);
	assert_false(z->tlsrpt);
	assert_false(z->mx_host_pattern);
	assert_false(z->fail_closed);
	assert_int_equal(z->dane, POLICYD_DANE_NONE);
}

/* Nothing given: the peer's defaults.py and mta-sts-daemon.yml(5). */
static void test_defaults(void **state)
{
	static const char *const empties[] = { "", "# nothing\n", "---\n", "~\n",
		"{}\n", "zones:\ncache:\ndefault_zone:\nproactive_policy_fetching:\n" };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(empties); i++) {
		struct policyd_config c;

		parse_ok(empties[i], &c);
		assert_string_equal(c.host, "127.0.0.1");
		assert_int_equal(c.port, 8461);
		assert_null(c.path);
		assert_int_equal(c.mode, -1);
		assert_true(c.reuse_port);
		assert_true(c.shutdown_timeout == 20);
		assert_true(c.cache_grace == 60);
		assert_int_equal(c.cache.type, POLICYD_CACHE_INTERNAL);
		assert_int_equal(c.cache.cache_size, 10000);
		assert_int_equal(c.cache.threads, 0);
		assert_true(c.cache.timeout == 5);
		assert_true(c.cache.socket_timeout == 5);
		assert_true(c.cache.socket_connect_timeout == 5);
		assert_false(c.proactive.enabled);
		assert_int_equal(c.proactive.interval, 86400);
		assert_int_equal(c.proactive.concurrency_limit, 100);
		assert_true(c.proactive.grace_ratio == 2.0);
		check_default_zone(&c.default_zone);
		assert_int_equal(c.zone_count, 0);
		assert_null(c.ca_file);
		assert_int_equal(c.dns_server_count, 0);
		assert_null(c.user);
		assert_null(c.metrics);
		policyd_config_release(&c);
	}
}

static void test_peer_example(void **state)
{
	struct policyd_config c;

	(void)state;
	load("peer-man-example.yml", &c);
	assert_true(c.proactive.enabled);
	assert_true(c.proactive.grace_ratio == 2.0);
	check_default_zone(&c.default_zone);
	assert_int_equal(c.zone_count, 1);
	assert_string_equal(c.zones[0].name, "myzone");
	assert_true(c.zones[0].timeout == 4);
	assert_true(c.zones[0].require_sni);
	policyd_config_release(&c);

	load("sqlite-unixsock.yml", &c);
	assert_string_equal(c.path, "/var/run/mta-sts.sock");
	assert_int_equal(c.mode, 0666);
	assert_int_equal(c.cache.type, POLICYD_CACHE_SQLITE);
	assert_string_equal(c.cache.filename, "/var/lib/mta-sts/cache.db");
	policyd_config_release(&c);

	load("redis.yml", &c);
	assert_int_equal(c.cache.type, POLICYD_CACHE_REDIS);
	assert_string_equal(c.cache.url, "redis://127.0.0.1/0");
	assert_int_equal(c.cache.max_connections, 25);
	assert_true(c.cache.socket_timeout == 1.0);
	policyd_config_release(&c);

	load("postgres.yml", &c);
	assert_int_equal(c.cache.type, POLICYD_CACHE_POSTGRES);
	assert_string_equal(c.cache.dsn, "postgres://user@%2Frun%2Fpostgresql/user");
	assert_true(c.default_zone.tlsrpt);
	assert_true(c.default_zone.mx_host_pattern);	/* follows tlsrpt */
	policyd_config_release(&c);
}

static void test_full(void **state)
{
	const struct policyd_zone *z;
	struct policyd_config c;

	(void)state;
	load("mtasts-full.yml", &c);
	assert_string_equal(c.host, "::1");
	assert_int_equal(c.port, 10461);
	assert_false(c.reuse_port);
	assert_true(c.shutdown_timeout == 5.5);
	assert_true(c.cache_grace == 120);
	assert_int_equal(c.cache.type, POLICYD_CACHE_SQLITE);
	assert_int_equal(c.cache.threads, 4);
	assert_true(c.cache.timeout == 2.5);
	assert_int_equal(c.proactive.interval, 43200);
	assert_true(c.proactive.enabled);
	assert_true(c.default_zone.tlsrpt);
	assert_false(c.default_zone.mx_host_pattern);
	assert_int_equal(c.zone_count, 3);
	/* sorted by name */
	assert_string_equal(c.zones[0].name, "copy");
	assert_string_equal(c.zones[1].name, "nosni");
	assert_string_equal(c.zones[2].name, "strict");

	z = policyd_config_zone(&c, "strict", 6);
	assert_string_equal(z->name, "strict");
	assert_true(z->strict_testing && z->fail_closed);
	assert_int_equal(z->dane, POLICYD_DANE_DANE);
	assert_true(z->timeout == 4);		/* the built-in default, as the peer */
	assert_false(z->tlsrpt);
	z = policyd_config_zone(&c, "copy", 4);
	assert_true(z->timeout == 10 && z->tlsrpt);	/* the alias */
	z = policyd_config_zone(&c, "nosni postfix", 5);
	assert_false(z->require_sni);
	assert_int_equal(z->dane, POLICYD_DANE_ONLY);
	/* anything else: the default zone, names compared exactly */
	assert_ptr_equal(policyd_config_zone(&c, "Strict", 6), &c.default_zone);
	assert_ptr_equal(policyd_config_zone(&c, "stric", 5), &c.default_zone);
	assert_ptr_equal(policyd_config_zone(&c, "strictly", 8), &c.default_zone);
	assert_ptr_equal(policyd_config_zone(&c, "", 0), &c.default_zone);
	assert_ptr_equal(policyd_config_zone(&c, NULL, 0), &c.default_zone);

	assert_string_equal(c.ca_file, "/etc/ssl/certs/ca-certificates.crt");
	assert_int_equal(c.dns_server_count, 2);
	assert_string_equal(c.dns_servers[1], "[::1]:5353");
	assert_string_equal(c.user, "mtasts");
	assert_string_equal(c.metrics, "127.0.0.1:9461");
	policyd_config_release(&c);
	policyd_config_release(&c);	/* again: nothing left to free */
	policyd_config_release(NULL);
}

struct value_case {
	const char *text;
	bool (*check)(const struct policyd_config *c);
};

static bool mode_octal(const struct policyd_config *c) { return c->mode == 0660; }
static bool mode_decimal(const struct policyd_config *c) { return c->mode == 438; }
static bool mode_null(const struct policyd_config *c) { return c->mode == -1; }
static bool port_hex(const struct policyd_config *c) { return c->port == 0x2105; }
static bool sni_off(const struct policyd_config *c) { return !c->default_zone.require_sni; }
static bool grace_dot(const struct policyd_config *c) { return c->proactive.grace_ratio == 0.5; }
static bool grace_exp(const struct policyd_config *c) { return c->proactive.grace_ratio == 1000; }
static bool tagged(const struct policyd_config *c) { return c->port == 25; }
static bool path_null(const struct policyd_config *c) { return c->path == NULL; }
static bool flow(const struct policyd_config *c) { return c->zone_count == 2; }
static bool yes_zone(const struct policyd_config *c)
{
	return c->zone_count == 1 && strcmp(c->zones[0].name, "yes") == 0;
}

/* YAML 1.1 as the peer's PyYAML reads it. */
static const struct value_case value_cases[] = {
	{ "mode: 0660\n", mode_octal },
	{ "mode: 438\n", mode_decimal },
	{ "mode: ~\n", mode_null },
	{ "port: 0x2105\n", port_hex },
	{ "default_zone: {require_sni: NO}\n", sni_off },
	{ "default_zone:\n  servername: Off\n", sni_off },
	{ "proactive_policy_fetching: {grace_ratio: .5}\n", grace_dot },
	{ "proactive_policy_fetching: {grace_ratio: 1.0e+3}\n", grace_exp },
	{ "port: !!int \"25\"\n", tagged },
	{ "path: null\n", path_null },
	{ "zones: {a: {}, b: {timeout: 1}}\n", flow },
	{ "zones:\n  yes: {}\n", yes_zone },
};

static void test_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(value_cases); i++) {
		struct policyd_config c;

		parse_ok(value_cases[i].text, &c);
		if (!value_cases[i].check(&c))
			fail_msg("%s: not read as meant", value_cases[i].text);
		policyd_config_release(&c);
	}
}

struct error_case {
	const char *text;
	const char *why;	/* the whole sentence */
};

static const struct error_case error_cases[] = {
	/* keys */
	{ "prot: 25\n", "1:1: unknown key 'prot'; did you mean 'port'?" },
	{ "default_zone:\n  stict_testing: true\n",
	  "2:3: unknown key 'stict_testing' in default_zone; did you mean 'strict_testing'?" },
	{ "zones:\n  z:\n    timeot: 3\n",
	  "3:5: unknown key 'timeot' in zones.z; did you mean 'timeout'?" },
	{ "cache:\n  typ: sqlite\n", "2:3: unknown key 'typ' in cache; did you mean 'type'?" },
	{ "cache:\n  options:\n    sizes: 3\n",
	  "3:5: unknown key 'sizes' in cache.options" },
	{ "port: 1\nhost: a\nport: 2\n", "3:1: port is given twice (first on line 1)" },
	{ "zones:\n  a: {}\n  b: {}\n  a: {}\n", "4:3: zones.a is given twice (first on line 2)" },
	{ "cache: {type: redis, type: sqlite}\n",
	  "1:22: cache.type is given twice (first on line 1)" },
	{ "default_zone:\n  require_sni: true\n  servername: false\n",
	  "2:3: default_zone: give require_sni or servername, not both (they are one setting)" },
	{ "? [a]\n: 1\n", "1:3: a list as a key; keys are words" },
	{ "base: &b {timeout: 1}\n", "1:1: unknown key 'base'" },
	{ "default_zone:\n  <<: {timeout: 3}\n",
	  "2:3: merge keys (<<) are not taken; write the keys out" },
	/* types */
	{ "port: \"8461\"\n",
	  "1:7: port: \"8461\" is a quoted string; a whole number from 1 to 65535 goes here, without quotes" },
	{ "port: eighty\n", "1:7: port: 'eighty' is not a whole number from 1 to 65535" },
	{ "port: 70000\n", "1:7: port: 70000 is out of range: give a whole number from 1 to 65535" },
	{ "port: 0\n", "1:7: port: 0 is out of range: give a whole number from 1 to 65535" },
	{ "port: 8461.0\n", "1:7: port: '8461.0' is not a whole number from 1 to 65535" },
	{ "port: 99999999999999999999999\n",
	  "1:7: port: 99999999999999999999999 is out of range: give a whole number from 1 to 65535" },
	{ "port:\n", "1:6: port: no value where a whole number from 1 to 65535 goes" },
	{ "port: [1]\n", "1:7: port: a list where a whole number from 1 to 65535 goes" },
	{ "mode: 010000\n", "1:7: mode: 010000 is out of range: give a file mode from 0 to 07777, such as 0660" },
	{ "mode: 0668\n", "1:7: mode: '0668' is not a file mode from 0 to 07777, such as 0660" },
	{ "shutdown_timeout: -1\n",
	  "1:19: shutdown_timeout: -1 is out of range: give a number of seconds from 0 to 3600" },
	{ "default_zone: {timeout: .inf}\n",
	  "1:25: default_zone.timeout: '.inf' is not a number of seconds from 0.001 to 3600" },
	{ "default_zone: {timeout: 1e3}\n",
	  "1:25: default_zone.timeout: '1e3' is not a number of seconds from 0.001 to 3600" },
	{ "reuse_port: \"true\"\n", "1:13: reuse_port: \"true\" is not true or false (a quoted string)" },
	{ "reuse_port: y\n", "1:13: reuse_port: 'y' is not true or false" },
	{ "reuse_port:\n", "1:12: reuse_port: no value where true or false goes" },
	{ "host: {a: 1}\n", "1:7: host: a mapping where a string goes" },
	{ "host: \"\"\n", "1:7: host: the string is empty" },
	{ "host: ~\n", "1:7: host: no value where a string goes" },
	{ "host:\n", "1:6: host: no value where a string goes" },
	{ "user: \"a\\tb\"\n", "1:7: user: a control character (octet 2) in the string" },
	{ "user: abcdefghijabcdefghijabcdefghijabc\n",
	  "1:7: user: a string of 33 octets; at most 32" },
	{ "zones: [a, b]\n", "1:8: zones: a list where a mapping of keys goes" },
	{ "cache: sqlite\n", "1:8: cache: a word where a mapping of keys goes" },
	{ "- port: 1\n", "1:1: the file is a list; it must be a mapping of keys such as \"port: 8461\"" },
	{ "hello\n", "1:1: the file is a word; it must be a mapping of keys such as \"port: 8461\"" },
	/* values */
	{ "cache: {type: memcached}\n",
	  "1:15: cache.type: 'memcached' is not one of internal, sqlite, redis, postgres" },
	{ "cache: {type: redis_sentinel}\n",
	  "1:15: cache.type: redis_sentinel is not supported by mtasts; use redis, or internal, sqlite, postgres" },
	{ "cache:\n  options:\n    filename: /x\n",
	  "3:5: cache.options: filename is an option of the sqlite cache; this cache is internal" },
	{ "cache:\n  options: {cache_size: 5}\n  type: redis\n",
	  "2:13: cache.options: cache_size is an option of the internal cache; this cache is redis" },
	{ "cache:\n  type: sqlite\n", "2:3: cache: the sqlite cache needs options.filename" },
	{ "cache:\n  type: redis\n  options: {max_connections: 2}\n",
	  "3:12: cache: the redis cache needs options.url" },
	{ "cache:\n  type: internal\n  options:\n    cache_size: 0\n",
	  "4:17: cache.options.cache_size: 0 is out of range: give a whole number from 1 to 100000000" },
	{ "default_zone: {dane: yes}\n",
	  "1:22: default_zone.dane: 'yes' is not one of none, dane, dane-only" },
	{ "default_zone: {mx_host_pattern: true}\n",
	  "1:15: default_zone: mx_host_pattern is a TLSRPT attribute; it needs tlsrpt: true" },
	{ "zones:\n  \"my zone\": {}\n",
	  "2:3: zones: the name 'my zone' has white space or a control character; Postfix ends a map name at white space" },
	{ "dns_servers: 127.0.0.1\n", "1:14: dns_servers: a word where a list of addresses goes" },
	{ "dns_servers: [dns.example]\n",
	  "1:15: dns_servers: 'dns.example' is not an IP address (ADDR, IPV4:PORT or [IPV6]:PORT)" },
	{ "dns_servers: [\"[::1]:0\"]\n",
	  "1:15: dns_servers: '[::1]:0' is not an IP address (ADDR, IPV4:PORT or [IPV6]:PORT)" },
	{ "dns_servers: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4, 1.1.1.5, 1.1.1.6, 1.1.1.7, 1.1.1.8, 1.1.1.9]\n",
	  "1:14: dns_servers: 9 servers; at most 8" },
	{ "metrics: 127.0.0.1\n",
	  "1:10: metrics: '127.0.0.1' is not an IP address and port (IPV4:PORT or [IPV6]:PORT)" },
	/* YAML itself */
	{ "port: 1\n---\nport: 2\n", "2:1: a second document; the file holds one" },
	{ "port: *p\n", "1:7: the alias *p has no anchor &p before it" },
	{ "zones: &z {a: *z}\n", "1:15: the alias *z refers to a collection that holds it" },
	{ "port: !custom 1\n", "1:7: the tag '!custom' is not taken here" },
	{ "port: \"\\0\"\n", "1:7: a NUL character in a scalar" },
	{ "port: [1\n", "2:1: did not find expected ',' or ']' while parsing a flow sequence" },
	{ "a: b: c\n", "1:5: mapping values are not allowed in this context" },
	{ "\tport: 1\n", "1:1: found character that cannot start any token while scanning for the next token" },
};

static void test_errors(void **state)
{
	unsigned failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(error_cases); i++) {
		const struct error_case *e = &error_cases[i];
		struct policyd_config c;
		char why[POLICYD_WHY_SIZE] = "";

		memset(&c, 0x5a, sizeof(c));
		if (policyd_config_parse(e->text, strlen(e->text), &c, why, sizeof(why)) == 0) {
			print_error("accepted: %s", e->text);
			policyd_config_release(&c);
			failed++;
		} else if (strcmp(why, e->why) != 0) {
			print_error("%s-> %s\nwanted %s\n", e->text, why, e->why);
			failed++;
		}
		assert_int_equal(((unsigned char *)&c)[0], 0x5a);	/* untouched */
	}
	assert_int_equal(failed, 0);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *p = s;

	assert_non_null(s);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

static void expect_error(const char *text, size_t len, const char *why_part)
{
	struct policyd_config c;
	char why[POLICYD_WHY_SIZE] = "";

	assert_int_equal(policyd_config_parse(text, len, &c, why, sizeof(why)), -1);
	if (strstr(why, why_part) == NULL)
		fail_msg("-> %s\nwanted ...%s...", why, why_part);
}

static void test_limits(void **state)
{
	struct policyd_config c;
	char why[POLICYD_WHY_SIZE], *text, *zones;
	size_t len = 0;

	(void)state;
	text = repeat("", "#", POLICYD_CONFIG_SIZE_MAX + 1, "");
	expect_error(text, strlen(text), "1:1: 1048577 octets; at most 1048576");
	free(text);

	text = repeat("port: ", "[", 20, "");
	expect_error(text, strlen(text), "1:22: collections nested more than 16 deep");
	free(text);

	text = repeat("host: ", "a", POLICYD_CONFIG_STRING_MAX + 1, "\n");
	expect_error(text, strlen(text), "1:7: a scalar of 4097 octets; at most 4096");
	free(text);

	text = repeat("host: ", "a", POLICYD_HOST_MAX + 1, "\n");
	expect_error(text, strlen(text), "1:7: host: a string of 256 octets; at most 255");
	free(text);

	text = repeat("x: [", "1,", POLICYD_CONFIG_NODES_MAX, "]\n");
	expect_error(text, strlen(text), "more than 100000 nodes");
	free(text);

	/* 1,000 zones are taken, 1,001 are not */
	zones = malloc(32 * 1002);
	assert_non_null(zones);
	len = (size_t)sprintf(zones, "zones:\n");
	for (int i = 0; i < POLICYD_CONFIG_ZONES_MAX; i++)
		len += (size_t)sprintf(zones + len, "  zone%d: {timeout: %d}\n", i, i % 60 + 1);
	assert_int_equal(policyd_config_parse(zones, len, &c, why, sizeof(why)), 0);
	assert_int_equal(c.zone_count, POLICYD_CONFIG_ZONES_MAX);
	assert_true(policyd_config_zone(&c, "zone999", 7)->timeout == 999 % 60 + 1);
	assert_true(policyd_config_zone(&c, "zone42", 6)->timeout == 42 % 60 + 1);
	policyd_config_release(&c);
	sprintf(zones + len, "  one-more: {}\n");
	expect_error(zones, strlen(zones), "2:3: zones: 1001 zones; at most 1000");
	free(zones);

	/* anchors */
	text = repeat("x: [", "&a 1,", POLICYD_CONFIG_ANCHORS_MAX + 1, "]\n");
	expect_error(text, strlen(text), "more than 256 anchors");
	free(text);
}

/* TLSRPT attributes follow the local Postfix's version unless a zone says. */
static void test_default_tlsrpt(void **state)
{
	struct policyd_config c;

	(void)state;
	assert_true(policyd_postfix_has_tlsrpt("3.10.1"));
	assert_true(policyd_postfix_has_tlsrpt("3.10"));
	assert_true(policyd_postfix_has_tlsrpt("3.11.0-RC1"));
	assert_true(policyd_postfix_has_tlsrpt("4.0.0"));
	assert_false(policyd_postfix_has_tlsrpt("3.9.3"));
	assert_false(policyd_postfix_has_tlsrpt("3.7.11"));
	assert_false(policyd_postfix_has_tlsrpt("3.1"));
	assert_false(policyd_postfix_has_tlsrpt(""));
	assert_false(policyd_postfix_has_tlsrpt(NULL));
	assert_false(policyd_postfix_has_tlsrpt("3."));
	assert_false(policyd_postfix_has_tlsrpt("x3.10"));

	parse_ok("zones:\n  a: {}\n  b: {tlsrpt: false}\n  c: {tlsrpt: true}\n"
		 "  d: {mx_host_pattern: false}\n", &c);
	policyd_config_default_tlsrpt(&c, true);
	assert_true(c.default_zone.tlsrpt);
	assert_true(c.default_zone.mx_host_pattern);
	assert_true(c.zones[0].tlsrpt);
	assert_false(c.zones[1].tlsrpt);
	assert_false(c.zones[1].mx_host_pattern);
	assert_true(c.zones[2].tlsrpt);
	assert_true(c.zones[3].tlsrpt);
	assert_false(c.zones[3].mx_host_pattern);
	policyd_config_default_tlsrpt(&c, false);
	assert_false(c.zones[0].tlsrpt);
	assert_true(c.zones[2].tlsrpt);
	policyd_config_release(&c);
}

/* testing_level: a Postfix level for testing policies reported on, or none. */
static void test_testing_level(void **state)
{
	struct policyd_config c;
	char why[POLICYD_WHY_SIZE];
	static const char bad[] = "zones:\n  a: {testing_level: secure}\n";

	(void)state;
	parse_ok("default_zone: {testing_level: encrypt}\nzones:\n  a: {testing_level: may}\n"
		 "  b: {testing_level: none}\n  c: {}\n", &c);
	assert_string_equal(c.default_zone.testing_level, "encrypt");
	assert_string_equal(c.zones[0].testing_level, "may");
	assert_null(c.zones[1].testing_level);
	assert_null(c.zones[2].testing_level);
	policyd_config_release(&c);
	assert_int_equal(policyd_config_parse(bad, sizeof(bad) - 1, &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "2:22: zones.a.testing_level: 'secure' is not one of none, "
			       "may, encrypt, dane"));
}

static void test_load_errors(void **state)
{
	struct policyd_config c;
	char why[POLICYD_WHY_SIZE], path[512];

	(void)state;
	assert_int_equal(policyd_config_load("/nonexistent/mta-sts-daemon.yml", &c, why,
					     sizeof(why)), -1);
	assert_string_equal(why, "/nonexistent/mta-sts-daemon.yml: No such file or directory");
	snprintf(path, sizeof(path), "%s/bad-key.yml", data_dir);
	assert_int_equal(policyd_config_load(path, &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "bad-key.yml:4:5: unknown key 'strict_tseting' in "
			       "zones.myzone; did you mean 'strict_testing'?"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_peer_example),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_default_tlsrpt),
		cmocka_unit_test(test_testing_level),
	};

	if (argc > 1)
		data_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
