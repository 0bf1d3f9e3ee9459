/*
 * bench_policy.c - micro-benchmark of the pure core: policy parsing, TXT
 * record parsing and MX matching, on inputs shaped like real ones.
 *
 * SYNOPSIS
 *	bench-policy [-n ROUNDS]
 *
 * DESCRIPTION
 *	Builds a mix of policies (1, 3 and 10 mx lines; CRLF and LF; with and
 *	without wildcards; enforce, testing and none), of TXT record sets and
 *	of MX pattern/host pairs, checks that each gives the expected verdict,
 *	then runs each mix ROUNDS times (default 100000) and prints the rate
 *	and the time per operation.  The work is a fixed number of
 *	iterations, not a fixed time, so that runs under valgrind count the
 *	same work as runs without it.
 *
 *	Each parse is done as a caller would: a fresh diagnostics list, the
 *	parse, then freeing the result.
 *
 * DIAGNOSTICS
 *	Exit 0 after printing the results; 1 when an input does not give its
 *	expected verdict; 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mtasts/diag.h>
#include <mtasts/mx.h>
#include <mtasts/policy.h>
#include <mtasts/tlsrpt.h>
#include <mtasts/txt.h>

#define DEFAULT_ROUNDS 100000L
#define POLICY_SIZE 1024

struct policy_shape {
	const char *name;
	const char *mode;
	int mx_lines;
	bool crlf;
	bool wildcards;
	const char *max_age;
};

static const struct policy_shape shapes[] = {
	{ "enforce, 1 mx, CRLF", "enforce", 1, true, false, "604800" },
	{ "enforce, 1 mx wildcard, LF", "enforce", 1, false, true, "86400" },
	{ "enforce, 3 mx, LF", "enforce", 3, false, false, "1209600" },
	{ "enforce, 3 mx wildcards, CRLF", "enforce", 3, true, true, "604800" },
	{ "enforce, 10 mx, CRLF", "enforce", 10, true, false, "31557600" },
	{ "enforce, 10 mx wildcards, LF", "enforce", 10, false, true, "2592000" },
	{ "testing, 3 mx, CRLF", "testing", 3, true, false, "86400" },
	{ "none, LF", "none", 0, false, false, "86400" },
};

#define POLICY_COUNT (sizeof(shapes) / sizeof(shapes[0]))

static char policy_text[POLICY_COUNT][POLICY_SIZE];
static size_t policy_len[POLICY_COUNT];

/* A policy as a domain would publish it, in the order most write it. */
static size_t build_policy(const struct policy_shape *s, char *buf, size_t size)
{
	const char *eol = s->crlf ? "\r\n" : "\n";
	size_t n = 0;

	n += (size_t)snprintf(buf + n, size - n, "version: STSv1%smode: %s%s",
			      eol, s->mode, eol);
	for (int i = 0; i < s->mx_lines; i++) {
		bool wild = s->wildcards && i % 2 == 0;

		n += (size_t)snprintf(buf + n, size - n, "mx: %smx%d.mail%d.example.com%s",
				      wild ? "*." : "", i + 1, i % 3, eol);
	}
	n += (size_t)snprintf(buf + n, size - n, "max_age: %s%s", s->max_age, eol);
	return n;
}

/* TXT record sets as DNS returns them: alone, or among unrelated records. */
static const char *const sts_alone[] = { "v=STSv1; id=20190429T010101;" };
static const char *const sts_among[] = {
	"v=spf1 include:_spf.example.com ~all",
	"google-site-verification=3hH8m2fPq0Lr6zT9vBnXwYcKdEuAaSs1",
	"v=STSv1; id=20240115T120000Z",
};
static const char *const tlsrpt_alone[] = {
	"v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/v1",
};
static const char *const tlsrpt_among[] = {
	"v=spf1 -all",
	"v=TLSRPTv1;rua=mailto:tls-reports@example.net",
};

struct record_set {
	const char *const *texts;
	size_t count;
};

static const struct record_set sts_sets[] = {
	{ sts_alone, 1 }, { sts_among, 3 },
};
static const struct record_set tlsrpt_sets[] = {
	{ tlsrpt_alone, 1 }, { tlsrpt_among, 2 },
};

struct mx_pair {
	const char *pattern;
	const char *host;
	bool match;
};

static const struct mx_pair mx_pairs[] = {
	{ "mx1.example.com", "mx1.example.com.", true },
	{ "mx1.example.com", "mx2.example.com.", false },
	{ "*.mail.example.com", "mx3.mail.example.com", true },
	{ "*.mail.example.com", "MX3.Mail.Example.COM.", true },
	{ "*.mail.example.com", "a.b.mail.example.com", false },
	{ "*.gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com.", true },
};

#define MX_PAIR_COUNT (sizeof(mx_pairs) / sizeof(mx_pairs[0]))

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, const char *units, const char *unit,
		   long ops, double seconds)
{
	printf("%-21s %9ld in %6.3f s: %10.0f %s/s, %7.1f ns/%s\n", what, ops,
	       seconds, (double)ops / seconds, units, seconds * 1e9 / (double)ops,
	       unit);
}

/* One parse as a caller does it; true when it gave a policy. */
static bool parse_one(size_t i, size_t *mx_total)
{
	struct mtasts_policy *p = NULL;
	struct mtasts_diags diags;

	mtasts_diags_init(&diags);
	if (mtasts_policy_parse(policy_text[i], policy_len[i], &p, &diags) != MTASTS_OK)
		return false;
	*mx_total += p->mx_count;
	mtasts_policy_free(p);
	return true;
}

static bool parse_records(const struct record_set *set, bool tlsrpt)
{
	struct mtasts_bytes records[4];
	struct mtasts_diags diags;
	int rc;

	for (size_t i = 0; i < set->count; i++) {
		records[i].data = set->texts[i];
		records[i].len = strlen(set->texts[i]);
	}
	mtasts_diags_init(&diags);
	if (tlsrpt) {
		struct mtasts_tlsrpt_record *r = NULL;

		rc = mtasts_tlsrpt_record_parse(records, set->count, &r, &diags);
		mtasts_tlsrpt_record_free(r);
	} else {
		struct mtasts_sts_record *r = NULL;

		rc = mtasts_sts_record_parse(records, set->count, &r, &diags);
		mtasts_sts_record_free(r);
	}
	return rc == MTASTS_OK;
}

static int bench_policies(long rounds)
{
	size_t octets = 0, mx_total = 0;
	double start;

	for (size_t i = 0; i < POLICY_COUNT; i++) {
		policy_len[i] = build_policy(&shapes[i], policy_text[i], POLICY_SIZE);
		octets += policy_len[i];
		if (!parse_one(i, &mx_total)) {
			fprintf(stderr, "bench-policy: policy \"%s\" does not parse\n",
				shapes[i].name);
			return 1;
		}
	}
	printf("policy mix: %zu policies, %zu octets on average\n", POLICY_COUNT,
	       octets / POLICY_COUNT);
	start = now();
	for (long r = 0; r < rounds; r++)
		for (size_t i = 0; i < POLICY_COUNT; i++)
			parse_one(i, &mx_total);
	report("policy parse", "policies", "policy", rounds * (long)POLICY_COUNT, now() - start);
	return mx_total > 0 ? 0 : 1;
}

static int bench_records(long rounds, const struct record_set *sets, size_t count,
			 bool tlsrpt)
{
	double start;

	for (size_t i = 0; i < count; i++) {
		if (!parse_records(&sets[i], tlsrpt)) {
			fprintf(stderr, "bench-policy: record set %zu does not parse\n", i);
			return 1;
		}
	}
	start = now();
	for (long r = 0; r < rounds; r++)
		for (size_t i = 0; i < count; i++)
			parse_records(&sets[i], tlsrpt);
	report(tlsrpt ? "tlsrpt record parse" : "sts txt record parse",
	       "parses", "parse",
	       rounds * (long)count, now() - start);
	return 0;
}

static int bench_mx(long rounds)
{
	size_t matched = 0;
	double start;

	for (size_t i = 0; i < MX_PAIR_COUNT; i++) {
		if (mtasts_mx_matches(mx_pairs[i].pattern, mx_pairs[i].host) !=
		    mx_pairs[i].match) {
			fprintf(stderr, "bench-policy: mx pair %zu gives the wrong "
				"verdict\n", i);
			return 1;
		}
	}
	start = now();
	for (long r = 0; r < rounds; r++)
		for (size_t i = 0; i < MX_PAIR_COUNT; i++)
			matched += mtasts_mx_matches(mx_pairs[i].pattern,
						     mx_pairs[i].host);
	report("mx match", "matches", "match", rounds * (long)MX_PAIR_COUNT, now() - start);
	return matched > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	long rounds = DEFAULT_ROUNDS;
	int rc = 0;

	if (argc == 3 && strcmp(argv[1], "-n") == 0) {
		char *end;

		rounds = strtol(argv[2], &end, 10);
		if (*end != '\0' || rounds <= 0) {
			fprintf(stderr, "bench-policy: -n takes a positive number\n");
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: bench-policy [-n ROUNDS]\n");
		return 2;
	}
	printf("bench-policy: %ld rounds\n", rounds);
	rc |= bench_policies(rounds);
	rc |= bench_records(rounds, sts_sets, sizeof(sts_sets) / sizeof(sts_sets[0]),
			    false);
	rc |= bench_records(rounds, tlsrpt_sets,
			    sizeof(tlsrpt_sets) / sizeof(tlsrpt_sets[0]), true);
	rc |= bench_mx(rounds);
	return rc;
}
