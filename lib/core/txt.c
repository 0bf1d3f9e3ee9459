/*
 * txt.c - the MTA-STS TXT record at _mta-sts.<domain> (RFC 8461 3.1).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts/txt.h>

#include "core.h"

static const struct txt_codes sts_codes = {
	.tag = "v=STSv1",
	.kind = "MTA-STS",
	.rfc = "RFC 8461 3.1",
	.no_record = MTASTS_TXT_NO_RECORD,
	.multiple = MTASTS_TXT_MULTIPLE_RECORDS,
	.unrelated = MTASTS_TXT_UNRELATED_RECORD,
	.too_long = MTASTS_TXT_TOO_LONG,
};

/* sts-id = %s"id=" 1*32(ALPHA / DIGIT) */
static bool check_id(const char *rec, const struct txt_field *f, long index,
		     struct mtasts_diags *diags)
{
	const char *v = rec + f->value_start;
	char excerpt[64];

	if (f->value_len == 0) {
		diag_add(diags, MTASTS_TXT_INVALID_ID, MTASTS_SEVERITY_ERROR, index, 0,
			 (unsigned)f->value_start + 1, "the id is empty; it needs 1 to 32 "
			 "letters or digits");
		return false;
	}
	if (f->value_len > MTASTS_STS_ID_MAX) {
		diag_add(diags, MTASTS_TXT_INVALID_ID, MTASTS_SEVERITY_ERROR, index, 0,
			 (unsigned)f->value_start + MTASTS_STS_ID_MAX + 1,
			 "the id is %zu characters long; at most %d letters or digits "
			 "are allowed", f->value_len, MTASTS_STS_ID_MAX);
		return false;
	}
	for (size_t i = 0; i < f->value_len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (is_alpha(c) || is_digit(c))
			continue;
		quote_excerpt(excerpt, sizeof(excerpt), v, f->value_len);
		diag_add(diags, MTASTS_TXT_INVALID_ID, MTASTS_SEVERITY_ERROR, index, 0,
			 (unsigned)(f->value_start + i) + 1,
			 "the id %s has a character other than a letter or digit "
			 "at column %zu", excerpt, f->value_start + i + 1);
		return false;
	}
	return true;
}

static void warn_duplicate(const char *rec, const struct txt_field *f, long index,
			   enum mtasts_code code, struct mtasts_diags *diags)
{
	char excerpt[64];

	quote_excerpt(excerpt, sizeof(excerpt), rec + f->name_start, f->name_len);
	diag_add(diags, code, MTASTS_SEVERITY_WARNING, index, 0,
		 (unsigned)f->name_start + 1, "field %s appears more than once; "
		 "the first one is used and this one is ignored", excerpt);
}

static int build_record(const char *rec, const struct txt_field *fields, size_t n,
			const struct txt_field *id, size_t index,
			struct mtasts_sts_record **ret_record)
{
	struct mtasts_sts_record *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return MTASTS_ERR_NOMEM;
	memcpy(r->id, rec + id->value_start, id->value_len);
	r->id[id->value_len] = '\0';
	r->record_index = index;
	if (n > 0) {
		r->extensions = calloc(n, sizeof(*r->extensions));
		if (r->extensions == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < n; i++) {
		const struct txt_field *f = &fields[i];
		struct mtasts_extension *e;

		if (txt_field_is(rec, f, "id") || txt_field_is(rec, f, "v") ||
		    txt_field_seen_before(rec, fields, i))
			continue;
		e = &r->extensions[r->extension_count];
		e->name = copy_span(rec + f->name_start, f->name_len);
		e->value = copy_span(rec + f->value_start, f->value_len);
		r->extension_count++;
		if (e->name == NULL || e->value == NULL)
			goto nomem;
	}
	*ret_record = r;
	return MTASTS_OK;
nomem:
	mtasts_sts_record_free(r);
	return MTASTS_ERR_NOMEM;
}

int mtasts_sts_record_parse(const struct mtasts_bytes *records, size_t count,
			    struct mtasts_sts_record **ret_record,
			    struct mtasts_diags *diags)
{
	struct txt_field fields[TXT_FIELDS_MAX];
	const struct txt_field *id = NULL;
	size_t index, n;
	bool ok = true;
	long idx;
	int rc;

	if ((records == NULL && count > 0) || ret_record == NULL)
		return MTASTS_ERR_ARGUMENT;
	rc = txt_select_record(records, count, &sts_codes, &index, diags);
	if (rc != MTASTS_OK)
		return rc;
	const char *rec = records[index].data;
	idx = (long)index;
	if (!txt_split_fields(rec, records[index].len, strlen(sts_codes.tag), idx,
			      MTASTS_TXT_SYNTAX, fields, &n, diags))
		return MTASTS_ERR_INVALID;

	for (size_t i = 0; i < n; i++) {
		const struct txt_field *f = &fields[i];
		bool duplicate = txt_field_is(rec, f, "v") || txt_field_seen_before(rec, fields, i);

		if (txt_field_is(rec, f, "id") && !duplicate) {
			id = f;
			ok &= check_id(rec, f, idx, diags);
			continue;
		}
		ok &= txt_check_extension(rec, f, idx, duplicate ? MTASTS_TXT_SYNTAX :
				      MTASTS_TXT_INVALID_EXTENSION, diags);
		if (duplicate)
			warn_duplicate(rec, f, idx, MTASTS_TXT_DUPLICATE_FIELD, diags);
	}
	if (id == NULL) {
		const char *hint = "";

		for (size_t i = 0; i < n; i++)
			if (fields[i].name_len == 2 &&
			    strncasecmp(rec + fields[i].name_start, "id", 2) == 0)
				hint = " (field names are case-sensitive: write \"id\")";
		diag_add(diags, MTASTS_TXT_MISSING_ID, MTASTS_SEVERITY_ERROR, idx, 0, 0,
			 "the record has no \"id\" field%s", hint);
		ok = false;
	}
	if (!ok)
		return MTASTS_ERR_INVALID;
	return build_record(rec, fields, n, id, index, ret_record);
}

struct mtasts_sts_record *mtasts_sts_record_free(struct mtasts_sts_record *record)
{
	if (record == NULL)
		return NULL;
	extensions_free(record->extensions, record->extension_count);
	free(record);
	return NULL;
}
