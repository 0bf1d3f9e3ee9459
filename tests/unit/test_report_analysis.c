/*
 * test_report_analysis.c - alerts and verdicts (lib/io/report_analysis.c)
 * over a real SQLite report store filled with reports built by hand: each
 * alert fires exactly when it should, at the edges of every setting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report_analysis.h"
#include "report_fixture.h"

#define DAY 86400

/* Now: 2026-12-02 10:00 UTC; a one-day window starts 2026-12-01 00:00. */
#define NOW (fixture_day(2026, 12, 2) + 10 * 3600)
#define TODAY fixture_day(2026, 12, 2)
#define YESTERDAY fixture_day(2026, 12, 1)

static int setup(void **state)
{
	static struct fixture f;

	if (fixture_open(&f) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fixture_close(*state);
	return 0;
}

static struct report_store *store_of(void **state)
{
	return ((struct fixture *)*state)->store;
}

static void add(void **state, const char *org, const char *id, const char *domain, int64_t start,
		uint64_t successes, uint64_t failures, const struct fixture_failure *details, size_t count)
{
	assert_int_equal(fixture_report(*state, org, id, domain, start, successes, failures, details, count),
			 STORE_ADDED);
}

static struct alert *alerts_of(void **state, const struct report_filter *filter,
			       const struct alert_settings *settings, int64_t now, size_t *ret_count)
{
	struct alert *alerts = NULL;
	char why[512] = "";

	if (report_alerts(store_of(state), filter, settings, now, &alerts, ret_count, why, sizeof(why)) < 0)
		fail_msg("report_alerts: %s", why);
	return alerts;
}

static size_t count_kind(const struct alert *alerts, size_t count, enum alert_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++)
		n += alerts[i].kind == kind;
	return n;
}

static const struct alert *find(const struct alert *alerts, size_t count, enum alert_kind kind,
				const char *domain, const char *key)
{
	for (size_t i = 0; i < count; i++)
		if (alerts[i].kind == kind && strcmp(alerts[i].domain, domain) == 0 &&
		    strcmp(alerts[i].key, key) == 0)
			return &alerts[i];
	return NULL;
}

static void test_defaults_and_names(void **state)
{
	struct alert_settings s;

	(void)state;
	alert_settings_default(&s);
	assert_true(s.failure_ratio == 0.01);
	assert_int_equal(s.min_sessions, 10);
	assert_int_equal(s.window_days, 1);
	assert_int_equal(s.silent_days, 3);
	assert_string_equal(alert_kind_name(ALERT_FAILURE_RATIO), "failure-ratio");
	assert_string_equal(alert_kind_name(ALERT_NEW_RESULT_TYPE), "new-result-type");
	assert_string_equal(alert_kind_name(ALERT_NEW_FAILING_MX), "new-failing-mx");
	assert_string_equal(alert_kind_name(ALERT_SILENT_REPORTER), "silent-reporter");
}

static void test_empty_store(void **state)
{
	struct alert_settings s;
	struct alert *alerts;
	size_t count = 99;

	alert_settings_default(&s);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 0);
	alerts_free(alerts, count);
}

/* The failure ratio: above (not equal to) the threshold, enough sessions, in the window. */
static void test_failure_ratio(void **state)
{
	struct alert_settings s;
	const struct alert *a;
	struct alert *alerts;
	size_t count;

	add(state, "Org", "above", "above.example", YESTERDAY, 98, 2, NULL, 0);
	add(state, "Org", "equal", "equal.example", YESTERDAY, 99, 1, NULL, 0);	/* 1% is not above 1% */
	add(state, "Org", "min", "min.example", TODAY, 5, 5, NULL, 0);		/* 10 sessions: enough */
	add(state, "Org", "few", "few.example", YESTERDAY, 4, 5, NULL, 0);	/* 9 sessions: too few */
	add(state, "Org", "old", "old.example", YESTERDAY - DAY, 0, 50, NULL, 0);	/* before the window */
	add(state, "Org", "old-2", "old.example", YESTERDAY, 1000, 0, NULL, 0);	/* keeps it heard from */
	alert_settings_default(&s);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 2);
	assert_int_equal(count_kind(alerts, count, ALERT_FAILURE_RATIO), 2);
	a = find(alerts, count, ALERT_FAILURE_RATIO, "above.example", "2026-12-01");
	assert_non_null(a);
	assert_int_equal(a->since, YESTERDAY);
	assert_int_equal(a->failures, 2);
	assert_int_equal(a->sessions, 100);
	assert_non_null(strstr(a->message, "above.example"));
	assert_non_null(strstr(a->message, "2 of 100 sessions failed on 2026-12-01"));
	a = find(alerts, count, ALERT_FAILURE_RATIO, "min.example", "2026-12-02");
	assert_non_null(a);
	assert_int_equal(a->since, TODAY);
	assert_int_equal(a->sessions, 10);
	alerts_free(alerts, count);

	/* a two-day window reaches the older day; a higher threshold keeps only min.example's 50% */
	s.window_days = 2;
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 3);
	assert_non_null(find(alerts, count, ALERT_FAILURE_RATIO, "old.example", "2026-11-30"));
	alerts_free(alerts, count);
	s.window_days = 1;
	s.failure_ratio = 0.5;
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 0);			/* 5 of 10 is 0.5: not above */
	alerts_free(alerts, count);
	s.failure_ratio = 0.49;
	s.min_sessions = 11;
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 0);			/* 10 sessions are now too few */
	alerts_free(alerts, count);
}

/*
 * now is an end: at 00:00 the day judged is the one that just ended (what
 * --now DAY gives), its window that day and the day before.
 */
static void test_window_at_midnight(void **state)
{
	struct alert_settings s;
	struct alert *alerts;
	size_t count;

	add(state, "Org", "m1", "midnight.example", YESTERDAY - DAY, 0, 50, NULL, 0);
	add(state, "Org", "m2", "midnight.example", YESTERDAY, 1000, 0, NULL, 0);
	alert_settings_default(&s);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 0);
	alerts_free(alerts, count);
	alerts = alerts_of(state, NULL, &s, TODAY, &count);
	assert_int_equal(count, 1);
	assert_non_null(find(alerts, count, ALERT_FAILURE_RATIO, "midnight.example", "2026-11-30"));
	alerts_free(alerts, count);
	alerts = alerts_of(state, NULL, &s, TODAY + 1, &count);
	assert_int_equal(count, 0);
	alerts_free(alerts, count);
}

/* A result type first seen in the window (starting on its first second), not before. */
static void test_new_result_type(void **state)
{
	static const struct fixture_failure old[] = {
		{ "certificate-expired", "mx.types.example", 3, NULL },
		{ "validation-failure", "mx.types.example", 1, NULL },
	};
	static const struct fixture_failure recent[] = {
		{ "certificate-expired", "mx.types.example", 2, NULL },
		{ "starttls-not-supported", "mx.types.example", 4, NULL },
	};
	static const struct fixture_failure edge_before[] = {
		{ "validation-failure", "mx.types.example", 1, NULL },
		{ "certificate-host-mismatch", "mx.types.example", 1, NULL },
	};
	struct alert_settings s;
	const struct alert *a;
	struct alert *alerts;
	size_t count;

	add(state, "Org", "t1", "types.example", fixture_day(2026, 11, 1), 100000, 4, old, 2);
	/* the last second before the window */
	assert_int_equal(fixture_report_range(*state, "Org", "t2", "types.example", YESTERDAY - 1,
					      YESTERDAY + DAY, 100000, 2, edge_before, 2), STORE_ADDED);
	/* the first second of the window */
	add(state, "Org", "t3", "types.example", YESTERDAY, 100000, 6, recent, 2);
	alert_settings_default(&s);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 1);
	a = find(alerts, count, ALERT_NEW_RESULT_TYPE, "types.example", "starttls-not-supported");
	assert_non_null(a);
	assert_int_equal(a->since, YESTERDAY);
	assert_int_equal(a->failures, 4);
	assert_non_null(strstr(a->message, "starttls-not-supported"));
	alerts_free(alerts, count);

	/* a two-day window holds the report that started a second before the one-day window */
	s.window_days = 2;
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 2);
	assert_non_null(find(alerts, count, ALERT_NEW_RESULT_TYPE, "types.example", "certificate-host-mismatch"));
	alerts_free(alerts, count);
}

/* An MX host failing for the first time; an absent MX host is not one. */
/* Judged at a time, reports of later days are not known yet: no alert from them. */
static void test_later_reports_unseen(void **state)
{
	static const struct fixture_failure later[] = {
		{ "certificate-expired", "mx.later.example", 50, NULL },
	};
	struct alert_settings s;
	struct alert *alerts;
	size_t count;

	add(state, "Org", "l1", "later.example", YESTERDAY, 100, 0, NULL, 0);
	add(state, "Org", "l2", "later.example", NOW + 2 * DAY, 100, 50, later, 1);
	alert_settings_default(&s);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 0);
	alerts_free(alerts, count);

	/* two days on, the same report fires all three kinds */
	alerts = alerts_of(state, NULL, &s, NOW + 2 * DAY, &count);
	assert_non_null(find(alerts, count, ALERT_FAILURE_RATIO, "later.example", "2026-12-04"));
	assert_non_null(find(alerts, count, ALERT_NEW_RESULT_TYPE, "later.example", "certificate-expired"));
	assert_non_null(find(alerts, count, ALERT_NEW_FAILING_MX, "later.example", "mx.later.example"));
	alerts_free(alerts, count);
}

static void test_new_failing_mx(void **state)
{
	static const struct fixture_failure old[] = {
		{ "certificate-expired", "mx1.hosts.example", 5, NULL },
	};
	static const struct fixture_failure recent[] = {
		{ "certificate-expired", "mx1.hosts.example", 1, NULL },
		{ "certificate-expired", "mx2.hosts.example", 2, NULL },
		{ "certificate-expired", NULL, 3, NULL },
	};
	struct alert_settings s;
	const struct alert *a;
	struct alert *alerts;
	size_t count;

	add(state, "Org", "m1", "hosts.example", fixture_day(2026, 11, 20), 100000, 5, old, 1);
	add(state, "Org", "m2", "hosts.example", TODAY, 100000, 6, recent, 3);
	alert_settings_default(&s);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 1);
	a = find(alerts, count, ALERT_NEW_FAILING_MX, "hosts.example", "mx2.hosts.example");
	assert_non_null(a);
	assert_int_equal(a->since, TODAY);
	assert_int_equal(a->failures, 2);
	assert_non_null(strstr(a->message, "mx2.hosts.example"));
	alerts_free(alerts, count);
}

/* Silent for exactly silent_days alerts; a second less does not. */
static void test_silent_reporter(void **state)
{
	struct alert_settings s;
	const struct alert *a;
	struct alert *alerts;
	size_t count;

	alert_settings_default(&s);
	assert_int_equal(fixture_report_range(*state, "Quiet Org", "q1", "silent.example",
					      NOW - 4 * DAY, NOW - 3 * DAY, 10, 0, NULL, 0), STORE_ADDED);
	assert_int_equal(fixture_report_range(*state, "Almost Quiet Org", "a1", "silent.example",
					      NOW - 4 * DAY + 1, NOW - 3 * DAY + 1, 10, 0, NULL, 0), STORE_ADDED);
	assert_int_equal(fixture_report_range(*state, "Two Days Org", "d1", "silent.example",
					      NOW - 3 * DAY, NOW - 2 * DAY, 10, 0, NULL, 0), STORE_ADDED);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 1);
	a = find(alerts, count, ALERT_SILENT_REPORTER, "silent.example", "Quiet Org");
	assert_non_null(a);
	assert_int_equal(a->since, NOW - 3 * DAY);
	assert_non_null(strstr(a->message, "no report for 3 days"));
	alerts_free(alerts, count);

	/* a second later the almost quiet one is silent too; a day later all three */
	alerts = alerts_of(state, NULL, &s, NOW + 1, &count);
	assert_int_equal(count, 2);
	assert_non_null(find(alerts, count, ALERT_SILENT_REPORTER, "silent.example", "Almost Quiet Org"));
	alerts_free(alerts, count);
	alerts = alerts_of(state, NULL, &s, NOW + DAY, &count);
	assert_int_equal(count, 3);
	alerts_free(alerts, count);

	/* a new report ends the silence */
	assert_int_equal(fixture_report_range(*state, "Quiet Org", "q2", "silent.example",
					      NOW - DAY, NOW - 1, 10, 0, NULL, 0), STORE_ADDED);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 0);
	alerts_free(alerts, count);
}

/* The filter's domain and reporter narrow the alerts; they come sorted. */
static void test_filter_and_order(void **state)
{
	static const struct fixture_failure one[] = { { "validation-failure", "mx.b.example", 5, NULL } };
	struct report_filter only_b = { .domain = "b.example" };
	struct report_filter only_other = { .reporter = "Other Org" };
	struct alert_settings s;
	struct alert *alerts;
	size_t count;

	add(state, "Org", "a", "a.example", YESTERDAY, 5, 5, NULL, 0);
	add(state, "Org", "b", "b.example", YESTERDAY, 5, 5, one, 1);
	alert_settings_default(&s);
	alerts = alerts_of(state, NULL, &s, NOW, &count);
	assert_int_equal(count, 4);
	assert_int_equal(alerts[0].kind, ALERT_FAILURE_RATIO);
	assert_string_equal(alerts[0].domain, "a.example");
	assert_int_equal(alerts[1].kind, ALERT_FAILURE_RATIO);
	assert_string_equal(alerts[1].domain, "b.example");
	assert_int_equal(alerts[2].kind, ALERT_NEW_RESULT_TYPE);
	assert_int_equal(alerts[3].kind, ALERT_NEW_FAILING_MX);
	alerts_free(alerts, count);
	alerts = alerts_of(state, &only_b, &s, NOW, &count);
	assert_int_equal(count, 3);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(alerts[i].domain, "b.example");
	alerts_free(alerts, count);
	alerts = alerts_of(state, &only_other, &s, NOW, &count);
	assert_int_equal(count, 0);
	alerts_free(alerts, count);
}

static void verdict_of(void **state, const char *domain, unsigned days, struct domain_verdict *v)
{
	char why[512] = "";

	struct report_filter filter = { .domain = domain };

	if (report_domain_verdict(store_of(state), &filter, days, NOW, v, why, sizeof(why)) < 0)
		fail_msg("report_domain_verdict: %s", why);
}

static void test_verdicts(void **state)
{
	static const struct fixture_failure a[] = {
		{ "certificate-expired", "mx1.fix.example", 4, NULL },
		{ "starttls-not-supported", "mx2.fix.example", 1, NULL },
	};
	static const struct fixture_failure b[] = {
		{ "certificate-expired", "mx1.fix.example", 3, NULL },
	};
	static const struct fixture_failure c[] = { { "validation-failure", NULL, 1, NULL } };
	struct domain_verdict v;

	add(state, "Org A", "r1", "ready.example", fixture_day(2026, 11, 10), 500, 0, NULL, 0);
	add(state, "Org B", "r2", "ready.example", YESTERDAY, 700, 0, NULL, 0);
	add(state, "Org A", "f1", "fix.example", fixture_day(2026, 11, 20), 1000, 5, a, 2);
	add(state, "Org B", "f2", "fix.example", YESTERDAY, 2000, 3, b, 1);
	add(state, "Org C", "f3", "fix.example", YESTERDAY, 3000, 0, NULL, 0);
	add(state, "Org A", "o1", "old.example", fixture_day(2026, 10, 1), 10, 10, NULL, 0);
	add(state, "Org A", "n1", "one.example", YESTERDAY, 10, 1, c, 1);
	add(state, "Org A", "x1", "bare.example", YESTERDAY, 10, 3, NULL, 0);

	verdict_of(state, "ready.example", 30, &v);
	assert_int_equal(v.kind, VERDICT_READY);
	assert_string_equal(v.sentence, "no failures in 30 days: ready for enforce");
	assert_int_equal(v.days, 30);
	assert_int_equal(v.sessions, 1200);
	assert_int_equal(v.failures, 0);
	assert_int_equal(v.reporters, 2);

	/* the report of Nov 10 is outside a seven-day period */
	verdict_of(state, "ready.example", 7, &v);
	assert_int_equal(v.sessions, 700);
	assert_int_equal(v.reporters, 1);
	assert_string_equal(v.sentence, "no failures in 7 days: ready for enforce");

	verdict_of(state, "fix.example", 30, &v);
	assert_int_equal(v.kind, VERDICT_FIX_FIRST);
	assert_int_equal(v.sessions, 6008);
	assert_int_equal(v.failures, 8);
	assert_int_equal(v.reporters, 2);		/* Org C had no failures */
	assert_string_equal(v.top_result_type, "certificate-expired");
	assert_string_equal(v.top_mx, "mx1.fix.example");
	assert_string_equal(v.sentence, "8 failures from 2 reporters: fix certificate-expired on mx1.fix.example first");

	verdict_of(state, "one.example", 30, &v);
	assert_int_equal(v.kind, VERDICT_FIX_FIRST);
	assert_string_equal(v.top_mx, "");
	assert_string_equal(v.sentence, "1 failure from 1 reporter: fix validation-failure first");

	verdict_of(state, "bare.example", 30, &v);
	assert_string_equal(v.sentence, "3 failures from 1 reporter: no failure details given");

	verdict_of(state, "old.example", 30, &v);
	assert_int_equal(v.kind, VERDICT_NO_DATA);
	assert_int_equal(v.sessions, 0);
	assert_string_equal(v.sentence, "no reports in 30 days");
	verdict_of(state, "old.example", 1, &v);
	assert_string_equal(v.sentence, "no reports in 1 day");
	verdict_of(state, "never.example", 30, &v);
	assert_int_equal(v.kind, VERDICT_NO_DATA);

	/* a period is whole days ending with the day of now: a report of that day is in it */
	add(state, "Org A", "today", "today.example", NOW, 10, 0, NULL, 0);
	verdict_of(state, "today.example", 30, &v);
	assert_int_equal(v.kind, VERDICT_READY);
	assert_int_equal(v.sessions, 10);
	/* ... and one of the next day is not */
	add(state, "Org A", "late", "late.example", NOW + DAY, 10, 0, NULL, 0);
	verdict_of(state, "late.example", 30, &v);
	assert_int_equal(v.kind, VERDICT_NO_DATA);
	/* 30 days back from the day of now, and not one more */
	add(state, "Org A", "first", "edge.example", fixture_day(2026, 11, 3), 10, 0, NULL, 0);
	add(state, "Org A", "before", "edge.example", fixture_day(2026, 11, 2), 5, 0, NULL, 0);
	verdict_of(state, "edge.example", 30, &v);
	assert_int_equal(v.sessions, 10);

	/* a reporter's verdict counts that reporter's reports only */
	add(state, "Good Org", "g1", "mixed.example", YESTERDAY, 10, 0, NULL, 0);
	add(state, "Bad Org", "b1", "mixed.example", YESTERDAY, 10, 5, NULL, 0);
	verdict_of(state, "mixed.example", 30, &v);
	assert_int_equal(v.kind, VERDICT_FIX_FIRST);
	struct report_filter good = { .domain = "mixed.example", .reporter = "Good Org" };
	char why[256];

	assert_int_equal(report_domain_verdict(store_of(state), &good, 30, NOW, &v, why, sizeof(why)), 0);
	assert_int_equal(v.kind, VERDICT_READY);
	assert_int_equal(v.sessions, 10);
}

static void test_bad_arguments(void **state)
{
	struct domain_verdict v = { .sessions = 77 };
	struct alert_settings s;
	struct alert *alerts = NULL;
	size_t count = 5;
	char why[200] = "";

	struct report_filter a = { .domain = "a.example" };

	assert_int_equal(report_domain_verdict(store_of(state), &a, 0, NOW, &v, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "days"));
	assert_int_equal(v.sessions, 77);		/* untouched on failure */
	alert_settings_default(&s);
	s.window_days = 100000;
	assert_int_equal(report_alerts(store_of(state), NULL, &s, NOW, &alerts, &count, why, sizeof(why)), -1);
	assert_null(alerts);
	assert_int_equal(count, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_names),
		cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_ratio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_at_midnight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_result_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_failing_mx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later_reports_unseen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_reporter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
