/*
 * checker_tlsrpt.c - the TLSRPT side of the deployment check: the record at
 * _smtp._tls.<domain>, and with --probe-rua a TLS handshake with each
 * https: report endpoint.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts/tlsrpt.h>

#include "checker_internal.h"

/* ----------------------------------------------------------------- tlsrpt */

struct rua_op {
	struct check_state *s;
	char uri[512];
	char host[NAME_BUF];
	uint16_t port;
	struct sockaddr_storage literal;	/* when the host is an IP address */
	bool is_literal;
};

static void on_rua_probe(void *arg, const struct probe_result *p)
{
	struct rua_op *op = arg;
	struct check_state *s = op->s;

	check_probe_ended(s);
	if (check_late(s)) {
		/* nothing: the result is delivered */
	} else if (p->local_error) {
		s->r->local_error = true;
	} else if (p->stage != PROBE_STAGE_DONE || !p->has_certificate ||
		   !p->certificate.judgement.valid) {
		mtasts_finding_string(mtasts_report_add(&s->r->report,
			"tlsrpt-rua-unreachable", "%s: %s", op->uri,
			p->stage != PROBE_STAGE_DONE ? p->error :
			tls_cert_error_text(p->certificate.judgement.first_error)),
			"rua", op->uri);
	}
	free(op);
	check_op_end(s);
}

static void probe_endpoint(struct rua_op *op, const struct sockaddr_storage *address)
{
	struct check_state *s = op->s;
	struct probe_request probe = check_probe_request(s, address, op->port, op->host);

	check_probe_start(s, &probe, on_rua_probe, op);
}

static void on_rua_host(void *arg, const struct address_answer *answer)
{
	struct rua_op *op = arg;
	struct check_state *s = op->s;

	if (check_late(s) || check_local(s, answer->status)) {
		free(op);
		check_op_end(s);
		return;
	}
	if (answer->status != RESOLVER_OK || answer->count == 0) {
		mtasts_finding_string(mtasts_report_add(&s->r->report,
			"tlsrpt-rua-unreachable", "%s: the host %s has no address (%s)",
			op->uri, op->host, resolver_status_name(answer->status)),
			"rua", op->uri);
		free(op);
		check_op_end(s);
		return;
	}
	probe_endpoint(op, &answer->addresses[0]);
}

/* The host and port of an https: rua, read by the core. */
static bool rua_endpoint(const char *uri, struct rua_op *op, char *why, size_t why_size)
{
	struct mtasts_rua_endpoint ep;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&op->literal;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&op->literal;

	if (mtasts_rua_endpoint_parse(uri, &ep, why, why_size) != MTASTS_OK)
		return false;
	snprintf(op->host, sizeof(op->host), "%s", ep.host);
	op->port = (uint16_t)ep.port;
	if (ep.kind == MTASTS_RUA_HOST_IPV4) {
		v4->sin_family = AF_INET;
		memcpy(&v4->sin_addr, ep.address, 4);
		op->is_literal = true;
	} else if (ep.kind == MTASTS_RUA_HOST_IPV6) {
		v6->sin6_family = AF_INET6;
		memcpy(&v6->sin6_addr, ep.address, 16);
		op->is_literal = true;
	}
	return true;
}

static void probe_rua(struct check_state *s, const struct mtasts_tlsrpt_record *rec)
{
	char why[200];

	for (size_t i = 0; i < rec->rua_count; i++) {
		struct rua_op *op = calloc(1, sizeof(*op));

		if (op == NULL) {
			s->r->local_error = true;
			return;
		}
		op->s = s;
		snprintf(op->uri, sizeof(op->uri), "%s", rec->rua[i]);
		if (strncasecmp(rec->rua[i], "https:", 6) != 0) {
			free(op);
			continue;
		}
		if (!rua_endpoint(rec->rua[i], op, why, sizeof(why))) {
			mtasts_finding_string(mtasts_report_add(&s->r->report,
				"tlsrpt-rua-unreachable", "%s: %s", op->uri, why),
				"rua", op->uri);
			free(op);
			continue;
		}
		check_op_begin(s);
		if (op->is_literal)
			probe_endpoint(op, &op->literal);
		else if (resolver_addresses(s->resolver, op->host, on_rua_host, op) != 0) {
			free(op);
			check_op_end(s);
		}
	}
}

void check_tlsrpt_answer(void *arg, const struct dns_answer *answer)
{
	struct check_state *s = arg;
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX + 1];
	struct mtasts_tlsrpt_record *rec = NULL;
	struct mtasts_diags diags;
	struct mtasts_finding *f;
	const char *code, *message;
	int rc = MTASTS_ERR_NO_RECORD;

	if (check_late(s) || check_local(s, answer->status)) {
		check_op_end(s);
		return;
	}
	mtasts_diags_init(&diags);
	if (answer->status == RESOLVER_OK)
		rc = mtasts_tlsrpt_record_parse(records, check_txt_records(answer->message,
						records, MTASTS_TXT_RECORDS_MAX + 1), &rec, &diags);
	if (answer->status != RESOLVER_OK && resolver_status_is_temporary(answer->status)) {
		f = mtasts_report_add(&s->r->report, "tlsrpt-lookup-failed", "the TXT "
				      "lookup at _smtp._tls.%s failed: %s", s->r->domain,
				      resolver_status_name(answer->status));
		if (f != NULL)
			f->temporary = true;
	} else if (rc == MTASTS_ERR_NO_RECORD) {
		mtasts_report_add(&s->r->report, "tlsrpt-missing", "no TLSRPT record at "
				  "_smtp._tls.%s", s->r->domain);
	} else if (rc != MTASTS_OK) {
		message = check_first_error(&diags, &code);
		f = mtasts_report_add(&s->r->report, mtasts_diags_find(&diags,
				      MTASTS_TLSRPT_MULTIPLE_RECORDS) != NULL ?
				      "tlsrpt-multiple" : "tlsrpt-invalid", "%s", message);
		mtasts_finding_string(f, "code", code);
	}
	for (size_t i = 0; i < diags.count; i++)
		if (diags.items[i].code == MTASTS_TLSRPT_UNSUPPORTED_SCHEME)
			mtasts_finding_number(mtasts_report_add(&s->r->report,
				"tlsrpt-unsupported-scheme", "%s", diags.items[i].message),
				"column", diags.items[i].column);
	if (rec != NULL && s->opt.probe_rua)
		probe_rua(s, rec);
	for (size_t i = 0; rec != NULL && !s->opt.probe_rua && i < rec->rua_count; i++)
		if (strncasecmp(rec->rua[i], "https:", 6) == 0)
			s->r->not_checked |= CHECK_PART_RUA;
	mtasts_tlsrpt_record_free(rec);
	check_op_end(s);
}

