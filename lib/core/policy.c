/*
 * policy.c - the MTA-STS policy file (RFC 8461 3.2): parser, serializer and
 * MX matching against a parsed policy.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts/mx.h>
#include <mtasts/policy.h>

#include "core.h"

/* One line of the body, without its terminator. */
struct line {
	const char *text;
	size_t len;
	unsigned number;
	bool crlf;
	bool terminated;
};

struct line_reader {
	const char *body;
	size_t len;
	size_t pos;
	unsigned number;
};

/* One "name: value" field, by spans into its line. */
struct field {
	struct line line;
	size_t name_len;
	size_t value_start, value_len;
};

/* Bits of parse_state.rejected: a known field whose line was rejected. */
enum {
	REJECTED_VERSION = 1 << 0,
	REJECTED_MODE = 1 << 1,
	REJECTED_MAX_AGE = 1 << 2,
	REJECTED_MX = 1 << 3,
};

/* What the first pass learns; the second pass builds from it. */
struct parse_state {
	struct mtasts_diags *diags;
	/* Where this parse's diagnostics begin in the caller's list. */
	size_t first_diag;
	bool ok;
	/* Known fields that were given but rejected: not also "missing". */
	unsigned rejected;
	unsigned version_line, mode_line, max_age_line;
	enum mtasts_mode mode;
	uint32_t max_age;
	size_t mx_count;
	size_t extension_count;
	size_t lf_only_lines;
};

static bool next_line(struct line_reader *r, struct line *ret_line)
{
	const char *nl;
	size_t end;

	if (r->pos >= r->len)
		return false;
	nl = memchr(r->body + r->pos, '\n', r->len - r->pos);
	end = nl != NULL ? (size_t)(nl - r->body) : r->len;
	ret_line->text = r->body + r->pos;
	ret_line->number = ++r->number;
	ret_line->terminated = nl != NULL;
	ret_line->crlf = nl != NULL && end > r->pos && r->body[end - 1] == '\r';
	ret_line->len = end - r->pos - (ret_line->crlf ? 1 : 0);
	r->pos = nl != NULL ? end + 1 : r->len;
	return true;
}

static void error_at(struct parse_state *st, enum mtasts_code code,
		     const struct line *line, size_t offset, const char *fmt, ...)
	CORE_PRINTF(5, 6);

static void error_at(struct parse_state *st, enum mtasts_code code,
		     const struct line *line, size_t offset, const char *fmt, ...)
{
	char message[MTASTS_DIAG_MESSAGE_MAX];
	size_t evicted;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	evicted = diag_add(st->diags, code, MTASTS_SEVERITY_ERROR, -1,
			   line != NULL ? line->number : 0,
			   line != NULL ? (unsigned)offset + 1 : 0, "%s", message);
	/* A warning of an earlier parse made room: ours moved down one. */
	if (evicted < st->first_diag)
		st->first_diag--;
	st->ok = false;
}

static void warn_at(struct parse_state *st, enum mtasts_code code,
		    const struct line *line, size_t offset, const char *message)
{
	diag_add(st->diags, code, MTASTS_SEVERITY_WARNING, -1,
		 line != NULL ? line->number : 0,
		 line != NULL ? (unsigned)offset + 1 : 0, "%s", message);
}

/* Length of the UTF-8 sequence at s (RFC 3629), or 0 when it is not one. */
static size_t utf8_sequence_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;		/* no overlong forms */
	else if (c == 0xed)
		hi = 0x9f;		/* no surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;		/* nothing above U+10FFFF */
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * sts-policy-ext-value = sts-policy-vchar
 *			  [*(%x20 / sts-policy-vchar) sts-policy-vchar]
 * where a vchar is VCHAR or a UTF-8 sequence: inside a value only spaces
 * may separate the visible characters, never a tab.  Leading and trailing
 * white space (tabs included: *WSP) were already taken off by the caller.
 */
static bool check_value_chars(struct parse_state *st, const struct field *f)
{
	const unsigned char *v = (const unsigned char *)f->line.text + f->value_start;

	for (size_t i = 0; i < f->value_len;) {
		size_t n;

		if (is_vchar(v[i]) || v[i] == ' ') {
			i++;
			continue;
		}
		if (v[i] == '\t') {
			error_at(st, MTASTS_POLICY_INVALID_VALUE, &f->line,
				 f->value_start + i, "line %u: tab in the value at "
				 "column %zu; only spaces may separate the words of "
				 "a value (RFC 8461 3.2)", f->line.number,
				 f->value_start + i + 1);
			return false;
		}
		if (v[i] < 0x80 || v[i] == 0x7f) {
			error_at(st, MTASTS_POLICY_INVALID_VALUE, &f->line,
				 f->value_start + i, "line %u: control character "
				 "0x%02x in the value at column %zu",
				 f->line.number, v[i], f->value_start + i + 1);
			return false;
		}
		n = utf8_sequence_len(v + i, f->value_len - i);
		if (n == 0) {
			error_at(st, MTASTS_POLICY_INVALID_UTF8, &f->line,
				 f->value_start + i, "line %u: invalid UTF-8 at "
				 "column %zu", f->line.number, f->value_start + i + 1);
			return false;
		}
		i += n;
	}
	return true;
}

static bool field_is(const struct field *f, const char *name)
{
	return f->name_len == strlen(name) && memcmp(f->line.text, name, f->name_len) == 0;
}

static const char *const known_fields[] = { "version", "mode", "max_age", "mx" };

/* The REJECTED_ bit of a known field, 0 for any other name. */
static unsigned known_field_bit(const struct field *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_fields); i++)
		if (field_is(f, known_fields[i]))
			return 1u << i;
	return 0;
}

static const char *known_field_case_twin(const struct field *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_fields); i++)
		if (f->name_len == strlen(known_fields[i]) &&
		    strncasecmp(f->line.text, known_fields[i], f->name_len) == 0 &&
		    !field_is(f, known_fields[i]))
			return known_fields[i];
	return NULL;
}

/* Split a line into name and value; report what is wrong with its shape. */
static bool split_line(struct parse_state *st, const struct line *line,
		       struct field *ret_field)
{
	const char *colon = memchr(line->text, ':', line->len);
	size_t name_len, pos;
	char excerpt[64];

	if (line->len > 0 && is_wsp((unsigned char)line->text[0])) {
		error_at(st, MTASTS_POLICY_SYNTAX, line, 0, "line %u starts with "
			 "white space; a field name must start the line", line->number);
		return false;
	}
	if (colon == NULL) {
		quote_excerpt(excerpt, sizeof(excerpt), line->text, line->len);
		error_at(st, MTASTS_POLICY_SYNTAX, line, line->len, "line %u has no "
			 "\":\"; expected \"name: value\", found %s", line->number, excerpt);
		return false;
	}
	name_len = (size_t)(colon - line->text);
	if (name_len > 0 && is_wsp((unsigned char)line->text[name_len - 1])) {
		size_t ws = name_len;

		while (ws > 0 && is_wsp((unsigned char)line->text[ws - 1]))
			ws--;
		error_at(st, MTASTS_POLICY_SYNTAX, line, ws, "line %u: white space "
			 "before \":\" is not allowed", line->number);
		return false;
	}
	if (!is_ext_name(line->text, name_len)) {
		quote_excerpt(excerpt, sizeof(excerpt), line->text, name_len);
		error_at(st, MTASTS_POLICY_INVALID_FIELD_NAME, line, 0, "line %u: "
			 "field name %s is not valid: 1 to 32 letters, digits, \"_\", "
			 "\"-\" or \".\", starting with a letter or digit",
			 line->number, excerpt);
		return false;
	}
	pos = name_len + 1;
	while (pos < line->len && is_wsp((unsigned char)line->text[pos]))
		pos++;
	size_t end = line->len;
	while (end > pos && is_wsp((unsigned char)line->text[end - 1]))
		end--;
	ret_field->line = *line;
	ret_field->name_len = name_len;
	ret_field->value_start = pos;
	ret_field->value_len = end - pos;
	if (ret_field->value_len == 0) {
		quote_excerpt(excerpt, sizeof(excerpt), line->text, name_len);
		error_at(st, MTASTS_POLICY_INVALID_VALUE, line, pos, "line %u: field "
			 "%s has no value", line->number, excerpt);
		st->rejected |= known_field_bit(ret_field);
		return false;
	}
	if (!check_value_chars(st, ret_field)) {
		st->rejected |= known_field_bit(ret_field);
		return false;
	}
	return true;
}

static bool value_is(const struct field *f, const char *s)
{
	return f->value_len == strlen(s) &&
	       memcmp(f->line.text + f->value_start, s, f->value_len) == 0;
}

static void duplicate_warning(struct parse_state *st, const struct field *f,
			      unsigned first_line)
{
	char message[MTASTS_DIAG_MESSAGE_MAX], name[64];

	quote_excerpt(name, sizeof(name), f->line.text, f->name_len);
	snprintf(message, sizeof(message), "line %u: field %s was already given on "
		 "line %u; the first one is used and this one is ignored",
		 f->line.number, name, first_line);
	warn_at(st, MTASTS_POLICY_DUPLICATE_FIELD, &f->line, 0, message);
}

static void take_version(struct parse_state *st, const struct field *f)
{
	char excerpt[64];

	if (st->version_line != 0) {
		duplicate_warning(st, f, st->version_line);
		return;
	}
	st->version_line = f->line.number;
	if (value_is(f, "STSv1"))
		return;
	quote_excerpt(excerpt, sizeof(excerpt), f->line.text + f->value_start,
		      f->value_len);
	error_at(st, MTASTS_POLICY_INVALID_VERSION, &f->line, f->value_start,
		 "line %u: version is %s; it must be \"STSv1\" (case-sensitive)",
		 f->line.number, excerpt);
}

static void take_mode(struct parse_state *st, const struct field *f)
{
	static const struct { const char *name; enum mtasts_mode mode; } modes[] = {
		{ "enforce", MTASTS_MODE_ENFORCE },
		{ "testing", MTASTS_MODE_TESTING },
		{ "none", MTASTS_MODE_NONE },
	};
	char excerpt[64];

	if (st->mode_line != 0) {
		duplicate_warning(st, f, st->mode_line);
		return;
	}
	st->mode_line = f->line.number;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (value_is(f, modes[i].name)) {
			st->mode = modes[i].mode;
			return;
		}
	}
	st->rejected |= REJECTED_MODE;
	quote_excerpt(excerpt, sizeof(excerpt), f->line.text + f->value_start,
		      f->value_len);
	error_at(st, MTASTS_POLICY_INVALID_MODE, &f->line, f->value_start,
		 "line %u: mode is %s; it must be \"enforce\", \"testing\" or "
		 "\"none\" (case-sensitive)", f->line.number, excerpt);
}

/* sts-policy-max-age-value = 1*10(DIGIT), at most 31557600 */
static void take_max_age(struct parse_state *st, const struct field *f)
{
	const char *v = f->line.text + f->value_start;
	uint64_t value = 0;
	char excerpt[64];

	if (st->max_age_line != 0) {
		duplicate_warning(st, f, st->max_age_line);
		return;
	}
	st->max_age_line = f->line.number;
	for (size_t i = 0; i < f->value_len; i++) {
		if (!is_digit((unsigned char)v[i]) || i == 10) {
			quote_excerpt(excerpt, sizeof(excerpt), v, f->value_len);
			error_at(st, MTASTS_POLICY_INVALID_MAX_AGE, &f->line,
				 f->value_start + i, "line %u: max_age is %s; it must "
				 "be 1 to 10 decimal digits", f->line.number, excerpt);
			return;
		}
		value = value * 10 + (uint64_t)(v[i] - '0');
	}
	if (value > MTASTS_MAX_AGE_MAX) {
		error_at(st, MTASTS_POLICY_MAX_AGE_TOO_LARGE, &f->line, f->value_start,
			 "line %u: max_age is %llu; the largest allowed is %u "
			 "(about one year)", f->line.number,
			 (unsigned long long)value, MTASTS_MAX_AGE_MAX);
		return;
	}
	st->max_age = (uint32_t)value;
}

static void take_mx(struct parse_state *st, const struct field *f,
		    const struct field *const *earlier_mx, size_t earlier_count)
{
	const char *v = f->line.text + f->value_start;
	char why[128], excerpt[64];
	size_t offset;

	if (!mtasts_mx_pattern_check(v, f->value_len, &offset, why, sizeof(why))) {
		st->rejected |= REJECTED_MX;
		quote_excerpt(excerpt, sizeof(excerpt), v, f->value_len);
		error_at(st, MTASTS_POLICY_INVALID_MX, &f->line, f->value_start + offset,
			 "line %u: mx %s is not a valid pattern: %s", f->line.number,
			 excerpt, why);
		return;
	}
	if (st->mx_count == MTASTS_POLICY_MX_MAX) {
		error_at(st, MTASTS_POLICY_TOO_MANY_MX, &f->line, 0, "line %u: more "
			 "than %d mx lines", f->line.number, MTASTS_POLICY_MX_MAX);
		return;
	}
	for (size_t i = 0; i < earlier_count; i++) {
		const struct field *e = earlier_mx[i];

		if (e->value_len == f->value_len &&
		    strncasecmp(e->line.text + e->value_start, v, f->value_len) == 0) {
			char message[MTASTS_DIAG_MESSAGE_MAX];

			quote_excerpt(excerpt, sizeof(excerpt), v, f->value_len);
			snprintf(message, sizeof(message), "line %u: mx %s repeats "
				 "line %u", f->line.number, excerpt, e->line.number);
			warn_at(st, MTASTS_POLICY_DUPLICATE_MX, &f->line, f->value_start,
				message);
			break;
		}
	}
	st->mx_count++;
}

static void take_extension(struct parse_state *st, const struct field *f,
			   const struct field *fields, size_t index)
{
	const char *twin = known_field_case_twin(f);
	char message[MTASTS_DIAG_MESSAGE_MAX], name[64];

	quote_excerpt(name, sizeof(name), f->line.text, f->name_len);
	if (twin != NULL) {
		snprintf(message, sizeof(message), "line %u: field %s is not \"%s\" "
			 "(field names are case-sensitive), so it counts as an "
			 "unknown field",
			 f->line.number, name, twin);
		warn_at(st, MTASTS_POLICY_FIELD_CASE, &f->line, 0, message);
	}
	for (size_t i = 0; i < index; i++) {
		if (fields[i].name_len == f->name_len &&
		    memcmp(fields[i].line.text, f->line.text, f->name_len) == 0) {
			duplicate_warning(st, f, fields[i].line.number);
			return;
		}
	}
	st->extension_count++;
}

static bool check_line_shape(struct parse_state *st, const struct line *line)
{
	const char *cr = memchr(line->text, '\r', line->len);

	if (cr != NULL) {
		error_at(st, MTASTS_POLICY_BAD_LINE_ENDING, line,
			 (size_t)(cr - line->text), "line %u: carriage return not "
			 "followed by a line feed; lines end in LF or CRLF",
			 line->number);
		return false;
	}
	if (line->len == 0) {
		error_at(st, MTASTS_POLICY_EMPTY_LINE, line, 0, "line %u is empty; "
			 "a policy has no empty lines", line->number);
		return false;
	}
	return true;
}

/*
 * A field given on a line that was rejected is reported there, not also as
 * missing; so is an mx list whose only entries were rejected.
 */
static void check_required(struct parse_state *st)
{
	if (st->version_line == 0 && !(st->rejected & REJECTED_VERSION))
		error_at(st, MTASTS_POLICY_MISSING_VERSION, NULL, 0,
			 "the policy has no \"version: STSv1\" line");
	if (st->mode_line == 0 && !(st->rejected & REJECTED_MODE))
		error_at(st, MTASTS_POLICY_MISSING_MODE, NULL, 0,
			 "the policy has no \"mode\" line (enforce, testing or none)");
	if (st->max_age_line == 0 && !(st->rejected & REJECTED_MAX_AGE))
		error_at(st, MTASTS_POLICY_MISSING_MAX_AGE, NULL, 0,
			 "the policy has no \"max_age\" line");
	if (st->mode_line != 0 && st->mode != MTASTS_MODE_NONE && st->mx_count == 0 &&
	    !(st->rejected & (REJECTED_MODE | REJECTED_MX)))
		error_at(st, MTASTS_POLICY_MISSING_MX, NULL, 0,
			 "mode is %s but the policy has no \"mx\" line; only mode "
			 "none may omit mx", mtasts_mode_name(st->mode));
}

static void add_warnings(struct parse_state *st, const struct field *fields,
			 size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct field *f = &fields[i];
		char message[MTASTS_DIAG_MESSAGE_MAX];

		if (f->line.number == st->max_age_line && field_is(f, "max_age") &&
		    st->max_age < MTASTS_MAX_AGE_SHORT) {
			snprintf(message, sizeof(message), "line %u: max_age is %u "
				 "seconds, under one day: senders forget the policy "
				 "quickly, which leaves a window for a downgrade",
				 f->line.number, st->max_age);
			warn_at(st, MTASTS_POLICY_SHORT_MAX_AGE, &f->line,
				f->value_start, message);
		}
		if (f->line.number == st->mode_line && field_is(f, "mode")) {
			if (st->mode == MTASTS_MODE_TESTING)
				warn_at(st, MTASTS_POLICY_MODE_TESTING, &f->line,
					f->value_start, "mode is testing: senders "
					"report failures but still deliver over "
					"unprotected connections");
			else if (st->mode == MTASTS_MODE_NONE)
				warn_at(st, MTASTS_POLICY_MODE_NONE, &f->line,
					f->value_start, "mode is none: the policy "
					"protects nothing");
		}
	}
}

static int build_policy(const struct parse_state *st, const struct field *fields,
			size_t count, struct mtasts_policy **ret_policy)
{
	struct mtasts_policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return MTASTS_ERR_NOMEM;
	p->mode = st->mode;
	p->max_age = st->max_age;
	p->lf_only_lines = st->lf_only_lines;
	if (st->mx_count > 0 && (p->mx = calloc(st->mx_count, sizeof(*p->mx))) == NULL)
		goto nomem;
	if (st->extension_count > 0 &&
	    (p->extensions = calloc(st->extension_count, sizeof(*p->extensions))) == NULL)
		goto nomem;
	for (size_t i = 0; i < count; i++) {
		const struct field *f = &fields[i];
		const char *value = f->line.text + f->value_start;

		if (field_is(f, "mx")) {
			if ((p->mx[p->mx_count++] = copy_span(value, f->value_len)) == NULL)
				goto nomem;
			continue;
		}
		if (field_is(f, "version") || field_is(f, "mode") ||
		    field_is(f, "max_age"))
			continue;
		bool first = true;
		for (size_t j = 0; j < p->extension_count && first; j++)
			if (strlen(p->extensions[j].name) == f->name_len &&
			    memcmp(p->extensions[j].name, f->line.text, f->name_len) == 0)
				first = false;
		if (!first)
			continue;
		struct mtasts_extension *e = &p->extensions[p->extension_count++];
		e->name = copy_span(f->line.text, f->name_len);
		e->value = copy_span(value, f->value_len);
		if (e->name == NULL || e->value == NULL)
			goto nomem;
	}
	*ret_policy = p;
	return MTASTS_OK;
nomem:
	mtasts_policy_free(p);
	return MTASTS_ERR_NOMEM;
}

static size_t count_lines(const char *body, size_t len)
{
	size_t n = 1;

	for (const char *p = body; (p = memchr(p, '\n', len - (size_t)(p - body))) != NULL; p++)
		n++;
	return n;
}

static void check_fields(struct parse_state *st, struct field *fields,
			 size_t count, const struct field **mx_fields)
{
	for (size_t i = 0; i < count; i++) {
		const struct field *f = &fields[i];

		if (field_is(f, "version"))
			take_version(st, f);
		else if (field_is(f, "mode"))
			take_mode(st, f);
		else if (field_is(f, "max_age"))
			take_max_age(st, f);
		else if (field_is(f, "mx")) {
			size_t before = st->mx_count;

			take_mx(st, f, mx_fields, before);
			if (st->mx_count > before)
				mx_fields[before] = f;
		} else
			take_extension(st, f, fields, i);
	}
}

static bool diag_before(const struct mtasts_diag *a, const struct mtasts_diag *b)
{
	/* Problems without a line (missing fields) come after the others. */
	unsigned la = a->line != 0 ? a->line : UINT_MAX;
	unsigned lb = b->line != 0 ? b->line : UINT_MAX;

	return la < lb || (la == lb && a->column < b->column);
}

/* Order this parse's diagnostics by position, keeping equal ones in order. */
static void sort_by_position(struct mtasts_diags *diags, size_t first)
{
	if (diags == NULL)
		return;
	for (size_t i = first + 1; i < diags->count; i++) {
		struct mtasts_diag d = diags->items[i];
		size_t j = i;

		for (; j > first && diag_before(&d, &diags->items[j - 1]); j--)
			diags->items[j] = diags->items[j - 1];
		diags->items[j] = d;
	}
}

int mtasts_policy_parse(const char *body, size_t len,
			struct mtasts_policy **ret_policy,
			struct mtasts_diags *diags)
{
	struct parse_state st = { .diags = diags, .ok = true };
	struct line_reader reader = { .body = body, .len = len };
	const struct field **mx_fields = NULL;
	struct field *fields = NULL;
	struct line line;
	size_t count = 0;
	int rc;

	if ((body == NULL && len > 0) || ret_policy == NULL)
		return MTASTS_ERR_ARGUMENT;
	if (len > MTASTS_POLICY_BODY_MAX) {
		diag_add(diags, MTASTS_POLICY_TOO_LARGE, MTASTS_SEVERITY_ERROR, -1, 0, 0,
			 "the policy is larger than %d octets; it is "
			 "rejected unread", MTASTS_POLICY_BODY_MAX);
		return MTASTS_ERR_INVALID;
	}
	st.first_diag = diags != NULL ? diags->count : 0;
	if (len == 0) {
		diag_add(diags, MTASTS_POLICY_EMPTY, MTASTS_SEVERITY_ERROR, -1, 0, 0,
			 "the policy is empty");
		return MTASTS_ERR_INVALID;
	}
	fields = malloc(count_lines(body, len) * sizeof(*fields));
	mx_fields = malloc(MTASTS_POLICY_MX_MAX * sizeof(*mx_fields));
	if (fields == NULL || mx_fields == NULL) {
		rc = MTASTS_ERR_NOMEM;
		goto out;
	}
	while (next_line(&reader, &line)) {
		if (line.terminated && !line.crlf)
			st.lf_only_lines++;
		if (check_line_shape(&st, &line) && split_line(&st, &line, &fields[count]))
			count++;
	}
	check_fields(&st, fields, count, mx_fields);
	check_required(&st);
	if (st.ok)
		add_warnings(&st, fields, count);
	sort_by_position(diags, st.first_diag);
	if (!st.ok) {
		rc = MTASTS_ERR_INVALID;
		goto out;
	}
	rc = build_policy(&st, fields, count, ret_policy);
out:
	free(fields);
	free(mx_fields);
	return rc;
}

/* What the serializer may write must parse back to the same policy. */
static bool extension_serializable(const struct mtasts_extension *e)
{
	size_t len;

	if (e->name == NULL || e->value == NULL ||
	    !is_ext_name(e->name, strlen(e->name)))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(known_fields); i++)
		if (strcmp(e->name, known_fields[i]) == 0)
			return false;
	len = strlen(e->value);
	if (len == 0 || e->value[0] == ' ' || e->value[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len;) {
		const unsigned char *v = (const unsigned char *)e->value;
		size_t n;

		if (is_vchar(v[i]) || v[i] == ' ') {
			i++;
			continue;
		}
		if ((n = utf8_sequence_len(v + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

static bool policy_serializable(const struct mtasts_policy *policy)
{
	if (mtasts_mode_name(policy->mode) == NULL ||
	    policy->max_age > MTASTS_MAX_AGE_MAX ||
	    policy->mx_count > MTASTS_POLICY_MX_MAX ||
	    (policy->mx_count == 0 && policy->mode != MTASTS_MODE_NONE) ||
	    (policy->mx_count > 0 && policy->mx == NULL) ||
	    (policy->extension_count > 0 && policy->extensions == NULL))
		return false;
	for (size_t i = 0; i < policy->mx_count; i++)
		if (policy->mx[i] == NULL ||
		    !mtasts_mx_pattern_check(policy->mx[i], strlen(policy->mx[i]),
					     NULL, NULL, 0))
			return false;
	for (size_t i = 0; i < policy->extension_count; i++) {
		if (!extension_serializable(&policy->extensions[i]))
			return false;
		/* A repeated name would parse back as one extension. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(policy->extensions[j].name,
				   policy->extensions[i].name) == 0)
				return false;
	}
	return true;
}

static void append(char *buf, size_t *pos, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	memcpy(buf + *pos, a, la);
	memcpy(buf + *pos + la, b, lb);
	memcpy(buf + *pos + la + lb, "\r\n", 2);
	*pos += la + lb + 2;
}

int mtasts_policy_serialize(const struct mtasts_policy *policy,
			    char **ret_text, size_t *ret_len)
{
	char max_age[16];
	size_t size, pos = 0;
	char *buf;

	if (policy == NULL || ret_text == NULL)
		return MTASTS_ERR_ARGUMENT;
	if (!policy_serializable(policy))
		return MTASTS_ERR_INVALID;
	snprintf(max_age, sizeof(max_age), "%u", (unsigned)policy->max_age);
	size = sizeof("version: STSv1\r\n") + sizeof("mode: enforce\r\n") +
	       sizeof("max_age: \r\n") + strlen(max_age) + 1;
	for (size_t i = 0; i < policy->mx_count; i++)
		size += sizeof("mx: \r\n") + strlen(policy->mx[i]);
	for (size_t i = 0; i < policy->extension_count; i++)
		size += strlen(policy->extensions[i].name) +
			strlen(policy->extensions[i].value) + sizeof(": \r\n");
	if ((buf = malloc(size)) == NULL)
		return MTASTS_ERR_NOMEM;
	append(buf, &pos, "version: ", "STSv1");
	append(buf, &pos, "mode: ", mtasts_mode_name(policy->mode));
	for (size_t i = 0; i < policy->mx_count; i++)
		append(buf, &pos, "mx: ", policy->mx[i]);
	append(buf, &pos, "max_age: ", max_age);
	for (size_t i = 0; i < policy->extension_count; i++) {
		append(buf, &pos, policy->extensions[i].name, ": ");
		pos -= 2;	/* the value goes on the same line */
		append(buf, &pos, "", policy->extensions[i].value);
	}
	buf[pos] = '\0';
	*ret_text = buf;
	if (ret_len != NULL)
		*ret_len = pos;
	return MTASTS_OK;
}

bool mtasts_policy_matches(const struct mtasts_policy *policy, const char *host)
{
	if (policy == NULL)
		return false;
	for (size_t i = 0; i < policy->mx_count; i++)
		if (mtasts_mx_matches(policy->mx[i], host))
			return true;
	return false;
}

struct mtasts_policy *mtasts_policy_free(struct mtasts_policy *policy)
{
	if (policy == NULL)
		return NULL;
	strings_free(policy->mx, policy->mx_count);
	extensions_free(policy->extensions, policy->extension_count);
	free(policy);
	return NULL;
}

const char *mtasts_mode_name(enum mtasts_mode mode)
{
	switch (mode) {
	case MTASTS_MODE_ENFORCE:
		return "enforce";
	case MTASTS_MODE_TESTING:
		return "testing";
	case MTASTS_MODE_NONE:
		return "none";
	}
	return NULL;
}
