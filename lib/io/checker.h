/*
 * checker.h - the deployment check of one domain: every lookup, fetch and
 * probe it needs, run concurrently on one event loop, turned into findings
 * (mtasts/check.h) by the pure rules and by what each probe saw.
 */
#ifndef MTASTS_IO_CHECKER_H
#define MTASTS_IO_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <mtasts/check.h>
#include <mtasts/check_rules.h>
#include <mtasts/mx.h>
#include <mtasts/policy.h>

#include "fetcher.h"
#include "http.h"
#include "probe.h"
#include "resolver.h"

#define CHECK_MX_MAX 16
#define CHECK_ADDRESSES_MAX FETCH_ADDRESSES_MAX

struct checker_options {
	X509_STORE *store;		/* shared with the probes; NULL: ca_file */
	const char *ca_file;
	unsigned timeout_ms;		/* the whole check of the domain */
	unsigned connect_timeout_ms;	/* connecting, within that */
	bool skip_smtp;
	bool probe_rua;
	const char *helo_name;
	struct probe_list *probes;	/* where probes are tracked; may be NULL */
	time_t now;			/* 0: the clock */
	mtasts_public_suffix_fn *is_public_suffix;
	void *public_suffix_arg;
};

/* What one probe of one address saw, kept after the probe's callback. */
struct checked_address {
	char ip[64];
	bool probed;
	enum probe_stage stage;
	bool timed_out;
	bool starttls;
	const char *tls_version;	/* static strings from OpenSSL */
	const char *cipher;
	bool has_certificate;
	size_t name_count;
	char **names;			/* every subjectAltName dNSName */
	char *issuer;
	time_t not_after;
	bool certificate_valid;		/* the judgement of tls_verify.h */
};

struct checked_mx {
	char host[MTASTS_HOST_NAME_MAX + 2];
	unsigned preference;
	size_t address_count;
	struct checked_address addresses[CHECK_ADDRESSES_MAX];
};

/* Parts of a check that were not made, and so cannot have passed. */
enum check_part {
	CHECK_PART_SMTP = 1u << 0,	/* STARTTLS and certificates of the MX hosts */
	CHECK_PART_RUA = 1u << 1,	/* TLS of the https: report endpoints */
};

struct check_result {
	char *domain;
	unsigned not_checked;		/* enum check_part bits */
	bool host_certificate_seen;
	time_t host_certificate_not_after;	/* the earliest of its addresses */
	struct mtasts_report report;
	struct fetch_result *discovery;	/* what a sender's discovery found */
	bool local_error;		/* this machine ran out of something */
	bool resolver_silent;		/* ... or its resolver answers nothing */
	bool timed_out;			/* the time limit cut the check short */
	char *txt_id;
	struct mtasts_policy *policy;	/* NULL when none parsed */
	const char *policy_body;	/* the body judged (in discovery), or NULL */
	size_t policy_body_len;
	size_t mx_count;
	struct checked_mx mx[CHECK_MX_MAX];
};

typedef void check_done_fn(void *arg, struct check_result *result);

/* 0 when started (fn called later, exactly once), or a negative errno. */
int check_domain(struct event_base *base, struct resolver *resolver,
		 struct http_client *http, const struct checker_options *options,
		 const char *domain, check_done_fn *fn, void *arg);

struct check_result *check_result_free(struct check_result *result);

#endif
