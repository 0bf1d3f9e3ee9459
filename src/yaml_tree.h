/*
 * yaml_tree.h - one YAML document as a tree, read with libyaml's event
 * parser within limits, and its scalars resolved as YAML 1.1 does.
 *
 * DESCRIPTION
 *	yaml_tree_parse() builds the nodes of the one document of text: every
 *	node keeps its line and column; an alias is the node of its anchor
 *	again (so the tree may share nodes, never loop: an alias to a
 *	collection not yet closed is an error).  Limits, each an error with
 *	its number: nesting depth, nodes (aliases counted), anchors, octets of
 *	a scalar.  A scalar holding NUL, a second document and a tag other
 *	than YAML's own str, int, float, bool, null, seq and map are errors.
 *
 *	The yaml_scalar_*() functions resolve a plain scalar as PyYAML's YAML
 *	1.1 loader does; a quoted scalar (or one tagged !!str) is a string.
 *
 * DIAGNOSTICS
 *	yaml_tree_parse() returns 0, or -1 with "LINE:COLUMN: what" in why.
 */
#ifndef MTASTS_YAML_TREE_H
#define MTASTS_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

enum yaml_kind {
	YAML_KIND_SCALAR,
	YAML_KIND_SEQUENCE,
	YAML_KIND_MAPPING,
};

struct yaml_node {
	enum yaml_kind kind;
	bool quoted;			/* a string whatever its text */
	bool closed;			/* its end was read */
	char *text;			/* scalar: NUL-terminated, no NUL inside */
	size_t len;
	struct yaml_node **items;	/* sequence: items; mapping: key, value, ... */
	size_t count;			/* of items (a mapping's is even) */
	size_t capacity;
	unsigned line, column;		/* from 1 */
};

struct yaml_limits {
	unsigned depth;
	size_t nodes;
	size_t anchors;
	size_t scalar;
};

struct yaml_tree {
	struct yaml_node *root;		/* NULL: an empty document */
	struct yaml_node **nodes;	/* every node, to free */
	size_t node_count;
	size_t capacity;
	size_t references;		/* nodes and alias uses */
};

int yaml_tree_parse(const char *text, size_t len, const struct yaml_limits *limits,
		    struct yaml_tree *ret, char *why, size_t why_size);
void yaml_tree_free(struct yaml_tree *tree);

enum yaml_number {
	YAML_NUMBER_OK,
	YAML_NUMBER_NOT,		/* not a number of that kind */
	YAML_NUMBER_HUGE,		/* beyond what the type holds */
};

const char *yaml_kind_name(enum yaml_kind kind);

/* ~, null, Null, NULL or nothing, not quoted. */
bool yaml_scalar_is_null(const struct yaml_node *node);

/* true/yes/on and false/no/off, each in lower, Capital or UPPER case. */
bool yaml_scalar_bool(const struct yaml_node *node, bool *ret);

/* Decimal, 0-octal, 0x hex, 0b binary, with a sign and '_' between digits. */
enum yaml_number yaml_scalar_int(const struct yaml_node *node, long long *ret);

/* A float ("2.5", "1.0e+3", ".5") or an integer as above; no inf or nan. */
enum yaml_number yaml_scalar_float(const struct yaml_node *node, double *ret);

#endif
