/*
 * fuzz_request_head.c - fuzz target for the plain policy request that
 * `mtasts serve` reads without evhttp (serve_policy_request_parse) and for
 * the If-None-Match lists it compares (serve_etag_listed).
 *
 * The input is what a connection sent.  The first octet picks the head
 * limit.  A head read whole lies within the bytes and the limit, ends in
 * a blank line, and every shorter start of it is incomplete; reading more
 * bytes never turns an answer into another: a start that is no policy
 * request is no more one with anything after it.
 */
#include "fuzz.h"
#include "serve_request_head.h"

static bool within(const char *p, size_t len, const char *base, size_t size)
{
	return p >= base && len <= size && (size_t)(p - base) <= size - len;
}

static void check_policy(const char *bytes, size_t size, size_t max_head,
			 const struct serve_policy_request *req)
{
	struct serve_policy_request again;

	if (req->length < 4 || req->length > size || req->length > max_head ||
	    memcmp(bytes + req->length - 4, "\r\n\r\n", 4) != 0 || req->host_len == 0 ||
	    !within(req->host, req->host_len, bytes, req->length) ||
	    req->if_none_match_count > SERVE_IF_NONE_MATCH_MAX)
		abort();
	for (size_t i = 0; i < req->if_none_match_count; i++)
		if (!within(req->if_none_match[i], req->if_none_match_len[i], bytes, req->length))
			abort();
	/* Its own bytes alone read the same; one fewer is not yet a head. */
	if (serve_policy_request_parse(bytes, req->length, max_head, &again) != SERVE_HEAD_POLICY ||
	    again.length != req->length || again.host != req->host ||
	    again.host_len != req->host_len)
		abort();
	if (serve_policy_request_parse(bytes, req->length - 1, max_head, &again) !=
	    SERVE_HEAD_INCOMPLETE)
		abort();
	for (size_t i = 0; i < req->if_none_match_count; i++)
		(void)serve_etag_listed(req->if_none_match[i], req->if_none_match_len[i],
					"\"0123456789abcdef0123456789abcdef\"");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct serve_policy_request req, part;
	enum serve_head_result whole, half;
	size_t max_head;
	const char *bytes;

	if (size < 1)
		return 0;
	max_head = 64 + (size_t)data[0] * 64;
	bytes = (const char *)data + 1;
	size--;
	whole = serve_policy_request_parse(bytes, size, max_head, &req);
	if (whole == SERVE_HEAD_POLICY)
		check_policy(bytes, size, max_head, &req);
	half = serve_policy_request_parse(bytes, size / 2, max_head, &part);
	if ((half == SERVE_HEAD_OTHER && whole != SERVE_HEAD_OTHER) ||
	    (half == SERVE_HEAD_POLICY && (whole != SERVE_HEAD_POLICY || req.length != part.length)) ||
	    (whole == SERVE_HEAD_INCOMPLETE && half != SERVE_HEAD_INCOMPLETE))
		abort();
	(void)serve_etag_listed(bytes, size, "\"x\"");
	return 0;
}
