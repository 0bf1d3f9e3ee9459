/*
 * policy_cache.h - the cache of discovered policies (RFC 8461 5.1), one
 * interface over its backends: memory (bounded LRU), SQLite (a file
 * several processes share), Redis and PostgreSQL (a server a fleet of
 * daemons shares).
 *
 * SYNOPSIS
 *	struct policy_cache *cache;
 *	struct policy_cache_entry *entry;
 *
 *	rc = policy_cache_memory_new(10000, &cache);
 *	rc = policy_cache_sqlite_open("/var/cache/mtasts.db", 1000, &cache,
 *				      err, sizeof(err));
 *	rc = policy_cache_redis_open(&(struct policy_cache_redis_options){
 *		.url = "redis://localhost/0", .socket_timeout = 5,
 *		.socket_connect_timeout = 5 }, &cache, err, sizeof(err));
 *	rc = policy_cache_postgres_open("postgresql:///mtasts", 5, &cache,
 *					err, sizeof(err));
 *
 *	rc = policy_cache_entry_policy("example.com", id, policy, now, &entry);
 *	rc = policy_cache_put(cache, entry);
 *	entry = policy_cache_entry_free(entry);
 *
 *	rc = policy_cache_get(cache, "example.com", now, &entry);
 *	if (rc == 1 && entry->kind == POLICY_CACHE_POLICY)
 *		rc = policy_cache_entry_parse(entry, &policy, &diags);
 *
 *	if (policy_cache_claim(cache, "example.com", 30000) == 1) {
 *		... discover the policy again, put() it ...
 *		policy_cache_unclaim(cache, "example.com");
 *	}
 *	cache = policy_cache_free(cache);
 *
 * DESCRIPTION
 *	An entry says what the last discovery of a domain found, and until
 *	when that holds: a policy (its TXT id and its canonical text, as
 *	mtasts_policy_serialize() writes it) until fetched_at + max_age; or,
 *	for a short while, that the domain has no policy or that the
 *	discovery failed temporarily (negative entries, without text).  A
 *	backend stores bytes; the reader parses the text again.
 *
 *	An entry is fresh while now < expires_at: at expires_at itself it is
 *	gone for get(), although it stays stored (and counted, and listed by
 *	iterate()) until purge_expired() or a put() replaces it.  Time is
 *	always passed in, never read from the clock here.
 *
 *	Domains are keys compared octet for octet: the caller gives them
 *	lower case, in A-labels, without a final dot.
 *
 *	Every function returns 0 (MTASTS_OK) or a positive answer documented
 *	at its declaration, or a negative status: MTASTS_ERR_ARGUMENT for a
 *	malformed value, MTASTS_ERR_TOO_LARGE for one past its limit (never
 *	truncated), MTASTS_ERR_INVALID for a stored entry that breaks the same
 *	rules when read back, MTASTS_ERR_NOMEM, or POLICY_CACHE_ERR_STORE when
 *	the store itself failed (a disk error, a lock held past the busy
 *	timeout); policy_cache_error() then says why.  Outputs (ret_...) are
 *	untouched on failure.  The library does not log.
 *
 *	A cache is not thread-safe: one thread uses it at a time.  Several
 *	processes may each open the same SQLite file, Redis database or
 *	PostgreSQL database.
 *
 *	Redis and PostgreSQL are reached over the network and may be down:
 *	an operation then fails with POLICY_CACHE_ERR_STORE within the
 *	configured timeouts, and the connection is made again by a later
 *	call, at most once a second; in between, calls fail at once without
 *	trying (a dead server costs one connect timeout a second, not one a
 *	lookup).  Redis forgets an entry by itself soon after it expires
 *	(every key carries a TTL): an expired entry may be gone from count()
 *	and iterate() before purge_expired() removes it, and iterate() lists
 *	Redis's entries in no particular order.
 *
 *	claim() is a short lock on a domain that a fleet of daemons shares,
 *	so that one of them, not all, discovers the domain again: it holds
 *	until unclaim() or ttl_ms, counted by the store's clock, have passed.
 *	A backend that a single process uses (memory, SQLite) has none: every
 *	claim succeeds.
 *
 * LIMITS
 *	Domains of at most POLICY_CACHE_DOMAIN_MAX octets, TXT ids of at most
 *	MTASTS_STS_ID_MAX, policy text of at most MTASTS_POLICY_BODY_MAX (the
 *	limit of the parser), an entry valid for at most MTASTS_MAX_AGE_MAX
 *	seconds.  The memory backend holds at most its capacity of entries.
 *	A claim holds for at most POLICY_CACHE_CLAIM_TTL_MAX milliseconds.
 *	Redis: a URL of at most POLICY_CACHE_URL_MAX octets, a key prefix of
 *	at most POLICY_CACHE_REDIS_PREFIX_MAX; count(), iterate() and
 *	purge_expired() visit at most 2^24 keys.
 */
#ifndef MTASTS_IO_POLICY_CACHE_H
#define MTASTS_IO_POLICY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <mtasts/diag.h>
#include <mtasts/policy.h>
#include <mtasts/txt.h>

#define POLICY_CACHE_DOMAIN_MAX 253		/* octets of a domain */
#define POLICY_CACHE_ERROR_MAX 256		/* policy_cache_error(), with NUL */
#define POLICY_CACHE_MEMORY_CAPACITY_MAX (1u << 24)
#define POLICY_CACHE_CLAIM_TTL_MAX 3600000u	/* ms a claim may hold */

/* The store failed; policy_cache_error() says why. */
#define POLICY_CACHE_ERR_STORE (-32)

enum policy_cache_kind {
	POLICY_CACHE_POLICY,		/* a policy, until fetched_at + max_age */
	POLICY_CACHE_NO_POLICY,		/* the domain has none (negative) */
	POLICY_CACHE_TEMP_FAIL,		/* the discovery failed for now (negative) */
};

struct policy_cache_entry {
	enum policy_cache_kind kind;
	char domain[POLICY_CACHE_DOMAIN_MAX + 1];
	char id[MTASTS_STS_ID_MAX + 1];	/* the TXT id; "" when none is known */
	char *policy_text;		/* NUL-terminated; NULL when negative */
	size_t policy_len;
	time_t fetched_at;		/* the discovery that found this */
	time_t expires_at;		/* gone from get() at this second */
};

struct policy_cache;

/*
 * Called by iterate() with each stored entry, which it only borrows (for
 * the duration of the call).  Returns 0 to go on; anything else stops the
 * iteration, and iterate() returns it.
 */
typedef int policy_cache_visit_fn(void *arg, const struct policy_cache_entry *entry);

/*
 * What a backend implements.  Each function takes the cache it was
 * reached through; none reads the clock.
 */
struct policy_cache_ops {
	const char *name;		/* "memory", "sqlite", "redis", "postgres" */

	/*
	 * The fresh entry of domain at now: returns 1 and a copy the caller
	 * frees with policy_cache_entry_free() in *ret_entry, or 0 when there
	 * is none or it has expired (now >= expires_at).  The memory backend
	 * counts a hit as a use.
	 */
	int (*get)(struct policy_cache *cache, const char *domain, time_t now,
		   struct policy_cache_entry **ret_entry);

	/*
	 * Store a copy of entry, replacing the domain's entry if there is
	 * one.  The entry is checked first (policy_cache_entry_check()); a
	 * rejected entry leaves the cache as it was.  The memory backend
	 * makes room by evicting its least recently used entry.
	 */
	int (*put)(struct policy_cache *cache, const struct policy_cache_entry *entry);

	/* Returns 1 when the domain's entry was removed, 0 when there was none. */
	int (*delete)(struct policy_cache *cache, const char *domain);

	/* Remove every entry expired at now; their number in *ret_count (may be NULL). */
	int (*purge_expired)(struct policy_cache *cache, time_t now, size_t *ret_count);

	/* The number of entries stored, expired ones included. */
	int (*count)(struct policy_cache *cache, size_t *ret_count);

	/*
	 * Call fn with every stored entry, expired ones included (memory: most
	 * recently used first; SQLite, PostgreSQL: by domain; Redis: in no
	 * particular order, maybe one twice).  fn must not use the
	 * cache.  Using it does not count as a use.  A stored entry that
	 * breaks the limits stops the iteration with MTASTS_ERR_INVALID.
	 */
	int (*iterate)(struct policy_cache *cache, policy_cache_visit_fn *fn, void *arg);

	/* Release the cache and everything it holds; the file stays. */
	void (*free)(struct policy_cache *cache);

	/*
	 * Take the fleet's lock on domain for ttl_ms milliseconds (1 to
	 * POLICY_CACHE_CLAIM_TTL_MAX): returns 1 when this cache now holds
	 * it, 0 when a cache holds it already (this one included: a claim
	 * is not counted twice).  NULL: every claim succeeds.
	 */
	int (*claim)(struct policy_cache *cache, const char *domain, unsigned ttl_ms);

	/*
	 * Give back the lock on domain: returns 1 when this cache held it, 0
	 * when it did not (or no longer: its ttl passed).  May be NULL.
	 */
	int (*unclaim)(struct policy_cache *cache, const char *domain);
};

/* What every backend's struct begins with. */
struct policy_cache {
	const struct policy_cache_ops *ops;
	char error[POLICY_CACHE_ERROR_MAX];	/* the last POLICY_CACHE_ERR_STORE */
};

/*
 * An empty in-memory cache of at most capacity entries (1 to
 * POLICY_CACHE_MEMORY_CAPACITY_MAX): get and put in constant time.
 */
int policy_cache_memory_new(size_t capacity, struct policy_cache **ret_cache);

/*
 * The SQLite cache in the file at path, created when missing (its schema
 * made or migrated in a transaction, so processes that open it at once
 * agree).  busy_timeout_ms bounds each wait for another process's lock.
 * A file with a newer schema than this program knows is refused.  On
 * failure a sentence goes to err (err_size octets, NUL-terminated).
 */
int policy_cache_sqlite_open(const char *path, unsigned busy_timeout_ms,
			     struct policy_cache **ret_cache,
			     char *err, size_t err_size);

/* The schema version policy_cache_sqlite_open() makes and accepts. */
#define POLICY_CACHE_SQLITE_SCHEMA 1

struct policy_cache_redis_options {
	/*
	 * redis://[[user]:password@]host[:port][/db] (host a name, an IPv4
	 * address or an IPv6 one in brackets; port 6379, db 0 by default) or
	 * unix://[[user]:password@]/path[?db=N], as redis-py reads them; the
	 * user and password %-encoded.  At most POLICY_CACHE_URL_MAX octets.
	 */
	const char *url;
	double socket_timeout;		/* seconds a command may take; 0: 5 */
	double socket_connect_timeout;	/* seconds a connect may take; 0: 5 */
	const char *key_prefix;		/* NULL: "mtasts:"; at most 64 octets */
};

#define POLICY_CACHE_URL_MAX 4096
#define POLICY_CACHE_REDIS_PREFIX_MAX 64

/*
 * The cache in a Redis database, one key an entry under the prefix.  The
 * server need not be up: the connection is made by the first call that
 * needs it.  On failure (a malformed URL or option) a sentence goes to err.
 */
int policy_cache_redis_open(const struct policy_cache_redis_options *opt,
			    struct policy_cache **ret_cache,
			    char *err, size_t err_size);

/*
 * The cache in a PostgreSQL database, reached with the libpq connection
 * string dsn ("host=... dbname=..." or "postgresql://..."), its table
 * made or migrated at open in a transaction (refused when newer than
 * this program knows).  timeout, in seconds (0: 5), bounds a connect and
 * each statement.  The server must be up at open; later it need not be.
 */
int policy_cache_postgres_open(const char *dsn, double timeout,
			       struct policy_cache **ret_cache,
			       char *err, size_t err_size);

/* The schema version policy_cache_postgres_open() makes and accepts. */
#define POLICY_CACHE_POSTGRES_SCHEMA 1

static inline int policy_cache_get(struct policy_cache *cache, const char *domain,
				   time_t now, struct policy_cache_entry **ret_entry)
{
	return cache->ops->get(cache, domain, now, ret_entry);
}

static inline int policy_cache_put(struct policy_cache *cache,
				   const struct policy_cache_entry *entry)
{
	return cache->ops->put(cache, entry);
}

static inline int policy_cache_delete(struct policy_cache *cache, const char *domain)
{
	return cache->ops->delete(cache, domain);
}

static inline int policy_cache_purge_expired(struct policy_cache *cache, time_t now,
					     size_t *ret_count)
{
	return cache->ops->purge_expired(cache, now, ret_count);
}

static inline int policy_cache_count(struct policy_cache *cache, size_t *ret_count)
{
	return cache->ops->count(cache, ret_count);
}

static inline int policy_cache_iterate(struct policy_cache *cache,
				       policy_cache_visit_fn *fn, void *arg)
{
	return cache->ops->iterate(cache, fn, arg);
}

/* Accepts NULL; returns NULL. */
static inline struct policy_cache *policy_cache_free(struct policy_cache *cache)
{
	if (cache != NULL)
		cache->ops->free(cache);
	return NULL;
}

/* The claim op, or 1 (claimed) for a backend without one. */
static inline int policy_cache_claim(struct policy_cache *cache, const char *domain,
				     unsigned ttl_ms)
{
	if (cache->ops->claim == NULL)
		return 1;
	return cache->ops->claim(cache, domain, ttl_ms);
}

/* The unclaim op, or 0 for a backend without one. */
static inline int policy_cache_unclaim(struct policy_cache *cache, const char *domain)
{
	if (cache->ops->unclaim == NULL)
		return 0;
	return cache->ops->unclaim(cache, domain);
}

/* Why the last POLICY_CACHE_ERR_STORE happened; "" before any. */
static inline const char *policy_cache_error(const struct policy_cache *cache)
{
	return cache->error;
}

/*
 * An entry for a policy found at now: its canonical text, expiring at
 * now + max_age.  id is the TXT record's.  MTASTS_ERR_INVALID for a policy
 * that would not parse back.
 */
int policy_cache_entry_policy(const char *domain, const char *id,
			      const struct mtasts_policy *policy, time_t now,
			      struct policy_cache_entry **ret_entry);

/*
 * A negative entry (kind POLICY_CACHE_NO_POLICY or POLICY_CACHE_TEMP_FAIL)
 * found at now, expiring at now + ttl; id may be NULL or "".
 */
int policy_cache_entry_negative(enum policy_cache_kind kind, const char *domain,
				const char *id, time_t now, unsigned ttl,
				struct policy_cache_entry **ret_entry);

/* A copy of entry, after policy_cache_entry_check(). */
int policy_cache_entry_copy(const struct policy_cache_entry *entry,
			    struct policy_cache_entry **ret_entry);

/*
 * Whether entry keeps the rules every backend holds it to: a domain of 1
 * to POLICY_CACHE_DOMAIN_MAX octets of lower-case letters, digits, '-',
 * '_' and '.'; an id of letters and digits (required for a policy); a
 * policy's text of 1 to MTASTS_POLICY_BODY_MAX octets without NUL, and
 * none for a negative entry; 0 <= fetched_at <= expires_at <=
 * fetched_at + MTASTS_MAX_AGE_MAX.  Returns MTASTS_OK,
 * MTASTS_ERR_TOO_LARGE or MTASTS_ERR_ARGUMENT.
 */
int policy_cache_entry_check(const struct policy_cache_entry *entry);

/*
 * A random name (32 hexadecimal digits, NUL-terminated in size >= 33
 * octets) for a cache handle's claims, so that it releases only its own;
 * -1 when the system has no randomness to give.
 */
int policy_cache_claim_token(char *token, size_t size);

/* The domain rule of policy_cache_entry_check() alone. */
int policy_cache_domain_check(const char *domain);

/* Parse a policy entry's text again (mtasts_policy_parse()). */
int policy_cache_entry_parse(const struct policy_cache_entry *entry,
			     struct mtasts_policy **ret_policy,
			     struct mtasts_diags *diags);

/* Accepts NULL; returns NULL. */
struct policy_cache_entry *policy_cache_entry_free(struct policy_cache_entry *entry);

/* "policy", "no-policy", "temp-fail"; NULL for an out-of-range value. */
const char *policy_cache_kind_name(enum policy_cache_kind kind);

#endif
