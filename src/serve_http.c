/*
 * serve_http.c - the HTTP side of `mtasts serve`: evhttp over TLS (a
 * bufferevent_openssl per connection) and over plain TCP for a proxy in
 * front, its limits, the route table and the handlers of the routes.
 *
 * A report is answered 2xx only after report_intake() says it is committed
 * (201 stored, 200 a duplicate); 400 with the reason for a report that is
 * not valid, 413 past a size limit, 415 for a body of another type, 503
 * with Retry-After when the store fails (nothing was stored; the sender
 * retries).  Requests are handled one at a time on the loop: the store
 * is written synchronously.
 *
 * Every answer is counted by route and status.  Those of the routes are
 * counted as they are sent; those evhttp gives itself (a header or body
 * past its limit, a malformed request) reach no route, and libevent 2.1
 * offers no hook for them (no evhttp_set_errorcb, no callback before a
 * server request is read), so they are seen as their status line is
 * written to the connection's output buffer, outside any answer of ours.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "daemon_log.h"
#include "report_intake.h"
#include "serve.h"
#include "serve_http_internal.h"

#define REASON_MAX 400			/* octets of a reason in a reply */
#define RETRY_AFTER_S "60"
#define STORE_TIMEOUT_MS 3000
#define DRAIN_CHECK_MS 100
/* An answer this long or shorter fits one TLS record (16 KiB of plaintext). */
#define ONE_RECORD 16384
#define QUICK_WAITS_MAX 8		/* looks at one unfinished policy request */


/* ------------------------------------------------------------ connections */

static int ssl_index = -1;
/*
 * The server the TLS objects count down into, or NULL once it is freed:
 * libevent may free a connection's TLS object only in event_base_free(),
 * after the server, and its callback must then find nothing to count.
 */
static struct serve_server *ssl_counter;

/* Accept on the listeners (TLS ones only, or all), or stop. */
static void listeners_enable(struct serve_server *s, bool tls_only, bool on)
{
	for (size_t i = 0; i < s->bound_count; i++) {
		struct evconnlistener *l = evhttp_bound_socket_get_listener(s->bound[i]);

		if (l == NULL || (tls_only && !s->bound_tls[i]))
			continue;
		if (on)
			evconnlistener_enable(l);
		else
			evconnlistener_disable(l);
	}
}

/*
 * Data added to a connection's output: a status line written outside the
 * answers of the routes is evhttp's own answer (1xx excepted: "100
 * Continue" is no answer).  evhttp writes a status line by itself, first.
 */
static void on_output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info,
			    void *arg)
{
	struct serve_server *s = arg;
	struct evbuffer_ptr at;
	char line[16];
	int status;

	if (s->answering || info->n_added < 13 ||
	    evbuffer_ptr_set(buf, &at, info->orig_size, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(buf, &at, line, 13) != 13)
		return;
	line[13] = '\0';
	/* Read by hand: this runs for every answer, sscanf() costs. */
	if (strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' || line[12] != ' ' ||
	    !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
	    !isdigit((unsigned char)line[11]))
		return;
	status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	if (status < 200)
		return;
	serve_metrics_count(s->metrics, SERVE_ROUTE_SERVER, status);
}


/*
 * The header deadline.  evhttp's timeout is an idle timeout, renewed by
 * every byte: a client sending its header a byte at a time would hold a
 * connection for ever.  So a request's header must be whole within
 * `timeout` seconds of its first byte.  The header's end is seen in the
 * bytes as they arrive (a blank line), the deadline cleared there and set
 * again by the first byte after the answer.  What a connection needs for
 * this is made at its first byte (a connection that never sends needs
 * nothing: the idle timeout ends it) and freed when evhttp closes it.
 */
enum reading {
	READING_IDLE,			/* between requests */
	READING_HEADER,			/* the deadline runs */
	READING_REST,			/* the body, or waiting for the answer */
};

struct conn {
	struct serve_server *s;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;
	struct event *deadline;
	enum reading reading;
	bool quick;			/* evhttp has read nothing yet: answers may be ours */
	bool watermark;			/* evhttp kept from a request's beginning */
	unsigned waits;			/* looks at an unfinished head */
	bool stalled;			/* an answer of ours waits to leave; reading stopped */
	struct event *resume;		/* after it left: the connection made evhttp's */
	bool text_seen;			/* a header line began (blank lines before are skipped) */
	unsigned line_ends;		/* in a row, CR ignored */
};

static void on_conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);
static void header_watch(struct conn *c, struct evbuffer *buf, size_t offset, bool anew);
static void on_resume(evutil_socket_t fd, short what, void *arg);
static void on_conn_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;

	(void)evcon;
	evbuffer_remove_cb(bufferevent_get_input(c->bev), on_conn_input, c);
	evbuffer_remove_cb(bufferevent_get_output(c->bev), on_conn_output, c);
	event_free(c->deadline);
	if (c->resume != NULL)
		event_free(c->resume);
	free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct timeval deadline = { 0, 0 };

	(void)fd;
	(void)what;
	if (c->reading != READING_HEADER)
		return;
	deadline.tv_sec = (time_t)c->s->config->timeout;
	daemon_log(LOG_NOTICE, "a request's header took over %lds: connection closed",
		   (long)deadline.tv_sec);
	serve_metrics_count(c->s->metrics, SERVE_ROUTE_SERVER, 408);
	/* Frees c through on_conn_close. */
	evhttp_connection_free(c->evcon);
}

/* Whether the bytes end the header (a blank line after some text). */
static bool header_ends(struct conn *c, const char *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (bytes[i] == '\n') {
			if (c->text_seen && ++c->line_ends == 2)
				return true;
		} else if (bytes[i] != '\r') {
			c->text_seen = true;
			c->line_ends = 0;
		}
	}
	return false;
}

/* A request's header begins: its deadline runs. */
static void header_begins(struct conn *c)
{
	struct timeval timeout = { (time_t)c->s->config->timeout, 0 };

	c->reading = READING_HEADER;
	c->text_seen = false;
	c->line_ends = 0;
	evtimer_add(c->deadline, &timeout);
}

/*
 * Whether SSL_write() took bytes whole.  When not, they are to go to the
 * bufferevent, which writes them: OpenSSL wants the same bytes again
 * after a retry, and accepts them from another address (libevent sets
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
 */
static bool tls_write_whole(SSL *ssl, const char *bytes, size_t len)
{
	/* OpenSSL has a write of its own to finish first (libevent's to do). */
	if (SSL_want_write(ssl))
		return false;
	ERR_clear_error();
	return SSL_write(ssl, bytes, (int)len) == (int)len;
}

/*
 * An answer of ours, written now when nothing waits before it: the
 * bufferevent would write it only from its write event, a loop pass and
 * two epoll_ctl() later.  False when SSL_write() did not take it whole:
 * it then waits in the bufferevent's output, and the connection is to be
 * evhttp's from now on, which answers a request at a time, so that no
 * answers pile up behind a client that does not read.
 */
static bool quick_write(struct conn *c, SSL *ssl, const char *answer, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(out) == 0 && tls_write_whole(ssl, answer, len))
		return true;
	c->s->answering = true;
	if (evbuffer_add(out, answer, len) != 0) {
		daemon_log(LOG_CRIT, "out of memory for an answer");
		abort();
	}
	c->s->answering = false;
	/*
	 * evhttp keeps writing off between its answers: on, or the answer
	 * would never leave (the write timeout now bounds it).  Reading stops
	 * until it has left: the client is not reading, and evhttp must not
	 * start on the next request before, or the answer's write callback
	 * (which the bufferevent defers) would end evhttp's own answer early.
	 */
	bufferevent_enable(c->bev, EV_WRITE);
	bufferevent_disable(c->bev, EV_READ);
	c->stalled = true;
	return false;
}

/* A request answered: between requests again, no deadline. */
static void request_done(struct conn *c)
{
	if (c->reading == READING_HEADER)
		evtimer_del(c->deadline);
	c->reading = READING_IDLE;
}

/*
 * evhttp kept from the input until it holds more than until octets (its
 * read callback waits for the low watermark); 0: no longer.
 */
static void evhttp_hold(struct conn *c, size_t until)
{
	if (until == 0 && !c->watermark)
		return;
	bufferevent_setwatermark(c->bev, EV_READ, until, 0);
	c->watermark = until != 0;
}

/*
 * The plain policy requests at the start of buf answered here, without
 * evhttp (serve_request_head.h): most of what this server is asked, spared
 * evhttp's parsing and allocations.  True when buf holds nothing for
 * evhttp (it is empty, or begins such a request and evhttp is kept from it
 * by the read low watermark until it is whole); false when evhttp reads
 * the rest, from now on for good, so that answers keep their order.
 */
static bool quick_answers(struct conn *c, struct evbuffer *buf)
{
	struct serve_server *s = c->s;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	char answer[ONE_RECORD];

	if (c->stalled)
		return true;	/* bytes of the same read: on_resume()'s */
	while (!s->draining && s->hosting != NULL && ssl != NULL) {
		size_t len = evbuffer_get_length(buf), look, answer_len;
		struct serve_policy_request req;
		const char *bytes, *peer = "";
		bool written;
		ev_uint16_t port;
		char *address = NULL;

		if (len == 0) {
			request_done(c);
			evhttp_hold(c, 0);
			return true;
		}
		look = len < s->config->max_headers ? len : s->config->max_headers;
		if ((bytes = (const char *)evbuffer_pullup(buf, (ev_ssize_t)look)) == NULL)
			break;
		switch (serve_policy_request_parse(bytes, look, s->config->max_headers, &req)) {
		case SERVE_HEAD_INCOMPLETE:
			/* Each look reads the head from its start: a few, then evhttp's. */
			if (++c->waits > QUICK_WAITS_MAX)
				goto evhttp_reads;
			if (c->reading != READING_HEADER)
				header_begins(c);
			evhttp_hold(c, len + 1);
			return true;
		case SERVE_HEAD_OTHER:
			goto evhttp_reads;
		case SERVE_HEAD_POLICY:
			break;
		}
		if (daemon_log_debugging()) {
			evhttp_connection_get_peer(c->evcon, &address, &port);
			peer = address != NULL ? address : "";
		}
		answer_len = serve_hosting_quick_answer(s, &req, SSL_get_servername(ssl,
							TLSEXT_NAMETYPE_host_name), peer, answer,
							sizeof(answer));
		if (answer_len == 0)
			break;
		written = quick_write(c, ssl, answer, answer_len);
		evbuffer_drain(buf, req.length);
		c->waits = 0;
		request_done(c);
		if (!written) {
			/* The rest is evhttp's once the answer has left (on_resume()). */
			evhttp_hold(c, SIZE_MAX);
			return true;
		}
	}
evhttp_reads:
	c->quick = false;
	evhttp_hold(c, 0);
	return false;
}

static void on_conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	size_t length = evbuffer_get_length(buf);

	if (info->n_added == 0)
		return;
	if (serve_tls_is_acme(bufferevent_openssl_get_ssl(c->bev))) {
		/* A TLS-ALPN-01 validation: no HTTP at all. */
		evbuffer_drain(buf, length);
		return;
	}
	if (c->quick) {
		if (quick_answers(c, buf))
			return;
		/* Everything in buf is evhttp's: a header from its start. */
		header_watch(c, buf, 0, true);
		return;
	}
	if (info->n_added <= length)
		header_watch(c, buf, length - info->n_added, false);
}

/*
 * After an answer of ours that had to wait has left: the connection is
 * evhttp's, and what came before reading stopped is read now.
 */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	(void)fd;
	(void)what;
	c->stalled = false;
	c->quick = false;
	evhttp_hold(c, 0);
	bufferevent_enable(c->bev, EV_READ);
	if (evbuffer_get_length(in) > 0) {
		header_watch(c, in, 0, true);
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	}
}

/*
 * The bytes of buf from offset on, for the header deadline: a header
 * begins, or ends.  anew: buf holds a header from its start, read again.
 */
static void header_watch(struct conn *c, struct evbuffer *buf, size_t offset, bool anew)
{
	struct evbuffer_ptr at;
	size_t length = evbuffer_get_length(buf);
	char chunk[512];

	if (anew) {
		c->text_seen = false;
		c->line_ends = 0;
	}
	if (c->reading == READING_REST || offset >= length)
		return;
	if (c->reading == READING_IDLE)
		header_begins(c);
	for (; offset < length; offset += sizeof(chunk)) {
		size_t n = length - offset < sizeof(chunk) ? length - offset : sizeof(chunk);

		if (evbuffer_ptr_set(buf, &at, offset, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(buf, &at, chunk, n) != (ev_ssize_t)n)
			return;
		if (header_ends(c, chunk, n)) {
			c->reading = READING_REST;
			evtimer_del(c->deadline);
			return;
		}
	}
}

/*
 * An answer is written: the request before it was read whole, and the
 * next byte begins a new one.  "100 Continue" is no answer: the body
 * follows it.
 */
static void on_conn_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct evbuffer_ptr at;
	char line[10];

	if (c->stalled && info->n_deleted > 0 && evbuffer_get_length(buf) == 0) {
		/* A pass later: after the deferred write callback of the answer. */
		struct timeval now = { 0, 0 };

		evtimer_add(c->resume, &now);
	}
	if (info->n_added == 0 || info->n_added > evbuffer_get_length(buf))
		return;
	if (info->n_added >= 10 &&
	    evbuffer_ptr_set(buf, &at, evbuffer_get_length(buf) - info->n_added,
			     EVBUFFER_PTR_SET) == 0 &&
	    evbuffer_copyout_from(buf, &at, line, 10) == 10 &&
	    memcmp(line, "HTTP/1.", 7) == 0 && line[8] == ' ' && line[9] == '1')
		return;
	c->reading = READING_IDLE;
	evtimer_del(c->deadline);
}

/* The first byte of a connection: its deadline, watched from now on. */
static void on_first_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct bufferevent *bev = arg;
	struct serve_server *s;
	struct conn *c;
	void *evcon = NULL;

	if (info->n_added == 0)
		return;
	evbuffer_remove_cb(buf, on_first_input, arg);
	/* evhttp's callbacks have the connection as their argument. */
	bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
	if (evcon == NULL || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	s = ssl_counter;	/* the one server of the process */
	c->s = s;
	c->bev = bev;
	c->evcon = evcon;
	c->quick = bufferevent_openssl_get_ssl(bev) != NULL;
	if (s == NULL || (c->deadline = evtimer_new(s->base, on_deadline, c)) == NULL) {
		free(c);
		return;
	}
	if ((c->resume = evtimer_new(s->base, on_resume, c)) == NULL) {
		event_free(c->deadline);
		free(c);
		return;
	}
	evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
	if (evbuffer_add_cb(bufferevent_get_output(bev), on_conn_output, c) == NULL ||
	    evbuffer_add_cb(buf, on_conn_input, c) == NULL) {
		daemon_log(LOG_CRIT, "out of memory for a connection");
		abort();
	}
	on_conn_input(buf, info, c);
}

static void watch_output(struct serve_server *s, struct bufferevent *bev)
{
	if (evbuffer_add_cb(bufferevent_get_output(bev), on_output_added, s) == NULL ||
	    evbuffer_add_cb(bufferevent_get_input(bev), on_first_input, bev) == NULL) {
		daemon_log(LOG_CRIT, "out of memory for a connection");
		abort();
	}
}

/*
 * A plain connection: what evhttp makes by itself, watched.  It is not
 * counted in connections_open: a socket bufferevent has no hook when it is
 * freed, and a filter over it (which has) cannot take the socket evhttp
 * hands it afterwards (libevent 2.1 filters refuse bufferevent_setfd), so
 * such a connection would never be read.
 */
static struct bufferevent *plain_bufferevent(struct event_base *base, void *arg)
{
	struct serve_server *s = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (bev == NULL) {
		daemon_log(LOG_CRIT, "out of memory for a connection");
		abort();
	}
	watch_output(s, bev);
	return bev;
}

/* A TLS object is freed with its connection: one fewer open. */
static void on_ssl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int index, long argl,
			void *argp)
{
	struct serve_server *s = ptr;

	(void)parent;
	(void)ad;
	(void)index;
	(void)argl;
	(void)argp;
	if (s == NULL || s != ssl_counter)
		return;
	s->metrics->connections_open--;
	if (s->paused && !s->draining && !s->freeing &&
	    s->metrics->connections_open < s->config->max_connections) {
		s->paused = false;
		listeners_enable(s, true, true);
	}
}

/*
 * The handshake deadline: a TLS handshake must be done within `timeout`
 * seconds of the connection, however slowly its bytes come (the idle
 * timeout is renewed by each).  The handshakes under way are a list in
 * the order they began; a timer four times a second cuts the overdue ones by
 * shutting their socket, which evhttp sees as the end of the connection.
 * A node leaves the list when its handshake is done or its TLS object is
 * freed (which may be in event_base_free(): no libevent call there).
 */
struct handshake {
	struct handshake *prev, *next;
	SSL *ssl;
	int64_t deadline;		/* monotonic milliseconds */
};

static struct handshake handshakes = { &handshakes, &handshakes, NULL, 0 };
static int handshake_index = -1;

static int64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void handshake_end(struct handshake *h)
{
	SSL_set_ex_data(h->ssl, handshake_index, NULL);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	free(h);
}

static void on_handshake_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int index,
			      long argl, void *argp)
{
	struct handshake *h = ptr;

	(void)parent;
	(void)ad;
	(void)index;
	(void)argl;
	(void)argp;
	if (h != NULL) {
		h->prev->next = h->next;
		h->next->prev = h->prev;
		free(h);
	}
}

static void handshake_begin(struct serve_server *s, SSL *ssl)
{
	struct handshake *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		daemon_log(LOG_CRIT, "out of memory for a TLS connection");
		abort();
	}
	h->ssl = ssl;
	h->deadline = monotonic_ms() + (int64_t)s->config->timeout * 1000;
	h->prev = handshakes.prev;
	h->next = &handshakes;
	handshakes.prev->next = h;
	handshakes.prev = h;
	SSL_set_ex_data(ssl, handshake_index, h);
}

static void on_handshake_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct serve_server *s = arg;
	int64_t now = monotonic_ms();

	(void)fd;
	(void)what;
	while (handshakes.next != &handshakes && handshakes.next->deadline <= now) {
		struct handshake *h = handshakes.next;
		int sock = SSL_get_fd(h->ssl);

		daemon_log(LOG_NOTICE, "a TLS handshake took over %us: connection closed",
			   s->config->timeout);
		serve_metrics_count(s->metrics, SERVE_ROUTE_SERVER, 408);
		if (sock >= 0)
			(void)shutdown(sock, SHUT_RDWR);
		handshake_end(h);
	}
}

/*
 * A handshake done leaves the deadline's list.  A TLS-ALPN-01
 * validation's handshake is all it gets: reading ends there, so evhttp
 * sees the end of the connection and closes it.
 */
static void on_ssl_info(const SSL *ssl, int where, int ret)
{
	struct handshake *h;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE))
		return;
	if ((h = SSL_get_ex_data(ssl, handshake_index)) != NULL)
		handshake_end(h);
	if (serve_tls_is_acme(ssl)) {
		daemon_log(LOG_INFO, "TLS-ALPN-01 challenge answered");
		(void)shutdown(SSL_get_fd(ssl), SHUT_RD);
	}
}

static struct bufferevent *tls_bufferevent(struct event_base *base, void *arg)
{
	struct serve_server *s = arg;
	struct bufferevent *bev;
	SSL *ssl = serve_tls_new_ssl(s->tls);

	/* NULL would make evhttp speak plain HTTP on the TLS port. */
	if (ssl == NULL) {
		daemon_log(LOG_CRIT, "out of memory for a TLS connection");
		abort();
	}
	s->metrics->connections_accepted++;
	s->metrics->connections_open++;
	SSL_set_ex_data(ssl, ssl_index, s);
	SSL_set_info_callback(ssl, on_ssl_info);
	handshake_begin(s, ssl);
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		daemon_log(LOG_CRIT, "out of memory for a TLS connection");
		abort();
	}
	/* Many clients close without a TLS close_notify. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	watch_output(s, bev);
	if (s->metrics->connections_open >= s->config->max_connections && !s->paused) {
		s->paused = true;
		s->metrics->accept_paused++;
		listeners_enable(s, true, false);
		daemon_log(LOG_WARNING, "%u connections open: accepting pauses until one "
			   "closes", s->config->max_connections);
	}
	return bev;
}

/* ------------------------------------------------------------------ store */

/* The store, opened again after it failed; NULL when it is unavailable. */
static struct report_store *store_get(struct serve_server *s)
{
	struct report_store_options options = { .timeout_ms = STORE_TIMEOUT_MS };
	time_t now;

	if (s->store != NULL)
		return s->store;
	if ((s->store = report_store_open(s->store_location, &options, s->store_why,
					  sizeof(s->store_why))) != NULL)
		return s->store;
	s->metrics->store_errors++;
	now = time(NULL);
	if (now - s->store_error_logged >= 60) {
		s->store_error_logged = now;
		daemon_log(LOG_ERR, "the report store is unavailable: %s", s->store_why);
	}
	return NULL;
}

static void store_failed(struct serve_server *s)
{
	s->metrics->store_errors++;
	s->store = report_store_close(s->store);
	serve_summary_cache_clear(&s->summary);
}

/* -------------------------------------------------------------- retention */

/* Remove the reports past retention_days; a failure waits for the next tick. */
static void prune_now(struct serve_server *s)
{
	int64_t before = (int64_t)time(NULL) - (int64_t)s->retention_days * 86400;
	struct report_store *store = store_get(s);
	char why[SERVE_WHY_SIZE];
	uint64_t removed = 0;

	if (store == NULL) {
		daemon_log(LOG_WARNING, "retention: the report store is unavailable (%s); "
			   "trying again in %us", s->store_why, s->prune_interval);
		return;
	}
	if (report_store_prune(store, before, &removed, why, sizeof(why)) != 0) {
		daemon_log(LOG_ERR, "retention: cannot remove old reports: %s; trying again "
			   "in %us", why, s->prune_interval);
		store_failed(s);
		return;
	}
	s->metrics->reports_pruned += removed;
	if (removed > 0)
		serve_summary_cache_clear(&s->summary);
	daemon_log(removed > 0 ? LOG_INFO : LOG_DEBUG, "retention: removed %llu reports "
		   "whose period ended over %u days ago", (unsigned long long)removed,
		   s->retention_days);
}

static void prune_schedule(struct serve_server *s, bool now);

static void on_prune_timer(evutil_socket_t fd, short what, void *arg)
{
	struct serve_server *s = arg;

	(void)fd;
	(void)what;
	if (s->retention_days > 0 && !s->draining)
		prune_now(s);
	prune_schedule(s, false);
}

/* The next prune: now (on the loop), or after prune_interval; none without retention. */
static void prune_schedule(struct serve_server *s, bool now)
{
	struct timeval after = { now ? 0 : (time_t)s->config->prune_interval, 0 };

	s->retention_days = s->config->retention_days;
	s->prune_interval = s->config->prune_interval;
	evtimer_del(s->prune_timer);
	if (s->retention_days > 0 && s->prunes)
		evtimer_add(s->prune_timer, &after);
}

/* ----------------------------------------------------------------- replies */

/* The client's address, "" when unknown. */
const char *serve_peer_address(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	char *address = NULL;
	ev_uint16_t port = 0;

	if (conn != NULL)
		evhttp_connection_get_peer(conn, &address, &port);
	return address != NULL ? address : "";
}

const char *serve_method_name(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "?";
	}
}

/* The request's path for the log: escaped, cut (it came from the network). */
const char *serve_path_shown(struct evhttp_request *req)
{
	static char shown[136];
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	text_shown(path != NULL ? path : "", shown, sizeof(shown), 120);
	return shown;
}

void serve_send(struct evhttp_request *req, int status, const char *reason,
		struct evbuffer *body)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct evbuffer *out = bev != NULL ? bufferevent_get_output(bev) : NULL;
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
	size_t waiting = out != NULL ? evbuffer_get_length(out) : 0, len;
	const char *bytes;

	/*
	 * evhttp adds the header and the body as two pieces, and each piece
	 * would leave as a TLS record and a write of its own; and a TLS
	 * bufferevent writes only from its write event, a pass of the loop
	 * later, behind every other connection's work (the handshakes of new
	 * ones).  So over TLS an answer that fits a record is made one piece,
	 * and written now when nothing waits before it; evhttp then hears
	 * that it left (its write callback, deferred past this request's
	 * handling) as it would from the bufferevent.  out is taken before:
	 * without a connection the request is freed.
	 */
	evhttp_send_reply(req, status, reason, body);
	if (out == NULL || ssl == NULL || (len = evbuffer_get_length(out)) > ONE_RECORD ||
	    (bytes = (const char *)evbuffer_pullup(out, -1)) == NULL)
		return;
	if (waiting == 0 && tls_write_whole(ssl, bytes, len)) {
		evbuffer_drain(out, len);
		bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
	}
}

/* A one-line text/plain reply (text escaped, cut), counted. */
void serve_reply(struct serve_server *s, struct evhttp_request *req,
		  enum serve_route_id route, int status, const char *reason, const char *text)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();
	char shown[REASON_MAX + 8];

	text_shown(text, shown, sizeof(shown), REASON_MAX);
	evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(headers, "Cache-Control", "no-store");
	if (s->draining)
		evhttp_add_header(headers, "Connection", "close");
	serve_metrics_count(s->metrics, route, status);
	if (daemon_log_debugging())
		daemon_log(LOG_DEBUG, "%s %s from %s: %d", serve_method_name(req),
			   serve_path_shown(req), serve_peer_address(req), status);
	s->answering = true;
	if (body == NULL || evbuffer_add_printf(body, "%s\n", shown) < 0)
		serve_send(req, status, reason, NULL);
	else
		serve_send(req, status, reason, body);
	s->answering = false;
	evbuffer_free(body);
}

/* ---------------------------------------------------------- report route */

/* The media type alone, lower case, in buf: "application/tlsrpt+json". */
static void media_type(const char *header, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (header == NULL || size == 0)
		return;
	while (*header == ' ' || *header == '\t')
		header++;
	for (; *header != '\0' && *header != ';' && *header != ' ' && *header != '\t' &&
	       n + 1 < size; header++)
		buf[n++] = (char)(*header >= 'A' && *header <= 'Z' ? *header + 32 : *header);
	buf[n] = '\0';
}

/*
 * The format the headers announce: RFC 8460 5.4's two types, and the plain
 * ones some senders use; a gzip Content-Encoding on JSON.  -1: a type we
 * do not take (415).
 */
static int announced_format(struct evhttp_request *req, enum unpack_format *ret)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *encoding = evhttp_find_header(in, "Content-Encoding");
	char type[64], coding[32];
	bool gzip_coding;

	media_type(evhttp_find_header(in, "Content-Type"), type, sizeof(type));
	media_type(encoding, coding, sizeof(coding));
	gzip_coding = strcmp(coding, "gzip") == 0 || strcmp(coding, "x-gzip") == 0;
	if (coding[0] != '\0' && !gzip_coding && strcmp(coding, "identity") != 0)
		return -1;
	if (strcmp(type, "application/tlsrpt+gzip") == 0 || strcmp(type, "application/gzip") == 0)
		*ret = UNPACK_GZIP;
	else if (strcmp(type, "application/tlsrpt+json") == 0 ||
		 strcmp(type, "application/json") == 0)
		*ret = gzip_coding ? UNPACK_GZIP : UNPACK_JSON;
	else
		return -1;
	return 0;
}

static void log_outcome(const char *client, const struct intake_outcome *o)
{
	const struct intake_report *r = o->report_count > 0 ? &o->reports[0] : NULL;
	char org[160], id[160], why[360];

	text_shown(r != NULL ? r->organization_name : "", org, sizeof(org), 120);
	text_shown(r != NULL ? r->report_id : "", id, sizeof(id), 120);
	text_shown(o->why, why, sizeof(why), 320);
	if (o->status == INTAKE_STORED || o->status == INTAKE_DUPLICATE)
		daemon_log(LOG_INFO, "report from %s: %s, id %lld, %s, report-id %s", client,
			   intake_status_name(o->status), r != NULL ? (long long)r->id : 0LL,
			   org, id);
	else
		daemon_log(LOG_NOTICE, "report from %s: %s: %s", client,
			   intake_status_name(o->status), why);
}

static void handle_report(struct serve_server *s, struct evhttp_request *req)
{
	const enum serve_route_id route = SERVE_ROUTE_REPORT;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct intake_options options;
	struct intake_outcome outcome;
	struct report_store *store;
	enum unpack_format hint;
	const char *client = serve_peer_address(req);
	char text[REASON_MAX + 64];
	unsigned char *data;

	s->metrics->bytes_received += len;
	if (announced_format(req, &hint) != 0) {
		s->metrics->reports[SERVE_OUTCOME_MEDIA_TYPE]++;
		serve_reply(s, req, route, 415, "Unsupported Media Type", "send the report as "
		      "application/tlsrpt+gzip or application/tlsrpt+json (RFC 8460 5.4)");
		return;
	}
	if (len == 0) {
		s->metrics->reports[SERVE_OUTCOME_INVALID]++;
		serve_reply(s, req, route, 400, "Bad Request", "invalid report: the body is empty");
		return;
	}
	if (len > s->config->max_body) {
		s->metrics->reports[SERVE_OUTCOME_TOO_LARGE]++;
		serve_reply(s, req, route, 413, "Payload Too Large", "the report is too large");
		return;
	}
	if ((store = store_get(s)) == NULL) {
		s->metrics->reports[SERVE_OUTCOME_UNAVAILABLE]++;
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
				  RETRY_AFTER_S);
		serve_reply(s, req, route, 503, "Service Unavailable", "the report store is "
		      "unavailable; nothing was stored, try again later");
		return;
	}
	if ((data = evbuffer_pullup(in, -1)) == NULL) {
		serve_reply(s, req, route, 500, "Internal Server Error", "out of memory");
		return;
	}
	intake_options_default(&options);
	options.unpack.max_input = s->config->max_body;
	options.unpack.max_output = s->config->max_inflated;
	options.unpack.max_total_output = s->config->max_inflated;
	options.report.max_json = s->config->max_inflated;
	options.source = "https";
	options.origin = client[0] != '\0' ? client : NULL;
	options.received_at = (int64_t)time(NULL);
	if (report_intake(store, data, len, hint, &options, &outcome) != 0) {
		serve_reply(s, req, route, 503, "Service Unavailable", "out of memory");
		return;
	}
	log_outcome(client, &outcome);
	switch (outcome.status) {
	case INTAKE_STORED:
		s->metrics->reports[SERVE_OUTCOME_STORED]++;
		snprintf(text, sizeof(text), "stored report %lld", outcome.report_count > 0 ?
			 (long long)outcome.reports[0].id : 0LL);
		serve_reply(s, req, route, 201, "Created", text);
		break;
	case INTAKE_DUPLICATE:
		s->metrics->reports[SERVE_OUTCOME_DUPLICATE]++;
		snprintf(text, sizeof(text), "duplicate: this report is already stored "
			 "(report %lld)", outcome.report_count > 0 ?
			 (long long)outcome.reports[0].id : 0LL);
		serve_reply(s, req, route, 200, "OK", text);
		break;
	case INTAKE_REJECTED:
		s->metrics->reports[SERVE_OUTCOME_INVALID]++;
		snprintf(text, sizeof(text), "invalid report: %s", outcome.why);
		serve_reply(s, req, route, 400, "Bad Request", text);
		break;
	case INTAKE_TOO_LARGE:
		s->metrics->reports[SERVE_OUTCOME_TOO_LARGE]++;
		snprintf(text, sizeof(text), "the report is too large: %s", outcome.why);
		serve_reply(s, req, route, 413, "Payload Too Large", text);
		break;
	case INTAKE_DEFERRED:		/* not over HTTPS (no DKIM), but a retry would be right */
	case INTAKE_UNAVAILABLE:
		s->metrics->reports[SERVE_OUTCOME_UNAVAILABLE]++;
		store_failed(s);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
				  RETRY_AFTER_S);
		serve_reply(s, req, route, 503, "Service Unavailable", "the report store is "
		      "unavailable; nothing was stored, try again later");
		break;
	}
	intake_outcome_clear(&outcome);
}

/* -------------------------------------------------- health and metrics */

static void handle_healthz(struct serve_server *s, struct evhttp_request *req)
{
	struct report_store *store = store_get(s);
	char why[SERVE_WHY_SIZE], text[SERVE_WHY_SIZE + 64];

	if (store != NULL && report_store_ping(store, why, sizeof(why))) {
		serve_reply(s, req, SERVE_ROUTE_HEALTHZ, 200, "OK", "ok");
		return;
	}
	if (store != NULL)
		store_failed(s);
	else
		snprintf(why, sizeof(why), "%s", s->store_why);
	snprintf(text, sizeof(text), "the report store is unavailable: %s", why);
	serve_reply(s, req, SERVE_ROUTE_HEALTHZ, 503, "Service Unavailable", text);
}

static void allow_parse(struct serve_server *s)
{
	s->allow_count = 0;
	for (size_t i = 0; i < s->config->metrics_allow_count; i++)
		if (serve_parse_cidr(s->config->metrics_allow[i], &s->allow[s->allow_count]))
			s->allow_count++;
}

static bool metrics_allowed(const struct serve_server *s, const char *client)
{
	if (s->allow_count == 0)
		return true;
	for (size_t i = 0; i < s->allow_count; i++)
		if (serve_cidr_contains(&s->allow[i], client))
			return true;
	return false;
}

static void handle_metrics(struct serve_server *s, struct evhttp_request *req)
{
	struct serve_metrics sum, *m;
	struct evbuffer *out;
	struct timespec now;

	if (!metrics_allowed(s, serve_peer_address(req))) {
		serve_reply(s, req, SERVE_ROUTE_METRICS, 403, "Forbidden", "metrics are not served "
		      "to this address (metrics_allow)");
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		serve_reply(s, req, SERVE_ROUTE_METRICS, 500, "Internal Server Error", "out of memory");
		return;
	}
	/* Counted before it is written, so the scrape sees itself. */
	serve_metrics_count(s->metrics, SERVE_ROUTE_METRICS, 200);
	if (daemon_log_debugging())
		daemon_log(LOG_DEBUG, "%s %s from %s: 200", serve_method_name(req),
			   serve_path_shown(req), serve_peer_address(req));
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (s->all_metrics != NULL)
		serve_metrics_sum(s->all_metrics, s->metrics_count, &sum);
	m = s->all_metrics != NULL ? &sum : s->metrics;
	/* Counted now, by whichever worker answers: the certificate manager adds some. */
	if (m->hosting && s->tls != NULL)
		m->hosted_certificates = serve_tls_hosted_count(s->tls);
	serve_metrics_write(m, &s->summary, store_get(s), (int64_t)now.tv_sec, out);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	s->answering = true;
	serve_send(req, 200, "OK", out);
	s->answering = false;
	evbuffer_free(out);
}

/* ------------------------------------------------------------ the routes */

/*
 * A route: which requests it takes (by Host and path; host NULL: any) and
 * the methods it answers.  The policies of the hosted names come before
 * them (hosting_answered()).
 */
struct route {
	enum serve_route_id id;
	const char *host;		/* the Host it serves, NULL: any */
	const char *path;		/* NULL: the configured report path */
	int methods;
	const char *allow;		/* the Allow header of a 405 */
	void (*handle)(struct serve_server *s, struct evhttp_request *req);
};

static const struct route routes[] = {
	{ SERVE_ROUTE_REPORT, NULL, NULL, EVHTTP_REQ_POST, "POST", handle_report },
	{ SERVE_ROUTE_HEALTHZ, NULL, "/healthz", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	  "GET, HEAD", handle_healthz },
	{ SERVE_ROUTE_METRICS, NULL, "/metrics", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	  "GET, HEAD", handle_metrics },
};

/* The first route for this Host (without its port, any case) and path. */
static const struct route *route_find(const struct serve_server *s, const char *host,
				      const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *want = routes[i].path != NULL ? routes[i].path :
				   s->config->report_path;

		if (routes[i].host != NULL &&
		    (host == NULL || strcasecmp(routes[i].host, host) != 0))
			continue;
		if (strcmp(want, path) == 0)
			return &routes[i];
	}
	return NULL;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct serve_server *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const struct route *route;

	if (path == NULL || path[0] == '\0')
		path = "/";
	if (s->hosting != NULL && serve_hosting_answered(s, req, path))
		return;
	route = route_find(s, evhttp_request_get_host(req), path);
	if (route == NULL) {
		serve_reply(s, req, SERVE_ROUTE_NONE, 404, "Not Found", "not found");
		return;
	}
	if (!(evhttp_request_get_command(req) & route->methods)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", route->allow);
		serve_reply(s, req, route->id, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	route->handle(s, req);
}

/* ------------------------------------------------------------- the server */

static struct evhttp *http_new(struct serve_server *s, bool tls)
{
	struct evhttp *http = evhttp_new(s->base);
	struct timeval timeout = { (time_t)s->config->timeout, 0 };

	if (http == NULL)
		return NULL;
	evhttp_set_timeout_tv(http, &timeout);
	evhttp_set_max_headers_size(http, s->config->max_headers);
	evhttp_set_max_body_size(http, s->config->max_body);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
				   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_PATCH);
	/* Read the rest of an oversized body, so the sender sees the 413. */
	evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(http, on_request, s);
	evhttp_set_bevcb(http, tls ? tls_bufferevent : plain_bufferevent, s);
	return http;
}

static int bind_all(struct serve_server *s, struct evhttp *http, char *const *list,
		    size_t count, bool tls, char *why, size_t why_size)
{
	char host[64];
	uint16_t port;
	int one = 1;

	for (size_t i = 0; i < count; i++) {
		struct evhttp_bound_socket *b;

		if (!serve_split_address(list[i], host, sizeof(host), &port)) {
			snprintf(why, why_size, "'%s' is not ADDRESS:PORT", list[i]);
			return -1;
		}
		if ((b = evhttp_bind_socket_with_handle(http, host, port)) == NULL) {
			snprintf(why, why_size, "cannot listen on %s (%s): %s", list[i],
				 tls ? "HTTPS" : "HTTP", strerror(errno));
			return -1;
		}
		/*
		 * Accepted sockets inherit it: evhttp writes a reply's header
		 * and body as two writes (two TLS records), and Nagle would
		 * hold the second until the client's delayed ACK, 40 ms.
		 */
		(void)setsockopt(evhttp_bound_socket_get_fd(b), IPPROTO_TCP, TCP_NODELAY,
				 &one, sizeof(one));
		s->bound[s->bound_count] = b;
		s->bound_tls[s->bound_count++] = tls;
	}
	return 0;
}

int serve_server_bind(struct event_base *base, const struct serve_config *config,
		      struct serve_tls *tls, struct serve_server **ret_server,
		      char *why, size_t why_size)
{
	struct serve_server *s = calloc(1, sizeof(*s));
	static const char *const default_listen[] = { SERVE_LISTEN_DEFAULT };
	char *const *listen = config->listen;
	size_t listen_count = config->listen_count;

	if (s == NULL) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	s->base = base;
	s->config = config;
	s->tls = tls;
	s->metrics = &s->own_metrics;
	s->prunes = true;
	if (ssl_index < 0)
		ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, on_ssl_free);
	if (handshake_index < 0)
		handshake_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, on_handshake_free);
	ssl_counter = s;
	allow_parse(s);
	if (tls != NULL && listen_count == 0) {
		listen = (char *const *)default_listen;
		listen_count = 1;
	}
	if ((tls != NULL && listen_count > 0 && (s->https = http_new(s, true)) == NULL) ||
	    (config->listen_plain_count > 0 && (s->plain = http_new(s, false)) == NULL) ||
	    (config->listen_http_count > 0 && (s->acme = http_new(s, false)) == NULL)) {
		snprintf(why, why_size, "out of memory");
		goto fail;
	}
	if (s->acme != NULL)
		evhttp_set_gencb(s->acme, serve_on_acme_request, s);
	if ((s->https != NULL &&
	     bind_all(s, s->https, listen, listen_count, true, why, why_size) != 0) ||
	    (s->plain != NULL && bind_all(s, s->plain, config->listen_plain,
					  config->listen_plain_count, false, why, why_size) != 0) ||
	    (s->acme != NULL && bind_all(s, s->acme, config->listen_http,
					 config->listen_http_count, false, why, why_size) != 0))
		goto fail;
	*ret_server = s;
	return 0;
fail:
	serve_server_free(s);
	return -1;
}

int serve_server_start(struct serve_server *s, const char *store_location)
{
	struct timeval sweep_every = { 0, 250000 };

	if ((s->store_location = strdup(store_location)) == NULL ||
	    (s->prune_timer = evtimer_new(s->base, on_prune_timer, s)) == NULL ||
	    (s->handshake_sweep = event_new(s->base, -1, EV_PERSIST, on_handshake_sweep,
					    s)) == NULL ||
	    event_add(s->handshake_sweep, &sweep_every) != 0)
		return -1;
	(void)store_get(s);	/* now, to say so at start when it fails */
	prune_schedule(s, true);
	return 0;
}

void serve_server_apply(struct serve_server *s)
{
	const struct serve_config *c = s->config;
	struct timeval timeout = { (time_t)c->timeout, 0 };
	struct evhttp *servers[] = { s->https, s->plain, s->acme };
	bool retention_changed = c->retention_days != s->retention_days ||
				 c->prune_interval != s->prune_interval;

	for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		if (servers[i] == NULL)
			continue;
		evhttp_set_timeout_tv(servers[i], &timeout);
		evhttp_set_max_headers_size(servers[i], c->max_headers);
		evhttp_set_max_body_size(servers[i], c->max_body);
	}
	allow_parse(s);
	if (!s->draining) {
		bool over = s->metrics->connections_open >= c->max_connections;

		if (s->paused != over) {
			s->paused = over;
			listeners_enable(s, true, !over);
		}
	}
	if (retention_changed && s->prune_timer != NULL)
		prune_schedule(s, true);
}

static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct serve_server *s = arg;
	struct timeval again = { 0, DRAIN_CHECK_MS * 1000 };

	(void)fd;
	(void)what;
	if (s->metrics->connections_open == 0) {
		if (s->drained != NULL)
			s->drained(s->drained_arg);
		return;
	}
	evtimer_add(s->drain_check, &again);
}

void serve_server_drain(struct serve_server *s, void (*done)(void *arg), void *arg)
{
	s->draining = true;
	s->drained = done;
	s->drained_arg = arg;
	listeners_enable(s, false, false);
	if ((s->drain_check = evtimer_new(s->base, on_drain_check, s)) == NULL) {
		done(arg);
		return;
	}
	on_drain_check(-1, 0, s);
}

size_t serve_server_connections(const struct serve_server *s)
{
	return (size_t)s->metrics->connections_open;
}

void serve_server_set_worker(struct serve_server *s, struct serve_metrics *slots,
			     size_t count, size_t index)
{
	s->prunes = index == 0;
	/*
	 * A worker started again counts on from the counters of the one it
	 * replaces (Prometheus would read a drop as a reset); what it had
	 * open is gone.
	 */
	slots[index].connections_open = 0;
	s->metrics = &slots[index];
	s->all_metrics = slots;
	s->metrics_count = count;
}

struct serve_metrics *serve_server_metrics(struct serve_server *s)
{
	return s->metrics;
}

void serve_server_set_hosting(struct serve_server *s, struct serve_hosting *hosting,
			      struct serve_challenges *challenges)
{
	s->hosting = hosting;
	s->challenges = challenges;
}

void serve_server_free(struct serve_server *s)
{
	if (s == NULL)
		return;
	s->freeing = true;
	/* Its connections' TLS objects still count down into s. */
	if (s->https != NULL)
		evhttp_free(s->https);
	if (s->plain != NULL)
		evhttp_free(s->plain);
	if (s->acme != NULL)
		evhttp_free(s->acme);
	if (s->drain_check != NULL)
		event_free(s->drain_check);
	if (s->prune_timer != NULL)
		event_free(s->prune_timer);
	if (s->handshake_sweep != NULL)
		event_free(s->handshake_sweep);
	report_store_close(s->store);
	serve_summary_cache_clear(&s->summary);
	free(s->store_location);
	if (ssl_counter == s)
		ssl_counter = NULL;
	free(s);
}
