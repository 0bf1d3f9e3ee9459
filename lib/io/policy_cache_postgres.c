/*
 * policy_cache_postgres.c - the policy cache in a PostgreSQL database: a
 * table made or migrated at open under an advisory lock, upserts, a lock
 * table for the fleet's claims, parameterized statements with binary
 * results checked column by column; every connect and statement bounded
 * by the timeout on both sides (statement_timeout on the server, a
 * deadline here), and a circuit breaker so that a dead server costs one
 * connect a second, not one a lookup.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libpq-fe.h>

#include "pg_wire.h"
#include "policy_cache.h"
#include "util.h"

#define DEFAULT_TIMEOUT 5.0		/* seconds, the peer's POSTGRES_TIMEOUT */
#define TIMEOUT_MAX 3600.0
#define RECONNECT_INTERVAL_MS 1000	/* the breaker stays open this long */
#define DEADLINE_SLACK_MS 500		/* past statement_timeout, the server's own */
#define DSN_MAX 4096
#define PAGE_ROWS "100"			/* rows iterate() reads at once */
#define SCHEMA_LOCK_KEY "7305357837140811363"	/* pg_advisory_xact_lock key */

/* Type OIDs of the columns read back (pg_type.h). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

/*
 * Migrations, in order: migrations[i] takes the schema from version i to
 * i + 1.  Append only; a database written by a newer program is refused.
 */
static const char *const migrations[] = {
	"CREATE TABLE mtasts_policy ("
	"  domain text PRIMARY KEY"
	"    CHECK (octet_length(domain) BETWEEN 1 AND 253),"
	"  kind text NOT NULL"
	"    CHECK (kind IN ('policy', 'no-policy', 'temp-fail')),"
	"  txt_id text NOT NULL CHECK (octet_length(txt_id) <= 32),"
	"  policy bytea CHECK (policy IS NULL OR octet_length(policy) <= 65536),"
	"  fetched_at bigint NOT NULL,"
	"  expires_at bigint NOT NULL CHECK (expires_at >= fetched_at));"
	"CREATE INDEX mtasts_policy_expires_at ON mtasts_policy (expires_at);"
	"CREATE TABLE mtasts_lock ("
	"  domain text PRIMARY KEY,"
	"  holder text NOT NULL,"
	"  until timestamptz NOT NULL);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == POLICY_CACHE_POSTGRES_SCHEMA,
	       "one migration per schema version");

#define COLUMNS "domain, kind, txt_id, policy, fetched_at, expires_at"

static const char sql_get[] =
	"SELECT " COLUMNS " FROM mtasts_policy WHERE domain = $1 AND expires_at > $2";
static const char sql_put[] =
	"INSERT INTO mtasts_policy (" COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6) "
	"ON CONFLICT (domain) DO UPDATE SET kind = EXCLUDED.kind, "
	"txt_id = EXCLUDED.txt_id, policy = EXCLUDED.policy, "
	"fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at";
static const char sql_delete[] = "DELETE FROM mtasts_policy WHERE domain = $1";
static const char sql_purge[] = "DELETE FROM mtasts_policy WHERE expires_at <= $1";
static const char sql_purge_locks[] =
	"DELETE FROM mtasts_lock WHERE until <= clock_timestamp()";
static const char sql_count[] = "SELECT count(*) FROM mtasts_policy";
static const char sql_page[] =
	"SELECT " COLUMNS " FROM mtasts_policy WHERE domain > $1 "
	"ORDER BY domain LIMIT " PAGE_ROWS;
/* A lock row is taken over only once its time has passed. */
static const char sql_claim[] =
	"INSERT INTO mtasts_lock (domain, holder, until) "
	"VALUES ($1, $2, clock_timestamp() + $3::bigint * interval '1 millisecond') "
	"ON CONFLICT (domain) DO UPDATE SET holder = EXCLUDED.holder, "
	"until = EXCLUDED.until WHERE mtasts_lock.until <= clock_timestamp() "
	"RETURNING 1";
static const char sql_unclaim[] =
	"DELETE FROM mtasts_lock WHERE domain = $1 AND holder = $2 "
	"AND until > clock_timestamp()";

struct pg_cache {
	struct policy_cache base;
	PGconn *conn;			/* NULL while not connected */
	bool answered;			/* conn has answered a statement */
	bool timed_out;			/* the last failure was a deadline */
	long long retry_at;		/* no connect before (monotonic ms) */
	char *dsn;
	int timeout_ms;
	char token[33];			/* this cache's name in the locks */
};

/* Record why the store failed (libpq's message without its newline). */
static int store_error(struct pg_cache *p, const char *what, const char *why)
{
	size_t len = strcspn(why, "\n");

	snprintf(p->base.error, sizeof(p->base.error), "PostgreSQL: %.40s: %.*s", what,
		 (int)(len < 200 ? len : 200), why);
	return POLICY_CACHE_ERR_STORE;
}

static void disconnect(struct pg_cache *p)
{
	if (p->conn != NULL)
		PQfinish(p->conn);
	p->conn = NULL;
	p->answered = false;
}

/* The connection failed: drop it, and make none again for a while. */
static int broken(struct pg_cache *p, const char *what, const char *why)
{
	int rc = store_error(p, what, why);

	disconnect(p);
	p->retry_at = monotonic_ms() + RECONNECT_INTERVAL_MS;
	return rc;
}

/* Start a connection and see it through, by the deadline. */
static int connect_bounded(struct pg_cache *p)
{
	char why[256];

	switch (pg_wire_connect(p->dsn, monotonic_ms() + p->timeout_ms, &p->conn, why,
				sizeof(why))) {
	case PG_WIRE_OK:
		return MTASTS_OK;
	case PG_WIRE_NOMEM:
		return MTASTS_ERR_NOMEM;
	case PG_WIRE_TIMEOUT:
		p->timed_out = true;
		break;
	case PG_WIRE_BROKEN:
	case PG_WIRE_NO_RESULT:
		break;
	}
	return broken(p, "connecting", why);
}

static int run_sent(struct pg_cache *p, const char *what, long long deadline,
		    PGresult **ret_res);

/* Connected (statement_timeout set), or POLICY_CACHE_ERR_STORE at once while the breaker is open. */
static int connection(struct pg_cache *p)
{
	char ms[16];
	PGresult *res = NULL;
	int rc;

	if (p->conn != NULL)
		return MTASTS_OK;
	if (monotonic_ms() < p->retry_at)
		return POLICY_CACHE_ERR_STORE;	/* base.error says why the last try failed */
	if ((rc = connect_bounded(p)) != MTASTS_OK)
		return rc;
	snprintf(ms, sizeof(ms), "%d", p->timeout_ms);
	const char *params[] = { ms };
	if (!PQsendQueryParams(p->conn, "SELECT set_config('statement_timeout', $1, false)",
			       1, NULL, params, NULL, NULL, 1))
		return broken(p, "setting statement_timeout", PQerrorMessage(p->conn));
	rc = run_sent(p, "setting statement_timeout",
		      monotonic_ms() + p->timeout_ms + DEADLINE_SLACK_MS, &res);
	if (rc != MTASTS_OK)
		return rc;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = broken(p, "setting statement_timeout", PQresultErrorMessage(res));
	PQclear(res);
	return rc;
}

/*
 * The result of the statement just sent, read by the deadline: the last
 * of its results (the one that says how it ended).  A lost connection is
 * POLICY_CACHE_ERR_STORE, and dropped.
 */
static int run_sent(struct pg_cache *p, const char *what, long long deadline,
		    PGresult **ret_res)
{
	char why[256];

	switch (pg_wire_finish(p->conn, deadline, ret_res, why, sizeof(why))) {
	case PG_WIRE_OK:
		return MTASTS_OK;
	case PG_WIRE_NO_RESULT:
		return store_error(p, what, why);
	case PG_WIRE_TIMEOUT:
		p->timed_out = true;
		break;
	case PG_WIRE_BROKEN:
	case PG_WIRE_NOMEM:
		break;
	}
	return broken(p, what, why);
}

/*
 * Run a statement with its parameters (text, but where formats says 1)
 * and binary results; its result must have status want.  A
 * connection that has worked and then breaks (the server restarted) is
 * made again at once for one more try; one that fails to come up, or a
 * server that does not answer by the deadline, opens the breaker.
 */
static int run(struct pg_cache *p, const char *what, const char *sql, int nparams,
	       const char *const *values, const int *lengths, const int *formats,
	       ExecStatusType want, PGresult **ret_res)
{
	for (int tries = 0;; tries++) {
		PGresult *res = NULL;
		int rc = connection(p);

		if (rc != MTASTS_OK)
			return rc;
		bool answered = p->answered;
		p->timed_out = false;
		if (!PQsendQueryParams(p->conn, sql, nparams, NULL, values, lengths, formats, 1))
			rc = broken(p, what, PQerrorMessage(p->conn));
		else
			rc = run_sent(p, what, monotonic_ms() + p->timeout_ms +
				      DEADLINE_SLACK_MS, &res);
		if (rc != MTASTS_OK && p->conn == NULL && answered && !p->timed_out &&
		    tries == 0) {
			p->retry_at = 0;
			continue;
		}
		if (rc != MTASTS_OK)
			return rc;
		p->answered = true;
		if (PQresultStatus(res) != want) {
			rc = store_error(p, what, PQresultErrorMessage(res));
			PQclear(res);
			return rc;
		}
		*ret_res = res;
		return MTASTS_OK;
	}
}

/* Reading rows back */

/* A binary column of type oid, of at most max octets; NULL refused unless may_be_null. */
static int column(const PGresult *res, int row, int col, unsigned oid, size_t max,
		  const char **ret_value, size_t *ret_len)
{
	if (PQftype(res, col) != oid || PQfformat(res, col) != 1)
		return MTASTS_ERR_INVALID;
	if (PQgetisnull(res, row, col)) {
		*ret_value = NULL;
		*ret_len = 0;
		return MTASTS_OK;
	}
	int len = PQgetlength(res, row, col);
	if (len < 0 || (size_t)len > max)
		return MTASTS_ERR_INVALID;
	*ret_value = PQgetvalue(res, row, col);
	*ret_len = (size_t)len;
	return MTASTS_OK;
}

/* A text column into out (out_size octets with the NUL): no NUL, not NULL. */
static int text_column(const PGresult *res, int row, int col, char *out, size_t out_size)
{
	const char *value;
	size_t len;

	if (column(res, row, col, OID_TEXT, out_size - 1, &value, &len) != MTASTS_OK ||
	    value == NULL || memchr(value, '\0', len) != NULL)
		return MTASTS_ERR_INVALID;
	memcpy(out, value, len);
	out[len] = '\0';
	return MTASTS_OK;
}

/* A bigint column, from its 8 octets in network order. */
static int int8_column(const PGresult *res, int row, int col, int64_t *ret)
{
	const char *value;
	size_t len;
	uint64_t v = 0;

	if (column(res, row, col, OID_INT8, 8, &value, &len) != MTASTS_OK ||
	    value == NULL || len != 8)
		return MTASTS_ERR_INVALID;
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)value[i];
	*ret = (int64_t)v;
	return MTASTS_OK;
}

static int kind_column(const PGresult *res, int row, int col,
		       enum policy_cache_kind *ret_kind)
{
	char name[16];

	if (text_column(res, row, col, name, sizeof(name)) != MTASTS_OK)
		return MTASTS_ERR_INVALID;
	for (int k = POLICY_CACHE_POLICY; k <= POLICY_CACHE_TEMP_FAIL; k++) {
		if (strcmp(name, policy_cache_kind_name(k)) == 0) {
			*ret_kind = (enum policy_cache_kind)k;
			return MTASTS_OK;
		}
	}
	return MTASTS_ERR_INVALID;
}

/* The policy column: NULL, or at most the parser's limit. */
static int policy_column(const PGresult *res, int row, int col,
			 struct policy_cache_entry *entry)
{
	const char *value;
	size_t len;

	if (column(res, row, col, OID_BYTEA, MTASTS_POLICY_BODY_MAX, &value, &len) != MTASTS_OK)
		return MTASTS_ERR_INVALID;
	if (value == NULL)
		return MTASTS_OK;
	if ((entry->policy_text = malloc(len + 1)) == NULL)
		return MTASTS_ERR_NOMEM;
	memcpy(entry->policy_text, value, len);
	entry->policy_text[len] = '\0';
	entry->policy_len = len;
	return MTASTS_OK;
}

/* The entry of a row (COLUMNS), checked as put() checks it. */
static int row_entry(const PGresult *res, int row, struct policy_cache_entry **ret_entry)
{
	struct policy_cache_entry *entry = calloc(1, sizeof(*entry));
	int64_t fetched_at, expires_at;
	int rc;

	if (entry == NULL)
		return MTASTS_ERR_NOMEM;
	if (PQnfields(res) != 6 ||
	    text_column(res, row, 0, entry->domain, sizeof(entry->domain)) != MTASTS_OK ||
	    kind_column(res, row, 1, &entry->kind) != MTASTS_OK ||
	    text_column(res, row, 2, entry->id, sizeof(entry->id)) != MTASTS_OK ||
	    int8_column(res, row, 4, &fetched_at) != MTASTS_OK ||
	    int8_column(res, row, 5, &expires_at) != MTASTS_OK) {
		rc = MTASTS_ERR_INVALID;
		goto out;
	}
	if ((rc = policy_column(res, row, 3, entry)) != MTASTS_OK)
		goto out;
	entry->fetched_at = (time_t)fetched_at;
	entry->expires_at = (time_t)expires_at;
	if (policy_cache_entry_check(entry) != MTASTS_OK) {
		rc = MTASTS_ERR_INVALID;
		goto out;
	}
	*ret_entry = entry;
	entry = NULL;
out:
	policy_cache_entry_free(entry);
	return rc;
}

/* The number of rows a statement changed. */
static size_t changed(const PGresult *res)
{
	return (size_t)strtoull(PQcmdTuples((PGresult *)res), NULL, 10);
}

/* The operations */

static int pg_get(struct policy_cache *cache, const char *domain, time_t now,
		  struct policy_cache_entry **ret_entry)
{
	struct pg_cache *p = (struct pg_cache *)cache;
	PGresult *res = NULL;
	char when[24];
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	snprintf(when, sizeof(when), "%lld", (long long)now);
	const char *params[] = { domain, when };
	if ((rc = run(p, "reading the cache", sql_get, 2, params, NULL, NULL,
		      PGRES_TUPLES_OK, &res)) != MTASTS_OK)
		return rc;
	if (PQntuples(res) == 0)
		rc = 0;
	else if ((rc = row_entry(res, 0, ret_entry)) == MTASTS_OK)
		rc = 1;
	PQclear(res);
	return rc;
}

static int pg_put(struct policy_cache *cache, const struct policy_cache_entry *entry)
{
	struct pg_cache *p = (struct pg_cache *)cache;
	PGresult *res = NULL;
	char fetched[24], expires[24];
	int rc;

	if ((rc = policy_cache_entry_check(entry)) != MTASTS_OK)
		return rc;
	snprintf(fetched, sizeof(fetched), "%lld", (long long)entry->fetched_at);
	snprintf(expires, sizeof(expires), "%lld", (long long)entry->expires_at);
	const char *params[] = { entry->domain, policy_cache_kind_name(entry->kind),
				 entry->id, entry->policy_text, fetched, expires };
	const int lengths[] = { 0, 0, 0, (int)entry->policy_len, 0, 0 };
	const int formats[] = { 0, 0, 0, 1, 0, 0 };
	if ((rc = run(p, "writing the cache", sql_put, 6, params, lengths, formats,
		      PGRES_COMMAND_OK, &res)) != MTASTS_OK)
		return rc;
	PQclear(res);
	return MTASTS_OK;
}

static int pg_delete(struct policy_cache *cache, const char *domain)
{
	struct pg_cache *p = (struct pg_cache *)cache;
	PGresult *res = NULL;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	const char *params[] = { domain };
	if ((rc = run(p, "deleting from the cache", sql_delete, 1, params, NULL, NULL,
		      PGRES_COMMAND_OK, &res)) != MTASTS_OK)
		return rc;
	rc = changed(res) > 0;
	PQclear(res);
	return rc;
}

/* Expired entries go, and with them the lock rows whose time has passed. */
static int pg_purge_expired(struct policy_cache *cache, time_t now, size_t *ret_count)
{
	struct pg_cache *p = (struct pg_cache *)cache;
	PGresult *res = NULL;
	char when[24];
	size_t purged;
	int rc;

	snprintf(when, sizeof(when), "%lld", (long long)now);
	const char *params[] = { when };
	if ((rc = run(p, "purging the cache", sql_purge, 1, params, NULL, NULL,
		      PGRES_COMMAND_OK, &res)) != MTASTS_OK)
		return rc;
	purged = changed(res);
	PQclear(res);
	if ((rc = run(p, "purging the locks", sql_purge_locks, 0, NULL, NULL, NULL,
		      PGRES_COMMAND_OK, &res)) != MTASTS_OK)
		return rc;
	PQclear(res);
	if (ret_count != NULL)
		*ret_count = purged;
	return MTASTS_OK;
}

static int pg_count(struct policy_cache *cache, size_t *ret_count)
{
	struct pg_cache *p = (struct pg_cache *)cache;
	PGresult *res = NULL;
	int64_t n = 0;
	int rc;

	if ((rc = run(p, "counting the cache", sql_count, 0, NULL, NULL, NULL,
		      PGRES_TUPLES_OK, &res)) != MTASTS_OK)
		return rc;
	if (PQntuples(res) != 1 || int8_column(res, 0, 0, &n) != MTASTS_OK || n < 0)
		rc = store_error(p, "counting the cache", "an unexpected result");
	else
		*ret_count = (size_t)n;
	PQclear(res);
	return rc;
}

/* By domain, a page of PAGE_ROWS at a time: memory stays bounded. */
static int pg_iterate(struct policy_cache *cache, policy_cache_visit_fn *fn, void *arg)
{
	struct pg_cache *p = (struct pg_cache *)cache;
	char after[POLICY_CACHE_DOMAIN_MAX + 1] = "";
	int rows, rc;

	do {
		PGresult *res = NULL;
		const char *params[] = { after };

		if ((rc = run(p, "listing the cache", sql_page, 1, params, NULL, NULL,
			      PGRES_TUPLES_OK, &res)) != MTASTS_OK)
			return rc;
		rows = PQntuples(res);
		for (int i = 0; i < rows && rc == 0; i++) {
			struct policy_cache_entry *entry = NULL;

			if ((rc = row_entry(res, i, &entry)) != MTASTS_OK)
				break;
			strcpy(after, entry->domain);
			rc = fn(arg, entry);
			policy_cache_entry_free(entry);
		}
		PQclear(res);
	} while (rc == 0 && rows == atoi(PAGE_ROWS));
	return rc;
}

/* The lock */

static int pg_claim(struct policy_cache *cache, const char *domain, unsigned ttl_ms)
{
	struct pg_cache *p = (struct pg_cache *)cache;
	PGresult *res = NULL;
	char ttl[16];
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	if (ttl_ms == 0 || ttl_ms > POLICY_CACHE_CLAIM_TTL_MAX)
		return ttl_ms == 0 ? MTASTS_ERR_ARGUMENT : MTASTS_ERR_TOO_LARGE;
	snprintf(ttl, sizeof(ttl), "%u", ttl_ms);
	const char *params[] = { domain, p->token, ttl };
	if ((rc = run(p, "claiming", sql_claim, 3, params, NULL, NULL, PGRES_TUPLES_OK,
		      &res)) != MTASTS_OK)
		return rc;
	rc = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

static int pg_unclaim(struct policy_cache *cache, const char *domain)
{
	struct pg_cache *p = (struct pg_cache *)cache;
	PGresult *res = NULL;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	const char *params[] = { domain, p->token };
	if ((rc = run(p, "unclaiming", sql_unclaim, 2, params, NULL, NULL,
		      PGRES_COMMAND_OK, &res)) != MTASTS_OK)
		return rc;
	rc = changed(res) > 0;
	PQclear(res);
	return rc;
}

static void pg_free(struct policy_cache *cache)
{
	struct pg_cache *p = (struct pg_cache *)cache;

	disconnect(p);
	if (p->dsn != NULL) {
		explicit_bzero(p->dsn, strlen(p->dsn));	/* it may hold a password */
		free(p->dsn);
	}
	free(p);
}

static const struct policy_cache_ops pg_ops = {
	.name = "postgres",
	.get = pg_get,
	.put = pg_put,
	.delete = pg_delete,
	.purge_expired = pg_purge_expired,
	.count = pg_count,
	.iterate = pg_iterate,
	.free = pg_free,
	.claim = pg_claim,
	.unclaim = pg_unclaim,
};

/* Opening */

/* One simple-protocol statement (several may be in sql) that must succeed. */
static int exec_simple(struct pg_cache *p, const char *what, const char *sql,
		       ExecStatusType want, PGresult **ret_res)
{
	PGresult *res = NULL;
	int rc;

	if (!PQsendQuery(p->conn, sql))
		return broken(p, what, PQerrorMessage(p->conn));
	rc = run_sent(p, what, monotonic_ms() + p->timeout_ms + DEADLINE_SLACK_MS, &res);
	if (rc != MTASTS_OK)
		return rc;
	if (PQresultStatus(res) != want) {
		rc = store_error(p, what, PQresultErrorMessage(res));
		PQclear(res);
		return rc;
	}
	if (ret_res != NULL)
		*ret_res = res;
	else
		PQclear(res);
	return MTASTS_OK;
}

/* The schema's version: 0 for a database without our tables. */
static int schema_version(struct pg_cache *p, long *ret_version)
{
	PGresult *res = NULL;
	int rc = exec_simple(p, "reading the schema version",
			     "SELECT version FROM mtasts_schema", PGRES_TUPLES_OK, &res);

	if (rc != MTASTS_OK)
		return rc;
	if (PQntuples(res) > 1 || PQnfields(res) != 1)
		rc = store_error(p, "reading the schema version", "not one row");
	else
		*ret_version = PQntuples(res) == 0 ? 0 : strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/*
 * Bring the schema to POLICY_CACHE_POSTGRES_SCHEMA in one transaction,
 * under an advisory lock so that daemons starting at once take turns.
 */
static int migrate(struct pg_cache *p, char *err, size_t err_size)
{
	long version = 0;
	char sql[96];
	int rc;

	if ((rc = exec_simple(p, "starting the schema transaction",
			      "BEGIN; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ");"
			      "CREATE TABLE IF NOT EXISTS mtasts_schema (version integer NOT NULL)",
			      PGRES_COMMAND_OK, NULL)) != MTASTS_OK ||
	    (rc = schema_version(p, &version)) != MTASTS_OK)
		goto out;
	if (version < 0 || version > POLICY_CACHE_POSTGRES_SCHEMA) {
		snprintf(err, err_size, "the cache has schema version %ld, this program "
			 "knows up to %d", version, POLICY_CACHE_POSTGRES_SCHEMA);
		rc = POLICY_CACHE_ERR_STORE;
		goto out;
	}
	for (; version < POLICY_CACHE_POSTGRES_SCHEMA; version++)
		if ((rc = exec_simple(p, "making the schema", migrations[version],
				      PGRES_COMMAND_OK, NULL)) != MTASTS_OK)
			goto out;
	snprintf(sql, sizeof(sql), "DELETE FROM mtasts_schema;"
		 "INSERT INTO mtasts_schema VALUES (%d); COMMIT",
		 POLICY_CACHE_POSTGRES_SCHEMA);
	rc = exec_simple(p, "recording the schema version", sql, PGRES_COMMAND_OK, NULL);
out:
	if (rc != MTASTS_OK && p->conn != NULL)
		exec_simple(p, "rolling back", "ROLLBACK", PGRES_COMMAND_OK, NULL);
	return rc;
}

int policy_cache_postgres_open(const char *dsn, double timeout,
			       struct policy_cache **ret_cache,
			       char *err, size_t err_size)
{
	struct pg_cache *p;
	int rc;

	if (dsn == NULL || ret_cache == NULL || err == NULL || err_size == 0)
		return MTASTS_ERR_ARGUMENT;
	err[0] = '\0';
	if (strnlen(dsn, DSN_MAX + 1) > DSN_MAX) {
		snprintf(err, err_size, "the PostgreSQL dsn is longer than %d octets", DSN_MAX);
		return MTASTS_ERR_TOO_LARGE;
	}
	if (timeout == 0)
		timeout = DEFAULT_TIMEOUT;
	if (!(timeout >= 0.001 && timeout <= TIMEOUT_MAX)) {
		snprintf(err, err_size, "the PostgreSQL timeout is not between 0.001 and "
			 "%g seconds", TIMEOUT_MAX);
		return MTASTS_ERR_ARGUMENT;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->dsn = strdup(dsn)) == NULL) {
		free(p);
		return MTASTS_ERR_NOMEM;
	}
	p->base.ops = &pg_ops;
	p->timeout_ms = (int)(timeout * 1000 + 0.5);
	if (p->timeout_ms < 1)
		p->timeout_ms = 1;
	if (policy_cache_claim_token(p->token, sizeof(p->token)) != 0) {
		snprintf(err, err_size, "getrandom: %s", strerror(errno));
		rc = POLICY_CACHE_ERR_STORE;
		goto out;
	}
	if ((rc = connection(p)) == MTASTS_OK)
		rc = migrate(p, err, err_size);
	if (rc != MTASTS_OK && err[0] == '\0')
		snprintf(err, err_size, "%s", p->base.error);
	if (rc == MTASTS_OK) {
		*ret_cache = &p->base;
		p = NULL;
	}
out:
	if (p != NULL)
		pg_free(&p->base);
	return rc;
}
