/*
 * domain_queue.c - bounded concurrency over a list of domains, results in
 * argument order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "domain_queue.h"

static void deliver(struct domain_queue *q)
{
	while (q->delivered < q->count && q->results[q->delivered] != NULL) {
		void *result = q->results[q->delivered];

		q->results[q->delivered++] = NULL;
		q->ready(q->ctx, q->delivered - 1, result);
	}
	if (q->delivered == q->count && q->base != NULL)
		event_base_loopbreak(q->base);
}

/* A domain whose work could not start still gets its (failure) result. */
static void start_failed(struct domain_queue *q, size_t index, int err)
{
	void *result = q->failed != NULL ? q->failed(q->ctx, q->domains[index], err) : NULL;

	if (result == NULL) {
		fprintf(stderr, "mtasts: %s: cannot start: %s; stopping\n",
			q->domains[index], strerror(-err));
		q->stalled = true;
		if (q->base != NULL)
			event_base_loopbreak(q->base);
		return;
	}
	q->results[index] = result;
	q->done++;
	deliver(q);
	if (q->progress != NULL)
		q->progress(q->ctx, q->done, q->running);
}

/*
 * Work may finish inside its start function (an invalid name is known at
 * once); the loop below then goes on rather than recursing once a domain.
 */
static void start_more(struct domain_queue *q)
{
	if (q->starting)
		return;
	q->starting = true;
	while (!q->stalled && q->next < q->count && q->running < q->concurrency) {
		struct domain_slot *slot = malloc(sizeof(*slot));
		size_t index = q->next++;
		int rc;

		if (slot == NULL) {
			start_failed(q, index, -ENOMEM);
			continue;
		}
		slot->queue = q;
		slot->index = index;
		q->running++;
		if ((rc = q->start(q->ctx, q->domains[index], slot)) != 0) {
			q->running--;
			free(slot);
			start_failed(q, index, rc);
		}
	}
	q->starting = false;
}

int domain_queue_start(struct domain_queue *q)
{
	if ((q->results = calloc(q->count > 0 ? q->count : 1, sizeof(*q->results))) == NULL)
		return -1;
	if (q->concurrency == 0)
		q->concurrency = 1;
	start_more(q);
	if (q->delivered == q->count && q->base != NULL)
		event_base_loopbreak(q->base);
	return 0;
}

void domain_queue_done(struct domain_slot *slot, void *result)
{
	struct domain_queue *q = slot->queue;

	q->results[slot->index] = result;
	q->running--;
	q->done++;
	free(slot);
	deliver(q);
	if (q->progress != NULL)
		q->progress(q->ctx, q->done, q->running);
	start_more(q);
}

bool domain_queue_complete(const struct domain_queue *q)
{
	return !q->stalled && q->delivered == q->count;
}
