/*
 * fetcher.c - policy discovery for one domain: a small state machine of
 * callbacks (TXT answer, address answer, HTTP responses), each step
 * deciding the outcome or starting the next, under one deadline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509_vfy.h>

#include <mtasts/dns.h>
#include <mtasts/mx.h>
#include <mtasts/txt.h>

#include "fetcher.h"
#include "hostname.h"
#include "resources.h"
#include "tls_verify.h"
#include "util.h"

struct discovery {
	struct resolver *resolver;
	struct http_client *http;
	struct fetch_options opt;
	fetch_done_fn *fn;
	void *arg;
	struct fetch_result *result;	/* handed over when concluded */
	struct event *deadline;
	long long deadline_at;		/* monotonic ms */
	unsigned pending;		/* lookups and requests not yet answered */
	unsigned attempts_running;
	bool record_judged;		/* the TXT step is over */
	bool host_judged;		/* the policy host step (and its requests) is over */
	struct fetch_outcome host;	/* its outcome, when it failed */
	bool concluded;
	char policy_host[MTASTS_HOST_NAME_MAX + 16];
};

/* The callback argument of one HTTPS request. */
struct request {
	struct discovery *d;
	size_t index;			/* into result->attempts */
};

static void attempt_release(struct fetch_attempt *a)
{
	free(a->content_type);
	free(a->location);
	free(a->body);
	mtasts_policy_free(a->policy);
}

struct fetch_result *fetch_result_free(struct fetch_result *r)
{
	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < r->attempt_count; i++)
		attempt_release(&r->attempts[i]);
	free(r->attempts);
	free(r->domain);
	free(r->txt_id);
	free(r);
	return NULL;
}

static void set_outcome(struct fetch_outcome *o, enum mtasts_fetch_status status,
			enum mtasts_result_type type, const char *check,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void vset_outcome(struct fetch_outcome *o, enum mtasts_fetch_status status,
			 enum mtasts_result_type type, const char *check,
			 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vset_outcome(struct fetch_outcome *o, enum mtasts_fetch_status status,
			 enum mtasts_result_type type, const char *check,
			 const char *fmt, va_list ap)
{
	o->status = status;
	o->result_type = type;
	o->check = check;
	o->local = check != NULL && strcmp(check, "local") == 0;
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
}

static void set_outcome(struct fetch_outcome *o, enum mtasts_fetch_status status,
			enum mtasts_result_type type, const char *check,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_outcome(o, status, type, check, fmt, ap);
	va_end(ap);
}

static void discovery_free(struct discovery *d)
{
	if (d->deadline != NULL)
		event_free(d->deadline);
	fetch_result_free(d->result);
	free(d);
}

/* A callback came back: the discovery may now be done with. */
static void release(struct discovery *d)
{
	d->pending--;
	if (d->concluded && d->pending == 0)
		discovery_free(d);
}

/* The top of the result: what a sender concludes. */
static void adopt(struct fetch_result *r, const struct fetch_outcome *o)
{
	r->status = o->status;
	r->result_type = o->result_type;
	r->check = o->check;
	r->local = o->local;
	snprintf(r->reason, sizeof(r->reason), "%s", o->reason);
}

/* Hands the result over; late answers then only release the discovery. */
static void conclude(struct discovery *d)
{
	struct fetch_result *r = d->result;

	d->concluded = true;
	d->result = NULL;
	if (d->deadline != NULL) {
		event_free(d->deadline);
		d->deadline = NULL;
	}
	d->fn(d->arg, r);
	if (d->pending == 0)
		discovery_free(d);
}

static void conclude_with(struct discovery *d, enum mtasts_fetch_status status,
			  enum mtasts_result_type type, const char *check,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void conclude_with(struct discovery *d, enum mtasts_fetch_status status,
			  enum mtasts_result_type type, const char *check,
			  const char *fmt, ...)
{
	struct fetch_outcome o;
	va_list ap;

	va_start(ap, fmt);
	vset_outcome(&o, status, type, check, fmt, ap);
	va_end(ap);
	adopt(d->result, &o);
	conclude(d);
}

/* The first error of a parse, as the reason for people. */
static const char *first_error(const struct mtasts_diags *diags)
{
	const struct mtasts_diag *d = mtasts_diags_first_error(diags);

	return d != NULL ? d->message : "invalid";
}

/* ------------------------------------------------------- the deadline */

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct discovery *d = arg;
	struct fetch_result *r = d->result;

	/* Every outcome has a reason: one without is still running. */
	for (size_t i = 0; i < r->attempt_count; i++)
		if (r->attempts[i].outcome.reason[0] == '\0')
			set_outcome(&r->attempts[i].outcome, MTASTS_FETCH_TEMP_FAIL,
				    MTASTS_RESULT_STS_POLICY_FETCH_ERROR, "timeout",
				    "no response within the time limit");
	if (!d->record_judged) {
		/* What a sender waits for first: the record's lookup. */
		set_outcome(&r->record, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE,
			    "txt-lookup", "the TXT lookup of _mta-sts.%s did not finish "
			    "within %u ms", r->domain, d->opt.timeout_ms);
		adopt(r, &r->record);
		conclude(d);
		return;
	}
	if (r->record.status != MTASTS_FETCH_POLICY) {
		/* A sender stopped at the record already. */
		adopt(r, &r->record);
		conclude(d);
		return;
	}
	conclude_with(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
		      "timeout", "no result within %u ms (%s)", d->opt.timeout_ms,
		      r->host_looked_up ? "fetching the policy" :
		      "looking up the policy host");
}

/* ---------------------------------------------------- HTTPS responses */

static char *copy_text(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void judge_failure(struct discovery *d, const struct http_response *resp,
			  struct fetch_outcome *o, long *ret_verify_error)
{
	const char *host = d->policy_host;

	switch (resp->outcome) {
	case HTTP_COMPLETED:
		break;
	case HTTP_TIMEOUT:
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			    "timeout", "https://%s/: %s", host, resp->error);
		break;
	case HTTP_CONNECT_FAILED:
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			    "https-connect", "cannot connect to %s port 443: %s", host,
			    resp->error);
		break;
	case HTTP_TLS_CERTIFICATE:
		*ret_verify_error = resp->verify_result;
		set_outcome(o, MTASTS_FETCH_INVALID, MTASTS_RESULT_STS_WEBPKI_INVALID,
			    resp->verify_result != X509_V_OK ?
			    tls_cert_check_name(resp->verify_result) : "tls-cert-untrusted",
			    "the certificate of %s is not valid: %s", host, resp->error);
		break;
	case HTTP_TLS_HANDSHAKE:
		set_outcome(o, MTASTS_FETCH_INVALID, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			    "tls-handshake", "no TLS 1.2 or newer session with %s: %s",
			    host, resp->error);
		break;
	case HTTP_RECEIVE_FAILED:
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			    "https-receive", "the response from %s broke off: %s", host,
			    resp->error);
		break;
	case HTTP_LOCAL_ERROR:
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "local",
			    "this machine ran out of resources while fetching from "
			    "%s: %s", host, resp->error);
		break;
	case HTTP_RESOLVE_FAILED:
	case HTTP_FAILED:
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			    "https", "fetching from %s failed: %s", host, resp->error);
		break;
	}
}

/* An mx written in Unicode is answered with the xn-- form to write. */
static const struct mtasts_policy_helpers parse_helpers = {
	.to_a_label = hostname_a_label,
};

static void judge_response(struct discovery *d, const struct http_response *resp,
			   struct fetch_attempt *a)
{
	enum mtasts_result_type type;
	enum mtasts_fetch_status status;
	char why[MTASTS_FETCH_REASON_MAX - 64];
	const char *check;
	int rc;

	if (resp->remote_ip != NULL && a->address[0] == '\0')
		snprintf(a->address, sizeof(a->address), "%s", resp->remote_ip);
	if (resp->outcome != HTTP_COMPLETED) {
		judge_failure(d, resp, &a->outcome, &a->verify_error);
		return;
	}
	a->http_status = resp->status;
	a->content_type = copy_text(resp->content_type);
	a->location = copy_text(resp->location);
	status = mtasts_http_response_check(resp->status, resp->content_type,
					    resp->location, resp->truncated,
					    MTASTS_POLICY_BODY_MAX, &type, &check,
					    why, sizeof(why));
	if (status != MTASTS_FETCH_POLICY) {
		set_outcome(&a->outcome, status, type, check,
			    "https://%s/.well-known/mta-sts.txt: %s", d->policy_host, why);
		return;
	}
	if ((a->body = malloc(resp->body_len + 1)) == NULL) {
		set_outcome(&a->outcome, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE,
			    "local", "out of memory");
		return;
	}
	memcpy(a->body, resp->body, resp->body_len);
	a->body[resp->body_len] = '\0';
	a->body_len = resp->body_len;
	a->responded = true;
	rc = mtasts_policy_parse_with(a->body, a->body_len, &parse_helpers, &a->policy,
				      &a->diags);
	if (rc == MTASTS_ERR_NOMEM) {
		set_outcome(&a->outcome, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE,
			    "local", "out of memory");
	} else if (rc != MTASTS_OK) {
		set_outcome(&a->outcome, MTASTS_FETCH_INVALID,
			    MTASTS_RESULT_STS_POLICY_INVALID, "policy-syntax", "%s",
			    first_error(&a->diags));
	} else {
		set_outcome(&a->outcome, MTASTS_FETCH_POLICY, MTASTS_RESULT_NONE, NULL,
			    "policy fetched from %s (%s)", d->policy_host,
			    a->address[0] != '\0' ? a->address : "?");
	}
}

/* Attempts in the order of their addresses: the same lab, the same report. */
static int by_address(const void *x, const void *y)
{
	const struct fetch_attempt *a = x, *b = y;

	return strcmp(a->address, b->address);
}

/*
 * Both steps are over: the record that failed is what a sender stops at,
 * else what came of the policy host.
 */
static void finish(struct discovery *d)
{
	struct fetch_result *r = d->result;

	if (!d->record_judged || !d->host_judged)
		return;
	if (r->record.status != MTASTS_FETCH_POLICY) {
		adopt(r, &r->record);
		r->diags = &r->txt_diags;
	} else {
		adopt(r, &d->host);
	}
	if (r->status != MTASTS_FETCH_POLICY)
		r->policy = NULL;
	conclude(d);
}

/*
 * Every request is in.  A sender's discovery has one; with each_address
 * the first failure (by address) is what some senders see, and so what
 * is reported, else the policy from the first address.
 */
static void attempts_done(struct discovery *d)
{
	struct fetch_result *r = d->result;
	const struct fetch_attempt *chosen = NULL;

	if (r->attempt_count > 1)
		qsort(r->attempts, r->attempt_count, sizeof(r->attempts[0]), by_address);
	for (size_t i = 0; i < r->attempt_count && chosen == NULL; i++)
		if (r->attempts[i].outcome.status != MTASTS_FETCH_POLICY)
			chosen = &r->attempts[i];
	if (chosen == NULL)
		chosen = &r->attempts[0];
	if (chosen->outcome.status == MTASTS_FETCH_POLICY) {
		r->policy = chosen->policy;
		r->diags = &chosen->diags;
		r->body = chosen->body;
		r->body_len = chosen->body_len;
	} else if (chosen->responded) {
		r->diags = &chosen->diags;
		r->body = chosen->body;
		r->body_len = chosen->body_len;
	}
	d->host = chosen->outcome;
	d->host_judged = true;
	finish(d);
}

static void on_http(void *arg, const struct http_response *resp)
{
	struct request *req = arg;
	struct discovery *d = req->d;

	if (!d->concluded) {
		judge_response(d, resp, &d->result->attempts[req->index]);
		if (--d->attempts_running == 0) {
			free(req);
			d->pending--;
			attempts_done(d);
			return;
		}
	}
	free(req);
	release(d);
}

static unsigned remaining_ms(struct discovery *d);

static void start_request(struct discovery *d, size_t index,
			  const struct sockaddr_storage *addresses, size_t count)
{
	struct fetch_attempt *a = &d->result->attempts[index];
	char url[sizeof(d->policy_host) + 64];
	struct http_request req = { 0 };
	struct request *ctx = calloc(1, sizeof(*ctx));
	int rc = -ENOMEM;

	if (count == 1)
		address_text(&addresses[0], a->address, sizeof(a->address));
	snprintf(url, sizeof(url), "https://%s/.well-known/mta-sts.txt", d->policy_host);
	req.url = url;
	req.host = d->policy_host;
	req.port = 443;
	req.addresses = addresses;
	req.address_count = count;
	req.timeout_ms = remaining_ms(d);
	if (ctx != NULL) {
		ctx->d = d;
		ctx->index = index;
		d->pending++;
		d->attempts_running++;
		if ((rc = http_get(d->http, &req, on_http, ctx)) == 0)
			return;
		d->pending--;
		d->attempts_running--;
		free(ctx);
	}
	set_outcome(&a->outcome, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE,
		    resources_errno_is_local(-rc) ? "local" : "https",
		    "cannot start the HTTPS request: %s", strerror(-rc));
}

/* ------------------------------------------------------ the policy host */

static void on_addresses(void *arg, const struct address_answer *answer)
{
	struct discovery *d = arg;
	struct fetch_result *r = d->result;
	size_t count;

	if (d->concluded) {
		release(d);
		return;
	}
	d->pending--;
	if (d->opt.observer != NULL && d->opt.observer->addresses != NULL)
		d->opt.observer->addresses(d->opt.observer->arg, answer);
	r->host_looked_up = true;
	r->host_status = answer->status;
	if (answer->status != RESOLVER_OK || answer->count == 0) {
		bool temporary = resolver_status_is_temporary(answer->status);

		bool local = answer->status == RESOLVER_LOCAL ||
			     answer->status == RESOLVER_SILENT;

		set_outcome(&d->host, temporary ? MTASTS_FETCH_TEMP_FAIL :
			    MTASTS_FETCH_INVALID, local ? MTASTS_RESULT_NONE :
			    MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			    local ? "local" : "policy-host-dns",
			    "the policy host %s has no address: %s",
			    d->policy_host, resolver_status_name(answer->status));
		d->host_judged = true;
		finish(d);
		return;
	}
	r->host_address_count = answer->count;
	count = d->opt.each_address ? answer->count : 1;
	if (count > FETCH_ADDRESSES_MAX)
		count = FETCH_ADDRESSES_MAX;
	if ((r->attempts = calloc(count, sizeof(*r->attempts))) == NULL) {
		conclude_with(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "local",
			      "out of memory");
		return;
	}
	r->attempt_count = count;
	for (size_t i = 0; i < count; i++)
		mtasts_diags_init(&r->attempts[i].diags);
	/* Keep the discovery from concluding while requests are started. */
	d->attempts_running++;
	for (size_t i = 0; i < count; i++) {
		if (d->opt.each_address)
			start_request(d, i, &answer->addresses[i], 1);
		else
			start_request(d, i, answer->addresses, answer->count);
	}
	if (--d->attempts_running == 0)
		attempts_done(d);
}

static void lookup_policy_host(struct discovery *d)
{
	int rc;

	d->pending++;
	if ((rc = resolver_addresses(d->resolver, d->policy_host, on_addresses, d)) != 0) {
		d->pending--;
		conclude_with(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "local",
			      "cannot start the lookup of %s: %s", d->policy_host,
			      strerror(-rc));
	}
}

/* ---------------------------------------------------------- the record */

/* The record step's outcome; false when the discovery stops here. */
static bool judge_record(struct discovery *d, const struct dns_answer *answer,
			 const char *txt_name)
{
	struct fetch_result *r = d->result;
	struct fetch_outcome *o = &r->record;
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX + 1];
	struct mtasts_sts_record *record = NULL;
	size_t n;
	int rc;

	if (answer->status == RESOLVER_LOCAL || answer->status == RESOLVER_SILENT) {
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "local",
			    "the TXT lookup of %s could not be made: %s", txt_name,
			    resolver_status_name(answer->status));
		return false;
	}
	if (answer->status == RESOLVER_NXDOMAIN || answer->status == RESOLVER_NODATA) {
		set_outcome(o, MTASTS_FETCH_NO_POLICY, MTASTS_RESULT_NONE, "txt-lookup",
			    "no TXT record at %s (%s)", txt_name,
			    resolver_status_name(answer->status));
		return false;
	}
	if (answer->status != RESOLVER_OK) {
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "txt-lookup",
			    "the TXT lookup of %s failed: %s", txt_name,
			    resolver_status_name(answer->status));
		return false;
	}
	/* One more than the parser takes, so that too many is seen as such. */
	n = mtasts_dns_message_txt_records(answer->message, records,
					   MTASTS_TXT_RECORDS_MAX + 1);
	if (n > MTASTS_TXT_RECORDS_MAX + 1)
		n = MTASTS_TXT_RECORDS_MAX + 1;
	rc = mtasts_sts_record_parse(records, n, &record, &r->txt_diags);
	if (rc == MTASTS_ERR_NO_RECORD) {
		set_outcome(o, MTASTS_FETCH_NO_POLICY, MTASTS_RESULT_NONE, "txt-record",
			    "no TXT record at %s begins with \"v=STSv1;\"", txt_name);
		return false;
	}
	if (rc == MTASTS_ERR_NOMEM) {
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "local",
			    "out of memory");
		return false;
	}
	if (rc != MTASTS_OK) {
		set_outcome(o, MTASTS_FETCH_INVALID, MTASTS_RESULT_STS_POLICY_INVALID,
			    "txt-record", "%s: %s", txt_name, first_error(&r->txt_diags));
		return false;
	}
	r->txt_id = strdup(record->id);
	mtasts_sts_record_free(record);
	if (r->txt_id == NULL) {
		set_outcome(o, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "local",
			    "out of memory");
		return false;
	}
	set_outcome(o, MTASTS_FETCH_POLICY, MTASTS_RESULT_NONE, NULL, "id %s", r->txt_id);
	return true;
}

static void on_txt(void *arg, const struct dns_answer *answer)
{
	struct discovery *d = arg;
	struct fetch_result *r;
	char txt_name[MTASTS_HOST_NAME_MAX + 16];

	if (d->concluded) {
		release(d);
		return;
	}
	d->pending--;
	r = d->result;
	if (d->opt.observer != NULL && d->opt.observer->txt != NULL)
		d->opt.observer->txt(d->opt.observer->arg, answer);
	snprintf(txt_name, sizeof(txt_name), "_mta-sts.%s", r->domain);
	d->record_judged = true;
	if (d->opt.past_record_failure) {
		/* The policy host is being looked at already. */
		judge_record(d, answer, txt_name);
		finish(d);
	} else if (judge_record(d, answer, txt_name)) {
		if (d->opt.known_id != NULL && strcmp(r->txt_id, d->opt.known_id) == 0) {
			r->id_unchanged = true;
			adopt(r, &r->record);
			conclude(d);
			return;
		}
		lookup_policy_host(d);
	} else {
		adopt(r, &r->record);
		conclude(d);
	}
}

/* ---------------------------------------------------------------- start */

/* What is left of the time limit, for a request's own limit; 0: none. */
static unsigned remaining_ms(struct discovery *d)
{
	long long left;

	if (d->deadline == NULL)
		return 0;
	left = d->deadline_at - monotonic_ms();
	return left > 0 ? (unsigned)left : 1;
}

/*
 * A host name in A-labels, lower case, no final dot (hostname.c), short
 * enough for "_mta-sts." to go in front.
 */
static bool normalize_domain(struct discovery *d, const char *domain)
{
	struct fetch_result *r = d->result;
	char name[HOSTNAME_BUF], why[160], *copy;
	size_t len;

	if (hostname_normalize(domain, name, sizeof(name), why, sizeof(why)) != 0) {
		conclude_with(d, MTASTS_FETCH_INVALID, MTASTS_RESULT_NONE, "domain-name",
			      "\"%s\" is not a domain name: %s", domain, why);
		return false;
	}
	len = strlen(name);
	if (len > MTASTS_HOST_NAME_MAX - strlen("_mta-sts.")) {
		conclude_with(d, MTASTS_FETCH_INVALID, MTASTS_RESULT_NONE, "domain-name",
			      "the domain name is %zu octets; with \"_mta-sts.\" in "
			      "front it would be longer than a DNS name may be", len);
		return false;
	}
	/* An A-label may be longer than the U-label it spells. */
	if ((copy = strdup(name)) == NULL) {
		conclude_with(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "local",
			      "out of memory");
		return false;
	}
	free(r->domain);
	r->domain = copy;
	return true;
}

int fetch_policy(struct event_base *base, struct resolver *resolver,
		 struct http_client *http, const char *domain,
		 const struct fetch_options *options, fetch_done_fn *fn, void *arg)
{
	static const struct fetch_options defaults = { 0 };
	struct discovery *d = calloc(1, sizeof(*d));
	char txt_name[MTASTS_HOST_NAME_MAX + 16];
	int rc;

	if (d == NULL || (d->result = calloc(1, sizeof(*d->result))) == NULL ||
	    (d->result->domain = strdup(domain)) == NULL) {
		if (d != NULL)
			fetch_result_free(d->result);
		free(d);
		return -ENOMEM;
	}
	d->resolver = resolver;
	d->http = http;
	d->opt = options != NULL ? *options : defaults;
	d->fn = fn;
	d->arg = arg;
	mtasts_diags_init(&d->result->txt_diags);
	d->result->diags = &d->result->txt_diags;
	d->result->host_status = RESOLVER_ERROR;
	if (d->opt.timeout_ms > 0) {
		struct timeval limit = { d->opt.timeout_ms / 1000,
					 (d->opt.timeout_ms % 1000) * 1000 };

		d->deadline_at = monotonic_ms() + d->opt.timeout_ms;
		if ((d->deadline = evtimer_new(base, on_deadline, d)) == NULL ||
		    evtimer_add(d->deadline, &limit) != 0) {
			discovery_free(d);
			return -ENOMEM;
		}
	}
	if (!normalize_domain(d, domain))
		return 0;
	snprintf(txt_name, sizeof(txt_name), "_mta-sts.%s", d->result->domain);
	snprintf(d->policy_host, sizeof(d->policy_host), "mta-sts.%s", d->result->domain);
	/* Held while starting: a lookup may end (and conclude) at once. */
	d->pending += 2;
	if ((rc = resolver_query(resolver, txt_name, MTASTS_DNS_TYPE_TXT, on_txt, d)) != 0) {
		discovery_free(d);
		return rc;
	}
	/* A checker wants both steps whatever the first says: at once. */
	if (!d->concluded && d->opt.past_record_failure)
		lookup_policy_host(d);
	release(d);
	return 0;
}
