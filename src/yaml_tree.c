/*
 * yaml_tree.c - one YAML document as a tree of nodes, from libyaml's events,
 * within limits; YAML 1.1 resolution of plain scalars.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yaml_tree.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

struct anchor {
	char *name;
	struct yaml_node *node;
};

struct builder {
	const struct yaml_limits *limits;
	struct yaml_tree tree;
	struct yaml_node **stack;	/* the open collections */
	unsigned depth;
	struct anchor *anchors;
	size_t anchor_count;
	unsigned documents;
	char *why;
	size_t why_size;
};

static int fail(struct builder *b, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct builder *b, const yaml_mark_t *mark, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(b->why, b->why_size, "%zu:%zu: %s", mark->line + 1, mark->column + 1,
		 what);
	return -1;
}

const char *yaml_kind_name(enum yaml_kind kind)
{
	switch (kind) {
	case YAML_KIND_SCALAR: return "a scalar";
	case YAML_KIND_SEQUENCE: return "a list";
	case YAML_KIND_MAPPING: return "a mapping";
	}
	return "a node";
}

static int grow(void *items, size_t *capacity, size_t count, size_t size)
{
	void **p = items;
	size_t want = *capacity == 0 ? 8 : *capacity * 2;
	void *n;

	if (count < *capacity)
		return 0;
	if ((n = realloc(*p, want * size)) == NULL)
		return -1;
	*p = n;
	*capacity = want;
	return 0;
}

static int count_reference(struct builder *b, const yaml_mark_t *mark)
{
	if (++b->tree.references > b->limits->nodes)
		return fail(b, mark, "more than %zu nodes", b->limits->nodes);
	return 0;
}

/* Hang node under the innermost open collection, or make it the root. */
static int attach(struct builder *b, struct yaml_node *node, const yaml_mark_t *mark)
{
	struct yaml_node *parent;

	if (count_reference(b, mark) != 0)
		return -1;
	if (b->depth == 0) {
		b->tree.root = node;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (grow(&parent->items, &parent->capacity, parent->count, sizeof(node)) != 0)
		return fail(b, mark, "out of memory");
	parent->items[parent->count++] = node;
	return 0;
}

static struct yaml_node *node_new(struct builder *b, enum yaml_kind kind,
				  const yaml_mark_t *mark)
{
	struct yaml_tree *t = &b->tree;
	struct yaml_node *node;

	if (grow(&t->nodes, &t->capacity, t->node_count, sizeof(node)) != 0 ||
	    (node = calloc(1, sizeof(*node))) == NULL) {
		fail(b, mark, "out of memory");
		return NULL;
	}
	t->nodes[t->node_count++] = node;
	node->kind = kind;
	node->line = (unsigned)mark->line + 1;
	node->column = (unsigned)mark->column + 1;
	return node;
}

/* YAML's own tags only; "!" (non-specific) and !!str make a string. */
static int check_tag(struct builder *b, const yaml_char_t *tag, enum yaml_kind kind,
		     const yaml_mark_t *mark, bool *ret_string)
{
	static const char *const scalar_tags[] = { "int", "float", "bool", "null" };
	const char *t = (const char *)tag;

	*ret_string = false;
	if (t == NULL)
		return 0;
	if (strcmp(t, "!") == 0 || strcmp(t, TAG_PREFIX "str") == 0) {
		*ret_string = kind == YAML_KIND_SCALAR;
		return 0;
	}
	if (strncmp(t, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
		t += strlen(TAG_PREFIX);
		if ((kind == YAML_KIND_SEQUENCE && strcmp(t, "seq") == 0) ||
		    (kind == YAML_KIND_MAPPING && strcmp(t, "map") == 0))
			return 0;
		for (size_t i = 0; kind == YAML_KIND_SCALAR && i < 4; i++)
			if (strcmp(t, scalar_tags[i]) == 0)
				return 0;
	}
	return fail(b, mark, "the tag '%.60s' is not taken here",
		    (const char *)tag);
}

static int remember_anchor(struct builder *b, const yaml_char_t *name,
			   struct yaml_node *node, const yaml_mark_t *mark)
{
	struct anchor *a;

	if (name == NULL)
		return 0;
	if (b->anchor_count == b->limits->anchors)
		return fail(b, mark, "more than %zu anchors", b->limits->anchors);
	if ((a = realloc(b->anchors, (b->anchor_count + 1) * sizeof(*a))) == NULL)
		return fail(b, mark, "out of memory");
	b->anchors = a;
	if ((a[b->anchor_count].name = strdup((const char *)name)) == NULL)
		return fail(b, mark, "out of memory");
	a[b->anchor_count++].node = node;
	return 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const yaml_mark_t *mark = &ev->start_mark;
	size_t len = ev->data.scalar.length;
	struct yaml_node *node;
	bool string;

	if (len > b->limits->scalar)
		return fail(b, mark, "a scalar of %zu octets; at most %zu", len,
			    b->limits->scalar);
	if (memchr(ev->data.scalar.value, '\0', len) != NULL)
		return fail(b, mark, "a NUL character in a scalar");
	if (check_tag(b, ev->data.scalar.tag, YAML_KIND_SCALAR, mark, &string) != 0 ||
	    (node = node_new(b, YAML_KIND_SCALAR, mark)) == NULL)
		return -1;
	if ((node->text = malloc(len + 1)) == NULL)
		return fail(b, mark, "out of memory");
	memcpy(node->text, ev->data.scalar.value, len);
	node->text[len] = '\0';
	node->len = len;
	node->closed = true;
	/* A tag such as !!int makes a quoted scalar resolve like a plain one. */
	node->quoted = string || (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
				  ev->data.scalar.tag == NULL);
	if (remember_anchor(b, ev->data.scalar.anchor, node, mark) != 0)
		return -1;
	return attach(b, node, mark);
}

static int on_start(struct builder *b, const yaml_event_t *ev, enum yaml_kind kind)
{
	const yaml_mark_t *mark = &ev->start_mark;
	const yaml_char_t *tag = kind == YAML_KIND_MAPPING ?
				 ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	const yaml_char_t *anchor = kind == YAML_KIND_MAPPING ?
				    ev->data.mapping_start.anchor :
				    ev->data.sequence_start.anchor;
	struct yaml_node *node;
	bool string;

	if (b->depth == b->limits->depth)
		return fail(b, mark, "collections nested more than %u deep",
			    b->limits->depth);
	if (check_tag(b, tag, kind, mark, &string) != 0 ||
	    (node = node_new(b, kind, mark)) == NULL ||
	    remember_anchor(b, anchor, node, mark) != 0 ||
	    attach(b, node, mark) != 0)
		return -1;
	b->stack[b->depth++] = node;
	return 0;
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const yaml_mark_t *mark = &ev->start_mark;

	for (size_t i = b->anchor_count; i-- > 0;) {
		if (strcmp(b->anchors[i].name, name) != 0)
			continue;
		if (!b->anchors[i].node->closed)
			return fail(b, mark, "the alias *%.60s refers to a collection "
				    "that holds it", name);
		return attach(b, b->anchors[i].node, mark);
	}
	return fail(b, mark, "the alias *%.60s has no anchor &%.60s before it",
		    name, name);
}

static int on_event(struct builder *b, const yaml_event_t *ev, bool *ret_done)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->documents > 1)
			return fail(b, &ev->start_mark, "a second document; the "
				    "file holds one");
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, YAML_KIND_SEQUENCE);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, ev, YAML_KIND_MAPPING);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->stack[--b->depth]->closed = true;
		return 0;
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_STREAM_END_EVENT:
		*ret_done = true;
		return 0;
	default:
		return 0;
	}
}

static int parser_failed(struct builder *b, const yaml_parser_t *p)
{
	const yaml_mark_t *mark = &p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR || p->problem == NULL)
		return fail(b, mark, "out of memory or unreadable YAML");
	if (p->context != NULL)
		return fail(b, mark, "%s %s", p->problem, p->context);
	return fail(b, mark, "%s", p->problem);
}

static void builder_release(struct builder *b)
{
	for (size_t i = 0; i < b->anchor_count; i++)
		free(b->anchors[i].name);
	free(b->anchors);
	free(b->stack);
}

int yaml_tree_parse(const char *text, size_t len, const struct yaml_limits *limits,
		    struct yaml_tree *ret, char *why, size_t why_size)
{
	struct builder b = { .limits = limits, .why = why, .why_size = why_size };
	yaml_parser_t parser;
	bool done = false;
	int rc = 0;

	if ((b.stack = calloc(limits->depth + 1, sizeof(*b.stack))) == NULL) {
		snprintf(why, why_size, "1:1: out of memory");
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		builder_release(&b);
		snprintf(why, why_size, "1:1: out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (rc == 0 && !done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parser_failed(&b, &parser);
			break;
		}
		rc = on_event(&b, &ev, &done);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	builder_release(&b);
	if (rc != 0) {
		yaml_tree_free(&b.tree);
		return -1;
	}
	*ret = b.tree;
	return 0;
}

void yaml_tree_free(struct yaml_tree *tree)
{
	if (tree == NULL)
		return;
	for (size_t i = 0; i < tree->node_count; i++) {
		free(tree->nodes[i]->text);
		free(tree->nodes[i]->items);
		free(tree->nodes[i]);
	}
	free(tree->nodes);
	memset(tree, 0, sizeof(*tree));
}

bool yaml_scalar_is_null(const struct yaml_node *n)
{
	return n->kind == YAML_KIND_SCALAR && !n->quoted &&
	       (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
		strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0);
}

bool yaml_scalar_bool(const struct yaml_node *n, bool *ret)
{
	static const char *const words[] = {
		"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON",
		"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF",
	};

	if (n->kind != YAML_KIND_SCALAR || n->quoted)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(n->text, words[i]) == 0) {
			*ret = i < 9;
			return true;
		}
	}
	return false;
}

static int digit_value(char c, unsigned base)
{
	int v = c >= '0' && c <= '9' ? c - '0' :
		c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;

	return v < (int)base ? v : -1;
}

/* Digits of base with '_' among them (PyYAML takes '_' anywhere after the first). */
static enum yaml_number digits(const char *s, unsigned base, bool negative,
			       long long *ret)
{
	unsigned long long v = 0, most = negative ? (unsigned long long)LLONG_MAX + 1 :
				       (unsigned long long)LLONG_MAX;
	bool any = false, huge = false;
	int d;

	for (; *s != '\0'; s++) {
		if (*s == '_' && any)
			continue;
		if ((d = digit_value(*s, base)) < 0)
			return YAML_NUMBER_NOT;
		any = true;
		if (v > (most - (unsigned)d) / base)
			huge = true;
		else
			v = v * base + (unsigned)d;
	}
	if (!any)
		return YAML_NUMBER_NOT;
	if (huge)
		return YAML_NUMBER_HUGE;
	*ret = negative ? (long long)(0 - v) : (long long)v;
	return YAML_NUMBER_OK;
}

enum yaml_number yaml_scalar_int(const struct yaml_node *n, long long *ret)
{
	const char *s = n->text;
	bool negative = false;

	if (n->kind != YAML_KIND_SCALAR || n->quoted || n->len == 0)
		return YAML_NUMBER_NOT;
	if (*s == '-' || *s == '+')
		negative = *s++ == '-';
	if (s[0] == '0' && s[1] == 'x')
		return digits(s + 2, 16, negative, ret);
	if (s[0] == '0' && s[1] == 'b')
		return digits(s + 2, 2, negative, ret);
	if (s[0] == '0' && s[1] != '\0')
		return digits(s + 1, 8, negative, ret);
	if (s[0] == '_')
		return YAML_NUMBER_NOT;
	return digits(s, 10, negative, ret);
}

/* [-+]? ( D[D_]* "." [D_]* | "." D[D_]* ) ( [eE] [-+] D+ )? */
static bool float_syntax(const char *s)
{
	size_t whole, fraction;

	if (*s == '-' || *s == '+')
		s++;
	whole = strspn(s, "0123456789_");
	if ((whole > 0 && s[0] == '_') || s[whole] != '.')
		return false;
	s += whole + 1;
	fraction = strspn(s, "0123456789_");
	if (whole == 0 && (fraction == 0 || s[0] == '_'))
		return false;
	s += fraction;
	if (*s == '\0')
		return true;
	if ((*s != 'e' && *s != 'E') || (s[1] != '-' && s[1] != '+'))
		return false;
	s += 2;
	return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

enum yaml_number yaml_scalar_float(const struct yaml_node *n, double *ret)
{
	char plain[64];
	size_t j = 0;
	long long whole;
	double v;
	char *end;

	switch (yaml_scalar_int(n, &whole)) {
	case YAML_NUMBER_OK:
		*ret = (double)whole;
		return YAML_NUMBER_OK;
	case YAML_NUMBER_HUGE:
		return YAML_NUMBER_HUGE;
	case YAML_NUMBER_NOT:
		break;
	}
	if (n->kind != YAML_KIND_SCALAR || n->quoted || !float_syntax(n->text))
		return YAML_NUMBER_NOT;
	for (const char *s = n->text; *s != '\0'; s++) {
		if (*s == '_')
			continue;
		if (j + 1 == sizeof(plain))
			return YAML_NUMBER_HUGE;
		plain[j++] = *s;
	}
	plain[j] = '\0';
	errno = 0;
	v = strtod(plain, &end);
	if (*end != '\0')
		return YAML_NUMBER_NOT;
	if (errno == ERANGE && (v > 1 || v < -1))
		return YAML_NUMBER_HUGE;
	*ret = v;
	return YAML_NUMBER_OK;
}
