/*
 * tlsrpt_report.h - an SMTP TLS report (RFC 8460 4) read from its JSON text.
 *
 * The reader is strict about what a report means and tolerant of what real
 * senders do (see tests/unit/data/tlsrpt/README.md): a UTF-8 byte order mark
 * before the text; "mx-host" as a string, an array or absent; dates without
 * a time zone; a TLSA "policy-string" sent as one JSON-encoded string;
 * "sending-mta-ip" empty or absent; "contact-info" null or absent;
 * "policy-domain" absent on "no-policy-found".  It rejects, saying where and
 * why: text that is not JSON or not UTF-8, nesting, arrays or the values of
 * the whole text past the limits, a field of the wrong type (a count sent as
 * a string), a missing required field, a file that is not a report at all.
 *
 * Every string in the result is valid UTF-8 without NUL octets; it may hold
 * control characters, so programs escape it before printing.
 */
#ifndef MTASTS_IO_TLSRPT_REPORT_H
#define MTASTS_IO_TLSRPT_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* Bounds on one report; tlsrpt_report_limits_default() gives the defaults. */
struct tlsrpt_limits {
	size_t max_json;		/* octets of JSON text (default 16 MiB) */
	size_t max_depth;		/* JSON nesting (default 32) */
	size_t max_policies;		/* entries of "policies" (default 10,000) */
	size_t max_failures;		/* "failure-details" of one policy (default 10,000) */
	size_t max_strings;		/* "policy-string" and "mx-host" entries (default 1,000) */
	size_t max_string;		/* octets of one string (default 64 KiB) */
	size_t max_elements;		/* JSON values in the whole text (default 100,000) */
};

/* One "failure-details" entry (RFC 8460 4.3). Absent strings are NULL. */
struct tlsrpt_failure {
	char *result_type;		/* lower case, as sent; unknown types kept */
	char *sending_mta_ip;
	char *receiving_mx_hostname;	/* lower case, no final dot */
	char *receiving_mx_helo;
	char *receiving_ip;
	uint64_t failed_session_count;
	char *additional_information;
	char *failure_reason_code;
};

/* One "policies" entry: the policy applied and its session counts. */
struct tlsrpt_policy {
	char *policy_type;		/* "sts", "tlsa", "no-policy-found" (others kept) */
	char *policy_domain;		/* lower case, no final dot; "" when absent */
	char **policy_strings;		/* policy_string_count entries */
	size_t policy_string_count;
	char **mx_hosts;		/* mx_host_count entries */
	size_t mx_host_count;
	uint64_t total_successful;	/* total-successful-session-count */
	uint64_t total_failure;		/* total-failure-session-count */
	struct tlsrpt_failure *failures;
	size_t failure_count;
};

struct tlsrpt_report {
	char *organization_name;
	char *report_id;
	char *contact_info;		/* NULL when null or absent */
	int64_t start;			/* date-range, seconds since the epoch, UTC */
	int64_t end;
	struct tlsrpt_policy *policies;
	size_t policy_count;
};

void tlsrpt_limits_default(struct tlsrpt_limits *ret_limits);

/*
 * Read one report from json/len.  On success returns 0 and sets *ret_report
 * (free with tlsrpt_report_free()).  On failure returns -1, leaves
 * *ret_report untouched and writes into why a sentence that says what is
 * wrong and where ("policies[2].summary.total-failure-session-count: a
 * number is required, not a string"); errno is ENOMEM when memory ran out,
 * EINVAL otherwise.
 */
int tlsrpt_report_read(const char *json, size_t len, const struct tlsrpt_limits *limits,
		       struct tlsrpt_report **ret_report, char *why, size_t why_size);

/* Accepts NULL; returns NULL. */
struct tlsrpt_report *tlsrpt_report_free(struct tlsrpt_report *report);

/* Sum of total_successful / total_failure over the policies. */
uint64_t tlsrpt_report_successes(const struct tlsrpt_report *report);
uint64_t tlsrpt_report_failures(const struct tlsrpt_report *report);

#endif
