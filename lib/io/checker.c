/*
 * checker.c - the deployment check of one domain.  All lookups, fetches and
 * probes run concurrently; a count of pending operations says when the last
 * one is in, and then the rules that need everything (coverage, the
 * certificates against the policy) run and the result goes to the caller.
 * This file holds the MTA-STS record and the policy host; checker_mx.c the
 * MX hosts; checker_tlsrpt.c the TLSRPT record.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509_vfy.h>

#include <mtasts/fetch.h>
#include <mtasts/txt.h>

#include "checker_internal.h"

static void finish(struct check_state *s);

void check_op_begin(struct check_state *s)
{
	s->pending++;
}

void check_op_end(struct check_state *s)
{
	if (--s->pending == 0)
		finish(s);
}

void check_address_text(const struct sockaddr_storage *ss, char *out, size_t size)
{
	const void *raw = ss->ss_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (inet_ntop(ss->ss_family, raw, out, (socklen_t)size) == NULL)
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
	for (size_t i = 0; m != NULL && i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];
		struct mtasts_finding *f;

		if (rr->type != MTASTS_DNS_TYPE_TXT || rr->text == NULL ||
		    strncmp(rr->text, "v=STSv1", 7) != 0)
			continue;
		f = mtasts_report_add_as(&s->r->report, "txt-ttl", rr->ttl > 86400 ?
					 MTASTS_FINDING_WARNING : MTASTS_FINDING_INFO,
					 "the MTA-STS record has a TTL of %u seconds%s",
					 (unsigned)rr->ttl, rr->ttl > 86400 ? ", so a new id "
					 "may take over a day to be seen" : "");
		mtasts_finding_number(f, "ttl", rr->ttl);
		return;
	}
}

/* The TXT records of an answer, for the parsers. */
size_t check_txt_records(const struct mtasts_dns_message *m, struct mtasts_bytes *out,
			  size_t max)
{
	size_t n = 0;

	for (size_t i = 0; m != NULL && i < m->answer_count && n < max; i++) {
		if (m->answers[i].type != MTASTS_DNS_TYPE_TXT || m->answers[i].text == NULL)
			continue;
		out[n].data = m->answers[i].text;
		out[n].len = m->answers[i].text_len;
		n++;
	}
	return n;
}

const char *check_first_error(const struct mtasts_diags *diags, const char **ret_code)
{
	for (size_t i = 0; i < diags->count; i++) {
		if (diags->items[i].severity == MTASTS_SEVERITY_ERROR) {
			*ret_code = mtasts_code_name(diags->items[i].code);
			return diags->items[i].message;
		}
	}
	*ret_code = "none";
	return "invalid";
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
				  "_mta-sts.%s, none beginning with v=STSv1", count,
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

static void on_sts_txt(void *arg, const struct dns_answer *answer)
{
	struct check_state *s = arg;
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX + 1];
	struct mtasts_finding *f;
	size_t n;

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
	check_op_end(s);
}

static void on_apex_txt(void *arg, const struct dns_answer *answer)
{
	struct check_state *s = arg;
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX + 1];
	size_t n = 0;

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

static const char *fetch_finding(enum http_outcome outcome)
{
	switch (outcome) {
	case HTTP_CONNECT_FAILED:
		return "fetch-connect";
	case HTTP_TIMEOUT:
		return "fetch-timeout";
	case HTTP_RECEIVE_FAILED:
		return "fetch-receive";
	case HTTP_TLS_HANDSHAKE:
		return "host-tls-handshake";
	default:
		return "fetch-failed";
	}
}

static const char *response_finding(const char *check)
{
	if (strcmp(check, "http-redirect") == 0)
		return "fetch-redirect";
	if (strcmp(check, "http-status") == 0)
		return "fetch-http-status";
	if (strcmp(check, "media-type") == 0)
		return "fetch-media-type";
	if (strcmp(check, "body-size") == 0)
		return "fetch-body-size";
	return "fetch-failed";
}

/*
 * Keep one body to judge.  When addresses disagree, the one of the lowest
 * address is kept, so the same lab gives the same report every run.
 */
static void keep_body(struct check_state *s, const struct http_response *resp,
		      const char *ip)
{
	char *copy;

	if (s->body != NULL && (s->body_len != resp->body_len ||
				memcmp(s->body, resp->body, resp->body_len) != 0))
		s->inconsistent = true;
	if (s->body != NULL && strcmp(ip, s->body_ip) >= 0)
		return;
	if ((copy = malloc(resp->body_len + 1)) == NULL)
		return;
	memcpy(copy, resp->body, resp->body_len);
	copy[resp->body_len] = '\0';
	free(s->body);
	s->body = copy;
	s->body_len = resp->body_len;
	snprintf(s->body_ip, sizeof(s->body_ip), "%s", ip);
}

static void on_policy_http(void *arg, const struct http_response *resp)
{
	struct address_op *op = arg;
	struct check_state *s = op->s;
	struct mtasts_finding *f = NULL;
	enum mtasts_result_type type;
	const char *check;
	char reason[MTASTS_FETCH_REASON_MAX];

	if (resp->outcome == HTTP_TLS_CERTIFICATE) {
		/* The TLS probe of the same address says exactly what is wrong. */
	} else if (resp->outcome != HTTP_COMPLETED) {
		f = mtasts_report_add(&s->r->report, fetch_finding(resp->outcome),
				      "https://%s/ at %s: %s", s->policy_host, op->ip,
				      resp->error);
	} else if (mtasts_http_response_check(resp->status, resp->content_type,
					      resp->location, resp->truncated,
					      MTASTS_POLICY_BODY_MAX, &type, &check,
					      reason, sizeof(reason)) != MTASTS_FETCH_POLICY) {
		f = mtasts_report_add(&s->r->report, response_finding(check),
				      "https://%s/.well-known/mta-sts.txt at %s: %s",
				      s->policy_host, op->ip, reason);
		mtasts_finding_number(f, "http_status", resp->status);
		if (resp->content_type != NULL)
			mtasts_finding_string(f, "content_type", resp->content_type);
		if (resp->location != NULL)
			mtasts_finding_string(f, "location", resp->location);
	} else {
		keep_body(s, resp, op->ip);
	}
	mtasts_finding_string(f, "address", op->ip);
	free(op);
	check_op_end(s);
}

void check_certificate(struct check_state *s, const struct probe_certificate *c,
			      const char *prefix, const char *host, const char *ip)
{
	char id[48];
	const char *what = NULL;
	struct mtasts_finding *f;

	if (!c->chain_valid) {
		switch (c->verify_error) {
		case X509_V_ERR_CERT_HAS_EXPIRED:
			what = "expired";
			break;
		case X509_V_ERR_CERT_NOT_YET_VALID:
			what = "not-yet-valid";
			break;
		case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
			what = "self-signed";
			break;
		default:
			what = c->self_signed ? "self-signed" : "untrusted";
		}
		snprintf(id, sizeof(id), "%s-cert-%s", prefix, what);
		f = mtasts_report_add(&s->r->report, id, "the certificate of %s at %s: %s",
				      host, ip, c->verify_message != NULL ?
				      c->verify_message : "not trusted");
		mtasts_finding_string(f, "host", host);
		mtasts_finding_string(f, "address", ip);
		mtasts_finding_string(f, "subject", c->subject);
		mtasts_finding_string(f, "issuer", c->issuer);
		mtasts_finding_number(f, "days_to_expiry", c->days_to_expiry);
	}
	if (!c->name_matches) {
		snprintf(id, sizeof(id), "%s-cert-name", prefix);
		f = mtasts_report_add(&s->r->report, id, "the certificate of %s at %s "
				      "names %s%s, not %s", host, ip,
				      c->name_count > 0 ? c->names[0] : "no host",
				      c->name_count > 1 ? " and others" : "", host);
		mtasts_finding_string(f, "host", host);
		mtasts_finding_string(f, "address", ip);
		mtasts_finding_string(f, "subject", c->subject);
	}
	if (c->chain_valid && c->days_to_expiry < MTASTS_CERT_EXPIRY_WARN_DAYS) {
		snprintf(id, sizeof(id), "%s-cert-expiring", prefix);
		f = mtasts_report_add(&s->r->report, id, "the certificate of %s at %s "
				      "expires in %ld days", host, ip, c->days_to_expiry);
		mtasts_finding_string(f, "host", host);
		mtasts_finding_string(f, "address", ip);
		mtasts_finding_number(f, "days_to_expiry", c->days_to_expiry);
	}
}

static void on_policy_probe(void *arg, const struct probe_result *p)
{
	struct address_op *op = arg;
	struct check_state *s = op->s;

	if (p->stage == PROBE_STAGE_DONE) {
		if (check_tls_version_old(p->tls_version)) {
			struct mtasts_finding *f = mtasts_report_add(&s->r->report,
				"host-tls-old", "%s at %s negotiates %s", s->policy_host,
				op->ip, p->tls_version);

			mtasts_finding_string(f, "address", op->ip);
			mtasts_finding_string(f, "tls_version", p->tls_version);
		}
		if (p->has_certificate)
			check_certificate(s, &p->certificate, "host", s->policy_host, op->ip);
	}
	free(op);
	check_op_end(s);
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

static void fetch_policy_at(struct check_state *s, const struct sockaddr_storage *ss)
{
	char url[NAME_BUF + 64];
	struct http_request req = { 0 };
	struct probe_request probe = { 0 };
	struct address_op *op;

	if ((op = check_address_op(s, s->policy_host, ss)) != NULL) {
		snprintf(url, sizeof(url), "https://%s/.well-known/mta-sts.txt", s->policy_host);
		req.url = url;
		req.host = s->policy_host;
		req.port = 443;
		req.addresses = &op->address;
		req.address_count = 1;
		check_op_begin(s);
		if (http_get(s->http, &req, on_policy_http, op) != 0) {
			s->r->report.incomplete = true;
			free(op);
			check_op_end(s);
		}
	}
	if ((op = check_address_op(s, s->policy_host, ss)) != NULL) {
		probe.address = &op->address;
		probe.port = 443;
		probe.server_name = s->policy_host;
		probe.ca_file = s->opt.ca_file;
		probe.timeout_ms = s->opt.timeout_ms;
		probe.connect_timeout_ms = s->opt.connect_timeout_ms;
		probe.now = s->opt.now;
		check_op_begin(s);
		if (probe_start(s->base, &probe, on_policy_probe, op) != 0) {
			s->r->report.incomplete = true;
			free(op);
			check_op_end(s);
		}
	}
}

static void on_policy_host(void *arg, const struct address_answer *answer)
{
	struct check_state *s = arg;

	s->host_status = answer->status;
	for (size_t i = 0; answer->status == RESOLVER_OK && i < answer->count &&
	     i < CHECK_ADDRESSES_MAX; i++)
		fetch_policy_at(s, &answer->addresses[i]);
	if (answer->status == RESOLVER_OK && answer->count > CHECK_ADDRESSES_MAX) {
		struct mtasts_finding *f = mtasts_report_add(&s->r->report,
			"fetch-address-limit", "%s has %zu addresses; the first %d "
			"were checked", s->policy_host, answer->count, CHECK_ADDRESSES_MAX);

		mtasts_finding_number(f, "addresses", (long long)answer->count);
		mtasts_finding_number(f, "checked", CHECK_ADDRESSES_MAX);
	}
	check_op_end(s);
}

/* ----------------------------------------------------------------- finish */

static void judge_policy(struct check_state *s)
{
	struct mtasts_diags diags;
	struct mtasts_finding *f;

	if (s->host_status == RESOLVER_NXDOMAIN || s->host_status == RESOLVER_NODATA) {
		if (!s->txt_missing)
			mtasts_report_add(&s->r->report, "policy-host-missing", "%s has no "
					  "address (%s)", s->policy_host,
					  resolver_status_name(s->host_status));
		return;
	}
	if (s->host_status != RESOLVER_OK) {
		f = mtasts_report_add(&s->r->report, "policy-host-lookup-failed", "the "
				      "address lookup of %s failed: %s", s->policy_host,
				      resolver_status_name(s->host_status));
		if (f != NULL)
			f->temporary = true;
		return;
	}
	if (s->inconsistent)
		mtasts_report_add(&s->r->report, "fetch-inconsistent", "the addresses of "
				  "%s serve different policy bodies", s->policy_host);
	if (s->body == NULL)
		return;
	mtasts_diags_init(&diags);
	mtasts_policy_parse(s->body, s->body_len, &s->r->policy, &diags);
	mtasts_check_policy(&s->r->report, s->r->policy, &diags, s->body_len,
			    s->opt.is_public_suffix, s->opt.public_suffix_arg);
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

static bool has_finding(const struct mtasts_report *report, const char *id)
{
	for (size_t i = 0; i < report->count; i++)
		if (strcmp(report->findings[i].def->id, id) == 0)
			return true;
	return false;
}

static bool other_than(const struct mtasts_finding *f, void *id)
{
	return strcmp(f->def->id, id) != 0;
}

static void finish(struct check_state *s)
{
	/* A host that only speaks old TLS fails curl's handshake too: say it once. */
	if (has_finding(&s->r->report, "host-tls-old"))
		mtasts_report_filter(&s->r->report, other_than, "host-tls-handshake");
	judge_policy(s);
	qsort(s->r->mx, s->r->mx_count, sizeof(s->r->mx[0]), by_preference);
	judge_mx_against_policy(s);
	s->fn(s->arg, s->r);
	free(s->body);
	free(s);
}

struct check_result *check_result_free(struct check_result *r)
{
	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < r->mx_count; i++) {
		for (size_t j = 0; j < r->mx[i].address_count; j++) {
			struct checked_address *a = &r->mx[i].addresses[j];

			for (size_t k = 0; k < a->name_count; k++)
				free(a->names[k]);
			free(a->issuer);
		}
	}
	mtasts_report_release(&r->report);
	mtasts_policy_free(r->policy);
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
	if (resolver_query(s->resolver, name, type, fn, s) != 0)
		check_op_end(s);
}

int check_domain(struct event_base *base, struct resolver *resolver,
		 struct http_client *http, const struct checker_options *options,
		 const char *domain, check_done_fn *fn, void *arg)
{
	struct check_state *s = calloc(1, sizeof(*s));
	size_t len;

	if (s == NULL || (s->r = calloc(1, sizeof(*s->r))) == NULL ||
	    (s->r->domain = strdup(domain)) == NULL) {
		if (s != NULL)
			free(s->r);
		free(s);
		return -ENOMEM;
	}
	len = strlen(s->r->domain);
	if (len > 1 && s->r->domain[len - 1] == '.')
		s->r->domain[len - 1] = '\0';
	for (char *p = s->r->domain; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	s->base = base;
	s->resolver = resolver;
	s->http = http;
	s->opt = *options;
	s->fn = fn;
	s->arg = arg;
	s->host_status = RESOLVER_ERROR;
	mtasts_report_init(&s->r->report);
	snprintf(s->policy_host, sizeof(s->policy_host), "mta-sts.%s", s->r->domain);

	check_op_begin(s);	/* held until everything is started */
	query(s, "_mta-sts.", MTASTS_DNS_TYPE_TXT, on_sts_txt);
	query(s, "", MTASTS_DNS_TYPE_TXT, on_apex_txt);
	query(s, "", MTASTS_DNS_TYPE_MX, check_mx_answer);
	query(s, "_smtp._tls.", MTASTS_DNS_TYPE_TXT, check_tlsrpt_answer);
	check_op_begin(s);
	if (resolver_addresses(resolver, s->policy_host, on_policy_host, s) != 0)
		check_op_end(s);
	check_op_end(s);
	return 0;
}

