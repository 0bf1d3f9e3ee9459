/*
 * fetcher.h - policy discovery for one domain, as a sending MTA does it
 * (RFC 8461 3.1-3.3): TXT lookup and selection, policy host addresses,
 * HTTPS GET, response checks, parse.  The one implementation: `fetch`,
 * `check` and every later command call it.
 *
 * SYNOPSIS
 *	struct fetch_options opt = { .timeout_ms = 60000 };
 *	fetch_policy(base, resolver, http, "example.com", &opt, on_done, ctx);
 *
 * DESCRIPTION
 *	fetch_policy() starts the discovery; the callback receives a result
 *	it then owns (free it with fetch_result_free()).  Every failure names
 *	the check that failed, and says what was seen:
 *
 *	  domain-name             the argument is not a domain name
 *	  txt-lookup              the _mta-sts TXT lookup (none, or failed)
 *	  txt-record              no record begins with "v=STSv1;", several
 *	                          do, or the one that does is invalid
 *	  policy-host-dns         mta-sts.<domain> has no address
 *	  https-connect           no connection to port 443
 *	  tls-handshake           no TLS 1.2+ session
 *	  tls-cert-name, tls-cert-expired, tls-cert-not-yet-valid,
 *	  tls-cert-self-signed, tls-cert-untrusted, tls-cert-weak
 *	                          the certificate judgement (tls_verify.h)
 *	  https-receive           the response broke off
 *	  http-redirect, http-status, media-type, body-size
 *	                          the response checks (mtasts/fetch.h)
 *	  policy-syntax           the policy does not parse
 *	  timeout                 no result within timeout_ms
 *	  local                   this machine ran out of descriptors or memory
 *	                          (status MTASTS_FETCH_TEMP_FAIL, local set)
 *	  https                   anything else
 *
 *	timeout_ms bounds the whole discovery, DNS lookups included: when it
 *	passes, the result is delivered at once as a temporary failure; what
 *	is still running is abandoned (its late answers are dropped).  Each
 *	DNS try and the TCP connect have their own, shorter limits in the
 *	resolver and HTTPS client configurations.
 *
 *	By default the discovery is a sender's: one HTTPS request, which may
 *	use any address of the policy host.  A checker asks for more with
 *	each_address (one request per address, each judged on its own) and
 *	past_record_failure (go on to the policy host when the TXT record is
 *	missing or invalid, to say what else is wrong); the outcome at the top
 *	of the result is then still what a sender would conclude first.  An
 *	observer sees the TXT answer and the policy host's addresses as they
 *	arrive, so it can start its own probes at once.  A cache refreshing a
 *	policy passes the id it holds as known_id and learns from the TXT
 *	lookup alone whether the policy is still current (RFC 8461 5.1).
 */
#ifndef MTASTS_IO_FETCHER_H
#define MTASTS_IO_FETCHER_H

#include <stdbool.h>

#include <event2/event.h>

#include <mtasts/fetch.h>
#include <mtasts/policy.h>

#include "http.h"
#include "resolver.h"

#define FETCH_ADDRESSES_MAX 8	/* addresses fetched from with each_address */

struct fetch_observer {
	void (*txt)(void *arg, const struct dns_answer *answer);
	void (*addresses)(void *arg, const struct address_answer *answer);
	void *arg;
};

struct fetch_options {
	unsigned timeout_ms;		/* the whole discovery; 0: no limit */
	bool each_address;
	bool past_record_failure;
	const struct fetch_observer *observer;
	/*
	 * A refresh: when the TXT record is valid and its id is this one, the
	 * cached policy is still current; the discovery stops there, with
	 * status MTASTS_FETCH_POLICY, id_unchanged set and no policy.  NULL
	 * (or with past_record_failure) for a whole discovery.
	 */
	const char *known_id;
};

/* One outcome: of a step, of one address, or of the whole discovery. */
struct fetch_outcome {
	enum mtasts_fetch_status status;
	enum mtasts_result_type result_type;
	const char *check;		/* static string; NULL on success */
	char reason[MTASTS_FETCH_REASON_MAX];
	bool local;			/* a local resource ran out */
};

/* One HTTPS request and what came of it. */
struct fetch_attempt {
	char address[64];		/* the address used, "" when unknown */
	struct fetch_outcome outcome;
	long verify_error;		/* X509_V_ERR_* of a certificate failure */
	long http_status;		/* 0 without a response */
	char *content_type;
	char *location;
	bool responded;			/* 200, text/plain, within the size limit */
	char *body;			/* the body, when responded */
	size_t body_len;
	struct mtasts_policy *policy;	/* when it parsed */
	struct mtasts_diags diags;	/* of the parse, when responded */
};

struct fetch_result {
	char *domain;			/* normalized: lower case, no final dot */
	/* What a sender concludes (the first failure, or the policy): */
	enum mtasts_fetch_status status;
	enum mtasts_result_type result_type;
	const char *check;
	char reason[MTASTS_FETCH_REASON_MAX];
	bool local;			/* failed for want of local resources */
	struct fetch_outcome record;	/* of the TXT step alone */
	char *txt_id;			/* NULL when no valid record */
	bool id_unchanged;		/* txt_id is options->known_id: stopped there */
	struct mtasts_diags txt_diags;
	bool host_looked_up;
	enum resolver_status host_status;
	size_t host_address_count;	/* all the policy host has */
	size_t attempt_count;
	struct fetch_attempt *attempts;
	/* The policy a sender gets, borrowed from one of the attempts. */
	struct mtasts_policy *policy;	/* set when status is POLICY */
	const struct mtasts_diags *diags;	/* the TXT record's, or the policy's */
	const char *body;
	size_t body_len;
};

typedef void fetch_done_fn(void *arg, struct fetch_result *result);

/*
 * Returns 0 when started (fn is then called exactly once: from the event
 * loop, or before fetch_policy() returns when the name is refused or a
 * lookup ends at once), or a negative errno (fn is not called).  The
 * domain need not stay valid after the call; options and the observer
 * must stay valid until fn is called.
 */
int fetch_policy(struct event_base *base, struct resolver *resolver,
		 struct http_client *http, const char *domain,
		 const struct fetch_options *options, fetch_done_fn *fn, void *arg);

struct fetch_result *fetch_result_free(struct fetch_result *result);

#endif
