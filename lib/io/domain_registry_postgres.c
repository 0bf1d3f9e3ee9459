/*
 * domain_registry_postgres.c - the domain registry in a PostgreSQL
 * database, for several servers behind a load balancer: tables made or
 * migrated at open in one transaction under an advisory lock, recorded in
 * registry_schema; statements with typed parameters; every connect and
 * statement bounded on both sides (statement_timeout on the server, a
 * deadline here, pg_wire.c).  A connection that breaks is made again on
 * the next call, but never in the middle of a transaction: the rest of it
 * fails until its ROLLBACK.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "domain_registry_internal.h"
#include "pg_wire.h"
#include "util.h"

#define RECONNECT_INTERVAL_MS 1000	/* no connect again before this long */
#define DEADLINE_SLACK_MS 500		/* past statement_timeout, the server's own */
#define SQL_MAX 1024
#define SCHEMA_LOCK_KEY "7305357837140811365"	/* pg_advisory_xact_lock key */

/* Type OIDs (pg_type.h). */
#define OID_INT8 20
#define OID_TEXT 25

/* Names sort as bytes (COLLATE "C"), as in SQLite, whatever the database's locale. */
static const char *const migrations[] = {
	"CREATE TABLE domains ("
	"  name text COLLATE \"C\" PRIMARY KEY,"
	"  mode text NOT NULL,"
	"  mx text NOT NULL,"			/* the patterns, joined by newlines */
	"  max_age bigint NOT NULL,"
	"  tlsrpt_rua text,"			/* NULL: the server's setting */
	"  created bigint NOT NULL,"
	"  updated bigint NOT NULL,"
	"  removed_at bigint NOT NULL DEFAULT 0,"
	"  removed_max_age bigint NOT NULL DEFAULT 0,"
	"  served_until bigint NOT NULL DEFAULT 0);"	/* policies served may be cached until */
	"CREATE TABLE certificates ("
	"  name text COLLATE \"C\" PRIMARY KEY,"
	"  not_before bigint NOT NULL,"
	"  not_after bigint NOT NULL,"
	"  issued_at bigint NOT NULL,"
	"  last_attempt bigint NOT NULL,"
	"  next_attempt bigint NOT NULL,"
	"  failures bigint NOT NULL,"
	"  last_error text NOT NULL);"
	"CREATE TABLE meta (name text PRIMARY KEY, value bigint NOT NULL);"
	/* a registry made again does not start where the one before did */
	"INSERT INTO meta VALUES ('generation', floor(random() * 9007199254740991)::bigint);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == REGISTRY_SCHEMA,
	       "one migration per schema version");

struct pg_registry {
	struct domain_registry base;
	PGconn *conn;			/* NULL while not connected */
	bool answered;			/* conn has answered a statement */
	bool in_transaction;		/* BEGIN answered, no COMMIT or ROLLBACK yet */
	bool transaction_lost;		/* the connection broke inside a transaction */
	long long retry_at;		/* no connect before (monotonic ms) */
	char broken_error[REGISTRY_ERROR_MAX];	/* why the connection last failed */
	char *conninfo;
};

static int store_error(struct pg_registry *p, const char *what, const char *why)
{
	char kept[244];			/* why may be base.error itself */
	size_t len = strcspn(why, "\n");

	snprintf(kept, sizeof(kept), "%.*s", (int)(len < 240 ? len : 240), why);
	snprintf(p->base.error, sizeof(p->base.error), "PostgreSQL: %.60s: %.240s", what, kept);
	return REGISTRY_UNAVAILABLE;
}

static void disconnect(struct pg_registry *p)
{
	if (p->conn != NULL)
		PQfinish(p->conn);
	p->conn = NULL;
	p->answered = false;
	if (p->in_transaction)
		p->transaction_lost = true;
	p->in_transaction = false;
}

/* The connection failed: drop it, and make none again for a while. */
static int broken(struct pg_registry *p, const char *what, const char *why)
{
	store_error(p, what, why);
	snprintf(p->broken_error, sizeof(p->broken_error), "%s", p->base.error);
	disconnect(p);
	p->retry_at = monotonic_ms() + RECONNECT_INTERVAL_MS;
	return REGISTRY_UNAVAILABLE;
}

/* The last result of the statement just sent, by the deadline. */
static int run_sent(struct pg_registry *p, const char *what, PGresult **ret_res)
{
	char why[256];
	enum pg_wire_status status = pg_wire_finish(p->conn, monotonic_ms() + REGISTRY_TIMEOUT_MS +
						    DEADLINE_SLACK_MS, ret_res, why, sizeof(why));

	if (status == PG_WIRE_OK)
		return 0;
	if (status == PG_WIRE_NO_RESULT)
		return store_error(p, what, why);
	return broken(p, what, why);
}

/* Simple-protocol statements (several may be in sql); the last must have status want. */
static int exec_simple(struct pg_registry *p, const char *what, const char *sql,
		       ExecStatusType want, PGresult **ret_res)
{
	PGresult *res = NULL;
	int rc;

	if (!PQsendQuery(p->conn, sql))
		return broken(p, what, PQerrorMessage(p->conn));
	if ((rc = run_sent(p, what, &res)) != 0)
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
	return 0;
}

/* Connected with the session's settings, or REGISTRY_UNAVAILABLE at once for a while after a failure. */
static int connection(struct pg_registry *p)
{
	char why[256], sql[64];

	if (p->conn != NULL)
		return 0;
	if (monotonic_ms() < p->retry_at) {
		/* each call begins with base.error cleared: say again why the last try failed */
		snprintf(p->base.error, sizeof(p->base.error), "%s", p->broken_error);
		return REGISTRY_UNAVAILABLE;
	}
	if (pg_wire_connect(p->conninfo, monotonic_ms() + REGISTRY_TIMEOUT_MS, &p->conn, why,
			    sizeof(why)) != PG_WIRE_OK)
		return broken(p, "connecting", why);
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d", REGISTRY_TIMEOUT_MS);
	if (exec_simple(p, "setting the session", sql, PGRES_COMMAND_OK, NULL) != 0 &&
	    p->conn != NULL)
		return broken(p, "setting the session", p->base.error);
	return p->conn != NULL ? 0 : REGISTRY_UNAVAILABLE;
}

/* ?N as $N (the statements have no '?' elsewhere). */
static int dollar_sql(const char *sql, char *out, size_t size)
{
	size_t len = strlen(sql);

	if (len >= size)
		return -1;
	for (size_t i = 0; i <= len; i++)
		out[i] = sql[i] == '?' ? '$' : sql[i];
	return 0;
}

static int send_statement(struct pg_registry *p, const char *sql,
			  const struct registry_value *params, size_t nparams)
{
	Oid types[REGISTRY_PARAMS_MAX];
	const char *values[REGISTRY_PARAMS_MAX];
	char numbers[REGISTRY_PARAMS_MAX][24];

	for (size_t i = 0; i < nparams; i++) {
		types[i] = params[i].type == REGISTRY_INT ? OID_INT8 : OID_TEXT;
		values[i] = NULL;
		if (params[i].type == REGISTRY_TEXT)
			values[i] = params[i].text;
		else if (params[i].type == REGISTRY_INT) {
			snprintf(numbers[i], sizeof(numbers[i]), "%lld", (long long)params[i].number);
			values[i] = numbers[i];
		}
	}
	return PQsendQueryParams(p->conn, sql, (int)nparams, types, values, NULL, NULL, 0);
}

static int each_row(const PGresult *res, registry_row_fn *fn, void *arg)
{
	const char *columns[REGISTRY_COLUMNS_MAX];
	int count = PQnfields(res), rc = 0;

	if (count > REGISTRY_COLUMNS_MAX)
		count = REGISTRY_COLUMNS_MAX;
	for (int row = 0; rc == 0 && row < PQntuples(res); row++) {
		for (int i = 0; i < count; i++)
			columns[i] = PQgetisnull(res, row, i) ? NULL : PQgetvalue(res, row, i);
		rc = fn(arg, columns, (size_t)count);
	}
	return rc;
}

static void note_transaction(struct pg_registry *p, const char *sql)
{
	if (strcmp(sql, "BEGIN") == 0)
		p->in_transaction = true;
	else if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0)
		p->in_transaction = false;
}

/* What the statement's result says: rows to fn, the count changed, a COMMIT that rolled back. */
static int take_result(struct pg_registry *p, const char *what, const char *sql, PGresult *res,
		       registry_row_fn *fn, void *arg, uint64_t *ret_changes)
{
	ExecStatusType status = PQresultStatus(res);
	int rc = 0;

	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
		return store_error(p, what, PQresultErrorMessage(res));
	note_transaction(p, sql);
	/* COMMIT of a transaction an error aborted succeeds, yet rolls back: its tag says so */
	if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
		return store_error(p, what, "the transaction was rolled back by an earlier error");
	if (status == PGRES_TUPLES_OK && fn != NULL)
		rc = each_row(res, fn, arg);
	if (rc == 0 && ret_changes != NULL)
		*ret_changes = strtoull(PQcmdTuples(res), NULL, 10);
	return rc;
}

static int pg_query(struct domain_registry *registry, const char *what, const char *sql,
		    const struct registry_value *params, size_t nparams, registry_row_fn *fn,
		    void *arg, uint64_t *ret_changes)
{
	struct pg_registry *p = (struct pg_registry *)registry;
	char text[SQL_MAX];

	if (nparams > REGISTRY_PARAMS_MAX || dollar_sql(sql, text, sizeof(text)) != 0)
		return store_error(p, what, "a statement too long or with too many parameters");
	if (p->transaction_lost) {
		/* the rest of a transaction whose connection broke: never on a new one */
		if (strcmp(sql, "ROLLBACK") == 0) {
			p->transaction_lost = false;
			return 0;
		}
		return store_error(p, what, "the connection was lost inside the transaction");
	}
	for (int tries = 0;; tries++) {
		PGresult *res = NULL;
		int rc = connection(p);

		if (rc != 0)
			return rc;
		bool answered = p->answered, inside = p->in_transaction;
		if (!send_statement(p, text, params, nparams))
			rc = broken(p, what, PQerrorMessage(p->conn));
		else
			rc = run_sent(p, what, &res);
		/* a connection that worked and broke (a restart): once more on a new one */
		if (rc != 0 && p->conn == NULL && answered && !inside && tries == 0) {
			p->transaction_lost = false;
			p->retry_at = 0;
			continue;
		}
		if (rc != 0)
			return rc;
		p->answered = true;
		rc = take_result(p, what, sql, res, fn, arg, ret_changes);
		PQclear(res);
		return rc;
	}
}

static void pg_close(struct domain_registry *registry)
{
	struct pg_registry *p = (struct pg_registry *)registry;

	disconnect(p);
	free(p->conninfo);
	free(p);
}

static const struct registry_ops pg_ops = {
	.begin_sql = "BEGIN",
	.integers_sql = "true",
	.query = pg_query,
	.close = pg_close,
};

/* Opening */

static int schema_version(struct pg_registry *p, long *ret_version)
{
	PGresult *res = NULL;
	int rc = exec_simple(p, "reading the schema version", "SELECT version FROM registry_schema",
			     PGRES_TUPLES_OK, &res);

	if (rc != 0)
		return rc;
	if (PQntuples(res) > 1 || PQnfields(res) != 1)
		rc = store_error(p, "reading the schema version", "not one row");
	else
		*ret_version = PQntuples(res) == 0 ? 0 : strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/*
 * Bring the schema to REGISTRY_SCHEMA in one transaction, under an
 * advisory lock so that servers starting at once take turns.
 */
static int migrate(struct pg_registry *p, char *why, size_t why_size)
{
	long version = 0;
	char sql[96];
	int rc;

	if ((rc = exec_simple(p, "starting the schema transaction",
			      "BEGIN; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ");"
			      "CREATE TABLE IF NOT EXISTS registry_schema (version integer NOT NULL)",
			      PGRES_COMMAND_OK, NULL)) != 0 ||
	    (rc = schema_version(p, &version)) != 0)
		goto out;
	if (version < 0 || version > REGISTRY_SCHEMA) {
		say_why(why, why_size, "the registry has schema version %ld, this program knows "
			"up to %d", version, REGISTRY_SCHEMA);
		rc = REGISTRY_UNAVAILABLE;
		goto out;
	}
	for (; version < REGISTRY_SCHEMA; version++)
		if ((rc = exec_simple(p, "making the schema", migrations[version],
				      PGRES_COMMAND_OK, NULL)) != 0)
			goto out;
	snprintf(sql, sizeof(sql), "DELETE FROM registry_schema;"
		 "INSERT INTO registry_schema VALUES (%d); COMMIT", REGISTRY_SCHEMA);
	rc = exec_simple(p, "recording the schema version", sql, PGRES_COMMAND_OK, NULL);
out:
	if (rc != 0 && p->conn != NULL)
		exec_simple(p, "rolling back", "ROLLBACK", PGRES_COMMAND_OK, NULL);
	return rc;
}

int domain_registry_postgres_open(const char *conninfo, struct domain_registry **ret_registry,
				  char *why, size_t why_size)
{
	struct pg_registry *p = calloc(1, sizeof(*p));
	char reason[256] = "";
	int rc;

	if (p == NULL || (p->conninfo = strdup(conninfo)) == NULL) {
		free(p);
		say_why(why, why_size, "out of memory");
		return REGISTRY_UNAVAILABLE;
	}
	p->base.ops = &pg_ops;
	if ((rc = connection(p)) == 0)
		rc = migrate(p, reason, sizeof(reason));
	if (rc != 0) {
		say_why(why, why_size, "%s", reason[0] != '\0' ? reason : p->base.error);
		pg_close(&p->base);
		return REGISTRY_UNAVAILABLE;
	}
	*ret_registry = &p->base;
	return 0;
}
