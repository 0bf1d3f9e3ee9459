/*
 * domain_registry.h - the domains whose policies `mtasts serve` hosts, and
 * the state of their certificates: one registry, on SQLite (one server)
 * or PostgreSQL (several servers behind a load balancer), written by
 * `mtasts domains` and read by `mtasts serve`.
 *
 * DESCRIPTION
 *	A hosted domain is its name, the mode, mx patterns and max_age of
 *	its policy, an optional TLSRPT rua, and when it was added, changed
 *	and removed.  Removal is two steps (RFC 8461 8.3): `remove` marks the
 *	domain, which is then served with mode none (hosted_policy.h) until
 *	every policy served before may have expired from the senders' caches;
 *	purge drops the domains past that.  A policy replaced by update (a
 *	year's max_age lowered to a day) may be cached for its own max_age,
 *	so the registry keeps, per domain, the time until which the policies
 *	served so far may be cached, moved on by add, update and remove; the
 *	removal lasts until then, and at least one max_age of the policy the
 *	domain had when it was removed.
 *
 *	Times are Unix seconds from 1 to HOSTED_TIME_MAX: a later time is
 *	refused when written and a corrupt row when read, so that no sum of
 *	a time and an age overflows in the store.
 *
 *	The generation is a number that changes whenever any client
 *	commits a change to the registry, so that a server notices changes
 *	made by `mtasts domains` (or another server) by polling it cheaply.
 *
 *	A row that cannot be read back (edited by hand, a bad pattern, an
 *	unknown mode) is not fatal: domain_registry_each() hands it over as
 *	an error naming the domain, and goes on with the others.
 *
 * RETURN VALUES
 *	0 on success, else one of the negative REGISTRY_* codes below, with
 *	a sentence in why.
 */
#ifndef MTASTS_DOMAIN_REGISTRY_H
#define MTASTS_DOMAIN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mtasts/policy.h>

#define REGISTRY_NOT_FOUND (-2)		/* no such domain */
#define REGISTRY_EXISTS (-3)		/* add: already hosted (or being removed) */
#define REGISTRY_INVALID (-4)		/* a value that cannot be stored */
#define REGISTRY_UNAVAILABLE (-5)	/* the store failed; try again */

#define HOSTED_NAME_MAX 253		/* octets of a host name, no final dot */
/*
 * Octets of a hosted domain's name: _mta-sts.<domain> (RFC 8461 3.1) must
 * be a name too, and "_mta-sts." takes 9 of its 253 octets.
 */
#define HOSTED_DOMAIN_MAX (HOSTED_NAME_MAX - 9)
#define HOSTED_MX_MAX 64		/* mx patterns of one hosted policy */
#define HOSTED_RUA_MAX 2048		/* octets of a TLSRPT rua value */
#define HOSTED_ERROR_MAX 256		/* octets of a certificate's last error, with its NUL */
#define HOSTED_TIME_MAX INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */

struct hosted_domain {
	char name[HOSTED_NAME_MAX + 1];	/* lower case A-label, no final dot, at most
					   HOSTED_DOMAIN_MAX octets */
	enum mtasts_mode mode;		/* testing or enforce (none only while removed) */
	char **mx;			/* patterns as written, in order */
	size_t mx_count;
	uint32_t max_age;		/* seconds */
	char *tlsrpt_rua;		/* NULL: the server's tlsrpt_rua setting */
	int64_t created, updated;	/* Unix seconds */
	int64_t removed_at;		/* 0: hosted; else when removal was asked */
	/*
	 * Seconds from removed_at until the domain may be dropped: the
	 * greater of its max_age then and the time until which policies
	 * served before (a longer max_age replaced by update) may be
	 * cached.  0 while hosted.
	 */
	uint32_t removed_max_age;
};

/* Free what a hosted_domain holds (not the struct); it may be zeroed. */
void hosted_domain_release(struct hosted_domain *domain);

/*
 * The state of the certificate of one hosted name (mta-sts.<domain>),
 * kept by the certificate manager of `mtasts serve` and shown by
 * `mtasts domains list`.
 */
struct hosted_cert_status {
	char name[HOSTED_NAME_MAX + 1];	/* the host name, mta-sts.<domain> (fits:
					   HOSTED_DOMAIN_MAX + 8 octets) */
	int64_t not_before, not_after;	/* of the certificate in use; 0: none */
	int64_t issued_at;		/* last success */
	int64_t last_attempt;		/* last order begun */
	int64_t next_attempt;		/* not before (backoff, rate limits); 0: any time */
	unsigned failures;		/* in a row since the last success */
	/*
	 * "" after a success.  Stored as printable ASCII: cert_put writes
	 * any other octet as \xHH and cuts what does not fit (never inside
	 * an escape); cert_get refuses a row holding anything else.
	 */
	char last_error[HOSTED_ERROR_MAX];
};

struct domain_registry;

/*
 * Open (and create or migrate) the registry at location: a file path
 * (SQLite; the file is made with mode 0600) or a postgresql:// URL.
 */
int domain_registry_open(const char *location, struct domain_registry **ret_registry,
			 char *why, size_t why_size);
void domain_registry_close(struct domain_registry *registry);

/*
 * Whether rua may be a hosted domain's tlsrpt_rua (or a server's setting):
 * 1 to HOSTED_RUA_MAX printable octets that make "v=TLSRPTv1; rua=<rua>"
 * a TLSRPT record by the core's parser, as one rua tag.  When not, why is
 * a reason that follows the value: "does not make a TLSRPT record: ...".
 */
bool domain_registry_rua_check(const char *rua, char *why, size_t why_size);

/*
 * Add a domain (created and updated set to now).  REGISTRY_EXISTS when the
 * name is there already, hosted or being removed.  The values are checked
 * here, the last line of defence: name (at most HOSTED_DOMAIN_MAX octets),
 * patterns (the core's checks), max_age (1 .. MTASTS_MAX_AGE_MAX), mode
 * testing or enforce, tlsrpt_rua (the value of a TLSRPT record's rua=,
 * checked as "v=TLSRPTv1; rua=<value>" by the core's parser, so that the
 * record `mtasts domains dns` prints is one), now (1 .. HOSTED_TIME_MAX).
 */
int domain_registry_add(struct domain_registry *registry, const struct hosted_domain *domain,
			int64_t now, char *why, size_t why_size);

/*
 * Replace the mode, mx, max_age and tlsrpt_rua of a hosted domain
 * (updated set to now), remembering that the policy replaced may be
 * cached for its max_age from now.  REGISTRY_NOT_FOUND when it is not
 * hosted or is being removed.
 */
int domain_registry_update(struct domain_registry *registry, const struct hosted_domain *domain,
			   int64_t now, char *why, size_t why_size);

/* One domain, hosted or being removed, into *ret_domain (release it). */
int domain_registry_get(struct domain_registry *registry, const char *name,
			struct hosted_domain *ret_domain, char *why, size_t why_size);

/*
 * Begin removal: removed_at = now (1 .. HOSTED_TIME_MAX), removed_max_age
 * as described at struct hosted_domain.  REGISTRY_NOT_FOUND when it is
 * not hosted (or already being removed).
 */
int domain_registry_remove(struct domain_registry *registry, const char *name, int64_t now,
			   char *why, size_t why_size);

/*
 * Drop the domains whose removal is over (removed_at + removed_max_age
 * <= now, now 1 .. HOSTED_TIME_MAX), with their certificate status;
 * *ret_count says how many.  A row whose removal columns are corrupt is
 * never dropped: each() reports it.
 */
int domain_registry_purge(struct domain_registry *registry, int64_t now, size_t *ret_count,
			  char *why, size_t why_size);

/*
 * Call fn for every domain in name order: with the domain, or for a row
 * that cannot be read, with domain NULL, the row's name and a sentence.
 * fn returns 0 to go on, else the walk stops and that value is returned.
 * The name of a row that cannot be read is as stored, any bytes (a row
 * edited by hand): escape it before printing it (src/output.c).
 */
typedef int domain_registry_each_fn(void *arg, const struct hosted_domain *domain,
				    const char *name, const char *error);
int domain_registry_each(struct domain_registry *registry, domain_registry_each_fn *fn,
			 void *arg, char *why, size_t why_size);

/*
 * A number that changes with every change committed by any client.
 * Every write moves it on in its own transaction, or fails (rolled back,
 * REGISTRY_UNAVAILABLE) when the registry has lost the row that holds
 * it; reading it then fails too (REGISTRY_INVALID).
 */
int domain_registry_generation(struct domain_registry *registry, uint64_t *ret_generation,
			       char *why, size_t why_size);

/*
 * Write (insert or replace) the status of one certificate (last_error as
 * above).  announce moves the generation on, so that every server reads
 * the registry and its certificate files again: only for a new
 * certificate; a failure's status is written without it, since waking
 * every server for it would start the next attempt at once.
 */
int domain_registry_cert_put(struct domain_registry *registry,
			     const struct hosted_cert_status *status, bool announce, char *why,
			     size_t why_size);

/* The status of the certificate of name; REGISTRY_NOT_FOUND when none was kept. */
int domain_registry_cert_get(struct domain_registry *registry, const char *name,
			     struct hosted_cert_status *ret_status, char *why, size_t why_size);

#endif
