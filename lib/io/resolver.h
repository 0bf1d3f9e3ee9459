/*
 * resolver.h - asynchronous DNS over c-ares, driven by a libevent loop.
 *
 * SYNOPSIS
 *	struct resolver *r;
 *	resolver_new(base, &config, &r);
 *	resolver_query(r, "_mta-sts.example.com", MTASTS_DNS_TYPE_TXT, on_txt, ctx);
 *	resolver_addresses(r, "mta-sts.example.com", on_addresses, ctx);
 *	event_base_dispatch(base);
 *	r = resolver_free(r);
 *
 * DESCRIPTION
 *	Answers are classified the way policy discovery needs them: the name
 *	does not exist or has no record of the type (a final "no"), or the
 *	lookup failed in a way that may pass (SERVFAIL, REFUSED, timeout).
 *	When a lookup times out, the resolver is asked for the root zone's
 *	NS once; if that goes unanswered too, the lookups that failed are
 *	RESOLVER_SILENT: the fault is the resolver's (local), not the name's.
 *	CNAMEs are followed by the recursive resolver asked.  Callbacks run
 *	from the event loop, exactly once per lookup, also when the resolver
 *	is freed with lookups pending (with RESOLVER_CANCELLED).
 */
#ifndef MTASTS_IO_RESOLVER_H
#define MTASTS_IO_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include <mtasts/dns.h>
#include <mtasts/txt.h>

enum resolver_status {
	RESOLVER_OK,
	RESOLVER_NXDOMAIN,	/* the name does not exist */
	RESOLVER_NODATA,	/* the name exists, without records of the type */
	RESOLVER_SERVFAIL,
	RESOLVER_REFUSED,
	RESOLVER_TIMEOUT,
	RESOLVER_UNREACHABLE,	/* the resolver refused the connection */
	RESOLVER_LOCAL,		/* this machine is out of descriptors */
	RESOLVER_SILENT,	/* the resolver answers nothing, not even
				 * for the root zone: a local problem */
	RESOLVER_ERROR,		/* anything else: bad answer, no memory */
	RESOLVER_CANCELLED,
};

struct resolver_config {
	const char *const *servers;	/* "ADDR[:PORT]" or "[V6]:PORT"; none: system */
	size_t server_count;
	unsigned timeout_ms;		/* one try of one server (c-ares never
					 * doubles it: a new round is a new query) */
	unsigned tries;			/* rounds over all the servers; 0: 2 */
};

struct address_answer {
	enum resolver_status status;
	size_t count;
	struct sockaddr_storage *addresses;
};

typedef void resolver_addresses_fn(void *arg, const struct address_answer *answer);

struct resolver;

int resolver_new(struct event_base *base, const struct resolver_config *config,
		 struct resolver **ret_resolver);
struct resolver *resolver_free(struct resolver *resolver);

/* Zero on success; a negative errno when the lookup could not start. */
int resolver_addresses(struct resolver *resolver, const char *name,
		       resolver_addresses_fn *fn, void *arg);

/*
 * Any query, answered as a decoded message.  The query asks for DNSSEC
 * validation (AD bit set, EDNS0 with DO), so a validating resolver says
 * in the answer's AD bit whether it validated it.  status is RESOLVER_OK
 * when the answer has records of the type (after any CNAME chain, which
 * the message's answers include), RESOLVER_NODATA or RESOLVER_NXDOMAIN
 * by the RCODE and answers; message is set whenever a response arrived.
 */
struct dns_answer {
	enum resolver_status status;
	const struct mtasts_dns_message *message;
};

typedef void resolver_query_fn(void *arg, const struct dns_answer *answer);

int resolver_query(struct resolver *resolver, const char *name, uint16_t type,
		   resolver_query_fn *fn, void *arg);

/* "NXDOMAIN", "SERVFAIL", "timed out"... */
const char *resolver_status_name(enum resolver_status status);

/* True for the statuses that may pass on a later try. */
bool resolver_status_is_temporary(enum resolver_status status);

#endif
