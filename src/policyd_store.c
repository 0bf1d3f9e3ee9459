/*
 * policyd_store.c - see policyd_store.h.
 */
#include <stdio.h>

#include "policyd_store.h"

int policyd_store_open(const struct policyd_config *config,
		       struct policy_cache **ret_store, char *why, size_t why_size)
{
	const struct policyd_cache *c = &config->cache;
	char err[POLICY_CACHE_ERROR_MAX];
	int rc;

	*ret_store = NULL;
	switch (c->type) {
	case POLICYD_CACHE_INTERNAL:
		return 0;
	case POLICYD_CACHE_SQLITE:
		rc = policy_cache_sqlite_open(c->filename, (unsigned)(c->timeout * 1000),
					      ret_store, err, sizeof(err));
		break;
	case POLICYD_CACHE_REDIS: {
		struct policy_cache_redis_options opt = {
			.url = c->url,
			.socket_timeout = c->socket_timeout,
			.socket_connect_timeout = c->socket_connect_timeout,
		};

		rc = policy_cache_redis_open(&opt, ret_store, err, sizeof(err));
		break;
	}
	case POLICYD_CACHE_POSTGRES:
		rc = policy_cache_postgres_open(c->dsn, c->timeout, ret_store, err, sizeof(err));
		break;
	default:
		snprintf(err, sizeof(err), "unknown cache type");
		rc = -1;
		break;
	}
	if (rc != 0) {
		snprintf(why, why_size, "cache (%s): %s", policyd_cache_type_name(c->type), err);
		return -1;
	}
	return 0;
}
