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
	200, 201, 304, 400, 403, 404, 405, 408, 413, 415, 421, 500, 503, 0,	/* 0: any other */
};

static const char *const route_names[SERVE_ROUTES] = {
	"report", "healthz", "metrics", "policy", "acme", "none", "server",
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

static void write_hosting(const struct serve_metrics *m, struct evbuffer *out)
{
	prom_gauge(out, "mtasts_serve_hosted_domains", "Domains whose policy is served.",
		   m->hosted_domains);
	prom_gauge(out, "mtasts_serve_hosted_corrupt_rows", "Rows of the registry that "
		   "cannot be served (logged by name).", m->hosted_corrupt);
	prom_gauge(out, "mtasts_serve_hosted_certificates", "Hosted names with a "
		   "certificate of their own.", m->hosted_certificates);
	prom_gauge(out, "mtasts_serve_registry_generation", "Generation of the registry "
		   "the policies served were read at.", m->registry_generation);
	prom_counter(out, "mtasts_serve_registry_reloads_total", "Tables of policies built "
		     "from the registry.", m->registry_reloads);
	prom_counter(out, "mtasts_serve_registry_failures_total", "Looks at the registry "
		     "that failed (the policies in use stayed).", m->registry_failures);
}

static void write_acme(const struct serve_metrics *m, struct evbuffer *out)
{
	static const char *const outcomes[] = { "installed", "failed" };
	uint64_t orders[] = { m->acme_orders_ok, m->acme_orders_failed };

	prom_labeled(out, "mtasts_serve_acme_orders_total", "Certificate orders, by outcome "
		     "(rate limits not counted as failures).", "outcome", outcomes, orders, 2);
	prom_counter(out, "mtasts_serve_acme_rate_limited_total", "Times the CA said to "
		     "wait (rateLimited, 429).", m->acme_rate_limited);
	prom_counter(out, "mtasts_serve_acme_accounts_replaced_total", "ACME accounts found "
		     "deactivated or revoked and made again.", m->acme_accounts_replaced);
	prom_gauge(out, "mtasts_serve_certificates_expiring", "Hosted names whose certificate "
		   "expires within 14 days without a successful renewal, or that have none "
		   "after a failure: alert on this above 0.", m->certificates_expiring);
}

/*
 * Policy domains and result types are any strings a sender chooses: the
 * series are bounded.  The domains with the most sessions get series of
 * their own, the rest are summed under domain="(other)"; result types
 * outside RFC 8460's are summed under result_type="other".
 */
#define METRICS_MAX_DOMAINS 500
#define OTHER_DOMAIN "(other)"

static const char *const rfc8460_result_types[] = {
	"starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
	"certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
	"dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
};
#define RESULT_TYPES (sizeof(rfc8460_result_types) / sizeof(rfc8460_result_types[0]))

/* The index of a result type in the table, or RESULT_TYPES for "other". */
static size_t result_type_index(const char *type)
{
	for (size_t i = 0; i < RESULT_TYPES; i++)
		if (type != NULL && strcmp(type, rfc8460_result_types[i]) == 0)
			return i;
	return RESULT_TYPES;
}

static int by_sessions_desc(const void *a, const void *b)
{
	const struct summary_row *x = a, *y = b;

	if (x->sessions != y->sessions)
		return x->sessions > y->sessions ? -1 : 1;
	return strcmp(x->key != NULL ? x->key : "", y->key != NULL ? y->key : "");
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Failures per result type of one domain label, then written out. */
static void flush_failures(struct evbuffer *out, const char *domain_label, const uint64_t *failures)
{
	for (size_t t = 0; t <= RESULT_TYPES; t++)
		if (failures[t] > 0)
			evbuffer_add_printf(out, "mtasts_tlsrpt_failures_total{domain=\"%s\","
					    "result_type=\"%s\"} %llu\n", domain_label,
					    t < RESULT_TYPES ? rfc8460_result_types[t] : "other",
					    (unsigned long long)failures[t]);
}

/* Render the per-domain series from the store into a new string. */
static char *render_summary(struct report_store *store, uint64_t *store_errors)
{
	struct report_filter everything = { 0 };
	struct summary_row *rows = NULL, total = { 0 };
	size_t count = 0, shown = 0;
	char why[SERVE_WHY_SIZE], domain[512];
	struct evbuffer *out = evbuffer_new();
	char *text = NULL, **top = NULL;
	uint64_t other_success = 0, other_failure = 0;
	uint64_t failures[RESULT_TYPES + 1] = { 0 }, other_failures[RESULT_TYPES + 1] = { 0 };
	size_t len;

	if (out == NULL)
		return NULL;
	if (report_store_summary(store, &everything, GROUP_DOMAIN, &rows, &count, &total, why,
				 sizeof(why)) != 0)
		goto fail;
	if (count > 0)		/* rows is NULL when the store is empty */
		qsort(rows, count, sizeof(*rows), by_sessions_desc);
	shown = count < METRICS_MAX_DOMAINS ? count : METRICS_MAX_DOMAINS;
	if ((top = calloc(shown + 1, sizeof(*top))) == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	prom_header(out, "mtasts_tlsrpt_sessions_total", "Sessions in the stored TLS reports, "
		    "by policy domain and result.", "counter");
	bool others = false;
	size_t kept = 0;

	for (size_t i = 0; i < count; i++) {
		const char *key = rows[i].key != NULL ? rows[i].key : "";

		/* a domain a sender named "(other)" is one of the others, never a second series */
		if (kept == shown || strcmp(key, OTHER_DOMAIN) == 0) {
			other_success += rows[i].successes;
			other_failure += rows[i].failures;
			others = true;
			continue;
		}
		top[kept++] = (char *)key;
		prom_label_value(key, domain, sizeof(domain));
		evbuffer_add_printf(out, "mtasts_tlsrpt_sessions_total{domain=\"%s\","
				    "result=\"success\"} %llu\n", domain,
				    (unsigned long long)rows[i].successes);
		evbuffer_add_printf(out, "mtasts_tlsrpt_sessions_total{domain=\"%s\","
				    "result=\"failure\"} %llu\n", domain,
				    (unsigned long long)rows[i].failures);
	}
	shown = kept;
	if (others) {
		evbuffer_add_printf(out, "mtasts_tlsrpt_sessions_total{domain=\"" OTHER_DOMAIN "\","
				    "result=\"success\"} %llu\n", (unsigned long long)other_success);
		evbuffer_add_printf(out, "mtasts_tlsrpt_sessions_total{domain=\"" OTHER_DOMAIN "\","
				    "result=\"failure\"} %llu\n", (unsigned long long)other_failure);
	}
	qsort(top, shown, sizeof(*top), compare_names);

	struct summary_row *types = NULL, types_total = { 0 };
	size_t type_count = 0;

	if (report_store_summary(store, &everything, GROUP_DOMAIN_RESULT_TYPE, &types, &type_count,
				 &types_total, why, sizeof(why)) != 0)
		goto fail;
	prom_header(out, "mtasts_tlsrpt_failures_total", "Failed sessions in the stored TLS "
		    "reports, by policy domain and result type.", "counter");
	/* Rows come sorted by domain: one domain's types are written together. */
	for (size_t i = 0; i < type_count; i++) {
		const char *key = types[i].key != NULL ? types[i].key : "";
		size_t t = result_type_index(types[i].key2);

		if (bsearch(&key, top, shown, sizeof(*top), compare_names) == NULL) {
			other_failures[t] += types[i].failures;
			continue;
		}
		failures[t] += types[i].failures;
		if (i + 1 == type_count || types[i + 1].key == NULL || strcmp(types[i + 1].key, key) != 0) {
			prom_label_value(key, domain, sizeof(domain));
			flush_failures(out, domain, failures);
			memset(failures, 0, sizeof(failures));
		}
	}
	flush_failures(out, OTHER_DOMAIN, other_failures);
	summary_rows_free(types, type_count);
	summary_row_clear(&types_total);
	free(top);
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
	free(top);
	summary_rows_free(rows, count);
	summary_row_clear(&total);
	evbuffer_free(out);
	return NULL;
}

void serve_summary_cache_clear(struct serve_summary_cache *cache)
{
	free(cache->text);
	cache->text = NULL;
	cache->at = 0;
}

static uint64_t larger(uint64_t x, uint64_t y)
{
	return x > y ? x : y;
}

void serve_metrics_sum(const struct serve_metrics *slots, size_t count,
		       struct serve_metrics *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (size_t w = 0; w < count; w++) {
		const struct serve_metrics *m = &slots[w];

		for (size_t r = 0; r < SERVE_ROUTES; r++)
			for (size_t i = 0; i < SERVE_STATUSES; i++)
				sum->requests[r][i] += m->requests[r][i];
		for (size_t i = 0; i < SERVE_OUTCOMES; i++)
			sum->reports[i] += m->reports[i];
		sum->bytes_received += m->bytes_received;
		sum->store_errors += m->store_errors;
		sum->connections_accepted += m->connections_accepted;
		sum->connections_open += m->connections_open;
		sum->accept_paused += m->accept_paused;
		sum->tls_reloads += m->tls_reloads;
		sum->tls_reload_failures += m->tls_reload_failures;
		sum->settings_reloads += m->settings_reloads;
		sum->settings_reload_failures += m->settings_reload_failures;
		sum->reports_pruned += m->reports_pruned;
		sum->hosting = sum->hosting || m->hosting;
		sum->hosted_domains = larger(sum->hosted_domains, m->hosted_domains);
		sum->hosted_corrupt = larger(sum->hosted_corrupt, m->hosted_corrupt);
		sum->registry_generation = larger(sum->registry_generation,
						  m->registry_generation);
		sum->registry_reloads += m->registry_reloads;
		sum->registry_failures += m->registry_failures;
		sum->acme = sum->acme || m->acme;
		sum->acme_orders_ok += m->acme_orders_ok;
		sum->acme_orders_failed += m->acme_orders_failed;
		sum->acme_rate_limited += m->acme_rate_limited;
		sum->acme_accounts_replaced += m->acme_accounts_replaced;
		sum->certificates_expiring = larger(sum->certificates_expiring,
						    m->certificates_expiring);
	}
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
	if (m->hosting)
		write_hosting(m, out);
	if (m->acme)
		write_acme(m, out);
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
