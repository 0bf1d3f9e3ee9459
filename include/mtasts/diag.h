/*
 * mtasts/diag.h - status codes and diagnostics shared by every libmtasts parser.
 *
 * SYNOPSIS
 *	struct mtasts_diags diags;
 *	mtasts_diags_init(&diags);
 *	rc = mtasts_policy_parse(body, len, &policy, &diags);
 *	for (size_t i = 0; i < diags.count; i++)
 *		printf("%s: %s\n", mtasts_code_name(diags.items[i].code),
 *		    diags.items[i].message);
 *
 * DESCRIPTION
 *	Functions return an enum mtasts_status.  A parser that rejects its
 *	input returns MTASTS_ERR_INVALID and leaves one or more diagnostics of
 *	severity MTASTS_SEVERITY_ERROR in the caller's struct mtasts_diags;
 *	input that is valid but risky adds MTASTS_SEVERITY_WARNING ones, and
 *	a fact worth knowing about valid input (a policy in testing mode) an
 *	MTASTS_SEVERITY_INFO one.  Only errors make input invalid: what a
 *	sender accepts is never an error.
 *	Each diagnostic has a stable code (mtasts_code_name() gives its
 *	string form, which scripts and JSON consumers may rely on), a human
 *	sentence, and where it was found.
 *
 *	struct mtasts_diags has a fixed capacity so that recording a problem
 *	never allocates and can never fail; what does not fit is counted in
 *	`dropped`.  Errors come before the rest in claim to a place: when the
 *	list is full, an error takes the place of the latest information or,
 *	when there is none, of the latest warning (which is counted in
 *	`dropped`); only an error that finds nothing to displace is dropped
 *	itself.  So a rejected input always leaves at least one error in the
 *	list, and the items kept stay in the order the parser gives them.
 */
#ifndef MTASTS_DIAG_H
#define MTASTS_DIAG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mtasts_status {
	MTASTS_OK = 0,
	MTASTS_ERR_INVALID = -1,	/* input rejected; see the diagnostics */
	MTASTS_ERR_NO_RECORD = -2,	/* no record of the wanted kind at all */
	MTASTS_ERR_NOMEM = -3,
	MTASTS_ERR_ARGUMENT = -4,	/* caller broke an API precondition */
	MTASTS_ERR_TOO_LARGE = -5,	/* the result would pass its size limit */
};

enum mtasts_severity {
	MTASTS_SEVERITY_ERROR,
	MTASTS_SEVERITY_WARNING,
	MTASTS_SEVERITY_INFO,
};

/*
 * Stable diagnostic codes.  Append only: the string names are part of the
 * command-line and JSON contract.
 */
enum mtasts_code {
	MTASTS_CODE_NONE = 0,

	/* MTA-STS TXT record, RFC 8461 section 3.1 */
	MTASTS_TXT_NO_RECORD,
	MTASTS_TXT_MULTIPLE_RECORDS,
	MTASTS_TXT_UNRELATED_RECORD,
	MTASTS_TXT_TOO_LONG,
	MTASTS_TXT_SYNTAX,
	MTASTS_TXT_MISSING_ID,
	MTASTS_TXT_INVALID_ID,
	MTASTS_TXT_INVALID_EXTENSION,
	MTASTS_TXT_DUPLICATE_FIELD,

	/* MTA-STS policy file, RFC 8461 section 3.2 */
	MTASTS_POLICY_TOO_LARGE,
	MTASTS_POLICY_EMPTY,
	MTASTS_POLICY_EMPTY_LINE,
	MTASTS_POLICY_BAD_LINE_ENDING,
	MTASTS_POLICY_SYNTAX,
	MTASTS_POLICY_INVALID_FIELD_NAME,
	MTASTS_POLICY_INVALID_VALUE,
	MTASTS_POLICY_INVALID_UTF8,
	MTASTS_POLICY_MISSING_VERSION,
	MTASTS_POLICY_INVALID_VERSION,
	MTASTS_POLICY_MISSING_MODE,
	MTASTS_POLICY_INVALID_MODE,
	MTASTS_POLICY_MISSING_MAX_AGE,
	MTASTS_POLICY_INVALID_MAX_AGE,
	MTASTS_POLICY_MAX_AGE_TOO_LARGE,
	MTASTS_POLICY_MISSING_MX,
	MTASTS_POLICY_INVALID_MX,
	MTASTS_POLICY_TOO_MANY_MX,
	MTASTS_POLICY_DUPLICATE_FIELD,
	MTASTS_POLICY_DUPLICATE_MX,
	MTASTS_POLICY_FIELD_CASE,
	MTASTS_POLICY_SHORT_MAX_AGE,
	MTASTS_POLICY_MODE_TESTING,
	MTASTS_POLICY_MODE_NONE,

	/* TLSRPT TXT record, RFC 8460 section 3 */
	MTASTS_TLSRPT_NO_RECORD,
	MTASTS_TLSRPT_MULTIPLE_RECORDS,
	MTASTS_TLSRPT_UNRELATED_RECORD,
	MTASTS_TLSRPT_TOO_LONG,
	MTASTS_TLSRPT_SYNTAX,
	MTASTS_TLSRPT_MISSING_RUA,
	MTASTS_TLSRPT_INVALID_URI,
	MTASTS_TLSRPT_UNSUPPORTED_SCHEME,
	MTASTS_TLSRPT_NO_USABLE_RUA,
	MTASTS_TLSRPT_INVALID_EXTENSION,
	MTASTS_TLSRPT_DUPLICATE_FIELD,

	/* MX patterns and host names, RFC 8461 section 4.1 */
	MTASTS_MX_INVALID_PATTERN,
	MTASTS_MX_INVALID_HOST,

	/* MTA-STS policy file: near misses, one error for one cause */
	MTASTS_POLICY_BYTE_ORDER_MARK,
	MTASTS_POLICY_HTML,
	MTASTS_POLICY_MISSPELT_FIELD,

	/* MTA-STS policy file: facts of the policy table (mtasts/policy_facts.h) */
	MTASTS_POLICY_MAX_AGE_UNDER_TWO_WEEKS,
	MTASTS_POLICY_MX_IP_ADDRESS,
	MTASTS_POLICY_MX_MATCHES_NOTHING,
	MTASTS_POLICY_MX_PUBLIC_SUFFIX,

	MTASTS_CODE_COUNT
};

#define MTASTS_DIAG_MESSAGE_MAX 240
#define MTASTS_DIAGS_MAX 64

struct mtasts_diag {
	enum mtasts_code code;
	enum mtasts_severity severity;
	/* Index of the TXT record the problem is in; -1 when not applicable. */
	long record;
	/* 1-based position in a policy body, or the column in a TXT record;
	 * 0 when not applicable. */
	unsigned line;
	unsigned column;
	char message[MTASTS_DIAG_MESSAGE_MAX];
};

struct mtasts_diags {
	size_t count;
	size_t dropped;		/* diagnostics left out: did not fit, or
				 * warnings displaced by a later error */
	struct mtasts_diag items[MTASTS_DIAGS_MAX];
};

void mtasts_diags_init(struct mtasts_diags *diags);

/* Number of diagnostics of the given severity (dropped ones not counted). */
size_t mtasts_diags_count(const struct mtasts_diags *diags,
			  enum mtasts_severity severity);

/* First diagnostic with this code, or NULL. */
const struct mtasts_diag *mtasts_diags_find(const struct mtasts_diags *diags,
					    enum mtasts_code code);

/* First error, or NULL: what a one-line reason for a rejection quotes. */
const struct mtasts_diag *mtasts_diags_first_error(const struct mtasts_diags *diags);

/* "policy-invalid-mode" and so on; "unknown" for out-of-range values. */
const char *mtasts_code_name(enum mtasts_code code);

/* "error", "warning" or "info". */
const char *mtasts_severity_name(enum mtasts_severity severity);

/* A short sentence for a status. */
const char *mtasts_status_message(enum mtasts_status status);

#ifdef __cplusplus
}
#endif

#endif
