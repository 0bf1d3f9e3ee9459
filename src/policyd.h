/*
 * policyd.h - the parts of `mtasts policyd`: the lookup engine (request to
 * reply, over the policy cache and the one policy discovery), the socketmap
 * server (listeners and connections), and the metrics.
 *
 * DESCRIPTION
 *	Everything runs on one libevent loop in one thread.  A request goes
 *	from a connection to policyd_engine_lookup(), which answers at once
 *	from the cache or, on a miss, after the discovery of its domain;
 *	lookups of one domain that miss together share one discovery.  The
 *	connection keeps the replies in the order of its requests.
 */
#ifndef MTASTS_POLICYD_H
#define MTASTS_POLICYD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include <mtasts/socketmap.h>

#include "fetcher.h"
#include "http.h"
#include "policy_cache.h"
#include "policyd_config.h"
#include "resolver.h"

/* ---- metrics ---- */

enum policyd_reply_class {
	POLICYD_REPLY_OK,
	POLICYD_REPLY_NOTFOUND,
	POLICYD_REPLY_TEMP,
	POLICYD_REPLY_PERM,
	POLICYD_REPLY_CLASSES,
};

#define POLICYD_LATENCY_BUCKETS 12

struct policyd_metrics {
	uint64_t lookups[POLICYD_REPLY_CLASSES];
	uint64_t latency_bucket[POLICYD_LATENCY_BUCKETS];	/* not cumulative */
	uint64_t latency_count;
	double latency_sum;				/* seconds */
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint64_t store_hits;				/* misses of memory found in the store */
	uint64_t store_errors;
	uint64_t fetches[4];				/* by enum mtasts_fetch_status */
	uint64_t fetch_result_types[4];			/* by enum mtasts_result_type */
	uint64_t refreshes;
	uint64_t refreshes_unchanged;			/* the TXT id said "still current" */
	uint64_t refresh_failures;
	uint64_t dane_lookups[3];			/* by enum dane_status */
	uint64_t connections_accepted;
	uint64_t connections_open;
	uint64_t protocol_errors;			/* malformed netstrings and requests */
	uint64_t requests_pipelined;
};

extern const double policyd_latency_bounds[POLICYD_LATENCY_BUCKETS - 1];

void policyd_metrics_latency(struct policyd_metrics *m, double seconds);

/* ---- the engine ---- */

struct policyd_engine;

/* The reply, NUL-terminated; only borrowed for the call. */
typedef void policyd_reply_fn(void *arg, const char *reply, size_t len,
			      enum policyd_reply_class reply_class);

struct policyd_engine_settings {
	struct event_base *base;
	struct resolver *resolver;
	struct http_client *http;
	struct policy_cache *store;	/* sqlite, redis, postgres; NULL: memory only */
	size_t memory_entries;		/* the in-process cache in front */
	struct policyd_metrics *metrics;
};

int policyd_engine_new(const struct policyd_engine_settings *settings,
		       const struct policyd_config *config,
		       struct policyd_engine **ret_engine);

/*
 * A new configuration (on SIGHUP): zones, time limits and refresh settings
 * apply to lookups from now on; config must outlive its use, as for _new().
 */
void policyd_engine_reconfigure(struct policyd_engine *engine,
				const struct policyd_config *config);

/*
 * Answer one request payload ("NAME KEY"): fn is called exactly once,
 * before this returns when the answer is known at once (a cache hit, a key
 * MTA-STS does not govern), else from the event loop.
 */
void policyd_engine_lookup(struct policyd_engine *engine, const char *payload,
			   size_t len, policyd_reply_fn *fn, void *arg);

/* Refresh domain in the background when due; false for a bad name. */
bool policyd_engine_warm(struct policyd_engine *engine, const char *domain);

/*
 * Queue domain for policyd_engine_warm(), run at most
 * proactive_policy_fetching.concurrency_limit at once once started.
 */
int policyd_engine_queue_warm(struct policyd_engine *engine, const char *domain);
void policyd_engine_warm_start(struct policyd_engine *engine);

/* Discoveries running; for draining and pacing. */
size_t policyd_engine_busy(const struct policyd_engine *engine);

/* Entries in the in-process cache. */
size_t policyd_engine_memory_entries(struct policyd_engine *engine);

/*
 * Free the engine; lookups still waiting are answered "TEMP" first (their
 * callbacks run).  Accepts NULL.
 */
void policyd_engine_free(struct policyd_engine *engine);

/* ---- the socketmap server ---- */

struct policyd_server;

#define POLICYD_IDLE_TIMEOUT_S 300	/* a connection without requests */
#define POLICYD_CONNECTIONS_MAX 20000
#define POLICYD_PIPELINE_MAX 256	/* requests waiting on one connection */

/*
 * Bind the listeners config names (TCP host:port, or the UNIX socket at
 * path) without serving yet: before privileges are dropped.  On failure a
 * sentence in why.
 */
int policyd_server_bind(struct event_base *base, const struct policyd_config *config,
			struct policyd_server **ret_server, char *why, size_t why_size);

/* Serve requests with engine. */
int policyd_server_start(struct policyd_server *server, struct policyd_engine *engine,
			 struct policyd_metrics *metrics);

/*
 * Stop accepting; connections end once their pending replies are written
 * (idle ones at once).  done runs when the last one has gone.
 */
void policyd_server_drain(struct policyd_server *server, void (*done)(void *arg), void *arg);

size_t policyd_server_connections(const struct policyd_server *server);

/* Close every connection and listener (a UNIX socket's file is removed). */
void policyd_server_free(struct policyd_server *server);

/* ---- the metrics listener ---- */

struct policyd_metrics_server;

/* Adds the gauges only the caller knows (cache sizes) to out. */
struct evbuffer;
typedef void policyd_gauges_fn(void *arg, struct evbuffer *out);

/*
 * Serve GET /metrics (Prometheus text format 0.0.4) on address, "IPV4:PORT"
 * or "[IPV6]:PORT".  On failure a sentence in why.
 */
int policyd_metrics_listen(struct event_base *base, const char *address,
			   const struct policyd_metrics *metrics,
			   policyd_gauges_fn *gauges, void *gauges_arg,
			   struct policyd_metrics_server **ret, char *why, size_t why_size);

/* The counters in the text format (without the caller's gauges). */
int policyd_metrics_write(const struct policyd_metrics *metrics, struct evbuffer *out);

void policyd_metrics_server_free(struct policyd_metrics_server *ms);

#endif
