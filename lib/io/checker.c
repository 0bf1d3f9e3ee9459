/*
 * checker.c - the deployment check of one domain.  The policy is found by
 * the one discovery (fetcher.c), asked to fetch from every address of the
 * policy host and to go on past a bad record; it lets the checker see the
 * TXT answer and the addresses as they come, so the TLS probes of the
 * policy host start at once.  Everything else (apex TXT, MX, TLSRPT) runs
 * concurrently; a count of pending operations says when the last one is
 * in, and then the rules that need everything (the discovery's outcomes,
 * coverage, the certificates against the policy) run and the result goes
 * to the caller.  This file holds the MTA-STS record and the policy host;
 * checker_mx.c the MX hosts; checker_tlsrpt.c the TLSRPT record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509_vfy.h>

#include <mtasts/fetch.h>
#include <mtasts/txt.h>

#include "checker_internal.h"
#include "hostname.h"
#include "resources.h"
#include "util.h"

/* The TTL of the record the txt-ttl finding advises (an hour). */
#define TXT_TTL_ADVISED 3600

static void finish(struct check_state *s);
static void state_free(struct check_state *s);

void check_op_begin(struct check_state *s)
{
	s->pending++;
}

void check_op_end(struct check_state *s)
{
	if (--s->pending > 0)
		return;
	if (s->delivered)
		state_free(s);
	else
		finish(s);
}

bool check_late(const struct check_state *s)
{
	return s->delivered;
}

bool check_local(struct check_state *s, enum resolver_status status)
{
	if (status != RESOLVER_LOCAL && status != RESOLVER_SILENT)
		return false;
	s->r->local_error = true;
	s->r->resolver_silent |= status == RESOLVER_SILENT;
	return true;
}

char **check_names_copy(char *const *names, size_t count)
{
	char **copy = calloc(count + 1, sizeof(*copy));

	for (size_t i = 0; copy != NULL && i < count; i++)
		if ((copy[i] = strdup(names[i])) == NULL)
			copy = tls_names_free(copy);
	return copy;
}

void check_address_text(const struct sockaddr_storage *ss, char *out, size_t size)
{
	if (!address_text(ss, out, size))
		snprintf(out, size, "?");
}

bool check_tls_version_old(const char *version)
{
	return version != NULL && (strcmp(version, "TLSv1") == 0 ||
				   strcmp(version, "TLSv1.1") == 0 ||
				   strncmp(version, "SSL", 3) == 0);
}

/* ---------------------------------------------------------------- dns-txt */

static void add_txt_chain(struct check_state *s, const struct mtasts_dns_message *m)
{
	for (size_t i = 0; m != NULL && i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];
		struct mtasts_finding *f;

		if (rr->type == MTASTS_DNS_TYPE_CNAME) {
			f = mtasts_report_add(&s->r->report, "txt-cname", "%s is a CNAME "
					      "to %s", rr->name, rr->target);
			mtasts_finding_string(f, "name", rr->name);
			mtasts_finding_string(f, "target", rr->target);
		}
	}
}

static void add_txt_ttl(struct check_state *s, const struct mtasts_dns_message *m)
{
	/* The records the discovery reads: at the end of the CNAME chain. */
	const char *owner = mtasts_dns_message_final_name(m);

	for (size_t i = 0; m != NULL && i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];
		struct mtasts_finding *f;

		if (rr->type != MTASTS_DNS_TYPE_TXT || rr->text == NULL ||
		    strncmp(rr->text, "v=STSv1;", 8) != 0 || owner == NULL ||
		    strcmp(rr->name, owner) != 0)
			continue;
		/* The advice is an hour or less: met, nothing to say. */
		if (rr->ttl <= TXT_TTL_ADVISED)
			return;
		f = mtasts_report_add_as(&s->r->report, "txt-ttl", rr->ttl > 86400 ?
					 MTASTS_FINDING_WARNING : MTASTS_FINDING_INFO,
					 "the MTA-STS record has a TTL of %u seconds%s",
					 (unsigned)rr->ttl, rr->ttl > 86400 ? ", so a new id "
					 "may take over a day to be seen" : "");
		mtasts_finding_number(f, "ttl", rr->ttl);
		return;
	}
}

/* The TXT records of an answer, for the parsers: as the discovery reads them. */
size_t check_txt_records(const struct mtasts_dns_message *m, struct mtasts_bytes *out,
			 size_t max)
{
	size_t n = mtasts_dns_message_txt_records(m, out, max);

	return n < max ? n : max;
}

const char *check_first_error(const struct mtasts_diags *diags, const char **ret_code)
{
	const struct mtasts_diag *d = mtasts_diags_first_error(diags);

	*ret_code = d != NULL ? mtasts_code_name(d->code) : "none";
	return d != NULL ? d->message : "invalid";
}

static void judge_sts_record(struct check_state *s, const struct mtasts_bytes *records,
			     size_t count)
{
	struct mtasts_sts_record *rec = NULL;
	struct mtasts_diags diags;
	struct mtasts_finding *f;
	const char *code, *message;
	int rc;

	mtasts_diags_init(&diags);
	rc = mtasts_sts_record_parse(records, count, &rec, &diags);
	for (size_t i = 0; i < diags.count; i++)
		if (diags.items[i].code == MTASTS_TXT_UNRELATED_RECORD)
			mtasts_finding_string(mtasts_report_add(&s->r->report,
				"txt-unrelated", "%s", diags.items[i].message),
				"code", mtasts_code_name(diags.items[i].code));
	if (rc == MTASTS_ERR_NO_RECORD) {
		mtasts_report_add(&s->r->report, "txt-not-sts", "%zu TXT record%s at "
				  "_mta-sts.%s, none beginning with \"v=STSv1;\"", count,
				  count == 1 ? "" : "s", s->r->domain);
		s->txt_missing = true;
		return;
	}
	if (rc == MTASTS_OK) {
		s->r->txt_id = strdup(rec->id);
		mtasts_sts_record_free(rec);
		return;
	}
	message = check_first_error(&diags, &code);
	f = mtasts_report_add(&s->r->report, mtasts_diags_find(&diags,
			      MTASTS_TXT_MULTIPLE_RECORDS) != NULL ? "txt-multiple" :
			      "txt-invalid", "%s", message);
	mtasts_finding_string(f, "code", code);
}

/* The discovery's TXT answer, for the findings about the record. */
static void on_sts_txt(void *arg, const struct dns_answer *answer)
{
	struct check_state *s = arg;
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX + 1];
	struct mtasts_finding *f;
	size_t n;

	if (check_late(s) || check_local(s, answer->status))
		return;
	if (answer->status == RESOLVER_NXDOMAIN || answer->status == RESOLVER_NODATA) {
		mtasts_report_add(&s->r->report, "txt-missing", "no TXT record at "
				  "_mta-sts.%s (%s)", s->r->domain,
				  resolver_status_name(answer->status));
		s->txt_missing = true;
	} else if (answer->status != RESOLVER_OK) {
		f = mtasts_report_add(&s->r->report, "txt-lookup-failed", "the TXT "
				      "lookup at _mta-sts.%s failed: %s", s->r->domain,
				      resolver_status_name(answer->status));
		if (f != NULL)
			f->temporary = true;
	} else {
		add_txt_chain(s, answer->message);
		add_txt_ttl(s, answer->message);
		/* One more than the parser takes, so too many is seen as such. */
		n = check_txt_records(answer->message, records, MTASTS_TXT_RECORDS_MAX + 1);
		judge_sts_record(s, records, n);
	}
}

static void on_apex_txt(void *arg, const struct dns_answer *answer)
{
	struct check_state *s = arg;
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX + 1];
	size_t n = 0;

	if (check_late(s) || check_local(s, answer->status)) {
		check_op_end(s);
		return;
	}
	if (answer->status == RESOLVER_OK)
		n = check_txt_records(answer->message, records, MTASTS_TXT_RECORDS_MAX + 1);
	for (size_t i = 0; i < n; i++) {
		if (records[i].len >= 7 && memcmp(records[i].data, "v=STSv1", 7) == 0) {
			mtasts_report_add(&s->r->report, "txt-at-apex", "%s itself has "
					  "a TXT record beginning with v=STSv1",
					  s->r->domain);
			break;
		}
	}
	check_op_end(s);
}

/* ------------------------------------------------- policy-fetch, host TLS */

void check_certificate(struct check_state *s, const struct tls_judgement *j,
		       const char *subject, const char *issuer, char *const *names,
		       size_t name_count, long days_to_expiry, const char *prefix,
		       const char *host, const char *ip, enum tls_cert_kind skip_kind)
{
	bool reported[TLS_CERT_WEAK + 1] = { false };
	struct mtasts_finding *f;
	char id[48];

	if (skip_kind != TLS_CERT_OK)
		reported[skip_kind] = true;
	for (size_t i = 0; i < j->error_count; i++) {
		enum tls_cert_kind kind = tls_cert_kind_of(j->errors[i]);

		if (kind == TLS_CERT_OK || reported[kind])
			continue;
		reported[kind] = true;
		snprintf(id, sizeof(id), "%s-cert-%s", prefix, tls_cert_kind_name(kind));
		if (kind != TLS_CERT_NAME)
			f = mtasts_report_add(&s->r->report, id, "the certificate of %s "
					      "at %s: %s", host, ip,
					      tls_cert_error_text(j->errors[i]));
		else if (name_count == 0)
			f = mtasts_report_add(&s->r->report, id, "the certificate of %s "
					      "at %s has no DNS name (subjectAltName); "
					      "its subject (%s) does not count", host, ip,
					      subject != NULL ? subject : "empty");
		else
			f = mtasts_report_add(&s->r->report, id, "the certificate of %s "
					      "at %s names %s%s%s, not %s", host, ip,
					      names[0], name_count > 1 ? ", " : "",
					      name_count > 2 ? "and others" :
					      name_count == 2 ? names[1] : "", host);
		mtasts_finding_string(f, "host", host);
		mtasts_finding_string(f, "address", ip);
		mtasts_finding_string(f, "subject", subject);
		mtasts_finding_string(f, "issuer", issuer);
		mtasts_finding_string(f, "verify_error",
				      X509_verify_cert_error_string(j->errors[i]));
		if (kind != TLS_CERT_NAME)
			mtasts_finding_number(f, "days_to_expiry", days_to_expiry);
		else
			mtasts_finding_number(f, "dns_names", (long long)name_count);
	}
	if (j->valid && days_to_expiry < MTASTS_CERT_EXPIRY_WARN_DAYS) {
		snprintf(id, sizeof(id), "%s-cert-expiring", prefix);
		f = mtasts_report_add(&s->r->report, id, "the certificate of %s at %s "
				      "expires in %ld days", host, ip, days_to_expiry);
		mtasts_finding_string(f, "host", host);
		mtasts_finding_string(f, "address", ip);
		mtasts_finding_number(f, "days_to_expiry", days_to_expiry);
	}
}

static void on_policy_probe(void *arg, const struct probe_result *p)
{
	struct address_op *op = arg;
	struct check_state *s = op->s;
	struct host_probe *hp = (struct host_probe *)op->where;
	const struct probe_certificate *c = &p->certificate;

	check_probe_ended(s);
	if (!check_late(s)) {
		hp->done = true;
		hp->stage = p->stage;
		hp->tls_version = p->tls_version;
		if (p->local_error)
			s->r->local_error = true;
		if (p->stage == PROBE_STAGE_DONE && p->has_certificate) {
			hp->has_certificate = true;
			hp->judgement = c->judgement;
			hp->subject = c->subject != NULL ? strdup(c->subject) : NULL;
			hp->issuer = c->issuer != NULL ? strdup(c->issuer) : NULL;
			hp->names = check_names_copy(c->names, c->name_count);
			hp->name_count = hp->names != NULL ? c->name_count : 0;
			hp->days_to_expiry = c->days_to_expiry;
			hp->not_after = c->not_after;
		}
	}
	free(op);
	check_op_end(s);
}

/* A probe started late (after lookups) still ends before the domain does. */
static unsigned probe_time_left(const struct check_state *s)
{
	long long left;

	if (s->opt.timeout_ms == 0)
		return 0;
	left = s->inner_deadline_ms - monotonic_ms();
	return left > 1 ? (unsigned)left : 1;
}

struct probe_request check_probe_request(const struct check_state *s,
					 const struct sockaddr_storage *address,
					 uint16_t port, const char *server_name)
{
	struct probe_request probe = {
		.list = s->opt.probes,
		.address = address,
		.port = port,
		.server_name = server_name,
		.store = s->opt.store,
		.ca_file = s->opt.ca_file,
		.helo_name = s->opt.helo_name,
		.timeout_ms = probe_time_left(s),
		.connect_timeout_ms = s->opt.connect_timeout_ms,
		.now = s->opt.now,
	};

	return probe;
}

/* A probe that never ran, told to its callback like one that failed. */
static void probe_not_run(const struct probe_request *request, probe_done_fn *fn,
			  void *arg, const char *why, bool local)
{
	struct probe_result result = { .stage = PROBE_STAGE_CONNECT, .local_error = local };

	snprintf(result.error, sizeof(result.error), "%s", why);
	check_address_text(request->address, result.address, sizeof(result.address));
	fn(arg, &result);
}

static void probe_now(struct check_state *s, const struct probe_request *queued,
		      probe_done_fn *fn, void *arg)
{
	struct probe_request request = *queued;
	int rc;

	/* Its time counts from now, and ends with the domain's. */
	request.timeout_ms = probe_time_left(s);
	s->probes_running++;
	if ((rc = probe_start(s->base, &request, fn, arg)) != 0) {
		/* Its callback ends it, and so lets the next one go. */
		probe_not_run(&request, fn, arg, strerror(-rc),
			      resources_errno_is_local(-rc));
	}
}

void check_probe_start(struct check_state *s, const struct probe_request *request,
		       probe_done_fn *fn, void *arg)
{
	struct queued_probe *q;

	if (s->probes_running < CHECK_PROBES_RUNNING) {
		probe_now(s, request, fn, arg);
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		s->probes_running++;
		probe_not_run(request, fn, arg, "out of memory", true);
		return;
	}
	q->request = *request;
	q->fn = fn;
	q->arg = arg;
	if (s->probe_queue_tail != NULL)
		s->probe_queue_tail->next = q;
	else
		s->probe_queue = q;
	s->probe_queue_tail = q;
}

void check_probe_ended(struct check_state *s)
{
	struct queued_probe *q;

	s->probes_running--;
	if ((q = s->probe_queue) == NULL)
		return;
	if ((s->probe_queue = q->next) == NULL)
		s->probe_queue_tail = NULL;
	if (check_late(s)) {
		s->probes_running++;
		probe_not_run(&q->request, q->fn, q->arg, "not started: the time "
			      "limit was reached", false);
	} else {
		probe_now(s, &q->request, q->fn, q->arg);
	}
	free(q);
}

struct address_op *check_address_op(struct check_state *s, const char *host,
				    const struct sockaddr_storage *ss)
{
	struct address_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->s = s;
	op->host = host;
	op->address = *ss;
	check_address_text(ss, op->ip, sizeof(op->ip));
	return op;
}

static void probe_policy_host(struct check_state *s, const struct sockaddr_storage *ss)
{
	struct host_probe *hp = &s->host_probes[s->host_probe_count++];
	struct probe_request probe;
	struct address_op *op;

	check_address_text(ss, hp->ip, sizeof(hp->ip));
	if ((op = check_address_op(s, s->policy_host, ss)) == NULL) {
		s->r->local_error = true;	/* out of memory */
		return;
	}
	op->where = (struct checked_address *)hp;
	probe = check_probe_request(s, &op->address, 443, s->policy_host);
	check_op_begin(s);
	check_probe_start(s, &probe, on_policy_probe, op);
}

/* The discovery found the policy host's addresses: probe each at once. */
static void on_policy_host(void *arg, const struct address_answer *answer)
{
	struct check_state *s = arg;

	if (check_late(s) || answer->status != RESOLVER_OK)
		return;
	for (size_t i = 0; i < answer->count && i < CHECK_ADDRESSES_MAX; i++)
		probe_policy_host(s, &answer->addresses[i]);
}

static void on_discovered(void *arg, struct fetch_result *result)
{
	struct check_state *s = arg;

	if (check_late(s))
		fetch_result_free(result);
	else
		s->r->discovery = result;
	check_op_end(s);
}

/* ----------------------------------------------------------------- finish */

static const struct host_probe *probe_of(const struct check_state *s, const char *ip)
{
	for (size_t i = 0; i < s->host_probe_count; i++)
		if (s->host_probes[i].done && strcmp(s->host_probes[i].ip, ip) == 0)
			return &s->host_probes[i];
	return NULL;
}

/*
 * The finding for each check the discovery can fail, so that a failure
 * never disappears from the report: the first id is the one added; any of
 * them already present says it.
 */
struct failure_finding {
	const char *check;
	const char *ids[3];
};

static const struct failure_finding failure_findings[] = {
	{ "txt-lookup", { "txt-missing", "txt-lookup-failed" } },
	{ "txt-record", { "txt-invalid", "txt-multiple", "txt-not-sts" } },
	{ "policy-host-dns", { "policy-host-missing", "policy-host-lookup-failed" } },
	{ "https-connect", { "fetch-connect" } },
	{ "timeout", { "fetch-timeout" } },
	{ "https-receive", { "fetch-receive" } },
	{ "tls-handshake", { "host-tls-handshake", "host-tls-old" } },
	{ "http-redirect", { "fetch-redirect" } },
	{ "http-status", { "fetch-http-status" } },
	{ "media-type", { "fetch-media-type" } },
	{ "body-size", { "fetch-body-size" } },
	{ "policy-syntax", { "policy-syntax-error" } },
	{ "tls-cert-name", { "host-cert-name" } },
	{ "tls-cert-expired", { "host-cert-expired" } },
	{ "tls-cert-not-yet-valid", { "host-cert-not-yet-valid" } },
	{ "tls-cert-self-signed", { "host-cert-self-signed" } },
	{ "tls-cert-untrusted", { "host-cert-untrusted" } },
	{ "tls-cert-weak", { "host-cert-weak" } },
	{ "https", { "fetch-failed" } },
};

static const struct failure_finding *failure_finding(const char *check)
{
	for (size_t i = 0; check != NULL &&
	     i < sizeof(failure_findings) / sizeof(failure_findings[0]); i++)
		if (strcmp(failure_findings[i].check, check) == 0)
			return &failure_findings[i];
	return NULL;
}

static bool has_finding(const struct mtasts_report *report, const char *id)
{
	for (size_t i = 0; i < report->count; i++)
		if (strcmp(report->findings[i].def->id, id) == 0)
			return true;
	return false;
}

static bool has_finding_at(const struct mtasts_report *report, const char *id,
			   const char *ip)
{
	for (size_t i = 0; i < report->count; i++) {
		const struct mtasts_finding *f = &report->findings[i];

		if (strcmp(f->def->id, id) != 0)
			continue;
		for (size_t k = 0; k < f->evidence_count; k++)
			if (strcmp(f->evidence[k].key, "address") == 0 &&
			    f->evidence[k].string != NULL &&
			    strcmp(f->evidence[k].string, ip) == 0)
				return true;
	}
	return false;
}

/* What one address's failed fetch says, as findings. */
static void judge_attempt(struct check_state *s, const struct fetch_attempt *a)
{
	const struct fetch_outcome *o = &a->outcome;
	const struct failure_finding *ff = failure_finding(o->check);
	const struct host_probe *hp = probe_of(s, a->address);
	const char *type = mtasts_result_type_name(o->result_type);
	struct mtasts_finding *f;

	if (o->local) {
		s->r->local_error = true;
		return;
	}
	/* The parser's findings say it better, with the line. */
	if (strcmp(o->check, "policy-syntax") == 0)
		return;
	if (strncmp(o->check, "tls-cert-", 9) == 0) {
		long err = a->verify_error != X509_V_OK ? a->verify_error :
			   X509_V_ERR_UNSPECIFIED;
		struct tls_judgement j = { .error_count = 1, .first_error = err,
					   .errors = { err } };
		size_t before = s->r->report.count;

		check_certificate(s, &j, hp != NULL ? hp->subject : NULL,
				  hp != NULL ? hp->issuer : NULL,
				  hp != NULL ? hp->names : NULL,
				  hp != NULL ? hp->name_count : 0,
				  hp != NULL ? hp->days_to_expiry : 0, "host",
				  s->policy_host, a->address, TLS_CERT_OK);
		/* The finding it added, if it could, gets the result type. */
		f = s->r->report.count > before ?
		    &s->r->report.findings[s->r->report.count - 1] : NULL;
	} else if (strcmp(o->check, "tls-handshake") == 0 &&
		   has_finding_at(&s->r->report, "host-tls-old", a->address)) {
		/* A host that speaks only old TLS fails this too: said once. */
		return;
	} else {
		f = mtasts_report_add(&s->r->report, ff != NULL ? ff->ids[0] :
				      "fetch-failed", "%s at %s", o->reason, a->address);
		mtasts_finding_string(f, "address", a->address);
		if (a->http_status != 0)
			mtasts_finding_number(f, "http_status", a->http_status);
		mtasts_finding_string(f, "content_type", a->content_type);
		mtasts_finding_string(f, "location", a->location);
		mtasts_finding_string(f, "check", o->check);
	}
	if (type != NULL)
		mtasts_finding_string(f, "result_type", type);
}

/* What each probe of the policy host saw, beyond its fetch's failure. */
static void judge_host_probes(struct check_state *s)
{
	const struct fetch_result *d = s->r->discovery;

	for (size_t i = 0; i < s->host_probe_count; i++) {
		const struct host_probe *hp = &s->host_probes[i];
		enum tls_cert_kind said = TLS_CERT_OK;

		if (!hp->done || hp->stage != PROBE_STAGE_DONE)
			continue;
		if (check_tls_version_old(hp->tls_version)) {
			struct mtasts_finding *f = mtasts_report_add(&s->r->report,
				"host-tls-old", "%s at %s negotiates %s", s->policy_host,
				hp->ip, hp->tls_version);

			mtasts_finding_string(f, "address", hp->ip);
			mtasts_finding_string(f, "tls_version", hp->tls_version);
		}
		if (!hp->has_certificate)
			continue;
		if (!s->r->host_certificate_seen ||
		    hp->not_after < s->r->host_certificate_not_after)
			s->r->host_certificate_not_after = hp->not_after;
		s->r->host_certificate_seen = true;
		for (size_t k = 0; d != NULL && k < d->attempt_count; k++)
			if (strcmp(d->attempts[k].address, hp->ip) == 0 &&
			    d->attempts[k].verify_error != X509_V_OK)
				said = tls_cert_kind_of(d->attempts[k].verify_error);
		check_certificate(s, &hp->judgement, hp->subject, hp->issuer, hp->names,
				  hp->name_count, hp->days_to_expiry, "host",
				  s->policy_host, hp->ip, said);
	}
}

static void judge_policy_host(struct check_state *s)
{
	struct fetch_result *d = s->r->discovery;
	const struct fetch_attempt *judged = NULL;
	struct mtasts_finding *f;
	const struct failure_finding *ff;
	const char *id;
	bool inconsistent = false;

	if (d == NULL)
		return;		/* cut short by the time limit */
	if (d->host_looked_up && check_local(s, d->host_status)) {
		/* said once for the domain */
	} else if (d->host_looked_up && (d->host_status == RESOLVER_NXDOMAIN ||
				  d->host_status == RESOLVER_NODATA)) {
		if (!s->txt_missing)
			mtasts_report_add(&s->r->report, "policy-host-missing", "%s has no "
					  "address (%s)", s->policy_host,
					  resolver_status_name(d->host_status));
	} else if (d->host_looked_up && d->host_status != RESOLVER_OK) {
		f = mtasts_report_add(&s->r->report, "policy-host-lookup-failed", "the "
				      "address lookup of %s failed: %s", s->policy_host,
				      resolver_status_name(d->host_status));
		if (f != NULL)
			f->temporary = true;
	}
	if (d->host_address_count > CHECK_ADDRESSES_MAX) {
		f = mtasts_report_add(&s->r->report, "fetch-address-limit", "%s has %zu "
				      "addresses; the first %d were checked", s->policy_host,
				      d->host_address_count, CHECK_ADDRESSES_MAX);
		mtasts_finding_number(f, "addresses", (long long)d->host_address_count);
		mtasts_finding_number(f, "checked", CHECK_ADDRESSES_MAX);
	}
	/* Findings from the probes first: a fetch failure they explain is said once. */
	judge_host_probes(s);
	for (size_t i = 0; i < d->attempt_count; i++) {
		const struct fetch_attempt *a = &d->attempts[i];

		if (a->outcome.status != MTASTS_FETCH_POLICY)
			judge_attempt(s, a);
		if (!a->responded)
			continue;
		if (judged == NULL)
			judged = a;
		else if (judged->body_len != a->body_len ||
			 memcmp(judged->body, a->body, a->body_len) != 0)
			inconsistent = true;
	}
	if (inconsistent)
		mtasts_report_add(&s->r->report, "fetch-inconsistent", "the addresses of "
				  "%s serve different policy bodies", s->policy_host);
	if (judged != NULL) {
		struct fetch_attempt *a = (struct fetch_attempt *)judged;

		mtasts_check_policy(&s->r->report, a->policy, &a->diags, a->body_len,
				    s->opt.is_public_suffix, s->opt.public_suffix_arg);
		s->r->policy_body = a->body;
		s->r->policy_body_len = a->body_len;
		s->r->policy = a->policy;	/* handed over */
		a->policy = NULL;
		if (d->policy == s->r->policy)
			d->policy = NULL;
	}
	/* A failure never disappears: a sender's outcome is always said. */
	if (d->status == MTASTS_FETCH_POLICY || d->local)
		return;
	if ((ff = failure_finding(d->check)) != NULL)
		for (size_t i = 0; i < 3 && ff->ids[i] != NULL; i++)
			if (has_finding(&s->r->report, ff->ids[i]))
				return;
	/* A lookup that did not finish is a temporary failure, not a "no". */
	id = ff == NULL ? "fetch-failed" : ff->ids[0];
	if (d->status == MTASTS_FETCH_TEMP_FAIL && strcmp(d->check, "txt-lookup") == 0)
		id = "txt-lookup-failed";
	else if (d->status == MTASTS_FETCH_TEMP_FAIL && strcmp(d->check, "policy-host-dns") == 0)
		id = "policy-host-lookup-failed";
	f = mtasts_report_add(&s->r->report, id, "%s", d->reason);
	if (f != NULL)
		f->temporary = d->status == MTASTS_FETCH_TEMP_FAIL;
	mtasts_finding_string(f, "check", d->check);
	mtasts_finding_string(f, "result_type", mtasts_result_type_name(d->result_type));
}

static void judge_mx_against_policy(struct check_state *s)
{
	const char *hosts[CHECK_MX_MAX];

	if (s->r->policy == NULL)
		return;
	for (size_t i = 0; i < s->r->mx_count; i++)
		hosts[i] = s->r->mx[i].host;
	mtasts_check_coverage(&s->r->report, s->r->policy, hosts, s->r->mx_count);
	if (s->r->policy->mode == MTASTS_MODE_NONE)
		return;
	for (size_t i = 0; i < s->r->mx_count; i++) {
		/* An uncovered host is reported already; its certificate adds nothing. */
		if (!mtasts_policy_matches(s->r->policy, s->r->mx[i].host))
			continue;
		for (size_t j = 0; j < s->r->mx[i].address_count; j++) {
			struct checked_address *a = &s->r->mx[i].addresses[j];
			struct mtasts_finding *f;

			/* A certificate already found wrong says it better. */
			if (!a->has_certificate || !a->certificate_valid ||
			    mtasts_cert_names_in_policy(s->r->policy,
							(const char *const *)a->names,
							a->name_count))
				continue;
			f = mtasts_report_add(&s->r->report, "mx-cert-not-in-policy", "the "
					      "certificate of %s at %s names %s%s, which "
					      "no mx pattern matches", s->r->mx[i].host,
					      a->ip, a->name_count > 0 ? a->names[0] : "no host",
					      a->name_count > 1 ? " and others" : "");
			mtasts_finding_string(f, "mx_host", s->r->mx[i].host);
			mtasts_finding_string(f, "address", a->ip);
		}
	}
}

static int by_preference(const void *a, const void *b)
{
	const struct checked_mx *x = a, *y = b;

	if (x->preference != y->preference)
		return x->preference < y->preference ? -1 : 1;
	return strcmp(x->host, y->host);
}

static void state_free(struct check_state *s)
{
	for (size_t i = 0; i < s->host_probe_count; i++) {
		free(s->host_probes[i].subject);
		free(s->host_probes[i].issuer);
		tls_names_free(s->host_probes[i].names);
	}
	if (s->deadline != NULL)
		event_free(s->deadline);
	free(s);
}

static void finish(struct check_state *s)
{
	struct check_result *r = s->r;

	s->delivered = true;
	if (s->deadline != NULL) {
		event_free(s->deadline);
		s->deadline = NULL;
	}
	judge_policy_host(s);
	qsort(r->mx, r->mx_count, sizeof(r->mx[0]), by_preference);
	judge_mx_against_policy(s);
	if (r->local_error || r->timed_out)
		r->report.incomplete = true;
	s->r = NULL;
	s->fn(s->arg, r);
	if (s->pending == 0)
		state_free(s);
}

/* The time limit: deliver what is known; what still runs is abandoned. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct check_state *s = arg;

	s->r->timed_out = true;
	finish(s);
}

struct check_result *check_result_free(struct check_result *r)
{
	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < r->mx_count; i++) {
		for (size_t j = 0; j < r->mx[i].address_count; j++) {
			struct checked_address *a = &r->mx[i].addresses[j];

			tls_names_free(a->names);
			free(a->issuer);
		}
	}
	mtasts_report_release(&r->report);
	mtasts_policy_free(r->policy);
	fetch_result_free(r->discovery);
	free(r->txt_id);
	free(r->domain);
	free(r);
	return NULL;
}

static void query(struct check_state *s, const char *prefix, uint16_t type,
		  resolver_query_fn *fn)
{
	char name[NAME_BUF];

	snprintf(name, sizeof(name), "%s%s", prefix, s->r->domain);
	check_op_begin(s);
	if (resolver_query(s->resolver, name, type, fn, s) != 0) {
		s->r->local_error = true;	/* only memory can fail it */
		check_op_end(s);
	}
}

int check_domain(struct event_base *base, struct resolver *resolver,
		 struct http_client *http, const struct checker_options *options,
		 const char *domain, check_done_fn *fn, void *arg)
{
	struct check_state *s;
	char name[HOSTNAME_BUF];

	/* The caller checked the name: a failure here is a programming error. */
	if (hostname_normalize(domain, name, sizeof(name), NULL, 0) != 0)
		return -EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->r = calloc(1, sizeof(*s->r))) == NULL ||
	    (s->r->domain = strdup(name)) == NULL) {
		if (s != NULL)
			free(s->r);
		free(s);
		return -ENOMEM;
	}
	s->base = base;
	s->resolver = resolver;
	s->http = http;
	s->opt = *options;
	s->fn = fn;
	s->arg = arg;
	mtasts_report_init(&s->r->report);
	if (s->opt.skip_smtp)
		s->r->not_checked |= CHECK_PART_SMTP;
	snprintf(s->policy_host, sizeof(s->policy_host), "mta-sts.%s", s->r->domain);
	s->observer.txt = on_sts_txt;
	s->observer.addresses = on_policy_host;
	s->observer.arg = s;
	/* What runs inside gives up a little before the domain does, so that
	 * its timeout is a finding rather than a silence. */
	s->inner_timeout_ms = s->opt.timeout_ms - (s->opt.timeout_ms / 10 < 500 ?
						   s->opt.timeout_ms / 10 : 500);
	s->fetch.timeout_ms = s->inner_timeout_ms;
	s->inner_deadline_ms = monotonic_ms() + s->inner_timeout_ms;
	s->fetch.each_address = true;
	s->fetch.past_record_failure = true;
	s->fetch.observer = &s->observer;
	if (s->opt.timeout_ms > 0) {
		struct timeval limit = { s->opt.timeout_ms / 1000,
					 (s->opt.timeout_ms % 1000) * 1000 };

		if ((s->deadline = evtimer_new(base, on_deadline, s)) == NULL ||
		    evtimer_add(s->deadline, &limit) != 0) {
			check_result_free(s->r);
			state_free(s);
			return -ENOMEM;
		}
	}

	check_op_begin(s);	/* held until everything is started */
	check_op_begin(s);
	if (fetch_policy(base, resolver, http, s->r->domain, &s->fetch, on_discovered,
			 s) != 0) {
		s->r->local_error = true;
		check_op_end(s);
	}
	query(s, "", MTASTS_DNS_TYPE_TXT, on_apex_txt);
	query(s, "", MTASTS_DNS_TYPE_MX, check_mx_answer);
	query(s, "_smtp._tls.", MTASTS_DNS_TYPE_TXT, check_tlsrpt_answer);
	check_op_end(s);
	return 0;
}
