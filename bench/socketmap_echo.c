/*
 * socketmap_echo.c - the ceiling for a socketmap server: one thread, epoll,
 * the fixed reply of a cache hit to every request.
 *
 * SYNOPSIS
 *	socketmap-echo --listen tcp:HOST:PORT|unix:PATH [--reply TEXT]
 *
 * DESCRIPTION
 *	Reads netstrings with the project's reader (mtasts_netstring_read(),
 *	requests of at most MTASTS_SOCKETMAP_REQUEST_MAX octets, as a policy
 *	server takes them) and answers each with TEXT as a netstring, by
 *	default a reply the size of a policy server's cache hit:
 *	    OK secure match=mx1.good-enforce.test:mx2.good-enforce.test
 *	    servername=hostname
 *	It looks at nothing in the request: whatever a real server does beyond
 *	this (parsing the key, a cache lookup, writing the reply) is what it
 *	costs above this ceiling.
 *
 *	Pipelined requests are answered in order; the replies to all requests
 *	of one read go out in one write.  A connection whose replies the
 *	client does not read is not read from until they are written, so a
 *	client cannot make the server buffer without bound.  TEXT is at most
 *	1000 octets.  At most 4096 connections; a malformed netstring closes
 *	its connection.
 *
 *	Prints "socketmap-echo: listening on ADDRESS" on stderr when ready;
 *	runs until SIGTERM or SIGINT.
 *
 * DIAGNOSTICS
 *	Exit 0 on SIGTERM or SIGINT; 1 when it cannot listen; 2 on a usage
 *	error.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mtasts/socketmap.h>

#define CONNECTIONS_MAX 4096
#define READ_CHUNK 16384
/* The most replies one read can ask for: requests of "3:a b," (6 octets). */
#define REPLY_TEXT_MAX 1000
#define OUT_MAX ((READ_CHUNK / 6 + 1) * (REPLY_TEXT_MAX + MTASTS_NETSTRING_OVERHEAD))
#define DEFAULT_REPLY \
	"OK secure match=mx1.good-enforce.test:mx2.good-enforce.test " \
	"servername=hostname"

struct conn {
	int fd;
	struct mtasts_netstring_reader reader;
	char request[MTASTS_SOCKETMAP_REQUEST_MAX + 1];
	char *pending;		/* replies the socket did not take yet */
	size_t pending_len, pending_off;
};

static volatile sig_atomic_t stopping;
static char reply[REPLY_TEXT_MAX + MTASTS_NETSTRING_OVERHEAD + 1];
static size_t reply_len;
static char out[OUT_MAX];

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: socketmap-echo --listen tcp:HOST:PORT|unix:PATH [--reply TEXT]\n");
	exit(2);
}

static int listen_on(const char *where)
{
	int fd, one = 1;

	if (strncmp(where, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(where + 5) == 0 || strlen(where + 5) >= sizeof(sun.sun_path))
			usage();
		strcpy(sun.sun_path, where + 5);
		unlink(sun.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			return -1;
	} else if (strncmp(where, "tcp:", 4) == 0) {
		const char *colon = strrchr(where + 4, ':');
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
					  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
		struct addrinfo *ai;
		char host[256];
		size_t hlen;
		int rc;

		if (colon == NULL || (hlen = (size_t)(colon - where - 4)) == 0
		    || hlen >= sizeof(host))
			usage();
		memcpy(host, where + 4, hlen);
		host[hlen] = '\0';
		if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
			usage();
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		rc = fd < 0 ? -1 : bind(fd, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
		if (rc != 0)
			return -1;
	} else {
		usage();
	}
	if (listen(fd, 4096) != 0)
		return -1;
	return fd;
}

static void conn_close(int epfd, struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pending);
	free(c);
}

static void conn_watch(int epfd, struct conn *c, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes out[0..len); keeps what the socket does not take.  false: closed. */
static bool conn_write(int epfd, struct conn *c, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return false;
		off += (size_t)n;
	}
	if (off == len) {
		if (c->pending != NULL) {
			free(c->pending);
			c->pending = NULL;
			conn_watch(epfd, c, EPOLLIN);
		}
		return true;
	}
	if (c->pending == NULL) {
		c->pending = malloc(len - off);
		if (c->pending == NULL)
			return false;
		memcpy(c->pending, data + off, len - off);
		c->pending_len = len - off;
		c->pending_off = 0;
		conn_watch(epfd, c, EPOLLOUT);
	} else {
		c->pending_off += off;
	}
	return true;
}

/* Answers every whole request of one read.  false: close the connection. */
static bool conn_serve(int epfd, struct conn *c)
{
	static char in[READ_CHUNK];
	size_t out_len = 0, off = 0;
	ssize_t n;

	n = recv(c->fd, in, sizeof(in), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	while (off < (size_t)n) {
		struct mtasts_bytes payload;
		size_t used;
		int rc = mtasts_netstring_read(&c->reader, in + off, (size_t)n - off,
					       &used, &payload);

		if (rc < 0)
			return false;
		off += used;
		if (rc == MTASTS_NETSTRING_DONE) {
			if (out_len + reply_len > sizeof(out))
				return false;
			memcpy(out + out_len, reply, reply_len);
			out_len += reply_len;
		}
	}
	return out_len == 0 || conn_write(epfd, c, out, out_len);
}

static void accept_all(int epfd, int lfd, int *conns)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0)
			return;
		if (*conns >= CONNECTIONS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		mtasts_netstring_reader_init(&c->reader, c->request, sizeof(c->request));
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		(*conns)++;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "reply", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *where = NULL, *text = DEFAULT_REPLY;
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit rl;
	int ch, lfd, epfd, conns = 0;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': where = optarg; break;
		case 'r': text = optarg; break;
		default: usage();
		}
	}
	if (where == NULL || optind != argc)
		usage();
	if (strlen(text) > REPLY_TEXT_MAX) {
		fprintf(stderr, "socketmap-echo: --reply: at most %d octets\n",
			REPLY_TEXT_MAX);
		return 2;
	}
	if (mtasts_netstring_write(text, strlen(text), reply, sizeof(reply),
				   &reply_len) != 0)
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < CONNECTIONS_MAX + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	lfd = listen_on(where);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) != 0) {
		fprintf(stderr, "socketmap-echo: %s: %s\n", where, strerror(errno));
		return 1;
	}
	fprintf(stderr, "socketmap-echo: listening on %s\n", where);
	while (!stopping) {
		struct epoll_event evs[512];
		int n = epoll_wait(epfd, evs, 512, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			bool ok;

			if (c == NULL) {
				accept_all(epfd, lfd, &conns);
				continue;
			}
			if (c->pending != NULL)
				ok = conn_write(epfd, c, c->pending + c->pending_off,
						c->pending_len - c->pending_off);
			else
				ok = conn_serve(epfd, c);
			if (!ok) {
				conn_close(epfd, c);
				conns--;
			}
		}
	}
	if (strncmp(where, "unix:", 5) == 0)
		unlink(where + 5);
	return 0;
}
