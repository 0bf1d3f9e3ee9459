/*
 * test_check_rules.c - the deployment-check rules that need no I/O:
 * findings about a policy's meaning, MX coverage, and certificate names
 * against the policy; the report's verdict.
 */
#include "unit.h"

#include <stdlib.h>

#include <mtasts/check_rules.h>

/* A finding expected: id and severity. */
struct want_finding {
	const char *id;
	enum mtasts_finding_severity severity;
};

#define WANT_FINDINGS_MAX 6

struct policy_case {
	const char *body;
	struct want_finding want[WANT_FINDINGS_MAX];
};

#define ERR MTASTS_FINDING_ERROR
#define WARN MTASTS_FINDING_WARNING
#define INFO MTASTS_FINDING_INFO

#define P(lines) "version: STSv1\r\n" lines
static const struct policy_case policy_cases[] = {
	/* a sound enforce policy: nothing to say */
	{ P("mode: enforce\r\nmx: mx1.example.com\r\nmax_age: 1209600\r\n"), { { 0 } } },
	/* enforce with max_age under one day: a warning (a policy that parses is
	 * applied, so its weaknesses are never errors) */
	{ P("mode: enforce\r\nmx: mx1.example.com\r\nmax_age: 3600\r\n"),
	  { { "max-age-short", WARN }, { 0 } } },
	/* testing with max_age under one day: a warning, and the testing note */
	{ P("mode: testing\r\nmx: mx1.example.com\r\nmax_age: 3600\r\n"),
	  { { "max-age-short", WARN }, { "mode-testing", INFO }, { 0 } } },
	/* enforce under 14 days: a warning */
	{ P("mode: enforce\r\nmx: mx1.example.com\r\nmax_age: 86400\r\n"),
	  { { "max-age-under-two-weeks", WARN }, { 0 } } },
	/* exactly 14 days is enough */
	{ P("mode: enforce\r\nmx: mx1.example.com\r\nmax_age: 1209600\r\n"), { { 0 } } },
	/* testing over a day: only the advice to move to enforce */
	{ P("mode: testing\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n"),
	  { { "mode-testing", INFO }, { 0 } } },
	/* mode none protects nothing; its short max_age is how it withdraws */
	{ P("mode: none\r\nmax_age: 86400\r\n"), { { "mode-none", WARN }, { 0 } } },
	{ P("mode: none\r\nmax_age: 60\r\n"), { { "mode-none", WARN }, { 0 } } },
	/* LF-only lines are allowed but noted */
	{ "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 1209600\n",
	  { { "policy-lf-only", INFO }, { 0 } } },
	/* a wildcard as wide as a TLD */
	{ P("mode: enforce\r\nmx: *.com\r\nmax_age: 1209600\r\n"),
	  { { "pattern-public-suffix", WARN }, { 0 } } },
	/* a wildcard on a multi-label public suffix (the test list knows co.uk),
	 * in any case */
	{ P("mode: enforce\r\nmx: *.co.uk\r\nmax_age: 1209600\r\n"),
	  { { "pattern-public-suffix", WARN }, { 0 } } },
	{ P("mode: testing\r\nmx: *.CO.UK\r\nmax_age: 1209600\r\n"),
	  { { "mode-testing", INFO }, { "pattern-public-suffix", WARN }, { 0 } } },
	/* a wildcard under a registrable domain is fine */
	{ P("mode: enforce\r\nmx: *.example.co.uk\r\nmax_age: 1209600\r\n"), { { 0 } } },
	/* an all-numeric last label matches no host name */
	{ P("mode: enforce\r\nmx: mx.example.123\r\nmax_age: 1209600\r\n"),
	  { { "pattern-matches-nothing", WARN }, { 0 } } },
	/* a single label is not a fully qualified MX host */
	{ P("mode: enforce\r\nmx: localhost\r\nmax_age: 1209600\r\n"),
	  { { "pattern-matches-nothing", WARN }, { 0 } } },
	/* an IP address is never an MX host name */
	{ P("mode: enforce\r\nmx: 192.0.2.25\r\nmax_age: 1209600\r\n"),
	  { { "pattern-matches-nothing", WARN }, { 0 } } },
	/* in mode none the patterns do not matter */
	{ P("mode: none\r\nmx: *.com\r\nmx: localhost\r\nmax_age: 1209600\r\n"),
	  { { "mode-none", WARN }, { 0 } } },
	/* parser warnings become policy-syntax warnings */
	{ P("mode: enforce\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: 1209600\r\n"),
	  { { "policy-syntax-warning", WARN }, { 0 } } },
	/* a parse error becomes a policy-syntax error; no semantics then */
	{ P("mode: strict\r\nmx: mx1.example.com\r\nmax_age: 1209600\r\n"),
	  { { "policy-syntax-error", ERR }, { 0 } } },
	/* one cause, one finding: a misspelt field, not also a missing one */
	{ P("mode: enforce\r\nmx: mx1.example.com\r\nmax-age: 1209600\r\n"),
	  { { "policy-syntax-error", ERR }, { 0 } } },
};
#undef P

static bool fake_suffixes(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "co.uk") == 0 || strchr(name, '.') == NULL;
}

static void check_report(const struct mtasts_report *report,
			 const struct want_finding *want, size_t row)
{
	size_t n = 0;

	while (n < WANT_FINDINGS_MAX && want[n].id != NULL)
		n++;
	if (report->count != n) {
		for (size_t i = 0; i < report->count; i++)
			print_message("  got %s\n", report->findings[i].def->id);
		fail_msg("row %zu: %zu findings, want %zu", row, report->count, n);
	}
	for (size_t i = 0; i < n; i++) {
		const struct mtasts_finding *f = &report->findings[i];

		if (strcmp(f->def->id, want[i].id) != 0 || f->severity != want[i].severity)
			fail_msg("row %zu finding %zu: %s/%d, want %s/%d", row, i,
				 f->def->id, f->severity, want[i].id, want[i].severity);
		assert_non_null(f->message);
	}
}

static void test_policy_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(policy_cases); i++) {
		const struct policy_case *c = &policy_cases[i];
		struct mtasts_policy *policy = NULL;
		struct mtasts_report report;
		struct mtasts_diags diags;

		mtasts_diags_init(&diags);
		mtasts_report_init(&report);
		mtasts_policy_parse(c->body, strlen(c->body), &policy, &diags);
		mtasts_check_policy(&report, policy, &diags, strlen(c->body),
				    fake_suffixes, NULL);
		check_report(&report, c->want, i);
		mtasts_report_release(&report);
		mtasts_policy_free(policy);
	}
}

struct coverage_case {
	const char *mode;
	const char *patterns[4];
	const char *hosts[4];
	struct want_finding want[WANT_FINDINGS_MAX];
};

static const struct coverage_case coverage_cases[] = {
	/* every MX matched, every pattern used */
	{ "enforce", { "mx1.example.com", "*.mail.example.com" },
	  { "mx1.example.com", "a.mail.example.com." }, { { 0 } } },
	/* RFC 8461 4.1: an MX no pattern matches fails delivery in enforce */
	{ "enforce", { "mx1.example.com" }, { "mx1.example.com", "mx2.example.com" },
	  { { "mx-not-covered", ERR }, { 0 } } },
	/* the same in testing is a warning */
	{ "testing", { "mx1.example.com" }, { "mx2.example.com" },
	  { { "mx-not-covered", WARN }, { "pattern-unused", WARN }, { 0 } } },
	/* mode none: coverage does not matter */
	{ "none", { "mx1.example.com" }, { "mx2.example.com" }, { { 0 } } },
	/* "*." matches one label only: say so */
	{ "enforce", { "*.example.com" }, { "a.b.example.com" },
	  { { "mx-wildcard-two-labels", ERR }, { "pattern-unused", WARN }, { 0 } } },
	/* "*.example.com" does not match example.com itself */
	{ "enforce", { "*.example.com" }, { "example.com" },
	  { { "mx-not-covered", ERR }, { "pattern-unused", WARN }, { 0 } } },
	/* matching ignores case */
	{ "enforce", { "MX1.Example.COM" }, { "mx1.example.com" }, { { 0 } } },
	/* a stale pattern */
	{ "enforce", { "mx1.example.com", "old.example.com" }, { "mx1.example.com" },
	  { { "pattern-unused", WARN }, { 0 } } },
};

static struct mtasts_policy *make_policy(const char *mode, const char *const *patterns)
{
	char body[1024];
	size_t pos;
	struct mtasts_policy *policy = NULL;
	struct mtasts_diags diags;

	pos = (size_t)snprintf(body, sizeof(body), "version: STSv1\r\nmode: %s\r\n"
			       "max_age: 604800\r\n", mode);
	for (size_t i = 0; i < 4 && patterns[i] != NULL; i++)
		pos += (size_t)snprintf(body + pos, sizeof(body) - pos, "mx: %s\r\n",
					patterns[i]);
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(body, pos, &policy, &diags), MTASTS_OK);
	return policy;
}

static void test_coverage(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(coverage_cases); i++) {
		const struct coverage_case *c = &coverage_cases[i];
		struct mtasts_policy *policy = make_policy(c->mode, c->patterns);
		struct mtasts_report report;
		size_t n = 0;

		while (n < 4 && c->hosts[n] != NULL)
			n++;
		mtasts_report_init(&report);
		mtasts_check_coverage(&report, policy, c->hosts, n);
		check_report(&report, c->want, i);
		mtasts_report_release(&report);
		mtasts_policy_free(policy);
	}
}

static void test_cert_names(void **state)
{
	static const char *const patterns[] = { "mx1.example.com", "*.mail.example.com", NULL };
	struct mtasts_policy *policy = make_policy("enforce", patterns);
	const char *exact[] = { "mx1.example.com" };
	const char *other[] = { "www.example.net", "example.com" };
	const char *wild[] = { "*.mail.example.com" };
	const char *wide[] = { "*.example.com" };
	const char *under[] = { "x.mail.example.com" };

	(void)state;
	/* a certificate naming a covered host is in the policy */
	assert_true(mtasts_cert_names_in_policy(policy, exact, 1));
	/* names no pattern matches are not */
	assert_false(mtasts_cert_names_in_policy(policy, other, 2));
	/* a wildcard certificate is covered when the hosts it stands for are */
	assert_true(mtasts_cert_names_in_policy(policy, wild, 1));
	assert_false(mtasts_cert_names_in_policy(policy, wide, 1));
	assert_true(mtasts_cert_names_in_policy(policy, under, 1));
	mtasts_policy_free(policy);
}

static void test_report(void **state)
{
	struct mtasts_report report;
	struct mtasts_finding *f;

	(void)state;
	mtasts_report_init(&report);
	/* no finding: pass */
	assert_int_equal(mtasts_report_verdict(&report), MTASTS_VERDICT_PASS);
	/* information alone still passes */
	assert_non_null(mtasts_report_add(&report, "mode-testing", "x"));
	assert_int_equal(mtasts_report_verdict(&report), MTASTS_VERDICT_PASS);
	/* a warning: warn */
	assert_non_null(mtasts_report_add(&report, "tlsrpt-missing", "x"));
	assert_int_equal(mtasts_report_verdict(&report), MTASTS_VERDICT_WARN);
	/* an error: fail */
	f = mtasts_report_add(&report, "txt-lookup-failed", "lookup %s", "failed");
	assert_non_null(f);
	assert_string_equal(f->message, "lookup failed");
	assert_int_equal(mtasts_report_verdict(&report), MTASTS_VERDICT_FAIL);
	/* temporary findings make the report incomplete */
	assert_false(mtasts_report_incomplete(&report));
	f->temporary = true;
	assert_true(mtasts_report_incomplete(&report));
	/* evidence is kept in order, with its kinds */
	mtasts_finding_string(f, "name", "_mta-sts.example.com");
	mtasts_finding_number(f, "ttl", 300);
	mtasts_finding_bool(f, "ok", true);
	assert_int_equal(f->evidence_count, 3);
	assert_string_equal(f->evidence[0].string, "_mta-sts.example.com");
	assert_int_equal(f->evidence[1].number, 300);
	assert_int_equal(f->evidence[2].kind, MTASTS_EVIDENCE_BOOL);
	/* an unknown id is refused */
	assert_null(mtasts_report_add(&report, "no-such-finding", "x"));
	assert_int_equal(report.count, 3);
	/* the severity can differ from the catalog's */
	f = mtasts_report_add_as(&report, "mx-not-covered", MTASTS_FINDING_WARNING, "x");
	assert_int_equal(f->severity, MTASTS_FINDING_WARNING);
	assert_int_equal(mtasts_report_count(&report, MTASTS_FINDING_WARNING), 2);
	mtasts_report_release(&report);
	assert_int_equal(report.count, 0);
}

static void test_catalog(void **state)
{
	(void)state;
	/* ids are unique, and every one has its texts and a known category */
	for (size_t i = 0; i < mtasts_finding_def_count; i++) {
		const struct mtasts_finding_def *d = &mtasts_finding_defs[i];

		assert_non_null(d->summary);
		assert_non_null(d->remedy);
		assert_non_null(d->rfc);
		assert_string_not_equal(mtasts_category_name(d->category), "unknown");
		assert_ptr_equal(mtasts_finding_def_find(d->id), d);
		for (size_t j = i + 1; j < mtasts_finding_def_count; j++)
			assert_string_not_equal(d->id, mtasts_finding_defs[j].id);
	}
	/* the eleven categories, spelled as documented */
	assert_string_equal(mtasts_category_name(MTASTS_CAT_DNS_TXT), "dns-txt");
	assert_string_equal(mtasts_category_name(MTASTS_CAT_MX_CERTIFICATE), "mx-certificate");
	assert_string_equal(mtasts_category_name(MTASTS_CAT_DANE), "dane");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_rules),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_cert_names),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_catalog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
