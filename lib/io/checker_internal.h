/*
 * checker_internal.h - what the parts of the deployment check share: the
 * state of one domain's check and the helpers its callbacks use.  Not API.
 */
#ifndef MTASTS_IO_CHECKER_INTERNAL_H
#define MTASTS_IO_CHECKER_INTERNAL_H

#include <mtasts/mx.h>

#include "checker.h"

#define NAME_BUF (MTASTS_HOST_NAME_MAX + 32)

struct check_state {
	struct event_base *base;
	struct resolver *resolver;
	struct http_client *http;
	struct checker_options opt;
	check_done_fn *fn;
	void *arg;
	struct check_result *r;
	unsigned pending;
	char policy_host[NAME_BUF];
	bool txt_missing;		/* no MTA-STS record at all */
	enum resolver_status host_status;
	char *body;			/* the policy body judged */
	size_t body_len;
	char body_ip[64];		/* where it came from */
	bool inconsistent;
};

/* One address of the policy host or of an MX host, being fetched or probed. */
struct address_op {
	struct check_state *s;
	struct checked_address *where;	/* NULL for the policy host */
	const char *host;
	char ip[64];
	struct sockaddr_storage address;
};

/* Every started operation is ended once; the last end finishes the check. */
void check_op_begin(struct check_state *s);
void check_op_end(struct check_state *s);

struct address_op *check_address_op(struct check_state *s, const char *host,
				    const struct sockaddr_storage *ss);
void check_address_text(const struct sockaddr_storage *ss, char *out, size_t size);
bool check_tls_version_old(const char *version);

/* The TXT records of an answer, for the parsers. */
size_t check_txt_records(const struct mtasts_dns_message *m, struct mtasts_bytes *out,
			 size_t max);

/* The first error of a parse: its message, and its code in *ret_code. */
const char *check_first_error(const struct mtasts_diags *diags, const char **ret_code);

/* Findings about a certificate a probe saw; prefix "host" or "mx". */
void check_certificate(struct check_state *s, const struct probe_certificate *c,
		       const char *prefix, const char *host, const char *ip);

/* checker_mx.c: the MX lookup and all that follows from it. */
void check_mx_answer(void *arg, const struct dns_answer *answer);

/* checker_tlsrpt.c: the TLSRPT record, and its https: endpoints. */
void check_tlsrpt_answer(void *arg, const struct dns_answer *answer);

#endif
