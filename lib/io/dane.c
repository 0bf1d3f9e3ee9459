/*
 * dane.c - the DANE decision for a domain (dane.h): which MX hosts, what
 * each host's answers say, all of them together; and the lookups that
 * gather those answers under one deadline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dane.h"
#include "hostname.h"
#include "util.h"

#define TLSA_PREFIX "_25._tcp."

const char *dane_status_name(enum dane_status status)
{
	switch (status) {
	case DANE_USABLE:
		return "usable";
	case DANE_NONE:
		return "none";
	case DANE_TEMP:
		return "temp";
	}
	return "unknown";
}

static void set_result(struct dane_result *r, enum dane_status status,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_result(struct dane_result *r, enum dane_status status,
		       const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------- the MX hosts */

static int by_preference(const void *x, const void *y)
{
	const struct mtasts_dns_rr *a = *(const struct mtasts_dns_rr *const *)x;
	const struct mtasts_dns_rr *b = *(const struct mtasts_dns_rr *const *)y;

	if (a->preference != b->preference)
		return a->preference < b->preference ? -1 : 1;
	return strcmp(a->target, b->target);
}

static bool host_fits(const char *host)
{
	return strlen(TLSA_PREFIX) + strlen(host) <= MTASTS_DNS_NAME_MAX - 2;
}

/* The distinct exchanges of a validated MX RRset, most preferred first. */
static bool take_exchanges(const char *domain, const struct mtasts_dns_message *m,
			   struct dane_hosts *hosts, struct dane_result *result)
{
	const struct mtasts_dns_rr *mx[MTASTS_DNS_RR_MAX];
	const char *owner = mtasts_dns_message_final_name(m);
	size_t n = 0;

	for (size_t i = 0; owner != NULL && i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];

		if (rr->type != MTASTS_DNS_TYPE_MX || rr->rclass != MTASTS_DNS_CLASS_IN ||
		    strcmp(rr->name, owner) != 0)
			continue;
		if (rr->target[0] == '\0') {
			set_result(result, DANE_NONE, "%s has a null MX: it takes no mail",
				   domain);
			return false;
		}
		mx[n++] = rr;
	}
	if (n == 0) {
		set_result(result, DANE_NONE, "the MX answer for %s holds no MX record "
			   "at the name asked", domain);
		return false;
	}
	qsort(mx, n, sizeof(mx[0]), by_preference);
	hosts->count = 0;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < hosts->count && !seen; j++)
			seen = strcmp(hosts->names[j], mx[i]->target) == 0;
		if (seen)
			continue;
		if (hosts->count == DANE_MX_HOSTS_MAX) {
			set_result(result, DANE_NONE, "%s has more than %d MX hosts; DANE "
				   "is judged for at most that many", domain,
				   DANE_MX_HOSTS_MAX);
			return false;
		}
		if (!host_fits(mx[i]->target)) {
			set_result(result, DANE_NONE, "the MX host %s is too long a name "
				   "for a TLSA record", mx[i]->target);
			return false;
		}
		snprintf(hosts->names[hosts->count++], sizeof(hosts->names[0]), "%s",
			 mx[i]->target);
	}
	return true;
}

bool dane_select_hosts(const char *domain, const struct dns_answer *mx,
		       struct dane_hosts *ret_hosts, struct dane_result *result)
{
	const struct mtasts_dns_message *m = mx->message;
	struct dane_hosts hosts = { 0 };

	result->mx_count = result->tlsa_host_count = 0;
	if (resolver_status_is_temporary(mx->status) || m == NULL) {
		set_result(result, DANE_TEMP, "the MX lookup of %s failed: %s", domain,
			   resolver_status_name(mx->status));
		return false;
	}
	if (mx->status == RESOLVER_NXDOMAIN) {
		set_result(result, DANE_NONE, "%s does not exist (NXDOMAIN)", domain);
		return false;
	}
	if (!m->authenticated) {
		set_result(result, DANE_NONE, "the MX %s of %s is not DNSSEC-validated",
			   mx->status == RESOLVER_NODATA ? "answer (no records)" : "RRset",
			   domain);
		return false;
	}
	if (mx->status == RESOLVER_NODATA) {
		/* No MX: the domain is its own mail host (RFC 5321 5.1). */
		if (!host_fits(domain)) {
			set_result(result, DANE_NONE, "%s is too long a name for a TLSA "
				   "record", domain);
			return false;
		}
		snprintf(hosts.names[0], sizeof(hosts.names[0]), "%s", domain);
		hosts.count = 1;
	} else if (!take_exchanges(domain, m, &hosts, result)) {
		return false;
	}
	*ret_hosts = hosts;
	return true;
}

/* -------------------------------------------------------- one MX host */

/* RFC 7672 3.1: what a DANE SMTP client can authenticate with. */
static bool tlsa_usable(const struct mtasts_dns_rr *rr)
{
	if (rr->tlsa_usage != 2 && rr->tlsa_usage != 3)
		return false;
	if (rr->tlsa_selector > 1)
		return false;
	switch (rr->tlsa_matching) {
	case 0:
		return rr->tlsa_data_len > 0;
	case 1:
		return rr->tlsa_data_len == 32;
	case 2:
		return rr->tlsa_data_len == 64;
	default:
		return false;
	}
}

/* The TLSA answer; DANE_USABLE when validated with a usable record. */
static enum dane_status judge_tlsa(const char *host, const struct dns_answer *tlsa,
				   char *why, size_t size)
{
	const struct mtasts_dns_message *m = tlsa->message;
	const char *owner;
	size_t records = 0, usable = 0;

	if (resolver_status_is_temporary(tlsa->status) || m == NULL) {
		say_why(why, size, "the TLSA lookup of " TLSA_PREFIX "%s failed: %s", host,
		    resolver_status_name(tlsa->status));
		return DANE_TEMP;
	}
	if (tlsa->status != RESOLVER_OK) {
		say_why(why, size, "%s has no TLSA records (" TLSA_PREFIX "%s: %s%s)", host,
		    host, resolver_status_name(tlsa->status),
		    m->authenticated ? ", validated" : "");
		return DANE_NONE;
	}
	if (!m->authenticated) {
		say_why(why, size, "the TLSA records of %s are not DNSSEC-validated", host);
		return DANE_NONE;
	}
	owner = mtasts_dns_message_final_name(m);
	for (size_t i = 0; owner != NULL && i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];

		if (rr->type != MTASTS_DNS_TYPE_TLSA || rr->rclass != MTASTS_DNS_CLASS_IN ||
		    strcmp(rr->name, owner) != 0)
			continue;
		records++;
		if (tlsa_usable(rr))
			usable++;
	}
	if (usable == 0) {
		say_why(why, size, "none of the %zu TLSA records of %s is usable for SMTP "
		    "(usage 2 or 3, selector 0 or 1, matching type 0, 1 or 2; RFC 7672 "
		    "3.1)", records, host);
		return DANE_NONE;
	}
	return DANE_USABLE;
}

/* One address answer (A or AAAA); DANE_USABLE when it may stand. */
static enum dane_status judge_address(const char *host, const char *type,
				      const struct dns_answer *answer, char *why, size_t size)
{
	const struct mtasts_dns_message *m = answer->message;
	const char *owner;

	if (resolver_status_is_temporary(answer->status) || m == NULL) {
		say_why(why, size, "the %s lookup of %s failed: %s", type, host,
		    resolver_status_name(answer->status));
		return DANE_TEMP;
	}
	if (answer->status == RESOLVER_NXDOMAIN) {
		say_why(why, size, "the MX host %s does not exist (NXDOMAIN)", host);
		return DANE_NONE;
	}
	if (!m->authenticated) {
		say_why(why, size, "the %s answer for %s is not DNSSEC-validated, so a "
		    "sender uses no DANE there (RFC 7672 2.2.2)", type, host);
		return DANE_NONE;
	}
	owner = mtasts_dns_message_final_name(m);
	if (owner == NULL || strcmp(owner, host) != 0) {
		say_why(why, size, "the MX host %s is an alias (CNAME) of %s; DANE through "
		    "aliases is left to MTA-STS", host, owner != NULL ? owner : "a loop");
		return DANE_NONE;
	}
	return DANE_USABLE;
}

enum dane_status dane_judge_host(const struct dane_host_answers *h,
				 bool *ret_usable_tlsa, char *why, size_t size)
{
	const struct dns_answer *address[2] = { h->a, h->aaaa };
	static const char *const address_type[2] = { "A", "AAAA" };
	static const size_t order[3] = { 2, 0, 1 };	/* TLSA, A, AAAA */
	enum dane_status status[3];
	char reason[3][DANE_REASON_MAX];

	/* Each part judged; a NONE anywhere is final, then a failure, then USABLE. */
	for (size_t i = 0; i < 2; i++) {
		if (address[i] == NULL) {
			status[i] = DANE_TEMP;
			snprintf(reason[i], sizeof(reason[i]), "the %s lookup of %s has "
				 "no answer", address_type[i], h->host);
		} else {
			status[i] = judge_address(h->host, address_type[i], address[i],
						  reason[i], sizeof(reason[i]));
		}
	}
	if (h->tlsa == NULL) {
		status[2] = DANE_TEMP;
		snprintf(reason[2], sizeof(reason[2]), "the TLSA lookup of " TLSA_PREFIX
			 "%s has no answer", h->host);
	} else {
		status[2] = judge_tlsa(h->host, h->tlsa, reason[2], sizeof(reason[2]));
	}
	if (ret_usable_tlsa != NULL)
		*ret_usable_tlsa = status[2] == DANE_USABLE;
	if (status[0] == DANE_USABLE && status[1] == DANE_USABLE &&
	    h->a->status != RESOLVER_OK && h->aaaa->status != RESOLVER_OK) {
		status[0] = DANE_NONE;
		snprintf(reason[0], sizeof(reason[0]), "the MX host %s has no address "
			 "(validated)", h->host);
	}
	/* The TLSA reason first: it is what people look for. */
	for (size_t k = 0; k < 3; k++) {
		if (status[order[k]] == DANE_NONE) {
			say_why(why, size, "%s", reason[order[k]]);
			return DANE_NONE;
		}
	}
	for (size_t k = 0; k < 3; k++) {
		if (status[order[k]] == DANE_TEMP) {
			say_why(why, size, "%s", reason[order[k]]);
			return DANE_TEMP;
		}
	}
	return DANE_USABLE;
}

/* --------------------------------------------------------- all hosts */

enum dane_status dane_decide(const char *domain, const struct dane_host_answers *hosts,
			     size_t count, struct dane_result *result)
{
	char why[DANE_REASON_MAX], first_temp[DANE_REASON_MAX] = "";
	bool none = false, temp = false;

	result->mx_count = count;
	result->tlsa_host_count = 0;
	for (size_t i = 0; i < count; i++) {
		bool usable_tlsa;
		enum dane_status s = dane_judge_host(&hosts[i], &usable_tlsa, why, sizeof(why));

		if (usable_tlsa)
			result->tlsa_host_count++;
		if (s == DANE_NONE && !none) {
			none = true;
			set_result(result, DANE_NONE, "%s", why);
		} else if (s == DANE_TEMP && !temp) {
			temp = true;
			snprintf(first_temp, sizeof(first_temp), "%s", why);
		}
	}
	if (none)
		return result->status;
	if (temp) {
		set_result(result, DANE_TEMP, "%s", first_temp);
		return DANE_TEMP;
	}
	if (count == 0) {
		set_result(result, DANE_NONE, "%s has no MX host to judge", domain);
		return DANE_NONE;
	}
	set_result(result, DANE_USABLE, "every MX host of %s (%zu) has DNSSEC-validated, "
		   "usable TLSA records", domain, count);
	return DANE_USABLE;
}

/* ------------------------------------------------------- the lookups */

enum { SLOT_A, SLOT_AAAA, SLOT_TLSA, SLOTS_PER_HOST };

/* One query's answer, kept: resolver answers die with their callback. */
struct slot {
	struct dane_lookup *lookup;
	bool answered;
	struct dns_answer answer;
	struct mtasts_dns_message *message;	/* owned; answer.message */
};

struct dane_lookup {
	struct resolver *resolver;
	dane_done_fn *fn;
	void *arg;
	unsigned timeout_ms;
	struct event *timer;		/* the deadline, or the deferred callback */
	unsigned pending;		/* queries not answered, plus holds */
	bool starting;			/* inside dane_lookup(): defer the callback */
	bool decided;			/* result is final, the callback is due */
	bool concluded;			/* the callback ran, or the lookup was cancelled */
	struct dane_result result;
	char domain[HOSTNAME_BUF];
	struct slot mx;
	struct dane_hosts hosts;
	struct slot host_slots[DANE_MX_HOSTS_MAX][SLOTS_PER_HOST];
};

static void lookup_free(struct dane_lookup *l)
{
	mtasts_dns_message_free(l->mx.message);
	for (size_t i = 0; i < DANE_MX_HOSTS_MAX; i++)
		for (size_t j = 0; j < SLOTS_PER_HOST; j++)
			mtasts_dns_message_free(l->host_slots[i][j].message);
	if (l->timer != NULL)
		event_free(l->timer);
	free(l);
}

/* A query answered, or a hold let go: free once nothing more can come. */
static void release(struct dane_lookup *l)
{
	if (--l->pending == 0 && l->concluded)
		lookup_free(l);
}

static void deliver(struct dane_lookup *l)
{
	l->concluded = true;
	evtimer_del(l->timer);
	l->fn(l->arg, &l->result);
}

static void finish(struct dane_lookup *l, const struct dane_result *r)
{
	static const struct timeval now = { 0, 0 };

	if (l->decided || l->concluded)
		return;
	l->result = *r;
	l->decided = true;
	if (l->starting)
		evtimer_add(l->timer, &now);	/* never inside dane_lookup() */
	else
		deliver(l);
}

static void host_answers(const struct dane_lookup *l, struct dane_host_answers *out)
{
	for (size_t i = 0; i < l->hosts.count; i++) {
		const struct slot *s = l->host_slots[i];

		out[i].host = l->hosts.names[i];
		out[i].a = s[SLOT_A].answered ? &s[SLOT_A].answer : NULL;
		out[i].aaaa = s[SLOT_AAAA].answered ? &s[SLOT_AAAA].answer : NULL;
		out[i].tlsa = s[SLOT_TLSA].answered ? &s[SLOT_TLSA].answer : NULL;
	}
}

/* Decide when the answers in allow it: all of them, or a final NONE. */
static void evaluate(struct dane_lookup *l)
{
	struct dane_host_answers hosts[DANE_MX_HOSTS_MAX];
	struct dane_result r = { 0 };
	bool all = true;

	for (size_t i = 0; i < l->hosts.count; i++)
		for (size_t j = 0; j < SLOTS_PER_HOST; j++)
			all = all && l->host_slots[i][j].answered;
	host_answers(l, hosts);
	if (dane_decide(l->domain, hosts, l->hosts.count, &r) == DANE_NONE || all)
		finish(l, &r);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct dane_lookup *l = arg;
	struct dane_host_answers hosts[DANE_MX_HOSTS_MAX];
	struct dane_result r = { 0 };

	if (!l->decided) {
		if (!l->mx.answered) {
			set_result(&r, DANE_TEMP, "the MX lookup of %s did not finish "
				   "within %u ms", l->domain, l->timeout_ms);
		} else {
			host_answers(l, hosts);
			if (dane_decide(l->domain, hosts, l->hosts.count, &r) != DANE_NONE) {
				char why[sizeof(r.reason)];

				snprintf(why, sizeof(why), "%s", r.reason);
				set_result(&r, DANE_TEMP, "not decided within %u ms: %s",
					   l->timeout_ms, why);
			}
		}
		l->result = r;
		l->decided = true;
	}
	/* Held: a late query's release must not free it under deliver(). */
	l->pending++;
	deliver(l);
	release(l);
}

static void keep_answer(struct slot *s, const struct dns_answer *answer)
{
	s->answered = true;
	s->answer.status = answer->status;
	s->answer.message = NULL;
	if (answer->message == NULL)
		return;
	/* A copy by decoding it again: the resolver frees its own after the call. */
	if (mtasts_dns_message_parse(answer->message->raw, answer->message->raw_len,
				     &s->message) != MTASTS_OK) {
		s->message = NULL;
		s->answer.status = RESOLVER_LOCAL;
		return;
	}
	s->answer.message = s->message;
}

static void on_answer(void *arg, const struct dns_answer *answer);

static void ask(struct dane_lookup *l, struct slot *s, const char *name, uint16_t type)
{
	int rc;

	s->lookup = l;
	l->pending++;
	if ((rc = resolver_query(l->resolver, name, type, on_answer, s)) != 0) {
		struct dns_answer failed = { .status = rc == -ENOMEM ? RESOLVER_LOCAL :
					     RESOLVER_CANCELLED };

		on_answer(s, &failed);
	}
}

static void start_hosts(struct dane_lookup *l)
{
	char tlsa_name[sizeof(TLSA_PREFIX) + MTASTS_DNS_NAME_MAX];	/* host_fits() */

	/* Held: an answer that comes at once must not find the others unasked. */
	l->pending++;
	for (size_t i = 0; i < l->hosts.count && !l->decided; i++) {
		const char *host = l->hosts.names[i];

		snprintf(tlsa_name, sizeof(tlsa_name), TLSA_PREFIX "%s", host);
		ask(l, &l->host_slots[i][SLOT_TLSA], tlsa_name, MTASTS_DNS_TYPE_TLSA);
		if (!l->decided)
			ask(l, &l->host_slots[i][SLOT_A], host, MTASTS_DNS_TYPE_A);
		if (!l->decided)
			ask(l, &l->host_slots[i][SLOT_AAAA], host, MTASTS_DNS_TYPE_AAAA);
	}
	l->pending--;		/* the caller holds one more */
}

static void on_answer(void *arg, const struct dns_answer *answer)
{
	struct slot *s = arg;
	struct dane_lookup *l = s->lookup;
	struct dane_result r = { 0 };

	if (!l->decided && !l->concluded) {
		keep_answer(s, answer);
		if (s != &l->mx)
			evaluate(l);
		else if (!dane_select_hosts(l->domain, &s->answer, &l->hosts, &r))
			finish(l, &r);
		else
			start_hosts(l);
	}
	release(l);
}

int dane_lookup(struct event_base *base, struct resolver *resolver,
		const char *domain, unsigned timeout_ms, dane_done_fn *fn, void *arg,
		struct dane_lookup **ret_lookup)
{
	struct dane_lookup *l;
	char name[HOSTNAME_BUF];

	if (hostname_normalize(domain, name, sizeof(name), NULL, 0) != 0)
		return -EINVAL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	if ((l->timer = evtimer_new(base, on_deadline, l)) == NULL) {
		free(l);
		return -ENOMEM;
	}
	if (timeout_ms > 0) {
		struct timeval limit = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

		if (evtimer_add(l->timer, &limit) != 0) {
			lookup_free(l);
			return -ENOMEM;
		}
	}
	memcpy(l->domain, name, sizeof(name));
	l->resolver = resolver;
	l->fn = fn;
	l->arg = arg;
	l->timeout_ms = timeout_ms;
	l->starting = true;
	l->pending = 1;			/* held while starting */
	ask(l, &l->mx, l->domain, MTASTS_DNS_TYPE_MX);
	l->starting = false;
	*ret_lookup = l;
	release(l);			/* never frees: not concluded */
	return 0;
}

struct dane_lookup *dane_lookup_cancel(struct dane_lookup *l)
{
	if (l == NULL || l->concluded)
		return NULL;
	l->concluded = true;
	evtimer_del(l->timer);
	/* Held, so that the count reaching zero frees it here or later. */
	l->pending++;
	release(l);
	return NULL;
}
