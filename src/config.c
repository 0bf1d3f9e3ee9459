/*
 * config.c - the network commands' settings: defaults, a "key value" file,
 * and the same keys from the command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <ares.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <mtasts/policy.h>
#include <mtasts/version.h>

#include "cli.h"
#include "config.h"

#define CONFIG_LINE_MAX 1024
#define CONFIG_LINES_MAX 1000
#define DNS_ROUNDS 2		/* tries of each DNS lookup over all servers */
#define FDS_RESERVED 10		/* descriptors not for domains */
#define FDS_MOST 1048576
#define CONFIG_CONCURRENCY_MAX 10000

/* The keys of net_config_set(), for a guess at a mistyped one. */
static const char *const config_keys[] = {
	"dns-server", "ca-file", "proxy", "timeout", "connect-timeout", "dns-timeout",
	"concurrency",
};

void net_config_defaults(struct net_config *c)
{
	memset(c, 0, sizeof(*c));
	/* RFC 8461 3.3 leaves the numbers to senders; a minute is generous. */
	c->timeout_ms = 60000;
	c->connect_timeout_ms = 10000;
	c->dns_timeout_ms = 5000;
	c->concurrency = 64;
}

void net_config_release(struct net_config *c)
{
	for (size_t i = 0; i < c->owned_count; i++)
		free(c->owned[i]);
	c->owned_count = 0;
}

/*
 * Seconds written in decimal, "30" or "2.5": no sign, exponent, hexadecimal
 * or white space (which strtod would take), from a millisecond to an hour.
 */
static bool parse_seconds(const char *value, unsigned *ret_ms)
{
	size_t digits = strspn(value, "0123456789"), fraction = 0;
	double seconds;

	if (value[digits] == '.')
		fraction = strspn(value + digits + 1, "0123456789");
	if (digits == 0 || digits + (fraction > 0 ? fraction + 1 : 0) != strlen(value))
		return false;
	seconds = strtod(value, NULL);
	if (!(seconds >= 0.001 && seconds <= 3600))
		return false;
	*ret_ms = (unsigned)(seconds * 1000 + 0.5);
	return true;
}

/* A whole number written in decimal digits only, from 1 to most. */
static bool parse_count(const char *value, unsigned most, unsigned *ret_n)
{
	size_t digits = strspn(value, "0123456789");
	unsigned long n;

	if (digits == 0 || value[digits] != '\0' || digits > 9)
		return false;
	n = strtoul(value, NULL, 10);
	if (n < 1 || n > most)
		return false;
	*ret_n = (unsigned)n;
	return true;
}

/* A value as it may be shown in a message: escaped, at most 60 octets. */
static void shown(const char *value, char *buf, size_t size)
{
	text_shown(value, buf, size, 60);
}

/* The port after "ADDR:" or "[ADDR]:": 1 to 65535, decimal digits only. */
static bool port_valid(const char *port, const char *value, char *why, size_t why_size)
{
	char text[80], all[80];
	unsigned number;

	if (parse_count(port, 65535, &number))
		return true;
	shown(port, text, sizeof(text));
	shown(value, all, sizeof(all));
	snprintf(why, why_size, "dns-server: the port '%s' of '%s' is not a number "
		 "from 1 to 65535", text, all);
	return false;
}

/* "[IPV6]" or "[IPV6]:PORT". */
static bool bracketed_valid(const char *value, const char *text, char *why,
			    size_t why_size)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 1];
	const char *end = strchr(value, ']');
	size_t len = end != NULL ? (size_t)(end - value - 1) : 0;

	if (end == NULL || len >= sizeof(host)) {
		snprintf(why, why_size, "dns-server: '%s' is not an IP address (an IPv6 "
			 "address is written [ADDR] or [ADDR]:PORT)", text);
		return false;
	}
	memcpy(host, value + 1, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1) {
		snprintf(why, why_size, "dns-server: '%s': brackets are for IPv6 "
			 "addresses; write an IPv4 address without them", text);
		return false;
	}
	if (inet_pton(AF_INET6, host, addr) != 1) {
		snprintf(why, why_size, "dns-server: '%s' is not an IP address: no IPv6 "
			 "address between the brackets", text);
		return false;
	}
	if (end[1] == '\0')
		return true;
	if (end[1] != ':') {
		snprintf(why, why_size, "dns-server: '%s': only \":PORT\" may follow "
			 "\"]\"", text);
		return false;
	}
	return port_valid(end + 2, value, why, why_size);
}

/*
 * A resolver's address as c-ares takes it: "ADDR" (IPv4 or IPv6),
 * "IPV4:PORT", "[IPV6]" or "[IPV6]:PORT".  No host name: finding the
 * resolver would take a resolver.
 */
static bool dns_server_valid(const char *value, char *why, size_t why_size)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char host[INET_ADDRSTRLEN + 1], text[80];
	const char *colon = strchr(value, ':');
	size_t len = colon != NULL ? (size_t)(colon - value) : strlen(value);

	shown(value, text, sizeof(text));
	if (value[0] == '[')
		return bracketed_valid(value, text, why, why_size);
	if (inet_pton(AF_INET6, value, addr) == 1) {
		const char *last = strrchr(value, ':');

		char before[INET6_ADDRSTRLEN + 1];
		unsigned char other[sizeof(struct in6_addr)];
		size_t head = last != NULL ? (size_t)(last - value) : 0;

		/* "::1:53" is an address, but what comes before ":53" is one too:
		 * someone may have meant a port. */
		if (head > 0 && head < sizeof(before) && last[1] != '\0' &&
		    strspn(last + 1, "0123456789") == strlen(last + 1) &&
		    strlen(last + 1) <= 5) {
			memcpy(before, value, head);
			before[head] = '\0';
			if (inet_pton(AF_INET6, before, other) == 1)
				fprintf(stderr, "mtasts: --dns-server '%s' is taken as an "
					"IPv6 address; for port %s of %s write [%s]:%s\n",
					text, last + 1, before, before, last + 1);
		}
		return true;
	}
	if (value[0] == '\0') {
		snprintf(why, why_size, "dns-server: the value is empty; give a "
			 "resolver's IP address");
		return false;
	}
	if (strchr(value, '%') != NULL) {
		snprintf(why, why_size, "dns-server: '%s': an address with a zone "
			 "(\"%%\") is not taken; give a global or loopback address", text);
		return false;
	}
	if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		snprintf(why, why_size, "dns-server: '%s' is not an IP address (an IPv6 "
			 "address with a port is written [ADDR]:PORT)", text);
		return false;
	}
	if (len < sizeof(host)) {
		memcpy(host, value, len);
		host[len] = '\0';
	}
	if (len >= sizeof(host) || inet_pton(AF_INET, host, addr) != 1) {
		snprintf(why, why_size, "dns-server: '%s' is not an IP address%s", text,
			 strspn(value, "0123456789.:") == strlen(value) ? "" :
			 " (a resolver is given by its address, such as 192.0.2.53 "
			 "or [2001:db8::53]:5353)");
		return false;
	}
	return colon == NULL || port_valid(colon + 1, value, why, why_size);
}

static const char *keep(struct net_config *c, const char *value, bool copy)
{
	char *p;

	if (!copy)
		return value;
	if (c->owned_count == sizeof(c->owned) / sizeof(c->owned[0]) ||
	    (p = strdup(value)) == NULL)
		return NULL;
	c->owned[c->owned_count++] = p;
	return p;
}

/* A wrong CA file is the user's mistake: say so before blaming a domain. */
static bool certificates_readable(const char *path)
{
	X509_STORE *store = X509_STORE_new();
	bool ok = store != NULL && X509_STORE_load_file(store, path) == 1;

	X509_STORE_free(store);
	ERR_clear_error();	/* nothing of this may colour later TLS errors */
	return ok;
}

bool net_config_set(struct net_config *c, const char *key, const char *value,
		    bool copy, char *why, size_t why_size)
{
	char text[80];
	unsigned ms;

	if (strcmp(key, "dns-server") == 0) {
		if (!dns_server_valid(value, why, why_size))
			return false;
		if (c->dns_server_count == CONFIG_DNS_SERVERS_MAX) {
			snprintf(why, why_size, "at most %d DNS servers",
				 CONFIG_DNS_SERVERS_MAX);
			return false;
		}
		if ((value = keep(c, value, copy)) == NULL)
			goto nomem;
		c->dns_servers[c->dns_server_count++] = value;
	} else if (strcmp(key, "ca-file") == 0) {
		if (!certificates_readable(value)) {
			snprintf(why, why_size, "ca-file: %s has no certificate that can "
				 "be read (PEM expected)", value);
			return false;
		}
		if ((c->ca_file = keep(c, value, copy)) == NULL)
			goto nomem;
	} else if (strcmp(key, "proxy") == 0) {
		if ((c->proxy = keep(c, value, copy)) == NULL)
			goto nomem;
	} else if (strcmp(key, "timeout") == 0 || strcmp(key, "connect-timeout") == 0 ||
		   strcmp(key, "dns-timeout") == 0) {
		if (!parse_seconds(value, &ms)) {
			shown(value, text, sizeof(text));
			snprintf(why, why_size, "%s: '%s' is not a number of seconds from "
				 "0.001 to 3600, such as 30 or 2.5", key, text);
			return false;
		}
		if (key[0] == 't')
			c->timeout_ms = ms;
		else if (key[0] == 'c')
			c->connect_timeout_ms = ms;
		else
			c->dns_timeout_ms = ms;
	} else if (strcmp(key, "concurrency") == 0) {
		if (!parse_count(value, CONFIG_CONCURRENCY_MAX, &c->concurrency)) {
			shown(value, text, sizeof(text));
			snprintf(why, why_size, "concurrency: '%s' is not a whole number "
				 "from 1 to %u", text, CONFIG_CONCURRENCY_MAX);
			return false;
		}
		c->concurrency_given = true;
	} else {
		const char *near = suggest_word(config_keys, sizeof(config_keys) /
						sizeof(config_keys[0]), key);

		shown(key, text, sizeof(text));
		snprintf(why, why_size, "unknown setting '%s'%s%s%s", text,
			 near != NULL ? "; did you mean '" : "", near != NULL ? near : "",
			 near != NULL ? "'?" : "");
		return false;
	}
	return true;
nomem:
	snprintf(why, why_size, "%s: too many settings or out of memory", key);
	return false;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
			   end[-1] == '\r'))
		*--end = '\0';
	return s;
}

bool net_config_read(struct net_config *c, const char *path, bool required,
		     char *why, size_t why_size)
{
	char line[CONFIG_LINE_MAX + 2], message[256];
	unsigned number = 0;
	FILE *f = fopen(path, "r");
	bool ok = true;

	if (f == NULL) {
		if (!required && errno == ENOENT)
			return true;
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		char *key, *value;

		if (++number > CONFIG_LINES_MAX || strchr(line, '\n') == NULL) {
			if (!feof(f)) {
				snprintf(why, why_size, "%s:%u: line too long or too "
					 "many lines", path, number);
				ok = false;
				break;
			}
		}
		if ((key = strchr(line, '#')) != NULL)
			*key = '\0';
		key = trim(line);
		if (*key == '\0')
			continue;
		value = key + strcspn(key, " \t=");
		if (*value != '\0')
			*value++ = '\0';
		value = trim(value);
		if (*value == '=')
			value = trim(value + 1);
		if (*value == '\0') {
			snprintf(why, why_size, "%s:%u: \"%s\" has no value", path,
				 number, key);
			ok = false;
		} else if (!net_config_set(c, key, value, true, message, sizeof(message))) {
			snprintf(why, why_size, "%s:%u: %s", path, number, message);
			ok = false;
		}
	}
	fclose(f);
	return ok;
}

bool net_config_load(struct net_config *config, int argc, char **argv,
		     const struct option *options, int config_code,
		     char *why, size_t why_size)
{
	const char *path = NULL;
	int c;

	/*
	 * In order ("-"): argv is left as it is for the command's own pass,
	 * which must see an option's value after the option.  optind 0 makes
	 * getopt start afresh, in its usual order, for that pass.
	 */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "-" NET_SHORT_OPTIONS, options, NULL)) != -1)
		if (c == config_code)
			path = optarg;
	optind = 0;
	return net_config_read(config, path != NULL ? path : CONFIG_DEFAULT_PATH,
			       path != NULL, why, why_size);
}

bool net_config_wants(int argc, char **argv, const char *option)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], option) == 0)
			return true;
	return false;
}

bool net_config_option(struct net_config *config, const struct option *options,
		       int code, const char *value, char *why, size_t why_size)
{
	for (const struct option *o = options; o->name != NULL; o++)
		if (o->val == code)
			return net_config_set(config, o->name, value, false, why, why_size);
	snprintf(why, why_size, "unknown option");
	return false;
}

/*
 * As many descriptors as the hard limit allows, and as many domains at once
 * as they are enough for: running out would be blamed on healthy domains.
 */
static int bound_concurrency(const struct net_config *config, const char *command,
			     unsigned fds_per_domain, unsigned *ret_concurrency)
{
	struct rlimit rl;
	unsigned long long usable, most;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		*ret_concurrency = config->concurrency;
		return 0;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		/* An "unlimited" hard limit may still exceed what the kernel allows. */
		rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FDS_MOST ?
			      FDS_MOST : rl.rlim_max;
		struct rlimit raised = { want, rl.rlim_max };

		if (want > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = want;
	}
	/* Standard streams, the event loop, the resolver's sockets, curl's own. */
	if (rl.rlim_cur < FDS_RESERVED + fds_per_domain) {
		fprintf(stderr, "mtasts %s: the open-files limit is %llu; at least %u "
			"are needed (raise it with ulimit -n)\n", command,
			(unsigned long long)rl.rlim_cur, FDS_RESERVED + fds_per_domain);
		return -1;
	}
	usable = rl.rlim_cur - FDS_RESERVED;
	most = usable / fds_per_domain;
	if (most >= config->concurrency) {
		*ret_concurrency = config->concurrency;
		return 0;
	}
	if (config->concurrency_given)
		fprintf(stderr, "mtasts %s: at most %llu domain%s at once: the open-files "
			"limit is %llu\n", command, most, most == 1 ? "" : "s",
			(unsigned long long)rl.rlim_cur);
	*ret_concurrency = (unsigned)most;
	return 0;
}

int net_session_open(struct net_session *session, const struct net_config *config,
		     const char *command, unsigned fds_per_domain)
{
	struct resolver_config rc = {
		.servers = config->dns_servers,
		.server_count = config->dns_server_count,
		.timeout_ms = config->dns_timeout_ms,
		.tries = DNS_ROUNDS,
	};
	struct http_client_config hc = {
		.ca_file = config->ca_file,
		.proxy = config->proxy,
		.user_agent = "mtasts/" MTASTS_VERSION,
		.connect_timeout_ms = config->connect_timeout_ms,
		/* Each request gets what is left of its domain's time limit. */
		.total_timeout_ms = config->timeout_ms,
		.max_body = MTASTS_POLICY_BODY_MAX,
	};

	memset(session, 0, sizeof(*session));
	if (bound_concurrency(config, command, fds_per_domain > 0 ? fds_per_domain : 1,
			      &session->concurrency) != 0)
		return -1;
	/* A peer closing a TLS connection must not kill the program. */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ares_library_init(ARES_LIB_INIT_ALL);
	/* Read once, shared by the HTTPS client and every probe. */
	if ((session->store = tls_verify_store_new(config->ca_file)) == NULL) {
		fprintf(stderr, "mtasts %s: cannot read the trust store (%s)\n", command,
			config->ca_file != NULL ? config->ca_file : "the system's");
		return -1;
	}
	hc.store = session->store;
	if ((session->base = event_base_new()) == NULL) {
		fprintf(stderr, "mtasts %s: cannot set up the event loop\n", command);
		return -1;
	}
	if (resolver_new(session->base, &rc, &session->resolver) != 0) {
		fprintf(stderr, "mtasts %s: cannot set up the resolver (check "
			"--dns-server and /etc/resolv.conf)\n", command);
		return -1;
	}
	if (http_client_new(session->base, &hc, &session->http) != 0) {
		fprintf(stderr, "mtasts %s: cannot set up the HTTPS client\n", command);
		return -1;
	}
	return 0;
}

void net_session_close(struct net_session *session)
{
	probe_list_cancel(&session->probes);
	http_client_free(session->http);
	resolver_free(session->resolver);
	X509_STORE_free(session->store);
	if (session->base != NULL)
		event_base_free(session->base);
	memset(session, 0, sizeof(*session));
	ares_library_cleanup();
	curl_global_cleanup();
}
