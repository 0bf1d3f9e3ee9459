/*
 * core.h - helpers shared by the pure core's modules; not public API.
 */
#ifndef MTASTS_CORE_H
#define MTASTS_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <mtasts/diag.h>
#include <mtasts/txt.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define CORE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CORE_PRINTF(f, a)
#endif

/*
 * Record a diagnostic; diags may be NULL.  Never fails: what does not fit
 * is counted in diags->dropped.  When the list is full an error takes the
 * place of the latest information or else the latest warning (the items
 * after it move down one); the return value is the index that item had,
 * SIZE_MAX when nothing was displaced, so that a caller holding an index
 * into the list can adjust it.
 */
size_t diag_add(struct mtasts_diags *diags, enum mtasts_code code,
		enum mtasts_severity severity, long record, unsigned line,
		unsigned column, const char *fmt, ...) CORE_PRINTF(7, 8);

/*
 * Write at most 40 octets of s into out as a printable, quoted excerpt:
 * control and non-ASCII octets become \xNN, a cut is marked with "...".
 */
void quote_excerpt(char *out, size_t out_size, const char *s, size_t len);

static inline bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline unsigned char to_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (to_lower(c) >= 'a' && to_lower(c) <= 'f');
}

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * True when the last label of name (len octets, no final dot) is all
 * digits: such a name reads as an IP address to resolvers and to Postfix.
 */
static inline bool last_label_numeric(const char *name, size_t len)
{
	size_t i = len;

	while (i > 0 && name[i - 1] != '.') {
		if (!is_digit((unsigned char)name[i - 1]))
			return false;
		i--;
	}
	return true;
}

static inline bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_vchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e;
}

/* A character of an ext-name (letters, digits, "_", "-", "."). */
static inline bool is_name_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
}

/* Copy len octets into a new NUL-terminated string; NULL when out of memory. */
char *copy_span(const char *s, size_t len);

/* Free an array of extensions and their strings. */
void extensions_free(struct mtasts_extension *extensions, size_t count);

/* Free an array of strings. */
void strings_free(char **strings, size_t count);

/*
 * A field of a TXT record ("name=value"), located in the record by octet
 * offsets.  The value excludes the white space before the next ";".
 */
struct txt_field {
	size_t name_start, name_len;
	size_t value_start, value_len;
};

#define TXT_FIELDS_MAX 64

/*
 * Split one TXT record of the form
 *	version 1*(*WSP ";" *WSP field) [*WSP ";" *WSP]
 * after its version tag (version_len octets, already checked) into fields.
 * Every syntax problem is reported with code `syntax_code`, and the
 * function returns false.  A field without "=" is a syntax error; the name
 * and value are not checked here.
 */
bool txt_split_fields(const char *rec, size_t len, size_t version_len,
		      long record_index, enum mtasts_code syntax_code,
		      struct txt_field *fields, size_t *ret_count,
		      struct mtasts_diags *diags);

/*
 * Does rec begin with the version tag followed at once by ";"?  RFC 8461
 * 3.1 and RFC 8460 3 discard every other record, even those the ABNF would
 * accept ("v=STSv1 ; id=1", or "v=STSv1" alone).
 */
bool txt_has_version(const char *rec, size_t len, const char *tag);

/*
 * Pick the one record that begins with "<tag>;".  The others are discarded
 * before counting, each with a warning under `unrelated` (worded to say
 * what is wrong when it looks like a mistyped record of this kind); when
 * not exactly one remains, an error.  Returns MTASTS_OK with *ret_index,
 * MTASTS_ERR_NO_RECORD or MTASTS_ERR_INVALID.
 */
struct txt_codes {
	const char *tag;		/* "v=STSv1", without the ";" */
	const char *kind;		/* "MTA-STS", "TLSRPT" */
	const char *rfc;		/* where the rule is: "RFC 8461 3.1" */
	enum mtasts_code no_record, multiple, unrelated, too_long;
};
int txt_select_record(const struct mtasts_bytes *records, size_t count,
		      const struct txt_codes *codes, size_t *ret_index,
		      struct mtasts_diags *diags);

/* Is the field's name exactly `name`? */
bool txt_field_is(const char *rec, const struct txt_field *f, const char *name);

/* Does a field before fields[i] have the same name? */
bool txt_field_seen_before(const char *rec, const struct txt_field *fields, size_t i);

/*
 * Check an extension field: ext-name "=" ext-value.  Reports a problem
 * under `code` and returns false.
 */
bool txt_check_extension(const char *rec, const struct txt_field *f, long index,
			 enum mtasts_code code, struct mtasts_diags *diags);

/* ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
bool is_ext_name(const char *s, size_t len);

/* TXT ext-value = 1*(%x21-3A / %x3C / %x3E-7E); returns the first bad offset or len. */
size_t txt_ext_value_bad_offset(const char *s, size_t len);

#endif
