/*
 * policyd_metrics.c - the daemon's counters in the Prometheus text format,
 * served over HTTP by libevent's evhttp on an address of its own (never the
 * socketmap port: Postfix would read HTTP as a broken netstring).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include <mtasts/fetch.h>

#include "dane.h"
#include "policyd.h"
#include "prometheus.h"

const double policyd_latency_bounds[POLICYD_LATENCY_BUCKETS - 1] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5,
};

struct policyd_metrics_server {
	struct evhttp *http;
	const struct policyd_metrics *metrics;
	policyd_gauges_fn *gauges;
	void *gauges_arg;
};

void policyd_metrics_latency(struct policyd_metrics *m, double seconds)
{
	size_t i = 0;

	while (i < POLICYD_LATENCY_BUCKETS - 1 && seconds > policyd_latency_bounds[i])
		i++;
	m->latency_bucket[i]++;
	m->latency_count++;
	m->latency_sum += seconds;
}

int policyd_metrics_write(const struct policyd_metrics *m, struct evbuffer *out)
{
	static const char *const reply_names[POLICYD_REPLY_CLASSES] = {
		"ok", "notfound", "temp", "perm",
	};
	static const char *const fetch_names[4] = {
		"policy", "no-policy", "temp-fail", "invalid",
	};
	const char *result_names[3], *dane_names[3];
	unsigned long long cumulative = 0;

	for (int i = 0; i < 3; i++) {
		result_names[i] = mtasts_result_type_name((enum mtasts_result_type)(i + 1));
		dane_names[i] = dane_status_name((enum dane_status)i);
	}
	prom_labeled(out, "mtasts_policyd_lookups_total", "Socketmap lookups answered, by reply.",
		"reply", reply_names, m->lookups, POLICYD_REPLY_CLASSES);
	evbuffer_add_printf(out, "# HELP mtasts_policyd_lookup_seconds Time from a "
			    "request to its reply.\n# TYPE mtasts_policyd_lookup_seconds histogram\n");
	for (int i = 0; i < POLICYD_LATENCY_BUCKETS; i++) {
		cumulative += m->latency_bucket[i];
		if (i < POLICYD_LATENCY_BUCKETS - 1)
			evbuffer_add_printf(out, "mtasts_policyd_lookup_seconds_bucket{le=\"%g\"} "
					    "%llu\n", policyd_latency_bounds[i], cumulative);
		else
			evbuffer_add_printf(out, "mtasts_policyd_lookup_seconds_bucket{le=\"+Inf\"} "
					    "%llu\n", cumulative);
	}
	evbuffer_add_printf(out, "mtasts_policyd_lookup_seconds_sum %.6f\n"
			    "mtasts_policyd_lookup_seconds_count %llu\n", m->latency_sum,
			    (unsigned long long)m->latency_count);
	prom_counter(out, "mtasts_policyd_cache_hits_total", "Lookups answered from the cache.",
		m->cache_hits);
	prom_counter(out, "mtasts_policyd_cache_misses_total", "Lookups that found nothing cached.",
		m->cache_misses);
	prom_counter(out, "mtasts_policyd_store_hits_total", "Entries found in the shared store "
		"and not in memory.", m->store_hits);
	prom_counter(out, "mtasts_policyd_store_errors_total", "Failed operations of the cache "
		"store (SQLite, Redis, PostgreSQL).", m->store_errors);
	prom_labeled(out, "mtasts_policyd_fetches_total", "Policy discoveries, by outcome.",
		"outcome", fetch_names, m->fetches, 4);
	prom_labeled(out, "mtasts_policyd_fetch_failures_total", "Failed discoveries, by RFC 8460 "
		"result type.", "result_type", result_names, m->fetch_result_types + 1, 3);
	prom_counter(out, "mtasts_policyd_refreshes_total", "Refreshes of cached policies started.",
		m->refreshes);
	prom_counter(out, "mtasts_policyd_refreshes_unchanged_total", "Refreshes that found the "
		"TXT id unchanged.", m->refreshes_unchanged);
	prom_counter(out, "mtasts_policyd_refresh_failures_total", "Refreshes that failed (the "
		"cached policy was kept).", m->refresh_failures);
	prom_labeled(out, "mtasts_policyd_dane_lookups_total", "DANE lookups, by outcome.",
		"outcome", dane_names, m->dane_lookups, 3);
	prom_counter(out, "mtasts_policyd_connections_total", "Connections accepted.",
		m->connections_accepted);
	evbuffer_add_printf(out, "# HELP mtasts_policyd_connections Connections open.\n"
			    "# TYPE mtasts_policyd_connections gauge\n"
			    "mtasts_policyd_connections %llu\n",
			    (unsigned long long)m->connections_open);
	prom_counter(out, "mtasts_policyd_protocol_errors_total", "Malformed netstrings or "
		"requests (each closes its connection).", m->protocol_errors);
	prom_counter(out, "mtasts_policyd_pipelined_requests_total", "Requests that arrived "
		"before the reply to the one before.", m->requests_pipelined);
	return 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct policyd_metrics_server *ms = arg;
	struct evbuffer *out;
	const char *path = evhttp_request_get_uri(req);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || path == NULL ||
	    (strcmp(path, "/metrics") != 0 && strncmp(path, "/metrics?", 9) != 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only GET /metrics is served here");
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	policyd_metrics_write(ms->metrics, out);
	if (ms->gauges != NULL)
		ms->gauges(ms->gauges_arg, out);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
}

int policyd_metrics_listen(struct event_base *base, const char *address,
			   const struct policyd_metrics *metrics,
			   policyd_gauges_fn *gauges, void *gauges_arg,
			   struct policyd_metrics_server **ret, char *why, size_t why_size)
{
	struct policyd_metrics_server *ms = calloc(1, sizeof(*ms));
	char host[64];
	const char *colon = strrchr(address, ':');
	size_t host_len;
	unsigned long port;

	if (ms == NULL || colon == NULL) {
		free(ms);
		snprintf(why, why_size, "metrics: '%s' is not ADDRESS:PORT", address);
		return -1;
	}
	host_len = (size_t)(colon - address);
	if (address[0] == '[' && host_len >= 2 && address[host_len - 1] == ']') {
		address++;
		host_len -= 2;
	}
	if (host_len == 0 || host_len >= sizeof(host)) {
		free(ms);
		snprintf(why, why_size, "metrics: '%s' is not ADDRESS:PORT", address);
		return -1;
	}
	memcpy(host, address, host_len);
	host[host_len] = '\0';
	port = strtoul(colon + 1, NULL, 10);
	ms->metrics = metrics;
	ms->gauges = gauges;
	ms->gauges_arg = gauges_arg;
	if ((ms->http = evhttp_new(base)) == NULL ||
	    evhttp_bind_socket(ms->http, host, (uint16_t)port) != 0) {
		snprintf(why, why_size, "metrics: cannot listen on %s port %lu", host, port);
		policyd_metrics_server_free(ms);
		return -1;
	}
	evhttp_set_timeout(ms->http, 10);
	evhttp_set_max_headers_size(ms->http, 8192);
	evhttp_set_max_body_size(ms->http, 0);
	evhttp_set_allowed_methods(ms->http, EVHTTP_REQ_GET);
	evhttp_set_gencb(ms->http, on_request, ms);
	*ret = ms;
	return 0;
}

void policyd_metrics_server_free(struct policyd_metrics_server *ms)
{
	if (ms == NULL)
		return;
	if (ms->http != NULL)
		evhttp_free(ms->http);
	free(ms);
}
