/*
 * resolver_cares.c - the resolver adapter on c-ares, its sockets and
 * timeouts watched by libevent.  Every query (A and AAAA for a name's
 * addresses, TXT, MX, TLSA) is sent as built here and its answer decoded
 * by mtasts_dns_message_parse(), so every caller reads records the same
 * way.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ares.h>

#include "resolver.h"
#include "resources.h"
#include "util.h"

/* One libevent event per socket c-ares asks us to watch. */
struct watched_socket {
	ares_socket_t fd;
	struct event *event;
	struct watched_socket *next;
};

/* A lookup asked for; it waits in a queue while too many are in flight. */
struct lookup {
	struct resolver *resolver;
	struct lookup *next;
	char *name;
	uint16_t type;
	resolver_query_fn *query_fn;
	void *arg;
	unsigned rounds_left;		/* tries over the servers, this one included */
	bool health;			/* the resolver's own health query */
	int parked_status;		/* ARES_* it failed with, while parked */
};

/*
 * At most this many lookups go to the resolver at once: a burst of
 * thousands makes a real resolver drop queries, and each drop costs a
 * whole timeout.
 */
#define LOOKUPS_IN_FLIGHT 128
#define HEALTH_VALID_MS 30000

struct resolver {
	struct event_base *base;
	ares_channel channel;
	struct event *timer;
	struct watched_socket *sockets;
	size_t in_flight;
	struct lookup *queue, *queue_tail;
	unsigned rounds;		/* config->tries */
	/*
	 * Whether the resolver answers at all, asked with a query for the
	 * root zone once a lookup times out: lookups that fail meanwhile wait
	 * for the answer (parked), so that a silent resolver is said as such,
	 * not blamed on each domain.  Known for HEALTH_VALID_MS.
	 */
	enum { HEALTH_UNKNOWN, HEALTH_ASKING, HEALTH_ALIVE, HEALTH_SILENT } health;
	long long health_at;		/* monotonic ms of the answer */
	struct lookup *parked;
	bool closing;
	bool pumping;		/* lookup_done is sending queued lookups */
};

static void dispatch(struct lookup *q);
static void cancel(struct lookup *q);
static void unpark_all(struct resolver *r);

static void schedule_timeout(struct resolver *r)
{
	struct timeval tv, *tvp;

	tvp = ares_timeout(r->channel, NULL, &tv);
	if (tvp == NULL)
		evtimer_del(r->timer);
	else
		evtimer_add(r->timer, tvp);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	ares_process_fd(r->channel,
			(what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	schedule_timeout(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	schedule_timeout(r);
}

static void on_socket_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct watched_socket **pp, *s;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	for (pp = &r->sockets; *pp != NULL && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (s != NULL) {
		if (s->event != NULL)
			event_free(s->event);
		s->event = NULL;
		if (what == 0) {
			*pp = s->next;
			free(s);
			return;
		}
	} else {
		if (what == 0 || (s = calloc(1, sizeof(*s))) == NULL)
			return;
		s->fd = fd;
		s->next = r->sockets;
		r->sockets = s;
	}
	s->event = event_new(r->base, fd, what | EV_PERSIST, on_socket_event, r);
	if (s->event != NULL)
		event_add(s->event, NULL);
}

static int configure_servers(ares_channel channel, const struct resolver_config *c)
{
	size_t len = 1;
	char *csv;
	int rc;

	for (size_t i = 0; i < c->server_count; i++)
		len += strlen(c->servers[i]) + 1;
	if ((csv = calloc(1, len)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->server_count; i++) {
		if (i > 0)
			strcat(csv, ",");
		strcat(csv, c->servers[i]);
	}
	rc = ares_set_servers_ports_csv(channel, csv);
	free(csv);
	return rc == ARES_SUCCESS ? 0 : -EINVAL;
}

int resolver_new(struct event_base *base, const struct resolver_config *config,
		 struct resolver **ret_resolver)
{
	struct ares_options options = { 0 };
	struct resolver *r;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS;
	int rc = -ENOMEM;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->base = base;
	options.sock_state_cb = on_socket_state;
	options.sock_state_cb_data = r;
	/*
	 * EDNS0 so large TXT answers need no TCP retry; no search list; and
	 * SERVFAIL or REFUSED from the resolver is an answer to report, not a
	 * reason to wait for another server until the lookup times out.
	 */
	options.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH | ARES_FLAG_NOCHECKRESP;
	/*
	 * All queries to a server share one UDP socket: a burst of answers for
	 * hundreds of concurrent lookups overflows the default buffer, and
	 * each dropped answer costs a whole timeout.
	 */
	options.socket_receive_buffer_size = 4 << 20;
	mask |= ARES_OPT_SOCK_RCVBUF;
	if (config->timeout_ms > 0) {
		options.timeout = (int)config->timeout_ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	/*
	 * One c-ares query asks each server once (ARES_OPT_TRIES counts per
	 * server), with the same timeout: c-ares doubles the timeout on each
	 * later round over the servers, so the rounds are made here instead,
	 * as new queries.
	 */
	r->rounds = config->tries > 0 ? config->tries : 2;
	options.tries = 1;
	mask |= ARES_OPT_TRIES;
	if ((r->timer = evtimer_new(base, on_timer, r)) == NULL)
		goto fail;
	if (ares_init_options(&r->channel, &options, mask) != ARES_SUCCESS) {
		r->channel = NULL;
		rc = -EIO;
		goto fail;
	}
	if (config->server_count > 0 && (rc = configure_servers(r->channel, config)) != 0)
		goto fail;
	*ret_resolver = r;
	return 0;
fail:
	resolver_free(r);
	return rc;
}

struct resolver *resolver_free(struct resolver *r)
{
	if (r == NULL)
		return NULL;
	r->closing = true;
	if (r->channel != NULL)
		ares_destroy(r->channel);	/* runs pending callbacks: cancelled */
	unpark_all(r);			/* cancelled too */
	while (r->queue != NULL) {
		struct lookup *q = r->queue;

		r->queue = q->next;
		cancel(q);
	}
	r->queue_tail = NULL;
	while (r->sockets != NULL) {
		struct watched_socket *s = r->sockets;

		r->sockets = s->next;
		if (s->event != NULL)
			event_free(s->event);
		free(s);
	}
	if (r->timer != NULL)
		event_free(r->timer);
	free(r);
	return NULL;
}

static enum resolver_status status_from_ares(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return RESOLVER_OK;
	case ARES_ENOTFOUND:
		return RESOLVER_NXDOMAIN;
	case ARES_ENODATA:
		return RESOLVER_NODATA;
	case ARES_ESERVFAIL:
		return RESOLVER_SERVFAIL;
	case ARES_EREFUSED:
		return RESOLVER_REFUSED;
	case ARES_ETIMEOUT:
		return RESOLVER_TIMEOUT;
	case ARES_ECONNREFUSED:
		/* Also what c-ares says when it cannot open a socket at all. */
		return resources_descriptors_exhausted() ? RESOLVER_LOCAL :
		       RESOLVER_UNREACHABLE;
	case ARES_ENOMEM:
		return RESOLVER_LOCAL;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return RESOLVER_CANCELLED;
	default:
		return RESOLVER_ERROR;
	}
}

const char *resolver_status_name(enum resolver_status status)
{
	switch (status) {
	case RESOLVER_OK:
		return "answer";
	case RESOLVER_NXDOMAIN:
		return "NXDOMAIN";
	case RESOLVER_NODATA:
		return "no records of the type (NODATA)";
	case RESOLVER_SERVFAIL:
		return "SERVFAIL";
	case RESOLVER_REFUSED:
		return "REFUSED";
	case RESOLVER_TIMEOUT:
		return "timed out";
	case RESOLVER_UNREACHABLE:
		return "the resolver cannot be reached (connection refused)";
	case RESOLVER_LOCAL:
		return "this machine ran out of file descriptors or memory";
	case RESOLVER_SILENT:
		return "the resolver does not answer, not even for the root zone";
	case RESOLVER_ERROR:
		return "failed";
	case RESOLVER_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

bool resolver_status_is_temporary(enum resolver_status status)
{
	return status != RESOLVER_OK && status != RESOLVER_NXDOMAIN &&
	       status != RESOLVER_NODATA;
}

static void lookup_free(struct lookup *q)
{
	free(q->name);
	free(q);
}

/* A lookup is answered: let a queued one go. */
static void lookup_done(struct lookup *q)
{
	struct resolver *r = q->resolver;

	lookup_free(q);
	r->in_flight--;
	/* A lookup that fails at once ends inside dispatch(): loop, not recurse. */
	if (r->pumping)
		return;
	r->pumping = true;
	while (!r->closing && r->queue != NULL && r->in_flight < LOOKUPS_IN_FLIGHT) {
		struct lookup *next = r->queue;

		if ((r->queue = next->next) == NULL)
			r->queue_tail = NULL;
		dispatch(next);
	}
	r->pumping = false;
}

static void on_health(void *arg, const struct dns_answer *answer);

/* Ask whether the resolver answers at all, unless that is known. */
static void ask_health(struct resolver *r)
{
	struct lookup *q;

	if (r->health == HEALTH_ASKING || r->closing ||
	    ((r->health == HEALTH_ALIVE || r->health == HEALTH_SILENT) &&
	     monotonic_ms() - r->health_at < HEALTH_VALID_MS))
		return;
	if ((q = calloc(1, sizeof(*q))) == NULL || (q->name = strdup(".")) == NULL) {
		free(q);
		return;
	}
	q->resolver = r;
	q->type = ns_t_ns;
	q->query_fn = on_health;
	q->arg = r;
	q->health = true;
	q->rounds_left = 1;
	r->health = HEALTH_ASKING;
	/* Past the queue: it says whether the queue will ever move. */
	dispatch(q);
}

static void deliver_failure(struct lookup *q, enum resolver_status status)
{
	struct dns_answer dns = { .status = status };

	q->query_fn(q->arg, &dns);
}

/* The lookups that waited for the health answer, failed as it says. */
static void unpark_all(struct resolver *r)
{
	while (r->parked != NULL) {
		struct lookup *q = r->parked;

		r->parked = q->next;
		deliver_failure(q, r->closing ? RESOLVER_CANCELLED :
				r->health == HEALTH_SILENT ? RESOLVER_SILENT :
				status_from_ares(q->parked_status));
		if (r->closing)
			lookup_free(q);
		else
			lookup_done(q);
	}
}

static void on_health(void *arg, const struct dns_answer *answer)
{
	struct resolver *r = arg;

	/* Any answer at all, even SERVFAIL, says the resolver is there. */
	r->health = answer->status == RESOLVER_TIMEOUT ||
		    answer->status == RESOLVER_UNREACHABLE ? HEALTH_SILENT :
		    answer->status == RESOLVER_CANCELLED ? HEALTH_UNKNOWN : HEALTH_ALIVE;
	r->health_at = monotonic_ms();
	unpark_all(r);
}

/*
 * A round over the servers timed out: another, while rounds are left, and
 * ask whether the resolver answers at all.  When none are left and that
 * is still being asked, the lookup waits for the answer (parked).
 */
static bool retried(struct lookup *q, int status)
{
	struct resolver *r = q->resolver;

	if ((status != ARES_ETIMEOUT && status != ARES_ECONNREFUSED) || r->closing ||
	    q->health)
		return false;
	if (status == ARES_ECONNREFUSED && resources_descriptors_exhausted())
		return false;
	ask_health(r);
	if (status == ARES_ETIMEOUT && q->rounds_left > 1) {
		q->rounds_left--;
		r->in_flight--;
		dispatch(q);
		return true;
	}
	if (r->health == HEALTH_ASKING) {
		q->parked_status = status;
		q->next = r->parked;
		r->parked = q;
		return true;
	}
	if (r->health == HEALTH_SILENT) {
		q->parked_status = status;
		deliver_failure(q, RESOLVER_SILENT);
		lookup_done(q);
		return true;
	}
	return false;
}

/* IPv4 before IPv6, then by the address's octets. */
static int by_address(const void *x, const void *y)
{
	const struct sockaddr_storage *a = x, *b = y;

	if (a->ss_family != b->ss_family)
		return a->ss_family == AF_INET ? -1 : 1;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)b)->sin_addr, 4);
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* The UDP payload size that avoids IP fragmentation (DNS flag day 2020). */
#define QUERY_EDNS_UDP_SIZE 1232
#define DNS_OPT_LEN 11		/* root name, type, class, TTL, RDLENGTH */
#define DNS_TYPE_OPT 41

/*
 * Ask for DNSSEC in a query from ares_create_query(), which ends with its
 * OPT record: the AD bit in the header (RFC 6840 5.7) and the DO bit in the
 * OPT record's TTL (RFC 3225), so that a validating resolver tells in the
 * answer's AD bit whether it validated it.
 */
static bool ask_for_dnssec(unsigned char *query, int len)
{
	unsigned char *opt;

	if (len < 12 + DNS_OPT_LEN)
		return false;
	opt = query + len - DNS_OPT_LEN;
	if (query[10] != 0 || query[11] != 1 || opt[0] != 0 || opt[1] != 0 ||
	    opt[2] != DNS_TYPE_OPT || opt[9] != 0 || opt[10] != 0)
		return false;
	query[3] |= 0x20;	/* AD */
	opt[7] |= 0x80;		/* DO, the top bit of the TTL's flags */
	return true;
}

/* A response that arrived: by its RCODE and answers of the type asked. */
static enum resolver_status classify(const struct mtasts_dns_message *msg,
				     uint16_t type)
{
	switch (msg->rcode) {
	case MTASTS_DNS_RCODE_NOERROR:
		for (size_t i = 0; i < msg->answer_count; i++)
			if (msg->answers[i].type == type)
				return RESOLVER_OK;
		return RESOLVER_NODATA;
	case MTASTS_DNS_RCODE_NXDOMAIN:
		return RESOLVER_NXDOMAIN;
	case MTASTS_DNS_RCODE_SERVFAIL:
		return RESOLVER_SERVFAIL;
	case MTASTS_DNS_RCODE_REFUSED:
		return RESOLVER_REFUSED;
	default:
		return RESOLVER_ERROR;
	}
}

static void on_dns_answer(void *arg, int status, int timeouts,
			  unsigned char *abuf, int alen)
{
	struct lookup *q = arg;
	struct dns_answer answer = { .status = status_from_ares(status) };
	struct mtasts_dns_message *msg = NULL;

	if (retried(q, status))
		return;

	/*
	 * The channel has ARES_FLAG_NOCHECKRESP, so SERVFAIL and REFUSED
	 * arrive here as ARES_SUCCESS with the response.
	 */
	if (abuf != NULL && alen > 0) {
		if (mtasts_dns_message_parse(abuf, (size_t)alen, &msg) != MTASTS_OK)
			answer.status = RESOLVER_ERROR;
		else if (status == ARES_SUCCESS)
			answer.status = classify(msg, q->type);
	} else if (status == ARES_SUCCESS) {
		answer.status = RESOLVER_ERROR;
	}
	answer.message = msg;
	q->query_fn(q->arg, &answer);
	mtasts_dns_message_free(msg);
	lookup_done(q);
}

/* Send a query built by ares_create_query(), asking for DNSSEC. */
static void send_query(struct lookup *q)
{
	struct resolver *r = q->resolver;
	unsigned char *query = NULL;
	int len = 0, rc;

	/* The ID is left to ares_send(), which gives every query its own. */
	rc = ares_create_query(q->name, ns_c_in, q->type, 0, 1, &query, &len,
			       QUERY_EDNS_UDP_SIZE);
	if (rc != ARES_SUCCESS || !ask_for_dnssec(query, len)) {
		if (query != NULL)
			ares_free_string(query);
		on_dns_answer(q, rc == ARES_ENOMEM ? ARES_ENOMEM : ARES_EBADNAME, 0,
			      NULL, 0);
		return;
	}
	ares_send(r->channel, query, len, on_dns_answer, q);	/* copies it */
	ares_free_string(query);
}

static void dispatch(struct lookup *q)
{
	/* send_query() may answer at once and free q. */
	struct resolver *r = q->resolver;

	r->in_flight++;
	send_query(q);
	schedule_timeout(r);
}

/* Answer a lookup that never went out: the resolver is being freed. */
static void cancel(struct lookup *q)
{
	struct dns_answer dns = { .status = RESOLVER_CANCELLED };

	q->query_fn(q->arg, &dns);
	lookup_free(q);
}

/* Send the lookup now, or queue it while enough are in flight. */
static int submit(struct resolver *r, struct lookup *q, const char *name)
{
	if (r->closing) {
		free(q);
		return -ECANCELED;
	}
	if ((q->name = strdup(name)) == NULL) {
		free(q);
		return -ENOMEM;
	}
	q->resolver = r;
	q->rounds_left = r->rounds;
	if (r->in_flight < LOOKUPS_IN_FLIGHT && r->queue == NULL) {
		dispatch(q);
		return 0;
	}
	if (r->queue_tail != NULL)
		r->queue_tail->next = q;
	else
		r->queue = q;
	r->queue_tail = q;
	return 0;
}

/*
 * The addresses of a name: an A and an AAAA query, as a sending MTA makes
 * them (not getaddrinfo(), which would read /etc/hosts, take a numeric
 * name as a literal, and keep only the status of the last family).
 */
struct address_lookup {
	resolver_addresses_fn *fn;
	void *arg;
	unsigned pending;
	enum resolver_status status[2];		/* of A, of AAAA */
	size_t count, capacity;
	struct sockaddr_storage *addresses;
};

/* The addresses an answer gives the name asked (after its CNAMEs). */
static void take_addresses(struct address_lookup *l, const struct mtasts_dns_message *m,
			   uint16_t type)
{
	const char *owner = mtasts_dns_message_final_name(m);

	for (size_t i = 0; m != NULL && owner != NULL && i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];
		struct sockaddr_storage *ss;

		if (rr->type != type || rr->rclass != MTASTS_DNS_CLASS_IN ||
		    strcmp(rr->name, owner) != 0)
			continue;
		if (l->count == l->capacity) {
			size_t more = l->capacity == 0 ? 4 : l->capacity * 2;
			struct sockaddr_storage *grown = more > 1024 ? NULL :
				realloc(l->addresses, more * sizeof(*grown));

			if (grown == NULL)
				return;		/* what fits is enough */
			l->addresses = grown;
			l->capacity = more;
		}
		ss = &l->addresses[l->count++];
		memset(ss, 0, sizeof(*ss));
		if (type == MTASTS_DNS_TYPE_A) {
			ss->ss_family = AF_INET;
			memcpy(&((struct sockaddr_in *)ss)->sin_addr, rr->address, 4);
		} else {
			ss->ss_family = AF_INET6;
			memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, rr->address, 16);
		}
	}
}

/* Both answers in: some addresses, else the most telling failure. */
static enum resolver_status combined_status(const struct address_lookup *l)
{
	static const enum resolver_status worst_first[] = {
		RESOLVER_CANCELLED, RESOLVER_LOCAL, RESOLVER_SILENT, RESOLVER_UNREACHABLE,
		RESOLVER_TIMEOUT, RESOLVER_SERVFAIL, RESOLVER_REFUSED, RESOLVER_ERROR,
	};

	if (l->count > 0)
		return RESOLVER_OK;
	for (size_t i = 0; i < sizeof(worst_first) / sizeof(worst_first[0]); i++)
		if (l->status[0] == worst_first[i] || l->status[1] == worst_first[i])
			return worst_first[i];
	return l->status[0] == RESOLVER_NXDOMAIN || l->status[1] == RESOLVER_NXDOMAIN ?
	       RESOLVER_NXDOMAIN : RESOLVER_NODATA;
}

static void on_address_answer(struct address_lookup *l, int family_index,
			      const struct dns_answer *answer)
{
	struct address_answer out = { 0 };

	l->status[family_index] = answer->status;
	if (answer->status == RESOLVER_OK)
		take_addresses(l, answer->message, family_index == 0 ?
			       MTASTS_DNS_TYPE_A : MTASTS_DNS_TYPE_AAAA);
	if (--l->pending > 0)
		return;
	out.status = combined_status(l);
	if (out.status == RESOLVER_OK) {
		/* The same order every run: those past a caller's limit are the same. */
		qsort(l->addresses, l->count, sizeof(*l->addresses), by_address);
		out.addresses = l->addresses;
		out.count = l->count;
	}
	l->fn(l->arg, &out);
	free(l->addresses);
	free(l);
}

static void on_a_answer(void *arg, const struct dns_answer *answer)
{
	on_address_answer(arg, 0, answer);
}

static void on_aaaa_answer(void *arg, const struct dns_answer *answer)
{
	on_address_answer(arg, 1, answer);
}

int resolver_addresses(struct resolver *r, const char *name,
		       resolver_addresses_fn *fn, void *arg)
{
	struct address_lookup *l = calloc(1, sizeof(*l));
	int rc;

	if (l == NULL)
		return -ENOMEM;
	l->fn = fn;
	l->arg = arg;
	l->pending = 2;
	l->status[0] = l->status[1] = RESOLVER_CANCELLED;
	if ((rc = resolver_query(r, name, MTASTS_DNS_TYPE_A, on_a_answer, l)) != 0) {
		free(l);
		return rc;
	}
	/* From here on the lookup ends through its callbacks, exactly once. */
	if ((rc = resolver_query(r, name, MTASTS_DNS_TYPE_AAAA, on_aaaa_answer, l)) != 0) {
		struct dns_answer failed = { .status = rc == -ENOMEM ? RESOLVER_LOCAL :
					     RESOLVER_CANCELLED };

		on_aaaa_answer(l, &failed);
	}
	return 0;
}

int resolver_query(struct resolver *r, const char *name, uint16_t type,
		   resolver_query_fn *fn, void *arg)
{
	struct lookup *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return -ENOMEM;
	q->type = type;
	q->query_fn = fn;
	q->arg = arg;
	return submit(r, q, name);
}
