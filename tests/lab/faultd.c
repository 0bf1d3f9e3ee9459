/*
 * faultd.c - the lab's fault injector: servers that misbehave on purpose.
 *
 * NAME
 *	lab-faultd - TLS/TCP and DNS servers that stall, trickle, reset, fail or
 *	send bodies of no declared length
 *
 * SYNOPSIS
 *	lab-faultd [-c cert.pem -k key.pem] [-p pidfile] [-t seconds] SPEC...
 *
 *	SPEC is MODE,ADDRESS,PORT[,tls][,file=PATH]
 *
 * DESCRIPTION
 *	Each SPEC opens one listener.  The modes are:
 *
 *	trickle       read the request, send the response head (everything up to
 *	              and including the first empty line of the payload file)
 *	              at once, then the rest one byte per second.
 *	reset         read the request, send the head and half of the body, then
 *	              reset the connection (RST, via SO_LINGER 0).
 *	hang          complete the TLS handshake (with ",tls"), read the request
 *	              and never answer.
 *	silent        accept the TCP connection and never send a byte (no TLS
 *	              handshake even with ",tls").
 *	chunked       read the request, send the response head, then the body
 *	              in the chunked transfer coding (chunks of varying sizes,
 *	              then the last chunk), then close.  The head should say
 *	              "Transfer-Encoding: chunked".
 *	close         read the request, send the whole payload file, then close
 *	              (TLS close_notify, then FIN): with no Content-Length in the
 *	              head, the end of the connection is the end of the body.
 *	dns-drop      UDP and TCP DNS server that reads queries and never answers.
 *	dns-servfail  UDP and TCP DNS server that answers every query SERVFAIL.
 *
 *	TCP connections are served by one child process each; a child lives at
 *	most -t seconds (default 120) and is killed when the parent exits (PR_SET_PDEATHSIG).  The pid file is
 *	written once every listener is bound, so its existence means "ready".
 *	SIGTERM or SIGINT stops the server and its children.
 *
 * DIAGNOSTICS
 *	One line per connection and per error on standard error.  Exit status 0
 *	after a signal, 1 on a start-up error, 2 on a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_SPECS 64
#define REQUEST_MAX 8192
#define PAYLOAD_MAX (1024 * 1024)

enum mode {
	M_TRICKLE, M_RESET, M_HANG, M_SILENT, M_CHUNKED, M_CLOSE, M_DNS_DROP, M_DNS_SERVFAIL
};

static const char *const mode_names[] = {
	"trickle", "reset", "hang", "silent", "chunked", "close", "dns-drop", "dns-servfail",
};

struct spec {
	enum mode mode;
	char addr[INET6_ADDRSTRLEN];
	char port[8];
	bool tls;
	char *payload;
	size_t payload_len;
	int tcp_fd;
	int udp_fd;
};

static struct spec specs[MAX_SPECS];
static size_t nspecs;
static SSL_CTX *ssl_ctx;
static unsigned child_lifetime = 120;
static volatile sig_atomic_t stop_requested;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("lab-faultd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len;

	if (f == NULL)
		return -1;
	buf = malloc(PAYLOAD_MAX);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	len = fread(buf, 1, PAYLOAD_MAX, f);
	fclose(f);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int parse_mode(const char *s, enum mode *ret_mode)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*ret_mode = (enum mode)i;
			return 0;
		}
	}
	return -1;
}

/* Parse MODE,ADDRESS,PORT[,tls][,file=PATH] into *sp. */
static int parse_spec(const char *arg, struct spec *sp)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	int field = 0, rc = -1;

	if (copy == NULL)
		return -1;
	memset(sp, 0, sizeof(*sp));
	sp->tcp_fd = sp->udp_fd = -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save), field++) {
		if (field == 0) {
			if (parse_mode(tok, &sp->mode) < 0)
				goto out;
		} else if (field == 1) {
			if (strlen(tok) >= sizeof(sp->addr))
				goto out;
			strcpy(sp->addr, tok);
		} else if (field == 2) {
			if (strlen(tok) >= sizeof(sp->port))
				goto out;
			strcpy(sp->port, tok);
		} else if (strcmp(tok, "tls") == 0) {
			sp->tls = true;
		} else if (strncmp(tok, "file=", 5) == 0) {
			if (read_file(tok + 5, &sp->payload, &sp->payload_len) < 0) {
				logmsg("cannot read %s: %s", tok + 5, strerror(errno));
				goto out;
			}
		} else {
			goto out;
		}
	}
	if (field >= 3)
		rc = 0;
out:
	free(copy);
	return rc;
}

static int open_listener(const struct spec *sp, int socktype)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	int fd = -1, one = 1, err;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	err = getaddrinfo(sp->addr, sp->port, &hints, &ai);
	if (err != 0) {
		logmsg("%s:%s: %s", sp->addr, sp->port, gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		goto fail;
	if (socktype == SOCK_STREAM && listen(fd, 64) < 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	logmsg("%s:%s: %s", sp->addr, sp->port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

/* Connection I/O, plain or TLS. */
struct conn {
	int fd;
	SSL *ssl;
};

static ssize_t conn_read(struct conn *c, char *buf, size_t len)
{
	if (c->ssl != NULL) {
		int n = SSL_read(c->ssl, buf, (int)len);
		return n > 0 ? n : -1;
	}
	return read(c->fd, buf, len);
}

static int conn_write(struct conn *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n;

		if (c->ssl != NULL) {
			int w = SSL_write(c->ssl, buf, (int)len);
			n = w > 0 ? w : -1;
		} else {
			n = write(c->fd, buf, len);
		}
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read an HTTP request head (up to the empty line), giving up after 5 s. */
static void read_request(struct conn *c)
{
	char buf[REQUEST_MAX];
	size_t used = 0;

	while (used < sizeof(buf) - 1) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if ((c->ssl == NULL || SSL_pending(c->ssl) == 0) &&
		    poll(&pfd, 1, 5000) <= 0)
			return;
		n = conn_read(c, buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			return;
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			return;
	}
}

static size_t head_length(const struct spec *sp)
{
	const char *end;

	if (sp->payload == NULL)
		return 0;
	end = memmem(sp->payload, sp->payload_len, "\r\n\r\n", 4);
	return end == NULL ? 0 : (size_t)(end - sp->payload) + 4;
}

static void hold_forever(struct conn *c)
{
	char buf[512];

	/* Keep reading so the peer never blocks on a full window; never answer. */
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n == 0)
			return;
		if (n < 0 && errno != EINTR)
			return;
	}
}

/* Send body in the chunked transfer coding: chunk sizes cycle, so that a
 * reader meets one-octet chunks and chunks larger than a TLS record. */
static void send_chunked(struct conn *c, const char *body, size_t len)
{
	static const size_t sizes[] = { 4096, 1, 1500, 20000, 255 };
	char line[32];
	size_t n, i = 0;

	while (len > 0) {
		n = sizes[i++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (n > len)
			n = len;
		snprintf(line, sizeof(line), "%zx\r\n", n);
		if (conn_write(c, line, strlen(line)) < 0 || conn_write(c, body, n) < 0 ||
		    conn_write(c, "\r\n", 2) < 0)
			return;
		body += n;
		len -= n;
	}
	conn_write(c, "0\r\n\r\n", 5);
}

static void serve_tcp(const struct spec *sp, int fd)
{
	struct conn c = { .fd = fd, .ssl = NULL };
	size_t head = head_length(sp);

	if (sp->mode == M_SILENT || sp->mode == M_DNS_DROP) {
		hold_forever(&c);
		return;
	}
	if (sp->tls) {
		c.ssl = SSL_new(ssl_ctx);
		if (c.ssl == NULL)
			return;
		SSL_set_fd(c.ssl, fd);
		if (SSL_accept(c.ssl) != 1) {
			logmsg("%s %s:%s: TLS handshake failed", mode_names[sp->mode],
			       sp->addr, sp->port);
			return;
		}
	}
	read_request(&c);
	switch (sp->mode) {
	case M_HANG:
		hold_forever(&c);
		break;
	case M_TRICKLE:
		if (conn_write(&c, sp->payload, head) < 0)
			break;
		for (size_t i = head; i < sp->payload_len; i++) {
			sleep(1);
			if (conn_write(&c, sp->payload + i, 1) < 0)
				break;
		}
		break;
	case M_CHUNKED:
		if (conn_write(&c, sp->payload, head) == 0)
			send_chunked(&c, sp->payload + head, sp->payload_len - head);
		break;
	case M_CLOSE:
		conn_write(&c, sp->payload, sp->payload_len);
		break;
	case M_RESET: {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		size_t half = head + (sp->payload_len - head) / 2;

		conn_write(&c, sp->payload, half);
		usleep(200 * 1000);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		_exit(0);
	}
	default:
		break;
	}
	if (c.ssl != NULL) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
}

/* Turn the DNS query in buf into a SERVFAIL answer; return its length or 0. */
static size_t make_servfail(unsigned char *buf, size_t len)
{
	size_t pos = 12;

	if (len < 12)
		return 0;
	while (pos < len && buf[pos] != 0) {
		if ((buf[pos] & 0xc0) != 0)
			return 0;
		pos += (size_t)buf[pos] + 1;
	}
	pos += 1 + 4; /* root label, QTYPE, QCLASS */
	if (pos > len || buf[4] != 0 || buf[5] != 1)
		return 0;
	buf[2] = (unsigned char)(0x80 | (buf[2] & 0x79)); /* QR, opcode, RD */
	buf[3] = 0x80 | 2;                                /* RA, SERVFAIL */
	memset(buf + 6, 0, 6);
	return pos;
}

static void serve_dns_tcp(int fd)
{
	unsigned char buf[2 + 65535];

	for (;;) {
		size_t need, got = 0, n;
		ssize_t r;

		while (got < 2) {
			r = read(fd, buf + got, 2 - got);
			if (r <= 0)
				return;
			got += (size_t)r;
		}
		need = (size_t)buf[0] << 8 | buf[1];
		got = 0;
		while (got < need) {
			r = read(fd, buf + 2 + got, need - got);
			if (r <= 0)
				return;
			got += (size_t)r;
		}
		n = make_servfail(buf + 2, need);
		if (n == 0)
			return;
		buf[0] = (unsigned char)(n >> 8);
		buf[1] = (unsigned char)n;
		if (write(fd, buf, n + 2) < 0)
			return;
	}
}

static void handle_udp(const struct spec *sp)
{
	unsigned char buf[4096];
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	ssize_t n = recvfrom(sp->udp_fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&peer, &plen);
	size_t out;

	if (n <= 0 || sp->mode == M_DNS_DROP)
		return;
	out = make_servfail(buf, (size_t)n);
	if (out > 0)
		sendto(sp->udp_fd, buf, out, 0, (struct sockaddr *)&peer, plen);
}

static void handle_accept(const struct spec *sp)
{
	int fd = accept4(sp->tcp_fd, NULL, NULL, SOCK_CLOEXEC);
	pid_t pid;

	if (fd < 0)
		return;
	logmsg("%s %s:%s: connection", mode_names[sp->mode], sp->addr, sp->port);
	pid = fork();
	if (pid < 0) {
		close(fd);
		return;
	}
	if (pid > 0) {
		close(fd);
		return;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	alarm(child_lifetime);
	if (sp->mode == M_DNS_SERVFAIL)
		serve_dns_tcp(fd);
	else
		serve_tcp(sp, fd);
	close(fd);
	_exit(0);
}

static int setup_tls(const char *cert, const char *key)
{
	ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (ssl_ctx == NULL)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ssl_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ssl_ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return -1;
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

static void usage(void)
{
	fputs("usage: lab-faultd [-c cert.pem -k key.pem] [-p pidfile] [-t seconds] "
	      "MODE,ADDRESS,PORT[,tls][,file=PATH]...\n"
	      "modes: trickle reset hang silent chunked close dns-drop dns-servfail\n",
	      stderr);
	exit(2);
}

static int open_all(void)
{
	for (size_t i = 0; i < nspecs; i++) {
		struct spec *sp = &specs[i];
		bool dns = sp->mode == M_DNS_DROP || sp->mode == M_DNS_SERVFAIL;

		sp->tcp_fd = open_listener(sp, SOCK_STREAM);
		if (sp->tcp_fd < 0)
			return -1;
		if (dns) {
			sp->udp_fd = open_listener(sp, SOCK_DGRAM);
			if (sp->udp_fd < 0)
				return -1;
		} else if (sp->payload == NULL && sp->mode != M_HANG &&
			   sp->mode != M_SILENT) {
			logmsg("%s needs file=PATH", mode_names[sp->mode]);
			return -1;
		}
		if (sp->tls && ssl_ctx == NULL) {
			logmsg("%s,tls needs -c and -k", mode_names[sp->mode]);
			return -1;
		}
	}
	return 0;
}

static void serve_loop(void)
{
	struct pollfd pfds[2 * MAX_SPECS];
	const struct spec *owner[2 * MAX_SPECS];
	bool is_udp[2 * MAX_SPECS];
	nfds_t n = 0;

	for (size_t i = 0; i < nspecs; i++) {
		pfds[n] = (struct pollfd){ .fd = specs[i].tcp_fd, .events = POLLIN };
		owner[n] = &specs[i];
		is_udp[n++] = false;
		if (specs[i].udp_fd >= 0) {
			pfds[n] = (struct pollfd){ .fd = specs[i].udp_fd, .events = POLLIN };
			owner[n] = &specs[i];
			is_udp[n++] = true;
		}
	}
	while (!stop_requested) {
		int ready = poll(pfds, n, 1000);

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (ready <= 0)
			continue;
		for (nfds_t i = 0; i < n; i++) {
			if ((pfds[i].revents & POLLIN) == 0)
				continue;
			if (is_udp[i])
				handle_udp(owner[i]);
			else
				handle_accept(owner[i]);
		}
	}
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *pidfile = NULL;
	struct sigaction sa = { 0 };
	int opt;

	while ((opt = getopt(argc, argv, "c:k:p:t:h")) != -1) {
		switch (opt) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'p': pidfile = optarg; break;
		case 't': child_lifetime = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind >= argc || argc - optind > MAX_SPECS || (cert == NULL) != (key == NULL))
		usage();
	for (int i = optind; i < argc; i++) {
		if (parse_spec(argv[i], &specs[nspecs++]) < 0) {
			logmsg("bad listener spec '%s'", argv[i]);
			usage();
		}
	}
	if (cert != NULL && setup_tls(cert, key) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (open_all() < 0)
		return 1;
	if (pidfile != NULL && write_pidfile(pidfile) < 0) {
		logmsg("%s: %s", pidfile, strerror(errno));
		return 1;
	}
	logmsg("ready, %zu listener(s)", nspecs);
	serve_loop();
	if (pidfile != NULL)
		unlink(pidfile);
	logmsg("stopped");
	return 0;
}
