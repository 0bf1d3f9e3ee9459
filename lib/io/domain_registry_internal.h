/*
 * domain_registry_internal.h - what domain_registry.c asks of a backend:
 * run one SQL statement with bound parameters and hand its rows over as
 * text.  The statements, the checks of values and the reading of rows are
 * written once, in domain_registry.c; a backend knows only its wire.
 *
 * Statements use ?1, ?2 ... for their parameters (the PostgreSQL backend
 * writes them $1, $2 ...); values are never written into the text.
 */
#ifndef MTASTS_IO_DOMAIN_REGISTRY_INTERNAL_H
#define MTASTS_IO_DOMAIN_REGISTRY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "domain_registry.h"

#define REGISTRY_SCHEMA 1		/* the schema version this program writes */
#define REGISTRY_PARAMS_MAX 12		/* parameters of one statement */
#define REGISTRY_COLUMNS_MAX 12		/* columns of one row */
#define REGISTRY_ERROR_MAX 320		/* octets of a store's message */
#define REGISTRY_TIMEOUT_MS 5000	/* a busy file or a server that does not answer */

enum registry_value_type { REGISTRY_NULL, REGISTRY_TEXT, REGISTRY_INT };

struct registry_value {
	enum registry_value_type type;
	const char *text;		/* REGISTRY_TEXT, NUL-terminated */
	int64_t number;			/* REGISTRY_INT */
};

/*
 * One row: each column as text (integers in decimal), NULL for SQL NULL.
 * Returns 0 to go on, else the walk stops and query returns that value.
 */
typedef int registry_row_fn(void *arg, const char *const *columns, size_t count);

struct registry_ops {
	const char *begin_sql;		/* starts a write transaction */
	/*
	 * A condition true when removed_at, removed_max_age and served_until
	 * hold integers: SQLite keeps text in an INTEGER column, and 'soon'
	 * compares greater than any number; PostgreSQL's types say so already.
	 */
	const char *integers_sql;
	/*
	 * Run sql with params; rows to fn (may be NULL) as they come; the
	 * number of rows changed to *ret_changes (may be NULL).  0, fn's
	 * value, or REGISTRY_UNAVAILABLE with the store's message in
	 * registry->error.
	 */
	int (*query)(struct domain_registry *registry, const char *what, const char *sql,
		     const struct registry_value *params, size_t nparams, registry_row_fn *fn,
		     void *arg, uint64_t *ret_changes);
	void (*close)(struct domain_registry *registry);
};

struct domain_registry {
	const struct registry_ops *ops;
	char error[REGISTRY_ERROR_MAX];	/* the store's message of the last failure */
};

/* Each opens (creates, migrates) its store; 0 or REGISTRY_UNAVAILABLE with why. */
int domain_registry_sqlite_open(const char *path, struct domain_registry **ret_registry,
				char *why, size_t why_size);
int domain_registry_postgres_open(const char *conninfo, struct domain_registry **ret_registry,
				  char *why, size_t why_size);

#endif
