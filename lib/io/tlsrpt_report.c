/*
 * tlsrpt_report.c - an SMTP TLS report (RFC 8460 4) read from its JSON text,
 * with jansson.
 *
 * DESCRIPTION
 *	Reading happens in three steps, each bounded:
 *	1. a scan of the raw octets: the size, UTF-8 (RFC 3629: no overlong
 *	   forms, no surrogates), the nesting of brackets outside strings and
 *	   the number of values (the top one, one at each "[" or "{", one
 *	   after each ","), so that a deep text is refused before jansson
 *	   recurses into it and a wide one before it builds a tree of many
 *	   small values, each far larger in memory than in the text (every
 *	   list has its own limit, but a report of many lists needs one in
 *	   all);
 *	2. jansson parses the text (duplicate keys refused, nothing allowed
 *	   after the top-level object, no "\u0000" in strings);
 *	3. the tree is walked field by field into struct tlsrpt_report, each
 *	   failure naming the path of the field ("policies[0].summary...").
 *
 *	Tolerated on the way, because real senders do it: a UTF-8 byte
 *	order mark before the text (skipped); "mx-host" as one string or
 *	an array; optional strings sent as null (as absent) or empty (as
 *	absent, for the strings of "failure-details"); date-times without
 *	a time zone (read as UTC), with a fraction of a second (dropped),
 *	with "Z" or an offset; a TLSA "policy-string" of one string that
 *	is itself a JSON array of strings (Microsoft), which is read as
 *	those strings.
 *	Unknown fields are ignored (RFC 8460 4.1 lets reports grow).
 *
 *	Refused: a count that is not a whole number from 0 to 2^53 (the
 *	largest integer every JSON reader holds exactly); "policy-domain"
 *	missing on a policy other than "no-policy-found"; an end of the date
 *	range before its start.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tlsrpt_report.h"

#define COUNT_MAX ((uint64_t)1 << 53)
#define PATH_SIZE 160

struct reader {
	const struct tlsrpt_limits *limits;
	char *why;
	size_t why_size;
	int error;		/* errno to leave: ENOMEM or EINVAL */
};

void tlsrpt_limits_default(struct tlsrpt_limits *ret_limits)
{
	ret_limits->max_json = 16u << 20;
	ret_limits->max_depth = 32;
	ret_limits->max_policies = 10000;
	ret_limits->max_failures = 10000;
	ret_limits->max_strings = 1000;
	ret_limits->max_string = 64u << 10;
	ret_limits->max_elements = 100000;
}

/* Octets that are not printable ASCII become '?': a reason may be printed. */
static void make_printable(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

/* Writes "PATH: MESSAGE" (or MESSAGE alone for the empty path); returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct reader *r, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	r->error = EINVAL;
	if (r->why == NULL || r->why_size == 0)
		return -1;
	if (path[0] != '\0')
		n = snprintf(r->why, r->why_size, "%s: ", path);
	if (n < 0 || (size_t)n >= r->why_size)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->why + n, r->why_size - (size_t)n, fmt, ap);
	va_end(ap);
	make_printable(r->why);
	return -1;
}

static int out_of_memory(struct reader *r)
{
	fail(r, "", "out of memory");
	r->error = ENOMEM;
	return -1;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

/*
 * The path of member key (or of entry index when key is NULL) of parent.
 * Paths are short (the deepest is four levels of known names), so a cut
 * one only loses its tail.
 */
static void child_path(char *out, const char *parent, const char *key, size_t index)
{
	int n;

	if (key == NULL)
		n = snprintf(out, PATH_SIZE, "%s[%zu]", parent, index);
	else if (parent[0] == '\0')
		n = snprintf(out, PATH_SIZE, "%s", key);
	else
		n = snprintf(out, PATH_SIZE, "%s.%s", parent, key);
	if (n < 0)
		out[0] = '\0';
}

/* --- step 1: the raw octets ------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (RFC 3629 table), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > avail)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f;		/* past U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Checks UTF-8, the nesting of text and its number of values, counting
 * lines and columns (in octets, from 1) for the reason.
 */
static int scan_text(struct reader *r, const char *text, size_t len, size_t max_depth,
		     size_t max_elements)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t depth = 0, line = 1, column = 1, n, elements = 1;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i += n, column += n) {
		if ((n = utf8_sequence(s + i, len - i)) == 0)
			return fail(r, "", "not UTF-8: line %zu, column %zu: octet 0x%02x "
				    "does not begin a valid UTF-8 sequence", line, column, s[i]);
		if (s[i] == '\n') {
			line++;
			column = 0;
		}
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (s[i] == '\\')
				escaped = true;
			else if (s[i] == '"')
				in_string = false;
			continue;
		}
		if (s[i] == '"')
			in_string = true;
		else if ((s[i] == '[' || s[i] == '{') && ++depth > max_depth)
			return fail(r, "", "line %zu, column %zu: nested deeper than the "
				    "limit of %zu", line, column, max_depth);
		else if ((s[i] == ']' || s[i] == '}') && depth > 0)
			depth--;
		if ((s[i] == ',' || s[i] == '[' || s[i] == '{') && ++elements > max_elements)
			return fail(r, "", "line %zu, column %zu: more than the limit of %zu "
				    "JSON values", line, column, max_elements);
	}
	return 0;
}

/* --- step 3: fields ---------------------------------------------------- */

static bool is_json_text_string(const json_t *v)
{
	const char *s = json_string_value(v);

	/* Without JSON_ALLOW_NUL jansson refuses "\u0000"; checked all the same. */
	return s != NULL && strlen(s) == json_string_length(v);
}

/* A copy of the string v at path, within max_string. */
static int copy_string(struct reader *r, const json_t *v, const char *path, char **ret)
{
	char *copy;

	if (!json_is_string(v))
		return fail(r, path, "a string is required, not %s", type_name(v));
	if (!is_json_text_string(v))
		return fail(r, path, "the string holds a NUL character");
	if (json_string_length(v) > r->limits->max_string)
		return fail(r, path, "a string of %zu octets, more than the limit of %zu",
			    json_string_length(v), r->limits->max_string);
	if ((copy = strdup(json_string_value(v))) == NULL)
		return out_of_memory(r);
	*ret = copy;
	return 0;
}

enum presence { REQUIRED, OPTIONAL };

/* Member key of obj as a string; an optional one absent or null gives NULL. */
static int get_string(struct reader *r, const json_t *obj, const char *parent,
		      const char *key, enum presence presence, char **ret)
{
	const json_t *v = json_object_get(obj, key);
	char path[PATH_SIZE];

	child_path(path, parent, key, 0);
	if (v == NULL && presence == REQUIRED)
		return fail(r, path, "required, and missing");
	if (v == NULL || (json_is_null(v) && presence == OPTIONAL)) {
		*ret = NULL;
		return 0;
	}
	return copy_string(r, v, path, ret);
}

static int get_object(struct reader *r, const json_t *obj, const char *parent,
		      const char *key, const json_t **ret)
{
	const json_t *v = json_object_get(obj, key);
	char path[PATH_SIZE];

	child_path(path, parent, key, 0);
	if (v == NULL)
		return fail(r, path, "required, and missing");
	if (!json_is_object(v))
		return fail(r, path, "an object is required, not %s", type_name(v));
	*ret = v;
	return 0;
}

/* A session count: a whole number from 0 to 2^53. */
static int get_count(struct reader *r, const json_t *obj, const char *parent,
		     const char *key, uint64_t *ret)
{
	const json_t *v = json_object_get(obj, key);
	char path[PATH_SIZE];
	json_int_t n;

	child_path(path, parent, key, 0);
	if (v == NULL)
		return fail(r, path, "required, and missing");
	if (json_is_real(v))
		return fail(r, path, "a whole number is required, not %g", json_real_value(v));
	if (!json_is_integer(v))
		return fail(r, path, "a number is required, not %s", type_name(v));
	n = json_integer_value(v);
	if (n < 0)
		return fail(r, path, "a count cannot be negative (%lld)", (long long)n);
	if ((uint64_t)n > COUNT_MAX)
		return fail(r, path, "%lld is past the largest count, 2^53", (long long)n);
	*ret = (uint64_t)n;
	return 0;
}

/* Lower case (ASCII) without the final dot, for names compared later. */
static void normalize_name(char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	if (len > 0 && s[len - 1] == '.')
		s[len - 1] = '\0';
}

static char **free_strings(char **strings, size_t count)
{
	if (strings != NULL)
		for (size_t i = 0; i < count; i++)
			free(strings[i]);
	free(strings);
	return NULL;
}

/*
 * A list of strings at path: a JSON array of strings, or one string (as
 * senders write "mx-host"), at most max_strings of them.
 */
static int copy_strings(struct reader *r, const json_t *v, const char *path,
			char ***ret_strings, size_t *ret_count)
{
	size_t count = json_is_array(v) ? json_array_size(v) : 1, done = 0;
	char path_i[PATH_SIZE];
	char **strings;
	int rc = -1;

	if (!json_is_array(v) && !json_is_string(v))
		return fail(r, path, "an array of strings is required, not %s", type_name(v));
	if (count > r->limits->max_strings)
		return fail(r, path, "%zu entries, more than the limit of %zu", count,
			    r->limits->max_strings);
	if ((strings = calloc(count > 0 ? count : 1, sizeof(*strings))) == NULL)
		return out_of_memory(r);
	if (!json_is_array(v)) {
		if (copy_string(r, v, path, &strings[0]) != 0)
			goto out;
		done = 1;
	}
	for (; done < count; done++) {
		child_path(path_i, path, NULL, done);
		if (copy_string(r, json_array_get(v, done), path_i, &strings[done]) != 0)
			goto out;
	}
	*ret_strings = strings;
	*ret_count = count;
	strings = NULL;
	rc = 0;
out:
	free_strings(strings, done);
	return rc;
}

/*
 * Microsoft sends the TLSA records as one string holding a JSON array of
 * strings; such a string is replaced by the strings in it.  Anything else
 * is kept as sent.
 */
static int expand_tlsa_strings(struct reader *r, struct tlsrpt_policy *p, const char *path)
{
	struct reader inner = { r->limits, NULL, 0, 0 };
	const char *text;
	json_t *array = NULL;
	char **strings = NULL;
	size_t count = 0;
	int rc = 0;

	if (p->policy_string_count != 1)
		return 0;
	text = p->policy_strings[0];
	text += strspn(text, " \t\r\n");
	/* its strings are bounded by max_string octets and then by max_strings */
	if (text[0] != '[' || scan_text(&inner, text, strlen(text), 1, SIZE_MAX) != 0)
		return 0;
	if ((array = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto out;
	for (size_t i = 0; i < json_array_size(array); i++)
		if (!json_is_string(json_array_get(array, i)))
			goto out;
	if ((rc = copy_strings(r, array, path, &strings, &count)) != 0)
		goto out;
	free_strings(p->policy_strings, p->policy_string_count);
	p->policy_strings = strings;
	p->policy_string_count = count;
out:
	json_decref(array);
	return rc;
}

/* "policy": what was applied. */
static int read_policy_fields(struct reader *r, const json_t *obj, const char *path,
			      struct tlsrpt_policy *p)
{
	char strings_path[PATH_SIZE];
	const json_t *v;

	if (get_string(r, obj, path, "policy-type", REQUIRED, &p->policy_type) != 0)
		return -1;
	normalize_name(p->policy_type);
	if (get_string(r, obj, path, "policy-domain", OPTIONAL, &p->policy_domain) != 0)
		return -1;
	if (p->policy_domain == NULL) {
		if (strcmp(p->policy_type, "no-policy-found") != 0) {
			child_path(strings_path, path, "policy-domain", 0);
			return fail(r, strings_path, "required for a policy of type \"%s\", "
				    "and missing", p->policy_type);
		}
		if ((p->policy_domain = strdup("")) == NULL)
			return out_of_memory(r);
	}
	normalize_name(p->policy_domain);
	child_path(strings_path, path, "policy-string", 0);
	v = json_object_get(obj, "policy-string");
	if (v != NULL && !json_is_null(v)) {
		if (copy_strings(r, v, strings_path, &p->policy_strings,
				 &p->policy_string_count) != 0)
			return -1;
		if (strcmp(p->policy_type, "tlsa") == 0 &&
		    expand_tlsa_strings(r, p, strings_path) != 0)
			return -1;
	}
	child_path(strings_path, path, "mx-host", 0);
	v = json_object_get(obj, "mx-host");
	if (v != NULL && !json_is_null(v) &&
	    copy_strings(r, v, strings_path, &p->mx_hosts, &p->mx_host_count) != 0)
		return -1;
	return 0;
}

/* An optional string of "failure-details": empty, null or absent is NULL. */
static int get_detail(struct reader *r, const json_t *obj, const char *path,
		      const char *key, char **ret)
{
	if (get_string(r, obj, path, key, OPTIONAL, ret) != 0)
		return -1;
	if (*ret != NULL && (*ret)[0] == '\0') {
		free(*ret);
		*ret = NULL;
	}
	return 0;
}

static int read_failure(struct reader *r, const json_t *obj, const char *path,
			struct tlsrpt_failure *f)
{
	if (!json_is_object(obj))
		return fail(r, path, "an object is required, not %s", type_name(obj));
	if (get_string(r, obj, path, "result-type", REQUIRED, &f->result_type) != 0)
		return -1;
	normalize_name(f->result_type);
	if (get_detail(r, obj, path, "sending-mta-ip", &f->sending_mta_ip) != 0 ||
	    get_detail(r, obj, path, "receiving-mx-hostname", &f->receiving_mx_hostname) != 0 ||
	    get_detail(r, obj, path, "receiving-mx-helo", &f->receiving_mx_helo) != 0 ||
	    get_detail(r, obj, path, "receiving-ip", &f->receiving_ip) != 0 ||
	    get_detail(r, obj, path, "additional-information", &f->additional_information) != 0 ||
	    get_detail(r, obj, path, "failure-reason-code", &f->failure_reason_code) != 0)
		return -1;
	if (f->receiving_mx_hostname != NULL)
		normalize_name(f->receiving_mx_hostname);
	return get_count(r, obj, path, "failed-session-count", &f->failed_session_count);
}

static int read_failures(struct reader *r, const json_t *obj, const char *parent,
			 struct tlsrpt_policy *p)
{
	const json_t *v = json_object_get(obj, "failure-details");
	char path[PATH_SIZE], path_i[PATH_SIZE];
	size_t count;

	child_path(path, parent, "failure-details", 0);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(r, path, "an array is required, not %s", type_name(v));
	if ((count = json_array_size(v)) > r->limits->max_failures)
		return fail(r, path, "%zu entries, more than the limit of %zu", count,
			    r->limits->max_failures);
	if (count == 0)
		return 0;
	if ((p->failures = calloc(count, sizeof(*p->failures))) == NULL)
		return out_of_memory(r);
	for (size_t i = 0; i < count; i++) {
		child_path(path_i, path, NULL, i);
		/* Counted first, so that a failure half read is freed too. */
		p->failure_count = i + 1;
		if (read_failure(r, json_array_get(v, i), path_i, &p->failures[i]) != 0)
			return -1;
	}
	return 0;
}

static int read_policy(struct reader *r, const json_t *obj, const char *path,
		       struct tlsrpt_policy *p)
{
	char child[PATH_SIZE];
	const json_t *v;

	if (!json_is_object(obj))
		return fail(r, path, "an object is required, not %s", type_name(obj));
	if (get_object(r, obj, path, "policy", &v) != 0)
		return -1;
	child_path(child, path, "policy", 0);
	if (read_policy_fields(r, v, child, p) != 0)
		return -1;
	if (get_object(r, obj, path, "summary", &v) != 0)
		return -1;
	child_path(child, path, "summary", 0);
	if (get_count(r, v, child, "total-successful-session-count", &p->total_successful) != 0 ||
	    get_count(r, v, child, "total-failure-session-count", &p->total_failure) != 0)
		return -1;
	return read_failures(r, obj, path, p);
}

static int read_policies(struct reader *r, const json_t *root, struct tlsrpt_report *report)
{
	const json_t *v = json_object_get(root, "policies");
	char path_i[PATH_SIZE];
	size_t count;

	if (v == NULL)
		return fail(r, "policies", "required, and missing");
	if (!json_is_array(v))
		return fail(r, "policies", "an array is required, not %s", type_name(v));
	if ((count = json_array_size(v)) > r->limits->max_policies)
		return fail(r, "policies", "%zu entries, more than the limit of %zu", count,
			    r->limits->max_policies);
	if (count == 0)
		return 0;
	if ((report->policies = calloc(count, sizeof(*report->policies))) == NULL)
		return out_of_memory(r);
	for (size_t i = 0; i < count; i++) {
		child_path(path_i, "policies", NULL, i);
		report->policy_count = i + 1;
		if (read_policy(r, json_array_get(v, i), path_i, &report->policies[i]) != 0)
			return -1;
	}
	return 0;
}

/* --- dates ------------------------------------------------------------- */

/* Reads n digits at *s into *ret, moving *s past them. */
static bool read_digits(const char **s, int n, int *ret)
{
	int value = 0;

	for (int i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		value = value * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*ret = value;
	return true;
}

static bool read_char(const char **s, const char *choices)
{
	if (**s == '\0' || strchr(choices, **s) == NULL)
		return false;
	(*s)++;
	return true;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/*
 * RFC 3339 date-time, read leniently: "T", "t" or a space between date and
 * time; the fraction of a second dropped; no zone read as UTC.  A leap
 * second (:60) is the next second.  NULL on success, else what was wrong.
 */
static const char *parse_datetime(const char *s, int64_t *ret)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, digit;

	if (!read_digits(&s, 4, &y) || !read_char(&s, "-") || !read_digits(&s, 2, &mo) ||
	    !read_char(&s, "-") || !read_digits(&s, 2, &d))
		return "not a date as YYYY-MM-DD";
	if (!read_char(&s, "Tt ") || !read_digits(&s, 2, &h) || !read_char(&s, ":") ||
	    !read_digits(&s, 2, &mi) || !read_char(&s, ":") || !read_digits(&s, 2, &sec))
		return "no time as THH:MM:SS after the date";
	if (read_char(&s, ".")) {
		if (!read_digits(&s, 1, &digit))
			return "no digit after the decimal point";
		while (read_digits(&s, 1, &digit))
			;
	}
	if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (!read_digits(&s, 2, &oh) || !read_char(&s, ":") || !read_digits(&s, 2, &om))
			return "not a time zone offset as +HH:MM";
	} else if (*s != '\0' && !read_char(&s, "Zz")) {
		return "not a time zone as Z or +HH:MM";
	}
	if (*s != '\0')
		return "something follows the time zone";
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return "no such day";
	if (h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return "no such time of day";
	*ret = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       sign * (oh * 3600 + om * 60);
	return NULL;
}

static int get_datetime(struct reader *r, const json_t *obj, const char *key, int64_t *ret)
{
	char path[PATH_SIZE];
	const char *wrong;
	char *text;

	child_path(path, "date-range", key, 0);
	if (get_string(r, obj, "date-range", key, REQUIRED, &text) != 0)
		return -1;
	wrong = parse_datetime(text, ret);
	free(text);
	if (wrong != NULL)
		return fail(r, path, "not an RFC 3339 date-time: %s", wrong);
	return 0;
}

static int read_dates(struct reader *r, const json_t *root, struct tlsrpt_report *report)
{
	const json_t *range;

	if (get_object(r, root, "", "date-range", &range) != 0 ||
	    get_datetime(r, range, "start-datetime", &report->start) != 0 ||
	    get_datetime(r, range, "end-datetime", &report->end) != 0)
		return -1;
	if (report->end < report->start)
		return fail(r, "date-range", "the end-datetime is before the start-datetime");
	return 0;
}

/* --- the report ------------------------------------------------------- */

static int read_report(struct reader *r, const json_t *root, struct tlsrpt_report *report)
{
	if (!json_is_object(root))
		return fail(r, "", "not a TLS report: the JSON text is %s, not an object",
			    type_name(root));
	if (json_object_get(root, "organization-name") == NULL &&
	    json_object_get(root, "policies") == NULL)
		return fail(r, "", "not a TLS report: no organization-name/policies");
	if (get_string(r, root, "", "organization-name", REQUIRED,
		       &report->organization_name) != 0 ||
	    read_dates(r, root, report) != 0 ||
	    get_string(r, root, "", "contact-info", OPTIONAL, &report->contact_info) != 0 ||
	    get_string(r, root, "", "report-id", REQUIRED, &report->report_id) != 0)
		return -1;
	return read_policies(r, root, report);
}

static json_t *parse_json(struct reader *r, const char *json, size_t len)
{
	json_error_t error;
	json_t *root;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
	if (root != NULL)
		return root;
	if (json_error_code(&error) == json_error_out_of_memory) {
		out_of_memory(r);
		return NULL;
	}
	fail(r, "", "not JSON: line %d, column %d: %s", error.line, error.column, error.text);
	return NULL;
}

int tlsrpt_report_read(const char *json, size_t len, const struct tlsrpt_limits *limits,
		       struct tlsrpt_report **ret_report, char *why, size_t why_size)
{
	struct tlsrpt_limits defaults;
	struct reader r = { limits, why, why_size, 0 };
	struct tlsrpt_report *report = NULL;
	json_t *root = NULL;
	int rc = -1;

	if (why != NULL && why_size > 0)
		why[0] = '\0';
	if (r.limits == NULL) {
		tlsrpt_limits_default(&defaults);
		r.limits = &defaults;
	}
	if (json == NULL && len > 0) {
		fail(&r, "", "no JSON text");
		goto out;
	}
	if (json == NULL)
		json = "";
	if (len > r.limits->max_json) {
		fail(&r, "", "the JSON text is %zu octets, more than the limit of %zu",
		     len, r.limits->max_json);
		goto out;
	}
	/* a byte order mark, which some senders write (RFC 8259 8.1 lets it be ignored) */
	if (len >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0) {
		json += 3;
		len -= 3;
	}
	if (scan_text(&r, json, len, r.limits->max_depth, r.limits->max_elements) != 0 ||
	    (root = parse_json(&r, json, len)) == NULL)
		goto out;
	if ((report = calloc(1, sizeof(*report))) == NULL) {
		out_of_memory(&r);
		goto out;
	}
	if (read_report(&r, root, report) != 0)
		goto out;
	*ret_report = report;
	report = NULL;
	rc = 0;
out:
	json_decref(root);
	tlsrpt_report_free(report);
	if (rc != 0)
		errno = r.error != 0 ? r.error : EINVAL;
	return rc;
}

static void free_policy(struct tlsrpt_policy *p)
{
	free(p->policy_type);
	free(p->policy_domain);
	free_strings(p->policy_strings, p->policy_string_count);
	free_strings(p->mx_hosts, p->mx_host_count);
	for (size_t i = 0; i < p->failure_count; i++) {
		struct tlsrpt_failure *f = &p->failures[i];

		free(f->result_type);
		free(f->sending_mta_ip);
		free(f->receiving_mx_hostname);
		free(f->receiving_mx_helo);
		free(f->receiving_ip);
		free(f->additional_information);
		free(f->failure_reason_code);
	}
	free(p->failures);
}

struct tlsrpt_report *tlsrpt_report_free(struct tlsrpt_report *report)
{
	if (report == NULL)
		return NULL;
	free(report->organization_name);
	free(report->report_id);
	free(report->contact_info);
	for (size_t i = 0; i < report->policy_count; i++)
		free_policy(&report->policies[i]);
	free(report->policies);
	free(report);
	return NULL;
}

/* Sums saturate: a report holds at most max_policies counts of 2^53. */
static uint64_t add_saturating(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t tlsrpt_report_successes(const struct tlsrpt_report *report)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < report->policy_count; i++)
		sum = add_saturating(sum, report->policies[i].total_successful);
	return sum;
}

uint64_t tlsrpt_report_failures(const struct tlsrpt_report *report)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < report->policy_count; i++)
		sum = add_saturating(sum, report->policies[i].total_failure);
	return sum;
}
