/*
 * test_serve_request_head.c - the plain policy request `mtasts serve`
 * answers without evhttp: which heads are it (and what they ask), which
 * are left to evhttp, when more bytes are needed; If-None-Match lists.
 */
#include "unit.h"

#include "serve_request_head.h"

#define GET_LINE "GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
#define HEAD_LINE "HEAD /.well-known/mta-sts.txt HTTP/1.1\r\n"
#define MAX_HEAD 4096

static enum serve_head_result parse(const char *text, struct serve_policy_request *req)
{
	return serve_policy_request_parse(text, strlen(text), MAX_HEAD, req);
}

static void host_is(const struct serve_policy_request *req, const char *want)
{
	assert_int_equal(req->host_len, strlen(want));
	assert_memory_equal(req->host, want, req->host_len);
}

static void policy_requests(void **state)
{
	struct serve_policy_request req;
	const char *text;

	(void)state;
	text = GET_LINE "Host: mta-sts.example.com\r\n\r\n";
	assert_int_equal(parse(text, &req), SERVE_HEAD_POLICY);
	assert_false(req.head);
	assert_int_equal(req.length, strlen(text));
	host_is(&req, "mta-sts.example.com");
	assert_int_equal(req.if_none_match_count, 0);

	text = HEAD_LINE "user-agent: x/1\r\nHOST:\tMTA-STS.Example.COM:443 \r\n"
	       "Accept: */*\r\nConnection: Keep-Alive\r\n\r\n";
	assert_int_equal(parse(text, &req), SERVE_HEAD_POLICY);
	assert_true(req.head);
	host_is(&req, "MTA-STS.Example.COM");

	text = GET_LINE "Host: a.example:\r\nIf-None-Match: \"x\", W/\"y\"\r\n"
	       "if-none-match: *\r\n\r\n";
	assert_int_equal(parse(text, &req), SERVE_HEAD_POLICY);
	host_is(&req, "a.example");
	assert_int_equal(req.if_none_match_count, 2);
	assert_int_equal(req.if_none_match_len[0], strlen("\"x\", W/\"y\""));
	assert_memory_equal(req.if_none_match[1], "*", 1);
}

/* Two requests in one read: the first's length leaves the second whole. */
static void pipelined(void **state)
{
	struct serve_policy_request req;
	const char *first = GET_LINE "Host: a\r\n\r\n";
	const char *text = GET_LINE "Host: a\r\n\r\n" HEAD_LINE "Host: b\r\n\r\n";

	(void)state;
	assert_int_equal(parse(text, &req), SERVE_HEAD_POLICY);
	assert_int_equal(req.length, strlen(first));
	assert_int_equal(parse(text + req.length, &req), SERVE_HEAD_POLICY);
	assert_true(req.head);
	host_is(&req, "b");
}

static void left_to_evhttp(void **state)
{
	static const char *const others[] = {
		"POST /.well-known/mta-sts.txt HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: a\r\n\r\n",
		"GET /.well-known/mta-sts.txt?x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /.well-known/../.well-known/mta-sts.txt HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET https://a/.well-known/mta-sts.txt HTTP/1.1\r\nHost: a\r\n\r\n",
		"get /.well-known/mta-sts.txt HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET  /.well-known/mta-sts.txt HTTP/1.1\r\nHost: a\r\n\r\n",
		"\r\n" GET_LINE "Host: a\r\n\r\n",			/* a blank line first */
		"GET /.well-known/mta-sts.txt HTTP/1.1\nHost: a\n\n",	/* bare LF */
		GET_LINE "Host: a\n\r\n",
		GET_LINE "\r\n",					/* no Host */
		GET_LINE "Host: a\r\nHost: a\r\n\r\n",
		GET_LINE "Host:\r\n\r\n",
		GET_LINE "Host: :443\r\n\r\n",
		GET_LINE "Host: a\r\n continued\r\n\r\n",		/* obs-fold */
		GET_LINE "Host: a\r\nX-Odd: caf\xe9\r\n\r\n",		/* obs-text */
		GET_LINE "Host: a\r\nX-Nul: a\x01b\r\n\r\n",
		GET_LINE "Host a\r\n\r\n",
		GET_LINE "Ho st: a\r\n\r\n",
		GET_LINE ": a\r\nHost: a\r\n\r\n",
		GET_LINE "Host: a\r\nConnection: close\r\n\r\n",
		GET_LINE "Host: a\r\nConnection: keep-alive, Upgrade\r\n\r\n",
		GET_LINE "Host: a\r\nContent-Length: 0\r\n\r\n",
		GET_LINE "Host: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		GET_LINE "Host: a\r\nExpect: 100-continue\r\n\r\n",
		GET_LINE "Host: a\r\nUpgrade: h2c\r\n\r\n",
		GET_LINE "Host: a\r\nIf-None-Match: 1\r\nIf-None-Match: 2\r\n"
		"If-None-Match: 3\r\nIf-None-Match: 4\r\nIf-None-Match: 5\r\n\r\n",
	};
	struct serve_policy_request req;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(others); i++)
		if (parse(others[i], &req) != SERVE_HEAD_OTHER)
			fail_msg("taken as a policy request: %s", others[i]);
}

/* Every start of a policy request waits for more; past the limit, evhttp's. */
static void incomplete_and_limit(void **state)
{
	const char *text = HEAD_LINE "Host: mta-sts.example.com\r\nIf-None-Match: *\r\n\r\n";
	struct serve_policy_request req;
	size_t len = strlen(text);
	char big[MAX_HEAD + 64];

	(void)state;
	for (size_t n = 0; n < len; n++)
		if (serve_policy_request_parse(text, n, MAX_HEAD, &req) != SERVE_HEAD_INCOMPLETE)
			fail_msg("%zu octets of %zu: not incomplete", n, len);
	assert_int_equal(serve_policy_request_parse(text, len, len, &req), SERVE_HEAD_POLICY);
	assert_int_equal(serve_policy_request_parse(text, len, len - 1, &req), SERVE_HEAD_OTHER);
	assert_int_equal(serve_policy_request_parse("GET /x", 6, MAX_HEAD, &req),
			 SERVE_HEAD_OTHER);

	snprintf(big, sizeof(big), "%sHost: a\r\nX-Big: ", GET_LINE);
	memset(big + strlen(big), 'z', sizeof(big) - strlen(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(serve_policy_request_parse(big, MAX_HEAD - 1, MAX_HEAD, &req),
			 SERVE_HEAD_INCOMPLETE);
	assert_int_equal(serve_policy_request_parse(big, strlen(big), MAX_HEAD, &req),
			 SERVE_HEAD_OTHER);
}

static void etag_lists(void **state)
{
	static const struct {
		const char *list;
		bool listed;
	} cases[] = {
		{ "\"abc\"", true }, { "W/\"abc\"", true }, { "\"x\", \"abc\"", true },
		{ " \"x\" ,\t\"abc\" ", true }, { "*", true }, { "\"x\",*", true },
		{ "\"abcd\"", false }, { "\"ab\"", false }, { "abc", false }, { "", false },
		{ ",,,", false }, { "w/\"abc\"", false }, { "\"ABC\"", false },
		{ "**", false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (serve_etag_listed(cases[i].list, strlen(cases[i].list), "\"abc\"") !=
		    cases[i].listed)
			fail_msg("If-None-Match: %s", cases[i].list);
	/* The length bounds it: what follows is not read. */
	assert_false(serve_etag_listed("\"x\", \"abc\"", 4, "\"abc\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy_requests),
		cmocka_unit_test(pipelined),
		cmocka_unit_test(left_to_evhttp),
		cmocka_unit_test(incomplete_and_limit),
		cmocka_unit_test(etag_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
