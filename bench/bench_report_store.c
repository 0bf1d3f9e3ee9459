/*
 * bench_report_store.c - what a year of TLS reports costs the report store
 * (lib/io/report_store.c): the time of report_store_add() per report, and
 * of each summary over the year, with the peak resident memory.
 *
 *	bench-report-store LOCATION [DOMAINS [DAYS]]
 *
 * LOCATION is a store as report_store_open() takes it (an SQLite path, or
 * a postgresql:// URI); DOMAINS defaults to 1000 and DAYS to 365.  Every
 * domain gets a report a day from each of two reporters (730,000 reports
 * for the defaults), one policy each; 3 in 100 carry one or two failure
 * details.  Each report is added with report_store_add(), so each is its
 * own transaction committed with synchronous=FULL (SQLite): on a disk that
 * syncs slowly, put the file on a tmpfs for the fill and read the
 * per-report time of a real disk from a small run there.  A store that
 * already holds reports is not filled again, only asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "report_store.h"

#define T0 ((int64_t)1704067200)	/* 2024-01-01T00:00:00Z */
#define DAY 86400

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* A small deterministic generator (xorshift), the same numbers every run. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static const char *const result_types[] = {
	"certificate-expired", "starttls-not-supported", "validation-failure", "sts-webpki-invalid",
};

/* Add one report; 0, or -1 with the reason printed. */
static int add_one(struct report_store *store, int domain, int day, int reporter, uint64_t *rng)
{
	char domain_name[64], report_id[96], mx1[96], mx2[96], json[1024];
	char org[32];
	struct tlsrpt_failure failures[2] = { 0 };
	struct tlsrpt_policy policy = { 0 };
	struct tlsrpt_report report = { 0 };
	int64_t id;
	char why[256];

	snprintf(domain_name, sizeof(domain_name), "domain-%d.example", domain);
	snprintf(org, sizeof(org), "%s", reporter == 0 ? "google.com" : "microsoft.com");
	snprintf(report_id, sizeof(report_id), "%d-%d-%s", day, domain, org);
	snprintf(mx1, sizeof(mx1), "mx1.%s", domain_name);
	snprintf(mx2, sizeof(mx2), "mx2.%s", domain_name);
	char *mx_hosts[] = { mx1, mx2 };
	char *policy_strings[] = { "version: STSv1", "mode: enforce", mx1, mx2, "max_age: 604800" };
	policy.policy_type = "sts";
	policy.policy_domain = domain_name;
	policy.policy_strings = policy_strings;
	policy.policy_string_count = 5;
	policy.mx_hosts = mx_hosts;
	policy.mx_host_count = 2;
	policy.total_successful = 100 + next_random(rng) % 10000;
	if (next_random(rng) % 100 < 3) {
		policy.failure_count = 1 + next_random(rng) % 2;
		for (size_t i = 0; i < policy.failure_count; i++) {
			failures[i].result_type = (char *)result_types[next_random(rng) % 4];
			failures[i].sending_mta_ip = "192.0.2.25";
			failures[i].receiving_mx_hostname = i == 0 ? mx1 : mx2;
			failures[i].receiving_ip = "198.51.100.7";
			failures[i].failed_session_count = 1 + next_random(rng) % 20;
			policy.total_failure += failures[i].failed_session_count;
		}
		policy.failures = failures;
	}
	report.organization_name = org;
	report.report_id = report_id;
	report.contact_info = "smtp-tls-reporting@example";
	report.start = T0 + (int64_t)day * DAY;
	report.end = report.start + DAY - 1;
	report.policies = &policy;
	report.policy_count = 1;
	int len = snprintf(json, sizeof(json),
			   "{\"organization-name\":\"%s\",\"date-range\":{\"start-datetime\":"
			   "\"day %d\",\"end-datetime\":\"day %d\"},\"contact-info\":"
			   "\"smtp-tls-reporting@example\",\"report-id\":\"%s\",\"policies\":[{"
			   "\"policy\":{\"policy-type\":\"sts\",\"policy-string\":[\"version: STSv1\","
			   "\"mode: enforce\",\"mx: %s\",\"mx: %s\",\"max_age: 604800\"],"
			   "\"policy-domain\":\"%s\",\"mx-host\":[\"%s\",\"%s\"]},\"summary\":{"
			   "\"total-successful-session-count\":%llu,\"total-failure-session-count\":"
			   "%llu}}]}", org, day, day, report_id, mx1, mx2, domain_name, mx1, mx2,
			   (unsigned long long)policy.total_successful,
			   (unsigned long long)policy.total_failure);
	struct report_meta meta = {
		.received_at = report.end + 7200, .source = "https", .origin = "203.0.113.1",
		.raw = json, .raw_len = (size_t)len,
	};
	enum store_status status = report_store_add(store, &report, &meta, &id, why, sizeof(why));
	if (status != STORE_ADDED) {
		fprintf(stderr, "bench-report-store: adding %s: %d: %s\n", report_id, (int)status, why);
		return -1;
	}
	return 0;
}

static int fill(struct report_store *store, int domains, int days)
{
	uint64_t rng = 0x9e3779b97f4a7c15u;
	long total = (long)domains * days * 2, done = 0;
	double start = seconds(), mark = start;

	for (int day = 0; day < days; day++)
		for (int domain = 0; domain < domains; domain++)
			for (int reporter = 0; reporter < 2; reporter++) {
				if (add_one(store, domain, day, reporter, &rng) != 0)
					return -1;
				if (++done % 100000 == 0) {
					double now = seconds();
					printf("  %ld of %ld reports, %.1f us each lately\n", done, total,
					       (now - mark) * 1e6 / 100000);
					fflush(stdout);
					mark = now;
				}
			}
	double took = seconds() - start;
	printf("fill: %ld reports in %.1f s: report_store_add %.1f us per report\n", total, took,
	       took * 1e6 / (double)total);
	return 0;
}

struct query {
	const char *name;
	enum report_group group;
	struct report_filter filter;
};

int main(int argc, char **argv)
{
	int domains = argc > 2 ? atoi(argv[2]) : 1000;
	int days = argc > 3 ? atoi(argv[3]) : 365;
	struct report_store_options options = { .timeout_ms = 60000 };
	struct summary_row total = { 0 };
	char why[256] = "";
	int status = 1;

	if (argc < 2 || domains < 1 || days < 1 || days > 3650) {
		fprintf(stderr, "usage: bench-report-store LOCATION [DOMAINS [DAYS]]\n");
		return 2;
	}
	struct report_store *store = report_store_open(argv[1], &options, why, sizeof(why));
	if (store == NULL) {
		fprintf(stderr, "bench-report-store: %s\n", why);
		return 1;
	}
	if (report_store_summary(store, NULL, GROUP_NONE, NULL, NULL, &total, why, sizeof(why)) != 0)
		goto out;
	if (total.reports == 0 && fill(store, domains, days) != 0)
		goto out;
	else if (total.reports > 0)
		printf("fill: the store holds %llu reports already\n", (unsigned long long)total.reports);

	const struct query queries[] = {
		{ "total only", GROUP_NONE, { 0 } },
		{ "by day", GROUP_DAY, { 0 } },
		{ "by reporter", GROUP_REPORTER, { 0 } },
		{ "by domain", GROUP_DOMAIN, { 0 } },
		{ "by result type", GROUP_RESULT_TYPE, { 0 } },
		{ "by mx", GROUP_MX, { 0 } },
		{ "one domain by day", GROUP_DAY, { .domain = "domain-500.example" } },
		{ "one domain by result type", GROUP_RESULT_TYPE, { .domain = "domain-500.example" } },
		{ "all, last 30 days, by domain", GROUP_DOMAIN,
		  { .since = T0 + (int64_t)(days - 30) * DAY } },
	};
	printf("%-32s %10s %10s %8s %12s\n", "summary", "first ms", "best ms", "rows", "reports");
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		double first = 0, best = 1e9;
		size_t count = 0;

		for (int run = 0; run < 3; run++) {
			struct summary_row *rows = NULL;
			double start = seconds();
			if (report_store_summary(store, &queries[i].filter, queries[i].group, &rows,
						 &count, &total, why, sizeof(why)) != 0)
				goto out;
			double took = (seconds() - start) * 1000;
			summary_rows_free(rows, count);
			if (run == 0)
				first = took;
			if (took < best)
				best = took;
		}
		printf("%-32s %10.1f %10.1f %8zu %12llu\n", queries[i].name, first, best, count,
		       (unsigned long long)total.reports);
	}
	printf("peak RSS: %ld KiB\n", peak_rss_kib());
	status = 0;
out:
	if (status != 0 && why[0] != '\0')
		fprintf(stderr, "bench-report-store: %s\n", why);
	report_store_close(store);
	return status;
}
