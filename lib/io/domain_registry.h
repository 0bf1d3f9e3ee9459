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
 *	domain, which is then served with mode none (hosted_policy.h) for
 *	one max_age of the policy it had; purge drops the domains past that.
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

#define HOSTED_NAME_MAX 253		/* octets of a domain name, no final dot */
#define HOSTED_MX_MAX 64		/* mx patterns of one hosted policy */
#define HOSTED_RUA_MAX 2048		/* octets of a TLSRPT rua value */
#define HOSTED_ERROR_MAX 256		/* octets of a certificate's last error */

struct hosted_domain {
	char name[HOSTED_NAME_MAX + 1];	/* lower case A-label, no final dot */
	enum mtasts_mode mode;		/* testing or enforce (none only while removed) */
	char **mx;			/* patterns as written, in order */
	size_t mx_count;
	uint32_t max_age;		/* seconds */
	char *tlsrpt_rua;		/* NULL: the server's tlsrpt_rua setting */
	int64_t created, updated;	/* Unix seconds */
	int64_t removed_at;		/* 0: hosted; else when removal was asked */
	uint32_t removed_max_age;	/* the max_age served before removal */
};

/* Free what a hosted_domain holds (not the struct); it may be zeroed. */
void hosted_domain_release(struct hosted_domain *domain);

/*
 * The state of the certificate of one hosted name (mta-sts.<domain>),
 * kept by the certificate manager of `mtasts serve` and shown by
 * `mtasts domains list`.
 */
struct hosted_cert_status {
	char name[HOSTED_NAME_MAX + 1];	/* the host name, mta-sts.<domain> */
	int64_t not_before, not_after;	/* of the certificate in use; 0: none */
	int64_t issued_at;		/* last success */
	int64_t last_attempt;		/* last order begun */
	int64_t next_attempt;		/* not before (backoff, rate limits); 0: any time */
	unsigned failures;		/* in a row since the last success */
	char last_error[HOSTED_ERROR_MAX];	/* "" after a success */
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
 * Add a domain (created and updated set to now).  REGISTRY_EXISTS when the
 * name is there already, hosted or being removed.  The values are checked
 * here, the last line of defence: name, patterns (the core's checks),
 * max_age (1 .. MTASTS_MAX_AGE_MAX), mode testing or enforce.
 */
int domain_registry_add(struct domain_registry *registry, const struct hosted_domain *domain,
			int64_t now, char *why, size_t why_size);

/*
 * Replace the mode, mx, max_age and tlsrpt_rua of a hosted domain
 * (updated set to now).  REGISTRY_NOT_FOUND when it is not hosted or is
 * being removed.
 */
int domain_registry_update(struct domain_registry *registry, const struct hosted_domain *domain,
			   int64_t now, char *why, size_t why_size);

/* One domain, hosted or being removed, into *ret_domain (release it). */
int domain_registry_get(struct domain_registry *registry, const char *name,
			struct hosted_domain *ret_domain, char *why, size_t why_size);

/*
 * Begin removal: removed_at = now, removed_max_age = its max_age.
 * REGISTRY_NOT_FOUND when it is not hosted (or already being removed).
 */
int domain_registry_remove(struct domain_registry *registry, const char *name, int64_t now,
			   char *why, size_t why_size);

/*
 * Drop the domains whose removal is over (removed_at + removed_max_age
 * <= now), with their certificate status; *ret_count says how many.
 */
int domain_registry_purge(struct domain_registry *registry, int64_t now, size_t *ret_count,
			  char *why, size_t why_size);

/*
 * Call fn for every domain in name order: with the domain, or for a row
 * that cannot be read, with domain NULL, the row's name and a sentence.
 * fn returns 0 to go on, else the walk stops and that value is returned.
 */
typedef int domain_registry_each_fn(void *arg, const struct hosted_domain *domain,
				    const char *name, const char *error);
int domain_registry_each(struct domain_registry *registry, domain_registry_each_fn *fn,
			 void *arg, char *why, size_t why_size);

/* A number that changes with every change committed by any client. */
int domain_registry_generation(struct domain_registry *registry, uint64_t *ret_generation,
			       char *why, size_t why_size);

/* Write (insert or replace) the status of one certificate. */
int domain_registry_cert_put(struct domain_registry *registry,
			     const struct hosted_cert_status *status, char *why, size_t why_size);

/* The status of the certificate of name; REGISTRY_NOT_FOUND when none was kept. */
int domain_registry_cert_get(struct domain_registry *registry, const char *name,
			     struct hosted_cert_status *ret_status, char *why, size_t why_size);

#endif
