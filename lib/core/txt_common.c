/*
 * txt_common.c - what the MTA-STS and TLSRPT TXT records share: picking the
 * one record that begins with the version tag and ";", and splitting
 * "tag; name=value; ..." fields.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core.h"

bool txt_has_version(const char *rec, size_t len, const char *tag)
{
	size_t tag_len = strlen(tag);

	return len > tag_len && memcmp(rec, tag, tag_len) == 0 && rec[tag_len] == ';';
}

/* How a discarded record that was probably meant as one of ours goes wrong. */
enum near_miss {
	NEAR_MISS_NONE,
	NEAR_MISS_QUOTES,		/* "\"v=STSv1; ...\"" pasted from a zone file */
	NEAR_MISS_WHITE_SPACE,		/* " v=STSv1; ..." */
	NEAR_MISS_CASE,			/* "v=stsv1; ..." */
	NEAR_MISS_SEMICOLON,		/* "v=STSv1 ; ...", "v=STSv1" */
};

/*
 * Does rec hold the tag at start, in any case, followed by the end, white
 * space or ";"?
 */
static bool tag_at(const char *rec, size_t len, size_t start, const char *tag)
{
	size_t after = start + strlen(tag);

	return len >= after && strncasecmp(rec + start, tag, strlen(tag)) == 0 &&
	       (after == len || is_wsp((unsigned char)rec[after]) || rec[after] == ';');
}

/*
 * A record that is not selected but holds the tag, in any case and after
 * any white space, followed by the end, white space or ";", is a near miss:
 * the ABNF alone might even accept it.  So is the record in the quotes a
 * zone file writes it in.  *ret_offset is where it first departs from
 * "<tag>;".
 */
static enum near_miss find_near_miss(const char *rec, size_t len, const char *tag,
				     size_t *ret_offset)
{
	size_t tag_len = strlen(tag), start = 0;

	if (len >= 2 && rec[0] == '"' && rec[len - 1] == '"' && tag_at(rec, len - 1, 1, tag)) {
		*ret_offset = 0;
		return NEAR_MISS_QUOTES;
	}
	while (start < len && is_wsp((unsigned char)rec[start]))
		start++;
	if (!tag_at(rec, len, start, tag))
		return NEAR_MISS_NONE;
	if (start > 0) {
		*ret_offset = 0;
		return NEAR_MISS_WHITE_SPACE;
	}
	for (size_t i = 0; i < tag_len; i++) {
		if (rec[i] != tag[i]) {
			*ret_offset = i;
			return NEAR_MISS_CASE;
		}
	}
	*ret_offset = tag_len;
	return NEAR_MISS_SEMICOLON;
}

/* What is wrong with a near miss, and what to write. */
static void near_miss_reason(enum near_miss miss, const char *tag, char *out, size_t size)
{
	switch (miss) {
	case NEAR_MISS_QUOTES:
		snprintf(out, size, "remove the quotes around it, as written in a zone "
			 "file");
		break;
	case NEAR_MISS_WHITE_SPACE:
		snprintf(out, size, "white space comes before the tag");
		break;
	case NEAR_MISS_CASE:
		snprintf(out, size, "the tag is case-sensitive: write \"%s;\"", tag);
		break;
	case NEAR_MISS_SEMICOLON:
	case NEAR_MISS_NONE:
		snprintf(out, size, "\";\" must follow the tag at once");
		break;
	}
}

static void warn_discarded(const struct mtasts_bytes *record, size_t index,
			   const struct txt_codes *codes, struct mtasts_diags *diags)
{
	enum near_miss miss;
	size_t offset = 0;
	char excerpt[64], reason[96];

	quote_excerpt(excerpt, sizeof(excerpt), record->data, record->len);
	miss = find_near_miss(record->data, record->len, codes->tag, &offset);
	if (miss == NEAR_MISS_NONE) {
		diag_add(diags, codes->unrelated, MTASTS_SEVERITY_WARNING, (long)index,
			 0, 1, "record %zu does not begin with \"%s;\" and is "
			 "ignored: %s", index + 1, codes->tag, excerpt);
		return;
	}
	near_miss_reason(miss, codes->tag, reason, sizeof(reason));
	diag_add(diags, codes->unrelated, MTASTS_SEVERITY_WARNING, (long)index, 0,
		 (unsigned)offset + 1, "record %zu looks like the %s record but does "
		 "not begin with exactly \"%s;\" (%s), so it is discarded, as %s "
		 "requires: %s", index + 1, codes->kind, codes->tag, reason,
		 codes->rfc, excerpt);
}

/*
 * RFC 8461 3.1 and RFC 8460 3: records that do not begin with "<tag>;" are
 * discarded first; only then must exactly one remain.
 */
int txt_select_record(const struct mtasts_bytes *records, size_t count,
		      const struct txt_codes *codes, size_t *ret_index,
		      struct mtasts_diags *diags)
{
	size_t found = 0, index = 0;

	if (count > MTASTS_TXT_RECORDS_MAX) {
		diag_add(diags, codes->multiple, MTASTS_SEVERITY_ERROR, -1, 0, 0,
			 "%zu TXT records at the name; at most %d are examined",
			 count, MTASTS_TXT_RECORDS_MAX);
		return MTASTS_ERR_INVALID;
	}
	for (size_t i = 0; i < count; i++) {
		if (records[i].data == NULL && records[i].len > 0)
			return MTASTS_ERR_ARGUMENT;
		if (txt_has_version(records[i].data, records[i].len, codes->tag)) {
			if (found++ == 0)
				index = i;
			continue;
		}
		warn_discarded(&records[i], i, codes, diags);
	}
	if (found == 0) {
		diag_add(diags, codes->no_record, MTASTS_SEVERITY_ERROR, -1, 0, 0,
			 "no TXT record begins with \"%s;\": no %s record",
			 codes->tag, codes->kind);
		return MTASTS_ERR_NO_RECORD;
	}
	if (found > 1) {
		diag_add(diags, codes->multiple, MTASTS_SEVERITY_ERROR, -1, 0, 0,
			 "%zu TXT records begin with \"%s;\"; exactly one is allowed, "
			 "so the domain has no %s record in effect",
			 found, codes->tag, codes->kind);
		return MTASTS_ERR_INVALID;
	}
	if (records[index].len > MTASTS_TXT_RECORD_MAX) {
		diag_add(diags, codes->too_long, MTASTS_SEVERITY_ERROR, (long)index,
			 0, 0, "the %s record is %zu octets long; at most %d are accepted",
			 codes->kind, records[index].len, MTASTS_TXT_RECORD_MAX);
		return MTASTS_ERR_INVALID;
	}
	*ret_index = index;
	return MTASTS_OK;
}

static size_t skip_wsp(const char *rec, size_t len, size_t pos)
{
	while (pos < len && is_wsp((unsigned char)rec[pos]))
		pos++;
	return pos;
}

static void syntax_error(struct mtasts_diags *diags, enum mtasts_code code,
			 long record_index, size_t pos, const char *what)
{
	diag_add(diags, code, MTASTS_SEVERITY_ERROR, record_index, 0,
		 (unsigned)pos + 1, "%s at column %zu", what, pos + 1);
}

bool txt_split_fields(const char *rec, size_t len, size_t version_len,
		      long record_index, enum mtasts_code syntax_code,
		      struct txt_field *fields, size_t *ret_count,
		      struct mtasts_diags *diags)
{
	size_t pos = version_len, n = 0;

	for (;;) {
		size_t delim = skip_wsp(rec, len, pos);

		if (delim == len) {
			if (delim > pos) {
				syntax_error(diags, syntax_code, record_index, pos,
					     "white space at the end of the record");
				return false;
			}
			break;
		}
		if (rec[delim] != ';') {
			syntax_error(diags, syntax_code, record_index, delim,
				     "expected \";\" between fields");
			return false;
		}
		pos = skip_wsp(rec, len, delim + 1);
		if (pos == len)
			break;		/* one trailing delimiter is allowed */

		size_t name_start = pos;
		while (pos < len && rec[pos] != '=' && rec[pos] != ';' &&
		       !is_wsp((unsigned char)rec[pos]))
			pos++;
		if (pos == name_start) {
			syntax_error(diags, syntax_code, record_index, pos,
				     rec[pos] == ';' ? "empty field" : "field name missing");
			return false;
		}
		if (pos == len || rec[pos] != '=') {
			syntax_error(diags, syntax_code, record_index, pos,
				     "expected \"=\" after the field name");
			return false;
		}
		if (n == TXT_FIELDS_MAX) {
			syntax_error(diags, syntax_code, record_index, name_start,
				     "too many fields");
			return false;
		}
		size_t value_start = ++pos;
		while (pos < len && rec[pos] != ';')
			pos++;
		size_t value_end = pos;
		while (value_end > value_start && is_wsp((unsigned char)rec[value_end - 1]))
			value_end--;
		fields[n].name_start = name_start;
		fields[n].name_len = value_start - 1 - name_start;
		fields[n].value_start = value_start;
		fields[n].value_len = value_end - value_start;
		n++;
		pos = value_end;
	}
	*ret_count = n;
	return true;
}

bool is_ext_name(const char *s, size_t len)
{
	if (len < 1 || len > 32)
		return false;
	if (!is_alpha((unsigned char)s[0]) && !is_digit((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.')
			return false;
	}
	return true;
}

size_t txt_ext_value_bad_offset(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == '=' || c == ';')
			return i;
	}
	return len;
}

bool txt_field_is(const char *rec, const struct txt_field *f, const char *name)
{
	return f->name_len == strlen(name) &&
	       memcmp(rec + f->name_start, name, f->name_len) == 0;
}

bool txt_field_seen_before(const char *rec, const struct txt_field *fields, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (fields[j].name_len == fields[i].name_len &&
		    memcmp(rec + fields[j].name_start, rec + fields[i].name_start,
			   fields[i].name_len) == 0)
			return true;
	return false;
}

bool txt_check_extension(const char *rec, const struct txt_field *f, long index,
			    enum mtasts_code code, struct mtasts_diags *diags)
{
	const char *name = rec + f->name_start;
	char excerpt[64];
	size_t bad;

	if (!is_ext_name(name, f->name_len)) {
		quote_excerpt(excerpt, sizeof(excerpt), name, f->name_len);
		diag_add(diags, code, MTASTS_SEVERITY_ERROR, index, 0,
			 (unsigned)f->name_start + 1, "field name %s is not valid: "
			 "1 to 32 letters, digits, \"_\", \"-\" or \".\", starting with "
			 "a letter or digit", excerpt);
		return false;
	}
	bad = txt_ext_value_bad_offset(rec + f->value_start, f->value_len);
	if (f->value_len == 0 || bad < f->value_len) {
		quote_excerpt(excerpt, sizeof(excerpt), name, f->name_len);
		diag_add(diags, code, MTASTS_SEVERITY_ERROR, index, 0,
			 (unsigned)(f->value_start + bad) + 1,
			 f->value_len == 0 ? "field %s has an empty value" :
			 "field %s has a value with white space, \"=\", \";\" or a "
			 "non-printable character", excerpt);
		return false;
	}
	return true;
}
