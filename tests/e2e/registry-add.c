/*
 * registry-add.c - add hosted domains to a registry through
 * lib/io/domain_registry.c (mode testing, one mx), for tests/e2e/test-acme.
 *
 *   registry-add REGISTRY DOMAIN...
 */
#include <stdio.h>
#include <time.h>

#include "domain_registry.h"

int main(int argc, char **argv)
{
	struct domain_registry *registry;
	char why[512];
	char *mx[] = { "mx.example.net" };

	if (argc < 3) {
		fprintf(stderr, "usage: registry-add REGISTRY DOMAIN...\n");
		return 2;
	}
	if (domain_registry_open(argv[1], &registry, why, sizeof(why)) != 0) {
		fprintf(stderr, "registry-add: %s\n", why);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		struct hosted_domain domain = {
			.mode = MTASTS_MODE_TESTING, .mx = mx, .mx_count = 1, .max_age = 86400,
		};

		snprintf(domain.name, sizeof(domain.name), "%s", argv[i]);
		if (domain_registry_add(registry, &domain, time(NULL), why, sizeof(why)) != 0) {
			fprintf(stderr, "registry-add: %s\n", why);
			domain_registry_close(registry);
			return 1;
		}
	}
	domain_registry_close(registry);
	return 0;
}
