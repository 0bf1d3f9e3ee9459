/*
 * test_serve_hosting.c - the table of hosted policies of `mtasts serve`
 * over a real SQLite registry in a mkdtemp() directory: lookups by host
 * name (any case, a final dot), the body and ETag hosted_policy_render()
 * gives, a removal served until it is over, a corrupt row counted while
 * the others are served, a change seen by polling, a reload that fails
 * keeping the table in use, and a registry that cannot be opened.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "unit.h"

#include "domain_registry.h"
#include "hosted_policy.h"
#include "serve.h"

struct fixture {
	char dir[64];
	char location[96];
	struct domain_registry *registry;
	struct event_base *base;
	struct serve_config config;
	struct serve_metrics metrics;
	struct serve_hosting *hosting;
	unsigned changes;
};

static char *a_mx[] = { "mail.a.example", "*.a.example" };
static char *b_mx[] = { "mx.b.example" };

static void add(struct fixture *f, const char *name, enum mtasts_mode mode, char **mx,
		size_t mx_count, uint32_t max_age)
{
	struct hosted_domain d = { .mode = mode, .mx = mx, .mx_count = mx_count,
				   .max_age = max_age };
	char why[512] = "";

	snprintf(d.name, sizeof(d.name), "%s", name);
	if (domain_registry_add(f->registry, &d, (int64_t)time(NULL), why, sizeof(why)) != 0)
		fail_msg("adding %s: %s", name, why);
}

static void raw_exec(const struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	assert_int_equal(sqlite3_open(f->location, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

static void on_change(void *arg)
{
	struct fixture *f = arg;

	f->changes++;
}

static void open_hosting(struct fixture *f)
{
	char why[SERVE_WHY_SIZE] = "";

	if (serve_hosting_open(f->base, &f->config, &f->metrics, &f->hosting, why,
			       sizeof(why)) != 0)
		fail_msg("serve_hosting_open: %s", why);
	serve_hosting_on_change(f->hosting, on_change, f);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char why[512] = "";

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mtasts-hosting.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->location, sizeof(f->location), "%s/domains.db", f->dir);
	if (domain_registry_open(f->location, &f->registry, why, sizeof(why)) != 0)
		fail_msg("opening %s: %s", f->location, why);
	assert_non_null(f->base = event_base_new());
	f->config.registry = f->location;
	f->config.registry_poll = 1;
	add(f, "a.example", MTASTS_MODE_ENFORCE, a_mx, 2, 86400);
	add(f, "b.example", MTASTS_MODE_TESTING, b_mx, 1, 604800);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	serve_hosting_free(f->hosting);
	domain_registry_close(f->registry);
	event_base_free(f->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Run the loop for ms milliseconds (the poll timer fires in it). */
static void run_for(struct fixture *f, long ms)
{
	struct timeval limit = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(f->base, &limit);
	event_base_dispatch(f->base);
}

static void lookups(void **state)
{
	struct fixture *f = *state;
	int64_t now = (int64_t)time(NULL);
	struct hosted_domain d = { .mode = MTASTS_MODE_ENFORCE, .mx = a_mx, .mx_count = 2,
				   .max_age = 86400 };
	struct hosted_policy want;
	const struct serve_hosted *got;
	char why[256];

	open_hosting(f);
	snprintf(d.name, sizeof(d.name), "a.example");
	assert_int_equal(hosted_policy_render(&d, &want, why, sizeof(why)), 0);
	got = serve_hosting_find(f->hosting, "mta-sts.a.example", now);
	assert_non_null(got);
	assert_string_equal(got->name, "mta-sts.a.example");
	assert_int_equal(got->body_len, want.body_len);
	assert_memory_equal(got->body, want.body, want.body_len);
	assert_string_equal(got->etag, want.etag);
	assert_int_equal(got->serve_until, 0);
	hosted_policy_release(&want);

	assert_ptr_equal(serve_hosting_find(f->hosting, "MTA-STS.A.Example", now), got);
	assert_ptr_equal(serve_hosting_find(f->hosting, "mta-sts.a.example.", now), got);
	assert_non_null(serve_hosting_find(f->hosting, "mta-sts.b.example", now));
	assert_null(serve_hosting_find(f->hosting, "a.example", now));
	assert_null(serve_hosting_find(f->hosting, "mta-sts.c.example", now));
	assert_null(serve_hosting_find(f->hosting, "mta-sts.a.example..", now));
	assert_null(serve_hosting_find(f->hosting, "", now));
	assert_null(serve_hosting_find(f->hosting, NULL, now));
	assert_int_equal(f->metrics.hosted_domains, 2);
	assert_int_equal(f->metrics.hosted_corrupt, 0);
	assert_true(f->metrics.hosting);
}

static void collect(void *arg, const char *name)
{
	char *names = arg;

	strcat(names, name);
	strcat(names, ";");
}

static void each_name(void **state)
{
	struct fixture *f = *state;
	char names[256] = "";

	open_hosting(f);
	serve_hosting_each_name(f->hosting, collect, names);
	assert_string_equal(names, "mta-sts.a.example;mta-sts.b.example;");
}

static void removal(void **state)
{
	struct fixture *f = *state;
	int64_t now = (int64_t)time(NULL);
	const struct serve_hosted *got;
	char why[256];

	assert_int_equal(domain_registry_remove(f->registry, "b.example", now, why,
						sizeof(why)), 0);
	open_hosting(f);
	got = serve_hosting_find(f->hosting, "mta-sts.b.example", now);
	assert_non_null(got);
	assert_int_equal(got->serve_until, now + 604800);
	assert_non_null(strstr(got->body, "mode: none\r\n"));
	assert_non_null(serve_hosting_find(f->hosting, "mta-sts.b.example", now + 604799));
	assert_null(serve_hosting_find(f->hosting, "mta-sts.b.example", now + 604800));
}

static void corrupt_row(void **state)
{
	struct fixture *f = *state;
	int64_t now = (int64_t)time(NULL);

	raw_exec(f, "UPDATE domains SET mode = 'bogus' WHERE name = 'b.example'");
	open_hosting(f);
	assert_int_equal(f->metrics.hosted_domains, 1);
	assert_int_equal(f->metrics.hosted_corrupt, 1);
	assert_null(serve_hosting_find(f->hosting, "mta-sts.b.example", now));
	assert_non_null(serve_hosting_find(f->hosting, "mta-sts.a.example", now));
}

static void change_polled(void **state)
{
	struct fixture *f = *state;
	uint64_t generation = 0;
	char why[256];

	open_hosting(f);
	assert_int_equal(f->metrics.registry_reloads, 1);
	run_for(f, 1300);
	assert_int_equal(f->metrics.registry_reloads, 1);	/* nothing changed */
	assert_int_equal(f->changes, 0);
	add(f, "c.example", MTASTS_MODE_ENFORCE, b_mx, 1, 3600);
	assert_null(serve_hosting_find(f->hosting, "mta-sts.c.example", (int64_t)time(NULL)));
	run_for(f, 1300);
	assert_non_null(serve_hosting_find(f->hosting, "mta-sts.c.example", (int64_t)time(NULL)));
	assert_int_equal(f->metrics.registry_reloads, 2);
	assert_int_equal(f->metrics.hosted_domains, 3);
	assert_int_equal(f->changes, 1);
	assert_int_equal(domain_registry_generation(f->registry, &generation, why,
						    sizeof(why)), 0);
	assert_int_equal(f->metrics.registry_generation, generation);
}

static void reload_forced(void **state)
{
	struct fixture *f = *state;

	open_hosting(f);
	/* No new generation: a reload reads it anyway. */
	raw_exec(f, "UPDATE domains SET max_age = 1234 WHERE name = 'a.example'");
	serve_hosting_reload(f->hosting);
	assert_non_null(strstr(serve_hosting_find(f->hosting, "mta-sts.a.example",
						  (int64_t)time(NULL))->body, "max_age: 1234\r\n"));
	assert_int_equal(f->changes, 1);
}

static void failure_keeps_table(void **state)
{
	struct fixture *f = *state;

	open_hosting(f);
	/* The tables gone: the registry fails, the policies in use stay. */
	raw_exec(f, "DROP TABLE domains; DROP TABLE meta");
	serve_hosting_reload(f->hosting);
	assert_int_equal(f->metrics.registry_failures, 1);
	assert_non_null(serve_hosting_find(f->hosting, "mta-sts.a.example", (int64_t)time(NULL)));
	assert_int_equal(f->metrics.hosted_domains, 2);
	assert_int_equal(f->changes, 0);
}

static void cannot_open(void **state)
{
	struct fixture *f = *state;
	char why[SERVE_WHY_SIZE] = "";
	char location[128];

	snprintf(location, sizeof(location), "%s/no/such/dir/domains.db", f->dir);
	f->config.registry = location;
	assert_int_equal(serve_hosting_open(f->base, &f->config, &f->metrics, &f->hosting,
					    why, sizeof(why)), -1);
	assert_null(f->hosting);
	assert_non_null(strstr(why, "no/such/dir/domains.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(each_name, setup, teardown),
		cmocka_unit_test_setup_teardown(removal, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_row, setup, teardown),
		cmocka_unit_test_setup_teardown(change_polled, setup, teardown),
		cmocka_unit_test_setup_teardown(reload_forced, setup, teardown),
		cmocka_unit_test_setup_teardown(failure_keeps_table, setup, teardown),
		cmocka_unit_test_setup_teardown(cannot_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
