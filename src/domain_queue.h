/*
 * domain_queue.h - run one piece of work per domain, at most `concurrency`
 * at a time on the event loop, and hand the results back in the order the
 * domains were given, each as soon as those before it are in.
 */
#ifndef MTASTS_DOMAIN_QUEUE_H
#define MTASTS_DOMAIN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct domain_queue;

/* One domain's work in progress: pass it as the work's callback argument. */
struct domain_slot {
	struct domain_queue *queue;
	size_t index;
};

struct domain_queue {
	char **domains;
	size_t count;
	unsigned concurrency;
	void *ctx;
	/* Start the work for slot->index; 0, or a negative errno. */
	int (*start)(void *ctx, const char *domain, struct domain_slot *slot);
	/*
	 * The result for a domain whose work could not start (err is a
	 * negative errno): every domain gets a result, so the queue never
	 * stalls.  NULL only when even that cannot be had; the queue then
	 * stops starting and says so.
	 */
	void *(*failed)(void *ctx, const char *domain, int err);
	/* When the last result is delivered, this loop is told to stop. */
	struct event_base *base;
	/*
	 * A result, in domain order: ready() owns it from then on (prints and
	 * frees it), so memory stays flat however many domains there are.
	 */
	void (*ready)(void *ctx, size_t index, void *result);
	/* After every result: for a progress line. */
	void (*progress)(void *ctx, size_t done, size_t running);

	void **results;			/* finished, not yet handed to ready() */
	size_t next, running, done, delivered;
	bool starting;		/* start_more is on the stack */
	bool stalled;		/* out of memory even for a failure result */
};

/* Allocate results[] and start the first domains.  -1 when out of memory. */
int domain_queue_start(struct domain_queue *queue);

/* The work of a slot is done: keep its result (never NULL), deliver, start more. */
void domain_queue_done(struct domain_slot *slot, void *result);

/* Every domain has its result (false after a stall). */
bool domain_queue_complete(const struct domain_queue *queue);

#endif
