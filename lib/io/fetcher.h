/*
 * fetcher.h - policy discovery for one domain, as a sending MTA does it
 * (RFC 8461 3.1-3.3): TXT lookup, policy host lookup, HTTPS GET, parse.
 *
 * DESCRIPTION
 *	fetch_policy() starts the discovery; the callback receives a result
 *	it then owns (free it with fetch_result_free()).  Every failure names
 *	the check that failed ("txt-lookup", "txt-record", "policy-host-dns",
 *	"https-connect", "tls-handshake", "tls-certificate", "timeout",
 *	"https-receive", "http-redirect", "http-status", "media-type",
 *	"body-size", "policy-syntax") and says what was seen.
 */
#ifndef MTASTS_IO_FETCHER_H
#define MTASTS_IO_FETCHER_H

#include <mtasts/fetch.h>
#include <mtasts/policy.h>

#include "http.h"
#include "resolver.h"

struct fetch_result {
	char *domain;
	enum mtasts_fetch_status status;
	enum mtasts_result_type result_type;
	const char *check;		/* static string; NULL on success */
	char reason[MTASTS_FETCH_REASON_MAX];
	char *txt_id;			/* NULL when no valid record */
	struct mtasts_policy *policy;	/* set when status is POLICY */
	struct mtasts_diags diags;	/* of the TXT record and the policy */
	char *body;			/* the policy body as served, if any */
	size_t body_len;
};

typedef void fetch_done_fn(void *arg, struct fetch_result *result);

/*
 * Returns 0 when started (fn is called later, exactly once), or a negative
 * errno.  The domain need not stay valid after the call.
 */
int fetch_policy(struct resolver *resolver, struct http_client *http,
		 const char *domain, fetch_done_fn *fn, void *arg);

struct fetch_result *fetch_result_free(struct fetch_result *result);

#endif
