/*
 * test_tlsrpt_report.c - SMTP TLS reports (RFC 8460 4) read from JSON by
 * tlsrpt_report_read().
 *
 * The real reports of data/tlsrpt/ (the JSON ones, and the JSON taken out
 * of the mail ones) must come out with every figure of tlsrpt_samples.h.
 * Synthetic reports then cover each field, each result type of RFC 8460
 * 4.3, the quirks of real senders that are tolerated, and each rejection,
 * whose reason must name the path of what was wrong.
 *
 * Usage: test_tlsrpt_report DATA_DIR (tests/unit/data/tlsrpt).
 */
#include <errno.h>
#include <stdlib.h>

#include "unit.h"

#include "tlsrpt_report.h"
#include "tlsrpt_samples.h"

static const char *data_dir = "tests/unit/data/tlsrpt";

/* A report around the given policies, and a policy of the given parts. */
#define REPORT_HEAD(start, end) \
	"{\"organization-name\":\"Org\",\"date-range\":{\"start-datetime\":\"" start \
	"\",\"end-datetime\":\"" end "\"},\"contact-info\":\"c@org.example\"," \
	"\"report-id\":\"r-1\",\"policies\":["
#define REPORT(policies) REPORT_HEAD("2024-01-01T00:00:00Z", "2024-01-01T23:59:59Z") \
	policies "]}"
#define POLICY(fields, summary, rest) "{\"policy\":{" fields "},\"summary\":{" summary "}" \
	rest "}"
#define STS "\"policy-type\":\"sts\",\"policy-domain\":\"example.com\""
#define SUMMARY "\"total-successful-session-count\":1,\"total-failure-session-count\":2"
#define FAILURES(list) ",\"failure-details\":[" list "]"
#define STS_POLICY POLICY(STS, SUMMARY, "")
#define REPORT_OF(rest) REPORT(POLICY(STS, SUMMARY, rest))

static char *read_file(const char *name, size_t *ret_len)
{
	char path[512];
	FILE *f;
	char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	*ret_len = (size_t)size;
	return buf;
}

/* Reads json (a C string) that must be accepted, with limits or the defaults. */
static struct tlsrpt_report *read_ok_limits(const char *json, const struct tlsrpt_limits *limits)
{
	struct tlsrpt_report *report = NULL;
	char why[256] = "unset";

	if (tlsrpt_report_read(json, strlen(json), limits, &report, why, sizeof(why)) != 0)
		fail_msg("refused: %s\n  %s", why, escape(json, strlen(json)));
	assert_non_null(report);
	assert_string_equal(why, "");
	return report;
}

static struct tlsrpt_report *read_ok(const char *json)
{
	return read_ok_limits(json, NULL);
}

/*
 * Reads json that must be refused: -1, errno EINVAL, the result untouched,
 * and a reason holding both path and reason.
 */
static void read_bad_len(const char *json, size_t len, const struct tlsrpt_limits *limits,
			 const char *path, const char *reason)
{
	struct tlsrpt_report *untouched = (struct tlsrpt_report *)&untouched;
	struct tlsrpt_report *report = untouched;
	char why[256] = "";

	errno = 0;
	if (tlsrpt_report_read(json, len, limits, &report, why, sizeof(why)) != -1)
		fail_msg("accepted: %s", escape(json, len));
	assert_int_equal(errno, EINVAL);
	assert_ptr_equal(report, untouched);
	if (strstr(why, path) == NULL || strstr(why, reason) == NULL)
		fail_msg("the reason \"%s\" does not say \"%s\" and \"%s\"", why, path, reason);
	/* A reason is printable as it is. */
	for (const char *c = why; *c != '\0'; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
}

static void read_bad_limits(const char *json, const struct tlsrpt_limits *limits,
			    const char *path, const char *reason)
{
	read_bad_len(json, strlen(json), limits, path, reason);
}

static void read_bad(const char *json, const char *path, const char *reason)
{
	read_bad_limits(json, NULL, path, reason);
}

/* --- real reports --------------------------------------------------------- */

static void test_samples(void **state)
{
	(void)state;
	for (size_t i = 0; i < SAMPLE_COUNT; i++) {
		struct tlsrpt_report *report = NULL;
		char why[256] = "";
		size_t len;
		char *json = read_file(samples[i].json_file, &len);

		if (tlsrpt_report_read(json, len, NULL, &report, why, sizeof(why)) != 0)
			fail_msg("%s refused: %s", samples[i].json_file, why);
		if (!same_report(report, &samples[i]))
			fail_msg("%s: a figure is wrong", samples[i].json_file);
		tlsrpt_report_free(report);
		free(json);
	}
}

/* Every sample cut short is refused, never read in part. */
static void test_samples_cut(void **state)
{
	(void)state;
	for (size_t i = 0; i < SAMPLE_COUNT; i++) {
		struct tlsrpt_report *report = NULL;
		char why[256];
		size_t len;
		char *json = read_file(samples[i].json_file, &len);

		while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == ' '))
			len--;
		for (size_t cut = 0; cut < len; cut += 7) {
			assert_int_equal(tlsrpt_report_read(json, cut, NULL, &report, why,
							    sizeof(why)), -1);
			assert_null(report);
			assert_true(why[0] != '\0');
		}
		free(json);
	}
}

/* --- every field -------------------------------------------------------- */

static void test_all_fields(void **state)
{
	static const char json[] = REPORT(
		POLICY("\"policy-type\":\"STS\",\"policy-domain\":\"Example.COM.\","
		       "\"policy-string\":[\"version: STSv1\",\"mode: enforce\","
		       "\"mx: *.example.com\",\"max_age: 86400\"],"
		       "\"mx-host\":[\"*.example.com\",\"mx.example.net\"]",
		       "\"total-successful-session-count\":9007199254740992,"
		       "\"total-failure-session-count\":7",
		       FAILURES("{\"result-type\":\"Certificate-Expired\","
				"\"sending-mta-ip\":\"192.0.2.1\","
				"\"receiving-mx-hostname\":\"MX1.Example.com.\","
				"\"receiving-mx-helo\":\"mx1.example.com\","
				"\"receiving-ip\":\"2001:db8::25\","
				"\"failed-session-count\":7,"
				"\"additional-information\":\"https://org.example/x\","
				"\"failure-reason-code\":\"X509_V_ERR_CERT_HAS_EXPIRED\"}")) ","
		POLICY("\"policy-type\":\"no-policy-found\"",
		       "\"total-successful-session-count\":0,\"total-failure-session-count\":0", ""));
	struct tlsrpt_report *r = read_ok(json);
	const struct tlsrpt_policy *p = &r->policies[0];
	const struct tlsrpt_failure *f = &p->failures[0];

	(void)state;
	assert_string_equal(r->organization_name, "Org");
	assert_string_equal(r->report_id, "r-1");
	assert_string_equal(r->contact_info, "c@org.example");
	assert_int_equal(r->start, 1704067200);
	assert_int_equal(r->end, 1704153599);
	assert_int_equal(r->policy_count, 2);
	assert_string_equal(p->policy_type, "sts");
	assert_string_equal(p->policy_domain, "example.com");
	assert_int_equal(p->policy_string_count, 4);
	assert_string_equal(p->policy_strings[0], "version: STSv1");
	assert_string_equal(p->policy_strings[3], "max_age: 86400");
	assert_int_equal(p->mx_host_count, 2);
	assert_string_equal(p->mx_hosts[0], "*.example.com");
	assert_string_equal(p->mx_hosts[1], "mx.example.net");
	assert_int_equal(p->total_successful, 9007199254740992ULL);
	assert_int_equal(p->total_failure, 7);
	assert_int_equal(p->failure_count, 1);
	assert_string_equal(f->result_type, "certificate-expired");
	assert_string_equal(f->sending_mta_ip, "192.0.2.1");
	assert_string_equal(f->receiving_mx_hostname, "mx1.example.com");
	assert_string_equal(f->receiving_mx_helo, "mx1.example.com");
	assert_string_equal(f->receiving_ip, "2001:db8::25");
	assert_int_equal(f->failed_session_count, 7);
	assert_string_equal(f->additional_information, "https://org.example/x");
	assert_string_equal(f->failure_reason_code, "X509_V_ERR_CERT_HAS_EXPIRED");
	p = &r->policies[1];
	assert_string_equal(p->policy_type, "no-policy-found");
	assert_string_equal(p->policy_domain, "");
	assert_int_equal(p->policy_string_count, 0);
	assert_int_equal(p->mx_host_count, 0);
	assert_int_equal(p->failure_count, 0);
	assert_int_equal(tlsrpt_report_successes(r), 9007199254740992ULL);
	assert_int_equal(tlsrpt_report_failures(r), 7);
	assert_null(tlsrpt_report_free(r));
}

/* Each result type of RFC 8460 4.3, and one it does not name, kept as sent. */
static void test_result_types(void **state)
{
	static const char *const types[] = {
		"starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
		"certificate-not-trusted", "validation-failure", "tlsa-invalid",
		"dnssec-invalid", "dane-required", "sts-policy-fetch-error",
		"sts-policy-invalid", "sts-webpki-invalid", "x-future-type",
	};
	char json[2048];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		struct tlsrpt_report *r;
		const struct tlsrpt_failure *f;

		snprintf(json, sizeof(json), REPORT_OF(FAILURES(
			 "{\"result-type\":\"%s\",\"sending-mta-ip\":\"198.51.100.%zu\","
			 "\"receiving-mx-hostname\":\"mx%zu.example.com\","
			 "\"receiving-ip\":\"203.0.113.%zu\",\"failed-session-count\":%zu,"
			 "\"failure-reason-code\":\"code %zu\"}")),
			 types[i], i, i, i, i + 1, i);
		r = read_ok(json);
		assert_int_equal(r->policies[0].failure_count, 1);
		f = &r->policies[0].failures[0];
		assert_string_equal(f->result_type, types[i]);
		assert_int_equal(f->failed_session_count, i + 1);
		assert_null(f->receiving_mx_helo);
		assert_null(f->additional_information);
		snprintf(json, sizeof(json), "198.51.100.%zu", i);
		assert_string_equal(f->sending_mta_ip, json);
		snprintf(json, sizeof(json), "mx%zu.example.com", i);
		assert_string_equal(f->receiving_mx_hostname, json);
		snprintf(json, sizeof(json), "203.0.113.%zu", i);
		assert_string_equal(f->receiving_ip, json);
		snprintf(json, sizeof(json), "code %zu", i);
		assert_string_equal(f->failure_reason_code, json);
		tlsrpt_report_free(r);
	}
}

/* --- dates ---------------------------------------------------------------- */

struct date_case {
	const char *start;
	const char *end;
	int64_t want_start;
	int64_t want_end;
};

static void test_dates(void **state)
{
	static const struct date_case cases[] = {
		/* no zone is UTC (Microsoft) */
		{ "2023-01-10T00:00:00", "2023-01-10T23:59:59", 1673308800, 1673395199 },
		/* a fraction of a second is dropped */
		{ "2024-01-01T00:00:00.123456Z", "2024-01-01T23:59:59.999Z",
		  1704067200, 1704153599 },
		/* offsets east and west of UTC */
		{ "2024-01-01T02:00:00+02:00", "2024-01-01T18:29:59-05:30",
		  1704067200, 1704153599 },
		/* lower case letters and a space between date and time */
		{ "2024-01-01t00:00:00z", "2024-01-01 23:59:59", 1704067200, 1704153599 },
		/* the 29th of February of 2000 and of 2024 */
		{ "2000-02-29T00:00:00Z", "2024-02-29T00:00:00Z", 951782400, 1709164800 },
		/* a leap second is the next second */
		{ "2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z", 1483228800, 1483228800 },
		/* before the epoch, and a day of one second */
		{ "1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z", -1, -1 },
	};
	char json[1024];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct tlsrpt_report *r;

		snprintf(json, sizeof(json), REPORT_HEAD("%s", "%s") STS_POLICY "]}",
			 cases[i].start, cases[i].end);
		r = read_ok(json);
		assert_int_equal(r->start, cases[i].want_start);
		assert_int_equal(r->end, cases[i].want_end);
		tlsrpt_report_free(r);
	}
}

static void test_dates_bad(void **state)
{
	static const char *const bad[][2] = {
		{ "yesterday", "not a date" },
		{ "2024-13-01T00:00:00Z", "no such day" },
		{ "2023-02-29T00:00:00Z", "no such day" },
		{ "2024-04-31T00:00:00Z", "no such day" },
		{ "2024-01-00T00:00:00Z", "no such day" },
		{ "2024-01-01", "no time" },
		{ "2024-01-01T24:00:00Z", "no such time" },
		{ "2024-01-01T00:60:00Z", "no such time" },
		{ "2024-01-01T00:00:61Z", "no such time" },
		{ "2024-01-01T00:00:00.Z", "no digit after the decimal point" },
		{ "2024-01-01T00:00:00+2:00", "offset" },
		{ "2024-01-01T00:00:00+24:00", "no such time" },
		{ "2024-01-01T00:00:00 UTC", "time zone" },
		{ "2024-01-01T00:00:00Zjunk", "follows the time zone" },
		{ "", "not a date" },
	};
	char json[1024];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(json, sizeof(json), REPORT_HEAD("%s", "2030-01-01T00:00:00Z")
			 STS_POLICY "]}", bad[i][0]);
		read_bad(json, "date-range.start-datetime: not an RFC 3339 date-time",
			 bad[i][1]);
		snprintf(json, sizeof(json), REPORT_HEAD("2000-01-01T00:00:00Z", "%s")
			 STS_POLICY "]}", bad[i][0]);
		read_bad(json, "date-range.end-datetime: not an RFC 3339 date-time",
			 bad[i][1]);
	}
	read_bad(REPORT_HEAD("2024-01-02T00:00:00Z", "2024-01-01T23:59:59Z") STS_POLICY "]}",
		 "date-range", "the end-datetime is before the start-datetime");
	/* The same instant in two zones is not before. */
	read_bad(REPORT_HEAD("2024-01-01T00:00:00Z", "2024-01-01T00:59:59+01:00")
		 STS_POLICY "]}", "date-range", "end-datetime is before");
	tlsrpt_report_free(read_ok(REPORT_HEAD("2024-01-01T00:00:00Z",
					      "2024-01-01T01:00:00+01:00") STS_POLICY "]}"));
}

/* --- quirks of real senders ------------------------------------------------- */

static void test_mx_host_forms(void **state)
{
	struct tlsrpt_report *r;

	(void)state;
	/* a string (RFC 8460's own example) */
	r = read_ok(REPORT(POLICY(STS ",\"mx-host\":\"*.example.com\"", SUMMARY, "")));
	assert_int_equal(r->policies[0].mx_host_count, 1);
	assert_string_equal(r->policies[0].mx_hosts[0], "*.example.com");
	tlsrpt_report_free(r);
	/* an empty array, null, absent */
	r = read_ok(REPORT(POLICY(STS ",\"mx-host\":[]", SUMMARY, "") ","
			   POLICY(STS ",\"mx-host\":null", SUMMARY, "") "," STS_POLICY));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(r->policies[i].mx_host_count, 0);
		assert_int_equal(r->policies[i].policy_string_count, 0);
	}
	tlsrpt_report_free(r);
}

static void test_tlsa_policy_string(void **state)
{
	struct tlsrpt_report *r;

	(void)state;
	/* one JSON-encoded string (Microsoft): the records in it */
	r = read_ok(REPORT(POLICY("\"policy-type\":\"tlsa\",\"policy-domain\":\"example.com\","
				  "\"policy-string\":[\" [\\\"3 1 1 AB\\\", \\\"2 1 1 CD\\\"]\"]",
				  SUMMARY, "")));
	assert_int_equal(r->policies[0].policy_string_count, 2);
	assert_string_equal(r->policies[0].policy_strings[0], "3 1 1 AB");
	assert_string_equal(r->policies[0].policy_strings[1], "2 1 1 CD");
	tlsrpt_report_free(r);
	/* the records as the RFC has them */
	r = read_ok(REPORT(POLICY("\"policy-type\":\"tlsa\",\"policy-domain\":\"example.com\","
				  "\"policy-string\":[\"3 1 1 AB\",\"2 1 1 CD\"]", SUMMARY, "")));
	assert_int_equal(r->policies[0].policy_string_count, 2);
	assert_string_equal(r->policies[0].policy_strings[1], "2 1 1 CD");
	tlsrpt_report_free(r);
	/* a string that only looks like JSON is kept as sent */
	r = read_ok(REPORT(POLICY("\"policy-type\":\"tlsa\",\"policy-domain\":\"example.com\","
				  "\"policy-string\":[\"[not json\"]", SUMMARY, "") ","
			   POLICY("\"policy-type\":\"tlsa\",\"policy-domain\":\"example.com\","
				  "\"policy-string\":[\"[1,2]\"]", SUMMARY, "") ","
			   POLICY("\"policy-type\":\"tlsa\",\"policy-domain\":\"example.com\","
				  "\"policy-string\":[\"[[\\\"x\\\"]]\"]", SUMMARY, "")));
	assert_string_equal(r->policies[0].policy_strings[0], "[not json");
	assert_string_equal(r->policies[1].policy_strings[0], "[1,2]");
	assert_string_equal(r->policies[2].policy_strings[0], "[[\"x\"]]");
	tlsrpt_report_free(r);
	/* only TLSA policies are read so */
	r = read_ok(REPORT(POLICY(STS ",\"policy-string\":[\"[\\\"a\\\",\\\"b\\\"]\"]",
				  SUMMARY, "")));
	assert_int_equal(r->policies[0].policy_string_count, 1);
	tlsrpt_report_free(r);
	/* the records in it count against max_strings too */
	struct tlsrpt_limits limits;
	tlsrpt_limits_default(&limits);
	limits.max_strings = 1;
	read_bad_limits(REPORT(POLICY("\"policy-type\":\"tlsa\",\"policy-domain\":\"example.com\","
				      "\"policy-string\":[\"[\\\"a\\\",\\\"b\\\"]\"]",
				      SUMMARY, "")), &limits,
			"policies[0].policy.policy-string", "2 entries, more than the limit of 1");
}

static void test_optional_strings(void **state)
{
	struct tlsrpt_report *r;
	const struct tlsrpt_failure *f;

	(void)state;
	/* sending-mta-ip empty or absent, the others null or empty */
	r = read_ok(REPORT_OF(FAILURES(
		"{\"result-type\":\"starttls-not-supported\",\"sending-mta-ip\":\"\","
		"\"receiving-mx-hostname\":null,\"receiving-ip\":\"\",\"failed-session-count\":1},"
		"{\"result-type\":\"dane-required\",\"failed-session-count\":0,"
		"\"receiving-mx-helo\":null,\"additional-information\":\"\","
		"\"failure-reason-code\":null}")));
	for (size_t i = 0; i < 2; i++) {
		f = &r->policies[0].failures[i];
		assert_null(f->sending_mta_ip);
		assert_null(f->receiving_mx_hostname);
		assert_null(f->receiving_mx_helo);
		assert_null(f->receiving_ip);
		assert_null(f->additional_information);
		assert_null(f->failure_reason_code);
	}
	assert_int_equal(r->policies[0].failures[1].failed_session_count, 0);
	tlsrpt_report_free(r);
	/* contact-info null, then absent; failure-details null and empty */
	r = read_ok("{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":"
		    "\"2024-01-01T00:00:00Z\",\"end-datetime\":\"2024-01-02T00:00:00Z\"},"
		    "\"contact-info\":null,\"report-id\":\"x\",\"policies\":["
		    POLICY(STS, SUMMARY, ",\"failure-details\":null") ","
		    POLICY(STS, SUMMARY, ",\"failure-details\":[]") "]}");
	assert_null(r->contact_info);
	assert_int_equal(r->policies[0].failure_count, 0);
	assert_int_equal(r->policies[1].failure_count, 0);
	tlsrpt_report_free(r);
	r = read_ok("{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":"
		    "\"2024-01-01T00:00:00Z\",\"end-datetime\":\"2024-01-02T00:00:00Z\"},"
		    "\"report-id\":\"x\",\"policies\":[]}");
	assert_null(r->contact_info);
	assert_int_equal(r->policy_count, 0);
	assert_int_equal(tlsrpt_report_successes(r), 0);
	tlsrpt_report_free(r);
}

static void test_strings_kept(void **state)
{
	struct tlsrpt_report *r;

	(void)state;
	/* unknown fields ignored, escapes decoded, control characters kept,
	 * brackets inside strings not counted as nesting */
	r = read_ok("{\"x-extension\":{\"a\":[1,2,{\"b\":null}]},"
		    "\"organization-name\":\"Caf\\u00e9 \\u001b[31m\xe2\x82\xac\","
		    "\"date-range\":{\"start-datetime\":\"2024-01-01T00:00:00Z\","
		    "\"end-datetime\":\"2024-01-02T00:00:00Z\"},"
		    "\"report-id\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{\","
		    "\"policies\":[" STS_POLICY "]}");
	assert_string_equal(r->organization_name, "Caf\xc3\xa9 \x1b[31m\xe2\x82\xac");
	assert_string_equal(r->report_id, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{");
	tlsrpt_report_free(r);
	/* four-octet UTF-8, and a surrogate pair */
	r = read_ok(REPORT(POLICY(STS ",\"mx-host\":[\"\xf0\x9f\x93\xa7\",\"\\ud83d\\udce7\"]",
				  SUMMARY, "")));
	assert_string_equal(r->policies[0].mx_hosts[0], "\xf0\x9f\x93\xa7");
	assert_string_equal(r->policies[0].mx_hosts[1], "\xf0\x9f\x93\xa7");
	tlsrpt_report_free(r);
}

/* --- rejections ----------------------------------------------------------- */

static void test_not_json(void **state)
{
	(void)state;
	read_bad("", "not JSON: line 1, column", "");
	read_bad("{", "not JSON: line 1, column", "");
	read_bad("{\"organization-name\":\n  \"Org\",,}", "not JSON: line 2, column", "");
	read_bad(REPORT(STS_POLICY) " {}", "not JSON: line 1, column",
		 "end of file expected");
	read_bad(REPORT(STS_POLICY) "x", "not JSON", "end of file expected");
	read_bad("{\"organization-name\":\"a\",\"organization-name\":\"b\"}",
		 "not JSON: line 1, column", "duplicate object key");
	read_bad(REPORT(POLICY(STS ",\"mx-host\":[\"a\\u0000b\"]", SUMMARY, "")),
		 "not JSON: line 1, column", "\\u0000 is not allowed");
	read_bad(REPORT(POLICY(STS ",\"mx-host\":[\"\\ud800\"]", SUMMARY, "")),
		 "not JSON: line 1, column", "invalid Unicode");
	/* a raw NUL octet, counted in the length */
	read_bad_len("{\"a\0\":1}", 8, NULL, "not JSON: line 1, column", "");
	read_bad("{\"report-id\":12345678901234567890123}", "not JSON", "too big");
	read_bad("{\"report-id\":1e999}", "not JSON", "overflow");
}

/*
 * A UTF-8 byte order mark before the text (RFC 8259 8.1 lets a reader
 * ignore it) is skipped, as report_unpack sniffs such a text as JSON; one
 * anywhere else is no JSON.
 */
static void test_byte_order_mark(void **state)
{
	struct tlsrpt_report *report;

	(void)state;
	report = read_ok("\xef\xbb\xbf" REPORT(STS_POLICY));
	assert_string_equal(report->organization_name, "Org");
	assert_int_equal(report->policy_count, 1);
	tlsrpt_report_free(report);
	report = read_ok("\xef\xbb\xbf\r\n  " REPORT(STS_POLICY));
	assert_string_equal(report->report_id, "r-1");
	tlsrpt_report_free(report);
	read_bad("\xef\xbb\xbf", "not JSON: line 1, column", "");
	read_bad("\xef\xbb\xbf\xef\xbb\xbf" REPORT(STS_POLICY), "not JSON: line 1, column", "");
	read_bad(" \xef\xbb\xbf" REPORT(STS_POLICY), "not JSON: line 1, column", "");
	read_bad("\xef\xbb" REPORT(STS_POLICY), "not UTF-8: line 1, column 1", "");
}

static void test_not_utf8(void **state)
{
	static const char *const bad[] = {
		"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xf8\x88\x80\x80\x80", "\x80", "\xe2\x82",
	};
	char json[1024];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(json, sizeof(json), "{\n\"organization-name\": \"ab%s\"}", bad[i]);
		read_bad(json, "not UTF-8: line 2, column 25", "does not begin a valid UTF-8");
	}
}

static void test_depth(void **state)
{
	struct tlsrpt_limits limits;
	char json[4096];
	size_t n = 0;

	(void)state;
	/* 33 levels in an ignored field, past the default of 32 */
	n += (size_t)snprintf(json, sizeof(json), "{\"x\":");
	for (size_t i = 0; i < 32; i++)
		json[n++] = '[';
	for (size_t i = 0; i < 32; i++)
		json[n++] = ']';
	snprintf(json + n, sizeof(json) - n, "}");
	read_bad(json, "line 1, column 37", "nested deeper than the limit of 32");
	/* 32 levels are fine for the scan (then refused as not a report) */
	n = (size_t)snprintf(json, sizeof(json), "{\"x\":");
	for (size_t i = 0; i < 31; i++)
		json[n++] = '[';
	for (size_t i = 0; i < 31; i++)
		json[n++] = ']';
	snprintf(json + n, sizeof(json) - n, "}");
	read_bad(json, "not a TLS report", "no organization-name/policies");
	/* far deeper than jansson's own limit: refused by the scan first */
	memset(json, '[', 3000);
	json[3000] = '\0';
	read_bad(json, "line 1, column 33", "nested deeper than the limit of 32");
	/* a report's own nesting (object, policies, policy, failures, failure: 5) */
	tlsrpt_limits_default(&limits);
	limits.max_depth = 4;
	read_bad_limits(REPORT_OF(FAILURES("{\"result-type\":\"dane-required\","
					   "\"failed-session-count\":1}")), &limits,
			"line 1, column", "nested deeper than the limit of 4");
	limits.max_depth = 5;
	tlsrpt_report_free(read_ok_limits(REPORT_OF(FAILURES(
		"{\"result-type\":\"dane-required\",\"failed-session-count\":1}")), &limits));
}

static void test_limits(void **state)
{
	struct tlsrpt_limits limits;
	const char *json = REPORT(POLICY(STS ",\"policy-string\":[\"a\",\"b\",\"c\"],"
					 "\"mx-host\":[\"m1\",\"m2\"]", SUMMARY,
					 FAILURES("{\"result-type\":\"dane-required\","
						  "\"failed-session-count\":1},"
						  "{\"result-type\":\"dane-required\","
						  "\"failed-session-count\":1}")) "," STS_POLICY);

	(void)state;
	tlsrpt_limits_default(&limits);
	assert_int_equal(limits.max_json, 16 << 20);
	assert_int_equal(limits.max_depth, 32);
	assert_int_equal(limits.max_policies, 10000);
	assert_int_equal(limits.max_failures, 10000);
	assert_int_equal(limits.max_strings, 1000);
	assert_int_equal(limits.max_string, 64 << 10);
	assert_int_equal(limits.max_elements, 100000);
	tlsrpt_report_free(read_ok_limits(json, &limits));

	limits.max_json = strlen(json) - 1;
	read_bad_limits(json, &limits, "the JSON text is", "more than the limit of");
	limits.max_json = strlen(json);
	tlsrpt_report_free(read_ok_limits(json, &limits));

	limits.max_policies = 1;
	read_bad_limits(json, &limits, "policies: 2 entries", "more than the limit of 1");
	tlsrpt_limits_default(&limits);
	limits.max_failures = 1;
	read_bad_limits(json, &limits, "policies[0].failure-details: 2 entries",
			"more than the limit of 1");
	tlsrpt_limits_default(&limits);
	limits.max_strings = 2;
	read_bad_limits(json, &limits, "policies[0].policy.policy-string: 3 entries",
			"more than the limit of 2");
	limits.max_strings = 3;
	tlsrpt_report_free(read_ok_limits(json, &limits));
	limits.max_strings = 1;
	read_bad_limits(REPORT(POLICY(STS ",\"mx-host\":[\"m1\",\"m2\"]", SUMMARY, "")),
			&limits, "policies[0].policy.mx-host: 2 entries", "limit of 1");
	tlsrpt_limits_default(&limits);
	/* 20 octets: a date-time with Z */
	limits.max_string = 20;
	read_bad_limits(REPORT(POLICY(STS ",\"mx-host\":[\"m1\",\"mx1.mail.example.com.net\"]",
				      SUMMARY, "")), &limits,
			"policies[0].policy.mx-host[1]: a string of 24 octets",
			"more than the limit of 20");
	tlsrpt_report_free(read_ok_limits(REPORT(POLICY(STS ",\"mx-host\":\"mx1.example.co.uk\"",
						       SUMMARY, "")), &limits));
	read_bad_limits("{\"organization-name\":\"Organisation-of-Example\",\"policies\":[]}",
			&limits, "organization-name: a string of 23 octets", "limit of 20");
}

/* A report of count policies, each with an "mx-host" of strings empty strings. */
static char *wide_report(size_t count, size_t strings, size_t *ret_len)
{
	static const char head[] = REPORT_HEAD("2024-01-01T00:00:00Z", "2024-01-01T23:59:59Z");
	static const char policy_head[] = "{\"policy\":{" STS ",\"mx-host\":[";
	static const char policy_tail[] = "]},\"summary\":{" SUMMARY "}}";
	size_t size = sizeof(head) + count * (sizeof(policy_head) + sizeof(policy_tail) +
					      strings * 3 + 1) + 8, len = 0;
	char *json = malloc(size);

	assert_non_null(json);
	len += (size_t)snprintf(json + len, size - len, "%s", head);
	for (size_t i = 0; i < count; i++) {
		len += (size_t)snprintf(json + len, size - len, "%s%s", i > 0 ? "," : "",
					policy_head);
		for (size_t j = 0; j < strings; j++)
			len += (size_t)snprintf(json + len, size - len, "%s\"\"", j > 0 ? "," : "");
		len += (size_t)snprintf(json + len, size - len, "%s", policy_tail);
	}
	len += (size_t)snprintf(json + len, size - len, "]}");
	*ret_len = len;
	return json;
}

/*
 * Every list within its own limit, but 150,000 values in all: refused by
 * the scan of the octets, before jansson builds a tree of them (the text
 * is cut short too, which the parser would have said instead).
 */
static void test_element_budget(void **state)
{
	struct tlsrpt_limits limits;
	size_t len;
	char *json = wide_report(150, 1000, &len);

	(void)state;
	read_bad_len(json, len - 2, NULL, "line 1, column ",
		     "more than the limit of 100000 JSON values");
	/*
	 * Counted as the top value, one at each "[" or "{" and one after each
	 * ",": 8 in the head, 1008 in each policy (with its separating comma
	 * but for the first one's).
	 */
	tlsrpt_limits_default(&limits);
	limits.max_elements = 8 + 150 * 1008 - 1;
	read_bad_len(json, len, &limits, "line 1, column ", "JSON values");
	limits.max_elements = 8 + 150 * 1008;
	tlsrpt_report_free(read_ok_limits(json, &limits));
	free(json);

	/* 98 policies of 1000 strings are within the default */
	json = wide_report(98, 1000, &len);
	tlsrpt_report_free(read_ok(json));
	free(json);
}

struct count_case {
	const char *value;
	const char *reason;
};

static void test_counts(void **state)
{
	static const struct count_case bad[] = {
		{ "\"5\"", "a number is required, not a string" },
		{ "-1", "cannot be negative" },
		{ "1.5", "a whole number is required, not 1.5" },
		{ "1.0", "a whole number is required" },
		{ "2e3", "a whole number is required" },
		{ "9007199254740993", "past the largest count, 2^53" },
		{ "9223372036854775807", "past the largest count" },
		{ "null", "a number is required, not null" },
		{ "true", "a number is required, not true" },
		{ "[1]", "a number is required, not an array" },
		{ "{}", "a number is required, not an object" },
	};
	char json[2048];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(json, sizeof(json), REPORT(STS_POLICY ","
			 POLICY(STS, "\"total-successful-session-count\":0,"
				"\"total-failure-session-count\":%s", "")), bad[i].value);
		read_bad(json, "policies[1].summary.total-failure-session-count: ", bad[i].reason);
		snprintf(json, sizeof(json), REPORT(
			 POLICY(STS, "\"total-successful-session-count\":%s,"
				"\"total-failure-session-count\":0", "")), bad[i].value);
		read_bad(json, "policies[0].summary.total-successful-session-count: ",
			 bad[i].reason);
		snprintf(json, sizeof(json), REPORT_OF(FAILURES(
			 "{\"result-type\":\"dane-required\",\"failed-session-count\":1},"
			 "{\"result-type\":\"dane-required\",\"failed-session-count\":%s}")),
			 bad[i].value);
		read_bad(json, "policies[0].failure-details[1].failed-session-count: ",
			 bad[i].reason);
	}
}

struct missing_case {
	const char *json;
	const char *path;
};

static void test_missing(void **state)
{
	static const struct missing_case cases[] = {
		{ "{\"policies\":[]}", "organization-name" },
		{ "{\"organization-name\":\"O\",\"policies\":[]}", "date-range" },
		{ "{\"organization-name\":\"O\",\"date-range\":{\"end-datetime\":"
		  "\"2024-01-01T00:00:00Z\"},\"report-id\":\"r\",\"policies\":[]}",
		  "date-range.start-datetime" },
		{ "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":"
		  "\"2024-01-01T00:00:00Z\"},\"report-id\":\"r\",\"policies\":[]}",
		  "date-range.end-datetime" },
		{ REPORT_HEAD("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z") "]}" , NULL },
		{ "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":"
		  "\"2024-01-01T00:00:00Z\",\"end-datetime\":\"2024-01-01T00:00:00Z\"},"
		  "\"policies\":[]}", "report-id" },
		{ "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":"
		  "\"2024-01-01T00:00:00Z\",\"end-datetime\":\"2024-01-01T00:00:00Z\"},"
		  "\"report-id\":\"r\"}", "policies" },
		{ REPORT("{\"summary\":{" SUMMARY "}}"), "policies[0].policy" },
		{ REPORT(STS_POLICY ",{\"policy\":{" STS "}}"), "policies[1].summary" },
		{ REPORT(POLICY("\"policy-domain\":\"example.com\"", SUMMARY, "")),
		  "policies[0].policy.policy-type" },
		{ REPORT(POLICY("\"policy-type\":\"sts\"", SUMMARY, "")),
		  "policies[0].policy.policy-domain" },
		{ REPORT(POLICY("\"policy-type\":\"tlsa\"", SUMMARY, "")),
		  "policies[0].policy.policy-domain" },
		{ REPORT(POLICY(STS, "\"total-failure-session-count\":0", "")),
		  "policies[0].summary.total-successful-session-count" },
		{ REPORT(POLICY(STS, "\"total-successful-session-count\":0", "")),
		  "policies[0].summary.total-failure-session-count" },
		{ REPORT_OF(FAILURES("{\"failed-session-count\":1}")),
		  "policies[0].failure-details[0].result-type" },
		{ REPORT_OF(FAILURES("{\"result-type\":\"dane-required\"}")),
		  "policies[0].failure-details[0].failed-session-count" },
	};
	char path[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		if (cases[i].path == NULL) {
			/* an empty "policies" is a report of nothing, not a missing field */
			tlsrpt_report_free(read_ok(cases[i].json));
			continue;
		}
		snprintf(path, sizeof(path), "%s: required", cases[i].path);
		read_bad(cases[i].json, path, "missing");
	}
}

struct type_case {
	const char *json;
	const char *path;
	const char *reason;
};

static void test_wrong_types(void **state)
{
	static const struct type_case cases[] = {
		{ "{\"organization-name\":7,\"policies\":[]}", "organization-name: ",
		  "a string is required, not a number" },
		{ "{\"organization-name\":null,\"policies\":[]}", "organization-name: ",
		  "a string is required, not null" },
		{ "{\"organization-name\":\"O\",\"date-range\":[],\"policies\":[]}", "date-range: ",
		  "an object is required, not an array" },
		{ "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":1,"
		  "\"end-datetime\":2},\"policies\":[]}", "date-range.start-datetime: ",
		  "a string is required, not a number" },
		{ "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":"
		  "\"2024-01-01T00:00:00Z\",\"end-datetime\":\"2024-01-01T00:00:00Z\"},"
		  "\"contact-info\":false,\"report-id\":\"r\",\"policies\":[]}",
		  "contact-info: ", "a string is required, not false" },
		{ "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":"
		  "\"2024-01-01T00:00:00Z\",\"end-datetime\":\"2024-01-01T00:00:00Z\"},"
		  "\"report-id\":42,\"policies\":[]}", "report-id: ",
		  "a string is required, not a number" },
		{ "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":"
		  "\"2024-01-01T00:00:00Z\",\"end-datetime\":\"2024-01-01T00:00:00Z\"},"
		  "\"report-id\":\"r\",\"policies\":{}}", "policies: ",
		  "an array is required, not an object" },
		{ REPORT(STS_POLICY ",\"sts\""), "policies[1]: ",
		  "an object is required, not a string" },
		{ REPORT("{\"policy\":[],\"summary\":{" SUMMARY "}}"), "policies[0].policy: ",
		  "an object is required, not an array" },
		{ REPORT("{\"policy\":{" STS "},\"summary\":3}"), "policies[0].summary: ",
		  "an object is required, not a number" },
		{ REPORT(POLICY("\"policy-type\":[\"sts\"],\"policy-domain\":\"x\"", SUMMARY, "")),
		  "policies[0].policy.policy-type: ", "a string is required, not an array" },
		{ REPORT(POLICY("\"policy-type\":\"sts\",\"policy-domain\":1", SUMMARY, "")),
		  "policies[0].policy.policy-domain: ", "a string is required, not a number" },
		{ REPORT(POLICY(STS ",\"policy-string\":7", SUMMARY, "")),
		  "policies[0].policy.policy-string: ", "an array of strings is required" },
		{ REPORT(POLICY(STS ",\"policy-string\":[\"a\",{}]", SUMMARY, "")),
		  "policies[0].policy.policy-string[1]: ", "a string is required, not an object" },
		{ REPORT(POLICY(STS ",\"mx-host\":true", SUMMARY, "")),
		  "policies[0].policy.mx-host: ", "an array of strings is required, not true" },
		{ REPORT(POLICY(STS ",\"mx-host\":[\"a\",null]", SUMMARY, "")),
		  "policies[0].policy.mx-host[1]: ", "a string is required, not null" },
		{ REPORT_OF(",\"failure-details\":{}"), "policies[0].failure-details: ",
		  "an array is required, not an object" },
		{ REPORT_OF(FAILURES("{\"result-type\":\"dane-required\",\"failed-session-count\":1},"
				     "5")), "policies[0].failure-details[1]: ",
		  "an object is required, not a number" },
		{ REPORT_OF(FAILURES("{\"result-type\":1,\"failed-session-count\":1}")),
		  "policies[0].failure-details[0].result-type: ",
		  "a string is required, not a number" },
		{ REPORT_OF(FAILURES("{\"result-type\":\"dane-required\",\"failed-session-count\":1,"
				     "\"sending-mta-ip\":[]}")),
		  "policies[0].failure-details[0].sending-mta-ip: ",
		  "a string is required, not an array" },
		{ REPORT_OF(FAILURES("{\"result-type\":\"dane-required\",\"failed-session-count\":1,"
				     "\"receiving-ip\":{}}")),
		  "policies[0].failure-details[0].receiving-ip: ",
		  "a string is required, not an object" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		read_bad(cases[i].json, cases[i].path, cases[i].reason);
}

static void test_not_a_report(void **state)
{
	(void)state;
	read_bad("{}", "not a TLS report", "no organization-name/policies");
	/* an aggregate DMARC report as JSON */
	read_bad("{\"report_metadata\":{\"org_name\":\"x\"},\"records\":[]}",
		 "not a TLS report", "no organization-name/policies");
	read_bad("[" REPORT(STS_POLICY) "]", "not a TLS report",
		 "the JSON text is an array, not an object");
	/* a scalar is not even a JSON text to jansson without JSON_DECODE_ANY */
	read_bad("\"report\"", "not JSON", "");
}

static void test_why_buffers(void **state)
{
	struct tlsrpt_report *report = NULL;
	char why[16];

	(void)state;
	/* no room for a reason, or a short one: still refused, still terminated */
	assert_int_equal(tlsrpt_report_read("{}", 2, NULL, &report, NULL, 0), -1);
	assert_null(report);
	memset(why, 'x', sizeof(why));
	assert_int_equal(tlsrpt_report_read("{}", 2, NULL, &report, why, sizeof(why)), -1);
	assert_non_null(memchr(why, '\0', sizeof(why)));
	assert_string_equal(why, "not a TLS repor");
	assert_int_equal(tlsrpt_report_read(NULL, 0, NULL, &report, why, sizeof(why)), -1);
	assert_null(tlsrpt_report_free(NULL));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_samples_cut),
		cmocka_unit_test(test_all_fields),
		cmocka_unit_test(test_result_types),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_dates_bad),
		cmocka_unit_test(test_mx_host_forms),
		cmocka_unit_test(test_tlsa_policy_string),
		cmocka_unit_test(test_optional_strings),
		cmocka_unit_test(test_strings_kept),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_byte_order_mark),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_element_budget),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_not_a_report),
		cmocka_unit_test(test_why_buffers),
	};

	if (argc > 1)
		data_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
