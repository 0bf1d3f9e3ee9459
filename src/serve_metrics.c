/*
 * serve_metrics.c - the counters of `mtasts serve` and what the stored
 * reports say per policy domain, in the Prometheus text format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "daemon_log.h"
#include "prometheus.h"
#include "serve.h"

const int serve_status_codes[SERVE_STATUSES] = {
	200, 201, 400, 403, 404, 405, 408, 413, 415, 500, 503, 0,	/* 0: any other */
};

static const char *const route_names[SERVE_ROUTES] = {
	"report", "healthz", "metrics", "none", "server",
};

void serve_metrics_count(struct serve_metrics *m, enum serve_route_id route, int status)
{
	size_t i = 0;

	while (i < SERVE_STATUSES - 1 && serve_status_codes[i] != status)
		i++;
	m->requests[route][i]++;
}

static void write_requests(const struct serve_metrics *m, struct evbuffer *out)
{
	prom_header(out, "mtasts_serve_requests_total", "HTTP requests answered, by route "
		    "and status (\"other\": a status not listed).", "counter");
	for (size_t r = 0; r < SERVE_ROUTES; r++) {
		for (size_t s = 0; s < SERVE_STATUSES; s++) {
			char status[16];

			if (m->requests[r][s] == 0)
				continue;
			if (serve_status_codes[s] != 0)
				snprintf(status, sizeof(status), "%d", serve_status_codes[s]);
			else
				snprintf(status, sizeof(status), "other");
			evbuffer_add_printf(out, "mtasts_serve_requests_total{route=\"%s\","
					    "status=\"%s\"} %llu\n", route_names[r], status,
					    (unsigned long long)m->requests[r][s]);
		}
	}
}

/* Render the per-domain series from the store into a new string. */
static char *render_summary(struct report_store *store, uint64_t *store_errors)
{
	struct report_filter everything = { 0 };
	struct summary_row *rows = NULL, total = { 0 };
	size_t count = 0;
	char why[SERVE_WHY_SIZE], domain[512], key2[512];
	struct evbuffer *out = evbuffer_new();
	char *text = NULL;
	size_t len;

	if (out == NULL)
		return NULL;
	if (report_store_summary(store, &everything, GROUP_DOMAIN, &rows, &count, &total, why,
				 sizeof(why)) != 0)
		goto fail;
	prom_header(out, "mtasts_tlsrpt_sessions_total", "Sessions in the stored TLS reports, "
		    "by policy domain and result.", "counter");
	for (size_t i = 0; i < count; i++) {
		prom_label_value(rows[i].key != NULL ? rows[i].key : "", domain, sizeof(domain));
		evbuffer_add_printf(out, "mtasts_tlsrpt_sessions_total{domain=\"%s\","
				    "result=\"success\"} %llu\n", domain,
				    (unsigned long long)rows[i].successes);
		evbuffer_add_printf(out, "mtasts_tlsrpt_sessions_total{domain=\"%s\","
				    "result=\"failure\"} %llu\n", domain,
				    (unsigned long long)rows[i].failures);
	}
	summary_rows_free(rows, count);
	summary_row_clear(&total);
	rows = NULL;
	count = 0;
	if (report_store_summary(store, &everything, GROUP_DOMAIN_RESULT_TYPE, &rows, &count, &total,
				 why, sizeof(why)) != 0)
		goto fail;
	prom_header(out, "mtasts_tlsrpt_failures_total", "Failed sessions in the stored TLS "
		    "reports, by policy domain and result type.", "counter");
	for (size_t i = 0; i < count; i++) {
		prom_label_value(rows[i].key != NULL ? rows[i].key : "", domain, sizeof(domain));
		prom_label_value(rows[i].key2 != NULL ? rows[i].key2 : "", key2, sizeof(key2));
		evbuffer_add_printf(out, "mtasts_tlsrpt_failures_total{domain=\"%s\","
				    "result_type=\"%s\"} %llu\n", domain, key2,
				    (unsigned long long)rows[i].failures);
	}
	summary_rows_free(rows, count);
	summary_row_clear(&total);
	len = evbuffer_get_length(out);
	if ((text = malloc(len + 1)) != NULL) {
		evbuffer_copyout(out, text, len);
		text[len] = '\0';
	}
	evbuffer_free(out);
	return text;
fail:
	(*store_errors)++;
	daemon_log(LOG_WARNING, "metrics: the report store: %s", why);
	evbuffer_free(out);
	return NULL;
}

void serve_summary_cache_clear(struct serve_summary_cache *cache)
{
	free(cache->text);
	cache->text = NULL;
	cache->at = 0;
}

void serve_metrics_write(struct serve_metrics *m, struct serve_summary_cache *cache,
			 struct report_store *store, int64_t now, struct evbuffer *out)
{
	static const char *const outcome_names[SERVE_OUTCOMES] = {
		"stored", "duplicate", "invalid", "media_type", "too_large", "unavailable",
	};

	write_requests(m, out);
	prom_labeled(out, "mtasts_serve_reports_total", "Reports POSTed, by outcome.",
		     "outcome", outcome_names, m->reports, SERVE_OUTCOMES);
	prom_counter(out, "mtasts_serve_received_bytes_total", "Octets of report bodies "
		     "received.", m->bytes_received);
	prom_counter(out, "mtasts_serve_store_errors_total", "Failures of the report store "
		     "(opening, storing, asking).", m->store_errors);
	prom_counter(out, "mtasts_serve_connections_total", "TLS connections accepted.",
		     m->connections_accepted);
	prom_gauge(out, "mtasts_serve_connections", "TLS connections open.",
		   m->connections_open);
	prom_counter(out, "mtasts_serve_accept_paused_total", "Times accepting paused at "
		     "max_connections.", m->accept_paused);
	prom_counter(out, "mtasts_serve_certificate_reloads_total", "Certificates read "
		     "again on SIGHUP.", m->tls_reloads);
	prom_counter(out, "mtasts_serve_certificate_reload_failures_total", "Reloads that "
		     "kept the certificates in use.", m->tls_reload_failures);
	prom_counter(out, "mtasts_serve_settings_reloads_total", "Settings read again on "
		     "SIGHUP.", m->settings_reloads);
	prom_counter(out, "mtasts_serve_settings_reload_failures_total", "Reloads that "
		     "kept the settings in use (the file was wrong).", m->settings_reload_failures);
	prom_counter(out, "mtasts_serve_reports_pruned_total", "Reports removed past "
		     "retention_days.", m->reports_pruned);
	if (store != NULL && (cache->at == 0 || now - cache->at >= SERVE_SUMMARY_TTL_S)) {
		char *fresh = render_summary(store, &m->store_errors);

		/* A store that fails now leaves those series out. */
		free(cache->text);
		cache->text = fresh;
		cache->at = now;
	}
	if (cache->text != NULL)
		evbuffer_add(out, cache->text, strlen(cache->text));
}
