/*
 * policy.c - the MTA-STS policy file (RFC 8461 3.2): its grammar, the
 * judgement of what a parsed policy means (by the table of policy facts),
 * and MX matching against a parsed policy.  The near misses are in
 * policy_near_miss.c, the serializer in policy_serialize.c.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts/mx.h>
#include <mtasts/policy.h>
#include <mtasts/policy_facts.h>

#include "core.h"
#include "policy_parse.h"

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
	ret_line->column_base = r->number == 1 ? r->first_column_base : 0;
	ret_line->terminated = nl != NULL;
	ret_line->crlf = nl != NULL && end > r->pos && r->body[end - 1] == '\r';
	ret_line->len = end - r->pos - (ret_line->crlf ? 1 : 0);
	r->pos = nl != NULL ? end + 1 : r->len;
	return true;
}

void policy_error_at(struct parse_state *st, enum mtasts_code code,
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
			   line != NULL ? line->column_base + (unsigned)offset + 1 : 0,
			   "%s", message);
	/* A warning of an earlier parse made room: ours moved down one. */
	if (evicted < st->first_diag)
		st->first_diag--;
	st->ok = false;
}

void policy_note_at(struct parse_state *st, enum mtasts_code code,
		    enum mtasts_severity severity, const struct line *line,
		    size_t offset, const char *message)
{
	diag_add(st->diags, code, severity, -1, line != NULL ? line->number : 0,
		 line != NULL ? line->column_base + (unsigned)offset + 1 : 0,
		 "%s", message);
}

void policy_warn_at(struct parse_state *st, enum mtasts_code code,
		    const struct line *line, size_t offset, const char *message)
{
	policy_note_at(st, code, MTASTS_SEVERITY_WARNING, line, offset, message);
}

size_t utf8_sequence_len(const unsigned char *s, size_t avail)
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
			policy_error_at(st, MTASTS_POLICY_INVALID_VALUE, &f->line,
					f->value_start + i, "line %u: tab in the value at "
					"column %zu; only spaces may separate the words of "
					"a value (RFC 8461 3.2)", f->line.number,
					f->value_start + i + 1);
			return false;
		}
		if (v[i] < 0x80 || v[i] == 0x7f) {
			policy_error_at(st, MTASTS_POLICY_INVALID_VALUE, &f->line,
					f->value_start + i, "line %u: control character "
					"0x%02x in the value at column %zu",
					f->line.number, v[i], f->value_start + i + 1);
			return false;
		}
		n = utf8_sequence_len(v + i, f->value_len - i);
		if (n == 0) {
			policy_error_at(st, MTASTS_POLICY_INVALID_UTF8, &f->line,
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

const char *const policy_known_fields[POLICY_KNOWN_FIELDS] = {
	"version", "mode", "max_age", "mx",
};

unsigned policy_known_name_bit(const char *name, size_t len)
{
	for (size_t i = 0; i < POLICY_KNOWN_FIELDS; i++)
		if (len == strlen(policy_known_fields[i]) &&
		    memcmp(name, policy_known_fields[i], len) == 0)
			return 1u << i;
	return 0;
}

/* Split a line into name and value; report what is wrong with its shape. */
static bool split_line(struct parse_state *st, const struct line *line,
		       struct field *ret_field)
{
	const char *colon = memchr(line->text, ':', line->len);
	size_t name_len, pos;
	char excerpt[64];

	if (line->len > 0 && is_wsp((unsigned char)line->text[0])) {
		policy_error_at(st, MTASTS_POLICY_SYNTAX, line, 0, "line %u starts with "
				"white space; a field name must start the line", line->number);
		policy_note_given(st, line->text, line->len);
		return false;
	}
	if (colon == NULL) {
		policy_no_colon_error(st, line);
		return false;
	}
	name_len = (size_t)(colon - line->text);
	if (name_len > 0 && is_wsp((unsigned char)line->text[name_len - 1])) {
		size_t ws = name_len;

		while (ws > 0 && is_wsp((unsigned char)line->text[ws - 1]))
			ws--;
		policy_error_at(st, MTASTS_POLICY_SYNTAX, line, ws, "line %u: white space "
				"before \":\" is not allowed", line->number);
		policy_note_given(st, line->text, ws);
		return false;
	}
	if (!is_ext_name(line->text, name_len)) {
		policy_invalid_name_error(st, line, name_len);
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
		policy_error_at(st, MTASTS_POLICY_INVALID_VALUE, line, pos, "line %u: field "
				"%s has no value", line->number, excerpt);
		st->rejected |= policy_known_field_bit(ret_field);
		return false;
	}
	if (!check_value_chars(st, ret_field)) {
		st->rejected |= policy_known_field_bit(ret_field);
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
	policy_warn_at(st, MTASTS_POLICY_DUPLICATE_FIELD, &f->line, 0, message);
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
	policy_error_at(st, MTASTS_POLICY_INVALID_VERSION, &f->line, f->value_start,
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
			st->mode_field = f;
			return;
		}
	}
	st->rejected |= REJECTED_MODE;
	quote_excerpt(excerpt, sizeof(excerpt), f->line.text + f->value_start,
		      f->value_len);
	/* YAML and JSON habits put quotes around the value. */
	if (f->value_len >= 2 && f->line.text[f->value_start] == '"' &&
	    f->line.text[f->value_start + f->value_len - 1] == '"') {
		policy_error_at(st, MTASTS_POLICY_INVALID_MODE, &f->line, f->value_start,
				"line %u: mode is %s, in quotes; remove the quotes: a "
				"policy value is written bare", f->line.number, excerpt);
		return;
	}
	policy_error_at(st, MTASTS_POLICY_INVALID_MODE, &f->line, f->value_start,
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
			policy_error_at(st, MTASTS_POLICY_INVALID_MAX_AGE, &f->line,
					f->value_start + i, "line %u: max_age is %s; it must "
					"be 1 to 10 decimal digits", f->line.number, excerpt);
			return;
		}
		value = value * 10 + (uint64_t)(v[i] - '0');
	}
	if (value > MTASTS_MAX_AGE_MAX) {
		policy_error_at(st, MTASTS_POLICY_MAX_AGE_TOO_LARGE, &f->line, f->value_start,
				"line %u: max_age is %llu; the largest allowed is %u "
				"(about one year)", f->line.number,
				(unsigned long long)value, MTASTS_MAX_AGE_MAX);
		return;
	}
	st->max_age = (uint32_t)value;
	st->max_age_field = f;
}

static void take_mx(struct parse_state *st, const struct field *f,
		    const struct field *const *earlier_mx, size_t earlier_count)
{
	const char *v = f->line.text + f->value_start;
	char why[128], excerpt[64];
	size_t offset;

	if (!mtasts_mx_pattern_check(v, f->value_len, &offset, why, sizeof(why))) {
		st->rejected |= REJECTED_MX;
		policy_invalid_mx_error(st, f, offset, why);
		return;
	}
	if (st->mx_count == MTASTS_POLICY_MX_MAX) {
		policy_error_at(st, MTASTS_POLICY_TOO_MANY_MX, &f->line, 0, "line %u: more "
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
			policy_warn_at(st, MTASTS_POLICY_DUPLICATE_MX, &f->line, f->value_start,
				       message);
			break;
		}
	}
	st->mx_count++;
}

static void take_extension(struct parse_state *st, const struct field *f,
			   const struct field *fields, size_t index)
{
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
		policy_bare_cr_error(st, line, cr);
		return false;
	}
	if (line->len == 0) {
		policy_error_at(st, MTASTS_POLICY_EMPTY_LINE, line, 0, "line %u is empty; "
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
		policy_error_at(st, MTASTS_POLICY_MISSING_VERSION, NULL, 0,
				"the policy has no \"version: STSv1\" line");
	if (st->mode_line == 0 && !(st->rejected & REJECTED_MODE))
		policy_error_at(st, MTASTS_POLICY_MISSING_MODE, NULL, 0,
				"the policy has no \"mode\" line (enforce, testing or none)");
	if (st->max_age_line == 0 && !(st->rejected & REJECTED_MAX_AGE))
		policy_error_at(st, MTASTS_POLICY_MISSING_MAX_AGE, NULL, 0,
				"the policy has no \"max_age\" line");
	if (st->mode_line != 0 && st->mode != MTASTS_MODE_NONE && st->mx_count == 0 &&
	    !(st->rejected & (REJECTED_MODE | REJECTED_MX)))
		policy_error_at(st, MTASTS_POLICY_MISSING_MX, NULL, 0,
				"mode is %s but the policy has no \"mx\" line; only mode "
				"none may omit mx", mtasts_mode_name(st->mode));
}

/* Where the facts of the table are reported: the value they are about. */
struct fact_places {
	struct parse_state *st;
	const struct field *const *mx_fields;
};

static void add_fact(void *arg, const struct mtasts_policy_judgement *j)
{
	const struct fact_places *places = arg;
	const struct parse_state *st = places->st;
	const struct field *f = j->fact->subject == MTASTS_FACT_MAX_AGE ? st->max_age_field :
				j->fact->subject == MTASTS_FACT_MODE ? st->mode_field :
				places->mx_fields[j->mx_index];
	char message[MTASTS_DIAG_MESSAGE_MAX];

	if (f == NULL || snprintf(message, sizeof(message), "line %u: %s; %s",
				  f->line.number, j->message, j->advice) < 0)
		return;
	policy_note_at(places->st, j->fact->code, j->severity == MTASTS_FINDING_INFO ?
		       MTASTS_SEVERITY_INFO : MTASTS_SEVERITY_WARNING, &f->line,
		       f->value_start, message);
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

/* The lines, their fields, and the judgement of what is missing. */
static void read_fields(struct parse_state *st, struct line_reader *reader,
			struct field *fields, size_t *ret_count,
			const struct field **mx_fields)
{
	struct line line;
	size_t count = 0;

	while (next_line(reader, &line)) {
		if (line.terminated && !line.crlf)
			st->lf_only_lines++;
		if (check_line_shape(st, &line) && split_line(st, &line, &fields[count]))
			count++;
	}
	check_fields(st, fields, count, mx_fields);
	policy_check_near_names(st, fields, count);
	check_required(st);
	*ret_count = count;
}

int mtasts_policy_parse_with(const char *body, size_t len,
			     const struct mtasts_policy_helpers *helpers,
			     struct mtasts_policy **ret_policy,
			     struct mtasts_diags *diags)
{
	struct parse_state st = { .diags = diags, .helpers = helpers, .ok = true };
	struct line_reader reader = { .body = body, .len = len };
	const struct field **mx_fields = NULL;
	struct mtasts_policy *policy = NULL;
	struct field *fields = NULL;
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
	if (policy_not_a_policy(body, len, diags))
		return MTASTS_ERR_INVALID;
	fields = malloc(count_lines(body, len) * sizeof(*fields));
	mx_fields = malloc(MTASTS_POLICY_MX_MAX * sizeof(*mx_fields));
	if (fields == NULL || mx_fields == NULL) {
		rc = MTASTS_ERR_NOMEM;
		goto out;
	}
	policy_skip_byte_order_mark(&st, &reader);
	read_fields(&st, &reader, fields, &count, mx_fields);
	rc = st.ok ? build_policy(&st, fields, count, &policy) : MTASTS_ERR_INVALID;
	if (rc == MTASTS_OK)
		mtasts_policy_judge(policy, helpers != NULL ? helpers->is_public_suffix : NULL,
				    helpers != NULL ? helpers->public_suffix_arg : NULL,
				    add_fact, &(struct fact_places){ &st, mx_fields });
	sort_by_position(diags, st.first_diag);
	if (rc == MTASTS_OK) {
		*ret_policy = policy;
		policy = NULL;
	}
out:
	mtasts_policy_free(policy);
	free(fields);
	free(mx_fields);
	return rc;
}

int mtasts_policy_parse(const char *body, size_t len,
			struct mtasts_policy **ret_policy,
			struct mtasts_diags *diags)
{
	return mtasts_policy_parse_with(body, len, NULL, ret_policy, diags);
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
