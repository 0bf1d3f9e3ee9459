/*
 * policyd_server.c - the socketmap listeners and connections of `mtasts
 * policyd`.  A connection reads netstrings as they come, hands each request
 * to the engine and writes the replies in the order of the requests (Postfix
 * keeps a connection and may send the next request before the reply to the
 * last); what is answered at once is written together after each read.  A
 * malformed or oversized netstring closes that connection only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <mtasts/socketmap.h>

#include "policyd.h"
#include "daemon_log.h"

#define LISTENERS_MAX 16
#define READ_CHUNK 16384
#define BACKLOG 1024
#define OUTPUT_MAX (256 * 1024)	/* unsent replies before reading pauses */

struct connection;

/* One request, waiting for its reply or for the replies before it. */
struct slot {
	struct slot *next;
	struct connection *conn;	/* NULL once the connection has gone */
	bool done;
	char *reply;			/* the netstring */
	size_t len;
	struct timespec start;
};

struct connection {
	struct connection *prev, *next;
	struct policyd_server *server;
	int fd;
	struct event *read_ev;
	struct event *write_ev;
	struct mtasts_netstring_reader reader;
	char request[MTASTS_SOCKETMAP_REQUEST_MAX + 1];
	struct slot *head, **tail;
	size_t waiting;			/* slots not yet written */
	char *out;
	size_t out_len, out_sent, out_cap;
	char *stash;			/* input not yet parsed while paused */
	size_t stash_len;
	bool reading;			/* parsing input: flush after */
	bool flush_due;			/* a flush is queued on write_ev */
	bool read_paused;		/* too many requests or replies waiting */
	bool eof;			/* the peer has closed its side */
};

struct listener {
	int fd;
	struct event *ev;
};

struct policyd_server {
	struct event_base *base;
	struct policyd_engine *engine;
	struct policyd_metrics *metrics;
	struct listener listeners[LISTENERS_MAX];
	size_t listener_count;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct connection *connections;
	size_t connection_count;
	struct event *accept_pause;	/* out of descriptors: accept later */
	time_t accept_error_logged;
	bool draining;
	bool stopped;			/* the loop has ended: no more reading */
	void (*drained)(void *arg);
	void *drained_arg;
	time_t protocol_error_logged;
};

static void connection_close(struct connection *c);
static void flush(struct connection *c);
static bool resume(struct connection *c);

/* --------------------------------------------------------------- replies */

static double elapsed_s(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void on_reply(void *arg, const char *reply, size_t len,
		     enum policyd_reply_class reply_class)
{
	struct slot *s = arg;
	struct connection *c = s->conn;
	struct policyd_metrics *m;
	size_t cap = len + MTASTS_NETSTRING_OVERHEAD + 1;

	if (c == NULL) {
		/* Its connection has gone; nobody reads this reply. */
		free(s);
		return;
	}
	m = c->server->metrics;
	m->lookups[reply_class]++;
	policyd_metrics_latency(m, elapsed_s(&s->start));
	if ((s->reply = malloc(cap)) == NULL ||
	    mtasts_netstring_write(reply, len, s->reply, cap, &s->len) != 0) {
		free(s->reply);
		s->reply = NULL;
		s->len = 0;
	}
	s->done = true;
	/*
	 * Written from the loop, never from here: the engine is in the middle
	 * of answering, and a flush could resume reading and call it again.
	 */
	if (!c->reading && !c->flush_due) {
		c->flush_due = true;
		event_active(c->write_ev, EV_WRITE, 1);
	}
}

static bool out_reserve(struct connection *c, size_t more)
{
	size_t need, cap;
	char *p;

	if (c->out_sent > 0) {
		memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
		c->out_len -= c->out_sent;
		c->out_sent = 0;
	}
	need = c->out_len + more;
	if (need <= c->out_cap)
		return true;
	cap = c->out_cap ? c->out_cap : 4096;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(c->out, cap)) == NULL)
		return false;
	c->out = p;
	c->out_cap = cap;
	return true;
}

/*
 * Move the replies that are ready, in the order of their requests, to the
 * output; false when one could not be (no memory): the rest stay.
 */
static bool take_ready(struct connection *c)
{
	while (c->head != NULL && c->head->done) {
		struct slot *slot = c->head;

		if (slot->reply == NULL || !out_reserve(c, slot->len))
			return false;
		memcpy(c->out + c->out_len, slot->reply, slot->len);
		c->out_len += slot->len;
		c->head = slot->next;
		if (c->head == NULL)
			c->tail = &c->head;
		c->waiting--;
		free(slot->reply);
		free(slot);
	}
	return true;
}

/* Whether the peer has sent something not yet read (a request in flight). */
static bool input_waiting(const struct connection *c)
{
	char octet;

	return c->stash != NULL || recv(c->fd, &octet, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/*
 * Move the replies that are ready, in order, to the output; write; read
 * again what was held back once the replies have drained.  One loop does
 * it all (resume() never flushes), so nothing is left unwritten.
 */
static void flush(struct connection *c)
{
	struct timeval idle = { POLICYD_IDLE_TIMEOUT_S, 0 };
	ssize_t n;

	c->flush_due = false;
	for (;;) {
		if (!take_ready(c)) {
			daemon_log(LOG_ERR, "out of memory for a reply; closing the connection");
			connection_close(c);
			return;
		}
		while (c->out_sent < c->out_len) {
			n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL);
			if (n > 0) {
				c->out_sent += (size_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				/* A peer that never reads is closed after a while. */
				event_add(c->write_ev, &idle);
				return;
			}
			connection_close(c);
			return;
		}
		c->out_sent = c->out_len = 0;
		if (c->read_paused && c->waiting < POLICYD_PIPELINE_MAX / 2 &&
		    !c->server->stopped) {
			if (!resume(c))
				return;
			if (c->head != NULL && c->head->done)
				continue;
		}
		break;
	}
	/* Ends a connection the peer closed, or one left after a drain. */
	if (c->head == NULL && c->stash == NULL &&
	    (c->eof || (c->server->draining && !input_waiting(c))))
		connection_close(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct connection *c = arg;

	(void)fd;
	if ((what & EV_TIMEOUT) && !(what & EV_WRITE)) {
		/* Its replies were not read for POLICYD_IDLE_TIMEOUT_S. */
		connection_close(c);
		return;
	}
	flush(c);
}

/* ------------------------------------------------------------- requests */

static void protocol_error(struct connection *c, const char *what)
{
	struct policyd_server *s = c->server;
	time_t now = time(NULL);

	s->metrics->protocol_errors++;
	if (now != s->protocol_error_logged) {
		s->protocol_error_logged = now;
		daemon_log(LOG_WARNING, "closing a connection: %s", what);
	}
	connection_close(c);
}

static bool request(struct connection *c, const char *payload, size_t len)
{
	struct slot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return false;
	s->conn = c;
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	*c->tail = s;
	c->tail = &s->next;
	if (c->waiting++ > 0)
		c->server->metrics->requests_pipelined++;
	policyd_engine_lookup(c->server->engine, payload, len, on_reply, s);
	return true;
}

/* Whether c must stop reading: replies pile up. */
static bool must_pause(const struct connection *c)
{
	return c->waiting >= POLICYD_PIPELINE_MAX || c->out_len - c->out_sent >= OUTPUT_MAX;
}

/*
 * Parse data[0..n) into requests; when c must pause, keep the rest in its
 * stash and stop reading.  False when the connection was closed.
 */
static bool process_input(struct connection *c, const char *data, size_t n)
{
	size_t at = 0;

	c->reading = true;
	while (at < n) {
		struct mtasts_bytes payload;
		size_t used = 0;
		int rc;

		if (must_pause(c)) {
			char *rest = malloc(n - at);

			c->reading = false;
			if (rest == NULL) {
				protocol_error(c, "out of memory");
				return false;
			}
			memcpy(rest, data + at, n - at);
			c->stash = rest;
			c->stash_len = n - at;
			if (!c->read_paused) {
				c->read_paused = true;
				event_del(c->read_ev);
			}
			return true;
		}
		rc = mtasts_netstring_read(&c->reader, data + at, n - at, &used, &payload);
		if (rc == MTASTS_NETSTRING_MORE)
			break;
		if (rc != MTASTS_NETSTRING_DONE) {
			c->reading = false;
			protocol_error(c, mtasts_netstring_status_message(rc));
			return false;
		}
		at += used;
		if (!request(c, payload.data, payload.len)) {
			c->reading = false;
			protocol_error(c, "out of memory");
			return false;
		}
		mtasts_netstring_reader_init(&c->reader, c->request, sizeof(c->request));
	}
	c->reading = false;
	return true;
}

/*
 * The replies have drained: parse what was stashed, then read again unless
 * that paused it anew.  False when the connection was closed.
 */
static bool resume(struct connection *c)
{
	struct timeval idle = { POLICYD_IDLE_TIMEOUT_S, 0 };
	char *stash = c->stash;
	size_t len = c->stash_len;

	c->stash = NULL;
	c->stash_len = 0;
	c->read_paused = false;
	if (stash != NULL) {
		bool open = process_input(c, stash, len);

		free(stash);
		if (!open)
			return false;
	}
	if (c->read_paused)
		return true;
	if (!c->eof)
		event_add(c->read_ev, &idle);
	return true;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct connection *c = arg;
	char buf[READ_CHUNK];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		/* Idle: close unless replies are still being made. */
		if (c->head == NULL)
			connection_close(c);
		return;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
		c->eof = true;
		event_del(c->read_ev);
		if (c->head == NULL && c->out_sent == c->out_len)
			connection_close(c);
		return;
	}
	if (n < 0)
		return;
	if (process_input(c, buf, (size_t)n))
		flush(c);
}

/* ----------------------------------------------------------- connections */

static void connection_close(struct connection *c)
{
	struct policyd_server *s = c->server;
	struct slot *slot, *next;

	for (slot = c->head; slot != NULL; slot = next) {
		next = slot->next;
		if (slot->done) {
			free(slot->reply);
			free(slot);
		} else {
			slot->conn = NULL;	/* freed when its reply comes */
		}
	}
	event_free(c->read_ev);
	event_free(c->write_ev);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->connections = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->connection_count--;
	s->metrics->connections_open = s->connection_count;
	free(c->out);
	free(c->stash);
	free(c);
	if (s->draining && s->connection_count == 0 && s->drained != NULL) {
		void (*done)(void *) = s->drained;

		s->drained = NULL;
		done(s->drained_arg);
	}
}

static void accept_one(struct policyd_server *s, int fd)
{
	struct connection *c;
	struct timeval idle = { POLICYD_IDLE_TIMEOUT_S, 0 };
	int one = 1;

	if (s->connection_count >= POLICYD_CONNECTIONS_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		daemon_log(LOG_WARNING, "refusing a connection: %zu are open",
			    s->connection_count);
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->server = s;
	c->fd = fd;
	c->tail = &c->head;
	mtasts_netstring_reader_init(&c->reader, c->request, sizeof(c->request));
	c->read_ev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->write_ev = event_new(s->base, fd, EV_WRITE, on_writable, c);
	if (c->read_ev == NULL || c->write_ev == NULL || event_add(c->read_ev, &idle) != 0) {
		if (c->read_ev != NULL)
			event_free(c->read_ev);
		if (c->write_ev != NULL)
			event_free(c->write_ev);
		free(c);
		close(fd);
		return;
	}
	c->next = s->connections;
	if (c->next != NULL)
		c->next->prev = c;
	s->connections = c;
	s->connection_count++;
	s->metrics->connections_accepted++;
	s->metrics->connections_open = s->connection_count;
}

static void listeners_enable(struct policyd_server *s, bool on)
{
	for (size_t i = 0; i < s->listener_count; i++)
		if (s->listeners[i].ev != NULL) {
			if (on)
				event_add(s->listeners[i].ev, NULL);
			else
				event_del(s->listeners[i].ev);
		}
}

static void on_accept_pause_end(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listeners_enable(arg, true);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct policyd_server *s = arg;

	(void)what;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(s, fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* The listener stays readable: wait, or it spins. */
			struct timeval later = { 0, 100 * 1000 };
			time_t now = time(NULL);

			if (now != s->accept_error_logged) {
				s->accept_error_logged = now;
				daemon_log(LOG_ERR, "cannot accept connections: %s (%zu open)",
					    strerror(errno), s->connection_count);
			}
			if (s->accept_pause == NULL)
				s->accept_pause = evtimer_new(s->base, on_accept_pause_end, s);
			if (s->accept_pause != NULL && !s->draining) {
				listeners_enable(s, false);
				evtimer_add(s->accept_pause, &later);
			}
		}
		return;
	}
}

/* ------------------------------------------------------------- listeners */

static int listen_fd(struct policyd_server *s, int fd, char *why, size_t why_size)
{
	if (s->listener_count == LISTENERS_MAX) {
		close(fd);
		snprintf(why, why_size, "too many listening addresses");
		return -1;
	}
	if (listen(fd, BACKLOG) != 0) {
		snprintf(why, why_size, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	s->listeners[s->listener_count++].fd = fd;
	return 0;
}

static int bind_unix(struct policyd_server *s, const struct policyd_config *config,
		     char *why, size_t why_size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(config->path) >= sizeof(sun.sun_path)) {
		snprintf(why, why_size, "path %s: too long for a UNIX socket", config->path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", config->path);
	/* A socket left by a daemon that died; never another kind of file. */
	if (lstat(config->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(why, why_size, "path %s: exists and is not a socket",
				 config->path);
			return -1;
		}
		unlink(config->path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(why, why_size, "path %s: cannot bind: %s", config->path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (config->mode >= 0 && chmod(config->path, (mode_t)config->mode) != 0) {
		snprintf(why, why_size, "path %s: cannot set mode %o: %s", config->path,
			 (unsigned)config->mode, strerror(errno));
		close(fd);
		unlink(config->path);
		return -1;
	}
	snprintf(s->unix_path, sizeof(s->unix_path), "%s", config->path);
	return listen_fd(s, fd, why, why_size);
}

static int bind_tcp(struct policyd_server *s, const struct policyd_config *config,
		    char *why, size_t why_size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char port[8];
	int rc, one = 1;

	snprintf(port, sizeof(port), "%u", config->port);
	if ((rc = getaddrinfo(config->host, port, &hints, &res)) != 0) {
		snprintf(why, why_size, "host %s: %s", config->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);

		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (config->reuse_port)
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			snprintf(why, why_size, "%s port %u: cannot bind: %s", config->host,
				 config->port, strerror(errno));
			close(fd);
			freeaddrinfo(res);
			return -1;
		}
		if (listen_fd(s, fd, why, why_size) != 0) {
			freeaddrinfo(res);
			return -1;
		}
	}
	freeaddrinfo(res);
	if (s->listener_count == 0) {
		snprintf(why, why_size, "host %s: no address to listen on", config->host);
		return -1;
	}
	return 0;
}

int policyd_server_bind(struct event_base *base, const struct policyd_config *config,
			struct policyd_server **ret_server, char *why, size_t why_size)
{
	struct policyd_server *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	s->base = base;
	rc = config->path != NULL ? bind_unix(s, config, why, why_size)
				  : bind_tcp(s, config, why, why_size);
	if (rc != 0) {
		policyd_server_free(s);
		return -1;
	}
	*ret_server = s;
	return 0;
}

int policyd_server_start(struct policyd_server *s, struct policyd_engine *engine,
			 struct policyd_metrics *metrics)
{
	s->engine = engine;
	s->metrics = metrics;
	for (size_t i = 0; i < s->listener_count; i++) {
		struct listener *l = &s->listeners[i];

		if ((l->ev = event_new(s->base, l->fd, EV_READ | EV_PERSIST, on_accept, s)) == NULL ||
		    event_add(l->ev, NULL) != 0)
			return -1;
	}
	return 0;
}

static void close_listeners(struct policyd_server *s)
{
	for (size_t i = 0; i < s->listener_count; i++) {
		if (s->listeners[i].ev != NULL)
			event_free(s->listeners[i].ev);
		close(s->listeners[i].fd);
	}
	s->listener_count = 0;
	if (s->unix_path[0] != '\0') {
		unlink(s->unix_path);
		s->unix_path[0] = '\0';
	}
}

void policyd_server_drain(struct policyd_server *s, void (*done)(void *arg), void *arg)
{
	struct connection *c, *next;

	s->draining = true;
	s->drained = done;
	s->drained_arg = arg;
	if (s->accept_pause != NULL)
		evtimer_del(s->accept_pause);
	close_listeners(s);
	for (c = s->connections; c != NULL; c = next) {
		char octet;

		next = c->next;
		/* A request already sent is answered; an idle connection ends. */
		if (c->head == NULL && c->out_sent == c->out_len && c->stash == NULL &&
		    recv(c->fd, &octet, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)
			connection_close(c);
	}
	if (s->connection_count == 0 && s->drained != NULL) {
		s->drained = NULL;
		done(arg);
	}
}

size_t policyd_server_connections(const struct policyd_server *s)
{
	return s->connection_count;
}

/* The replies ready, written as far as the socket takes them now. */
static void write_ready(struct connection *c)
{
	(void)take_ready(c);
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		c->out_sent += (size_t)n;
	}
}

void policyd_server_free(struct policyd_server *s)
{
	if (s == NULL)
		return;
	s->drained = NULL;
	s->stopped = true;
	/* The last replies ("TEMP shutting down" among them) go out first. */
	for (struct connection *c = s->connections; c != NULL; c = c->next)
		write_ready(c);
	while (s->connections != NULL)
		connection_close(s->connections);
	close_listeners(s);
	if (s->accept_pause != NULL)
		event_free(s->accept_pause);
	free(s);
}
