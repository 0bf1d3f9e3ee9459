/*
 * serve.h - the parts of `mtasts serve`, the domain owner's HTTPS server:
 * its settings (serve_config.c), the certificates chosen by SNI
 * (serve_tls.c), the HTTP server and its routes (serve_http.c, and
 * serve_http_hosting.c for the hosted names), its metrics
 * (serve_metrics.c), the hosted policies (serve_hosting.c), the ACME
 * challenge answers (serve_challenges.c) and the certificate manager
 * (serve_acme.c).
 *
 * DESCRIPTION
 *	Everything runs on one libevent loop in one thread.  evhttp reads a
 *	request whole (within the header and body limits) and hands it to
 *	the route its path names; the report route passes the body to
 *	report_intake() and answers only once the report is committed (or
 *	refused).  A route is a row of a table: a path (or a Host and a
 *	path), the methods it takes, a handler.
 */
#ifndef MTASTS_SERVE_H
#define MTASTS_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "report_store.h"

/* ---- settings ---- */

#define SERVE_CONFIG_DEFAULT_PATH "/etc/mtasts/serve.yml"
#define SERVE_STORE_DEFAULT "/var/lib/mtasts/reports.db"
#define SERVE_REPORT_PATH_DEFAULT "/tlsrpt"
#define SERVE_LISTEN_DEFAULT "[::]:443"
#define SERVE_CERTS_MAX 32
#define SERVE_LISTEN_MAX 16
#define SERVE_ALLOW_MAX 32
#define SERVE_WHY_SIZE 512
#define SERVE_PRUNE_INTERVAL_DEFAULT 3600	/* seconds between prunes */
#define SERVE_RETENTION_DAYS_MAX 36500
#define SERVE_REGISTRY_DEFAULT "/var/lib/mtasts/domains.db"
#define SERVE_CERT_DIR_DEFAULT "/var/lib/mtasts/certs"
#define SERVE_REGISTRY_POLL_DEFAULT 5	/* seconds */
#define SERVE_ACME_INTERVAL_DEFAULT 3600	/* seconds */
#define SERVE_ACME_ORDERS_PER_HOUR_DEFAULT 100	/* Let's Encrypt: 300 in 3 hours */
#define SERVE_ACME_CHALLENGES_MAX 2
#define SERVE_WORKERS_MAX 64

struct serve_cert_pair {
	char *cert;			/* PEM: the certificate, then its chain */
	char *key;			/* PEM private key */
};

struct serve_config {
	char *store;
	struct serve_cert_pair certs[SERVE_CERTS_MAX];
	size_t cert_count;
	char *listen[SERVE_LISTEN_MAX];		/* HTTPS */
	size_t listen_count;
	char *listen_plain[SERVE_LISTEN_MAX];	/* HTTP, behind a proxy */
	size_t listen_plain_count;
	char *report_path;
	unsigned max_body;		/* octets of a request body */
	unsigned max_inflated;		/* octets a report may inflate to */
	unsigned max_headers;		/* octets of a request's header */
	unsigned timeout;		/* seconds a connection may be idle or slow */
	unsigned max_connections;	/* TLS connections open before accepting pauses */
	unsigned shutdown_timeout;	/* seconds to drain on SIGTERM */
	char *user;
	char *pid_file;
	char *metrics_allow[SERVE_ALLOW_MAX];	/* CIDR; none: anyone */
	size_t metrics_allow_count;
	unsigned retention_days;	/* prune reports ended longer ago; 0: keep all */
	unsigned prune_interval;	/* seconds between prunes (tests shorten it) */
	bool verbose;			/* log debug lines */
	unsigned workers;		/* processes serving; 0: one per processor */

	/* policy hosting (on when registry is set) */
	char *registry;			/* SQLite file or postgresql://...; NULL: none */
	unsigned registry_poll;		/* seconds between looks for registry changes */
	char *listen_http[SERVE_LISTEN_MAX];	/* plain HTTP: ACME http-01 and 404 only */
	size_t listen_http_count;
	char *policy_cname;		/* what mta-sts.<domain> is a CNAME of (domains dns) */
	char *policy_addresses[SERVE_LISTEN_MAX];	/* or its A/AAAA addresses */
	size_t policy_address_count;
	char *tlsrpt_rua;		/* default rua of the _smtp._tls record (domains dns) */
	char *cert_dir;			/* certificates and keys of the hosted names */

	/* ACME (on when acme_directory is set) */
	char *acme_directory;		/* the directory URL */
	char *acme_email;		/* the account's contact; NULL: none */
	char *acme_ca_file;		/* trust for the ACME server; NULL: the system's */
	char *acme_challenges[SERVE_ACME_CHALLENGES_MAX];	/* in order of preference */
	size_t acme_challenge_count;
	unsigned acme_interval;		/* seconds between looks at what needs a certificate */
	unsigned acme_orders_per_hour;	/* at most this many new orders an hour */
};

void serve_config_defaults(struct serve_config *config);

/*
 * Read the YAML file at path over *config (its keys are the long options
 * with '_' for '-'; see mtasts-serve(1)).  0, or -1 with
 * "PATH:LINE:COLUMN: what" in why; *config then holds what was read before.
 */
int serve_config_load(const char *path, struct serve_config *config, char *why,
		      size_t why_size);

/*
 * What must hold whatever the source: a certificate for every key, a
 * listener, paths that are paths.  0, or -1 with a sentence in why.
 */
int serve_config_check(const struct serve_config *config, char *why, size_t why_size);

void serve_config_release(struct serve_config *config);

/* Replace list[*count] by a copy of one value (a command-line option over the file). */
int serve_config_set(char **value, const char *text);
int serve_config_append(char **list, size_t *count, size_t max, const char *text);
void serve_config_clear_list(char **list, size_t *count);

/* "ADDR:PORT" or "[ADDR6]:PORT" into host and port; false when it is neither. */
bool serve_split_address(const char *address, char *host, size_t host_size,
			 uint16_t *ret_port);

/* "ADDR/BITS" or "ADDR" (IPv4 or IPv6); false when it is neither. */
struct serve_cidr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned bits;
};
bool serve_parse_cidr(const char *text, struct serve_cidr *ret_cidr);
/* Whether address (text, IPv4, IPv6 or IPv4-mapped IPv6) is inside cidr. */
bool serve_cidr_contains(const struct serve_cidr *cidr, const char *address);

/* ---- certificates ---- */

struct serve_tls;

/*
 * Read every pair (certificate chain and key, checked to belong together)
 * into new TLS contexts; the first pair is the default when SNI names none
 * of them.  On failure a sentence in why naming the file.
 */
int serve_tls_new(const struct serve_config *config, struct serve_tls **ret_tls,
		  char *why, size_t why_size);

/*
 * Read the pairs again (SIGHUP): on success new handshakes use them; on
 * failure the ones in use stay and why says what was wrong.
 */
int serve_tls_reload(struct serve_tls *tls, const struct serve_config *config,
		     char *why, size_t why_size);

/* A new server-side TLS object for one connection, or NULL (out of memory). */
struct ssl_st *serve_tls_new_ssl(struct serve_tls *tls);

/*
 * The certificates of the hosted names: from now on a handshake for a
 * name with <cert_dir>/<name>.pem and .key gets that pair (put in the
 * connection at its ClientHello, no context per name), and one offering
 * "acme-tls/1" gets the TLS-ALPN-01 certificate of challenges (or fails).
 * Names are read by serve_tls_hosted_sync(); a name told by
 * serve_tls_installed() (from any thread) is read again on base's loop.
 * 0, or -1 (out of memory).
 */
struct serve_challenges;
int serve_tls_hosting(struct serve_tls *tls, struct event_base *base, const char *cert_dir,
		      struct serve_challenges *challenges);

/*
 * Keep the certificates of the names fn is called with by each(): the
 * ones held stay, new ones are read when their files are there, the
 * others are dropped.  With reread, every one is read again (SIGHUP).
 */
typedef void serve_name_fn(void *arg, const char *name);
void serve_tls_hosted_sync(struct serve_tls *tls,
			   void (*each)(void *source, serve_name_fn *fn, void *arg),
			   void *source, bool reread);

/*
 * The certificate manager's installed(arg, name) with arg the serve_tls:
 * name's files changed.  Safe from any thread: the name goes through a
 * pipe to the loop, which reads the pair again.
 */
void serve_tls_installed(void *tls, const char *name);

/* Certificates of hosted names held (for the log and the metrics). */
size_t serve_tls_hosted_count(const struct serve_tls *tls);

/* Whether ssl's handshake answered a TLS-ALPN-01 challenge (it then serves no HTTP). */
bool serve_tls_is_acme(const struct ssl_st *ssl);

/* The certificates' subjects and serials, for the log. */
void serve_tls_describe(const struct serve_tls *tls, char *buf, size_t size);

void serve_tls_free(struct serve_tls *tls);

/* ---- metrics ---- */

enum serve_route_id {
	SERVE_ROUTE_REPORT,
	SERVE_ROUTE_HEALTHZ,
	SERVE_ROUTE_METRICS,
	SERVE_ROUTE_POLICY,		/* /.well-known/mta-sts.txt on a hosted name */
	SERVE_ROUTE_ACME,		/* /.well-known/acme-challenge/ on listen_http */
	SERVE_ROUTE_NONE,		/* no route: 404 */
	SERVE_ROUTE_SERVER,		/* answered by evhttp itself, before any route */
	SERVE_ROUTES,
};

#define SERVE_STATUSES 14		/* the statuses counted, serve_status_codes */
extern const int serve_status_codes[SERVE_STATUSES];

/* Outcomes of a report POSTed, by class. */
enum serve_outcome {
	SERVE_OUTCOME_STORED,
	SERVE_OUTCOME_DUPLICATE,
	SERVE_OUTCOME_INVALID,		/* 400 */
	SERVE_OUTCOME_MEDIA_TYPE,	/* 415 */
	SERVE_OUTCOME_TOO_LARGE,	/* 413 */
	SERVE_OUTCOME_UNAVAILABLE,	/* 503 */
	SERVE_OUTCOMES,
};

struct serve_metrics {
	uint64_t requests[SERVE_ROUTES][SERVE_STATUSES];
	uint64_t reports[SERVE_OUTCOMES];
	uint64_t bytes_received;
	uint64_t store_errors;
	uint64_t connections_accepted;
	uint64_t connections_open;	/* TLS */
	uint64_t accept_paused;		/* times accepting paused at max_connections */
	uint64_t tls_reloads;
	uint64_t tls_reload_failures;
	uint64_t settings_reloads;
	uint64_t settings_reload_failures;
	uint64_t reports_pruned;	/* removed past retention_days */
	bool hosting;			/* the series below are written */
	uint64_t hosted_domains;	/* policies served */
	uint64_t hosted_corrupt;	/* rows of the registry that could not be read */
	uint64_t hosted_certificates;	/* hosted names with a certificate of their own */
	uint64_t registry_generation;
	uint64_t registry_reloads;	/* tables built after a change */
	uint64_t registry_failures;	/* looks or rebuilds that failed */
	bool acme;			/* the certificate manager runs: the series below */
	uint64_t acme_orders_ok;
	uint64_t acme_orders_failed;
	uint64_t acme_rate_limited;
	uint64_t acme_accounts_replaced;
	uint64_t certificates_expiring;	/* within 14 days, not renewed (or none after failures) */
};

void serve_metrics_count(struct serve_metrics *metrics, enum serve_route_id route, int status);

/*
 * The metrics of count workers as one: counters and open connections
 * added up; what every worker sees alike (hosted domains, generation) the
 * largest; hosted_certificates, counted when written, left at 0.
 */
void serve_metrics_sum(const struct serve_metrics *slots, size_t count,
		       struct serve_metrics *ret_sum);

struct evbuffer;

/*
 * The counters, and the sessions and failures per policy domain from the
 * store (asked at most every SERVE_SUMMARY_TTL_S seconds; a store that
 * fails counts a store error and leaves those series out).
 */
#define SERVE_SUMMARY_TTL_S 5
struct serve_summary_cache {
	char *text;			/* rendered series */
	int64_t at;			/* when asked, monotonic seconds; 0: never */
};
void serve_metrics_write(struct serve_metrics *metrics, struct serve_summary_cache *cache,
			 struct report_store *store, int64_t now, struct evbuffer *out);
void serve_summary_cache_clear(struct serve_summary_cache *cache);

/* ---- ACME challenge answers (serve_challenges.c) ---- */

/*
 * The answers to the challenges the certificate manager has open: written
 * by its thread, read by every worker (http-01 requests, TLS-ALPN-01
 * handshakes).  The table lives in memory shared by the worker processes
 * (made before they are forked), behind a process-shared mutex; every
 * function is safe from any thread or worker.  Only names of the registry
 * ever get here: the manager asks for no others.
 */
struct serve_challenges;
struct x509_st;
struct evp_pkey_st;

#define SERVE_CHALLENGES_MAX 64		/* answers open at once */
#define SERVE_TOKEN_MAX 128		/* octets of an http-01 token */
#define SERVE_KEY_AUTHZ_MAX 256		/* octets of a key authorization */

struct serve_challenges *serve_challenges_new(void);
void serve_challenges_free(struct serve_challenges *challenges);

/* http-01: answer GET /.well-known/acme-challenge/<token> with key_authorization. */
int serve_challenges_put_http01(struct serve_challenges *challenges, const char *token,
				const char *key_authorization);
void serve_challenges_drop_http01(struct serve_challenges *challenges, const char *token);
/* Copy the key authorization of token into buf; false when there is none. */
bool serve_challenges_http01(struct serve_challenges *challenges, const char *token,
			     char *buf, size_t size);

/*
 * tls-alpn-01: a handshake for name (SNI) offering only "acme-tls/1" gets
 * cert and key (references are taken).
 */
int serve_challenges_put_alpn01(struct serve_challenges *challenges, const char *name,
				struct x509_st *cert, struct evp_pkey_st *key);
void serve_challenges_drop_alpn01(struct serve_challenges *challenges, const char *name);
/* The certificate and key for name, each with a reference for the caller; false: none. */
bool serve_challenges_alpn01(struct serve_challenges *challenges, const char *name,
			     struct x509_st **ret_cert, struct evp_pkey_st **ret_key);

/* ---- certificates of the hosted names (serve_acme.c) ---- */

/*
 * The certificate manager: a thread of its own (ACME is blocking HTTPS
 * with waits), which looks at the registry every acme_interval seconds
 * (or when woken), and for each hosted name mta-sts.<domain> without a
 * certificate, or past two thirds of its certificate's lifetime, orders
 * one.  It writes <cert_dir>/<name>.pem (the chain, leaf first) and
 * <cert_dir>/<name>.key (mode 0600) by rename, keeps each name's status
 * in the registry, and calls installed(arg, name) from its thread.
 * The account key is <cert_dir>/account.key.
 */
struct serve_acme;

int serve_acme_start(const struct serve_config *config, struct serve_challenges *challenges,
		     void (*installed)(void *arg, const char *name), void *arg,
		     struct serve_acme **ret_acme, char *why, size_t why_size);
/* Look at the registry now (it changed). */
void serve_acme_wake(struct serve_acme *acme);
/* Stop: an order under way is abandoned at its next step; joins the thread. */
void serve_acme_stop(struct serve_acme *acme);

/* For /metrics; safe from any thread. */
struct serve_acme_counters {
	uint64_t orders_ok;		/* certificates installed */
	uint64_t orders_failed;		/* orders that failed (not counting rate limits) */
	uint64_t rate_limited;		/* times the server said to wait */
	uint64_t accounts_replaced;	/* accounts found gone and made again */
	/*
	 * The hosted names whose certificate expires within 14 days, or that
	 * have none after a failure, at the last look.
	 */
	unsigned expiring;
};
void serve_acme_counters(const struct serve_acme *acme, struct serve_acme_counters *ret);

/* The file names of name's certificate chain and key under cert_dir. */
void serve_cert_paths(const char *cert_dir, const char *name, char *cert_path,
		      char *key_path, size_t size);

/* ---- worker processes (serve_workers.c) ---- */

/* The number of workers for the setting (0: one per online processor). */
unsigned serve_workers_count(unsigned setting);

/*
 * Fork count workers, each running worker_main(arg, index) and exiting
 * with what it returns; pass SIGHUP, SIGTERM and SIGINT on to them, start
 * another when one dies (unless they die too often), and return once all
 * have stopped: 0, or 71 when one failed or could not be started.  Once
 * every worker has called serve_workers_serving(), tell systemd READY and
 * call all_serving(arg) (may be NULL).
 */
int serve_workers_run(unsigned count, int (*worker_main)(void *arg, unsigned index),
		      void *arg, void (*all_serving)(void *arg));

/*
 * Hold SIGHUP, SIGTERM and SIGINT from the start, so that one that comes
 * before the handlers are set waits for them instead of killing the
 * daemon; release them once the handlers are set (one process), or let
 * serve_workers_run() and serve_workers_serving() take them over.
 */
void serve_signals_hold(void);
void serve_signals_release(void);

/*
 * In a worker, once its signal handlers are set: the signals held since
 * the fork are delivered, and the supervisor hears that it serves.
 */
void serve_workers_serving(void);

/* count metrics slots in memory shared with the workers forked later. */
struct serve_metrics *serve_metrics_shared(size_t count);
void serve_metrics_shared_free(struct serve_metrics *slots, size_t count);

/* ---- hosted policies (serve_hosting.c) ---- */

/*
 * The policies served, by host name mta-sts.<domain>: a hash table built
 * from the registry (domain_registry_each, hosted_policy_render) at start
 * and built anew whenever the registry's generation changes (looked at
 * every registry_poll seconds) or on serve_hosting_reload(); the new
 * table replaces the old one whole, between two requests.  A row that
 * cannot be read is logged by name and counted; the others are served.
 * A registry that fails later keeps the table in use and is tried again.
 */
struct serve_hosting;

struct serve_hosted {
	const char *name;		/* mta-sts.<domain>, lower case */
	const char *body;		/* the policy file, CRLF lines */
	size_t body_len;
	const char *etag;		/* quoted */
	int64_t serve_until;		/* removal: not served from then on; 0: hosted */
};

/* Open the registry (as the user serve runs as) and build the table; -1 with why. */
int serve_hosting_open(struct event_base *base, const struct serve_config *config,
		       struct serve_metrics *metrics, struct serve_hosting **ret_hosting,
		       char *why, size_t why_size);

/* changed(arg) runs on the loop after each new table (certificates, ACME). */
void serve_hosting_on_change(struct serve_hosting *hosting, void (*changed)(void *arg),
			     void *arg);

/*
 * Whether this process drops the domains whose removal is over from the
 * registry (one worker does), at most every SERVE_PURGE_INTERVAL_S.
 */
#define SERVE_PURGE_INTERVAL_S 60
void serve_hosting_set_purging(struct serve_hosting *hosting, bool purges);

/* Build the table again now (SIGHUP); a failure keeps the one in use. */
void serve_hosting_reload(struct serve_hosting *hosting);

/* The policy for host (any case, one final dot allowed) at now; NULL: none. */
const struct serve_hosted *serve_hosting_find(const struct serve_hosting *hosting,
					      const char *host, int64_t now);

/* fn(arg, name) for every hosted name; suits serve_tls_hosted_sync(). */
void serve_hosting_each_name(void *hosting, serve_name_fn *fn, void *arg);

void serve_hosting_free(struct serve_hosting *hosting);

/* ---- the HTTP server ---- */

struct serve_server;

/*
 * Bind the listeners of config (before privileges go) on base; tls may be
 * NULL when there are only plain listeners.  On failure a sentence in why.
 */
int serve_server_bind(struct event_base *base, const struct serve_config *config,
		      struct serve_tls *tls, struct serve_server **ret_server,
		      char *why, size_t why_size);

/*
 * Serve with store_location (opened now and again whenever it failed, as
 * the user the process now runs as).  With retention_days, reports whose
 * period ended longer ago are removed on the loop right after, then every
 * prune_interval seconds; a failure there is logged and tried again at the
 * next one.
 */
int serve_server_start(struct serve_server *server, const char *store_location);

/*
 * The settings that may change while serving (SIGHUP), read again from the
 * config given to serve_server_bind(): limits (for new connections),
 * metrics_allow, max_connections, retention_days and prune_interval (a
 * changed retention prunes at once).  The report path is read per request.
 */
void serve_server_apply(struct serve_server *server);

/* Stop accepting; done runs once the connections have gone. */
void serve_server_drain(struct serve_server *server, void (*done)(void *arg), void *arg);

size_t serve_server_connections(const struct serve_server *server);

struct serve_metrics *serve_server_metrics(struct serve_server *server);

/*
 * Make the server worker index of count (before serve_server_start()):
 * it counts into slots[index] and answers /metrics with the sum of all
 * count slots; only worker 0 prunes the report store.
 */
void serve_server_set_worker(struct serve_server *server, struct serve_metrics *slots,
			     size_t count, size_t index);

/*
 * Serve the policies of hosting (GET /.well-known/mta-sts.txt by SNI and
 * Host) and the http-01 answers of challenges on listen_http; either may
 * be NULL.  Before serve_server_start().
 */
void serve_server_set_hosting(struct serve_server *server, struct serve_hosting *hosting,
			      struct serve_challenges *challenges);

void serve_server_free(struct serve_server *server);

#endif
