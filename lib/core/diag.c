/*
 * diag.c - status messages, diagnostic codes and the diagnostics list.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static const char *const code_names[MTASTS_CODE_COUNT] = {
	[MTASTS_CODE_NONE] = "none",

	[MTASTS_TXT_NO_RECORD] = "txt-no-record",
	[MTASTS_TXT_MULTIPLE_RECORDS] = "txt-multiple-records",
	[MTASTS_TXT_UNRELATED_RECORD] = "txt-unrelated-record",
	[MTASTS_TXT_TOO_LONG] = "txt-too-long",
	[MTASTS_TXT_SYNTAX] = "txt-syntax",
	[MTASTS_TXT_MISSING_ID] = "txt-missing-id",
	[MTASTS_TXT_INVALID_ID] = "txt-invalid-id",
	[MTASTS_TXT_INVALID_EXTENSION] = "txt-invalid-extension",
	[MTASTS_TXT_DUPLICATE_FIELD] = "txt-duplicate-field",

	[MTASTS_POLICY_TOO_LARGE] = "policy-too-large",
	[MTASTS_POLICY_EMPTY] = "policy-empty",
	[MTASTS_POLICY_EMPTY_LINE] = "policy-empty-line",
	[MTASTS_POLICY_BAD_LINE_ENDING] = "policy-bad-line-ending",
	[MTASTS_POLICY_SYNTAX] = "policy-syntax",
	[MTASTS_POLICY_INVALID_FIELD_NAME] = "policy-invalid-field-name",
	[MTASTS_POLICY_INVALID_VALUE] = "policy-invalid-value",
	[MTASTS_POLICY_INVALID_UTF8] = "policy-invalid-utf8",
	[MTASTS_POLICY_MISSING_VERSION] = "policy-missing-version",
	[MTASTS_POLICY_INVALID_VERSION] = "policy-invalid-version",
	[MTASTS_POLICY_MISSING_MODE] = "policy-missing-mode",
	[MTASTS_POLICY_INVALID_MODE] = "policy-invalid-mode",
	[MTASTS_POLICY_MISSING_MAX_AGE] = "policy-missing-max-age",
	[MTASTS_POLICY_INVALID_MAX_AGE] = "policy-invalid-max-age",
	[MTASTS_POLICY_MAX_AGE_TOO_LARGE] = "policy-max-age-too-large",
	[MTASTS_POLICY_MISSING_MX] = "policy-missing-mx",
	[MTASTS_POLICY_INVALID_MX] = "policy-invalid-mx",
	[MTASTS_POLICY_TOO_MANY_MX] = "policy-too-many-mx",
	[MTASTS_POLICY_DUPLICATE_FIELD] = "policy-duplicate-field",
	[MTASTS_POLICY_DUPLICATE_MX] = "policy-duplicate-mx",
	[MTASTS_POLICY_FIELD_CASE] = "policy-field-case",
	[MTASTS_POLICY_SHORT_MAX_AGE] = "policy-short-max-age",
	[MTASTS_POLICY_MODE_TESTING] = "policy-mode-testing",
	[MTASTS_POLICY_MODE_NONE] = "policy-mode-none",

	[MTASTS_TLSRPT_NO_RECORD] = "tlsrpt-no-record",
	[MTASTS_TLSRPT_MULTIPLE_RECORDS] = "tlsrpt-multiple-records",
	[MTASTS_TLSRPT_UNRELATED_RECORD] = "tlsrpt-unrelated-record",
	[MTASTS_TLSRPT_TOO_LONG] = "tlsrpt-too-long",
	[MTASTS_TLSRPT_SYNTAX] = "tlsrpt-syntax",
	[MTASTS_TLSRPT_MISSING_RUA] = "tlsrpt-missing-rua",
	[MTASTS_TLSRPT_INVALID_URI] = "tlsrpt-invalid-uri",
	[MTASTS_TLSRPT_UNSUPPORTED_SCHEME] = "tlsrpt-unsupported-scheme",
	[MTASTS_TLSRPT_NO_USABLE_RUA] = "tlsrpt-no-usable-rua",
	[MTASTS_TLSRPT_INVALID_EXTENSION] = "tlsrpt-invalid-extension",
	[MTASTS_TLSRPT_DUPLICATE_FIELD] = "tlsrpt-duplicate-field",

	[MTASTS_MX_INVALID_PATTERN] = "mx-invalid-pattern",
	[MTASTS_MX_INVALID_HOST] = "mx-invalid-host",

	[MTASTS_POLICY_BYTE_ORDER_MARK] = "policy-byte-order-mark",
	[MTASTS_POLICY_HTML] = "policy-html",
	[MTASTS_POLICY_MISSPELT_FIELD] = "policy-misspelt-field",

	[MTASTS_POLICY_MAX_AGE_UNDER_TWO_WEEKS] = "policy-max-age-under-two-weeks",
	[MTASTS_POLICY_MX_IP_ADDRESS] = "policy-mx-ip-address",
	[MTASTS_POLICY_MX_MATCHES_NOTHING] = "policy-mx-matches-nothing",
	[MTASTS_POLICY_MX_PUBLIC_SUFFIX] = "policy-mx-public-suffix",
};

const char *mtasts_code_name(enum mtasts_code code)
{
	if ((unsigned)code >= MTASTS_CODE_COUNT || code_names[code] == NULL)
		return "unknown";
	return code_names[code];
}

const char *mtasts_severity_name(enum mtasts_severity severity)
{
	switch (severity) {
	case MTASTS_SEVERITY_ERROR:
		return "error";
	case MTASTS_SEVERITY_WARNING:
		return "warning";
	case MTASTS_SEVERITY_INFO:
		return "info";
	}
	return "unknown";
}

const char *mtasts_status_message(enum mtasts_status status)
{
	switch (status) {
	case MTASTS_OK:
		return "success";
	case MTASTS_ERR_INVALID:
		return "input is invalid";
	case MTASTS_ERR_NO_RECORD:
		return "no record of the wanted kind";
	case MTASTS_ERR_NOMEM:
		return "out of memory";
	case MTASTS_ERR_ARGUMENT:
		return "invalid argument";
	case MTASTS_ERR_TOO_LARGE:
		return "the result would be larger than its limit";
	}
	return "unknown status";
}

void mtasts_diags_init(struct mtasts_diags *diags)
{
	diags->count = 0;
	diags->dropped = 0;
}

size_t mtasts_diags_count(const struct mtasts_diags *diags,
			  enum mtasts_severity severity)
{
	size_t n = 0;

	for (size_t i = 0; i < diags->count; i++)
		if (diags->items[i].severity == severity)
			n++;
	return n;
}

const struct mtasts_diag *mtasts_diags_find(const struct mtasts_diags *diags,
					    enum mtasts_code code)
{
	for (size_t i = 0; i < diags->count; i++)
		if (diags->items[i].code == code)
			return &diags->items[i];
	return NULL;
}

const struct mtasts_diag *mtasts_diags_first_error(const struct mtasts_diags *diags)
{
	for (size_t i = 0; i < diags->count; i++)
		if (diags->items[i].severity == MTASTS_SEVERITY_ERROR)
			return &diags->items[i];
	return NULL;
}

/*
 * Make room for an error in a full list by taking out its latest item of
 * the given severity; the items after it move down, so the rest stay in
 * the order they came.  Returns the index it had, or SIZE_MAX when there
 * is none.
 */
static size_t evict_latest(struct mtasts_diags *diags, enum mtasts_severity severity)
{
	for (size_t i = diags->count; i-- > 0;) {
		if (diags->items[i].severity != severity)
			continue;
		memmove(&diags->items[i], &diags->items[i + 1],
			(diags->count - i - 1) * sizeof(diags->items[0]));
		diags->count--;
		return i;
	}
	return SIZE_MAX;
}

size_t diag_add(struct mtasts_diags *diags, enum mtasts_code code,
		enum mtasts_severity severity, long record, unsigned line,
		unsigned column, const char *fmt, ...)
{
	size_t evicted = SIZE_MAX;
	struct mtasts_diag *d;
	va_list ap;

	if (diags == NULL)
		return SIZE_MAX;
	if (diags->count >= MTASTS_DIAGS_MAX) {
		diags->dropped++;
		/*
		 * An error outranks the rest, information first: the verdict
		 * must be explained even when other items filled the list.
		 */
		if (severity != MTASTS_SEVERITY_ERROR)
			return SIZE_MAX;
		if ((evicted = evict_latest(diags, MTASTS_SEVERITY_INFO)) == SIZE_MAX &&
		    (evicted = evict_latest(diags, MTASTS_SEVERITY_WARNING)) == SIZE_MAX)
			return SIZE_MAX;
	}
	d = &diags->items[diags->count++];
	d->code = code;
	d->severity = severity;
	d->record = record;
	d->line = line;
	d->column = column;
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
	return evicted;
}

void quote_excerpt(char *out, size_t out_size, const char *s, size_t len)
{
	static const size_t excerpt_max = 40;
	size_t o = 0;

	if (out_size < 8) {
		if (out_size > 0)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? 1 : 4;

		if (i >= excerpt_max || o + need + 5 > out_size) {
			memcpy(out + o, "\"...", 4);
			o += 4;
			out[o] = '\0';
			return;
		}
		if (need == 1)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
	}
	out[o++] = '"';
	out[o] = '\0';
}

char *copy_span(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void extensions_free(struct mtasts_extension *extensions, size_t count)
{
	if (extensions == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		free(extensions[i].name);
		free(extensions[i].value);
	}
	free(extensions);
}

void strings_free(char **strings, size_t count)
{
	if (strings == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}
