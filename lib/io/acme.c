/*
 * acme.c - the ACME client of acme.h: the HTTPS exchanges (curl easy,
 * one handle per client, HTTPS only), the JWS of every POST, the flow of
 * an order, and the small pieces it is made of (JWK thumbprint, the
 * signature's form, key authorizations, the tls-alpn-01 certificate,
 * the CSR, the schedule of retries and renewals).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "acme.h"
#include "util.h"

#define URL_MAX 2048
#define ORDER_PAYLOAD_MAX 512
#define NONCE_MAX 256
#define JWK_MAX 256
#define SHOWN_MAX 300			/* octets of a server's text in a sentence */
#define AUTHORIZATIONS_MAX 8		/* one name: one authorization, some slack */
#define POLL_DEFAULT_S 1
#define REQUEST_TIMEOUT_DEFAULT_MS 30000
#define CONNECT_TIMEOUT_MS 10000
#define VALIDATION_WAIT_DEFAULT_S 60
#define ACME_ERROR "urn:ietf:params:acme:error:"
#define ALPN_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"

struct acme_client {
	char *directory_url;
	char *ca_file;
	char *email;
	unsigned request_timeout_ms;
	unsigned validation_wait_s;
	bool (*cancelled)(void *arg);
	void *cancel_arg;
	EVP_PKEY *key;
	char jwk[JWK_MAX];
	char thumbprint[ACME_THUMBPRINT_SIZE];
	char new_nonce[URL_MAX], new_account[URL_MAX], new_order[URL_MAX];
	char nonce[NONCE_MAX];
	char kid[URL_MAX];		/* the account URL; "" until registered */
	int64_t retry_at;
	CURL *curl;
};

struct response {
	long status;
	char *body;
	size_t len;
	bool too_large;
	char nonce[NONCE_MAX];
	char location[URL_MAX];
	char content_type[128];
	long retry_after;		/* seconds; -1: none */
};

static void response_release(struct response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------- the pieces */

/* Text from the server as printable ASCII, at most SHOWN_MAX octets of it. */
static void escape(const char *text, char *out, size_t size)
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

bool acme_base64url(const unsigned char *data, size_t len, char *out, size_t size)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	if (size < (len * 4 + 2) / 3 + 1)
		return false;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		size_t n = len - i >= 3 ? 3 : len - i;

		if (n > 1)
			v |= (uint32_t)data[i + 1] << 8;
		if (n > 2)
			v |= data[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (n > 1)
			out[o++] = alphabet[(v >> 6) & 63];
		if (n > 2)
			out[o++] = alphabet[v & 63];
	}
	out[o] = '\0';
	return true;
}

/* base64url of len octets into a new string. */
static char *base64url_new(const unsigned char *data, size_t len)
{
	size_t size = (len * 4 + 2) / 3 + 1;
	char *out = malloc(size);

	if (out != NULL)
		acme_base64url(data, len, out, size);
	return out;
}

EVP_PKEY *acme_key_new(void)
{
	return EVP_EC_gen("P-256");
}

int acme_jwk(EVP_PKEY *key, char *buf, size_t size)
{
	BIGNUM *x = NULL, *y = NULL;
	unsigned char xb[32], yb[32];
	char x64[64], y64[64];
	char curve[32];
	int ret = -1;

	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve,
					    sizeof(curve), NULL) ||
	    strcmp(curve, "prime256v1") != 0)
		return -1;
	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2binpad(x, xb, sizeof(xb)) < 0 || BN_bn2binpad(y, yb, sizeof(yb)) < 0)
		goto out;
	acme_base64url(xb, sizeof(xb), x64, sizeof(x64));
	acme_base64url(yb, sizeof(yb), y64, sizeof(y64));
	if ((size_t)snprintf(buf, size, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
			     x64, y64) < size)
		ret = 0;
out:
	BN_free(x);
	BN_free(y);
	return ret;
}

void acme_thumbprint_of_jwk(const char *canonical_jwk, char out[ACME_THUMBPRINT_SIZE])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)canonical_jwk, strlen(canonical_jwk), digest);
	acme_base64url(digest, sizeof(digest), out, ACME_THUMBPRINT_SIZE);
}

int acme_signature_raw(const unsigned char *der, size_t der_len, unsigned char raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;
	int ret = -1;

	if (sig == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (p == der + der_len && BN_bn2binpad(r, raw, 32) == 32 &&
	    BN_bn2binpad(s, raw + 32, 32) == 32)
		ret = 0;
	ECDSA_SIG_free(sig);
	return ret;
}

int acme_key_authorization(const char *token, const char *thumbprint, char *buf, size_t size)
{
	if (*token == '\0' || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789-_") != strlen(token))
		return -1;
	if ((size_t)snprintf(buf, size, "%s.%s", token, thumbprint) >= size)
		return -1;
	return 0;
}

void acme_alpn_extension_value(const char *key_authorization,
			       unsigned char out[ACME_ALPN_EXTENSION_SIZE])
{
	out[0] = 0x04;			/* OCTET STRING */
	out[1] = SHA256_DIGEST_LENGTH;
	SHA256((const unsigned char *)key_authorization, strlen(key_authorization), out + 2);
}

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

/* Host names only: a letter, digit, '-' or '.'; this also keeps them out of config syntax. */
static bool plain_name(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= 253 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == len;
}

/* subjectAltName dNSName=name, for a certificate or a request's extensions. */
static GENERAL_NAMES *dns_names(const char *name)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

	if (names == NULL || gn == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, name, -1))
		goto fail;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(names, gn))
		goto fail;
	return names;
fail:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return NULL;
}

static bool set_common_name(X509_NAME *subject, const char *name)
{
	return X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
					  (const unsigned char *)name, -1, -1, 0) == 1;
}

int acme_alpn_certificate(const char *name, const char *key_authorization, X509 **ret_cert,
			  EVP_PKEY **ret_key, char *why, size_t why_size)
{
	unsigned char value[ACME_ALPN_EXTENSION_SIZE];
	EVP_PKEY *key = acme_key_new();
	X509 *cert = X509_new();
	GENERAL_NAMES *names = NULL;
	ASN1_OBJECT *oid = OBJ_txt2obj(ALPN_IDENTIFIER_OID, 1);
	ASN1_OCTET_STRING *octets = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	unsigned char serial[16];
	BIGNUM *serial_bn = NULL;
	int ret = -1;

	if (!plain_name(name)) {
		say_why(why, why_size, "tls-alpn-01: '%s' is not a host name", name);
		goto out;
	}
	acme_alpn_extension_value(key_authorization, value);
	if (key == NULL || cert == NULL || oid == NULL || octets == NULL ||
	    RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((serial_bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    !BN_to_ASN1_INTEGER(serial_bn, X509_get_serialNumber(cert)) ||
	    !X509_set_version(cert, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 86400) ||
	    !set_common_name(X509_get_subject_name(cert), name) ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(cert)) ||
	    !X509_set_pubkey(cert, key) || (names = dns_names(name)) == NULL ||
	    !X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) ||
	    !ASN1_OCTET_STRING_set(octets, value, sizeof(value)) ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, octets)) == NULL ||
	    !X509_add_ext(cert, ext, -1) || X509_sign(cert, key, EVP_sha256()) == 0)
		goto fail;
	*ret_cert = cert;
	*ret_key = key;
	cert = NULL;
	key = NULL;
	ret = 0;
	goto out;
fail:
	say_why(why, why_size, "tls-alpn-01: the certificate for %s could not be made "
		"(out of memory?)", name);
out:
	BN_free(serial_bn);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(octets);
	ASN1_OBJECT_free(oid);
	GENERAL_NAMES_free(names);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

int acme_csr(const char *name, EVP_PKEY *key, unsigned char **ret_der, size_t *ret_len,
	     char *why, size_t why_size)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *names = NULL;
	unsigned char *der = NULL;
	int len, ret = -1;

	if (!plain_name(name)) {
		say_why(why, why_size, "CSR: '%s' is not a host name", name);
		goto out;
	}
	if (req == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !set_common_name(X509_REQ_get_subject_name(req), name) ||
	    !X509_REQ_set_pubkey(req, key) || (names = dns_names(name)) == NULL ||
	    !X509V3_add1_i2d(&exts, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) ||
	    !X509_REQ_add_extensions(req, exts) || X509_REQ_sign(req, key, EVP_sha256()) == 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0) {
		say_why(why, why_size, "CSR: the request for %s could not be made", name);
		goto out;
	}
	*ret_der = der;
	*ret_len = (size_t)len;
	ret = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(names);
	X509_REQ_free(req);
	return ret;
}

/* ------------------------------------------------------------------ HTTPS */

static bool cancelled(const struct acme_client *c)
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
	if (header_value(line, len, "Retry-After", value, sizeof(value)) && value[0] != '\0') {
		char *end;
		long seconds = strtol(value, &end, 10);
		time_t at;

		if (*end == '\0' && seconds >= 0)
			r->retry_after = seconds;
		else if ((at = curl_getdate(value, NULL)) > 0)
			r->retry_after = at > time(NULL) ? (long)(at - time(NULL)) : 0;
	}
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return cancelled(arg) ? 1 : 0;
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
	if (cancelled(c))
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
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return ACME_CANCELLED;
	if (r->too_large) {
		say_why(why, why_size, "%s: the answer of %s is larger than %d octets", step, url,
			ACME_RESPONSE_MAX);
		return ACME_FAILED;
	}
	if (rc != CURLE_OK) {
		say_why(why, why_size, "%s: %s: %s", step, url, curl_easy_strerror(rc));
		return ACME_UNREACHABLE;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->nonce[0] != '\0')
		snprintf(c->nonce, sizeof(c->nonce), "%s", r->nonce);
	return 0;
}

/* The response's JSON object, or NULL with a sentence. */
static json_t *response_json(const struct response *r, const char *step, char *why,
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
		escape(error.text, shown, sizeof(shown));
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

static const char *json_text_member(const json_t *object, const char *key)
{
	return json_string_value(json_object_get(object, key));
}

static const char *member_or_empty(const json_t *object, const char *key)
{
	const char *text = json_text_member(object, key);

	return text != NULL ? text : "";
}

/* An ACME error type without its common prefix, for sentences. */
static const char *short_type(const char *type)
{
	size_t len = strlen(ACME_ERROR);

	return strncmp(type, ACME_ERROR, len) == 0 ? type + len : type;
}

/* The problem document's type ("" when none); detail escaped into shown. */
static const char *problem_of(const struct response *r, json_t **ret_json, char *shown,
			      size_t size)
{
	const char *type, *detail;
	json_t *json = NULL;

	*shown = '\0';
	*ret_json = NULL;
	if (r->body == NULL || strncasecmp(r->content_type, "application/problem+json", 24) != 0 ||
	    (json = json_loadb(r->body, r->len, 0, NULL)) == NULL)
		return "";
	type = json_text_member(json, "type");
	detail = json_text_member(json, "detail");
	if (detail != NULL)
		escape(detail, shown, size);
	*ret_json = json;
	return type != NULL ? type : "";
}

/*
 * An answer that is not a success, as a code and a sentence: rate limits
 * set retry_at, an account the server no longer knows is
 * ACME_ACCOUNT_GONE.
 */
static int failure(struct acme_client *c, const struct response *r, const char *step,
		   char *why, size_t why_size)
{
	char detail[SHOWN_MAX * 4 + 8], type_shown[160];
	json_t *json;
	const char *type = problem_of(r, &json, detail, sizeof(detail));
	int code = ACME_FAILED;

	escape(short_type(type), type_shown, sizeof(type_shown));
	if (r->status == 429 || strcmp(type, ACME_ERROR "rateLimited") == 0) {
		long wait = r->retry_after >= 0 ? r->retry_after : ACME_RETRY_AFTER_DEFAULT;

		c->retry_at = (int64_t)time(NULL) + wait;
		code = ACME_RATE_LIMITED;
	} else if (c->kid[0] != '\0' && (strcmp(type, ACME_ERROR "unauthorized") == 0 ||
					 strcmp(type, ACME_ERROR "accountDoesNotExist") == 0) &&
		   (r->status == 401 || r->status == 403 || r->status == 400)) {
		code = ACME_ACCOUNT_GONE;
	} else if (r->status >= 500) {
		code = ACME_UNREACHABLE;
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
	response_release(&r);
	return rc;
}

static int read_directory(struct acme_client *c, char *why, size_t why_size)
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
		rc = failure(c, &r, "directory", why, why_size);
		goto out;
	}
	rc = ACME_FAILED;
	if ((json = response_json(&r, "directory", why, why_size)) == NULL)
		goto out;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		const char *url = json_text_member(json, urls[i].member);

		if (url == NULL || strncmp(url, "https://", 8) != 0 || strlen(url) >= URL_MAX) {
			say_why(why, why_size, "directory: %s has no https URL for %s",
				c->directory_url, urls[i].member);
			c->new_order[0] = '\0';
			goto out;
		}
		strcpy((char *)c + urls[i].offset, url);
	}
	rc = 0;
out:
	json_decref(json);
	response_release(&r);
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
	    (protected64 = base64url_new((unsigned char *)protected_text,
					 strlen(protected_text))) == NULL ||
	    (payload64 = base64url_new((const unsigned char *)(payload ? payload : ""),
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
static int post(struct acme_client *c, const char *url, const char *payload, bool with_jwk,
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
			bad_nonce = strcmp(problem_of(r, &json, detail, sizeof(detail)),
					   ACME_ERROR "badNonce") == 0;
			json_decref(json);
		}
		if (!bad_nonce)
			return 0;
		response_release(r);
	}
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

	if ((rc = read_directory(c, why, why_size)) != 0)
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
	if ((rc = post(c, c->new_account, payload_text, true, NULL, "newAccount", &r, why,
		       why_size)) != 0)
		goto out;
	if (r.status != 200 && r.status != 201) {
		json_t *problem;
		char detail[8];
		const char *type = problem_of(&r, &problem, detail, sizeof(detail));

		/* this key's account is deactivated or revoked */
		bool gone = (r.status == 401 || r.status == 403) &&
			    (strcmp(type, ACME_ERROR "unauthorized") == 0 ||
			     strcmp(type, ACME_ERROR "accountDoesNotExist") == 0);

		json_decref(problem);
		rc = failure(c, &r, "newAccount", why, why_size);
		if (gone)
			rc = ACME_ACCOUNT_GONE;
		goto out;
	}
	rc = ACME_FAILED;
	if ((json = response_json(&r, "newAccount", why, why_size)) == NULL)
		goto out;
	if (account_gone(json_text_member(json, "status"))) {
		say_why(why, why_size, "newAccount: the account is %s",
			json_text_member(json, "status"));
		rc = ACME_ACCOUNT_GONE;
		goto out;
	}
	if (strncmp(r.location, "https://", 8) != 0) {
		say_why(why, why_size, "newAccount: the server gave no account URL");
		goto out;
	}
	strcpy(c->kid, r.location);
	rc = 0;
out:
	json_decref(json);
	json_decref(payload);
	free(payload_text);
	response_release(&r);
	return rc;
}

/* Whether the account URL still answers with status valid (a second opinion). */
static bool account_still_valid(struct acme_client *c)
{
	struct response r;
	json_t *json = NULL;
	char why[8];
	bool valid = false;

	if (post(c, c->kid, NULL, false, NULL, "account", &r, why, sizeof(why)) != 0)
		return false;
	if (r.status == 200 && (json = response_json(&r, "account", why, sizeof(why))) != NULL)
		valid = strcmp(member_or_empty(json, "status"), "valid") == 0;
	json_decref(json);
	response_release(&r);
	return valid;
}

int acme_account_deactivate(struct acme_client *c, char *why, size_t why_size)
{
	struct response r;
	json_t *json = NULL;
	int rc;

	if (c->kid[0] == '\0' && (rc = acme_account_register(c, why, why_size)) != 0)
		return rc;
	if ((rc = post(c, c->kid, "{\"status\":\"deactivated\"}", false, NULL, "deactivate",
		       &r, why, why_size)) != 0)
		return rc;
	if (r.status != 200)
		rc = failure(c, &r, "deactivate", why, why_size);
	else if ((json = response_json(&r, "deactivate", why, why_size)) == NULL)
		rc = ACME_FAILED;
	else if (!account_gone(json_text_member(json, "status"))) {
		say_why(why, why_size, "deactivate: the account is still %s",
			json_text_member(json, "status") ? json_text_member(json, "status") : "?");
		rc = ACME_FAILED;
	}
	json_decref(json);
	response_release(&r);
	return rc;
}

/* ------------------------------------------------------------------ order */

/* Sleep seconds, waking to see whether to stop; false when cancelled. */
static bool pause_for(struct acme_client *c, long seconds)
{
	for (long ms = seconds * 1000; ms > 0; ms -= 100) {
		if (cancelled(c))
			return false;
		usleep(100 * 1000);
	}
	return !cancelled(c);
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
		long wait;
		bool again = false;
		int rc;

		if ((rc = post(c, url, NULL, false, NULL, step, &r, why, why_size)) != 0)
			return rc;
		if (r.status != 200) {
			rc = failure(c, &r, step, why, why_size);
			response_release(&r);
			return rc;
		}
		json = response_json(&r, step, why, why_size);
		wait = r.retry_after > 0 ? r.retry_after : POLL_DEFAULT_S;
		response_release(&r);
		if (json == NULL)
			return ACME_FAILED;
		status = json_text_member(json, "status");
		for (size_t i = 0; status != NULL && waiting[i] != NULL; i++)
			again = again || strcmp(status, waiting[i]) == 0;
		if (!again) {
			*ret_json = json;
			return 0;
		}
		json_decref(json);
		if (monotonic_ms() + wait * 1000 > deadline) {
			say_why(why, why_size, "%s: still %s after %u seconds", step, status,
				c->validation_wait_s);
			return ACME_FAILED;
		}
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
			const char *type = json_text_member(challenge, "type");

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
		const char *detail = json_text_member(error, "detail");
		const char *etype = json_text_member(error, "type");
		char d[SHOWN_MAX * 4 + 8], t[160];

		if (error == NULL || strcmp(member_or_empty(challenge, "type"), type) != 0)
			continue;
		etype = short_type(etype != NULL ? etype : "");
		escape(etype, t, sizeof(t));
		escape(detail != NULL ? detail : "", d, sizeof(d));
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
	answer.type = json_text_member(challenge, "type");
	token = json_text_member(challenge, "token");
	url = json_text_member(challenge, "url");
	snprintf(step, sizeof(step), "challenge %s", answer.type);
	if (token == NULL || url == NULL || strncmp(url, "https://", 8) != 0 ||
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
	rc = post(c, url, "{}", false, NULL, step, &r, why, why_size);
	if (rc == 0 && r.status != 200)
		rc = failure(c, &r, step, why, why_size);
	if (rc == 0)
		rc = poll_object(c, authz_url, waiting, "authorization", &done, why, why_size);
	responder->withdraw(responder->arg, &answer);
	if (rc == 0 && strcmp(member_or_empty(done, "status"), "valid") != 0) {
		challenge_error(done, answer.type, reason, sizeof(reason));
		say_why(why, why_size, "%s for %s failed: %s", step, name, reason);
		rc = ACME_FAILED;
	}
out:
	json_decref(done);
	response_release(&r);
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

		if (url == NULL || strncmp(url, "https://", 8) != 0) {
			say_why(why, why_size, "newOrder for %s: an authorization URL is not https",
				name);
			return ACME_FAILED;
		}
		if ((rc = post(c, url, NULL, false, NULL, "authorization", &r, why, why_size)) != 0)
			return rc;
		if (r.status != 200) {
			rc = failure(c, &r, "authorization", why, why_size);
			response_release(&r);
			return rc;
		}
		authz = response_json(&r, "authorization", why, why_size);
		response_release(&r);
		if (authz == NULL)
			return ACME_FAILED;
		status = json_text_member(authz, "status");
		if (status != NULL && strcmp(status, "valid") == 0)
			rc = 0;
		else if (status != NULL && strcmp(status, "pending") == 0)
			rc = answer_challenge(c, name, authz, url, types, type_count, responder,
					      why, why_size);
		else {
			say_why(why, why_size, "authorization of %s is %s", name,
				status != NULL && plain_name(status) ? status : "not pending");
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
	const char *finalize_url = json_text_member(order, "finalize");
	unsigned char *der = NULL;
	size_t der_len;
	char *csr64 = NULL, *payload = NULL;
	json_t *done = NULL;
	struct response r = { 0 };
	int rc = ACME_FAILED;

	if (finalize_url == NULL || strncmp(finalize_url, "https://", 8) != 0) {
		say_why(why, why_size, "newOrder for %s: no finalize URL", name);
		return ACME_FAILED;
	}
	if (acme_csr(name, cert_key, &der, &der_len, why, why_size) != 0 ||
	    (csr64 = base64url_new(der, der_len)) == NULL ||
	    (payload = malloc(strlen(csr64) + 16)) == NULL)
		goto out;
	sprintf(payload, "{\"csr\":\"%s\"}", csr64);
	if ((rc = post(c, finalize_url, payload, false, NULL, "finalize", &r, why,
		       why_size)) != 0)
		goto out;
	if (r.status != 200) {
		rc = failure(c, &r, "finalize", why, why_size);
		goto out;
	}
	if ((rc = poll_object(c, order_url, waiting, "order", &done, why, why_size)) != 0)
		goto out;
	rc = ACME_FAILED;
	if (strcmp(member_or_empty(done, "status"), "valid") != 0 ||
	    json_text_member(done, "certificate") == NULL ||
	    strncmp(json_text_member(done, "certificate"), "https://", 8) != 0) {
		say_why(why, why_size, "order for %s: %s, without a certificate", name,
			plain_name(member_or_empty(done, "status")) ?
			json_text_member(done, "status") : "not valid");
		goto out;
	}
	if ((*ret_certificate_url = strdup(json_text_member(done, "certificate"))) != NULL)
		rc = 0;
out:
	json_decref(done);
	response_release(&r);
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

	if ((rc = post(c, url, NULL, false, "application/pem-certificate-chain", "certificate",
		       &r, why, why_size)) != 0)
		return rc;
	if (r.status != 200) {
		rc = failure(c, &r, "certificate", why, why_size);
	} else if (r.body == NULL || strncmp(r.body, begin, sizeof(begin) - 1) != 0 ||
		   strlen(r.body) != r.len) {
		say_why(why, why_size, "certificate for %s: the server's answer is not a PEM "
			"chain", name);
		rc = ACME_FAILED;
	} else {
		*ret_chain = r.body;
		r.body = NULL;
	}
	response_release(&r);
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

	if (!plain_name(name) || challenge_type_count == 0) {
		say_why(why, why_size, "newOrder: '%s' is not a host name", name);
		return ACME_FAILED;
	}
	if (c->kid[0] == '\0' && (rc = acme_account_register(c, why, why_size)) != 0)
		return rc;
	snprintf(payload, sizeof(payload),
		 "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", name);
	if ((rc = post(c, c->new_order, payload, false, NULL, "newOrder", &r, why,
		       why_size)) != 0)
		goto out;
	if (r.status != 201) {
		rc = failure(c, &r, "newOrder", why, why_size);
		goto out;
	}
	rc = ACME_FAILED;
	if (strncmp(r.location, "https://", 8) != 0) {
		say_why(why, why_size, "newOrder for %s: the server gave no order URL", name);
		goto out;
	}
	strcpy(order_url, r.location);
	if ((order = response_json(&r, "newOrder", why, why_size)) == NULL)
		goto out;
	if ((rc = authorize(c, name, order, challenge_types, challenge_type_count, responder,
			    why, why_size)) != 0 ||
	    (rc = finalize(c, name, order_url, order, cert_key, &certificate_url, why,
			   why_size)) != 0)
		goto out;
	rc = download(c, name, certificate_url, ret_chain, why, why_size);
out:
	if (rc == ACME_ACCOUNT_GONE && account_still_valid(c))
		rc = ACME_FAILED;	/* unauthorized for something else than the account */
	free(certificate_url);
	json_decref(order);
	response_release(&r);
	return rc;
}
