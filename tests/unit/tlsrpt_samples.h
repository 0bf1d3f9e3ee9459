/*
 * tlsrpt_samples.h - the figures of the real reports in data/tlsrpt/, as
 * read by tlsrpt_report_read(), and the check of a report against them.
 *
 * One row per sample: the file name (a .eml is a mail message; json_file
 * names the report JSON taken out of it, or the file itself), then every
 * figure of the report.  The TLSA records that Microsoft sends as one
 * JSON-encoded string are listed one by one, as the reader gives them;
 * names are in lower case.  Dates were computed apart from the reader (and
 * agree with the epochs in the attachment names of the mail samples).
 */
#ifndef MTASTS_TEST_TLSRPT_SAMPLES_H
#define MTASTS_TEST_TLSRPT_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tlsrpt_report.h"

#define SAMPLE_POLICIES_MAX 3
#define SAMPLE_STRINGS_MAX 16
#define SAMPLE_FAILURES_MAX 4

struct sample_failure {
	const char *result_type;
	const char *sending_mta_ip;
	const char *receiving_mx_hostname;
	const char *receiving_mx_helo;
	const char *receiving_ip;
	uint64_t failed_session_count;
	const char *additional_information;
	const char *failure_reason_code;
};

struct sample_policy {
	const char *policy_type;
	const char *policy_domain;
	uint64_t total_successful;
	uint64_t total_failure;
	const char *policy_strings[SAMPLE_STRINGS_MAX];	/* NULL-terminated */
	const char *mx_hosts[SAMPLE_STRINGS_MAX];		/* NULL-terminated */
	size_t failure_count;
	struct sample_failure failures[SAMPLE_FAILURES_MAX];
};

struct sample {
	const char *file;
	const char *organization_name;
	const char *report_id;
	const char *contact_info;
	const char *json_file;
	int64_t start;
	int64_t end;
	size_t policy_count;
	struct sample_policy policies[SAMPLE_POLICIES_MAX];
};

static const struct sample samples[] = {
	{ "google-1.eml", "Google Inc.", "2024-09-15T00:00:00Z_krvtz.net", "smtp-tls-reporting@google.com", "google-1.eml.json",
	  1726358400, 1726444799, 1, {
		{ "sts", "krvtz.net", 1, 0,
		  { "version: STSv1", "mode: enforce", "max_age: 10368000", "mx: carp-20.krvtz.net", NULL },
		  { "carp-20.krvtz.net", NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "google-2.eml", "Google Inc.", "2026-05-12T00:00:00Z_example.com", "smtp-tls-reporting@google.com", "google-2.eml.json",
	  1778544000, 1778630399, 1, {
		{ "sts", "example.com", 4, 0,
		  { "version: STSv1", "mode: enforce", "mx: in1-smtp.messagingengine.com", "mx: in2-smtp.messagingengine.com", "max_age: 604800", NULL },
		  { "in1-smtp.messagingengine.com", "in2-smtp.messagingengine.com", NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "google-no-policy.eml", "Google Inc.", "2024-09-03T00:00:00Z_cardinalhealth.ca", "smtp-tls-reporting@google.com", "google-no-policy.eml.json",
	  1725321600, 1725407999, 1, {
		{ "no-policy-found", "cardinalhealth.ca", 48, 0,
		  { NULL },
		  { NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "microsoft-2.eml", "Microsoft Corporation", "133198585438131172+test.xmox.nl", "tlsrpt-noreply@microsoft.com", "microsoft-2.eml.json",
	  1673308800, 1673395199, 1, {
		{ "sts", "test.xmox.nl", 2, 0,
		  { "version: STSv1", "mode: enforce", "mx: komijn.test.xmox.nl", "max_age: 86400", NULL },
		  { NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "microsoft-sts-tlsa.eml", "Microsoft Corporation", "133708152202987951+krvtz.net", "tlsrpt-noreply@microsoft.com", "microsoft-sts-tlsa.eml.json",
	  1726185600, 1726271999, 2, {
		{ "sts", "krvtz.net", 2, 0,
		  { "version: STSv1", "mode: enforce", "mx: carp-20.krvtz.net", "max_age: 10368000", NULL },
		  { NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
		{ "tlsa", "krvtz.net", 2, 0,
		  { "2 1 1 025490860B498AB73C6A12F27A49AD5FE230FAFE3AC8F6112C9B7D0AAD46941D", "2 1 1 0B9FA5A59EED715C26C1020C711B4F6EC42D58B0015E14337A39DAD301C5AFC3", "2 1 1 2BBAD93AB5C79279EC121507F272CBE0C6647A3AAE52E22F388AFAB426B4ADBA", "2 1 1 3586D4ECF070578CBD27AEDCE20B964E48BC149FAEB9DAD72F46B857869172B8", "2 1 1 6DDAC18698F7F1F7E1C69B9BCE420D974AC6F94CA8B2C761701623F99C767DC7", "2 1 1 762195C225586EE6C0237456E2107DC54F1EFC21F61A792EBD515913CCE68332", "2 1 1 885BF0572252C6741DC9A52F5044487FEF2A93B811CDEDFAD7624CC283B7CDD5", "2 1 1 919C0DF7A787B597ED056ACE654B1DE9C0387ACF349F73734A4FD7B58CF612A4", "2 1 1 CBBC559B44D524D6A132BDAC672744DA3407F12AAE5D5F722C5F6C7913871C75", "2 1 1 D016E1FE311948ACA64F2DE44CE86C9A51CA041DF6103BB52A88EB3F761F57D7", "2 1 1 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "2 1 1 F1440A9B76E1E41E53A4CB461329BF6337B419726BE513E42E19F1C691C5D4B2", "2 1 1 F1647A5EE3EFAC54C892E930584FE47979B7ACD1C76C1271BCA1C5076D869888", NULL },
		  { NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "microsoft-success.eml", "Microsoft Corporation", "134232617934286362+example.com", "tlsrpt-noreply@microsoft.com", "microsoft-success.eml.json",
	  1778630400, 1778716799, 1, {
		{ "sts", "example.com", 2, 0,
		  { "version: STSv1", "mode: enforce", "mx: in1-smtp.messagingengine.com", "mx: in2-smtp.messagingengine.com", "max_age: 604800", NULL },
		  { NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "google.json", "Google Inc.", "2025-05-22T00:00:00Z_foo-bar.io", "smtp-tls-reporting@google.com", "google.json",
	  1747872000, 1747958399, 1, {
		{ "sts", "foo-bar.io", 1, 0,
		  { "version: STSv1", "mode: enforce", "mx: *.foo-bar.io", "max_age: 2592000", NULL },
		  { "*.foo-bar.io", NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "mailru-fetch-errors.json", "Mail.ru", "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru", "tls_support@corp.mail.ru", "mailru-fetch-errors.json",
	  1708560000, 1708646400, 1, {
		{ "sts", "example.com", 0, 1,
		  { NULL },
		  { NULL },
		  2, {
			{ "sts-policy-fetch-error", NULL, NULL, NULL, NULL, 1, NULL, "bad https response code: 404" },
			{ "sts-policy-fetch-error", NULL, NULL, NULL, NULL, 1, NULL, "bad https response code: 500" },
		  } },
	} },
	{ "microsoft.json", "Microsoft Corporation", "133925885310113267+random.net", "tlsrpt-noreply@microsoft.com", "microsoft.json",
	  1747958400, 1748044799, 2, {
		{ "sts", "random.net", 2, 0,
		  { "version: STSv1", "mode: enforce", "mx: *.random.net", "max_age: 2592000", NULL },
		  { NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
		{ "tlsa", "random.net", 2, 0,
		  { "3 1 1 6007EEE553E85D8DF007A845D19EC343283D4E416E9A33F9EF3040C8B7C285BC", "3 1 1 837C773D54C2E2BD71871A3FC352BE8214D5646CBAE5E3091401A7274717998B", NULL },
		  { NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "no-contact.json", "server.com", "123_456", NULL, "no-contact.json",
	  1768089600, 1768176000, 1, {
		{ "sts", "server.com", 1, 0,
		  { "version: STSv1", "mode: enforce", "max_age: 86400", "mx: mx.server.com", NULL },
		  { "mx: mx.server.com", NULL },
		  0, { { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL } } },
	} },
	{ "no-ip-and-mx.json", "Microsoft Corporation", "1234567890+", "tlsrpt-noreply@microsoft.com", "no-ip-and-mx.json",
	  1749859200, 1749945599, 1, {
		{ "sts", "xxxxxxxx.xx", 0, 3,
		  { NULL },
		  { NULL },
		  1, {
			{ "sts-policy-fetch-error", NULL, NULL, NULL, NULL, 3, NULL, NULL },
		  } },
	} },
	{ "rfc8460-example.json", "Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be", "sts-reporting@company-x.example", "rfc8460-example.json",
	  1459468800, 1459555199, 1, {
		{ "sts", "company-y.example", 5326, 303,
		  { "version: STSv1", "mode: testing", "mx: *.mail.company-y.example", "max_age: 86400", NULL },
		  { "*.mail.company-y.example", NULL },
		  3, {
			{ "certificate-expired", "2001:db8:abcd:0012::1", "mx1.mail.company-y.example", NULL, NULL, 100, NULL, NULL },
			{ "starttls-not-supported", "2001:db8:abcd:0013::1", "mx2.mail.company-y.example", NULL, "203.0.113.56", 200, "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported", NULL },
			{ "validation-failure", "198.51.100.62", "mx-backup.mail.company-y.example", NULL, "203.0.113.58", 3, NULL, "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED" },
		  } },
	} },
};

#define SAMPLE_COUNT (sizeof(samples) / sizeof(samples[0]))

/* Equal strings, both NULL included; says which field differs. */
static inline bool same_string(const char *field, const char *got, const char *want)
{
	if (got == NULL && want == NULL)
		return true;
	if (got != NULL && want != NULL && strcmp(got, want) == 0)
		return true;
	fprintf(stderr, "  %s: got \"%s\", expected \"%s\"\n", field,
		got != NULL ? got : "(null)", want != NULL ? want : "(null)");
	return false;
}

static inline bool same_count(const char *field, uint64_t got, uint64_t want)
{
	if (got == want)
		return true;
	fprintf(stderr, "  %s: got %llu, expected %llu\n", field,
		(unsigned long long)got, (unsigned long long)want);
	return false;
}

static inline bool same_strings(const char *field, char *const *got, size_t count,
				const char *const *want)
{
	size_t n = 0;

	while (n < SAMPLE_STRINGS_MAX && want[n] != NULL)
		n++;
	if (!same_count(field, count, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!same_string(field, got[i], want[i]))
			return false;
	return true;
}

static inline bool same_failure(const struct tlsrpt_failure *f, const struct sample_failure *w)
{
	return same_string("result-type", f->result_type, w->result_type) &&
	       same_string("sending-mta-ip", f->sending_mta_ip, w->sending_mta_ip) &&
	       same_string("receiving-mx-hostname", f->receiving_mx_hostname,
			   w->receiving_mx_hostname) &&
	       same_string("receiving-mx-helo", f->receiving_mx_helo, w->receiving_mx_helo) &&
	       same_string("receiving-ip", f->receiving_ip, w->receiving_ip) &&
	       same_count("failed-session-count", f->failed_session_count,
			  w->failed_session_count) &&
	       same_string("additional-information", f->additional_information,
			   w->additional_information) &&
	       same_string("failure-reason-code", f->failure_reason_code,
			   w->failure_reason_code);
}

static inline bool same_policy(const struct tlsrpt_policy *p, const struct sample_policy *w)
{
	if (!same_string("policy-type", p->policy_type, w->policy_type) ||
	    !same_string("policy-domain", p->policy_domain, w->policy_domain) ||
	    !same_count("total-successful-session-count", p->total_successful,
			w->total_successful) ||
	    !same_count("total-failure-session-count", p->total_failure, w->total_failure) ||
	    !same_strings("policy-string", p->policy_strings, p->policy_string_count,
			  w->policy_strings) ||
	    !same_strings("mx-host", p->mx_hosts, p->mx_host_count, w->mx_hosts) ||
	    !same_count("failure-details", p->failure_count, w->failure_count))
		return false;
	for (size_t i = 0; i < w->failure_count; i++)
		if (!same_failure(&p->failures[i], &w->failures[i]))
			return false;
	return true;
}

/* True when report holds exactly the figures of sample w. */
static inline bool same_report(const struct tlsrpt_report *r, const struct sample *w)
{
	uint64_t successes = 0, failures = 0;

	if (!same_string("organization-name", r->organization_name, w->organization_name) ||
	    !same_string("report-id", r->report_id, w->report_id) ||
	    !same_string("contact-info", r->contact_info, w->contact_info) ||
	    !same_count("start-datetime", (uint64_t)r->start, (uint64_t)w->start) ||
	    !same_count("end-datetime", (uint64_t)r->end, (uint64_t)w->end) ||
	    !same_count("policies", r->policy_count, w->policy_count))
		return false;
	for (size_t i = 0; i < w->policy_count; i++) {
		if (!same_policy(&r->policies[i], &w->policies[i])) {
			fprintf(stderr, "  in policies[%zu]\n", i);
			return false;
		}
		successes += w->policies[i].total_successful;
		failures += w->policies[i].total_failure;
	}
	return same_count("successes", tlsrpt_report_successes(r), successes) &&
	       same_count("failures", tlsrpt_report_failures(r), failures);
}

#endif
