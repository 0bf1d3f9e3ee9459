/*
 * test_policy.c - the MTA-STS policy file parser and serializer
 * (RFC 8461 3.2), table-driven.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "unit.h"

#include <mtasts/policy.h>

#define MX_PER_CASE 6
#define EXTS_PER_CASE 3

struct policy_case {
	const char *body;
	size_t len;				/* 0: strlen(body) */
	int rc;
	struct want_diag diags[WANT_DIAGS_MAX];
	/* On success: */
	enum mtasts_mode mode;
	uint32_t max_age;
	const char *mx[MX_PER_CASE + 1];	/* NULL ends the list */
	const char *ext[2 * EXTS_PER_CASE + 1];	/* name, value, ...; NULL ends */
	size_t lf_only_lines;
};

#define OK MTASTS_OK
#define INVALID MTASTS_ERR_INVALID
#define ENFORCE MTASTS_MODE_ENFORCE
#define TESTING MTASTS_MODE_TESTING
#define NONE MTASTS_MODE_NONE
#define NO_DIAGS { { 0 } }
#define NO_MX { NULL }
#define NO_EXT { NULL }
/* What a failing case expects besides its status and diagnostics. */
#define FAILS NONE, 0, NO_MX, NO_EXT, 0

/* The lines of a good policy, LF-terminated: version, mode, mx, max_age. */
#define V "version: STSv1\n"
#define ME "mode: enforce\n"
#define MX "mx: mx.example.com\n"
#define MA "max_age: 1209600\n"
#define GOOD V ME MX MA
/* A good policy with line 3 (the mx line) replaced. */
#define WITH_MX(m) V ME "mx: " m "\n" MA
/* A good policy with a fifth line added. */
#define WITH_LINE5(l) GOOD l "\n"

static const struct policy_case cases[] = {
	/* --- line structure --- */
	/* RFC 8461 3.2 example: LF line ends, mx in order, wildcard kept */
	{ "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
	  "mx: backupmx.example.com\nmax_age: 604800\n", 0, OK,
	  { PW(POLICY_MAX_AGE_UNDER_TWO_WEEKS, 6, 10) }, ENFORCE, 604800,
	  { "mail.example.com", "*.example.net", "backupmx.example.com", NULL }, NO_EXT, 6 },
	/* sts-policy-term: CRLF everywhere, no LF-only line */
	{ "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 1209600\r\n", 0, OK,
	  NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL }, NO_EXT, 0 },
	/* sts-policy-term: LF and CRLF mixed; lf_only_lines counts the LF ones */
	{ "version: STSv1\r\nmode: enforce\nmx: mx.example.com\r\nmax_age: 1209600\n", 0, OK,
	  NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL }, NO_EXT, 2 },
	/* [sts-policy-term]: the last line needs no terminator (LF lines) */
	{ V ME MX "max_age: 1209600", 0, OK, NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL },
	  NO_EXT, 3 },
	/* [sts-policy-term]: the last line needs no terminator (CRLF lines) */
	{ "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 1209600", 0, OK,
	  NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL }, NO_EXT, 0 },
	/* fields in any order */
	{ "max_age: 1209600\nmx: mx.example.com\nmode: enforce\nversion: STSv1\n", 0, OK,
	  NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL }, NO_EXT, 4 },
	/* fields in any order: mx lines apart, kept in order */
	{ "mx: b.example\n" V "mx: a.example\n" ME MA "mx: c.example\n", 0, OK, NO_DIAGS,
	  ENFORCE, 1209600, { "b.example", "a.example", "c.example", NULL }, NO_EXT, 6 },
	/* empty body: policy-empty */
	{ "", 0, INVALID, { PE(POLICY_EMPTY, 0, 0) }, FAILS },
	/* a body that is one empty line */
	{ "\n", 0, INVALID, { PE(POLICY_EMPTY_LINE, 1, 1), PE(POLICY_MISSING_VERSION, 0, 0),
	  PE(POLICY_MISSING_MODE, 0, 0), PE(POLICY_MISSING_MAX_AGE, 0, 0) }, FAILS },
	/* no empty lines: a trailing blank line (LF) */
	{ GOOD "\n", 0, INVALID, { PE(POLICY_EMPTY_LINE, 5, 1) }, FAILS },
	/* no empty lines: a trailing blank line (CRLF) */
	{ "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 1209600\r\n\r\n", 0,
	  INVALID, { PE(POLICY_EMPTY_LINE, 5, 1) }, FAILS },
	/* no empty lines: one in the middle */
	{ V "\n" ME MX MA, 0, INVALID, { PE(POLICY_EMPTY_LINE, 2, 1) }, FAILS },
	/* no empty lines: an empty first line */
	{ "\n" GOOD, 0, INVALID, { PE(POLICY_EMPTY_LINE, 1, 1) }, FAILS },
	/* no empty lines: two of them, both reported */
	{ V "\n" ME "\r\n" MX MA, 0, INVALID, { PE(POLICY_EMPTY_LINE, 2, 1),
	  PE(POLICY_EMPTY_LINE, 4, 1) }, FAILS },
	/* a bare CR inside a line is policy-bad-line-ending, and only that: the
	 * fields on either side of it are given, not missing */
	{ "version: STSv1\rmode: enforce\n" MX MA, 0, INVALID,
	  { PE(POLICY_BAD_LINE_ENDING, 1, 15) }, FAILS },
	/* a bare CR ending the last, unterminated line */
	{ V ME MX "max_age: 86400\r", 0, INVALID,
	  { PE(POLICY_BAD_LINE_ENDING, 4, 15) }, FAILS },
	/* CR CR LF: the first CR is bare */
	{ V "mode: enforce\r\r\n" MX MA, 0, INVALID,
	  { PE(POLICY_BAD_LINE_ENDING, 2, 14) }, FAILS },
	/* CR-only line ends make one long line: one error, nothing missing */
	{ "version: STSv1\rmode: enforce\rmx: mx.example.com\rmax_age: 86400\r", 0, INVALID,
	  { PE(POLICY_BAD_LINE_ENDING, 1, 15) }, FAILS },
	/* CR-only line ends with a real mistake in a piece: still one error a line */
	{ "version: STSv1\rmode: enforce\rmax_age: 86400\r", 0, INVALID,
	  { PE(POLICY_BAD_LINE_ENDING, 1, 15) }, FAILS },
	/* a field missing from CR-separated pieces is still missing */
	{ "version: STSv1\rmx: mx.example.com\rmax_age: 86400\r", 0, INVALID,
	  { PE(POLICY_BAD_LINE_ENDING, 1, 15), PE(POLICY_MISSING_MODE, 0, 0) }, FAILS },

	/* --- "key: value" --- */
	/* *WSP after ":" is optional */
	{ "version:STSv1\nmode:enforce\nmx:mx.example.com\nmax_age:1209600\n", 0, OK, NO_DIAGS,
	  ENFORCE, 1209600, { "mx.example.com", NULL }, NO_EXT, 4 },
	/* *WSP after ":" may be several spaces and tabs */
	{ V "mode: \t enforce\n" MX "max_age:\t1209600\n", 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, NO_EXT, 4 },
	/* trailing *WSP before the line end is allowed */
	{ "version: STSv1 \nmode: enforce\t\r\nmx: mx.example.com  \nmax_age: 1209600 \t\n", 0,
	  OK, NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL }, NO_EXT, 3 },
	/* trailing *WSP on the unterminated last line */
	{ V ME MX "max_age: 1209600  ", 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, NO_EXT, 3 },
	/* no leading WSP: a line starting with a space; mode is given there */
	{ V " mode: enforce\n" MX MA, 0, INVALID, { PE(POLICY_SYNTAX, 2, 1) }, FAILS },
	/* no leading WSP: a line starting with a tab (the mx is given there) */
	{ V ME "\tmx: mx.example.com\n" MA, 0, INVALID, { PE(POLICY_SYNTAX, 3, 1) }, FAILS },
	/* no leading WSP: a whole policy indented, one error a line */
	{ "  version: STSv1\n  mode: enforce\n  mx: mx.example.com\n  max_age: 86400\n", 0,
	  INVALID, { PE(POLICY_SYNTAX, 1, 1), PE(POLICY_SYNTAX, 2, 1), PE(POLICY_SYNTAX, 3, 1),
	  PE(POLICY_SYNTAX, 4, 1) }, FAILS },
	/* no leading WSP: a line of white space only */
	{ GOOD "   \n", 0, INVALID, { PE(POLICY_SYNTAX, 5, 1) }, FAILS },
	/* no WSP before ":" (column of the first space); mode is given there */
	{ V "mode : enforce\n" MX MA, 0, INVALID, { PE(POLICY_SYNTAX, 2, 5) }, FAILS },
	/* no WSP before ":": a tab */
	{ V ME MX "max_age\t: 86400\n", 0, INVALID, { PE(POLICY_SYNTAX, 4, 8) }, FAILS },
	/* a line needs ":" (column where it belongs, after a known name) */
	{ V "mode enforce\n" MX MA, 0, INVALID, { PE(POLICY_SYNTAX, 2, 5) }, FAILS },
	/* "=" is not ":" */
	{ V ME MX "max_age=86400\n", 0, INVALID, { PE(POLICY_SYNTAX, 4, 8) }, FAILS },
	/* no ":" and no known name: column just past the line */
	{ WITH_LINE5("foo bar"), 0, INVALID, { PE(POLICY_SYNTAX, 5, 8) }, FAILS },
	/* a value needs at least one character */
	{ WITH_LINE5("foo:"), 0, INVALID, { PE(POLICY_INVALID_VALUE, 5, 5) }, FAILS },
	/* a value of white space only is no value */
	{ WITH_LINE5("foo: \t "), 0, INVALID, { PE(POLICY_INVALID_VALUE, 5, 8) }, FAILS },
	/* the value of a known field may not be empty either */
	{ "version:\n" ME MX MA, 0, INVALID, { PE(POLICY_INVALID_VALUE, 1, 9) }, FAILS },
	/* an extension value may contain ":" */
	{ WITH_LINE5("x: a:b"), 0, OK, NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL },
	  { "x", "a:b", NULL }, 5 },

	/* --- field names: sts-policy-ext-name, case-sensitive --- */
	/* an unknown field is kept as an extension */
	{ WITH_LINE5("foo: bar"), 0, OK, NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL },
	  { "foo", "bar", NULL }, 5 },
	/* extensions are kept in order, among the known fields */
	{ "b: 2\n" V ME "a: 1\n" MX MA "c: 3\n", 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, { "b", "2", "a", "1", "c", "3", NULL }, 7 },
	/* ext-name: "_", "-" and "." after the first character */
	{ WITH_LINE5("a_b-c.d: 1"), 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, { "a_b-c.d", "1", NULL }, 5 },
	/* ext-name: may start with a digit */
	{ WITH_LINE5("1x: y"), 0, OK, NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL },
	  { "1x", "y", NULL }, 5 },
	/* ext-name: 32 characters is the most */
	{ WITH_LINE5("abcdefghijABCDEFGHIJ0123456789xy: y"), 0, OK, NO_DIAGS, ENFORCE,
	  1209600, { "mx.example.com", NULL }, { "abcdefghijABCDEFGHIJ0123456789xy", "y", NULL },
	  5 },
	/* ext-name: 33 characters is too many */
	{ WITH_LINE5("abcdefghijABCDEFGHIJ0123456789xyz: y"), 0, INVALID,
	  { PE(POLICY_INVALID_FIELD_NAME, 5, 1) }, FAILS },
	/* ext-name: may not start with "_" */
	{ WITH_LINE5("_x: y"), 0, INVALID, { PE(POLICY_INVALID_FIELD_NAME, 5, 1) }, FAILS },
	/* ext-name: may not start with "." */
	{ WITH_LINE5(".x: y"), 0, INVALID, { PE(POLICY_INVALID_FIELD_NAME, 5, 1) }, FAILS },
	/* ext-name: "!" is not allowed */
	{ WITH_LINE5("x!: y"), 0, INVALID, { PE(POLICY_INVALID_FIELD_NAME, 5, 1) }, FAILS },
	/* ext-name: an internal space is not allowed */
	{ WITH_LINE5("my field: y"), 0, INVALID, { PE(POLICY_INVALID_FIELD_NAME, 5, 1) },
	  FAILS },
	/* ext-name: non-ASCII is not allowed */
	{ WITH_LINE5("\xc3\xa9t\xc3\xa9: y"), 0, INVALID,
	  { PE(POLICY_INVALID_FIELD_NAME, 5, 1) }, FAILS },
	/* ext-name: 1*: an empty name */
	{ WITH_LINE5(": y"), 0, INVALID, { PE(POLICY_INVALID_FIELD_NAME, 5, 1) }, FAILS },
	/* field names are case-sensitive: "Mode" is an extension, so mode is
	 * missing: one error, at the near name */
	{ V "Mode: enforce\n" MX MA, 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 2, 1) }, FAILS },
	/* field names are case-sensitive: "Version" */
	{ "Version: STSv1\n" ME MX MA, 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 1, 1) },
	  FAILS },
	/* field names are case-sensitive: "MAX_AGE", "max_Age" */
	{ V ME MX "MAX_AGE: 86400\n", 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 4, 1) }, FAILS },
	{ V ME MX "max_Age: 86400\n", 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 4, 1) }, FAILS },
	/* field names are case-sensitive: "MX" is no mx, so enforce lacks one */
	{ V ME "MX: mx.example.com\n" MA, 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 3, 1) },
	  FAILS },
	/* "MX" in mode none, where no mx is needed: only the case warning */
	{ V "mode: none\nMX: mx.example.com\n" MA, 0, OK,
	  { PW(POLICY_MODE_NONE, 2, 7), PW(POLICY_FIELD_CASE, 3, 1) }, NONE, 1209600, NO_MX,
	  { "MX", "mx.example.com", NULL }, 4 },
	/* a misspelt name of a missing field: one error, "did you mean" */
	{ V ME MX "max-age: 86400\n", 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 4, 1) }, FAILS },
	{ V ME MX "maxage: 86400\n", 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 4, 1) }, FAILS },
	{ V ME MX "Max-Age: 86400\n", 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 4, 1) }, FAILS },
	{ V "modes: enforce\n" MX MA, 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 2, 1) }, FAILS },
	{ "verison: STSv1\n" ME MX MA, 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 1, 1) },
	  FAILS },
	{ "vresion: STSv1\n" ME MX MA, 0, INVALID, { PE(POLICY_MISSPELT_FIELD, 1, 1) },
	  FAILS },
	/* a near name that is not a valid field name: one error, the hint in it */
	{ V ME MX "max age: 86400\n", 0, INVALID, { PE(POLICY_INVALID_FIELD_NAME, 4, 1) },
	  FAILS },
	/* a misspelt name beside the real field is an extension like any other */
	{ GOOD "maxage: 5\n", 0, OK, NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL },
	  { "maxage", "5", NULL }, 5 },
	/* a name too far from every known one is not taken for a misspelling */
	{ V ME MX "lifetime: 86400\n", 0, INVALID, { PE(POLICY_MISSING_MAX_AGE, 0, 0) }, FAILS },
	/* "mx" is too short for typos: "x" is not taken for it */
	{ V ME "x: mx.example.com\n" MA, 0, INVALID, { PE(POLICY_MISSING_MX, 0, 0) }, FAILS },
	/* field names are case-sensitive: "Mode" next to a real mode is kept as an extension */
	{ V ME "Mode: testing\n" MX MA, 0, OK, { PW(POLICY_FIELD_CASE, 3, 1) }, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, { "Mode", "testing", NULL }, 5 },

	/* --- version: STSv1 --- */
	/* version value is case-sensitive */
	{ "version: stsv1\n" ME MX MA, 0, INVALID, { PE(POLICY_INVALID_VERSION, 1, 10) },
	  FAILS },
	/* only STSv1 is known */
	{ "version: STSv2\n" ME MX MA, 0, INVALID, { PE(POLICY_INVALID_VERSION, 1, 10) },
	  FAILS },
	/* nothing may follow STSv1 in the value */
	{ "version: STSv1 x\n" ME MX MA, 0, INVALID, { PE(POLICY_INVALID_VERSION, 1, 10) },
	  FAILS },
	/* version is required */
	{ ME MX MA, 0, INVALID, { PE(POLICY_MISSING_VERSION, 0, 0) }, FAILS },

	/* --- mode: enforce / testing / none --- */
	/* mode testing: valid, with information at the value */
	{ V "mode: testing\n" MX MA, 0, OK, { PI(POLICY_MODE_TESTING, 2, 7) }, TESTING, 1209600,
	  { "mx.example.com", NULL }, NO_EXT, 4 },
	/* mode none without mx: valid, with a warning */
	{ V "mode: none\n" MA, 0, OK, { PW(POLICY_MODE_NONE, 2, 7) }, NONE, 1209600, NO_MX,
	  NO_EXT, 3 },
	/* mode none with mx: the mx are kept */
	{ V "mode: none\n" MX MA, 0, OK, { PW(POLICY_MODE_NONE, 2, 7) }, NONE, 1209600,
	  { "mx.example.com", NULL }, NO_EXT, 4 },
	/* mode value is case-sensitive: "Enforce" */
	{ V "mode: Enforce\n" MX MA, 0, INVALID, { PE(POLICY_INVALID_MODE, 2, 7) }, FAILS },
	{ V "mode: \"enforce\"\n" MX MA, 0, INVALID, { PE(POLICY_INVALID_MODE, 2, 7) }, FAILS },
	/* mode value is case-sensitive: "TESTING" */
	{ V "mode: TESTING\n" MX MA, 0, INVALID, { PE(POLICY_INVALID_MODE, 2, 7) }, FAILS },
	/* mode value: only the three names */
	{ V "mode: enforcing\n" MX MA, 0, INVALID, { PE(POLICY_INVALID_MODE, 2, 7) }, FAILS },
	/* mode value: a prefix is not enough */
	{ V "mode: enf\n" MX MA, 0, INVALID, { PE(POLICY_INVALID_MODE, 2, 7) }, FAILS },
	/* mode value: one word only */
	{ V "mode: enforce testing\n" MX MA, 0, INVALID, { PE(POLICY_INVALID_MODE, 2, 7) },
	  FAILS },
	/* mode is required */
	{ V MX MA, 0, INVALID, { PE(POLICY_MISSING_MODE, 0, 0) }, FAILS },
	/* at least one mx unless mode is none: enforce */
	{ V ME MA, 0, INVALID, { PE(POLICY_MISSING_MX, 0, 0) }, FAILS },
	/* at least one mx unless mode is none: testing */
	{ V "mode: testing\n" MA, 0, INVALID, { PE(POLICY_MISSING_MX, 0, 0) }, FAILS },

	/* --- max_age = 1*10(DIGIT), at most 31557600 --- */
	/* the max_age ladder (mtasts/policy_facts.h) in enforce mode: */
	/* two weeks exactly: nothing to say */
	{ GOOD, 0, OK, NO_DIAGS, ENFORCE, 1209600, { "mx.example.com", NULL }, NO_EXT, 4 },
	/* one second less: under two weeks, at the value */
	{ V ME MX "max_age: 1209599\n", 0, OK, { PW(POLICY_MAX_AGE_UNDER_TWO_WEEKS, 4, 10) },
	  ENFORCE, 1209599, { "mx.example.com", NULL }, NO_EXT, 4 },
	/* one day exactly: still under two weeks, not short */
	{ V ME MX "max_age: 86400\n", 0, OK, { PW(POLICY_MAX_AGE_UNDER_TWO_WEEKS, 4, 10) },
	  ENFORCE, 86400, { "mx.example.com", NULL }, NO_EXT, 4 },
	/* under a day: policy-short-max-age, the lower rung only */
	{ V ME MX "max_age: 86399\n", 0, OK, { PW(POLICY_SHORT_MAX_AGE, 4, 10) }, ENFORCE,
	  86399, { "mx.example.com", NULL }, NO_EXT, 4 },
	/* max_age 0 is valid grammar, and short */
	{ V ME MX "max_age: 0\n", 0, OK, { PW(POLICY_SHORT_MAX_AGE, 4, 10) }, ENFORCE, 0,
	  { "mx.example.com", NULL }, NO_EXT, 4 },
	/* in testing mode only the lower rung counts */
	{ V "mode: testing\n" MX "max_age: 86400\n", 0, OK, { PI(POLICY_MODE_TESTING, 2, 7) },
	  TESTING, 86400, { "mx.example.com", NULL }, NO_EXT, 4 },
	/* in mode none a short max_age is how a policy is withdrawn */
	{ V "mode: none\nmax_age: 60\n", 0, OK, { PW(POLICY_MODE_NONE, 2, 7) }, NONE, 60,
	  NO_MX, NO_EXT, 3 },
	/* max_age 31557600 is the largest */
	{ V ME MX "max_age: 31557600\n", 0, OK, NO_DIAGS, ENFORCE, 31557600,
	  { "mx.example.com", NULL }, NO_EXT, 4 },
	/* max_age: 10 digits with leading zeros */
	{ V ME MX "max_age: 0001209600\n", 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, NO_EXT, 4 },
	/* max_age: 11 digits is too many, even when small (column of the 11th) */
	{ V ME MX "max_age: 00000086400\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 20) },
	  FAILS },
	/* max_age: 11 digits and large */
	{ V ME MX "max_age: 12345678901\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 20) },
	  FAILS },
	/* max_age: one over the maximum */
	{ V ME MX "max_age: 31557601\n", 0, INVALID,
	  { PE(POLICY_MAX_AGE_TOO_LARGE, 4, 10) }, FAILS },
	/* max_age: the largest 10-digit number */
	{ V ME MX "max_age: 9999999999\n", 0, INVALID,
	  { PE(POLICY_MAX_AGE_TOO_LARGE, 4, 10) }, FAILS },
	/* max_age: a sign is not a digit */
	{ V ME MX "max_age: -1\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 10) }, FAILS },
	/* max_age: "+" is not a digit */
	{ V ME MX "max_age: +86400\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 10) },
	  FAILS },
	/* max_age: a unit suffix */
	{ V ME MX "max_age: 86400s\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 15) },
	  FAILS },
	/* max_age: a decimal point */
	{ V ME MX "max_age: 1.5\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 11) }, FAILS },
	/* max_age: hexadecimal */
	{ V ME MX "max_age: 0x10\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 11) }, FAILS },
	/* max_age: internal white space */
	{ V ME MX "max_age: 86 400\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 12) },
	  FAILS },
	/* max_age: a non-ASCII digit */
	{ V ME MX "max_age: \xd9\xa1\n", 0, INVALID, { PE(POLICY_INVALID_MAX_AGE, 4, 10) },
	  FAILS },
	/* max_age is required */
	{ V ME MX, 0, INVALID, { PE(POLICY_MISSING_MAX_AGE, 0, 0) }, FAILS },

	/* --- mx = ["*."] Domain, in A-label form --- */
	/* mx: a wildcard pattern */
	{ WITH_MX("*.example.com"), 0, OK, NO_DIAGS, ENFORCE, 1209600, { "*.example.com", NULL },
	  NO_EXT, 4 },
	/* mx: letters, digits and hyphens; kept as written (case too) */
	{ WITH_MX("MX-1.Ex4mple.COM"), 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "MX-1.Ex4mple.COM", NULL }, NO_EXT, 4 },
	/* mx: an A-label */
	{ WITH_MX("xn--bcher-kva.example"), 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "xn--bcher-kva.example", NULL }, NO_EXT, 4 },
	/* mx: a single label is a Domain, though no MX host has one */
	{ WITH_MX("localhost"), 0, OK, { PW(POLICY_MX_MATCHES_NOTHING, 3, 5) }, ENFORCE,
	  1209600, { "localhost", NULL }, NO_EXT, 4 },
	/* mx: all-digit labels are LDH, though no host name ends in one */
	{ WITH_MX("123.456"), 0, OK, { PW(POLICY_MX_MATCHES_NOTHING, 3, 5) }, ENFORCE, 1209600,
	  { "123.456", NULL }, NO_EXT, 4 },
	/* mx: an IPv4 address fits the grammar, and never matches an MX host */
	{ WITH_MX("192.0.2.25"), 0, OK, { PW(POLICY_MX_IP_ADDRESS, 3, 5) }, ENFORCE, 1209600,
	  { "192.0.2.25", NULL }, NO_EXT, 4 },
	/* mx: a wildcard on a single label is as wide as a TLD */
	{ WITH_MX("*.com"), 0, OK, { PW(POLICY_MX_PUBLIC_SUFFIX, 3, 5) }, ENFORCE, 1209600,
	  { "*.com", NULL }, NO_EXT, 4 },
	/* mx: without a public suffix list "*.co.uk" is not known to be one */
	{ WITH_MX("*.co.uk"), 0, OK, NO_DIAGS, ENFORCE, 1209600, { "*.co.uk", NULL }, NO_EXT,
	  4 },
	/* mx: in mode none senders do not look at the patterns */
	{ V "mode: none\nmx: *.com\nmx: 192.0.2.25\n" MA, 0, OK, { PW(POLICY_MODE_NONE, 2, 7) },
	  NONE, 1209600, { "*.com", "192.0.2.25", NULL }, NO_EXT, 5 },
	/* mx: an IPv6 address is no name at all: the error says what it is */
	{ WITH_MX("2001:db8::25"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 5) }, FAILS },
	/* mx: an address literal likewise */
	{ WITH_MX("[192.0.2.25]"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 5) }, FAILS },
	/* mx: a label may not start with a hyphen */
	{ WITH_MX("-mx.example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 5) }, FAILS },
	/* mx: a label may not end with a hyphen */
	{ WITH_MX("mx-.example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 7) }, FAILS },
	/* mx: the last label may not end with a hyphen */
	{ WITH_MX("mx.example-"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 15) }, FAILS },
	/* mx: no empty label */
	{ WITH_MX("mx..example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 8) }, FAILS },
	/* mx: no leading dot */
	{ WITH_MX(".example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 5) }, FAILS },
	/* mx: no trailing dot */
	{ WITH_MX("mx.example.com."), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 19) }, FAILS },
	/* mx: no trailing dot after a wildcard pattern either */
	{ WITH_MX("*.example.com."), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 18) }, FAILS },
	/* mx: "_" is not LDH */
	{ WITH_MX("mx_1.example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 7) }, FAILS },
	/* mx: a port is not part of a Domain */
	{ WITH_MX("mx.example.com:25"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 19) }, FAILS },
	/* mx: an address literal is not a Domain */
	{ WITH_MX("[192.0.2.1]"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 5) }, FAILS },
	/* mx: internal white space */
	{ WITH_MX("mx example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 7) }, FAILS },
	/* mx: "*" only as the whole leftmost label: "*" alone */
	{ WITH_MX("*"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 5) }, FAILS },
	/* mx: "*." needs a Domain after it */
	{ WITH_MX("*."), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 7) }, FAILS },
	/* mx: "*" not followed by "." */
	{ WITH_MX("*example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 5) }, FAILS },
	/* mx: "*" inside a label */
	{ WITH_MX("mx*.example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 7) }, FAILS },
	/* mx: "*" in a label other than the leftmost */
	{ WITH_MX("mx.*.example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 8) }, FAILS },
	/* mx: two wildcard labels */
	{ WITH_MX("*.*.example.com"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 7) }, FAILS },
	/* mx: no U-labels (valid UTF-8, rejected at the first non-ASCII octet) */
	{ WITH_MX("b\xc3\xbc" "cher.example"), 0, INVALID, { PE(POLICY_INVALID_MX, 3, 6) },
	  FAILS },
	/* mx: invalid UTF-8 in the value is policy-invalid-utf8 */
	{ WITH_MX("mx\xff.example.com"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 3, 7) }, FAILS },
	/* mx: an empty value (the mx line is there, so no policy-missing-mx) */
	{ V ME "mx:\n" MA, 0, INVALID, { PE(POLICY_INVALID_VALUE, 3, 4) }, FAILS },
	/* mx: one bad mx among good ones is still an error */
	{ V ME MX "mx: -bad.example\n" MA, 0, INVALID, { PE(POLICY_INVALID_MX, 4, 5) }, FAILS },
	/* a repeated mx: policy-duplicate-mx, and both entries kept */
	{ V ME MX MX MA, 0, OK, { PW(POLICY_DUPLICATE_MX, 4, 5) }, ENFORCE, 1209600,
	  { "mx.example.com", "mx.example.com", NULL }, NO_EXT, 5 },
	/* a repeated mx differing in case is the same name */
	{ V ME MX "mx: MX.Example.com\n" MA, 0, OK, { PW(POLICY_DUPLICATE_MX, 4, 5) }, ENFORCE,
	  1209600, { "mx.example.com", "MX.Example.com", NULL }, NO_EXT, 5 },
	/* a wildcard and the host it covers are different patterns */
	{ V ME MX "mx: *.example.com\n" MA, 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", "*.example.com", NULL }, NO_EXT, 5 },

	/* --- extension values: vchar or UTF-8, spaces inside, no CTLs --- */
	/* extension value: UTF-8 and internal spaces (several too) kept verbatim */
	{ WITH_LINE5("note: caf\xc3\xa9 au  lait"), 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, { "note", "caf\xc3\xa9 au  lait", NULL }, 5 },
	/* only SP between vchars (%x20): an internal tab is policy-invalid-value */
	{ WITH_LINE5("x: a\tb"), 0, INVALID, { PE(POLICY_INVALID_VALUE, 5, 5) }, FAILS },
	/* an internal tab among spaces (column of the tab) */
	{ WITH_LINE5("note: caf\xc3\xa9 au \t lait"), 0, INVALID,
	  { PE(POLICY_INVALID_VALUE, 5, 16) }, FAILS },
	/* a tab inside a known field's value: reported there, mode not also missing */
	{ V "mode: enforce\ttesting\n" MX MA, 0, INVALID, { PE(POLICY_INVALID_VALUE, 2, 14) },
	  FAILS },
	/* a tab inside the version value */
	{ "version: STSv1\tx\n" ME MX MA, 0, INVALID, { PE(POLICY_INVALID_VALUE, 1, 15) },
	  FAILS },
	/* tabs after the colon and at the end of the line are *WSP: allowed */
	{ V ME MX MA "x:\t a b \t\n", 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, { "x", "a b", NULL }, 5 },
	/* extension value: a four-octet UTF-8 sequence */
	{ WITH_LINE5("x: \xf0\x9f\x93\xa7"), 0, OK, NO_DIAGS, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, { "x", "\xf0\x9f\x93\xa7", NULL }, 5 },
	/* extension value: every VCHAR */
	{ WITH_LINE5("x: !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"), 0, OK, NO_DIAGS, ENFORCE,
	  1209600, { "mx.example.com", NULL }, { "x", "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~",
	  NULL }, 5 },
	/* invalid UTF-8: a bad continuation octet */
	{ WITH_LINE5("x: \xc3\x28"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 5, 4) }, FAILS },
	/* invalid UTF-8: an overlong form */
	{ WITH_LINE5("x: a\xc0\xaf"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 5, 5) }, FAILS },
	/* invalid UTF-8: an overlong three-octet form */
	{ WITH_LINE5("x: \xe0\x80\xaf"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 5, 4) }, FAILS },
	/* invalid UTF-8: a surrogate */
	{ WITH_LINE5("x: \xed\xa0\x80"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 5, 4) }, FAILS },
	/* invalid UTF-8: above U+10FFFF */
	{ WITH_LINE5("x: \xf4\x90\x80\x80"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 5, 4) },
	  FAILS },
	/* invalid UTF-8: a lone continuation octet */
	{ WITH_LINE5("x: ab\x80"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 5, 6) }, FAILS },
	/* invalid UTF-8: a sequence cut short by the end of the line */
	{ WITH_LINE5("x: abc\xe2\x82"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 5, 7) }, FAILS },
	/* invalid UTF-8: 0xff never appears */
	{ WITH_LINE5("x: \xff"), 0, INVALID, { PE(POLICY_INVALID_UTF8, 5, 4) }, FAILS },
	/* a control character in a value is policy-invalid-value */
	{ WITH_LINE5("x: a\x01" "b"), 0, INVALID, { PE(POLICY_INVALID_VALUE, 5, 5) }, FAILS },
	/* DEL is a control character */
	{ WITH_LINE5("x: a\x7f"), 0, INVALID, { PE(POLICY_INVALID_VALUE, 5, 5) }, FAILS },
	/* a control character in a known field's value (mode is present, though bad) */
	{ V "mode: enforce\x1b[0m\n" MX MA, 0, INVALID, { PE(POLICY_INVALID_VALUE, 2, 14) },
	  FAILS },
	/* a NUL octet in a value is a control character */
	{ GOOD "x: a\0b\n", sizeof(GOOD "x: a\0b\n") - 1,
	  INVALID, { PE(POLICY_INVALID_VALUE, 5, 5) }, FAILS },

	/* --- duplicated fields: the first wins --- */
	/* a repeated mode: the first is used, a warning for the second */
	{ V ME "mode: testing\n" MX MA, 0, OK, { PW(POLICY_DUPLICATE_FIELD, 3, 1) }, ENFORCE,
	  1209600, { "mx.example.com", NULL }, NO_EXT, 5 },
	/* a repeated version, even an invalid one: only a warning */
	{ V ME MX MA "version: STSv2\n", 0, OK, { PW(POLICY_DUPLICATE_FIELD, 5, 1) }, ENFORCE,
	  1209600, { "mx.example.com", NULL }, NO_EXT, 5 },
	/* a repeated max_age: the first value is used */
	{ V ME MX MA "max_age: 600\n", 0, OK, { PW(POLICY_DUPLICATE_FIELD, 5, 1) }, ENFORCE,
	  1209600, { "mx.example.com", NULL }, NO_EXT, 5 },
	/* a repeated extension: the first value is kept, once */
	{ GOOD "x: 1\nx: 2\n", 0, OK, { PW(POLICY_DUPLICATE_FIELD, 6, 1) }, ENFORCE, 1209600,
	  { "mx.example.com", NULL }, { "x", "1", NULL }, 6 },
	/* the first wins even when it is invalid: the record fails */
	{ V "mode: bogus\n" ME MX MA, 0, INVALID,
	  { PE(POLICY_INVALID_MODE, 2, 7), PW(POLICY_DUPLICATE_FIELD, 3, 1) }, FAILS },
	/* the first max_age wins even when the later one is fine */
	{ V ME MX "max_age: 99999999999\n" MA, 0, INVALID,
	  { PE(POLICY_INVALID_MAX_AGE, 4, 20), PW(POLICY_DUPLICATE_FIELD, 5, 1) }, FAILS },

	/* --- several problems in one body: all reported, in order --- */
	/* every value wrong */
	{ "version: STSv2\nmode: strict\nmx: -bad\nmax_age: x\n", 0, INVALID,
	  { PE(POLICY_INVALID_VERSION, 1, 10), PE(POLICY_INVALID_MODE, 2, 7),
	    PE(POLICY_INVALID_MX, 3, 5), PE(POLICY_INVALID_MAX_AGE, 4, 10) }, FAILS },
	/* every line's shape wrong: each line once, no field also missing */
	{ " version: STSv1\nmode : enforce\n\nmx: a.b\rmax_age: 1\n", 0, INVALID,
	  { PE(POLICY_SYNTAX, 1, 1), PE(POLICY_SYNTAX, 2, 5), PE(POLICY_EMPTY_LINE, 3, 1),
	    PE(POLICY_BAD_LINE_ENDING, 4, 8) }, FAILS },
	/* a warning on an earlier line stays before a later error */
	{ V ME "Mode: x\n" MX "max_age: 1 day\n", 0, INVALID,
	  { PW(POLICY_FIELD_CASE, 3, 1), PE(POLICY_INVALID_MAX_AGE, 5, 11) }, FAILS },
	/* only the required fields are missing: an extension alone */
	{ "foo: bar\n", 0, INVALID, { PE(POLICY_MISSING_VERSION, 0, 0),
	  PE(POLICY_MISSING_MODE, 0, 0), PE(POLICY_MISSING_MAX_AGE, 0, 0) }, FAILS },
	/* mode testing with a short max_age: both facts, in line order */
	{ V "mode: testing\n" MX "max_age: 3600\n", 0, OK,
	  { PI(POLICY_MODE_TESTING, 2, 7), PW(POLICY_SHORT_MAX_AGE, 4, 10) }, TESTING, 3600,
	  { "mx.example.com", NULL }, NO_EXT, 4 },
	/* every fact at once, each at its value, in line order */
	{ "max_age: 600\nmx: *.com\nversion: STSv1\nmx: 192.0.2.1\nmode: testing\n", 0, OK,
	  { PW(POLICY_SHORT_MAX_AGE, 1, 10), PW(POLICY_MX_PUBLIC_SUFFIX, 2, 5),
	    PW(POLICY_MX_IP_ADDRESS, 4, 5), PI(POLICY_MODE_TESTING, 5, 7) }, TESTING, 600,
	  { "*.com", "192.0.2.1", NULL }, NO_EXT, 5 },

	/* --- what is not a policy, or not quite: one error for one cause --- */
	/* HTML served instead of a policy: that alone */
	{ "<html>\n<body>Not Found</body>\n</html>\n", 0, INVALID,
	  { PE(POLICY_HTML, 1, 1) }, FAILS },
	/* an HTML page with a doctype, after white space, in other case */
	{ "\r\n  <!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">\n<html>\n", 0,
	  INVALID, { PE(POLICY_HTML, 2, 3) }, FAILS },
	/* an HTML page after a byte-order mark is still just an HTML page */
	{ "\xef\xbb\xbf<!doctype html>\n", 0, INVALID, { PE(POLICY_HTML, 1, 4) }, FAILS },
	/* "<htmlx" is no HTML tag: the lines are judged as lines */
	{ "<htmlx>\n", 0, INVALID, { PE(POLICY_SYNTAX, 1, 8), PE(POLICY_MISSING_VERSION, 0, 0),
	  PE(POLICY_MISSING_MODE, 0, 0), PE(POLICY_MISSING_MAX_AGE, 0, 0) }, FAILS },
	/* a UTF-8 byte-order mark: named, and the rest parsed (column past it) */
	{ "\xef\xbb\xbf" GOOD, 0, INVALID, { PE(POLICY_BYTE_ORDER_MARK, 1, 1) }, FAILS },
	{ "\xef\xbb\xbfversion STSv1\n" ME MX MA, 0, INVALID,
	  { PE(POLICY_BYTE_ORDER_MARK, 1, 1), PE(POLICY_SYNTAX, 1, 11) }, FAILS },
	/* UTF-16, either byte order: that alone */
	{ "\xff\xfev\0e\0r\0", 8, INVALID, { PE(POLICY_BYTE_ORDER_MARK, 1, 1) }, FAILS },
	{ "\xfe\xff\0v\0e\0r", 8, INVALID, { PE(POLICY_BYTE_ORDER_MARK, 1, 1) }, FAILS },
};

static bool check_result(const struct policy_case *c, const struct mtasts_policy *p)
{
	size_t n = 0;

	if (p->mode != c->mode || p->max_age != c->max_age ||
	    p->lf_only_lines != c->lf_only_lines) {
		print_error("  got mode %d, max_age %u, lf_only_lines %zu\n", (int)p->mode,
			    (unsigned)p->max_age, p->lf_only_lines);
		return false;
	}
	while (c->mx[n] != NULL)
		n++;
	if (p->mx_count != n) {
		print_error("  got %zu mx, expected %zu\n", p->mx_count, n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(p->mx[i], c->mx[i]) != 0) {
			print_error("  mx %zu is \"%s\"\n", i, p->mx[i]);
			return false;
		}
	}
	return extensions_match(p->extensions, p->extension_count, c->ext);
}

/* Serialize a parsed policy and parse it again: the same policy comes back. */
static bool round_trip(const struct mtasts_policy *p)
{
	struct mtasts_policy *again = NULL;
	struct mtasts_diags diags;
	char *text = NULL;
	size_t len = 0;
	bool ok;

	if (mtasts_policy_serialize(p, &text, &len) != MTASTS_OK) {
		print_error("  serialize failed\n");
		return false;
	}
	mtasts_diags_init(&diags);
	ok = strlen(text) == len &&
	     mtasts_policy_parse(text, len, &again, &diags) == MTASTS_OK &&
	     mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR) == 0 &&
	     again->mode == p->mode && again->max_age == p->max_age &&
	     again->mx_count == p->mx_count && again->extension_count == p->extension_count &&
	     again->lf_only_lines == 0;
	for (size_t i = 0; ok && i < p->mx_count; i++)
		ok = strcmp(again->mx[i], p->mx[i]) == 0;
	for (size_t i = 0; ok && i < p->extension_count; i++)
		ok = strcmp(again->extensions[i].name, p->extensions[i].name) == 0 &&
		     strcmp(again->extensions[i].value, p->extensions[i].value) == 0;
	if (!ok)
		print_error("  round trip failed through \"%s\"\n", escape(text, len));
	mtasts_policy_free(again);
	free(text);
	return ok;
}

static bool run_case(size_t i, const struct policy_case *c)
{
	struct mtasts_policy sentinel, *p = &sentinel;
	struct mtasts_diags diags;
	size_t len = c->len != 0 ? c->len : strlen(c->body);
	bool ok = true;
	int rc;

	mtasts_diags_init(&diags);
	rc = mtasts_policy_parse(c->body, len, &p, &diags);
	ok = outcome_matches(rc, c->rc, &diags, c->diags, p != &sentinel);
	if (rc == MTASTS_OK && p != &sentinel) {
		ok = ok && check_result(c, p) && round_trip(p);
		p = mtasts_policy_free(p);
	}
	if (!ok) {
		print_diags(&diags);
		print_error("FAILED case %zu: \"%s\"\n", i, escape(c->body, len));
	}
	return ok;
}

static void test_table(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		failed += !run_case(i, &cases[i]);
	if (failed > 0)
		fail_msg("%zu of %zu cases failed", failed, ARRAY_LEN(cases));
}

/* A body of len octets: a good policy, then "x: yyy...\n" lines to fill it. */
static char *filled_body(size_t len)
{
	char *body = malloc(len + 1);
	size_t pos = strlen(GOOD);

	assert_non_null(body);
	assert_true(len >= pos + 5);
	memcpy(body, GOOD, pos);
	while (pos < len) {
		size_t line = len - pos < 80 ? len - pos : 80;

		if (len - pos - line < 5 && len - pos - line > 0)
			line -= 5;
		memset(body + pos, 'y', line - 1);
		memcpy(body + pos, "x: ", 3);
		body[pos + line - 1] = '\n';
		pos += line;
	}
	body[len] = '\0';
	return body;
}

static void test_body_size(void **state)
{
	struct mtasts_policy sentinel, *p = &sentinel;
	struct mtasts_diags diags;
	char *body = filled_body(MTASTS_POLICY_BODY_MAX + 1);
	const struct want_diag too_large[] = { PE(POLICY_TOO_LARGE, 0, 0), { 0 } };

	(void)state;
	/* a body of exactly MTASTS_POLICY_BODY_MAX octets is read */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, MTASTS_POLICY_BODY_MAX, &p, &diags),
			 MTASTS_OK);
	assert_int_equal(p->mx_count, 1);
	assert_int_equal(p->extension_count, 1);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR), 0);
	assert_int_equal(mtasts_diags_find(&diags, MTASTS_POLICY_DUPLICATE_FIELD)->line, 6);
	p = mtasts_policy_free(p);

	/* one octet more: policy-too-large, rejected unread */
	p = &sentinel;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, MTASTS_POLICY_BODY_MAX + 1, &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, too_large));
	assert_ptr_equal(p, &sentinel);
	free(body);
}

static void test_mx_lengths(void **state)
{
	char label63[64], name253[254], body[512];
	struct mtasts_policy *p = NULL;
	struct mtasts_diags diags;
	const struct want_diag long_label[] = { PE(POLICY_INVALID_MX, 3, 68), { 0 } };
	const struct want_diag long_name[] = { PE(POLICY_INVALID_MX, 3, 258), { 0 } };

	(void)state;
	memset(label63, 'a', 63);
	label63[63] = '\0';
	/* labels of 63 octets and dots, cut to 253 octets: 63.63.63.61 */
	memset(name253, 'a', 253);
	name253[63] = name253[127] = name253[191] = '.';
	name253[252] = 'z';
	name253[253] = '\0';

	/* a label of 63 octets is the longest */
	snprintf(body, sizeof(body), V ME "mx: %s.example\n" MA, label63);
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, strlen(body), &p, &diags), MTASTS_OK);
	assert_int_equal(strlen(p->mx[0]), 63 + 8);
	p = mtasts_policy_free(p);

	/* a label of 64 octets is too long (column of its 64th octet) */
	snprintf(body, sizeof(body), V ME "mx: %sb.example\n" MA, label63);
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, strlen(body), &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, long_label));

	/* a name of 253 octets is the longest */
	snprintf(body, sizeof(body), V ME "mx: %s\n" MA, name253);
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, strlen(body), &p, &diags), MTASTS_OK);
	assert_int_equal(strlen(p->mx[0]), 253);
	p = mtasts_policy_free(p);

	/* a name of 254 octets is too long (column just past the 253rd octet) */
	snprintf(body, sizeof(body), V ME "mx: %sz\n" MA, name253);
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, strlen(body), &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, long_name));
}

static void test_too_many_mx(void **state)
{
	size_t n = MTASTS_POLICY_MX_MAX + 1, size = n * 32 + 64, pos;
	char *body = malloc(size);
	struct mtasts_policy sentinel, *p = &sentinel;
	struct mtasts_diags diags;

	(void)state;
	assert_non_null(body);
	pos = (size_t)snprintf(body, size, V ME MA);
	for (size_t i = 0; i < MTASTS_POLICY_MX_MAX; i++)
		pos += (size_t)snprintf(body + pos, size - pos, "mx: mx%zu.example\n", i);

	/* MTASTS_POLICY_MX_MAX mx lines are accepted, in order */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, pos, &p, &diags), MTASTS_OK);
	assert_int_equal(p->mx_count, MTASTS_POLICY_MX_MAX);
	assert_string_equal(p->mx[0], "mx0.example");
	assert_string_equal(p->mx[MTASTS_POLICY_MX_MAX - 1], "mx1023.example");
	assert_int_equal(diags.count, 0);
	p = mtasts_policy_free(p);

	/* one more is rejected with policy-too-many-mx on its line */
	p = &sentinel;
	pos += (size_t)snprintf(body + pos, size - pos, "mx: one-more.example\n");
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, pos, &p, &diags), MTASTS_ERR_INVALID);
	assert_int_equal(diags.count, 1);
	assert_int_equal(diags.items[0].code, MTASTS_POLICY_TOO_MANY_MX);
	assert_int_equal(diags.items[0].line, 3 + MTASTS_POLICY_MX_MAX + 1);
	assert_ptr_equal(p, &sentinel);
	free(body);
}

static void test_many_errors(void **state)
{
	size_t lines = 500, size = lines * 16, pos = 0;
	char *body = malloc(size);
	struct mtasts_policy sentinel, *p = &sentinel;
	struct mtasts_diags diags;

	(void)state;
	assert_non_null(body);
	for (size_t i = 0; i < lines; i++)
		pos += (size_t)snprintf(body + pos, size - pos, "mode : x%zu\n", i);

	/* hundreds of errors: the list stays within its capacity, the rest counted */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, pos, &p, &diags), MTASTS_ERR_INVALID);
	assert_int_equal(diags.count, MTASTS_DIAGS_MAX);
	/* each line's syntax error plus the two missing fields (mode is given) */
	assert_int_equal(diags.count + diags.dropped, lines + 2);
	for (size_t i = 0; i < MTASTS_DIAGS_MAX; i++) {
		assert_int_equal(diags.items[i].code, MTASTS_POLICY_SYNTAX);
		assert_int_equal(diags.items[i].line, i + 1);
		assert_int_equal(diags.items[i].column, 5);
	}
	assert_ptr_equal(p, &sentinel);

	/* diagnostics already in the list are kept; new ones follow */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse("x", 1, &p, &diags), MTASTS_ERR_INVALID);
	assert_int_equal(mtasts_policy_parse("mode: none", 10, &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_int_equal(diags.items[0].code, MTASTS_POLICY_SYNTAX);
	assert_int_equal(diags.items[3].code, MTASTS_POLICY_MISSING_MAX_AGE);
	assert_int_equal(diags.items[4].code, MTASTS_POLICY_MISSING_VERSION);
	assert_int_equal(diags.count, 6);
	free(body);
}

/* head, then `repeats` lines "x: 1" (all but the first draw a warning), then tail */
static char *body_with_warnings(const char *head, size_t repeats, const char *tail)
{
	size_t size = strlen(head) + repeats * 5 + strlen(tail) + 1, pos;
	char *body = malloc(size);

	assert_non_null(body);
	pos = (size_t)snprintf(body, size, "%s", head);
	for (size_t i = 0; i < repeats; i++)
		pos += (size_t)snprintf(body + pos, size - pos, "x: 1\n");
	snprintf(body + pos, size - pos, "%s", tail);
	return body;
}

/* The list is sorted by line, then column; problems without a line come last. */
static bool sorted_by_position(const struct mtasts_diags *d, size_t first)
{
	for (size_t i = first + 1; i < d->count; i++) {
		const struct mtasts_diag *a = &d->items[i - 1], *b = &d->items[i];
		unsigned la = a->line != 0 ? a->line : UINT32_MAX;
		unsigned lb = b->line != 0 ? b->line : UINT32_MAX;

		if (la > lb || (la == lb && a->column > b->column))
			return false;
	}
	return true;
}

static void test_warnings_then_error(void **state)
{
	size_t repeats = MTASTS_DIAGS_MAX + 10, warnings = repeats - 1;
	struct mtasts_policy sentinel, *p = &sentinel;
	struct mtasts_diags diags;
	const struct mtasts_diag *d;
	char *body;

	(void)state;
	/* more warnings than the list holds, then an error on the last line */
	body = body_with_warnings(V ME MX, repeats, "max_age: 1 day\n");
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, strlen(body), &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_ptr_equal(p, &sentinel);
	assert_int_equal(diags.count, MTASTS_DIAGS_MAX);
	assert_int_equal(diags.count + diags.dropped, warnings + 1);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR), 1);
	d = mtasts_diags_find(&diags, MTASTS_POLICY_INVALID_MAX_AGE);
	assert_non_null(d);
	assert_int_equal(d->line, 3 + repeats + 1);
	assert_int_equal(d->column, 11);
	/* still in position order: the earliest warnings kept, the error last */
	assert_true(sorted_by_position(&diags, 0));
	assert_int_equal(diags.items[0].line, 5);
	assert_ptr_equal(d, &diags.items[MTASTS_DIAGS_MAX - 1]);
	free(body);

	/* the same with an error that has no line (a missing field) */
	body = body_with_warnings(V ME MX, repeats, "");
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, strlen(body), &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR), 1);
	assert_int_equal(diags.items[MTASTS_DIAGS_MAX - 1].code,
			 MTASTS_POLICY_MISSING_MAX_AGE);
	assert_true(sorted_by_position(&diags, 0));
	assert_ptr_equal(p, &sentinel);
	free(body);
}

static void test_errors_after_full_list(void **state)
{
	struct mtasts_policy sentinel, *p = &sentinel;
	struct mtasts_diags diags;
	const char *bad = "version: STSv2\n mode: x\n";
	char *body = body_with_warnings(GOOD, MTASTS_DIAGS_MAX + 2, "");

	(void)state;
	/* a valid policy with one warning more than the caller's list holds */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, strlen(body), &p, &diags), MTASTS_OK);
	assert_int_equal(diags.count, MTASTS_DIAGS_MAX);
	assert_int_equal(diags.dropped, 1);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR), 0);
	p = mtasts_policy_free(p);
	free(body);

	/*
	 * A second parse into the same list: its errors displace the latest
	 * warnings of the first, and they are still sorted among themselves
	 * (found in the order line 2, line 1, then the missing field; mode is
	 * given on the indented line 2, so it is not also missing).
	 */
	p = &sentinel;
	assert_int_equal(mtasts_policy_parse(bad, strlen(bad), &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_ptr_equal(p, &sentinel);
	assert_int_equal(diags.count, MTASTS_DIAGS_MAX);
	assert_int_equal(diags.dropped, 1 + 3);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR), 3);
	assert_int_equal(diags.items[MTASTS_DIAGS_MAX - 4].code,
			 MTASTS_POLICY_DUPLICATE_FIELD);
	assert_int_equal(diags.items[MTASTS_DIAGS_MAX - 3].code,
			 MTASTS_POLICY_INVALID_VERSION);
	assert_int_equal(diags.items[MTASTS_DIAGS_MAX - 2].code, MTASTS_POLICY_SYNTAX);
	assert_int_equal(diags.items[MTASTS_DIAGS_MAX - 1].code,
			 MTASTS_POLICY_MISSING_MAX_AGE);
	assert_true(sorted_by_position(&diags, MTASTS_DIAGS_MAX - 3));
}

/* A stand-in for libidn2: knows one name. */
static bool fake_a_label(void *arg, const char *name, char *out, size_t size)
{
	(void)arg;
	if (strcmp(name, "mx.b\xc3\xbc" "cher.example") != 0)
		return false;
	snprintf(out, size, "mx.xn--bcher-kva.example");
	return true;
}

static bool fake_suffixes(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "co.uk") == 0 || strchr(name, '.') == NULL;
}

/* What mtasts_policy_parse_with() adds: the helpers the core has not. */
static void test_helpers(void **state)
{
	const struct mtasts_policy_helpers helpers = {
		.is_public_suffix = fake_suffixes, .to_a_label = fake_a_label,
	};
	const char *ulabel = WITH_MX("mx.b\xc3\xbc" "cher.example");
	const char *wild = WITH_MX("*.mx.b\xc3\xbc" "cher.example");
	const char *unknown = WITH_MX("mx.stra\xc3\x9f" "e.example");
	const char *suffix = WITH_MX("*.co.uk");
	struct mtasts_policy sentinel, *p = &sentinel;
	struct mtasts_diags diags;

	(void)state;
	/* a U-label in an mx: the error gives the A-label form to write */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse_with(ulabel, strlen(ulabel), &helpers, &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_int_equal(diags.count, 1);
	assert_int_equal(diags.items[0].code, MTASTS_POLICY_INVALID_MX);
	assert_int_equal(diags.items[0].column, 9);
	assert_non_null(strstr(diags.items[0].message, "write \"mx: mx.xn--bcher-kva.example\""));
	/* ... wildcards keep their "*." */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse_with(wild, strlen(wild), &helpers, &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_non_null(strstr(diags.items[0].message, "\"mx: *.mx.xn--bcher-kva.example\""));
	/* ... without the helper, or when it fails, the rule is said instead */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(ulabel, strlen(ulabel), &p, &diags),
			 MTASTS_ERR_INVALID);
	assert_non_null(strstr(diags.items[0].message, "A-label (xn--) form"));
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse_with(unknown, strlen(unknown), &helpers, &p,
						  &diags), MTASTS_ERR_INVALID);
	assert_non_null(strstr(diags.items[0].message, "A-label (xn--) form"));
	assert_ptr_equal(p, &sentinel);
	/* the public suffix test: "*.co.uk" is as wide as a public suffix */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse_with(suffix, strlen(suffix), &helpers, &p, &diags),
			 MTASTS_OK);
	assert_int_equal(diags.count, 1);
	assert_int_equal(diags.items[0].code, MTASTS_POLICY_MX_PUBLIC_SUFFIX);
	p = mtasts_policy_free(p);
	/* ... which it is not known to be without the list */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(suffix, strlen(suffix), &p, &diags), MTASTS_OK);
	assert_int_equal(diags.count, 0);
	p = mtasts_policy_free(p);
}

/* The words of a few answers: what to write instead. */
static void test_hints(void **state)
{
	static const struct {
		const char *body;
		const char *says;
	} hints[] = {
		{ V ME MX "max-age: 1209600\n", "did you mean \"max_age\"?" },
		{ V "Mode: enforce\n" MX MA, "field \"Mode\" is not \"mode\"" },
		{ V ME MX "max age: 1209600\n", "did you mean \"max_age\"?" },
		{ V ME MX "max_age=1209600\n", "write \"max_age: 1209600\"" },
		{ "version STSv1\n" ME MX MA, "write \"version: STSv1\"" },
		{ "\xef\xbb\xbf" GOOD, "byte-order mark" },
		{ "<!DOCTYPE html>\n", "the body is an HTML page, not a policy" },
		{ "version: STSv1\rmode: enforce\r", "separated by a carriage return alone" },
		{ WITH_MX("2001:db8::25"), "is an IP address, not a host name" },
		{ WITH_MX("192.0.2.25"), "is an IP address" },
		{ V "mode: testing\n" MX MA, "switch to mode: enforce" },
		{ V ME MX "max_age: 3600\n", "raise max_age to at least 1209600 (two weeks)" },
	};
	struct mtasts_diags diags;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(hints); i++) {
		struct mtasts_policy *p = NULL;

		mtasts_diags_init(&diags);
		mtasts_policy_parse(hints[i].body, strlen(hints[i].body), &p, &diags);
		p = mtasts_policy_free(p);
		assert_true(diags.count >= 1);
		if (strstr(diags.items[0].message, hints[i].says) == NULL)
			fail_msg("\"%s\": \"%s\" lacks \"%s\"",
				 escape(hints[i].body, strlen(hints[i].body)),
				 diags.items[0].message, hints[i].says);
	}
}

/* Information gives way first when an error needs a place. */
static void test_info_gives_way(void **state)
{
	struct mtasts_policy *p = NULL;
	struct mtasts_diags diags;
	const char *testing = V "mode: testing\n" MX MA;
	const char *bad = V "mode: x\n" MX MA;

	(void)state;
	assert_string_equal(mtasts_severity_name(MTASTS_SEVERITY_INFO), "info");
	mtasts_diags_init(&diags);
	for (size_t i = 0; i < MTASTS_DIAGS_MAX; i++) {
		assert_int_equal(mtasts_policy_parse(testing, strlen(testing), &p, &diags),
				 MTASTS_OK);
		p = mtasts_policy_free(p);
	}
	/* a warning at the start, then the list is full of information */
	diags.items[0].severity = MTASTS_SEVERITY_WARNING;
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_INFO), MTASTS_DIAGS_MAX - 1);
	assert_int_equal(mtasts_policy_parse(bad, strlen(bad), &p, &diags), MTASTS_ERR_INVALID);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR), 1);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_WARNING), 1);
	assert_int_equal(diags.dropped, 1);
}

static void test_arguments(void **state)
{
	struct mtasts_policy sentinel, *p = &sentinel;
	struct mtasts_diags diags;

	(void)state;
	/* _free(NULL) returns NULL */
	assert_null(mtasts_policy_free(NULL));
	/* NULL body with a length, or no place for the result */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(NULL, 3, &p, &diags), MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_policy_parse(GOOD, strlen(GOOD), NULL, &diags),
			 MTASTS_ERR_ARGUMENT);
	assert_ptr_equal(p, &sentinel);
	/* NULL body of length 0 is an empty policy */
	assert_int_equal(mtasts_policy_parse(NULL, 0, &p, &diags), MTASTS_ERR_INVALID);
	assert_non_null(mtasts_diags_find(&diags, MTASTS_POLICY_EMPTY));
	assert_ptr_equal(p, &sentinel);
	/* diagnostics are optional, in success and in every kind of failure */
	assert_int_equal(mtasts_policy_parse(V ME MA, strlen(V ME MA), &p, NULL),
			 MTASTS_ERR_INVALID);
	assert_int_equal(mtasts_policy_parse(WITH_MX("-x"), strlen(WITH_MX("-x")), &p, NULL),
			 MTASTS_ERR_INVALID);
	assert_ptr_equal(p, &sentinel);
	assert_int_equal(mtasts_policy_parse(GOOD, strlen(GOOD), &p, NULL), MTASTS_OK);
	assert_int_equal(p->mx_count, 1);
	p = mtasts_policy_free(p);
	/* mode names */
	assert_string_equal(mtasts_mode_name(MTASTS_MODE_ENFORCE), "enforce");
	assert_string_equal(mtasts_mode_name(MTASTS_MODE_TESTING), "testing");
	assert_string_equal(mtasts_mode_name(MTASTS_MODE_NONE), "none");
	assert_null(mtasts_mode_name((enum mtasts_mode)42));
}

/* --- the serializer --- */

struct serialize_case {
	enum mtasts_mode mode;
	uint32_t max_age;
	const char *mx[4];
	const char *ext[5];
	int rc;
	const char *text;
};

static const struct serialize_case serialize_cases[] = {
	/* canonical form: version, mode, mx in order, max_age, CRLF */
	{ ENFORCE, 604800, { "mail.example.com", "*.example.net", NULL }, NO_EXT, OK,
	  "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
	  "max_age: 604800\r\n" },
	/* canonical form: extensions last, in order */
	{ TESTING, 86400, { "mx.example.com", NULL }, { "b", "2", "a", "caf\xc3\xa9 1", NULL },
	  OK, "version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 86400\r\n"
	  "b: 2\r\na: caf\xc3\xa9 1\r\n" },
	/* mode none needs no mx */
	{ NONE, 0, NO_MX, NO_EXT, OK, "version: STSv1\r\nmode: none\r\nmax_age: 0\r\n" },
	/* the largest max_age */
	{ ENFORCE, 31557600, { "a.b", NULL }, NO_EXT, OK,
	  "version: STSv1\r\nmode: enforce\r\nmx: a.b\r\nmax_age: 31557600\r\n" },
	/* a case twin of a known field is a plain extension */
	{ ENFORCE, 1, { "a.b", NULL }, { "Mode", "x", NULL }, OK,
	  "version: STSv1\r\nmode: enforce\r\nmx: a.b\r\nmax_age: 1\r\nMode: x\r\n" },
	/* refused: max_age over the maximum */
	{ ENFORCE, 31557601, { "a.b", NULL }, NO_EXT, INVALID, NULL },
	/* refused: enforce without mx */
	{ ENFORCE, 86400, NO_MX, NO_EXT, INVALID, NULL },
	/* refused: testing without mx */
	{ TESTING, 86400, NO_MX, NO_EXT, INVALID, NULL },
	/* refused: an invalid mx pattern */
	{ ENFORCE, 86400, { "a.b", "-bad.example", NULL }, NO_EXT, INVALID, NULL },
	/* refused: an mx with a trailing dot */
	{ ENFORCE, 86400, { "a.b.", NULL }, NO_EXT, INVALID, NULL },
	/* refused: an mx that is a U-label */
	{ ENFORCE, 86400, { "b\xc3\xbc" "cher.example", NULL }, NO_EXT, INVALID, NULL },
	/* refused: an mx with a line break in it */
	{ ENFORCE, 86400, { "a.b\r\nmode: none", NULL }, NO_EXT, INVALID, NULL },
	/* refused: an extension named like a known field */
	{ ENFORCE, 86400, { "a.b", NULL }, { "mode", "none", NULL }, INVALID, NULL },
	/* refused: an extension named "mx" */
	{ ENFORCE, 86400, { "a.b", NULL }, { "mx", "c.d", NULL }, INVALID, NULL },
	/* refused: an extension name outside the grammar */
	{ ENFORCE, 86400, { "a.b", NULL }, { "_x", "1", NULL }, INVALID, NULL },
	/* refused: an extension name with a colon */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x:y", "1", NULL }, INVALID, NULL },
	/* refused: an empty extension value */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", "", NULL }, INVALID, NULL },
	/* refused: an extension value with leading white space (would not survive) */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", " 1", NULL }, INVALID, NULL },
	/* refused: an extension value with trailing white space */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", "1\t", NULL }, INVALID, NULL },
	/* refused: an extension value with trailing space */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", "1 ", NULL }, INVALID, NULL },
	/* refused: an extension value with an internal tab (only spaces parse back) */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", "1\t2", NULL }, INVALID, NULL },
	/* internal spaces are fine */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", "1  2", NULL }, OK,
	  "version: STSv1\r\nmode: enforce\r\nmx: a.b\r\nmax_age: 86400\r\nx: 1  2\r\n" },
	/* refused: an extension value with a line break */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", "1\nmode: none", NULL }, INVALID, NULL },
	/* refused: an extension value with invalid UTF-8 */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", "\xc3\x28", NULL }, INVALID, NULL },
	/* refused: an extension given twice (it would not parse back the same) */
	{ ENFORCE, 86400, { "a.b", NULL }, { "x", "1", "x", "2", NULL }, INVALID, NULL },
	/* refused: a mode out of range */
	{ (enum mtasts_mode)7, 86400, { "a.b", NULL }, NO_EXT, INVALID, NULL },
};

static bool run_serialize_case(size_t i, const struct serialize_case *c)
{
	struct mtasts_extension ext[2];
	char *mx[4];
	struct mtasts_policy p = { .mode = c->mode, .max_age = c->max_age, .mx = mx,
				   .extensions = ext };
	char sentinel[1], *text = sentinel;
	size_t len = 12345;
	bool ok;
	int rc;

	for (; c->mx[p.mx_count] != NULL; p.mx_count++)
		mx[p.mx_count] = (char *)c->mx[p.mx_count];
	for (; c->ext[2 * p.extension_count] != NULL; p.extension_count++) {
		ext[p.extension_count].name = (char *)c->ext[2 * p.extension_count];
		ext[p.extension_count].value = (char *)c->ext[2 * p.extension_count + 1];
	}
	rc = mtasts_policy_serialize(&p, &text, &len);
	ok = rc == c->rc;
	if (ok && rc == MTASTS_OK)
		ok = strcmp(text, c->text) == 0 && len == strlen(c->text) && round_trip(&p);
	else if (ok)
		ok = text == sentinel && len == 12345;
	if (!ok)
		print_error("FAILED serialize case %zu: status %d, text \"%s\"\n", i, rc,
			    rc == MTASTS_OK ? escape(text, strlen(text)) : "");
	if (rc == MTASTS_OK)
		free(text);
	return ok;
}

static void test_serialize(void **state)
{
	struct mtasts_policy p = { .mode = MTASTS_MODE_NONE };
	char *text = NULL;
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(serialize_cases); i++)
		failed += !run_serialize_case(i, &serialize_cases[i]);
	if (failed > 0)
		fail_msg("%zu of %zu serialize cases failed", failed,
			 ARRAY_LEN(serialize_cases));
	/* arguments: no policy, no place for the text; the length is optional */
	assert_int_equal(mtasts_policy_serialize(NULL, &text, NULL), MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_policy_serialize(&p, NULL, NULL), MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_policy_serialize(&p, &text, NULL), MTASTS_OK);
	assert_string_equal(text, "version: STSv1\r\nmode: none\r\nmax_age: 0\r\n");
	free(text);
	/* a struct with counts but no arrays is refused */
	p.mode = MTASTS_MODE_ENFORCE;
	p.mx_count = 1;
	text = NULL;
	assert_int_equal(mtasts_policy_serialize(&p, &text, NULL), MTASTS_ERR_INVALID);
	assert_null(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_body_size),
		cmocka_unit_test(test_mx_lengths),
		cmocka_unit_test(test_too_many_mx),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_warnings_then_error),
		cmocka_unit_test(test_errors_after_full_list),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_info_gives_way),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_serialize),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
