/*
 * policy_parse.h - the state of the policy parser, shared by its files:
 * policy.c (the grammar), policy_near_miss.c (one cause reported once, and
 * what to write instead) and policy_serialize.c.  Not public API.
 */
#ifndef MTASTS_POLICY_PARSE_H
#define MTASTS_POLICY_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mtasts/policy.h>

#include "core.h"

/*
 * One line of the body, without its terminator.  column_base is how many
 * octets of the line come before text (a byte-order mark), so that columns
 * are counted in the line as served.
 */
struct line {
	const char *text;
	size_t len;
	unsigned number;
	unsigned column_base;
	bool crlf;
	bool terminated;
};

struct line_reader {
	const char *body;
	size_t len;
	size_t pos;
	unsigned number;
	unsigned first_column_base;
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
	const struct mtasts_policy_helpers *helpers;
	/* Where this parse's diagnostics begin in the caller's list. */
	size_t first_diag;
	bool ok;
	/* Known fields that were given but rejected: not also "missing". */
	unsigned rejected;
	unsigned version_line, mode_line, max_age_line;
	/* The fields in effect, where the facts about them are reported. */
	const struct field *mode_field, *max_age_field;
	enum mtasts_mode mode;
	uint32_t max_age;
	size_t mx_count;
	size_t extension_count;
	size_t lf_only_lines;
};

/*
 * Record an error at line (NULL: the whole body) and offset in its text,
 * and mark the parse failed.
 */
void policy_error_at(struct parse_state *st, enum mtasts_code code,
		     const struct line *line, size_t offset, const char *fmt, ...)
	CORE_PRINTF(5, 6);

/* Record a diagnostic of another severity; message is taken as it is. */
void policy_note_at(struct parse_state *st, enum mtasts_code code,
		    enum mtasts_severity severity, const struct line *line,
		    size_t offset, const char *message);
void policy_warn_at(struct parse_state *st, enum mtasts_code code,
		    const struct line *line, size_t offset, const char *message);

/* Length of the UTF-8 sequence at s (RFC 3629), or 0 when it is not one. */
size_t utf8_sequence_len(const unsigned char *s, size_t avail);

/* version, mode, max_age, mx: the REJECTED_ bits follow this order. */
#define POLICY_KNOWN_FIELDS 4
extern const char *const policy_known_fields[POLICY_KNOWN_FIELDS];

/* The REJECTED_ bit of the known field named exactly name, 0 for any other. */
unsigned policy_known_name_bit(const char *name, size_t len);

static inline unsigned policy_known_field_bit(const struct field *f)
{
	return policy_known_name_bit(f->line.text, f->name_len);
}

/*
 * policy_near_miss.c: the errors of lines that went wrong in a way that
 * says what was meant.  Each reports one error and notes the known field
 * the line gives, so it is not also reported missing.
 */
void policy_note_given(struct parse_state *st, const char *text, size_t len);
void policy_bare_cr_error(struct parse_state *st, const struct line *line,
			  const char *cr);
void policy_no_colon_error(struct parse_state *st, const struct line *line);
void policy_invalid_name_error(struct parse_state *st, const struct line *line,
			       size_t name_len);
void policy_invalid_mx_error(struct parse_state *st, const struct field *f,
			     size_t offset, const char *why);

/* After the fields are read: a misspelt name of a missing field is its error. */
void policy_check_near_names(struct parse_state *st, const struct field *fields,
			     size_t count);

/* An HTML page or UTF-16 text: one error, reported here; true when so. */
bool policy_not_a_policy(const char *body, size_t len, struct mtasts_diags *diags);

/* A UTF-8 byte-order mark: reported, then skipped by the reader. */
void policy_skip_byte_order_mark(struct parse_state *st, struct line_reader *reader);

#endif
