/*
 * test_mx.c - MX patterns and host names, and matching one against the
 * other (RFC 8461 4.1), table-driven.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "unit.h"

#include <mtasts/mx.h>
#include <mtasts/policy.h>

struct match_case {
	const char *pattern;
	const char *host;
	bool matches;
};

static const struct match_case match_cases[] = {
	/* a plain pattern matches the same name */
	{ "mx.example.com", "mx.example.com", true },
	/* case-insensitive: upper-case host */
	{ "mx.example.com", "MX.EXAMPLE.COM", true },
	/* case-insensitive: mixed-case pattern */
	{ "Mx.Example.Com", "mx.example.COM", true },
	/* one trailing dot on the host is ignored */
	{ "mx.example.com", "mx.example.com.", true },
	/* two trailing dots are not a host name */
	{ "mx.example.com", "mx.example.com..", false },
	/* a plain pattern does not match a subdomain */
	{ "example.com", "mx.example.com", false },
	/* a plain pattern does not match its parent */
	{ "mx.example.com", "example.com", false },
	/* a plain pattern is not a suffix match */
	{ "example.com", "notexample.com", false },
	/* a plain pattern is not a prefix match */
	{ "mx.example.com", "mx.example.com.evil.example", false },
	/* a different last label */
	{ "mx.example.com", "mx.example.co", false },
	/* single-label names */
	{ "localhost", "LOCALHOST", true },
	/* "*." matches exactly one leftmost label */
	{ "*.example.com", "mx.example.com", true },
	/* "*." and case */
	{ "*.EXAMPLE.com", "Mx1.example.COM", true },
	/* "*." with a trailing dot on the host */
	{ "*.example.com", "mx.example.com.", true },
	/* "*." matches a one-character label */
	{ "*.example.com", "a.example.com", true },
	/* "*." matches a label with hyphens and digits */
	{ "*.example.com", "mx-01.example.com", true },
	/* "*." matches a 63-octet label */
	{ "*.example.com",
	  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc.example.com", true },
	/* "*." does not match the bare domain */
	{ "*.example.com", "example.com", false },
	/* "*." does not match two labels */
	{ "*.example.com", "a.b.example.com", false },
	/* "*." does not match an empty label */
	{ "*.example.com", ".example.com", false },
	/* "*." is not a suffix match on a label */
	{ "*.example.com", "mx.notexample.com", false },
	/* "*." needs the dot: "xexample.com" has no label before ".example.com" */
	{ "*.example.com", "xexample.com", false },
	/* "*." over a different parent */
	{ "*.example.com", "mx.example.net", false },
	/* "*." does not match the literal "*" label */
	{ "*.example.com", "*.example.com", false },
	/* "*." under a single label */
	{ "*.com", "example.com", true },
	/* "*." under a single label does not match two */
	{ "*.com", "mx.example.com", false },
	/* an invalid pattern never matches: trailing dot */
	{ "mx.example.com.", "mx.example.com.", false },
	/* an invalid pattern never matches: leading hyphen, even the same text */
	{ "-mx.example.com", "-mx.example.com", false },
	/* an invalid pattern never matches: "*" alone */
	{ "*", "example", false },
	/* an invalid pattern never matches: "*." alone */
	{ "*.", "a.", false },
	/* an invalid pattern never matches: empty */
	{ "", "", false },
	/* an invalid pattern never matches: "**." */
	{ "**.example.com", "ab.example.com", false },
	/* an invalid pattern never matches: wildcard not leftmost */
	{ "mx.*.com", "mx.example.com", false },
	/* an invalid pattern never matches: partial wildcard label */
	{ "mx*.example.com", "mx1.example.com", false },
	/* an invalid pattern never matches: U-label */
	{ "b\xc3\xbc" "cher.example", "b\xc3\xbc" "cher.example", false },
	/* an invalid pattern never matches: "_" */
	{ "_mx.example.com", "_mx.example.com", false },
	/* an invalid host never matches: empty */
	{ "*.example.com", "", false },
	/* an invalid host never matches: a lone dot */
	{ "example.com", ".", false },
	/* an invalid host never matches: non-ASCII */
	{ "*.example.com", "\xc3\xa9.example.com", false },
	/* an invalid host never matches: empty label */
	{ "*.example.com", "mx..example.com", false },
	/* A-labels match as plain LDH text */
	{ "xn--bcher-kva.example", "XN--BCHER-KVA.example.", true },
	/* a wildcard over an A-label parent */
	{ "*.xn--bcher-kva.example", "mx.xn--bcher-kva.example", true },
};

struct check_case {
	const char *name;
	bool pattern_ok;	/* mtasts_mx_pattern_check */
	size_t pattern_offset;	/* when not ok */
	bool host_ok;		/* mtasts_mx_host_check */
	size_t host_offset;	/* when not ok */
};

static const struct check_case check_cases[] = {
	/* LDH labels: a plain name is both a pattern and a host */
	{ "mx.example.com", true, 0, true, 0 },
	/* LDH: digits and inner hyphens */
	{ "mx-1.2nd.example", true, 0, true, 0 },
	/* LDH: a double hyphen inside (A-label prefix) */
	{ "xn--bcher-kva.example", true, 0, true, 0 },
	/* LDH: one label */
	{ "localhost", true, 0, true, 0 },
	/* "*." leftmost: a pattern, but not a host */
	{ "*.example.com", true, 0, false, 0 },
	/* trailing dot: not in a pattern, once on a host */
	{ "mx.example.com.", false, 14, true, 0 },
	/* trailing dot twice: never (an empty label, or a dot left at the end) */
	{ "mx.example.com..", false, 15, false, 14 },
	/* empty name */
	{ "", false, 0, false, 0 },
	/* a lone dot */
	{ ".", false, 0, false, 0 },
	/* leading dot */
	{ ".example.com", false, 0, false, 0 },
	/* empty label inside */
	{ "mx..example.com", false, 3, false, 3 },
	/* label starts with a hyphen */
	{ "-mx.example.com", false, 0, false, 0 },
	/* label ends with a hyphen */
	{ "mx-.example.com", false, 2, false, 2 },
	/* last label ends with a hyphen */
	{ "mx.example-", false, 10, false, 10 },
	/* "_" is not LDH */
	{ "_dmarc.example.com", false, 0, false, 0 },
	/* a space is not LDH */
	{ "mx example.com", false, 2, false, 2 },
	/* non-ASCII: no U-labels */
	{ "b\xc3\xbc" "cher.example", false, 1, false, 1 },
	/* "*" alone */
	{ "*", false, 0, false, 0 },
	/* "*." and nothing after */
	{ "*.", false, 2, false, 0 },
	/* "*" not followed by "." */
	{ "*example.com", false, 0, false, 0 },
	/* "*" after the leftmost label */
	{ "mx.*.example.com", false, 3, false, 3 },
	/* "*" twice */
	{ "*.*.example.com", false, 2, false, 0 },
	/* "*" as part of a label */
	{ "mx*.example.com", false, 2, false, 2 },
	/* "*." then an invalid name: the offset counts from the pattern start */
	{ "*.-mx.example.com", false, 2, false, 0 },
	/* a port */
	{ "mx.example.com:25", false, 14, false, 14 },
	/* an address literal */
	{ "[192.0.2.1]", false, 0, false, 0 },
};

static bool run_match_case(size_t i, const struct match_case *c)
{
	bool got = mtasts_mx_matches(c->pattern, c->host);

	if (got == c->matches)
		return true;
	print_error("FAILED match case %zu: \"%s\" vs \"%s\": got %d\n", i,
		    escape(c->pattern, strlen(c->pattern)), c->host, got);
	return false;
}

static void test_matches(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(match_cases); i++)
		failed += !run_match_case(i, &match_cases[i]);
	if (failed > 0)
		fail_msg("%zu of %zu match cases failed", failed, ARRAY_LEN(match_cases));
	/* NULL on either side never matches */
	assert_false(mtasts_mx_matches(NULL, "mx.example.com"));
	assert_false(mtasts_mx_matches("mx.example.com", NULL));
}

static bool run_check_case(size_t i, const struct check_case *c)
{
	size_t len = strlen(c->name), offset = 999, host_offset = 999;
	char why[128] = "", host_why[128] = "";
	bool p = mtasts_mx_pattern_check(c->name, len, &offset, why, sizeof(why));
	bool h = mtasts_mx_host_check(c->name, len, &host_offset, host_why, sizeof(host_why));
	bool ok = p == c->pattern_ok && h == c->host_ok;

	/* on failure: the offset of the offending octet and a sentence */
	if (ok && !p)
		ok = offset == c->pattern_offset && why[0] != '\0';
	if (ok && !h)
		ok = host_offset == c->host_offset && host_why[0] != '\0';
	/* on success nothing is written */
	if (ok && p)
		ok = offset == 999 && why[0] == '\0';
	if (ok && h)
		ok = host_offset == 999 && host_why[0] == '\0';
	if (!ok)
		print_error("FAILED check case %zu: \"%s\": pattern %d at %zu (%s), host %d "
			    "at %zu (%s)\n", i, escape(c->name, len), p, offset, why, h,
			    host_offset, host_why);
	return ok;
}

static void test_checks(void **state)
{
	size_t failed = 0;
	char why[8];
	size_t offset;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(check_cases); i++)
		failed += !run_check_case(i, &check_cases[i]);
	if (failed > 0)
		fail_msg("%zu of %zu check cases failed", failed, ARRAY_LEN(check_cases));
	/* the reason is cut to fit, and why and ret_offset may be NULL */
	assert_false(mtasts_mx_pattern_check("-x", 2, &offset, why, sizeof(why)));
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_false(mtasts_mx_pattern_check("-x", 2, NULL, NULL, 0));
	assert_false(mtasts_mx_host_check("-x", 2, NULL, why, 0));
	assert_false(mtasts_mx_pattern_check(NULL, 0, &offset, NULL, 0));
	assert_false(mtasts_mx_host_check(NULL, 0, &offset, NULL, 0));
	/* the length is what counts, not a NUL */
	assert_true(mtasts_mx_pattern_check("mx.example.com.", 14, NULL, NULL, 0));
	assert_false(mtasts_mx_pattern_check("a\0b", 3, &offset, NULL, 0));
	assert_int_equal(offset, 1);
}

static void test_lengths(void **state)
{
	char name[300];
	size_t offset;

	(void)state;
	/* a label of 63 octets is the longest */
	memset(name, 'a', 63);
	strcpy(name + 63, ".example");
	assert_true(mtasts_mx_pattern_check(name, strlen(name), NULL, NULL, 0));
	assert_true(mtasts_mx_host_check(name, strlen(name), NULL, NULL, 0));
	assert_true(mtasts_mx_matches("*.example", name));
	/* a label of 64 octets is too long; the offset is its 64th octet */
	memset(name, 'a', 64);
	strcpy(name + 64, ".example");
	assert_false(mtasts_mx_pattern_check(name, strlen(name), &offset, NULL, 0));
	assert_int_equal(offset, 63);
	assert_false(mtasts_mx_host_check(name, strlen(name), &offset, NULL, 0));
	assert_int_equal(offset, 63);
	assert_false(mtasts_mx_matches(name, name));
	assert_false(mtasts_mx_matches("*.example", name));

	/* a name of 253 octets is the longest: 63.63.63.61 */
	memset(name, 'a', 253);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	assert_true(mtasts_mx_pattern_check(name, 253, NULL, NULL, 0));
	assert_true(mtasts_mx_matches(name, name));
	/* with one trailing dot it is still a host */
	strcpy(name + 253, ".");
	assert_true(mtasts_mx_host_check(name, 254, NULL, NULL, 0));
	assert_true(mtasts_mx_matches("*.aaa", "a.aaa."));
	name[253] = '\0';
	/* 254 octets is too long */
	strcpy(name + 253, "a");
	assert_false(mtasts_mx_pattern_check(name, 254, &offset, NULL, 0));
	assert_int_equal(offset, 253);
	assert_false(mtasts_mx_host_check(name, 254, &offset, NULL, 0));
	assert_false(mtasts_mx_matches(name, name));
	/* "*." and a 253-octet name */
	memmove(name + 2, name, 254);
	name[0] = '*';
	name[1] = '.';
	name[255] = '\0';
	assert_true(mtasts_mx_pattern_check(name, 255, NULL, NULL, 0));
}

struct policy_match_case {
	const char *host;
	bool matches;
};

/* Matched against the policy below. */
static const char policy_body[] =
	"version: STSv1\r\n"
	"mode: enforce\r\n"
	"mx: mail.example.com\r\n"
	"mx: *.example.net\r\n"
	"mx: backupmx.example.com\r\n"
	"max_age: 604800\r\n";

static const struct policy_match_case policy_match_cases[] = {
	/* the first mx, exactly */
	{ "mail.example.com", true },
	/* the last mx, exactly */
	{ "backupmx.example.com", true },
	/* the wildcard mx */
	{ "mx1.example.net", true },
	/* case-insensitive through the policy */
	{ "MAIL.Example.COM", true },
	/* a trailing dot through the policy */
	{ "mx2.example.net.", true },
	/* none of them: a sibling of a plain mx */
	{ "mx.example.com", false },
	/* none of them: the wildcard's parent */
	{ "example.net", false },
	/* none of them: two labels under the wildcard */
	{ "a.b.example.net", false },
	/* none of them: the domain itself */
	{ "example.com", false },
	/* none of them: an invalid host */
	{ "", false },
};

static void test_policy_matches(void **state)
{
	struct mtasts_policy *p = NULL, empty = { .mode = MTASTS_MODE_NONE };
	struct mtasts_diags diags;
	size_t failed = 0;

	(void)state;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(policy_body, strlen(policy_body), &p, &diags),
			 MTASTS_OK);
	for (size_t i = 0; i < ARRAY_LEN(policy_match_cases); i++) {
		const struct policy_match_case *c = &policy_match_cases[i];

		if (mtasts_policy_matches(p, c->host) != c->matches) {
			print_error("FAILED policy match case %zu: \"%s\"\n", i, c->host);
			failed++;
		}
	}
	assert_false(mtasts_policy_matches(p, NULL));
	p = mtasts_policy_free(p);
	assert_int_equal(failed, 0);
	/* no policy, or a policy without mx, matches nothing */
	assert_false(mtasts_policy_matches(NULL, "mail.example.com"));
	assert_false(mtasts_policy_matches(&empty, "mail.example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_policy_matches),
	};

	return cmocka_run_group_tests_name("mx", tests, NULL, NULL);
}
