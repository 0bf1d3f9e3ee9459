/*
 * serve_request_head.c - the plain policy request, read without evhttp
 * (see serve_request_head.h).  Strict on purpose: whatever is not the
 * plain form goes to evhttp, which answers every request, so being strict
 * here costs speed on an odd client, never an answer.
 */
#include <string.h>
#include <strings.h>

#include "serve_request_head.h"

static const char get_line[] = "GET " SERVE_POLICY_PATH " HTTP/1.1\r\n";
static const char head_line[] = "HEAD " SERVE_POLICY_PATH " HTTP/1.1\r\n";

/* A tchar of a field name (RFC 9110 5.6.2). */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool name_is(const char *name, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(name, word, len) == 0;
}

size_t serve_host_name_len(const char *value, size_t len)
{
	size_t colon = len;

	for (size_t i = 0; i < len; i++)
		if (value[i] == ':')
			colon = i;
	if (colon < len && value[0] != '[') {
		size_t digits = colon + 1;

		while (digits < len && value[digits] >= '0' && value[digits] <= '9')
			digits++;
		if (digits == len)
			return colon;
	}
	return len;
}

/* One header line (no CRLF); false when the request is to go to evhttp. */
static bool header_line(const char *line, size_t len, struct serve_policy_request *req,
			bool *host_seen)
{
	size_t colon = 0, value_len;
	const char *value;

	while (colon < len && is_tchar((unsigned char)line[colon]))
		colon++;
	if (colon == 0 || colon == len || line[colon] != ':')
		return false;
	value = line + colon + 1;
	value_len = len - colon - 1;
	for (size_t i = 0; i < value_len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c != ' ' && c != '\t' && (c < 0x21 || c > 0x7e))
			return false;
	}
	while (value_len > 0 && (value[0] == ' ' || value[0] == '\t')) {
		value++;
		value_len--;
	}
	while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
		value_len--;
	if (name_is(line, colon, "host")) {
		if (*host_seen || value_len == 0)
			return false;
		*host_seen = true;
		req->host = value;
		req->host_len = serve_host_name_len(value, value_len);
		return req->host_len > 0;
	}
	if (name_is(line, colon, "if-none-match")) {
		if (req->if_none_match_count == SERVE_IF_NONE_MATCH_MAX)
			return false;
		req->if_none_match[req->if_none_match_count] = value;
		req->if_none_match_len[req->if_none_match_count++] = value_len;
		return true;
	}
	if (name_is(line, colon, "connection"))
		return name_is(value, value_len, "keep-alive");
	/* A body, or a change of protocol: evhttp's. */
	return !name_is(line, colon, "content-length") &&
	       !name_is(line, colon, "transfer-encoding") && !name_is(line, colon, "expect") &&
	       !name_is(line, colon, "upgrade");
}

enum serve_head_result serve_policy_request_parse(const char *bytes, size_t len, size_t max_head,
						  struct serve_policy_request *ret_request)
{
	struct serve_policy_request req;
	bool capped = len >= max_head, host_seen = false;
	size_t avail = capped ? max_head : len, at;
	enum serve_head_result short_read = capped ? SERVE_HEAD_OTHER : SERVE_HEAD_INCOMPLETE;
	const char *want = get_line;
	size_t want_len;

	memset(&req, 0, sizeof(req));
	if (avail > 0 && bytes[0] == 'H') {
		want = head_line;
		req.head = true;
	}
	want_len = strlen(want);
	if (memcmp(bytes, want, avail < want_len ? avail : want_len) != 0)
		return SERVE_HEAD_OTHER;
	if (avail < want_len)
		return short_read;
	for (at = want_len;;) {
		const char *lf = memchr(bytes + at, '\n', avail - at);
		size_t end;

		if (lf == NULL)
			return short_read;
		end = (size_t)(lf - bytes);
		if (end == at || bytes[end - 1] != '\r')
			return SERVE_HEAD_OTHER;	/* a bare LF */
		if (end - 1 == at) {
			at = end + 1;
			break;			/* the blank line */
		}
		if (!header_line(bytes + at, end - 1 - at, &req, &host_seen))
			return SERVE_HEAD_OTHER;
		at = end + 1;
	}
	if (!host_seen)
		return SERVE_HEAD_OTHER;
	req.length = at;
	*ret_request = req;
	return SERVE_HEAD_POLICY;
}

bool serve_etag_listed(const char *list, size_t list_len, const char *etag)
{
	const char *p = list, *stop = list + list_len;
	size_t etag_len = strlen(etag);

	while (p < stop) {
		const char *start, *end;

		while (p < stop && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		start = p;
		while (p < stop && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end - start == 1 && *start == '*')
			return true;
		if (end - start >= 2 && start[0] == 'W' && start[1] == '/')
			start += 2;
		if ((size_t)(end - start) == etag_len && memcmp(start, etag, etag_len) == 0)
			return true;
	}
	return false;
}
