/*
 * report_intake.c - the one path of a received TLS report into the store:
 * unpack the input, verify DKIM on mail, read each report, store each whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_intake.h"

void intake_options_default(struct intake_options *ret_options)
{
	memset(ret_options, 0, sizeof(*ret_options));
	unpack_limits_default(&ret_options->unpack);
	tlsrpt_limits_default(&ret_options->report);
	ret_options->dkim.timeout_ms = 5000;
}

const char *intake_status_name(enum intake_status status)
{
	switch (status) {
	case INTAKE_STORED: return "stored";
	case INTAKE_DUPLICATE: return "duplicate";
	case INTAKE_REJECTED: return "rejected";
	case INTAKE_TOO_LARGE: return "too-large";
	case INTAKE_DEFERRED: return "deferred";
	case INTAKE_UNAVAILABLE: return "unavailable";
	}
	return "unknown";
}

/* How bad a status is for the input as a whole: what the caller must do. */
static int severity(enum intake_status status)
{
	switch (status) {
	case INTAKE_STORED: return 0;
	case INTAKE_DUPLICATE: return 1;
	case INTAKE_REJECTED: return 2;
	case INTAKE_TOO_LARGE: return 3;
	case INTAKE_DEFERRED: return 4;
	case INTAKE_UNAVAILABLE: return 5;
	}
	return 5;
}

void intake_outcome_clear(struct intake_outcome *outcome)
{
	free(outcome->reports);
	memset(outcome, 0, sizeof(*outcome));
}

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* The report of the outcome's reports[] a member becomes, appended. */
static struct intake_report *add_report(struct intake_outcome *outcome, enum intake_status status,
					const char *why)
{
	struct intake_report *grown = realloc(outcome->reports,
					      (outcome->report_count + 1) * sizeof(*grown));

	if (grown == NULL)
		return NULL;
	outcome->reports = grown;
	struct intake_report *r = &grown[outcome->report_count++];

	memset(r, 0, sizeof(*r));
	r->status = status;
	copy_text(r->why, sizeof(r->why), why);
	if (outcome->report_count == 1 || severity(status) > severity(outcome->status)) {
		outcome->status = status;
		copy_text(outcome->why, sizeof(outcome->why), why);
	}
	return r;
}

/* The policy-domains of a report, "," between, as far as they fit. */
static void list_domains(const struct tlsrpt_report *report, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < report->policy_count; i++) {
		const char *domain = report->policies[i].policy_domain;
		bool seen = false;

		if (domain == NULL || domain[0] == '\0')
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = report->policies[j].policy_domain != NULL &&
			       strcmp(report->policies[j].policy_domain, domain) == 0;
		if (seen)
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used > 0 ? "," : "", domain);
		if (n < 0 || (size_t)n >= size - used) {
			buf[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

static enum intake_status status_of_store(enum store_status status)
{
	switch (status) {
	case STORE_ADDED: return INTAKE_STORED;
	case STORE_DUPLICATE: return INTAKE_DUPLICATE;
	case STORE_UNAVAILABLE: return INTAKE_UNAVAILABLE;
	case STORE_FAILED: return INTAKE_REJECTED;
	}
	return INTAKE_UNAVAILABLE;
}

/* The reason a member was refused, with its name when it has one. */
static void member_reason(const struct unpack_member *member, const char *why, char *reason, size_t size)
{
	if (member->name != NULL)
		snprintf(reason, size, "%s: %s", member->name, why);
	else
		snprintf(reason, size, "%s", why);
}

static void describe(struct intake_report *r, const struct tlsrpt_report *report)
{
	copy_text(r->organization_name, sizeof(r->organization_name), report->organization_name);
	copy_text(r->report_id, sizeof(r->report_id), report->report_id);
	list_domains(report, r->domains, sizeof(r->domains));
	r->successes = tlsrpt_report_successes(report);
	r->failures = tlsrpt_report_failures(report);
}

/* Store one report read from a member. Returns 0, or -1 out of memory. */
static int store_member(struct report_store *store, const struct unpack_member *member,
			const struct tlsrpt_report *report, enum unpack_format format,
			const struct intake_options *options, const struct dkim_outcome *dkim,
			struct intake_outcome *outcome)
{
	char why[300];
	char reason[sizeof(why) + 32];
	struct report_meta meta = {
		.received_at = options->received_at,
		.source = options->source != NULL ? options->source :
			  format == UNPACK_MAIL ? "mail" : "file",
		.origin = options->origin,
		.dkim = dkim != NULL ? dkim->verdict : DKIM_VERDICT_NONE,
		.dkim_domain = dkim != NULL && dkim->domain[0] != '\0' ? dkim->domain : NULL,
		.raw = member->json,
		.raw_len = member->json_len,
		.raw_gzip = member->gzip,
		.raw_gzip_len = member->gzip_len,
	};
	int64_t id = 0;
	enum store_status stored = report_store_add(store, report, &meta, &id, why, sizeof(why));
	enum intake_status status = status_of_store(stored);
	struct intake_report *r;

	if (status == INTAKE_STORED || status == INTAKE_DUPLICATE)
		reason[0] = '\0';
	else if (status == INTAKE_UNAVAILABLE)
		snprintf(reason, sizeof(reason), "store unavailable: %s", why);
	else
		snprintf(reason, sizeof(reason), "store: %s", why);
	r = add_report(outcome, status, reason);
	if (r == NULL)
		return -1;
	r->id = id;
	describe(r, report);
	return 0;
}

/*
 * Read every member, then store them only if all are reports: an input
 * is refused whole.  Returns 0, or -1 out of memory.
 */
static int take_members(struct report_store *store, const struct unpack_result *unpacked,
			const struct intake_options *options, const struct dkim_outcome *dkim,
			struct intake_outcome *outcome)
{
	struct tlsrpt_report **reports = calloc(unpacked->member_count, sizeof(*reports));
	char (*whys)[300] = calloc(unpacked->member_count, sizeof(*whys));
	size_t invalid = 0;
	int rc = -1;

	if (reports == NULL || whys == NULL)
		goto out;
	for (size_t i = 0; i < unpacked->member_count; i++) {
		const struct unpack_member *m = &unpacked->members[i];

		if (tlsrpt_report_read(m->json, m->json_len, &options->report, &reports[i], whys[i],
				       sizeof(whys[i])) != 0) {
			if (errno == ENOMEM)
				goto out;
			reports[i] = NULL;
			invalid++;
		} else if (!report_store_accepts(reports[i], whys[i], sizeof(whys[i]))) {
			reports[i] = tlsrpt_report_free(reports[i]);
			invalid++;
		}
	}
	for (size_t i = 0; i < unpacked->member_count; i++) {
		const struct unpack_member *m = &unpacked->members[i];
		char reason[sizeof(whys[i]) + 300];
		struct intake_report *r;

		if (invalid == 0) {
			if (store_member(store, m, reports[i], unpacked->format, options, dkim,
					 outcome) != 0)
				goto out;
			continue;
		}
		if (reports[i] == NULL)
			member_reason(m, whys[i], reason, sizeof(reason));
		else
			member_reason(m, "a valid report, not stored: another report of the same "
				      "input is not valid", reason, sizeof(reason));
		if ((r = add_report(outcome, INTAKE_REJECTED, reason)) == NULL)
			goto out;
		if (reports[i] != NULL)
			describe(r, reports[i]);
	}
	rc = 0;
out:
	for (size_t i = 0; reports != NULL && i < unpacked->member_count; i++)
		tlsrpt_report_free(reports[i]);
	free(reports);
	free(whys);
	return rc;
}

/*
 * Whether the DKIM requirement refuses a message: the status, or
 * INTAKE_STORED to go on.  A key that could not be fetched now is a reason
 * to try again later when a verified signature is required.
 */
static enum intake_status judge_dkim(const struct dkim_outcome *dkim, enum dkim_requirement requirement,
				     char *why, size_t why_size)
{
	switch (requirement) {
	case DKIM_ACCEPT_ANY:
		return INTAKE_STORED;
	case DKIM_REQUIRE_SIGNED:
		if (dkim->verdict != DKIM_VERDICT_NONE)
			return INTAKE_STORED;
		snprintf(why, why_size, "dkim: the message is not signed, and signed reports are required");
		return INTAKE_REJECTED;
	case DKIM_REQUIRE_PASS:
		if (dkim->verdict == DKIM_VERDICT_PASS)
			return INTAKE_STORED;
		if (dkim->reason[0] != '\0')
			snprintf(why, why_size, "dkim: %s (%s), and a verified signature is required",
				 dkim_verdict_name(dkim->verdict), dkim->reason);
		else
			snprintf(why, why_size, "dkim: %s, and a verified signature is required",
				 dkim_verdict_name(dkim->verdict));
		return dkim->verdict == DKIM_VERDICT_TEMPERROR ? INTAKE_DEFERRED : INTAKE_REJECTED;
	}
	return INTAKE_STORED;
}

int report_intake(struct report_store *store, const unsigned char *data, size_t len,
		  enum unpack_format hint, const struct intake_options *options,
		  struct intake_outcome *ret_outcome)
{
	struct intake_outcome outcome = { 0 };
	struct unpack_result unpacked = { 0 };
	const struct dkim_outcome *dkim = NULL;
	char why[300];
	int rc = -1;

	if (report_unpack(data, len, hint, &options->unpack, &unpacked, why, sizeof(why)) != 0) {
		if (errno == ENOMEM)
			goto out;
		if (add_report(&outcome, errno == EFBIG ? INTAKE_TOO_LARGE : INTAKE_REJECTED, why) == NULL)
			goto out;
		goto done;
	}
	outcome.format = unpacked.format;

	if (unpacked.format == UNPACK_MAIL && options->verify_dkim) {
		if (dkim_verify_message(data, len, &options->dkim, &outcome.dkim, why, sizeof(why)) != 0) {
			if (errno == ENOMEM)
				goto out;
			char reason[sizeof(why) + 32];

			snprintf(reason, sizeof(reason), "dkim: cannot verify: %s", why);
			if (add_report(&outcome, INTAKE_UNAVAILABLE, reason) == NULL)
				goto out;
			goto done;
		}
		dkim = &outcome.dkim;
		enum intake_status refused = judge_dkim(dkim, options->dkim_requirement, why, sizeof(why));
		if (refused != INTAKE_STORED) {
			if (add_report(&outcome, refused, why) == NULL)
				goto out;
			goto done;
		}
	}

	if (take_members(store, &unpacked, options, dkim, &outcome) != 0)
		goto out;
done:
	*ret_outcome = outcome;
	outcome.reports = NULL;
	rc = 0;
out:
	if (rc != 0)
		errno = ENOMEM;
	free(outcome.reports);
	unpack_result_clear(&unpacked);
	return rc;
}
