/*
 * report_analysis.c - alerts and per-domain verdicts over the report store
 * (report_analysis.h), decided only from the store's queries.
 *
 * The alert window is day-aligned, since a report belongs to the UTC day
 * its date-range starts on and daily reports arrive the day after: the
 * window holds the UTC day of `now` and the window_days whole days before
 * it (a report started at 00:00 yesterday is in a one-day window all of
 * today).  `now` is an end, as in every period here: the day of 00:00 is
 * the day that just ended.  Within it:
 *
 *   failure-ratio     a domain's day with at least min_sessions sessions
 *                     and failures/sessions strictly above failure_ratio
 *   new-result-type   a domain's result type whose first failure (over all
 *                     time) started in the window
 *   new-failing-mx    the same for a receiving MX host ("" is not a host)
 *   silent-reporter   a reporter whose last report on a domain ended
 *                     silent_days * 86400 seconds or more before now
 *
 * Alerts come sorted by kind, then domain, then key.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_analysis.h"
#include "util.h"

#define DAY_SECONDS 86400
#define MAX_DAYS 36600			/* a century: bounds the seconds computed from days */

void alert_settings_default(struct alert_settings *ret_settings)
{
	ret_settings->failure_ratio = 0.01;
	ret_settings->min_sessions = 10;
	ret_settings->window_days = 1;
	ret_settings->silent_days = 3;
}

const char *alert_kind_name(enum alert_kind kind)
{
	switch (kind) {
	case ALERT_FAILURE_RATIO:
		return "failure-ratio";
	case ALERT_NEW_RESULT_TYPE:
		return "new-result-type";
	case ALERT_NEW_FAILING_MX:
		return "new-failing-mx";
	case ALERT_SILENT_REPORTER:
		return "silent-reporter";
	}
	return "unknown";
}

static int64_t day_floor(int64_t t)
{
	int64_t day = t / DAY_SECONDS;

	if (t % DAY_SECONDS < 0)
		day--;
	return day * DAY_SECONDS;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The start of a "YYYY-MM-DD" day key; -1 when it is not one. */
static int day_key_start(const char *key, int64_t *ret_start)
{
	unsigned y, m, d;
	char rest;

	if (key == NULL || strlen(key) != 10 ||
	    sscanf(key, "%4u-%2u-%2u%c", &y, &m, &d, &rest) != 3 ||
	    m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*ret_start = days_from_civil(y, m, d) * DAY_SECONDS;
	return 0;
}

static void format_day(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
}

/* ---------------------------------------------------------- the alerts */

struct alert_list {
	struct alert *items;
	size_t count, capacity;
};

static int add_alert(struct alert_list *list, enum alert_kind kind, const char *domain, const char *key,
		     int64_t since, uint64_t failures, uint64_t sessions, const char *message)
{
	struct alert *a;

	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 8;
		struct alert *items = realloc(list->items, capacity * sizeof(*items));

		if (items == NULL)
			return -1;
		list->items = items;
		list->capacity = capacity;
	}
	a = &list->items[list->count];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->since = since;
	a->failures = failures;
	a->sessions = sessions;
	a->domain = strdup(domain ? domain : "");
	a->key = strdup(key ? key : "");
	a->message = strdup(message);
	list->count++;
	if (a->domain == NULL || a->key == NULL || a->message == NULL)
		return -1;
	return 0;
}

static int failure_ratio_alerts(struct report_store *store, const struct report_filter *filter,
				const struct alert_settings *settings, int64_t window_start,
				struct alert_list *list, char *why, size_t why_size)
{
	struct report_filter window = *filter;
	struct summary_row *rows = NULL, total = { 0 };
	size_t count = 0;
	int rc = -1;

	window.since = window_start;
	if (report_store_summary(store, &window, GROUP_DOMAIN_DAY, &rows, &count, &total, why, why_size) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const struct summary_row *r = &rows[i];
		char message[600];
		int64_t day;

		if (r->sessions == 0 || r->sessions < settings->min_sessions ||
		    (double)r->failures / (double)r->sessions <= settings->failure_ratio)
			continue;
		if (day_key_start(r->key2, &day) < 0) {
			say_why(why, why_size, "report store: \"%.40s\" is not a day (YYYY-MM-DD)",
			    r->key2 ? r->key2 : "");
			errno = EINVAL;
			goto out;
		}
		snprintf(message, sizeof(message),
			 "%s: %" PRIu64 " of %" PRIu64 " sessions failed on %s (%.1f%%, above %.1f%%)",
			 r->key, r->failures, r->sessions, r->key2,
			 100.0 * (double)r->failures / (double)r->sessions, 100.0 * settings->failure_ratio);
		if (add_alert(list, ALERT_FAILURE_RATIO, r->key, r->key2, day, r->failures, r->sessions,
			      message) < 0)
			goto nomem;
	}
	rc = 0;
	goto out;
nomem:
	say_why(why, why_size, "out of memory");
	errno = ENOMEM;
out:
	summary_rows_free(rows, count);
	summary_row_clear(&total);
	return rc;
}

/* A result type or MX host first failing in the window. */
static int first_seen_alerts(struct report_store *store, const struct report_filter *filter,
			     enum report_group group, int64_t window_start, struct alert_list *list,
			     char *why, size_t why_size)
{
	struct report_filter all_time = { .domain = filter->domain, .reporter = filter->reporter,
					  .until = filter->until };
	enum alert_kind kind = group == GROUP_DOMAIN_MX ? ALERT_NEW_FAILING_MX : ALERT_NEW_RESULT_TYPE;
	struct first_seen_row *rows = NULL;
	size_t count = 0;
	int rc = -1;

	if (report_store_first_seen(store, &all_time, group, &rows, &count, why, why_size) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const struct first_seen_row *r = &rows[i];
		char message[800], day[32];

		if (r->first_start < window_start || r->key == NULL || r->key[0] == '\0')
			continue;
		format_day(r->first_start, day, sizeof(day));
		if (kind == ALERT_NEW_FAILING_MX)
			snprintf(message, sizeof(message),
				 "%s: MX host %s failed for the first time on %s (%" PRIu64 " failed sessions)",
				 r->domain, r->key, day, r->failures);
		else
			snprintf(message, sizeof(message),
				 "%s: result type %s seen for the first time on %s (%" PRIu64 " failed sessions)",
				 r->domain, r->key, day, r->failures);
		if (add_alert(list, kind, r->domain, r->key, r->first_start, r->failures, r->failures,
			      message) < 0) {
			say_why(why, why_size, "out of memory");
			errno = ENOMEM;
			goto out;
		}
	}
	rc = 0;
out:
	first_seen_rows_free(rows, count);
	return rc;
}

static int silent_reporter_alerts(struct report_store *store, const struct report_filter *filter,
				  const struct alert_settings *settings, int64_t now,
				  struct alert_list *list, char *why, size_t why_size)
{
	struct report_filter all_time = { .domain = filter->domain, .reporter = filter->reporter,
					  .until = filter->until };
	int64_t silent_since = now - (int64_t)settings->silent_days * DAY_SECONDS;
	struct reporter_row *rows = NULL;
	size_t count = 0;
	int rc = -1;

	if (report_store_reporters(store, &all_time, &rows, &count, why, why_size) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const struct reporter_row *r = &rows[i];
		char message[800], day[32];

		if (r->last_end > silent_since)
			continue;
		format_day(r->last_end, day, sizeof(day));
		snprintf(message, sizeof(message),
			 "%s: %s has sent no report for %" PRId64 " days (the last one ended %s)",
			 r->domain, r->organization_name, (now - r->last_end) / DAY_SECONDS, day);
		if (add_alert(list, ALERT_SILENT_REPORTER, r->domain, r->organization_name, r->last_end, 0, 0,
			      message) < 0) {
			say_why(why, why_size, "out of memory");
			errno = ENOMEM;
			goto out;
		}
	}
	rc = 0;
out:
	reporter_rows_free(rows, count);
	return rc;
}

static int by_kind_domain_key(const void *x, const void *y)
{
	const struct alert *a = x, *b = y;
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	c = strcmp(a->domain, b->domain);
	return c ? c : strcmp(a->key, b->key);
}

int report_alerts(struct report_store *store, const struct report_filter *filter,
		  const struct alert_settings *settings, int64_t now,
		  struct alert **ret_alerts, size_t *ret_count, char *why, size_t why_size)
{
	struct report_filter everything = { 0 };
	struct alert_list list = { 0 };
	int64_t window_start;

	if (filter == NULL)
		filter = &everything;
	if (settings->window_days > MAX_DAYS || settings->silent_days > MAX_DAYS) {
		say_why(why, why_size, "alerts: a window of %u days or a silence of %u days is past %u days",
		    settings->window_days, settings->silent_days, MAX_DAYS);
		errno = EINVAL;
		return -1;
	}
	window_start = day_floor(now - 1) - (int64_t)settings->window_days * DAY_SECONDS;
	/* Judged at now: what reports of later days say is not known yet. */
	struct report_filter until_now = *filter;
	int64_t day_after = day_floor(now - 1) + DAY_SECONDS;

	if (until_now.until == 0 || until_now.until > day_after)
		until_now.until = day_after;
	filter = &until_now;
	if (failure_ratio_alerts(store, filter, settings, window_start, &list, why, why_size) < 0 ||
	    first_seen_alerts(store, filter, GROUP_DOMAIN_RESULT_TYPE, window_start, &list, why, why_size) < 0 ||
	    first_seen_alerts(store, filter, GROUP_DOMAIN_MX, window_start, &list, why, why_size) < 0 ||
	    silent_reporter_alerts(store, filter, settings, now, &list, why, why_size) < 0) {
		alerts_free(list.items, list.count);
		return -1;
	}
	if (list.count > 1)
		qsort(list.items, list.count, sizeof(*list.items), by_kind_domain_key);
	*ret_alerts = list.items;
	*ret_count = list.count;
	return 0;
}

void alerts_free(struct alert *alerts, size_t count)
{
	if (alerts == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		free(alerts[i].domain);
		free(alerts[i].key);
		free(alerts[i].message);
	}
	free(alerts);
}

/* --------------------------------------------------------- the verdict */

/* The row with the most failures (the first in key order on a tie), skipping empty keys. */
static const struct summary_row *top_failures(const struct summary_row *rows, size_t count)
{
	const struct summary_row *top = NULL;

	for (size_t i = 0; i < count; i++)
		if (rows[i].failures > 0 && rows[i].key != NULL && rows[i].key[0] != '\0' &&
		    (top == NULL || rows[i].failures > top->failures))
			top = &rows[i];
	return top;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static int verdict_fill(struct report_store *store, const struct report_filter *period,
			struct domain_verdict *v, char *why, size_t why_size)
{
	struct summary_row *reporters = NULL, *types = NULL, *mxs = NULL, total = { 0 }, ignored = { 0 };
	size_t reporter_count = 0, type_count = 0, mx_count = 0;
	const struct summary_row *top;
	int rc = -1;

	if (report_store_summary(store, period, GROUP_REPORTER, &reporters, &reporter_count, &total,
				 why, why_size) < 0)
		goto out;
	v->sessions = total.sessions;
	v->failures = total.failures;
	for (size_t i = 0; i < reporter_count; i++)
		if (total.failures == 0 || reporters[i].failures > 0)
			v->reporters++;
	if (total.reports == 0) {
		v->kind = VERDICT_NO_DATA;
		snprintf(v->sentence, sizeof(v->sentence), "no reports in %u %s", v->days,
			 plural(v->days, "day", "days"));
	} else if (total.failures == 0) {
		v->kind = VERDICT_READY;
		snprintf(v->sentence, sizeof(v->sentence), "no failures in %u %s: ready for enforce", v->days,
			 plural(v->days, "day", "days"));
	} else {
		v->kind = VERDICT_FIX_FIRST;
		if (report_store_summary(store, period, GROUP_RESULT_TYPE, &types, &type_count, &ignored,
					 why, why_size) < 0)
			goto out;
		summary_row_clear(&ignored);
		if (report_store_summary(store, period, GROUP_MX, &mxs, &mx_count, &ignored, why, why_size) < 0)
			goto out;
		if ((top = top_failures(types, type_count)) != NULL)
			snprintf(v->top_result_type, sizeof(v->top_result_type), "%s", top->key);
		if ((top = top_failures(mxs, mx_count)) != NULL)
			snprintf(v->top_mx, sizeof(v->top_mx), "%s", top->key);
		snprintf(v->sentence, sizeof(v->sentence), "%" PRIu64 " %s from %" PRIu64 " %s: %s%s%s%s%s",
			 v->failures, plural(v->failures, "failure", "failures"),
			 v->reporters, plural(v->reporters, "reporter", "reporters"),
			 v->top_result_type[0] ? "fix " : "no failure details given",
			 v->top_result_type,
			 v->top_result_type[0] && v->top_mx[0] ? " on " : "",
			 v->top_result_type[0] ? v->top_mx : "",
			 v->top_result_type[0] ? " first" : "");
	}
	rc = 0;
out:
	summary_rows_free(reporters, reporter_count);
	summary_rows_free(types, type_count);
	summary_rows_free(mxs, mx_count);
	summary_row_clear(&total);
	summary_row_clear(&ignored);
	return rc;
}

void report_period(int64_t now, unsigned days, int64_t *ret_since, int64_t *ret_until)
{
	int64_t until = day_floor(now - 1) + DAY_SECONDS;

	*ret_until = until;
	*ret_since = until - (int64_t)days * DAY_SECONDS;
}

int report_domain_verdict(struct report_store *store, const struct report_filter *filter, unsigned days,
			  int64_t now, struct domain_verdict *ret_verdict, char *why, size_t why_size)
{
	struct report_filter period = { 0 };
	struct domain_verdict verdict;

	if (filter == NULL || filter->domain == NULL || days == 0 || days > MAX_DAYS) {
		say_why(why, why_size, "verdict: a domain and a period of 1 to %u days are required (%u days given)",
		    MAX_DAYS, days);
		errno = EINVAL;
		return -1;
	}
	period.domain = filter->domain;
	period.reporter = filter->reporter;
	memset(&verdict, 0, sizeof(verdict));
	verdict.days = days;
	report_period(now, days, &period.since, &period.until);
	if (verdict_fill(store, &period, &verdict, why, why_size) < 0)
		return -1;
	*ret_verdict = verdict;
	return 0;
}
