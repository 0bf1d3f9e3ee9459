/*
 * checker_mx.c - the MX side of the deployment check: the MX records (null
 * and implicit MX), each host's addresses, an SMTP STARTTLS probe of every
 * address, its certificate, and the host's DANE TLSA records.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker_internal.h"

/* ------------------------------------------- mx-dns, mx-starttls, mx-cert */

static void keep_probe(struct checked_address *a, const struct probe_result *p)
{
	const struct probe_certificate *c = &p->certificate;

	a->probed = true;
	a->stage = p->stage;
	a->timed_out = p->timed_out;
	a->starttls = p->starttls_offered;
	a->tls_version = p->tls_version;
	a->cipher = p->cipher;
	a->has_certificate = p->has_certificate;
	if (!p->has_certificate)
		return;
	/* Every name: coverage is decided over all of them. */
	a->names = check_names_copy(c->names, c->name_count);
	a->name_count = a->names != NULL ? c->name_count : 0;
	a->issuer = c->issuer != NULL ? strdup(c->issuer) : NULL;
	a->not_after = c->not_after;
	a->certificate_valid = c->judgement.valid;
}

static void judge_smtp(struct check_state *s, const struct address_op *op,
		       const struct probe_result *p)
{
	struct mtasts_finding *f = NULL;

	switch (p->stage) {
	case PROBE_STAGE_CONNECT:
		f = mtasts_report_add(&s->r->report, "mx-connect-failed", "%s at %s "
				      "port 25: %s", op->host, op->ip, p->error);
		if (f != NULL)
			f->temporary = p->timed_out;
		break;
	case PROBE_STAGE_GREETING:
	case PROBE_STAGE_EHLO:
		f = mtasts_report_add(&s->r->report, "mx-starttls-failed", "%s at %s: "
				      "the SMTP dialogue failed before STARTTLS: %s",
				      op->host, op->ip, p->error);
		break;
	case PROBE_STAGE_STARTTLS:
		if (!p->starttls_offered)
			f = mtasts_report_add(&s->r->report, "mx-no-starttls", "%s at %s "
					      "does not offer STARTTLS", op->host, op->ip);
		else
			f = mtasts_report_add(&s->r->report, "mx-starttls-failed", "%s at "
					      "%s refuses STARTTLS (reply %d)", op->host,
					      op->ip, p->starttls_reply);
		break;
	case PROBE_STAGE_HANDSHAKE:
		f = mtasts_report_add(&s->r->report, "mx-starttls-failed", "%s at %s: "
				      "the TLS handshake failed: %s", op->host, op->ip,
				      p->error);
		break;
	case PROBE_STAGE_DONE:
		if (check_tls_version_old(p->tls_version)) {
			f = mtasts_report_add(&s->r->report, "mx-tls-old", "%s at %s "
					      "negotiates %s", op->host, op->ip,
					      p->tls_version);
			mtasts_finding_string(f, "tls_version", p->tls_version);
		}
		if (p->has_certificate)
			check_certificate(s, &p->certificate.judgement,
					  p->certificate.subject, p->certificate.issuer,
					  p->certificate.names, p->certificate.name_count,
					  p->certificate.days_to_expiry, "mx", op->host,
					  op->ip, TLS_CERT_OK);
		break;
	}
	mtasts_finding_string(f, "mx_host", op->host);
	mtasts_finding_string(f, "address", op->ip);
}

static void on_mx_probe(void *arg, const struct probe_result *p)
{
	struct address_op *op = arg;
	struct check_state *s = op->s;

	check_probe_ended(s);
	if (!check_late(s)) {
		if (p->local_error)
			s->r->local_error = true;
		else
			judge_smtp(s, op, p);
		keep_probe(op->where, p);
	}
	free(op);
	check_op_end(s);
}

struct mx_op {
	struct check_state *s;
	struct checked_mx *mx;
};

static void probe_mx_address(struct check_state *s, struct checked_mx *mx,
			     const struct sockaddr_storage *ss)
{
	struct checked_address *where = &mx->addresses[mx->address_count++];
	struct probe_request probe;
	struct address_op *op;

	check_address_text(ss, where->ip, sizeof(where->ip));
	if (s->opt.skip_smtp)
		return;
	if ((op = check_address_op(s, mx->host, ss)) == NULL) {
		s->r->local_error = true;
		return;
	}
	op->where = where;
	probe = check_probe_request(s, &op->address, 25, mx->host);
	probe.smtp = true;
	check_op_begin(s);
	check_probe_start(s, &probe, on_mx_probe, op);
}

static void on_mx_addresses(void *arg, const struct address_answer *answer)
{
	struct mx_op *m = arg;
	struct check_state *s = m->s;
	struct mtasts_finding *f;

	if (check_late(s) || check_local(s, answer->status)) {
		free(m);
		check_op_end(s);
		return;
	}
	if (answer->status != RESOLVER_OK) {
		f = mtasts_report_add(&s->r->report, "mx-host-no-address", "MX host %s "
				      "has no address: %s", m->mx->host,
				      resolver_status_name(answer->status));
		mtasts_finding_string(f, "mx_host", m->mx->host);
		if (f != NULL)
			f->temporary = resolver_status_is_temporary(answer->status);
	}
	for (size_t i = 0; answer->status == RESOLVER_OK && i < answer->count &&
	     m->mx->address_count < CHECK_ADDRESSES_MAX; i++)
		probe_mx_address(s, m->mx, &answer->addresses[i]);
	if (answer->status == RESOLVER_OK && answer->count > CHECK_ADDRESSES_MAX) {
		f = mtasts_report_add(&s->r->report, "mx-limit", "MX host %s has %zu "
				      "addresses; the first %d were checked", m->mx->host,
				      answer->count, CHECK_ADDRESSES_MAX);
		mtasts_finding_string(f, "mx_host", m->mx->host);
		mtasts_finding_number(f, "count", (long long)answer->count);
		mtasts_finding_number(f, "checked", CHECK_ADDRESSES_MAX);
	}
	free(m);
	check_op_end(s);
}

static void on_tlsa(void *arg, const struct dns_answer *answer)
{
	struct mx_op *m = arg;
	struct check_state *s = m->s;
	struct mtasts_finding *f;
	size_t n = 0;

	if (check_late(s) || check_local(s, answer->status)) {
		free(m);
		check_op_end(s);
		return;
	}
	for (size_t i = 0; answer->message != NULL && i < answer->message->answer_count; i++)
		if (answer->message->answers[i].type == MTASTS_DNS_TYPE_TLSA)
			n++;
	if (answer->status == RESOLVER_OK && n > 0) {
		bool secure = answer->message->authenticated;

		f = mtasts_report_add(&s->r->report, secure ? "dane-tlsa" :
				      "dane-tlsa-insecure", "_25._tcp.%s has %zu TLSA "
				      "record%s%s", m->mx->host, n, n == 1 ? "" : "s",
				      secure ? ", DNSSEC-validated" :
				      ", not DNSSEC-validated");
		mtasts_finding_string(f, "mx_host", m->mx->host);
		mtasts_finding_number(f, "records", (long long)n);
		mtasts_finding_bool(f, "dnssec_validated", secure);
	} else if (resolver_status_is_temporary(answer->status)) {
		f = mtasts_report_add(&s->r->report, "dane-lookup-failed", "the TLSA "
				      "lookup at _25._tcp.%s failed: %s", m->mx->host,
				      resolver_status_name(answer->status));
		mtasts_finding_string(f, "mx_host", m->mx->host);
		mtasts_finding_string(f, "status", resolver_status_name(answer->status));
		if (f != NULL)
			f->temporary = true;
	}
	free(m);
	check_op_end(s);
}

static void start_mx_host(struct check_state *s, const char *host, unsigned preference)
{
	struct checked_mx *mx;
	char tlsa_name[NAME_BUF];
	struct mx_op *m;

	for (size_t i = 0; i < s->r->mx_count; i++)
		if (strcmp(s->r->mx[i].host, host) == 0)
			return;		/* named twice: checked once */
	if (s->r->mx_count == CHECK_MX_MAX)
		return;
	mx = &s->r->mx[s->r->mx_count++];
	snprintf(mx->host, sizeof(mx->host), "%s", host);
	mx->preference = preference;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		s->r->local_error = true;
	} else {
		m->s = s;
		m->mx = mx;
		check_op_begin(s);
		if (resolver_addresses(s->resolver, host, on_mx_addresses, m) != 0) {
			s->r->local_error = true;
			free(m);
			check_op_end(s);
		}
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		s->r->local_error = true;
	} else {
		m->s = s;
		m->mx = mx;
		snprintf(tlsa_name, sizeof(tlsa_name), "_25._tcp.%s", host);
		check_op_begin(s);
		if (resolver_query(s->resolver, tlsa_name, MTASTS_DNS_TYPE_TLSA, on_tlsa, m) != 0) {
			s->r->local_error = true;
			free(m);
			check_op_end(s);
		}
	}
}

static int by_preference(const void *a, const void *b)
{
	const struct mtasts_dns_rr *x = *(const struct mtasts_dns_rr *const *)a;
	const struct mtasts_dns_rr *y = *(const struct mtasts_dns_rr *const *)b;

	if (x->preference != y->preference)
		return x->preference < y->preference ? -1 : 1;
	return strcmp(x->target, y->target);
}

/* The MX hosts, most preferred first, as many as the check examines. */
static void start_mx_hosts(struct check_state *s, const struct mtasts_dns_message *m)
{
	const struct mtasts_dns_rr *mx[MTASTS_DNS_RR_MAX];
	struct mtasts_finding *f;
	size_t n = 0;

	for (size_t i = 0; i < m->answer_count && n < MTASTS_DNS_RR_MAX; i++)
		if (m->answers[i].type == MTASTS_DNS_TYPE_MX)
			mx[n++] = &m->answers[i];
	if (n == 1 && mx[0]->target[0] == '\0') {
		mtasts_report_add(&s->r->report, "mx-null", "%s has a null MX (MX 0 .)",
				  s->r->domain);
		return;
	}
	qsort(mx, n, sizeof(mx[0]), by_preference);
	for (size_t i = 0; i < n; i++)
		if (mx[i]->target[0] != '\0')
			start_mx_host(s, mx[i]->target, mx[i]->preference);
	if (n > CHECK_MX_MAX) {
		f = mtasts_report_add(&s->r->report, "mx-limit", "%s has %zu MX records; "
				      "the %d most preferred hosts were checked",
				      s->r->domain, n, CHECK_MX_MAX);
		mtasts_finding_number(f, "count", (long long)n);
		mtasts_finding_number(f, "checked", CHECK_MX_MAX);
	}
}

void check_mx_answer(void *arg, const struct dns_answer *answer)
{
	struct check_state *s = arg;
	const struct mtasts_dns_message *m = answer->message;
	struct mtasts_finding *f;

	if (check_late(s) || check_local(s, answer->status)) {
		check_op_end(s);
		return;
	}
	if (answer->status == RESOLVER_NXDOMAIN || answer->status == RESOLVER_NODATA) {
		mtasts_report_add(&s->r->report, "mx-implicit", "%s has no MX records; "
				  "senders deliver to %s itself", s->r->domain, s->r->domain);
		start_mx_host(s, s->r->domain, 0);
	} else if (answer->status != RESOLVER_OK) {
		f = mtasts_report_add(&s->r->report, "mx-lookup-failed", "the MX lookup "
				      "of %s failed: %s", s->r->domain,
				      resolver_status_name(answer->status));
		if (f != NULL)
			f->temporary = true;
	} else {
		start_mx_hosts(s, m);
	}
	check_op_end(s);
}

