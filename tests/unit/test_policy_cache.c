/*
 * test_policy_cache.c - the policy cache: one table of behaviours, run
 * against every backend (memory, SQLite), then what only one backend
 * promises (LRU eviction; a file that survives reopening and is shared by
 * two handles, its schema version, rows it refuses to read back).
 *
 * Each test gets a fresh cache; an SQLite cache lives in a file under a
 * mkdtemp() directory, removed afterwards.  Time is passed in: nothing
 * here sleeps.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "unit.h"

#include <mtasts/policy.h>

#include "policy_cache.h"

#define T0 ((time_t)1700000000)
#define DAY 86400
#define MEMORY_CAPACITY 8

static const char policy_text[] =
	"version: STSv1\r\n"
	"mode: enforce\r\n"
	"mx: mx1.example.com\r\n"
	"mx: *.example.net\r\n"
	"max_age: 86400\r\n"
	"ext1: some value\r\n";

struct behaviour;

struct fixture {
	const struct backend *backend;
	const struct behaviour *behaviour;
	struct policy_cache *cache;
	char dir[64];
	char path[128];
};

struct backend {
	const char *name;
	int (*open)(struct fixture *f, struct policy_cache **ret_cache);
	bool lru;			/* evicts the least recently used */
	bool file;			/* persists in f->path */
};

static int memory_open(struct fixture *f, struct policy_cache **ret_cache)
{
	return policy_cache_memory_new(MEMORY_CAPACITY, ret_cache);
}

static int sqlite_open(struct fixture *f, struct policy_cache **ret_cache)
{
	char err[256];
	int rc = policy_cache_sqlite_open(f->path, 2000, ret_cache, err, sizeof(err));

	if (rc != MTASTS_OK)
		print_error("  sqlite open: %s\n", err);
	return rc;
}

static const struct backend backends[] = {
	{ "memory", memory_open, true, false },
	{ "sqlite", sqlite_open, false, true },
};

/* Helpers */

static struct mtasts_policy *parse(const char *text, size_t len)
{
	struct mtasts_policy *policy = NULL;
	struct mtasts_diags diags;

	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_policy_parse(text, len, &policy, &diags), MTASTS_OK);
	return policy;
}

static void assert_policies_equal(const struct mtasts_policy *a,
				  const struct mtasts_policy *b)
{
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->max_age, b->max_age);
	assert_int_equal(a->mx_count, b->mx_count);
	for (size_t i = 0; i < a->mx_count; i++)
		assert_string_equal(a->mx[i], b->mx[i]);
	assert_int_equal(a->extension_count, b->extension_count);
	for (size_t i = 0; i < a->extension_count; i++) {
		assert_string_equal(a->extensions[i].name, b->extensions[i].name);
		assert_string_equal(a->extensions[i].value, b->extensions[i].value);
	}
}

static void put_policy(struct policy_cache *cache, const char *domain,
		       const char *id, time_t now)
{
	struct mtasts_policy *policy = parse(policy_text, sizeof(policy_text) - 1);
	struct policy_cache_entry *entry = NULL;

	assert_int_equal(policy_cache_entry_policy(domain, id, policy, now, &entry),
			 MTASTS_OK);
	assert_int_equal(policy_cache_put(cache, entry), MTASTS_OK);
	policy_cache_entry_free(entry);
	mtasts_policy_free(policy);
}

static void put_negative(struct policy_cache *cache, enum policy_cache_kind kind,
			 const char *domain, time_t now, unsigned ttl)
{
	struct policy_cache_entry *entry = NULL;

	assert_int_equal(policy_cache_entry_negative(kind, domain, NULL, now, ttl, &entry),
			 MTASTS_OK);
	assert_int_equal(policy_cache_put(cache, entry), MTASTS_OK);
	policy_cache_entry_free(entry);
}

static size_t count(struct policy_cache *cache)
{
	size_t n = 0;

	assert_int_equal(policy_cache_count(cache, &n), MTASTS_OK);
	return n;
}

/* get() at now: 1 and the entry's id, or 0 and no entry. */
static int get_id(struct policy_cache *cache, const char *domain, time_t now,
		  char *id, size_t id_size)
{
	struct policy_cache_entry *entry = NULL;
	int rc = policy_cache_get(cache, domain, now, &entry);

	assert_true(rc == 0 || rc == 1);
	assert_true((rc == 1) == (entry != NULL));
	if (entry != NULL && id != NULL)
		snprintf(id, id_size, "%s", entry->id);
	policy_cache_entry_free(entry);
	return rc;
}

/* What iterate() saw: the domains, in its order, joined by spaces. */
struct seen {
	char domains[512];
	size_t count;
	size_t stop_after;		/* 0: never */
};

static int collect(void *arg, const struct policy_cache_entry *entry)
{
	struct seen *seen = arg;
	size_t used = strlen(seen->domains);

	snprintf(seen->domains + used, sizeof(seen->domains) - used, "%s%s",
		 used > 0 ? " " : "", entry->domain);
	seen->count++;
	return seen->stop_after != 0 && seen->count == seen->stop_after ? 7 : 0;
}

/* Behaviours of every backend */

/* A policy comes back as put, and its text parses to the same policy. */
static void round_trip(struct fixture *f)
{
	struct mtasts_policy *policy = parse(policy_text, sizeof(policy_text) - 1);
	struct mtasts_policy *again = NULL;
	struct policy_cache_entry *put = NULL, *got = NULL;
	struct mtasts_diags diags;

	assert_int_equal(policy_cache_entry_policy("example.com", "20240101T1", policy,
						   T0, &put), MTASTS_OK);
	assert_int_equal(put->expires_at, T0 + DAY);
	assert_int_equal(policy_cache_put(f->cache, put), MTASTS_OK);
	assert_int_equal(policy_cache_get(f->cache, "example.com", T0, &got), 1);
	assert_int_equal(got->kind, POLICY_CACHE_POLICY);
	assert_string_equal(got->domain, "example.com");
	assert_string_equal(got->id, "20240101T1");
	assert_int_equal(got->fetched_at, T0);
	assert_int_equal(got->expires_at, T0 + DAY);
	assert_int_equal(got->policy_len, put->policy_len);
	assert_memory_equal(got->policy_text, put->policy_text, put->policy_len);
	mtasts_diags_init(&diags);
	assert_int_equal(policy_cache_entry_parse(got, &again, &diags), MTASTS_OK);
	assert_policies_equal(policy, again);
	/* other domains miss */
	assert_int_equal(get_id(f->cache, "example.net", T0, NULL, 0), 0);
	assert_int_equal(get_id(f->cache, "sub.example.com", T0, NULL, 0), 0);
	mtasts_policy_free(again);
	policy_cache_entry_free(got);
	policy_cache_entry_free(put);
	mtasts_policy_free(policy);
}

/* Fresh until the second before expires_at; gone at it, but still stored. */
static void expiry_exact(struct fixture *f)
{
	put_policy(f->cache, "example.com", "a1", T0);
	assert_int_equal(get_id(f->cache, "example.com", T0 + DAY - 1, NULL, 0), 1);
	assert_int_equal(get_id(f->cache, "example.com", T0 + DAY, NULL, 0), 0);
	assert_int_equal(get_id(f->cache, "example.com", T0 + DAY + 1, NULL, 0), 0);
	assert_int_equal(count(f->cache), 1);
	/* a fetch that succeeds again starts a new max_age */
	put_policy(f->cache, "example.com", "a2", T0 + DAY);
	assert_int_equal(get_id(f->cache, "example.com", T0 + 2 * DAY - 1, NULL, 0), 1);
}

/* Negative entries: no text, their own short expiry, an optional id. */
static void negative(struct fixture *f)
{
	struct policy_cache_entry *entry = NULL;

	put_negative(f->cache, POLICY_CACHE_NO_POLICY, "none.example", T0, 300);
	assert_int_equal(policy_cache_entry_negative(POLICY_CACHE_TEMP_FAIL,
						     "temp.example", "id9", T0, 60,
						     &entry), MTASTS_OK);
	assert_int_equal(policy_cache_put(f->cache, entry), MTASTS_OK);
	entry = policy_cache_entry_free(entry);

	assert_int_equal(policy_cache_get(f->cache, "none.example", T0 + 299, &entry), 1);
	assert_int_equal(entry->kind, POLICY_CACHE_NO_POLICY);
	assert_null(entry->policy_text);
	assert_int_equal(entry->policy_len, 0);
	assert_string_equal(entry->id, "");
	entry = policy_cache_entry_free(entry);
	assert_int_equal(get_id(f->cache, "none.example", T0 + 300, NULL, 0), 0);

	assert_int_equal(policy_cache_get(f->cache, "temp.example", T0, &entry), 1);
	assert_int_equal(entry->kind, POLICY_CACHE_TEMP_FAIL);
	assert_string_equal(entry->id, "id9");
	assert_int_equal(entry->expires_at, T0 + 60);
	entry = policy_cache_entry_free(entry);
	assert_int_equal(get_id(f->cache, "temp.example", T0 + 60, NULL, 0), 0);

	/* a negative entry has no policy to parse */
	assert_int_equal(policy_cache_get(f->cache, "none.example", T0, &entry), 1);
	struct mtasts_policy *policy = NULL;
	struct mtasts_diags diags;
	mtasts_diags_init(&diags);
	assert_int_equal(policy_cache_entry_parse(entry, &policy, &diags),
			 MTASTS_ERR_ARGUMENT);
	assert_null(policy);
	policy_cache_entry_free(entry);

	/* a policy found later replaces a negative entry */
	put_policy(f->cache, "none.example", "p1", T0 + 10);
	assert_int_equal(policy_cache_get(f->cache, "none.example", T0 + 10, &entry), 1);
	assert_int_equal(entry->kind, POLICY_CACHE_POLICY);
	policy_cache_entry_free(entry);
	assert_int_equal(count(f->cache), 2);
}

/* A put replaces the domain's entry; the count does not grow. */
static void replace(struct fixture *f)
{
	char id[40];

	put_policy(f->cache, "example.com", "old", T0);
	put_policy(f->cache, "example.com", "new", T0 + 5);
	assert_int_equal(count(f->cache), 1);
	assert_int_equal(get_id(f->cache, "example.com", T0 + 5, id, sizeof(id)), 1);
	assert_string_equal(id, "new");
}

static void delete(struct fixture *f)
{
	put_policy(f->cache, "a.example", "1", T0);
	put_policy(f->cache, "b.example", "1", T0);
	assert_int_equal(policy_cache_delete(f->cache, "a.example"), 1);
	assert_int_equal(policy_cache_delete(f->cache, "a.example"), 0);
	assert_int_equal(policy_cache_delete(f->cache, "never.example"), 0);
	assert_int_equal(get_id(f->cache, "a.example", T0, NULL, 0), 0);
	assert_int_equal(get_id(f->cache, "b.example", T0, NULL, 0), 1);
	assert_int_equal(count(f->cache), 1);
}

/* purge_expired() removes what expired at now, at expires_at included. */
static void purge(struct fixture *f)
{
	size_t purged = 99;

	put_negative(f->cache, POLICY_CACHE_TEMP_FAIL, "a.example", T0, 60);
	put_negative(f->cache, POLICY_CACHE_NO_POLICY, "b.example", T0, 300);
	put_policy(f->cache, "c.example", "1", T0);
	assert_int_equal(policy_cache_purge_expired(f->cache, T0 + 59, &purged), MTASTS_OK);
	assert_int_equal(purged, 0);
	assert_int_equal(policy_cache_purge_expired(f->cache, T0 + 300, &purged), MTASTS_OK);
	assert_int_equal(purged, 2);
	assert_int_equal(count(f->cache), 1);
	assert_int_equal(get_id(f->cache, "c.example", T0 + 300, NULL, 0), 1);
	assert_int_equal(policy_cache_purge_expired(f->cache, T0 + 300, NULL), MTASTS_OK);
	assert_int_equal(policy_cache_purge_expired(f->cache, T0 + DAY, &purged), MTASTS_OK);
	assert_int_equal(purged, 1);
	assert_int_equal(count(f->cache), 0);
}

/* iterate() lists every stored entry, expired ones too, and can be stopped. */
static void iterate(struct fixture *f)
{
	struct seen seen = { .domains = "" };
	struct seen first = { .domains = "", .stop_after = 1 };

	assert_int_equal(policy_cache_iterate(f->cache, collect, &seen), MTASTS_OK);
	assert_int_equal(seen.count, 0);
	put_policy(f->cache, "c.example", "1", T0);
	put_negative(f->cache, POLICY_CACHE_NO_POLICY, "a.example", T0, 1);
	put_policy(f->cache, "b.example", "1", T0);
	assert_int_equal(policy_cache_iterate(f->cache, collect, &seen), MTASTS_OK);
	assert_int_equal(seen.count, 3);
	if (f->backend->lru)	/* most recently used first */
		assert_string_equal(seen.domains, "b.example a.example c.example");
	else			/* by domain */
		assert_string_equal(seen.domains, "a.example b.example c.example");
	assert_int_equal(policy_cache_iterate(f->cache, collect, &first), 7);
	assert_int_equal(first.count, 1);
}

/*
 * Bad entries, each a change to a good one, with the status put() gives:
 * rejected whole, never truncated, the cache left as it was.
 */
struct bad_case {
	const char *what;
	void (*spoil)(struct policy_cache_entry *entry);
	int rc;
};

static char big_text[MTASTS_POLICY_BODY_MAX + 2];

static void domain_empty(struct policy_cache_entry *e) { e->domain[0] = '\0'; }
static void domain_upper(struct policy_cache_entry *e) { e->domain[0] = 'E'; }
static void domain_space(struct policy_cache_entry *e) { e->domain[3] = ' '; }
static void domain_long(struct policy_cache_entry *e)
{
	memset(e->domain, 'a', sizeof(e->domain));	/* no NUL: 254 octets */
}
static void id_long(struct policy_cache_entry *e) { memset(e->id, 'a', sizeof(e->id)); }
static void id_dash(struct policy_cache_entry *e) { strcpy(e->id, "a-b"); }
static void id_empty(struct policy_cache_entry *e) { e->id[0] = '\0'; }
static void text_none(struct policy_cache_entry *e) { e->policy_text = NULL; e->policy_len = 0; }
static char nul_text[] = "version: STSv1\r\n\0mode: none\r\n";
static void text_nul(struct policy_cache_entry *e)
{
	e->policy_text = nul_text;
	e->policy_len = sizeof(nul_text) - 1;
}
static void text_big(struct policy_cache_entry *e)
{
	e->policy_text = big_text;
	e->policy_len = MTASTS_POLICY_BODY_MAX + 1;
}
static void negative_text(struct policy_cache_entry *e) { e->kind = POLICY_CACHE_NO_POLICY; }
static void kind_bad(struct policy_cache_entry *e) { e->kind = (enum policy_cache_kind)7; }
static void expires_early(struct policy_cache_entry *e) { e->expires_at = e->fetched_at - 1; }
static void fetched_negative(struct policy_cache_entry *e)
{
	e->fetched_at = -5;
	e->expires_at = 10;
}
static void age_long(struct policy_cache_entry *e)
{
	e->expires_at = e->fetched_at + MTASTS_MAX_AGE_MAX + 1;
}

static const struct bad_case bad_cases[] = {
	{ "empty domain", domain_empty, MTASTS_ERR_ARGUMENT },
	{ "upper-case domain", domain_upper, MTASTS_ERR_ARGUMENT },
	{ "space in domain", domain_space, MTASTS_ERR_ARGUMENT },
	{ "domain of 254 octets", domain_long, MTASTS_ERR_TOO_LARGE },
	{ "id of 33 octets", id_long, MTASTS_ERR_TOO_LARGE },
	{ "id with a dash", id_dash, MTASTS_ERR_ARGUMENT },
	{ "policy without id", id_empty, MTASTS_ERR_ARGUMENT },
	{ "policy without text", text_none, MTASTS_ERR_ARGUMENT },
	{ "NUL in the text", text_nul, MTASTS_ERR_ARGUMENT },
	{ "text of 65537 octets", text_big, MTASTS_ERR_TOO_LARGE },
	{ "negative entry with text", negative_text, MTASTS_ERR_ARGUMENT },
	{ "unknown kind", kind_bad, MTASTS_ERR_ARGUMENT },
	{ "expires before fetched", expires_early, MTASTS_ERR_ARGUMENT },
	{ "fetched before 1970", fetched_negative, MTASTS_ERR_ARGUMENT },
	{ "valid past the longest max_age", age_long, MTASTS_ERR_TOO_LARGE },
};

static void rejected(struct fixture *f)
{
	char long_domain[POLICY_CACHE_DOMAIN_MAX + 2];
	char id[40];

	put_policy(f->cache, "example.com", "kept", T0);
	for (size_t i = 0; i < ARRAY_LEN(bad_cases); i++) {
		struct mtasts_policy *policy = parse(policy_text, sizeof(policy_text) - 1);
		struct policy_cache_entry *entry = NULL;
		char *text;

		assert_int_equal(policy_cache_entry_policy("example.com", "bad", policy,
							   T0 + 1, &entry), MTASTS_OK);
		text = entry->policy_text;
		bad_cases[i].spoil(entry);
		int rc = policy_cache_put(f->cache, entry);
		if (rc != bad_cases[i].rc)
			print_error("  %s: %s gave %d\n", f->backend->name,
				    bad_cases[i].what, rc);
		assert_int_equal(rc, bad_cases[i].rc);
		entry->policy_text = text;
		policy_cache_entry_free(entry);
		mtasts_policy_free(policy);
		assert_int_equal(count(f->cache), 1);
		assert_int_equal(get_id(f->cache, "example.com", T0, id, sizeof(id)), 1);
		assert_string_equal(id, "kept");
	}
	/* keys that are not domains, for get and delete too */
	memset(long_domain, 'a', sizeof(long_domain) - 1);
	long_domain[sizeof(long_domain) - 1] = '\0';
	struct policy_cache_entry *entry = NULL;
	assert_int_equal(policy_cache_get(f->cache, long_domain, T0, &entry),
			 MTASTS_ERR_TOO_LARGE);
	assert_int_equal(policy_cache_get(f->cache, "Example.com", T0, &entry),
			 MTASTS_ERR_ARGUMENT);
	assert_int_equal(policy_cache_get(f->cache, "", T0, &entry), MTASTS_ERR_ARGUMENT);
	assert_null(entry);
	assert_int_equal(policy_cache_delete(f->cache, long_domain), MTASTS_ERR_TOO_LARGE);
	assert_int_equal(policy_cache_delete(f->cache, "a b"), MTASTS_ERR_ARGUMENT);
	assert_int_equal(count(f->cache), 1);
	/* and the constructors refuse what put() would */
	struct mtasts_policy *policy = parse(policy_text, sizeof(policy_text) - 1);
	assert_int_equal(policy_cache_entry_policy("example.com",
						   "012345678901234567890123456789012",
						   policy, T0, &entry), MTASTS_ERR_TOO_LARGE);
	assert_int_equal(policy_cache_entry_policy("example.com", "a", policy,
						   (time_t)INT64_MAX, &entry),
			 MTASTS_ERR_ARGUMENT);
	assert_int_equal(policy_cache_entry_policy("example.com", "", policy, T0, &entry),
			 MTASTS_ERR_ARGUMENT);
	assert_int_equal(policy_cache_entry_negative(POLICY_CACHE_NO_POLICY, "example.com",
						     NULL, T0, MTASTS_MAX_AGE_MAX + 1,
						     &entry), MTASTS_ERR_TOO_LARGE);
	assert_int_equal(policy_cache_entry_negative(POLICY_CACHE_POLICY, "example.com",
						     NULL, T0, 60, &entry),
			 MTASTS_ERR_ARGUMENT);
	assert_null(entry);
	mtasts_policy_free(policy);
}

/* The limits are inclusive: 253, 32 and 65536 octets are kept whole. */
static void at_the_limits(struct fixture *f)
{
	struct policy_cache_entry entry = { .kind = POLICY_CACHE_POLICY };
	struct policy_cache_entry *got = NULL;

	memset(entry.domain, 'd', POLICY_CACHE_DOMAIN_MAX);
	memset(entry.id, 'I', MTASTS_STS_ID_MAX);
	memset(big_text, 'x', MTASTS_POLICY_BODY_MAX);
	big_text[MTASTS_POLICY_BODY_MAX] = '\0';
	entry.policy_text = big_text;
	entry.policy_len = MTASTS_POLICY_BODY_MAX;
	entry.fetched_at = T0;
	entry.expires_at = T0 + MTASTS_MAX_AGE_MAX;
	assert_int_equal(policy_cache_put(f->cache, &entry), MTASTS_OK);
	assert_int_equal(policy_cache_get(f->cache, entry.domain, T0, &got), 1);
	assert_string_equal(got->domain, entry.domain);
	assert_string_equal(got->id, entry.id);
	assert_int_equal(got->policy_len, MTASTS_POLICY_BODY_MAX);
	assert_memory_equal(got->policy_text, big_text, MTASTS_POLICY_BODY_MAX);
	assert_int_equal(got->policy_text[MTASTS_POLICY_BODY_MAX], '\0');
	assert_int_equal(got->expires_at, T0 + MTASTS_MAX_AGE_MAX);
	policy_cache_entry_free(got);
}

/* Behaviours of one backend */

/* Memory: the least recently used goes first; a get or a put is a use. */
static void lru_eviction(struct fixture *f)
{
	struct policy_cache *lru = NULL;
	struct seen seen = { .domains = "" };

	assert_int_equal(policy_cache_memory_new(0, &lru), MTASTS_ERR_ARGUMENT);
	assert_int_equal(policy_cache_memory_new(3, &lru), MTASTS_OK);
	put_policy(lru, "a.example", "1", T0);
	put_policy(lru, "b.example", "1", T0);
	put_policy(lru, "c.example", "1", T0);
	assert_int_equal(get_id(lru, "a.example", T0, NULL, 0), 1);	/* order: a c b */
	put_policy(lru, "d.example", "1", T0);				/* b goes */
	assert_int_equal(count(lru), 3);
	assert_int_equal(get_id(lru, "b.example", T0, NULL, 0), 0);
	put_policy(lru, "c.example", "2", T0);				/* order: c d a */
	put_policy(lru, "e.example", "1", T0);				/* a goes */
	assert_int_equal(get_id(lru, "a.example", T0, NULL, 0), 0);
	assert_int_equal(policy_cache_iterate(lru, collect, &seen), MTASTS_OK);
	assert_string_equal(seen.domains, "e.example c.example d.example");
	/* an expired entry is not a use, and goes first all the same */
	assert_int_equal(get_id(lru, "d.example", T0 + DAY, NULL, 0), 0);
	put_policy(lru, "f.example", "1", T0);
	assert_int_equal(get_id(lru, "d.example", T0, NULL, 0), 0);
	assert_int_equal(get_id(lru, "e.example", T0, NULL, 0), 1);
	policy_cache_free(lru);
}

/* Memory: many entries through a small table, every one found. */
static void lru_many(struct fixture *f)
{
	struct policy_cache *lru = NULL;
	char domain[32];

	assert_int_equal(policy_cache_memory_new(100, &lru), MTASTS_OK);
	for (int i = 0; i < 1000; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		put_negative(lru, POLICY_CACHE_NO_POLICY, domain, T0, 60);
	}
	assert_int_equal(count(lru), 100);
	for (int i = 0; i < 1000; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		assert_int_equal(get_id(lru, domain, T0, NULL, 0), i >= 900);
	}
	for (int i = 900; i < 950; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		assert_int_equal(policy_cache_delete(lru, domain), 1);
	}
	assert_int_equal(count(lru), 50);
	policy_cache_free(lru);
}

/* SQLite: what was put is there after closing and opening the file again. */
static void reopen(struct fixture *f)
{
	char id[40];

	put_policy(f->cache, "example.com", "persist", T0);
	put_negative(f->cache, POLICY_CACHE_NO_POLICY, "none.example", T0, 300);
	f->cache = policy_cache_free(f->cache);
	assert_int_equal(sqlite_open(f, &f->cache), MTASTS_OK);
	assert_int_equal(count(f->cache), 2);
	assert_int_equal(get_id(f->cache, "example.com", T0, id, sizeof(id)), 1);
	assert_string_equal(id, "persist");
	assert_int_equal(get_id(f->cache, "none.example", T0, NULL, 0), 1);
}

/* SQLite: two handles on one file (as two processes) see each other's writes. */
static void two_handles(struct fixture *f)
{
	struct policy_cache *other = NULL;
	char id[40];

	assert_int_equal(sqlite_open(f, &other), MTASTS_OK);
	put_policy(f->cache, "example.com", "one", T0);
	assert_int_equal(get_id(other, "example.com", T0, id, sizeof(id)), 1);
	assert_string_equal(id, "one");
	put_policy(other, "example.com", "two", T0 + 1);
	assert_int_equal(get_id(f->cache, "example.com", T0 + 1, id, sizeof(id)), 1);
	assert_string_equal(id, "two");
	put_policy(other, "example.net", "x", T0);
	assert_int_equal(count(f->cache), 2);
	assert_int_equal(policy_cache_delete(f->cache, "example.net"), 1);
	assert_int_equal(count(other), 1);
	/* one handle reads while the other writes */
	struct seen seen = { .domains = "" };
	assert_int_equal(policy_cache_iterate(other, collect, &seen), MTASTS_OK);
	put_policy(f->cache, "example.org", "y", T0);
	assert_int_equal(count(other), 2);
	policy_cache_free(other);
}

/* Remove the fixture's database files and those SQLite keeps beside them. */
static void remove_files(struct fixture *f)
{
	static const char *const names[] = { "cache.db", "race.db" };
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char path[160];

	for (size_t n = 0; n < ARRAY_LEN(names); n++) {
		for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
			snprintf(path, sizeof(path), "%s/%s%s", f->dir, names[n],
				 suffixes[i]);
			unlink(path);
		}
	}
}

/* Open path and put n negative entries named prefix<i>; 0 when all went in. */
static int writer(const char *path, const char *prefix, int n)
{
	struct policy_cache *cache = NULL;
	char err[256], domain[32];
	int failed = 0;

	if (policy_cache_sqlite_open(path, 10000, &cache, err, sizeof(err)) != MTASTS_OK) {
		print_error("  %s: %s\n", prefix, err);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct policy_cache_entry *entry = NULL;

		snprintf(domain, sizeof(domain), "%s%d.example", prefix, i);
		if (policy_cache_entry_negative(POLICY_CACHE_TEMP_FAIL, domain, NULL,
						T0, 60, &entry) != MTASTS_OK ||
		    policy_cache_put(cache, entry) != MTASTS_OK) {
			print_error("  %s: %s\n", prefix, policy_cache_error(cache));
			failed = 1;
		}
		policy_cache_entry_free(entry);
	}
	policy_cache_free(cache);
	return failed;
}

/*
 * SQLite: two processes create the same new file at once and write to it
 * together; the busy timeout makes each wait its turn, nothing is lost.
 */
static void two_processes(struct fixture *f)
{
	struct policy_cache *cache = NULL;
	char path[160];
	int status = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/race.db", f->dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(writer(path, "child", 200));
	int failed = writer(path, "parent", 200);
	pid_t waited;
	while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (waited != pid)
		fail_msg("waitpid: %s", strerror(errno));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(failed, 0);
	char err[256];
	assert_int_equal(policy_cache_sqlite_open(path, 1000, &cache, err, sizeof(err)),
			 MTASTS_OK);
	assert_int_equal(count(cache), 400);
	assert_int_equal(get_id(cache, "child199.example", T0, NULL, 0), 1);
	assert_int_equal(get_id(cache, "parent0.example", T0, NULL, 0), 1);
	policy_cache_free(cache);
}

/* Open the fixture's file directly, for what the interface does not show. */
static sqlite3 *raw_open(struct fixture *f)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static sqlite3_int64 raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	sqlite3_int64 value;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return value;
}

/* SQLite: the file is in WAL mode, at schema 1; a newer schema is refused. */
static void schema(struct fixture *f)
{
	struct policy_cache *cache = NULL;
	char err[256] = "";
	sqlite3 *db = raw_open(f);
	sqlite3_stmt *stmt = NULL;

	assert_int_equal(raw_int(db, "PRAGMA user_version"), POLICY_CACHE_SQLITE_SCHEMA);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
	sqlite3_finalize(stmt);
	f->cache = policy_cache_free(f->cache);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(policy_cache_sqlite_open(f->path, 100, &cache, err, sizeof(err)),
			 POLICY_CACHE_ERR_STORE);
	assert_null(cache);
	assert_non_null(strstr(err, "schema version 2"));
	/* a file that is not a database */
	remove_files(f);
	err[0] = '\0';
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 64; i++)
		fputs("garbage garbage garbage garbage garbage garbage garbage garbage\n", fp);
	fclose(fp);
	assert_int_equal(policy_cache_sqlite_open(f->path, 100, &cache, err, sizeof(err)),
			 POLICY_CACHE_ERR_STORE);
	assert_null(cache);
	assert_true(err[0] != '\0');
	/* a directory that does not exist */
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/missing/cache.db", f->dir);
	err[0] = '\0';
	assert_int_equal(policy_cache_sqlite_open(missing, 100, &cache, err, sizeof(err)),
			 POLICY_CACHE_ERR_STORE);
	assert_null(cache);
	assert_non_null(strstr(err, "missing"));
}

/*
 * SQLite: rows that another writer left out of bounds are refused when
 * read back (MTASTS_ERR_INVALID), never cut to fit.
 */
static void bad_rows(struct fixture *f)
{
	static const char *const rows[] = {
		"INSERT INTO policy VALUES ('big.example', 'policy', 'a',"
		" zeroblob(65537), 1, 2)",
		"INSERT INTO policy VALUES ('id.example', 'policy',"
		" '0123456789012345678901234567890123456789', x'41', 1, 2)",
		"INSERT INTO policy VALUES ('kind.example', 'maybe', '', NULL, 1, 2)",
		"INSERT INTO policy VALUES ('Upper.example', 'no-policy', '', NULL, 1, 2)",
		"INSERT INTO policy VALUES ('time.example', 'no-policy', '', NULL, 'x', 2)",
		"INSERT INTO policy VALUES ('text.example', 'no-policy', '', x'41', 1, 2)",
		"INSERT INTO policy VALUES ('nul.example', 'policy', 'a', x'410042', 1, 2)",
	};
	static const char *const domains[] = {
		"big.example", "id.example", "kind.example", "upper.example",
		"time.example", "text.example", "nul.example",
	};
	sqlite3 *db = raw_open(f);
	struct seen seen = { .domains = "" };

	assert_int_equal(sqlite3_exec(db, "PRAGMA ignore_check_constraints = 1",
				      NULL, NULL, NULL), SQLITE_OK);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct policy_cache_entry *entry = NULL;
		char *msg = NULL;

		assert_int_equal(sqlite3_exec(db, "DELETE FROM policy", NULL, NULL, NULL),
				 SQLITE_OK);
		if (sqlite3_exec(db, rows[i], NULL, NULL, &msg) != SQLITE_OK)
			fail_msg("%s: %s", rows[i], msg);
		int want = strcmp(domains[i], "upper.example") == 0 ? 0 : MTASTS_ERR_INVALID;
		if (want == 0)	/* a key that is not lower case is never asked for */
			assert_int_equal(policy_cache_get(f->cache, "upper.example", 1, &entry), 0);
		else
			assert_int_equal(policy_cache_get(f->cache, domains[i], 1, &entry), want);
		assert_null(entry);
		assert_int_equal(policy_cache_iterate(f->cache, collect, &seen),
				 MTASTS_ERR_INVALID);
		assert_int_equal(seen.count, 0);
	}
	sqlite3_close(db);
}

/* The table */

struct behaviour {
	const char *name;
	void (*run)(struct fixture *f);
	const char *only;		/* the one backend it is for, or NULL */
};

static const struct behaviour behaviours[] = {
	{ "round_trip", round_trip, NULL },
	{ "expiry_exact", expiry_exact, NULL },
	{ "negative", negative, NULL },
	{ "replace", replace, NULL },
	{ "delete", delete, NULL },
	{ "purge", purge, NULL },
	{ "iterate", iterate, NULL },
	{ "rejected", rejected, NULL },
	{ "at_the_limits", at_the_limits, NULL },
	{ "lru_eviction", lru_eviction, "memory" },
	{ "lru_many", lru_many, "memory" },
	{ "reopen", reopen, "sqlite" },
	{ "two_handles", two_handles, "sqlite" },
	{ "two_processes", two_processes, "sqlite" },
	{ "schema", schema, "sqlite" },
	{ "bad_rows", bad_rows, "sqlite" },
};

struct pairing {
	const struct backend *backend;
	const struct behaviour *behaviour;
};

static int setup(void **state)
{
	const struct pairing *p = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	f->backend = p->backend;
	f->behaviour = p->behaviour;
	if (f->backend->file) {
		snprintf(f->dir, sizeof(f->dir), "%s/policy_cache.XXXXXX",
			 tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->path, sizeof(f->path), "%s/cache.db", f->dir);
	}
	assert_int_equal(f->backend->open(f, &f->cache), MTASTS_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	policy_cache_free(f->cache);
	if (f->dir[0] != '\0') {
		remove_files(f);
		assert_int_equal(rmdir(f->dir), 0);
	}
	free(f);
	return 0;
}

static void run(void **state)
{
	struct fixture *f = *state;

	f->behaviour->run(f);
}

int main(void)
{
	enum { MAX = ARRAY_LEN(backends) * ARRAY_LEN(behaviours) };
	static struct pairing pairings[MAX];
	static struct CMUnitTest tests[MAX];
	static char names[MAX][64];
	size_t n = 0;

	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		for (size_t i = 0; i < ARRAY_LEN(behaviours); i++) {
			const struct behaviour *h = &behaviours[i];

			if (h->only != NULL && strcmp(h->only, backends[b].name) != 0)
				continue;
			pairings[n] = (struct pairing){ &backends[b], h };
			snprintf(names[n], sizeof(names[n]), "%s: %s", backends[b].name, h->name);
			tests[n] = (struct CMUnitTest){
				.name = names[n],
				.test_func = run,
				.setup_func = setup,
				.teardown_func = teardown,
				.initial_state = &pairings[n],
			};
			n++;
		}
	}
	return _cmocka_run_group_tests("policy_cache", tests, n, NULL, NULL);
}
