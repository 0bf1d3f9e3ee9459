/*
 * tlsrpt.c - the TLSRPT TXT record at _smtp._tls.<domain> (RFC 8460 3).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts/tlsrpt.h>

#include "core.h"

static const struct txt_codes tlsrpt_codes = {
	.tag = "v=TLSRPTv1",
	.kind = "TLSRPT",
	.rfc = "RFC 8460 3",
	.no_record = MTASTS_TLSRPT_NO_RECORD,
	.multiple = MTASTS_TLSRPT_MULTIPLE_RECORDS,
	.unrelated = MTASTS_TLSRPT_UNRELATED_RECORD,
	.too_long = MTASTS_TLSRPT_TOO_LONG,
};

static unsigned hex_value(unsigned char c)
{
	return is_digit(c) ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/*
 * Characters a URI may hold outside percent-encoding (RFC 3986 2.2, 2.3),
 * less "," and "!", which RFC 8460 3 requires to be encoded.  (strchr()
 * would find a NUL octet in the set, so it is ruled out first.)
 */
static bool is_uri_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) ||
	       (c != '\0' && strchr("-._~$&'()*+;=:@/?#[]", c) != NULL);
}

/* Where a URI goes wrong, as an offset and a reason; true when it is fine. */
struct uri_check {
	size_t offset;
	char why[160];
	size_t scheme_len;
};

static bool uri_fail(struct uri_check *c, size_t offset, const char *fmt, ...)
	CORE_PRINTF(3, 4);

/* Record where and why the URI is wrong; returns false for the caller to pass on. */
static bool uri_fail(struct uri_check *c, size_t offset, const char *fmt, ...)
{
	va_list ap;

	c->offset = offset;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return false;
}

/* "tlsrpt@example.com": an address written where its mailto: URI belongs. */
static bool is_bare_address(const char *u, size_t len)
{
	if (len > 100 || memchr(u, '@', len) == NULL || memchr(u, ':', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_uri_char((unsigned char)u[i]) && u[i] != '%')
			return false;
	return true;
}

static bool uri_syntax(const char *u, size_t len, struct uri_check *c)
{
	size_t i = 0, hashes = 0;

	if (is_bare_address(u, len))
		return uri_fail(c, 0, "an address needs the mailto: scheme: write "
				"\"mailto:%.*s\"", (int)len, u);
	if (len == 0 || !is_alpha((unsigned char)u[0]))
		return uri_fail(c, 0, "a URI starts with a scheme such as \"mailto:\" "
				"or \"https:\"");
	while (i < len && (is_alpha((unsigned char)u[i]) || is_digit((unsigned char)u[i]) ||
			   u[i] == '+' || u[i] == '-' || u[i] == '.'))
		i++;
	if (i == len || u[i] != ':')
		return uri_fail(c, i, "the scheme is not followed by \":\"");
	c->scheme_len = i;
	for (i++; i < len; i++) {
		unsigned char ch = (unsigned char)u[i];

		if (ch == '%') {
			if (i + 2 >= len || !is_hex((unsigned char)u[i + 1]) ||
			    !is_hex((unsigned char)u[i + 2]))
				return uri_fail(c, i, "\"%%\" is not followed by two hex "
						"digits");
			i += 2;
			continue;
		}
		if (ch == '#' && ++hashes > 1)
			return uri_fail(c, i, "a second \"#\"");
		if (!is_uri_char(ch))
			return uri_fail(c, i, "%s", ch == ',' || ch == '!' ?
					"\",\" and \"!\" inside a URI must be "
					"percent-encoded" :
					"a character that a URI may not hold unencoded");
	}
	return true;
}

static bool scheme_is(const char *u, const struct uri_check *c, const char *scheme)
{
	return c->scheme_len == strlen(scheme) && strncasecmp(u, scheme, c->scheme_len) == 0;
}

/*
 * The octets of the address part of a mailto: URI, percent-decoded one at a
 * time (RFC 6068 2) so that a problem is still reported at its place in the
 * record.  uri_syntax() has checked that every "%" has two hex digits.
 */
struct pct_reader {
	const char *s;
	size_t pos;		/* offset in s of the next octet */
	size_t end;
};

/* The next octet, or -1 at the end; does not move on. */
static int pct_peek(const struct pct_reader *r)
{
	if (r->pos >= r->end)
		return -1;
	if (r->s[r->pos] != '%')
		return (unsigned char)r->s[r->pos];
	return (int)(hex_value((unsigned char)r->s[r->pos + 1]) << 4 |
		     hex_value((unsigned char)r->s[r->pos + 2]));
}

static void pct_skip(struct pct_reader *r)
{
	r->pos += r->s[r->pos] == '%' ? 3 : 1;
}

/* atext of RFC 5322 3.2.3 */
static bool is_atext(int c)
{
	return c >= 0 && c < 0x80 && (is_alpha((unsigned char)c) ||
	       is_digit((unsigned char)c) ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL));
}

/* An octet as a message shows it: "x", a space, or its value. */
static const char *describe_octet(int c, char *buf, size_t size)
{
	if (c == ' ')
		snprintf(buf, size, "a space");
	else if (c > ' ' && c < 0x7f)
		snprintf(buf, size, "\"%c\"", c);
	else if (c >= 0x80)
		snprintf(buf, size, "non-ASCII octet 0x%02x", (unsigned char)c);
	else
		snprintf(buf, size, "octet 0x%02x", (unsigned char)c);
	return buf;
}

/*
 * dot-atom-text = 1*atext *("." 1*atext) (RFC 5322 3.2.3), read up to the
 * first octet that is neither atext nor "."; `part` names it in messages.
 * Whether it may be empty, and what may end it, is left to the caller.
 */
static bool check_dot_atom(struct pct_reader *r, const char *part, struct uri_check *c)
{
	size_t start = r->pos, last_dot = 0;
	bool in_atom = false;
	int ch;

	while ((ch = pct_peek(r)) == '.' || is_atext(ch)) {
		if (ch == '.') {
			if (r->pos == start)
				return uri_fail(c, r->pos, "the %s starts with \".\"", part);
			if (!in_atom)
				return uri_fail(c, r->pos, "the %s has two dots in a "
						"row", part);
			last_dot = r->pos;
		}
		in_atom = ch != '.';
		pct_skip(r);
	}
	if (r->pos > start && !in_atom)
		return uri_fail(c, last_dot, "the %s ends with \".\"", part);
	return true;
}

/*
 * quoted-string = DQUOTE *(qtext / WSP / quoted-pair) DQUOTE (RFC 5322
 * 3.2.4) without folding: an encoded CR or LF is refused like any other
 * control octet.
 */
static bool check_quoted_local_part(struct pct_reader *r, struct uri_check *c)
{
	size_t open = r->pos;
	char octet[32];

	pct_skip(r);
	for (;;) {
		size_t at = r->pos;
		int ch = pct_peek(r);

		if (ch == -1)
			return uri_fail(c, open, "the quoted local part has no closing "
					"quote");
		pct_skip(r);
		if (ch == '"')
			return true;
		if (ch == '\\') {
			ch = pct_peek(r);
			if (ch == -1 || !(is_vchar((unsigned char)ch) || is_wsp((unsigned char)ch)))
				return uri_fail(c, at, "\"\\\" in the quoted local part "
						"must be followed by a printable "
						"character or a space");
			pct_skip(r);
		} else if (!is_vchar((unsigned char)ch) && !is_wsp((unsigned char)ch)) {
			return uri_fail(c, at, "the quoted local part may not hold %s",
					describe_octet(ch, octet, sizeof(octet)));
		}
	}
}

/*
 * The domain of an address: a dot-atom, so no empty label, no dot at
 * either end, no ":" (no port) and no second "@".  An address literal
 * ("[192.0.2.1]") is valid in RFC 6068 but names no domain to look up,
 * so it is refused here.
 */
static bool check_domain(struct pct_reader *r, struct uri_check *c)
{
	size_t start = r->pos;
	char octet[32];
	int ch = pct_peek(r);

	if (ch == '[')
		return uri_fail(c, r->pos, "the domain is an address literal; reports "
				"need a domain name");
	if (!check_dot_atom(r, "domain", c))
		return false;
	ch = pct_peek(r);
	if (ch == -1 || ch == ',') {
		if (r->pos == start)
			return uri_fail(c, r->pos, "the address has no domain after \"@\"");
		return true;
	}
	if (ch == '@')
		return uri_fail(c, r->pos, "a second \"@\" (an \"@\" in the local part "
				"must be inside quotes)");
	if (ch == ':')
		return uri_fail(c, r->pos, "\":\" in the domain (a port or anything "
				"else after the domain is not part of an address)");
	if (ch >= 0x80)
		return uri_fail(c, r->pos, "the domain may not hold %s; write an "
				"internationalized domain in A-labels (\"xn--\")",
				describe_octet(ch, octet, sizeof(octet)));
	return uri_fail(c, r->pos, "the domain may not hold %s",
			describe_octet(ch, octet, sizeof(octet)));
}

/* addr-spec = local-part "@" domain, local-part = dot-atom-text / quoted-string */
static bool check_addr_spec(struct pct_reader *r, struct uri_check *c)
{
	int ch = pct_peek(r);
	bool quoted = ch == '"';
	char octet[32];

	if (ch == -1 || ch == ',')
		return uri_fail(c, r->pos, "an empty address in the list of addresses");
	if (ch == '@')
		return uri_fail(c, r->pos, "the address has no local part before \"@\"");
	if (quoted ? !check_quoted_local_part(r, c) : !check_dot_atom(r, "local part", c))
		return false;
	ch = pct_peek(r);
	if (ch == '@') {
		pct_skip(r);
		return check_domain(r, c);
	}
	if (ch == -1)
		return uri_fail(c, r->pos, "the address has no \"@\" and domain");
	if (ch == ',')
		return uri_fail(c, r->pos, "the address before this \",\" has no \"@\" "
				"and domain (%%2C separates addresses in a mailto URI)");
	if (quoted)
		return uri_fail(c, r->pos, "expected \"@\" after the quoted local part");
	return uri_fail(c, r->pos, "the local part may not hold %s%s",
			describe_octet(ch, octet, sizeof(octet)),
			is_vchar((unsigned char)ch) || ch == ' ' ? " unless it is quoted" : "");
}

/*
 * mailto: to = addr-spec *("," addr-spec), up to the first "?", each
 * address checked once percent-decoded (RFC 6068 2, RFC 5322 3.4.1).
 */
static bool check_mailto_addresses(const char *u, size_t len, struct uri_check *c)
{
	struct pct_reader r = { .s = u, .pos = c->scheme_len + 1 };
	const char *query = memchr(u + r.pos, '?', len - r.pos);
	const char *hash = memchr(u + r.pos, '#', len - r.pos);

	/* RFC 6068 has no fragment, and "#" in an address must be encoded. */
	if (hash != NULL)
		return uri_fail(c, (size_t)(hash - u), "a mailto URI has no fragment; "
				"a \"#\" in an address must be written %%23");
	r.end = query != NULL ? (size_t)(query - u) : len;
	if (r.pos == r.end)
		return uri_fail(c, r.pos, "a mailto URI needs an address "
				"\"local@domain\" before any \"?\"");
	for (;;) {
		if (!check_addr_spec(&r, c))
			return false;
		if (pct_peek(&r) == -1)
			return true;
		pct_skip(&r);		/* the "," (%2C) between addresses */
	}
}

/* The parts of a usable destination that a sender needs. */
static bool usable_uri_shape(const char *u, size_t len, struct uri_check *c)
{
	size_t rest = c->scheme_len + 1;

	if (scheme_is(u, c, "https")) {
		if (len < rest + 3 || memcmp(u + rest, "//", 2) != 0 ||
		    u[rest + 2] == '/' || u[rest + 2] == '?' || u[rest + 2] == '#')
			return uri_fail(c, rest, "an https URI needs \"//\" and a host name");
		return true;
	}
	return check_mailto_addresses(u, len, c);
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
