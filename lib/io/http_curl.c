/*
 * http_curl.c - the HTTPS adapter on libcurl's multi interface; libevent
 * watches the sockets and the timer curl asks for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http.h"
#include "resources.h"
#include "tls_verify.h"
#include "util.h"

struct http_client {
	struct event_base *base;
	X509_STORE *store;		/* the one trust store (tls_verify.c) */
	CURLM *multi;
	struct event *timer;
	struct http_client_config config;
	struct transfer *transfers;	/* running, for freeing */
	bool closing;
};

struct transfer {
	struct http_client *client;
	CURL *easy;
	struct curl_slist *resolve;
	char *host;			/* the name the certificate must carry */
	struct tls_verify_context verify;	/* for on_ssl_ctx's context */
	http_done_fn *fn;
	void *arg;
	char *body;
	size_t body_len;
	bool truncated;
	char error[CURL_ERROR_SIZE];
	struct transfer *next;
};

/* The event watching one of curl's sockets. */
struct watched_socket {
	struct event *event;
};

static void check_finished(struct http_client *c);

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	check_finished(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_finished(c);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
			  void *socketp)
{
	struct http_client *c = userp;
	struct watched_socket *w = socketp;
	short events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			if (w->event != NULL)
				event_free(w->event);
			free(w);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return -1;
		curl_multi_assign(c->multi, fd, w);
	} else if (w->event != NULL) {
		event_free(w->event);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= EV_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= EV_WRITE;
	w->event = event_new(c->base, fd, events | EV_PERSIST, on_socket_event, c);
	if (w->event == NULL)
		return -1;
	event_add(w->event, NULL);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	if (timeout_ms < 0)
		evtimer_del(c->timer);
	else
		evtimer_add(c->timer, &tv);
	return 0;
}

/* "OpenSSL/3.0.19" of curl against OPENSSL_VERSION_TEXT's version. */
static bool curl_uses_our_openssl(void)
{
	const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
	char ours[64];

	if (info == NULL || info->ssl_version == NULL)
		return false;
	snprintf(ours, sizeof(ours), "OpenSSL/%s", OpenSSL_version(OPENSSL_VERSION_STRING));
	return strcmp(info->ssl_version, ours) == 0;
}

int http_client_new(struct event_base *base, const struct http_client_config *config,
		    struct http_client **ret_client)
{
	struct http_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->base = base;
	c->config = *config;
	/*
	 * The certificate is judged with this program's OpenSSL inside curl's
	 * handshake: curl must use the same library, and no TLS proxy (its
	 * handshake would be judged for the policy host's name).
	 */
	if (!curl_uses_our_openssl() || (config->proxy != NULL &&
	    strncasecmp(config->proxy, "https:", 6) == 0)) {
		free(c);
		return -EPROTONOSUPPORT;
	}
	if (config->store != NULL && X509_STORE_up_ref(config->store) == 1)
		c->store = config->store;
	else if ((c->store = tls_verify_store_new(config->ca_file)) == NULL) {
		free(c);
		return -EINVAL;
	}
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (c->multi == NULL || c->timer == NULL) {
		http_client_free(c);
		return -ENOMEM;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*ret_client = c;
	return 0;
}

static void transfer_free(struct transfer *t)
{
	struct transfer **pp;

	for (pp = &t->client->transfers; *pp != NULL && *pp != t; pp = &(*pp)->next)
		;
	if (*pp == t)
		*pp = t->next;
	if (t->easy != NULL) {
		curl_multi_remove_handle(t->client->multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->resolve);
	free(t->host);
	free(t->body);
	free(t);
}

static void finish(struct transfer *t, struct http_response *r)
{
	r->body = t->body != NULL ? t->body : "";
	r->body_len = t->body_len;
	r->truncated = t->truncated;
	if (r->error == NULL)
		r->error = t->error[0] != '\0' ? t->error : "";
	t->fn(t->arg, r);
	transfer_free(t);
}

struct http_client *http_client_free(struct http_client *c)
{
	if (c == NULL)
		return NULL;
	c->closing = true;
	while (c->transfers != NULL) {
		struct http_response r = { .outcome = HTTP_FAILED,
					   .error = "the HTTP client was shut down" };

		finish(c->transfers, &r);
	}
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	if (c->timer != NULL)
		event_free(c->timer);
	X509_STORE_free(c->store);
	free(c);
	return NULL;
}

static enum http_outcome outcome_from_curl(CURLcode code, bool truncated, long os_errno,
					   const char *error)
{
	/* This machine ran out of something: no verdict on the server. */
	if (code == CURLE_OUT_OF_MEMORY || resources_errno_is_local((int)os_errno) ||
	    strstr(error, "Too many open files") != NULL ||
	    (code != CURLE_OK && code != CURLE_OPERATION_TIMEDOUT &&
	     resources_descriptors_exhausted()))
		return HTTP_LOCAL_ERROR;
	/* A connection cut during the handshake is no verdict on TLS. */
	if (code == CURLE_SSL_CONNECT_ERROR &&
	    (os_errno == ECONNRESET || os_errno == EPIPE || os_errno == ETIMEDOUT))
		return HTTP_RECEIVE_FAILED;
	switch (code) {
	case CURLE_OK:
		return HTTP_COMPLETED;
	case CURLE_WRITE_ERROR:
		return truncated ? HTTP_COMPLETED : HTTP_FAILED;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
		return HTTP_CONNECT_FAILED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return HTTP_RESOLVE_FAILED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ISSUER_ERROR:
		return HTTP_TLS_CERTIFICATE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_USE_SSL_FAILED:
		return HTTP_TLS_HANDSHAKE;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return HTTP_RECEIVE_FAILED;
	default:
		return HTTP_FAILED;
	}
}

static void check_finished(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct http_response r = { 0 };
		struct transfer *t = NULL;
		char *content_type = NULL, *location = NULL, *ip = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		long os_errno = 0;

		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
		r.outcome = outcome_from_curl(msg->data.result, t->truncated, os_errno,
					      t->error);
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
		curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &content_type);
		curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &location);
		curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip);
		curl_easy_getinfo(t->easy, CURLINFO_SSL_VERIFYRESULT, &r.verify_result);
		/* The judgement's own words (tls_verify.c), not curl's summary. */
		if (r.outcome == HTTP_TLS_CERTIFICATE && r.verify_result != X509_V_OK)
			r.error = tls_cert_error_text(r.verify_result);
		r.content_type = content_type;
		r.location = location;
		r.remote_ip = ip != NULL && ip[0] != '\0' ? ip : NULL;
		if (r.outcome != HTTP_COMPLETED && t->error[0] == '\0')
			snprintf(t->error, sizeof(t->error), "%s",
				 curl_easy_strerror(msg->data.result));
		finish(t, &r);
	}
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t len = size * nmemb;
	size_t room = t->client->config.max_body - t->body_len;
	char *grown;

	if (len > room) {
		t->truncated = true;
		len = room;
	}
	if (len > 0) {
		if ((grown = realloc(t->body, t->body_len + len + 1)) == NULL)
			return 0;
		t->body = grown;
		memcpy(t->body + t->body_len, data, len);
		t->body_len += len;
		t->body[t->body_len] = '\0';
	}
	/* A short count makes curl stop reading: nothing past the limit. */
	return t->truncated ? 0 : size * nmemb;
}

/*
 * The certificate is judged during the handshake by tls_verify_judge(), the
 * function that judges every certificate, against the one trust store;
 * curl's own host name check, which falls back to the subject CN, is off,
 * and what curl loaded into its context's store is not consulted.
 */
static CURLcode on_ssl_ctx(CURL *easy, void *ssl_ctx, void *userp)
{
	struct transfer *t = userp;

	if (tls_verify_configure_ctx(ssl_ctx, t->host, 0) != 1)
		return CURLE_SSL_CONNECT_ERROR;
	/* Judged as the probe judges, with the one store, not curl's. */
	t->verify.store = t->client->store;
	t->verify.host = t->host;
	tls_verify_install(ssl_ctx, &t->verify);
	return CURLE_OK;
}

/* "host:port:addr1,[v6addr]" for CURLOPT_RESOLVE. */
static struct curl_slist *pin_addresses(const struct http_request *req)
{
	size_t size = strlen(req->host) + 16 + req->address_count * (INET6_ADDRSTRLEN + 3);
	char *entry = malloc(size), text[INET6_ADDRSTRLEN];
	struct curl_slist *list = NULL;
	size_t pos;

	if (entry == NULL)
		return NULL;
	pos = (size_t)snprintf(entry, size, "%s:%u:", req->host, (unsigned)req->port);
	for (size_t i = 0; i < req->address_count; i++) {
		const struct sockaddr_storage *ss = &req->addresses[i];

		if (!address_text(ss, text, sizeof(text)))
			continue;
		pos += (size_t)snprintf(entry + pos, size - pos,
					ss->ss_family == AF_INET6 ? "%s[%s]" : "%s%s",
					i > 0 ? "," : "", text);
	}
	list = curl_slist_append(NULL, entry);
	free(entry);
	return list;
}

static int configure(struct transfer *t, const struct http_request *req)
{
	const struct http_client_config *cfg = &t->client->config;
	CURL *e = t->easy;

	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	/* Without the callback there would be no name check at all. */
	if (curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, t) != CURLE_OK)
		return -EPROTONOSUPPORT;
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);	/* on_ssl_ctx does it */
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, cfg->proxy != NULL ? cfg->proxy : "");
	/* on_ssl_ctx judges against the one store: curl need load none. */
	curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	if (cfg->user_agent != NULL)
		curl_easy_setopt(e, CURLOPT_USERAGENT, cfg->user_agent);
	if (cfg->connect_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	if (req->timeout_ms > 0 &&
	    (cfg->total_timeout_ms == 0 || req->timeout_ms < cfg->total_timeout_ms))
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	else if (cfg->total_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->total_timeout_ms);
	if (req->timeout_ms > 0 && req->timeout_ms < cfg->connect_timeout_ms)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
	if (req->addresses != NULL && req->address_count > 0) {
		if ((t->resolve = pin_addresses(req)) == NULL)
			return -ENOMEM;
		curl_easy_setopt(e, CURLOPT_RESOLVE, t->resolve);
	}
	return 0;
}

int http_get(struct http_client *c, const struct http_request *req,
	     http_done_fn *fn, void *arg)
{
	struct transfer *t;
	int rc;

	if (c->closing)
		return -ECANCELED;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	t->client = c;
	t->fn = fn;
	t->arg = arg;
	t->next = c->transfers;
	c->transfers = t;
	if ((t->host = strdup(req->host != NULL ? req->host : "")) == NULL ||
	    (t->easy = curl_easy_init()) == NULL) {
		transfer_free(t);
		return -ENOMEM;
	}
	if ((rc = configure(t, req)) != 0 ||
	    curl_multi_add_handle(c->multi, t->easy) != CURLM_OK) {
		transfer_free(t);
		return rc != 0 ? rc : -EIO;
	}
	return 0;
}
