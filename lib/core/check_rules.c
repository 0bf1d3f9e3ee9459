/*
 * check_rules.c - the deployment-check decisions that need no I/O.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mtasts/check_rules.h>
#include <mtasts/mx.h>
#include <mtasts/policy_facts.h>

#include "core.h"

/* A parse diagnostic as a policy-syntax finding, with where it is. */
static void add_parse_findings(struct mtasts_report *report,
			       const struct mtasts_diags *diags)
{
	for (size_t i = 0; diags != NULL && i < diags->count; i++) {
		const struct mtasts_diag *d = &diags->items[i];
		struct mtasts_finding *f;

		/* The facts of the policy table are judged again, as semantics. */
		if (mtasts_policy_fact_for_code(d->code) != NULL)
			continue;
		if (d->severity == MTASTS_SEVERITY_ERROR)
			f = mtasts_report_add(report, "policy-syntax-error", "%s", d->message);
		else
			f = mtasts_report_add_as(report, "policy-syntax-warning",
						 d->severity == MTASTS_SEVERITY_INFO ?
						 MTASTS_FINDING_INFO : MTASTS_FINDING_WARNING,
						 "%s", d->message);
		mtasts_finding_string(f, "code", mtasts_code_name(d->code));
		if (d->line > 0) {
			mtasts_finding_number(f, "line", d->line);
			mtasts_finding_number(f, "column", d->column);
		}
	}
}

struct fact_findings {
	struct mtasts_report *report;
	const struct mtasts_policy *policy;
};

/* A fact of the policy table as its finding, with what it was seen in. */
static void add_fact_finding(void *arg, const struct mtasts_policy_judgement *j)
{
	const struct fact_findings *ff = arg;
	const struct mtasts_policy *policy = ff->policy;
	struct mtasts_finding *f;

	f = mtasts_report_add_as(ff->report, j->fact->finding, j->severity, "%s",
				 j->message);
	mtasts_finding_string(f, "code", mtasts_code_name(j->fact->code));
	if (j->fact->subject == MTASTS_FACT_MAX_AGE)
		mtasts_finding_number(f, "max_age", policy->max_age);
	else if (j->fact->subject == MTASTS_FACT_MX)
		mtasts_finding_string(f, "pattern", policy->mx[j->mx_index]);
}

void mtasts_check_policy(struct mtasts_report *report, const struct mtasts_policy *policy,
			 const struct mtasts_diags *diags, size_t body_len,
			 mtasts_public_suffix_fn *is_public_suffix, void *arg)
{
	struct mtasts_finding *f;

	add_parse_findings(report, diags);
	if (body_len > MTASTS_POLICY_LARGE) {
		f = mtasts_report_add(report, "policy-large", "the policy is %zu octets",
				      body_len);
		mtasts_finding_number(f, "size", (long long)body_len);
	}
	if (policy == NULL)
		return;
	if (policy->lf_only_lines > 0) {
		f = mtasts_report_add(report, "policy-lf-only", "%zu line%s end%s in LF "
				      "alone", policy->lf_only_lines,
				      policy->lf_only_lines == 1 ? "" : "s",
				      policy->lf_only_lines == 1 ? "s" : "");
		mtasts_finding_number(f, "lines", (long long)policy->lf_only_lines);
	}
	mtasts_policy_judge(policy, is_public_suffix, arg, add_fact_finding,
			    &(struct fact_findings){ report, policy });
}

/* Host without its final dot, for messages and matching. */
static size_t host_len(const char *host)
{
	size_t len = strlen(host);

	return len > 1 && host[len - 1] == '.' ? len - 1 : len;
}

/*
 * "*.example.com" against "a.b.example.com": the wildcard would have to
 * stand for two labels.  Returns the pattern that nearly matches.
 */
static const char *two_label_pattern(const struct mtasts_policy *p, const char *host)
{
	size_t hlen = host_len(host);

	for (size_t i = 0; i < p->mx_count; i++) {
		const char *suffix = p->mx[i] + 1;	/* ".example.com" */
		size_t slen;

		if (strncmp(p->mx[i], "*.", 2) != 0)
			continue;
		slen = strlen(suffix);
		if (hlen > slen && strncasecmp(host + hlen - slen, suffix, slen) == 0 &&
		    memchr(host, '.', hlen - slen) != NULL)
			return p->mx[i];
	}
	return NULL;
}

static void list_patterns(const struct mtasts_policy *p, char *out, size_t size)
{
	size_t pos = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->mx_count && pos + 1 < size; i++) {
		int n = snprintf(out + pos, size - pos, "%s%s", i > 0 ? ", " : "", p->mx[i]);

		if (n < 0)
			break;
		pos += (size_t)n;
	}
}

void mtasts_check_coverage(struct mtasts_report *report, const struct mtasts_policy *policy,
			   const char *const *mx_hosts, size_t mx_count)
{
	enum mtasts_finding_severity severity;
	char patterns[512];

	if (policy == NULL || policy->mode == MTASTS_MODE_NONE)
		return;
	severity = policy->mode == MTASTS_MODE_ENFORCE ? MTASTS_FINDING_ERROR :
		   MTASTS_FINDING_WARNING;
	list_patterns(policy, patterns, sizeof(patterns));
	for (size_t i = 0; i < mx_count; i++) {
		const char *near;
		struct mtasts_finding *f;
		int len = (int)host_len(mx_hosts[i]);

		if (mtasts_policy_matches(policy, mx_hosts[i]))
			continue;
		if ((near = two_label_pattern(policy, mx_hosts[i])) != NULL)
			f = mtasts_report_add_as(report, "mx-wildcard-two-labels", severity,
						 "MX host %.*s is not covered: %s stands "
						 "for exactly one label, and the host has "
						 "more than one in its place", len,
						 mx_hosts[i], near);
		else
			f = mtasts_report_add_as(report, "mx-not-covered", severity,
						 "MX host %.*s matches no mx pattern of the "
						 "policy (%s)", len, mx_hosts[i], patterns);
		mtasts_finding_string(f, "mx_host", mx_hosts[i]);
		mtasts_finding_string(f, "patterns", patterns);
	}
	for (size_t i = 0; i < policy->mx_count; i++) {
		bool used = false;

		for (size_t j = 0; j < mx_count && !used; j++)
			used = mtasts_mx_matches(policy->mx[i], mx_hosts[j]);
		if (!used && mx_count > 0)
			mtasts_finding_string(mtasts_report_add(report, "pattern-unused",
				"mx %s matches none of the MX hosts", policy->mx[i]),
				"pattern", policy->mx[i]);
	}
}

bool mtasts_cert_names_in_policy(const struct mtasts_policy *policy,
				 const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		/* A wildcard certificate name "*.example.com" is covered when a
		 * host it stands for is: test it with one label in place of "*". */
		if (strncmp(names[i], "*.", 2) == 0) {
			char host[MTASTS_HOST_NAME_MAX + 2];

			if (strlen(names[i]) + 1 > sizeof(host) - 1)
				continue;
			host[0] = 'x';
			strcpy(host + 1, names[i] + 1);
			if (mtasts_policy_matches(policy, host))
				return true;
			for (size_t j = 0; j < policy->mx_count; j++)
				if (strcasecmp(policy->mx[j], names[i]) == 0)
					return true;
			continue;
		}
		if (mtasts_policy_matches(policy, names[i]))
			return true;
	}
	return false;
}
