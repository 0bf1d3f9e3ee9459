/*
 * acme.c - the ACME client of acme.h: the account (newAccount,
 * deactivation), the flow of an order (newOrder, the authorization and
 * its challenge, finalize, download) and the schedule of retries and
 * renewals.  The requests are acme_request.c's, the pieces made with
 * OpenSSL acme_crypto.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "acme.h"
#include "acme_internal.h"
#include "util.h"

#define ORDER_PAYLOAD_MAX 512
#define AUTHORIZATIONS_MAX 8		/* one name: one authorization, some slack */
#define POLL_DEFAULT_S 1
#define REQUEST_TIMEOUT_DEFAULT_MS 30000
#define VALIDATION_WAIT_DEFAULT_S 60

int64_t acme_backoff_seconds(unsigned failures, double jitter)
{
	int64_t wait = 300;

	if (failures == 0)
		return 0;
	for (unsigned i = 1; i < failures && wait < 86400; i++)
		wait *= 2;
	if (wait > 86400)
		wait = 86400;
	return (int64_t)((double)wait * jitter);
}

int64_t acme_renewal_time(int64_t not_before, int64_t not_after)
{
	return not_before + (not_after - not_before) / 3 * 2;
}

/* ---------------------------------------------------------------- account */

int acme_client_new(const struct acme_client_config *config, EVP_PKEY *account_key,
		    struct acme_client **ret_client, char *why, size_t why_size)
{
	struct acme_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		say_why(why, why_size, "out of memory");
		return ACME_FAILED;
	}
	if (!acme_url_on_origin(config->directory_url, config->directory_url)) {
		free(c);
		say_why(why, why_size, "the ACME directory URL is not an https:// URL of printable "
			"ASCII without user information");
		return ACME_FAILED;
	}
	c->directory_url = strdup(config->directory_url);
	c->ca_file = config->ca_file != NULL ? strdup(config->ca_file) : NULL;
	c->email = config->email != NULL ? strdup(config->email) : NULL;
	c->request_timeout_ms = config->request_timeout_ms ? config->request_timeout_ms
							   : REQUEST_TIMEOUT_DEFAULT_MS;
	c->validation_wait_s = config->validation_wait_s ? config->validation_wait_s
							 : VALIDATION_WAIT_DEFAULT_S;
	c->cancelled = config->cancelled;
	c->cancel_arg = config->cancel_arg;
	c->curl = curl_easy_init();
	if (c->directory_url == NULL || (config->ca_file != NULL && c->ca_file == NULL) ||
	    (config->email != NULL && c->email == NULL) || c->curl == NULL) {
		acme_client_free(c);
		say_why(why, why_size, "out of memory");
		return ACME_FAILED;
	}
	if (acme_jwk(account_key, c->jwk, sizeof(c->jwk)) != 0) {
		acme_client_free(c);
		say_why(why, why_size, "the account key is not an EC P-256 key");
		return ACME_FAILED;
	}
	EVP_PKEY_up_ref(account_key);
	c->key = account_key;
	acme_thumbprint_of_jwk(c->jwk, c->thumbprint);
	*ret_client = c;
	return 0;
}

void acme_client_free(struct acme_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	EVP_PKEY_free(c->key);
	free(c->directory_url);
	free(c->ca_file);
	free(c->email);
	free(c);
}

int64_t acme_retry_at(const struct acme_client *c)
{
	return c->retry_at;
}

/* A status of an account object that says it is no more. */
static bool account_gone(const char *status)
{
	return status != NULL && (strcmp(status, "deactivated") == 0 ||
				  strcmp(status, "revoked") == 0);
}

int acme_account_register(struct acme_client *c, char *why, size_t why_size)
{
	json_t *payload = json_pack("{s:b}", "termsOfServiceAgreed", 1), *json = NULL;
	char *payload_text = NULL;
	char contact[512];
	struct response r = { 0 };
	int rc;

	if ((rc = acme_read_directory(c, why, why_size)) != 0)
		goto out;
	rc = ACME_FAILED;
	if (payload == NULL)
		goto out;
	if (c->email != NULL && c->email[0] != '\0') {
		snprintf(contact, sizeof(contact), "mailto:%s", c->email);
		json_object_set_new(payload, "contact", json_pack("[s]", contact));
	}
	if ((payload_text = json_dumps(payload, JSON_COMPACT)) == NULL)
		goto out;
	if ((rc = acme_post(c, c->new_account, payload_text, true, NULL, "newAccount", &r, why,
		       why_size)) != 0)
		goto out;
	if (r.status != 200 && r.status != 201) {
		json_t *problem;
		char detail[8];
		const char *type = acme_problem_of(&r, &problem, detail, sizeof(detail));

		/* this key's account is deactivated or revoked */
		bool gone = (r.status == 401 || r.status == 403) &&
			    (strcmp(type, ACME_ERROR "unauthorized") == 0 ||
			     strcmp(type, ACME_ERROR "accountDoesNotExist") == 0);

		json_decref(problem);
		rc = acme_failure(c, &r, "newAccount", why, why_size);
		if (gone)
			rc = ACME_ACCOUNT_GONE;
		goto out;
	}
	rc = ACME_FAILED;
	if ((json = acme_response_json(&r, "newAccount", why, why_size)) == NULL)
		goto out;
	if (account_gone(acme_member(json, "status"))) {
		say_why(why, why_size, "newAccount: the account is %s",
			acme_member(json, "status"));
		rc = ACME_ACCOUNT_GONE;
		goto out;
	}
	if (!acme_url_on_origin(c->directory_url, r.location)) {
		say_why(why, why_size, "newAccount: the server gave no account URL");
		goto out;
	}
	strcpy(c->kid, r.location);
	rc = 0;
out:
	json_decref(json);
	json_decref(payload);
	free(payload_text);
	acme_response_release(&r);
	return rc;
}

/*
 * Whether the account URL itself says the account is gone: 200 with status
 * deactivated or revoked, accountDoesNotExist (a server that forgot it), or
 * 401/403 unauthorized.  Anything else (valid, a 5xx, no answer) is no
 * proof, and the account is kept.
 */
static bool account_surely_gone(struct acme_client *c)
{
	struct response r;
	json_t *json = NULL, *problem = NULL;
	char why[8], detail[8];
	bool gone = false;

	if (acme_post(c, c->kid, NULL, false, NULL, "account", &r, why, sizeof(why)) != 0)
		return false;
	if (r.status == 200 && (json = acme_response_json(&r, "account", why, sizeof(why))) != NULL)
		gone = account_gone(acme_member(json, "status"));
	else if (r.status == 400 || r.status == 401 || r.status == 403) {
		const char *type = acme_problem_of(&r, &problem, detail, sizeof(detail));

		gone = strcmp(type, ACME_ERROR "accountDoesNotExist") == 0 ||
		       (r.status != 400 && strcmp(type, ACME_ERROR "unauthorized") == 0);
	}
	json_decref(problem);
	json_decref(json);
	acme_response_release(&r);
	return gone;
}

int acme_account_deactivate(struct acme_client *c, char *why, size_t why_size)
{
	struct response r;
	json_t *json = NULL;
	int rc;

	if (c->kid[0] == '\0' && (rc = acme_account_register(c, why, why_size)) != 0)
		return rc;
	if ((rc = acme_post(c, c->kid, "{\"status\":\"deactivated\"}", false, NULL, "deactivate",
		       &r, why, why_size)) != 0)
		return rc;
	if (r.status != 200)
		rc = acme_failure(c, &r, "deactivate", why, why_size);
	else if ((json = acme_response_json(&r, "deactivate", why, why_size)) == NULL)
		rc = ACME_FAILED;
	else if (!account_gone(acme_member(json, "status"))) {
		char shown[SHOWN_MAX * 4 + 8];

		acme_escape(acme_member_or_empty(json, "status"), shown, sizeof(shown));
		say_why(why, why_size, "deactivate: the account is still %s",
			shown[0] != '\0' ? shown : "?");
		rc = ACME_FAILED;
	}
	json_decref(json);
	acme_response_release(&r);
	return rc;
}

/* ------------------------------------------------------------------ order */

/* Sleep seconds, waking to see whether to stop; false when cancelled. */
static bool pause_for(struct acme_client *c, int64_t seconds)
{
	for (int64_t ms = seconds * 1000; ms > 0; ms -= 100) {
		if (acme_cancelled(c))
			return false;
		usleep(100 * 1000);
	}
	return !acme_cancelled(c);
}

/*
 * POST-as-GET url until its object's status is none of the waiting ones
 * (or the wait is over), honouring Retry-After; *ret_json the last object.
 */
static int poll_object(struct acme_client *c, const char *url, const char *const *waiting,
		       const char *step, json_t **ret_json, char *why, size_t why_size)
{
	long long deadline = monotonic_ms() + (long long)c->validation_wait_s * 1000;

	for (;;) {
		struct response r;
		json_t *json;
		const char *status;
		int64_t wait, left;
		bool again = false;
		int rc;

		if ((rc = acme_post(c, url, NULL, false, NULL, step, &r, why, why_size)) != 0)
			return rc;
		if (r.status != 200) {
			rc = acme_failure(c, &r, step, why, why_size);
			acme_response_release(&r);
			return rc;
		}
		json = acme_response_json(&r, step, why, why_size);
		wait = r.retry_after > 0 ? r.retry_after : POLL_DEFAULT_S;
		acme_response_release(&r);
		if (json == NULL)
			return ACME_FAILED;
		status = acme_member(json, "status");
		for (size_t i = 0; status != NULL && waiting[i] != NULL; i++)
			again = again || strcmp(status, waiting[i]) == 0;
		if (!again) {
			*ret_json = json;
			return 0;
		}
		json_decref(json);
		/* a Retry-After beyond the deadline is cut to it: one last look then */
		left = (deadline - monotonic_ms()) / 1000;
		if (left <= 0) {
			say_why(why, why_size, "%s: still %s after %u seconds", step, status,
				c->validation_wait_s);
			return ACME_FAILED;
		}
		if (wait > left)
			wait = left;
		if (!pause_for(c, wait))
			return ACME_CANCELLED;
	}
}

/* The first challenge of authz whose type is the first of types offered. */
static json_t *choose_challenge(json_t *authz, const char *const *types, size_t count)
{
	json_t *challenges = json_object_get(authz, "challenges");

	for (size_t t = 0; t < count; t++) {
		size_t i;
		json_t *challenge;

		json_array_foreach(challenges, i, challenge) {
			const char *type = acme_member(challenge, "type");

			if (type != NULL && strcmp(type, types[t]) == 0)
				return challenge;
		}
	}
	return NULL;
}

/* Why a challenge was refused: its error's type and detail, escaped. */
static void challenge_error(json_t *authz, const char *type, char *out, size_t size)
{
	json_t *challenges = json_object_get(authz, "challenges"), *challenge;
	size_t i;

	snprintf(out, size, "no reason given");
	json_array_foreach(challenges, i, challenge) {
		json_t *error = json_object_get(challenge, "error");
		const char *detail = acme_member(error, "detail");
		const char *etype = acme_member(error, "type");
		char d[SHOWN_MAX * 4 + 8], t[160];

		if (error == NULL || strcmp(acme_member_or_empty(challenge, "type"), type) != 0)
			continue;
		etype = acme_short_type(etype != NULL ? etype : "");
		acme_escape(etype, t, sizeof(t));
		acme_escape(detail != NULL ? detail : "", d, sizeof(d));
		snprintf(out, size, "%s: %s", t, d);
		return;
	}
}

static int answer_challenge(struct acme_client *c, const char *name, json_t *authz,
			    const char *authz_url, const char *const *types, size_t type_count,
			    const struct acme_responder *responder, char *why, size_t why_size)
{
	static const char *const waiting[] = { "pending", "processing", NULL };
	json_t *challenge = choose_challenge(authz, types, type_count), *done = NULL;
	struct acme_challenge_answer answer = { .name = name };
	char key_authorization[ACME_KEY_AUTHZ_MAX], step[64], reason[SHOWN_MAX * 5];
	const char *token, *url;
	struct response r = { 0 };
	int rc;

	if (challenge == NULL) {
		say_why(why, why_size, "authorization of %s: the server offers none of the "
			"challenge types asked for (first: %s)", name, types[0]);
		return ACME_FAILED;
	}
	answer.type = acme_member(challenge, "type");
	token = acme_member(challenge, "token");
	url = acme_member(challenge, "url");
	snprintf(step, sizeof(step), "challenge %s", answer.type);
	if (token == NULL || url == NULL || !acme_url_on_origin(c->directory_url, url) ||
	    acme_key_authorization(token, c->thumbprint, key_authorization,
				   sizeof(key_authorization)) != 0) {
		say_why(why, why_size, "%s for %s: no usable token or URL", step, name);
		return ACME_FAILED;
	}
	answer.token = token;
	answer.key_authorization = key_authorization;
	if (strcmp(answer.type, "tls-alpn-01") == 0 &&
	    acme_alpn_certificate(name, key_authorization, &answer.cert, &answer.key, why,
				  why_size) != 0)
		return ACME_FAILED;
	if (responder->publish(responder->arg, &answer) != 0) {
		say_why(why, why_size, "%s for %s: the answer could not be published", step, name);
		rc = ACME_FAILED;
		goto out;
	}
	rc = acme_post(c, url, "{}", false, NULL, step, &r, why, why_size);
	if (rc == 0 && r.status != 200)
		rc = acme_failure(c, &r, step, why, why_size);
	if (rc == 0)
		rc = poll_object(c, authz_url, waiting, "authorization", &done, why, why_size);
	responder->withdraw(responder->arg, &answer);
	if (rc == 0 && strcmp(acme_member_or_empty(done, "status"), "valid") != 0) {
		challenge_error(done, answer.type, reason, sizeof(reason));
		say_why(why, why_size, "%s for %s failed: %s", step, name, reason);
		rc = ACME_FAILED;
	}
out:
	json_decref(done);
	acme_response_release(&r);
	X509_free(answer.cert);
	EVP_PKEY_free(answer.key);
	return rc;
}

static int authorize(struct acme_client *c, const char *name, json_t *order,
		     const char *const *types, size_t type_count,
		     const struct acme_responder *responder, char *why, size_t why_size)
{
	json_t *authzs = json_object_get(order, "authorizations"), *item;
	size_t i;

	if (!json_is_array(authzs) || json_array_size(authzs) == 0 ||
	    json_array_size(authzs) > AUTHORIZATIONS_MAX) {
		say_why(why, why_size, "newOrder for %s: the order has no usable authorizations",
			name);
		return ACME_FAILED;
	}
	json_array_foreach(authzs, i, item) {
		const char *url = json_string_value(item);
		struct response r;
		json_t *authz;
		const char *status;
		int rc;

		if (url == NULL || !acme_url_on_origin(c->directory_url, url)) {
			say_why(why, why_size, "newOrder for %s: an authorization URL is not https",
				name);
			return ACME_FAILED;
		}
		if ((rc = acme_post(c, url, NULL, false, NULL, "authorization", &r, why, why_size)) != 0)
			return rc;
		if (r.status != 200) {
			rc = acme_failure(c, &r, "authorization", why, why_size);
			acme_response_release(&r);
			return rc;
		}
		authz = acme_response_json(&r, "authorization", why, why_size);
		acme_response_release(&r);
		if (authz == NULL)
			return ACME_FAILED;
		status = acme_member(authz, "status");
		if (status != NULL && strcmp(status, "valid") == 0)
			rc = 0;
		else if (status != NULL && strcmp(status, "pending") == 0)
			rc = answer_challenge(c, name, authz, url, types, type_count, responder,
					      why, why_size);
		else {
			say_why(why, why_size, "authorization of %s is %s", name,
				status != NULL && acme_host_name_ok(status) ? status : "not pending");
			rc = ACME_FAILED;
		}
		json_decref(authz);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int finalize(struct acme_client *c, const char *name, const char *order_url,
		    json_t *order, EVP_PKEY *cert_key, char **ret_certificate_url,
		    char *why, size_t why_size)
{
	static const char *const waiting[] = { "pending", "ready", "processing", NULL };
	const char *finalize_url = acme_member(order, "finalize");
	unsigned char *der = NULL;
	size_t der_len;
	char *csr64 = NULL, *payload = NULL;
	json_t *done = NULL;
	struct response r = { 0 };
	int rc = ACME_FAILED;

	if (finalize_url == NULL || !acme_url_on_origin(c->directory_url, finalize_url)) {
		say_why(why, why_size, "newOrder for %s: no finalize URL", name);
		return ACME_FAILED;
	}
	if (acme_csr(name, cert_key, &der, &der_len, why, why_size) != 0 ||
	    (csr64 = acme_base64url_new(der, der_len)) == NULL ||
	    (payload = malloc(strlen(csr64) + 16)) == NULL)
		goto out;
	sprintf(payload, "{\"csr\":\"%s\"}", csr64);
	if ((rc = acme_post(c, finalize_url, payload, false, NULL, "finalize", &r, why,
		       why_size)) != 0)
		goto out;
	if (r.status != 200) {
		rc = acme_failure(c, &r, "finalize", why, why_size);
		goto out;
	}
	if ((rc = poll_object(c, order_url, waiting, "order", &done, why, why_size)) != 0)
		goto out;
	rc = ACME_FAILED;
	if (strcmp(acme_member_or_empty(done, "status"), "valid") != 0 ||
	    !acme_url_on_origin(c->directory_url, acme_member_or_empty(done, "certificate"))) {
		say_why(why, why_size, "order for %s: %s, without a certificate", name,
			acme_host_name_ok(acme_member_or_empty(done, "status")) ?
			acme_member(done, "status") : "not valid");
		goto out;
	}
	if ((*ret_certificate_url = strdup(acme_member(done, "certificate"))) != NULL)
		rc = 0;
out:
	json_decref(done);
	acme_response_release(&r);
	OPENSSL_free(der);
	free(csr64);
	free(payload);
	return rc;
}

static int download(struct acme_client *c, const char *name, const char *url,
		    char **ret_chain, char *why, size_t why_size)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	struct response r;
	int rc;

	if ((rc = acme_post(c, url, NULL, false, "application/pem-certificate-chain", "certificate",
		       &r, why, why_size)) != 0)
		return rc;
	if (r.status != 200) {
		rc = acme_failure(c, &r, "certificate", why, why_size);
	} else if (r.body == NULL || strncmp(r.body, begin, sizeof(begin) - 1) != 0 ||
		   strlen(r.body) != r.len) {
		say_why(why, why_size, "certificate for %s: the server's answer is not a PEM "
			"chain", name);
		rc = ACME_FAILED;
	} else {
		*ret_chain = r.body;
		r.body = NULL;
	}
	acme_response_release(&r);
	return rc;
}

int acme_order(struct acme_client *c, const char *name, EVP_PKEY *cert_key,
	       const char *const *challenge_types, size_t challenge_type_count,
	       const struct acme_responder *responder, char **ret_chain,
	       char *why, size_t why_size)
{
	char payload[ORDER_PAYLOAD_MAX];
	char order_url[URL_MAX];
	char *certificate_url = NULL;
	struct response r = { 0 };
	json_t *order = NULL;
	int rc;

	if (!acme_host_name_ok(name) || challenge_type_count == 0) {
		say_why(why, why_size, "newOrder: '%s' is not a host name", name);
		return ACME_FAILED;
	}
	if (c->kid[0] == '\0' && (rc = acme_account_register(c, why, why_size)) != 0)
		return rc;
	c->ordering = true;
	snprintf(payload, sizeof(payload),
		 "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", name);
	if ((rc = acme_post(c, c->new_order, payload, false, NULL, "newOrder", &r, why,
		       why_size)) != 0)
		goto out;
	if (r.status != 201) {
		rc = acme_failure(c, &r, "newOrder", why, why_size);
		goto out;
	}
	rc = ACME_FAILED;
	if (!acme_url_on_origin(c->directory_url, r.location)) {
		say_why(why, why_size, "newOrder for %s: the server gave no order URL", name);
		goto out;
	}
	strcpy(order_url, r.location);
	if ((order = acme_response_json(&r, "newOrder", why, why_size)) == NULL)
		goto out;
	if ((rc = authorize(c, name, order, challenge_types, challenge_type_count, responder,
			    why, why_size)) != 0 ||
	    (rc = finalize(c, name, order_url, order, cert_key, &certificate_url, why,
			   why_size)) != 0)
		goto out;
	rc = download(c, name, certificate_url, ret_chain, why, why_size);
out:
	c->ordering = false;
	if (rc == ACME_ACCOUNT_GONE && !account_surely_gone(c))
		rc = ACME_FAILED;	/* unauthorized for something else, or could not check */
	free(certificate_url);
	json_decref(order);
	acme_response_release(&r);
	return rc;
}
