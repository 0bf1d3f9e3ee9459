/*
 * fetcher.c - policy discovery for one domain: a small state machine of
 * callbacks (TXT answer, address answer, HTTP response), each step
 * deciding the outcome or starting the next.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include <mtasts/mx.h>
#include <mtasts/txt.h>

#include "fetcher.h"

struct discovery {
	struct resolver *resolver;
	struct http_client *http;
	fetch_done_fn *fn;
	void *arg;
	struct fetch_result *result;
	char policy_host[MTASTS_HOST_NAME_MAX + 16];
};

struct fetch_result *fetch_result_free(struct fetch_result *r)
{
	if (r == NULL)
		return NULL;
	free(r->domain);
	free(r->txt_id);
	mtasts_policy_free(r->policy);
	free(r->body);
	free(r);
	return NULL;
}

static void conclude(struct discovery *d, enum mtasts_fetch_status status,
		     enum mtasts_result_type type, const char *check,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void conclude(struct discovery *d, enum mtasts_fetch_status status,
		     enum mtasts_result_type type, const char *check,
		     const char *fmt, ...)
{
	struct fetch_result *r = d->result;
	va_list ap;

	r->status = status;
	r->result_type = type;
	r->check = check;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	d->fn(d->arg, r);
	free(d);
}

/* The first error the parser reported, as the reason for people. */
static const char *first_error(const struct mtasts_diags *diags)
{
	for (size_t i = 0; i < diags->count; i++)
		if (diags->items[i].severity == MTASTS_SEVERITY_ERROR)
			return diags->items[i].message;
	return "invalid";
}

/* Name the certificate failure after what OpenSSL's validation reported. */
static const char *certificate_check(long verify_result, const char *error)
{
	/* curl checks the name itself and says so in its message. */
	if (strstr(error, "subject name") != NULL ||
	    strstr(error, "does not match") != NULL)
		return "tls-cert-name";
	switch (verify_result) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "tls-cert-expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "tls-cert-not-yet-valid";
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return "tls-cert-self-signed";
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return "tls-cert-untrusted";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_OK:		/* chain fine: curl's own name check failed */
		return "tls-cert-name";
	default:
		return "tls-certificate";
	}
}

static void on_http(void *arg, const struct http_response *resp)
{
	struct discovery *d = arg;
	struct fetch_result *r = d->result;
	enum mtasts_result_type type;
	enum mtasts_fetch_status status;
	char why[MTASTS_FETCH_REASON_MAX - 64];
	const char *check;
	int rc;

	switch (resp->outcome) {
	case HTTP_COMPLETED:
		break;
	case HTTP_TIMEOUT:
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			 "timeout", "https://%s/: %s", d->policy_host, resp->error);
		return;
	case HTTP_CONNECT_FAILED:
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			 "https-connect", "cannot connect to %s port 443: %s",
			 d->policy_host, resp->error);
		return;
	case HTTP_TLS_CERTIFICATE:
		conclude(d, MTASTS_FETCH_INVALID, MTASTS_RESULT_STS_WEBPKI_INVALID,
			 certificate_check(resp->verify_result, resp->error), "the certificate "
			 "of %s fails PKIX validation: %s", d->policy_host, resp->error);
		return;
	case HTTP_TLS_HANDSHAKE:
		conclude(d, MTASTS_FETCH_INVALID, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			 "tls-handshake", "no TLS 1.2 or newer session with %s: %s",
			 d->policy_host, resp->error);
		return;
	case HTTP_RECEIVE_FAILED:
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			 "https-receive", "the response from %s broke off: %s",
			 d->policy_host, resp->error);
		return;
	case HTTP_RESOLVE_FAILED:
	case HTTP_FAILED:
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			 "https", "fetching from %s failed: %s", d->policy_host,
			 resp->error);
		return;
	}
	if (resp->body_len > 0) {
		if ((r->body = malloc(resp->body_len + 1)) == NULL) {
			conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "memory",
				 "out of memory");
			return;
		}
		memcpy(r->body, resp->body, resp->body_len);
		r->body[resp->body_len] = '\0';
		r->body_len = resp->body_len;
	}
	status = mtasts_http_response_check(resp->status, resp->content_type,
					    resp->location, resp->truncated,
					    MTASTS_POLICY_BODY_MAX, &type, &check,
					    why, sizeof(why));
	if (status != MTASTS_FETCH_POLICY) {
		conclude(d, status, type, check, "https://%s/.well-known/mta-sts.txt: "
			 "%s", d->policy_host, why);
		return;
	}
	rc = mtasts_policy_parse(r->body != NULL ? r->body : "", r->body_len,
				 &r->policy, &r->diags);
	if (rc == MTASTS_ERR_NOMEM) {
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "memory",
			 "out of memory");
		return;
	}
	if (rc != MTASTS_OK) {
		conclude(d, MTASTS_FETCH_INVALID, MTASTS_RESULT_STS_POLICY_INVALID,
			 "policy-syntax", "%s", first_error(&r->diags));
		return;
	}
	conclude(d, MTASTS_FETCH_POLICY, MTASTS_RESULT_NONE, NULL, "policy fetched "
		 "from %s (%s)", d->policy_host, resp->remote_ip != NULL ?
		 resp->remote_ip : "?");
}

static void on_addresses(void *arg, const struct address_answer *answer)
{
	struct discovery *d = arg;
	char url[sizeof(d->policy_host) + 64];
	struct http_request req = { 0 };
	int rc;

	if (answer->status != RESOLVER_OK) {
		bool temporary = resolver_status_is_temporary(answer->status);

		conclude(d, temporary ? MTASTS_FETCH_TEMP_FAIL : MTASTS_FETCH_INVALID,
			 MTASTS_RESULT_STS_POLICY_FETCH_ERROR, "policy-host-dns",
			 "the policy host %s has no address: %s", d->policy_host,
			 resolver_status_name(answer->status));
		return;
	}
	snprintf(url, sizeof(url), "https://%s/.well-known/mta-sts.txt", d->policy_host);
	req.url = url;
	req.host = d->policy_host;
	req.port = 443;
	req.addresses = answer->addresses;
	req.address_count = answer->count;
	if ((rc = http_get(d->http, &req, on_http, d)) != 0)
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			 "https", "cannot start the HTTPS request: %s", strerror(-rc));
}

static void on_txt(void *arg, const struct txt_answer *answer)
{
	struct discovery *d = arg;
	struct fetch_result *r = d->result;
	struct mtasts_sts_record *record = NULL;
	int rc;

	if (answer->status == RESOLVER_NXDOMAIN || answer->status == RESOLVER_NODATA) {
		conclude(d, MTASTS_FETCH_NO_POLICY, MTASTS_RESULT_NONE, "txt-lookup",
			 "no TXT record at _mta-sts.%s (%s)", r->domain,
			 resolver_status_name(answer->status));
		return;
	}
	if (answer->status != RESOLVER_OK) {
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "txt-lookup",
			 "the TXT lookup of _mta-sts.%s failed: %s", r->domain,
			 resolver_status_name(answer->status));
		return;
	}
	rc = mtasts_sts_record_parse(answer->records, answer->count, &record, &r->diags);
	if (rc == MTASTS_ERR_NO_RECORD) {
		conclude(d, MTASTS_FETCH_NO_POLICY, MTASTS_RESULT_NONE, "txt-record",
			 "no TXT record at _mta-sts.%s begins with v=STSv1", r->domain);
		return;
	}
	if (rc != MTASTS_OK) {
		conclude(d, MTASTS_FETCH_INVALID, MTASTS_RESULT_STS_POLICY_INVALID,
			 "txt-record", "_mta-sts.%s: %s", r->domain, first_error(&r->diags));
		return;
	}
	r->txt_id = strdup(record->id);
	mtasts_sts_record_free(record);
	if (r->txt_id == NULL) {
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_NONE, "memory",
			 "out of memory");
		return;
	}
	if ((rc = resolver_addresses(d->resolver, d->policy_host, on_addresses, d)) != 0)
		conclude(d, MTASTS_FETCH_TEMP_FAIL, MTASTS_RESULT_STS_POLICY_FETCH_ERROR,
			 "policy-host-dns", "cannot start the lookup: %s", strerror(-rc));
}

int fetch_policy(struct resolver *resolver, struct http_client *http,
		 const char *domain, fetch_done_fn *fn, void *arg)
{
	struct discovery *d = calloc(1, sizeof(*d));
	char txt_name[MTASTS_HOST_NAME_MAX + 16], why[128];
	size_t len = strlen(domain), offset;
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
	d->fn = fn;
	d->arg = arg;
	mtasts_diags_init(&d->result->diags);
	/* Names are compared without case; keep one spelling, no final dot. */
	if (len > 1 && domain[len - 1] == '.')
		d->result->domain[--len] = '\0';
	for (char *p = d->result->domain; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	/* "_mta-sts." in front must still fit in a DNS name. */
	if (len > MTASTS_HOST_NAME_MAX - strlen("_mta-sts.")) {
		conclude(d, MTASTS_FETCH_INVALID, MTASTS_RESULT_NONE, "domain-name",
			 "the domain name is %zu octets; with \"_mta-sts.\" in front "
			 "it would be longer than a DNS name may be", len);
		return 0;
	}
	if (!mtasts_mx_host_check(d->result->domain, len, &offset, why, sizeof(why))) {
		conclude(d, MTASTS_FETCH_INVALID, MTASTS_RESULT_NONE, "domain-name",
			 "\"%s\" is not a domain name: %s", domain, why);
		return 0;
	}
	snprintf(txt_name, sizeof(txt_name), "_mta-sts.%s", d->result->domain);
	snprintf(d->policy_host, sizeof(d->policy_host), "mta-sts.%s", d->result->domain);
	if ((rc = resolver_txt(resolver, txt_name, on_txt, d)) != 0) {
		fetch_result_free(d->result);
		free(d);
		return rc;
	}
	return 0;
}
