/*
 * policyd_engine.c - from a socketmap request to its reply: the zone of the
 * map name, the key's domain, the cache (in-process first, then the shared
 * store), and on a miss the one policy discovery (fetcher.c), shared by
 * every lookup of the domain that misses meanwhile.
 *
 * A cached policy is answered from at once.  Once it is older than
 * cache_grace it is refreshed in the background (stale-while-revalidate):
 * the TXT id alone says whether it is still current, except that the body
 * is fetched again every refetch_interval whatever the id says, so a domain
 * that edits its policy without a new id is not stuck with the old one.  A
 * refresh that fails keeps the cached policy until it expires (RFC 8461
 * 5.1); so does a TXT record that has gone (RFC 8461 10.2: a domain leaves
 * MTA-STS by publishing mode "none").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <mtasts/policy.h>
#include <mtasts/socketmap.h>

#include "cli.h"
#include "dane.h"
#include "hostname.h"
#include "policyd.h"
#include "daemon_log.h"
#include "util.h"

#define PENDING_BUCKETS 4096
/* The longest domain with a TXT record name: "_mta-sts." and 244 octets. */
#define FETCH_DOMAIN_MAX (MTASTS_HOST_NAME_MAX - 9)
#define PENDING_MAX 10000		/* discoveries at once; beyond: TEMP */
#define CLAIM_POLL_MS 100		/* another node fetches: look again */
#define DANE_CACHE_TTL 300		/* seconds a DANE answer is kept */
#define DANE_MEMO_MAX 10000		/* answers kept before expired ones go */

/*
 * A TEMP_FAIL entry lives in the in-process cache only, with the RFC 8460
 * failure in place of its id (which it otherwise lacks): "f0" to "f3".
 */
#define FAILURE_ID_PREFIX 'f'

struct waiter {
	struct waiter *next;
	policyd_reply_fn *fn;
	void *arg;
	struct mtasts_socketmap_options options;
	enum policyd_dane dane;
	bool dane_fail_closed;
	unsigned timeout_ms;		/* its zone's */
};

struct pending {
	struct pending *next;		/* in its bucket */
	struct policyd_engine *engine;
	char domain[POLICY_CACHE_DOMAIN_MAX + 1];
	struct waiter *waiters;
	struct waiter **waiters_tail;
	struct policy_cache_entry *cached;	/* what a refresh refreshes */
	struct fetch_options fetch;
	char known_id[MTASTS_STS_ID_MAX + 1];
	bool claimed;			/* holds the store's lock */
	struct event *poll;		/* another node fetches: watch the store */
	long long give_up_at;		/* monotonic ms: then fetch anyway */
	bool orphaned;			/* the engine has gone; the fetch runs on */
	bool store_unknown;		/* the store could not be read for it */
	bool store_lost;		/* the store lost the policy it refreshes */
};

#define DISCOVER_FORCE_BODY 1		/* fetch the body whatever the TXT id */
#define DISCOVER_STORE_UNKNOWN 2	/* the store failed: write no negative */

/* A DANE answer, kept a short while (the TTLs of TLSA records are short). */
struct dane_memo {
	struct dane_memo *next;
	char domain[POLICY_CACHE_DOMAIN_MAX + 1];
	enum dane_status status;
	time_t expires_at;
	struct dane_wait *waiting;	/* lookups waiting for it; NULL when known */
	struct dane_lookup *lookup;	/* running */
	struct policyd_engine *engine;
	bool running;
};

struct dane_wait {
	struct dane_wait *next;
	struct waiter *waiter;
	char *reply;			/* the MTA-STS reply, used when not DANE */
	size_t reply_len;
};

/*
 * What the engine remembers of a domain besides its entry, kept by the
 * hash of its name alone (a collision costs one more look at the store or
 * an early refresh, never a wrong answer): when memory's entry was last
 * compared with the store, and when a refresh may start again after one
 * failed.
 */
struct mark {
	uint32_t hash;
	uint32_t checked_at;
	uint32_t refresh_after;
};

/* A parsed policy, by the hash of its domain (see parsed_policy()). */
#define PARSED_SLOTS 4096

struct parsed {
	struct mtasts_policy *policy;
	time_t fetched_at, expires_at;
	char domain[POLICY_CACHE_DOMAIN_MAX + 1];
	char id[MTASTS_STS_ID_MAX + 1];
};

struct policyd_engine {
	struct policyd_engine_settings set;
	struct parsed *parsed;		/* PARSED_SLOTS of them */
	const struct policyd_config *config;
	struct policy_cache *memory;	/* policies */
	struct policy_cache *negative;	/* "no policy" and failures, apart so
					 * that many of them evict no policy */
	struct mark *marks;
	size_t mark_mask;
	bool pumping;			/* inside warm_pump() */
	bool freeing;			/* policyd_engine_free() is under way */
	struct pending *buckets[PENDING_BUCKETS];
	size_t pending_count;
	struct dane_memo *dane[PENDING_BUCKETS];
	size_t dane_count;
	time_t store_error_logged;
	/* pre-warming and proactive refresh */
	char **warm_queue;
	size_t warm_len, warm_cap, warm_next;
	struct event *proactive;
	struct event *purge;		/* expired entries go, now and then */
};

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static const char *status_text(int rc)
{
	switch (rc) {
	case MTASTS_ERR_INVALID: return "invalid";
	case MTASTS_ERR_NOMEM: return "out of memory";
	case MTASTS_ERR_ARGUMENT: return "bad argument";
	case MTASTS_ERR_TOO_LARGE: return "too large";
	case POLICY_CACHE_ERR_STORE: return "store failed";
	default: return "failed";
	}
}

static time_t now_s(void)
{
	return time(NULL);
}

static void options_of_zone(const struct policyd_zone *zone,
			    struct mtasts_socketmap_options *o)
{
	memset(o, 0, sizeof(*o));
	o->strict_testing = zone->strict_testing;
	o->servername = zone->require_sni;
	o->tlsrpt = zone->tlsrpt;
	o->mx_host_pattern = zone->mx_host_pattern;
	o->fail_closed = zone->fail_closed;
	/* A literal: a waiting lookup outlives a reload's release of the zone. */
	o->testing_level = NULL;
	if (zone->testing_level != NULL)
		o->testing_level = strcmp(zone->testing_level, "may") == 0 ? "may" :
				   strcmp(zone->testing_level, "encrypt") == 0 ? "encrypt" :
				   "dane";
}

static void store_failed(struct policyd_engine *e, const char *what)
{
	time_t now = now_s();

	e->set.metrics->store_errors++;
	/* One line a minute is enough to say the store is down. */
	if (now - e->store_error_logged >= 60) {
		e->store_error_logged = now;
		daemon_log(LOG_WARNING, "cache store (%s): %s failed: %s; answering "
			    "from memory and fetching", e->set.store->ops->name, what,
			    policy_cache_error(e->set.store));
	}
}

/* ---------------------------------------------------------------- replies */

static void reply_text(struct waiter *w, const char *text, size_t len,
		       enum policyd_reply_class cls)
{
	w->fn(w->arg, text, len, cls);
}

static enum policyd_reply_class class_of(const char *reply)
{
	if (strncmp(reply, "OK ", 3) == 0)
		return POLICYD_REPLY_OK;
	if (strncmp(reply, "NOTFOUND", 8) == 0)
		return POLICYD_REPLY_NOTFOUND;
	if (strncmp(reply, "PERM", 4) == 0)
		return POLICYD_REPLY_PERM;
	return POLICYD_REPLY_TEMP;
}

static void reply_error(struct waiter *w, enum mtasts_socketmap_reply_kind kind,
			const char *reason)
{
	char out[MTASTS_SOCKETMAP_REASON_MAX + 16];
	size_t len = 0;

	if (mtasts_socketmap_reply_error(kind, reason, out, sizeof(out), &len) != 0)
		len = (size_t)snprintf(out, sizeof(out), "TEMP internal error");
	reply_text(w, out, len, class_of(out));
}

static enum mtasts_socketmap_failure failure_of(enum mtasts_result_type type)
{
	switch (type) {
	case MTASTS_RESULT_STS_POLICY_INVALID: return MTASTS_SOCKETMAP_POLICY_INVALID;
	case MTASTS_RESULT_STS_WEBPKI_INVALID: return MTASTS_SOCKETMAP_WEBPKI_INVALID;
	default: return MTASTS_SOCKETMAP_FETCH_ERROR;
	}
}

/* No policy could be had and none is cached: the zone says what then. */
static void reply_failure(struct waiter *w, const char *domain,
			  enum mtasts_socketmap_failure failure, const char *reason)
{
	char out[4096];
	size_t len = 0;

	if (!w->options.fail_closed) {
		/* RFC 8461 3.3: deliver as though the domain had no policy. */
		reply_error(w, MTASTS_SOCKETMAP_NOTFOUND, NULL);
		return;
	}
	if (mtasts_socketmap_reply_failure(failure, domain, reason, &w->options, out,
					   sizeof(out), &len) != 0) {
		reply_error(w, MTASTS_SOCKETMAP_TEMP, reason);
		return;
	}
	reply_text(w, out, len, class_of(out));
}

static void dane_start(struct policyd_engine *e, const char *domain,
		       struct waiter *w, const char *reply, size_t len);

/* The reply for a domain's policy, DANE first when the zone asks. */
static void reply_policy(struct policyd_engine *e, struct waiter *w, const char *domain,
			 const struct mtasts_policy *policy)
{
	char out[MTASTS_SOCKETMAP_REPLY_MAX + 1];
	size_t len = 0;
	int rc;

	rc = mtasts_socketmap_reply_policy(policy, domain, &w->options, out, sizeof(out),
					   &len);
	if (rc != 0) {
		daemon_log(LOG_ERR, "%s: cannot make a reply of its policy (%s)", domain,
			    status_text(rc));
		reply_error(w, MTASTS_SOCKETMAP_TEMP, "policy reply too large");
		return;
	}
	/* DANE matters only where MTA-STS would insist on "secure". */
	if (w->dane != POLICYD_DANE_NONE && strncmp(out, "OK secure", 9) == 0) {
		dane_start(e, domain, w, out, len);
		return;
	}
	reply_text(w, out, len, class_of(out));
}

/* Answer w from a cache entry; false when the entry does not parse back. */
static bool reply_entry_max_age(struct policyd_engine *e, struct waiter *w,
				const struct policy_cache_entry *entry, uint32_t *ret_max_age);

/*
 * The parsed policy of a cached entry, kept for the next lookup of the
 * domain (parsing it again is most of a cache hit's cost).  A slot is
 * reused only for the very entry it was parsed from: same domain, id and
 * times; NULL when it cannot be parsed (the caller parses and says why).
 */
static struct mtasts_policy *parsed_policy(struct policyd_engine *e,
					   const struct policy_cache_entry *entry)
{
	struct parsed *slot = &e->parsed[name_hash(entry->domain) & (PARSED_SLOTS - 1)];
	struct mtasts_policy *policy = NULL;
	struct mtasts_diags diags;

	if (slot->policy != NULL && slot->fetched_at == entry->fetched_at &&
	    slot->expires_at == entry->expires_at && strcmp(slot->domain, entry->domain) == 0 &&
	    strcmp(slot->id, entry->id) == 0)
		return slot->policy;
	mtasts_diags_init(&diags);
	if (policy_cache_entry_parse(entry, &policy, &diags) != 0)
		return NULL;
	mtasts_policy_free(slot->policy);
	slot->policy = policy;
	slot->fetched_at = entry->fetched_at;
	slot->expires_at = entry->expires_at;
	memcpy(slot->domain, entry->domain, sizeof(slot->domain));
	memcpy(slot->id, entry->id, sizeof(slot->id));
	return policy;
}

static bool reply_entry(struct policyd_engine *e, struct waiter *w,
			const struct policy_cache_entry *entry)
{
	uint32_t max_age;

	return reply_entry_max_age(e, w, entry, &max_age);
}

/* Answer w from a cache entry, and say its policy's max_age (0: none). */
static bool reply_entry_max_age(struct policyd_engine *e, struct waiter *w,
				const struct policy_cache_entry *entry, uint32_t *ret_max_age)
{
	struct mtasts_policy *policy = NULL;
	struct mtasts_diags diags;
	int failure;

	switch (entry->kind) {
	case POLICY_CACHE_POLICY:
		if ((policy = parsed_policy(e, entry)) == NULL) {
			mtasts_diags_init(&diags);
			if (policy_cache_entry_parse(entry, &policy, &diags) != 0)
				return false;
			reply_policy(e, w, entry->domain, policy);
			*ret_max_age = policy->max_age;
			mtasts_policy_free(policy);
			return true;
		}
		/* Read first: the reply may reach code that reuses the slot. */
		*ret_max_age = policy->max_age;
		reply_policy(e, w, entry->domain, policy);
		return true;
	case POLICY_CACHE_NO_POLICY:
		*ret_max_age = 0;
		reply_error(w, MTASTS_SOCKETMAP_NOTFOUND, NULL);
		return true;
	case POLICY_CACHE_TEMP_FAIL:
		*ret_max_age = 0;
		failure = entry->id[0] == FAILURE_ID_PREFIX ? entry->id[1] - '0' : 0;
		if (failure < 0 || failure > MTASTS_SOCKETMAP_VALIDATION_FAILURE)
			failure = 0;
		reply_failure(w, entry->domain, (enum mtasts_socketmap_failure)failure,
			      "policy discovery failed recently");
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ DANE */

static struct dane_memo *dane_find(struct policyd_engine *e, const char *domain)
{
	struct dane_memo *m;

	for (m = e->dane[name_hash(domain) % PENDING_BUCKETS]; m != NULL; m = m->next)
		if (strcmp(m->domain, domain) == 0)
			return m;
	return NULL;
}

/* "secure" becomes "dane" or "dane-only"; the rest of the reply stays. */
static void dane_reply(struct dane_wait *dw, enum dane_status status)
{
	struct waiter *w = dw->waiter;
	char out[MTASTS_SOCKETMAP_REPLY_MAX + 16];
	const char *level = w->dane == POLICYD_DANE_ONLY ? "dane-only" : "dane";
	int n;

	if (status == DANE_USABLE) {
		/* match= and the TLSRPT attributes mean nothing to DANE levels. */
		n = snprintf(out, sizeof(out), "OK %s", level);
		if (w->options.tlsrpt) {
			const char *attrs = strstr(dw->reply, " policy_type=");

			if (attrs != NULL)
				n = snprintf(out, sizeof(out), "OK %s%s", level, attrs);
		}
		reply_text(w, out, (size_t)n, POLICYD_REPLY_OK);
	} else if (status == DANE_TEMP && w->dane_fail_closed) {
		reply_error(w, MTASTS_SOCKETMAP_TEMP,
			    "DANE lookup failed for now; not falling back to MTA-STS");
	} else {
		reply_text(w, dw->reply, dw->reply_len, POLICYD_REPLY_OK);
	}
}

static void dane_wait_free(struct dane_wait *dw)
{
	free(dw->waiter);
	free(dw->reply);
	free(dw);
}

static void on_dane(void *arg, const struct dane_result *result)
{
	struct dane_memo *m = arg;
	struct dane_wait *dw, *next;

	m->running = false;
	m->lookup = NULL;
	m->engine->set.metrics->dane_lookups[result->status % 3]++;
	if (result->status == DANE_TEMP) {
		char *reason = text_escape(result->reason);

		daemon_log(LOG_WARNING, "%s: DANE lookup: %s", m->domain,
			    reason != NULL ? reason : "?");
		free(reason);
	}
	m->status = result->status;
	m->expires_at = now_s() + (result->status == DANE_TEMP ? 30 : DANE_CACHE_TTL);
	dw = m->waiting;
	m->waiting = NULL;
	for (; dw != NULL; dw = next) {
		next = dw->next;
		dane_reply(dw, result->status);
		dane_wait_free(dw);
	}
}

/* Forget the answers that have expired (none is waited for). */
static void dane_sweep(struct policyd_engine *e)
{
	time_t now = now_s();

	for (size_t b = 0; b < PENDING_BUCKETS; b++) {
		struct dane_memo **link = &e->dane[b];

		while (*link != NULL) {
			struct dane_memo *m = *link;

			if (!m->running && m->waiting == NULL && m->expires_at <= now) {
				*link = m->next;
				free(m);
				e->dane_count--;
			} else {
				link = &m->next;
			}
		}
	}
}

static void dane_start(struct policyd_engine *e, const char *domain,
		       struct waiter *w, const char *reply, size_t len)
{
	struct dane_memo *m = dane_find(e, domain);
	struct dane_wait *dw = calloc(1, sizeof(*dw));
	struct dane_wait one;

	if (dw == NULL || (dw->waiter = malloc(sizeof(*w))) == NULL ||
	    (dw->reply = malloc(len + 1)) == NULL) {
		if (dw != NULL) {
			free(dw->waiter);
			free(dw);
		}
		reply_error(w, MTASTS_SOCKETMAP_TEMP, "out of memory");
		return;
	}
	*dw->waiter = *w;
	memcpy(dw->reply, reply, len + 1);
	dw->reply_len = len;
	if (m != NULL && !m->running && m->expires_at > now_s()) {
		one = *dw;
		dane_reply(&one, m->status);
		dane_wait_free(dw);
		return;
	}
	if (m == NULL && e->dane_count >= DANE_MEMO_MAX)
		dane_sweep(e);
	if (m == NULL) {
		uint32_t b = name_hash(domain) % PENDING_BUCKETS;

		if ((m = calloc(1, sizeof(*m))) == NULL) {
			dane_wait_free(dw);
			reply_error(w, MTASTS_SOCKETMAP_TEMP, "out of memory");
			return;
		}
		snprintf(m->domain, sizeof(m->domain), "%s", domain);
		m->engine = e;
		m->next = e->dane[b];
		e->dane[b] = m;
		e->dane_count++;
	}
	dw->next = m->waiting;
	m->waiting = dw;
	if (!m->running) {
		unsigned timeout_ms = w->timeout_ms;

		m->running = true;
		if (dane_lookup(e->set.base, e->set.resolver, domain, timeout_ms, on_dane,
				m, &m->lookup) != 0) {
			struct dane_result r = { .status = DANE_TEMP };

			snprintf(r.reason, sizeof(r.reason), "cannot start the lookup");
			on_dane(m, &r);
		}
	}
}

/* ------------------------------------------------------------ discovery */

static struct pending **pending_slot(struct policyd_engine *e, const char *domain)
{
	struct pending **p = &e->buckets[name_hash(domain) % PENDING_BUCKETS];

	while (*p != NULL && strcmp((*p)->domain, domain) != 0)
		p = &(*p)->next;
	return p;
}

static void pending_free(struct pending *p)
{
	struct policyd_engine *e = p->engine;
	struct pending **slot = pending_slot(e, p->domain);

	if (*slot == p) {
		*slot = p->next;
		e->pending_count--;
	}
	if (p->claimed && e->set.store != NULL)
		(void)policy_cache_unclaim(e->set.store, p->domain);
	if (p->poll != NULL)
		event_free(p->poll);
	policy_cache_entry_free(p->cached);
	free(p);
}

/*
 * With a shared store, memory's entry is compared with the store's at most
 * once every MEMORY_WINDOW seconds (so a flush, or another node's refresh,
 * is seen that soon, and a busy domain costs the store one read a second).
 * Memory keeps the real expiry: while the store is down, cached policies
 * stay in force.
 */
#define MEMORY_WINDOW 1
#define REFRESH_BACKOFF_MIN 60		/* seconds after a failed refresh */

static struct mark *mark_of(struct policyd_engine *e, const char *domain)
{
	uint32_t h = name_hash(domain);
	struct mark *m = &e->marks[h & e->mark_mask];

	if (m->hash != h) {
		m->hash = h;
		m->checked_at = 0;
		m->refresh_after = 0;
	}
	return m;
}

static int memory_put(struct policyd_engine *e, const struct policy_cache_entry *entry)
{
	bool policy = entry->kind == POLICY_CACHE_POLICY;

	/* A domain is in one of the two, never both. */
	(void)policy_cache_delete(policy ? e->negative : e->memory, entry->domain);
	return policy_cache_put(policy ? e->memory : e->negative, entry);
}

static int memory_get(struct policyd_engine *e, const char *domain, time_t now,
		      struct policy_cache_entry **ret)
{
	int rc = policy_cache_get(e->memory, domain, now, ret);

	return rc == 1 ? rc : policy_cache_get(e->negative, domain, now, ret);
}

static void memory_delete(struct policyd_engine *e, const char *domain)
{
	(void)policy_cache_delete(e->memory, domain);
	(void)policy_cache_delete(e->negative, domain);
}

/* Store an entry in memory and, unless memory_only, in the shared store. */
static void cache_put(struct policyd_engine *e, const struct policy_cache_entry *entry,
		      bool memory_only)
{
	int rc;

	if ((rc = memory_put(e, entry)) != 0)
		daemon_log(LOG_ERR, "%s: cannot cache in memory (%s)", entry->domain,
			    status_text(rc));
	if (!memory_only && e->set.store != NULL) {
		if (policy_cache_put(e->set.store, entry) == POLICY_CACHE_ERR_STORE)
			store_failed(e, "put");
		else
			mark_of(e, entry->domain)->checked_at = (uint32_t)now_s();
	}
}

/* Answer every waiter of p from entry (or, when NULL, as failure says). */
static void answer_waiters(struct pending *p, const struct policy_cache_entry *entry,
			   enum mtasts_socketmap_failure failure, const char *reason,
			   bool local)
{
	struct policyd_engine *e = p->engine;
	struct pending **slot = pending_slot(e, p->domain);
	struct waiter *w, *next;

	/* Done: a lookup from now on starts (or finds) another discovery. */
	if (*slot == p) {
		*slot = p->next;
		e->pending_count--;
	}
	w = p->waiters;
	p->waiters = NULL;
	p->waiters_tail = &p->waiters;
	for (; w != NULL; w = next) {
		next = w->next;
		if (local)
			reply_error(w, MTASTS_SOCKETMAP_TEMP, reason);
		else if (entry == NULL || !reply_entry(e, w, entry))
			reply_failure(w, p->domain, failure, reason);
		free(w);
	}
}

static uint32_t max_age_of(const struct policy_cache_entry *entry)
{
	struct mtasts_policy *policy = NULL;
	struct mtasts_diags diags;
	uint32_t max_age = 0;

	mtasts_diags_init(&diags);
	if (entry->kind == POLICY_CACHE_POLICY &&
	    policy_cache_entry_parse(entry, &policy, &diags) == 0)
		max_age = policy->max_age;
	mtasts_policy_free(policy);
	return max_age;
}

static void warm_pump(struct policyd_engine *e);

static void on_fetched(void *arg, struct fetch_result *r)
{
	struct pending *p = arg;
	struct policyd_engine *e = p->engine;

	if (p->orphaned) {
		/* Ended by the resolver or HTTP client shutting down. */
		fetch_result_free(r);
		free(p);
		return;
	}
	const struct policyd_config *c = e->config;
	struct policy_cache_entry *entry = NULL;
	time_t now = now_s();
	bool refresh = p->cached != NULL;
	char *reason;

	e->set.metrics->fetches[r->status & 3]++;
	if (r->result_type != MTASTS_RESULT_NONE)
		e->set.metrics->fetch_result_types[r->result_type & 3]++;
	reason = text_escape(r->reason);
	if (r->id_unchanged && refresh) {
		/* Still current: its lifetime runs from now (RFC 8461 5.1). */
		e->set.metrics->refreshes_unchanged++;
		daemon_log(LOG_DEBUG, "%s: TXT id %s unchanged; policy still current",
			    p->domain, p->cached->id);
		if (policy_cache_entry_copy(p->cached, &entry) == 0) {
			time_t until = now + (time_t)max_age_of(p->cached);

			if (until > entry->fetched_at + MTASTS_MAX_AGE_MAX)
				until = entry->fetched_at + MTASTS_MAX_AGE_MAX;
			if (until > entry->expires_at)
				entry->expires_at = until;
			cache_put(e, entry, false);
		}
		answer_waiters(p, entry != NULL ? entry : p->cached, 0, NULL, false);
	} else if (r->status == MTASTS_FETCH_POLICY && r->policy != NULL) {
		int rc = policy_cache_entry_policy(r->domain, r->txt_id, r->policy, now,
						   &entry);

		if (rc == 0) {
			if (refresh && strcmp(p->cached->id, entry->id) != 0)
				daemon_log(LOG_INFO, "%s: new policy, id %s (was %s)",
					    r->domain, entry->id, p->cached->id);
			else
				daemon_log(LOG_DEBUG, "%s: policy id %s, mode %s, max_age %u",
					    r->domain, entry->id,
					    mtasts_mode_name(r->policy->mode),
					    (unsigned)r->policy->max_age);
			cache_put(e, entry, false);
			answer_waiters(p, entry, 0, NULL, false);
		} else {
			daemon_log(LOG_ERR, "%s: cannot cache its policy (%s)", r->domain,
				    status_text(rc));
			answer_waiters(p, NULL, MTASTS_SOCKETMAP_FETCH_ERROR,
				       "cannot cache the policy", true);
		}
	} else if (refresh) {
		/* Keep the cached policy until it expires; try again later. */
		time_t backoff = (time_t)e->config->cache_grace;

		if (backoff < REFRESH_BACKOFF_MIN)
			backoff = REFRESH_BACKOFF_MIN;
		mark_of(e, p->domain)->refresh_after = (uint32_t)(now + backoff);
		e->set.metrics->refresh_failures++;
		/* The store lost it: it holds the policy again, for the fleet. */
		if (p->store_lost && e->set.store != NULL && p->cached->expires_at > now &&
		    policy_cache_put(e->set.store, p->cached) == POLICY_CACHE_ERR_STORE)
			store_failed(e, "put");
		daemon_log(LOG_NOTICE, "%s: refresh failed, keeping the cached policy "
			    "(id %s): %s", p->domain, p->cached->id,
			    reason != NULL ? reason : "?");
		if (p->cached->expires_at > now)
			answer_waiters(p, p->cached, 0, NULL, false);
		else
			answer_waiters(p, NULL, failure_of(r->result_type), r->reason,
				       r->local);
	} else if (r->status == MTASTS_FETCH_NO_POLICY) {
		daemon_log(LOG_DEBUG, "%s: no MTA-STS policy (%s)", p->domain,
			    reason != NULL ? reason : "?");
		/* Never over the store's policy, which could not be read. */
		if (policy_cache_entry_negative(POLICY_CACHE_NO_POLICY, p->domain, NULL, now,
						(unsigned)c->no_policy_ttl, &entry) == 0)
			cache_put(e, entry, p->store_unknown);
		answer_waiters(p, entry, MTASTS_SOCKETMAP_FETCH_ERROR, NULL, false);
	} else if (r->local) {
		daemon_log(LOG_ERR, "%s: %s", p->domain, reason != NULL ? reason : "?");
		answer_waiters(p, NULL, 0, "local resources exhausted", true);
	} else {
		enum mtasts_socketmap_failure failure = failure_of(r->result_type);
		char id[4] = { FAILURE_ID_PREFIX, (char)('0' + failure), '\0' };

		daemon_log(LOG_INFO, "%s: no policy to apply: %s", p->domain,
			    reason != NULL ? reason : "?");
		if (c->failure_ttl >= 1 &&
		    policy_cache_entry_negative(POLICY_CACHE_TEMP_FAIL, p->domain, id, now,
						(unsigned)c->failure_ttl, &entry) == 0)
			cache_put(e, entry, true);
		answer_waiters(p, NULL, failure, r->reason, false);
	}
	free(reason);
	policy_cache_entry_free(entry);
	fetch_result_free(r);
	pending_free(p);
	warm_pump(e);
}

static void start_fetch(struct pending *p)
{
	struct policyd_engine *e = p->engine;
	int rc;

	p->fetch.known_id = p->known_id[0] != '\0' ? p->known_id : NULL;
	if (p->cached != NULL)
		e->set.metrics->refreshes++;
	rc = fetch_policy(e->set.base, e->set.resolver, e->set.http, p->domain, &p->fetch,
			  on_fetched, p);
	if (rc != 0) {
		daemon_log(LOG_ERR, "%s: cannot start its discovery (%s)", p->domain,
			    strerror(-rc));
		answer_waiters(p, p->cached, 0, "cannot start the discovery",
			       p->cached == NULL);
		pending_free(p);
	}
}

/* Another node holds the domain's lock: wait for its result in the store. */
static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct policyd_engine *e = p->engine;
	struct policy_cache_entry *entry = NULL;
	struct timeval again = { 0, CLAIM_POLL_MS * 1000 };
	int rc;

	(void)fd;
	(void)what;
	rc = policy_cache_get(e->set.store, p->domain, now_s(), &entry);
	if (rc == 1) {
		e->set.metrics->store_hits++;
		(void)memory_put(e, entry);
		answer_waiters(p, entry, 0, NULL, false);
		policy_cache_entry_free(entry);
		pending_free(p);
		warm_pump(e);
		return;
	}
	if (rc == POLICY_CACHE_ERR_STORE)
		store_failed(e, "get");
	if (rc < 0 || monotonic_ms() >= p->give_up_at) {
		event_free(p->poll);
		p->poll = NULL;
		start_fetch(p);
		return;
	}
	evtimer_add(p->poll, &again);
}

/*
 * Start (or join) the discovery of domain.  cached is the entry a refresh
 * refreshes (taken over), w a waiting lookup (taken over); either may be NULL.
 */
static void discover(struct policyd_engine *e, const char *domain,
		     struct policy_cache_entry *cached, struct waiter *w, int flags)
{
	struct pending **slot = pending_slot(e, domain), *p = *slot;
	/* The zone of the lookup that starts it; a refresh, the default's. */
	unsigned timeout_ms = w != NULL ? w->timeout_ms :
			      (unsigned)(e->config->default_zone.timeout * 1000);
	int claim = 1;

	if (p != NULL) {
		policy_cache_entry_free(cached);
		if (w != NULL) {
			*p->waiters_tail = w;
			p->waiters_tail = &w->next;
		}
		return;
	}
	if (e->pending_count >= PENDING_MAX || (p = calloc(1, sizeof(*p))) == NULL) {
		policy_cache_entry_free(cached);
		if (w != NULL) {
			reply_error(w, MTASTS_SOCKETMAP_TEMP, "too many discoveries at once");
			free(w);
		}
		return;
	}
	p->engine = e;
	p->fetch.timeout_ms = timeout_ms + 1;
	snprintf(p->domain, sizeof(p->domain), "%s", domain);
	p->waiters = w;
	p->waiters_tail = w != NULL ? &w->next : &p->waiters;
	p->cached = cached;
	p->store_unknown = (flags & DISCOVER_STORE_UNKNOWN) != 0;
	p->store_lost = (flags & DISCOVER_FORCE_BODY) != 0;
	if (cached != NULL && cached->kind == POLICY_CACHE_POLICY &&
	    !(flags & DISCOVER_FORCE_BODY) &&
	    now_s() - cached->fetched_at < (time_t)e->config->refetch_interval)
		snprintf(p->known_id, sizeof(p->known_id), "%s", cached->id);
	*slot = p;
	e->pending_count++;
	if (e->set.store != NULL) {
		claim = policy_cache_claim(e->set.store, domain, timeout_ms + 1000);
		if (claim == POLICY_CACHE_ERR_STORE)
			store_failed(e, "claim");
	}
	if (claim == 0 && cached != NULL) {
		/* Another node refreshes it. */
		pending_free(p);
		return;
	}
	p->claimed = claim == 1;
	if (claim == 0) {
		struct timeval soon = { 0, CLAIM_POLL_MS * 1000 };

		p->give_up_at = monotonic_ms() + timeout_ms;
		if ((p->poll = evtimer_new(e->set.base, on_poll, p)) != NULL &&
		    evtimer_add(p->poll, &soon) == 0)
			return;
		if (p->poll != NULL)
			event_free(p->poll);
		p->poll = NULL;
	}
	start_fetch(p);
}

/* ---------------------------------------------------------------- lookup */

/* What cache_get() learned besides the entry. */
#define CACHE_STORE_ERROR 1	/* the store failed: memory's answer, if any */
#define CACHE_STORE_LOST 2	/* memory has a policy the store no longer has */

/*
 * The domain's fresh entry: memory first, then (when memory's is not known
 * to agree with the store) the store, whose entry wins.
 */
static int cache_get(struct policyd_engine *e, const char *domain, time_t now,
		     struct policy_cache_entry **ret, int *ret_flags)
{
	struct policy_cache_entry *stored = NULL;
	struct mark *m;
	int rc = memory_get(e, domain, now, ret), src;

	*ret_flags = 0;
	if (e->set.store == NULL)
		return rc;
	m = mark_of(e, domain);
	if (rc == 1 && (uint32_t)now - m->checked_at < MEMORY_WINDOW)
		return 1;
	src = policy_cache_get(e->set.store, domain, now, &stored);
	if (src == POLICY_CACHE_ERR_STORE || src < 0) {
		if (src == POLICY_CACHE_ERR_STORE)
			store_failed(e, "get");
		*ret_flags = CACHE_STORE_ERROR;
		return rc == 1 ? 1 : 0;
	}
	m->checked_at = (uint32_t)now;
	if (src == 1 && stored->kind != POLICY_CACHE_POLICY && rc == 1 &&
	    (*ret)->kind == POLICY_CACHE_POLICY) {
		/*
		 * "No policy" in the store, a policy in force here: the policy
		 * stays (RFC 8461 5.1), goes back to the store, and is fetched
		 * again at once.
		 */
		policy_cache_entry_free(stored);
		if (policy_cache_put(e->set.store, *ret) == POLICY_CACHE_ERR_STORE)
			store_failed(e, "put");
		*ret_flags = CACHE_STORE_LOST;
		return 1;
	}
	if (src == 1) {
		if (rc == 1)
			policy_cache_entry_free(*ret);
		else
			e->set.metrics->store_hits++;
		(void)memory_put(e, stored);
		*ret = stored;
		return 1;
	}
	if (rc == 1 && (*ret)->kind == POLICY_CACHE_POLICY) {
		/*
		 * Flushed, or evicted by the store: still in force (RFC 8461
		 * 5.1), but fetched again at once.
		 */
		*ret_flags = CACHE_STORE_LOST;
		return 1;
	}
	if (rc == 1) {
		policy_cache_entry_free(*ret);
		memory_delete(e, domain);
	}
	return 0;
}

/* Is a cached policy due for a look at its TXT id (or its body)? */
static bool due_known(const struct policyd_engine *e,
		      const struct policy_cache_entry *entry, time_t now, uint32_t max_age)
{
	if (entry->kind != POLICY_CACHE_POLICY)
		return false;
	if ((uint32_t)now < mark_of((struct policyd_engine *)e, entry->domain)->refresh_after)
		return false;
	if (now - entry->fetched_at >= (time_t)e->config->refetch_interval)
		return true;
	/* expires_at - max_age: when the policy was last found current. */
	return now - (entry->expires_at - (time_t)max_age) >= (time_t)e->config->cache_grace;
}

static bool due(const struct policyd_engine *e, const struct policy_cache_entry *entry,
		time_t now)
{
	return entry->kind == POLICY_CACHE_POLICY &&
	       due_known(e, entry, now, max_age_of(entry));
}

void policyd_engine_lookup(struct policyd_engine *e, const char *payload, size_t len,
			   policyd_reply_fn *fn, void *arg)
{
	struct mtasts_socketmap_request req;
	const struct policyd_zone *zone;
	struct policy_cache_entry *entry = NULL;
	struct waiter w = { .fn = fn, .arg = arg }, *copy;
	char domain[MTASTS_SOCKETMAP_QUERY_MAX + 1], a_label[HOSTNAME_BUF];
	char why[200];
	enum mtasts_socketmap_key_kind kind;
	int flags = 0;
	time_t now;

	if (e->freeing) {
		reply_error(&w, MTASTS_SOCKETMAP_TEMP, "shutting down");
		return;
	}
	if (mtasts_socketmap_request_parse(payload, len, &req, why, sizeof(why)) != 0) {
		e->set.metrics->protocol_errors++;
		reply_error(&w, MTASTS_SOCKETMAP_PERM, why);
		return;
	}
	zone = policyd_config_zone(e->config, req.name.data, req.name.len);
	options_of_zone(zone, &w.options);
	w.dane = zone->dane;
	w.dane_fail_closed = zone->dane_fail_closed;
	w.timeout_ms = (unsigned)(zone->timeout * 1000);
	kind = mtasts_socketmap_key_classify(req.key.data, req.key.len, domain,
					     sizeof(domain), NULL, 0);
	if (kind == MTASTS_SOCKETMAP_KEY_NEEDS_IDNA) {
		if (!hostname_a_label(NULL, domain, a_label, sizeof(a_label)))
			kind = MTASTS_SOCKETMAP_KEY_INVALID;
		else
			kind = mtasts_socketmap_key_classify(a_label, strlen(a_label), domain,
							     sizeof(domain), NULL, 0);
	}
	if (kind != MTASTS_SOCKETMAP_KEY_DOMAIN || strlen(domain) > FETCH_DOMAIN_MAX ||
	    policy_cache_domain_check(domain) != 0) {
		/* No MX lookup, or no domain: MTA-STS does not apply. */
		reply_error(&w, MTASTS_SOCKETMAP_NOTFOUND, NULL);
		return;
	}
	now = now_s();
	if (cache_get(e, domain, now, &entry, &flags) == 1) {
		e->set.metrics->cache_hits++;
		uint32_t max_age = 0;

		/* One parse of the policy serves the reply and the refresh check. */
		if (reply_entry_max_age(e, &w, entry, &max_age)) {
			bool lost = (flags & CACHE_STORE_LOST) &&
				    (uint32_t)now >= mark_of(e, domain)->refresh_after;

			if (pending_slot(e, domain)[0] == NULL &&
			    (lost || due_known(e, entry, now, max_age))) {
				discover(e, domain, entry, NULL, lost ? DISCOVER_FORCE_BODY : 0);
				return;
			}
			policy_cache_entry_free(entry);
			return;
		}
		daemon_log(LOG_WARNING, "%s: the cached policy does not parse; fetching",
			    domain);
		policy_cache_entry_free(entry);
		memory_delete(e, domain);
	} else {
		e->set.metrics->cache_misses++;
	}
	if ((copy = malloc(sizeof(*copy))) == NULL) {
		reply_error(&w, MTASTS_SOCKETMAP_TEMP, "out of memory");
		return;
	}
	*copy = w;
	copy->next = NULL;
	discover(e, domain, NULL, copy, (flags & CACHE_STORE_ERROR) ? DISCOVER_STORE_UNKNOWN : 0);
}

/* ------------------------------------------------ warming and proactive */

static void warm_pump(struct policyd_engine *e)
{
	unsigned limit = e->config->proactive.concurrency_limit;

	if (limit == 0)
		limit = 1;
	/* A discovery that ends at once calls back here: one loop does all. */
	if (e->pumping)
		return;
	e->pumping = true;
	while (e->warm_next < e->warm_len && e->pending_count < limit) {
		char *domain = e->warm_queue[e->warm_next];

		e->warm_queue[e->warm_next++] = NULL;
		policyd_engine_warm(e, domain);
		free(domain);
	}
	if (e->warm_next == e->warm_len)
		e->warm_next = e->warm_len = 0;
	e->pumping = false;
}

bool policyd_engine_warm(struct policyd_engine *e, const char *name)
{
	struct policy_cache_entry *entry = NULL;
	char domain[HOSTNAME_BUF];
	time_t now = now_s();
	int flags;

	if (hostname_normalize(name, domain, sizeof(domain), NULL, 0) != 0 ||
	    strlen(domain) > FETCH_DOMAIN_MAX || policy_cache_domain_check(domain) != 0)
		return false;
	if (pending_slot(e, domain)[0] != NULL)
		return true;
	if (cache_get(e, domain, now, &entry, &flags) == 1) {
		if (!(flags & CACHE_STORE_LOST) && !due(e, entry, now)) {
			policy_cache_entry_free(entry);
			return true;
		}
		if (entry->kind != POLICY_CACHE_POLICY) {
			policy_cache_entry_free(entry);
			entry = NULL;
		}
	}
	discover(e, domain, entry, NULL, (flags & CACHE_STORE_LOST) ? DISCOVER_FORCE_BODY :
		 (flags & CACHE_STORE_ERROR) ? DISCOVER_STORE_UNKNOWN : 0);
	return true;
}

int policyd_engine_queue_warm(struct policyd_engine *e, const char *domain)
{
	if (e->warm_len == e->warm_cap) {
		size_t cap = e->warm_cap ? e->warm_cap * 2 : 256;
		char **q = realloc(e->warm_queue, cap * sizeof(*q));

		if (q == NULL)
			return -ENOMEM;
		e->warm_queue = q;
		e->warm_cap = cap;
	}
	if ((e->warm_queue[e->warm_len] = strdup(domain)) == NULL)
		return -ENOMEM;
	e->warm_len++;
	return 0;
}

void policyd_engine_warm_start(struct policyd_engine *e)
{
	warm_pump(e);
}

struct proactive_scan {
	struct policyd_engine *engine;
	time_t now;
	time_t min_age;
};

static int proactive_visit(void *arg, const struct policy_cache_entry *entry)
{
	struct proactive_scan *s = arg;

	if (entry->kind == POLICY_CACHE_POLICY && entry->expires_at > s->now &&
	    s->now - entry->fetched_at >= s->min_age)
		(void)policyd_engine_queue_warm(s->engine, entry->domain);
	return 0;
}

static void proactive_schedule(struct policyd_engine *e);

static void on_proactive(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_engine *e = arg;
	const struct policyd_proactive *pp = &e->config->proactive;
	struct proactive_scan scan = { e, now_s(), 0 };
	struct policy_cache *source = e->set.store != NULL ? e->set.store : e->memory;
	int rc;

	(void)fd;
	(void)what;
	scan.min_age = (time_t)(pp->interval / (pp->grace_ratio > 0 ? pp->grace_ratio : 1));
	if ((rc = policy_cache_iterate(source, proactive_visit, &scan)) == POLICY_CACHE_ERR_STORE)
		store_failed(e, "iterate");
	if (e->warm_len > 0)
		daemon_log(LOG_INFO, "proactive refresh of %zu cached domains",
			    e->warm_len - e->warm_next);
	warm_pump(e);
	proactive_schedule(e);
}

static void proactive_schedule(struct policyd_engine *e)
{
	const struct policyd_proactive *pp = &e->config->proactive;
	struct timeval tv;
	double seconds;

	if (e->proactive != NULL)
		evtimer_del(e->proactive);
	if (!pp->enabled)
		return;
	if (e->proactive == NULL &&
	    (e->proactive = evtimer_new(e->set.base, on_proactive, e)) == NULL)
		return;
	/* Jitter, so a fleet started together does not refresh together. */
	seconds = pp->interval * (0.9 + 0.2 * ((double)rand() / RAND_MAX));
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(e->proactive, &tv);
}

/*
 * Expired entries are never answered from, but they take room: memory's
 * until evicted, a SQLite or PostgreSQL store's for ever.  Redis expires
 * its keys itself (each has a TTL).
 */
#define PURGE_INTERVAL_S 600

static void on_purge(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_engine *e = arg;
	struct timeval again = { PURGE_INTERVAL_S, 0 };
	size_t memory = 0, negative = 0, stored = 0;
	time_t now = now_s();

	(void)fd;
	(void)what;
	(void)policy_cache_purge_expired(e->memory, now, &memory);
	(void)policy_cache_purge_expired(e->negative, now, &negative);
	if (e->set.store != NULL && strcmp(e->set.store->ops->name, "redis") != 0 &&
	    policy_cache_purge_expired(e->set.store, now, &stored) == POLICY_CACHE_ERR_STORE)
		store_failed(e, "purge");
	if (memory + negative + stored > 0)
		daemon_log(LOG_DEBUG, "purged %zu expired entries from memory, %zu from the store",
			    memory + negative, stored);
	evtimer_add(e->purge, &again);
}

/* --------------------------------------------------------------- engine */

int policyd_engine_new(const struct policyd_engine_settings *settings,
		       const struct policyd_config *config,
		       struct policyd_engine **ret_engine)
{
	struct policyd_engine *e = calloc(1, sizeof(*e));
	int rc;

	if (e == NULL)
		return -ENOMEM;
	e->set = *settings;
	e->config = config;
	size_t entries = settings->memory_entries > 0 ? settings->memory_entries : 1;
	size_t negatives = entries / 4 > 1000 ? entries / 4 : 1000;
	size_t marks = 1024;

	if (entries > POLICY_CACHE_MEMORY_CAPACITY_MAX)
		entries = POLICY_CACHE_MEMORY_CAPACITY_MAX;
	if (negatives > POLICY_CACHE_MEMORY_CAPACITY_MAX)
		negatives = POLICY_CACHE_MEMORY_CAPACITY_MAX;
	while (marks < entries + negatives && marks < ((size_t)1 << 24))
		marks *= 2;
	e->mark_mask = marks - 1;
	if ((rc = policy_cache_memory_new(entries, &e->memory)) != 0 ||
	    (rc = policy_cache_memory_new(negatives, &e->negative)) != 0 ||
	    (e->marks = calloc(marks, sizeof(*e->marks))) == NULL ||
	    (e->parsed = calloc(PARSED_SLOTS, sizeof(*e->parsed))) == NULL) {
		free(e->marks);
		policy_cache_free(e->memory);
		policy_cache_free(e->negative);
		free(e);
		return -ENOMEM;
	}
	{
		/* Right after start: a store may hold what expired meanwhile. */
		struct timeval first = { 1, 0 };

		if ((e->purge = evtimer_new(e->set.base, on_purge, e)) != NULL)
			evtimer_add(e->purge, &first);
	}
	proactive_schedule(e);
	*ret_engine = e;
	return 0;
}

void policyd_engine_reconfigure(struct policyd_engine *e, const struct policyd_config *config)
{
	e->config = config;
	proactive_schedule(e);
}

size_t policyd_engine_busy(const struct policyd_engine *e)
{
	return e->pending_count;
}

size_t policyd_engine_memory_entries(struct policyd_engine *e)
{
	size_t n = 0;

	size_t negatives = 0;

	(void)policy_cache_count(e->memory, &n);
	(void)policy_cache_count(e->negative, &negatives);
	return n + negatives;
}

void policyd_engine_free(struct policyd_engine *e)
{
	if (e == NULL)
		return;
	e->freeing = true;
	for (size_t b = 0; b < PENDING_BUCKETS; b++) {
		while (e->buckets[b] != NULL) {
			struct pending *p = e->buckets[b];

			answer_waiters(p, NULL, 0, "shutting down", true);
			e->buckets[b] = p->next;
			policy_cache_entry_free(p->cached);
			p->cached = NULL;
			if (p->poll != NULL) {
				/* Not fetching: nothing will call back. */
				event_free(p->poll);
				free(p);
				continue;
			}
			/* Its discovery ends when the resolver and client go. */
			p->orphaned = true;
		}
		while (e->dane[b] != NULL) {
			struct dane_memo *m = e->dane[b];

			e->dane[b] = m->next;
			dane_lookup_cancel(m->lookup);
			for (struct dane_wait *dw = m->waiting, *next; dw != NULL; dw = next) {
				next = dw->next;
				reply_error(dw->waiter, MTASTS_SOCKETMAP_TEMP, "shutting down");
				dane_wait_free(dw);
			}
			free(m);
		}
	}
	for (size_t i = e->warm_next; i < e->warm_len; i++)
		free(e->warm_queue[i]);
	free(e->warm_queue);
	if (e->proactive != NULL)
		event_free(e->proactive);
	if (e->purge != NULL)
		event_free(e->purge);
	policy_cache_free(e->memory);
	policy_cache_free(e->negative);
	free(e->marks);
	for (size_t i = 0; i < PARSED_SLOTS; i++)
		mtasts_policy_free(e->parsed[i].policy);
	free(e->parsed);
	free(e);
}
