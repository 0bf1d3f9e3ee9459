/*
 * tlsrpt.c - the TLSRPT TXT record at _smtp._tls.<domain> (RFC 8460 3).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts/tlsrpt.h>

#include "core.h"

static const struct txt_codes tlsrpt_codes = {
	.tag = "v=TLSRPTv1",
	.kind = "TLSRPT",
	.no_record = MTASTS_TLSRPT_NO_RECORD,
	.multiple = MTASTS_TLSRPT_MULTIPLE_RECORDS,
	.unrelated = MTASTS_TLSRPT_UNRELATED_RECORD,
	.too_long = MTASTS_TLSRPT_TOO_LONG,
};

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Characters a URI may hold outside percent-encoding (RFC 3986 2.2, 2.3),
 * less "," and "!", which RFC 8460 3 requires to be encoded.
 */
static bool is_uri_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || strchr("-._~$&'()*+;=:@/?#[]", c) != NULL;
}

/* Where a URI goes wrong, as an offset and a reason; true when it is fine. */
struct uri_check {
	size_t offset;
	const char *why;
	size_t scheme_len;
};

static bool uri_syntax(const char *u, size_t len, struct uri_check *c)
{
	size_t i = 0, hashes = 0;

	if (len == 0 || !is_alpha((unsigned char)u[0])) {
		c->offset = 0;
		c->why = "a URI starts with a scheme such as \"mailto:\" or \"https:\"";
		return false;
	}
	while (i < len && (is_alpha((unsigned char)u[i]) || is_digit((unsigned char)u[i]) ||
			   u[i] == '+' || u[i] == '-' || u[i] == '.'))
		i++;
	if (i == len || u[i] != ':') {
		c->offset = i;
		c->why = "the scheme is not followed by \":\"";
		return false;
	}
	c->scheme_len = i;
	for (i++; i < len; i++) {
		unsigned char ch = (unsigned char)u[i];

		if (ch == '%') {
			if (i + 2 >= len || !is_hex((unsigned char)u[i + 1]) ||
			    !is_hex((unsigned char)u[i + 2])) {
				c->offset = i;
				c->why = "\"%\" is not followed by two hex digits";
				return false;
			}
			i += 2;
			continue;
		}
		if (ch == '#' && ++hashes > 1) {
			c->offset = i;
			c->why = "a second \"#\"";
			return false;
		}
		if (!is_uri_char(ch)) {
			c->offset = i;
			c->why = ch == ',' || ch == '!' ?
				 "\",\" and \"!\" inside a URI must be percent-encoded" :
				 "a character that a URI may not hold unencoded";
			return false;
		}
	}
	return true;
}

static bool scheme_is(const char *u, const struct uri_check *c, const char *scheme)
{
	return c->scheme_len == strlen(scheme) && strncasecmp(u, scheme, c->scheme_len) == 0;
}

/* The parts of a usable destination that a sender needs. */
static bool usable_uri_shape(const char *u, size_t len, struct uri_check *c)
{
	size_t rest = c->scheme_len + 1;

	if (scheme_is(u, c, "https")) {
		if (len < rest + 3 || memcmp(u + rest, "//", 2) != 0 ||
		    u[rest + 2] == '/' || u[rest + 2] == '?' || u[rest + 2] == '#') {
			c->offset = rest;
			c->why = "an https URI needs \"//\" and a host name";
			return false;
		}
		return true;
	}
	/* mailto: addr-spec, with a local part and a domain (RFC 6068) */
	size_t end = rest;
	while (end < len && u[end] != '?')
		end++;
	const char *at = memchr(u + rest, '@', end - rest);
	if (at == NULL || at == u + rest || at + 1 == u + end) {
		c->offset = rest;
		c->why = "a mailto URI needs an address \"local@domain\"";
		return false;
	}
	return true;
}

/*
 * rua = URI *(*WSP "," *WSP URI).  Counts the usable URIs in *rua_count and,
 * when rua is not NULL, stores copies of them there (a NULL entry where a
 * copy failed).
 */
static bool check_rua(const char *rec, const struct txt_field *f, long index,
		      char **rua, size_t *rua_count, struct mtasts_diags *diags)
{
	size_t pos = f->value_start, end = f->value_start + f->value_len;
	char excerpt[64];
	bool ok = true;

	for (;;) {
		size_t start = pos;
		struct uri_check c = { 0 };

		while (pos < end && rec[pos] != ',' && !is_wsp((unsigned char)rec[pos]))
			pos++;
		size_t ulen = pos - start;
		const char *u = rec + start;
		if (!uri_syntax(u, ulen, &c) ||
		    ((scheme_is(u, &c, "https") || scheme_is(u, &c, "mailto")) &&
		     !usable_uri_shape(u, ulen, &c))) {
			quote_excerpt(excerpt, sizeof(excerpt), u, ulen);
			if (ulen == 0)
				diag_add(diags, MTASTS_TLSRPT_INVALID_URI,
					 MTASTS_SEVERITY_ERROR, index, 0,
					 (unsigned)start + 1, "empty URI in rua at "
					 "column %zu", start + 1);
			else
				diag_add(diags, MTASTS_TLSRPT_INVALID_URI,
					 MTASTS_SEVERITY_ERROR, index, 0,
					 (unsigned)(start + c.offset) + 1,
					 "rua URI %s is not valid: %s", excerpt, c.why);
			ok = false;
		} else if (!scheme_is(u, &c, "https") && !scheme_is(u, &c, "mailto")) {
			quote_excerpt(excerpt, sizeof(excerpt), u, ulen);
			diag_add(diags, MTASTS_TLSRPT_UNSUPPORTED_SCHEME,
				 MTASTS_SEVERITY_WARNING, index, 0, (unsigned)start + 1,
				 "rua URI %s has a scheme reports cannot be sent to; "
				 "only mailto: and https: are used", excerpt);
		} else if (*rua_count == MTASTS_TLSRPT_RUA_MAX) {
			diag_add(diags, MTASTS_TLSRPT_SYNTAX, MTASTS_SEVERITY_ERROR,
				 index, 0, (unsigned)start + 1, "more than %d usable "
				 "rua URIs", MTASTS_TLSRPT_RUA_MAX);
			return false;
		} else {
			if (rua != NULL)
				rua[*rua_count] = copy_span(u, ulen);
			(*rua_count)++;
		}
		while (pos < end && is_wsp((unsigned char)rec[pos]))
			pos++;
		if (pos == end)
			return ok;
		if (rec[pos] != ',') {
			diag_add(diags, MTASTS_TLSRPT_SYNTAX, MTASTS_SEVERITY_ERROR, index,
				 0, (unsigned)pos + 1, "expected \",\" between rua URIs "
				 "at column %zu", pos + 1);
			return false;
		}
		pos++;
		while (pos < end && is_wsp((unsigned char)rec[pos]))
			pos++;
	}
}

static int build_record(const char *rec, const struct txt_field *fields, size_t n,
			const struct txt_field *rua, size_t rua_count, size_t index,
			struct mtasts_tlsrpt_record **ret_record)
{
	struct mtasts_tlsrpt_record *r = calloc(1, sizeof(*r));
	size_t stored = 0;

	if (r == NULL)
		return MTASTS_ERR_NOMEM;
	r->record_index = index;
	r->rua = calloc(rua_count, sizeof(*r->rua));
	r->extensions = calloc(n, sizeof(*r->extensions));
	if (r->rua == NULL || r->extensions == NULL)
		goto nomem;
	check_rua(rec, rua, (long)index, r->rua, &stored, NULL);
	r->rua_count = stored;
	for (size_t i = 0; i < stored; i++)
		if (r->rua[i] == NULL)
			goto nomem;
	for (size_t i = 0; i < n; i++) {
		const struct txt_field *f = &fields[i];
		struct mtasts_extension *e;

		if (txt_field_is(rec, f, "rua") || txt_field_is(rec, f, "v") ||
		    txt_field_seen_before(rec, fields, i))
			continue;
		e = &r->extensions[r->extension_count++];
		e->name = copy_span(rec + f->name_start, f->name_len);
		e->value = copy_span(rec + f->value_start, f->value_len);
		if (e->name == NULL || e->value == NULL)
			goto nomem;
	}
	*ret_record = r;
	return MTASTS_OK;
nomem:
	mtasts_tlsrpt_record_free(r);
	return MTASTS_ERR_NOMEM;
}

int mtasts_tlsrpt_record_parse(const struct mtasts_bytes *records, size_t count,
			       struct mtasts_tlsrpt_record **ret_record,
			       struct mtasts_diags *diags)
{
	struct txt_field fields[TXT_FIELDS_MAX];
	const struct txt_field *rua = NULL;
	size_t index, n, usable = 0;
	bool ok = true;
	int rc;

	if ((records == NULL && count > 0) || ret_record == NULL)
		return MTASTS_ERR_ARGUMENT;
	rc = txt_select_record(records, count, &tlsrpt_codes, &index, diags);
	if (rc != MTASTS_OK)
		return rc;
	const char *rec = records[index].data;
	long idx = (long)index;
	if (!txt_split_fields(rec, records[index].len, strlen(tlsrpt_codes.tag), idx,
			      MTASTS_TLSRPT_SYNTAX, fields, &n, diags))
		return MTASTS_ERR_INVALID;

	for (size_t i = 0; i < n; i++) {
		const struct txt_field *f = &fields[i];
		bool duplicate = txt_field_is(rec, f, "v") || txt_field_seen_before(rec, fields, i);

		if (txt_field_is(rec, f, "rua") && !duplicate) {
			rua = f;
			ok &= check_rua(rec, f, idx, NULL, &usable, diags);
			continue;
		}
		if (duplicate) {
			char excerpt[64];

			quote_excerpt(excerpt, sizeof(excerpt), rec + f->name_start,
				      f->name_len);
			diag_add(diags, MTASTS_TLSRPT_DUPLICATE_FIELD,
				 MTASTS_SEVERITY_WARNING, idx, 0,
				 (unsigned)f->name_start + 1, "field %s appears more "
				 "than once; the first one is used and this one is "
				 "ignored", excerpt);
			/*
			 * A repeated rua is ignored, but it must still fit the
			 * grammar: as a list of URIs or as an extension
			 * (tlsrpt-ext-name admits "rua").  When it fits
			 * neither, the URI problems are reported.
			 */
			if (txt_field_is(rec, f, "rua")) {
				size_t ignored = 0;

				if (f->value_len > 0 &&
				    txt_ext_value_bad_offset(rec + f->value_start,
							     f->value_len) == f->value_len)
					continue;
				if (check_rua(rec, f, idx, NULL, &ignored, NULL))
					continue;
				ignored = 0;
				ok &= check_rua(rec, f, idx, NULL, &ignored, diags);
				continue;
			}
		}
		ok &= txt_check_extension(rec, f, idx, MTASTS_TLSRPT_INVALID_EXTENSION, diags);
	}
	if (rua == NULL) {
		diag_add(diags, MTASTS_TLSRPT_MISSING_RUA, MTASTS_SEVERITY_ERROR, idx, 0,
			 0, "the record has no \"rua\" field naming where reports go");
		return MTASTS_ERR_INVALID;
	}
	if (ok && usable == 0) {
		diag_add(diags, MTASTS_TLSRPT_NO_USABLE_RUA, MTASTS_SEVERITY_ERROR, idx,
			 0, (unsigned)rua->value_start + 1, "rua names no mailto: or "
			 "https: destination, so no report can be sent");
		ok = false;
	}
	if (!ok)
		return MTASTS_ERR_INVALID;
	return build_record(rec, fields, n, rua, usable, index, ret_record);
}

struct mtasts_tlsrpt_record *
mtasts_tlsrpt_record_free(struct mtasts_tlsrpt_record *record)
{
	if (record == NULL)
		return NULL;
	strings_free(record->rua, record->rua_count);
	extensions_free(record->extensions, record->extension_count);
	free(record);
	return NULL;
}
