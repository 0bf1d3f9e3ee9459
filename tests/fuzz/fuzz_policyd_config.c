/*
 * fuzz_policyd_config.c - fuzz target for the YAML settings of `mtasts
 * policyd` (policyd_config_parse, over libyaml).
 *
 * Any bytes are a file.  A rejection must say why, as "LINE:COLUMN: ...",
 * and leave the result untouched; an accepted file must hold values within
 * their bounds, zones sorted by distinct names, each found by its name.
 */
#include <stdio.h>

#include "policyd_config.h"

#include "fuzz.h"

static void check_why(const char *why, size_t size)
{
	unsigned line, column;
	int end = 0;

	if (memchr(why, '\0', size) == NULL || why[0] == '\0')
		abort();
	if (sscanf(why, "%u:%u: %n", &line, &column, &end) != 2 || end == 0 ||
	    line == 0 || column == 0 || why[end] == '\0')
		abort();
}

static void check_zone(const struct policyd_zone *z)
{
	if (!(z->timeout >= 0.001 && z->timeout <= 3600) ||
	    (z->mx_host_pattern && !z->tlsrpt) || policyd_dane_name(z->dane)[0] == 'u')
		abort();
}

static void check_config(const struct policyd_config *c)
{
	if (c->port < 1 || c->port > 65535 || c->mode > 07777 || c->mode < -1 ||
	    c->host[0] == '\0' || c->zone_count > POLICYD_CONFIG_ZONES_MAX ||
	    c->dns_server_count > POLICYD_DNS_SERVERS_MAX ||
	    strcmp(policyd_cache_type_name(c->cache.type), "unknown") == 0)
		abort();
	if ((c->cache.type == POLICYD_CACHE_SQLITE && c->cache.filename == NULL) ||
	    (c->cache.type == POLICYD_CACHE_REDIS && c->cache.url == NULL) ||
	    (c->cache.type == POLICYD_CACHE_POSTGRES && c->cache.dsn == NULL))
		abort();
	check_zone(&c->default_zone);
	if (c->default_zone.name != NULL ||
	    policyd_config_zone(c, NULL, 0) != &c->default_zone)
		abort();
	for (size_t i = 0; i < c->zone_count; i++) {
		const struct policyd_zone *z = &c->zones[i];

		check_zone(z);
		if (i > 0 && strcmp(c->zones[i - 1].name, z->name) >= 0)
			abort();
		if (policyd_config_zone(c, z->name, strlen(z->name)) != z)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policyd_config c;
	char why[POLICYD_WHY_SIZE];
	int rc;

	memset(&c, 0xa5, sizeof(c));
	memset(why, 0, sizeof(why));
	rc = policyd_config_parse((const char *)data, size, &c, why, sizeof(why));
	if (rc != 0) {
		check_why(why, sizeof(why));
		if (((unsigned char *)&c)[0] != 0xa5)
			abort();
		return 0;
	}
	if (rc != 0 || why[0] != '\0')
		abort();
	check_config(&c);
	policyd_config_release(&c);
	return 0;
}
