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
	const char *host;
	size_t len;

	if (target != NULL && target[0] != '/')
		return evhttp_request_get_host(req);
	host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	if (host == NULL)
		return NULL;
	len = serve_host_name_len(host, strlen(host));
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

#define POLICY_CONTENT_TYPE "text/plain; charset=utf-8"
#define POLICY_FIELDS_MAX 6

struct field {
	const char *name, *value;
};

/*
 * The header fields of a policy answer, in order: the one decision of
 * both ways of answering (evhttp's, and serve_hosting_quick_answer()).
 * evhttp adds Date after them by itself; the other way adds it too.
 */
static size_t policy_fields(const struct serve_server *s, const struct serve_hosted *hosted,
			    bool not_modified, char *length, size_t length_size,
			    struct field fields[POLICY_FIELDS_MAX])
{
	size_t n = 0;

	fields[n++] = (struct field){ "ETag", hosted->etag };
	fields[n++] = (struct field){ "Cache-Control", POLICY_CACHE_CONTROL };
	if (s->draining)
		fields[n++] = (struct field){ "Connection", "close" };
	if (!not_modified) {
		snprintf(length, length_size, "%zu", hosted->body_len);
		fields[n++] = (struct field){ "Content-Type", POLICY_CONTENT_TYPE };
		fields[n++] = (struct field){ "Content-Length", length };
	}
	return n;
}

static void handle_policy(struct serve_server *s, struct evhttp_request *req,
			  const struct serve_hosted *hosted)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	bool not_modified = false;
	bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	struct evbuffer *body = NULL;
	struct field fields[POLICY_FIELDS_MAX];
	char length[32];
	size_t count;
	int status;

	if (!(evhttp_request_get_command(req) & (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))) {
		evhttp_add_header(headers, "Allow", "GET, HEAD");
		serve_reply(s, req, SERVE_ROUTE_POLICY, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	/* Every If-None-Match line: several make one list (RFC 9110 5.3). */
	for (const struct evkeyval *h = in->tqh_first; h != NULL; h = h->next.tqe_next)
		if (strcasecmp(h->key, "If-None-Match") == 0 &&
		    serve_etag_listed(h->value, strlen(h->value), hosted->etag))
			not_modified = true;
	status = not_modified ? 304 : 200;
	if (!not_modified && !head && ((body = evbuffer_new()) == NULL ||
				       evbuffer_add(body, hosted->body, hosted->body_len) != 0)) {
		evbuffer_free(body);
		serve_reply(s, req, SERVE_ROUTE_POLICY, 500, "Internal Server Error", "out of memory");
		return;
	}
	count = policy_fields(s, hosted, not_modified, length, sizeof(length), fields);
	for (size_t i = 0; i < count; i++)
		evhttp_add_header(headers, fields[i].name, fields[i].value);
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

/* The HTTP date of now, made once a second (evhttp's form: RFC 9110 5.6.7). */
static const char *http_date(struct serve_server *s, time_t now)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
					    "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (s->date[0] != '\0' && s->date_second == now)
		return s->date;
	if (gmtime_r(&now, &tm) == NULL)
		return NULL;
	snprintf(s->date, sizeof(s->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	s->date_second = now;
	return s->date;
}

/* Appends len octets to out, if they fit. */
static bool put(char *out, size_t size, size_t *used, const char *bytes, size_t len)
{
	if (len > size - *used)
		return false;
	memcpy(out + *used, bytes, len);
	*used += len;
	return true;
}

size_t serve_hosting_quick_answer(struct serve_server *s, const struct serve_policy_request *req,
				  const char *sni, const char *peer, char *out, size_t out_size)
{
	struct field fields[POLICY_FIELDS_MAX];
	const struct serve_hosted *hosted;
	char host[HOST_MAX + 1], length[32];
	const char *status_line, *date;
	bool not_modified = false, fits;
	time_t now = time(NULL);
	size_t count, used = 0;

	if (sni == NULL || s->hosting == NULL || req->host_len > HOST_MAX)
		return 0;
	memcpy(host, req->host, req->host_len);
	host[req->host_len] = '\0';
	if (!same_name(sni, host) ||
	    (hosted = serve_hosting_find(s->hosting, host, (int64_t)now)) == NULL ||
	    (date = http_date(s, now)) == NULL)
		return 0;
	for (size_t i = 0; i < req->if_none_match_count; i++)
		if (serve_etag_listed(req->if_none_match[i], req->if_none_match_len[i],
				      hosted->etag))
			not_modified = true;
	count = policy_fields(s, hosted, not_modified, length, sizeof(length), fields);
	fields[count++] = (struct field){ "Date", date };
	status_line = not_modified ? "HTTP/1.1 304 Not Modified\r\n" : "HTTP/1.1 200 OK\r\n";
	fits = put(out, out_size, &used, status_line, strlen(status_line));
	for (size_t i = 0; i < count && fits; i++)
		fits = put(out, out_size, &used, fields[i].name, strlen(fields[i].name)) &&
		       put(out, out_size, &used, ": ", 2) &&
		       put(out, out_size, &used, fields[i].value, strlen(fields[i].value)) &&
		       put(out, out_size, &used, "\r\n", 2);
	fits = fits && put(out, out_size, &used, "\r\n", 2);
	if (fits && !not_modified && !req->head)
		fits = put(out, out_size, &used, hosted->body, hosted->body_len);
	if (!fits)
		return 0;
	serve_metrics_count(s->metrics, SERVE_ROUTE_POLICY, not_modified ? 304 : 200);
	if (daemon_log_debugging())
		daemon_log(LOG_DEBUG, "%s %s for %s from %s: %d (direct)",
			   req->head ? "HEAD" : "GET", SERVE_POLICY_PATH, hosted->name, peer,
			   not_modified ? 304 : 200);
	return used;
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
	bool policy_path = strcmp(path, SERVE_POLICY_PATH) == 0 &&
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
