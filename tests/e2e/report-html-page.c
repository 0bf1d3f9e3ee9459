/*
 * report-html-page.c - fills a new SQLite report store with the reports
 * of a data file and writes the HTML page of them (report_html_write()),
 * for test-report-html.
 *
 * usage: report-html-page DATA.tsv STORE.sqlite PAGE.html NOW DAYS
 *
 * DATA.tsv (tab-separated; "#" lines and V lines are skipped):
 *   R  organization-name  report-id  policy-domain  YYYY-MM-DD  successes  failures
 *   F  result-type  receiving-mx-hostname|-  failed-session-count  additional-information|-
 * Each F line is a failure detail of the R line before it.  Exit 0 when
 * the page is written, 1 with a message otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_html.h"
#include "report_store.h"
#include "tlsrpt_report.h"

#define MAX_LINE 4096
#define MAX_FIELDS 8
#define MAX_DETAILS 64

struct pending {
	struct tlsrpt_report report;
	struct tlsrpt_policy policy;
	struct tlsrpt_failure details[MAX_DETAILS];
	char *strings[2 + MAX_DETAILS * 3 + 2];	/* copies owned, freed after storing */
	size_t string_count;
	bool open;
};

static size_t split(char *line, char *fields[MAX_FIELDS])
{
	size_t n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	for (char *p = line; n < MAX_FIELDS; n++) {
		fields[n] = p;
		if ((p = strchr(p, '\t')) == NULL)
			return n + 1;
		*p++ = '\0';
	}
	return n;
}

static char *keep(struct pending *p, const char *text)
{
	char *copy;

	if (strcmp(text, "-") == 0)
		return NULL;
	if ((copy = strdup(text)) == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	p->strings[p->string_count++] = copy;
	return copy;
}

static int day_start(const char *day, int64_t *ret_start)
{
	unsigned y, m, d;
	int64_t era, yy;
	unsigned yoe, doy;

	if (sscanf(day, "%4u-%2u-%2u", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	yy = (int64_t)y - (m <= 2);
	era = yy / 400;
	yoe = (unsigned)(yy - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	*ret_start = (era * 146097 + (int64_t)(yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468) * 86400;
	return 0;
}

static int store_pending(struct report_store *store, struct pending *p)
{
	struct report_meta meta = { .source = "file", .origin = "report-html-data.tsv", .raw = "{}", .raw_len = 2 };
	char why[512] = "";
	int64_t id;
	enum store_status status;

	if (!p->open)
		return 0;
	meta.received_at = p->report.end + 3600;
	status = report_store_add(store, &p->report, &meta, &id, why, sizeof(why));
	for (size_t i = 0; i < p->string_count; i++)
		free(p->strings[i]);
	memset(p, 0, sizeof(*p));
	if (status != STORE_ADDED) {
		fprintf(stderr, "storing a report: %s\n", why);
		return -1;
	}
	return 0;
}

static int start_report(struct pending *p, char *fields[MAX_FIELDS], size_t n, unsigned line)
{
	if (n != 7 || day_start(fields[4], &p->report.start) < 0) {
		fprintf(stderr, "line %u: R needs 7 fields and a day YYYY-MM-DD\n", line);
		return -1;
	}
	p->open = true;
	p->report.end = p->report.start + 86400;
	p->report.organization_name = keep(p, fields[1]);
	p->report.report_id = keep(p, fields[2]);
	p->policy.policy_type = (char *)"sts";
	p->policy.policy_domain = keep(p, fields[3]);
	p->policy.total_successful = strtoull(fields[5], NULL, 10);
	p->policy.total_failure = strtoull(fields[6], NULL, 10);
	p->policy.failures = p->details;
	p->report.policies = &p->policy;
	p->report.policy_count = 1;
	return 0;
}

static int add_detail(struct pending *p, char *fields[MAX_FIELDS], size_t n, unsigned line)
{
	struct tlsrpt_failure *f;

	if (n != 5 || !p->open || p->policy.failure_count == MAX_DETAILS) {
		fprintf(stderr, "line %u: F needs 5 fields, an R line before it, at most %d per report\n",
			line, MAX_DETAILS);
		return -1;
	}
	f = &p->details[p->policy.failure_count++];
	f->result_type = keep(p, fields[1]);
	f->receiving_mx_hostname = keep(p, fields[2]);
	f->failed_session_count = strtoull(fields[3], NULL, 10);
	f->additional_information = keep(p, fields[4]);
	f->sending_mta_ip = (char *)"192.0.2.25";
	f->receiving_ip = (char *)"198.51.100.7";
	return 0;
}

static int fill(struct report_store *store, FILE *data)
{
	static struct pending pending;
	char line[MAX_LINE], *fields[MAX_FIELDS] = { 0 };
	unsigned number = 0;

	while (fgets(line, sizeof(line), data) != NULL) {
		size_t n = split(line, fields);

		number++;
		if (fields[0][0] == '#' || fields[0][0] == '\0' || strcmp(fields[0], "V") == 0)
			continue;
		if (strcmp(fields[0], "R") == 0) {
			if (store_pending(store, &pending) < 0 || start_report(&pending, fields, n, number) < 0)
				return -1;
		} else if (strcmp(fields[0], "F") != 0 || add_detail(&pending, fields, n, number) < 0) {
			fprintf(stderr, "line %u: not a report (R) or a failure detail (F)\n", number);
			return -1;
		}
	}
	return store_pending(store, &pending);
}

int main(int argc, char **argv)
{
	struct report_store_options options = { .timeout_ms = 5000 };
	struct report_store *store = NULL;
	FILE *data = NULL, *out = NULL;
	char why[512] = "";
	int rc = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: report-html-page DATA.tsv STORE.sqlite PAGE.html NOW DAYS\n");
		return 1;
	}
	if ((data = fopen(argv[1], "r")) == NULL || (out = fopen(argv[3], "w")) == NULL) {
		fprintf(stderr, "%s: %s\n", data == NULL ? argv[1] : argv[3], strerror(errno));
		goto out;
	}
	if ((store = report_store_open(argv[2], &options, why, sizeof(why))) == NULL) {
		fprintf(stderr, "%s: %s\n", argv[2], why);
		goto out;
	}
	if (fill(store, data) < 0)
		goto out;
	if (report_html_write(out, store, NULL, (unsigned)strtoul(argv[5], NULL, 10),
			      strtoll(argv[4], NULL, 10), why, sizeof(why)) < 0) {
		fprintf(stderr, "the page: %s\n", why);
		goto out;
	}
	rc = 0;
out:
	if (out != NULL && fclose(out) != 0 && rc == 0) {
		fprintf(stderr, "%s: %s\n", argv[3], strerror(errno));
		rc = 1;
	}
	if (data != NULL)
		fclose(data);
	report_store_close(store);
	return rc;
}
