/*
 * policy_facts.c - the table of policy facts and the judgement of a parsed
 * policy against it, shared by the parser and the deployment check.
 */
#include <stdio.h>
#include <string.h>

#include <mtasts/mx.h>
#include <mtasts/policy_facts.h>

#include "core.h"

#define W MTASTS_FINDING_WARNING
#define I MTASTS_FINDING_INFO
#define SILENT MTASTS_FACT_SILENT
#define BY_MODE(enforce, testing, none) { [MTASTS_MODE_ENFORCE] = (enforce), \
	[MTASTS_MODE_TESTING] = (testing), [MTASTS_MODE_NONE] = (none) }

const struct mtasts_policy_fact mtasts_policy_facts[] = {
	/* max_age, shortest rung first */
	{ "max-age-short", MTASTS_POLICY_SHORT_MAX_AGE, MTASTS_FACT_MAX_AGE,
	  MTASTS_MAX_AGE_SHORT, MTASTS_MX_SHAPE_NAME, BY_MODE(W, W, SILENT),
	  ", under one day: senders forget the policy too soon for it to protect mail" },
	{ "max-age-under-two-weeks", MTASTS_POLICY_MAX_AGE_UNDER_TWO_WEEKS,
	  MTASTS_FACT_MAX_AGE, MTASTS_MAX_AGE_TWO_WEEKS, MTASTS_MX_SHAPE_NAME,
	  BY_MODE(W, SILENT, SILENT),
	  ", under two weeks: RFC 8461 expects a policy to be kept for weeks" },

	/* the mode */
	{ "mode-testing", MTASTS_POLICY_MODE_TESTING, MTASTS_FACT_MODE, 0,
	  MTASTS_MX_SHAPE_NAME, BY_MODE(SILENT, I, SILENT),
	  ": senders report failures but still deliver over unprotected connections" },
	{ "mode-none", MTASTS_POLICY_MODE_NONE, MTASTS_FACT_MODE, 0,
	  MTASTS_MX_SHAPE_NAME, BY_MODE(SILENT, SILENT, W),
	  ": the policy protects nothing" },

	/* mx patterns; in mode none senders do not look at them */
	{ "pattern-matches-nothing", MTASTS_POLICY_MX_IP_ADDRESS, MTASTS_FACT_MX, 0,
	  MTASTS_MX_SHAPE_IP_ADDRESS, BY_MODE(W, W, SILENT),
	  " is an IP address: an MX record names a host, and a pattern matches "
	  "host names, never addresses" },
	{ "pattern-matches-nothing", MTASTS_POLICY_MX_MATCHES_NOTHING, MTASTS_FACT_MX, 0,
	  MTASTS_MX_SHAPE_NUMERIC_TLD, BY_MODE(W, W, SILENT),
	  " ends in an all-numeric label, which no host name in the DNS has" },
	{ "pattern-matches-nothing", MTASTS_POLICY_MX_MATCHES_NOTHING, MTASTS_FACT_MX, 0,
	  MTASTS_MX_SHAPE_SINGLE_LABEL, BY_MODE(W, W, SILENT),
	  " is a single label; an MX host name is fully qualified" },
	{ "pattern-public-suffix", MTASTS_POLICY_MX_PUBLIC_SUFFIX, MTASTS_FACT_MX, 0,
	  MTASTS_MX_SHAPE_PUBLIC_SUFFIX, BY_MODE(W, W, SILENT),
	  " is as wide as a public suffix: it matches hosts anyone can register" },
};

#undef W
#undef I
#undef SILENT
#undef BY_MODE

const size_t mtasts_policy_fact_count = ARRAY_SIZE(mtasts_policy_facts);

const struct mtasts_policy_fact *mtasts_policy_fact_for_code(enum mtasts_code code)
{
	for (size_t i = 0; i < mtasts_policy_fact_count; i++)
		if (mtasts_policy_facts[i].code == code)
			return &mtasts_policy_facts[i];
	return NULL;
}

static const char *last_label(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL ? dot + 1 : name;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_digit((unsigned char)*s))
			return false;
	return true;
}

/* Four dot-separated numbers of 0 to 255: how an IPv4 address is written. */
static bool is_ipv4_address(const char *s)
{
	for (int part = 0; part < 4; part++) {
		unsigned value = 0;
		size_t digits = 0;

		while (is_digit((unsigned char)s[digits]) && digits < 3)
			value = value * 10 + (unsigned)(s[digits++] - '0');
		if (digits == 0 || value > 255)
			return false;
		s += digits;
		if (*s != (part < 3 ? '.' : '\0'))
			return false;
		s++;
	}
	return true;
}

/* The predicate wants lower case; patterns are kept as written. */
static bool public_suffix(const char *base, mtasts_public_suffix_fn *is_public_suffix,
			  void *arg)
{
	char lower[MTASTS_HOST_NAME_MAX + 1];
	size_t len = strlen(base);

	if (strchr(base, '.') == NULL)
		return true;		/* a single label is a TLD */
	if (is_public_suffix == NULL || len >= sizeof(lower))
		return false;
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)(base[i] >= 'A' && base[i] <= 'Z' ? base[i] + 32 : base[i]);
	return is_public_suffix(arg, lower);
}

enum mtasts_mx_shape mtasts_mx_shape_of(const char *pattern,
					mtasts_public_suffix_fn *is_public_suffix,
					void *public_suffix_arg)
{
	bool wildcard = strncmp(pattern, "*.", 2) == 0;
	const char *base = wildcard ? pattern + 2 : pattern;

	if (!wildcard && is_ipv4_address(base))
		return MTASTS_MX_SHAPE_IP_ADDRESS;
	if (all_digits(last_label(base)))
		return MTASTS_MX_SHAPE_NUMERIC_TLD;
	if (!wildcard && strchr(base, '.') == NULL)
		return MTASTS_MX_SHAPE_SINGLE_LABEL;
	if (wildcard && public_suffix(base, is_public_suffix, public_suffix_arg))
		return MTASTS_MX_SHAPE_PUBLIC_SUFFIX;
	return MTASTS_MX_SHAPE_NAME;
}

/* Does row f hold for this subject (max_age or pattern shape)? */
static bool holds(const struct mtasts_policy_fact *f, const struct mtasts_policy *p,
		  enum mtasts_mx_shape shape)
{
	if ((unsigned)p->mode > MTASTS_MODE_ENFORCE || f->severity[p->mode] == MTASTS_FACT_SILENT)
		return false;
	switch (f->subject) {
	case MTASTS_FACT_MAX_AGE:
		return p->max_age < f->max_age_below;
	case MTASTS_FACT_MODE:
		return true;		/* the severity by mode is the condition */
	case MTASTS_FACT_MX:
		return shape == f->shape;
	}
	return false;
}

static const struct mtasts_policy_fact *first_holding(enum mtasts_fact_subject subject,
						      const struct mtasts_policy *p,
						      enum mtasts_mx_shape shape)
{
	for (size_t i = 0; i < mtasts_policy_fact_count; i++)
		if (mtasts_policy_facts[i].subject == subject &&
		    holds(&mtasts_policy_facts[i], p, shape))
			return &mtasts_policy_facts[i];
	return NULL;
}

static void report(const struct mtasts_policy_fact *f, const struct mtasts_policy *p,
		   size_t mx_index, mtasts_judgement_fn *judged, void *arg)
{
	const struct mtasts_finding_def *def = mtasts_finding_def_find(f->finding);
	struct mtasts_policy_judgement j = {
		.fact = f,
		.severity = (enum mtasts_finding_severity)f->severity[p->mode],
		.mx_index = mx_index,
		.advice = def != NULL ? def->remedy : "",
	};
	char excerpt[64];

	switch (f->subject) {
	case MTASTS_FACT_MAX_AGE:
		snprintf(j.message, sizeof(j.message), "max_age is %u seconds%s",
			 (unsigned)p->max_age, f->sentence);
		break;
	case MTASTS_FACT_MODE:
		snprintf(j.message, sizeof(j.message), "mode is %s%s",
			 mtasts_mode_name(p->mode), f->sentence);
		break;
	case MTASTS_FACT_MX:
		quote_excerpt(excerpt, sizeof(excerpt), p->mx[mx_index],
			      strlen(p->mx[mx_index]));
		snprintf(j.message, sizeof(j.message), "mx %s%s", excerpt, f->sentence);
		break;
	}
	judged(arg, &j);
}

void mtasts_policy_judge(const struct mtasts_policy *policy,
			 mtasts_public_suffix_fn *is_public_suffix, void *public_suffix_arg,
			 mtasts_judgement_fn *judged, void *arg)
{
	const struct mtasts_policy_fact *f;

	if (policy == NULL || judged == NULL || mtasts_mode_name(policy->mode) == NULL)
		return;
	if ((f = first_holding(MTASTS_FACT_MAX_AGE, policy, MTASTS_MX_SHAPE_NAME)) != NULL)
		report(f, policy, 0, judged, arg);
	if ((f = first_holding(MTASTS_FACT_MODE, policy, MTASTS_MX_SHAPE_NAME)) != NULL)
		report(f, policy, 0, judged, arg);
	for (size_t i = 0; i < policy->mx_count; i++) {
		enum mtasts_mx_shape shape;

		if (policy->mx[i] == NULL)
			continue;
		shape = mtasts_mx_shape_of(policy->mx[i], is_public_suffix,
					   public_suffix_arg);
		if (shape != MTASTS_MX_SHAPE_NAME &&
		    (f = first_holding(MTASTS_FACT_MX, policy, shape)) != NULL)
			report(f, policy, i, judged, arg);
	}
}
