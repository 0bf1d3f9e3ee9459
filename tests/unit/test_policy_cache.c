/*
 * test_policy_cache.c - the policy cache: one table of behaviours, run
 * against every backend (memory, SQLite, and Redis and PostgreSQL when a
 * server is given), then what only some backends promise (LRU eviction; a
 * store that survives reopening and is shared by two handles, its schema
 * version, values it refuses to read back; the fleet's claims; a server
 * that goes away and comes back).
 *
 * Each test gets a fresh cache; an SQLite cache lives in a file under a
 * mkdtemp() directory, removed afterwards.  The server backends run when
 * tests/e2e/test-cache-stores starts the servers and says where they are:
 *
 *	MTASTS_TEST_REDIS_SOCKET	the socket of a redis-server
 *	MTASTS_TEST_REDIS_PORT		its TCP port on 127.0.0.1
 *	MTASTS_TEST_REDIS_STOP, _START	shell commands that stop and start it
 *	MTASTS_TEST_REDIS_PAUSE, _RESUME	... that stop it answering, and resume it
 *	MTASTS_TEST_POSTGRES_DSN	a database the test may drop tables in
 *	MTASTS_TEST_POSTGRES_STOP, _START
 *
 * Each such test empties the store first.  Time is passed in: only the
 * tests of what the servers' clocks decide (a claim lapsing, a key
 * expiring, the reconnect interval) sleep.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "unit.h"

#include <mtasts/policy.h>

#include "policy_cache.h"
#include "util.h"

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
	const char *needs;		/* the environment variable it needs, or NULL */
	void (*reset)(void);		/* empty the server's store */
	bool unordered;			/* iterate() in no particular order */
	bool shared;			/* claims are between handles */
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

static const char *env(const char *name)
{
	const char *value = getenv(name);

	return value != NULL && value[0] != '\0' ? value : NULL;
}

static char redis_url[256];

static int redis_open_url(const char *url, const char *prefix,
			  struct policy_cache **ret_cache)
{
	struct policy_cache_redis_options opt = {
		.url = url,
		.socket_timeout = 1,
		.socket_connect_timeout = 1,
		.key_prefix = prefix,
	};
	char err[256];
	int rc = policy_cache_redis_open(&opt, ret_cache, err, sizeof(err));

	if (rc != MTASTS_OK)
		print_error("  redis open: %s\n", err);
	return rc;
}

static int redis_open(struct fixture *f, struct policy_cache **ret_cache)
{
	snprintf(redis_url, sizeof(redis_url), "unix://%s", env("MTASTS_TEST_REDIS_SOCKET"));
	return redis_open_url(redis_url, NULL, ret_cache);
}

/* A connection of the test's own, beside the backend's. */
static redisContext *raw_redis(void)
{
	redisContext *c = redisConnectUnix(env("MTASTS_TEST_REDIS_SOCKET"));

	assert_non_null(c);
	if (c->err != 0)
		fail_msg("redis: %s", c->errstr);
	return c;
}

static void raw_redis_ok(redisContext *c, redisReply *reply)
{
	if (reply == NULL)
		fail_msg("redis: %s", c->errstr);
	if (reply->type == REDIS_REPLY_ERROR)
		fail_msg("redis: %s", reply->str);
	freeReplyObject(reply);
}

static void redis_reset(void)
{
	redisContext *c = raw_redis();

	raw_redis_ok(c, redisCommand(c, "FLUSHALL"));
	redisFree(c);
}

static int postgres_open(struct fixture *f, struct policy_cache **ret_cache)
{
	char err[256];
	int rc = policy_cache_postgres_open(env("MTASTS_TEST_POSTGRES_DSN"), 1,
					    ret_cache, err, sizeof(err));

	if (rc != MTASTS_OK)
		print_error("  postgres open: %s\n", err);
	return rc;
}

static void quiet(void *arg, const char *message)
{
}

static PGconn *raw_postgres(void)
{
	PGconn *conn = PQconnectdb(env("MTASTS_TEST_POSTGRES_DSN"));

	if (PQstatus(conn) != CONNECTION_OK)
		fail_msg("postgres: %s", PQerrorMessage(conn));
	PQsetNoticeProcessor(conn, quiet, NULL);
	return conn;
}

static void raw_postgres_exec(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

static void postgres_reset(void)
{
	PGconn *conn = raw_postgres();

	raw_postgres_exec(conn, "SET client_min_messages = warning;"
			  "DROP TABLE IF EXISTS mtasts_policy, mtasts_lock, mtasts_schema");
	PQfinish(conn);
}

static const struct backend backends[] = {
	{ "memory", memory_open, true, false, NULL, NULL, false, false },
	{ "sqlite", sqlite_open, false, true, NULL, NULL, false, false },
	{ "redis", redis_open, false, false, "MTASTS_TEST_REDIS_SOCKET", redis_reset,
	  true, true },
	{ "postgres", postgres_open, false, false, "MTASTS_TEST_POSTGRES_DSN",
	  postgres_reset, false, true },
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
	else if (f->backend->unordered)
		for (const char *d = "a.example\0b.example\0c.example\0"; *d != '\0';
		     d += strlen(d) + 1)
			assert_non_null(strstr(seen.domains, d));
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

/* SQLite, servers: what was put is there after closing and opening again. */
static void reopen(struct fixture *f)
{
	char id[40];

	put_policy(f->cache, "example.com", "persist", T0);
	put_negative(f->cache, POLICY_CACHE_NO_POLICY, "none.example", T0, 300);
	f->cache = policy_cache_free(f->cache);
	assert_int_equal(f->backend->open(f, &f->cache), MTASTS_OK);
	assert_int_equal(count(f->cache), 2);
	assert_int_equal(get_id(f->cache, "example.com", T0, id, sizeof(id)), 1);
	assert_string_equal(id, "persist");
	assert_int_equal(get_id(f->cache, "none.example", T0, NULL, 0), 1);
}

/* SQLite, servers: two handles on one store (as two processes) see each other's writes. */
static void two_handles(struct fixture *f)
{
	struct policy_cache *other = NULL;
	char id[40];

	assert_int_equal(f->backend->open(f, &other), MTASTS_OK);
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

/* Claims: every one succeeds on a single-process store; between handles on a shared one. */
static void claim(struct fixture *f)
{
	struct policy_cache *other = NULL;

	assert_int_equal(policy_cache_claim(f->cache, "example.com", 10000), 1);
	if (!f->backend->shared) {
		assert_int_equal(policy_cache_claim(f->cache, "example.com", 10000), 1);
		assert_int_equal(policy_cache_unclaim(f->cache, "example.com"), 0);
		return;
	}
	assert_int_equal(f->backend->open(f, &other), MTASTS_OK);
	assert_int_equal(policy_cache_claim(other, "example.com", 10000), 0);
	assert_int_equal(policy_cache_claim(f->cache, "example.com", 10000), 0);
	assert_int_equal(policy_cache_claim(other, "example.net", 10000), 1);
	assert_int_equal(policy_cache_unclaim(other, "example.com"), 0);	/* not its own */
	assert_int_equal(policy_cache_claim(other, "example.com", 10000), 0);
	assert_int_equal(policy_cache_unclaim(f->cache, "example.com"), 1);
	assert_int_equal(policy_cache_unclaim(f->cache, "example.com"), 0);
	assert_int_equal(policy_cache_claim(other, "example.com", 10000), 1);
	/* a claim lapses after its ttl, and whoever claims next has it */
	assert_int_equal(policy_cache_claim(f->cache, "lapse.example", 200), 1);
	assert_int_equal(policy_cache_claim(other, "lapse.example", 200), 0);
	usleep(400 * 1000);
	assert_int_equal(policy_cache_claim(other, "lapse.example", 10000), 1);
	assert_int_equal(policy_cache_unclaim(f->cache, "lapse.example"), 0);
	assert_int_equal(policy_cache_claim(f->cache, "lapse.example", 10000), 0);
	/* bad arguments */
	assert_int_equal(policy_cache_claim(f->cache, "example.org", 0), MTASTS_ERR_ARGUMENT);
	assert_int_equal(policy_cache_claim(f->cache, "example.org",
					    POLICY_CACHE_CLAIM_TTL_MAX + 1),
			 MTASTS_ERR_TOO_LARGE);
	assert_int_equal(policy_cache_claim(f->cache, "Example.org", 100), MTASTS_ERR_ARGUMENT);
	assert_int_equal(policy_cache_unclaim(f->cache, "a b"), MTASTS_ERR_ARGUMENT);
	/* claims are not entries */
	assert_int_equal(count(f->cache), 0);
	size_t purged = 9;
	assert_int_equal(policy_cache_purge_expired(f->cache, T0, &purged), MTASTS_OK);
	assert_int_equal(purged, 0);
	policy_cache_free(other);
}

static long long monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The time of a put and of a get (a hit), printed; a miss too. */
static void bench(struct fixture *f)
{
	enum { N = 2000 };
	struct mtasts_policy *policy = parse(policy_text, sizeof(policy_text) - 1);
	struct policy_cache_entry *entry = NULL;
	char domain[32];
	long long start;
	double put_us, get_us, miss_us;

	if (f->backend->lru) {		/* room for all */
		policy_cache_free(f->cache);
		assert_int_equal(policy_cache_memory_new(N, &f->cache), MTASTS_OK);
	}
	start = monotonic_us();
	for (int i = 0; i < N; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		assert_int_equal(policy_cache_entry_policy(domain, "b1", policy, T0, &entry),
				 MTASTS_OK);
		assert_int_equal(policy_cache_put(f->cache, entry), MTASTS_OK);
		entry = policy_cache_entry_free(entry);
	}
	put_us = (double)(monotonic_us() - start) / (double)N;
	start = monotonic_us();
	for (int i = 0; i < N; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		assert_int_equal(policy_cache_get(f->cache, domain, T0, &entry), 1);
		entry = policy_cache_entry_free(entry);
	}
	get_us = (double)(monotonic_us() - start) / (double)N;
	start = monotonic_us();
	for (int i = 0; i < N; i++) {
		snprintf(domain, sizeof(domain), "m%d.example", i);
		assert_int_equal(policy_cache_get(f->cache, domain, T0, &entry), 0);
	}
	miss_us = (double)(monotonic_us() - start) / (double)N;
	print_message("  bench %s: put %.1f us, get (hit) %.1f us, get (miss) %.1f us "
		      "an operation (%d each)\n", f->backend->name, put_us, get_us, miss_us, N);
	mtasts_policy_free(policy);
}

/* Redis: a key an entry and a key a claim, each with its TTL. */
static void redis_ttl(struct fixture *f)
{
	static const struct {
		const char *key;
		long long min_ms, max_ms;
	} want[] = {
		{ "mtasts:policy:example.com", (DAY - 60) * 1000LL, DAY * 1000LL },
		{ "mtasts:policy:none.example", 240 * 1000, 300 * 1000 },
		{ "mtasts:policy:zero.example", 1, 1000 },	/* at least a second */
		{ "mtasts:lock:example.com", 1, 5000 },
	};
	redisContext *c = raw_redis();
	redisReply *reply;

	put_policy(f->cache, "example.com", "1", T0);
	put_negative(f->cache, POLICY_CACHE_NO_POLICY, "none.example", T0, 300);
	put_negative(f->cache, POLICY_CACHE_TEMP_FAIL, "zero.example", T0, 0);
	assert_int_equal(policy_cache_claim(f->cache, "example.com", 5000), 1);
	reply = redisCommand(c, "DBSIZE");
	assert_non_null(reply);
	assert_int_equal(reply->integer, ARRAY_LEN(want));
	freeReplyObject(reply);
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		reply = redisCommand(c, "PTTL %s", want[i].key);
		assert_non_null(reply);
		assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
		if (reply->integer < want[i].min_ms || reply->integer > want[i].max_ms)
			fail_msg("%s: PTTL %lld", want[i].key, reply->integer);
		freeReplyObject(reply);
	}
	/* a replaced entry gets the new entry's TTL */
	put_negative(f->cache, POLICY_CACHE_NO_POLICY, "example.com", T0, 60);
	reply = redisCommand(c, "PTTL mtasts:policy:example.com");
	assert_true(reply->integer > 0 && reply->integer <= 60000);
	freeReplyObject(reply);
	/* and the value is as documented */
	reply = redisCommand(c, "GET mtasts:policy:none.example");
	assert_int_equal(reply->type, REDIS_REPLY_STRING);
	assert_string_equal(reply->str, "mtasts1 no-policy - 1700000000 1700000300\n");
	freeReplyObject(reply);
	redisFree(c);
}

/* Redis: values that are not entries are refused when read back, never cut to fit. */
static void redis_bad_values(struct fixture *f)
{
	static const struct {
		const char *value;
		size_t len;		/* 0: strlen */
	} bad[] = {
		{ "", 0 },
		{ "garbage", 0 },
		{ "mtasts1 no-policy - 1 2", 0 },		/* no newline */
		{ "mtasts2 no-policy - 1 2\n", 0 },
		{ "mtasts1 maybe - 1 2\n", 0 },
		{ "mtasts1 no-policy  - 1 2\n", 0 },
		{ "mtasts1 no-policy - 1 2 3\n", 0 },
		{ "mtasts1 no-policy - 2 1\n", 0 },
		{ "mtasts1 no-policy - -1 2\n", 0 },
		{ "mtasts1 no-policy - 1 99999999999999999999\n", 0 },
		{ "mtasts1 no-policy - 1 +2\n", 0 },
		{ "mtasts1 no-policy - 1 2\nA", 0 },	/* a negative entry with text */
		{ "mtasts1 policy a 1 2\n", 0 },		/* a policy without */
		{ "mtasts1 policy - 1 2\nA", 0 },		/* a policy without id */
		{ "mtasts1 policy a-b 1 2\nA", 0 },
		{ "mtasts1 policy 0123456789012345678901234567890123 1 2\nA", 0 },
		{ "mtasts1 policy a 1 2\nA\0B", 24 },
		{ "mtasts1 no-policy - 1 31557602\n", 0 },	/* past the longest max_age */
	};
	redisContext *c = raw_redis();
	struct policy_cache_entry *entry = NULL;
	struct seen seen = { .domains = "" };
	char *big;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		size_t len = bad[i].len != 0 ? bad[i].len : strlen(bad[i].value);

		raw_redis_ok(c, redisCommand(c, "SET mtasts:policy:bad.example %b EX 100",
					     bad[i].value, len));
		int rc = policy_cache_get(f->cache, "bad.example", 1, &entry);
		if (rc != MTASTS_ERR_INVALID)
			fail_msg("value %zu (%s): get gave %d", i, bad[i].value, rc);
		assert_null(entry);
		assert_int_equal(policy_cache_iterate(f->cache, collect, &seen),
				 MTASTS_ERR_INVALID);
	}
	/* too long: a good header before 65537 and a million octets of text */
	size_t sizes[] = { MTASTS_POLICY_BODY_MAX + 1, 1000000 };
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		big = malloc(sizes[i] + 32);
		assert_non_null(big);
		int n = snprintf(big, 32, "mtasts1 policy a 1 2\n");
		memset(big + n, 'x', sizes[i]);
		raw_redis_ok(c, redisCommand(c, "SET mtasts:policy:bad.example %b EX 100",
					     big, (size_t)n + sizes[i]));
		free(big);
		assert_int_equal(policy_cache_get(f->cache, "bad.example", 1, &entry),
				 MTASTS_ERR_INVALID);
	}
	/* a key of another type, and a key that is not a domain */
	raw_redis_ok(c, redisCommand(c, "DEL mtasts:policy:bad.example"));
	raw_redis_ok(c, redisCommand(c, "HSET mtasts:policy:bad.example kind policy"));
	assert_int_equal(policy_cache_get(f->cache, "bad.example", 1, &entry),
			 MTASTS_ERR_INVALID);
	assert_int_equal(policy_cache_iterate(f->cache, collect, &seen), MTASTS_ERR_INVALID);
	raw_redis_ok(c, redisCommand(c, "DEL mtasts:policy:bad.example"));
	raw_redis_ok(c, redisCommand(c, "SET mtasts:policy:Bad.example %s EX 100",
				     "mtasts1 no-policy - 1 2\n"));
	assert_int_equal(policy_cache_iterate(f->cache, collect, &seen), MTASTS_ERR_INVALID);
	assert_int_equal(seen.count, 0);
	/* a good value written by hand is read */
	raw_redis_ok(c, redisCommand(c, "FLUSHALL"));
	raw_redis_ok(c, redisCommand(c, "SET mtasts:policy:good.example %s EX 100",
				     "mtasts1 temp-fail x1 1 100\n"));
	assert_int_equal(policy_cache_get(f->cache, "good.example", 50, &entry), 1);
	assert_int_equal(entry->kind, POLICY_CACHE_TEMP_FAIL);
	assert_string_equal(entry->id, "x1");
	policy_cache_entry_free(entry);
	redisFree(c);
}

/* Redis: the URL forms, the prefix, the options; what is refused at open. */
static void redis_urls(struct fixture *f)
{
	static const char *const bad[] = {
		"http://localhost", "rediss://localhost", "redis://localhost:0",
		"redis://localhost:65536", "redis://localhost:x", "redis://user@localhost",
		"redis://localhost/x", "redis://localhost?foo=1", "redis://localhost/1?db=x",
		"unix://", "unix://relative/path", "redis://[::1", "redis://a b",
		"redis://:%zz@localhost", "redis://:%00@localhost",
	};
	struct policy_cache *cache = NULL;
	redisContext *c = raw_redis();
	redisReply *reply;
	char url[300], err[256];
	const char *port = env("MTASTS_TEST_REDIS_PORT");

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct policy_cache_redis_options opt = { .url = bad[i] };

		err[0] = '\0';
		if (policy_cache_redis_open(&opt, &cache, err, sizeof(err)) != MTASTS_ERR_ARGUMENT)
			fail_msg("%s was taken", bad[i]);
		assert_null(cache);
		assert_true(err[0] != '\0');
	}
	char *long_url = malloc(POLICY_CACHE_URL_MAX + 2);
	assert_non_null(long_url);
	memset(long_url, 'a', POLICY_CACHE_URL_MAX + 1);
	memcpy(long_url, "redis://", 8);
	long_url[POLICY_CACHE_URL_MAX + 1] = '\0';
	struct policy_cache_redis_options opt = { .url = long_url };
	assert_int_equal(policy_cache_redis_open(&opt, &cache, err, sizeof(err)),
			 MTASTS_ERR_TOO_LARGE);
	free(long_url);
	opt = (struct policy_cache_redis_options){ .url = "redis://localhost",
						   .socket_timeout = -1 };
	assert_int_equal(policy_cache_redis_open(&opt, &cache, err, sizeof(err)),
			 MTASTS_ERR_ARGUMENT);
	opt = (struct policy_cache_redis_options){ .url = "redis://localhost",
						   .key_prefix = "a b" };
	assert_int_equal(policy_cache_redis_open(&opt, &cache, err, sizeof(err)),
			 MTASTS_ERR_ARGUMENT);
	assert_null(cache);
	/* TCP, with a database in the path; the socket with one in the query */
	assert_non_null(port);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%s/3", port);
	assert_int_equal(redis_open_url(url, NULL, &cache), MTASTS_OK);
	put_policy(cache, "tcp.example", "1", T0);
	cache = policy_cache_free(cache);
	snprintf(url, sizeof(url), "%s?db=2", redis_url);
	assert_int_equal(redis_open_url(url, NULL, &cache), MTASTS_OK);
	put_policy(cache, "unix.example", "1", T0);
	cache = policy_cache_free(cache);
	reply = redisCommand(c, "SELECT 3");
	freeReplyObject(reply);
	reply = redisCommand(c, "EXISTS mtasts:policy:tcp.example");
	assert_int_equal(reply->integer, 1);
	freeReplyObject(reply);
	reply = redisCommand(c, "SELECT 2");
	freeReplyObject(reply);
	reply = redisCommand(c, "EXISTS mtasts:policy:unix.example");
	assert_int_equal(reply->integer, 1);
	freeReplyObject(reply);
	/* a prefix with glob characters keeps to its own keys */
	assert_int_equal(redis_open_url(redis_url, "other*[x]:", &cache), MTASTS_OK);
	assert_int_equal(count(cache), 0);
	put_policy(cache, "example.com", "1", T0);
	put_policy(f->cache, "example.net", "1", T0);
	put_policy(f->cache, "example.org", "1", T0);
	assert_int_equal(count(cache), 1);
	assert_int_equal(count(f->cache), 2);
	cache = policy_cache_free(cache);
	/* a password the server does not want: a store error that says so */
	snprintf(url, sizeof(url), "unix://:secret@%s", env("MTASTS_TEST_REDIS_SOCKET"));
	assert_int_equal(redis_open_url(url, NULL, &cache), MTASTS_OK);
	assert_int_equal(policy_cache_delete(cache, "example.com"), POLICY_CACHE_ERR_STORE);
	print_message("  %s\n", policy_cache_error(cache));
	assert_non_null(strstr(policy_cache_error(cache), "AUTH"));
	policy_cache_free(cache);
	redisFree(c);
}

/* Redis: the server drops a key by its TTL, in real time. */
static void redis_expires_keys(struct fixture *f)
{
	put_negative(f->cache, POLICY_CACHE_TEMP_FAIL, "short.example", T0, 1);
	put_negative(f->cache, POLICY_CACHE_TEMP_FAIL, "long.example", T0, 60);
	assert_int_equal(count(f->cache), 2);
	usleep(2200 * 1000);
	assert_int_equal(count(f->cache), 1);
	assert_int_equal(get_id(f->cache, "short.example", T0, NULL, 0), 0);
	assert_int_equal(get_id(f->cache, "long.example", T0, NULL, 0), 1);
}

/* PostgreSQL: the schema's version is recorded; a newer one is refused. */
static void postgres_schema(struct fixture *f)
{
	struct policy_cache *cache = NULL;
	PGconn *conn = raw_postgres();
	PGresult *res = PQexec(conn, "SELECT version FROM mtasts_schema");
	char err[256] = "";
	long long start;

	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(res), 1);
	assert_int_equal(atoi(PQgetvalue(res, 0, 0)), POLICY_CACHE_POSTGRES_SCHEMA);
	PQclear(res);
	/* opening again keeps what is there */
	put_policy(f->cache, "example.com", "1", T0);
	assert_int_equal(postgres_open(f, &cache), MTASTS_OK);
	assert_int_equal(count(cache), 1);
	cache = policy_cache_free(cache);
	raw_postgres_exec(conn, "UPDATE mtasts_schema SET version = 2");
	assert_int_equal(policy_cache_postgres_open(env("MTASTS_TEST_POSTGRES_DSN"), 1,
						    &cache, err, sizeof(err)),
			 POLICY_CACHE_ERR_STORE);
	assert_null(cache);
	assert_non_null(strstr(err, "schema version 2"));
	PQfinish(conn);
	/* no server there: refused at once, with libpq's reason */
	start = monotonic_ms();
	assert_int_equal(policy_cache_postgres_open("host=/nonexistent dbname=x", 1, &cache,
						    err, sizeof(err)),
			 POLICY_CACHE_ERR_STORE);
	assert_true(monotonic_ms() - start < 1500);
	assert_non_null(strstr(err, "nonexistent"));
	assert_int_equal(policy_cache_postgres_open("dbname=x", -1, &cache, err, sizeof(err)),
			 MTASTS_ERR_ARGUMENT);
	assert_null(cache);
}

/* PostgreSQL: rows the table's checks let through but the cache's rules do not. */
static void postgres_bad_rows(struct fixture *f)
{
	static const char *const rows[] = {
		"('id.example', 'policy', 'a-b', '\\x41', 1, 2)",
		"('notext.example', 'policy', 'a', NULL, 1, 2)",
		"('noid.example', 'policy', '', '\\x41', 1, 2)",
		"('nul.example', 'policy', 'a', '\\x410042', 1, 2)",
		"('text.example', 'no-policy', '', '\\x41', 1, 2)",
		"('age.example', 'no-policy', '', NULL, 1, 31557602)",
		"('early.example', 'no-policy', '', NULL, -5, 2)",
		"('Upper.example', 'no-policy', '', NULL, 1, 2)",
	};
	PGconn *conn = raw_postgres();
	struct seen seen = { .domains = "" };
	char sql[256], domain[64];

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct policy_cache_entry *entry = NULL;

		raw_postgres_exec(conn, "DELETE FROM mtasts_policy");
		snprintf(sql, sizeof(sql), "INSERT INTO mtasts_policy VALUES %s", rows[i]);
		raw_postgres_exec(conn, sql);
		snprintf(domain, sizeof(domain), "%.*s", (int)strcspn(rows[i] + 2, "'"),
			 rows[i] + 2);
		if (strcmp(domain, "Upper.example") == 0)
			assert_int_equal(policy_cache_get(f->cache, "upper.example", 1, &entry), 0);
		else if (policy_cache_get(f->cache, domain, 1, &entry) != MTASTS_ERR_INVALID)
			fail_msg("%s was read", rows[i]);
		assert_null(entry);
		assert_int_equal(policy_cache_iterate(f->cache, collect, &seen),
				 MTASTS_ERR_INVALID);
		assert_int_equal(seen.count, 0);
	}
	/* and a column of another type */
	raw_postgres_exec(conn, "DELETE FROM mtasts_policy;"
			  "ALTER TABLE mtasts_policy ALTER COLUMN fetched_at TYPE integer;"
			  "INSERT INTO mtasts_policy VALUES ('t.example', 'no-policy', '', NULL, 1, 2)");
	struct policy_cache_entry *entry = NULL;
	assert_int_equal(policy_cache_get(f->cache, "t.example", 1, &entry), MTASTS_ERR_INVALID);
	PQfinish(conn);
}

/* Run a shell command of the harness's (stop or start a server). */
static void harness(const char *name)
{
	const char *command = env(name);

	if (command == NULL)
		fail_msg("%s is not set", name);
	if (system(command) != 0)
		fail_msg("%s failed: %s", name, command);
}

/* One call that must fail with a store error, within the bound; its time. */
#define FAULT_CALL_MS 1500
static long long fails_quickly(struct fixture *f, int rc, long long start, const char *what)
{
	long long took = monotonic_ms() - start;

	if (rc != POLICY_CACHE_ERR_STORE)
		fail_msg("%s with the server stopped: %d", what, rc);
	if (took >= FAULT_CALL_MS)
		fail_msg("%s took %lld ms", what, took);
	assert_true(policy_cache_error(f->cache)[0] != '\0');
	return took;
}

/* get() when it fails: its status, no entry. */
static int get_or_error(struct policy_cache *cache, const char *domain)
{
	struct policy_cache_entry *entry = NULL;
	int rc = policy_cache_get(cache, domain, T0, &entry);

	assert_null(entry);
	return rc;
}

/*
 * The server goes away: every call fails with a store error, the first
 * within the bound and the next ones at once (no connect is tried more
 * than once a second); it comes back: calls work again after the
 * reconnect interval, on the same handle.
 */
static void fault(struct fixture *f)
{
	struct policy_cache_entry *entry = NULL;
	struct seen seen = { .domains = "" };
	bool redis = strcmp(f->backend->name, "redis") == 0;
	size_t n = 0;
	long long start, took;

	put_policy(f->cache, "example.com", "1", T0);
	assert_int_equal(get_id(f->cache, "example.com", T0, NULL, 0), 1);
	harness(redis ? "MTASTS_TEST_REDIS_STOP" : "MTASTS_TEST_POSTGRES_STOP");
	start = monotonic_ms();
	took = fails_quickly(f, policy_cache_get(f->cache, "example.com", T0, &entry), start,
			     "the first get");
	print_message("  %s down: the first call failed in %lld ms: %s\n",
		      f->backend->name, took, policy_cache_error(f->cache));
	assert_null(entry);
	for (int i = 0; i < 20; i++) {
		start = monotonic_ms();
		fails_quickly(f, policy_cache_get(f->cache, "example.com", T0, &entry), start,
			      "get");
		fails_quickly(f, policy_cache_delete(f->cache, "example.com"), start, "delete");
		fails_quickly(f, policy_cache_count(f->cache, &n), start, "count");
		fails_quickly(f, policy_cache_iterate(f->cache, collect, &seen), start,
			      "iterate");
		fails_quickly(f, policy_cache_purge_expired(f->cache, T0, &n), start, "purge");
		fails_quickly(f, policy_cache_claim(f->cache, "example.com", 1000), start,
			      "claim");
		usleep(100 * 1000);
	}
	start = monotonic_ms();
	struct mtasts_policy *policy = parse(policy_text, sizeof(policy_text) - 1);
	assert_int_equal(policy_cache_entry_policy("example.net", "2", policy, T0, &entry),
			 MTASTS_OK);
	fails_quickly(f, policy_cache_put(f->cache, entry), start, "put");
	harness(redis ? "MTASTS_TEST_REDIS_START" : "MTASTS_TEST_POSTGRES_START");
	usleep(1100 * 1000);		/* the reconnect interval */
	assert_int_equal(policy_cache_put(f->cache, entry), MTASTS_OK);
	entry = policy_cache_entry_free(entry);
	mtasts_policy_free(policy);
	assert_int_equal(get_id(f->cache, "example.net", T0, NULL, 0), 1);
	/* Redis ran without saving: what was there is gone; PostgreSQL kept it */
	assert_int_equal(get_id(f->cache, "example.com", T0, NULL, 0), redis ? 0 : 1);
	assert_int_equal(policy_cache_claim(f->cache, "example.com", 1000), 1);
}

/*
 * Redis: a server that takes the connection but never answers (stopped by
 * SIGSTOP) costs one socket timeout (a second here), then nothing until
 * the reconnect interval has passed.
 */
static void redis_hangs(struct fixture *f)
{
	long long start, took;

	put_policy(f->cache, "example.com", "1", T0);
	harness("MTASTS_TEST_REDIS_PAUSE");
	start = monotonic_ms();
	took = fails_quickly(f, get_or_error(f->cache, "example.com"), start, "get");
	print_message("  redis hung: the first call failed in %lld ms: %s\n", took,
		      policy_cache_error(f->cache));
	assert_true(took >= 900);		/* it waited for the socket timeout */
	start = monotonic_ms();
	took = fails_quickly(f, policy_cache_count(f->cache, &(size_t){ 0 }), start, "count");
	assert_true(took < 100);
	harness("MTASTS_TEST_REDIS_RESUME");
	usleep(1100 * 1000);
	assert_int_equal(get_id(f->cache, "example.com", T0, NULL, 0), 1);
}

/* The table */

/* Whether word is one of the space-separated words of list. */
static bool word_in(const char *word, const char *list)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
			return true;
	return false;
}

struct behaviour {
	const char *name;
	void (*run)(struct fixture *f);
	const char *only;		/* the backends it is for, or NULL: all */
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
	{ "claim", claim, NULL },
	{ "bench", bench, NULL },
	{ "reopen", reopen, "sqlite redis postgres" },
	{ "two_handles", two_handles, "sqlite redis postgres" },
	{ "two_processes", two_processes, "sqlite" },
	{ "schema", schema, "sqlite" },
	{ "bad_rows", bad_rows, "sqlite" },
	{ "redis_ttl", redis_ttl, "redis" },
	{ "redis_bad_values", redis_bad_values, "redis" },
	{ "redis_urls", redis_urls, "redis" },
	{ "redis_expires_keys", redis_expires_keys, "redis" },
	{ "postgres_schema", postgres_schema, "postgres" },
	{ "postgres_bad_rows", postgres_bad_rows, "postgres" },
	{ "fault", fault, "redis postgres" },
	{ "redis_hangs", redis_hangs, "redis" },
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
	if (f->backend->reset != NULL)
		f->backend->reset();
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
		if (backends[b].needs != NULL && env(backends[b].needs) == NULL) {
			print_message("[ SKIPPED  ] %s: no server (%s unset)\n",
				      backends[b].name, backends[b].needs);
			continue;
		}
		for (size_t i = 0; i < ARRAY_LEN(behaviours); i++) {
			const struct behaviour *h = &behaviours[i];

			if (h->only != NULL && !word_in(backends[b].name, h->only))
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
