/*
 * test_hostname.c - host names made into lower-case A-label form, U-labels
 * converted by IDNA2008 (RFC 5891, RFC 6125 6.4.2), table-driven.
 */
#include <stdlib.h>

#include "unit.h"

#include "hostname.h"

struct normalize_case {
	const char *in;
	const char *out;	/* NULL: refused */
	const char *why;	/* when refused: a part of the sentence */
};

#define REFUSE(in, why) { (in), NULL, (why) }

static const struct normalize_case normalize_cases[] = {
	/* ASCII: only the case and one trailing dot change */
	{ "mx.example.com", "mx.example.com", NULL },
	{ "MX.Example.COM.", "mx.example.com", NULL },
	{ "localhost", "localhost", NULL },
	{ "a-1.b--c.example", "a-1.b--c.example", NULL },
	/* ASCII: A-labels are taken as they are, even ones libidn2 would refuse */
	{ "XN--BCHER-KVA.example", "xn--bcher-kva.example", NULL },
	{ "xn--zz.example", "xn--zz.example", NULL },
	/* U-labels become A-labels */
	{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example", NULL },
	{ "mx.b\xc3\xbc" "cher.example.", "mx.xn--bcher-kva.example", NULL },
	/* with the UTS #46 mapping: upper case folded */
	{ "MX.B\xc3\x9c" "CHER.Example", "mx.xn--bcher-kva.example", NULL },
	/* non-transitional: sharp s stays itself (IDNA2008), not "ss" */
	{ "stra\xc3\x9f" "e.de", "xn--strae-oqa.de", NULL },
	/* NFC: u and a combining diaresis are the same as u-umlaut */
	{ "bu\xcc\x88" "cher.example", "xn--bcher-kva.example", NULL },
	/* an ideographic full stop separates labels, and ends a name */
	{ "b\xc3\xbc" "cher\xe3\x80\x82" "example", "xn--bcher-kva.example", NULL },
	{ "b\xc3\xbc" "cher.example\xe3\x80\x82", "xn--bcher-kva.example", NULL },
	/* mixed: an A-label and a U-label */
	{ "xn--bcher-kva.m\xc3\xbc" "nchen", "xn--bcher-kva.xn--mnchen-3ya", NULL },
	/* a 63-octet label */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", NULL },

	/* empty, root, two dots */
	REFUSE("", "empty"),
	REFUSE(".", "root"),
	REFUSE("example..", "more than one dot"),
	REFUSE("b\xc3\xbc" "cher.example..", "more than one dot"),
	/* ASCII that is not a host name, with where */
	REFUSE("_mta-sts.example", "octet 1"),
	REFUSE("mx_1.example", "octet 3"),
	REFUSE("mx..example", "empty label"),
	REFUSE(".example", "empty label"),
	REFUSE("-mx.example", "hyphen"),
	REFUSE("*.example", "leftmost"),
	REFUSE("mx example", "character other than"),
	REFUSE("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
	       "longer than 63"),
	/* not UTF-8 */
	REFUSE("b\xfc" "cher.example", "not a valid internationalized"),
	REFUSE("b\xc3" ".example", "not a valid internationalized"),
	/* IDNA2008 refuses: a hyphen at the start, symbols, mixed directions */
	REFUSE("-b\xc3\xbc" "cher.example", "not a valid internationalized"),
	REFUSE("\xe2\x98\x83.example", "not a valid internationalized"),
	REFUSE("\xd9\xa1\xd9\xa2.b\xc3\xbc" "cher", "not a valid internationalized"),
	/* a bad A-label next to a U-label is checked too */
	REFUSE("xn--zz.b\xc3\xbc" "cher", "not a valid internationalized"),
	/* converted, but not a host name */
	REFUSE("a_b.b\xc3\xbc" "cher", "in A-label form"),
	REFUSE("a b.b\xc3\xbc" "cher", "in A-label form"),
	REFUSE("*.b\xc3\xbc" "cher", "in A-label form"),
};

static bool run_case(const struct normalize_case *c)
{
	char out[HOSTNAME_BUF], why[200] = "";
	int rc;

	memset(out, 'z', sizeof(out));
	out[sizeof(out) - 1] = '\0';
	rc = hostname_normalize(c->in, out, sizeof(out), why, sizeof(why));
	if (c->out == NULL) {
		if (rc != -1 || strstr(why, c->why) == NULL || out[0] != 'z') {
			print_error("FAILED %s: rc %d, why \"%s\", expected \"...%s...\"\n",
				    escape(c->in, strlen(c->in)), rc, why, c->why);
			return false;
		}
		return true;
	}
	if (rc != 0 || strcmp(out, c->out) != 0) {
		print_error("FAILED %s: rc %d (%s), got \"%s\", expected \"%s\"\n",
			    escape(c->in, strlen(c->in)), rc, why, out, c->out);
		return false;
	}
	return true;
}

static void test_normalize(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(normalize_cases); i++)
		if (!run_case(&normalize_cases[i]))
			failed++;
	assert_int_equal(failed, 0);
}

/* Lengths: of the result, of the buffer, of the input. */
static void test_limits(void **state)
{
	static char in[HOSTNAME_INPUT_MAX + 2];
	char out[HOSTNAME_BUF], small[10], why[100];
	const char *name253 =
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
		"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
		"ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

	(void)state;
	assert_int_equal(hostname_normalize(name253, out, sizeof(out), NULL, 0), 0);
	assert_string_equal(out, name253);
	snprintf(in, sizeof(in), "%s.", name253);
	assert_int_equal(hostname_normalize(in, out, sizeof(out), NULL, 0), 0);
	snprintf(in, sizeof(in), "%sd", name253);
	assert_int_equal(hostname_normalize(in, out, sizeof(out), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer than 253"));
	/* a U-label that makes the name too long once converted */
	snprintf(in, sizeof(in), "%.*s.\xc3\xbc", 249, name253);
	assert_int_equal(hostname_normalize(in, out, sizeof(out), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer than"));

	/* a buffer too small: refused, untouched */
	memset(small, 'z', sizeof(small));
	assert_int_equal(hostname_normalize("mx.example.com", small, sizeof(small),
					    why, sizeof(why)), -1);
	assert_int_equal(small[0], 'z');
	assert_int_equal(hostname_normalize("mx.example", small, sizeof(small),
					    NULL, 0), -1);
	assert_int_equal(hostname_normalize("mx.examp", small, sizeof(small), NULL, 0), 0);
	assert_string_equal(small, "mx.examp");

	/* input beyond HOSTNAME_INPUT_MAX is not looked at */
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(hostname_normalize(in, out, sizeof(out), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer than 1024"));
	assert_int_equal(hostname_normalize(NULL, out, sizeof(out), why, sizeof(why)), -1);
}

static void test_is_ascii(void **state)
{
	(void)state;
	assert_true(hostname_is_ascii(""));
	assert_true(hostname_is_ascii("MX.example.\x7f"));
	assert_false(hostname_is_ascii("b\xc3\xbc" "cher"));
	assert_false(hostname_is_ascii("\x80"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_is_ascii),
	};

	return cmocka_run_group_tests_name("hostname", tests, NULL, NULL);
}
