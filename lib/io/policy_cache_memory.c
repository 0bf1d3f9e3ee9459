/*
 * policy_cache_memory.c - the policy cache in memory: a bounded LRU, a hash
 * table (chained, FNV-1a) for lookups and a doubly linked list for the
 * order of use, so get and put take constant time.  An entry is kept in one
 * allocation, its strings packed after its numbers (about 200 octets for a
 * typical policy, not the 330 of a struct policy_cache_entry and its text),
 * so a million fit in a quarter of a gigabyte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_cache.h"

struct node {
	struct node *chain;			/* next in the bucket */
	struct node *newer, *older;		/* the order of use */
	time_t fetched_at, expires_at;
	uint32_t text_len;			/* UINT32_MAX: no text */
	uint8_t kind;
	uint8_t domain_len, id_len;
	char data[];				/* domain, id, text: each NUL-ended */
};

static const char *node_domain(const struct node *n)
{
	return n->data;
}

/* A borrowed view of n as an entry (its text points into n). */
static void node_view(const struct node *n, struct policy_cache_entry *e)
{
	e->kind = (enum policy_cache_kind)n->kind;
	memcpy(e->domain, n->data, (size_t)n->domain_len + 1);
	memcpy(e->id, n->data + n->domain_len + 1, (size_t)n->id_len + 1);
	if (n->text_len == UINT32_MAX) {
		e->policy_text = NULL;
		e->policy_len = 0;
	} else {
		e->policy_text = (char *)n->data + n->domain_len + 1 + n->id_len + 1;
		e->policy_len = n->text_len;
	}
	e->fetched_at = n->fetched_at;
	e->expires_at = n->expires_at;
}

/* A node holding a copy of entry, which has passed the checks. */
static struct node *node_new(const struct policy_cache_entry *e)
{
	size_t domain_len = strlen(e->domain), id_len = strlen(e->id);
	size_t text_len = e->policy_text != NULL ? e->policy_len : 0;
	struct node *n = malloc(sizeof(*n) + domain_len + 1 + id_len + 1 + text_len + 1);
	char *p;

	if (n == NULL)
		return NULL;
	n->chain = n->newer = n->older = NULL;
	n->fetched_at = e->fetched_at;
	n->expires_at = e->expires_at;
	n->kind = (uint8_t)e->kind;
	n->domain_len = (uint8_t)domain_len;
	n->id_len = (uint8_t)id_len;
	n->text_len = e->policy_text != NULL ? (uint32_t)text_len : UINT32_MAX;
	p = n->data;
	memcpy(p, e->domain, domain_len + 1);
	p += domain_len + 1;
	memcpy(p, e->id, id_len + 1);
	p += id_len + 1;
	if (e->policy_text != NULL)
		memcpy(p, e->policy_text, text_len);
	p[text_len] = '\0';
	return n;
}

struct memory_cache {
	struct policy_cache base;
	size_t capacity;
	size_t count;
	size_t bucket_count;			/* a power of two */
	struct node **buckets;
	struct node *newest, *oldest;
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct node **bucket_of(struct memory_cache *m, const char *domain)
{
	return &m->buckets[hash(domain) & (m->bucket_count - 1)];
}

/* The link that points at the domain's node (or at NULL when there is none). */
static struct node **find_link(struct memory_cache *m, const char *domain)
{
	struct node **link = bucket_of(m, domain);

	while (*link != NULL && strcmp(node_domain(*link), domain) != 0)
		link = &(*link)->chain;
	return link;
}

static void list_unlink(struct memory_cache *m, struct node *n)
{
	if (n->newer != NULL)
		n->newer->older = n->older;
	else
		m->newest = n->older;
	if (n->older != NULL)
		n->older->newer = n->newer;
	else
		m->oldest = n->newer;
	n->newer = n->older = NULL;
}

static void list_push_newest(struct memory_cache *m, struct node *n)
{
	n->older = m->newest;
	n->newer = NULL;
	if (m->newest != NULL)
		m->newest->newer = n;
	m->newest = n;
	if (m->oldest == NULL)
		m->oldest = n;
}

/* Unlink the node *link points at from both structures and free it. */
static void node_remove(struct memory_cache *m, struct node **link)
{
	struct node *n = *link;

	*link = n->chain;
	list_unlink(m, n);
	free(n);
	m->count--;
}

static int memory_get(struct policy_cache *cache, const char *domain, time_t now,
		      struct policy_cache_entry **ret_entry)
{
	struct memory_cache *m = (struct memory_cache *)cache;
	struct node *n;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	struct policy_cache_entry view;

	n = *find_link(m, domain);
	if (n == NULL || now >= n->expires_at)
		return 0;
	node_view(n, &view);
	if ((rc = policy_cache_entry_copy(&view, ret_entry)) != MTASTS_OK)
		return rc;
	list_unlink(m, n);
	list_push_newest(m, n);
	return 1;
}

static int memory_put(struct policy_cache *cache, const struct policy_cache_entry *entry)
{
	struct memory_cache *m = (struct memory_cache *)cache;
	struct node **link, **bucket, *n;
	int rc;

	if ((rc = policy_cache_entry_check(entry)) != MTASTS_OK)
		return rc;
	if ((n = node_new(entry)) == NULL)
		return MTASTS_ERR_NOMEM;
	link = find_link(m, entry->domain);
	if (*link != NULL)		/* replaced */
		node_remove(m, link);
	else if (m->count == m->capacity)
		node_remove(m, find_link(m, node_domain(m->oldest)));
	bucket = bucket_of(m, entry->domain);
	n->chain = *bucket;
	*bucket = n;
	list_push_newest(m, n);
	m->count++;
	return MTASTS_OK;
}

static int memory_delete(struct policy_cache *cache, const char *domain)
{
	struct memory_cache *m = (struct memory_cache *)cache;
	struct node **link;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	link = find_link(m, domain);
	if (*link == NULL)
		return 0;
	node_remove(m, link);
	return 1;
}

static int memory_purge_expired(struct policy_cache *cache, time_t now,
				size_t *ret_count)
{
	struct memory_cache *m = (struct memory_cache *)cache;
	size_t purged = 0;

	for (size_t b = 0; b < m->bucket_count; b++) {
		struct node **link = &m->buckets[b];

		while (*link != NULL) {
			if (now >= (*link)->expires_at) {
				node_remove(m, link);
				purged++;
			} else {
				link = &(*link)->chain;
			}
		}
	}
	if (ret_count != NULL)
		*ret_count = purged;
	return MTASTS_OK;
}

static int memory_count(struct policy_cache *cache, size_t *ret_count)
{
	*ret_count = ((struct memory_cache *)cache)->count;
	return MTASTS_OK;
}

static int memory_iterate(struct policy_cache *cache, policy_cache_visit_fn *fn,
			  void *arg)
{
	struct memory_cache *m = (struct memory_cache *)cache;

	struct policy_cache_entry view;

	for (struct node *n = m->newest; n != NULL; n = n->older) {
		int rc;

		node_view(n, &view);
		rc = fn(arg, &view);

		if (rc != 0)
			return rc;
	}
	return MTASTS_OK;
}

static void memory_free(struct policy_cache *cache)
{
	struct memory_cache *m = (struct memory_cache *)cache;
	struct node *n = m->newest;

	while (n != NULL) {
		struct node *older = n->older;

		free(n);
		n = older;
	}
	free(m->buckets);
	free(m);
}

static const struct policy_cache_ops memory_ops = {
	.name = "memory",
	.get = memory_get,
	.put = memory_put,
	.delete = memory_delete,
	.purge_expired = memory_purge_expired,
	.count = memory_count,
	.iterate = memory_iterate,
	.free = memory_free,
};

int policy_cache_memory_new(size_t capacity, struct policy_cache **ret_cache)
{
	struct memory_cache *m;

	if (capacity == 0 || capacity > POLICY_CACHE_MEMORY_CAPACITY_MAX ||
	    ret_cache == NULL)
		return MTASTS_ERR_ARGUMENT;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return MTASTS_ERR_NOMEM;
	m->base.ops = &memory_ops;
	m->capacity = capacity;
	m->bucket_count = 16;
	while (m->bucket_count < capacity)	/* a load of at most one */
		m->bucket_count *= 2;
	m->buckets = calloc(m->bucket_count, sizeof(*m->buckets));
	if (m->buckets == NULL) {
		free(m);
		return MTASTS_ERR_NOMEM;
	}
	*ret_cache = &m->base;
	return MTASTS_OK;
}
