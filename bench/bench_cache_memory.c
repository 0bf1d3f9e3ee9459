/*
 * bench_cache_memory.c - what a million cached policies cost policyd's
 * in-process cache (lib/io/policy_cache_memory.c): resident memory after
 * filling it, and the time of a put and of a get.
 *
 *	bench-cache-memory [COUNT]	(default 1000000)
 *
 * Each entry is a typical policy: a domain of 16 to 22 octets, a 14-digit
 * id, two mx lines (the canonical text, as the daemon stores it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy_cache.h"

static long resident_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	struct policy_cache *cache = NULL;
	struct policy_cache_entry entry = { .kind = POLICY_CACHE_POLICY };
	struct policy_cache_entry *got = NULL;
	char text[256];
	long before, after;
	double t0, t1, t2;

	if (count == 0 || policy_cache_memory_new(count, &cache) != 0) {
		fprintf(stderr, "bench-cache-memory: cannot make a cache of %zu\n", count);
		return 1;
	}
	before = resident_kib();
	snprintf(entry.id, sizeof(entry.id), "20260101000000");
	entry.fetched_at = 1800000000;
	entry.expires_at = entry.fetched_at + 604800;
	t0 = seconds();
	for (size_t i = 0; i < count; i++) {
		snprintf(entry.domain, sizeof(entry.domain), "d%zu.example-mail.com", i);
		entry.policy_len = (size_t)snprintf(text, sizeof(text),
			"version: STSv1\r\nmode: enforce\r\nmx: mx1.%s\r\nmx: *.mx.%s\r\n"
			"max_age: 604800\r\n", entry.domain, entry.domain);
		entry.policy_text = text;
		if (policy_cache_put(cache, &entry) != 0) {
			fprintf(stderr, "bench-cache-memory: put %zu failed\n", i);
			return 1;
		}
	}
	t1 = seconds();
	for (size_t i = 0; i < count; i++) {
		char domain[64];

		snprintf(domain, sizeof(domain), "d%zu.example-mail.com", (i * 7919) % count);
		if (policy_cache_get(cache, domain, entry.fetched_at, &got) != 1) {
			fprintf(stderr, "bench-cache-memory: get %s failed\n", domain);
			return 1;
		}
		got = policy_cache_entry_free(got);
	}
	t2 = seconds();
	after = resident_kib();
	printf("entries      %zu\n", count);
	printf("resident     %.1f MiB for the entries (%.0f octets each), %.1f MiB in all\n",
	       (double)(after - before) / 1024, (double)(after - before) * 1024 / (double)count,
	       (double)after / 1024);
	printf("put          %.0f ns\n", (t1 - t0) / (double)count * 1e9);
	printf("get          %.0f ns (a copy the caller frees)\n", (t2 - t1) / (double)count * 1e9);
	policy_cache_free(cache);
	return 0;
}
