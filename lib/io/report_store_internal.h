/*
 * report_store_internal.h - what the report store's backends implement and
 * what report_store.c shares with them.
 *
 * The queries are written once (report_store.c), in SQL both SQLite and
 * PostgreSQL accept, with parameters numbered "?1".."?N" (the PostgreSQL
 * backend sends them as "$1".."$N").  A backend only runs statements:
 *
 *   query()  runs sql with its parameters; calls each() for every row it
 *            returns (values valid only during the call); sets *ret_changes
 *            (rows changed) when not NULL.  Returns RS_OK, RS_UNAVAILABLE
 *            (try later: busy, locked, disk full, server down) or RS_FAILED,
 *            with a reason in store->error; each()'s own failure (non-zero)
 *            ends the query and is returned as it is.
 *   begin_sql  the statement that starts a write transaction
 *   batch()  optional: a batch opens (open true) or ends; what the backend
 *            does differently meanwhile (SQLite: a larger page cache)
 *   free()   closes the backend (never NULL)
 */
#ifndef MTASTS_IO_REPORT_STORE_INTERNAL_H
#define MTASTS_IO_REPORT_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report_store.h"

enum rs_result {
	RS_OK = 0,
	RS_FAILED = -1,
	RS_UNAVAILABLE = -2,
	RS_NOMEM = -3,
};

enum rs_type {
	RS_NULL = 0,			/* a NULL of the kind of its parameter (text) */
	RS_NULL_INT,			/* a NULL bigint parameter */
	RS_TEXT,
	RS_INT,
	RS_BLOB,
};

/* A parameter or a column value. */
struct rs_value {
	enum rs_type type;
	int64_t i;			/* RS_INT */
	const char *s;			/* RS_TEXT, RS_BLOB */
	size_t len;
};

#define RS_COLUMNS_MAX 16
#define RS_PARAMS_MAX 24

typedef int (*rs_row_fn)(const struct rs_value *columns, size_t count, void *arg);

struct report_store_ops {
	const char *name;
	const char *begin_sql;
	int (*query)(struct report_store *store, const char *what, const char *sql,
		     const struct rs_value *params, size_t nparams, rs_row_fn each, void *arg,
		     uint64_t *ret_changes);
	void (*batch)(struct report_store *store, bool open);
	void (*free)(struct report_store *store);
	/*
	 * Optional, both or neither (SQLite): the id of the row the last
	 * INSERT added, so that the INSERTs need no RETURNING, and whether a
	 * transaction is still open.  With them a report in a batch has no
	 * savepoint of its own: a failed statement leaves the transaction
	 * usable or ends it, and a failed report's rows are deleted.  SQLite
	 * runs a RETURNING through a temporary table, and a savepoint or a
	 * RETURNING makes it copy every page a report changes, as it was, into
	 * a journal: a third of the time of storing a report.  Without them
	 * (PostgreSQL, where a failed statement spoils the transaction up to
	 * the savepoint before it), RETURNING id and a savepoint a report.
	 */
	int64_t (*last_id)(struct report_store *store);
	bool (*in_transaction)(struct report_store *store);
};

struct report_store {
	const struct report_store_ops *ops;
	bool read_only;			/* opened for queries only */
	bool in_batch;			/* a transaction of several reports is open */
	bool batch_lost;		/* ...and it ended under us: the commit must fail */
	char batch_error[320];		/* why it ended */
	char error[320];		/* why the last statement failed */
	/* kept from report to report by report_store.c, freed at close */
	void *deflater;			/* the z_stream of the JSON texts, reset each time */
	unsigned char *gz;		/* its output */
	size_t gz_cap;
	void *sha256;			/* the EVP_MD, fetched once (EVP_sha256() fetches a digest) */
};

/* The schema's version this program writes (both backends). */
#define REPORT_STORE_SCHEMA 1

/* Backends' openers: 0, or -1 with errno and why as report_store_open(). */
int report_store_sqlite_open(const char *path, const struct report_store_options *options,
			     struct report_store **ret_store, char *why, size_t why_size);
int report_store_postgres_open(const char *conninfo, const struct report_store_options *options,
			       struct report_store **ret_store, char *why, size_t why_size);

/* Set store->error as printf does. */
void rs_error(struct report_store *store, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Write why (may be NULL) as printf does. */
void rs_say(char *why, size_t why_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A query's result as a store status, its reason written into why. */
enum store_status rs_status(struct report_store *store, int rc, char *why, size_t why_size);

/* "YYYY-MM-DD" of the UTC day of t. */
void rs_day_text(int64_t t, char out[16]);

/* Parameters. */
struct rs_value rs_text_param(const char *s);	/* NULL: a NULL */
struct rs_value rs_int_param(int64_t i);

/* Column values read back: a text copied (NULL for NULL), an integer, a count. */
int rs_text_dup(const struct rs_value *v, char **ret);
int64_t rs_int_of(const struct rs_value *v);
uint64_t rs_count_of(const struct rs_value *v);
enum dkim_verdict rs_dkim_from(const struct rs_value *v);
/* A JSON array of strings (the policy_strings and mx_hosts columns) as an array. */
int rs_strings_from_json(const struct rs_value *v, char ***ret_strings, size_t *ret_count);
/* The stored gzip member back to the JSON text, NUL-terminated. */
int rs_gunzip(const void *data, size_t len, char **ret_out, size_t *ret_len);

/* Room for one more item of size octets in *items (zeroed when new). */
int rs_grow(void **items, size_t count, size_t *cap, size_t size);

#endif
