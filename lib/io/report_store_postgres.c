/*
 * report_store_postgres.c - the report store in a PostgreSQL database
 * (libpq): tables made or migrated at open in one transaction under an
 * advisory lock; parameterized statements with typed parameters; every
 * connect and statement bounded by the timeout on both sides
 * (statement_timeout on the server, a deadline here); a connection that
 * breaks is made again on the next call, and a circuit breaker keeps a
 * dead server from costing a connect per call.  A transaction whose
 * connection broke fails to its end (ROLLBACK): its later statements are
 * never run on a new connection.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_wire.h"
#include "report_store_internal.h"
#include "util.h"

#define RECONNECT_INTERVAL_MS 1000	/* the breaker stays open this long */
#define DEADLINE_SLACK_MS 500		/* past statement_timeout, the server's own */
#define SQL_MAX 4096
#define SCHEMA_LOCK_KEY "7305357837140811364"	/* pg_advisory_xact_lock key */

/* Type OIDs (pg_type.h). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25

static const char *const migrations[] = {
	"CREATE TABLE report ("
	"  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  organization_name text NOT NULL,"
	"  report_id text NOT NULL,"
	"  contact_info text,"
	"  range_start bigint NOT NULL,"
	"  range_end bigint NOT NULL,"
	"  day text NOT NULL,"
	"  received_at bigint NOT NULL,"
	"  source text NOT NULL,"
	"  origin text,"
	"  dkim text NOT NULL,"
	"  dkim_domain text,"
	"  successes bigint NOT NULL,"
	"  failures bigint NOT NULL,"
	"  sha256 text NOT NULL,"
	"  raw bytea NOT NULL,"
	"  UNIQUE (organization_name, report_id));"
	"CREATE INDEX report_newest ON report (range_start DESC, id DESC);"
	"CREATE TABLE report_policy ("
	"  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  report bigint NOT NULL REFERENCES report (id) ON DELETE CASCADE,"
	"  organization_name text NOT NULL,"
	"  day text NOT NULL,"
	"  range_start bigint NOT NULL,"
	"  range_end bigint NOT NULL,"
	"  policy_type text NOT NULL,"
	"  policy_domain text NOT NULL,"
	"  policy_strings text NOT NULL,"
	"  mx_hosts text NOT NULL,"
	"  successes bigint NOT NULL,"
	"  failures bigint NOT NULL,"
	"  first_in_report integer NOT NULL,"	/* 1 for the report's first policy */
	"  first_for_domain integer NOT NULL);"	/* 1 for its first with this domain */
	"CREATE INDEX report_policy_report ON report_policy (report);"
	"CREATE INDEX report_policy_day ON report_policy (day, range_start) INCLUDE "
	"  (organization_name, policy_domain, successes, failures, first_in_report, "
	"  first_for_domain);"
	"CREATE INDEX report_policy_domain_day ON report_policy (policy_domain, day, range_start) "
	"  INCLUDE (organization_name, successes, failures, first_in_report, first_for_domain);"
	"CREATE INDEX report_policy_reporter ON report_policy (organization_name, policy_domain, "
	"  day, range_start) INCLUDE (successes, failures, first_in_report, first_for_domain, "
	"  report, range_end);"
	"CREATE TABLE report_failure ("
	"  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  policy bigint NOT NULL REFERENCES report_policy (id) ON DELETE CASCADE,"
	"  report bigint NOT NULL,"
	"  organization_name text NOT NULL,"
	"  policy_domain text NOT NULL,"
	"  day text NOT NULL,"
	"  range_start bigint NOT NULL,"
	"  result_type text NOT NULL,"
	"  sending_mta_ip text,"
	"  receiving_mx_hostname text,"
	"  receiving_mx_helo text,"
	"  receiving_ip text,"
	"  failed_session_count bigint NOT NULL,"
	"  additional_information text,"
	"  failure_reason_code text);"
	"CREATE INDEX report_failure_policy ON report_failure (policy);"
	"CREATE INDEX report_failure_start ON report_failure (range_start);"
	"CREATE INDEX report_failure_domain_type ON report_failure (policy_domain, result_type, "
	"  range_start) INCLUDE (report, failed_session_count);"
	"CREATE INDEX report_failure_domain_mx ON report_failure (policy_domain, "
	"  receiving_mx_hostname, range_start) INCLUDE (report, failed_session_count);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == REPORT_STORE_SCHEMA,
	       "one migration per schema version");

struct pg_store {
	struct report_store base;
	PGconn *conn;			/* NULL while not connected */
	bool answered;			/* conn has answered a statement */
	bool timed_out;			/* the last failure was a deadline */
	bool in_transaction;		/* BEGIN sent and answered, no COMMIT or ROLLBACK yet */
	bool transaction_lost;		/* the connection broke inside a transaction */
	bool read_only;
	long long retry_at;		/* no connect before (monotonic ms) */
	char *conninfo;
	int timeout_ms;
};

static int store_error(struct pg_store *p, const char *what, const char *why)
{
	size_t len = strcspn(why, "\n");

	rs_error(&p->base, "PostgreSQL: %.60s: %.*s", what, (int)(len < 240 ? len : 240), why);
	return RS_FAILED;
}

static void disconnect(struct pg_store *p)
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
static int broken(struct pg_store *p, const char *what, const char *why)
{
	store_error(p, what, why);
	disconnect(p);
	p->retry_at = monotonic_ms() + RECONNECT_INTERVAL_MS;
	return RS_UNAVAILABLE;
}

static int connect_bounded(struct pg_store *p)
{
	char why[256];

	switch (pg_wire_connect(p->conninfo, monotonic_ms() + p->timeout_ms, &p->conn, why,
				sizeof(why))) {
	case PG_WIRE_OK:
		return RS_OK;
	case PG_WIRE_NOMEM:
		return RS_NOMEM;
	case PG_WIRE_TIMEOUT:
		p->timed_out = true;
		break;
	case PG_WIRE_BROKEN:
	case PG_WIRE_NO_RESULT:
		break;
	}
	return broken(p, "connecting", why);
}

/* The last result of the statement just sent, by the deadline. */
static int run_sent(struct pg_store *p, const char *what, PGresult **ret_res)
{
	char why[256];

	switch (pg_wire_finish(p->conn, monotonic_ms() + p->timeout_ms + DEADLINE_SLACK_MS, ret_res,
			       why, sizeof(why))) {
	case PG_WIRE_OK:
		return RS_OK;
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

/* Simple-protocol statements (several may be in sql); the last must have status want. */
static int exec_simple(struct pg_store *p, const char *what, const char *sql, ExecStatusType want,
		       PGresult **ret_res)
{
	PGresult *res = NULL;
	int rc;

	if (!PQsendQuery(p->conn, sql))
		return broken(p, what, PQerrorMessage(p->conn));
	if ((rc = run_sent(p, what, &res)) != RS_OK)
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
	return RS_OK;
}

/* Connected with the session's settings, or RS_UNAVAILABLE at once while the breaker is open. */
static int connection(struct pg_store *p)
{
	char sql[160];
	int rc;

	if (p->conn != NULL)
		return RS_OK;
	if (monotonic_ms() < p->retry_at)
		return RS_UNAVAILABLE;	/* base.error says why the last try failed */
	if ((rc = connect_bounded(p)) != RS_OK)
		return rc;
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; SET default_transaction_read_only = %s",
		 p->timeout_ms, p->read_only ? "on" : "off");
	if ((rc = exec_simple(p, "setting the session", sql, PGRES_COMMAND_OK, NULL)) != RS_OK &&
	    p->conn != NULL)
		rc = broken(p, "setting the session", p->base.error);
	return rc;
}

/* Whether a statement's error is one to try again later (SQLSTATE classes). */
static bool transient(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (state == NULL)
		return false;
	return strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
	       strncmp(state, "57", 2) == 0 || strcmp(state, "40001") == 0 ||
	       strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0;
}

/* ?N as $N (the shared statements have no '?' elsewhere). */
static int dollar_sql(const char *sql, char *out, size_t size)
{
	size_t len = strlen(sql);

	if (len >= size)
		return -1;
	for (size_t i = 0; i <= len; i++)
		out[i] = sql[i] == '?' ? '$' : sql[i];
	return 0;
}

static int send_statement(struct pg_store *p, const char *sql, const struct rs_value *params,
			  size_t nparams)
{
	Oid types[RS_PARAMS_MAX];
	const char *values[RS_PARAMS_MAX];
	int lengths[RS_PARAMS_MAX], formats[RS_PARAMS_MAX];
	char numbers[RS_PARAMS_MAX][24];

	for (size_t i = 0; i < nparams; i++) {
		const struct rs_value *v = &params[i];

		values[i] = NULL;
		lengths[i] = 0;
		formats[i] = 0;
		switch (v->type) {
		case RS_TEXT:
			types[i] = OID_TEXT;
			values[i] = v->s;
			lengths[i] = (int)v->len;
			break;
		case RS_BLOB:
			types[i] = OID_BYTEA;
			values[i] = v->s;
			lengths[i] = (int)v->len;
			formats[i] = 1;
			break;
		case RS_INT:
			types[i] = OID_INT8;
			snprintf(numbers[i], sizeof(numbers[i]), "%lld", (long long)v->i);
			values[i] = numbers[i];
			break;
		case RS_NULL_INT:
			types[i] = OID_INT8;
			break;
		default:
			types[i] = OID_TEXT;
			break;
		}
	}
	return PQsendQueryParams(p->conn, sql, (int)nparams, types, values, lengths, formats, 0);
}

/* One row's values; bytea unescaped into *ret_blob (freed by the caller). */
static int row_values(const PGresult *res, int row, struct rs_value *columns, size_t count,
		      unsigned char **blobs)
{
	for (size_t i = 0; i < count; i++) {
		int col = (int)i;
		const char *text = PQgetvalue(res, row, col);
		Oid type = PQftype(res, col);

		memset(&columns[i], 0, sizeof(columns[i]));
		if (PQgetisnull(res, row, col)) {
			columns[i].type = RS_NULL;
		} else if (type == OID_INT8 || type == OID_INT4 || type == OID_INT2) {
			columns[i].type = RS_INT;
			columns[i].i = strtoll(text, NULL, 10);
		} else if (type == OID_BYTEA) {
			size_t len = 0;
			blobs[i] = PQunescapeBytea((const unsigned char *)text, &len);
			if (blobs[i] == NULL)
				return RS_NOMEM;
			columns[i].type = RS_BLOB;
			columns[i].s = (const char *)blobs[i];
			columns[i].len = len;
		} else {
			columns[i].type = RS_TEXT;
			columns[i].s = text;
			columns[i].len = (size_t)PQgetlength(res, row, col);
		}
	}
	return RS_OK;
}

static int each_row(struct pg_store *p, const char *what, const PGresult *res, rs_row_fn each,
		    void *arg)
{
	struct rs_value columns[RS_COLUMNS_MAX];
	size_t count = (size_t)PQnfields(res);
	int rc = RS_OK;

	if (count > RS_COLUMNS_MAX)
		count = RS_COLUMNS_MAX;
	for (int row = 0; rc == RS_OK && row < PQntuples(res); row++) {
		unsigned char *blobs[RS_COLUMNS_MAX] = { 0 };

		rc = row_values(res, row, columns, count, blobs);
		if (rc == RS_OK && (rc = each(columns, count, arg)) == RS_FAILED)
			rs_error(&p->base, "PostgreSQL: %s: a row not as written", what);
		for (size_t i = 0; i < count; i++)
			PQfreemem(blobs[i]);
	}
	return rc;
}

/* Keep track of the transaction the statement starts or ends. */
static void note_transaction(struct pg_store *p, const char *sql)
{
	if (strcmp(sql, "BEGIN") == 0)
		p->in_transaction = true;
	else if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0)
		p->in_transaction = false;
}

static int pg_query(struct report_store *store, const char *what, const char *sql,
		    const struct rs_value *params, size_t nparams, rs_row_fn each, void *arg,
		    uint64_t *ret_changes)
{
	struct pg_store *p = (struct pg_store *)store;
	char text[SQL_MAX];

	if (nparams > RS_PARAMS_MAX || dollar_sql(sql, text, sizeof(text)) != 0)
		return store_error(p, what, "a statement too long or with too many parameters");
	if (p->transaction_lost) {
		/* the rest of a transaction whose connection broke: never on a new one */
		if (strcmp(sql, "ROLLBACK") == 0) {
			p->transaction_lost = false;
			return RS_OK;
		}
		return RS_UNAVAILABLE;
	}
	for (int tries = 0;; tries++) {
		PGresult *res = NULL;
		int rc = connection(p);

		if (rc != RS_OK)
			return rc;
		bool answered = p->answered, inside = p->in_transaction;
		p->timed_out = false;
		if (!send_statement(p, text, params, nparams))
			rc = broken(p, what, PQerrorMessage(p->conn));
		else
			rc = run_sent(p, what, &res);
		/* a connection that worked and broke (a restart): once more on a new one */
		if (rc == RS_UNAVAILABLE && p->conn == NULL && answered && !inside &&
		    !p->timed_out && tries == 0) {
			p->transaction_lost = false;
			p->retry_at = 0;
			continue;
		}
		if (rc != RS_OK)
			return rc;
		p->answered = true;
		ExecStatusType status = PQresultStatus(res);
		if (status == PGRES_TUPLES_OK && each != NULL)
			rc = each_row(p, what, res, each, arg);
		else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
			rc = transient(res) ? RS_UNAVAILABLE : RS_FAILED;
			store_error(p, what, PQresultErrorMessage(res));
		}
		/*
		 * COMMIT of a transaction an error aborted succeeds as a
		 * command, yet rolls everything back: its tag says so.
		 */
		if (rc == RS_OK && strcmp(sql, "COMMIT") == 0 &&
		    strcmp(PQcmdStatus(res), "COMMIT") != 0) {
			rc = RS_UNAVAILABLE;
			store_error(p, what, "the transaction was rolled back by an earlier error");
		}
		if (rc == RS_OK && ret_changes != NULL)
			*ret_changes = strtoull(PQcmdTuples(res), NULL, 10);
		if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
			note_transaction(p, sql);
		PQclear(res);
		return rc;
	}
}

static void pg_free(struct report_store *store)
{
	struct pg_store *p = (struct pg_store *)store;

	disconnect(p);
	free(p->conninfo);
	free(p);
}

static const struct report_store_ops pg_ops = {
	.name = "postgresql",
	.begin_sql = "BEGIN",
	.query = pg_query,
	.free = pg_free,
};

/* Opening */

/* The schema's version: 0 for a database without the tables. */
static int schema_version(struct pg_store *p, long *ret_version)
{
	PGresult *res = NULL;
	int rc = exec_simple(p, "reading the schema version",
			     "SELECT version FROM report_schema", PGRES_TUPLES_OK, &res);

	if (rc != RS_OK)
		return rc;
	if (PQntuples(res) > 1 || PQnfields(res) != 1)
		rc = store_error(p, "reading the schema version", "not one row");
	else
		*ret_version = PQntuples(res) == 0 ? 0 : strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/*
 * Bring the schema to REPORT_STORE_SCHEMA in one transaction, under an
 * advisory lock so that receivers starting at once take turns.  Returns
 * 1 when the database is newer than this program.
 */
static int migrate(struct pg_store *p, char *why, size_t why_size)
{
	long version = 0;
	char sql[96];
	int rc;

	if ((rc = exec_simple(p, "starting the schema transaction",
			      "BEGIN; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ");"
			      "CREATE TABLE IF NOT EXISTS report_schema (version integer NOT NULL)",
			      PGRES_COMMAND_OK, NULL)) != RS_OK ||
	    (rc = schema_version(p, &version)) != RS_OK)
		goto out;
	if (version < 0 || version > REPORT_STORE_SCHEMA) {
		snprintf(why, why_size, "the report store has schema version %ld, this program "
			 "knows up to %d", version, REPORT_STORE_SCHEMA);
		rc = 1;
		goto out;
	}
	for (; version < REPORT_STORE_SCHEMA; version++)
		if ((rc = exec_simple(p, "making the schema", migrations[version],
				      PGRES_COMMAND_OK, NULL)) != RS_OK)
			goto out;
	snprintf(sql, sizeof(sql), "DELETE FROM report_schema;"
		 "INSERT INTO report_schema VALUES (%d); COMMIT", REPORT_STORE_SCHEMA);
	rc = exec_simple(p, "recording the schema version", sql, PGRES_COMMAND_OK, NULL);
out:
	if (rc != RS_OK && p->conn != NULL)
		exec_simple(p, "rolling back", "ROLLBACK", PGRES_COMMAND_OK, NULL);
	return rc;
}

/* Read-only: the version must be one this program reads. */
static int check_version(struct pg_store *p, char *why, size_t why_size)
{
	long version = 0;
	int rc = schema_version(p, &version);

	if (rc == RS_OK && version != REPORT_STORE_SCHEMA) {
		snprintf(why, why_size, "the report store has schema version %ld, this program "
			 "reads %d", version, REPORT_STORE_SCHEMA);
		return 1;
	}
	return rc;
}

int report_store_postgres_open(const char *conninfo, const struct report_store_options *options,
			       struct report_store **ret_store, char *why, size_t why_size)
{
	struct pg_store *p = calloc(1, sizeof(*p));
	char reason[256] = "";
	int rc;

	if (p == NULL || (p->conninfo = strdup(conninfo)) == NULL) {
		free(p);
		snprintf(why, why_size, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	p->base.ops = &pg_ops;
	p->base.read_only = options->read_only;
	p->read_only = options->read_only;
	p->timeout_ms = options->timeout_ms > 3600000u ? 3600000 : (int)options->timeout_ms;
	rc = connection(p);
	if (rc == RS_OK)
		rc = options->read_only ? check_version(p, reason, sizeof(reason))
					: migrate(p, reason, sizeof(reason));
	if (rc != RS_OK) {
		snprintf(why, why_size, "%s", reason[0] != '\0' ? reason : p->base.error);
		int error = rc == RS_NOMEM ? ENOMEM : rc == RS_UNAVAILABLE ? EAGAIN : EINVAL;
		pg_free(&p->base);
		errno = error;	/* after PQfinish(), which may set it */
		return -1;
	}
	*ret_store = &p->base;
	return 0;
}
