/*
 * policy_cache_sqlite.c - the policy cache in an SQLite file: WAL mode so
 * that readers and a writer in several processes do not block each other,
 * a busy timeout for the writers, a schema versioned by user_version and
 * made in one transaction, prepared statements, and every value read back
 * checked against the limits before it is copied.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "policy_cache.h"
#include "sqlite_util.h"

/*
 * Migrations, in order: migrations[i] takes the schema from version i to
 * i + 1.  Append only; a file written by a newer program is refused.
 */
static const char *const migrations[] = {
	"CREATE TABLE policy ("
	"  domain TEXT PRIMARY KEY NOT NULL"
	"    CHECK (length(domain) BETWEEN 1 AND 253),"
	"  kind TEXT NOT NULL"
	"    CHECK (kind IN ('policy', 'no-policy', 'temp-fail')),"
	"  txt_id TEXT NOT NULL CHECK (length(txt_id) <= 32),"
	"  policy BLOB CHECK (policy IS NULL OR length(policy) <= 65536),"
	"  fetched_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL CHECK (expires_at >= fetched_at)"
	") WITHOUT ROWID;"
	"CREATE INDEX policy_expires_at ON policy (expires_at);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == POLICY_CACHE_SQLITE_SCHEMA,
	       "one migration per schema version");

#define COLUMNS "domain, kind, txt_id, policy, fetched_at, expires_at"

enum statement {
	STMT_GET,
	STMT_PUT,
	STMT_DELETE,
	STMT_PURGE,
	STMT_COUNT,
	STMT_ITERATE,
	STMT_COUNT_ALL,
};

static const char *const statement_sql[STMT_COUNT_ALL] = {
	[STMT_GET] = "SELECT " COLUMNS " FROM policy WHERE domain = ?1 AND expires_at > ?2",
	[STMT_PUT] = "INSERT OR REPLACE INTO policy (" COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[STMT_DELETE] = "DELETE FROM policy WHERE domain = ?1",
	[STMT_PURGE] = "DELETE FROM policy WHERE expires_at <= ?1",
	[STMT_COUNT] = "SELECT count(*) FROM policy",
	[STMT_ITERATE] = "SELECT " COLUMNS " FROM policy ORDER BY domain",
};

struct sqlite_cache {
	struct policy_cache base;
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_COUNT_ALL];
};

/* Record why the store failed; returns the status for it. */
static int store_error(struct sqlite_cache *s, int sqlite_rc, const char *what)
{
	if ((sqlite_rc & 0xff) == SQLITE_NOMEM)
		return MTASTS_ERR_NOMEM;
	snprintf(s->base.error, sizeof(s->base.error), "%s: %s", what,
		 sqlite3_errmsg(s->db));
	return POLICY_CACHE_ERR_STORE;
}

static int kind_from_text(const unsigned char *text, enum policy_cache_kind *ret_kind)
{
	for (int k = POLICY_CACHE_POLICY; k <= POLICY_CACHE_TEMP_FAIL; k++) {
		if (text != NULL &&
		    strcmp((const char *)text, policy_cache_kind_name(k)) == 0) {
			*ret_kind = (enum policy_cache_kind)k;
			return MTASTS_OK;
		}
	}
	return MTASTS_ERR_INVALID;
}

/* Copy a text column into out (out_size octets with the NUL), or refuse it. */
static int text_column(sqlite3_stmt *stmt, int col, char *out, size_t out_size)
{
	if (sqlite3_column_type(stmt, col) != SQLITE_TEXT)
		return MTASTS_ERR_INVALID;
	const unsigned char *text = sqlite3_column_text(stmt, col);
	int len = sqlite3_column_bytes(stmt, col);

	if (text == NULL)
		return MTASTS_ERR_NOMEM;
	if (len < 0 || (size_t)len >= out_size || memchr(text, '\0', (size_t)len) != NULL)
		return MTASTS_ERR_INVALID;
	memcpy(out, text, (size_t)len);
	out[len] = '\0';
	return MTASTS_OK;
}

/* The policy column: NULL, or a BLOB of at most the parser's limit. */
static int policy_column(sqlite3_stmt *stmt, int col, struct policy_cache_entry *entry)
{
	int type = sqlite3_column_type(stmt, col);

	if (type == SQLITE_NULL)
		return MTASTS_OK;
	if (type != SQLITE_BLOB && type != SQLITE_TEXT)
		return MTASTS_ERR_INVALID;
	const void *blob = sqlite3_column_blob(stmt, col);
	int len = sqlite3_column_bytes(stmt, col);

	if (len <= 0 || len > MTASTS_POLICY_BODY_MAX)
		return MTASTS_ERR_INVALID;
	if (blob == NULL)
		return MTASTS_ERR_NOMEM;
	entry->policy_text = malloc((size_t)len + 1);
	if (entry->policy_text == NULL)
		return MTASTS_ERR_NOMEM;
	memcpy(entry->policy_text, blob, (size_t)len);
	entry->policy_text[len] = '\0';
	entry->policy_len = (size_t)len;
	return MTASTS_OK;
}

/* The entry of the current row, checked as put() checks it. */
static int row_entry(sqlite3_stmt *stmt, struct policy_cache_entry **ret_entry)
{
	struct policy_cache_entry *entry = calloc(1, sizeof(*entry));
	int rc;

	if (entry == NULL)
		return MTASTS_ERR_NOMEM;
	if ((rc = text_column(stmt, 0, entry->domain, sizeof(entry->domain))) != MTASTS_OK ||
	    (rc = kind_from_text(sqlite3_column_text(stmt, 1), &entry->kind)) != MTASTS_OK ||
	    (rc = text_column(stmt, 2, entry->id, sizeof(entry->id))) != MTASTS_OK ||
	    (rc = policy_column(stmt, 3, entry)) != MTASTS_OK)
		goto out;
	if (sqlite3_column_type(stmt, 4) != SQLITE_INTEGER ||
	    sqlite3_column_type(stmt, 5) != SQLITE_INTEGER) {
		rc = MTASTS_ERR_INVALID;
		goto out;
	}
	entry->fetched_at = (time_t)sqlite3_column_int64(stmt, 4);
	entry->expires_at = (time_t)sqlite3_column_int64(stmt, 5);
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

static sqlite3_stmt *statement(struct sqlite_cache *s, enum statement which)
{
	sqlite3_stmt *stmt = s->stmt[which];

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return stmt;
}

static int sqlite_get(struct policy_cache *cache, const char *domain, time_t now,
		      struct policy_cache_entry **ret_entry)
{
	struct sqlite_cache *s = (struct sqlite_cache *)cache;
	sqlite3_stmt *stmt = statement(s, STMT_GET);
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	sqlite3_bind_text(stmt, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)now);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc != SQLITE_ROW)
		rc = store_error(s, rc, "reading the cache");
	else if ((rc = row_entry(stmt, ret_entry)) == MTASTS_OK)
		rc = 1;
	sqlite3_reset(stmt);
	return rc;
}

static int sqlite_put(struct policy_cache *cache, const struct policy_cache_entry *entry)
{
	struct sqlite_cache *s = (struct sqlite_cache *)cache;
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = policy_cache_entry_check(entry)) != MTASTS_OK)
		return rc;
	stmt = statement(s, STMT_PUT);
	sqlite3_bind_text(stmt, 1, entry->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, policy_cache_kind_name(entry->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, entry->id, -1, SQLITE_STATIC);
	if (entry->policy_text != NULL)
		sqlite3_bind_blob(stmt, 4, entry->policy_text, (int)entry->policy_len,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 4);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)entry->fetched_at);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)entry->expires_at);
	rc = sqlite3_step(stmt);
	rc = rc == SQLITE_DONE ? MTASTS_OK : store_error(s, rc, "writing the cache");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);	/* the entry's memory is the caller's */
	return rc;
}

static int sqlite_delete(struct policy_cache *cache, const char *domain)
{
	struct sqlite_cache *s = (struct sqlite_cache *)cache;
	sqlite3_stmt *stmt = statement(s, STMT_DELETE);
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	sqlite3_bind_text(stmt, 1, domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		rc = sqlite3_changes(s->db) > 0 ? 1 : 0;
	else
		rc = store_error(s, rc, "deleting from the cache");
	sqlite3_reset(stmt);
	return rc;
}

static int sqlite_purge_expired(struct policy_cache *cache, time_t now,
				size_t *ret_count)
{
	struct sqlite_cache *s = (struct sqlite_cache *)cache;
	sqlite3_stmt *stmt = statement(s, STMT_PURGE);
	int rc;

	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)now);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		if (ret_count != NULL)
			*ret_count = (size_t)sqlite3_changes(s->db);
		rc = MTASTS_OK;
	} else {
		rc = store_error(s, rc, "purging the cache");
	}
	sqlite3_reset(stmt);
	return rc;
}

static int sqlite_count(struct policy_cache *cache, size_t *ret_count)
{
	struct sqlite_cache *s = (struct sqlite_cache *)cache;
	sqlite3_stmt *stmt = statement(s, STMT_COUNT);
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW) {
		*ret_count = (size_t)sqlite3_column_int64(stmt, 0);
		rc = MTASTS_OK;
	} else {
		rc = store_error(s, rc, "counting the cache");
	}
	sqlite3_reset(stmt);
	return rc;
}

static int sqlite_iterate(struct policy_cache *cache, policy_cache_visit_fn *fn,
			  void *arg)
{
	struct sqlite_cache *s = (struct sqlite_cache *)cache;
	sqlite3_stmt *stmt = statement(s, STMT_ITERATE);
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct policy_cache_entry *entry = NULL;

		if ((rc = row_entry(stmt, &entry)) != MTASTS_OK)
			goto out;
		rc = fn(arg, entry);
		policy_cache_entry_free(entry);
		if (rc != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? MTASTS_OK : store_error(s, rc, "listing the cache");
out:
	sqlite3_reset(stmt);
	return rc;
}

static void sqlite_free(struct policy_cache *cache)
{
	struct sqlite_cache *s = (struct sqlite_cache *)cache;

	for (size_t i = 0; i < STMT_COUNT_ALL; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

static const struct policy_cache_ops sqlite_ops = {
	.name = "sqlite",
	.get = sqlite_get,
	.put = sqlite_put,
	.delete = sqlite_delete,
	.purge_expired = sqlite_purge_expired,
	.count = sqlite_count,
	.iterate = sqlite_iterate,
	.free = sqlite_free,
};

/* WAL (synchronous=NORMAL: a policy lost in a crash is fetched again) and the schema made. */
static int prepare_file(sqlite3 *db, const void *arg, char *err, size_t err_size)
{
	int rc = sqlite_wal(db, "the cache file", "NORMAL", err, err_size);

	(void)arg;
	if (rc != SQLITE_OK)
		return rc;
	return sqlite_schema_migrate(db, "the cache", migrations, POLICY_CACHE_SQLITE_SCHEMA, err,
				     err_size);
}

int policy_cache_sqlite_open(const char *path, unsigned busy_timeout_ms,
			     struct policy_cache **ret_cache,
			     char *err, size_t err_size)
{
	struct sqlite_cache *s = NULL;
	int rc;

	if (path == NULL || ret_cache == NULL || err == NULL || err_size == 0)
		return MTASTS_ERR_ARGUMENT;
	err[0] = '\0';
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return MTASTS_ERR_NOMEM;
	s->base.ops = &sqlite_ops;
	rc = sqlite_open_file(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0,
			      busy_timeout_ms, prepare_file, NULL, &s->db, err, err_size);
	for (size_t i = 0; i < STMT_COUNT_ALL && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(s->db, statement_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
	if (rc != SQLITE_OK) {
		if (err[0] == '\0')
			snprintf(err, err_size, "%s: %s", path,
				 s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		sqlite_free(&s->base);
		return (rc & 0xff) == SQLITE_NOMEM ? MTASTS_ERR_NOMEM : POLICY_CACHE_ERR_STORE;
	}
	*ret_cache = &s->base;
	return MTASTS_OK;
}
