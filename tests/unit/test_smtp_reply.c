/*
 * test_smtp_reply.c - SMTP replies read from bytes (RFC 5321 4.2) and the
 * EHLO keywords in them, table-driven.
 *
 * Each case passes its bytes to smtp_reply_read() at once, then again one
 * octet more at a time (as a slow server would send them), and expects the
 * same outcome both ways: the status, the octets used, the code, the
 * number of lines, the first line as kept and the extension bits.
 */
#include <stdlib.h>

#include "unit.h"

#include "smtp_reply.h"

struct read_case {
	const char *bytes;
	size_t len;
	int rc;
	size_t used;
	int code;		/* when rc >= 0 and a line was added */
	unsigned lines;
	const char *first;
	unsigned extensions;
};

/* A string literal and its length, NUL octets inside included. */
#define B(s) s, sizeof(s) - 1

#define EHLO_POSTFIX "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
	"250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n" \
	"250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"

static const struct read_case read_cases[] = {
	/* a greeting of one line */
	{ B("220 mx.example ESMTP Postfix\r\n"), 1, 30, 220, 1,
	  "220 mx.example ESMTP Postfix", 0 },
	/* the EHLO reply of Postfix: the keywords known here, others ignored */
	{ B(EHLO_POSTFIX), 1, sizeof(EHLO_POSTFIX) - 1, 250, 11, "250-mx.example",
	  SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_STARTTLS |
	  SMTP_EXT_ENHANCEDSTATUSCODES | SMTP_EXT_8BITMIME | SMTP_EXT_DSN |
	  SMTP_EXT_SMTPUTF8 | SMTP_EXT_CHUNKING },
	/* keywords without regard to case, with parameters */
	{ B("250-mx\r\n250-starttls\r\n250-Auth PLAIN LOGIN\r\n250 RequireTLS\r\n"), 1, 60,
	  250, 4, "250-mx", SMTP_EXT_STARTTLS | SMTP_EXT_AUTH | SMTP_EXT_REQUIRETLS },
	/* BINARYMIME */
	{ B("250-mx\r\n250 BINARYMIME\r\n"), 1, 24, 250, 2, "250-mx", SMTP_EXT_BINARYMIME },
	/* a keyword is a whole word: STARTTLSX and STARTTL are not STARTTLS */
	{ B("250-mx\r\n250-STARTTLSX\r\n250 STARTTL\r\n"), 1, 36, 250, 3, "250-mx", 0 },
	/* a keyword is the first word: "X STARTTLS" is not STARTTLS */
	{ B("250-mx\r\n250 X STARTTLS\r\n"), 1, 24, 250, 2, "250-mx", 0 },
	/* a keyword ends at a space, not at a tab */
	{ B("250-mx\r\n250 STARTTLS\tx\r\n"), 1, 24, 250, 2, "250-mx", 0 },
	/* the first line is a greeting, never a keyword */
	{ B("250 STARTTLS\r\n"), 1, 14, 250, 1, "250 STARTTLS", 0 },
	/* the bare code ends a reply (RFC 5321 4.2: the text is optional) */
	{ B("250\r\n"), 1, 5, 250, 1, "250", 0 },
	/* "CODE-" without text continues it */
	{ B("250-\r\n250 ok\r\n"), 1, 14, 250, 2, "250-", 0 },
	/* codes 2xx to 5xx, second digit 0 to 9 */
	{ B("599 x\r\n"), 1, 7, 599, 1, "599 x", 0 },
	{ B("200 x\r\n"), 1, 7, 200, 1, "200 x", 0 },
	{ B("454 4.7.0 TLS not available due to local problem\r\n"), 1, 50, 454, 1,
	  "454 4.7.0 TLS not available due to local problem", 0 },
	/* a bare LF ends a line, as for Postfix */
	{ B("220 mx\n"), 1, 7, 220, 1, "220 mx", 0 },
	{ B("250-mx\n250 STARTTLS\r\n"), 1, 21, 250, 2, "250-mx", SMTP_EXT_STARTTLS },
	/* a CR alone is part of the line, kept as '?' */
	{ B("220 a\rb\r\n"), 1, 9, 220, 1, "220 a?b", 0 },
	/* CRCRLF: the line ends with a CR */
	{ B("220 a\r\r\n"), 1, 8, 220, 1, "220 a?", 0 },
	/* NUL, control and 8-bit octets kept as '?' */
	{ B("220 a\0b\x1b\xc3\xa9\x7f\r\n"), 1, 13, 220, 1, "220 a?b????", 0 },
	/* what follows a complete reply is not read */
	{ B("220 one\r\n220 two\r\n"), 1, 9, 220, 1, "220 one", 0 },
	{ B("220 one\r\nrubbish"), 1, 9, 220, 1, "220 one", 0 },
	/* no line end yet: nothing read */
	{ B(""), 0, 0, 0, 0, "", 0 },
	{ B("220 mx.example"), 0, 0, 0, 0, "", 0 },
	{ B("\r"), 0, 0, 0, 0, "", 0 },
	/* complete lines are read, the partial one is left */
	{ B("250-mx\r\n250-PIPE"), 0, 8, 250, 1, "250-mx", 0 },
	{ B("250-mx\r\n250-STARTTLS\r\n250 S"), 0, 22, 250, 2, "250-mx", SMTP_EXT_STARTTLS },

	/* bad code: below 200, above 599, not digits, too short, empty */
	{ B("199 x\r\n"), SMTP_REPLY_BAD_CODE, 7, 0, 0, "", 0 },
	{ B("600 x\r\n"), SMTP_REPLY_BAD_CODE, 7, 0, 0, "", 0 },
	{ B("2x0 x\r\n"), SMTP_REPLY_BAD_CODE, 7, 0, 0, "", 0 },
	{ B("25a x\r\n"), SMTP_REPLY_BAD_CODE, 7, 0, 0, "", 0 },
	{ B("25\r\n"), SMTP_REPLY_BAD_CODE, 4, 0, 0, "", 0 },
	{ B("\r\n"), SMTP_REPLY_BAD_CODE, 2, 0, 0, "", 0 },
	{ B(" 220 x\r\n"), SMTP_REPLY_BAD_CODE, 8, 0, 0, "", 0 },
	/* bad separator */
	{ B("220_x\r\n"), SMTP_REPLY_BAD_SEPARATOR, 7, 0, 0, "", 0 },
	{ B("2200 x\r\n"), SMTP_REPLY_BAD_SEPARATOR, 8, 0, 0, "", 0 },
	{ B("220\tx\r\n"), SMTP_REPLY_BAD_SEPARATOR, 7, 0, 0, "", 0 },
	/* a bad line after a good one: the good one is kept */
	{ B("250-mx\r\n250+x\r\n"), SMTP_REPLY_BAD_SEPARATOR, 15, 250, 1, "250-mx", 0 },
	/* another code than the first line's */
	{ B("250-mx\r\n251 x\r\n"), SMTP_REPLY_CODE_MISMATCH, 15, 250, 1, "250-mx", 0 },
	{ B("250-mx\r\n550 x\r\n"), SMTP_REPLY_CODE_MISMATCH, 15, 250, 1, "250-mx", 0 },
};

static bool same_outcome(const struct read_case *c, const char *how, int rc,
			 size_t used, const struct smtp_reply *r)
{
	if (rc != c->rc || used != c->used || r->lines != c->lines ||
	    (c->lines > 0 && r->code != c->code) || strcmp(r->first, c->first) != 0 ||
	    r->extensions != c->extensions || r->complete != (rc == 1) ||
	    r->refused != (rc < 0)) {
		print_error("FAILED %s: \"%s\"\n  got rc %d used %zu code %d lines %u "
			    "first \"%s\" extensions %#x\n", how, escape(c->bytes, c->len),
			    rc, used, r->code, r->lines, r->first, r->extensions);
		return false;
	}
	return true;
}

/* The bytes one octet more at a time, dropping what was used each time. */
static int read_slowly(const struct read_case *c, struct smtp_reply *r, size_t *ret_used)
{
	size_t start = 0, used;
	int rc = 0;

	for (size_t end = 0; end <= c->len; end++) {
		rc = smtp_reply_read(r, c->bytes + start, end - start, &used);
		start += used;
		if (rc != 0)
			break;
	}
	*ret_used = start;
	return rc;
}

static void test_read(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(read_cases); i++) {
		const struct read_case *c = &read_cases[i];
		struct smtp_reply r;
		size_t used = 12345;
		int rc;

		smtp_reply_init(&r);
		rc = smtp_reply_read(&r, c->bytes, c->len, &used);
		if (!same_outcome(c, "at once", rc, used, &r))
			failed++;
		smtp_reply_init(&r);
		rc = read_slowly(c, &r, &used);
		if (!same_outcome(c, "octet by octet", rc, used, &r))
			failed++;
	}
	assert_int_equal(failed, 0);
}

/* Lines of 512 octets are lines; 513 are not, with or without the end yet. */
static void test_line_length(void **state)
{
	static char buf[SMTP_REPLY_LINE_MAX + 8];
	struct smtp_reply r;
	size_t used = 0, line_len = 7, line_used = 7;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "250 ", 4);
	memcpy(buf + SMTP_REPLY_LINE_MAX, "\r\n", 2);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_read(&r, buf, SMTP_REPLY_LINE_MAX + 2, &used), 1);
	assert_int_equal(used, SMTP_REPLY_LINE_MAX + 2);
	assert_int_equal(strlen(r.first), SMTP_REPLY_TEXT_MAX - 1);

	/* 512 octets and a bare LF */
	buf[SMTP_REPLY_LINE_MAX] = '\n';
	assert_int_equal(smtp_reply_next_line(buf, SMTP_REPLY_LINE_MAX + 1,
					      &line_len, &line_used), 1);
	assert_int_equal(line_len, SMTP_REPLY_LINE_MAX);
	assert_int_equal(line_used, SMTP_REPLY_LINE_MAX + 1);

	/* 512 octets and a CR: the LF may still come */
	buf[SMTP_REPLY_LINE_MAX] = '\r';
	line_len = line_used = 7;
	assert_int_equal(smtp_reply_next_line(buf, SMTP_REPLY_LINE_MAX + 1,
					      &line_len, &line_used), 0);
	assert_int_equal(line_len, 7);
	assert_int_equal(line_used, 7);

	/* 513 octets and CRLF, 513 and LF, 514 without an end */
	buf[SMTP_REPLY_LINE_MAX] = 'x';
	memcpy(buf + SMTP_REPLY_LINE_MAX + 1, "\r\n", 2);
	assert_int_equal(smtp_reply_next_line(buf, SMTP_REPLY_LINE_MAX + 3,
					      &line_len, &line_used),
			 SMTP_REPLY_LINE_TOO_LONG);
	buf[SMTP_REPLY_LINE_MAX + 1] = '\n';
	assert_int_equal(smtp_reply_next_line(buf, SMTP_REPLY_LINE_MAX + 2,
					      &line_len, &line_used),
			 SMTP_REPLY_LINE_TOO_LONG);
	buf[SMTP_REPLY_LINE_MAX + 1] = 'x';
	assert_int_equal(smtp_reply_next_line(buf, SMTP_REPLY_LINE_MAX + 2,
					      &line_len, &line_used),
			 SMTP_REPLY_LINE_TOO_LONG);
	assert_int_equal(line_len, 7);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_read(&r, buf, SMTP_REPLY_LINE_MAX + 2, &used),
			 SMTP_REPLY_LINE_TOO_LONG);
	assert_true(r.refused);
	assert_int_equal(used, 0);

	/* smtp_reply_line() itself */
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_line(&r, buf, SMTP_REPLY_LINE_MAX + 1),
			 SMTP_REPLY_LINE_TOO_LONG);
}

/* 100 lines make a reply; a 100th that is not the last is refused at once. */
static void test_line_count(void **state)
{
	struct smtp_reply r;

	(void)state;
	smtp_reply_init(&r);
	for (unsigned i = 1; i < SMTP_REPLY_LINES_MAX; i++)
		assert_int_equal(smtp_reply_line(&r, "250-x", 5), 0);
	assert_int_equal(smtp_reply_line(&r, "250 x", 5), 1);
	assert_int_equal(r.lines, SMTP_REPLY_LINES_MAX);

	smtp_reply_init(&r);
	for (unsigned i = 1; i < SMTP_REPLY_LINES_MAX; i++)
		assert_int_equal(smtp_reply_line(&r, "250-x", 5), 0);
	assert_int_equal(smtp_reply_line(&r, "250-x", 5), SMTP_REPLY_TOO_MANY_LINES);
	assert_int_equal(r.lines, SMTP_REPLY_LINES_MAX - 1);
	assert_true(r.refused);
}

/* A complete or refused reply takes no more lines until it is set up again. */
static void test_after_end(void **state)
{
	struct smtp_reply r;
	size_t used;

	(void)state;
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_line(&r, "220 x", 5), 1);
	assert_int_equal(smtp_reply_line(&r, "220 y", 5), SMTP_REPLY_COMPLETE);
	assert_int_equal(smtp_reply_line(&r, "220 y", 5), SMTP_REPLY_REFUSED);
	assert_string_equal(r.first, "220 x");

	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_line(&r, "x", 1), SMTP_REPLY_BAD_CODE);
	assert_int_equal(smtp_reply_read(&r, "220 x\r\n", 7, &used), SMTP_REPLY_REFUSED);
	assert_int_equal(used, 7);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_read(&r, "220 x\r\n", 7, &used), 1);
	assert_int_equal(r.code, 220);
}

static void test_texts(void **state)
{
	(void)state;
	for (int e = SMTP_REPLY_REFUSED; e <= SMTP_REPLY_BAD_CODE; e++)
		assert_string_not_equal(smtp_reply_error_text(e), "unknown error");
	assert_string_equal(smtp_reply_error_text(0), "unknown error");
	assert_string_equal(smtp_reply_error_text(-100), "unknown error");
	assert_string_equal(smtp_extension_name(SMTP_EXT_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_extension_name(SMTP_EXT_AUTH), "AUTH");
	assert_null(smtp_extension_name(0));
	assert_null(smtp_extension_name(SMTP_EXT_STARTTLS | SMTP_EXT_SIZE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_line_count),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_texts),
	};

	return cmocka_run_group_tests_name("smtp_reply", tests, NULL, NULL);
}
