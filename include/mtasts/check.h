/*
 * mtasts/check.h - findings of a deployment check: what is wrong (or worth
 * knowing) about how a domain publishes MTA-STS and TLSRPT.
 *
 * DESCRIPTION
 *	Every finding has a stable id ("mx-not-covered"), a category from a
 *	fixed vocabulary, a severity, a message saying what is wrong in this
 *	case, a remedy, the RFC section, and the evidence seen (key/value
 *	pairs).  The catalog (mtasts_finding_defs) lists every id once;
 *	docs/findings/<id>.md explains each.
 *
 *	A report collects findings; its verdict is FAIL when any finding is
 *	an error, WARN when any is a warning, PASS otherwise.  A finding
 *	marked temporary means the check could not complete (a lookup or
 *	connection failed in a way that may pass).
 */
#ifndef MTASTS_CHECK_H
#define MTASTS_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mtasts_category {
	MTASTS_CAT_DNS_TXT,
	MTASTS_CAT_POLICY_FETCH,
	MTASTS_CAT_POLICY_HOST_TLS,
	MTASTS_CAT_POLICY_SYNTAX,
	MTASTS_CAT_POLICY_SEMANTICS,
	MTASTS_CAT_MX_DNS,
	MTASTS_CAT_MX_COVERAGE,
	MTASTS_CAT_MX_STARTTLS,
	MTASTS_CAT_MX_CERTIFICATE,
	MTASTS_CAT_TLSRPT,
	MTASTS_CAT_DANE,
	MTASTS_CAT_COUNT
};

enum mtasts_finding_severity {
	MTASTS_FINDING_ERROR,
	MTASTS_FINDING_WARNING,
	MTASTS_FINDING_INFO,
};

enum mtasts_verdict {
	MTASTS_VERDICT_PASS,
	MTASTS_VERDICT_WARN,
	MTASTS_VERDICT_FAIL,
};

struct mtasts_finding_def {
	const char *id;
	enum mtasts_category category;
	enum mtasts_finding_severity severity;	/* the usual one */
	const char *summary;		/* one line: what it means */
	const char *remedy;		/* how to fix it */
	const char *rfc;		/* "RFC 8461 3.2" */
};

extern const struct mtasts_finding_def mtasts_finding_defs[];
extern const size_t mtasts_finding_def_count;

/* The definition of id, or NULL. */
const struct mtasts_finding_def *mtasts_finding_def_find(const char *id);

#define MTASTS_EVIDENCE_MAX 10

enum mtasts_evidence_kind {
	MTASTS_EVIDENCE_STRING,
	MTASTS_EVIDENCE_NUMBER,
	MTASTS_EVIDENCE_BOOL,
};

struct mtasts_evidence {
	const char *key;		/* static string */
	enum mtasts_evidence_kind kind;
	char *string;
	long long number;
};

struct mtasts_finding {
	const struct mtasts_finding_def *def;
	enum mtasts_finding_severity severity;	/* may differ from def's */
	bool temporary;
	char *message;
	size_t evidence_count;
	struct mtasts_evidence evidence[MTASTS_EVIDENCE_MAX];
};

struct mtasts_report {
	size_t count, capacity;
	struct mtasts_finding *findings;
	bool incomplete;		/* a finding could not be recorded, or a check not run */
};

void mtasts_report_init(struct mtasts_report *report);
void mtasts_report_release(struct mtasts_report *report);

/*
 * Add a finding of catalog id `id` with a printf-style message; returns it
 * so evidence can be attached, or NULL when out of memory (recorded in the
 * report).  An unknown id is a programming error and returns NULL.
 */
struct mtasts_finding *mtasts_report_add(struct mtasts_report *report, const char *id,
					 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, with a severity other than the catalog's. */
struct mtasts_finding *mtasts_report_add_as(struct mtasts_report *report, const char *id,
					    enum mtasts_finding_severity severity,
					    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Attach evidence; NULL finding or a full list is ignored. */
void mtasts_finding_string(struct mtasts_finding *finding, const char *key,
			   const char *value);
void mtasts_finding_number(struct mtasts_finding *finding, const char *key,
			   long long value);
void mtasts_finding_bool(struct mtasts_finding *finding, const char *key, bool value);

/* Keep the findings for which keep() is true, in order; free the others. */
void mtasts_report_filter(struct mtasts_report *report,
			  bool (*keep)(const struct mtasts_finding *finding, void *arg),
			  void *arg);

enum mtasts_verdict mtasts_report_verdict(const struct mtasts_report *report);
bool mtasts_report_incomplete(const struct mtasts_report *report);
size_t mtasts_report_count(const struct mtasts_report *report,
			   enum mtasts_finding_severity severity);

const char *mtasts_category_name(enum mtasts_category category);
const char *mtasts_finding_severity_name(enum mtasts_finding_severity severity);
const char *mtasts_verdict_name(enum mtasts_verdict verdict);

#ifdef __cplusplus
}
#endif

#endif
