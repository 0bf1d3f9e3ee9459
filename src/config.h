/*
 * config.h - settings shared by the network commands (fetch, check), from
 * a configuration file and then the command line.
 */
#ifndef MTASTS_CONFIG_H
#define MTASTS_CONFIG_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "probe.h"
#include "resolver.h"

#define CONFIG_DNS_SERVERS_MAX 8
#define CONFIG_DEFAULT_PATH "/etc/mtasts/mtasts.conf"

struct net_config {
	const char *dns_servers[CONFIG_DNS_SERVERS_MAX];
	size_t dns_server_count;
	char *owned[CONFIG_DNS_SERVERS_MAX + 4];	/* strings read from a file */
	size_t owned_count;
	const char *ca_file;
	const char *proxy;
	unsigned timeout_ms;		/* a domain's whole discovery or check */
	unsigned connect_timeout_ms;	/* one TCP connect (and TLS for probes) */
	unsigned dns_timeout_ms;	/* one DNS try of one server */
	unsigned concurrency;
	bool concurrency_given;		/* set by the user, not the default */
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

/*
 * Set one key from text; false with a sentence in why, "KEY: ...", when the
 * key is unknown or the value invalid.  dns-server takes an IP address with
 * an optional port: ADDR, IPV4:PORT, [IPV6] or [IPV6]:PORT, a port from 1 to
 * 65535 (no host name: the resolver could not be found without a
 * resolver); the timeouts decimal seconds from 0.001 to 3600 ("30", "2.5");
 * concurrency a whole number from 1 to 10000.
 */
bool net_config_set(struct net_config *config, const char *key, const char *value,
		    bool copy, char *why, size_t why_size);

/*
 * The short options of the network commands: -j, -h and -f FILE.  Their
 * getopt_long() pass and net_config_load()'s must agree on which take a
 * value.
 */
#define NET_SHORT_OPTIONS "jhf:"

/*
 * The first pass over argv: read the file named by the option whose code is
 * config_code, or the default file when it exists.  False with a sentence
 * in why when the file is unreadable or wrong.  argv is not reordered, and
 * the command's getopt_long() pass that follows starts afresh.
 */
bool net_config_load(struct net_config *config, int argc, char **argv,
		     const struct option *options, int config_code,
		     char *why, size_t why_size);

/*
 * Whether argv asks for option (such as "--help") before any "--": what
 * needs no settings is answered even when the configuration is broken.
 */
bool net_config_wants(int argc, char **argv, const char *option);

/* A setting from the command line: the option's long name is the key. */
bool net_config_option(struct net_config *config, const struct option *options,
		       int code, const char *value, char *why, size_t why_size);

/* What a network command runs on: one event loop, its resolver and HTTPS client. */
struct net_session {
	struct event_base *base;
	struct resolver *resolver;
	struct http_client *http;
	struct probe_list probes;
	X509_STORE *store;		/* the one trust store, read once */
	unsigned concurrency;		/* config's, bounded by open files */
};

/*
 * Set the libraries up and open a session from config; on failure says why
 * on standard error (naming the command) and returns -1.  Raises the
 * open-files limit to its hard limit and bounds the session's concurrency
 * by it, at fds_per_domain descriptors a domain (saying so when that
 * lowers a concurrency the user asked for).
 * net_session_close() accepts a session that failed to open.
 */
int net_session_open(struct net_session *session, const struct net_config *config,
		     const char *command, unsigned fds_per_domain);
void net_session_close(struct net_session *session);

#endif
