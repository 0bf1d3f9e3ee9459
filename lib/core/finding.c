/*
 * finding.c - the catalog of deployment-check findings, and the report
 * that collects them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts/check.h>

#include "core.h"

#define E MTASTS_FINDING_ERROR
#define W MTASTS_FINDING_WARNING
#define I MTASTS_FINDING_INFO

/*
 * The one advice of every rung of the max_age ladder (mtasts/policy_facts.h):
 * it names MTASTS_MAX_AGE_ADVISED, which no rung judges too short.
 */
#define MAX_AGE_ADVICE "raise max_age to at least 1209600 (two weeks); " \
	"31557600 (about a year) is the largest allowed"

const struct mtasts_finding_def mtasts_finding_defs[] = {
	/* dns-txt */
	{ "txt-missing", MTASTS_CAT_DNS_TXT, E,
	  "no TXT record at _mta-sts.<domain>: senders see no MTA-STS policy",
	  "publish \"v=STSv1; id=<1-32 letters or digits>\" at _mta-sts.<domain>",
	  "RFC 8461 3.1" },
	{ "txt-not-sts", MTASTS_CAT_DNS_TXT, E,
	  "TXT records exist at _mta-sts.<domain>, but none begins with v=STSv1;",
	  "publish a record beginning exactly with \"v=STSv1;\" (case-sensitive)",
	  "RFC 8461 3.1" },
	{ "txt-multiple", MTASTS_CAT_DNS_TXT, E,
	  "several MTA-STS TXT records: senders treat the domain as having no policy",
	  "keep exactly one record beginning with v=STSv1",
	  "RFC 8461 3.1" },
	{ "txt-invalid", MTASTS_CAT_DNS_TXT, E,
	  "the MTA-STS TXT record does not follow the grammar",
	  "write \"v=STSv1; id=<1-32 letters or digits>\" with \";\" between fields",
	  "RFC 8461 3.1" },
	{ "txt-unrelated", MTASTS_CAT_DNS_TXT, W,
	  "other TXT records share the name _mta-sts.<domain>",
	  "remove records at _mta-sts.<domain> that are not the MTA-STS record",
	  "RFC 8461 3.1" },
	{ "txt-at-apex", MTASTS_CAT_DNS_TXT, W,
	  "an MTA-STS record is published at the domain itself, where senders never look",
	  "move the v=STSv1 record to _mta-sts.<domain>",
	  "RFC 8461 3.1" },
	{ "txt-cname", MTASTS_CAT_DNS_TXT, I,
	  "_mta-sts.<domain> is a CNAME; senders follow it",
	  "nothing to do, as long as the target stays under your control",
	  "RFC 8461 3.1" },
	{ "txt-ttl", MTASTS_CAT_DNS_TXT, I,
	  "the TTL of the MTA-STS record: how long resolvers keep an old id",
	  "keep the TTL short (an hour or less) so a new id is seen soon after a policy change",
	  "RFC 8461 3.1" },
	{ "txt-lookup-failed", MTASTS_CAT_DNS_TXT, E,
	  "the TXT lookup at _mta-sts.<domain> failed (SERVFAIL, REFUSED or timeout)",
	  "make the domain's name servers answer; check DNSSEC signatures if the zone is signed",
	  "RFC 8461 3.1" },

	/* policy-fetch */
	{ "policy-host-missing", MTASTS_CAT_POLICY_FETCH, E,
	  "mta-sts.<domain> has no address, so the policy cannot be fetched",
	  "publish A and/or AAAA records for mta-sts.<domain>",
	  "RFC 8461 3.3" },
	{ "policy-host-lookup-failed", MTASTS_CAT_POLICY_FETCH, E,
	  "the address lookup of mta-sts.<domain> failed",
	  "make the name servers answer for mta-sts.<domain>",
	  "RFC 8461 3.3" },
	{ "fetch-connect", MTASTS_CAT_POLICY_FETCH, E,
	  "an address of the policy host refuses HTTPS connections",
	  "serve HTTPS on port 443 on every address of mta-sts.<domain>, or remove the address",
	  "RFC 8461 3.3" },
	{ "fetch-timeout", MTASTS_CAT_POLICY_FETCH, E,
	  "an address of the policy host did not answer in time",
	  "make every address of mta-sts.<domain> answer promptly, or remove it",
	  "RFC 8461 3.3" },
	{ "fetch-receive", MTASTS_CAT_POLICY_FETCH, E,
	  "the connection broke off while the policy was being read",
	  "check the web server and anything in front of it on that address",
	  "RFC 8461 3.3" },
	{ "fetch-redirect", MTASTS_CAT_POLICY_FETCH, E,
	  "the policy URL answers with a redirect, which senders must not follow",
	  "serve the policy itself at https://mta-sts.<domain>/.well-known/mta-sts.txt",
	  "RFC 8461 3.3" },
	{ "fetch-http-status", MTASTS_CAT_POLICY_FETCH, E,
	  "the policy URL answers with a status other than 200",
	  "serve the policy with status 200 at /.well-known/mta-sts.txt",
	  "RFC 8461 3.3" },
	{ "fetch-media-type", MTASTS_CAT_POLICY_FETCH, E,
	  "the policy is not served as text/plain",
	  "serve mta-sts.txt with Content-Type: text/plain",
	  "RFC 8461 3.3" },
	{ "fetch-body-size", MTASTS_CAT_POLICY_FETCH, E,
	  "the policy body is over 64 KiB, the most senders read",
	  "serve the policy itself: a few lines, far below 64 KiB",
	  "RFC 8461 3.3" },
	{ "fetch-failed", MTASTS_CAT_POLICY_FETCH, E,
	  "fetching the policy failed",
	  "make https://mta-sts.<domain>/.well-known/mta-sts.txt reachable",
	  "RFC 8461 3.3" },
	{ "fetch-address-limit", MTASTS_CAT_POLICY_FETCH, W,
	  "the policy host has more addresses than the check examines",
	  "keep the policy host to a few addresses; the others were not checked",
	  "RFC 8461 3.3" },
	{ "fetch-inconsistent", MTASTS_CAT_POLICY_FETCH, W,
	  "different addresses of the policy host serve different policies",
	  "serve the same policy body from every address",
	  "RFC 8461 3.3" },

	/* policy-host-tls */
	{ "host-tls-handshake", MTASTS_CAT_POLICY_HOST_TLS, E,
	  "no TLS 1.2 or newer handshake with the policy host",
	  "enable TLS 1.2 and 1.3 on the policy host",
	  "RFC 8461 3.3" },
	{ "host-tls-old", MTASTS_CAT_POLICY_HOST_TLS, E,
	  "the policy host negotiates a TLS version older than 1.2",
	  "enable TLS 1.2 and 1.3 on the policy host",
	  "RFC 8461 3.3" },
	{ "host-cert-expired", MTASTS_CAT_POLICY_HOST_TLS, E,
	  "the policy host's certificate has expired: senders cannot fetch the policy",
	  "renew the certificate of mta-sts.<domain>",
	  "RFC 8461 3.3" },
	{ "host-cert-not-yet-valid", MTASTS_CAT_POLICY_HOST_TLS, E,
	  "the policy host's certificate is not valid yet",
	  "install a certificate whose validity has begun, and check the server's clock",
	  "RFC 8461 3.3" },
	{ "host-cert-name", MTASTS_CAT_POLICY_HOST_TLS, E,
	  "the policy host's certificate does not name mta-sts.<domain>",
	  "install a certificate whose subjectAltName includes mta-sts.<domain>",
	  "RFC 8461 3.3" },
	{ "host-cert-untrusted", MTASTS_CAT_POLICY_HOST_TLS, E,
	  "the policy host's certificate does not chain to a trusted root",
	  "install a certificate from a public CA with its full intermediate chain",
	  "RFC 8461 3.3" },
	{ "host-cert-self-signed", MTASTS_CAT_POLICY_HOST_TLS, E,
	  "the policy host's certificate is self-signed",
	  "install a certificate from a public CA",
	  "RFC 8461 3.3" },
	{ "host-cert-weak", MTASTS_CAT_POLICY_HOST_TLS, E,
	  "the policy host's certificate has a key or signature too weak for the "
	  "security level senders' TLS libraries apply (RSA under 2048 bits, SHA-1)",
	  "install a certificate with an RSA key of 2048 bits or more, or an ECDSA key",
	  "RFC 8461 3.3" },
	{ "host-cert-expiring", MTASTS_CAT_POLICY_HOST_TLS, W,
	  "the policy host's certificate expires within 14 days",
	  "renew the certificate of mta-sts.<domain> now",
	  "RFC 8461 3.3" },

	/* policy-syntax */
	{ "policy-syntax-error", MTASTS_CAT_POLICY_SYNTAX, E,
	  "the policy file does not follow the grammar",
	  "fix the line shown; see mtasts-parse(1) for the rule",
	  "RFC 8461 3.2" },
	{ "policy-syntax-warning", MTASTS_CAT_POLICY_SYNTAX, W,
	  "the policy parses, but a line is probably not what was meant",
	  "fix the line shown (a repeated field or mx, or a field name in the wrong case)",
	  "RFC 8461 3.2" },
	{ "policy-lf-only", MTASTS_CAT_POLICY_SYNTAX, I,
	  "policy lines end in LF alone; allowed, though CRLF is the canonical form",
	  "nothing required; CRLF line endings suit the strictest readers",
	  "RFC 8461 3.2" },
	{ "policy-large", MTASTS_CAT_POLICY_SYNTAX, W,
	  "the policy is larger than 4 KiB, far above what it needs",
	  "remove what is not version, mode, mx or max_age",
	  "RFC 8461 3.2" },

	/* policy-semantics */
	{ "max-age-short", MTASTS_CAT_POLICY_SEMANTICS, W,
	  "max_age is under one day: senders forget the policy too soon to protect mail",
	  MAX_AGE_ADVICE,
	  "RFC 8461 3.2" },
	{ "max-age-under-two-weeks", MTASTS_CAT_POLICY_SEMANTICS, W,
	  "max_age in enforce mode is under 14 days",
	  MAX_AGE_ADVICE,
	  "RFC 8461 3.2" },
	{ "mode-testing", MTASTS_CAT_POLICY_SEMANTICS, I,
	  "mode is testing: failures are reported, mail still flows unprotected",
	  "once TLS reports show no failures, switch to mode: enforce",
	  "RFC 8461 5" },
	{ "mode-none", MTASTS_CAT_POLICY_SEMANTICS, W,
	  "mode is none: the policy protects nothing",
	  "use mode none only to withdraw a policy; otherwise testing or enforce",
	  "RFC 8461 5" },
	{ "pattern-matches-nothing", MTASTS_CAT_POLICY_SEMANTICS, W,
	  "an mx pattern can match no host name in the DNS",
	  "fix the pattern so it names your MX hosts",
	  "RFC 8461 4.1" },
	{ "pattern-public-suffix", MTASTS_CAT_POLICY_SEMANTICS, W,
	  "a wildcard pattern is as wide as a public suffix (such as *.com)",
	  "list your own MX host names, or a wildcard under your own domain",
	  "RFC 8461 4.1" },

	/* mx-dns */
	{ "mx-null", MTASTS_CAT_MX_DNS, W,
	  "the domain has a null MX: it accepts no mail, so an MTA-STS policy has nothing to protect",
	  "remove the MTA-STS records, or publish real MX hosts",
	  "RFC 7505" },
	{ "mx-implicit", MTASTS_CAT_MX_DNS, W,
	  "the domain has no MX records: senders use the domain itself as the MX",
	  "publish MX records naming your mail hosts",
	  "RFC 5321 5.1" },
	{ "mx-lookup-failed", MTASTS_CAT_MX_DNS, E,
	  "the MX lookup failed",
	  "make the domain's name servers answer",
	  "RFC 5321 5.1" },
	{ "mx-limit", MTASTS_CAT_MX_DNS, W,
	  "more MX hosts, or MX addresses, than the check examines",
	  "the ones beyond the limit were not checked; fewer MX hosts are easier to keep right",
	  "RFC 5321 5.1" },
	{ "mx-host-no-address", MTASTS_CAT_MX_DNS, E,
	  "an MX host has no A or AAAA record",
	  "publish addresses for the MX host, or remove it from the MX records",
	  "RFC 5321 5.1" },

	/* mx-coverage */
	{ "mx-not-covered", MTASTS_CAT_MX_COVERAGE, E,
	  "an MX host matches no mx pattern of the policy: enforcing senders refuse to deliver to it",
	  "add the MX host (or a wildcard covering it) to the policy",
	  "RFC 8461 4.1" },
	{ "mx-wildcard-two-labels", MTASTS_CAT_MX_COVERAGE, E,
	  "a wildcard pattern would have to match two labels to cover an MX host; it matches only one",
	  "add the MX host itself, or a wildcard one label above it",
	  "RFC 8461 4.1" },
	{ "pattern-unused", MTASTS_CAT_MX_COVERAGE, W,
	  "an mx pattern of the policy matches none of the domain's MX hosts",
	  "remove stale patterns, or check the MX records",
	  "RFC 8461 4.1" },

	/* mx-starttls */
	{ "mx-connect-failed", MTASTS_CAT_MX_STARTTLS, E,
	  "an MX address does not accept SMTP connections on port 25",
	  "make every MX address accept connections, or remove it",
	  "RFC 5321" },
	{ "mx-no-starttls", MTASTS_CAT_MX_STARTTLS, E,
	  "an MX host does not offer STARTTLS",
	  "enable STARTTLS on the MX host (and check nothing strips it on the way)",
	  "RFC 8461 4.2" },
	{ "mx-starttls-failed", MTASTS_CAT_MX_STARTTLS, E,
	  "STARTTLS is offered, but refused or the TLS handshake fails",
	  "fix the MX host's TLS configuration",
	  "RFC 8461 4.2" },
	{ "mx-tls-old", MTASTS_CAT_MX_STARTTLS, E,
	  "the MX host negotiates a TLS version older than 1.2",
	  "enable TLS 1.2 and 1.3 on the MX host",
	  "RFC 8461 4.2" },

	/* mx-certificate */
	{ "mx-cert-expired", MTASTS_CAT_MX_CERTIFICATE, E,
	  "the MX host's certificate has expired",
	  "renew the certificate",
	  "RFC 8461 4.2" },
	{ "mx-cert-not-yet-valid", MTASTS_CAT_MX_CERTIFICATE, E,
	  "the MX host's certificate is not valid yet",
	  "install a certificate whose validity has begun, and check the clock",
	  "RFC 8461 4.2" },
	{ "mx-cert-untrusted", MTASTS_CAT_MX_CERTIFICATE, E,
	  "the MX host's certificate does not chain to a trusted root",
	  "install a certificate from a public CA with its full chain",
	  "RFC 8461 4.2" },
	{ "mx-cert-self-signed", MTASTS_CAT_MX_CERTIFICATE, E,
	  "the MX host's certificate is self-signed",
	  "install a certificate from a public CA",
	  "RFC 8461 4.2" },
	{ "mx-cert-name", MTASTS_CAT_MX_CERTIFICATE, E,
	  "the MX host's certificate does not name the MX host",
	  "install a certificate whose subjectAltName includes the MX host name",
	  "RFC 8461 4.2" },
	{ "mx-cert-weak", MTASTS_CAT_MX_CERTIFICATE, E,
	  "the MX host's certificate has a key or signature too weak for the "
	  "security level senders' TLS libraries apply (RSA under 2048 bits, SHA-1)",
	  "install a certificate with an RSA key of 2048 bits or more, or an ECDSA key",
	  "RFC 8461 4.2" },
	{ "mx-cert-not-in-policy", MTASTS_CAT_MX_CERTIFICATE, W,
	  "no name in the MX host's certificate matches an mx pattern of the policy",
	  "make the certificate name a host the policy covers",
	  "RFC 8461 4.1" },
	{ "mx-cert-expiring", MTASTS_CAT_MX_CERTIFICATE, W,
	  "the MX host's certificate expires within 14 days",
	  "renew the certificate now",
	  "RFC 8461 4.2" },

	/* tlsrpt */
	{ "tlsrpt-missing", MTASTS_CAT_TLSRPT, W,
	  "no TLSRPT record: senders cannot tell you when TLS to your MX fails",
	  "publish \"v=TLSRPTv1; rua=mailto:<address>\" at _smtp._tls.<domain>",
	  "RFC 8460 3" },
	{ "tlsrpt-multiple", MTASTS_CAT_TLSRPT, E,
	  "several TLSRPT records: senders send no reports",
	  "keep exactly one record beginning with v=TLSRPTv1",
	  "RFC 8460 3" },
	{ "tlsrpt-invalid", MTASTS_CAT_TLSRPT, E,
	  "the TLSRPT record does not follow the grammar",
	  "write \"v=TLSRPTv1; rua=<mailto: or https: URI>[,<URI>]\"",
	  "RFC 8460 3" },
	{ "tlsrpt-unsupported-scheme", MTASTS_CAT_TLSRPT, W,
	  "a rua URI has a scheme reports cannot be sent to",
	  "use mailto: or https: URIs only",
	  "RFC 8460 3" },
	{ "tlsrpt-rua-unreachable", MTASTS_CAT_TLSRPT, W,
	  "an https: rua endpoint did not complete a TLS handshake",
	  "make the report endpoint reachable over HTTPS with a valid certificate",
	  "RFC 8460 5.4" },
	{ "tlsrpt-lookup-failed", MTASTS_CAT_TLSRPT, E,
	  "the TLSRPT lookup failed",
	  "make the name servers answer for _smtp._tls.<domain>",
	  "RFC 8460 3" },

	/* dane */
	{ "dane-tlsa", MTASTS_CAT_DANE, I,
	  "the MX host publishes DANE TLSA records",
	  "nothing to do; DANE-capable senders use them",
	  "RFC 7672" },
	{ "dane-lookup-failed", MTASTS_CAT_DANE, W,
	  "the TLSA lookup for an MX host failed; DANE senders defer mail to it",
	  "make the name servers answer for _25._tcp.<mx host>, signed when the zone is",
	  "RFC 7672 2.2" },
	{ "dane-tlsa-insecure", MTASTS_CAT_DANE, I,
	  "TLSA records exist but the answer was not DNSSEC-validated, so DANE senders ignore them",
	  "sign the zone with DNSSEC and publish the DS record",
	  "RFC 7672 2.2" },
};

#undef E
#undef W
#undef I
#undef MAX_AGE_ADVICE

const size_t mtasts_finding_def_count = ARRAY_SIZE(mtasts_finding_defs);

const struct mtasts_finding_def *mtasts_finding_def_find(const char *id)
{
	for (size_t i = 0; id != NULL && i < mtasts_finding_def_count; i++)
		if (strcmp(mtasts_finding_defs[i].id, id) == 0)
			return &mtasts_finding_defs[i];
	return NULL;
}

void mtasts_report_init(struct mtasts_report *report)
{
	memset(report, 0, sizeof(*report));
}

static void finding_release(struct mtasts_finding *f)
{
	free(f->message);
	for (size_t j = 0; j < f->evidence_count; j++)
		free(f->evidence[j].string);
}

void mtasts_report_release(struct mtasts_report *report)
{
	for (size_t i = 0; i < report->count; i++)
		finding_release(&report->findings[i]);
	free(report->findings);
	mtasts_report_init(report);
}

void mtasts_report_filter(struct mtasts_report *report,
			  bool (*keep)(const struct mtasts_finding *finding, void *arg),
			  void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < report->count; i++) {
		if (keep(&report->findings[i], arg))
			report->findings[kept++] = report->findings[i];
		else
			finding_release(&report->findings[i]);
	}
	report->count = kept;
}

static struct mtasts_finding *report_vadd(struct mtasts_report *report, const char *id,
					  const enum mtasts_finding_severity *severity,
					  const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static struct mtasts_finding *report_vadd(struct mtasts_report *report, const char *id,
					  const enum mtasts_finding_severity *severity,
					  const char *fmt, va_list ap)
{
	const struct mtasts_finding_def *def = mtasts_finding_def_find(id);
	struct mtasts_finding *f;
	char message[512];

	if (def == NULL)
		return NULL;
	if (report->count == report->capacity) {
		size_t capacity = report->capacity == 0 ? 16 : report->capacity * 2;
		struct mtasts_finding *grown = realloc(report->findings,
						       capacity * sizeof(*grown));

		if (grown == NULL) {
			report->incomplete = true;
			return NULL;
		}
		report->findings = grown;
		report->capacity = capacity;
	}
	vsnprintf(message, sizeof(message), fmt, ap);
	f = &report->findings[report->count];
	memset(f, 0, sizeof(*f));
	if ((f->message = strdup(message)) == NULL) {
		report->incomplete = true;
		return NULL;
	}
	f->def = def;
	f->severity = severity != NULL ? *severity : def->severity;
	report->count++;
	return f;
}

struct mtasts_finding *mtasts_report_add(struct mtasts_report *report, const char *id,
					 const char *fmt, ...)
{
	struct mtasts_finding *f;
	va_list ap;

	va_start(ap, fmt);
	f = report_vadd(report, id, NULL, fmt, ap);
	va_end(ap);
	return f;
}

struct mtasts_finding *mtasts_report_add_as(struct mtasts_report *report, const char *id,
					    enum mtasts_finding_severity severity,
					    const char *fmt, ...)
{
	struct mtasts_finding *f;
	va_list ap;

	va_start(ap, fmt);
	f = report_vadd(report, id, &severity, fmt, ap);
	va_end(ap);
	return f;
}

static struct mtasts_evidence *next_evidence(struct mtasts_finding *f, const char *key,
					     enum mtasts_evidence_kind kind)
{
	struct mtasts_evidence *e;

	if (f == NULL || f->evidence_count == MTASTS_EVIDENCE_MAX)
		return NULL;
	e = &f->evidence[f->evidence_count];
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->kind = kind;
	return e;
}

void mtasts_finding_string(struct mtasts_finding *f, const char *key, const char *value)
{
	struct mtasts_evidence *e = next_evidence(f, key, MTASTS_EVIDENCE_STRING);

	if (e != NULL && value != NULL && (e->string = strdup(value)) != NULL)
		f->evidence_count++;
}

void mtasts_finding_number(struct mtasts_finding *f, const char *key, long long value)
{
	struct mtasts_evidence *e = next_evidence(f, key, MTASTS_EVIDENCE_NUMBER);

	if (e != NULL) {
		e->number = value;
		f->evidence_count++;
	}
}

void mtasts_finding_bool(struct mtasts_finding *f, const char *key, bool value)
{
	struct mtasts_evidence *e = next_evidence(f, key, MTASTS_EVIDENCE_BOOL);

	if (e != NULL) {
		e->number = value;
		f->evidence_count++;
	}
}

size_t mtasts_report_count(const struct mtasts_report *report,
			   enum mtasts_finding_severity severity)
{
	size_t n = 0;

	for (size_t i = 0; i < report->count; i++)
		if (report->findings[i].severity == severity)
			n++;
	return n;
}

enum mtasts_verdict mtasts_report_verdict(const struct mtasts_report *report)
{
	if (mtasts_report_count(report, MTASTS_FINDING_ERROR) > 0)
		return MTASTS_VERDICT_FAIL;
	if (mtasts_report_count(report, MTASTS_FINDING_WARNING) > 0)
		return MTASTS_VERDICT_WARN;
	return MTASTS_VERDICT_PASS;
}

bool mtasts_report_incomplete(const struct mtasts_report *report)
{
	if (report->incomplete)
		return true;
	for (size_t i = 0; i < report->count; i++)
		if (report->findings[i].temporary)
			return true;
	return false;
}

const char *mtasts_category_name(enum mtasts_category category)
{
	static const char *const names[MTASTS_CAT_COUNT] = {
		[MTASTS_CAT_DNS_TXT] = "dns-txt",
		[MTASTS_CAT_POLICY_FETCH] = "policy-fetch",
		[MTASTS_CAT_POLICY_HOST_TLS] = "policy-host-tls",
		[MTASTS_CAT_POLICY_SYNTAX] = "policy-syntax",
		[MTASTS_CAT_POLICY_SEMANTICS] = "policy-semantics",
		[MTASTS_CAT_MX_DNS] = "mx-dns",
		[MTASTS_CAT_MX_COVERAGE] = "mx-coverage",
		[MTASTS_CAT_MX_STARTTLS] = "mx-starttls",
		[MTASTS_CAT_MX_CERTIFICATE] = "mx-certificate",
		[MTASTS_CAT_TLSRPT] = "tlsrpt",
		[MTASTS_CAT_DANE] = "dane",
	};

	return (unsigned)category < MTASTS_CAT_COUNT ? names[category] : "unknown";
}

const char *mtasts_finding_severity_name(enum mtasts_finding_severity severity)
{
	switch (severity) {
	case MTASTS_FINDING_ERROR:
		return "error";
	case MTASTS_FINDING_WARNING:
		return "warning";
	case MTASTS_FINDING_INFO:
		return "info";
	}
	return "unknown";
}

const char *mtasts_verdict_name(enum mtasts_verdict verdict)
{
	switch (verdict) {
	case MTASTS_VERDICT_PASS:
		return "pass";
	case MTASTS_VERDICT_WARN:
		return "warn";
	case MTASTS_VERDICT_FAIL:
		return "fail";
	}
	return "unknown";
}
