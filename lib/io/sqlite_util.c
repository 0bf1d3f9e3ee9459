/*
 * sqlite_util.c - the opening code the SQLite stores of lib/io share: one
 * value read, reasons noted, the schema checked and migrated, WAL mode,
 * the file opened and set up (see sqlite_util.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sqlite_util.h"
#include "util.h"

#define BUSY_RETRY_MS 10		/* between tries of a busy file at open */

int sqlite_value(sqlite3 *db, const char *sql, sqlite3_int64 *ret_value, char *ret_text,
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

int sqlite_noted(sqlite3 *db, int rc, const char *what, char *why, size_t why_size)
{
	if (rc != SQLITE_OK && why[0] == '\0')
		snprintf(why, why_size, "%s: %s", what, sqlite3_errmsg(db));
	return rc;
}

int sqlite_schema_check(sqlite3 *db, const char *store_name, int newest,
			sqlite3_int64 *ret_version, char *why, size_t why_size)
{
	int rc = sqlite_noted(db, sqlite_value(db, "PRAGMA user_version", ret_version, NULL, 0),
			      "reading the schema version", why, why_size);

	if (rc == SQLITE_OK && (*ret_version < 0 || *ret_version > newest)) {
		snprintf(why, why_size, "%s has schema version %lld, this program knows up to %d",
			 store_name, (long long)*ret_version, newest);
		return SQLITE_MISMATCH;
	}
	return rc;
}

int sqlite_schema_migrate(sqlite3 *db, const char *store_name, const char *const *steps,
			  int step_count, char *why, size_t why_size)
{
	sqlite3_int64 version = 0;
	char sql[64];
	int rc = sqlite_noted(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			      "starting the migration", why, why_size);

	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite_schema_check(db, store_name, step_count, &version, why,
				      why_size)) != SQLITE_OK)
		goto out;
	for (; version < step_count; version++)
		if ((rc = sqlite_noted(db, sqlite3_exec(db, steps[version], NULL, NULL, NULL),
				       "migrating the schema", why, why_size)) != SQLITE_OK)
			goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", step_count);
	if ((rc = sqlite_noted(db, sqlite3_exec(db, sql, NULL, NULL, NULL),
			       "writing the schema version", why, why_size)) != SQLITE_OK)
		goto out;
	rc = sqlite_noted(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			  "committing the migration", why, why_size);
out:
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int sqlite_wal(sqlite3 *db, const char *file_name, const char *synchronous, char *why,
	       size_t why_size)
{
	char mode[16] = "", sql[64], what[64];
	int rc = sqlite_noted(db, sqlite_value(db, "PRAGMA journal_mode = WAL", NULL, mode,
					       sizeof(mode)),
			      "turning WAL mode on", why, why_size);

	if (rc != SQLITE_OK)
		return rc;
	if (strcmp(mode, "wal") != 0) {
		snprintf(why, why_size, "%s cannot be in WAL mode (%s)", file_name, mode);
		return SQLITE_MISMATCH;
	}
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s", synchronous);
	snprintf(what, sizeof(what), "setting synchronous = %s", synchronous);
	return sqlite_noted(db, sqlite3_exec(db, sql, NULL, NULL, NULL), what, why, why_size);
}

/* setup, tried again while the file is busy until timeout_ms have passed in real time */
static int setup_retrying(sqlite3 *db, unsigned timeout_ms, sqlite_setup_fn *setup,
			  const void *arg, char *why, size_t why_size)
{
	long long until = monotonic_ms() + timeout_ms;
	int rc;

	for (;;) {
		why[0] = '\0';		/* a reason of an earlier try is not this one's */
		rc = setup(db, arg, why, why_size);
		if ((rc & 0xff) != SQLITE_BUSY || monotonic_ms() >= until)
			return rc;
		sqlite3_sleep(BUSY_RETRY_MS);
	}
}

int sqlite_open_file(const char *path, int flags, unsigned create_mode, unsigned busy_ms,
		     sqlite_setup_fn *setup, const void *arg, sqlite3 **ret_db, char *why,
		     size_t why_size)
{
	int rc;

	if (create_mode != 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			      (mode_t)create_mode);

		if (fd >= 0)
			close(fd);
	}
	rc = sqlite3_open_v2(path, ret_db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (*ret_db != NULL) {
		sqlite3_extended_result_codes(*ret_db, 1);
		sqlite3_busy_timeout(*ret_db, busy_ms > 0x7fffffffu ? 0x7fffffff : (int)busy_ms);
	}
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_db_config(*ret_db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	return setup_retrying(*ret_db, busy_ms, setup, arg, why, why_size);
}
