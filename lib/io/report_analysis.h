/*
 * report_analysis.h - what the stored TLS reports say: alerts and the
 * verdict per domain.  One place decides both, for `mtasts reports alerts`,
 * the HTML page and the metrics.
 */
#ifndef MTASTS_IO_REPORT_ANALYSIS_H
#define MTASTS_IO_REPORT_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "report_store.h"

struct alert_settings {
	double failure_ratio;		/* alert when a day's failed/sessions exceeds it (default 0.01) */
	uint64_t min_sessions;		/* ...on a day with at least this many sessions (default 10) */
	unsigned window_days;		/* look at the last N days (default 1) */
	unsigned silent_days;		/* a reporter that reported before, silent this long (default 3) */
};

void alert_settings_default(struct alert_settings *ret_settings);

enum alert_kind {
	ALERT_FAILURE_RATIO,		/* key: day */
	ALERT_NEW_RESULT_TYPE,		/* key: result type */
	ALERT_NEW_FAILING_MX,		/* key: MX host */
	ALERT_SILENT_REPORTER,		/* key: organization-name */
};

struct alert {
	enum alert_kind kind;
	char *domain;
	char *key;
	int64_t since;			/* when it began: the day, first seen, last report */
	uint64_t failures;
	uint64_t sessions;
	char *message;			/* one sentence for people (values not escaped) */
};

/* "failure-ratio", "new-result-type", "new-failing-mx", "silent-reporter". */
const char *alert_kind_name(enum alert_kind kind);

/*
 * The alerts at time now over the reports matched by filter (its domain
 * and reporter).  Returns 0 with the alerts (possibly none), or -1.
 */
int report_alerts(struct report_store *store, const struct report_filter *filter,
		  const struct alert_settings *settings, int64_t now,
		  struct alert **ret_alerts, size_t *ret_count, char *why, size_t why_size);
void alerts_free(struct alert *alerts, size_t count);

enum verdict_kind {
	VERDICT_NO_DATA,		/* no reports in the period */
	VERDICT_READY,			/* no failures: ready for enforce */
	VERDICT_FIX_FIRST,		/* failures: fix the top cause first */
};

struct domain_verdict {
	enum verdict_kind kind;
	unsigned days;			/* the period looked at */
	uint64_t sessions, failures;
	uint64_t reporters;		/* distinct reporters with failures (FIX_FIRST) or at all */
	char top_result_type[64];	/* most failed sessions, for FIX_FIRST */
	char top_mx[256];		/* MX host with most failures, or "" */
	char sentence[400];		/* "no failures in 30 days: ready for enforce" */
};

/*
 * The period of `days` whole UTC days that ends with the day of now (now
 * is an end: at 00:00 it is the day that just ended): [since, until).
 * Every period of the reports (the verdicts, the HTML page) is one of these.
 */
void report_period(int64_t now, unsigned days, int64_t *ret_since, int64_t *ret_until);

/*
 * The verdict on filter->domain (required; filter->reporter applies too,
 * its dates do not) over report_period(now, days).
 */
int report_domain_verdict(struct report_store *store, const struct report_filter *filter, unsigned days,
			  int64_t now, struct domain_verdict *ret_verdict, char *why, size_t why_size);

#endif
