/*
 * serve_http_hosting.c - the routes of the hosted names in `mtasts serve`:
 * GET and HEAD of /.well-known/mta-sts.txt on mta-sts.<domain> (chosen by
 * SNI and Host, which must agree), with ETag and If-None-Match, and the
 * plain listen_http listener that answers ACME http-01 challenges and
 * nothing else.
 *
 * Only the exact target /.well-known/mta-sts.txt without a query is the
 * policy: nothing is decoded or normalised, so dot segments, %2e and
 * doubled or trailing slashes are other paths (404).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "daemon_log.h"
#include "serve.h"
#include "serve_http_internal.h"

#define POLICY_PATH "/.well-known/mta-sts.txt"
#define POLICY_CACHE_CONTROL "max-age=60"
#define ACME_PATH "/.well-known/acme-challenge/"
#define HOST_MAX 253			/* octets of a host name */

/* The name the TLS client asked for (SNI); NULL on plain HTTP or without one. */
static const char *request_sni(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl != NULL ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
}

/*
 * The host a request names: an absolute-form target's (RFC 9112 3.2.2),
 * else the Host header's without its port; NULL when neither.  evhttp
 * would read an origin-form "//x/y" as naming host x: not so here.
 */
static const char *request_host(struct evhttp_request *req, char *buf, size_t size)
{
	const char *target = evhttp_request_get_uri(req);
	const char *host, *colon;
	size_t len;

	if (target != NULL && target[0] != '/')
		return evhttp_request_get_host(req);
	host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	if (host == NULL)
		return NULL;
	len = strlen(host);
	colon = strrchr(host, ':');
	if (colon != NULL && host[0] != '[' && strspn(colon + 1, "0123456789") == strlen(colon + 1))
		len = (size_t)(colon - host);
	if (len >= size)
		len = size - 1;		/* longer than any host name: matches none */
	memcpy(buf, host, len);
	buf[len] = '\0';
	return buf;
}

/* Host names equal: any case, one final dot ignored. */
static bool same_name(const char *x, const char *y)
{
	size_t x_len = strlen(x), y_len = strlen(y);

	if (x_len > 0 && x[x_len - 1] == '.')
		x_len--;
	if (y_len > 0 && y[y_len - 1] == '.')
		y_len--;
	return x_len == y_len && strncasecmp(x, y, x_len) == 0;
}

/*
 * Whether If-None-Match names etag (RFC 9110 13.1.2): "*", or a list of
 * entity tags compared weakly (a W/ prefix ignored on either side).
 */
static bool none_match(const char *header, const char *etag)
{
	size_t etag_len = strlen(etag);

	while (*header != '\0') {
		const char *start, *end;

		while (*header == ' ' || *header == '\t' || *header == ',')
			header++;
		start = header;
		while (*header != '\0' && *header != ',')
			header++;
		end = header;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end - start == 1 && *start == '*')
			return true;
		if (end - start >= 2 && start[0] == 'W' && start[1] == '/')
			start += 2;
		if ((size_t)(end - start) == etag_len && memcmp(start, etag, etag_len) == 0)
			return true;
	}
	return false;
}

static void handle_policy(struct serve_server *s, struct evhttp_request *req,
			  const struct serve_hosted *hosted)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	bool not_modified = false;
	bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	struct evbuffer *body = NULL;
	char length[32];
	int status = 200;

	if (!(evhttp_request_get_command(req) & (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))) {
		evhttp_add_header(headers, "Allow", "GET, HEAD");
		serve_reply(s, req, SERVE_ROUTE_POLICY, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	evhttp_add_header(headers, "ETag", hosted->etag);
	evhttp_add_header(headers, "Cache-Control", POLICY_CACHE_CONTROL);
	if (s->draining)
		evhttp_add_header(headers, "Connection", "close");
	/* Every If-None-Match line: several make one list (RFC 9110 5.3). */
	for (const struct evkeyval *h = in->tqh_first; h != NULL; h = h->next.tqe_next)
		if (strcasecmp(h->key, "If-None-Match") == 0 && none_match(h->value, hosted->etag))
			not_modified = true;
	if (not_modified) {
		status = 304;
	} else {
		evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
		snprintf(length, sizeof(length), "%zu", hosted->body_len);
		evhttp_add_header(headers, "Content-Length", length);
		if (!head && ((body = evbuffer_new()) == NULL ||
			      evbuffer_add(body, hosted->body, hosted->body_len) != 0)) {
			evbuffer_free(body);
			evhttp_clear_headers(headers);
			serve_reply(s, req, SERVE_ROUTE_POLICY, 500, "Internal Server Error",
			      "out of memory");
			return;
		}
	}
	serve_metrics_count(s->metrics, SERVE_ROUTE_POLICY, status);
	if (daemon_log_debugging())
		daemon_log(LOG_DEBUG, "%s %s for %s from %s: %d", serve_method_name(req),
			   serve_path_shown(req), hosted->name, serve_peer_address(req), status);
	s->answering = true;
	serve_send(req, status, status == 304 ? "Not Modified" : "OK", body);
	s->answering = false;
	if (body != NULL)
		evbuffer_free(body);
}

/*
 * The hosted names' part of a request; true when it is answered.  SNI
 * and Host must agree when either is a hosted name (RFC 9110 15.5.20:
 * 421); the policy is served for its exact path, without a query, on the
 * name the Host says; other paths go on to the routes.
 */
bool serve_hosting_answered(struct serve_server *s, struct evhttp_request *req,
			     const char *path)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	char host_buf[HOST_MAX + 2];
	const char *host = request_host(req, host_buf, sizeof(host_buf)), *sni = request_sni(req);
	bool policy_path = strcmp(path, POLICY_PATH) == 0 &&
			   (uri == NULL || evhttp_uri_get_query(uri) == NULL);
	enum serve_route_id route = policy_path ? SERVE_ROUTE_POLICY : SERVE_ROUTE_NONE;
	int64_t now = (int64_t)time(NULL);
	const struct serve_hosted *by_host = serve_hosting_find(s->hosting, host, now);
	const struct serve_hosted *by_sni = serve_hosting_find(s->hosting, sni, now);

	if (sni != NULL && host != NULL && !same_name(sni, host) &&
	    (by_host != NULL || by_sni != NULL)) {
		serve_reply(s, req, route, 421, "Misdirected Request", "the Host header names "
		      "another host than the TLS handshake (SNI)");
		return true;
	}
	if (host == NULL && (policy_path || by_sni != NULL)) {
		serve_reply(s, req, route, 400, "Bad Request", "a Host header is needed");
		return true;
	}
	if (!policy_path)
		return false;
	if (by_host == NULL) {
		serve_reply(s, req, route, 404, "Not Found", "no policy is hosted for this name");
		return true;
	}
	handle_policy(s, req, by_host);
	return true;
}

/* -------------------------------------------------- ACME http-01 (port 80) */

/* An http-01 token: base64url (RFC 8555 8.3), not empty, bounded. */
static bool token_valid(const char *token)
{
	size_t len = strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789-_");

	return len > 0 && len <= SERVE_TOKEN_MAX && token[len] == '\0';
}

/* listen_http: GET /.well-known/acme-challenge/<token> and nothing else (404). */
void serve_on_acme_request(struct evhttp_request *req, void *arg)
{
	struct serve_server *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	size_t prefix = strlen(ACME_PATH);
	char answer[SERVE_KEY_AUTHZ_MAX + 1];
	struct evbuffer *body;

	if (path == NULL || strncmp(path, ACME_PATH, prefix) != 0) {
		serve_reply(s, req, SERVE_ROUTE_NONE, 404, "Not Found", "not found");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || evhttp_uri_get_query(uri) != NULL ||
	    !token_valid(path + prefix) || s->challenges == NULL ||
	    !serve_challenges_http01(s->challenges, path + prefix, answer, sizeof(answer))) {
		serve_reply(s, req, SERVE_ROUTE_ACME, 404, "Not Found", "not found");
		return;
	}
	if ((body = evbuffer_new()) == NULL || evbuffer_add(body, answer, strlen(answer)) != 0) {
		evbuffer_free(body);
		serve_reply(s, req, SERVE_ROUTE_ACME, 500, "Internal Server Error", "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	serve_metrics_count(s->metrics, SERVE_ROUTE_ACME, 200);
	daemon_log(LOG_INFO, "http-01 challenge answered for %s", serve_peer_address(req));
	s->answering = true;
	serve_send(req, 200, "OK", body);
	s->answering = false;
	evbuffer_free(body);
}
