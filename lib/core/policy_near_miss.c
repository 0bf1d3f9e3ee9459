/*
 * policy_near_miss.c - what a policy that went wrong was probably meant to
 * be: a misspelt field name, lines parted by bare CRs or indented, a web
 * page served in its place, a byte-order mark, an address where a host
 * name belongs, a name in Unicode.  The parser reports each such cause
 * once, says what to write instead, and does not report again the fields
 * it hides as missing.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mtasts/mx.h>

#include "policy_parse.h"


#define NAME_MAX_LEN 32		/* an ext-name is at most 32 octets */

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/*
 * Edits (insert, delete, replace, swap two neighbours) that turn a into b
 * without regard to case: the optimal string alignment distance.
 */
static size_t name_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t d[NAME_MAX_LEN + 1][NAME_MAX_LEN + 1];

	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned char ca = to_lower((unsigned char)a[i - 1]);
			unsigned char cb = to_lower((unsigned char)b[j - 1]);
			size_t cost = ca != cb;

			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && ca == to_lower((unsigned char)b[j - 2]) &&
			    to_lower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[la][lb];
}

/* Short names are near too many others: "mx" only in other case. */
static size_t edits_allowed(size_t known_len)
{
	return known_len >= 5 ? 2 : known_len == 4 ? 1 : 0;
}

/*
 * The name of names that name (len octets) is a near miss of: the same in
 * other case, or at most two edits away (one for names of four letters,
 * none for shorter ones); NULL when none is.
 */
static const char *near_name(const char *name, size_t len,
			     const char *const *names, size_t count)
{
	const char *best = NULL;
	size_t best_distance = SIZE_MAX;

	if (len < 2 || len > NAME_MAX_LEN)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		size_t known_len = strlen(names[i]), distance;

		if (known_len > NAME_MAX_LEN ||
		    (known_len == len && memcmp(name, names[i], len) == 0))
			continue;	/* the name itself is no near miss */
		distance = name_distance(name, len, names[i], known_len);
		if (distance <= edits_allowed(known_len) && distance < best_distance) {
			best = names[i];
			best_distance = distance;
		}
	}
	return best;
}

/* Does s (len octets) begin with the tag, in any case, followed by a non-letter? */
static bool starts_with_tag(const char *s, size_t len, const char *tag)
{
	size_t n = strlen(tag);

	return len >= n && strncasecmp(s, tag, n) == 0 &&
	       (len == n || !is_alpha((unsigned char)s[n]));
}

/* Does the body start as an HTML page does, after white space?  Where? */
static bool looks_like_html(const char *body, size_t len, size_t *ret_offset)
{
	size_t i = 0;

	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		i = 3;			/* pages often carry a byte-order mark */
	while (i < len && (is_wsp((unsigned char)body[i]) || body[i] == '\r' ||
			   body[i] == '\n'))
		i++;
	if (!starts_with_tag(body + i, len - i, "<!doctype html") &&
	    !starts_with_tag(body + i, len - i, "<html"))
		return false;
	*ret_offset = i;
	return true;
}

/* An mx value written as an IPv6 address or an address literal. */
static bool looks_like_address(const char *value, size_t len)
{
	size_t colons = 0;

	if (len >= 2 && value[0] == '[' && value[len - 1] == ']')
		return true;		/* an address literal, as in RFC 5321 */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == ':')
			colons++;
		else if (!is_hex(c) && c != '.')
			return false;
	}
	return colons >= 2;
}

/* An mx value in Unicode ("*." allowed) in A-labels, by the caller's function. */
static bool a_label_of(const char *value, size_t len, mtasts_a_label_fn *to_a_label,
		       void *arg, char *out, size_t out_size)
{
	char name[1024];
	size_t prefix = len >= 2 && value[0] == '*' && value[1] == '.' ? 2 : 0;

	if (len - prefix >= sizeof(name) || out_size <= prefix)
		return false;
	memcpy(name, value + prefix, len - prefix);
	name[len - prefix] = '\0';
	memcpy(out, value, prefix);
	return to_a_label(arg, name, out + prefix, out_size - prefix);
}

/* The known field name is a near miss of, or NULL. */
static const char *near_known_field(const char *name, size_t len)
{
	return near_name(name, len, policy_known_fields, POLICY_KNOWN_FIELDS);
}

/*
 * A line rejected for its shape that still begins with a known field name
 * gives that field: the line is reported, not also the field as missing.
 */
void policy_note_given(struct parse_state *st, const char *text, size_t len)
{
	size_t start = 0, end;

	while (start < len && is_wsp((unsigned char)text[start]))
		start++;
	end = start;
	while (end < len && is_name_char((unsigned char)text[end]))
		end++;
	st->rejected |= policy_known_name_bit(text + start, end - start);
}

/* "max_age 86400" or "max_age=86400": say where the ":" goes. */
void policy_no_colon_error(struct parse_state *st, const struct line *line)
{
	char excerpt[64], fix[96], suggestion[112];
	size_t name_end = 0, value;
	unsigned bit;

	quote_excerpt(excerpt, sizeof(excerpt), line->text, line->len);
	while (name_end < line->len && is_name_char((unsigned char)line->text[name_end]))
		name_end++;
	if ((bit = policy_known_name_bit(line->text, name_end)) == 0) {
		policy_error_at(st, MTASTS_POLICY_SYNTAX, line, line->len, "line %u has no "
				"\":\"; expected \"name: value\", found %s", line->number, excerpt);
		return;
	}
	st->rejected |= bit;
	value = name_end;
	while (value < line->len && (is_wsp((unsigned char)line->text[value]) ||
				     line->text[value] == '='))
		value++;
	snprintf(fix, sizeof(fix), "%.*s: %.*s", (int)name_end, line->text,
		 (int)(line->len - value < 60 ? line->len - value : 60), line->text + value);
	quote_excerpt(suggestion, sizeof(suggestion), fix, strlen(fix));
	policy_error_at(st, MTASTS_POLICY_SYNTAX, line, name_end, "line %u has no \":\" after "
			"the field name; expected \"name: value\", found %s: write %s",
			line->number, excerpt, suggestion);
}

void policy_invalid_name_error(struct parse_state *st, const struct line *line,
			       size_t name_len)
{
	const char *near = near_known_field(line->text, name_len);
	char excerpt[64];

	quote_excerpt(excerpt, sizeof(excerpt), line->text, name_len);
	if (near != NULL)
		st->rejected |= policy_known_name_bit(near, strlen(near));
	policy_error_at(st, MTASTS_POLICY_INVALID_FIELD_NAME, line, 0, "line %u: field name "
			"%s is not valid: 1 to 32 letters, digits, \"_\", \"-\" or \".\", "
			"starting with a letter or digit%s%s%s", line->number, excerpt,
			near != NULL ? "; did you mean \"" : "", near != NULL ? near : "",
			near != NULL ? "\"?" : "");
}

/*
 * Why an mx value is not a pattern, said for what it probably is: an IP
 * address, or a name in Unicode (given in A-labels when the caller can
 * convert it).
 */
void policy_invalid_mx_error(struct parse_state *st, const struct field *f,
			     size_t offset, const char *why)
{
	const struct mtasts_policy_helpers *h = st->helpers;
	const char *v = f->line.text + f->value_start;
	char excerpt[64], a_label[MTASTS_HOST_NAME_MAX + 1];

	quote_excerpt(excerpt, sizeof(excerpt), v, f->value_len);
	if (looks_like_address(v, f->value_len)) {
		policy_error_at(st, MTASTS_POLICY_INVALID_MX, &f->line, f->value_start,
				"line %u: mx %s is an IP address, not a host name: an mx "
				"pattern names MX hosts as the MX records do", f->line.number,
				excerpt);
		return;
	}
	if (h != NULL && h->to_a_label != NULL && offset < f->value_len &&
	    (v[offset] & 0x80) &&
	    a_label_of(v, f->value_len, h->to_a_label, h->a_label_arg,
			      a_label, sizeof(a_label))) {
		policy_error_at(st, MTASTS_POLICY_INVALID_MX, &f->line, f->value_start + offset,
				"line %u: mx %s is written in Unicode; a policy holds "
				"A-labels: write \"mx: %s\"", f->line.number, excerpt, a_label);
		return;
	}
	policy_error_at(st, MTASTS_POLICY_INVALID_MX, &f->line, f->value_start + offset,
			"line %u: mx %s is not a valid pattern: %s", f->line.number, excerpt,
			why);
}

/*
 * A bare CR is one error for its line.  The pieces it separates are the
 * lines their author meant, so the fields in them count as given.
 */
void policy_bare_cr_error(struct parse_state *st, const struct line *line,
			  const char *cr)
{
	const char *end = line->text + line->len, *p = cr;
	size_t offset = (size_t)(cr - line->text);

	while (p < end && *p == '\r')
		p++;
	if (p < end)
		policy_error_at(st, MTASTS_POLICY_BAD_LINE_ENDING, line, offset,
				"line %u: lines are separated by a carriage return "
				"alone (at column %zu); a policy's lines end in LF or "
				"CRLF", line->number, offset + line->column_base + 1);
	else
		policy_error_at(st, MTASTS_POLICY_BAD_LINE_ENDING, line, offset,
				"line %u: carriage return not followed by a line "
				"feed; lines end in LF or CRLF", line->number);
	for (const char *piece = line->text; piece < end;) {
		const char *next = memchr(piece, '\r', (size_t)(end - piece));
		const char *piece_end = next != NULL ? next : end;

		policy_note_given(st, piece, (size_t)(piece_end - piece));
		piece = next != NULL ? next + 1 : end;
	}
}

/* Is the known field `name` required, and given on no line at all? */
static bool required_and_absent(const struct parse_state *st, const char *name)
{
	unsigned bit = policy_known_name_bit(name, strlen(name));

	if (st->rejected & bit)
		return false;
	switch (bit) {
	case REJECTED_VERSION:
		return st->version_line == 0;
	case REJECTED_MODE:
		return st->mode_line == 0;
	case REJECTED_MAX_AGE:
		return st->max_age_line == 0;
	}
	return st->mode_line != 0 && st->mode != MTASTS_MODE_NONE && st->mx_count == 0 &&
	       !(st->rejected & REJECTED_MODE);
}

/*
 * An unknown field whose name is near a known one ("Mode", "max-age",
 * "maxage"): when that field is missing, the near name is the one error
 * to report; otherwise a case twin draws a warning, as it is ignored.
 */
void policy_check_near_names(struct parse_state *st, const struct field *fields,
			     size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct field *f = &fields[i];
		char message[MTASTS_DIAG_MESSAGE_MAX], name[64];
		const char *near;
		bool twin;

		if (policy_known_field_bit(f) != 0 ||
		    (near = near_known_field(f->line.text, f->name_len)) == NULL)
			continue;
		twin = f->name_len == strlen(near) &&
		       strncasecmp(f->line.text, near, f->name_len) == 0;
		quote_excerpt(name, sizeof(name), f->line.text, f->name_len);
		if (required_and_absent(st, near)) {
			st->rejected |= policy_known_name_bit(near, strlen(near));
			if (twin)
				policy_error_at(st, MTASTS_POLICY_MISSPELT_FIELD, &f->line, 0,
						"line %u: field %s is not \"%s\" (field names "
						"are case-sensitive), so the policy has no %s "
						"line", f->line.number, name, near, near);
			else
				policy_error_at(st, MTASTS_POLICY_MISSPELT_FIELD, &f->line, 0,
						"line %u: %s is not a field of the policy, which "
						"has no %s line; did you mean \"%s\"?",
						f->line.number, name, near, near);
		} else if (twin) {
			snprintf(message, sizeof(message), "line %u: field %s is not "
				 "\"%s\" (field names are case-sensitive), so it counts "
				 "as an unknown field", f->line.number, name, near);
			policy_warn_at(st, MTASTS_POLICY_FIELD_CASE, &f->line, 0, message);
		}
	}
}

/* Line and column (from 1) of offset in body. */
static void position_of(const char *body, size_t offset, unsigned *ret_line,
			unsigned *ret_column)
{
	size_t line_start = 0;
	unsigned line = 1;

	for (size_t i = 0; i < offset; i++) {
		if (body[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	}
	*ret_line = line;
	*ret_column = (unsigned)(offset - line_start) + 1;
}

/*
 * What the body is, when it is something other than a policy that went
 * wrong here and there: a page of HTML, or text in UTF-16.  One error says
 * so, and nothing else is reported.
 */
bool policy_not_a_policy(const char *body, size_t len, struct mtasts_diags *diags)
{
	unsigned line, column;
	size_t offset;

	if (len >= 2 && (((unsigned char)body[0] == 0xff && (unsigned char)body[1] == 0xfe) ||
			 ((unsigned char)body[0] == 0xfe && (unsigned char)body[1] == 0xff))) {
		diag_add(diags, MTASTS_POLICY_BYTE_ORDER_MARK, MTASTS_SEVERITY_ERROR, -1, 1, 1,
			 "the policy starts with the byte-order mark of UTF-16 "
			 "(%02X %02X); a policy is ASCII or UTF-8 text, with no "
			 "byte-order mark", (unsigned char)body[0], (unsigned char)body[1]);
		return true;
	}
	if (looks_like_html(body, len, &offset)) {
		position_of(body, offset, &line, &column);
		diag_add(diags, MTASTS_POLICY_HTML, MTASTS_SEVERITY_ERROR, -1, line, column,
			 "the body is an HTML page, not a policy: the server sends a web "
			 "page (a default site or an error page) where the policy file "
			 "should be; serve the policy itself, as text/plain");
		return true;
	}
	return false;
}

/* A UTF-8 byte-order mark is reported, then skipped: the rest is parsed. */
void policy_skip_byte_order_mark(struct parse_state *st, struct line_reader *reader)
{
	static const struct line first = { .number = 1 };

	if (reader->len < 3 || memcmp(reader->body, "\xef\xbb\xbf", 3) != 0)
		return;
	policy_error_at(st, MTASTS_POLICY_BYTE_ORDER_MARK, &first, 0, "the policy starts with "
			"a UTF-8 byte-order mark (EF BB BF), which becomes part of the first "
			"field name; save the policy without it");
	reader->pos = 3;
	reader->first_column_base = 3;
}
