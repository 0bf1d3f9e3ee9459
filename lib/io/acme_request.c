/*
 * acme_request.c - the requests of the ACME client: HTTPS over one curl
 * easy handle (HTTPS only, every answer bounded in size and time, the
 * caller's cancelled() asked during transfers), the JWS of every POST
 * with nonces kept and badNonce retried once, and the server's answers
 * and problem documents turned into sentences and codes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "acme.h"
#include "acme_internal.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS 10000

void acme_response_release(struct response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Text from the server as printable ASCII, at most SHOWN_MAX octets of it. */
void acme_escape(const char *text, char *out, size_t size)
{
	size_t o = 0, len = strlen(text);

	if (size == 0)
		return;
	for (size_t i = 0; i < len && i < SHOWN_MAX && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
	}
	if (len > SHOWN_MAX && o + 4 < size)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o] = '\0';
}

/* ------------------------------------------------------------------ HTTPS */

bool acme_url_ok(const char *url)
{
	size_t len = strlen(url);

	if (strncmp(url, "https://", 8) != 0 || len >= URL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return false;
	return true;
}

/* The authority of an https:// URL (host[:port]) and its length, 443 dropped; false with userinfo. */
static bool authority_of(const char *url, const char **ret, size_t *ret_len)
{
	const char *start = url + 8;
	size_t len = strcspn(start, "/?#");

	if (memchr(start, '@', len) != NULL)
		return false;
	if (len > 4 && memcmp(start + len - 4, ":443", 4) == 0)
		len -= 4;
	*ret = start;
	*ret_len = len;
	return len > 0;
}

bool acme_url_on_origin(const char *directory_url, const char *url)
{
	const char *a, *b;
	size_t a_len, b_len;

	return acme_url_ok(directory_url) && acme_url_ok(url) &&
	       authority_of(directory_url, &a, &a_len) && authority_of(url, &b, &b_len) &&
	       a_len == b_len && strncasecmp(a, b, a_len) == 0;
}

bool acme_cancelled(const struct acme_client *c)
{
	return c->cancelled != NULL && c->cancelled(c->cancel_arg);
}

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
	struct response *r = arg;
	size_t n = size * count;
	char *grown;

	if (r->len + n > ACME_RESPONSE_MAX) {
		r->too_large = true;
		return 0;
	}
	if ((grown = realloc(r->body, r->len + n + 1)) == NULL)
		return 0;
	r->body = grown;
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* The value of header "name:" in line (without CR LF) into out; false when another. */
static bool header_value(const char *line, size_t len, const char *name, char *out,
			 size_t size)
{
	size_t nlen = strlen(name);

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return false;
	line += nlen + 1;
	len -= nlen + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	if (len >= size)
		return true;		/* too long to be one of ours: left empty */
	memcpy(out, line, len);
	out[len] = '\0';
	return true;
}

int64_t acme_retry_after(const char *value, int64_t now)
{
	char *end;
	long long seconds;
	time_t at;

	errno = 0;
	seconds = strtoll(value, &end, 10);
	if (end != value && *end == '\0') {
		if (errno == ERANGE || seconds > ACME_RETRY_AFTER_MAX)
			return seconds < 0 ? 0 : ACME_RETRY_AFTER_MAX;
		return seconds < 0 ? 0 : (int64_t)seconds;
	}
	if ((at = curl_getdate(value, NULL)) <= 0)
		return -1;
	if ((int64_t)at <= now)
		return 0;
	return (int64_t)at - now > ACME_RETRY_AFTER_MAX ? ACME_RETRY_AFTER_MAX
							 : (int64_t)at - now;
}

static size_t on_header(char *line, size_t size, size_t count, void *arg)
{
	struct response *r = arg;
	size_t len = size * count;
	char value[64];

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue): forget the last one's headers */
		r->nonce[0] = r->location[0] = r->content_type[0] = '\0';
		r->retry_after = -1;
		return len;
	}
	if (header_value(line, len, "Replay-Nonce", r->nonce, sizeof(r->nonce)) ||
	    header_value(line, len, "Location", r->location, sizeof(r->location)) ||
	    header_value(line, len, "Content-Type", r->content_type, sizeof(r->content_type)))
		return len;
	value[0] = '\0';
	if (header_value(line, len, "Retry-After", value, sizeof(value)) && value[0] != '\0')
		r->retry_after = acme_retry_after(value, (int64_t)time(NULL));
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return acme_cancelled(arg) ? 1 : 0;
}

enum method { METHOD_GET, METHOD_HEAD, METHOD_POST };

/*
 * One exchange; a response of any status is a success here.  step names
 * what is being done, for why.
 */
static int exchange(struct acme_client *c, enum method method, const char *url,
		    const char *body, const char *accept, const char *step,
		    struct response *r, char *why, size_t why_size)
{
	struct curl_slist *headers = NULL;
	char accept_header[128];
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	if (acme_cancelled(c))
		return ACME_CANCELLED;
	curl_easy_reset(c->curl);
	snprintf(accept_header, sizeof(accept_header), "Accept: %s",
		 accept != NULL ? accept : "application/json");
	headers = curl_slist_append(headers, accept_header);
	if (method == METHOD_POST)
		headers = curl_slist_append(headers, "Content-Type: application/jose+json");
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "mtasts-acme/0.1");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)c->request_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file != NULL)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	if (method == METHOD_HEAD)
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	if (method == METHOD_POST)
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	rc = curl_easy_perform(c->curl);
	curl_slist_free_all(headers);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		acme_response_release(r);
		return ACME_CANCELLED;
	}
	if (r->too_large) {
		acme_response_release(r);
		say_why(why, why_size, "%s: the answer of %s is larger than %d octets", step, url,
			ACME_RESPONSE_MAX);
		return ACME_FAILED;
	}
	if (rc != CURLE_OK) {
		acme_response_release(r);
		say_why(why, why_size, "%s: %s: %s", step, url, curl_easy_strerror(rc));
		return ACME_UNREACHABLE;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->nonce[0] != '\0')
		snprintf(c->nonce, sizeof(c->nonce), "%s", r->nonce);
	return 0;
}

/* The response's JSON object, or NULL with a sentence. */
json_t *acme_response_json(const struct response *r, const char *step, char *why,
			     size_t why_size)
{
	json_error_t error;
	json_t *json;
	char shown[128];

	if (r->body == NULL) {
		say_why(why, why_size, "%s: the server answered %ld with no body", step, r->status);
		return NULL;
	}
	json = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &error);
	if (json == NULL) {
		acme_escape(error.text, shown, sizeof(shown));
		say_why(why, why_size, "%s: the server's answer is not JSON (line %d, column %d: %s)",
			step, error.line, error.column, shown);
		return NULL;
	}
	if (!json_is_object(json)) {
		json_decref(json);
		say_why(why, why_size, "%s: the server's answer is not a JSON object", step);
		return NULL;
	}
	return json;
}

const char *acme_member(const json_t *object, const char *key)
{
	return json_string_value(json_object_get(object, key));
}

const char *acme_member_or_empty(const json_t *object, const char *key)
{
	const char *text = acme_member(object, key);

	return text != NULL ? text : "";
}

/* An ACME error type without its common prefix, for sentences. */
const char *acme_short_type(const char *type)
{
	size_t len = strlen(ACME_ERROR);

	return strncmp(type, ACME_ERROR, len) == 0 ? type + len : type;
}

/* The problem document's type ("" when none); detail escaped into shown. */
const char *acme_problem_of(const struct response *r, json_t **ret_json, char *shown,
			      size_t size)
{
	const char *type, *detail;
	json_t *json = NULL;

	*shown = '\0';
	*ret_json = NULL;
	if (r->body == NULL || strncasecmp(r->content_type, "application/problem+json", 24) != 0 ||
	    (json = json_loadb(r->body, r->len, 0, NULL)) == NULL)
		return "";
	type = acme_member(json, "type");
	detail = acme_member(json, "detail");
	if (detail != NULL)
		acme_escape(detail, shown, size);
	*ret_json = json;
	return type != NULL ? type : "";
}

/*
 * An answer that is not a success, as a code and a sentence: rate limits
 * set retry_at, an account the server no longer knows is
 * ACME_ACCOUNT_GONE.
 */
int acme_failure(struct acme_client *c, const struct response *r, const char *step,
		   char *why, size_t why_size)
{
	char detail[SHOWN_MAX * 4 + 8], type_shown[160];
	json_t *json;
	const char *type = acme_problem_of(r, &json, detail, sizeof(detail));
	int code = ACME_FAILED;

	acme_escape(acme_short_type(type), type_shown, sizeof(type_shown));
	if (r->status == 429 || strcmp(type, ACME_ERROR "rateLimited") == 0) {
		int64_t wait = r->retry_after >= 0 ? r->retry_after : ACME_RETRY_AFTER_DEFAULT;

		c->retry_at = (int64_t)time(NULL) + wait;
		code = ACME_RATE_LIMITED;
	} else if (c->kid[0] != '\0' && (strcmp(type, ACME_ERROR "unauthorized") == 0 ||
					 strcmp(type, ACME_ERROR "accountDoesNotExist") == 0) &&
		   (r->status == 401 || r->status == 403 || r->status == 400)) {
		code = ACME_ACCOUNT_GONE;
	} else if (r->status >= 500) {
		/* within an order, the order's failure (it backs off); before it, the server's */
		code = c->ordering ? ACME_FAILED : ACME_UNREACHABLE;
	}
	if (type[0] != '\0')
		say_why(why, why_size, "%s: the server answered %ld %s: %s", step, r->status,
			type_shown, detail[0] != '\0' ? detail : "(no detail)");
	else
		say_why(why, why_size, "%s: the server answered %ld", step, r->status);
	json_decref(json);
	return code;
}

static int fetch_nonce(struct acme_client *c, char *why, size_t why_size)
{
	struct response r;
	int rc = exchange(c, METHOD_HEAD, c->new_nonce, NULL, NULL, "newNonce", &r, why,
			  why_size);

	if (rc == 0 && (r.status / 100 != 2 || r.nonce[0] == '\0')) {
		say_why(why, why_size, "newNonce: the server answered %ld without a nonce",
			r.status);
		rc = ACME_FAILED;
	}
	acme_response_release(&r);
	return rc;
}

int acme_read_directory(struct acme_client *c, char *why, size_t why_size)
{
	static const struct { const char *member; size_t offset; } urls[] = {
		{ "newNonce", offsetof(struct acme_client, new_nonce) },
		{ "newAccount", offsetof(struct acme_client, new_account) },
		{ "newOrder", offsetof(struct acme_client, new_order) },
	};
	struct response r;
	json_t *json = NULL;
	int rc;

	if (c->new_order[0] != '\0')
		return 0;
	if ((rc = exchange(c, METHOD_GET, c->directory_url, NULL, NULL, "directory", &r, why,
			   why_size)) != 0)
		return rc;
	if (r.status != 200) {
		rc = acme_failure(c, &r, "directory", why, why_size);
		goto out;
	}
	rc = ACME_FAILED;
	if ((json = acme_response_json(&r, "directory", why, why_size)) == NULL)
		goto out;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		const char *url = acme_member(json, urls[i].member);

		if (url == NULL || !acme_url_on_origin(c->directory_url, url)) {
			say_why(why, why_size, "directory: %s has no https URL on its own host for %s",
				c->directory_url, urls[i].member);
			c->new_order[0] = '\0';
			goto out;
		}
		strcpy((char *)c + urls[i].offset, url);
	}
	rc = 0;
out:
	json_decref(json);
	acme_response_release(&r);
	return rc;
}

/* The JWS of payload (NULL: POST-as-GET) for url, signed with the account key. */
static char *jws(struct acme_client *c, const char *url, const char *payload, bool with_jwk)
{
	json_t *protected = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", c->nonce,
				      "url", url);
	char *protected_text = NULL, *protected64 = NULL, *payload64 = NULL, *input = NULL;
	char *result = NULL;
	unsigned char der[128], raw[64];
	char signature64[96];
	size_t der_len = sizeof(der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	json_t *body = NULL;

	if (protected == NULL || md == NULL)
		goto out;
	if (with_jwk)
		json_object_set_new(protected, "jwk", json_loads(c->jwk, 0, NULL));
	else
		json_object_set_new(protected, "kid", json_string(c->kid));
	if ((protected_text = json_dumps(protected, JSON_COMPACT)) == NULL ||
	    (protected64 = acme_base64url_new((unsigned char *)protected_text,
					 strlen(protected_text))) == NULL ||
	    (payload64 = acme_base64url_new((const unsigned char *)(payload ? payload : ""),
				       payload ? strlen(payload) : 0)) == NULL ||
	    (input = malloc(strlen(protected64) + strlen(payload64) + 2)) == NULL)
		goto out;
	sprintf(input, "%s.%s", protected64, payload64);
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, c->key) != 1 ||
	    EVP_DigestSign(md, der, &der_len, (unsigned char *)input, strlen(input)) != 1 ||
	    acme_signature_raw(der, der_len, raw) != 0)
		goto out;
	acme_base64url(raw, sizeof(raw), signature64, sizeof(signature64));
	body = json_pack("{s:s, s:s, s:s}", "protected", protected64, "payload", payload64,
			 "signature", signature64);
	if (body != NULL)
		result = json_dumps(body, JSON_COMPACT);
out:
	json_decref(body);
	json_decref(protected);
	EVP_MD_CTX_free(md);
	free(protected_text);
	free(protected64);
	free(payload64);
	free(input);
	return result;
}

/*
 * A signed POST of payload (NULL: POST-as-GET) to url, once more with a
 * fresh nonce when the server says badNonce.  Any status is a success here.
 */
int acme_post(struct acme_client *c, const char *url, const char *payload, bool with_jwk,
		const char *accept, const char *step, struct response *r, char *why,
		size_t why_size)
{
	for (int attempt = 0;; attempt++) {
		char *body;
		int rc;
		json_t *json;
		char detail[16];
		bool bad_nonce = false;

		if (c->nonce[0] == '\0' && (rc = fetch_nonce(c, why, why_size)) != 0)
			return rc;
		if ((body = jws(c, url, payload, with_jwk)) == NULL) {
			say_why(why, why_size, "%s: the request could not be signed", step);
			return ACME_FAILED;
		}
		c->nonce[0] = '\0';	/* used: the answer brings the next */
		rc = exchange(c, METHOD_POST, url, body, accept, step, r, why, why_size);
		free(body);
		if (rc != 0)
			return rc;
		if (attempt == 0 && r->status == 400) {
			bad_nonce = strcmp(acme_problem_of(r, &json, detail, sizeof(detail)),
					   ACME_ERROR "badNonce") == 0;
			json_decref(json);
		}
		if (!bad_nonce)
			return 0;
		acme_response_release(r);
	}
}
