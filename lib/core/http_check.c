/*
 * http_check.c - what a sender requires of the HTTPS response that carries
 * a policy (RFC 8461 3.3), decided without any I/O.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mtasts/fetch.h>

#include "core.h"

const char *mtasts_fetch_status_name(enum mtasts_fetch_status status)
{
	switch (status) {
	case MTASTS_FETCH_POLICY:
		return "policy";
	case MTASTS_FETCH_NO_POLICY:
		return "no-policy";
	case MTASTS_FETCH_TEMP_FAIL:
		return "temp-fail";
	case MTASTS_FETCH_INVALID:
		return "invalid";
	}
	return "unknown";
}

const char *mtasts_result_type_name(enum mtasts_result_type type)
{
	switch (type) {
	case MTASTS_RESULT_NONE:
		return NULL;
	case MTASTS_RESULT_STS_POLICY_FETCH_ERROR:
		return "sts-policy-fetch-error";
	case MTASTS_RESULT_STS_POLICY_INVALID:
		return "sts-policy-invalid";
	case MTASTS_RESULT_STS_WEBPKI_INVALID:
		return "sts-webpki-invalid";
	}
	return NULL;
}

/* media-type = type "/" subtype *( OWS ";" OWS parameter ) (RFC 9110 8.3.1) */
bool mtasts_media_type_is_text_plain(const char *content_type)
{
	static const char wanted[] = "text/plain";
	const char *p = content_type;

	if (p == NULL)
		return false;
	while (is_wsp((unsigned char)*p))
		p++;
	if (strncasecmp(p, wanted, sizeof(wanted) - 1) != 0)
		return false;
	p += sizeof(wanted) - 1;
	while (is_wsp((unsigned char)*p))
		p++;
	return *p == '\0' || *p == ';';
}

enum mtasts_fetch_status
mtasts_http_response_check(long http_status, const char *content_type,
			   const char *location, bool body_truncated,
			   size_t body_limit, enum mtasts_result_type *ret_type,
			   const char **ret_check, char *reason, size_t reason_size)
{
	char excerpt[64];

	*ret_type = MTASTS_RESULT_STS_POLICY_FETCH_ERROR;
	*ret_check = "http-redirect";
	if (http_status >= 300 && http_status < 400) {
		quote_excerpt(excerpt, sizeof(excerpt), location != NULL ? location : "",
			      location != NULL ? strlen(location) : 0);
		snprintf(reason, reason_size, "HTTP status %ld, a redirect%s%s; "
			 "redirects must not be followed", http_status,
			 location != NULL ? " to " : "", location != NULL ? excerpt : "");
		return MTASTS_FETCH_INVALID;
	}
	*ret_check = "http-status";
	if (http_status != 200) {
		snprintf(reason, reason_size, "HTTP status %ld; only 200 is accepted",
			 http_status);
		return http_status >= 500 && http_status < 600 ?
		       MTASTS_FETCH_TEMP_FAIL : MTASTS_FETCH_INVALID;
	}
	*ret_check = "media-type";
	if (!mtasts_media_type_is_text_plain(content_type)) {
		quote_excerpt(excerpt, sizeof(excerpt), content_type != NULL ? content_type : "",
			      content_type != NULL ? strlen(content_type) : 0);
		snprintf(reason, reason_size, "media type %s; the policy must be "
			 "served as text/plain", content_type != NULL ? excerpt :
			 "missing (no Content-Type)");
		return MTASTS_FETCH_INVALID;
	}
	*ret_check = "body-size";
	if (body_truncated) {
		snprintf(reason, reason_size, "the body is larger than %zu octets; "
			 "reading stopped there", body_limit);
		return MTASTS_FETCH_INVALID;
	}
	*ret_type = MTASTS_RESULT_NONE;
	*ret_check = NULL;
	snprintf(reason, reason_size, "HTTP status 200, text/plain");
	return MTASTS_FETCH_POLICY;
}
