/*
 * acme_internal.h - what the parts of the ACME client share beyond acme.h:
 * the client's state, a server's answer, the requests (acme_request.c)
 * and the pieces made with OpenSSL (acme_crypto.c).
 */
#ifndef MTASTS_IO_ACME_INTERNAL_H
#define MTASTS_IO_ACME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "acme.h"

#define URL_MAX 2048
#define NONCE_MAX 256
#define JWK_MAX 256
#define SHOWN_MAX 300			/* octets of a server's text in a sentence */
#define ACME_ERROR "urn:ietf:params:acme:error:"

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
	bool ordering;			/* in acme_order(): a 5xx fails the order */
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
	int64_t retry_after;		/* seconds, 0 .. ACME_RETRY_AFTER_MAX; -1: none */
};

/* ---- acme_request.c ---- */

void acme_response_release(struct response *r);
/*
 * An https:// URL of printable ASCII shorter than URL_MAX: what the client
 * follows, and may show in a sentence as it is.
 */
bool acme_url_ok(const char *url);
/*
 * acme_url_ok, and on the directory's origin (host and port, no user
 * information): the only URLs the server may send the client to.
 */
bool acme_url_on_origin(const char *directory_url, const char *url);
bool acme_cancelled(const struct acme_client *c);
/* Text from the server as printable ASCII (\xHH otherwise), at most SHOWN_MAX octets of it. */
void acme_escape(const char *text, char *out, size_t size);
/* The JSON object of an answer, or NULL with a sentence naming step. */
json_t *acme_response_json(const struct response *r, const char *step, char *why,
			   size_t why_size);
const char *acme_member(const json_t *object, const char *key);
const char *acme_member_or_empty(const json_t *object, const char *key);
/* An ACME error type without its common prefix, for sentences. */
const char *acme_short_type(const char *type);
/*
 * The type of an answer's problem document ("" when none; it lives in
 * *ret_json, to release), its detail escaped into shown.
 */
const char *acme_problem_of(const struct response *r, json_t **ret_json, char *shown,
			    size_t size);
/* An answer that is not a success as a code and a sentence (see acme.c's callers). */
int acme_failure(struct acme_client *c, const struct response *r, const char *step,
		 char *why, size_t why_size);
/* The directory's URLs, read once. */
int acme_read_directory(struct acme_client *c, char *why, size_t why_size);
/*
 * A signed POST of payload (NULL: POST-as-GET) to url with the JWK
 * (newAccount) or the kid; any status is a success here.
 */
int acme_post(struct acme_client *c, const char *url, const char *payload, bool with_jwk,
	      const char *accept, const char *step, struct response *r, char *why,
	      size_t why_size);

/* ---- acme_crypto.c ---- */

/* base64url of len octets into a new string (free it), or NULL. */
char *acme_base64url_new(const unsigned char *data, size_t len);

/*
 * A host name as the client orders it: letters, digits, '-' and '.', at
 * most 253 octets; this also keeps it out of JSON and certificate syntax.
 */
bool acme_host_name_ok(const char *name);

#endif
