/*
 * cmd_domains_dns.c - the verbs of mtasts domains that look at the DNS:
 * add --from-dns (mx patterns proposed from the domain's MX hosts) and
 * verify (whether the records `domains dns` prints are published, and the
 * policy host serves the hosted policy).
 *
 * verify reads the _mta-sts record and the policy through the discovery a
 * sender makes (fetcher.h), the TLSRPT record with the core's parser, and
 * compares each with what domains_records_make() says to publish.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts/dns.h>
#include <mtasts/mx.h>
#include <mtasts/tlsrpt.h>
#include <mtasts/txt.h>

#include "domains.h"
#include "fetcher.h"
#include "public_suffix.h"

#define DOMAINS_FDS 8			/* a few lookups and one HTTPS connection */

static void stop_loop(struct net_session *net, int *pending)
{
	if (--*pending == 0)
		event_base_loopexit(net->base, NULL);
}

/* ---- add --from-dns ------------------------------------------------------ */

#define MX_HOSTS_MAX 1024		/* MX hosts of one domain looked at */

struct mx_host {
	char name[MTASTS_DNS_NAME_MAX + 1];
	unsigned preference;
};

struct mx_lookup {
	struct net_session *net;
	int pending;
	enum resolver_status status;
	struct mx_host *hosts;		/* every distinct MX host, up to MX_HOSTS_MAX */
	size_t count, capacity;
	size_t total;			/* MX records, null MX included */
	bool null_mx;
	bool too_many;			/* more than MX_HOSTS_MAX distinct hosts */
	bool no_memory;
};

/* Most preferred first, then by name: the order the proposal is printed in. */
static int by_preference(const void *x, const void *y)
{
	const struct mx_host *a = x, *b = y;

	if (a->preference != b->preference)
		return a->preference < b->preference ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void on_mx(void *arg, const struct dns_answer *answer)
{
	struct mx_lookup *l = arg;
	const struct mtasts_dns_message *m = answer->message;

	l->status = answer->status;
	for (size_t i = 0; answer->status == RESOLVER_OK && i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];
		bool seen = false;

		if (rr->type != MTASTS_DNS_TYPE_MX)
			continue;
		l->total++;
		if (rr->target[0] == '\0') {
			l->null_mx = true;
			continue;
		}
		for (size_t j = 0; j < l->count && !seen; j++)
			seen = strcmp(l->hosts[j].name, rr->target) == 0;
		if (seen)
			continue;
		if (l->count == MX_HOSTS_MAX) {
			l->too_many = true;
			break;
		}
		if (l->count == l->capacity) {
			size_t grown = l->capacity == 0 ? 16 : l->capacity * 2;
			struct mx_host *hosts = reallocarray(l->hosts, grown, sizeof(*hosts));

			if (hosts == NULL) {
				l->no_memory = true;
				break;
			}
			l->hosts = hosts;
			l->capacity = grown;
		}
		snprintf(l->hosts[l->count].name, sizeof(l->hosts[0].name), "%s", rr->target);
		l->hosts[l->count++].preference = rr->preference;
	}
	if (l->count > 1)
		qsort(l->hosts, l->count, sizeof(l->hosts[0]), by_preference);
	stop_loop(l->net, &l->pending);
}

/* The parent of host (after its first label), or NULL for a name of one label. */
static const char *parent_of(const char *host)
{
	const char *dot = strchr(host, '.');

	return dot != NULL && dot[1] != '\0' ? dot + 1 : NULL;
}

/*
 * Each host as itself, or "*.parent" for the hosts of a parent shared by
 * two or more, when that parent is not a public suffix (where "*." would
 * let anyone's host match).
 */
static int propose(const struct mx_lookup *l, struct public_suffixes *suffixes,
		   char ***ret_patterns, size_t *ret_count)
{
	char **patterns = calloc(l->count, sizeof(*patterns));
	size_t count = 0;

	if (patterns == NULL)
		return -1;
	for (size_t i = 0; i < l->count; i++) {
		const char *parent = parent_of(l->hosts[i].name);
		size_t sharing = 0;
		char pattern[MTASTS_HOST_NAME_MAX + 3];
		bool known = false;

		for (size_t j = 0; parent != NULL && j < l->count; j++) {
			const char *other = parent_of(l->hosts[j].name);

			sharing += other != NULL && strcmp(other, parent) == 0;
		}
		if (sharing >= 2 && strchr(parent, '.') != NULL && !public_suffix_is(suffixes, parent))
			snprintf(pattern, sizeof(pattern), "*.%s", parent);
		else
			snprintf(pattern, sizeof(pattern), "%s", l->hosts[i].name);
		for (size_t j = 0; j < count; j++)
			known |= strcmp(patterns[j], pattern) == 0;
		if (known)
			continue;
		if ((patterns[count++] = strdup(pattern)) == NULL)
			goto fail;
	}
	*ret_patterns = patterns;
	*ret_count = count;
	return 0;
fail:
	for (size_t i = 0; i < count; i++)
		free(patterns[i]);
	free(patterns);
	return -1;
}

/* The pattern that matches host (mtasts_mx_matches), or NULL. */
static const char *covering(char **patterns, size_t count, const char *host)
{
	for (size_t i = 0; i < count; i++)
		if (mtasts_mx_matches(patterns[i], host))
			return patterns[i];
	return NULL;
}

/* {"mx_hosts": [{"host", "preference", "pattern"}], "patterns": [...]} */
static json_t *proposal_json(const struct mx_lookup *l, char **patterns, size_t count)
{
	json_t *hosts = json_array(), *list = json_array();

	for (size_t i = 0; hosts != NULL && i < l->count; i++)
		json_array_append_new(hosts, json_pack("{s:o, s:i, s:o}", "host",
			json_text(l->hosts[i].name), "preference", (int)l->hosts[i].preference, "pattern",
			json_text(covering(patterns, count, l->hosts[i].name))));
	for (size_t i = 0; list != NULL && i < count; i++)
		json_array_append_new(list, json_text(patterns[i]));
	return json_pack("{s:o, s:o}", "mx_hosts", hosts, "patterns", list);
}

static void print_proposal(struct domains_args *args, const struct mx_lookup *l,
			   char **patterns, size_t count)
{
	if (args->json) {
		args->proposal = proposal_json(l, patterns, count);
		return;
	}
	printf("MX hosts of %s:", args->domain);
	for (size_t i = 0; i < l->count; i++) {
		fputs(i == 0 ? " " : ", ", stdout);
		print_text(stdout, l->hosts[i].name);
		printf(" (%u)", l->hosts[i].preference);
	}
	printf("\nproposed mx patterns:\n");
	for (size_t i = 0; i < count; i++) {
		bool first = true;

		printf("  mx: ");
		print_text(stdout, patterns[i]);
		printf("  covers");
		for (size_t j = 0; j < l->count; j++) {
			if (covering(patterns, count, l->hosts[j].name) != patterns[i])
				continue;
			printf("%s", first ? " " : ", ");
			print_text(stdout, l->hosts[j].name);
			first = false;
		}
		putchar('\n');
	}
}

/* Why the domain's MX records give no host to propose; an exit status. */
static int no_hosts(const struct domains_args *args, const struct mx_lookup *l)
{
	const char *d = args->domain;

	if (l->status == RESOLVER_LOCAL || l->status == RESOLVER_SILENT ||
	    l->status == RESOLVER_CANCELLED) {
		fprintf(stderr, PROGRAM_NAME " domains: add: the MX lookup of %s could not be made: "
			"%s\n", d, resolver_status_name(l->status));
		return l->status == RESOLVER_SILENT ? DOMAINS_EXIT_TEMPFAIL : EXIT_LOCAL_ERROR;
	}
	if (l->status == RESOLVER_NXDOMAIN)
		fprintf(stderr, PROGRAM_NAME " domains: add: %s does not exist (NXDOMAIN): "
			"nothing added\n", d);
	else if (l->status == RESOLVER_NODATA || (l->status == RESOLVER_OK && l->total == 0))
		fprintf(stderr, PROGRAM_NAME " domains: add: %s has no MX records: nothing added "
			"(give --mx for the hosts that receive its mail)\n", d);
	else if (l->status == RESOLVER_OK)
		fprintf(stderr, PROGRAM_NAME " domains: add: %s has a null MX (MX 0 .): it "
			"receives no mail, so needs no MTA-STS policy: nothing added\n", d);
	else {
		fprintf(stderr, PROGRAM_NAME " domains: add: the MX lookup of %s failed: %s: "
			"nothing added (try again)\n", d, resolver_status_name(l->status));
		return DOMAINS_EXIT_TEMPFAIL;
	}
	return DOMAINS_EXIT_NO_MX;
}

int domains_propose_from_dns(struct domains_args *args, struct public_suffixes *suffixes,
			     char ***ret_patterns, size_t *ret_count)
{
	struct net_session net = { 0 };
	struct mx_lookup *l = calloc(1, sizeof(*l));
	char **patterns = NULL;
	size_t count = 0;
	int rc = EXIT_LOCAL_ERROR;

	if (l == NULL || net_session_open(&net, &args->net, "domains", DOMAINS_FDS) != 0)
		goto out;
	l->net = &net;
	l->pending = 1;
	l->status = RESOLVER_CANCELLED;
	if (resolver_query(net.resolver, args->domain, MTASTS_DNS_TYPE_MX, on_mx, l) != 0)
		goto out;
	event_base_dispatch(net.base);
	if (l->no_memory)
		goto out;
	if (l->too_many) {
		fprintf(stderr, PROGRAM_NAME " domains: add: %s has more than %d MX hosts: "
			"nothing added (give --mx)\n", args->domain, MX_HOSTS_MAX);
		rc = DOMAINS_EXIT_INVALID;
		goto out;
	}
	if (l->count == 0 || l->null_mx) {
		rc = no_hosts(args, l);
		goto out;
	}
	for (size_t i = 0; i < l->count; i++) {
		char why[200];
		size_t offset = 0;

		if (mtasts_mx_host_check(l->hosts[i].name, strlen(l->hosts[i].name), &offset, why,
					 sizeof(why)))
			continue;
		fprintf(stderr, PROGRAM_NAME " domains: add: MX host ");
		print_text(stderr, l->hosts[i].name);
		fprintf(stderr, " is not a valid host name: %s (octet %zu): nothing added "
			"(give --mx)\n", why, offset + 1);
		rc = DOMAINS_EXIT_INVALID;
		goto out;
	}
	if (propose(l, suffixes, &patterns, &count) != 0)
		goto out;
	/* The proposal must cover every MX host, by the matching senders use. */
	for (size_t i = 0; i < l->count; i++) {
		if (covering(patterns, count, l->hosts[i].name) != NULL)
			continue;
		fprintf(stderr, PROGRAM_NAME " domains: add: the patterns proposed do not cover "
			"the MX host ");
		print_text(stderr, l->hosts[i].name);
		fprintf(stderr, ": nothing added (give --mx)\n");
		rc = DOMAINS_EXIT_INVALID;
		goto out;
	}
	if (count > HOSTED_MX_MAX) {
		fprintf(stderr, PROGRAM_NAME " domains: add: the %zu MX hosts of %s need %zu mx "
			"patterns, more than the %d a hosted policy has: nothing added (give --mx "
			"with wildcards)\n", l->count, args->domain, count, HOSTED_MX_MAX);
		rc = DOMAINS_EXIT_INVALID;
		goto out;
	}
	print_proposal(args, l, patterns, count);
	*ret_patterns = patterns;
	*ret_count = count;
	patterns = NULL;
	count = 0;
	rc = 0;
out:
	for (size_t i = 0; i < count; i++)
		free(patterns[i]);
	free(patterns);
	net_session_close(&net);
	if (l != NULL)
		free(l->hosts);
	free(l);
	return rc;
}

/* ---- verify -------------------------------------------------------------- */

struct verify_run {
	struct net_session net;
	int pending;
	const struct domains_records *records;
	struct fetch_result *discovery;
	struct address_answer host;	/* mta-sts.<domain>'s addresses, copied */
	struct sockaddr_storage host_addresses[FETCH_ADDRESSES_MAX * 4];
	bool host_seen;
	enum resolver_status cname_status;
	char cname[MTASTS_DNS_NAME_MAX + 2];	/* the CNAME at mta-sts.<domain>, "" none */
	enum resolver_status tlsrpt_status;
	struct mtasts_tlsrpt_record *tlsrpt;
	bool tlsrpt_multiple;
	unsigned problems;
	unsigned unknowns;		/* problems that could not be checked now */
};

static void on_discovered(void *arg, struct fetch_result *result)
{
	struct verify_run *v = arg;

	v->discovery = result;
	stop_loop(&v->net, &v->pending);
}

static void on_host_addresses(void *arg, const struct address_answer *answer)
{
	struct verify_run *v = arg;
	size_t n = answer->status == RESOLVER_OK ? answer->count : 0;

	if (n > sizeof(v->host_addresses) / sizeof(v->host_addresses[0]))
		n = sizeof(v->host_addresses) / sizeof(v->host_addresses[0]);
	v->host_seen = true;
	v->host.status = answer->status;
	v->host.count = n;
	v->host.addresses = v->host_addresses;
	if (n > 0)
		memcpy(v->host_addresses, answer->addresses, n * sizeof(v->host_addresses[0]));
}

static void on_cname(void *arg, const struct dns_answer *answer)
{
	struct verify_run *v = arg;
	const char *host = v->records->items[1].name;
	size_t host_len = strlen(host) - 1;	/* without the final dot */

	v->cname_status = answer->status;
	for (size_t i = 0; answer->message != NULL && i < answer->message->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &answer->message->answers[i];

		if (rr->type == MTASTS_DNS_TYPE_CNAME && strlen(rr->name) == host_len &&
		    strncmp(rr->name, host, host_len) == 0)
			snprintf(v->cname, sizeof(v->cname), "%s.", rr->target);
	}
	stop_loop(&v->net, &v->pending);
}

static void on_tlsrpt(void *arg, const struct dns_answer *answer)
{
	struct verify_run *v = arg;
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX + 1];
	struct mtasts_diags diags;
	size_t n;

	v->tlsrpt_status = answer->status;
	if (answer->status == RESOLVER_OK) {
		n = mtasts_dns_message_txt_records(answer->message, records,
						   MTASTS_TXT_RECORDS_MAX + 1);
		mtasts_diags_init(&diags);
		mtasts_tlsrpt_record_parse(records, n > MTASTS_TXT_RECORDS_MAX + 1 ?
					   MTASTS_TXT_RECORDS_MAX + 1 : n, &v->tlsrpt, &diags);
		v->tlsrpt_multiple = mtasts_diags_find(&diags, MTASTS_TLSRPT_MULTIPLE_RECORDS) != NULL;
	}
	stop_loop(&v->net, &v->pending);
}

/* One line of the verdict, and its JSON. */
static void verdict(struct verify_run *v, json_t *list, const struct domains_record *r,
		    bool ok, const char *state, const char *detail)
{
	if (!ok)
		v->problems++;
	if (strcmp(state, "unknown") == 0)
		v->unknowns++;
	if (list != NULL) {
		json_t *o = json_pack("{s:s, s:s, s:o, s:b, s:s}", "name", r->name, "type", r->type,
				      "expected", r->data[0] != '\0' ? json_string(r->data) :
				      json_null(), "published", ok, "state", state);

		if (o != NULL && detail != NULL)
			json_object_set_new(o, "detail", json_text(detail));
		json_array_append_new(list, o);
		return;
	}
	printf("%-11s %s %s", state, r->name, r->type);
	if (detail != NULL) {
		fputs(": ", stdout);
		print_text(stdout, detail);
	}
	putchar('\n');
}

static void judge_sts_record(struct verify_run *v, json_t *list, const struct domains_record *r,
			     const char *id)
{
	const struct fetch_result *d = v->discovery;
	char detail[MTASTS_FETCH_REASON_MAX + 128];

	if (d->txt_id != NULL && strcmp(d->txt_id, id) == 0) {
		verdict(v, list, r, true, "published", NULL);
	} else if (d->txt_id != NULL) {
		snprintf(detail, sizeof(detail), "id %s is published; the hosted policy's is %s",
			 d->txt_id, id);
		verdict(v, list, r, false, "stale", detail);
	} else if (mtasts_diags_find(&d->txt_diags, MTASTS_TXT_MULTIPLE_RECORDS) != NULL) {
		verdict(v, list, r, false, "several", d->record.reason);
	} else if (d->record.status == MTASTS_FETCH_NO_POLICY) {
		verdict(v, list, r, false, "missing", d->record.reason);
	} else if (d->record.status == MTASTS_FETCH_TEMP_FAIL) {
		verdict(v, list, r, false, "unknown", d->record.reason);
	} else {
		verdict(v, list, r, false, "invalid", d->record.reason);
	}
}

static bool address_is(const struct sockaddr_storage *ss, const char *text)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (ss->ss_family == AF_INET && inet_pton(AF_INET, text, &a4) == 1)
		return memcmp(&((const struct sockaddr_in *)ss)->sin_addr, &a4, 4) == 0;
	if (ss->ss_family == AF_INET6 && inet_pton(AF_INET6, text, &a6) == 1)
		return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &a6, 16) == 0;
	return false;
}

static bool address_published(const struct verify_run *v, const char *text)
{
	for (size_t i = 0; i < v->host.count; i++)
		if (address_is(&v->host.addresses[i], text))
			return true;
	return false;
}

/*
 * Addresses of the policy host published but not among policy_addresses:
 * senders would try them too.  first..end are the A and AAAA records.
 */
static void judge_extra_addresses(struct verify_run *v, json_t *list,
				  const struct domains_record *first, const struct domains_record *end)
{
	for (size_t i = 0; v->host.status == RESOLVER_OK && i < v->host.count; i++) {
		const struct sockaddr_storage *ss = &v->host.addresses[i];
		const void *bits = ss->ss_family == AF_INET ?
			(const void *)&((const struct sockaddr_in *)ss)->sin_addr :
			(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		struct domains_record r = { .type = ss->ss_family == AF_INET ? "A" : "AAAA" };
		char text[INET6_ADDRSTRLEN], detail[INET6_ADDRSTRLEN + 64];
		bool listed = false;

		for (const struct domains_record *p = first; p < end && !listed; p++)
			listed = address_is(ss, p->data);
		if (listed || inet_ntop(ss->ss_family, bits, text, sizeof(text)) == NULL)
			continue;
		memcpy(r.name, first->name, sizeof(r.name));
		snprintf(detail, sizeof(detail), "%s is published, but is not in policy_addresses",
			 text);
		verdict(v, list, &r, false, "different", detail);
	}
}

static void judge_policy_host(struct verify_run *v, json_t *list, const struct domains_record *r)
{
	char detail[MTASTS_DNS_NAME_MAX + 128];

	if (strcmp(r->type, "CNAME") == 0) {
		if (strcasecmp(v->cname, r->data) == 0)
			verdict(v, list, r, true, "published", NULL);
		else if (v->cname[0] != '\0') {
			snprintf(detail, sizeof(detail), "a CNAME of %s is published", v->cname);
			verdict(v, list, r, false, "different", detail);
		} else if (resolver_status_is_temporary(v->cname_status)) {
			snprintf(detail, sizeof(detail), "the lookup failed: %s",
				 resolver_status_name(v->cname_status));
			verdict(v, list, r, false, "unknown", detail);
		} else
			verdict(v, list, r, false, "missing", "no CNAME record");
		return;
	}
	if (address_published(v, r->data))
		verdict(v, list, r, true, "published", NULL);
	else if (v->host_seen && resolver_status_is_temporary(v->host.status)) {
		snprintf(detail, sizeof(detail), "the lookup failed: %s",
			 resolver_status_name(v->host.status));
		verdict(v, list, r, false, "unknown", detail);
	} else
		verdict(v, list, r, false, "missing", "the host does not have this address");
}

/* The policy the host serves, fetched as a sender does, against the hosted body. */
static void judge_policy(struct verify_run *v, json_t *list, const char *domain,
			 const struct hosted_policy *policy)
{
	const struct fetch_result *d = v->discovery;
	struct domains_record r = { .type = "HTTPS" };
	const struct fetch_attempt *got = NULL;

	snprintf(r.name, sizeof(r.name), "https://mta-sts.%s/.well-known/mta-sts.txt", domain);
	snprintf(r.data, sizeof(r.data), "%s", policy->id);
	for (size_t i = 0; i < d->attempt_count && got == NULL; i++)
		if (d->attempts[i].responded)
			got = &d->attempts[i];
	if (got != NULL && got->body_len == policy->body_len &&
	    memcmp(got->body, policy->body, policy->body_len) == 0)
		verdict(v, list, &r, true, "published", NULL);
	else if (got != NULL)
		verdict(v, list, &r, false, "different", "the policy served is not the hosted one");
	else if ((v->host_seen && resolver_status_is_temporary(v->host.status)) ||
		 (!d->host_looked_up && d->record.status == MTASTS_FETCH_TEMP_FAIL)) {
		char detail[MTASTS_FETCH_REASON_MAX + 64];

		snprintf(detail, sizeof(detail), "not fetched: %s", v->host_seen &&
			 resolver_status_is_temporary(v->host.status) ? "the host's address "
			 "lookup failed" : d->record.reason);
		verdict(v, list, &r, false, "unknown", detail);
	} else {
		char detail[MTASTS_FETCH_REASON_MAX + 64];

		snprintf(detail, sizeof(detail), "policy host unreachable: %s",
			 d->attempt_count > 0 ? d->attempts[0].outcome.reason :
			 d->host_looked_up ? "it has no address" : d->reason);
		verdict(v, list, &r, false, "unreachable", detail);
	}
}

static bool same_rua(const struct mtasts_tlsrpt_record *a, const struct mtasts_tlsrpt_record *b)
{
	if (a == NULL || b == NULL || a->rua_count != b->rua_count)
		return false;
	for (size_t i = 0; i < a->rua_count; i++)
		if (strcmp(a->rua[i], b->rua[i]) != 0)
			return false;
	return true;
}

static void judge_tlsrpt(struct verify_run *v, json_t *list, const struct domains_record *r)
{
	struct mtasts_bytes bytes = { r->data, strlen(r->data) };
	struct mtasts_tlsrpt_record *expected = NULL;
	struct mtasts_diags diags;
	char detail[64];

	/* The record as printed, read by the same parser as the one published. */
	mtasts_diags_init(&diags);
	mtasts_tlsrpt_record_parse(&bytes, 1, &expected, &diags);
	if (v->tlsrpt_multiple)
		verdict(v, list, r, false, "several", "more than one TLSRPT record is published");
	else if (same_rua(v->tlsrpt, expected))
		verdict(v, list, r, true, "published", NULL);
	else if (v->tlsrpt != NULL)
		verdict(v, list, r, false, "different", "the published record has another rua");
	else if (resolver_status_is_temporary(v->tlsrpt_status)) {
		snprintf(detail, sizeof(detail), "the lookup failed: %s",
			 resolver_status_name(v->tlsrpt_status));
		verdict(v, list, r, false, "unknown", detail);
	} else
		verdict(v, list, r, false, "missing", "no valid TLSRPT record");
	mtasts_tlsrpt_record_free(expected);
}

static int start_lookups(struct verify_run *v, const char *domain, struct fetch_options *options)
{
	char name[HOSTED_NAME_MAX + 16];

	v->pending = 3;
	snprintf(name, sizeof(name), "mta-sts.%s", domain);
	if (resolver_query(v->net.resolver, name, MTASTS_DNS_TYPE_A, on_cname, v) != 0)
		return -1;
	snprintf(name, sizeof(name), "_smtp._tls.%s", domain);
	if (resolver_query(v->net.resolver, name, MTASTS_DNS_TYPE_TXT, on_tlsrpt, v) != 0)
		return -1;
	return fetch_policy(v->net.base, v->net.resolver, v->net.http, domain, options,
			    on_discovered, v) != 0 ? -1 : 0;
}

static void print_verify(struct verify_run *v, const struct domains_args *args,
			 const struct hosted_policy *policy)
{
	const struct domains_records *records = v->records;
	json_t *list = args->json ? json_array() : NULL;

	size_t hosts_end = 1;

	judge_sts_record(v, list, &records->items[0], policy->id);
	while (hosts_end < records->count &&
	       strncmp(records->items[hosts_end].name, "mta-sts.", 8) == 0)
		judge_policy_host(v, list, &records->items[hosts_end++]);
	if (hosts_end > 1 && strcmp(records->items[1].type, "CNAME") != 0)
		judge_extra_addresses(v, list, &records->items[1], &records->items[hosts_end]);
	judge_policy(v, list, args->domain, policy);
	if (!records->no_rua)
		judge_tlsrpt(v, list, &records->items[records->count - 1]);
	if (args->json) {
		json_t *o = json_pack("{s:s, s:o, s:b}", "domain", args->domain, "checks", list,
				      "all_published", v->problems == 0);

		print_json(o);
		json_decref(o);
	} else if (v->problems == 0)
		printf("%s: every record is published as 'mtasts domains dns' prints it\n",
		       args->domain);
	else
		printf("%s: %u not as 'mtasts domains dns' prints %s\n", args->domain, v->problems,
		       v->problems == 1 ? "it" : "them");
}

int domains_run_verify(struct domains_args *args)
{
	struct hosted_domain domain = { 0 };
	struct hosted_policy policy = { 0 };
	struct domains_records records;
	struct domain_registry *registry;
	struct verify_run *v = calloc(1, sizeof(*v));
	struct fetch_observer observer = { .addresses = on_host_addresses };
	struct fetch_options options = {
		.timeout_ms = args->net.timeout_ms,
		.past_record_failure = true,
		.observer = &observer,
	};
	char why[SERVE_WHY_SIZE];
	int rc;

	if (v == NULL)
		return EXIT_LOCAL_ERROR;
	if ((registry = domains_open(args, true, &rc)) == NULL) {
		free(v);
		return rc;
	}
	if ((rc = domain_registry_get(registry, args->domain, &domain, why, sizeof(why))) != 0 ||
	    (rc = hosted_policy_render(&domain, &policy, why, sizeof(why)) != 0 ?
	     REGISTRY_INVALID : 0) != 0) {
		rc = domains_registry_error(args, rc, why);
		goto out;
	}
	domain_registry_close(registry);
	registry = NULL;
	if ((rc = domains_records_make(args, &domain, &policy, &records)) != 0)
		goto out;
	v->records = &records;
	observer.arg = v;
	rc = EXIT_LOCAL_ERROR;
	if (net_session_open(&v->net, &args->net, "domains", DOMAINS_FDS) != 0)
		goto out;
	if (start_lookups(v, domain.name, &options) != 0) {
		fprintf(stderr, PROGRAM_NAME " domains: verify: the lookups could not start\n");
		goto out;
	}
	if (v->pending > 0)
		event_base_dispatch(v->net.base);
	if (v->discovery == NULL || v->discovery->local) {
		fprintf(stderr, PROGRAM_NAME " domains: verify: %s\n", v->discovery != NULL ?
			v->discovery->reason : "the discovery did not end");
		/* A resolver that does not answer may answer later, as add --from-dns says. */
		if (v->cname_status == RESOLVER_SILENT || v->tlsrpt_status == RESOLVER_SILENT)
			rc = DOMAINS_EXIT_TEMPFAIL;
		goto out;
	}
	print_verify(v, args, &policy);
	/* Only what could not be checked now: try again, not a record to fix. */
	rc = v->problems == 0 ? EXIT_VALID : v->problems == v->unknowns ?
	     DOMAINS_EXIT_TEMPFAIL : DOMAINS_EXIT_PROBLEM;
out:
	net_session_close(&v->net);
	fetch_result_free(v->discovery);
	mtasts_tlsrpt_record_free(v->tlsrpt);
	free(v);
	hosted_policy_release(&policy);
	hosted_domain_release(&domain);
	if (registry != NULL)
		domain_registry_close(registry);
	return rc;
}
