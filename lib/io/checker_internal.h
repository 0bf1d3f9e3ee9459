/*
 * checker_internal.h - what the parts of the deployment check share: the
 * state of one domain's check and the helpers its callbacks use.  Not API.
 */
#ifndef MTASTS_IO_CHECKER_INTERNAL_H
#define MTASTS_IO_CHECKER_INTERNAL_H

#include <mtasts/mx.h>

#include "checker.h"

#define NAME_BUF (MTASTS_HOST_NAME_MAX + 32)

/* What the TLS probe of one address of the policy host saw. */
struct host_probe {
	char ip[64];
	bool done;
	enum probe_stage stage;
	const char *tls_version;	/* static strings from OpenSSL */
	bool has_certificate;
	struct tls_judgement judgement;
	char *subject;
	char *issuer;
	char **names;
	size_t name_count;
	long days_to_expiry;
	time_t not_after;
};

/* A probe waiting for its turn (at most CHECK_PROBES_RUNNING at once). */
struct queued_probe {
	struct queued_probe *next;
	struct probe_request request;
	probe_done_fn *fn;
	void *arg;
};

/*
 * Probes of one domain running at once: with the fetches of the policy
 * host, what bounds the descriptors a check holds (CHECK_FDS_PER_DOMAIN
 * of the program); a domain with many MX addresses waits its turn.
 */
#define CHECK_PROBES_RUNNING 12

struct check_state {
	struct event_base *base;
	struct resolver *resolver;
	struct http_client *http;
	struct checker_options opt;
	check_done_fn *fn;
	void *arg;
	struct check_result *r;		/* the caller's once delivered */
	unsigned pending;
	bool delivered;			/* late operations only end */
	struct event *deadline;		/* opt.timeout_ms */
	long long inner_deadline_ms;	/* monotonic: probes end by then */
	unsigned inner_timeout_ms;	/* of the discovery and probes: a little
					 * less, so their failures are in time */
	char policy_host[NAME_BUF];
	bool txt_missing;		/* no MTA-STS record at all */
	struct fetch_observer observer;
	struct fetch_options fetch;
	size_t host_probe_count;
	struct host_probe host_probes[CHECK_ADDRESSES_MAX];
	unsigned probes_running;
	struct queued_probe *probe_queue, *probe_queue_tail;
};

/* One address of the policy host or of an MX host, being fetched or probed. */
struct address_op {
	struct check_state *s;
	struct checked_address *where;	/* NULL for the policy host */
	const char *host;
	char ip[64];
	struct sockaddr_storage address;
};

/*
 * Every started operation is ended once; the last end finishes the check.
 * After the time limit the result is delivered early: an operation ending
 * later must not touch s->r, so each callback asks check_late() first.
 */
void check_op_begin(struct check_state *s);
void check_op_end(struct check_state *s);
bool check_late(const struct check_state *s);

/* A lookup this machine could not make: noted, and no finding (true). */
bool check_local(struct check_state *s, enum resolver_status status);

/* A copy of a NULL-terminated list of names; NULL when out of memory. */
char **check_names_copy(char *const *names, size_t count);

/* A probe of address:port for server_name, with the check's settings. */
struct probe_request check_probe_request(const struct check_state *s,
					 const struct sockaddr_storage *address,
					 uint16_t port, const char *server_name);

/*
 * Start a probe now, or queue it while CHECK_PROBES_RUNNING run.  fn is
 * called exactly once (with a failed result when a queued probe cannot
 * start); the caller has begun an operation for it.  Every probe callback
 * calls check_probe_ended() first.
 */
void check_probe_start(struct check_state *s, const struct probe_request *request,
		       probe_done_fn *fn, void *arg);
void check_probe_ended(struct check_state *s);

struct address_op *check_address_op(struct check_state *s, const char *host,
				    const struct sockaddr_storage *ss);
void check_address_text(const struct sockaddr_storage *ss, char *out, size_t size);
bool check_tls_version_old(const char *version);

/* The TXT records of an answer, for the parsers. */
size_t check_txt_records(const struct mtasts_dns_message *m, struct mtasts_bytes *out,
			 size_t max);

/* The first error of a parse: its message, and its code in *ret_code. */
const char *check_first_error(const struct mtasts_diags *diags, const char **ret_code);

/*
 * Findings about a certificate: one for each kind of error its judgement
 * found, but skip_kind (already reported), and one for a near expiry;
 * prefix "host" or "mx".
 */
void check_certificate(struct check_state *s, const struct tls_judgement *j,
		       const char *subject, const char *issuer, char *const *names,
		       size_t name_count, long days_to_expiry, const char *prefix,
		       const char *host, const char *ip, enum tls_cert_kind skip_kind);

/* checker_mx.c: the MX lookup and all that follows from it. */
void check_mx_answer(void *arg, const struct dns_answer *answer);

/* checker_tlsrpt.c: the TLSRPT record, and its https: endpoints. */
void check_tlsrpt_answer(void *arg, const struct dns_answer *answer);

#endif
