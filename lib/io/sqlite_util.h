/*
 * sqlite_util.h - what the SQLite stores of lib/io (the policy cache, the
 * report store, the domain registry) share to open their file: a query of
 * one value, SQLite's reason kept before a ROLLBACK resets it, the schema
 * versioned by user_version and migrated in one transaction, WAL mode, and
 * the tries again of a file that is busy while it is being set up.
 */
#ifndef MTASTS_IO_SQLITE_UTIL_H
#define MTASTS_IO_SQLITE_UTIL_H

#include <stddef.h>

#include <sqlite3.h>

/*
 * Run sql, which returns at most a row: column 0 of it as an integer in
 * *ret_value and as text in ret_text (either may be NULL; untouched when
 * there is no row).  SQLITE_OK, or SQLite's result code.
 */
int sqlite_value(sqlite3 *db, const char *sql, sqlite3_int64 *ret_value, char *ret_text,
		 size_t text_size);

/*
 * rc, with what failed and SQLite's message in why ("what: message") unless
 * a reason is there already.  Taken at once: the ROLLBACK after a failure
 * resets the connection's message (to "not an error").
 */
int sqlite_noted(sqlite3 *db, int rc, const char *what, char *why, size_t why_size);

/*
 * The file's schema version (PRAGMA user_version) in *ret_version, checked
 * against newest: SQLITE_MISMATCH, with "<store_name> has schema version N,
 * this program knows up to M" in why, when it is newer or negative.
 */
int sqlite_schema_check(sqlite3 *db, const char *store_name, int newest,
			sqlite3_int64 *ret_version, char *why, size_t why_size);

/*
 * Bring the schema to version step_count in one write transaction (BEGIN
 * IMMEDIATE, then the version read): steps[i] takes it from version i to
 * i + 1.  Rolled back on any failure, the reason in why.
 */
int sqlite_schema_migrate(sqlite3 *db, const char *store_name, const char *const *steps,
			  int step_count, char *why, size_t why_size);

/*
 * WAL mode and then "PRAGMA synchronous = <synchronous>": SQLITE_MISMATCH,
 * with "<file_name> cannot be in WAL mode (<mode>)" in why, when SQLite
 * keeps another journal mode.
 */
int sqlite_wal(sqlite3 *db, const char *file_name, const char *synchronous, char *why,
	       size_t why_size);

/* One try at setting up an opened file (configure, migrate): SQLITE_OK or the failure. */
typedef int sqlite_setup_fn(sqlite3 *db, const void *arg, char *why, size_t why_size);

/*
 * Open path with sqlite3_open_v2's flags (SQLITE_OPEN_NOMUTEX added), after
 * making the file with create_mode when it is not there (0: SQLite makes it,
 * with 0644 less the umask), with extended result codes, a busy timeout of
 * busy_ms and defensive mode; then setup(db, arg, why, why_size), tried
 * again while it fails with SQLITE_BUSY until busy_ms have passed in real
 * time: two processes that change the journal mode of a new file at once
 * can get SQLITE_BUSY without the busy handler being asked (SQLite's
 * deadlock avoidance).  why is cleared before each try.  On a failure the
 * connection, when there is one, is left in *ret_db for its message: the
 * caller closes it.
 */
int sqlite_open_file(const char *path, int flags, unsigned create_mode, unsigned busy_ms,
		     sqlite_setup_fn *setup, const void *arg, sqlite3 **ret_db, char *why,
		     size_t why_size);

#endif
