/*
 * serve_hosting.c - the policies `mtasts serve` hosts: a hash table from
 * host name (mta-sts.<domain>) to the body and ETag hosted_policy_render()
 * made of the domain's registry row, built at start and built anew when
 * the registry's generation changes.  A rebuild makes a whole new table
 * and only then replaces the one in use; everything runs on the loop, so
 * a request never sees half a table.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "cli.h"
#include "daemon_log.h"
#include "domain_registry.h"
#include "hosted_policy.h"
#include "serve.h"

#define HOST_PREFIX "mta-sts."
#define FAILURE_LOG_S 60		/* a registry that keeps failing: a line a minute */

struct entry {
	struct serve_hosted hosted;	/* name, body and etag point into owned copies */
	char *name;
	struct hosted_policy policy;
};

struct table {
	struct entry *entries;
	size_t count, capacity;
	struct entry **slots;		/* open addressing; slot_count a power of two */
	size_t slot_count;
	size_t corrupt;
};

struct serve_hosting {
	struct event_base *base;
	const struct serve_config *config;
	struct serve_metrics *metrics;
	struct domain_registry *registry;	/* NULL after a failure: opened again */
	struct table *table;
	uint64_t generation;		/* of the table in use */
	struct event *poll_timer;
	time_t failure_logged;
	void (*changed)(void *arg);
	void *changed_arg;
};

/* ------------------------------------------------------------------ table */

static uint64_t name_hash(const char *name)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a */

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)tolower((unsigned char)*name);
		h *= 1099511628211ull;
	}
	return h;
}

static void table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->count; i++) {
		free(t->entries[i].name);
		hosted_policy_release(&t->entries[i].policy);
	}
	free(t->entries);
	free(t->slots);
	free(t);
}

static struct entry *table_append(struct table *t)
{
	if (t->count == t->capacity) {
		size_t capacity = t->capacity == 0 ? 256 : 2 * t->capacity;
		struct entry *grown = realloc(t->entries, capacity * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		t->entries = grown;
		t->capacity = capacity;
	}
	memset(&t->entries[t->count], 0, sizeof(t->entries[0]));
	return &t->entries[t->count++];
}

/* The slots, once every entry is in (the entries no longer move). */
static int table_index(struct table *t)
{
	t->slot_count = 16;
	while (t->slot_count < 2 * t->count)
		t->slot_count *= 2;
	if ((t->slots = calloc(t->slot_count, sizeof(*t->slots))) == NULL)
		return -1;
	for (size_t i = 0; i < t->count; i++) {
		struct entry *e = &t->entries[i];
		size_t at = name_hash(e->name) & (t->slot_count - 1);

		e->hosted.name = e->name;
		e->hosted.body = e->policy.body;
		e->hosted.body_len = e->policy.body_len;
		e->hosted.etag = e->policy.etag;
		while (t->slots[at] != NULL)
			at = (at + 1) & (t->slot_count - 1);
		t->slots[at] = e;
	}
	return 0;
}

static const struct entry *table_find(const struct table *t, const char *name)
{
	size_t at;

	if (t == NULL || t->slot_count == 0)
		return NULL;
	at = name_hash(name) & (t->slot_count - 1);
	for (; t->slots[at] != NULL; at = (at + 1) & (t->slot_count - 1))
		if (strcasecmp(t->slots[at]->name, name) == 0)
			return t->slots[at];
	return NULL;
}

/* ------------------------------------------------------------------ build */

struct build {
	struct table *table;
	int64_t now;
	bool out_of_memory;
};

static void log_corrupt(const char *name, const char *error)
{
	char name_shown[HOSTED_NAME_MAX + 16], error_shown[SERVE_WHY_SIZE];

	text_shown(name != NULL ? name : "", name_shown, sizeof(name_shown), HOSTED_NAME_MAX);
	text_shown(error != NULL ? error : "", error_shown, sizeof(error_shown), 400);
	daemon_log(LOG_ERR, "registry: domain %s cannot be served: %s", name_shown,
		   error_shown);
}

static int add_domain(void *arg, const struct hosted_domain *domain, const char *name,
		      const char *error)
{
	struct build *b = arg;
	struct hosted_policy policy;
	struct entry *e;
	char why[SERVE_WHY_SIZE];
	int64_t until = 0;

	if (domain == NULL) {
		log_corrupt(name, error);
		b->table->corrupt++;
		return 0;
	}
	if (domain->removed_at != 0) {
		until = domain->removed_at + (int64_t)domain->removed_max_age;
		if (until <= b->now)
			return 0;	/* its removal is over */
	}
	if (hosted_policy_render(domain, &policy, why, sizeof(why)) != 0) {
		log_corrupt(domain->name, why);
		b->table->corrupt++;
		return 0;
	}
	if ((e = table_append(b->table)) == NULL ||
	    (e->name = malloc(strlen(HOST_PREFIX) + strlen(domain->name) + 1)) == NULL) {
		if (e != NULL)
			b->table->count--;
		hosted_policy_release(&policy);
		b->out_of_memory = true;
		return 1;
	}
	strcpy(e->name, HOST_PREFIX);
	strcat(e->name, domain->name);
	for (char *p = e->name; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	e->policy = policy;
	e->hosted.serve_until = until;
	return 0;
}

/* A new table of everything in the registry; NULL with why. */
static struct table *table_build(struct domain_registry *registry, char *why, size_t why_size)
{
	struct build b = { .now = (int64_t)time(NULL) };

	if ((b.table = calloc(1, sizeof(*b.table))) == NULL) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	if (domain_registry_each(registry, add_domain, &b, why, why_size) != 0 ||
	    b.out_of_memory || table_index(b.table) != 0) {
		if (b.out_of_memory || b.table->slots == NULL)
			snprintf(why, why_size, "out of memory");
		table_free(b.table);
		return NULL;
	}
	return b.table;
}

/* ----------------------------------------------------------------- reload */

static void failed(struct serve_hosting *h, const char *what, const char *why)
{
	time_t now = time(NULL);

	h->metrics->registry_failures++;
	if (now - h->failure_logged >= FAILURE_LOG_S) {
		h->failure_logged = now;
		daemon_log(LOG_ERR, "registry: %s: %s; serving the %zu policies in use, "
			   "trying again every %us", what, why,
			   h->table != NULL ? h->table->count : (size_t)0,
			   h->config->registry_poll);
	}
}

/* The registry's generation and, when it moved (or force), a new table. */
static int refresh(struct serve_hosting *h, bool force, char *why, size_t why_size)
{
	struct timespec start, end;
	uint64_t generation;
	struct table *fresh;

	if (h->registry == NULL &&
	    domain_registry_open(h->config->registry, &h->registry, why, why_size) != 0) {
		h->registry = NULL;
		return -1;
	}
	if (domain_registry_generation(h->registry, &generation, why, why_size) != 0)
		goto fail;
	if (!force && h->table != NULL && generation == h->generation)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if ((fresh = table_build(h->registry, why, why_size)) == NULL)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &end);
	table_free(h->table);
	h->table = fresh;
	h->generation = generation;
	h->metrics->hosted_domains = fresh->count;
	h->metrics->hosted_corrupt = fresh->corrupt;
	h->metrics->registry_generation = generation;
	h->metrics->registry_reloads++;
	daemon_log(LOG_INFO, "registry: hosting %zu policies (generation %llu; rows that "
		   "cannot be served: %zu), built in %lld ms", fresh->count,
		   (unsigned long long)generation, fresh->corrupt,
		   (long long)((end.tv_sec - start.tv_sec) * 1000 +
			       (end.tv_nsec - start.tv_nsec) / 1000000));
	if (h->changed != NULL)
		h->changed(h->changed_arg);
	return 0;
fail:
	/* Opened again next time: a lost server connection heals. */
	if (h->registry != NULL)
		domain_registry_close(h->registry);
	h->registry = NULL;
	return -1;
}

static void poll_schedule(struct serve_hosting *h)
{
	struct timeval after = { (time_t)h->config->registry_poll, 0 };

	evtimer_add(h->poll_timer, &after);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct serve_hosting *h = arg;
	char why[SERVE_WHY_SIZE];

	(void)fd;
	(void)what;
	if (refresh(h, false, why, sizeof(why)) != 0)
		failed(h, "cannot read the domains", why);
	poll_schedule(h);
}

/* ------------------------------------------------------------------ API */

int serve_hosting_open(struct event_base *base, const struct serve_config *config,
		       struct serve_metrics *metrics, struct serve_hosting **ret_hosting,
		       char *why, size_t why_size)
{
	struct serve_hosting *h = calloc(1, sizeof(*h));
	char reason[SERVE_WHY_SIZE];

	if (h == NULL || (h->poll_timer = evtimer_new(base, on_poll, h)) == NULL) {
		free(h);
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	h->base = base;
	h->config = config;
	h->metrics = metrics;
	metrics->hosting = true;
	if (refresh(h, true, reason, sizeof(reason)) != 0) {
		snprintf(why, why_size, "the registry: %s", reason);
		serve_hosting_free(h);
		return -1;
	}
	poll_schedule(h);
	*ret_hosting = h;
	return 0;
}

void serve_hosting_on_change(struct serve_hosting *h, void (*changed)(void *arg), void *arg)
{
	h->changed = changed;
	h->changed_arg = arg;
}

void serve_hosting_reload(struct serve_hosting *h)
{
	char why[SERVE_WHY_SIZE];

	if (refresh(h, true, why, sizeof(why)) != 0)
		failed(h, "reload", why);
	/* registry_poll may have changed */
	evtimer_del(h->poll_timer);
	poll_schedule(h);
}

const struct serve_hosted *serve_hosting_find(const struct serve_hosting *h, const char *host,
					      int64_t now)
{
	char name[HOSTED_NAME_MAX + 2];
	size_t len;
	const struct entry *e;

	if (h == NULL || host == NULL || (len = strlen(host)) == 0 || len >= sizeof(name))
		return NULL;
	memcpy(name, host, len + 1);
	if (name[len - 1] == '.')
		name[len - 1] = '\0';
	e = table_find(h->table, name);
	if (e == NULL || (e->hosted.serve_until != 0 && e->hosted.serve_until <= now))
		return NULL;
	return &e->hosted;
}

void serve_hosting_each_name(void *hosting, serve_name_fn *fn, void *arg)
{
	struct serve_hosting *h = hosting;

	for (size_t i = 0; h->table != NULL && i < h->table->count; i++)
		fn(arg, h->table->entries[i].name);
}

void serve_hosting_free(struct serve_hosting *h)
{
	if (h == NULL)
		return;
	if (h->poll_timer != NULL)
		event_free(h->poll_timer);
	table_free(h->table);
	if (h->registry != NULL)
		domain_registry_close(h->registry);
	free(h);
}
