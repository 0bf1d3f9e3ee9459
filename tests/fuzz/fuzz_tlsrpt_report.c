/*
 * fuzz_tlsrpt_report.c - fuzz target for the SMTP TLS report reader
 * (tlsrpt_report_read, over jansson).
 *
 * Any bytes are a report's JSON text.  A refusal must leave the result
 * untouched and say why in printable ASCII; an accepted report must keep
 * the promises of tlsrpt_report.h: strings of valid UTF-8 without NUL
 * within the limits, names in lower case without a final dot, counts up
 * to 2^53, a date range that does not end before it starts.  The input is
 * read twice, under the default limits and under tight ones: what the
 * tight ones accept, the defaults accept alike.
 */
#include <stdio.h>

#include "tlsrpt_report.h"

#include "fuzz.h"

#define COUNT_MAX ((uint64_t)1 << 53)

static bool is_utf8(const unsigned char *s)
{
	while (*s != '\0') {
		size_t len = *s < 0x80 ? 1 : *s >= 0xc2 && *s <= 0xdf ? 2 :
			     *s >= 0xe0 && *s <= 0xef ? 3 : *s >= 0xf0 && *s <= 0xf4 ? 4 : 0;
		uint32_t cp = len == 1 ? *s : len == 2 ? *s & 0x1f : len == 3 ? *s & 0x0f : *s & 0x07;

		if (len == 0)
			return false;
		for (size_t i = 1; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += len;
	}
	return true;
}

static void check_string(const char *s, const struct tlsrpt_limits *limits, bool may_be_null)
{
	if (s == NULL) {
		if (!may_be_null)
			abort();
		return;
	}
	if (strlen(s) > limits->max_string || !is_utf8((const unsigned char *)s))
		abort();
}

static void check_name(const char *s)
{
	size_t len;

	if (s == NULL)
		return;
	len = strlen(s);
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			abort();
	if (len > 0 && s[len - 1] == '.')
		abort();
}

static void check_strings(char *const *strings, size_t count, size_t max,
			  const struct tlsrpt_limits *limits)
{
	if (count > max || (count > 0 && strings == NULL))
		abort();
	for (size_t i = 0; i < count; i++)
		check_string(strings[i], limits, false);
}

static void check_failure(const struct tlsrpt_failure *f, const struct tlsrpt_limits *limits)
{
	check_string(f->result_type, limits, false);
	check_string(f->sending_mta_ip, limits, true);
	check_string(f->receiving_mx_hostname, limits, true);
	check_string(f->receiving_mx_helo, limits, true);
	check_string(f->receiving_ip, limits, true);
	check_string(f->additional_information, limits, true);
	check_string(f->failure_reason_code, limits, true);
	check_name(f->result_type);
	check_name(f->receiving_mx_hostname);
	if (f->failed_session_count > COUNT_MAX)
		abort();
}

static void check_report(const struct tlsrpt_report *r, const struct tlsrpt_limits *limits)
{
	uint64_t successes = 0, failures = 0;

	check_string(r->organization_name, limits, false);
	check_string(r->report_id, limits, false);
	check_string(r->contact_info, limits, true);
	if (r->end < r->start || r->policy_count > limits->max_policies ||
	    (r->policy_count > 0 && r->policies == NULL))
		abort();
	for (size_t i = 0; i < r->policy_count; i++) {
		const struct tlsrpt_policy *p = &r->policies[i];

		check_string(p->policy_type, limits, false);
		check_string(p->policy_domain, limits, false);
		check_name(p->policy_type);
		check_name(p->policy_domain);
		if (p->policy_domain[0] == '\0' && strcmp(p->policy_type, "no-policy-found") != 0)
			abort();
		check_strings(p->policy_strings, p->policy_string_count, limits->max_strings, limits);
		check_strings(p->mx_hosts, p->mx_host_count, limits->max_strings, limits);
		if (p->total_successful > COUNT_MAX || p->total_failure > COUNT_MAX ||
		    p->failure_count > limits->max_failures ||
		    (p->failure_count > 0 && p->failures == NULL))
			abort();
		for (size_t j = 0; j < p->failure_count; j++)
			check_failure(&p->failures[j], limits);
		successes += p->total_successful;
		failures += p->total_failure;
	}
	if (tlsrpt_report_successes(r) != successes || tlsrpt_report_failures(r) != failures)
		abort();
}

static void check_why(const char *why, size_t size)
{
	if (memchr(why, '\0', size) == NULL || why[0] == '\0')
		abort();
	for (const char *c = why; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			abort();
}

static struct tlsrpt_report *read_checked(const uint8_t *data, size_t size,
					  const struct tlsrpt_limits *limits)
{
	struct tlsrpt_report *untouched = (struct tlsrpt_report *)&untouched;
	struct tlsrpt_report *report = untouched;
	char why[256];
	int rc;

	memset(why, 0xa5, sizeof(why));
	rc = tlsrpt_report_read((const char *)data, size, limits, &report, why, sizeof(why));
	if (rc != 0) {
		if (rc != -1 || report != untouched)
			abort();
		check_why(why, sizeof(why));
		return NULL;
	}
	if (report == untouched || report == NULL || why[0] != '\0')
		abort();
	check_report(report, limits);
	return report;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsrpt_limits defaults, tight;
	struct tlsrpt_report *wide, *narrow;

	tlsrpt_limits_default(&defaults);
	tight = (struct tlsrpt_limits){ .max_json = 4096, .max_depth = 6, .max_policies = 3,
					.max_failures = 3, .max_strings = 3, .max_string = 64,
					.max_elements = 256 };
	wide = read_checked(data, size, &defaults);
	narrow = read_checked(data, size, &tight);
	if (narrow != NULL) {
		if (wide == NULL || wide->policy_count != narrow->policy_count ||
		    wide->start != narrow->start || wide->end != narrow->end ||
		    strcmp(wide->organization_name, narrow->organization_name) != 0 ||
		    tlsrpt_report_successes(wide) != tlsrpt_report_successes(narrow) ||
		    tlsrpt_report_failures(wide) != tlsrpt_report_failures(narrow))
			abort();
		for (size_t i = 0; i < wide->policy_count; i++)
			if (wide->policies[i].policy_string_count !=
			    narrow->policies[i].policy_string_count ||
			    wide->policies[i].failure_count != narrow->policies[i].failure_count)
				abort();
	}
	tlsrpt_report_free(wide);
	tlsrpt_report_free(narrow);
	return 0;
}
