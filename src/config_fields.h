/*
 * config_fields.h - the strict reader of YAML settings files, shared by the
 * daemons (policyd_config.c, serve_config.c): a mapping is read into a
 * struct by a table of fields, each with its type, bounds and offset.  An
 * unknown key (with the nearest known one), a key given twice, a value of
 * the wrong type or out of bounds is an error "LINE:COLUMN: what" naming
 * the key.  Implemented in policyd_config.c.
 *
 * SYNOPSIS
 *	static const struct field fields[] = {
 *		{ "listen", F_SECTION, 0, 0, 0, 0, read_listen },
 *		{ "max_body", F_UINT, offsetof(struct s, max_body), 1, 1e9, 0, NULL },
 *	};
 *	struct reader r = { .why = why, .why_size = why_size };
 *	config_read_fields(&r, tree.root, fields, 2, &settings, NULL);
 */
#ifndef MTASTS_CONFIG_FIELDS_H
#define MTASTS_CONFIG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yaml_tree.h"

#define FIELDS_MAX 32

enum field_type {
	F_STRING,	/* any scalar but null, as text */
	F_BOOL,
	F_UINT,		/* a whole number from min to max */
	F_SECONDS,	/* a number, whole or not, from min to max */
	F_MODE,		/* a file mode, 0 to 07777; null: the default */
	F_DANE,
	F_LEVEL,		/* none, may, encrypt, dane: a string or NULL */
	F_SECTION,	/* read by the field's own function */
};

#define F_NULLABLE 1u	/* null leaves the default (strings: NULL) */
#define F_NONEMPTY 2u
#define F_INLINE 4u	/* a char array of max + 1 octets, not a char * */

struct reader;

struct field {
	const char *key;
	enum field_type type;
	size_t offset;
	double min, max;
	unsigned flags;
	int (*section)(struct reader *r, const struct yaml_node *value, void *base);
};

struct reader {
	char *why;
	size_t why_size;
	char path[160];		/* the dotted name of the mapping being read */
};

/* "LINE:COLUMN: what" into r->why; returns -1. */
int config_fail(struct reader *r, const struct yaml_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Text fit for a message: escaped, at most 60 octets. */
void config_shown(const char *text, char *buf, size_t size);

/* "a mapping", "a quoted string", "a word". */
const char *config_what_is(const struct yaml_node *v);

/* A string scalar for f (bounds, no control characters) into *ret (freed first). */
int config_read_string(struct reader *r, const struct field *f, const char *name,
		       const struct yaml_node *v, char **ret);

int config_read_bool(struct reader *r, const char *name, const struct yaml_node *v,
		     bool *ret);

/* A key of a mapping: a scalar that is not null. */
int config_check_key(struct reader *r, const struct yaml_node *k);

/* A section's value: a mapping, or null for an empty one. */
int config_check_mapping(struct reader *r, const struct yaml_node *v);

/*
 * Read map into base by fields (at most FIELDS_MAX); *ret_seen gets a bit
 * for each field given.  Keys not in fields, and keys given twice, are errors.
 */
int config_read_fields(struct reader *r, const struct yaml_node *map,
		       const struct field *fields, size_t count, void *base,
		       uint32_t *ret_seen);

/* Read a section under r->path.key, restoring r->path after. */
int config_with_path(struct reader *r, const char *key,
		     int (*read)(struct reader *, const struct yaml_node *, void *),
		     const struct yaml_node *v, void *base);

/* The whole file, at most POLICYD_CONFIG_SIZE_MAX octets; a sentence in why. */
int config_read_file(const char *path, char **ret_text, size_t *ret_len, char *why,
		     size_t why_size);

#endif
