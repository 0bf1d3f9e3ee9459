/*
 * test_public_suffix.c - public suffixes by the Public Suffix List through
 * libpsl (src/public_suffix.c): ICANN and private rules, wildcards,
 * exceptions, A-labels.
 */
#include "unit.h"

#include "public_suffix.h"

struct suffix_case {
	const char *name;
	bool is_suffix;
};

static const struct suffix_case suffix_cases[] = {
	{ "com", true },
	{ "uk", true },
	{ "co.uk", true },
	{ "CO.UK", true },		/* any ASCII case */
	{ "xn--p1ai", true },		/* .рф, in A-label form */
	{ "github.io", true },		/* the private section counts */
	{ "s3.amazonaws.com", true },
	{ "foo.ck", true },		/* wildcard rule *.ck */
	{ "www.ck", false },		/* exception rule !www.ck */
	{ "example", true },		/* unlisted top-level: the rule "*" */
	{ "example.com", false },
	{ "mail.example.co.uk", false },
	{ "example.co.uk", false },
	{ "", false },
};

static void check_cases(struct public_suffixes *list)
{
	for (size_t i = 0; i < ARRAY_LEN(suffix_cases); i++)
		if (public_suffix_is(list, suffix_cases[i].name) != suffix_cases[i].is_suffix)
			fail_msg("%s: want %s public suffix", suffix_cases[i].name,
				 suffix_cases[i].is_suffix ? "a" : "no");
}

static void test_system_list(void **state)
{
	struct public_suffixes *list = public_suffixes_load(PUBLIC_SUFFIX_PATH);

	(void)state;
	assert_non_null(list);
	check_cases(list);
	assert_null(public_suffixes_free(list));
}

/* A path that cannot be read leaves the system's and libpsl's own copies. */
static void test_missing_file(void **state)
{
	struct public_suffixes *list = public_suffixes_load("/nonexistent/list.dat");

	(void)state;
	assert_non_null(list);
	check_cases(list);
	public_suffixes_free(list);
	list = public_suffixes_load(NULL);
	assert_non_null(list);
	check_cases(list);
	public_suffixes_free(list);
}

/* Without a list, only names of one label are taken for suffixes. */
static void test_no_list(void **state)
{
	(void)state;
	assert_true(public_suffix_is(NULL, "com"));
	assert_true(public_suffix_is(NULL, "example"));
	assert_false(public_suffix_is(NULL, "co.uk"));
	assert_false(public_suffix_is(NULL, ""));
	assert_null(public_suffixes_free(NULL));
}

/* A name longer than any host name is no suffix. */
static void test_long_name(void **state)
{
	struct public_suffixes *list = public_suffixes_load(PUBLIC_SUFFIX_PATH);
	char name[400];

	(void)state;
	memset(name, 'a', sizeof(name) - 5);
	strcpy(name + sizeof(name) - 5, ".com");
	assert_false(public_suffix_is(list, name));
	public_suffixes_free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_list),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_no_list),
		cmocka_unit_test(test_long_name),
	};

	return cmocka_run_group_tests_name("public_suffix", tests, NULL, NULL);
}
