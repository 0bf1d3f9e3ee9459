/*
 * socketmap_load.c - load generator for Postfix socketmap servers: many
 * connections, pipelining, a fixed offered rate, latency percentiles.
 *
 * SYNOPSIS
 *	socketmap-load --connect tcp:HOST:PORT|unix:PATH
 *	    [--connections N] [--pipeline DEPTH] [--rate R]
 *	    [--duration S] [--warmup S] [--requests N] [--drain S]
 *	    [--keys FILE | --key K ...] [--map NAME] [--json]
 *
 * DESCRIPTION
 *	Opens N connections (1 to 2000, default 1) to a socketmap server and
 *	sends requests "NAME KEY" as netstrings, as Postfix does
 *	(src/util/dict_sockmap.c), taking the keys round-robin from FILE (one
 *	a line, at most 100,000 of them) or from the --key options, and NAME
 *	from --map (default "postfix").
 *
 *	Closed loop (--rate 0, the default): each connection keeps DEPTH
 *	requests in flight (1 to 64, default 1: one at a time, as Postfix
 *	does) and sends the next as soon as a reply comes.  Latency is taken
 *	from the moment a request is written.
 *
 *	Open loop (--rate R): request i of the run is due at start + i / R
 *	seconds, on connection i mod N, whatever the server is doing.  A
 *	connection that has DEPTH requests in flight sends its due requests
 *	when replies free room, and their latency is taken from the time
 *	they were due, not from when they could be sent: a stalled server
 *	is charged for every request it held back (no coordinated omission,
 *	as in Gil Tene's wrk2).  The wait for the next due request uses
 *	epoll_pwait2() with a 1 ns timer slack, so requests are not batched
 *	on a millisecond tick.
 *
 *	Timing: the connections are made first; then --warmup seconds
 *	(default 1) whose replies are not counted, then --duration seconds
 *	(default 10) that are.  A request counts when it was started (sent,
 *	or due) inside the measured window and its reply came; requests still
 *	unanswered --drain seconds (default 5) after the window are counted
 *	as unanswered.  Throughput is the counted replies divided by the
 *	time from the start of the window to the end of the window or the
 *	last counted reply, whichever is later.  With --requests N the run sends N requests in all (no
 *	warm-up unless asked for) and ends when they are answered; --duration
 *	is then a time limit, and throughput is N over the time taken, which
 *	is what a cold-cache run over N distinct keys needs.
 *
 *	Latencies go into a log-linear histogram (64 sub-buckets per power of
 *	two: values are exact below 128 ns and within 1.6 % above); the
 *	maximum is kept exactly.
 *
 *	Every reply must be a well-formed netstring (digits without a leading
 *	zero, at most 100,000 octets as Postfix accepts, ":" and ","); a
 *	malformed one is counted and its connection closed.  Replies are
 *	counted by kind: "OK ", "NOTFOUND ", "TEMP ", and anything else.
 *
 * OUTPUT
 *	A summary in words, or with --json one line:
 *	{"connect":..., "connections":N, "pipeline":D, "rate":R,
 *	 "duration":S, "elapsed":S, "completed":N, "throughput":R,
 *	 "p50_us":..., "p90_us":..., "p99_us":..., "p999_us":..., "max_us":...,
 *	 "ok":N, "notfound":N, "temp":N, "other":N, "errors":N,
 *	 "malformed":N, "unanswered":N}
 *
 * DIAGNOSTICS
 *	Exit 0 when every counted request had a well-formed reply; 1 when
 *	there were errors, malformed replies or unanswered requests (the
 *	summary is printed anyway), or the connections could not be made;
 *	2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECTIONS_MAX 2000
#define PIPELINE_MAX 64
#define KEYS_MAX 100000
#define KEY_MAX 10000		/* Postfix's socketmap_max_query_size */
#define MAP_MAX 255
#define REPLY_MAX 100000	/* Postfix's socketmap_max_reply_size */
#define REQUEST_MAX (MAP_MAX + 1 + KEY_MAX + 22)
#define READ_CHUNK 65536
#define CONNECT_TIMEOUT_NS (10 * NS_PER_S)
#define NS_PER_S 1000000000LL

/* Log-linear histogram: exact below 128, then 64 sub-buckets per octave. */
#define HIST_SUB_BITS 6
#define HIST_MAX_BITS 42	/* 2^42 ns: 73 minutes */
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 2) << HIST_SUB_BITS)

enum reply_kind { REPLY_OK, REPLY_NOTFOUND, REPLY_TEMP, REPLY_OTHER, REPLY_KINDS };

enum reader_state { READ_LENGTH, READ_DATA, READ_COMMA };

/* Checks one reply netstring after another without keeping them. */
struct reply_reader {
	enum reader_state state;
	size_t len;		/* declared length */
	size_t got;		/* data octets seen */
	unsigned digits;
	char head[10];		/* the first octets, for the reply's kind */
};

struct conn {
	int fd;
	int index;
	bool open;
	bool want_write;
	uint64_t due;		/* requests due so far (open loop) */
	uint64_t sent;
	uint64_t answered;
	int64_t started[PIPELINE_MAX];	/* ring, by request number */
	char *out;
	size_t out_len, out_off;
	struct reply_reader reader;
};

struct histogram {
	uint64_t count[HIST_BUCKETS];
	int64_t max;
};

struct options {
	const char *connect;
	int connections;
	int pipeline;
	double rate;
	double duration;
	double warmup;
	double drain;
	long long requests;	/* 0: no limit */
	const char *map;
	bool json;
};

struct run {
	struct options opt;
	char **requests;	/* one netstring per key */
	size_t *request_len;
	size_t keys;
	size_t next_key;
	uint64_t total_sent;
	uint64_t next_due;	/* open loop: the next request to make due */
	struct conn *conns;
	int open_conns;
	int epfd;
	int64_t t0, window_start, window_end, drain_end;
	bool sending;		/* false once no request is to be started */
	struct histogram hist;
	uint64_t kinds[REPLY_KINDS];
	uint64_t completed;	/* replies counted */
	uint64_t answered_all;	/* every reply, counted or not */
	uint64_t errors;
	uint64_t malformed;
	uint64_t unanswered;
	int64_t last_reply;
	int64_t last_counted;	/* the last reply counted */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static size_t hist_index(int64_t value)
{
	uint64_t v = value < 0 ? 0 : (uint64_t)value;
	int magnitude;

	if (v < (1u << (HIST_SUB_BITS + 1)))
		return (size_t)v;
	magnitude = 63 - __builtin_clzll(v);
	if (magnitude > HIST_MAX_BITS)
		return HIST_BUCKETS - 1;
	return ((size_t)(magnitude - HIST_SUB_BITS + 1) << HIST_SUB_BITS)
	    + (size_t)((v >> (magnitude - HIST_SUB_BITS)) - (1u << HIST_SUB_BITS));
}

/* The highest value that falls into bucket index. */
static int64_t hist_value(size_t index)
{
	size_t octave, sub;
	int shift;

	if (index < (1u << (HIST_SUB_BITS + 1)))
		return (int64_t)index;
	octave = index >> HIST_SUB_BITS;
	sub = (index & ((1u << HIST_SUB_BITS) - 1)) + (1u << HIST_SUB_BITS);
	shift = (int)octave - 1;
	return (int64_t)(((uint64_t)sub << shift) + ((uint64_t)1 << shift) - 1);
}

static void hist_record(struct histogram *h, int64_t value)
{
	h->count[hist_index(value)]++;
	if (value > h->max)
		h->max = value;
}

/* The value at or below which a fraction q of the recorded values lie. */
static int64_t hist_quantile(const struct histogram *h, uint64_t total, double q)
{
	uint64_t want, seen = 0;
	int64_t v;

	if (total == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)total);
	if (want == 0)
		want = 1;
	for (size_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want) {
			v = hist_value(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

static enum reply_kind reply_kind_of(const char *head, size_t len)
{
	if (len >= 3 && memcmp(head, "OK ", 3) == 0)
		return REPLY_OK;
	if (len >= 9 && memcmp(head, "NOTFOUND ", 9) == 0)
		return REPLY_NOTFOUND;
	if (len >= 5 && memcmp(head, "TEMP ", 5) == 0)
		return REPLY_TEMP;
	return REPLY_OTHER;
}

/*
 * Feeds n octets; calls done for each whole reply.  Returns the number of
 * replies, or -1 at the first octet that breaks the netstring syntax.
 */
static int reply_read(struct reply_reader *r, const char *data, size_t n,
	   void (*done)(void *, enum reply_kind), void *arg)
{
	int replies = 0;

	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		switch (r->state) {
		case READ_LENGTH:
			if (c == ':' && r->digits > 0) {
				r->state = r->len > 0 ? READ_DATA : READ_COMMA;
				r->got = 0;
				break;
			}
			if (c < '0' || c > '9' || (r->digits == 1 && r->len == 0))
				return -1;	/* not a digit, or a leading zero */
			r->len = r->len * 10 + (size_t)(c - '0');
			if (++r->digits > 6 || r->len > REPLY_MAX)
				return -1;
			break;
		case READ_DATA: {
			size_t take = r->len - r->got;

			if (take > n - i)
				take = n - i;
			if (r->got < sizeof(r->head)) {
				size_t keep = sizeof(r->head) - r->got;

				memcpy(r->head + r->got, data + i,
				       keep < take ? keep : take);
			}
			r->got += take;
			i += take - 1;
			if (r->got == r->len)
				r->state = READ_COMMA;
			break;
		}
		case READ_COMMA:
			if (c != ',')
				return -1;
			done(arg, reply_kind_of(r->head, r->len < sizeof(r->head)
						? r->len : sizeof(r->head)));
			replies++;
			memset(r, 0, sizeof(*r));
			break;
		}
	}
	return replies;
}

static _Noreturn void usage(void)
{
	fprintf(stderr,
	    "usage: socketmap-load --connect tcp:HOST:PORT|unix:PATH [--connections N]\n"
	    "           [--pipeline DEPTH] [--rate R] [--duration S] [--warmup S]\n"
	    "           [--requests N] [--drain S] [--keys FILE | --key K ...]\n"
	    "           [--map NAME] [--json]\n");
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "socketmap-load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double number_arg(const char *name, const char *text, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "socketmap-load: %s '%s': want a number from %g to %g\n",
			name, text, min, max);
		exit(2);
	}
	return v;
}

static void add_key(struct run *run, const char *key, size_t len)
{
	size_t payload = strlen(run->opt.map) + 1 + len;
	char *req;
	int n;

	if (len == 0 || len > KEY_MAX || memchr(key, '\0', len) != NULL) {
		fprintf(stderr, "socketmap-load: key %zu: empty, over %d octets or with a NUL\n",
			run->keys + 1, KEY_MAX);
		exit(2);
	}
	if (run->keys == KEYS_MAX) {
		fprintf(stderr, "socketmap-load: more than %d keys\n", KEYS_MAX);
		exit(2);
	}
	if ((run->keys & (run->keys - 1)) == 0) {
		size_t cap = run->keys ? run->keys * 2 : 1;

		run->requests = realloc(run->requests, cap * sizeof(*run->requests));
		run->request_len = realloc(run->request_len, cap * sizeof(*run->request_len));
		if (run->requests == NULL || run->request_len == NULL)
			die("realloc");
	}
	req = malloc(payload + 24);
	if (req == NULL)
		die("malloc");
	n = snprintf(req, payload + 24, "%zu:%s %.*s,", payload, run->opt.map,
		     (int)len, key);
	run->requests[run->keys] = req;
	run->request_len[run->keys] = (size_t)n;
	run->keys++;
}

static void read_keys(struct run *run, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		die(path);
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n > 0)
			add_key(run, line, (size_t)n);
	}
	free(line);
	fclose(f);
	if (run->keys == 0) {
		fprintf(stderr, "socketmap-load: %s: no keys\n", path);
		exit(2);
	}
}

static socklen_t parse_target(const char *target, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strncmp(target, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;

		if (strlen(target + 5) == 0 || strlen(target + 5) >= sizeof(sun->sun_path))
			goto bad;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, target + 5);
		return sizeof(*sun);
	}
	if (strncmp(target, "tcp:", 4) == 0) {
		const char *colon = strrchr(target + 4, ':');
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
					  .ai_flags = AI_NUMERICSERV };
		struct addrinfo *ai;
		char host[256];
		size_t hlen;
		socklen_t len;

		if (colon == NULL || (hlen = (size_t)(colon - target - 4)) == 0
		    || hlen >= sizeof(host))
			goto bad;
		memcpy(host, target + 4, hlen);
		host[hlen] = '\0';
		if (host[0] == '[' && host[hlen - 1] == ']') {
			memmove(host, host + 1, hlen - 2);
			host[hlen - 2] = '\0';
		}
		if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
			goto bad;
		memcpy(ss, ai->ai_addr, ai->ai_addrlen);
		len = ai->ai_addrlen;
		freeaddrinfo(ai);
		return len;
	}
bad:
	fprintf(stderr, "socketmap-load: --connect '%s': want tcp:HOST:PORT or unix:PATH\n",
		target);
	exit(2);
}

static void conn_close(struct run *run, struct conn *c)
{
	if (!c->open)
		return;
	epoll_ctl(run->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->open = false;
	run->open_conns--;
}

static void conn_want_write(struct run *run, struct conn *c, bool want)
{
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0u),
				  .data.ptr = c };

	if (c->want_write == want)
		return;
	c->want_write = want;
	if (epoll_ctl(run->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		die("epoll_ctl");
}

static void conn_flush(struct run *run, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (errno == EAGAIN) {
					conn_want_write(run, c, true);
					return;
				}
				continue;
			}
			run->errors++;
			conn_close(run, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	conn_want_write(run, c, false);
}

/* The time request k of connection c is due at, in the open loop. */
static int64_t due_time(const struct run *run, const struct conn *c, uint64_t k)
{
	double i = (double)k * run->opt.connections + c->index;

	return run->t0 + (int64_t)(i * 1e9 / run->opt.rate);
}

/* Sends what this connection may send now: its due requests, as room allows. */
static void conn_send(struct run *run, struct conn *c)
{
	bool open_loop = run->opt.rate > 0;
	int64_t now = 0;

	if (!c->open)
		return;
	while (c->sent - c->answered < (uint64_t)run->opt.pipeline) {
		size_t k;

		if (open_loop) {
			if (c->sent >= c->due)
				break;
		} else if (!run->sending) {
			break;
		}
		if (run->opt.requests > 0
		    && run->total_sent >= (uint64_t)run->opt.requests)
			break;
		if (c->out_len + REQUEST_MAX > (size_t)run->opt.pipeline * REQUEST_MAX)
			break;
		k = run->next_key++ % run->keys;
		memcpy(c->out + c->out_len, run->requests[k], run->request_len[k]);
		c->out_len += run->request_len[k];
		if (open_loop) {
			c->started[c->sent % PIPELINE_MAX] = due_time(run, c, c->sent);
		} else {
			if (now == 0)
				now = now_ns();
			c->started[c->sent % PIPELINE_MAX] = now;
		}
		c->sent++;
		run->total_sent++;
	}
	if (c->out_len > c->out_off && !c->want_write)
		conn_flush(run, c);
}

struct reply_context {
	struct run *run;
	struct conn *conn;
	int64_t now;
};

static void reply_done(void *arg, enum reply_kind kind)
{
	struct reply_context *ctx = arg;
	struct run *run = ctx->run;
	struct conn *c = ctx->conn;
	int64_t started;

	if (c->answered == c->sent) {
		run->malformed++;	/* a reply nobody asked for */
		return;
	}
	started = c->started[c->answered % PIPELINE_MAX];
	c->answered++;
	run->answered_all++;
	run->last_reply = ctx->now;
	if (started < run->window_start || started >= run->window_end)
		return;
	run->completed++;
	run->last_counted = ctx->now;
	run->kinds[kind]++;
	hist_record(&run->hist, ctx->now - started);
}

static void conn_read(struct run *run, struct conn *c)
{
	static char buf[READ_CHUNK];
	struct reply_context ctx = { run, c, 0 };
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		run->errors++;
		conn_close(run, c);
		return;
	}
	if (n == 0) {
		if (c->sent > c->answered || run->sending)
			run->errors++;	/* closed under us */
		conn_close(run, c);
		return;
	}
	ctx.now = now_ns();
	if (reply_read(&c->reader, buf, (size_t)n, reply_done, &ctx) < 0) {
		run->malformed++;
		conn_close(run, c);
		return;
	}
	conn_send(run, c);
}

static void connect_all(struct run *run)
{
	struct sockaddr_storage ss;
	socklen_t sslen = parse_target(run->opt.connect, &ss);
	int pending = 0;
	int64_t deadline;

	for (int i = 0; i < run->opt.connections; i++) {
		struct conn *c = &run->conns[i];
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
		int one = 1;

		c->index = i;
		c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			die("socket");
		if (ss.ss_family != AF_UNIX)
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(c->fd, (struct sockaddr *)&ss, sslen) != 0
		    && errno != EINPROGRESS && errno != EAGAIN)
			die(run->opt.connect);
		c->out = malloc((size_t)run->opt.pipeline * REQUEST_MAX);
		if (c->out == NULL)
			die("malloc");
		if (epoll_ctl(run->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
			die("epoll_ctl");
		c->want_write = true;
		pending++;
	}
	deadline = now_ns() + CONNECT_TIMEOUT_NS;
	while (pending > 0) {
		struct epoll_event evs[256];
		int n = epoll_wait(run->epfd, evs, 256, 100);

		if (now_ns() > deadline) {
			fprintf(stderr, "socketmap-load: %d of %d connections not made in 10 s\n",
				pending, run->opt.connections);
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int err = 0;
			socklen_t len = sizeof(err);

			if (c->open)
				continue;
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err != 0) {
				errno = err;
				die(run->opt.connect);
			}
			c->open = true;
			run->open_conns++;
			pending--;
			conn_want_write(run, c, false);
		}
	}
}

/* Open loop: makes due every request whose time has come. */
static int64_t schedule_due(struct run *run, int64_t now)
{
	for (;;) {
		double at = (double)run->next_due * 1e9 / run->opt.rate;
		int64_t t = run->t0 + (int64_t)at;
		struct conn *c;

		if (t >= run->window_end
		    || (run->opt.requests > 0
			&& run->next_due >= (uint64_t)run->opt.requests)) {
			run->sending = false;
			return -1;
		}
		if (t > now)
			return t;
		c = &run->conns[run->next_due % (uint64_t)run->opt.connections];
		c->due++;
		run->next_due++;
		conn_send(run, c);
	}
}

static bool all_answered(const struct run *run)
{
	for (int i = 0; i < run->opt.connections; i++) {
		const struct conn *c = &run->conns[i];

		if (c->open && (c->answered < c->sent || c->sent < c->due))
			return false;
	}
	return true;
}

static void run_loop(struct run *run)
{
	bool open_loop = run->opt.rate > 0;
	struct epoll_event evs[512];

	run->sending = true;
	run->t0 = now_ns();
	run->window_start = run->t0 + (int64_t)(run->opt.warmup * 1e9);
	run->window_end = run->window_start + (int64_t)(run->opt.duration * 1e9);
	if (!open_loop)
		for (int i = 0; i < run->opt.connections; i++)
			conn_send(run, &run->conns[i]);
	for (;;) {
		int64_t now = now_ns(), wake;
		struct timespec ts;
		int n;

		/* The open loop stops when its schedule ends (schedule_due()):
		 * a client that fell behind still makes due what was due in
		 * the window. */
		if (run->sending && !open_loop
		    && (now >= run->window_end
			|| (run->opt.requests > 0
			    && run->total_sent >= (uint64_t)run->opt.requests)))
			run->sending = false;
		wake = run->sending ? run->window_end : 0;
		if (open_loop && run->sending) {
			int64_t next = schedule_due(run, now);

			if (next > 0)
				wake = next;
		}
		if (!run->sending) {
			if (run->drain_end == 0)
				run->drain_end = now + (int64_t)(run->opt.drain * 1e9);
			if (all_answered(run) || now >= run->drain_end
			    || run->open_conns == 0)
				break;
			wake = run->drain_end;
		}
		if (run->open_conns == 0)
			break;
		wake -= now;
		if (wake < 0)
			wake = 0;
		ts.tv_sec = wake / NS_PER_S;
		ts.tv_nsec = wake % NS_PER_S;
		n = epoll_pwait2(run->epfd, evs, 512, &ts, NULL);
		if (n < 0 && errno != EINTR)
			die("epoll_pwait2");
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c->open)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(run, c);
			if (c->open && (evs[i].events & EPOLLOUT))
				conn_flush(run, c);
		}
	}
	for (int i = 0; i < run->opt.connections; i++) {
		struct conn *c = &run->conns[i];

		/* Unanswered: started in the window, and in the open loop
		 * also due there but never sent. */
		uint64_t upto = c->due > c->sent ? c->due : c->sent;

		for (uint64_t k = c->answered; k < upto; k++) {
			int64_t started = k < c->sent ? c->started[k % PIPELINE_MAX]
			    : due_time(run, c, k);

			if (started >= run->window_start && started < run->window_end)
				run->unanswered++;
		}
		conn_close(run, c);
	}
}

static void report(const struct run *run)
{
	const struct options *o = &run->opt;
	double window = o->duration;
	double elapsed = run->last_reply == 0 ? 0
	    : (double)(run->last_reply - run->window_start) / 1e9;
	double throughput;
	const double q[] = { 0.50, 0.90, 0.99, 0.999 };
	double us[4], max_us = (double)run->hist.max / 1e3;

	/* Replies that came after the window (the drain) stretch it: a server
	 * that fell behind is not credited with the offered rate. */
	if (o->requests > 0)
		window = elapsed > 0 ? elapsed : 1e-9;
	else if (run->last_counted > run->window_end)
		window = (double)(run->last_counted - run->window_start) / 1e9;
	throughput = (double)run->completed / window;
	for (int i = 0; i < 4; i++)
		us[i] = (double)hist_quantile(&run->hist, run->completed, q[i]) / 1e3;
	if (o->json) {
		printf("{\"connect\":\"%s\",\"connections\":%d,\"pipeline\":%d,"
		       "\"rate\":%.0f,\"duration\":%.3f,\"elapsed\":%.3f,"
		       "\"completed\":%" PRIu64 ",\"throughput\":%.1f,"
		       "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
		       "\"p999_us\":%.1f,\"max_us\":%.1f,\"ok\":%" PRIu64
		       ",\"notfound\":%" PRIu64 ",\"temp\":%" PRIu64
		       ",\"other\":%" PRIu64 ",\"errors\":%" PRIu64
		       ",\"malformed\":%" PRIu64 ",\"unanswered\":%" PRIu64 "}\n",
		       o->connect, o->connections, o->pipeline, o->rate, window,
		       elapsed, run->completed, throughput, us[0], us[1], us[2],
		       us[3], max_us, run->kinds[REPLY_OK], run->kinds[REPLY_NOTFOUND],
		       run->kinds[REPLY_TEMP], run->kinds[REPLY_OTHER], run->errors,
		       run->malformed, run->unanswered);
		return;
	}
	printf("target      %s, map %s, %zu key%s\n", o->connect, o->map, run->keys,
	       run->keys == 1 ? "" : "s");
	printf("load        %d connection%s, pipeline %d, ", o->connections,
	       o->connections == 1 ? "" : "s", o->pipeline);
	if (o->rate > 0)
		printf("open loop at %.0f requests/s offered\n", o->rate);
	else
		printf("closed loop (as fast as replies come)\n");
	if (o->requests > 0)
		printf("window      %lld requests, answered in %.3f s\n", o->requests, window);
	else
		printf("window      %.3f s after %.3f s of warm-up\n", window, o->warmup);
	printf("requests    %" PRIu64 " completed, %" PRIu64 " unanswered, %" PRIu64
	       " errors, %" PRIu64 " malformed\n", run->completed, run->unanswered,
	       run->errors, run->malformed);
	printf("throughput  %.1f requests/s\n", throughput);
	printf("latency     p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
	       us[0], us[1], us[2], us[3], max_us);
	printf("replies     OK %" PRIu64 ", NOTFOUND %" PRIu64 ", TEMP %" PRIu64
	       ", other %" PRIu64 "\n", run->kinds[REPLY_OK],
	       run->kinds[REPLY_NOTFOUND], run->kinds[REPLY_TEMP],
	       run->kinds[REPLY_OTHER]);
}

static void raise_fd_limit(int connections)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < (rlim_t)connections + 64) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < (rlim_t)connections + 64) {
			fprintf(stderr, "socketmap-load: %d connections need more open files "
				"than the limit allows\n", connections);
			exit(1);
		}
	}
}

static void parse_options(struct run *run, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "connections", required_argument, NULL, 'n' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "requests", required_argument, NULL, 'N' },
		{ "drain", required_argument, NULL, 'D' },
		{ "keys", required_argument, NULL, 'k' },
		{ "key", required_argument, NULL, 'K' },
		{ "map", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keys_file = NULL;
	const char **key_args = calloc((size_t)argc, sizeof(*key_args));
	int nkey_args = 0, ch;
	bool warmup_set = false;

	if (key_args == NULL)
		die("calloc");
	run->opt = (struct options){ .connections = 1, .pipeline = 1, .duration = 10,
				     .warmup = 1, .drain = 5, .map = "postfix" };
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': run->opt.connect = optarg; break;
		case 'n': run->opt.connections = (int)number_arg("--connections", optarg, 1, CONNECTIONS_MAX); break;
		case 'p': run->opt.pipeline = (int)number_arg("--pipeline", optarg, 1, PIPELINE_MAX); break;
		case 'r': run->opt.rate = number_arg("--rate", optarg, 0, 1e8); break;
		case 'd': run->opt.duration = number_arg("--duration", optarg, 0.001, 86400); break;
		case 'w': run->opt.warmup = number_arg("--warmup", optarg, 0, 86400); warmup_set = true; break;
		case 'N': run->opt.requests = (long long)number_arg("--requests", optarg, 1, 1e12); break;
		case 'D': run->opt.drain = number_arg("--drain", optarg, 0, 3600); break;
		case 'k': keys_file = optarg; break;
		case 'K': key_args[nkey_args++] = optarg; break;
		case 'm': run->opt.map = optarg; break;
		case 'j': run->opt.json = true; break;
		default: usage();
		}
	}
	if (optind != argc || run->opt.connect == NULL || (keys_file == NULL) == (nkey_args == 0))
		usage();
	if (strlen(run->opt.map) == 0 || strlen(run->opt.map) > MAP_MAX
	    || strpbrk(run->opt.map, " :,") != NULL) {
		fprintf(stderr, "socketmap-load: --map '%s': 1 to %d octets, no space, ':' or ','\n",
			run->opt.map, MAP_MAX);
		exit(2);
	}
	if (run->opt.requests > 0 && !warmup_set)
		run->opt.warmup = 0;
	if (keys_file != NULL)
		read_keys(run, keys_file);
	for (int i = 0; i < nkey_args; i++)
		add_key(run, key_args[i], strlen(key_args[i]));
	free(key_args);
}

int main(int argc, char **argv)
{
	static struct run run;

	parse_options(&run, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	raise_fd_limit(run.opt.connections);
	run.conns = calloc((size_t)run.opt.connections, sizeof(*run.conns));
	run.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (run.conns == NULL || run.epfd < 0)
		die("setup");
	connect_all(&run);
	run_loop(&run);
	report(&run);
	for (int i = 0; i < run.opt.connections; i++)
		free(run.conns[i].out);
	for (size_t i = 0; i < run.keys; i++)
		free(run.requests[i]);
	free(run.requests);
	free(run.request_len);
	free(run.conns);
	close(run.epfd);
	return run.errors || run.malformed || run.unanswered ? 1 : 0;
}
