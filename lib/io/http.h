/*
 * http.h - HTTPS GET over libcurl's multi interface, driven by libevent.
 *
 * DESCRIPTION
 *	Built for fetching MTA-STS policies: HTTPS only, TLS 1.2 or newer,
 *	the certificate judged for the request's host by tls_verify.c (the
 *	judgement every command shares: DNS-IDs only, security level 2), no redirect
 *	followed, no proxy unless one is configured, no cookies, and a body
 *	read up to max_body octets and no further.  The host can be pinned to
 *	addresses the caller resolved, so the caller's resolver decides and
 *	one address can be tested alone.
 *
 *	The callback runs exactly once per request, from the event loop; the
 *	response and everything it points to live only during the call.
 */
#ifndef MTASTS_IO_HTTP_H
#define MTASTS_IO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/x509.h>

struct http_client_config {
	X509_STORE *store;		/* the trust store to share; NULL: read
					 * ca_file (NULL: the system's) */
	const char *ca_file;
	const char *proxy;		/* NULL: never use a proxy */
	const char *user_agent;
	unsigned connect_timeout_ms;
	unsigned total_timeout_ms;
	size_t max_body;
};

struct http_request {
	const char *url;
	const char *host;		/* the URL's host: pinning, certificate */
	uint16_t port;
	unsigned timeout_ms;		/* 0: the client's total_timeout_ms */
	const struct sockaddr_storage *addresses;	/* NULL: curl resolves */
	size_t address_count;
};

enum http_outcome {
	HTTP_COMPLETED,		/* a response arrived; see status and truncated */
	HTTP_TIMEOUT,
	HTTP_CONNECT_FAILED,
	HTTP_TLS_CERTIFICATE,	/* PKIX validation or the name check failed */
	HTTP_TLS_HANDSHAKE,	/* no TLS 1.2+ session could be set up */
	HTTP_RECEIVE_FAILED,	/* the connection broke mid-response */
	HTTP_RESOLVE_FAILED,
	HTTP_LOCAL_ERROR,	/* this machine ran out of descriptors or memory */
	HTTP_FAILED,
};

struct http_response {
	enum http_outcome outcome;
	long status;
	const char *content_type;	/* NULL when absent */
	const char *location;		/* redirect target, NULL when none */
	const char *body;
	size_t body_len;
	bool truncated;			/* more than max_body was sent */
	long verify_result;		/* X509_V_ERR_* of the judgement, 0 when none */
	const char *error;		/* what went wrong, for people */
	const char *remote_ip;
};

typedef void http_done_fn(void *arg, const struct http_response *response);

struct http_client;

int http_client_new(struct event_base *base, const struct http_client_config *config,
		    struct http_client **ret_client);
/* Requests still running are completed with HTTP_FAILED first. */
struct http_client *http_client_free(struct http_client *client);

/* Zero when started; a negative errno otherwise (fn is then not called). */
int http_get(struct http_client *client, const struct http_request *request,
	     http_done_fn *fn, void *arg);

#endif
