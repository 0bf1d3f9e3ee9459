/*
 * report_store_sqlite.c - the report store in an SQLite file: WAL mode with
 * synchronous=FULL (a report added is on disk), a busy timeout so that
 * writers in several processes take turns (BEGIN IMMEDIATE), foreign keys
 * on (removing a report removes its rows), a schema versioned by
 * user_version and migrated in one transaction, prepared statements kept
 * for the statements that are run again and again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "report_store_internal.h"
#include "sqlite_util.h"
#include "util.h"

/*
 * Migrations, in order: migrations[i] takes the schema from version i to
 * i + 1.  Append only; a file written by a newer program is refused.
 */
static const char *const migrations[] = {
	"CREATE TABLE report ("
	"  id INTEGER PRIMARY KEY,"
	"  organization_name TEXT NOT NULL,"
	"  report_id TEXT NOT NULL,"
	"  contact_info TEXT,"
	"  range_start INTEGER NOT NULL,"
	"  range_end INTEGER NOT NULL,"
	"  day TEXT NOT NULL,"
	"  received_at INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  origin TEXT,"
	"  dkim TEXT NOT NULL,"
	"  dkim_domain TEXT,"
	"  successes INTEGER NOT NULL,"
	"  failures INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  raw BLOB NOT NULL,"
	"  UNIQUE (organization_name, report_id));"
	"CREATE INDEX report_newest ON report (range_start DESC, id DESC);"
	"CREATE TABLE report_policy ("
	"  id INTEGER PRIMARY KEY,"
	"  report INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,"
	"  organization_name TEXT NOT NULL,"
	"  day TEXT NOT NULL,"
	"  range_start INTEGER NOT NULL,"
	"  range_end INTEGER NOT NULL,"
	"  policy_type TEXT NOT NULL,"
	"  policy_domain TEXT NOT NULL,"
	"  policy_strings TEXT NOT NULL,"
	"  mx_hosts TEXT NOT NULL,"
	"  successes INTEGER NOT NULL,"
	"  failures INTEGER NOT NULL,"
	"  first_in_report INTEGER NOT NULL,"	/* 1 for the report's first policy */
	"  first_for_domain INTEGER NOT NULL);"	/* 1 for its first with this domain */
	"CREATE INDEX report_policy_report ON report_policy (report);"
	"CREATE INDEX report_policy_day ON report_policy (day, range_start, organization_name, "
	"  policy_domain, successes, failures, first_in_report, first_for_domain);"
	"CREATE INDEX report_policy_domain_day ON report_policy (policy_domain, day, range_start, "
	"  organization_name, successes, failures, first_in_report, first_for_domain);"
	"CREATE INDEX report_policy_reporter ON report_policy (organization_name, policy_domain, "
	"  day, range_start, successes, failures, first_in_report, first_for_domain, report, "
	"  range_end);"
	"CREATE TABLE report_failure ("
	"  id INTEGER PRIMARY KEY,"
	"  policy INTEGER NOT NULL REFERENCES report_policy (id) ON DELETE CASCADE,"
	"  report INTEGER NOT NULL,"
	"  organization_name TEXT NOT NULL,"
	"  policy_domain TEXT NOT NULL,"
	"  day TEXT NOT NULL,"
	"  range_start INTEGER NOT NULL,"
	"  result_type TEXT NOT NULL,"
	"  sending_mta_ip TEXT,"
	"  receiving_mx_hostname TEXT,"
	"  receiving_mx_helo TEXT,"
	"  receiving_ip TEXT,"
	"  failed_session_count INTEGER NOT NULL,"
	"  additional_information TEXT,"
	"  failure_reason_code TEXT);"
	"CREATE INDEX report_failure_policy ON report_failure (policy);"
	"CREATE INDEX report_failure_start ON report_failure (range_start);"
	"CREATE INDEX report_failure_domain_type ON report_failure (policy_domain, result_type, "
	"  range_start, report, failed_session_count);"
	"CREATE INDEX report_failure_domain_mx ON report_failure (policy_domain, "
	"  receiving_mx_hostname, range_start, report, failed_session_count);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == REPORT_STORE_SCHEMA,
	       "one migration per schema version");

#define CACHED_STATEMENTS 12		/* statements kept prepared, by their text */
#define BATCH_CACHE_KIB "-65536"		/* page cache during a batch: 64 MiB (negative: KiB) */
#define DEFAULT_CACHE_KIB "-2000"	/* and otherwise, SQLite's default */
#define BATCH_CHECKPOINT_PAGES "10000"	/* WAL pages before a checkpoint after a batch: 40 MiB */
#define DEFAULT_CHECKPOINT_PAGES "1000"	/* and otherwise, SQLite's default */

struct sqlite_store {
	struct report_store base;
	sqlite3 *db;
	struct {
		const char *sql;	/* a static text: compared by address */
		sqlite3_stmt *stmt;
	} cache[CACHED_STATEMENTS];
};

/* Whether an SQLite error is one to try again later. */
static bool unavailable(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_FULL: case SQLITE_IOERR:
	case SQLITE_CANTOPEN: case SQLITE_READONLY: case SQLITE_PROTOCOL:
		return true;
	default:
		return false;
	}
}

static int failed(struct sqlite_store *s, int rc, const char *what)
{
	if ((rc & 0xff) == SQLITE_NOMEM)
		return RS_NOMEM;
	rs_error(&s->base, "SQLite: %s: %s", what, sqlite3_errmsg(s->db));
	return unavailable(rc) ? RS_UNAVAILABLE : RS_FAILED;
}

static int bind_params(sqlite3_stmt *stmt, const struct rs_value *params, size_t nparams)
{
	int count = sqlite3_bind_parameter_count(stmt);

	for (size_t i = 0; i < nparams && (int)i < count; i++) {
		const struct rs_value *p = &params[i];
		int col = (int)i + 1, rc;

		switch (p->type) {
		case RS_TEXT:
			rc = sqlite3_bind_text64(stmt, col, p->s, p->len, SQLITE_STATIC, SQLITE_UTF8);
			break;
		case RS_BLOB:
			rc = sqlite3_bind_blob64(stmt, col, p->s, p->len, SQLITE_STATIC);
			break;
		case RS_INT:
			rc = sqlite3_bind_int64(stmt, col, p->i);
			break;
		default:
			rc = sqlite3_bind_null(stmt, col);
			break;
		}
		if (rc != SQLITE_OK && rc != SQLITE_RANGE)
			return rc;
	}
	return SQLITE_OK;
}

static void row_values(sqlite3_stmt *stmt, struct rs_value *columns, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int col = (int)i;

		memset(&columns[i], 0, sizeof(columns[i]));
		switch (sqlite3_column_type(stmt, col)) {
		case SQLITE_INTEGER:
			columns[i].type = RS_INT;
			columns[i].i = sqlite3_column_int64(stmt, col);
			break;
		case SQLITE_TEXT:
			columns[i].type = RS_TEXT;
			columns[i].s = (const char *)sqlite3_column_text(stmt, col);
			columns[i].len = (size_t)sqlite3_column_bytes(stmt, col);
			break;
		case SQLITE_BLOB:
			columns[i].type = RS_BLOB;
			columns[i].s = sqlite3_column_blob(stmt, col);
			columns[i].len = (size_t)sqlite3_column_bytes(stmt, col);
			break;
		case SQLITE_FLOAT:
			columns[i].type = RS_INT;
			columns[i].i = (int64_t)sqlite3_column_double(stmt, col);
			break;
		default:
			columns[i].type = RS_NULL;
			break;
		}
	}
}

/*
 * Whether sql is one of the statements each report runs (report_store.c's
 * static texts): only texts that never change may be kept by address, not
 * those with a WHERE built at run time.
 */
static bool kept_statement(const char *sql)
{
	static const char *const prefixes[] = {
		"INSERT ", "SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ",
		"SELECT id FROM report WHERE organization_name = ?1 AND report_id = ?2",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(sql, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* The prepared statement for sql: kept when sql is one of the adding statements' texts. */
static int prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **ret_stmt, bool *ret_kept)
{
	size_t slot = CACHED_STATEMENTS;
	int rc;

	for (size_t i = 0; i < CACHED_STATEMENTS; i++) {
		if (s->cache[i].sql == sql) {
			*ret_stmt = s->cache[i].stmt;
			*ret_kept = true;
			return SQLITE_OK;
		}
		if (s->cache[i].sql == NULL && slot == CACHED_STATEMENTS)
			slot = i;
	}
	bool keep = slot < CACHED_STATEMENTS && kept_statement(sql);
	rc = sqlite3_prepare_v3(s->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, ret_stmt, NULL);
	if (rc == SQLITE_OK && keep) {
		s->cache[slot].sql = sql;
		s->cache[slot].stmt = *ret_stmt;
	}
	*ret_kept = rc == SQLITE_OK && keep;
	return rc;
}

static int sqlite_query(struct report_store *store, const char *what, const char *sql,
			const struct rs_value *params, size_t nparams, rs_row_fn each, void *arg,
			uint64_t *ret_changes)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct rs_value columns[RS_COLUMNS_MAX];
	sqlite3_stmt *stmt = NULL;
	bool kept = false;
	int rc = prepare(s, sql, &stmt, &kept), result = RS_OK;

	if (rc != SQLITE_OK)
		return failed(s, rc, what);
	if ((rc = bind_params(stmt, params, nparams)) != SQLITE_OK) {
		result = failed(s, rc, what);
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int count = sqlite3_column_count(stmt);
		if (count > RS_COLUMNS_MAX)
			count = RS_COLUMNS_MAX;
		row_values(stmt, columns, (size_t)count);
		if (each != NULL && (result = each(columns, (size_t)count, arg)) != RS_OK) {
			if (result == RS_FAILED)
				rs_error(store, "SQLite: %s: a row not as written", what);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		result = failed(s, rc, what);
		goto out;
	}
	if (ret_changes != NULL)
		*ret_changes = (uint64_t)sqlite3_changes64(s->db);
out:
	if (kept) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	} else
		sqlite3_finalize(stmt);
	return result;
}

/*
 * Around a batch (outside its transaction: temp_store cannot change inside
 * one).  A batch of reports dirties pages all over the indexes: kept in
 * memory until the commit instead of spilled to the WAL before it (SQLite's
 * default cache is 2 MiB).  A statement that needs a statement journal
 * (an INSERT into a table with a trigger) keeps the pages it changes as they
 * were, in a temporary file past 64 KiB unless temp_store is MEMORY.
 * Batches one after the other dirty the same index pages
 * again: checkpointed after several commits, not after each, they are
 * copied into the file once.  All back to the defaults after.  A pragma
 * that fails leaves things as they were: slower, not wrong.
 */
static void sqlite_batch(struct report_store *store, bool open)
{
	struct sqlite_store *s = (struct sqlite_store *)store;

	sqlite3_exec(s->db, open ? "PRAGMA cache_size = " BATCH_CACHE_KIB "; PRAGMA temp_store = MEMORY; "
				   "PRAGMA wal_autocheckpoint = " BATCH_CHECKPOINT_PAGES
				 : "PRAGMA cache_size = " DEFAULT_CACHE_KIB "; PRAGMA temp_store = DEFAULT; "
				   "PRAGMA wal_autocheckpoint = " DEFAULT_CHECKPOINT_PAGES,
		     NULL, NULL, NULL);
}

static int64_t sqlite_last_id(struct report_store *store)
{
	return sqlite3_last_insert_rowid(((struct sqlite_store *)store)->db);
}

static bool sqlite_in_transaction(struct report_store *store)
{
	return sqlite3_get_autocommit(((struct sqlite_store *)store)->db) == 0;
}

static void sqlite_free(struct report_store *store)
{
	struct sqlite_store *s = (struct sqlite_store *)store;

	for (size_t i = 0; i < CACHED_STATEMENTS; i++)
		sqlite3_finalize(s->cache[i].stmt);
	sqlite3_close(s->db);
	free(s);
}

static const struct report_store_ops sqlite_ops = {
	.name = "sqlite",
	.begin_sql = "BEGIN IMMEDIATE",
	.query = sqlite_query,
	.batch = sqlite_batch,
	.free = sqlite_free,
	.last_id = sqlite_last_id,
	.in_transaction = sqlite_in_transaction,
};

/* Opening */

/*
 * Foreign keys on; then, unless read only, WAL and synchronous=FULL, and
 * the schema migrated (in a write transaction, begun first); read only,
 * the schema only checked.
 */
static int prepare_file(sqlite3 *db, const void *arg, char *why, size_t why_size)
{
	const struct report_store_options *options = arg;
	sqlite3_int64 version = 0;
	int rc = sqlite_noted(db, sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL),
			      "turning foreign keys on", why, why_size);

	if (rc != SQLITE_OK)
		return rc;
	if (options->read_only)
		return sqlite_schema_check(db, "the report store", REPORT_STORE_SCHEMA, &version,
					   why, why_size);
	if ((rc = sqlite_wal(db, "the report store", "FULL", why, why_size)) != SQLITE_OK)
		return rc;
	return sqlite_schema_migrate(db, "the report store", migrations, REPORT_STORE_SCHEMA, why,
				     why_size);
}

int report_store_sqlite_open(const char *path, const struct report_store_options *options,
			     struct report_store **ret_store, char *why, size_t why_size)
{
	struct sqlite_store *s = calloc(1, sizeof(*s));
	char reason[256] = "";
	int rc;

	if (s == NULL) {
		snprintf(why, why_size, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	s->base.ops = &sqlite_ops;
	s->base.read_only = options->read_only;
	/* a new file with mode 0640 (SQLite would use 0644 less the umask) */
	rc = sqlite_open_file(path, options->read_only ? SQLITE_OPEN_READONLY
			      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			      options->read_only ? 0 : 0640, options->timeout_ms, prepare_file,
			      options, &s->db, reason, sizeof(reason));
	if (rc != SQLITE_OK) {
		if (reason[0] != '\0')
			snprintf(why, why_size, "%.200s: %s", path, reason);
		else
			snprintf(why, why_size, "%.200s: %s", path,
				 s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		int error = (rc & 0xff) == SQLITE_NOMEM ? ENOMEM : unavailable(rc) ? EAGAIN : EINVAL;
		sqlite_free(&s->base);
		errno = error;	/* after sqlite3_close(), which may set it */
		return -1;
	}
	*ret_store = &s->base;
	return 0;
}
