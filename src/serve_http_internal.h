/*
 * serve_http_internal.h - what the HTTP server of `mtasts serve`
 * (serve_http.c: listeners, connections, the report, health and metrics
 * routes) shares with the routes of the hosted names (serve_http_hosting.c:
 * the policies and the ACME http-01 answers).
 */
#ifndef MTASTS_SERVE_HTTP_INTERNAL_H
#define MTASTS_SERVE_HTTP_INTERNAL_H

#include <stdbool.h>
#include <time.h>

#include <event2/http.h>

#include "serve.h"
#include "serve_request_head.h"

#define BOUND_MAX (3 * SERVE_LISTEN_MAX)	/* HTTPS, plain, listen_http */

struct serve_server {
	struct event_base *base;
	const struct serve_config *config;
	struct serve_tls *tls;
	struct evhttp *https, *plain;
	struct evhttp *acme;		/* listen_http: http-01 answers and 404 */
	struct serve_hosting *hosting;	/* NULL: no policies hosted */
	struct serve_challenges *challenges;
	struct evhttp_bound_socket *bound[BOUND_MAX];
	bool bound_tls[BOUND_MAX];
	size_t bound_count;
	struct serve_cidr allow[SERVE_ALLOW_MAX];
	size_t allow_count;
	char *store_location;
	struct report_store *store;
	char store_why[SERVE_WHY_SIZE];	/* why it last failed to open */
	time_t store_error_logged;
	struct serve_metrics *metrics;	/* own_metrics, or this worker's shared slot */
	struct serve_metrics own_metrics;
	struct serve_metrics *all_metrics;	/* every worker's slot; NULL: one worker */
	size_t metrics_count;
	struct serve_summary_cache summary;
	bool answering;			/* a route's answer is being written */
	time_t date_second;		/* the second date is of */
	char date[80];			/* an HTTP date (RFC 9110 5.6.7); room for any int */
	struct event *prune_timer;
	struct event *handshake_sweep;	/* cuts TLS handshakes past timeout */
	unsigned retention_days;	/* applied: what the timer prunes with */
	unsigned prune_interval;
	bool prunes;			/* this worker prunes (one does) */
	bool paused;			/* at max_connections */
	bool draining;
	bool freeing;
	struct event *drain_check;
	void (*drained)(void *arg);
	void *drained_arg;
};

/* The client's address, "" when unknown. */
const char *serve_peer_address(struct evhttp_request *req);
const char *serve_method_name(struct evhttp_request *req);
/* The request's path for the log: escaped, cut (it came from the network). */
const char *serve_path_shown(struct evhttp_request *req);
/* evhttp_send_reply(), the answer made one TLS record when it fits one. */
void serve_send(struct evhttp_request *req, int status, const char *reason,
		struct evbuffer *body);
/* A one-line text/plain reply (text escaped, cut), counted. */
void serve_reply(struct serve_server *s, struct evhttp_request *req, enum serve_route_id route,
		 int status, const char *reason, const char *text);

/*
 * The hosted names' part of a request (s->hosting set); true when it is
 * answered, false when the other routes are to answer it.
 */
bool serve_hosting_answered(struct serve_server *s, struct evhttp_request *req,
			    const char *path);
/*
 * The answer to a plain policy request (serve_request_head.h) read on a
 * TLS connection whose SNI is sni, written into out and counted: its
 * length, or 0 when evhttp is to answer the request (a name not hosted,
 * SNI and Host apart, no room).  peer is for the log.
 */
size_t serve_hosting_quick_answer(struct serve_server *s, const struct serve_policy_request *req,
				  const char *sni, const char *peer, char *out, size_t out_size);
/* The gencb of listen_http: GET /.well-known/acme-challenge/<token>, else 404. */
void serve_on_acme_request(struct evhttp_request *req, void *arg);

#endif
