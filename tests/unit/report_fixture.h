/*
 * report_fixture.h - a real SQLite report store in a temporary directory,
 * filled with reports built by hand, for the tests of what is read out of
 * it (analysis, the HTML page).
 *
 *   fixture_open()       a new empty store (fails the test when it cannot)
 *   fixture_report()     store one report with one policy: its day, session
 *                        totals and failure details
 *   fixture_close()      close the store and remove its files
 *   fixture_day()        seconds since the epoch of a UTC date
 */
#ifndef MTASTS_TESTS_REPORT_FIXTURE_H
#define MTASTS_TESTS_REPORT_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_store.h"
#include "tlsrpt_report.h"

struct fixture {
	char dir[64];
	char path[96];
	struct report_store *store;
};

/* One failure-details entry; mx may be NULL (absent). */
struct fixture_failure {
	const char *result_type;
	const char *mx;
	uint64_t count;
	const char *information;
};

static inline int64_t fixture_day(int y, unsigned m, unsigned d)
{
	/* days from civil (H. Hinnant) */
	int64_t era, yy = y - (m <= 2);
	unsigned yoe, doy, doe;

	era = (yy >= 0 ? yy : yy - 399) / 400;
	yoe = (unsigned)(yy - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + (int64_t)doe - 719468) * 86400;
}

static inline int fixture_open(struct fixture *f)
{
	struct report_store_options options = { .timeout_ms = 5000 };
	char why[512] = "";

	snprintf(f->dir, sizeof(f->dir), "/tmp/mtasts-report-test.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/reports.sqlite", f->dir);
	f->store = report_store_open(f->path, &options, why, sizeof(why));
	if (f->store == NULL) {
		fprintf(stderr, "report_store_open: %s\n", why);
		rmdir(f->dir);
		return -1;
	}
	return 0;
}

static inline void fixture_close(struct fixture *f)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char path[128];

	f->store = report_store_close(f->store);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", f->path, suffixes[i]);
		unlink(path);
	}
	rmdir(f->dir);
}

/*
 * A report of organization (report-id id) on domain, starting at start and
 * ending at end, with the policy's totals and failure details.  Returns the
 * store's status (STORE_ADDED expected).
 */
static inline enum store_status fixture_report_range(struct fixture *f, const char *organization,
						     const char *id, const char *domain, int64_t start,
						     int64_t end, uint64_t successes, uint64_t failures,
						     const struct fixture_failure *details, size_t count)
{
	struct tlsrpt_failure entries[64];
	struct tlsrpt_policy policy;
	struct tlsrpt_report report;
	struct report_meta meta;
	char why[512] = "";
	int64_t row = 0;
	enum store_status status;

	if (count > sizeof(entries) / sizeof(entries[0]))
		return STORE_FAILED;
	memset(entries, 0, sizeof(entries));
	for (size_t i = 0; i < count; i++) {
		entries[i].result_type = (char *)details[i].result_type;
		entries[i].receiving_mx_hostname = (char *)details[i].mx;
		entries[i].sending_mta_ip = (char *)"192.0.2.25";
		entries[i].receiving_ip = (char *)"198.51.100.7";
		entries[i].failed_session_count = details[i].count;
		entries[i].additional_information = (char *)details[i].information;
	}
	memset(&policy, 0, sizeof(policy));
	policy.policy_type = (char *)"sts";
	policy.policy_domain = (char *)domain;
	policy.total_successful = successes;
	policy.total_failure = failures;
	policy.failures = count ? entries : NULL;
	policy.failure_count = count;
	memset(&report, 0, sizeof(report));
	report.organization_name = (char *)organization;
	report.report_id = (char *)id;
	report.start = start;
	report.end = end;
	report.policies = &policy;
	report.policy_count = 1;
	memset(&meta, 0, sizeof(meta));
	meta.received_at = end + 3600;
	meta.source = "file";
	meta.origin = "test";
	meta.dkim = DKIM_VERDICT_NONE;
	meta.raw = "{}";
	meta.raw_len = 2;
	status = report_store_add(f->store, &report, &meta, &row, why, sizeof(why));
	if (status != STORE_ADDED)
		fprintf(stderr, "report_store_add %s: %s\n", id, why);
	return status;
}

/* A daily report: the day starting at start. */
static inline enum store_status fixture_report(struct fixture *f, const char *organization, const char *id,
					       const char *domain, int64_t start, uint64_t successes,
					       uint64_t failures, const struct fixture_failure *details,
					       size_t count)
{
	return fixture_report_range(f, organization, id, domain, start, start + 86400, successes, failures,
				    details, count);
}

#endif
