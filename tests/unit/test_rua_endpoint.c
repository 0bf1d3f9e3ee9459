/*
 * test_rua_endpoint.c - the host and port of an https: TLSRPT report
 * destination (RFC 8460 3, RFC 3986 3.2), table-driven.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "unit.h"

#include <mtasts/tlsrpt.h>

struct endpoint_case {
	const char *uri;
	const char *host;	/* NULL: refused */
	unsigned port;
	enum mtasts_rua_host_kind kind;
	const char *why;	/* when refused: a part of the sentence */
};

#define NAME MTASTS_RUA_HOST_NAME
#define IPV4 MTASTS_RUA_HOST_IPV4
#define IPV6 MTASTS_RUA_HOST_IPV6
#define REFUSE(uri, why) { (uri), NULL, 0, NAME, (why) }

static const struct endpoint_case endpoint_cases[] = {
	/* the plain case: port 443, path ignored */
	{ "https://reports.example/tlsrpt", "reports.example", 443, NAME, NULL },
	/* no path at all */
	{ "https://reports.example", "reports.example", 443, NAME, NULL },
	/* the scheme without regard to case; the host in lower case */
	{ "HTTPS://Reports.EXAMPLE/v1", "reports.example", 443, NAME, NULL },
	{ "hTtPs://a.example/", "a.example", 443, NAME, NULL },
	/* a port */
	{ "https://reports.example:8443/tlsrpt", "reports.example", 8443, NAME, NULL },
	/* the smallest and largest ports, and leading zeros */
	{ "https://a.example:1/", "a.example", 1, NAME, NULL },
	{ "https://a.example:65535", "a.example", 65535, NAME, NULL },
	{ "https://a.example:00443/", "a.example", 443, NAME, NULL },
	/* an empty port is the default (RFC 3986 6.2.3) */
	{ "https://a.example:/x", "a.example", 443, NAME, NULL },
	/* query and fragment end the authority like a path */
	{ "https://a.example?x=@b.example", "a.example", 443, NAME, NULL },
	{ "https://a.example:444#frag@b", "a.example", 444, NAME, NULL },
	{ "https://a.example/path@b.example:1", "a.example", 443, NAME, NULL },
	/* a userinfo is skipped */
	{ "https://user@a.example/", "a.example", 443, NAME, NULL },
	{ "https://user:secret@a.example:8443/", "a.example", 8443, NAME, NULL },
	{ "https://us%40er:p!$&'()*+,;=~._-@a.example/", "a.example", 443, NAME, NULL },
	{ "https://@a.example/", "a.example", 443, NAME, NULL },
	/* one trailing dot is dropped */
	{ "https://a.example./", "a.example", 443, NAME, NULL },
	/* A-labels and one-label names */
	{ "https://xn--bcher-kva.example/", "xn--bcher-kva.example", 443, NAME, NULL },
	{ "https://localhost:8443/", "localhost", 8443, NAME, NULL },
	/* a last label with a digit, not all digits */
	{ "https://a.b2/", "a.b2", 443, NAME, NULL },
	/* IPv4 */
	{ "https://192.0.2.10/", "192.0.2.10", 443, IPV4, NULL },
	{ "https://192.0.2.10:8443/", "192.0.2.10", 8443, IPV4, NULL },
	/* IPv6 in brackets, lower case, with a port */
	{ "https://[2001:DB8::1]/", "2001:db8::1", 443, IPV6, NULL },
	{ "https://[2001:db8::1]:8443/x", "2001:db8::1", 8443, IPV6, NULL },
	{ "https://u@[::ffff:192.0.2.1]", "::ffff:192.0.2.1", 443, IPV6, NULL },

	/* other schemes, or https without an authority */
	REFUSE("mailto:tlsrpt@example.com", "https://"),
	REFUSE("http://a.example/", "https://"),
	REFUSE("https:a.example/", "https://"),
	REFUSE("https:/a.example/", "https://"),
	REFUSE(" https://a.example/", "https://"),
	REFUSE("", "https://"),
	/* no host */
	REFUSE("https://", "no host"),
	REFUSE("https:///path", "no host"),
	REFUSE("https://user@/", "no host"),
	REFUSE("https://:443/", "no host"),
	REFUSE("https://?q", "no host"),
	/* two "@": which one ends the userinfo? */
	REFUSE("https://a@b@c.example/", "more than one"),
	/* userinfo with octets a URI does not allow there */
	REFUSE("https://us er@a.example/", "user information"),
	REFUSE("https://evil.example\\@a.example/", "user information"),
	REFUSE("https://u%4@a.example/", "user information"),
	REFUSE("https://u%zz@a.example/", "user information"),
	REFUSE("https://u[@a.example/", "user information"),
	/* percent-encoded hosts */
	REFUSE("https://a%2eexample/", "percent-encoded"),
	REFUSE("https://%61.example/", "percent-encoded"),
	/* non-ASCII hosts */
	REFUSE("https://b\xc3\xbc" "cher.example/", "A-label"),
	/* hosts that are not host names */
	REFUSE("https://a_b.example/", "not a host name"),
	REFUSE("https://a..example/", "not a host name"),
	REFUSE("https://.a.example/", "not a host name"),
	REFUSE("https://a.example../", "not a host name"),
	REFUSE("https://-a.example/", "not a host name"),
	REFUSE("https://a b.example/", "not a host name"),
	REFUSE("https://a.example\\b/", "not a host name"),
	REFUSE("https://*.example/", "not a host name"),
	REFUSE("https://a.example]/", "not a host name"),
	/* names a resolver may take for addresses */
	REFUSE("https://10.1/", "all digits"),
	REFUSE("https://192.0.2.256/", "all digits"),
	REFUSE("https://192.0.2.010/", "all digits"),
	REFUSE("https://4294967295/", "all digits"),
	REFUSE("https://a.123/", "all digits"),
	/* bad ports */
	REFUSE("https://a.example:0/", "port is 0"),
	REFUSE("https://a.example:65536/", "greater than 65535"),
	REFUSE("https://a.example:99999999999999999999/", "greater than 65535"),
	REFUSE("https://a.example:-1/", "decimal"),
	REFUSE("https://a.example:+443/", "decimal"),
	REFUSE("https://a.example: 443/", "decimal"),
	REFUSE("https://a.example:443x/", "decimal"),
	REFUSE("https://a.example:443:444/", "decimal"),
	REFUSE("https://[2001:db8::1]x/", "other than a port"),
	/* bad IPv6 literals */
	REFUSE("https://[2001:db8::1/", "closing"),
	REFUSE("https://[]/", "not an IPv6"),
	REFUSE("https://[192.0.2.1]/", "not an IPv6"),
	REFUSE("https://[2001:db8::g]/", "not an IPv6"),
	REFUSE("https://[v1.fe80::a]/", "not an IPv6"),
	REFUSE("https://[fe80::1%25eth0]/", "zone"),
	REFUSE("https://2001:db8::1/", "all digits"),
	/* a host over 253 octets */
	REFUSE("https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	       "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	       "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
	       "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/",
	       "longer than 253"),
};

static bool run_case(const struct endpoint_case *c)
{
	struct mtasts_rua_endpoint e, untouched;
	char why[160] = "";
	unsigned char want[16];
	int rc;

	memset(&e, 0x5a, sizeof(e));
	untouched = e;
	rc = mtasts_rua_endpoint_parse(c->uri, &e, why, sizeof(why));
	if (c->host == NULL) {
		if (rc != MTASTS_ERR_INVALID || memcmp(&e, &untouched, sizeof(e)) != 0 ||
		    strstr(why, c->why) == NULL) {
			print_error("FAILED %s: rc %d, why \"%s\", expected \"...%s...\"\n",
				    escape(c->uri, strlen(c->uri)), rc, why, c->why);
			return false;
		}
		return true;
	}
	if (rc != MTASTS_OK || strcmp(e.host, c->host) != 0 || e.port != c->port ||
	    e.kind != c->kind) {
		print_error("FAILED %s: rc %d (%s), host \"%s\" port %u kind %d\n",
			    escape(c->uri, strlen(c->uri)), rc, why, e.host, e.port, e.kind);
		return false;
	}
	if (c->kind != NAME &&
	    (inet_pton(c->kind == IPV4 ? AF_INET : AF_INET6, c->host, want) != 1 ||
	     memcmp(e.address, want, c->kind == IPV4 ? 4 : 16) != 0)) {
		print_error("FAILED %s: the address in binary is wrong\n", c->uri);
		return false;
	}
	return true;
}

static void test_endpoints(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(endpoint_cases); i++)
		if (!run_case(&endpoint_cases[i]))
			failed++;
	assert_int_equal(failed, 0);
}

/* 253 octets is a host; why may be NULL; NULL arguments are refused. */
static void test_limits(void **state)
{
	char uri[300];
	struct mtasts_rua_endpoint e;
	char why[8];

	(void)state;
	snprintf(uri, sizeof(uri), "https://%s.%s.%s.%s:1/",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
		 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(mtasts_rua_endpoint_parse(uri, &e, NULL, 0), MTASTS_OK);
	assert_int_equal(strlen(e.host), MTASTS_RUA_HOST_MAX);
	assert_int_equal(e.port, 1);
	/* and with its trailing dot, 254 octets */
	snprintf(uri + strlen(uri) - 3, 5, ".:1/");
	assert_int_equal(mtasts_rua_endpoint_parse(uri, &e, NULL, 0), MTASTS_OK);
	assert_int_equal(strlen(e.host), MTASTS_RUA_HOST_MAX);

	assert_int_equal(mtasts_rua_endpoint_parse("ftp://x", &e, NULL, 0),
			 MTASTS_ERR_INVALID);
	/* a short why is cut, still a string */
	assert_int_equal(mtasts_rua_endpoint_parse("ftp://x", &e, why, sizeof(why)),
			 MTASTS_ERR_INVALID);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_int_equal(mtasts_rua_endpoint_parse(NULL, &e, NULL, 0), MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_rua_endpoint_parse("https://a.example", NULL, NULL, 0),
			 MTASTS_ERR_ARGUMENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests_name("rua_endpoint", tests, NULL, NULL);
}
