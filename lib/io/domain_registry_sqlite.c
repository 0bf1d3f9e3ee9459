/*
 * domain_registry_sqlite.c - the domain registry in an SQLite file, for
 * one server: made with mode 0600, WAL mode with synchronous=FULL, a busy
 * timeout so that `mtasts domains` and `mtasts serve` take turns (writes
 * are BEGIN IMMEDIATE), a schema versioned by user_version and migrated
 * in one transaction (none is begun for a file at this version already).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "domain_registry_internal.h"
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

#define BUSY_RETRY_MS 10		/* between tries of a busy file at open */

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

static int pragma_value(sqlite3 *db, const char *sql, sqlite3_int64 *ret_value, char *ret_text,
			size_t text_size)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (ret_value != NULL)
			*ret_value = sqlite3_column_int64(stmt, 0);
		if (ret_text != NULL) {
			const unsigned char *t = sqlite3_column_text(stmt, 0);
			snprintf(ret_text, text_size, "%s", t != NULL ? (const char *)t : "");
		}
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* rc, with what failed and SQLite's message in why (taken before a ROLLBACK resets it). */
static int noted(sqlite3 *db, int rc, const char *what, char *why, size_t why_size)
{
	if (rc != SQLITE_OK && why[0] == '\0')
		snprintf(why, why_size, "%s: %s", what, sqlite3_errmsg(db));
	return rc;
}

static int schema_version(sqlite3 *db, sqlite3_int64 *ret_version, char *why, size_t why_size)
{
	int rc = noted(db, pragma_value(db, "PRAGMA user_version", ret_version, NULL, 0),
		       "reading the schema version", why, why_size);

	if (rc == SQLITE_OK && (*ret_version < 0 || *ret_version > REGISTRY_SCHEMA)) {
		snprintf(why, why_size, "the registry has schema version %lld, this program "
			 "knows up to %d", (long long)*ret_version, REGISTRY_SCHEMA);
		return SQLITE_MISMATCH;
	}
	return rc;
}

/* Bring the schema to REGISTRY_SCHEMA in one write transaction; nothing written when it is. */
static int migrate(sqlite3 *db, char *why, size_t why_size)
{
	sqlite3_int64 version = 0;
	char sql[64];
	int rc = schema_version(db, &version, why, why_size);

	if (rc != SQLITE_OK || version == REGISTRY_SCHEMA)
		return rc;
	if ((rc = noted(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			"starting the migration", why, why_size)) != SQLITE_OK)
		return rc;
	if ((rc = schema_version(db, &version, why, why_size)) != SQLITE_OK)
		goto out;
	for (; version < REGISTRY_SCHEMA; version++)
		if ((rc = noted(db, sqlite3_exec(db, migrations[version], NULL, NULL, NULL),
				"migrating the schema", why, why_size)) != SQLITE_OK)
			goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", REGISTRY_SCHEMA);
	if ((rc = noted(db, sqlite3_exec(db, sql, NULL, NULL, NULL), "writing the schema version",
			why, why_size)) != SQLITE_OK)
		goto out;
	rc = noted(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "committing the migration",
		   why, why_size);
out:
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* WAL and synchronous=FULL, unless the file cannot be written (then as it is). */
static int configure(sqlite3 *db, char *why, size_t why_size)
{
	char mode[16] = "";
	int rc;

	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (sqlite3_db_readonly(db, "main") == 1)
		return SQLITE_OK;
	if ((rc = noted(db, pragma_value(db, "PRAGMA journal_mode = WAL", NULL, mode, sizeof(mode)),
			"turning WAL mode on", why, why_size)) != SQLITE_OK)
		return rc;
	if (strcmp(mode, "wal") != 0) {
		snprintf(why, why_size, "the registry cannot be in WAL mode (%s)", mode);
		return SQLITE_MISMATCH;
	}
	return noted(db, sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL),
		     "setting synchronous = FULL", why, why_size);
}

/*
 * Configure and migrate, tried again until the busy timeout: two processes
 * that change the journal mode of a new file at once can get SQLITE_BUSY
 * without the busy handler being asked (SQLite's deadlock avoidance).
 */
static int prepare_file(sqlite3 *db, char *why, size_t why_size)
{
	long long until = monotonic_ms() + REGISTRY_TIMEOUT_MS;
	int rc;

	for (;;) {
		why[0] = '\0';		/* a reason of an earlier try is not this one's */
		rc = configure(db, why, why_size);
		if (rc == SQLITE_OK)
			rc = migrate(db, why, why_size);
		if ((rc & 0xff) != SQLITE_BUSY || monotonic_ms() >= until)
			return rc;
		sqlite3_sleep(BUSY_RETRY_MS);
	}
}

/* A new file is made with mode 0600: it says which domains a server hosts. */
static void create_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0)
		close(fd);
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
	create_file(path);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (s->db != NULL) {
		sqlite3_extended_result_codes(s->db, 1);
		sqlite3_busy_timeout(s->db, REGISTRY_TIMEOUT_MS);
	}
	if (rc == SQLITE_OK)
		rc = prepare_file(s->db, reason, sizeof(reason));
	if (rc != SQLITE_OK) {
		say_why(why, why_size, "%.200s: %s", path, reason[0] != '\0' ? reason
			: s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		sqlite_close(&s->base);
		return REGISTRY_UNAVAILABLE;
	}
	*ret_registry = &s->base;
	return 0;
}
