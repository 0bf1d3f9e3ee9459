/*
 * dane.h - whether DANE (RFC 7672) covers a domain's mail, so that a
 * sender that does both DANE and MTA-STS uses DANE first (RFC 8461 2).
 *
 * SYNOPSIS
 *	struct dane_lookup *l;
 *	dane_lookup(base, resolver, "example.com", 5000, on_dane, ctx, &l);
 *	event_base_dispatch(base);
 *	...
 *	static void on_dane(void *ctx, const struct dane_result *r)
 *	{
 *		if (r->status == DANE_USABLE) reply "dane";
 *		else if (r->status == DANE_TEMP) reply TEMP (never MTA-STS);
 *		else go on with MTA-STS;
 *	}
 *	l = dane_lookup_cancel(l);	// only while no callback has run
 *
 * DESCRIPTION
 *	The answer is for Postfix's "dane" security level, which looks up
 *	TLSA per MX host itself but falls back to unauthenticated TLS for a
 *	host without usable TLSA records, and trusts TLSA less (or not) when
 *	the MX RRset is not validated, whose names could then be forged.  So
 *	DANE_USABLE is said only where that level is at least as strong as
 *	an MTA-STS enforce policy, on every MX host:
 *
 *	  - the MX RRset is DNSSEC-validated (AD), or its absence is (the
 *	    domain itself is then the one host, RFC 5321 5.1);
 *	  - at most DANE_MX_HOSTS_MAX distinct hosts, no null MX (RFC 7505);
 *	  - for every host: its A and AAAA answers are validated, give at
 *	    least one address, and are not reached through a CNAME (Postfix
 *	    looks TLSA up at the end of such a chain first; that is left to
 *	    MTA-STS); and the TLSA RRset at _25._tcp.<host> is validated and
 *	    holds at least one usable record: usage DANE-TA(2) or DANE-EE(3)
 *	    (usages 0 and 1 are unusable for SMTP, RFC 7672 3.1.3), selector
 *	    0 or 1, matching type 0, 1 (32 octets) or 2 (64 octets).
 *
 *	Anything that the validated answers deny is DANE_NONE, with the first
 *	such reason (hosts most preferred first): the MTA-STS policy applies.
 *	Otherwise a failed or unfinished lookup (SERVFAIL, which a validating
 *	resolver also answers for bogus data, REFUSED, timeout, no resolver,
 *	no memory) is DANE_TEMP: the caller must not fall back to MTA-STS on
 *	it, since an attacker can make lookups fail but cannot forge a
 *	validated denial.  A DANE_NONE is final as soon as it is known, so the
 *	callback may come before every lookup is answered.
 *
 *	dane_lookup() makes one MX query, then A, AAAA and TLSA queries for
 *	every host at once, through resolver_query() (which asks for DNSSEC).
 *	timeout_ms bounds the whole lookup (0: only the resolver's own limits
 *	per query); when it passes, what is known is judged and what is not
 *	counts as failed.  The callback runs exactly once, from the event
 *	loop, never inside dane_lookup(); the result is the callback's to read
 *	only during the call.  After the callback the handle is gone.
 *	dane_lookup_cancel() abandons a lookup whose callback has not run: it
 *	never runs then.  The memory of a lookup lives until its last query
 *	is answered, or the resolver is freed (which answers them all).
 *
 *	dane_select_hosts(), dane_judge_host() and dane_decide() are the whole
 *	decision, over decoded answers and nothing else: the tests call them
 *	with answers made in memory.
 *
 * DIAGNOSTICS
 *	dane_lookup() returns 0, or a negative errno when the lookup cannot
 *	start: -EINVAL for a domain that is not a host name (the callback is
 *	then never called), -ENOMEM.
 */
#ifndef MTASTS_IO_DANE_H
#define MTASTS_IO_DANE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include <mtasts/dns.h>

#include "resolver.h"

#define DANE_MX_HOSTS_MAX 16
#define DANE_REASON_MAX 256

enum dane_status {
	DANE_USABLE,	/* every MX host has validated, usable TLSA records */
	DANE_NONE,	/* no DANE for the domain, by validated answers or none */
	DANE_TEMP,	/* a lookup failed or did not finish: do not fall back */
};

struct dane_result {
	enum dane_status status;
	char reason[DANE_REASON_MAX];	/* one sentence, for logs */
	size_t mx_count;		/* hosts examined (1 for an implicit MX) */
	size_t tlsa_host_count;		/* of them, with validated usable TLSA
					 * (known so far, for an early NONE) */
};

typedef void dane_done_fn(void *arg, const struct dane_result *result);

struct dane_lookup;

int dane_lookup(struct event_base *base, struct resolver *resolver,
		const char *domain, unsigned timeout_ms, dane_done_fn *fn, void *arg,
		struct dane_lookup **ret_lookup);

/* Accepts NULL; returns NULL.  Not after the callback has run. */
struct dane_lookup *dane_lookup_cancel(struct dane_lookup *lookup);

/* "usable", "none", "temp" */
const char *dane_status_name(enum dane_status status);

/* ---------------------------------------------- the decision, pure */

struct dane_hosts {
	size_t count;
	char names[DANE_MX_HOSTS_MAX][MTASTS_DNS_NAME_MAX + 1];
};

/*
 * The hosts to examine, from the answer to the MX query of domain (lower
 * case, no final dot): true with them in ret_hosts, most preferred first;
 * or false with result decided (DANE_NONE or DANE_TEMP).
 */
bool dane_select_hosts(const char *domain, const struct dns_answer *mx,
		       struct dane_hosts *ret_hosts, struct dane_result *result);

/* The answers about one host; NULL for a query not answered (yet). */
struct dane_host_answers {
	const char *host;
	const struct dns_answer *a, *aaaa, *tlsa;
};

/*
 * One host: DANE_USABLE, DANE_NONE (final whatever the missing answers
 * say) or DANE_TEMP, with why (when not DANE_USABLE).  ret_usable_tlsa
 * (may be NULL) says whether its TLSA answer alone is validated and usable.
 */
enum dane_status dane_judge_host(const struct dane_host_answers *host,
				 bool *ret_usable_tlsa, char *why, size_t why_size);

/* All hosts of the domain, as the DESCRIPTION says: fills result. */
enum dane_status dane_decide(const char *domain, const struct dane_host_answers *hosts,
			     size_t count, struct dane_result *result);

#endif
