/*
 * domain_registry_sqlite.c - the domain registry in an SQLite file, for
 * one server: made with mode 0600, WAL mode with synchronous=FULL, a busy
 * timeout so that `mtasts domains` and `mtasts serve` take turns (writes
 * are BEGIN IMMEDIATE), a schema versioned by user_version and migrated
 * in one transaction (none is begun for a file at this version already).
 */
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "domain_registry_internal.h"
#include "sqlite_util.h"
#include "util.h"

/*
 * Migrations, in order: migrations[i] takes the schema from version i to
 * i + 1.  Append only; a file written by a newer program is refused.
 * Values are checked by domain_registry.c when written and when read.
 */
static const char *const migrations[] = {
	"CREATE TABLE domains ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  mode TEXT NOT NULL,"
	"  mx TEXT NOT NULL,"			/* the patterns, joined by newlines */
	"  max_age INTEGER NOT NULL,"
	"  tlsrpt_rua TEXT,"			/* NULL: the server's setting */
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  removed_at INTEGER NOT NULL DEFAULT 0,"
	"  removed_max_age INTEGER NOT NULL DEFAULT 0,"
	"  served_until INTEGER NOT NULL DEFAULT 0);"	/* policies served may be cached until */
	"CREATE TABLE certificates ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  last_attempt INTEGER NOT NULL,"
	"  next_attempt INTEGER NOT NULL,"
	"  failures INTEGER NOT NULL,"
	"  last_error TEXT NOT NULL);"
	"CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);"
	/* a registry made again does not start where the one before did */
	"INSERT INTO meta VALUES ('generation', random() & 9007199254740991);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == REGISTRY_SCHEMA,
	       "one migration per schema version");

struct sqlite_registry {
	struct domain_registry base;
	sqlite3 *db;
};

static int failed(struct sqlite_registry *s, const char *what)
{
	snprintf(s->base.error, sizeof(s->base.error), "SQLite: %s: %s", what,
		 sqlite3_errmsg(s->db));
	return REGISTRY_UNAVAILABLE;
}

static int bind_params(sqlite3_stmt *stmt, const struct registry_value *params, size_t nparams)
{
	for (size_t i = 0; i < nparams; i++) {
		int col = (int)i + 1, rc;

		switch (params[i].type) {
		case REGISTRY_TEXT:
			rc = sqlite3_bind_text(stmt, col, params[i].text, -1, SQLITE_STATIC);
			break;
		case REGISTRY_INT:
			rc = sqlite3_bind_int64(stmt, col, params[i].number);
			break;
		default:
			rc = sqlite3_bind_null(stmt, col);
			break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int sqlite_query(struct domain_registry *registry, const char *what, const char *sql,
			const struct registry_value *params, size_t nparams, registry_row_fn *fn,
			void *arg, uint64_t *ret_changes)
{
	struct sqlite_registry *s = (struct sqlite_registry *)registry;
	const char *columns[REGISTRY_COLUMNS_MAX];
	sqlite3_stmt *stmt = NULL;
	int rc, result = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return failed(s, what);
	if (bind_params(stmt, params, nparams) != SQLITE_OK) {
		result = failed(s, what);
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int count = sqlite3_column_count(stmt);

		if (count > REGISTRY_COLUMNS_MAX)
			count = REGISTRY_COLUMNS_MAX;
		for (int i = 0; i < count; i++)
			columns[i] = (const char *)sqlite3_column_text(stmt, i);
		if (fn != NULL && (result = fn(arg, columns, (size_t)count)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		result = failed(s, what);
		goto out;
	}
	if (ret_changes != NULL)
		*ret_changes = (uint64_t)sqlite3_changes(s->db);
out:
	sqlite3_finalize(stmt);
	return result;
}

static void sqlite_close(struct domain_registry *registry)
{
	struct sqlite_registry *s = (struct sqlite_registry *)registry;

	sqlite3_close(s->db);
	free(s);
}

static const struct registry_ops sqlite_ops = {
	.begin_sql = "BEGIN IMMEDIATE",
	.integers_sql = "typeof(removed_at) = 'integer' AND typeof(removed_max_age) = 'integer' "
			"AND typeof(served_until) = 'integer'",
	.query = sqlite_query,
	.close = sqlite_close,
};

/* Opening */

/* Bring the schema to REGISTRY_SCHEMA; no write transaction begun when it is there. */
static int migrate(sqlite3 *db, char *why, size_t why_size)
{
	sqlite3_int64 version = 0;
	int rc = sqlite_schema_check(db, "the registry", REGISTRY_SCHEMA, &version, why, why_size);

	if (rc != SQLITE_OK || version == REGISTRY_SCHEMA)
		return rc;
	return sqlite_schema_migrate(db, "the registry", migrations, REGISTRY_SCHEMA, why,
				     why_size);
}

/* WAL and synchronous=FULL, unless the file cannot be written (then as it is); migrated. */
static int prepare_file(sqlite3 *db, const void *arg, char *why, size_t why_size)
{
	int rc = SQLITE_OK;

	(void)arg;
	if (sqlite3_db_readonly(db, "main") != 1)
		rc = sqlite_wal(db, "the registry", "FULL", why, why_size);
	return rc == SQLITE_OK ? migrate(db, why, why_size) : rc;
}

int domain_registry_sqlite_open(const char *path, struct domain_registry **ret_registry,
				char *why, size_t why_size)
{
	struct sqlite_registry *s = calloc(1, sizeof(*s));
	char reason[256] = "";
	int rc;

	if (s == NULL) {
		say_why(why, why_size, "out of memory");
		return REGISTRY_UNAVAILABLE;
	}
	s->base.ops = &sqlite_ops;
	/* made with mode 0600: it says which domains a server hosts */
	rc = sqlite_open_file(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0600,
			      REGISTRY_TIMEOUT_MS, prepare_file, NULL, &s->db, reason,
			      sizeof(reason));
	if (rc != SQLITE_OK) {
		say_why(why, why_size, "%.200s: %s", path, reason[0] != '\0' ? reason
			: s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		sqlite_close(&s->base);
		return REGISTRY_UNAVAILABLE;
	}
	*ret_registry = &s->base;
	return 0;
}
