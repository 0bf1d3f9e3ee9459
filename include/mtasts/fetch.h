/*
 * mtasts/fetch.h - the outcome of policy discovery (RFC 8461 3.3) and the
 * checks a sender applies to the HTTPS response, as pure functions.
 *
 * DESCRIPTION
 *	A discovery ends in one of four states:
 *	  MTASTS_FETCH_POLICY     a valid policy was fetched;
 *	  MTASTS_FETCH_NO_POLICY  the domain publishes no MTA-STS record;
 *	  MTASTS_FETCH_TEMP_FAIL  something failed that may work later (DNS
 *	                          SERVFAIL or timeout, a connection refused or
 *	                          cut, an HTTP 5xx, a timeout);
 *	  MTASTS_FETCH_INVALID    the domain's publication is broken (several or
 *	                          invalid TXT records, an HTTP status other than
 *	                          200, a redirect, a wrong media type, a body
 *	                          over 64 KiB, a certificate that fails PKIX
 *	                          validation, a policy that does not parse).
 *	Failures carry the RFC 8460 result type a TLS report would use.
 *
 *	mtasts_http_response_check() decides on a completed response:
 *	status 200 only (no redirect is followed), media type text/plain
 *	(parameters allowed, compared without regard to case), and a body that
 *	was not cut at the size limit.
 */
#ifndef MTASTS_FETCH_H
#define MTASTS_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mtasts_fetch_status {
	MTASTS_FETCH_POLICY,
	MTASTS_FETCH_NO_POLICY,
	MTASTS_FETCH_TEMP_FAIL,
	MTASTS_FETCH_INVALID,
};

/* RFC 8460 4.3 result types of policy discovery. */
enum mtasts_result_type {
	MTASTS_RESULT_NONE,
	MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
	MTASTS_RESULT_STS_POLICY_INVALID,
	MTASTS_RESULT_STS_WEBPKI_INVALID,
};

#define MTASTS_FETCH_REASON_MAX 512

/* "policy", "no-policy", "temp-fail", "invalid". */
const char *mtasts_fetch_status_name(enum mtasts_fetch_status status);

/* "sts-policy-fetch-error" and so on; NULL for MTASTS_RESULT_NONE. */
const char *mtasts_result_type_name(enum mtasts_result_type type);

/*
 * Is content_type (a Content-Type header value, NULL when absent) the media
 * type text/plain, with or without parameters?
 */
bool mtasts_media_type_is_text_plain(const char *content_type);

/*
 * Check a completed HTTP response for a policy.  Returns MTASTS_FETCH_POLICY
 * when the body may be parsed; otherwise the failure's status, with the
 * result type in *ret_type, the name of the failed check in *ret_check
 * ("http-redirect", "http-status", "media-type", "body-size") and a
 * sentence in reason (always written).
 */
enum mtasts_fetch_status
mtasts_http_response_check(long http_status, const char *content_type,
			   const char *location, bool body_truncated,
			   size_t body_limit, enum mtasts_result_type *ret_type,
			   const char **ret_check, char *reason, size_t reason_size);

#ifdef __cplusplus
}
#endif

#endif
