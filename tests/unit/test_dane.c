/*
 * test_dane.c - the DANE decision (lib/io/dane.c) over answers made in
 * memory, table-driven: which MX hosts are examined, what the answers
 * about one host say, and all hosts together.
 */
#include <stdlib.h>

#include "unit.h"

#include "dane.h"

/* ------------------------------------------------ answers in memory */

struct tlsa_spec {
	uint8_t usage, selector, matching;
	size_t len;
};

/* An answer as a validating resolver gives it. */
struct spec {
	enum resolver_status status;
	bool ad;
	const char *cname;		/* the name is an alias of this one */
	const char *other_owner;	/* records at another name than asked */
	struct tlsa_spec tlsa[3];	/* for a TLSA answer with status OK */
	size_t tlsa_count;
	const char *mx[20];		/* "PREF HOST" or "0 ." for an MX answer */
};

#define OK_AD { .status = RESOLVER_OK, .ad = true }
#define OK_INSECURE { .status = RESOLVER_OK, .ad = false }
#define NODATA_AD { .status = RESOLVER_NODATA, .ad = true }
#define NODATA_INSECURE { .status = RESOLVER_NODATA, .ad = false }
#define NX_AD { .status = RESOLVER_NXDOMAIN, .ad = true }
#define SERVFAIL { .status = RESOLVER_SERVFAIL, .ad = false }
#define TIMEOUT { .status = RESOLVER_TIMEOUT, .ad = false }
#define TLSA_AD(...) { .status = RESOLVER_OK, .ad = true, .tlsa = { __VA_ARGS__ }, \
	.tlsa_count = sizeof((struct tlsa_spec[]){ __VA_ARGS__ }) / sizeof(struct tlsa_spec) }
#define DANE_EE { 3, 1, 1, 32 }
#define DANE_TA { 2, 0, 2, 64 }
#define PKIX_EE { 1, 1, 1, 32 }

static const uint8_t zeros[64];

struct made {
	struct dns_answer answer;
	struct mtasts_dns_message message;
	struct mtasts_dns_rr rrs[24];
};

static struct mtasts_dns_rr *add_rr(struct made *m, const char *owner, uint16_t type)
{
	struct mtasts_dns_rr *rr = &m->rrs[m->message.answer_count++];

	assert_true(m->message.answer_count <= ARRAY_LEN(m->rrs));
	snprintf(rr->name, sizeof(rr->name), "%s", owner);
	rr->type = type;
	rr->rclass = MTASTS_DNS_CLASS_IN;
	return rr;
}

/* The answer of spec to a query for name and type, in m. */
static const struct dns_answer *make(struct made *m, const struct spec *spec,
				     const char *name, uint16_t type)
{
	const char *owner = name;

	memset(m, 0, sizeof(*m));
	m->answer.status = spec->status;
	if (spec->status == RESOLVER_TIMEOUT)
		return &m->answer;		/* no response at all */
	m->answer.message = &m->message;
	m->message.response = true;
	m->message.authenticated = spec->ad;
	m->message.rcode = spec->status == RESOLVER_SERVFAIL ? MTASTS_DNS_RCODE_SERVFAIL :
			   spec->status == RESOLVER_NXDOMAIN ? MTASTS_DNS_RCODE_NXDOMAIN :
			   MTASTS_DNS_RCODE_NOERROR;
	snprintf(m->message.question, sizeof(m->message.question), "%s", name);
	m->message.question_type = type;
	m->message.answers = m->rrs;
	if (spec->cname != NULL) {
		snprintf(add_rr(m, name, MTASTS_DNS_TYPE_CNAME)->target,
			 sizeof(m->rrs[0].target), "%s", spec->cname);
		owner = spec->cname;
	}
	if (spec->other_owner != NULL)
		owner = spec->other_owner;
	if (spec->status != RESOLVER_OK)
		return &m->answer;
	if (type == MTASTS_DNS_TYPE_A || type == MTASTS_DNS_TYPE_AAAA)
		add_rr(m, owner, type);
	for (size_t i = 0; type == MTASTS_DNS_TYPE_TLSA && i < spec->tlsa_count; i++) {
		struct mtasts_dns_rr *rr = add_rr(m, owner, type);

		rr->tlsa_usage = spec->tlsa[i].usage;
		rr->tlsa_selector = spec->tlsa[i].selector;
		rr->tlsa_matching = spec->tlsa[i].matching;
		rr->tlsa_data = zeros;
		rr->tlsa_data_len = spec->tlsa[i].len;
	}
	for (size_t i = 0; type == MTASTS_DNS_TYPE_MX && spec->mx[i] != NULL; i++) {
		struct mtasts_dns_rr *rr = add_rr(m, owner, type);
		char host[MTASTS_DNS_NAME_MAX + 1];
		unsigned pref;

		assert_int_equal(sscanf(spec->mx[i], "%u %255s", &pref, host), 2);
		rr->preference = (uint16_t)pref;
		snprintf(rr->target, sizeof(rr->target), "%s", strcmp(host, ".") == 0 ? "" : host);
	}
	return &m->answer;
}

/* ------------------------------------------------------ the MX hosts */

struct select_case {
	const char *about;
	struct spec mx;
	bool go_on;
	enum dane_status status;	/* when not go_on */
	const char *hosts[DANE_MX_HOSTS_MAX + 1];	/* when go_on, in order */
	const char *reason;		/* a part of result.reason */
};

#define MX_AD(...) { .status = RESOLVER_OK, .ad = true, .mx = { __VA_ARGS__, NULL } }

static const struct select_case select_cases[] = {
	{ "one validated MX host", MX_AD("10 mx.example.com"), true, 0,
	  { "mx.example.com" }, NULL },
	{ "most preferred first, a host named twice examined once",
	  MX_AD("20 b.example.com", "10 c.example.com", "10 a.example.com", "30 a.example.com"),
	  true, 0, { "a.example.com", "c.example.com", "b.example.com" }, NULL },
	{ "an MX RRset without AD", { .status = RESOLVER_OK, .ad = false, .mx = { "10 mx.example.com" } },
	  false, DANE_NONE, { NULL }, "MX RRset of example.com is not DNSSEC-validated" },
	{ "no MX, validated: the domain is its own host", NODATA_AD, true, 0,
	  { "example.com" }, NULL },
	{ "no MX, not validated", NODATA_INSECURE, false, DANE_NONE, { NULL },
	  "not DNSSEC-validated" },
	{ "the domain does not exist", NX_AD, false, DANE_NONE, { NULL }, "NXDOMAIN" },
	{ "a null MX", MX_AD("0 ."), false, DANE_NONE, { NULL }, "null MX" },
	{ "SERVFAIL (also bogus data)", SERVFAIL, false, DANE_TEMP, { NULL },
	  "MX lookup of example.com failed: SERVFAIL" },
	{ "no response", TIMEOUT, false, DANE_TEMP, { NULL }, "timed out" },
	{ "MX records at another name than asked",
	  { .status = RESOLVER_OK, .ad = true, .other_owner = "elsewhere.example", .mx = { "10 mx.example.com" } },
	  false, DANE_NONE, { NULL }, "no MX record" },
	{ "through a CNAME: the records at its end",
	  { .status = RESOLVER_OK, .ad = true, .cname = "alias.example.net", .mx = { "10 mx.example.net" } },
	  true, 0, { "mx.example.net" }, NULL },
	{ "16 hosts are examined",
	  MX_AD("1 h1.x", "2 h2.x", "3 h3.x", "4 h4.x", "5 h5.x", "6 h6.x", "7 h7.x",
		"8 h8.x", "9 h9.x", "10 h10.x", "11 h11.x", "12 h12.x", "13 h13.x",
		"14 h14.x", "15 h15.x", "16 h16.x"),
	  true, 0, { "h1.x", "h2.x", "h3.x", "h4.x", "h5.x", "h6.x", "h7.x", "h8.x",
		     "h9.x", "h10.x", "h11.x", "h12.x", "h13.x", "h14.x", "h15.x", "h16.x" },
	  NULL },
	{ "17 hosts are not",
	  MX_AD("1 h1.x", "2 h2.x", "3 h3.x", "4 h4.x", "5 h5.x", "6 h6.x", "7 h7.x",
		"8 h8.x", "9 h9.x", "10 h10.x", "11 h11.x", "12 h12.x", "13 h13.x",
		"14 h14.x", "15 h15.x", "16 h16.x", "17 h17.x"),
	  false, DANE_NONE, { NULL }, "more than 16 MX hosts" },
};

static void test_select_hosts(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(select_cases); i++) {
		const struct select_case *c = &select_cases[i];
		struct made *m = calloc(1, sizeof(*m));
		struct dane_hosts hosts = { .count = 99 };
		struct dane_result r = { 0 };
		bool go_on;

		assert_non_null(m);
		go_on = dane_select_hosts("example.com", make(m, &c->mx, "example.com",
							       MTASTS_DNS_TYPE_MX), &hosts, &r);
		print_message("select: %s -> %s %s\n", c->about, go_on ? "hosts" :
			      dane_status_name(r.status), go_on ? "" : r.reason);
		assert_int_equal(go_on, c->go_on);
		if (go_on) {
			size_t n = 0;

			while (c->hosts[n] != NULL)
				n++;
			assert_int_equal(hosts.count, n);
			for (size_t k = 0; k < n; k++)
				assert_string_equal(hosts.names[k], c->hosts[k]);
		} else {
			assert_int_equal(hosts.count, 99);	/* untouched */
			assert_int_equal(r.status, c->status);
			assert_non_null(strstr(r.reason, c->reason));
		}
		free(m);
	}
}

/* ------------------------------------------------------- one host */

#define NOT_IN { .status = RESOLVER_CANCELLED, .ad = false }	/* marks "no answer yet" */

struct host_case {
	const char *about;
	struct spec a, aaaa, tlsa;
	enum dane_status status;
	bool usable_tlsa;
	const char *reason;
};

static const struct host_case host_cases[] = {
	{ "DANE-EE, validated, IPv4 only", OK_AD, NODATA_AD, TLSA_AD(DANE_EE),
	  DANE_USABLE, true, NULL },
	{ "DANE-TA with SHA-512, IPv6 only", NODATA_AD, OK_AD, TLSA_AD(DANE_TA),
	  DANE_USABLE, true, NULL },
	{ "one usable record among unusable ones", OK_AD, OK_AD,
	  TLSA_AD(PKIX_EE, { 0, 0, 1, 32 }, DANE_EE), DANE_USABLE, true, NULL },
	{ "full data (matching type 0)", OK_AD, NODATA_AD, TLSA_AD({ 3, 0, 0, 700 }),
	  DANE_USABLE, true, NULL },
	{ "no TLSA records, validated denial", OK_AD, NODATA_AD, NODATA_AD,
	  DANE_NONE, false, "has no TLSA records" },
	{ "no TLSA name at all", OK_AD, NODATA_AD, NX_AD, DANE_NONE, false, "NXDOMAIN" },
	{ "TLSA not validated (insecure zone)", OK_AD, NODATA_AD,
	  { .status = RESOLVER_OK, .ad = false, .tlsa = { DANE_EE }, .tlsa_count = 1 },
	  DANE_NONE, false, "TLSA records of mx.example.com are not DNSSEC-validated" },
	{ "only PKIX usages (0, 1): unusable for SMTP", OK_AD, NODATA_AD,
	  TLSA_AD(PKIX_EE, { 0, 0, 1, 32 }), DANE_NONE, false, "none of the 2 TLSA records" },
	{ "SHA-256 of the wrong length", OK_AD, NODATA_AD, TLSA_AD({ 3, 1, 1, 20 }),
	  DANE_NONE, false, "usable for SMTP" },
	{ "unknown selector", OK_AD, NODATA_AD, TLSA_AD({ 3, 2, 1, 32 }),
	  DANE_NONE, false, "usable for SMTP" },
	{ "unknown matching type", OK_AD, NODATA_AD, TLSA_AD({ 3, 1, 3, 32 }),
	  DANE_NONE, false, "usable for SMTP" },
	{ "TLSA through a validated CNAME: the records at its end", OK_AD, NODATA_AD,
	  { .status = RESOLVER_OK, .ad = true, .cname = "_dane.provider.example", .tlsa = { DANE_EE },
	    .tlsa_count = 1 }, DANE_USABLE, true, NULL },
	{ "TLSA records at another name than asked", OK_AD, NODATA_AD,
	  { .status = RESOLVER_OK, .ad = true, .other_owner = "_25._tcp.other.example", .tlsa = { DANE_EE },
	    .tlsa_count = 1 }, DANE_NONE, false, "none of the 0 TLSA records" },
	{ "TLSA SERVFAIL (bogus)", OK_AD, NODATA_AD, SERVFAIL, DANE_TEMP, false,
	  "TLSA lookup of _25._tcp.mx.example.com failed: SERVFAIL" },
	{ "TLSA timed out", OK_AD, NODATA_AD, TIMEOUT, DANE_TEMP, false, "timed out" },
	{ "TLSA not answered yet", OK_AD, NODATA_AD, NOT_IN, DANE_TEMP, false,
	  "has no answer" },
	{ "address records not validated: no DANE there (RFC 7672 2.2.2)",
	  OK_INSECURE, NODATA_INSECURE, TLSA_AD(DANE_EE), DANE_NONE, true,
	  "A answer for mx.example.com is not DNSSEC-validated" },
	{ "AAAA alone not validated", OK_AD, NODATA_INSECURE, TLSA_AD(DANE_EE),
	  DANE_NONE, true, "AAAA answer" },
	{ "the host does not exist", NX_AD, NX_AD, NX_AD, DANE_NONE, false, "NXDOMAIN" },
	{ "no address at all", NODATA_AD, NODATA_AD, TLSA_AD(DANE_EE), DANE_NONE, true,
	  "has no address" },
	{ "the host is an alias", { .status = RESOLVER_OK, .ad = true, .cname = "real.example.net" },
	  NODATA_AD, TLSA_AD(DANE_EE), DANE_NONE, true, "alias (CNAME) of real.example.net" },
	{ "A SERVFAIL", SERVFAIL, NODATA_AD, TLSA_AD(DANE_EE), DANE_TEMP, true,
	  "A lookup of mx.example.com failed" },
	{ "AAAA not answered yet", OK_AD, NOT_IN, TLSA_AD(DANE_EE), DANE_TEMP, true,
	  "AAAA lookup of mx.example.com has no answer" },
	/* A NONE is final: what is missing or failed cannot make it usable. */
	{ "no TLSA, validated, while A failed", SERVFAIL, NOT_IN, NODATA_AD, DANE_NONE,
	  false, "has no TLSA records" },
	{ "address insecure, TLSA not answered", OK_INSECURE, NOT_IN, NOT_IN, DANE_NONE,
	  false, "not DNSSEC-validated" },
	{ "the TLSA reason comes first", OK_INSECURE, NODATA_AD, TLSA_AD(PKIX_EE),
	  DANE_NONE, false, "none of the 1 TLSA records" },
};

static const struct dns_answer *make_or_null(struct made *m, const struct spec *s,
					     const char *name, uint16_t type)
{
	if (s->status == RESOLVER_CANCELLED)
		return NULL;
	return make(m, s, name, type);
}

static void test_judge_host(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(host_cases); i++) {
		const struct host_case *c = &host_cases[i];
		struct made *m = calloc(3, sizeof(*m));
		struct dane_host_answers h = { .host = "mx.example.com" };
		char why[DANE_REASON_MAX] = "";
		bool usable = !c->usable_tlsa;
		enum dane_status s;

		assert_non_null(m);
		h.a = make_or_null(&m[0], &c->a, h.host, MTASTS_DNS_TYPE_A);
		h.aaaa = make_or_null(&m[1], &c->aaaa, h.host, MTASTS_DNS_TYPE_AAAA);
		h.tlsa = make_or_null(&m[2], &c->tlsa, "_25._tcp.mx.example.com",
				      MTASTS_DNS_TYPE_TLSA);
		s = dane_judge_host(&h, &usable, why, sizeof(why));
		print_message("host: %s -> %s %s\n", c->about, dane_status_name(s), why);
		assert_int_equal(s, c->status);
		assert_int_equal(usable, c->usable_tlsa);
		if (c->reason != NULL)
			assert_non_null(strstr(why, c->reason));
		free(m);
	}
}

/* ------------------------------------------------------- all hosts */

enum host_kind { H_DANE, H_NO_TLSA, H_TLSA_INSECURE, H_SERVFAIL, H_PENDING };

struct decide_case {
	const char *about;
	enum host_kind hosts[4];
	size_t count;
	enum dane_status status;
	size_t tlsa_hosts;
	const char *reason;
};

static const struct decide_case decide_cases[] = {
	{ "one host with DANE", { H_DANE }, 1, DANE_USABLE, 1, "every MX host of example.com (1)" },
	{ "two hosts with DANE", { H_DANE, H_DANE }, 2, DANE_USABLE, 2, "(2)" },
	{ "two hosts, one without TLSA: a sender would not use DANE there",
	  { H_DANE, H_NO_TLSA }, 2, DANE_NONE, 1, "h1.example.com has no TLSA records" },
	{ "the first reason by preference", { H_NO_TLSA, H_TLSA_INSECURE }, 2, DANE_NONE, 0,
	  "h0.example.com has no TLSA" },
	{ "one host failed", { H_DANE, H_SERVFAIL }, 2, DANE_TEMP, 1,
	  "_25._tcp.h1.example.com failed: SERVFAIL" },
	{ "a failure and a validated denial: the denial decides",
	  { H_SERVFAIL, H_NO_TLSA }, 2, DANE_NONE, 0, "h1.example.com has no TLSA" },
	{ "an answer still missing", { H_DANE, H_PENDING }, 2, DANE_TEMP, 1, "no answer" },
	{ "an insecure TLSA RRset", { H_TLSA_INSECURE }, 1, DANE_NONE, 0, "not DNSSEC-validated" },
	{ "no host", { H_DANE }, 0, DANE_NONE, 0, "no MX host" },
};

static void test_decide(void **state)
{
	static const struct spec tlsa_of[] = {
		[H_DANE] = TLSA_AD(DANE_EE),
		[H_NO_TLSA] = NODATA_AD,
		[H_TLSA_INSECURE] = { .status = RESOLVER_OK, .ad = false, .tlsa = { DANE_EE }, .tlsa_count = 1 },
		[H_SERVFAIL] = SERVFAIL,
		[H_PENDING] = NOT_IN,
	};
	static const struct spec address = OK_AD, none = NODATA_AD;

	for (size_t i = 0; i < ARRAY_LEN(decide_cases); i++) {
		const struct decide_case *c = &decide_cases[i];
		struct made *m = calloc(12, sizeof(*m));
		struct dane_host_answers h[4];
		char names[4][48], tlsa_names[4][64];
		struct dane_result r = { 0 };

		assert_non_null(m);
		for (size_t k = 0; k < c->count; k++) {
			snprintf(names[k], sizeof(names[k]), "h%zu.example.com", k);
			snprintf(tlsa_names[k], sizeof(tlsa_names[k]), "_25._tcp.h%zu.example.com", k);
			h[k].host = names[k];
			h[k].a = make(&m[3 * k], &address, names[k], MTASTS_DNS_TYPE_A);
			h[k].aaaa = make(&m[3 * k + 1], &none, names[k], MTASTS_DNS_TYPE_AAAA);
			h[k].tlsa = make_or_null(&m[3 * k + 2], &tlsa_of[c->hosts[k]],
						 tlsa_names[k], MTASTS_DNS_TYPE_TLSA);
		}
		assert_int_equal(dane_decide("example.com", h, c->count, &r), c->status);
		print_message("decide: %s -> %s %s\n", c->about, dane_status_name(r.status),
			      r.reason);
		assert_int_equal(r.status, c->status);
		assert_int_equal(r.mx_count, c->count);
		assert_int_equal(r.tlsa_host_count, c->tlsa_hosts);
		assert_non_null(strstr(r.reason, c->reason));
		free(m);
	}
}

static void test_status_names(void **state)
{
	assert_string_equal(dane_status_name(DANE_USABLE), "usable");
	assert_string_equal(dane_status_name(DANE_NONE), "none");
	assert_string_equal(dane_status_name(DANE_TEMP), "temp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_hosts),
		cmocka_unit_test(test_judge_host),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
