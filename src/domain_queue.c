/*
 * domain_queue.c - bounded concurrency over a list of domains, results in
 * argument order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "domain_queue.h"

/*
 * Work may finish inside its start function (an invalid name is known at
 * once); the loop below then goes on rather than recursing once a domain.
 */
static void start_more(struct domain_queue *q)
{
	if (q->starting)
		return;
	q->starting = true;
	while (q->next < q->count && q->running < q->concurrency) {
		struct domain_slot *slot = malloc(sizeof(*slot));

		if (slot == NULL)
			return;
		slot->queue = q;
		slot->index = q->next++;
		q->running++;
		if (q->start(q->ctx, q->domains[slot->index], slot) != 0) {
			fprintf(stderr, "mtasts: %s: cannot start\n", q->domains[slot->index]);
			q->running--;
			free(slot);
			break;
		}
	}
	q->starting = false;
}

int domain_queue_start(struct domain_queue *q)
{
	if ((q->results = calloc(q->count, sizeof(*q->results))) == NULL)
		return -1;
	start_more(q);
	return 0;
}

void domain_queue_done(struct domain_slot *slot, void *result)
{
	struct domain_queue *q = slot->queue;

	q->results[slot->index] = result;
	q->running--;
	q->done++;
	free(slot);
	while (q->delivered < q->count && q->results[q->delivered] != NULL) {
		q->ready(q->ctx, q->delivered, q->results[q->delivered]);
		q->delivered++;
	}
	if (q->progress != NULL)
		q->progress(q->ctx, q->done, q->running);
	start_more(q);
}
