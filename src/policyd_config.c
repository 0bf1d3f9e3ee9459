/*
 * policyd_config.c - the settings of `mtasts policyd` from the YAML file of
 * postfix-mta-sts-resolver, checked key by key against tables of fields.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts/txt.h>

#include "cli.h"
#include "policyd_config.h"
#include "config_fields.h"
#include "yaml_tree.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400.0
#define YEAR (365 * DAY)

int config_fail(struct reader *r, const struct yaml_node *at, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->why, r->why_size, "%u:%u: %s", at->line, at->column, what);
	return -1;
}

/* Text fit for a message: escaped, at most 60 octets. */
void config_shown(const char *text, char *buf, size_t size)
{
	text_shown(text, buf, size, 60);
}

/* "zones.myzone.timeout" for key in the mapping at r->path. */
static void key_name(const struct reader *r, const char *key, char *buf, size_t size)
{
	char k[80];

	config_shown(key, k, sizeof(k));
	snprintf(buf, size, "%s%s%s", r->path, r->path[0] != '\0' ? "." : "", k);
}

/* ---- scalar values ---- */

const char *config_what_is(const struct yaml_node *v)
{
	if (v->kind != YAML_KIND_SCALAR)
		return yaml_kind_name(v->kind);
	return v->quoted ? "a quoted string" : "a word";
}

/* The expectation of a numeric field: "a whole number from 1 to 65535". */
static void expected(const struct field *f, char *buf, size_t size)
{
	if (f->type == F_UINT)
		snprintf(buf, size, "a whole number from %.0f to %.0f", f->min, f->max);
	else if (f->type == F_MODE)
		snprintf(buf, size, "a file mode from 0 to 07777, such as 0660");
	else
		snprintf(buf, size, "a number of seconds from %g to %g", f->min, f->max);
}

static int read_number(struct reader *r, const struct field *f, const char *name,
		       const struct yaml_node *v, double *ret)
{
	char want[96], text[80];
	enum yaml_number rc;
	long long whole;

	expected(f, want, sizeof(want));
	if (v->kind != YAML_KIND_SCALAR || yaml_scalar_is_null(v))
		return config_fail(r, v, "%s: %s where %s goes", name,
			    v->kind == YAML_KIND_SCALAR ? "no value" : config_what_is(v), want);
	config_shown(v->text, text, sizeof(text));
	if (v->quoted)
		return config_fail(r, v, "%s: \"%s\" is a quoted string; %s goes here, "
			    "without quotes", name, text, want);
	if (f->type == F_UINT || f->type == F_MODE) {
		rc = yaml_scalar_int(v, &whole);
		*ret = (double)whole;
	} else {
		rc = yaml_scalar_float(v, ret);
	}
	if (rc == YAML_NUMBER_NOT)
		return config_fail(r, v, "%s: '%s' is not %s", name, text, want);
	if (rc == YAML_NUMBER_HUGE || !(*ret >= f->min && *ret <= f->max))
		return config_fail(r, v, "%s: %s is out of range: give %s", name, text, want);
	return 0;
}

int config_read_string(struct reader *r, const struct field *f, const char *name,
		       const struct yaml_node *v, char **ret)
{
	char *copy;

	if (v->kind != YAML_KIND_SCALAR || yaml_scalar_is_null(v))
		return config_fail(r, v, "%s: %s where a string goes", name,
			    v->kind == YAML_KIND_SCALAR ? "no value" : config_what_is(v));
	if ((f->flags & F_NONEMPTY) && v->len == 0)
		return config_fail(r, v, "%s: the string is empty", name);
	if (f->max > 0 && v->len > f->max)
		return config_fail(r, v, "%s: a string of %zu octets; at most %.0f", name,
			    v->len, f->max);
	for (size_t i = 0; i < v->len; i++)
		if ((unsigned char)v->text[i] < 0x20 || v->text[i] == 0x7f)
			return config_fail(r, v, "%s: a control character (octet %zu) in "
				    "the string", name, i + 1);
	if ((copy = strdup(v->text)) == NULL)
		return config_fail(r, v, "%s: out of memory", name);
	free(*ret);
	*ret = copy;
	return 0;
}

/*
 * One word of choices[count] (listed in the error as "a, b, c"): its index
 * in *ret_index, or an error naming the key.
 */
static int read_choice(struct reader *r, const char *name, const struct yaml_node *v,
		       const char *const *choices, size_t count, const char *listed,
		       size_t *ret_index)
{
	char text[80];

	if (v->kind == YAML_KIND_SCALAR && !yaml_scalar_is_null(v)) {
		for (size_t i = 0; i < count; i++) {
			if (strcmp(v->text, choices[i]) == 0) {
				*ret_index = i;
				return 0;
			}
		}
		config_shown(v->text, text, sizeof(text));
		return config_fail(r, v, "%s: '%s' is not one of %s", name, text, listed);
	}
	return config_fail(r, v, "%s: %s where one of %s goes", name,
		    v->kind == YAML_KIND_SCALAR ? "no value" : config_what_is(v), listed);
}

/* A Postfix security level for testing-mode policies; "none" is NULL. */
static int read_level(struct reader *r, const char *name, const struct yaml_node *v,
		      char **ret)
{
	static const char *const levels[] = { "none", "may", "encrypt", "dane" };
	char *copy = NULL;
	size_t i;

	if (read_choice(r, name, v, levels, ARRAY_COUNT(levels), "none, may, encrypt, dane",
			&i) != 0)
		return -1;
	if (i > 0 && (copy = strdup(levels[i])) == NULL)
		return config_fail(r, v, "out of memory");
	free(*ret);
	*ret = copy;
	return 0;
}

static int read_dane(struct reader *r, const char *name, const struct yaml_node *v,
		     enum policyd_dane *ret)
{
	static const enum policyd_dane all[] = {
		POLICYD_DANE_NONE, POLICYD_DANE_DANE, POLICYD_DANE_ONLY,
	};
	const char *names[ARRAY_COUNT(all)];
	size_t i;

	for (i = 0; i < ARRAY_COUNT(all); i++)
		names[i] = policyd_dane_name(all[i]);
	if (read_choice(r, name, v, names, ARRAY_COUNT(all), "none, dane, dane-only", &i) != 0)
		return -1;
	*ret = all[i];
	return 0;
}

int config_read_bool(struct reader *r, const char *name, const struct yaml_node *v,
		     bool *ret)
{
	char text[80];

	if (yaml_scalar_bool(v, ret))
		return 0;
	if (v->kind != YAML_KIND_SCALAR || yaml_scalar_is_null(v))
		return config_fail(r, v, "%s: %s where true or false goes", name,
			    v->kind == YAML_KIND_SCALAR ? "no value" : config_what_is(v));
	config_shown(v->text, text, sizeof(text));
	return config_fail(r, v, "%s: %s%s%s is not true or false%s", name,
		    v->quoted ? "\"" : "'", text, v->quoted ? "\"" : "'",
		    v->quoted ? " (a quoted string)" : "");
}

static int read_value(struct reader *r, const struct field *f, const char *name,
		      const struct yaml_node *v, void *base)
{
	char *at = (char *)base + f->offset;
	double number;

	if ((f->flags & F_NULLABLE) && yaml_scalar_is_null(v)) {
		if (f->type == F_STRING) {
			free(*(char **)at);
			*(char **)at = NULL;
		}
		if (f->type == F_MODE)
			*(int *)at = -1;
		return 0;
	}
	switch (f->type) {
	case F_STRING:
		if (f->flags & F_INLINE) {
			char *copy = NULL;

			if (config_read_string(r, f, name, v, &copy) != 0)
				return -1;
			memcpy(at, copy, strlen(copy) + 1);	/* at most max */
			free(copy);
			return 0;
		}
		return config_read_string(r, f, name, v, (char **)at);
	case F_BOOL:
		return config_read_bool(r, name, v, (bool *)at);
	case F_DANE:
		return read_dane(r, name, v, (enum policyd_dane *)at);
	case F_LEVEL:
		return read_level(r, name, v, (char **)at);
	case F_UINT:
	case F_MODE:
		if (read_number(r, f, name, v, &number) != 0)
			return -1;
		if (f->type == F_MODE)
			*(int *)at = (int)number;
		else
			*(unsigned *)at = (unsigned)number;
		return 0;
	case F_SECONDS:
		return read_number(r, f, name, v, (double *)at);
	case F_SECTION:
		return f->section(r, v, base);
	}
	return 0;
}

/* ---- mappings ---- */

static const struct field *find_field(const struct field *fields, size_t count,
				      const char *key)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

static int unknown_key(struct reader *r, const struct yaml_node *k,
		       const struct field *fields, size_t count)
{
	const char *words[FIELDS_MAX], *near;
	char text[80];

	for (size_t i = 0; i < count; i++)
		words[i] = fields[i].key;
	near = suggest_word(words, count, k->text);
	config_shown(k->text, text, sizeof(text));
	return config_fail(r, k, "unknown key '%s'%s%s%s%s%s", text,
		    r->path[0] != '\0' ? " in " : "", r->path,
		    near != NULL ? "; did you mean '" : "", near != NULL ? near : "",
		    near != NULL ? "'?" : "");
}

/* A key of a mapping: a scalar that is not null. */
int config_check_key(struct reader *r, const struct yaml_node *k)
{
	if (k->kind != YAML_KIND_SCALAR)
		return config_fail(r, k, "%s as a key; keys are words", yaml_kind_name(k->kind));
	if (yaml_scalar_is_null(k))
		return config_fail(r, k, "an empty key");
	if (!k->quoted && strcmp(k->text, "<<") == 0)
		return config_fail(r, k, "merge keys (<<) are not taken; write the keys out");
	return 0;
}

/* A section's value: a mapping, or null for an empty one. */
int config_check_mapping(struct reader *r, const struct yaml_node *v)
{
	if (v->kind == YAML_KIND_MAPPING || yaml_scalar_is_null(v))
		return 0;
	return config_fail(r, v, "%s: %s where a mapping of keys goes",
		    r->path[0] != '\0' ? r->path : "the file", config_what_is(v));
}

/*
 * Read map into base by fields; *ret_seen gets a bit for each field given.
 * Keys not in fields, and keys given twice, are errors.
 */
int config_read_fields(struct reader *r, const struct yaml_node *map,
		       const struct field *fields, size_t count, void *base,
		       uint32_t *ret_seen)
{
	unsigned first_line[FIELDS_MAX] = { 0 };
	uint32_t seen = 0;
	char name[256];

	if (config_check_mapping(r, map) != 0)
		return -1;
	for (size_t i = 0; i + 1 < map->count; i += 2) {
		const struct yaml_node *k = map->items[i], *v = map->items[i + 1];
		const struct field *f;
		size_t index;

		if (config_check_key(r, k) != 0)
			return -1;
		if ((f = find_field(fields, count, k->text)) == NULL)
			return unknown_key(r, k, fields, count);
		index = (size_t)(f - fields);
		key_name(r, k->text, name, sizeof(name));
		if (seen & (UINT32_C(1) << index))
			return config_fail(r, k, "%s is given twice (first on line %u)", name,
				    first_line[index]);
		seen |= UINT32_C(1) << index;
		first_line[index] = k->line;
		if (read_value(r, f, name, v, base) != 0)
			return -1;
	}
	if (ret_seen != NULL)
		*ret_seen = seen;
	return 0;
}

/* Read a section under r->path.key, restoring r->path after. */
int config_with_path(struct reader *r, const char *key,
		     int (*read)(struct reader *, const struct yaml_node *, void *),
		     const struct yaml_node *v, void *base)
{
	char saved[sizeof(r->path)], next[sizeof(r->path) + 96];
	size_t len;
	int rc;

	memcpy(saved, r->path, sizeof(saved));
	key_name(r, key, next, sizeof(next));
	len = strnlen(next, sizeof(r->path) - 1);
	memcpy(r->path, next, len);
	r->path[len] = '\0';
	rc = read(r, v, base);
	memcpy(r->path, saved, sizeof(saved));
	return rc;
}

/* ---- zones ---- */

#define ZONE(key, type, member, min, max) \
	{ key, type, offsetof(struct policyd_zone, member), min, max, 0, NULL }

/* The peer's zone keys, then mtasts's; servername is require_sni again. */
static const struct field zone_fields[] = {
	ZONE("timeout", F_SECONDS, timeout, 0.001, 3600),
	ZONE("strict_testing", F_BOOL, strict_testing, 0, 0),
	ZONE("require_sni", F_BOOL, require_sni, 0, 0),
	ZONE("tlsrpt", F_BOOL, tlsrpt, 0, 0),
	ZONE("servername", F_BOOL, require_sni, 0, 0),
	ZONE("mx_host_pattern", F_BOOL, mx_host_pattern, 0, 0),
	ZONE("fail_closed", F_BOOL, fail_closed, 0, 0),
	ZONE("dane", F_DANE, dane, 0, 0),
	ZONE("dane_fail_closed", F_BOOL, dane_fail_closed, 0, 0),
	ZONE("testing_level", F_LEVEL, testing_level, 0, 0),
};
#define ZONE_BIT(i) (UINT32_C(1) << (i))
#define BIT_REQUIRE_SNI ZONE_BIT(2)
#define BIT_TLSRPT ZONE_BIT(3)
#define BIT_SERVERNAME ZONE_BIT(4)
#define BIT_MX_HOST_PATTERN ZONE_BIT(5)

static void zone_defaults(struct policyd_zone *z)
{
	memset(z, 0, sizeof(*z));
	z->timeout = 4;			/* peer: defaults.TIMEOUT */
	z->strict_testing = false;	/* peer: defaults.STRICT_TESTING */
	z->require_sni = true;		/* peer: defaults.REQUIRE_SNI (RFC 8461 5) */
	z->tlsrpt = false;		/* peer 1.5.0: defaults.TLSRPT */
	z->fail_closed = false;		/* the peer answers NOTFOUND */
	z->dane = POLICYD_DANE_NONE;	/* see docs: "dane" can weaken Postfix */
	z->dane_fail_closed = true;	/* RFC 8461 2: never fall back silently */
}

static int read_zone(struct reader *r, const struct yaml_node *map, void *base)
{
	struct policyd_zone *z = base;
	uint32_t seen;

	if (config_read_fields(r, map, zone_fields, ARRAY_COUNT(zone_fields), z, &seen) != 0)
		return -1;
	if ((seen & BIT_REQUIRE_SNI) && (seen & BIT_SERVERNAME))
		return config_fail(r, map, "%s: give require_sni or servername, not both "
			    "(they are one setting)", r->path);
	z->tlsrpt_given = (seen & BIT_TLSRPT) != 0;
	z->mx_host_pattern_given = (seen & BIT_MX_HOST_PATTERN) != 0;
	if (!(seen & BIT_MX_HOST_PATTERN))
		z->mx_host_pattern = z->tlsrpt;
	else if (z->mx_host_pattern && !z->tlsrpt)
		return config_fail(r, map, "%s: mx_host_pattern is a TLSRPT attribute; it "
			    "needs tlsrpt: true", r->path);
	return 0;
}

static int read_default_zone(struct reader *r, const struct yaml_node *v, void *base)
{
	struct policyd_config *c = base;

	return config_with_path(r, "default_zone", read_zone, v, &c->default_zone);
}

/* A map name as Postfix sends it: no white space or control, at most 255. */
static int check_zone_name(struct reader *r, const struct yaml_node *k)
{
	char text[80];

	if (config_check_key(r, k) != 0)
		return -1;
	config_shown(k->text, text, sizeof(text));
	if (k->len > POLICYD_ZONE_NAME_MAX)
		return config_fail(r, k, "zones: the name '%s' has %zu octets; at most %d",
			    text, k->len, POLICYD_ZONE_NAME_MAX);
	for (size_t i = 0; i < k->len; i++)
		if ((unsigned char)k->text[i] <= 0x20 || k->text[i] == 0x7f)
			return config_fail(r, k, "zones: the name '%s' has white space or a "
				    "control character; Postfix ends a map name at "
				    "white space", text);
	return 0;
}

static int zone_compare(const void *a, const void *b)
{
	return strcmp(((const struct policyd_zone *)a)->name,
		      ((const struct policyd_zone *)b)->name);
}

/* Names given twice: at most ZONES_MAX names, so the square is small. */
static int check_zone_names(struct reader *r, const struct yaml_node *map)
{
	for (size_t i = 0; i < map->count; i += 2) {
		const struct yaml_node *k = map->items[i];
		char text[80];

		if (check_zone_name(r, k) != 0)
			return -1;
		for (size_t j = 0; j < i; j += 2) {
			if (strcmp(map->items[j]->text, k->text) != 0)
				continue;
			config_shown(k->text, text, sizeof(text));
			return config_fail(r, k, "zones.%s is given twice (first on line %u)",
				    text, map->items[j]->line);
		}
	}
	return 0;
}

static int read_zone_list(struct reader *r, const struct yaml_node *map,
			  struct policyd_config *c)
{
	size_t count;

	if (config_check_mapping(r, map) != 0)
		return -1;
	count = map->kind == YAML_KIND_MAPPING ? map->count / 2 : 0;
	if (count > POLICYD_CONFIG_ZONES_MAX)
		return config_fail(r, map, "zones: %zu zones; at most %d", count,
			    POLICYD_CONFIG_ZONES_MAX);
	if (count == 0)
		return 0;
	if (check_zone_names(r, map) != 0)
		return -1;
	if ((c->zones = calloc(count, sizeof(*c->zones))) == NULL)
		return config_fail(r, map, "zones: out of memory");
	for (size_t i = 0; i < count; i++) {
		const struct yaml_node *k = map->items[2 * i];
		struct policyd_zone *z = &c->zones[c->zone_count++];

		zone_defaults(z);
		if ((z->name = strdup(k->text)) == NULL)
			return config_fail(r, k, "zones: out of memory");
		if (config_with_path(r, k->text, read_zone, map->items[2 * i + 1], z) != 0)
			return -1;
	}
	qsort(c->zones, c->zone_count, sizeof(*c->zones), zone_compare);
	return 0;
}

static int read_zones(struct reader *r, const struct yaml_node *map, void *base)
{
	char saved[sizeof(r->path)];
	int rc;

	memcpy(saved, r->path, sizeof(saved));
	snprintf(r->path, sizeof(r->path), "zones");
	rc = read_zone_list(r, map, base);
	memcpy(r->path, saved, sizeof(saved));
	return rc;
}

/* ---- cache ---- */

#define OPTION(key, type, member, min, max, flags) \
	{ key, type, offsetof(struct policyd_cache, member), min, max, flags, NULL }

/* The options of each backend, as the peer's classes take them. */
static const struct field internal_options[] = {
	OPTION("cache_size", F_UINT, cache_size, 1, 100000000, 0),
};
static const struct field sqlite_options[] = {
	OPTION("filename", F_STRING, filename, 0, 4096, F_NONEMPTY),
	OPTION("threads", F_UINT, threads, 1, 1024, 0),
	OPTION("timeout", F_SECONDS, timeout, 0.001, 3600, 0),
};
/* The peer hands any key to redis-py; mtasts takes these (credentials in url). */
static const struct field redis_options[] = {
	OPTION("url", F_STRING, url, 0, 4096, F_NONEMPTY),
	OPTION("max_connections", F_UINT, max_connections, 1, 100000, 0),
	OPTION("socket_timeout", F_SECONDS, socket_timeout, 0.001, 3600, 0),
	OPTION("socket_connect_timeout", F_SECONDS, socket_connect_timeout, 0.001,
	       3600, 0),
};
static const struct field postgres_options[] = {
	OPTION("dsn", F_STRING, dsn, 0, 4096, F_NONEMPTY),
	OPTION("timeout", F_SECONDS, timeout, 0.001, 3600, 0),
};

struct backend {
	enum policyd_cache_type type;
	const struct field *options;
	size_t count;
	const char *required;	/* an option without a default */
};

static const struct backend backends[] = {
	{ POLICYD_CACHE_INTERNAL, internal_options, ARRAY_COUNT(internal_options), NULL },
	{ POLICYD_CACHE_SQLITE, sqlite_options, ARRAY_COUNT(sqlite_options), "filename" },
	{ POLICYD_CACHE_REDIS, redis_options, ARRAY_COUNT(redis_options), "url" },
	{ POLICYD_CACHE_POSTGRES, postgres_options, ARRAY_COUNT(postgres_options), "dsn" },
};

const char *policyd_cache_type_name(enum policyd_cache_type type)
{
	switch (type) {
	case POLICYD_CACHE_INTERNAL: return "internal";
	case POLICYD_CACHE_SQLITE: return "sqlite";
	case POLICYD_CACHE_REDIS: return "redis";
	case POLICYD_CACHE_POSTGRES: return "postgres";
	}
	return "unknown";
}

const char *policyd_dane_name(enum policyd_dane dane)
{
	switch (dane) {
	case POLICYD_DANE_NONE: return "none";
	case POLICYD_DANE_DANE: return "dane";
	case POLICYD_DANE_ONLY: return "dane-only";
	}
	return "unknown";
}

static int read_cache_type(struct reader *r, const struct yaml_node *v,
			   const struct backend **ret)
{
	char text[80];

	if (v->kind != YAML_KIND_SCALAR || yaml_scalar_is_null(v))
		return config_fail(r, v, "cache.type: %s where one of internal, sqlite, "
			    "redis, postgres goes", v->kind == YAML_KIND_SCALAR ?
			    "no value" : config_what_is(v));
	for (size_t i = 0; i < ARRAY_COUNT(backends); i++) {
		if (strcmp(v->text, policyd_cache_type_name(backends[i].type)) == 0) {
			*ret = &backends[i];
			return 0;
		}
	}
	config_shown(v->text, text, sizeof(text));
	if (strcmp(v->text, "redis_sentinel") == 0)
		return config_fail(r, v, "cache.type: redis_sentinel is not supported by "
			    "mtasts; use redis, or internal, sqlite, postgres");
	return config_fail(r, v, "cache.type: '%s' is not one of internal, sqlite, redis, "
		    "postgres", text);
}

/* An option of another backend says so, not just "unknown". */
static int check_option_owners(struct reader *r, const struct yaml_node *map,
			       const struct backend *mine)
{
	for (size_t i = 0; map->kind == YAML_KIND_MAPPING && i < map->count; i += 2) {
		const struct yaml_node *k = map->items[i];

		if (config_check_key(r, k) != 0)
			return -1;
		if (find_field(mine->options, mine->count, k->text) != NULL)
			continue;
		for (size_t j = 0; j < ARRAY_COUNT(backends); j++) {
			const struct backend *b = &backends[j];
			char text[80];

			if (find_field(b->options, b->count, k->text) == NULL)
				continue;
			config_shown(k->text, text, sizeof(text));
			return config_fail(r, k, "cache.options: %s is an option of the %s "
				    "cache; this cache is %s", text,
				    policyd_cache_type_name(b->type),
				    policyd_cache_type_name(mine->type));
		}
	}
	return 0;
}

static int read_cache_options(struct reader *r, const struct yaml_node *map,
			      void *base)
{
	struct policyd_cache *cache = base;
	const struct backend *b = &backends[cache->type];

	if (config_check_mapping(r, map) != 0 || check_option_owners(r, map, b) != 0)
		return -1;
	return config_read_fields(r, map, b->options, b->count, cache, NULL);
}

/* type first: the options depend on it, wherever it stands. */
static int read_cache_section(struct reader *r, const struct yaml_node *map,
			      void *base)
{
	struct policyd_cache *cache = base;
	static const struct field keys[] = {
		{ "type", F_SECTION, 0, 0, 0, 0, NULL },
		{ "options", F_SECTION, 0, 0, 0, 0, NULL },
	};
	const struct yaml_node *given[2] = { NULL, NULL };	/* keys */
	const struct yaml_node *type = NULL, *options = NULL;
	const struct backend *b = &backends[0];
	char **required;

	if (config_check_mapping(r, map) != 0)
		return -1;
	for (size_t i = 0; map->kind == YAML_KIND_MAPPING && i < map->count; i += 2) {
		const struct yaml_node *k = map->items[i];
		size_t which;

		if (config_check_key(r, k) != 0)
			return -1;
		if (find_field(keys, 2, k->text) == NULL)
			return unknown_key(r, k, keys, 2);
		which = k->text[0] == 't' ? 0 : 1;
		if (given[which] != NULL)
			return config_fail(r, k, "cache.%s is given twice (first on line %u)",
				    keys[which].key, given[which]->line);
		given[which] = k;
		if (which == 0)
			type = map->items[i + 1];
		else
			options = map->items[i + 1];
	}
	if (type != NULL && read_cache_type(r, type, &b) != 0)
		return -1;
	cache->type = b->type;
	if (options != NULL && config_with_path(r, "options", read_cache_options, options,
					 cache) != 0)
		return -1;
	if (b->required == NULL)
		return 0;
	required = (char **)((char *)cache + find_field(b->options, b->count,
							b->required)->offset);
	if (*required == NULL)
		return config_fail(r, options != NULL ? options : map, "cache: the %s cache "
			    "needs options.%s", policyd_cache_type_name(b->type),
			    b->required);
	return 0;
}

static int read_cache(struct reader *r, const struct yaml_node *v, void *base)
{
	return config_with_path(r, "cache", read_cache_section, v,
			 &((struct policyd_config *)base)->cache);
}

/* ---- proactive_policy_fetching ---- */

#define PROACTIVE(key, type, member, min, max) \
	{ key, type, offsetof(struct policyd_proactive, member), min, max, 0, NULL }

static const struct field proactive_fields[] = {
	PROACTIVE("enabled", F_BOOL, enabled, 0, 0),
	PROACTIVE("interval", F_UINT, interval, 1, YEAR),
	PROACTIVE("concurrency_limit", F_UINT, concurrency_limit, 1, 100000),
	PROACTIVE("grace_ratio", F_SECONDS, grace_ratio, 0.001, 1000000),
};

static int read_proactive_section(struct reader *r, const struct yaml_node *map,
				  void *base)
{
	return config_read_fields(r, map, proactive_fields, ARRAY_COUNT(proactive_fields),
			   base, NULL);
}

static int read_proactive(struct reader *r, const struct yaml_node *v, void *base)
{
	return config_with_path(r, "proactive_policy_fetching", read_proactive_section, v,
			 &((struct policyd_config *)base)->proactive);
}

/* ---- addresses: dns_servers, metrics ---- */

static bool port_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");
	unsigned long port;

	if (n == 0 || n > 5 || s[n] != '\0')
		return false;
	port = strtoul(s, NULL, 10);
	return port >= 1 && port <= 65535;
}

/*
 * "ADDR" (IPv4 or IPv6), "IPV4:PORT", "[IPV6]" or "[IPV6]:PORT"; with
 * need_port, a port is required.  Host names are not taken.
 */
static bool address_ok(const char *s, bool need_port)
{
	unsigned char addr[16];
	char host[64];
	const char *end, *colon;
	size_t len;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || (len = (size_t)(end - s - 1)) >=
		    sizeof(host))
			return false;
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, addr) != 1)
			return false;
		if (end[1] == '\0')
			return !need_port;
		return end[1] == ':' && port_ok(end + 2);
	}
	if (inet_pton(AF_INET6, s, addr) == 1)
		return !need_port;
	colon = strchr(s, ':');
	len = colon != NULL ? (size_t)(colon - s) : strlen(s);
	if (len >= sizeof(host))
		return false;
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1)
		return false;
	return colon != NULL ? port_ok(colon + 1) : !need_port;
}

static const struct field address_field = {
	"address", F_STRING, 0, 0, 64, F_NONEMPTY, NULL
};

static int read_dns_servers(struct reader *r, const struct yaml_node *v, void *base)
{
	struct policyd_config *c = base;
	char text[80];

	if (yaml_scalar_is_null(v))
		return 0;
	if (v->kind != YAML_KIND_SEQUENCE)
		return config_fail(r, v, "dns_servers: %s where a list of addresses goes",
			    config_what_is(v));
	if (v->count > POLICYD_DNS_SERVERS_MAX)
		return config_fail(r, v, "dns_servers: %zu servers; at most %d", v->count,
			    POLICYD_DNS_SERVERS_MAX);
	for (size_t i = 0; i < v->count; i++) {
		const struct yaml_node *item = v->items[i];
		char **slot = &c->dns_servers[c->dns_server_count];

		if (config_read_string(r, &address_field, "dns_servers", item, slot) != 0)
			return -1;
		c->dns_server_count++;
		if (!address_ok(*slot, false)) {
			config_shown(*slot, text, sizeof(text));
			return config_fail(r, item, "dns_servers: '%s' is not an IP address "
				    "(ADDR, IPV4:PORT or [IPV6]:PORT)", text);
		}
	}
	return 0;
}

/* ---- the file ---- */

#define TOP(key, type, member, min, max, flags) \
	{ key, type, offsetof(struct policyd_config, member), min, max, flags, NULL }
#define SECTION(key, read) { key, F_SECTION, 0, 0, 0, 0, read }

/* sun_path holds 108 octets with the NUL; a user name 32 (useradd). */
static const struct field top_fields[] = {
	TOP("host", F_STRING, host, 0, POLICYD_HOST_MAX, F_NONEMPTY | F_INLINE),
	TOP("port", F_UINT, port, 1, 65535, 0),
	TOP("path", F_STRING, path, 0, 107, F_NULLABLE | F_NONEMPTY),
	TOP("mode", F_MODE, mode, 0, 07777, F_NULLABLE),
	TOP("reuse_port", F_BOOL, reuse_port, 0, 0, 0),
	TOP("shutdown_timeout", F_SECONDS, shutdown_timeout, 0, 3600, 0),
	TOP("cache_grace", F_SECONDS, cache_grace, 0, YEAR, 0),
	SECTION("cache", read_cache),
	SECTION("proactive_policy_fetching", read_proactive),
	SECTION("default_zone", read_default_zone),
	SECTION("zones", read_zones),
	TOP("ca_file", F_STRING, ca_file, 0, 4096, F_NULLABLE | F_NONEMPTY),
	SECTION("dns_servers", read_dns_servers),
	TOP("user", F_STRING, user, 0, 32, F_NULLABLE | F_NONEMPTY),
	TOP("metrics", F_STRING, metrics, 0, 64, F_NULLABLE | F_NONEMPTY),
	TOP("no_policy_ttl", F_SECONDS, no_policy_ttl, 0, 86400, 0),
	TOP("failure_ttl", F_SECONDS, failure_ttl, 0, 3600, 0),
	TOP("refetch_interval", F_SECONDS, refetch_interval, 60, YEAR, 0),
};
#define BIT_METRICS (UINT32_C(1) << 14)

void policyd_config_defaults(struct policyd_config *c)
{
	memset(c, 0, sizeof(*c));
	/* The peer's defaults.py (1.1.2) and mta-sts-daemon.yml(5). */
	snprintf(c->host, sizeof(c->host), "127.0.0.1");	/* defaults.HOST */
	c->port = 8461;			/* defaults.PORT */
	c->mode = -1;			/* the peer chmods only when given */
	c->reuse_port = true;		/* defaults.REUSE_PORT */
	c->shutdown_timeout = 20;	/* defaults.SHUTDOWN_TIMEOUT */
	c->cache_grace = 60;		/* defaults.CACHE_GRACE */
	c->cache.type = POLICYD_CACHE_INTERNAL;	/* defaults.CACHE_BACKEND */
	c->cache.cache_size = 10000;	/* defaults.INTERNAL_CACHE_SIZE */
	c->cache.threads = 0;		/* defaults.SQLITE_THREADS: cpu_count() */
	c->cache.timeout = 5;		/* SQLITE_TIMEOUT; POSTGRES_TIMEOUT (1.4.0) */
	c->cache.socket_timeout = 5;	/* defaults.REDIS_TIMEOUT */
	c->cache.socket_connect_timeout = 5;	/* defaults.REDIS_CONNECT_TIMEOUT */
	c->proactive.enabled = false;	/* defaults.PROACTIVE_FETCH_ENABLED */
	c->proactive.interval = 86400;	/* defaults.PROACTIVE_FETCH_INTERVAL */
	c->proactive.concurrency_limit = 100;	/* ..._CONCURRENCY_LIMIT */
	c->proactive.grace_ratio = 2.0;	/* defaults.PROACTIVE_FETCH_GRACE_RATIO */
	/* mtasts's own: short, so a domain that starts publishing is seen soon. */
	c->no_policy_ttl = 300;
	c->failure_ttl = 30;
	c->refetch_interval = 86400;
	zone_defaults(&c->default_zone);
}

static int read_top(struct reader *r, const struct yaml_node *root,
		    struct policyd_config *c)
{
	uint32_t seen = 0;
	char text[80];

	if (root == NULL)
		return 0;
	if (root->kind != YAML_KIND_MAPPING && !yaml_scalar_is_null(root))
		return config_fail(r, root, "the file is %s; it must be a mapping of keys "
			    "such as \"port: 8461\"", config_what_is(root));
	if (config_read_fields(r, root, top_fields, ARRAY_COUNT(top_fields), c, &seen) != 0)
		return -1;
	if ((seen & BIT_METRICS) && c->metrics != NULL && !address_ok(c->metrics, true)) {
		const struct yaml_node *at = root;

		for (size_t i = 0; i < root->count; i += 2)
			if (strcmp(root->items[i]->text, "metrics") == 0)
				at = root->items[i + 1];
		config_shown(c->metrics, text, sizeof(text));
		return config_fail(r, at, "metrics: '%s' is not an IP address and port "
			    "(IPV4:PORT or [IPV6]:PORT)", text);
	}
	return 0;
}

int policyd_config_parse(const char *text, size_t len, struct policyd_config *ret,
			 char *why, size_t why_size)
{
	static const struct yaml_limits limits = {
		.depth = POLICYD_CONFIG_DEPTH_MAX,
		.nodes = POLICYD_CONFIG_NODES_MAX,
		.anchors = POLICYD_CONFIG_ANCHORS_MAX,
		.scalar = POLICYD_CONFIG_STRING_MAX,
	};
	struct reader r = { .why = why, .why_size = why_size };
	struct policyd_config c;
	struct yaml_tree tree;
	int rc;

	if (len > POLICYD_CONFIG_SIZE_MAX) {
		snprintf(why, why_size, "1:1: %zu octets; at most %d", len,
			 POLICYD_CONFIG_SIZE_MAX);
		return -1;
	}
	if (yaml_tree_parse(text, len, &limits, &tree, why, why_size) != 0)
		return -1;
	policyd_config_defaults(&c);
	rc = read_top(&r, tree.root, &c);
	yaml_tree_free(&tree);
	if (rc != 0) {
		policyd_config_release(&c);
		return -1;
	}
	*ret = c;
	return 0;
}

/* The whole file, at most SIZE_MAX octets and one more to know it is more. */
int config_read_file(const char *path, char **ret_text, size_t *ret_len, char *why,
		     size_t why_size)
{
	size_t size = POLICYD_CONFIG_SIZE_MAX + 1, len;
	char *text = malloc(size);
	FILE *f;

	if (text == NULL) {
		snprintf(why, why_size, "%s: out of memory", path);
		return -1;
	}
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	len = fread(text, 1, size, f);
	if (ferror(f)) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	if (len == size) {
		snprintf(why, why_size, "%s: larger than %d octets", path,
			 POLICYD_CONFIG_SIZE_MAX);
		free(text);
		return -1;
	}
	*ret_text = text;
	*ret_len = len;
	return 0;
}

int policyd_config_load(const char *path, struct policyd_config *ret, char *why,
			size_t why_size)
{
	char message[POLICYD_WHY_SIZE];
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (config_read_file(path, &text, &len, why, why_size) != 0)
		return -1;
	rc = policyd_config_parse(text, len, ret, message, sizeof(message));
	free(text);
	if (rc != 0)
		snprintf(why, why_size, "%s:%s", path, message);
	return rc;
}

void policyd_config_release(struct policyd_config *c)
{
	if (c == NULL)
		return;
	free(c->default_zone.testing_level);
	for (size_t i = 0; i < c->zone_count; i++) {
		free(c->zones[i].name);
		free(c->zones[i].testing_level);
	}
	free(c->zones);
	for (size_t i = 0; i < c->dns_server_count; i++)
		free(c->dns_servers[i]);
	free(c->path);
	free(c->cache.filename);
	free(c->cache.url);
	free(c->cache.dsn);
	free(c->ca_file);
	free(c->user);
	free(c->metrics);
	policyd_config_defaults(c);
}

static int zone_key_compare(const void *key, const void *member)
{
	const struct mtasts_bytes *name = key;
	const char *zone = ((const struct policyd_zone *)member)->name;
	size_t zone_len = strlen(zone);
	int cmp = memcmp(name->data, zone, name->len < zone_len ? name->len : zone_len);

	if (cmp != 0)
		return cmp;
	return name->len < zone_len ? -1 : name->len > zone_len;
}

const struct policyd_zone *policyd_config_zone(const struct policyd_config *c,
					       const char *name, size_t len)
{
	struct mtasts_bytes key = { name, len };
	const struct policyd_zone *z = NULL;

	if (name != NULL && c->zone_count > 0)
		z = bsearch(&key, c->zones, c->zone_count, sizeof(*c->zones),
			    zone_key_compare);
	return z != NULL ? z : &c->default_zone;
}

static void zone_default_tlsrpt(struct policyd_zone *z, bool on)
{
	if (z->tlsrpt_given)
		return;
	z->tlsrpt = on;
	if (!z->mx_host_pattern_given)
		z->mx_host_pattern = on;
}

void policyd_config_default_tlsrpt(struct policyd_config *config, bool on)
{
	zone_default_tlsrpt(&config->default_zone, on);
	for (size_t i = 0; i < config->zone_count; i++)
		zone_default_tlsrpt(&config->zones[i], on);
}

bool policyd_postfix_has_tlsrpt(const char *v)
{
	unsigned long major, minor;
	char *end;

	if (v == NULL || !isdigit((unsigned char)v[0]))
		return false;
	major = strtoul(v, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return false;
	minor = strtoul(end + 1, &end, 10);
	return major > 3 || (major == 3 && minor >= 10);
}
