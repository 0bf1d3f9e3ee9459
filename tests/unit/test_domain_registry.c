/*
 * test_domain_registry.c - the registry of hosted domains: one table of
 * behaviours run over SQLite (a file under a mkdtemp() directory) and over
 * PostgreSQL when tests/e2e/test-registry-stores gives a server in
 * MTASTS_TEST_POSTGRES_DSN (a database the test may drop tables in), then
 * what only SQLite promises (the file's mode, a lock held by another
 * connection).
 *
 * Rows a person could break by hand are written with raw SQL, beside the
 * registry, and must come back as errors naming the row and the column.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "unit.h"

#include "domain_registry.h"
#include "util.h"

#define T0 ((int64_t)1704067200)	/* 2024-01-01T00:00:00Z */
#define DAY 86400
#define WEEK 604800
#define YEAR ((int64_t)MTASTS_MAX_AGE_MAX)
#define MANY 10000

struct backend {
	const char *name;
	const char *needs;		/* the environment variable it needs, or NULL */
};

static const struct backend backends[] = {
	{ "sqlite", NULL },
	{ "postgres", "MTASTS_TEST_POSTGRES_DSN" },
};

struct fixture {
	const struct backend *backend;
	struct domain_registry *registry;
	char dir[64];
	char location[1024];
};

static const char *env(const char *name)
{
	const char *value = getenv(name);

	return value != NULL && value[0] != '\0' ? value : NULL;
}

static bool is_sqlite(const struct fixture *f)
{
	return strcmp(f->backend->name, "sqlite") == 0;
}

/* Raw SQL beside the registry, as a person editing it by hand would write */

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void raw_exec(const struct fixture *f, const char *sql)
{
	if (is_sqlite(f)) {
		sqlite3 *db = NULL;
		char *err = NULL;

		assert_int_equal(sqlite3_open(f->location, &db), SQLITE_OK);
		if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
			fail_msg("%s: %s", sql, err);
		sqlite3_close(db);
		return;
	}
	PGconn *conn = PQconnectdb(env("MTASTS_TEST_POSTGRES_DSN"));
	if (PQstatus(conn) != CONNECTION_OK)
		fail_msg("postgres: %s", PQerrorMessage(conn));
	PQsetNoticeProcessor(conn, quiet, NULL);
	PGresult *res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(conn);
}

static struct domain_registry *open_registry(const struct fixture *f)
{
	struct domain_registry *registry = NULL;
	char why[512] = "";
	int rc = domain_registry_open(f->location, &registry, why, sizeof(why));

	if (rc != 0)
		fail_msg("opening %s: %d %s", f->location, rc, why);
	return registry;
}

static int setup(void **state)
{
	const struct backend *backend = *state;
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->backend = backend;
	if (is_sqlite(f)) {
		/* tmpfs when there is one: the many-domains case commits 10,000 times */
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(f->dir, sizeof(f->dir), "%s/mtasts-registry.XXXXXX", base);
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->location, sizeof(f->location), "%s/registry.db", f->dir);
	} else {
		snprintf(f->location, sizeof(f->location), "%s", env("MTASTS_TEST_POSTGRES_DSN"));
		raw_exec(f, "SET client_min_messages = warning;"
			 "DROP TABLE IF EXISTS domains, certificates, meta, registry_schema");
	}
	f->registry = open_registry(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	domain_registry_close(f->registry);
	if (is_sqlite(f)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		assert_int_equal(system(cmd), 0);
	}
	free(f);
	return 0;
}

/* Helpers */

static struct hosted_domain domain_of(const char *name, enum mtasts_mode mode, char **mx,
				      size_t mx_count, uint32_t max_age, char *rua)
{
	struct hosted_domain d = { .mode = mode, .mx = mx, .mx_count = mx_count,
				   .max_age = max_age, .tlsrpt_rua = rua };

	snprintf(d.name, sizeof(d.name), "%.*s", (int)sizeof(d.name) - 1, name);
	return d;
}

static char *example_mx[] = { "mx1.example.com", "*.example.net" };

static void add_ok(struct domain_registry *r, const char *name, int64_t now)
{
	struct hosted_domain d = domain_of(name, MTASTS_MODE_ENFORCE, example_mx, 2, WEEK, NULL);
	char why[512] = "";

	if (domain_registry_add(r, &d, now, why, sizeof(why)) != 0)
		fail_msg("adding %s: %s", name, why);
}

static uint64_t generation(struct domain_registry *r)
{
	uint64_t value = 0;
	char why[512] = "";

	if (domain_registry_generation(r, &value, why, sizeof(why)) != 0)
		fail_msg("generation: %s", why);
	return value;
}

/* What each() handed over, row by row. */
struct seen {
	size_t count, errors;
	char names[16][HOSTED_NAME_MAX + 1];
	char errors_text[16][512];
	bool in_order;
	char last[HOSTED_NAME_MAX + 1];
	int64_t removed_at[16];
};

static int collect(void *arg, const struct hosted_domain *domain, const char *name,
		   const char *error)
{
	struct seen *s = arg;

	if (strcmp(name, s->last) <= 0 && s->count > 0)
		s->in_order = false;
	snprintf(s->last, sizeof(s->last), "%s", name);
	if (s->count < 16) {
		snprintf(s->names[s->count], sizeof(s->names[0]), "%s", name);
		snprintf(s->errors_text[s->count], sizeof(s->errors_text[0]), "%s",
			 error != NULL ? error : "");
		s->removed_at[s->count] = domain != NULL ? domain->removed_at : -1;
	}
	assert_true((domain == NULL) == (error != NULL));
	if (domain != NULL)
		assert_string_equal(domain->name, name);
	s->errors += error != NULL;
	s->count++;
	return 0;
}

static struct seen walk(struct domain_registry *r)
{
	struct seen s = { .in_order = true };
	char why[512] = "";

	if (domain_registry_each(r, collect, &s, why, sizeof(why)) != 0)
		fail_msg("each: %s", why);
	return s;
}

/* Behaviours, for every backend */

static void add_and_get_exact(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain d = domain_of("example.com", MTASTS_MODE_ENFORCE, example_mx, 2, WEEK,
					   "mailto:tlsrpt@example.com");
	struct hosted_domain got;
	char why[512] = "";

	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)), 0);
	assert_string_equal(got.name, "example.com");
	assert_int_equal(got.mode, MTASTS_MODE_ENFORCE);
	assert_int_equal(got.mx_count, 2);
	assert_string_equal(got.mx[0], "mx1.example.com");
	assert_string_equal(got.mx[1], "*.example.net");
	assert_int_equal(got.max_age, WEEK);
	assert_string_equal(got.tlsrpt_rua, "mailto:tlsrpt@example.com");
	assert_int_equal(got.created, T0);
	assert_int_equal(got.updated, T0);
	assert_int_equal(got.removed_at, 0);
	assert_int_equal(got.removed_max_age, 0);
	hosted_domain_release(&got);
	assert_null(got.mx);
	hosted_domain_release(&got);		/* twice: harmless */
}

static void exists_and_not_found(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain d = domain_of("example.org", MTASTS_MODE_TESTING, example_mx, 1, 86400,
					   NULL);
	struct hosted_domain got;
	char why[512] = "";

	assert_int_equal(domain_registry_get(f->registry, "example.org", &got, why, sizeof(why)),
			 REGISTRY_NOT_FOUND);
	assert_non_null(strstr(why, "example.org"));
	assert_int_equal(domain_registry_update(f->registry, &d, T0, why, sizeof(why)),
			 REGISTRY_NOT_FOUND);
	assert_int_equal(domain_registry_remove(f->registry, "example.org", T0, why, sizeof(why)),
			 REGISTRY_NOT_FOUND);
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_add(f->registry, &d, T0 + 1, why, sizeof(why)),
			 REGISTRY_EXISTS);
	assert_non_null(strstr(why, "example.org"));
	assert_int_equal(domain_registry_remove(f->registry, "example.org", T0 + 2, why,
						sizeof(why)), 0);
	/* being removed: not hosted for update and remove, still there for add */
	assert_int_equal(domain_registry_remove(f->registry, "example.org", T0 + 3, why,
						sizeof(why)), REGISTRY_NOT_FOUND);
	assert_int_equal(domain_registry_update(f->registry, &d, T0 + 3, why, sizeof(why)),
			 REGISTRY_NOT_FOUND);
	assert_int_equal(domain_registry_add(f->registry, &d, T0 + 3, why, sizeof(why)),
			 REGISTRY_EXISTS);
	assert_int_equal(domain_registry_get(f->registry, "example.org", &got, why, sizeof(why)), 0);
	assert_int_equal(got.removed_at, T0 + 2);
	assert_int_equal(got.created, T0);
	hosted_domain_release(&got);
}

static void update_replaces_values(void **state)
{
	struct fixture *f = *state;
	char *mx[] = { "mail.example.com" };
	struct hosted_domain d = domain_of("example.com", MTASTS_MODE_TESTING, mx, 1, 3600, NULL);
	struct hosted_domain got;
	char why[512] = "";

	add_ok(f->registry, "example.com", T0);
	assert_int_equal(domain_registry_update(f->registry, &d, T0 + 60, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)), 0);
	assert_int_equal(got.mode, MTASTS_MODE_TESTING);
	assert_int_equal(got.mx_count, 1);
	assert_string_equal(got.mx[0], "mail.example.com");
	assert_int_equal(got.max_age, 3600);
	assert_null(got.tlsrpt_rua);
	assert_int_equal(got.created, T0);
	assert_int_equal(got.updated, T0 + 60);
	hosted_domain_release(&got);
}

static void cert_of(struct hosted_cert_status *c, const char *name, int64_t base,
		    const char *error)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->not_before = base;
	c->not_after = base + 90 * 86400;
	c->issued_at = base + 1;
	c->last_attempt = base + 2;
	c->next_attempt = base + 3;
	c->failures = 4;
	snprintf(c->last_error, sizeof(c->last_error), "%s", error);
}

static void remove_then_purge(void **state)
{
	struct fixture *f = *state;
	struct hosted_cert_status cert;
	struct hosted_domain got;
	size_t count = 99;
	char why[512] = "";

	add_ok(f->registry, "example.com", T0);
	add_ok(f->registry, "example.net", T0);
	cert_of(&cert, "mta-sts.example.com", T0, "");
	assert_int_equal(domain_registry_cert_put(f->registry, &cert, true, why, sizeof(why)), 0);
	cert_of(&cert, "mta-sts.example.net", T0, "");
	assert_int_equal(domain_registry_cert_put(f->registry, &cert, true, why, sizeof(why)), 0);

	assert_int_equal(domain_registry_remove(f->registry, "example.com", T0 + 100, why,
						sizeof(why)), 0);
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)), 0);
	assert_int_equal(got.removed_at, T0 + 100);
	assert_int_equal(got.removed_max_age, WEEK);
	assert_int_equal(got.max_age, WEEK);
	hosted_domain_release(&got);

	/* each() includes the domain being removed, with removed_at set */
	struct seen s = walk(f->registry);
	assert_int_equal(s.count, 2);
	assert_string_equal(s.names[0], "example.com");
	assert_int_equal(s.removed_at[0], T0 + 100);
	assert_int_equal(s.removed_at[1], 0);

	assert_int_equal(domain_registry_purge(f->registry, T0 + 100 + WEEK - 1, &count, why,
					       sizeof(why)), 0);
	assert_int_equal(count, 0);
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)), 0);
	hosted_domain_release(&got);

	assert_int_equal(domain_registry_purge(f->registry, T0 + 100 + WEEK, &count, why,
					       sizeof(why)), 0);
	assert_int_equal(count, 1);
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)),
			 REGISTRY_NOT_FOUND);
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &cert, why,
						  sizeof(why)), REGISTRY_NOT_FOUND);
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.net", &cert, why,
						  sizeof(why)), 0);
	assert_int_equal(domain_registry_get(f->registry, "example.net", &got, why, sizeof(why)), 0);
	hosted_domain_release(&got);
	/* a name removed and purged may be added again */
	add_ok(f->registry, "example.com", T0 + 2 * WEEK);
}

static char *long_rua(void)
{
	static char rua[HOSTED_RUA_MAX + 2];

	memset(rua, 'a', sizeof(rua) - 1);
	memcpy(rua, "mailto:", 7);
	rua[sizeof(rua) - 1] = '\0';
	return rua;
}

static void refusals(void **state)
{
	struct fixture *f = *state;
	static char *one[] = { "mx1.example.com" };
	static char *bad_pattern[] = { "mx1..example.com" };
	static char *wildcard_inside[] = { "mx.*.example.com" };
	static char *twice[] = { "mx1.example.com", "MX1.example.com" };
	static char *null_pattern[] = { NULL };
	static char *too_many[HOSTED_MX_MAX + 1];
	static char numbered[HOSTED_MX_MAX + 1][32];
	char long_name[300];

	for (size_t i = 0; i < ARRAY_LEN(too_many); i++) {
		snprintf(numbered[i], sizeof(numbered[i]), "mx%zu.example.com", i);
		too_many[i] = numbered[i];
	}
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	for (size_t i = 60; i < sizeof(long_name) - 1; i += 61)
		long_name[i] = '.';
	const struct {
		struct hosted_domain domain;
		const char *says;
	} cases[] = {
		{ domain_of("Example.com", MTASTS_MODE_ENFORCE, one, 1, WEEK, NULL), "name \"Example.com\"" },
		{ domain_of("example.com.", MTASTS_MODE_ENFORCE, one, 1, WEEK, NULL), "name \"example.com.\"" },
		{ domain_of("com", MTASTS_MODE_ENFORCE, one, 1, WEEK, NULL), "one label" },
		{ domain_of("", MTASTS_MODE_ENFORCE, one, 1, WEEK, NULL), "name \"\"" },
		{ domain_of("ex ample.com", MTASTS_MODE_ENFORCE, one, 1, WEEK, NULL), "name \"ex ample.com\"" },
		{ domain_of("b\xc3\xbc" "cher.example", MTASTS_MODE_ENFORCE, one, 1, WEEK, NULL),
		  "name \"b\\xc3\\xbccher.example\"" },
		{ domain_of("_mta-sts.example.com", MTASTS_MODE_ENFORCE, one, 1, WEEK, NULL), "name \"_mta-sts" },
		{ domain_of("example.com", MTASTS_MODE_NONE, one, 1, WEEK, NULL), "mode \"none\"" },
		{ domain_of("example.com", (enum mtasts_mode)7, one, 1, WEEK, NULL), "mode out of range" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, one, 0, WEEK, NULL), "mx: 0 patterns" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, too_many, HOSTED_MX_MAX + 1, WEEK, NULL),
		  "mx: 65 patterns" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, bad_pattern, 1, WEEK, NULL),
		  "mx \"mx1..example.com\"" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, wildcard_inside, 1, WEEK, NULL),
		  "mx \"mx.*.example.com\"" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, twice, 2, WEEK, NULL), "given twice" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, null_pattern, 1, WEEK, NULL), "missing" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, one, 1, 0, NULL), "max_age 0" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, one, 1, MTASTS_MAX_AGE_MAX + 1, NULL),
		  "max_age 31557601" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, one, 1, WEEK, ""), "tlsrpt_rua \"\"" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, one, 1, WEEK, "mailto:a@b\n.c"),
		  "tlsrpt_rua \"mailto:a@b\\x0a.c\" has an octet that is not printable ASCII at offset 10" },
		{ domain_of("example.com", MTASTS_MODE_ENFORCE, one, 1, WEEK, long_rua()), "2049 or more" },
	};
	uint64_t before = generation(f->registry);

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char why[512] = "";
		int rc = domain_registry_add(f->registry, &cases[i].domain, T0, why, sizeof(why));

		if (rc != REGISTRY_INVALID || strstr(why, cases[i].says) == NULL)
			fail_msg("case %zu: add gave %d \"%s\", expected INVALID with \"%s\"", i, rc,
				 why, cases[i].says);
		rc = domain_registry_update(f->registry, &cases[i].domain, T0, why, sizeof(why));
		if (rc != REGISTRY_INVALID)
			fail_msg("case %zu: update gave %d \"%s\"", i, rc, why);
	}
	assert_int_equal(generation(f->registry), before);
	assert_int_equal(walk(f->registry).count, 0);

	/* the bounds themselves are taken */
	struct hosted_domain edge = domain_of("a.b", MTASTS_MODE_TESTING, too_many, HOSTED_MX_MAX,
					      MTASTS_MAX_AGE_MAX, NULL);
	char why[512] = "";
	assert_int_equal(domain_registry_add(f->registry, &edge, T0, why, sizeof(why)), 0);
	edge = domain_of("c.d", MTASTS_MODE_TESTING, one, 1, 1, NULL);
	assert_int_equal(domain_registry_add(f->registry, &edge, T0, why, sizeof(why)), 0);

	/* names that reach the store only through get, remove, cert_get */
	struct hosted_domain got;
	struct hosted_cert_status cert;
	assert_int_equal(domain_registry_get(f->registry, "EXAMPLE.COM", &got, why, sizeof(why)),
			 REGISTRY_INVALID);
	assert_int_equal(domain_registry_get(f->registry, long_name, &got, why, sizeof(why)),
			 REGISTRY_INVALID);
	assert_non_null(strstr(why, "longer than 253 octets"));
	edge = domain_of("example.com", MTASTS_MODE_TESTING, one, 1, 1, NULL);
	memset(edge.name, 'a', sizeof(edge.name));
	assert_int_equal(domain_registry_add(f->registry, &edge, T0, why, sizeof(why)),
			 REGISTRY_INVALID);
	assert_non_null(strstr(why, "not terminated"));
	assert_int_equal(domain_registry_remove(f->registry, "x'; DROP TABLE domains; --", T0,
						why, sizeof(why)), REGISTRY_INVALID);
	assert_non_null(strstr(why, "name \"x'; DROP TABLE domains; --\""));
	assert_int_equal(domain_registry_remove(f->registry, "a.b", 0, why, sizeof(why)),
			 REGISTRY_INVALID);
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts..example", &cert, why,
						  sizeof(why)), REGISTRY_INVALID);
	cert_of(&cert, "*.example.com", T0, "");
	assert_int_equal(domain_registry_cert_put(f->registry, &cert, true, why, sizeof(why)),
			 REGISTRY_INVALID);
}

static void generation_moves_with_every_write(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain d = domain_of("example.com", MTASTS_MODE_TESTING, example_mx, 1, 3600,
					   NULL);
	struct hosted_cert_status cert;
	struct domain_registry *other = open_registry(f);
	size_t count = 0;
	char why[512] = "";
	uint64_t g = generation(f->registry), next;

	assert_int_equal(generation(other), g);
	add_ok(f->registry, "example.com", T0);
	assert_true((next = generation(f->registry)) != g);
	assert_int_equal(generation(other), next);	/* seen by another client at once */
	g = next;

	assert_int_equal(domain_registry_update(f->registry, &d, T0 + 1, why, sizeof(why)), 0);
	assert_true((next = generation(f->registry)) != g);
	g = next;

	/* a write by the other client is seen by this one */
	add_ok(other, "example.net", T0);
	assert_true((next = generation(f->registry)) != g);
	g = next;

	cert_of(&cert, "mta-sts.example.com", T0, "rate limited");
	assert_int_equal(domain_registry_cert_put(other, &cert, true, why, sizeof(why)), 0);
	assert_true((next = generation(f->registry)) != g);
	g = next;

	/* a status written without announcing it is stored, the generation stays */
	cert_of(&cert, "mta-sts.example.com", T0, "does not answer");
	assert_int_equal(domain_registry_cert_put(other, &cert, false, why, sizeof(why)), 0);
	assert_int_equal(generation(f->registry), g);
	struct hosted_cert_status kept;
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &kept, why,
						  sizeof(why)), 0);
	assert_string_equal(kept.last_error, "does not answer");

	assert_int_equal(domain_registry_remove(f->registry, "example.com", T0 + 2, why,
						sizeof(why)), 0);
	assert_true((next = generation(other)) != g);
	g = next;

	/* a purge that drops nothing and a refused write change nothing */
	assert_int_equal(domain_registry_purge(f->registry, T0 + 3, &count, why, sizeof(why)), 0);
	assert_int_equal(count, 0);
	assert_int_equal(generation(f->registry), g);
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)),
			 REGISTRY_EXISTS);
	assert_int_equal(generation(f->registry), g);

	/* the week-long policy replaced at T0 + 1 may be cached until T0 + 1 + WEEK */
	assert_int_equal(domain_registry_purge(other, T0 + 1 + WEEK, &count, why, sizeof(why)), 0);
	assert_int_equal(count, 1);
	assert_true(generation(f->registry) != g);
	domain_registry_close(other);
}

/* A registry made again (a file deleted, tables dropped) does not start at the old number. */
static void generation_of_a_new_registry(void **state)
{
	struct fixture *f = *state;
	uint64_t first = generation(f->registry);

	domain_registry_close(f->registry);
	f->registry = NULL;
	if (is_sqlite(f)) {
		char path[1100];
		assert_int_equal(unlink(f->location), 0);
		snprintf(path, sizeof(path), "%s-wal", f->location);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", f->location);
		unlink(path);
	} else
		raw_exec(f, "DROP TABLE domains, certificates, meta, registry_schema");
	f->registry = open_registry(f);
	assert_true(generation(f->registry) != first);
}

static void corrupt_rows_are_named(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain got;
	char why[512] = "";

	add_ok(f->registry, "a.example", T0);
	add_ok(f->registry, "b.example", T0);
	add_ok(f->registry, "c.example", T0);
	add_ok(f->registry, "d.example", T0);
	add_ok(f->registry, "e.example", T0);
	add_ok(f->registry, "f.example", T0);
	add_ok(f->registry, "g.example", T0);
	raw_exec(f, "UPDATE domains SET mode = 'strict' WHERE name = 'b.example';"
		 "UPDATE domains SET mx = 'mx1.example.com\nbad pattern' WHERE name = 'c.example';"
		 "UPDATE domains SET max_age = 0 WHERE name = 'd.example';"
		 "UPDATE domains SET max_age = -5 WHERE name = 'e.example';"
		 "UPDATE domains SET removed_at = 10 WHERE name = 'f.example';"
		 "INSERT INTO domains VALUES ('H.example', 'enforce', 'mx.example', 60, NULL, 1, 1, "
		 "0, 0, 61)");

	struct seen s = walk(f->registry);
	assert_int_equal(s.count, 8);
	assert_int_equal(s.errors, 6);
	assert_true(s.in_order);
	assert_string_equal(s.names[0], "H.example");
	assert_non_null(strstr(s.errors_text[0], "name \"H.example\" is not in lower-case"));
	assert_string_equal(s.names[1], "a.example");
	assert_string_equal(s.errors_text[1], "");
	assert_string_equal(s.names[2], "b.example");
	assert_string_equal(s.errors_text[2],
			    "column mode is \"strict\"; it holds testing or enforce");
	assert_string_equal(s.names[3], "c.example");
	assert_non_null(strstr(s.errors_text[3], "column mx \"bad pattern\""));
	assert_string_equal(s.names[4], "d.example");
	assert_non_null(strstr(s.errors_text[4], "column max_age is \"0\""));
	assert_string_equal(s.names[5], "e.example");
	assert_non_null(strstr(s.errors_text[5], "column max_age is \"-5\""));
	assert_string_equal(s.names[6], "f.example");
	assert_non_null(strstr(s.errors_text[6], "removed_max_age is 0"));
	assert_string_equal(s.names[7], "g.example");
	assert_string_equal(s.errors_text[7], "");

	assert_int_equal(domain_registry_get(f->registry, "b.example", &got, why, sizeof(why)),
			 REGISTRY_INVALID);
	assert_string_equal(why, "the registry's row of b.example cannot be read: column mode is "
			    "\"strict\"; it holds testing or enforce");
	assert_int_equal(domain_registry_get(f->registry, "g.example", &got, why, sizeof(why)), 0);
	hosted_domain_release(&got);

	if (is_sqlite(f)) {
		/* SQLite keeps what it is given: text in an integer column, NULL rua is fine */
		raw_exec(f, "UPDATE domains SET max_age = 'week', tlsrpt_rua = NULL "
			 "WHERE name = 'g.example'");
		assert_int_equal(domain_registry_get(f->registry, "g.example", &got, why,
						     sizeof(why)), REGISTRY_INVALID);
		assert_non_null(strstr(why, "column max_age is \"week\""));
	}
}

/* RFC 8461 8.3: a policy replaced by a shorter one may still be cached for its own max_age. */
static void removal_waits_for_replaced_policy(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain year = domain_of("example.com", MTASTS_MODE_ENFORCE, example_mx, 2,
					      (uint32_t)YEAR, NULL);
	struct hosted_domain day = domain_of("example.com", MTASTS_MODE_ENFORCE, example_mx, 2, DAY,
					     NULL);
	struct hosted_domain got;
	size_t count = 99;
	char why[512] = "";

	assert_int_equal(domain_registry_add(f->registry, &year, T0, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_update(f->registry, &day, T0 + 10, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_remove(f->registry, "example.com", T0 + 20, why,
						sizeof(why)), 0);
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)), 0);
	assert_int_equal(got.max_age, DAY);
	assert_int_equal(got.removed_max_age, YEAR - 10);	/* until T0 + 10 + YEAR */
	hosted_domain_release(&got);

	assert_int_equal(domain_registry_purge(f->registry, T0 + 20 + DAY, &count, why,
					       sizeof(why)), 0);
	assert_int_equal(count, 0);
	assert_int_equal(domain_registry_purge(f->registry, T0 + 10 + YEAR - 1, &count, why,
					       sizeof(why)), 0);
	assert_int_equal(count, 0);
	assert_int_equal(domain_registry_purge(f->registry, T0 + 10 + YEAR, &count, why,
					       sizeof(why)), 0);
	assert_int_equal(count, 1);

	/* a max_age raised: the new one decides */
	assert_int_equal(domain_registry_add(f->registry, &day, T0 + 2 * YEAR, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_update(f->registry, &year, T0 + 2 * YEAR + 10, why,
						sizeof(why)), 0);
	assert_int_equal(domain_registry_remove(f->registry, "example.com", T0 + 2 * YEAR + 20,
						why, sizeof(why)), 0);
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)), 0);
	assert_int_equal(got.removed_max_age, YEAR);
	hosted_domain_release(&got);
}

/* Times past year 9999 are refused; stored ones are corrupt rows that purge leaves alone. */
static void huge_times_do_not_break_purge(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain d = domain_of("example.com", MTASTS_MODE_ENFORCE, example_mx, 2, WEEK,
					   NULL);
	size_t count = 99;
	char why[512] = "";

	assert_int_equal(domain_registry_add(f->registry, &d, HOSTED_TIME_MAX + 1, why,
					     sizeof(why)), REGISTRY_INVALID);
	assert_non_null(strstr(why, "not from 1970 to 9999"));
	add_ok(f->registry, "a.example", T0);
	add_ok(f->registry, "b.example", T0);
	add_ok(f->registry, "c.example", T0);
	add_ok(f->registry, "d.example", T0);
	assert_int_equal(domain_registry_remove(f->registry, "a.example", HOSTED_TIME_MAX + 1, why,
						sizeof(why)), REGISTRY_INVALID);
	assert_non_null(strstr(why, "not from 1970 to 9999"));
	assert_int_equal(domain_registry_remove(f->registry, "a.example", T0, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_remove(f->registry, "b.example", T0, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_remove(f->registry, "c.example", T0, why, sizeof(why)), 0);
	raw_exec(f, "UPDATE domains SET removed_at = 9223372036854775000 WHERE name = 'a.example';"
		 "UPDATE domains SET removed_max_age = -9223372036854775000 "
		 "WHERE name = 'b.example'");
	assert_int_equal(domain_registry_purge(f->registry, HOSTED_TIME_MAX + 1, &count, why,
					       sizeof(why)), REGISTRY_INVALID);
	assert_int_equal(domain_registry_purge(f->registry, HOSTED_TIME_MAX, &count, why,
					       sizeof(why)), 0);
	assert_int_equal(count, 1);			/* c.example */

	struct seen s = walk(f->registry);
	assert_int_equal(s.count, 3);
	assert_string_equal(s.names[0], "a.example");
	assert_non_null(strstr(s.errors_text[0], "column removed_at is \"9223372036854775000\""));
	assert_string_equal(s.names[1], "b.example");
	assert_non_null(strstr(s.errors_text[1], "column removed_max_age is"));
	assert_string_equal(s.names[2], "d.example");
	assert_string_equal(s.errors_text[2], "");
}

/* SQLite keeps text in an INTEGER column: such a row is reported, never purged. */
static void sqlite_purge_spares_text_in_integers(void **state)
{
	struct fixture *f = *state;
	size_t count = 99;
	char why[512] = "";
	const char *names[] = { "a.example", "b.example", "c.example", "d.example" };

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		add_ok(f->registry, names[i], T0);
		assert_int_equal(domain_registry_remove(f->registry, names[i], T0, why, sizeof(why)),
				 0);
	}
	raw_exec(f, "UPDATE domains SET removed_at = 'soon' WHERE name = 'a.example';"
		 "UPDATE domains SET removed_max_age = 'x' WHERE name = 'b.example';"
		 "UPDATE domains SET served_until = 'later' WHERE name = 'c.example'");
	assert_int_equal(domain_registry_purge(f->registry, T0 + YEAR, &count, why, sizeof(why)),
			 0);
	assert_int_equal(count, 1);			/* d.example */
	struct seen s = walk(f->registry);
	assert_int_equal(s.count, 3);
	assert_int_equal(s.errors, 3);
	assert_non_null(strstr(s.errors_text[0], "column removed_at is \"soon\""));
	assert_non_null(strstr(s.errors_text[1], "column removed_max_age is \"x\""));
	assert_non_null(strstr(s.errors_text[2], "column served_until is \"later\""));
}

/* A name of n octets: labels of 50 octets, the last one shorter. */
static void name_of_length(char *buf, size_t n)
{
	memset(buf, 'a', n);
	for (size_t i = 50; i < n - 1; i += 51)
		buf[i] = '.';
	buf[n] = '\0';
}

static void name_length_leaves_room_for_mta_sts(void **state)
{
	struct fixture *f = *state;
	char name[HOSTED_NAME_MAX + 1], why[512] = "";
	struct hosted_cert_status put, got;

	name_of_length(name, HOSTED_DOMAIN_MAX + 1);
	struct hosted_domain d = domain_of(name, MTASTS_MODE_ENFORCE, example_mx, 2, WEEK, NULL);
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)),
			 REGISTRY_INVALID);
	assert_non_null(strstr(why, "is 245 octets; a hosted domain has at most 244, for "
			       "_mta-sts.<domain> must stay within the 253 octets"));
	name_of_length(name, HOSTED_NAME_MAX);
	d = domain_of(name, MTASTS_MODE_ENFORCE, example_mx, 2, WEEK, NULL);
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)),
			 REGISTRY_INVALID);

	name_of_length(name, HOSTED_DOMAIN_MAX);
	d = domain_of(name, MTASTS_MODE_ENFORCE, example_mx, 2, WEEK, NULL);
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)), 0);
	/* its certificate's name, mta-sts.<name>, fits the status */
	char host[sizeof(put.name) + 8];
	snprintf(host, sizeof(host), "mta-sts.%s", name);
	assert_true(strlen(host) < sizeof(put.name));
	cert_of(&put, host, T0, "");
	assert_int_equal(domain_registry_cert_put(f->registry, &put, true, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_cert_get(f->registry, host, &got, why, sizeof(why)), 0);
	assert_string_equal(got.name, host);
}

/* last_error stored as printable ASCII, cut at an escape; a row holding more is refused. */
static void cert_error_is_printable(void **state)
{
	struct fixture *f = *state;
	struct hosted_cert_status put, got;
	char why[512] = "", long_error[HOSTED_ERROR_MAX], expected[HOSTED_ERROR_MAX];

	cert_of(&put, "mta-sts.example.com", T0, "order: \xff\xfe \x1b[31mred\\");
	assert_int_equal(domain_registry_cert_put(f->registry, &put, true, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &got, why,
						  sizeof(why)), 0);
	assert_string_equal(got.last_error, "order: \\xff\\xfe \\x1b[31mred\\");
	assert_int_equal(got.failures, 4);

	/* 254 octets then one to escape: the escape does not fit, it is left out */
	memset(long_error, 'e', HOSTED_ERROR_MAX - 2);
	long_error[HOSTED_ERROR_MAX - 2] = '\x01';
	long_error[HOSTED_ERROR_MAX - 1] = '\0';
	memcpy(put.last_error, long_error, sizeof(long_error));
	assert_int_equal(domain_registry_cert_put(f->registry, &put, true, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &got, why,
						  sizeof(why)), 0);
	memcpy(expected, long_error, sizeof(expected));
	expected[HOSTED_ERROR_MAX - 2] = '\0';
	assert_string_equal(got.last_error, expected);

	/* all to escape: 63 whole escapes of 4 octets */
	memset(put.last_error, '\x02', HOSTED_ERROR_MAX - 1);
	put.last_error[HOSTED_ERROR_MAX - 1] = '\0';
	assert_int_equal(domain_registry_cert_put(f->registry, &put, true, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &got, why,
						  sizeof(why)), 0);
	assert_int_equal(strlen(got.last_error), 63 * 4);
	assert_memory_equal(got.last_error + 62 * 4, "\\x02", 4);

	raw_exec(f, is_sqlite(f) ? "UPDATE certificates SET last_error = 'x' || char(27)"
				 : "UPDATE certificates SET last_error = 'x' || chr(27)");
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &got, why,
						  sizeof(why)), REGISTRY_INVALID);
	assert_non_null(strstr(why, "column last_error is \"x\\x1b\"; it holds printable ASCII"));
}

/* A registry that lost its generation row refuses writes, and says so when read. */
static void generation_row_missing(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain got;
	uint64_t g = 7;
	char why[512] = "";

	raw_exec(f, "DELETE FROM meta");
	struct hosted_domain d = domain_of("example.com", MTASTS_MODE_ENFORCE, example_mx, 2, WEEK,
					   NULL);
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_non_null(strstr(why, "generation row is missing"));
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)),
			 REGISTRY_NOT_FOUND);
	assert_int_equal(domain_registry_generation(f->registry, &g, why, sizeof(why)),
			 REGISTRY_INVALID);
	assert_int_equal(g, 7);
	assert_non_null(strstr(why, "generation row is missing"));
}

/* The rua makes the TXT record `mtasts domains dns` prints, so it must parse as one. */
static void rua_checked_as_a_record(void **state)
{
	struct fixture *f = *state;
	static const char *const refused[] = {
		"mailto:a@example.com; x=y",
		"mailto:a@example.com;",
		"mailto:a@example.com\"",
		"mailto:a\\@example.com",
		"mailto:a@exa mple.com",
		"ftp://example.com/reports",
		"mailto:",
	};
	static const char *const taken[] = {
		"mailto:tlsrpt@example.com",
		"mailto:a@example.com,https://reports.example.com/v1",
		"mailto:a@example.com, mailto:b@example.net",
	};
	char why[512] = "";

	for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
		struct hosted_domain d = domain_of("example.com", MTASTS_MODE_ENFORCE, example_mx, 2,
						   WEEK, (char *)refused[i]);
		int rc = domain_registry_add(f->registry, &d, T0, why, sizeof(why));

		if (rc != REGISTRY_INVALID || strstr(why, "tlsrpt_rua \"") == NULL)
			fail_msg("%s: add gave %d \"%s\"", refused[i], rc, why);
		printf("# %s\n", why);
	}
	for (size_t i = 0; i < ARRAY_LEN(taken); i++) {
		char name[32];
		snprintf(name, sizeof(name), "d%zu.example", i);
		struct hosted_domain d = domain_of(name, MTASTS_MODE_ENFORCE, example_mx, 2, WEEK,
						   (char *)taken[i]);
		if (domain_registry_add(f->registry, &d, T0, why, sizeof(why)) != 0)
			fail_msg("%s: %s", taken[i], why);
	}
}

/* While it waits to connect again, PostgreSQL still says why the last connect failed. */
static void postgres_reconnect_wait_says_why(void **state)
{
	struct fixture *f = *state;
	struct domain_registry *registry = NULL;
	char location[1200], why[512] = "";
	uint64_t g;

	/* a role of its own, whose logins can be refused while the test's go on */
	raw_exec(f, "DROP ROLE IF EXISTS mtasts_regtest; CREATE ROLE mtasts_regtest LOGIN SUPERUSER");
	snprintf(location, sizeof(location), "%s%suser=mtasts_regtest", f->location,
		 strchr(f->location, '?') != NULL ? "&" : "?");
	if (domain_registry_open(location, &registry, why, sizeof(why)) != 0)
		fail_msg("opening as mtasts_regtest: %s", why);
	assert_int_equal(domain_registry_generation(registry, &g, why, sizeof(why)), 0);
	raw_exec(f, "ALTER ROLE mtasts_regtest NOLOGIN;"
		 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		 "WHERE usename = 'mtasts_regtest'");
	assert_int_equal(domain_registry_generation(registry, &g, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	printf("# first: %s\n", why);
	assert_non_null(strstr(why, "not permitted to log in"));
	why[0] = '\0';
	assert_int_equal(domain_registry_generation(registry, &g, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	printf("# during the wait: %s\n", why);
	assert_non_null(strstr(why, "not permitted to log in"));
	domain_registry_close(registry);
	raw_exec(f, "DROP ROLE mtasts_regtest");
}

/* A walk that stops: the callback's value comes back, no more rows. */
static int stop_at_second(void *arg, const struct hosted_domain *domain, const char *name,
			  const char *error)
{
	(void)domain;
	(void)name;
	(void)error;
	return ++*(int *)arg == 2 ? 42 : 0;
}

static void each_stops_when_asked(void **state)
{
	struct fixture *f = *state;
	char why[512] = "";
	int calls = 0;

	add_ok(f->registry, "a.example", T0);
	add_ok(f->registry, "b.example", T0);
	add_ok(f->registry, "c.example", T0);
	assert_int_equal(domain_registry_each(f->registry, stop_at_second, &calls, why,
					      sizeof(why)), 42);
	assert_int_equal(calls, 2);
}

static void certificates(void **state)
{
	struct fixture *f = *state;
	struct hosted_cert_status put, got;
	char why[512] = "";

	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &got, why,
						  sizeof(why)), REGISTRY_NOT_FOUND);
	cert_of(&put, "mta-sts.example.com", T0, "urn:ietf:params:acme:error:rateLimited \"x\"");
	put.failures = 4000000000u;
	assert_int_equal(domain_registry_cert_put(f->registry, &put, true, why, sizeof(why)), 0);
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &got, why,
						  sizeof(why)), 0);
	assert_memory_equal(&put, &got, sizeof(put));

	cert_of(&put, "mta-sts.example.com", T0 + 86400, "");
	put.failures = 0;
	put.next_attempt = 0;
	assert_int_equal(domain_registry_cert_put(f->registry, &put, true, why, sizeof(why)), 0);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &got, why,
						  sizeof(why)), 0);
	assert_string_equal(got.name, put.name);
	assert_int_equal(got.not_before, T0 + 86400);
	assert_int_equal(got.not_after, T0 + 91 * 86400);
	assert_int_equal(got.issued_at, T0 + 86401);
	assert_int_equal(got.last_attempt, T0 + 86402);
	assert_int_equal(got.next_attempt, 0);
	assert_int_equal(got.failures, 0);
	assert_string_equal(got.last_error, "");
}

static int count_only(void *arg, const struct hosted_domain *domain, const char *name,
		      const char *error)
{
	struct seen *s = arg;

	if (domain == NULL || error != NULL)
		fail_msg("%s: %s", name, error);
	if (s->count > 0 && strcmp(s->last, name) >= 0)
		s->in_order = false;
	snprintf(s->last, sizeof(s->last), "%s", name);
	s->count++;
	return 0;
}

static void many_domains(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .in_order = true };
	char name[64], why[512] = "";

	/* added in an order that is not the name order */
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "d%05d.example", (i * 7919) % MANY);
		add_ok(f->registry, name, T0 + i);
	}
	long long start = monotonic_ms();
	assert_int_equal(domain_registry_each(f->registry, count_only, &s, why, sizeof(why)), 0);
	long long elapsed = monotonic_ms() - start;

	assert_int_equal(s.count, MANY);
	assert_true(s.in_order);
	assert_string_equal(s.last, "d09999.example");
	printf("# %s: %d domains read in %lld ms\n", f->backend->name, MANY, elapsed);
	if (elapsed >= 500)
		fail_msg("%d domains read in %lld ms", MANY, elapsed);
}

/* What only SQLite promises */

static void sqlite_file_mode(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->location, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void sqlite_locked_is_unavailable(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain d = domain_of("example.net", MTASTS_MODE_ENFORCE, example_mx, 2, WEEK,
					   NULL);
	struct hosted_domain got;
	sqlite3 *db = NULL;
	char why[512] = "";

	add_ok(f->registry, "example.com", T0);
	uint64_t before = generation(f->registry);

	/* another process writing and not letting go: writes give up after the busy timeout */
	assert_int_equal(sqlite3_open(f->location, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_non_null(strstr(why, "locked"));
	/* reads go on beside the writer (WAL) */
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)), 0);
	hosted_domain_release(&got);
	assert_int_equal(generation(f->registry), before);

	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)), 0);
	assert_true(generation(f->registry) != before);
}

static void sqlite_failing_store_is_unavailable(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain d = domain_of("example.com", MTASTS_MODE_ENFORCE, example_mx, 2, WEEK,
					   NULL);
	struct domain_registry *registry = NULL;
	struct hosted_domain got;
	char why[512] = "";

	/* a write the store refuses: UNAVAILABLE with its message, nothing kept */
	raw_exec(f, "CREATE TRIGGER refuse BEFORE INSERT ON domains "
		 "BEGIN SELECT RAISE(ABORT, 'the disk said no'); END");
	assert_int_equal(domain_registry_add(f->registry, &d, T0, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_non_null(strstr(why, "the disk said no"));
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)),
			 REGISTRY_NOT_FOUND);

	/* a location that is not a file */
	assert_int_equal(domain_registry_open(f->dir, &registry, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_null(registry);
	assert_int_equal(domain_registry_open("", &registry, why, sizeof(why)), REGISTRY_INVALID);
}

/* Tables gone under an open registry: every call says so with the store's words, none crashes. */
static void store_failures_are_unavailable(void **state)
{
	struct fixture *f = *state;
	struct hosted_domain got;
	struct hosted_cert_status cert;
	struct seen seen = { .in_order = true };
	char why[512] = "";
	size_t count = 7;
	uint64_t g = 7;

	add_ok(f->registry, "example.com", T0);
	raw_exec(f, "DROP TABLE domains; DROP TABLE meta; DROP TABLE certificates");
	assert_int_equal(domain_registry_each(f->registry, count_only, &seen, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_int_equal(seen.count, 0);
	assert_non_null(strstr(why, is_sqlite(f) ? "no such table: domains"
						 : "relation \"domains\" does not exist"));
	assert_int_equal(domain_registry_get(f->registry, "example.com", &got, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_int_equal(domain_registry_purge(f->registry, T0, &count, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_int_equal(count, 7);
	assert_int_equal(domain_registry_generation(f->registry, &g, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_int_equal(g, 7);
	assert_int_equal(domain_registry_remove(f->registry, "example.com", T0, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	cert_of(&cert, "mta-sts.example.com", T0, "");
	assert_int_equal(domain_registry_cert_put(f->registry, &cert, true, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_int_equal(domain_registry_cert_get(f->registry, "mta-sts.example.com", &cert, why,
						  sizeof(why)), REGISTRY_UNAVAILABLE);
	/* the connection is still good for the next call */
	assert_int_equal(domain_registry_each(f->registry, count_only, &seen, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
}

/* A server that is not there: open says so by its deadline. */
static void postgres_unreachable(void **state)
{
	struct domain_registry *registry = NULL;
	char why[512] = "";
	long long start = monotonic_ms();

	(void)state;
	assert_int_equal(domain_registry_open("postgresql:///registry?host=/nonexistent&port=1",
					      &registry, why, sizeof(why)), REGISTRY_UNAVAILABLE);
	assert_null(registry);
	assert_non_null(strstr(why, "PostgreSQL: connecting"));
	assert_true(monotonic_ms() - start < 10000);
}

/*
 * A registry this process may read but not write (another user's file):
 * it opens or it does not, and every write says UNAVAILABLE.  Run as
 * user nobody in a child, for root writes any file.
 */
static void sqlite_read_only_is_unavailable(void **state)
{
	struct fixture *f = *state;
	int status = 0;

	add_ok(f->registry, "example.com", T0);
	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(f->location, 0644), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hosted_domain d = domain_of("example.net", MTASTS_MODE_ENFORCE, example_mx, 2,
						   WEEK, NULL);
		struct domain_registry *registry = NULL;
		char why[512] = "";

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(10);
		int rc = domain_registry_open(f->location, &registry, why, sizeof(why));
		printf("# read-only open: %d %s\n", rc, why);
		fflush(stdout);
		if (rc != 0)
			_exit(rc == REGISTRY_UNAVAILABLE && why[0] != '\0' ? 0 : 11);
		rc = domain_registry_add(registry, &d, T0, why, sizeof(why));
		printf("# read-only add: %d %s\n", rc, why);
		fflush(stdout);
		domain_registry_close(registry);
		_exit(rc == REGISTRY_UNAVAILABLE && why[0] != '\0' ? 0 : 12);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A file of a newer schema is refused, not written over. */
static void sqlite_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct domain_registry *registry = NULL;
	char why[512] = "";

	raw_exec(f, "PRAGMA user_version = 2");
	assert_int_equal(domain_registry_open(f->location, &registry, why, sizeof(why)),
			 REGISTRY_UNAVAILABLE);
	assert_non_null(strstr(why, "schema version 2"));
}

int main(void)
{
	static const struct {
		const char *name;
		CMUnitTestFunction fn;
		const char *only;		/* the one backend it runs on, or NULL */
	} behaviours[] = {
		{ "add_and_get_exact", add_and_get_exact, NULL },
		{ "exists_and_not_found", exists_and_not_found, NULL },
		{ "update_replaces_values", update_replaces_values, NULL },
		{ "remove_then_purge", remove_then_purge, NULL },
		{ "refusals", refusals, NULL },
		{ "generation_moves_with_every_write", generation_moves_with_every_write, NULL },
		{ "generation_of_a_new_registry", generation_of_a_new_registry, NULL },
		{ "corrupt_rows_are_named", corrupt_rows_are_named, NULL },
		{ "each_stops_when_asked", each_stops_when_asked, NULL },
		{ "certificates", certificates, NULL },
		{ "many_domains", many_domains, NULL },
		{ "store_failures_are_unavailable", store_failures_are_unavailable, NULL },
		{ "removal_waits_for_replaced_policy", removal_waits_for_replaced_policy, NULL },
		{ "huge_times_do_not_break_purge", huge_times_do_not_break_purge, NULL },
		{ "name_length_leaves_room_for_mta_sts", name_length_leaves_room_for_mta_sts, NULL },
		{ "cert_error_is_printable", cert_error_is_printable, NULL },
		{ "generation_row_missing", generation_row_missing, NULL },
		{ "rua_checked_as_a_record", rua_checked_as_a_record, NULL },
		{ "sqlite_purge_spares_text_in_integers", sqlite_purge_spares_text_in_integers, "sqlite" },
		{ "sqlite_file_mode", sqlite_file_mode, "sqlite" },
		{ "sqlite_locked_is_unavailable", sqlite_locked_is_unavailable, "sqlite" },
		{ "sqlite_failing_store_is_unavailable", sqlite_failing_store_is_unavailable, "sqlite" },
		{ "sqlite_read_only_is_unavailable", sqlite_read_only_is_unavailable, "sqlite" },
		{ "sqlite_newer_schema_refused", sqlite_newer_schema_refused, "sqlite" },
		{ "postgres_reconnect_wait_says_why", postgres_reconnect_wait_says_why, "postgres" },
	};
	static struct CMUnitTest tests[ARRAY_LEN(backends) * ARRAY_LEN(behaviours) + 1];
	static char names[ARRAY_LEN(tests)][96];
	size_t count = 0;

	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		if (backends[b].needs != NULL && env(backends[b].needs) == NULL) {
			printf("# %s: skipped, %s is not set\n", backends[b].name, backends[b].needs);
			continue;
		}
		for (size_t i = 0; i < ARRAY_LEN(behaviours); i++) {
			if (behaviours[i].only != NULL && strcmp(backends[b].name, behaviours[i].only) != 0)
				continue;
			snprintf(names[count], sizeof(names[count]), "%s/%s", backends[b].name,
				 behaviours[i].name);
			tests[count] = (struct CMUnitTest){
				.name = names[count], .test_func = behaviours[i].fn,
				.setup_func = setup, .teardown_func = teardown,
				.initial_state = (void *)&backends[b],
			};
			count++;
		}
	}
	tests[count++] = (struct CMUnitTest)cmocka_unit_test(postgres_unreachable);
	return _cmocka_run_group_tests("domain_registry", tests, count, NULL, NULL);
}
