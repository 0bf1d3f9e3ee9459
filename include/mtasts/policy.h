/*
 * mtasts/policy.h - the MTA-STS policy file (RFC 8461 3.2).
 *
 * SYNOPSIS
 *	struct mtasts_policy *policy;
 *	rc = mtasts_policy_parse(body, body_len, &policy, &diags);
 *	rc = mtasts_policy_parse_with(body, body_len, &helpers, &policy, &diags);
 *	if (rc == MTASTS_OK && mtasts_policy_matches(policy, "mx1.example.com"))
 *		...
 *	rc = mtasts_policy_serialize(policy, &text, &text_len);
 *	policy = mtasts_policy_free(policy);
 *
 * DESCRIPTION
 *	mtasts_policy_parse() checks a policy body, the bytes as served,
 *	against the ABNF of the published RFC: lines end in LF or CRLF, no
 *	empty lines, "key: value" with optional white space after the colon
 *	and at the end of the line, fields in any order.  Inside a value only
 *	spaces may separate the visible (or UTF-8) characters, not tabs.  version, mode and
 *	max_age are required, and at least one mx unless mode is none.  Field
 *	names and the values of version and mode are case-sensitive.  An mx
 *	value is a host name or "*." and a host name, in A-label form.
 *	Unknown fields that fit the extension grammar are kept but otherwise
 *	ignored.  Of a non-mx field given twice the first wins; every mx is
 *	kept, in order.
 *
 *	Every problem found is reported, each with its line and column, not
 *	just the first, and one cause is reported once: a bare CR, an
 *	indented line or a misspelt field name is not also reported as the
 *	required field it hides being missing; a byte-order mark is named as
 *	such; an HTML page is reported as that alone.  On failure *ret_policy
 *	is untouched.
 *
 *	A policy that parses is then judged by the table of policy facts
 *	(mtasts/policy_facts.h): a short max_age, the mode, mx patterns that
 *	match nothing or are as wide as a public suffix.  Each fact that holds
 *	adds a warning or an information, worded as `mtasts check` words its
 *	finding, with the advice after a ";".
 *
 *	mtasts_policy_parse_with() takes helpers the core cannot provide
 *	itself (it uses libc only): a public suffix test for the facts about
 *	wildcards (without one, only single labels such as "*.com" count as
 *	public suffixes), and a conversion to A-labels so that an mx written
 *	in Unicode is answered with the xn-- form to write.  helpers and each
 *	of its members may be NULL; mtasts_policy_parse() passes none.
 *
 *	mtasts_policy_serialize() writes the canonical form: version, mode,
 *	each mx, max_age, then extensions, each line ending in CRLF.  It
 *	refuses (MTASTS_ERR_INVALID) a struct that would not parse back.
 *
 * LIMITS
 *	Bodies over MTASTS_POLICY_BODY_MAX octets are rejected unread;
 *	at most MTASTS_POLICY_MX_MAX mx lines.
 */
#ifndef MTASTS_POLICY_H
#define MTASTS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mtasts/diag.h>
#include <mtasts/txt.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_POLICY_BODY_MAX 65536
#define MTASTS_POLICY_MX_MAX 1024
#define MTASTS_MAX_AGE_MAX 31557600u

enum mtasts_mode {
	MTASTS_MODE_NONE,
	MTASTS_MODE_TESTING,
	MTASTS_MODE_ENFORCE,
};

struct mtasts_policy {
	enum mtasts_mode mode;
	uint32_t max_age;
	size_t mx_count;
	char **mx;			/* patterns as written, in order */
	size_t extension_count;
	struct mtasts_extension *extensions;
	size_t lf_only_lines;		/* lines ended by LF alone */
};

/* Is name (lower case, no final dot) a public suffix such as "com"? */
typedef bool mtasts_public_suffix_fn(void *arg, const char *name);

/*
 * Write the A-label form of name (a host name in UTF-8, no "*.") to out,
 * NUL-terminated; false when it has none.
 */
typedef bool mtasts_a_label_fn(void *arg, const char *name, char *out,
			       size_t out_size);

struct mtasts_policy_helpers {
	mtasts_public_suffix_fn *is_public_suffix;
	void *public_suffix_arg;
	mtasts_a_label_fn *to_a_label;
	void *a_label_arg;
};

int mtasts_policy_parse(const char *body, size_t len,
			struct mtasts_policy **ret_policy,
			struct mtasts_diags *diags);

int mtasts_policy_parse_with(const char *body, size_t len,
			     const struct mtasts_policy_helpers *helpers,
			     struct mtasts_policy **ret_policy,
			     struct mtasts_diags *diags);

/* *ret_text is NUL-terminated and the caller frees it. */
int mtasts_policy_serialize(const struct mtasts_policy *policy,
			    char **ret_text, size_t *ret_len);

/* True when some mx pattern of the policy matches host (RFC 8461 4.1). */
bool mtasts_policy_matches(const struct mtasts_policy *policy, const char *host);

/* Accepts NULL; returns NULL. */
struct mtasts_policy *mtasts_policy_free(struct mtasts_policy *policy);

/* "enforce", "testing", "none"; NULL for an out-of-range value. */
const char *mtasts_mode_name(enum mtasts_mode mode);

#ifdef __cplusplus
}
#endif

#endif
