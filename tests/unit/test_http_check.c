/*
 * test_http_check.c - what a sender requires of the HTTPS response carrying a
 * policy (RFC 8461 3.3): status 200 only, no redirect, media type
 * text/plain, a body within the size limit.  The header values are ones
 * seen from real servers (nginx, Apache, IIS, object stores).
 */
#include "unit.h"

#include <mtasts/fetch.h>

struct media_case {
	const char *content_type;
	bool text_plain;
};

static const struct media_case media_cases[] = {
	/* RFC 8461 3.3: the policy is served as text/plain */
	{ "text/plain", true },
	/* parameters such as charset are allowed (RFC 9110 8.3.1) */
	{ "text/plain; charset=utf-8", true },
	{ "text/plain;charset=UTF-8", true },
	{ "text/plain ; charset=us-ascii", true },
	/* type and subtype are case-insensitive (RFC 9110 8.3.1) */
	{ "Text/Plain", true },
	{ "TEXT/PLAIN; charset=utf-8", true },
	/* optional white space around the value */
	{ " text/plain", true },
	{ "\ttext/plain\t", true },
	/* another media type is refused */
	{ "text/html", false },
	{ "text/html; charset=utf-8", false },
	{ "application/octet-stream", false },
	{ "application/json", false },
	/* a prefix or an extension of text/plain is another type */
	{ "text/plainx", false },
	{ "text/plain-policy", false },
	{ "text/plai", false },
	{ "text", false },
	/* no Content-Type at all, or an empty one */
	{ NULL, false },
	{ "", false },
	/* a list is not one media type */
	{ "text/html, text/plain", false },
};

static void test_media_types(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(media_cases); i++) {
		const struct media_case *c = &media_cases[i];
		bool got = mtasts_media_type_is_text_plain(c->content_type);

		if (got != c->text_plain)
			fail_msg("content type \"%s\": expected %d, got %d",
				 c->content_type ? c->content_type : "(null)",
				 c->text_plain, got);
	}
}

struct response_case {
	long status;
	const char *content_type;
	const char *location;
	bool truncated;
	enum mtasts_fetch_status want_status;
	enum mtasts_result_type want_type;
	const char *want_check;
	const char *want_in_reason;
};

#define FETCH_ERROR MTASTS_RESULT_STS_POLICY_FETCH_ERROR

static const struct response_case response_cases[] = {
	/* 200 with text/plain and a whole body: parse it */
	{ 200, "text/plain", NULL, false, MTASTS_FETCH_POLICY, MTASTS_RESULT_NONE, NULL, "200" },
	{ 200, "text/plain; charset=utf-8", NULL, false, MTASTS_FETCH_POLICY, MTASTS_RESULT_NONE, NULL, "200" },
	/* RFC 8461 3.3: redirects MUST NOT be followed; they fail the fetch */
	{ 301, "text/html", "https://www.example.com/", false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-redirect", "www.example.com" },
	{ 302, NULL, "https://mta-sts.example.net/.well-known/mta-sts.txt", false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-redirect", "302" },
	{ 307, NULL, NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-redirect", "307" },
	{ 308, "text/plain", "/elsewhere", false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-redirect", "/elsewhere" },
	/* only 200 is accepted: other 2xx too are refused */
	{ 204, "text/plain", NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-status", "204" },
	{ 203, "text/plain", NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-status", "203" },
	/* a 4xx is the publisher's mistake: invalid */
	{ 404, "text/html", NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-status", "404" },
	{ 403, "text/plain", NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-status", "403" },
	{ 410, NULL, NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-status", "410" },
	/* a 5xx may pass: temporary */
	{ 500, "text/html", NULL, false, MTASTS_FETCH_TEMP_FAIL, FETCH_ERROR, "http-status", "500" },
	{ 503, "text/plain", NULL, false, MTASTS_FETCH_TEMP_FAIL, FETCH_ERROR, "http-status", "503" },
	/* the status decides before the media type */
	{ 404, "text/plain", NULL, true, MTASTS_FETCH_INVALID, FETCH_ERROR, "http-status", "404" },
	/* RFC 8461 3.3: senders validate the media type */
	{ 200, "text/html", NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "media-type", "text/html" },
	{ 200, NULL, NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "media-type", "no Content-Type" },
	{ 200, "application/octet-stream", NULL, false, MTASTS_FETCH_INVALID, FETCH_ERROR, "media-type", "octet-stream" },
	/* a body cut at the size limit is refused, not parsed in part */
	{ 200, "text/plain", NULL, true, MTASTS_FETCH_INVALID, FETCH_ERROR, "body-size", "65536" },
	/* the media type decides before the size */
	{ 200, "text/html", NULL, true, MTASTS_FETCH_INVALID, FETCH_ERROR, "media-type", "text/html" },
};

static void test_responses(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(response_cases); i++) {
		const struct response_case *c = &response_cases[i];
		enum mtasts_result_type type = MTASTS_RESULT_STS_WEBPKI_INVALID;
		const char *check = "unset";
		char reason[MTASTS_FETCH_REASON_MAX] = "";
		enum mtasts_fetch_status got;

		got = mtasts_http_response_check(c->status, c->content_type, c->location,
						 c->truncated, 65536, &type, &check,
						 reason, sizeof(reason));
		if (got != c->want_status || type != c->want_type)
			fail_msg("case %zu (status %ld): got %s/%d, want %s/%d", i,
				 c->status, mtasts_fetch_status_name(got), type,
				 mtasts_fetch_status_name(c->want_status), c->want_type);
		if ((check == NULL) != (c->want_check == NULL) ||
		    (check != NULL && strcmp(check, c->want_check) != 0))
			fail_msg("case %zu: check %s, want %s", i,
				 check ? check : "(none)",
				 c->want_check ? c->want_check : "(none)");
		if (strstr(reason, c->want_in_reason) == NULL)
			fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, reason,
				 c->want_in_reason);
	}
}

static void test_names(void **state)
{
	(void)state;
	/* RFC 8460 4.3 result types, spelled as in a report */
	assert_string_equal(mtasts_result_type_name(MTASTS_RESULT_STS_POLICY_FETCH_ERROR),
			    "sts-policy-fetch-error");
	assert_string_equal(mtasts_result_type_name(MTASTS_RESULT_STS_POLICY_INVALID),
			    "sts-policy-invalid");
	assert_string_equal(mtasts_result_type_name(MTASTS_RESULT_STS_WEBPKI_INVALID),
			    "sts-webpki-invalid");
	assert_null(mtasts_result_type_name(MTASTS_RESULT_NONE));
	assert_string_equal(mtasts_fetch_status_name(MTASTS_FETCH_POLICY), "policy");
	assert_string_equal(mtasts_fetch_status_name(MTASTS_FETCH_NO_POLICY), "no-policy");
	assert_string_equal(mtasts_fetch_status_name(MTASTS_FETCH_TEMP_FAIL), "temp-fail");
	assert_string_equal(mtasts_fetch_status_name(MTASTS_FETCH_INVALID), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
