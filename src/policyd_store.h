/*
 * policyd_store.h - the shared cache store a policyd configuration names
 * (cache.type sqlite, redis or postgres), opened the same way by the daemon
 * and by `mtasts policyd cache`.
 */
#ifndef MTASTS_POLICYD_STORE_H
#define MTASTS_POLICYD_STORE_H

#include <stddef.h>

#include "policy_cache.h"
#include "policyd_config.h"

/*
 * Open the store of config->cache into *ret_store; NULL for type internal
 * (the daemon's memory alone).  On failure -1 and a sentence in why.
 */
int policyd_store_open(const struct policyd_config *config,
		       struct policy_cache **ret_store, char *why, size_t why_size);

#endif
