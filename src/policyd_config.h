/*
 * policyd_config.h - the settings of `mtasts policyd`, read from the YAML
 * file of postfix-mta-sts-resolver (/etc/mta-sts-daemon.yml) and a few keys
 * of mtasts's own.
 *
 * SYNOPSIS
 *	struct policyd_config config;
 *	char why[POLICYD_WHY_SIZE];
 *
 *	if (policyd_config_load(POLICYD_CONFIG_DEFAULT_PATH, &config, why,
 *				sizeof(why)) != 0)
 *		fatal("%s", why);
 *	zone = policyd_config_zone(&config, name, name_len);
 *	...
 *	policyd_config_release(&config);
 *
 * DESCRIPTION
 *	A file that postfix-mta-sts-resolver accepts means the same here: the
 *	keys, their types and their defaults are the peer's (version 1.1.2, the
 *	one Debian 12 ships, and the keys added up to 1.5.0: the postgres cache
 *	and a zone's tlsrpt).  The reader is stricter than the peer, which
 *	takes any YAML and fails later, or never: an unknown key, a duplicate
 *	key, a value of the wrong type (a quoted "8461" where a number goes)
 *	or out of its bounds is an error naming the key, its line and column.
 *
 *	Scalars are resolved as the peer's YAML 1.1 loader does: true, yes, on
 *	(any of three cases) are booleans, 0666 is octal, 1_000 is a thousand,
 *	a quoted scalar is always a string, and ~, null or nothing is null.
 *	Anchors and aliases are taken; merge keys (<<) are not.  A null
 *	section (a "zones:" with all its zones commented out) is an empty one,
 *	where the peer would crash; a null scalar is an error, except for the
 *	keys that are optional (path, mode, ca_file, user, metrics).
 *
 *	Each zone of "zones" starts from the built-in defaults, not from
 *	default_zone: so does the peer.
 *
 * DIAGNOSTICS
 *	policyd_config_parse() and policyd_config_load() return 0, or -1 with
 *	one sentence in why: "LINE:COLUMN: what" (lines and columns from 1),
 *	preceded by "PATH:" when read from a file; ret is then untouched.
 */
#ifndef MTASTS_POLICYD_CONFIG_H
#define MTASTS_POLICYD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * mtasts's own place; the peer's /etc/mta-sts-daemon.yml is read with
 * --config (the Debian package of the peer owns that file).
 */
#define POLICYD_CONFIG_DEFAULT_PATH "/etc/mtasts/policyd.yml"

/* Limits on what is read, each an error with its number when passed. */
#define POLICYD_CONFIG_SIZE_MAX (1024 * 1024)	/* octets of the file */
#define POLICYD_CONFIG_DEPTH_MAX 16		/* nested collections */
#define POLICYD_CONFIG_NODES_MAX 100000		/* scalars and collections */
#define POLICYD_CONFIG_ANCHORS_MAX 256
#define POLICYD_CONFIG_STRING_MAX 4096		/* octets of one scalar */
#define POLICYD_CONFIG_ZONES_MAX 1000
#define POLICYD_ZONE_NAME_MAX 255		/* octets of a map name */
#define POLICYD_DNS_SERVERS_MAX 8
#define POLICYD_HOST_MAX 255

#define POLICYD_WHY_SIZE 512			/* enough for any sentence */

enum policyd_cache_type {
	POLICYD_CACHE_INTERNAL,
	POLICYD_CACHE_SQLITE,
	POLICYD_CACHE_REDIS,
	POLICYD_CACHE_POSTGRES,
};

/*
 * What to answer for a domain whose MX hosts have DNSSEC-signed TLSA
 * records: "secure" all the same (none), "dane" (Postfix tries DANE, and
 * RFC 8461 section 2 lets DANE take precedence), or "dane-only".
 */
enum policyd_dane {
	POLICYD_DANE_NONE,
	POLICYD_DANE_DANE,
	POLICYD_DANE_ONLY,
};

/* How replies are made for one socketmap name. */
struct policyd_zone {
	char *name;		/* the map name; NULL for default_zone */
	double timeout;		/* seconds for the DNS and HTTPS requests */
	bool strict_testing;	/* enforce policies in mode testing */
	bool require_sni;	/* "servername=hostname" (also key servername) */
	bool tlsrpt;		/* the TLSRPT attributes of Postfix 3.10 */
	bool mx_host_pattern;	/* mx_host_pattern= attributes (with tlsrpt) */
	bool tlsrpt_given;	/* set in the file; else it follows Postfix's version */
	bool mx_host_pattern_given;
	bool fail_closed;	/* TEMP, not NOTFOUND, when no policy is known */
	enum policyd_dane dane;
	bool dane_fail_closed;	/* TEMP when the DANE lookup fails for now */
	char *testing_level;	/* with tlsrpt: "may", "encrypt", "dane"; or NULL */
};

struct policyd_cache {
	enum policyd_cache_type type;
	unsigned cache_size;		/* internal: entries */
	char *filename;			/* sqlite: the database */
	unsigned threads;		/* sqlite: connections; 0: one a CPU */
	double timeout;			/* sqlite, postgres: seconds */
	char *url;			/* redis: redis://... */
	unsigned max_connections;	/* redis: 0 for the client's default */
	double socket_timeout;		/* redis: seconds */
	double socket_connect_timeout;	/* redis: seconds */
	char *dsn;			/* postgres: the connection string */
};

struct policyd_proactive {
	bool enabled;
	unsigned interval;		/* seconds between two rounds */
	unsigned concurrency_limit;	/* domains refreshed at once */
	double grace_ratio;		/* skip if age < interval / grace_ratio */
};

struct policyd_config {
	char host[POLICYD_HOST_MAX + 1];	/* TCP listening address or name */
	unsigned port;
	char *path;			/* UNIX socket instead of host:port; or NULL */
	int mode;			/* the socket's file mode; -1: the default */
	bool reuse_port;
	double shutdown_timeout;	/* seconds left to clients at exit */
	double cache_grace;		/* seconds a cached policy is not refreshed */
	struct policyd_cache cache;
	struct policyd_proactive proactive;
	struct policyd_zone default_zone;
	struct policyd_zone *zones;	/* sorted by name */
	size_t zone_count;
	/* mtasts's own */
	char *ca_file;			/* NULL: the system's trust store */
	char *dns_servers[POLICYD_DNS_SERVERS_MAX];	/* none: resolv.conf */
	size_t dns_server_count;
	char *user;			/* to run as after binding; NULL: stay */
	char *metrics;			/* "ADDR:PORT" to serve metrics on; or NULL */
	double no_policy_ttl;		/* seconds "no policy" is cached */
	double failure_ttl;		/* seconds a failed discovery is cached */
	double refetch_interval;	/* refetch the body at least this often,
					 * even when the TXT id is unchanged */
};

/* Every setting at its default: a file with nothing in it. */
void policyd_config_defaults(struct policyd_config *config);

/*
 * Read the YAML text[0..len) (it need not end in NUL) into ret; on error
 * -1 with the sentence in why and ret untouched.  ret is released with
 * policyd_config_release().
 */
int policyd_config_parse(const char *text, size_t len, struct policyd_config *ret,
			 char *why, size_t why_size);

/* policyd_config_parse() of the file at path, at most SIZE_MAX octets. */
int policyd_config_load(const char *path, struct policyd_config *ret, char *why,
			size_t why_size);

/* Free what config holds and leave it at its defaults; NULL is a no-op. */
void policyd_config_release(struct policyd_config *config);

/*
 * The zone for a socketmap request's map name name[0..len), the first word
 * of the request: the zone of that exact name (case matters), or else the
 * default zone, as the peer does.  Never NULL.
 */
const struct policyd_zone *policyd_config_zone(const struct policyd_config *config,
					       const char *name, size_t len);

/*
 * Turn tlsrpt (and mx_host_pattern) on in every zone that does not set
 * tlsrpt itself: for a Postfix of version 3.10 or later, which takes them.
 */
void policyd_config_default_tlsrpt(struct policyd_config *config, bool on);

/*
 * Whether the version string mail_version of Postfix ("3.10.1", "3.7.11")
 * is 3.10 or later.
 */
bool policyd_postfix_has_tlsrpt(const char *mail_version);

const char *policyd_cache_type_name(enum policyd_cache_type type);
const char *policyd_dane_name(enum policyd_dane dane);

#endif
