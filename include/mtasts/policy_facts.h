/*
 * mtasts/policy_facts.h - the one table that judges what a valid MTA-STS
 * policy means: how long senders keep it, its mode, and mx patterns that
 * match nothing or anybody.
 *
 * SYNOPSIS
 *	static void on_fact(void *arg, const struct mtasts_policy_judgement *j)
 *	{
 *		printf("%s %s: %s; %s\n", mtasts_finding_severity_name(j->severity),
 *		       j->fact->finding, j->message, j->advice);
 *	}
 *	mtasts_policy_judge(policy, is_public_suffix, psl, on_fact, NULL);
 *
 * DESCRIPTION
 *	`mtasts parse` reports each fact as a diagnostic (the parser judges
 *	every policy it accepts) and `mtasts check` as a finding; both take
 *	the severity, the sentence and the advice from the same row, so they
 *	agree.  A row gives:
 *
 *	finding		the finding id of `mtasts check`; its catalog entry
 *			(mtasts/check.h) holds the advice, written once
 *	code		the diagnostic code of `mtasts parse`
 *	subject		what the fact is about: max_age, the mode, or one mx
 *			pattern
 *	max_age_below	for max_age: the fact holds when max_age is below it
 *	shape		for an mx pattern: the fact holds for this shape
 *	severity	in each mode (indexed by enum mtasts_mode), or
 *			MTASTS_FACT_SILENT where the fact does not matter
 *	sentence	what follows the subject ("max_age is 3600 seconds",
 *			"mode is testing", "mx \"*.com\"") in the message
 *
 *	For each subject the first row that holds and is not silent in the
 *	policy's mode is reported: max_age at most once (its rows are the
 *	rungs of a ladder, shortest first), the mode at most once, and each
 *	mx pattern at most once.
 *
 *	Severities are warning or info, never error: a policy that parses is
 *	applied by senders, so a weakness in it is not a failure of the
 *	deployment.  The parser maps warning to MTASTS_SEVERITY_WARNING and
 *	info to MTASTS_SEVERITY_INFO.
 *
 * THE MAX_AGE LADDER
 *	RFC 8461 3.2 expects max_age "in the range of weeks or greater".
 *	Under MTASTS_MAX_AGE_SHORT (one day) a policy is too short-lived to
 *	protect mail (a warning in enforce and testing; in mode none a short
 *	max_age is how a policy is withdrawn, RFC 8461 8.3).  Under
 *	MTASTS_MAX_AGE_TWO_WEEKS in enforce mode it is shorter than the RFC
 *	expects (a warning).  Both rungs give the same advice, to raise it to
 *	MTASTS_MAX_AGE_ADVISED or more, a value no rung judges.
 */
#ifndef MTASTS_POLICY_FACTS_H
#define MTASTS_POLICY_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include <mtasts/check.h>
#include <mtasts/diag.h>
#include <mtasts/policy.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_MAX_AGE_SHORT 86400u		/* one day */
#define MTASTS_MAX_AGE_TWO_WEEKS 1209600u
#define MTASTS_MAX_AGE_ADVISED MTASTS_MAX_AGE_TWO_WEEKS

#define MTASTS_FACT_SILENT (-1)

enum mtasts_fact_subject {
	MTASTS_FACT_MAX_AGE,
	MTASTS_FACT_MODE,
	MTASTS_FACT_MX,
};

/* What an mx pattern looks like, as far as the facts are concerned. */
enum mtasts_mx_shape {
	MTASTS_MX_SHAPE_NAME,		/* a host name, or a wildcard under one */
	MTASTS_MX_SHAPE_IP_ADDRESS,	/* "192.0.2.25": valid grammar, never an MX */
	MTASTS_MX_SHAPE_NUMERIC_TLD,	/* "mx.example.123" */
	MTASTS_MX_SHAPE_SINGLE_LABEL,	/* "localhost" */
	MTASTS_MX_SHAPE_PUBLIC_SUFFIX,	/* "*.com", "*.co.uk" */
};

struct mtasts_policy_fact {
	const char *finding;
	enum mtasts_code code;
	enum mtasts_fact_subject subject;
	uint32_t max_age_below;
	enum mtasts_mx_shape shape;
	int severity[3];		/* enum mtasts_finding_severity or SILENT */
	const char *sentence;
};

extern const struct mtasts_policy_fact mtasts_policy_facts[];
extern const size_t mtasts_policy_fact_count;

/* One fact that holds for a policy, worded for both commands. */
struct mtasts_policy_judgement {
	const struct mtasts_policy_fact *fact;
	enum mtasts_finding_severity severity;
	size_t mx_index;		/* for an mx fact: which pattern */
	char message[MTASTS_DIAG_MESSAGE_MAX];	/* subject and sentence */
	const char *advice;		/* the remedy of the fact's finding */
};

typedef void mtasts_judgement_fn(void *arg, const struct mtasts_policy_judgement *j);

/*
 * Call judged(arg, ...) for each fact that holds for policy: max_age, then
 * the mode, then the patterns in order.  is_public_suffix may be NULL.
 */
void mtasts_policy_judge(const struct mtasts_policy *policy,
			 mtasts_public_suffix_fn *is_public_suffix, void *public_suffix_arg,
			 mtasts_judgement_fn *judged, void *arg);

/* The row whose diagnostic code is code, or NULL. */
const struct mtasts_policy_fact *mtasts_policy_fact_for_code(enum mtasts_code code);

/* The shape of a valid pattern; is_public_suffix may be NULL. */
enum mtasts_mx_shape mtasts_mx_shape_of(const char *pattern,
					mtasts_public_suffix_fn *is_public_suffix,
					void *public_suffix_arg);

#ifdef __cplusplus
}
#endif

#endif
