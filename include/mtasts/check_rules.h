/*
 * mtasts/check_rules.h - the deployment-check decisions that need no I/O:
 * given a parsed policy, the MX hosts and the certificates seen, which
 * findings apply (see mtasts/check.h).
 */
#ifndef MTASTS_CHECK_RULES_H
#define MTASTS_CHECK_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <mtasts/check.h>
#include <mtasts/diag.h>
#include <mtasts/policy.h>
#include <mtasts/policy_facts.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_POLICY_LARGE 4096
#define MTASTS_CERT_EXPIRY_WARN_DAYS 14

/*
 * Findings about a fetched policy body: its parse diagnostics
 * (policy-syntax-error, policy-syntax-warning; each with the evidence
 * "code", and "line" and "column" when the diagnostic has a position),
 * size and line endings, and when it parsed, the facts of the policy
 * table (mtasts/policy_facts.h: max_age, mode, patterns), judged again
 * here with is_public_suffix; the parser's own diagnostics for those facts
 * are left out.  policy is NULL when the body did not parse.
 * is_public_suffix may be NULL (then only single-label suffixes such as
 * "*.com" count as public).
 */
void mtasts_check_policy(struct mtasts_report *report, const struct mtasts_policy *policy,
			 const struct mtasts_diags *diags, size_t body_len,
			 mtasts_public_suffix_fn *is_public_suffix, void *arg);

/*
 * Findings about which MX hosts the policy covers (mx-not-covered,
 * mx-wildcard-two-labels, pattern-unused).  Hosts in lower case, a final
 * dot allowed.  Nothing is reported for mode none.
 */
void mtasts_check_coverage(struct mtasts_report *report, const struct mtasts_policy *policy,
			   const char *const *mx_hosts, size_t mx_count);

/* Does some name of a certificate match some mx pattern of the policy? */
bool mtasts_cert_names_in_policy(const struct mtasts_policy *policy,
				 const char *const *names, size_t count);

#ifdef __cplusplus
}
#endif

#endif
