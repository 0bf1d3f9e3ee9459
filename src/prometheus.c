/*
 * prometheus.c - see prometheus.h.
 */
#include <stdio.h>

#include <event2/buffer.h>

#include "prometheus.h"

void prom_header(struct evbuffer *out, const char *name, const char *help, const char *type)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_counter(struct evbuffer *out, const char *name, const char *help,
		  unsigned long long value)
{
	prom_header(out, name, help, "counter");
	evbuffer_add_printf(out, "%s %llu\n", name, value);
}

void prom_gauge(struct evbuffer *out, const char *name, const char *help,
		unsigned long long value)
{
	prom_header(out, name, help, "gauge");
	evbuffer_add_printf(out, "%s %llu\n", name, value);
}

void prom_labeled(struct evbuffer *out, const char *name, const char *help,
		  const char *label, const char *const *label_values,
		  const uint64_t *values, size_t count)
{
	prom_header(out, name, help, "counter");
	for (size_t i = 0; i < count; i++)
		evbuffer_add_printf(out, "%s{%s=\"%s\"} %llu\n", name, label, label_values[i],
				    (unsigned long long)values[i]);
}

void prom_label_value(const char *text, char *buf, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		char piece[8];
		size_t len;

		if (*p == '\\' || *p == '"')
			len = (size_t)snprintf(piece, sizeof(piece), "\\%c", *p);
		else if (*p == '\n')
			len = (size_t)snprintf(piece, sizeof(piece), "\\n");
		else if (*p < 0x20 || *p >= 0x7f)
			len = (size_t)snprintf(piece, sizeof(piece), "\\\\x%02x", *p);
		else
			len = (size_t)snprintf(piece, sizeof(piece), "%c", *p);
		if (n + len >= size)
			break;
		for (size_t i = 0; i < len; i++)
			buf[n++] = piece[i];
	}
	buf[n] = '\0';
}
