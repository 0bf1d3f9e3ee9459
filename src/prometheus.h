/*
 * prometheus.h - writers of the Prometheus text format (0.0.4) into an
 * evbuffer, for the daemons' /metrics.
 *
 * prom_label_value() makes any text a label value: \, " and new lines
 * escaped, control octets and octets that are not printable ASCII as \xHH
 * text (so a domain name from a report cannot break a line).
 */
#ifndef MTASTS_PROMETHEUS_H
#define MTASTS_PROMETHEUS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* "# HELP", "# TYPE name counter" and the value. */
void prom_counter(struct evbuffer *out, const char *name, const char *help,
		  unsigned long long value);

/* The same for a gauge. */
void prom_gauge(struct evbuffer *out, const char *name, const char *help,
		unsigned long long value);

/* A counter with one label, a value per label value. */
void prom_labeled(struct evbuffer *out, const char *name, const char *help,
		  const char *label, const char *const *label_values,
		  const uint64_t *values, size_t count);

/* The "# HELP" and "# TYPE" lines alone (type "counter" or "gauge"). */
void prom_header(struct evbuffer *out, const char *name, const char *help, const char *type);

/* text as a label value (without the quotes) in buf, cut to fit. */
void prom_label_value(const char *text, char *buf, size_t size);

#endif
