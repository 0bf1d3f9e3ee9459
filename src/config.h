/*
 * config.h - settings shared by the network commands (fetch, check), from
 * a configuration file and then the command line.
 */
#ifndef MTASTS_CONFIG_H
#define MTASTS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DNS_SERVERS_MAX 8
#define CONFIG_DEFAULT_PATH "/etc/mtasts/mtasts.conf"

struct net_config {
	const char *dns_servers[CONFIG_DNS_SERVERS_MAX];
	size_t dns_server_count;
	char *owned[CONFIG_DNS_SERVERS_MAX + 4];	/* strings read from a file */
	size_t owned_count;
	const char *ca_file;
	const char *proxy;
	unsigned timeout_ms;		/* whole HTTPS fetch */
	unsigned connect_timeout_ms;
	unsigned dns_timeout_ms;	/* per DNS try */
	unsigned concurrency;
};

void net_config_defaults(struct net_config *config);
void net_config_release(struct net_config *config);

/*
 * Read "key value" lines ('#' starts a comment).  A missing file is an
 * error only when required.  On error writes a sentence naming the file
 * and line to why and returns false.
 */
bool net_config_read(struct net_config *config, const char *path, bool required,
		     char *why, size_t why_size);

/* Set one key from text; false with a sentence in why when invalid. */
bool net_config_set(struct net_config *config, const char *key, const char *value,
		    bool copy, char *why, size_t why_size);

#endif
