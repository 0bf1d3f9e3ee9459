/*
 * test-dane.c - end-to-end test of lib/io/dane.c against the lab's
 * validating resolver: the DANE decision for lab domains of every kind,
 * all at once on one event loop, then the deadline (against lab-faultd's
 * resolver that never answers), cancellation, and a resolver freed under
 * a lookup.
 *
 * usage: test-dane LAB_JSON
 *	LAB_JSON is the lab's resolved plan (<work dir>/lab.json), read for
 *	the addresses of the resolver and of the dropping DNS server.  Runs
 *	inside the lab's namespace (the wrapper tests/e2e/test-dane puts it
 *	there).
 *
 * Prints "ok - ..." or "not ok - ..." per assertion, then "N passed, N
 * failed"; exits 0 only when none failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "dane.h"
#include "resolver.h"
#include "util.h"

#define DEADLINE_MS 1500

static int passed, failed;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
}

struct dane_case {
	const char *domain;
	enum dane_status status;
	long mx_count;			/* -1: not checked */
	long tlsa_host_count;		/* -1: not checked */
	const char *reason;		/* a part of the reason */
	/* filled in */
	unsigned calls;
	bool inside_start;
	struct dane_result got;
	long long started, elapsed_ms;
};

#define CASE(d, s, m, t, r) { .domain = (d), .status = (s), .mx_count = (m), \
	.tlsa_host_count = (t), .reason = (r) }

static struct dane_case cases[] = {
	CASE("dane-tlsa.test", DANE_USABLE, 1, 1, "every MX host of dane-tlsa.test (1)"),
	/* Whether the record matches is for the sender's handshake to find. */
	CASE("dane-mismatch.test", DANE_USABLE, 1, 1, "usable TLSA records"),
	CASE("DANE-TLSA.Test.", DANE_USABLE, 1, 1, "every MX host of dane-tlsa.test"),
	CASE("good-enforce.test", DANE_NONE, 1, 0, "mx1.mail.test has no TLSA records"),
	CASE("dane-partial.test", DANE_NONE, 2, -1, "mx1.mail.test has no TLSA records"),
	CASE("dane-insecure.test", DANE_NONE, 0, 0,
	     "the MX RRset of dane-insecure.test is not DNSSEC-validated"),
	CASE("dane-mx-insecure.test", DANE_NONE, 0, 0,
	     "the MX RRset of dane-mx-insecure.test is not DNSSEC-validated"),
	CASE("dane-pkix-only.test", DANE_NONE, 1, 0,
	     "none of the 1 TLSA records of mx-dane-pkix.mail.test is usable"),
	CASE("dane-tlsa-bogus.test", DANE_TEMP, 1, 0,
	     "TLSA lookup of _25._tcp.mx-dane-bogus.mail.test failed: SERVFAIL"),
	CASE("dnssec-bogus.test", DANE_TEMP, 0, 0, "MX lookup of dnssec-bogus.test failed: SERVFAIL"),
	CASE("dns-servfail.test", DANE_TEMP, 0, 0, "MX lookup of dns-servfail.test failed: SERVFAIL"),
	/* One host lacks TLSA by a validated denial: the other's failure cannot
	 * make DANE cover the domain. */
	CASE("dane-lookup-fails.test", DANE_NONE, 2, 0, "mx1.mail.test has no TLSA records"),
	CASE("mx-implicit.test", DANE_NONE, 1, 0, "mx-implicit.test has no TLSA records"),
	CASE("null-mx.test", DANE_NONE, 0, 0, "null MX"),
	CASE("no-such-domain.test", DANE_NONE, 0, 0, "does not exist (NXDOMAIN)"),
};

#define CASE_COUNT (sizeof(cases) / sizeof(cases[0]))

static unsigned outstanding;
static struct event_base *base;
static bool starting;

static void on_done(void *arg, const struct dane_result *r)
{
	struct dane_case *c = arg;

	c->calls++;
	c->inside_start = c->inside_start || starting;
	c->got = *r;
	c->elapsed_ms = monotonic_ms() - c->started;
	if (c->calls == 1 && --outstanding == 0)
		event_base_loopbreak(base);
}

static void on_never(void *arg, const struct dane_result *r)
{
	unsigned *calls = arg;

	(*calls)++;
}

static void on_give_up(evutil_socket_t fd, short what, void *arg)
{
	printf("# the lookups did not all end within 30 s\n");
	event_base_loopbreak(base);
}

static int start(struct resolver *r, struct dane_case *c, unsigned timeout_ms)
{
	struct dane_lookup *l;
	int rc;

	c->started = monotonic_ms();
	starting = true;
	rc = dane_lookup(base, r, c->domain, timeout_ms, on_done, c, &l);
	starting = false;
	if (rc == 0)
		outstanding++;
	return rc;
}

static void check_case(const struct dane_case *c)
{
	const struct dane_result *r = &c->got;
	bool ok = c->calls == 1 && !c->inside_start && r->status == c->status &&
		  (c->mx_count < 0 || r->mx_count == (size_t)c->mx_count) &&
		  (c->tlsa_host_count < 0 || r->tlsa_host_count == (size_t)c->tlsa_host_count) &&
		  strstr(r->reason, c->reason) != NULL;

	check(ok, "%s: %s (%zu MX hosts, %zu with TLSA) in %lld ms: %s%s%s", c->domain,
	      dane_status_name(r->status), r->mx_count, r->tlsa_host_count, c->elapsed_ms,
	      r->reason, ok ? "" : "; want ", ok ? "" : dane_status_name(c->status));
	if (!ok)
		printf("#   want reason with \"%s\"; callbacks %u%s\n", c->reason, c->calls,
		       c->inside_start ? ", one inside dane_lookup()" : "");
}

static struct resolver *make_resolver(const char *server, unsigned timeout_ms, unsigned tries)
{
	const char *servers[1] = { server };
	struct resolver_config config = {
		.servers = servers, .server_count = 1, .timeout_ms = timeout_ms, .tries = tries,
	};
	struct resolver *r = NULL;

	if (resolver_new(base, &config, &r) != 0) {
		printf("not ok - a resolver for %s\n0 passed, 1 failed\n", server);
		exit(1);
	}
	return r;
}

int main(int argc, char **argv)
{
	struct dane_case deadline = CASE("dane-tlsa.test", DANE_TEMP, 0, 0,
					 "did not finish within 1500 ms");
	struct dane_case freed = CASE("dane-tlsa.test", DANE_TEMP, 0, 0, "cancelled");
	struct resolver *resolver, *dropping;
	struct dane_lookup *l = NULL, *waiting = NULL;
	unsigned cancelled_calls = 0, dropped_calls = 0;
	struct event *give_up;
	struct timeval limit = { 30, 0 };
	json_error_t jerr;
	json_t *lab;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: test-dane LAB_JSON\n");
		return 2;
	}
	if ((lab = json_load_file(argv[1], 0, &jerr)) == NULL) {
		printf("not ok - read %s: %s\n0 passed, 1 failed\n", argv[1], jerr.text);
		return 1;
	}
	base = event_base_new();
	resolver = make_resolver(json_string_value(json_object_get(lab, "resolver")), 2000, 2);
	/* lab-faultd's dns-drop: every query goes unanswered, each time. */
	dropping = make_resolver(json_string_value(json_object_get(lab, "dns_drop")), 2000, 3);

	for (size_t i = 0; i < CASE_COUNT; i++)
		if ((rc = start(resolver, &cases[i], 10000)) != 0)
			check(false, "%s: dane_lookup() started (%s)", cases[i].domain,
			      strerror(-rc));
	if ((rc = start(dropping, &deadline, DEADLINE_MS)) != 0)
		check(false, "the deadline case started (%s)", strerror(-rc));

	/* A lookup abandoned at once: its callback never runs. */
	rc = dane_lookup(base, resolver, "dane-tlsa.test", 10000, on_never, &cancelled_calls, &l);
	check(rc == 0, "a lookup to cancel started");
	l = dane_lookup_cancel(l);
	check(l == NULL, "dane_lookup_cancel() returns NULL");
	/* One abandoned while its query waits on the silent server, and one
	 * that is still waiting there when that resolver is freed. */
	rc = dane_lookup(base, dropping, "dane-tlsa.test", 0, on_never, &dropped_calls, &waiting);
	check(rc == 0, "a lookup to cancel while it waits started");
	rc = dane_lookup(base, dropping, freed.domain, 0, on_done, &freed, &l);
	check(rc == 0, "a lookup to outlive its resolver started");

	rc = dane_lookup(base, resolver, "bad..name", 1000, on_never, &cancelled_calls, &l);
	check(rc == -EINVAL, "a name that is no host name: -EINVAL at once (%d)", rc);

	event_base_loop(base, EVLOOP_NONBLOCK);	/* its query is out */
	waiting = dane_lookup_cancel(waiting);

	give_up = evtimer_new(base, on_give_up, NULL);
	evtimer_add(give_up, &limit);
	event_base_dispatch(base);
	event_free(give_up);

	for (size_t i = 0; i < CASE_COUNT; i++)
		check_case(&cases[i]);
	check_case(&deadline);
	check(deadline.elapsed_ms >= DEADLINE_MS - 50 && deadline.elapsed_ms < DEADLINE_MS + 500,
	      "the deadline of %d ms holds against a server that never answers (%lld ms; "
	      "the resolver alone would take 3 x 2000 ms)", DEADLINE_MS, deadline.elapsed_ms);

	freed.started = monotonic_ms();
	dropping = resolver_free(dropping);
	check(freed.calls == 1 && freed.got.status == DANE_TEMP,
	      "a resolver freed under a lookup: its callback once, temp (%u, %s: %s)",
	      freed.calls, dane_status_name(freed.got.status), freed.got.reason);
	check(cancelled_calls == 0 && dropped_calls == 0,
	      "no callback for the cancelled lookups (%u, %u)", cancelled_calls, dropped_calls);
	resolver = resolver_free(resolver);
	event_base_free(base);
	json_decref(lab);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
