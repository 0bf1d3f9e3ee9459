/*
 * cmd_query.c - mtasts query: ask a running policy server what it answers
 * for a domain, as Postfix would (postmap -q DOMAIN socketmap:...).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mtasts/socketmap.h>

#include "cli.h"

#define QUERY_DEFAULT_SERVER "127.0.0.1:8461"
#define QUERY_DEFAULT_MAP "postfix"
#define QUERY_TIMEOUT_MS 30000

static const char query_usage[] =
	"usage: mtasts query [--server ADDR] [--map NAME] DOMAIN...\n"
	"\n"
	"Ask a running 'mtasts policyd' (or any socketmap server) for the TLS\n"
	"policy of each DOMAIN, as Postfix asks it, and print each reply on a\n"
	"line: OK ..., NOTFOUND, TEMP ... .\n"
	"\n"
	"Options:\n"
	"  -s, --server ADDR    HOST:PORT, [IPV6]:PORT or unix:PATH\n"
	"                       (default " QUERY_DEFAULT_SERVER ")\n"
	"  -m, --map NAME       the map name, which selects the zone (default "
	QUERY_DEFAULT_MAP ")\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 every reply was OK, 1 some was NOTFOUND, 3 some was TEMP\n"
	"or TIMEOUT, 2 some was PERM or malformed, 64 usage error, 71 no\n"
	"connection to the server.\n";

static const struct option query_options[] = {
	{ "server", required_argument, NULL, 's' },
	{ "map", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int connect_server(const char *server)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char host[256];
	const char *colon;
	size_t len;
	int fd = -1;

	if (strncmp(server, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(server + 5) >= sizeof(sun.sun_path)) {
			fprintf(stderr, "mtasts query: %s: path too long\n", server);
			return -1;
		}
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", server + 5);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			fprintf(stderr, "mtasts query: cannot connect to %s: %s\n", server,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return fd;
	}
	if ((colon = strrchr(server, ':')) == NULL || colon[1] == '\0') {
		fprintf(stderr, "mtasts query: --server %s: give HOST:PORT or unix:PATH\n", server);
		return -2;
	}
	len = (size_t)(colon - server);
	if (server[0] == '[' && len >= 2 && server[len - 1] == ']') {
		server++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host)) {
		fprintf(stderr, "mtasts query: --server: no host\n");
		return -2;
	}
	memcpy(host, server, len);
	host[len] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
		fprintf(stderr, "mtasts query: --server: cannot resolve %s\n", host);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr, "mtasts query: cannot connect to %s port %s: %s\n", host,
			colon + 1, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static bool send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* One reply, within the time limit; false with a message on failure. */
static bool read_reply(int fd, struct mtasts_netstring_reader *reader,
		       struct mtasts_bytes *reply)
{
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		size_t used;
		ssize_t n;
		int rc;

		if (poll(&pfd, 1, QUERY_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "mtasts query: no reply within %d s\n",
				QUERY_TIMEOUT_MS / 1000);
			return false;
		}
		/* One octet at a time past the reply would be wasted: peek. */
		n = recv(fd, buf, sizeof(buf), MSG_PEEK);
		if (n <= 0) {
			fprintf(stderr, "mtasts query: the server closed the connection\n");
			return false;
		}
		rc = mtasts_netstring_read(reader, buf, (size_t)n, &used, reply);
		if (rc < 0) {
			fprintf(stderr, "mtasts query: malformed reply: %s\n",
				mtasts_netstring_status_message(rc));
			return false;
		}
		if (recv(fd, buf, used, 0) != (ssize_t)used)
			return false;
		if (rc == MTASTS_NETSTRING_DONE)
			return true;
	}
}

static int run_query(int argc, char **argv)
{
	const char *server = QUERY_DEFAULT_SERVER, *map = QUERY_DEFAULT_MAP;
	static char reply_buf[MTASTS_SOCKETMAP_REPLY_MAX + 1];
	int c, fd, worst = EXIT_VALID;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:m:h", query_options, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'm': map = optarg; break;
		case 'h': fputs(query_usage, stdout); return EXIT_VALID;
		default:
			print_option_error(&cmd_query, query_options, argv[optind - 1], optopt,
					   c == ':');
			return EXIT_USAGE_ERROR;
		}
	}
	if (optind == argc) {
		print_usage_error(&cmd_query, "give at least one DOMAIN");
		return EXIT_USAGE_ERROR;
	}
	if (map[0] == '\0' || strpbrk(map, " :\t\r\n") != NULL ||
	    strlen(map) > MTASTS_SOCKETMAP_NAME_MAX) {
		print_usage_error(&cmd_query, "--map: a name without spaces or ':'");
		return EXIT_USAGE_ERROR;
	}
	if ((fd = connect_server(server)) < 0)
		return fd == -2 ? EXIT_USAGE_ERROR : EXIT_LOCAL_ERROR;
	for (int i = optind; i < argc; i++) {
		static char request[MTASTS_SOCKETMAP_REQUEST_MAX + MTASTS_NETSTRING_OVERHEAD + 2];
		char payload[MTASTS_SOCKETMAP_REQUEST_MAX + 2];
		struct mtasts_netstring_reader reader;
		struct mtasts_bytes reply;
		size_t len;
		int status;

		if (strlen(argv[i]) > MTASTS_SOCKETMAP_QUERY_MAX || argv[i][0] == '\0') {
			print_usage_error(&cmd_query, "'%s': a key is 1 to %d octets", argv[i],
					  MTASTS_SOCKETMAP_QUERY_MAX);
			close(fd);
			return EXIT_USAGE_ERROR;
		}
		len = (size_t)snprintf(payload, sizeof(payload), "%s %s", map, argv[i]);
		if (mtasts_netstring_write(payload, len, request, sizeof(request), &len) != 0 ||
		    !send_all(fd, request, len)) {
			fprintf(stderr, "mtasts query: cannot send to %s\n", server);
			close(fd);
			return EXIT_LOCAL_ERROR;
		}
		mtasts_netstring_reader_init(&reader, reply_buf, sizeof(reply_buf));
		if (!read_reply(fd, &reader, &reply)) {
			close(fd);
			return EXIT_LOCAL_ERROR;
		}
		/* The reply is the server's bytes: shown escaped. */
		if (argc - optind > 1) {
			print_text(stdout, argv[i]);
			fputs("\t", stdout);
		}
		print_text(stdout, reply.data);
		fputs("\n", stdout);
		if (strncmp(reply.data, "OK ", 3) == 0)
			status = EXIT_VALID;
		else if (strncmp(reply.data, "NOTFOUND ", 9) == 0)
			status = 1;
		else if (strncmp(reply.data, "TEMP ", 5) == 0 ||
			 strncmp(reply.data, "TIMEOUT ", 8) == 0)
			status = 3;
		else
			status = 2;
		if (status == 2 || (status == 3 && worst != 2) || (status == 1 && worst == 0))
			worst = status;
	}
	close(fd);
	return worst;
}

const struct command cmd_query = {
	.name = "query",
	.run = run_query,
	.summary = "ask a running policy server, as Postfix does",
	.usage = query_usage,
};
