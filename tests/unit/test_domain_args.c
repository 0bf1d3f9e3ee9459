/*
 * test_domain_args.c - the domains of a network command from its operands
 * and from files (src/domain_args.c): each word made a domain or refused
 * with a sentence saying what it is, files read within their limits.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"

#include "domain_args.h"
#include "hostname.h"

/* The command the lists are for; only its name is used. */
static const struct command test_cmd = { .name = "check" };

struct word_case {
	const char *word;
	const char *command;
	const char *name;	/* NULL: refused */
	const char *why;	/* when refused: a part of the sentence */
};

#define TAKE(word, name) { (word), "check", (name), NULL }
#define REFUSE(word, why) { (word), "check", NULL, (why) }

static const struct word_case word_cases[] = {
	TAKE("example.com", "example.com"),
	TAKE("Example.COM.", "example.com"),
	TAKE("b\xc3\xbc" "cher.example", "xn--bcher-kva.example"),
	TAKE("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84",
	     "xn--e1afmkfd.xn--p1ai"),
	TAKE("mta-sts.example.com", "mta-sts.example.com"),
	TAKE("localhost", "localhost"),

	/* addresses */
	REFUSE("192.0.2.1", "'192.0.2.1' is an IP address; MTA-STS applies to "
	       "domain names"),
	REFUSE("2001:db8::1", "'2001:db8::1' is an IP address"),
	REFUSE("::1", "is an IP address"),
	REFUSE("[192.0.2.1]", "'[192.0.2.1]' is an address literal"),
	REFUSE("[IPv6:2001:db8::1]", "is an address literal"),
	REFUSE("192.0.2.1:25", "is an IP address and a port"),
	REFUSE("1.2.3", "last label is all digits"),
	REFUSE("example.123", "last label is all digits"),
	/* URLs: the domain they name */
	REFUSE("https://example.com", "'https://example.com' is a URL; give the "
	       "domain: example.com"),
	REFUSE("https://Example.com:8443/path?q#f", "give the domain: example.com"),
	REFUSE("https://user:pw@example.com/", "give the domain: example.com"),
	REFUSE("https://mta-sts.example.com/.well-known/mta-sts.txt",
	       "give the domain: example.com"),
	REFUSE("http://[2001:db8::1]/", "is a URL; give a domain name"),
	REFUSE("https://192.0.2.1/", "is a URL; give a domain name"),
	/* e-mail addresses */
	REFUSE("user@example.com", "'user@example.com' is an e-mail address; give "
	       "the domain: example.com"),
	REFUSE("mailto:tlsrpt@Example.NET", "give the domain: example.net"),
	REFUSE("user@", "is an e-mail address; give a domain name"),
	/* record names, ports, patterns */
	REFUSE("_mta-sts.example.com", "is the name of a TXT record; give the "
	       "domain: example.com"),
	REFUSE("_smtp._tls.example.com", "give the domain: example.com"),
	REFUSE("example.com:25", "'example.com:25' has a port; give the domain: "
	       "example.com"),
	REFUSE("*.example.com", "is a wildcard pattern"),
	/* characters, with where */
	REFUSE("exa_mple.com", "'exa_mple.com' is not a domain name: '_' (octet 4) "
	       "is not a letter, digit, hyphen or dot"),
	REFUSE("example.com/", "'/' (octet 12)"),
	REFUSE("exa\x01mple.com", "'exa\\x01mple.com' is not a domain name: '\\x01' "
	       "(octet 4)"),
	REFUSE("example.com example.net", "white space (octet 12)"),
	REFUSE("bad..example", "empty label"),
	REFUSE("-bad.example", "starts with a hyphen"),
	REFUSE("", "empty word"),
	/* stray words asking for help, operands only */
	REFUSE("help", "'help' is not a domain; did you mean 'mtasts help check'?"),
	REFUSE("--help", "did you mean 'mtasts help check'?"),
	REFUSE("HELP", "did you mean 'mtasts help check'?"),
	REFUSE("-h", "did you mean 'mtasts help check'?"),
	{ "help", NULL, "help", NULL },
	/* long names: 242 octets fit, 243 do not (with _smtp._tls. in front) */
	TAKE("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"),
	REFUSE("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	       "is too long: with \"_smtp._tls.\" in front"),
};

static void test_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(word_cases); i++) {
		const struct word_case *c = &word_cases[i];
		char name[HOSTNAME_BUF] = "untouched", why[512] = "";
		int rc = domain_normalize(c->word, c->command, name, sizeof(name), why,
					  sizeof(why));

		if (c->name != NULL) {
			if (rc != 0 || strcmp(name, c->name) != 0)
				fail_msg("%s: got rc %d, \"%s\" (%s); want \"%s\"", c->word,
					 rc, name, why, c->name);
		} else {
			if (rc != -1 || strstr(why, c->why) == NULL)
				fail_msg("%s: got rc %d, why \"%s\"; want a refusal saying "
					 "\"%s\"", c->word, rc, why, c->why);
			assert_string_equal(name, "untouched");
		}
	}
}

/* Standard error of the calls between capture_start() and capture_end(). */
static int saved_stderr = -1;
static char capture_path[] = "/tmp/test_domain_args.XXXXXX";

static void capture_start(void)
{
	int fd = mkstemp(capture_path);

	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static char *capture_end(void)
{
	static char text[4096];
	FILE *f;
	size_t len;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	f = fopen(capture_path, "r");
	assert_non_null(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	text[len] = '\0';
	fclose(f);
	unlink(capture_path);
	strcpy(capture_path + strlen(capture_path) - 6, "XXXXXX");
	return text;
}

static char *write_file(const char *content, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_domain_args.in.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_args(void **state)
{
	char *good[] = { "b.example", "A.Example.", ("b\xc3\xbc" "cher.example") };
	char *bad[] = { "ok.example", "192.0.2.1", "never.example" };
	struct domain_list list = { 0 };
	char *err;

	(void)state;
	assert_int_equal(domain_list_add_args(&list, &test_cmd, 3, good), 0);
	assert_int_equal(domain_list_add_args(&list, &test_cmd, 0, NULL), 0);
	assert_int_equal(list.count, 3);
	assert_string_equal(list.names[0], "b.example");
	assert_string_equal(list.names[1], "a.example");
	assert_string_equal(list.names[2], "xn--bcher-kva.example");

	capture_start();
	assert_int_equal(domain_list_add_args(&list, &test_cmd, 3, bad), EXIT_USAGE_ERROR);
	err = capture_end();
	assert_int_equal(list.count, 4);	/* those before the refused one */
	assert_non_null(strstr(err, "mtasts check: '192.0.2.1' is an IP address; "
			       "MTA-STS applies to domain names\n"
			       "see 'mtasts help check'\n"));
	domain_list_release(&list);
	assert_int_equal(list.count, 0);
	assert_null(list.names);
	domain_list_release(NULL);
}

static void test_file(void **state)
{
	static const char text[] =
		"# domains we receive mail for\n"
		"\n"
		"  example.com  \n"
		"\tExample.NET.\t# the old one\r\n"
		"b\xc3\xbc" "cher.example\r\n"
		"   # indented comment\n"
		"help\n"		/* the top-level domain, in a file */
		"last.example";		/* no final newline */
	struct domain_list list = { 0 };
	char *path = write_file(text, strlen(text));

	(void)state;
	assert_int_equal(domain_list_add_file(&list, &test_cmd, path), 0);
	unlink(path);
	assert_int_equal(list.count, 5);
	assert_string_equal(list.names[0], "example.com");
	assert_string_equal(list.names[1], "example.net");
	assert_string_equal(list.names[2], "xn--bcher-kva.example");
	assert_string_equal(list.names[3], "help");
	assert_string_equal(list.names[4], "last.example");
	domain_list_release(&list);
}

static void test_stdin(void **state)
{
	static const char text[] = "one.example\ntwo.example\n";
	struct domain_list list = { 0 };
	char *path = write_file(text, strlen(text));
	int saved = dup(STDIN_FILENO), fd = open(path, O_RDONLY);

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDIN_FILENO);
	close(fd);
	assert_int_equal(domain_list_add_file(&list, &test_cmd, "-"), 0);
	dup2(saved, STDIN_FILENO);
	close(saved);
	clearerr(stdin);
	unlink(path);
	assert_int_equal(list.count, 2);
	assert_string_equal(list.names[1], "two.example");
	domain_list_release(&list);
}

/* Reading content (len octets; 0 for strlen) fails saying "FILE" + want. */
static void expect_file_error(const char *content, size_t len, const char *want)
{
	struct domain_list list = { 0 };
	char *path = write_file(content, len > 0 ? len : strlen(content)), *err;
	char expected[256];

	capture_start();
	assert_int_equal(domain_list_add_file(&list, &test_cmd, path), EXIT_USAGE_ERROR);
	err = capture_end();
	snprintf(expected, sizeof(expected), "mtasts check: %s%s", path, want);
	if (strstr(err, expected) == NULL)
		fail_msg("got \"%s\", want \"%s\"", err, expected);
	unlink(path);
	domain_list_release(&list);
}

static void test_file_errors(void **state)
{
	static const char nul[] = "ok.example\nbad\0.example\n";
	char long_line[DOMAIN_LINE_MAX + 64];

	(void)state;
	expect_file_error("ok.example\n\n192.0.2.1\n", 0,
			  ":3: '192.0.2.1' is an IP address; MTA-STS applies");
	expect_file_error("https://example.com/\n", 0,
			  ":1: 'https://example.com/' is a URL; give the domain: "
			  "example.com");
	expect_file_error("a.example b.example\n", 0,
			  ":1: more than one word; write one domain a line");
	expect_file_error(nul, sizeof(nul) - 1, ":2: a NUL octet; a domain file is text");
	expect_file_error("exa_mple.com\n", 0, ":1: 'exa_mple.com' is not a domain");

	/* a line of exactly DOMAIN_LINE_MAX octets is read; one more is not */
	memset(long_line, ' ', sizeof(long_line));
	memcpy(long_line, "a.example #", 11);
	long_line[DOMAIN_LINE_MAX] = '\n';
	{
		struct domain_list list = { 0 };
		char *path = write_file(long_line, DOMAIN_LINE_MAX + 1);

		assert_int_equal(domain_list_add_file(&list, &test_cmd, path), 0);
		assert_int_equal(list.count, 1);
		unlink(path);
		domain_list_release(&list);
	}
	long_line[DOMAIN_LINE_MAX] = ' ';
	long_line[DOMAIN_LINE_MAX + 1] = '\n';
	expect_file_error(long_line, DOMAIN_LINE_MAX + 2,
			  ":1: the line is longer than 1024 octets");
}

static void test_unreadable(void **state)
{
	struct domain_list list = { 0 };
	char *err;

	(void)state;
	capture_start();
	assert_int_equal(domain_list_add_file(&list, &test_cmd, "/nonexistent/domains"),
			 EXIT_USAGE_ERROR);
	err = capture_end();
	assert_non_null(strstr(err, "mtasts check: /nonexistent/domains: No such file"));

	capture_start();
	assert_int_equal(domain_list_add_file(&list, &test_cmd, "/"), EXIT_USAGE_ERROR);
	err = capture_end();
	assert_non_null(strstr(err, "mtasts check: /: Is a directory"));
	assert_int_equal(list.count, 0);
}

/* At most DOMAIN_LIST_MAX names, whatever they come from. */
static void test_list_limit(void **state)
{
	struct domain_list list = { 0 };
	char *one[] = { "one.example" };
	char *err;

	(void)state;
	/* a full list without a million strdup()s: free(NULL) is harmless */
	list.names = calloc(DOMAIN_LIST_MAX, sizeof(*list.names));
	assert_non_null(list.names);
	list.count = list.capacity = DOMAIN_LIST_MAX - 1;
	assert_int_equal(domain_list_add_args(&list, &test_cmd, 1, one), 0);
	assert_int_equal(list.count, DOMAIN_LIST_MAX);
	capture_start();
	assert_int_equal(domain_list_add_args(&list, &test_cmd, 1, one), EXIT_USAGE_ERROR);
	err = capture_end();
	assert_non_null(strstr(err, "more than 1000000 domains"));
	assert_int_equal(list.count, DOMAIN_LIST_MAX);
	domain_list_release(&list);
}

/* A file of nothing but blank lines still ends: its lines are counted. */
static void test_line_limit(void **state)
{
	size_t len = (size_t)DOMAIN_FILE_LINES_MAX + 1;
	char *blank = malloc(len);
	struct domain_list list = { 0 };
	char *path, *err;

	(void)state;
	assert_non_null(blank);
	memset(blank, '\n', len);
	path = write_file(blank, len);
	free(blank);
	capture_start();
	assert_int_equal(domain_list_add_file(&list, &test_cmd, path), EXIT_USAGE_ERROR);
	err = capture_end();
	unlink(path);
	assert_non_null(strstr(err, "more than 10000000 lines"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_list_limit),
		cmocka_unit_test(test_line_limit),
	};

	return cmocka_run_group_tests_name("domain_args", tests, NULL, NULL);
}
