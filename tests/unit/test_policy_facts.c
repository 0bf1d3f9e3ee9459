/*
 * test_policy_facts.c - the table of policy facts: its rows are sound, the
 * max_age ladder never advises a value it then judges, and `parse` (the
 * parser's diagnostics) and `check` (the findings) say the same thing about
 * the same policy.
 */
#include "unit.h"

#include <stdlib.h>

#include <mtasts/check_rules.h>
#include <mtasts/policy_facts.h>

static bool is_digit_char(char c)
{
	return c >= '0' && c <= '9';
}

static bool fake_suffixes(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "co.uk") == 0 || strchr(name, '.') == NULL;
}

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < mtasts_policy_fact_count; i++) {
		const struct mtasts_policy_fact *f = &mtasts_policy_facts[i];
		const struct mtasts_finding_def *def = mtasts_finding_def_find(f->finding);
		int worst = MTASTS_FACT_SILENT;

		/* every fact is a finding of the catalog, about the policy's meaning */
		assert_non_null(def);
		assert_int_equal(def->category, MTASTS_CAT_POLICY_SEMANTICS);
		/* and a diagnostic code of its own finding */
		assert_string_not_equal(mtasts_code_name(f->code), "unknown");
		assert_string_equal(mtasts_policy_fact_for_code(f->code)->finding, f->finding);
		assert_non_null(f->sentence);
		for (int mode = 0; mode < 3; mode++) {
			int s = f->severity[mode];

			/* a policy that parses is never an error */
			assert_true(s == MTASTS_FACT_SILENT || s == MTASTS_FINDING_WARNING ||
				    s == MTASTS_FINDING_INFO);
			if (s != MTASTS_FACT_SILENT && (worst == MTASTS_FACT_SILENT || s < worst))
				worst = s;
		}
		/* the catalog's usual severity is the fact's worst */
		assert_int_not_equal(worst, MTASTS_FACT_SILENT);
		assert_int_equal(def->severity, worst);
	}
	/* codes that are no fact */
	assert_null(mtasts_policy_fact_for_code(MTASTS_POLICY_SYNTAX));
	assert_null(mtasts_policy_fact_for_code(MTASTS_CODE_NONE));
}

struct facts_seen {
	size_t count;
	const struct mtasts_policy_fact *facts[8];
	enum mtasts_finding_severity severity[8];
};

static void collect(void *arg, const struct mtasts_policy_judgement *j)
{
	struct facts_seen *seen = arg;

	assert_true(seen->count < 8);
	assert_non_null(j->advice);
	assert_true(j->message[0] != '\0');
	seen->facts[seen->count] = j->fact;
	seen->severity[seen->count++] = j->severity;
}

static bool max_age_judged(enum mtasts_mode mode, uint32_t max_age)
{
	char *mx[] = { "mx.example.com" };
	struct mtasts_policy p = { .mode = mode, .max_age = max_age, .mx_count = 1, .mx = mx };
	struct facts_seen seen = { 0 };

	mtasts_policy_judge(&p, NULL, NULL, collect, &seen);
	for (size_t i = 0; i < seen.count; i++)
		if (seen.facts[i]->subject == MTASTS_FACT_MAX_AGE)
			return true;
	return false;
}

static void test_ladder(void **state)
{
	uint32_t below = 0;

	(void)state;
	for (size_t i = 0; i < mtasts_policy_fact_count; i++) {
		const struct mtasts_policy_fact *f = &mtasts_policy_facts[i];
		const char *advice = mtasts_finding_def_find(f->finding)->remedy;
		char advised[16];
		size_t values = 0;

		if (f->subject != MTASTS_FACT_MAX_AGE)
			continue;
		/* the rungs go up */
		assert_true(f->max_age_below > below);
		below = f->max_age_below;
		/* each advises MTASTS_MAX_AGE_ADVISED ... */
		snprintf(advised, sizeof(advised), "%u", MTASTS_MAX_AGE_ADVISED);
		assert_non_null(strstr(advice, advised));
		/* ... and every value the advice names is judged by no rung, in any mode */
		for (const char *p = advice; *p != '\0'; p++) {
			char *end;
			unsigned long v;

			if (!is_digit_char(*p) || (p > advice && is_digit_char(p[-1])))
				continue;
			v = strtoul(p, &end, 10);
			if (v < 3600)
				continue;	/* not a max_age ("two weeks" is words) */
			assert_true(v <= MTASTS_MAX_AGE_MAX);
			for (int mode = 0; mode < 3; mode++)
				assert_false(max_age_judged((enum mtasts_mode)mode, (uint32_t)v));
			values++;
		}
		assert_true(values > 0);
	}
	/* the rungs themselves: one second under each is judged in enforce mode */
	assert_true(max_age_judged(MTASTS_MODE_ENFORCE, MTASTS_MAX_AGE_SHORT - 1));
	assert_true(max_age_judged(MTASTS_MODE_ENFORCE, MTASTS_MAX_AGE_TWO_WEEKS - 1));
	assert_false(max_age_judged(MTASTS_MODE_ENFORCE, MTASTS_MAX_AGE_TWO_WEEKS));
	/* testing: only under a day; none: never */
	assert_true(max_age_judged(MTASTS_MODE_TESTING, MTASTS_MAX_AGE_SHORT - 1));
	assert_false(max_age_judged(MTASTS_MODE_TESTING, MTASTS_MAX_AGE_SHORT));
	assert_false(max_age_judged(MTASTS_MODE_NONE, 0));
}

static void test_shapes(void **state)
{
	static const struct {
		const char *pattern;
		bool with_suffixes;
		enum mtasts_mx_shape shape;
	} cases[] = {
		{ "mx.example.com", false, MTASTS_MX_SHAPE_NAME },
		{ "*.example.com", true, MTASTS_MX_SHAPE_NAME },
		/* an IPv4 address, however written in the LDH grammar */
		{ "192.0.2.25", false, MTASTS_MX_SHAPE_IP_ADDRESS },
		{ "10.0.0.1", true, MTASTS_MX_SHAPE_IP_ADDRESS },
		/* numbers that are no address still end in a numeric label */
		{ "256.0.2.1", false, MTASTS_MX_SHAPE_NUMERIC_TLD },
		{ "192.0.2", false, MTASTS_MX_SHAPE_NUMERIC_TLD },
		{ "*.192.0.2.1", false, MTASTS_MX_SHAPE_NUMERIC_TLD },
		{ "mx.example.123", false, MTASTS_MX_SHAPE_NUMERIC_TLD },
		{ "localhost", false, MTASTS_MX_SHAPE_SINGLE_LABEL },
		/* a wildcard on one label is a TLD's width, list or not */
		{ "*.com", false, MTASTS_MX_SHAPE_PUBLIC_SUFFIX },
		{ "*.co.uk", true, MTASTS_MX_SHAPE_PUBLIC_SUFFIX },
		{ "*.Co.UK", true, MTASTS_MX_SHAPE_PUBLIC_SUFFIX },
		{ "*.co.uk", false, MTASTS_MX_SHAPE_NAME },
		{ "*.example.co.uk", true, MTASTS_MX_SHAPE_NAME },
		/* a plain name under a public suffix is a host */
		{ "mx.co.uk", true, MTASTS_MX_SHAPE_NAME },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum mtasts_mx_shape shape = mtasts_mx_shape_of(cases[i].pattern,
			cases[i].with_suffixes ? fake_suffixes : NULL, NULL);

		if (shape != cases[i].shape)
			fail_msg("%s: shape %d, want %d", cases[i].pattern, shape,
				 cases[i].shape);
	}
}

/*
 * The same policies through the parser (its fact diagnostics) and through
 * the check (its findings): the same facts, with the same severity and the
 * same words.  (The parser orders by line, the check by subject.)
 */
static const char *const agreeing[] = {
	"version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 1209600\n",
	"version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 3600\n",
	"version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 604800\n",
	"version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 60\n",
	"version: STSv1\nmode: none\nmax_age: 60\n",
	("version: STSv1\nmode: enforce\nmx: *.co.uk\nmx: 192.0.2.1\nmx: localhost\n"
	 "mx: a.example.1\nmax_age: 86400\n"),
	"version: STSv1\nmode: testing\nmx: *.com\nmax_age: 31557600\n",
};

/* Is d the parser's word for finding f: "line N: " message "; " remedy? */
static bool same_words(const struct mtasts_diag *d, const struct mtasts_finding *f)
{
	char want[2 * MTASTS_DIAG_MESSAGE_MAX];

	snprintf(want, sizeof(want), "line %u: %s; %s", d->line, f->message, f->def->remedy);
	return strcmp(d->message, want) == 0;
}

static void test_parse_and_check_agree(void **state)
{
	const struct mtasts_policy_helpers helpers = { .is_public_suffix = fake_suffixes };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(agreeing); i++) {
		const char *body = agreeing[i];
		struct mtasts_policy *policy = NULL;
		struct mtasts_report report;
		struct mtasts_diags diags;
		bool used[MTASTS_DIAGS_MAX] = { false };
		size_t facts = 0, matched = 0;

		mtasts_diags_init(&diags);
		mtasts_report_init(&report);
		assert_int_equal(mtasts_policy_parse_with(body, strlen(body), &helpers, &policy,
							  &diags), MTASTS_OK);
		mtasts_check_policy(&report, policy, &diags, strlen(body), fake_suffixes, NULL);
		for (size_t k = 0; k < diags.count; k++)
			facts += mtasts_policy_fact_for_code(diags.items[k].code) != NULL;
		for (size_t k = 0; k < report.count; k++) {
			const struct mtasts_finding *f = &report.findings[k];
			size_t n;

			if (f->def->category != MTASTS_CAT_POLICY_SEMANTICS)
				continue;
			for (n = 0; n < diags.count; n++) {
				const struct mtasts_diag *d = &diags.items[n];
				const struct mtasts_policy_fact *fact =
					mtasts_policy_fact_for_code(d->code);

				if (!used[n] && fact != NULL &&
				    strcmp(fact->finding, f->def->id) == 0 && same_words(d, f))
					break;
			}
			if (n == diags.count)
				fail_msg("policy %zu: finding %s (%s) has no diagnostic", i,
					 f->def->id, f->message);
			used[n] = true;
			matched++;
			assert_int_equal(diags.items[n].severity,
					 f->severity == MTASTS_FINDING_INFO ?
					 MTASTS_SEVERITY_INFO : MTASTS_SEVERITY_WARNING);
			assert_true(diags.items[n].line > 0 && diags.items[n].column > 0);
			/* the finding names the parser's code */
			assert_string_equal(f->evidence[0].key, "code");
			assert_string_equal(f->evidence[0].string,
					    mtasts_code_name(diags.items[n].code));
		}
		assert_int_equal(matched, facts);
		mtasts_report_release(&report);
		mtasts_policy_free(policy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_ladder),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_parse_and_check_agree),
	};

	return cmocka_run_group_tests_name("policy_facts", tests, NULL, NULL);
}
