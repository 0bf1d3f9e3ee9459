/*
 * cmd_policyd.c - mtasts policyd: the MTA-STS policy server for Postfix's
 * smtp_tls_policy_maps (socketmap), and `mtasts policyd cache` to look at
 * and flush its cache store.
 *
 * Start-up: read the configuration, read the trust store and set up the
 * resolver and HTTPS client (as root: a CA file may be root's alone), bind
 * the listeners (a low port, a socket in a root-owned directory), drop to
 * the configured user, then open the cache store as that user (so a SQLite
 * file it creates is its own), and serve.  SIGHUP reads the
 * configuration again; SIGTERM and SIGINT stop accepting, let the
 * connections finish (at most shutdown_timeout) and exit.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "daemon_log.h"
#include "policyd.h"
#include "policyd_config.h"
#include "policyd_store.h"

#define EXIT_CONFIG 78		/* sysexits.h EX_CONFIG */
#define PREWARM_MAX 1000000	/* domains in a pre-warming list */

static const char policyd_usage[] =
	"usage: mtasts policyd [OPTIONS]\n"
	"       mtasts policyd cache list|show DOMAIN|flush DOMAIN|flush --all [OPTIONS]\n"
	"\n"
	"Answer Postfix's smtp_tls_policy_maps lookups (socketmap) with the\n"
	"MTA-STS policy of each next-hop domain (RFC 8461), cached.  The\n"
	"configuration is postfix-mta-sts-resolver's YAML (mta-sts-daemon.yml).\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE      configuration (default " POLICYD_CONFIG_DEFAULT_PATH ")\n"
	"      --check-config     read the configuration, say what it sets, exit\n"
	"      --foreground       do not detach (the default under systemd)\n"
	"      --syslog           log to syslog (the default when detached)\n"
	"      --verbose          log every discovery\n"
	"      --prewarm FILE     fetch the policies of the domains in FILE at start\n"
	"                         (one a line, # comments)\n"
	"      --pid-file FILE    write the process id to FILE\n"
	"      --ca-file FILE     trust these CA certificates (PEM), not the system's\n"
	"      --dns-server ADDR[:PORT]  ask this resolver (repeatable)\n"
	"  -j, --json             (cache list, cache show) print JSON\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 stopped by a signal or done, 64 usage error, 71 a local\n"
	"problem (cannot bind, no such user, cache store unavailable), 78 the\n"
	"configuration is wrong.\n";

enum {
	OPT_CHECK_CONFIG = 256,
	OPT_FOREGROUND,
	OPT_SYSLOG,
	OPT_VERBOSE,
	OPT_PREWARM,
	OPT_PID_FILE,
	OPT_CA_FILE,
	OPT_DNS_SERVER,
	OPT_ALL,
};

static const struct option policyd_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "foreground", no_argument, NULL, OPT_FOREGROUND },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "prewarm", required_argument, NULL, OPT_PREWARM },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "dns-server", required_argument, NULL, OPT_DNS_SERVER },
	{ "json", no_argument, NULL, 'j' },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct policyd_args {
	const char *config_path;
	bool check_config;
	bool foreground;
	bool syslog;
	bool verbose;
	bool json;
	bool all;
	const char *prewarm;
	const char *pid_file;
	const char *ca_file;
	const char *dns_servers[POLICYD_DNS_SERVERS_MAX];
	size_t dns_server_count;
	int operand_count;
	char **operands;
	/* Paths made absolute: a detached daemon works from "/". */
	char config_abs[4096], prewarm_abs[4096], pid_file_abs[4096];
};

struct daemon {
	struct policyd_args *args;
	struct policyd_config config;
	struct net_session net;
	struct policy_cache *store;
	struct policyd_engine *engine;
	struct policyd_server *server;
	struct policyd_metrics metrics;
	struct policyd_metrics_server *metrics_server;
	struct event *sighup, *sigterm, *sigint, *stop_timer;
	bool stopping;
	bool postfix_tlsrpt;		/* the local Postfix takes the attributes */
};

/* ---------------------------------------------------------------- options */

static int parse_args(int argc, char **argv, struct policyd_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->config_path = POLICYD_CONFIG_DEFAULT_PATH;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:jh", policyd_options, NULL)) != -1) {
		switch (c) {
		case 'c': a->config_path = optarg; break;
		case 'j': a->json = true; break;
		case 'h': fputs(policyd_usage, stdout); return EXIT_VALID + 1000;
		case OPT_CHECK_CONFIG: a->check_config = true; break;
		case OPT_FOREGROUND: a->foreground = true; break;
		case OPT_SYSLOG: a->syslog = true; break;
		case OPT_VERBOSE: a->verbose = true; break;
		case OPT_PREWARM: a->prewarm = optarg; break;
		case OPT_PID_FILE: a->pid_file = optarg; break;
		case OPT_CA_FILE: a->ca_file = optarg; break;
		case OPT_ALL: a->all = true; break;
		case OPT_DNS_SERVER:
			if (a->dns_server_count == POLICYD_DNS_SERVERS_MAX) {
				print_usage_error(&cmd_policyd, "--dns-server: at most %d",
						  POLICYD_DNS_SERVERS_MAX);
				return EXIT_USAGE_ERROR;
			}
			a->dns_servers[a->dns_server_count++] = optarg;
			break;
		default:
			print_option_error(&cmd_policyd, policyd_options, argv[optind - 1],
					   optopt, c == ':');
			return EXIT_USAGE_ERROR;
		}
	}
	a->operand_count = argc - optind;
	a->operands = argv + optind;
	a->config_path = daemon_absolute_path(a->config_path, a->config_abs, sizeof(a->config_abs));
	a->prewarm = daemon_absolute_path(a->prewarm, a->prewarm_abs, sizeof(a->prewarm_abs));
	a->pid_file = daemon_absolute_path(a->pid_file, a->pid_file_abs, sizeof(a->pid_file_abs));
	if (a->prewarm != NULL && strcmp(a->prewarm, "-") == 0 && !a->foreground &&
	    !daemon_supervised()) {
		print_usage_error(&cmd_policyd, "--prewarm -: standard input is gone once "
				  "detached; add --foreground or give a file");
		return EXIT_USAGE_ERROR;
	}
	return EXIT_VALID;
}

/*
 * The mail_version of the Postfix on this machine, "" when there is none:
 * the TLSRPT attributes are on by default for 3.10 and later, which take
 * them (3.9 and earlier defer mail that gets them).
 */
static void postfix_version(char *out, size_t size)
{
	FILE *p = popen("postconf -h mail_version 2>/dev/null", "r");

	out[0] = '\0';
	if (p == NULL)
		return;
	if (fgets(out, (int)size, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	pclose(p);
}

static int load_config(const struct policyd_args *a, struct policyd_config *config,
		       bool *ret_postfix_tlsrpt)
{
	char why[POLICYD_WHY_SIZE], version[64];

	if (policyd_config_load(a->config_path, config, why, sizeof(why)) != 0) {
		fprintf(stderr, "mtasts policyd: %s\n", why);
		return EXIT_CONFIG;
	}
	if (ret_postfix_tlsrpt != NULL) {
		postfix_version(version, sizeof(version));
		*ret_postfix_tlsrpt = policyd_postfix_has_tlsrpt(version);
		policyd_config_default_tlsrpt(config, *ret_postfix_tlsrpt);
	}
	return EXIT_VALID;
}

/* ----------------------------------------------------------- check-config */

static void print_zone(const struct policyd_zone *z)
{
	printf("zone %s: timeout %gs, strict_testing %s, servername %s, tlsrpt %s, "
	       "mx_host_pattern %s, on failure %s, dane %s%s\n",
	       z->name != NULL ? z->name : "(default)", z->timeout,
	       z->strict_testing ? "yes" : "no", z->require_sni ? "yes" : "no",
	       z->tlsrpt ? "yes" : "no", z->mx_host_pattern ? "yes" : "no",
	       z->fail_closed ? "TEMP (fail closed)" : "NOTFOUND (fail open)",
	       policyd_dane_name(z->dane),
	       z->dane != POLICYD_DANE_NONE ? (z->dane_fail_closed ?
	       " (TEMP when DANE lookups fail)" : " (MTA-STS when DANE lookups fail)") : "");
}

static int check_config(const struct policyd_args *a, const struct policyd_config *c)
{
	if (c->path != NULL)
		printf("listen: unix:%s\n", c->path);
	else
		printf("listen: %s port %u%s\n", c->host, c->port,
		       c->reuse_port ? " (reuse_port)" : "");
	printf("cache: %s", policyd_cache_type_name(c->cache.type));
	if (c->cache.type == POLICYD_CACHE_INTERNAL)
		printf(", %u entries", c->cache.cache_size);
	else if (c->cache.type == POLICYD_CACHE_SQLITE)
		printf(", %s", c->cache.filename);
	printf("; refresh after %gs, body refetched every %gs; no policy cached %gs, "
	       "failures %gs\n", c->cache_grace, c->refetch_interval, c->no_policy_ttl,
	       c->failure_ttl);
	if (c->proactive.enabled)
		printf("proactive refresh: every %us, %u at once\n", c->proactive.interval,
		       c->proactive.concurrency_limit);
	print_zone(&c->default_zone);
	for (size_t i = 0; i < c->zone_count; i++)
		print_zone(&c->zones[i]);
	if (c->user != NULL)
		printf("user: %s\n", c->user);
	if (c->metrics != NULL)
		printf("metrics: http://%s/metrics\n", c->metrics);
	printf("%s: configuration OK\n", a->config_path);
	return EXIT_VALID;
}

/* ------------------------------------------------------------------ cache */

struct list_ctx {
	bool json;
	time_t now;
	size_t count;
};

static void time_text(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *entry_json(const struct policy_cache_entry *e, time_t now, bool text)
{
	char fetched[32], expires[32];
	json_t *o;

	time_text(e->fetched_at, fetched, sizeof(fetched));
	time_text(e->expires_at, expires, sizeof(expires));
	o = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:b}", "domain", e->domain, "kind",
		      policy_cache_kind_name(e->kind), "id", e->id[0] ? e->id : NULL,
		      "fetched_at", fetched, "expires_at", expires, "expired",
		      now >= e->expires_at);
	if (o != NULL && text && e->policy_text != NULL)
		json_object_set_new(o, "policy", json_text(e->policy_text));
	return o;
}

static int list_visit(void *arg, const struct policy_cache_entry *e)
{
	struct list_ctx *ctx = arg;
	char expires[32];

	ctx->count++;
	if (ctx->json) {
		json_t *o = entry_json(e, ctx->now, false);

		if (o == NULL || !print_json(o)) {
			json_decref(o);
			return 1;	/* standard output failed: stop */
		}
		json_decref(o);
		return 0;
	}
	time_text(e->expires_at, expires, sizeof(expires));
	printf("%-40s %-9s %-20s %s%s\n", e->domain, policy_cache_kind_name(e->kind),
	       e->id[0] ? e->id : "-", expires, ctx->now >= e->expires_at ? " (expired)" : "");
	return 0;
}

static int run_cache(const struct policyd_args *a, const struct policyd_config *config)
{
	struct policy_cache *store = NULL;
	struct policy_cache_entry *entry = NULL;
	const char *verb = a->operands[1];
	char why[POLICYD_WHY_SIZE], domain[POLICY_CACHE_DOMAIN_MAX + 2];
	int rc, status = EXIT_VALID;

	if (a->operand_count < 2) {
		print_usage_error(&cmd_policyd, "cache: say list, show DOMAIN or flush DOMAIN");
		return EXIT_USAGE_ERROR;
	}
	if (strcmp(verb, "list") == 0 ? a->operand_count != 2 :
	    strcmp(verb, "flush") == 0 ? a->operand_count != (a->all ? 2 : 3) :
	    strcmp(verb, "show") == 0 ? a->operand_count != 3 : true) {
		print_usage_error(&cmd_policyd, "cache: say list, show DOMAIN, flush DOMAIN "
				  "or flush --all");
		return EXIT_USAGE_ERROR;
	}
	if (config->cache.type == POLICYD_CACHE_INTERNAL) {
		fprintf(stderr, "mtasts policyd: cache: %s sets cache type internal: the "
			"cache lives in the daemon's memory and ends with it; use sqlite, "
			"redis or postgres to look at it from outside\n", a->config_path);
		return EXIT_CONFIG;
	}
	if (policyd_store_open(config, &store, why, sizeof(why)) != 0) {
		fprintf(stderr, "mtasts policyd: %s\n", why);
		return EXIT_LOCAL_ERROR;
	}
	if (a->operand_count == 3) {
		char *end;

		snprintf(domain, sizeof(domain), "%s", a->operands[2]);
		for (end = domain; *end != '\0'; end++)
			*end = (char)tolower((unsigned char)*end);
		if (end > domain && end[-1] == '.')
			end[-1] = '\0';
		if (policy_cache_domain_check(domain) != 0) {
			print_usage_error(&cmd_policyd, "cache: '%s' is not a domain name",
					  a->operands[2]);
			policy_cache_free(store);
			return EXIT_USAGE_ERROR;
		}
	}
	if (strcmp(verb, "list") == 0) {
		struct list_ctx ctx = { a->json, time(NULL), 0 };

		/* A store error, or an entry that breaks the rules, is no list. */
		rc = policy_cache_iterate(store, list_visit, &ctx);
		if (rc == MTASTS_ERR_INVALID)
			snprintf(store->error, sizeof(store->error), "an entry in the store "
				 "breaks the rules; the list stops before it");
		if (rc < 0)
			status = EXIT_LOCAL_ERROR;
		if (!a->json)
			fprintf(stderr, "%zu entries\n", ctx.count);
	} else if (strcmp(verb, "show") == 0) {
		/* An expired entry is shown too: count and list show it. */
		rc = policy_cache_get(store, domain, 0, &entry);
		if (rc == 1) {
			if (a->json) {
				json_t *o = entry_json(entry, time(NULL), true);

				print_json(o);
				json_decref(o);
			} else {
				json_t *o = entry_json(entry, time(NULL), false);
				const char *k;
				json_t *v;

				json_object_foreach(o, k, v)
					if (json_is_string(v))
						printf("%s: %s\n", k, json_string_value(v));
				json_decref(o);
				if (entry->policy_text != NULL) {
					char *text = entry->policy_text, *line, *save = NULL;

					printf("policy:\n");
					for (line = strtok_r(text, "\r\n", &save); line != NULL;
					     line = strtok_r(NULL, "\r\n", &save)) {
						fputs("  ", stdout);
						print_text(stdout, line);
						fputs("\n", stdout);
					}
				}
			}
		} else if (rc == 0) {
			fprintf(stderr, "mtasts policyd: cache: %s is not cached\n", domain);
			status = EXIT_INVALID;
		} else {
			status = EXIT_LOCAL_ERROR;
		}
	} else if (a->all) {
		size_t flushed = 0;

		rc = policy_cache_purge_expired(store, (time_t)1 << 40, &flushed);
		if (rc == 0)
			printf("flushed %zu entries\n", flushed);
		else
			status = EXIT_LOCAL_ERROR;
	} else {
		rc = policy_cache_delete(store, domain);
		if (rc == 1)
			printf("flushed %s\n", domain);
		else if (rc == 0) {
			fprintf(stderr, "mtasts policyd: cache: %s is not cached\n", domain);
			status = EXIT_INVALID;
		} else
			status = EXIT_LOCAL_ERROR;
	}
	if (status == EXIT_LOCAL_ERROR)
		fprintf(stderr, "mtasts policyd: cache: %s\n", policy_cache_error(store));
	policy_cache_entry_free(entry);
	policy_cache_free(store);
	return status;
}

/* ----------------------------------------------------------------- daemon */

static void net_config_of(const struct policyd_args *a, const struct policyd_config *c,
			  struct net_config *nc)
{
	unsigned timeout_ms = (unsigned)(c->default_zone.timeout * 1000);

	net_config_defaults(nc);
	nc->ca_file = a->ca_file != NULL ? a->ca_file : c->ca_file;
	if (a->dns_server_count > 0) {
		for (size_t i = 0; i < a->dns_server_count; i++)
			nc->dns_servers[i] = a->dns_servers[i];
		nc->dns_server_count = a->dns_server_count;
	} else {
		for (size_t i = 0; i < c->dns_server_count && i < CONFIG_DNS_SERVERS_MAX; i++)
			nc->dns_servers[i] = c->dns_servers[i];
		nc->dns_server_count = c->dns_server_count;
	}
	nc->timeout_ms = timeout_ms;
	nc->connect_timeout_ms = timeout_ms;
	/* Two tries within the zone's time. */
	nc->dns_timeout_ms = timeout_ms / 2 > 0 ? timeout_ms / 2 : 1;
	nc->concurrency = 1;
}

static void on_stopped(void *arg)
{
	struct daemon *d = arg;

	event_base_loopexit(d->net.base, NULL);
}

static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	daemon_log(LOG_NOTICE, "shutdown_timeout passed with %zu connections open; "
		    "closing them", policyd_server_connections(d->server));
	event_base_loopexit(d->net.base, NULL);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	double t = d->config.shutdown_timeout;
	struct timeval limit = { (time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6) };

	(void)what;
	if (d->stopping) {
		event_base_loopexit(d->net.base, NULL);
		return;
	}
	d->stopping = true;
	daemon_notify("STOPPING=1");
	daemon_log(LOG_INFO, "signal %d: draining %zu connections", (int)sig,
		    policyd_server_connections(d->server));
	if ((d->stop_timer = evtimer_new(d->net.base, on_stop_timeout, d)) != NULL)
		evtimer_add(d->stop_timer, &limit);
	policyd_server_drain(d->server, on_stopped, d);
}

static bool same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What a reload cannot change: the sockets, the store, the session. */
static bool restart_needed(const struct policyd_config *a, const struct policyd_config *b)
{
	bool dns_same = a->dns_server_count == b->dns_server_count;

	for (size_t i = 0; dns_same && i < a->dns_server_count; i++)
		dns_same = same_text(a->dns_servers[i], b->dns_servers[i]);
	return !dns_same || !same_text(a->ca_file, b->ca_file) ||
	       !same_text(a->user, b->user) || !same_text(a->cache.filename, b->cache.filename) ||
	       !same_text(a->cache.url, b->cache.url) || !same_text(a->cache.dsn, b->cache.dsn) ||
	       a->mode != b->mode || a->reuse_port != b->reuse_port ||
	       strcmp(a->host, b->host) != 0 || a->port != b->port ||
	       (a->path == NULL) != (b->path == NULL) ||
	       (a->path != NULL && strcmp(a->path, b->path) != 0) ||
	       a->cache.type != b->cache.type ||
	       (a->user == NULL) != (b->user == NULL) ||
	       (a->metrics == NULL) != (b->metrics == NULL) ||
	       (a->metrics != NULL && strcmp(a->metrics, b->metrics) != 0);
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct policyd_config fresh, old;
	char why[POLICYD_WHY_SIZE];

	(void)sig;
	(void)what;
	daemon_notify_reloading();
	if (policyd_config_load(d->args->config_path, &fresh, why, sizeof(why)) != 0) {
		daemon_log(LOG_ERR, "reload: %s; keeping the configuration in use", why);
		daemon_notify("READY=1");
		return;
	}
	/* Postfix's version as found at start: postconf may take a while. */
	policyd_config_default_tlsrpt(&fresh, d->postfix_tlsrpt);
	if (restart_needed(&d->config, &fresh))
		daemon_log(LOG_WARNING, "reload: the listening address and socket, the "
			    "cache store, user, metrics address, ca_file and dns_servers "
			    "take effect at the next start");
	/* Waiting lookups copied what they need of their zone. */
	old = d->config;
	d->config = fresh;
	policyd_config_release(&old);
	policyd_engine_reconfigure(d->engine, &d->config);
	daemon_log(LOG_INFO, "reloaded %s", d->args->config_path);
	daemon_notify("READY=1");
}

static void gauges(void *arg, struct evbuffer *out)
{
	struct daemon *d = arg;

	/* Not the store's count: a scrape must not walk Redis or PostgreSQL. */
	evbuffer_add_printf(out, "# HELP mtasts_policyd_cache_entries Entries in the "
			    "in-process cache.\n# TYPE mtasts_policyd_cache_entries gauge\n"
			    "mtasts_policyd_cache_entries %zu\n",
			    policyd_engine_memory_entries(d->engine));
	evbuffer_add_printf(out, "# HELP mtasts_policyd_discoveries Discoveries running.\n"
			    "# TYPE mtasts_policyd_discoveries gauge\n"
			    "mtasts_policyd_discoveries %zu\n", policyd_engine_busy(d->engine));
}

static int read_prewarm(struct daemon *d, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[1024];
	size_t n = 0;

	if (f == NULL) {
		fprintf(stderr, "mtasts policyd: --prewarm %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL && n < PREWARM_MAX) {
		char *s = line, *e;

		while (*s == ' ' || *s == '\t')
			s++;
		if ((e = strpbrk(s, "# \t\r\n")) != NULL)
			*e = '\0';
		if (*s == '\0')
			continue;
		if (policyd_engine_queue_warm(d->engine, s) == 0)
			n++;
	}
	if (f != stdin)
		fclose(f);
	daemon_log(LOG_INFO, "pre-warming %zu domains from %s", n, path);
	policyd_engine_warm_start(d->engine);
	return 0;
}

static int run_daemon(struct policyd_args *a)
{
	struct daemon d = { .args = a };
	struct net_config nc;
	struct policyd_engine_settings settings = { 0 };
	char why[POLICYD_WHY_SIZE];
	bool foreground = a->foreground || daemon_supervised();
	bool pid_written = false;
	int status, rc, ready_fd = -1;

	if ((status = load_config(a, &d.config, &d.postfix_tlsrpt)) != EXIT_VALID)
		return status;
	status = EXIT_LOCAL_ERROR;
	/* As root: the trust store may be readable by root alone. */
	net_config_of(a, &d.config, &nc);
	if (net_session_open(&d.net, &nc, "policyd", 1) != 0)
		goto out;
	/* Bound before privileges go: a low port, a socket in /run. */
	if (policyd_server_bind(d.net.base, &d.config, &d.server, why, sizeof(why)) != 0) {
		fprintf(stderr, "mtasts policyd: %s\n", why);
		goto out;
	}
	if (d.config.metrics != NULL &&
	    policyd_metrics_listen(d.net.base, d.config.metrics, &d.metrics, gauges, &d,
				   &d.metrics_server, why, sizeof(why)) != 0) {
		fprintf(stderr, "mtasts policyd: %s\n", why);
		goto out;
	}
	/* Detached and the pid file written while root: the user cannot alter it. */
	if (!foreground && (daemon_detach(&ready_fd) != 0 || event_reinit(d.net.base) != 0)) {
		fprintf(stderr, "mtasts policyd: cannot detach: %s\n", strerror(errno));
		goto out;
	}
	daemon_log_open("mtasts-policyd", a->syslog || !foreground, a->verbose);
	if (a->pid_file != NULL) {
		if (daemon_write_pid_file(a->pid_file) != 0)
			goto out;
		pid_written = true;
	}
	if (daemon_drop_privileges(d.config.user) != 0)
		goto out;
	/* As the user: a SQLite file it creates is its own. */
	if (policyd_store_open(&d.config, &d.store, why, sizeof(why)) != 0) {
		daemon_log(LOG_ERR, "%s", why);
		goto out;
	}
	settings.base = d.net.base;
	settings.resolver = d.net.resolver;
	settings.http = d.net.http;
	settings.store = d.store;
	settings.memory_entries = d.config.cache.type == POLICYD_CACHE_INTERNAL ?
				  d.config.cache.cache_size : 100000;
	settings.metrics = &d.metrics;
	if ((rc = policyd_engine_new(&settings, &d.config, &d.engine)) != 0 ||
	    policyd_server_start(d.server, d.engine, &d.metrics) != 0) {
		daemon_log(LOG_ERR, "cannot start: out of memory");
		goto out;
	}
	d.sighup = evsignal_new(d.net.base, SIGHUP, on_reload, &d);
	d.sigterm = evsignal_new(d.net.base, SIGTERM, on_stop_signal, &d);
	d.sigint = evsignal_new(d.net.base, SIGINT, on_stop_signal, &d);
	if (d.sighup == NULL || d.sigterm == NULL || d.sigint == NULL ||
	    evsignal_add(d.sighup, NULL) != 0 || evsignal_add(d.sigterm, NULL) != 0 ||
	    evsignal_add(d.sigint, NULL) != 0) {
		daemon_log(LOG_ERR, "cannot set up signal handling");
		goto out;
	}
	if (a->prewarm != NULL && read_prewarm(&d, a->prewarm) != 0)
		goto out;
	if (d.config.path != NULL)
		daemon_log(LOG_INFO, "listening on unix:%s (%s cache)", d.config.path,
			    policyd_cache_type_name(d.config.cache.type));
	else
		daemon_log(LOG_INFO, "listening on %s port %u (%s cache)", d.config.host,
			    d.config.port, policyd_cache_type_name(d.config.cache.type));
	daemon_notify("READY=1\nSTATUS=serving MTA-STS policies");
	daemon_ready(&ready_fd);
	event_base_dispatch(d.net.base);
	daemon_log(LOG_INFO, "stopped");
	status = EXIT_VALID;
out:
	if (d.sighup != NULL)
		event_free(d.sighup);
	if (d.sigterm != NULL)
		event_free(d.sigterm);
	if (d.sigint != NULL)
		event_free(d.sigint);
	if (d.stop_timer != NULL)
		event_free(d.stop_timer);
	/* Lookups still waiting get "TEMP" on their connections, then those close. */
	policyd_engine_free(d.engine);
	policyd_server_free(d.server);
	policyd_metrics_server_free(d.metrics_server);
	policy_cache_free(d.store);
	net_session_close(&d.net);
	if (pid_written)
		(void)unlink(a->pid_file);
	if (ready_fd >= 0)
		close(ready_fd);	/* the starter sees the end: a failure */
	policyd_config_release(&d.config);
	daemon_log_close();
	return status;
}

/* ------------------------------------------------------------------- main */

static int run_policyd(int argc, char **argv)
{
	struct policyd_args a;
	struct policyd_config config;
	int status = parse_args(argc, argv, &a);

	if (status == EXIT_VALID + 1000)
		return EXIT_VALID;
	if (status != EXIT_VALID)
		return status;
	if (a.operand_count > 0 && strcmp(a.operands[0], "cache") == 0) {
		if ((status = load_config(&a, &config, NULL)) != EXIT_VALID)
			return status;
		status = run_cache(&a, &config);
		policyd_config_release(&config);
		return status;
	}
	if (a.operand_count > 0) {
		print_usage_error(&cmd_policyd, "unexpected argument '%s'", a.operands[0]);
		return EXIT_USAGE_ERROR;
	}
	if (a.check_config) {
		bool postfix_tlsrpt;

		if ((status = load_config(&a, &config, &postfix_tlsrpt)) != EXIT_VALID)
			return status;
		status = check_config(&a, &config);
		policyd_config_release(&config);
		return status;
	}
	return run_daemon(&a);
}

const struct command cmd_policyd = {
	.name = "policyd",
	.run = run_policyd,
	.summary = "serve MTA-STS policies to Postfix (socketmap)",
	.usage = policyd_usage,
};
