/*
 * test_suggest.c - the command or option a mistyped word meant
 * (src/suggest.c): Damerau-Levenshtein distance at most 2, case ignored.
 */
#include <getopt.h>

#include "unit.h"

#include "cli.h"

static const char *const commands[] = { "parse", "match", "fetch", "check", "help",
					"version" };

struct word_case {
	const char *word;
	const char *want;	/* NULL: no suggestion */
};

static const struct word_case word_cases[] = {
	{ "chek", "check" },		/* a deletion */
	{ "checkk", "check" },		/* an insertion */
	{ "chack", "check" },		/* a substitution */
	{ "pasre", "parse" },		/* a swap of neighbours is one edit */
	{ "mtach", "match" },
	{ "fecth", "fetch" },
	{ "CHECK", "check" },		/* case is not a difference */
	{ "Fetch", "fetch" },
	{ "versoin", "version" },
	{ "hlep", "help" },
	{ "metch", "match" },		/* match and fetch are both 1 away: the first */
	{ "chckk", "check" },		/* two edits */
	{ "chxyz", NULL },		/* three */
	{ "lint", NULL },
	{ "x", NULL },			/* one letter: only itself could be meant */
	{ "", NULL },
	{ "checkcheckcheckcheckcheckcheckcheckcheckcheckcheckcheckcheckcheck", NULL },
};

static void test_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(word_cases); i++) {
		const char *got = suggest_word(commands, ARRAY_LEN(commands),
					       word_cases[i].word);
		const char *want = word_cases[i].want;

		if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
			fail_msg("%s: got %s, want %s", word_cases[i].word,
				 got != NULL ? got : "none", want != NULL ? want : "none");
	}
	assert_null(suggest_word(commands, 0, "check"));
}

static const struct option options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "dns-server", required_argument, NULL, 'D' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "connect-timeout", required_argument, NULL, 'c' },
	{ "dns-timeout", required_argument, NULL, 'd' },
	{ "only", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

static const struct word_case option_cases[] = {
	{ "--jsn", "json" },
	{ "--josn", "json" },
	{ "--JSON", "json" },
	{ "--hlep", "help" },
	{ "--dns-sever=192.0.2.1", "dns-server" },	/* the value is not compared */
	{ "--dnsserver", "dns-server" },
	{ "--timeot", "timeout" },
	{ "--conect-timeout", "connect-timeout" },
	{ "--dns-timout", "dns-timeout" },
	{ "-json", "json" },
	{ "--onyl", "only" },
	{ "--bogus", NULL },
	{ "--skip-smtp", NULL },
	{ "--x", NULL },
	{ "--", NULL },
	{ "--=json", NULL },
};

static void test_options(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(option_cases); i++) {
		const char *got = suggest_long_option(options, option_cases[i].word);
		const char *want = option_cases[i].want;

		if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
			fail_msg("%s: got %s, want %s", option_cases[i].word,
				 got != NULL ? got : "none", want != NULL ? want : "none");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests_name("suggest", tests, NULL, NULL);
}
