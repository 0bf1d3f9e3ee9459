/*
 * serve_request_head.h - the request heads `mtasts serve` answers on its
 * own, without evhttp: GET or HEAD of /.well-known/mta-sts.txt in
 * HTTP/1.1, written the plain way every MTA-STS client writes it.
 *
 * SYNOPSIS
 *	struct serve_policy_request req;
 *
 *	switch (serve_policy_request_parse(bytes, len, max_head, &req)) ...
 *
 * DESCRIPTION
 *	serve_policy_request_parse() reads the request head at the start of
 *	bytes.  SERVE_HEAD_POLICY: it is a policy request and req says what
 *	it asks (req points into bytes).  SERVE_HEAD_INCOMPLETE: bytes are
 *	the beginning of one; more are needed.  SERVE_HEAD_OTHER: anything
 *	else, including anything unusual (leading blank lines, folded or
 *	odd header lines, a body, Connection other than keep-alive, a head
 *	past max_head octets): evhttp reads those and answers them, errors
 *	included.  It is pure: no allocation, no clock.
 *
 *	serve_etag_listed() says whether an If-None-Match value names etag
 *	(RFC 9110 13.1.2): "*", or an entity tag of its list compared weakly.
 */
#ifndef MTASTS_SERVE_REQUEST_HEAD_H
#define MTASTS_SERVE_REQUEST_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#define SERVE_POLICY_PATH "/.well-known/mta-sts.txt"
#define SERVE_IF_NONE_MATCH_MAX 4	/* lines of it; more: left to evhttp */

enum serve_head_result {
	SERVE_HEAD_INCOMPLETE,
	SERVE_HEAD_OTHER,
	SERVE_HEAD_POLICY,
};

struct serve_policy_request {
	bool head;				/* HEAD, else GET */
	size_t length;				/* octets of the head, blank line included */
	const char *host;			/* the Host header's name, without its port */
	size_t host_len;
	const char *if_none_match[SERVE_IF_NONE_MATCH_MAX];
	size_t if_none_match_len[SERVE_IF_NONE_MATCH_MAX];
	size_t if_none_match_count;
};

enum serve_head_result serve_policy_request_parse(const char *bytes, size_t len, size_t max_head,
						  struct serve_policy_request *ret_request);

bool serve_etag_listed(const char *list, size_t list_len, const char *etag);

/*
 * The octets of a Host value that name the host: a final ":port" (digits,
 * maybe none) left off, unless the value is an IP literal ("[::1]").
 */
size_t serve_host_name_len(const char *value, size_t len);

#endif
