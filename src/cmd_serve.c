/*
 * cmd_serve.c - mtasts serve: the domain owner's HTTPS server, where
 * sending MTAs POST their TLS reports (RFC 8460 5.4), with /healthz and
 * Prometheus /metrics, and which hosts the MTA-STS policy files of the
 * domains of a registry (mta-sts.<domain>/.well-known/mta-sts.txt).
 *
 * With a registry, the registry is opened and its policies read as the
 * user too (a registry that cannot be opened then is a settings error,
 * 78); the hosted names' certificates are read from cert_dir, and with
 * acme_directory the certificate manager (serve_acme.c, its own thread)
 * starts, its challenge answers served on listen_http and by TLS-ALPN-01.
 *
 * Start-up: read the settings (the YAML file, then the command line over
 * it), read the certificates and keys and bind the listeners as root, drop
 * to --user, open the report store as that user (so a SQLite file it
 * creates is its own), and serve.  SIGHUP reads the settings again and
 * applies what needs no new socket, user or store (see on_reload()), then
 * the certificates (a broken file keeps what is in use); SIGTERM and SIGINT
 * stop accepting, let the connections finish (at most shutdown_timeout)
 * and exit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "daemon.h"
#include "daemon_log.h"
#include "serve.h"

#define EXIT_CONFIG 78		/* sysexits.h EX_CONFIG */
#define PATH_SIZE 4096
#define ACME_METRICS_INTERVAL_S 5

static const char serve_usage[] =
	"usage: mtasts serve [OPTIONS]\n"
	"\n"
	"Receive TLS reports (RFC 8460) over HTTPS and keep them in the report\n"
	"store; serve GET /healthz and GET /metrics (Prometheus) too.  With a\n"
	"registry, host the MTA-STS policy of each of its domains at\n"
	"https://mta-sts.DOMAIN/.well-known/mta-sts.txt.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE        settings (default " SERVE_CONFIG_DEFAULT_PATH "; the\n"
	"                           options below override it)\n"
	"      --check-config       read the settings and certificates, say what\n"
	"                           they set, exit\n"
	"      --store LOCATION     the report store (default " SERVE_STORE_DEFAULT ";\n"
	"                           or postgresql://...)\n"
	"      --cert FILE          a certificate chain (PEM); repeatable, each with\n"
	"      --key FILE           its key, in the same order; chosen by SNI\n"
	"      --listen ADDR:PORT   serve HTTPS here (repeatable; default " SERVE_LISTEN_DEFAULT ")\n"
	"      --listen-plain ADDR:PORT  serve plain HTTP here, behind a proxy\n"
	"      --report-path PATH   where reports are POSTed (default " SERVE_REPORT_PATH_DEFAULT ")\n"
	"      --max-body SIZE      largest request body (default 10M; k, M, G)\n"
	"      --max-connections N  TLS connections open before accepting pauses\n"
	"      --timeout SECONDS    a connection's time to send or take data\n"
	"      --metrics-allow CIDR serve /metrics only to these (repeatable)\n"
	"      --workers N          serving processes (default 1; 0: one per processor)\n"
	"      --retention-days N   remove reports whose period ended over N days\n"
	"                           ago, at start and hourly (default 0: keep all)\n"
	"      --registry LOCATION  host the policies of this domain registry (a\n"
	"                           SQLite file or postgresql://...; see\n"
	"                           mtasts-domains(1))\n"
	"      --listen-http ADDR:PORT  plain HTTP for ACME http-01 answers only\n"
	"                           (repeatable; usually port 80)\n"
	"      --cert-dir DIR       certificates of the hosted names, NAME.pem and\n"
	"                           NAME.key (default " SERVE_CERT_DIR_DEFAULT ")\n"
	"      --acme-directory URL get the hosted names' certificates from this\n"
	"                           ACME server (RFC 8555)\n"
	"      --acme-email ADDRESS the ACME account's contact\n"
	"      --acme-ca-file FILE  trust this CA for the ACME server\n"
	"      --user USER          drop to USER after binding and reading keys\n"
	"  -f, --foreground         do not detach (the default under systemd)\n"
	"      --syslog             log to syslog (the default when detached)\n"
	"      --verbose            log more\n"
	"      --pid-file FILE      write the process id to FILE\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 stopped by a signal, 64 usage error, 71 a local problem\n"
	"(cannot bind, no such user), 78 the settings or certificates are wrong.\n";

enum {
	OPT_CHECK_CONFIG = 256,
	OPT_STORE,
	OPT_CERT,
	OPT_KEY,
	OPT_LISTEN,
	OPT_LISTEN_PLAIN,
	OPT_REPORT_PATH,
	OPT_MAX_BODY,
	OPT_MAX_CONNECTIONS,
	OPT_TIMEOUT,
	OPT_METRICS_ALLOW,
	OPT_RETENTION_DAYS,
	OPT_WORKERS,
	OPT_USER,
	OPT_SYSLOG,
	OPT_VERBOSE,
	OPT_PID_FILE,
	OPT_REGISTRY,
	OPT_LISTEN_HTTP,
	OPT_CERT_DIR,
	OPT_ACME_DIRECTORY,
	OPT_ACME_EMAIL,
	OPT_ACME_CA_FILE,
};

static const struct option serve_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "listen-plain", required_argument, NULL, OPT_LISTEN_PLAIN },
	{ "report-path", required_argument, NULL, OPT_REPORT_PATH },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "metrics-allow", required_argument, NULL, OPT_METRICS_ALLOW },
	{ "retention-days", required_argument, NULL, OPT_RETENTION_DAYS },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "foreground", no_argument, NULL, 'f' },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "registry", required_argument, NULL, OPT_REGISTRY },
	{ "listen-http", required_argument, NULL, OPT_LISTEN_HTTP },
	{ "cert-dir", required_argument, NULL, OPT_CERT_DIR },
	{ "acme-directory", required_argument, NULL, OPT_ACME_DIRECTORY },
	{ "acme-email", required_argument, NULL, OPT_ACME_EMAIL },
	{ "acme-ca-file", required_argument, NULL, OPT_ACME_CA_FILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The command line as given; applied over the file's settings. */
struct serve_args {
	const char *config_path;
	bool config_given;
	bool check_config;
	bool foreground;
	bool syslog;
	bool verbose;
	const char *store, *report_path, *user, *pid_file;
	const char *registry, *cert_dir, *acme_directory, *acme_email, *acme_ca_file;
	const char *listen_http[SERVE_LISTEN_MAX];
	size_t listen_http_count;
	const char *certs[SERVE_CERTS_MAX], *keys[SERVE_CERTS_MAX];
	size_t cert_count, key_count;
	const char *listen[SERVE_LISTEN_MAX], *listen_plain[SERVE_LISTEN_MAX];
	size_t listen_count, listen_plain_count;
	const char *allow[SERVE_ALLOW_MAX];
	size_t allow_count;
	unsigned max_body, max_connections, timeout;	/* 0: not given */
	unsigned retention_days;
	bool retention_given;
	unsigned workers;
	bool workers_given;
	const char *config_given_as;	/* the path as given, for messages */
	char abs[6][PATH_SIZE];		/* config, store, pid file, ACME CA file, registry, cert dir */
};

struct serve_daemon {
	struct serve_args *args;
	struct serve_config config;
	struct event_base *base;
	struct serve_tls *tls;
	struct serve_server *server;
	struct serve_hosting *hosting;	/* NULL: no registry */
	struct serve_challenges *challenges;
	struct serve_acme *acme;	/* NULL: no ACME */
	struct event *sighup, *sigterm, *sigint, *stop_timer;
	struct event *acme_timer;	/* copies the manager's counters to the metrics */
	struct serve_metrics acme_base;	/* the slot's counts when the manager started */
	bool stopping;
	unsigned worker_count;		/* 1: this process serves, no supervisor */
	unsigned worker_index;
	struct serve_metrics *metrics_slots;	/* shared by the workers */
	int ready_fd;			/* the detaching parent waits on it; -1: none */
};

/* ---------------------------------------------------------------- options */

/* "10485760", "512k", "10M", "1G" within [min, max]. */
static bool parse_size(const char *text, unsigned long long min, unsigned long long max,
		       unsigned *ret)
{
	unsigned long long value, unit = 1;
	char *end;

	errno = 0;
	if (text[0] < '0' || text[0] > '9')
		return false;
	value = strtoull(text, &end, 10);
	if (errno != 0)
		return false;
	if (*end == 'k' || *end == 'K')
		unit = 1024;
	else if (*end == 'm' || *end == 'M')
		unit = 1024 * 1024;
	else if (*end == 'g' || *end == 'G')
		unit = 1024 * 1024 * 1024;
	if (unit != 1)
		end++;
	if (*end != '\0' || value > max / unit || value * unit < min)
		return false;
	*ret = (unsigned)(value * unit);
	return true;
}

static int add_arg(const char **list, size_t *count, size_t max, const char *value,
		   const char *option)
{
	if (*count >= max) {
		print_usage_error(&cmd_serve, "--%s: at most %zu", option, max);
		return EXIT_USAGE_ERROR;
	}
	list[(*count)++] = value;
	return EXIT_VALID;
}

static int number_arg(const char *text, unsigned long long min, unsigned long long max,
		      unsigned *ret, const char *option)
{
	if (!parse_size(text, min, max, ret)) {
		print_usage_error(&cmd_serve, "--%s: '%s' is not a number from %llu to %llu",
				  option, text, min, max);
		return EXIT_USAGE_ERROR;
	}
	return EXIT_VALID;
}

static int parse_option(struct serve_args *a, int c)
{
	switch (c) {
	case 'c': a->config_path = optarg; a->config_given = true; return EXIT_VALID;
	case 'f': a->foreground = true; return EXIT_VALID;
	case OPT_CHECK_CONFIG: a->check_config = true; return EXIT_VALID;
	case OPT_SYSLOG: a->syslog = true; return EXIT_VALID;
	case OPT_VERBOSE: a->verbose = true; return EXIT_VALID;
	case OPT_STORE: a->store = optarg; return EXIT_VALID;
	case OPT_REPORT_PATH: a->report_path = optarg; return EXIT_VALID;
	case OPT_USER: a->user = optarg; return EXIT_VALID;
	case OPT_PID_FILE: a->pid_file = optarg; return EXIT_VALID;
	case OPT_REGISTRY: a->registry = optarg; return EXIT_VALID;
	case OPT_CERT_DIR: a->cert_dir = optarg; return EXIT_VALID;
	case OPT_ACME_DIRECTORY: a->acme_directory = optarg; return EXIT_VALID;
	case OPT_ACME_EMAIL: a->acme_email = optarg; return EXIT_VALID;
	case OPT_ACME_CA_FILE: a->acme_ca_file = optarg; return EXIT_VALID;
	case OPT_LISTEN_HTTP:
		return add_arg(a->listen_http, &a->listen_http_count, SERVE_LISTEN_MAX, optarg,
			       "listen-http");
	case OPT_CERT:
		return add_arg(a->certs, &a->cert_count, SERVE_CERTS_MAX, optarg, "cert");
	case OPT_KEY:
		return add_arg(a->keys, &a->key_count, SERVE_CERTS_MAX, optarg, "key");
	case OPT_LISTEN:
		return add_arg(a->listen, &a->listen_count, SERVE_LISTEN_MAX, optarg, "listen");
	case OPT_LISTEN_PLAIN:
		return add_arg(a->listen_plain, &a->listen_plain_count, SERVE_LISTEN_MAX,
			       optarg, "listen-plain");
	case OPT_METRICS_ALLOW:
		return add_arg(a->allow, &a->allow_count, SERVE_ALLOW_MAX, optarg,
			       "metrics-allow");
	case OPT_MAX_BODY:
		return number_arg(optarg, 1024, 1024ull * 1024 * 1024, &a->max_body, "max-body");
	case OPT_MAX_CONNECTIONS:
		return number_arg(optarg, 1, 1000000, &a->max_connections, "max-connections");
	case OPT_TIMEOUT:
		return number_arg(optarg, 1, 3600, &a->timeout, "timeout");
	case OPT_RETENTION_DAYS:
		a->retention_given = true;
		return number_arg(optarg, 0, SERVE_RETENTION_DAYS_MAX, &a->retention_days,
				  "retention-days");
	case OPT_WORKERS:
		a->workers_given = true;
		return number_arg(optarg, 0, SERVE_WORKERS_MAX, &a->workers, "workers");
	}
	return -1;
}

static int parse_args(int argc, char **argv, struct serve_args *a)
{
	int c, status;

	memset(a, 0, sizeof(*a));
	a->config_path = SERVE_CONFIG_DEFAULT_PATH;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:fh", serve_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(serve_usage, stdout);
			return EXIT_VALID + 1000;
		}
		if ((status = parse_option(a, c)) == -1) {
			print_option_error(&cmd_serve, serve_options, argv[optind - 1], optopt,
					   c == ':');
			return EXIT_USAGE_ERROR;
		}
		if (status != EXIT_VALID)
			return status;
	}
	if (optind < argc) {
		print_usage_error(&cmd_serve, "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE_ERROR;
	}
	if (a->cert_count != a->key_count) {
		print_usage_error(&cmd_serve, "%zu --cert and %zu --key: give a --key for "
				  "every --cert, in the same order", a->cert_count, a->key_count);
		return EXIT_USAGE_ERROR;
	}
	a->config_given_as = a->config_path;
	/* A detached daemon works from "/". */
	a->config_path = daemon_absolute_path(a->config_path, a->abs[0], PATH_SIZE);
	a->pid_file = daemon_absolute_path(a->pid_file, a->abs[2], PATH_SIZE);
	a->cert_dir = daemon_absolute_path(a->cert_dir, a->abs[5], PATH_SIZE);
	a->acme_ca_file = daemon_absolute_path(a->acme_ca_file, a->abs[3], PATH_SIZE);
	/* A registry URL stays as it is; a file works from "/" too. */
	if (a->registry != NULL && strstr(a->registry, "://") == NULL)
		a->registry = daemon_absolute_path(a->registry, a->abs[4], PATH_SIZE);
	for (size_t i = 0; i < a->cert_count; i++) {
		if (a->certs[i][0] != '/' || a->keys[i][0] != '/') {
			print_usage_error(&cmd_serve, "--cert and --key: give absolute paths "
					  "(they are read again on SIGHUP, from \"/\")");
			return EXIT_USAGE_ERROR;
		}
	}
	return EXIT_VALID;
}

/* The settings: defaults, the file, the command line; what was wrong in why. */
static int settings(const struct serve_args *a, struct serve_config *c, char *why,
		    size_t why_size)
{
	bool failed = false;

	serve_config_defaults(c);
	if ((a->config_given || access(a->config_path, F_OK) == 0) &&
	    serve_config_load(a->config_path, c, why, why_size) != 0)
		return EXIT_CONFIG;
	if (a->cert_count > 0) {
		for (size_t i = 0; i < c->cert_count; i++) {
			free(c->certs[i].cert);
			free(c->certs[i].key);
		}
		memset(c->certs, 0, sizeof(c->certs));
		c->cert_count = a->cert_count;
		for (size_t i = 0; i < a->cert_count; i++)
			failed |= serve_config_set(&c->certs[i].cert, a->certs[i]) != 0 ||
				  serve_config_set(&c->certs[i].key, a->keys[i]) != 0;
	}
	if (a->listen_count > 0)
		serve_config_clear_list(c->listen, &c->listen_count);
	for (size_t i = 0; i < a->listen_count; i++)
		failed |= serve_config_append(c->listen, &c->listen_count, SERVE_LISTEN_MAX,
					      a->listen[i]) != 0;
	if (a->listen_plain_count > 0)
		serve_config_clear_list(c->listen_plain, &c->listen_plain_count);
	for (size_t i = 0; i < a->listen_plain_count; i++)
		failed |= serve_config_append(c->listen_plain, &c->listen_plain_count,
					      SERVE_LISTEN_MAX, a->listen_plain[i]) != 0;
	if (a->listen_http_count > 0)
		serve_config_clear_list(c->listen_http, &c->listen_http_count);
	for (size_t i = 0; i < a->listen_http_count; i++)
		failed |= serve_config_append(c->listen_http, &c->listen_http_count,
					      SERVE_LISTEN_MAX, a->listen_http[i]) != 0;
	if (a->allow_count > 0)
		serve_config_clear_list(c->metrics_allow, &c->metrics_allow_count);
	for (size_t i = 0; i < a->allow_count; i++)
		failed |= serve_config_append(c->metrics_allow, &c->metrics_allow_count,
					      SERVE_ALLOW_MAX, a->allow[i]) != 0;
	failed |= (a->store != NULL && serve_config_set(&c->store, a->store) != 0) ||
		  (a->report_path != NULL && serve_config_set(&c->report_path, a->report_path) != 0) ||
		  (a->user != NULL && serve_config_set(&c->user, a->user) != 0) ||
		  (a->pid_file != NULL && serve_config_set(&c->pid_file, a->pid_file) != 0);
	failed |= (a->registry != NULL && serve_config_set(&c->registry, a->registry) != 0) ||
		  (a->cert_dir != NULL && serve_config_set(&c->cert_dir, a->cert_dir) != 0) ||
		  (a->acme_directory != NULL &&
		   serve_config_set(&c->acme_directory, a->acme_directory) != 0) ||
		  (a->acme_email != NULL && serve_config_set(&c->acme_email, a->acme_email) != 0) ||
		  (a->acme_ca_file != NULL &&
		   serve_config_set(&c->acme_ca_file, a->acme_ca_file) != 0);
	failed |= c->registry != NULL && c->cert_dir == NULL &&
		  serve_config_set(&c->cert_dir, SERVE_CERT_DIR_DEFAULT) != 0;
	failed |= (c->store == NULL && serve_config_set(&c->store, SERVE_STORE_DEFAULT) != 0) ||
		  (c->report_path == NULL &&
		   serve_config_set(&c->report_path, SERVE_REPORT_PATH_DEFAULT) != 0);
	if (a->max_body != 0)
		c->max_body = a->max_body;
	if (a->max_connections != 0)
		c->max_connections = a->max_connections;
	if (a->timeout != 0)
		c->timeout = a->timeout;
	if (a->retention_given)
		c->retention_days = a->retention_days;
	if (a->workers_given)
		c->workers = a->workers;
	if (a->verbose)
		c->verbose = true;
	if (failed) {
		snprintf(why, why_size, "out of memory");
		return EXIT_LOCAL_ERROR;
	}
	if (c->max_inflated < c->max_body)
		c->max_inflated = c->max_body;
	if (serve_config_check(c, why, why_size) != 0)
		return EXIT_CONFIG;
	return EXIT_VALID;
}

static void print_list(const char *name, char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		printf("%s: %s\n", name, list[i]);
}

static int check_config(const struct serve_args *a, const struct serve_config *c)
{
	struct serve_tls *tls = NULL;
	char why[SERVE_WHY_SIZE], described[2048];

	if (c->cert_count > 0) {
		if (serve_tls_new(c, &tls, why, sizeof(why)) != 0) {
			fprintf(stderr, "mtasts serve: %s\n", why);
			return EXIT_CONFIG;
		}
		serve_tls_describe(tls, described, sizeof(described));
		printf("certificates: %s\n", described);
		serve_tls_free(tls);
	}
	if (c->cert_count > 0 && c->listen_count == 0)
		printf("listen: %s\n", SERVE_LISTEN_DEFAULT);
	print_list("listen", c->listen, c->listen_count);
	print_list("listen-plain", c->listen_plain, c->listen_plain_count);
	printf("store: %s\nreport path: %s\nmax body: %u octets (inflated %u)\n"
	       "max headers: %u octets\ntimeout: %us\nmax connections: %u\n",
	       c->store, c->report_path, c->max_body, c->max_inflated, c->max_headers,
	       c->timeout, c->max_connections);
	print_list("metrics allowed from", c->metrics_allow, c->metrics_allow_count);
	printf("workers: %u%s\n", serve_workers_count(c->workers),
	       c->workers == 0 ? " (one per processor)" : "");
	if (c->retention_days > 0)
		printf("retention: %u days (pruned every %us)\n", c->retention_days,
		       c->prune_interval);
	else
		printf("retention: forever\n");
	if (c->registry != NULL) {
		printf("registry: %s (looked at every %us)\ncert dir: %s\n", c->registry,
		       c->registry_poll, c->cert_dir);
		if (c->cert_count == 0 && c->listen_count == 0)
			printf("listen: %s\n", SERVE_LISTEN_DEFAULT);
	}
	print_list("listen-http", c->listen_http, c->listen_http_count);
	if (c->acme_directory != NULL) {
		printf("acme directory: %s\n", c->acme_directory);
		if (c->acme_email != NULL)
			printf("acme email: %s\n", c->acme_email);
		if (c->acme_ca_file != NULL)
			printf("acme ca file: %s\n", c->acme_ca_file);
		for (size_t i = 0; i < c->acme_challenge_count; i++)
			printf("acme challenge: %s\n", c->acme_challenges[i]);
		printf("acme interval: %us, at most %u orders an hour\n", c->acme_interval,
		       c->acme_orders_per_hour);
	}
	if (c->user != NULL)
		printf("user: %s\n", c->user);
	if (a->config_given || access(a->config_path, F_OK) == 0)
		printf("%s: configuration OK\n", a->config_given_as);
	else
		printf("configuration OK (no %s: the defaults and the options)\n",
		       a->config_given_as);
	return EXIT_VALID;
}

/* ---------------------------------------------------------------- hosting */

/* A new table of policies: the certificates of new names, and ACME looks. */
static void on_hosting_changed(void *arg)
{
	struct serve_daemon *d = arg;

	if (d->tls != NULL)
		serve_tls_hosted_sync(d->tls, serve_hosting_each_name, d->hosting, false);
	if (d->acme != NULL)
		serve_acme_wake(d->acme);
}

/* The certificate manager's counters into this worker's metrics, which every worker sums. */
static void on_acme_metrics(evutil_socket_t fd, short what, void *arg)
{
	struct serve_daemon *d = arg;
	struct serve_metrics *m = serve_server_metrics(d->server);
	struct serve_acme_counters counters;
	struct timeval every = { ACME_METRICS_INTERVAL_S, 0 };

	(void)fd;
	(void)what;
	serve_acme_counters(d->acme, &counters);
	/* On from the counts of a worker 0 this one replaced: counters never go back. */
	m->acme = true;
	m->acme_orders_ok = d->acme_base.acme_orders_ok + counters.orders_ok;
	m->acme_orders_failed = d->acme_base.acme_orders_failed + counters.orders_failed;
	m->acme_rate_limited = d->acme_base.acme_rate_limited + counters.rate_limited;
	m->acme_accounts_replaced = d->acme_base.acme_accounts_replaced +
				    counters.accounts_replaced;
	m->certificates_expiring = counters.expiring;
	evtimer_add(d->acme_timer, &every);
}

/*
 * The registry, its policies and the certificates of its names, read as
 * the user; then the certificate manager.  EXIT_CONFIG when the registry
 * cannot be opened.
 */
static int hosting_start(struct serve_daemon *d)
{
	struct serve_config *c = &d->config;
	char why[SERVE_WHY_SIZE];

	if (serve_hosting_open(d->base, c, serve_server_metrics(d->server), &d->hosting, why,
			       sizeof(why)) != 0) {
		daemon_log(LOG_ERR, "%s", why);
		fprintf(stderr, "mtasts serve: %s\n", why);
		return EXIT_CONFIG;
	}
	/* Made before the workers were forked when there are several. */
	if ((d->challenges == NULL && (d->challenges = serve_challenges_new()) == NULL) ||
	    (d->tls != NULL &&
	     serve_tls_hosting(d->tls, d->base, c->cert_dir, d->challenges) != 0)) {
		daemon_log(LOG_ERR, "out of memory");
		return EXIT_LOCAL_ERROR;
	}
	serve_server_set_hosting(d->server, d->hosting, d->challenges);
	serve_hosting_on_change(d->hosting, on_hosting_changed, d);
	serve_hosting_set_purging(d->hosting, d->worker_index == 0);
	on_hosting_changed(d);
	daemon_log(LOG_INFO, "hosting the policies of %s; %zu hosted names have a "
		   "certificate in %s", c->registry,
		   d->tls != NULL ? serve_tls_hosted_count(d->tls) : (size_t)0, c->cert_dir);
	/* One certificate manager: the CA's requests may reach any worker. */
	if (c->acme_directory == NULL || d->worker_index != 0)
		return EXIT_VALID;
	if (serve_acme_start(c, d->challenges, serve_tls_installed, d->tls, &d->acme, why,
			     sizeof(why)) != 0) {
		daemon_log(LOG_ERR, "ACME: %s", why);
		fprintf(stderr, "mtasts serve: ACME: %s\n", why);
		return EXIT_CONFIG;
	}
	d->acme_base = *serve_server_metrics(d->server);
	if ((d->acme_timer = evtimer_new(d->base, on_acme_metrics, d)) == NULL) {
		daemon_log(LOG_ERR, "out of memory");
		return EXIT_LOCAL_ERROR;
	}
	on_acme_metrics(-1, 0, d);
	return EXIT_VALID;
}

/* ----------------------------------------------------------------- daemon */

static void on_drained(void *arg)
{
	struct serve_daemon *d = arg;

	event_base_loopexit(d->base, NULL);
}

static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct serve_daemon *d = arg;

	(void)fd;
	(void)what;
	daemon_log(LOG_NOTICE, "shutdown_timeout passed with %zu connections open; closing "
		   "them", serve_server_connections(d->server));
	event_base_loopexit(d->base, NULL);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serve_daemon *d = arg;
	struct timeval limit = { (time_t)d->config.shutdown_timeout, 0 };

	(void)what;
	if (d->stopping) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	d->stopping = true;
	daemon_notify("STOPPING=1");
	daemon_log(LOG_INFO, "signal %d: draining %zu connections", (int)sig,
		   serve_server_connections(d->server));
	if ((d->stop_timer = evtimer_new(d->base, on_stop_timeout, d)) != NULL)
		evtimer_add(d->stop_timer, &limit);
	serve_server_drain(d->server, on_drained, d);
}

static bool same_text(const char *x, const char *y)
{
	return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static bool same_list(char *const *x, size_t x_count, char *const *y, size_t y_count)
{
	if (x_count != y_count)
		return false;
	for (size_t i = 0; i < x_count; i++)
		if (strcmp(x[i], y[i]) != 0)
			return false;
	return true;
}

static bool same_certs(const struct serve_config *x, const struct serve_config *y)
{
	if (x->cert_count != y->cert_count)
		return false;
	for (size_t i = 0; i < x->cert_count; i++)
		if (strcmp(x->certs[i].cert, y->certs[i].cert) != 0 ||
		    strcmp(x->certs[i].key, y->certs[i].key) != 0)
			return false;
	return true;
}

#define SWAP(type, x, y) do { type swap_ = (x); (x) = (y); (y) = swap_; } while (0)

/* Two lists of listeners (SERVE_LISTEN_MAX entries each). */
static void swap_listen(char **x, size_t *x_count, char **y, size_t *y_count)
{
	char *held[SERVE_LISTEN_MAX];

	memcpy(held, x, sizeof(char *) * SERVE_LISTEN_MAX);
	memcpy(x, y, sizeof(char *) * SERVE_LISTEN_MAX);
	memcpy(y, held, sizeof(char *) * SERVE_LISTEN_MAX);
	SWAP(size_t, *x_count, *y_count);
}

/* A setting the file changed that takes a restart: said, and the one in use kept. */
static void keep(const char *name, bool same, bool *kept)
{
	if (!same) {
		daemon_log(LOG_WARNING, "reload: %s changed; that takes a restart, ignored",
			   name);
		*kept = true;
	}
}

/*
 * The settings read again over those in use: all of them but the sockets,
 * the user, the pid file and the store (and the certificates' files when
 * there is no HTTPS listener to take them), which keep their values.
 */
static void settings_apply(struct serve_daemon *d, struct serve_config *fresh)
{
	struct serve_config *c = &d->config;
	bool kept = false, https = d->tls != NULL;

	keep("store", same_text(c->store, fresh->store), &kept);
	keep("user", same_text(c->user, fresh->user), &kept);
	keep("pid_file", same_text(c->pid_file, fresh->pid_file), &kept);
	keep("listen", same_list(c->listen, c->listen_count, fresh->listen,
				 fresh->listen_count), &kept);
	keep("listen_plain", same_list(c->listen_plain, c->listen_plain_count,
				       fresh->listen_plain, fresh->listen_plain_count), &kept);
	if (!https || fresh->cert_count == 0)
		keep("certificates", same_certs(c, fresh), &kept);
	keep("registry", same_text(c->registry, fresh->registry), &kept);
	keep("cert_dir", same_text(c->cert_dir, fresh->cert_dir), &kept);
	keep("listen_http", same_list(c->listen_http, c->listen_http_count, fresh->listen_http,
				      fresh->listen_http_count), &kept);
	keep("acme settings", same_text(c->acme_directory, fresh->acme_directory) &&
	     same_text(c->acme_email, fresh->acme_email) &&
	     same_text(c->acme_ca_file, fresh->acme_ca_file), &kept);
	/* What takes a restart goes back into fresh, to stay in use. */
	SWAP(char *, c->registry, fresh->registry);
	SWAP(char *, c->cert_dir, fresh->cert_dir);
	SWAP(char *, c->acme_directory, fresh->acme_directory);
	SWAP(char *, c->acme_email, fresh->acme_email);
	SWAP(char *, c->acme_ca_file, fresh->acme_ca_file);
	swap_listen(c->listen_http, &c->listen_http_count, fresh->listen_http,
		    &fresh->listen_http_count);
	SWAP(char *, c->store, fresh->store);
	SWAP(char *, c->user, fresh->user);
	SWAP(char *, c->pid_file, fresh->pid_file);
	swap_listen(c->listen, &c->listen_count, fresh->listen, &fresh->listen_count);
	swap_listen(c->listen_plain, &c->listen_plain_count, fresh->listen_plain,
		  &fresh->listen_plain_count);
	if (!https || fresh->cert_count == 0) {
		SWAP(size_t, c->cert_count, fresh->cert_count);
		for (size_t i = 0; i < SERVE_CERTS_MAX; i++)
			SWAP(struct serve_cert_pair, c->certs[i], fresh->certs[i]);
	}
	/* The rest is fresh's: the old values go with it. */
	SWAP(struct serve_config, *c, *fresh);
	serve_server_apply(d->server);
	daemon_log_set_verbose(c->verbose);
	daemon_log(LOG_INFO, "reload: settings read again from %s (report path %s, "
		   "max body %u, timeout %us, max connections %u, retention %u days)%s",
		   d->args->config_path, c->report_path, c->max_body, c->timeout,
		   c->max_connections, c->retention_days,
		   kept ? "; some need a restart" : "");
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct serve_daemon *d = arg;
	struct serve_metrics *m = serve_server_metrics(d->server);
	struct serve_config fresh;
	char why[SERVE_WHY_SIZE], described[2048];

	(void)sig;
	(void)what;
	daemon_notify_reloading();
	if (settings(d->args, &fresh, why, sizeof(why)) != EXIT_VALID) {
		m->settings_reload_failures++;
		daemon_log(LOG_ERR, "reload: %s; keeping the settings in use", why);
	} else {
		m->settings_reloads++;
		settings_apply(d, &fresh);
	}
	serve_config_release(&fresh);
	if (d->tls == NULL) {
		daemon_log(LOG_INFO, "reload: no certificates to read again");
	} else if (serve_tls_reload(d->tls, &d->config, why, sizeof(why)) != 0) {
		m->tls_reload_failures++;
		daemon_log(LOG_ERR, "reload: %s; keeping the certificates in use", why);
	} else {
		m->tls_reloads++;
		serve_tls_describe(d->tls, described, sizeof(described));
		daemon_log(LOG_INFO, "reload: certificates read again: %s", described);
	}
	if (d->hosting != NULL) {
		serve_hosting_reload(d->hosting);
		if (d->tls != NULL) {
			serve_tls_hosted_sync(d->tls, serve_hosting_each_name, d->hosting, true);
			daemon_log(LOG_INFO, "reload: certificates of %zu hosted names read again",
				   serve_tls_hosted_count(d->tls));
		}
	}
	daemon_notify("READY=1");
}

static int signals_add(struct serve_daemon *d)
{
	d->sighup = evsignal_new(d->base, SIGHUP, on_reload, d);
	d->sigterm = evsignal_new(d->base, SIGTERM, on_stop_signal, d);
	d->sigint = evsignal_new(d->base, SIGINT, on_stop_signal, d);
	if (d->sighup == NULL || d->sigterm == NULL || d->sigint == NULL ||
	    evsignal_add(d->sighup, NULL) != 0 || evsignal_add(d->sigterm, NULL) != 0 ||
	    evsignal_add(d->sigint, NULL) != 0) {
		daemon_log(LOG_ERR, "cannot set up signal handling");
		return -1;
	}
	return 0;
}

static void daemon_release(struct serve_daemon *d)
{
	/* Its thread uses the challenges and calls into the certificates: first. */
	if (d->acme != NULL)
		serve_acme_stop(d->acme);
	d->acme = NULL;
	if (d->acme_timer != NULL)
		event_free(d->acme_timer);
	d->acme_timer = NULL;
	if (d->sighup != NULL)
		event_free(d->sighup);
	if (d->sigterm != NULL)
		event_free(d->sigterm);
	if (d->sigint != NULL)
		event_free(d->sigint);
	if (d->stop_timer != NULL)
		event_free(d->stop_timer);
	serve_server_free(d->server);
	serve_hosting_free(d->hosting);
	serve_tls_free(d->tls);
	serve_challenges_free(d->challenges);
	if (d->base != NULL)
		event_base_free(d->base);
}

/*
 * One worker: the whole server on its loop.  With several, this runs in a
 * child forked by serve_workers_run(), which needs its own epoll set.
 */
static int worker_run(void *arg, unsigned index)
{
	struct serve_daemon *d = arg;
	int status;

	if (d->worker_count > 1) {
		if (event_reinit(d->base) != 0) {
			daemon_log(LOG_ERR, "worker %u: cannot start its event loop", index);
			return EXIT_LOCAL_ERROR;
		}
		d->worker_index = index;
		serve_server_set_worker(d->server, d->metrics_slots, d->worker_count, index);
		/* The supervisor tells the starter; a worker must not hold it open. */
		if (d->ready_fd >= 0) {
			close(d->ready_fd);
			d->ready_fd = -1;
		}
	}
	/* As the user: a SQLite file it creates is its own. */
	if (d->config.registry != NULL && (status = hosting_start(d)) != EXIT_VALID)
		return status;
	if (serve_server_start(d->server, d->config.store) != 0 || signals_add(d) != 0)
		return EXIT_LOCAL_ERROR;
	if (d->worker_count > 1) {
		serve_workers_serving();
		daemon_log(LOG_DEBUG, "worker %u serving", index);
	} else {
		daemon_log(LOG_INFO, "serving reports on %s (store %s)", d->config.report_path,
			   d->config.store);
		daemon_notify("READY=1\nSTATUS=serving");
		daemon_ready(&d->ready_fd);
		serve_signals_release();
	}
	event_base_dispatch(d->base);
	/* Freeing the signal events restores their default action: a late SIGTERM would kill. */
	serve_signals_hold();
	if (d->worker_count > 1)
		daemon_release(d);	/* the certificate manager's thread stops */
	return EXIT_VALID;
}

/*
 * The event loop.  With epoll, the changes a callback makes to the events
 * of a connection (evhttp turns reading and writing on and off around
 * every request) reach the kernel once, when the loop next waits, and a
 * change undone meanwhile not at all.
 */
static struct event_base *loop_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* Every worker serves: a starter waiting for the detached daemon may go. */
static void on_workers_serving(void *arg)
{
	struct serve_daemon *d = arg;

	daemon_ready(&d->ready_fd);
}

static int run_daemon(struct serve_args *a, struct serve_daemon *d)
{
	char why[SERVE_WHY_SIZE];
	bool foreground = a->foreground || daemon_supervised();
	bool pid_written = false;
	int status = EXIT_LOCAL_ERROR;

	d->ready_fd = -1;
	/* A peer closing a connection must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	if ((d->base = loop_new()) == NULL) {
		fprintf(stderr, "mtasts serve: cannot start the event loop\n");
		return EXIT_LOCAL_ERROR;
	}
	/* As root: keys are often readable by root alone. */
	if ((d->config.cert_count > 0 || d->config.registry != NULL) &&
	    serve_tls_new(&d->config, &d->tls, why, sizeof(why)) != 0) {
		fprintf(stderr, "mtasts serve: %s\n", why);
		return EXIT_CONFIG;
	}
	/* Bound before privileges go: port 443. */
	if (serve_server_bind(d->base, &d->config, d->tls, &d->server, why, sizeof(why)) != 0) {
		fprintf(stderr, "mtasts serve: %s\n", why);
		return EXIT_LOCAL_ERROR;
	}
	/* Detached and the pid file written while root: the user cannot alter it. */
	if (!foreground && (daemon_detach(&d->ready_fd) != 0 || event_reinit(d->base) != 0)) {
		fprintf(stderr, "mtasts serve: cannot detach: %s\n", strerror(errno));
		goto out;
	}
	daemon_log_open("mtasts-serve", a->syslog || !foreground, d->config.verbose);
	if (d->config.pid_file != NULL) {
		if (daemon_write_pid_file(d->config.pid_file) != 0)
			goto out;
		pid_written = true;
	}
	if (daemon_drop_privileges(d->config.user) != 0)
		goto out;
	d->worker_count = serve_workers_count(d->config.workers);
	if (d->worker_count <= 1) {
		status = worker_run(d, 0);
	} else {
		/* What the workers share is made before they are forked. */
		if ((d->metrics_slots = serve_metrics_shared(d->worker_count)) == NULL ||
		    (d->config.registry != NULL &&
		     (d->challenges = serve_challenges_new()) == NULL)) {
			daemon_log(LOG_ERR, "cannot map memory for the workers: %s",
				   strerror(errno));
			goto out;
		}
		daemon_log(LOG_INFO, "serving reports on %s (store %s) with %u workers",
			   d->config.report_path, d->config.store, d->worker_count);
		status = serve_workers_run(d->worker_count, worker_run, d, on_workers_serving);
	}
	if (status == EXIT_VALID)
		daemon_log(LOG_INFO, "stopped");
out:
	if (pid_written)
		(void)unlink(d->config.pid_file);
	if (d->ready_fd >= 0)
		close(d->ready_fd);	/* the starter sees the end: a failure */
	daemon_log_close();
	serve_metrics_shared_free(d->metrics_slots, d->worker_count);
	d->metrics_slots = NULL;
	return status;
}

/* ------------------------------------------------------------------- main */

static int run_serve(int argc, char **argv)
{
	struct serve_args a;
	struct serve_daemon d = { .args = &a };
	char why[SERVE_WHY_SIZE];
	int status;

	/* Before anything takes time: a SIGHUP now must not kill the daemon. */
	serve_signals_hold();
	status = parse_args(argc, argv, &a);
	if (status == EXIT_VALID + 1000)
		return EXIT_VALID;
	if (status != EXIT_VALID)
		return status;
	if ((status = settings(&a, &d.config, why, sizeof(why))) != EXIT_VALID) {
		fprintf(stderr, "mtasts serve: %s\n", why);
		serve_config_release(&d.config);
		return status;
	}
	if (a.check_config)
		status = check_config(&a, &d.config);
	else
		status = run_daemon(&a, &d);
	daemon_release(&d);
	serve_config_release(&d.config);
	return status;
}

const struct command cmd_serve = {
	.name = "serve",
	.run = run_serve,
	.summary = "receive TLS reports over HTTPS (RFC 8460)",
	.usage = serve_usage,
};
