/*
 * test_domain_queue.c - bounded concurrency over a list of domains, results
 * in argument order (src/domain_queue.c), driven without a network.
 *
 * The work of a domain is a slot the start function keeps; the test
 * completes slots when and in the order it likes, synchronously inside start
 * or later, and watches what the queue delivers, how much it runs at once,
 * and when it tells the event loop to stop.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "unit.h"

#include <event2/event.h>

#include "domain_queue.h"

#define DOMAINS_MAX 1000

/* What a start function does for a domain. */
enum start_action {
	START_LATER,		/* keep the slot; the test completes it */
	START_NOW,		/* complete it inside start */
	START_FAIL,		/* return the errno below */
};

struct harness {
	struct domain_queue q;
	char *domains[DOMAINS_MAX];
	char names[DOMAINS_MAX][32];
	enum start_action action[DOMAINS_MAX];
	int start_error[DOMAINS_MAX];		/* for START_FAIL, negative */
	bool failed_null[DOMAINS_MAX];		/* failed() finds no result */
	struct domain_slot *slot[DOMAINS_MAX];	/* START_LATER, not yet done */
	/* results are pointers into these: one per domain and outcome */
	int done_token[DOMAINS_MAX], failed_token[DOMAINS_MAX];

	size_t starts[DOMAINS_MAX];
	size_t start_depth, max_start_depth;
	size_t max_running;
	size_t failed_calls;
	int failed_error[DOMAINS_MAX];
	size_t ready_count;
	size_t ready_index[DOMAINS_MAX];
	void *ready_result[DOMAINS_MAX];
	size_t progress_calls, progress_done, progress_running;
};

static size_t index_of(struct harness *h, const char *domain)
{
	for (size_t i = 0; i < h->q.count; i++)
		if (h->domains[i] == domain)
			return i;
	fail_msg("start or failed called with a domain not in the list");
	return 0;
}

static void outstanding_check(struct harness *h)
{
	size_t outstanding = 0;

	for (size_t i = 0; i < h->q.count; i++)
		outstanding += h->slot[i] != NULL;
	assert_true(outstanding <= h->q.concurrency);
	assert_int_equal(outstanding, h->q.running);
}

static int start_work(void *ctx, const char *domain, struct domain_slot *slot)
{
	struct harness *h = ctx;
	size_t i = index_of(h, domain);

	assert_ptr_equal(slot->queue, &h->q);
	assert_int_equal(slot->index, i);
	h->starts[i]++;
	/* the queue counts this one as running already */
	assert_true(h->q.running >= 1 && h->q.running <= h->q.concurrency);
	if (h->q.running > h->max_running)
		h->max_running = h->q.running;
	if (++h->start_depth > h->max_start_depth)
		h->max_start_depth = h->start_depth;
	switch (h->action[i]) {
	case START_LATER:
		h->slot[i] = slot;
		break;
	case START_NOW:
		domain_queue_done(slot, &h->done_token[i]);
		break;
	case START_FAIL:
		h->start_depth--;
		return h->start_error[i];
	}
	h->start_depth--;
	return 0;
}

static void *start_failed_result(void *ctx, const char *domain, int err)
{
	struct harness *h = ctx;
	size_t i = index_of(h, domain);

	h->failed_calls++;
	h->failed_error[i] = err;
	return h->failed_null[i] ? NULL : &h->failed_token[i];
}

static void on_ready(void *ctx, size_t index, void *result)
{
	struct harness *h = ctx;

	assert_true(h->ready_count < DOMAINS_MAX);
	/* in domain order, each once */
	assert_int_equal(index, h->ready_count);
	assert_non_null(result);
	assert_null(h->q.results[index]);	/* handed over: the queue keeps none */
	h->ready_index[h->ready_count] = index;
	h->ready_result[h->ready_count] = result;
	h->ready_count++;
}

static void on_progress(void *ctx, size_t done, size_t running)
{
	struct harness *h = ctx;

	h->progress_calls++;
	h->progress_done = done;
	h->progress_running = running;
	assert_true(done <= h->q.count);
	assert_true(running <= h->q.concurrency);
}

static struct harness *harness_new(size_t count, unsigned concurrency)
{
	struct harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	assert_true(count <= DOMAINS_MAX);
	for (size_t i = 0; i < count; i++) {
		snprintf(h->names[i], sizeof(h->names[i]), "d%zu.example", i);
		h->domains[i] = h->names[i];
	}
	h->q = (struct domain_queue){
		.domains = h->domains,
		.count = count,
		.concurrency = concurrency,
		.ctx = h,
		.start = start_work,
		.failed = start_failed_result,
		.ready = on_ready,
		.progress = on_progress,
	};
	return h;
}

static void harness_free(struct harness *h)
{
	/* work still out when the queue stalled: its slots are the test's */
	for (size_t i = 0; i < h->q.count; i++)
		if (h->slot[i] != NULL)
			free(h->slot[i]);
	free(h->q.results);
	free(h);
}

/* The test completes domain i's outstanding work. */
static void complete(struct harness *h, size_t i)
{
	struct domain_slot *slot = h->slot[i];

	assert_non_null(slot);
	h->slot[i] = NULL;
	domain_queue_done(slot, &h->done_token[i]);
	outstanding_check(h);
}

static size_t started(const struct harness *h)
{
	size_t n = 0;

	for (size_t i = 0; i < h->q.count; i++) {
		assert_true(h->starts[i] <= 1);
		n += h->starts[i];
	}
	return n;
}

/* ---- tests ---- */

/* Completions out of order; results in argument order, each when it can. */
static void test_order(void **state)
{
	struct harness *h = harness_new(6, 3);

	(void)state;
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_int_equal(started(h), 3);
	outstanding_check(h);
	/* 2 and 1 are done, but 0 is not: nothing yet */
	complete(h, 2);
	assert_int_equal(h->ready_count, 0);
	assert_int_equal(h->progress_calls, 1);
	assert_int_equal(h->progress_done, 1);
	assert_int_equal(h->progress_running, 2);
	assert_int_equal(started(h), 4);	/* 3 took 2's place */
	complete(h, 1);
	assert_int_equal(h->ready_count, 0);
	assert_int_equal(started(h), 5);
	/* 0 completes: 0, 1 and 2 at once */
	complete(h, 0);
	assert_int_equal(h->ready_count, 3);
	assert_int_equal(started(h), 6);
	complete(h, 5);
	complete(h, 3);
	assert_int_equal(h->ready_count, 4);
	assert_false(domain_queue_complete(&h->q));
	complete(h, 4);
	assert_int_equal(h->ready_count, 6);
	assert_true(domain_queue_complete(&h->q));
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(h->ready_index[i], i);
		assert_ptr_equal(h->ready_result[i], &h->done_token[i]);
		assert_null(h->q.results[i]);	/* handed over to ready() */
	}
	assert_int_equal(h->progress_calls, 6);
	assert_int_equal(h->progress_done, 6);
	assert_int_equal(h->progress_running, 0);
	assert_int_equal(h->max_running, 3);
	assert_int_equal(h->failed_calls, 0);
	harness_free(h);
}

/* Never more than `concurrency` at once, in many orders of completion. */
static void test_concurrency_bound(void **state)
{
	static const unsigned limits[] = { 1, 2, 3, 7, 50, 200 };

	(void)state;
	for (size_t l = 0; l < ARRAY_LEN(limits); l++) {
		struct harness *h = harness_new(100, limits[l]);
		unsigned seed = 12345u + (unsigned)l;
		size_t want_max = limits[l] < 100 ? limits[l] : 100;

		assert_int_equal(domain_queue_start(&h->q), 0);
		assert_int_equal(started(h), want_max);
		while (!domain_queue_complete(&h->q)) {
			size_t out[DOMAINS_MAX], n = 0;

			for (size_t i = 0; i < h->q.count; i++)
				if (h->slot[i] != NULL)
					out[n++] = i;
			assert_true(n > 0);	/* no stall */
			seed = seed * 1103515245u + 12345u;
			complete(h, out[(seed >> 16) % n]);
		}
		assert_int_equal(h->max_running, want_max);
		assert_int_equal(h->ready_count, 100);
		assert_int_equal(h->progress_calls, 100);
		harness_free(h);
	}
}

/* A start that fails still yields a result, and the queue goes on. */
static void test_start_fails(void **state)
{
	struct harness *h = harness_new(6, 2);

	(void)state;
	h->action[1] = START_FAIL;
	h->start_error[1] = -EMFILE;
	h->action[2] = START_FAIL;
	h->start_error[2] = -EINVAL;
	h->action[5] = START_FAIL;
	h->start_error[5] = -ENOMEM;
	assert_int_equal(domain_queue_start(&h->q), 0);
	/* 0 runs, 1 and 2 fail at once, 3 takes the second place */
	assert_int_equal(started(h), 4);
	assert_int_equal(h->q.running, 2);
	assert_int_equal(h->failed_calls, 2);
	assert_int_equal(h->failed_error[1], -EMFILE);
	assert_int_equal(h->failed_error[2], -EINVAL);
	assert_int_equal(h->ready_count, 0);	/* 0 is not in yet */
	complete(h, 3);
	/* 4 starts; 0 holds the rest back */
	assert_int_equal(h->ready_count, 0);
	complete(h, 0);
	/* 0 to 3 delivered; 5, tried in 0's place, fails at once */
	assert_int_equal(h->failed_calls, 3);
	assert_int_equal(h->failed_error[5], -ENOMEM);
	assert_int_equal(h->ready_count, 4);
	complete(h, 4);
	assert_int_equal(h->ready_count, 6);
	assert_true(domain_queue_complete(&h->q));
	assert_false(h->q.stalled);
	for (size_t i = 0; i < 6; i++) {
		bool failed = i == 1 || i == 2 || i == 5;

		assert_ptr_equal(h->ready_result[i],
				 failed ? &h->failed_token[i] : &h->done_token[i]);
	}
	harness_free(h);
}

/* Every start fails: every domain still has its result, at once. */
static void test_all_fail(void **state)
{
	struct harness *h = harness_new(10, 3);

	(void)state;
	for (size_t i = 0; i < 10; i++) {
		h->action[i] = START_FAIL;
		h->start_error[i] = -(int)(i + 1);
	}
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_int_equal(started(h), 10);
	assert_int_equal(h->failed_calls, 10);
	assert_int_equal(h->ready_count, 10);
	assert_int_equal(h->q.running, 0);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(h->failed_error[i], -(int)(i + 1));
	assert_true(domain_queue_complete(&h->q));
	harness_free(h);
}

/* failed() has no result for a domain: the queue stops there. */
static void test_stall(void **state)
{
	struct harness *h = harness_new(5, 2);

	(void)state;
	h->action[2] = START_FAIL;
	h->start_error[2] = -ENOMEM;
	h->failed_null[2] = true;
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_int_equal(started(h), 2);
	complete(h, 0);
	/* 2 was tried in 0's place and had no result: stalled, 3 and 4 never start */
	assert_true(h->q.stalled);
	assert_int_equal(started(h), 3);
	assert_int_equal(h->ready_count, 1);
	assert_false(domain_queue_complete(&h->q));
	/* the work already out still completes and is delivered up to the gap */
	complete(h, 1);
	assert_int_equal(h->ready_count, 2);
	assert_int_equal(started(h), 3);
	assert_int_equal(h->starts[3] + h->starts[4], 0);
	assert_false(domain_queue_complete(&h->q));
	assert_null(h->q.results[2]);
	harness_free(h);
}

/* No failed() at all: a start that fails stalls the queue. */
static void test_stall_without_failed(void **state)
{
	struct harness *h = harness_new(3, 1);

	(void)state;
	h->q.failed = NULL;
	h->action[0] = START_FAIL;
	h->start_error[0] = -EINVAL;
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_true(h->q.stalled);
	assert_int_equal(started(h), 1);
	assert_int_equal(h->ready_count, 0);
	assert_false(domain_queue_complete(&h->q));
	harness_free(h);
}

/* Work done inside start: the queue loops, it does not recurse. */
static void test_synchronous(void **state)
{
	struct harness *h = harness_new(DOMAINS_MAX, 4);

	(void)state;
	for (size_t i = 0; i < DOMAINS_MAX; i++)
		h->action[i] = START_NOW;
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_int_equal(started(h), DOMAINS_MAX);
	assert_int_equal(h->max_start_depth, 1);
	assert_int_equal(h->max_running, 1);
	assert_int_equal(h->ready_count, DOMAINS_MAX);
	assert_int_equal(h->progress_calls, DOMAINS_MAX);
	assert_true(domain_queue_complete(&h->q));
	harness_free(h);
}

/* Some done at once, some later, some failing, in one run. */
static void test_mixed(void **state)
{
	struct harness *h = harness_new(9, 2);

	(void)state;
	for (size_t i = 0; i < 9; i++)
		h->action[i] = i % 3 == 0 ? START_LATER : i % 3 == 1 ? START_NOW : START_FAIL;
	for (size_t i = 2; i < 9; i += 3)
		h->start_error[i] = -EAGAIN;
	assert_int_equal(domain_queue_start(&h->q), 0);
	/* 0 waits; 1 done, 2 failed, 3 waits: two out */
	assert_int_equal(started(h), 4);
	assert_int_equal(h->ready_count, 0);
	complete(h, 3);
	/* 4 done, 5 failed, 6 waits */
	assert_int_equal(started(h), 7);
	complete(h, 0);
	assert_int_equal(h->ready_count, 6);
	complete(h, 6);
	assert_int_equal(h->ready_count, 9);
	assert_int_equal(h->max_start_depth, 1);
	assert_true(domain_queue_complete(&h->q));
	harness_free(h);
}

/* Concurrency 0 is 1. */
static void test_concurrency_zero(void **state)
{
	struct harness *h = harness_new(3, 0);

	(void)state;
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_int_equal(h->q.concurrency, 1);
	assert_int_equal(started(h), 1);
	complete(h, 0);
	assert_int_equal(started(h), 2);
	complete(h, 1);
	complete(h, 2);
	assert_int_equal(h->max_running, 1);
	assert_true(domain_queue_complete(&h->q));
	harness_free(h);
}

/* No domains: complete at once (on a C library whose calloc(0) is not NULL). */
static void test_no_domains(void **state)
{
	struct harness *h = harness_new(0, 4);
	struct event_base *base = event_base_new();

	(void)state;
	assert_non_null(base);
	h->q.base = base;
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_true(domain_queue_complete(&h->q));
	assert_int_equal(started(h), 0);
	assert_int_equal(h->ready_count, 0);
	assert_true(event_base_got_break(base));
	harness_free(h);
	event_base_free(base);
}

/* ---- on an event loop ---- */

/* The loop is told to stop with the last result, not before. */
static void test_loopbreak(void **state)
{
	struct harness *h = harness_new(4, 2);
	struct event_base *base = event_base_new();

	(void)state;
	assert_non_null(base);
	h->q.base = base;
	assert_int_equal(domain_queue_start(&h->q), 0);
	complete(h, 1);
	complete(h, 0);
	complete(h, 3);
	assert_int_equal(h->ready_count, 2);
	assert_false(event_base_got_break(base));
	complete(h, 2);
	assert_int_equal(h->ready_count, 4);
	assert_true(event_base_got_break(base));
	harness_free(h);
	event_base_free(base);
}

/* A stall tells the loop to stop too. */
static void test_loopbreak_on_stall(void **state)
{
	struct harness *h = harness_new(4, 2);
	struct event_base *base = event_base_new();

	(void)state;
	assert_non_null(base);
	h->q.base = base;
	h->action[2] = START_FAIL;
	h->start_error[2] = -ENOMEM;
	h->failed_null[2] = true;
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_false(event_base_got_break(base));
	complete(h, 0);
	assert_true(h->q.stalled);
	assert_true(event_base_got_break(base));
	harness_free(h);
	event_base_free(base);
}

/* Work that finishes on timers, the last domain first: a real loop. */
struct timed {
	struct harness *h;
	size_t index;
};

static struct timed timed_work[16];

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct timed *t = arg;

	(void)fd;
	(void)what;
	complete(t->h, t->index);
}

static int start_timed(void *ctx, const char *domain, struct domain_slot *slot)
{
	struct harness *h = ctx;
	size_t i = index_of(h, domain);
	struct timeval tv = { 0, (suseconds_t)(1000 * (h->q.count - i)) };

	h->starts[i]++;
	h->slot[i] = slot;
	if (h->q.running > h->max_running)
		h->max_running = h->q.running;
	timed_work[i] = (struct timed){ h, i };
	return event_base_once(h->q.base, -1, EV_TIMEOUT, on_timer, &timed_work[i], &tv);
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static void test_event_loop(void **state)
{
	struct harness *h = harness_new(ARRAY_LEN(timed_work), 4);
	struct event_base *base = event_base_new();
	struct event *guard;
	struct timeval ten_seconds = { 10, 0 };

	(void)state;
	assert_non_null(base);
	/* A pending event keeps the loop running: only the queue stops it. */
	guard = event_new(base, -1, EV_PERSIST, on_guard, base);
	assert_non_null(guard);
	assert_int_equal(event_add(guard, &ten_seconds), 0);
	h->q.base = base;
	h->q.start = start_timed;
	assert_int_equal(domain_queue_start(&h->q), 0);
	assert_false(domain_queue_complete(&h->q));
	assert_int_equal(event_base_dispatch(base), 0);
	assert_true(event_base_got_break(base));
	assert_false(event_base_got_exit(base));
	assert_true(domain_queue_complete(&h->q));
	assert_int_equal(h->ready_count, ARRAY_LEN(timed_work));
	assert_int_equal(h->max_running, 4);
	for (size_t i = 0; i < ARRAY_LEN(timed_work); i++)
		assert_ptr_equal(h->ready_result[i], &h->done_token[i]);
	event_free(guard);
	harness_free(h);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_concurrency_bound),
		cmocka_unit_test(test_start_fails),
		cmocka_unit_test(test_all_fail),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_stall_without_failed),
		cmocka_unit_test(test_synchronous),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_concurrency_zero),
		cmocka_unit_test(test_no_domains),
		cmocka_unit_test(test_loopbreak),
		cmocka_unit_test(test_loopbreak_on_stall),
		cmocka_unit_test(test_event_loop),
	};

	return cmocka_run_group_tests_name("domain_queue", tests, NULL, NULL);
}
