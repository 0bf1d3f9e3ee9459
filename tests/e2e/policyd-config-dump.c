/*
 * policyd-config-dump.c - read a policyd configuration file with the
 * reader of `mtasts policyd` (src/policyd_config.c) and print what it holds,
 * one "key=value" a line, so that a test can hold the file to what the
 * package around it promises (the user, the cache, the listener).
 *
 * usage: policyd-config-dump FILE
 *	Exit status 0 and the settings on standard output; 1 and the reader's
 *	sentence on standard error when the file is refused.
 */
#include <stdio.h>

#include "policyd_config.h"

static void print_settings(const struct policyd_config *c)
{
	printf("host=%s\n", c->host);
	printf("port=%u\n", c->port);
	printf("path=%s\n", c->path != NULL ? c->path : "");
	printf("shutdown_timeout=%g\n", c->shutdown_timeout);
	printf("cache.type=%s\n", policyd_cache_type_name(c->cache.type));
	printf("cache.filename=%s\n", c->cache.filename != NULL ? c->cache.filename : "");
	printf("user=%s\n", c->user != NULL ? c->user : "");
	printf("zones=%zu\n", c->zone_count);
}

int main(int argc, char **argv)
{
	struct policyd_config config;
	char why[POLICYD_WHY_SIZE];

	if (argc != 2) {
		fprintf(stderr, "usage: policyd-config-dump FILE\n");
		return 2;
	}
	if (policyd_config_load(argv[1], &config, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	print_settings(&config);
	policyd_config_release(&config);
	return 0;
}
