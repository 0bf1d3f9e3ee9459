/*
 * unit.h - what the table-driven unit tests share: expected diagnostics and
 * checking a struct mtasts_diags against them exactly.
 *
 * A table row lists the diagnostics it expects, in the order the parser
 * reports them, ended by an entry with code MTASTS_CODE_NONE (so a row that
 * lists none expects none).  check_diags() fails unless the count, and each
 * code, severity, record index, line and column, are as expected.
 */
#ifndef MTASTS_TEST_UNIT_H
#define MTASTS_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mtasts/diag.h>
#include <mtasts/txt.h>

#define WANT_DIAGS_MAX 8

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct want_diag {
	enum mtasts_code code;
	enum mtasts_severity severity;
	long record;
	unsigned line;
	unsigned column;
};

/* An error or a warning in TXT record `rec` at `col` (line is always 0). */
#define TE(c, rec, col) { MTASTS_##c, MTASTS_SEVERITY_ERROR, (rec), 0, (col) }
#define TW(c, rec, col) { MTASTS_##c, MTASTS_SEVERITY_WARNING, (rec), 0, (col) }
/* An error, a warning or information in a policy body at line `ln`, column `col`. */
#define PE(c, ln, col) { MTASTS_##c, MTASTS_SEVERITY_ERROR, -1, (ln), (col) }
#define PW(c, ln, col) { MTASTS_##c, MTASTS_SEVERITY_WARNING, -1, (ln), (col) }
#define PI(c, ln, col) { MTASTS_##c, MTASTS_SEVERITY_INFO, -1, (ln), (col) }

/* Write s (len octets) with control and non-ASCII octets escaped. */
static inline const char *escape(const char *s, size_t len)
{
	static char buf[512];
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < sizeof(buf); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
	}
	if (o + 8 >= sizeof(buf))
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "...");
	buf[o] = '\0';
	return buf;
}

static inline void print_diags(const struct mtasts_diags *d)
{
	for (size_t i = 0; i < d->count; i++) {
		const struct mtasts_diag *x = &d->items[i];

		print_error("  got %s %s record=%ld line=%u column=%u: %s\n",
			    mtasts_severity_name(x->severity),
			    mtasts_code_name(x->code), x->record, x->line,
			    x->column, x->message);
	}
	if (d->dropped > 0)
		print_error("  (%zu dropped)\n", d->dropped);
}

static inline size_t want_count(const struct want_diag *want)
{
	size_t n = 0;

	while (n < WANT_DIAGS_MAX && want[n].code != MTASTS_CODE_NONE)
		n++;
	return n;
}

/* True when d holds exactly the diagnostics of want; prints why not. */
static inline bool diags_match(const struct mtasts_diags *d,
			       const struct want_diag *want)
{
	size_t n = want_count(want);

	if (d->dropped != 0 || d->count != n) {
		print_error("  expected %zu diagnostics, got %zu\n", n, d->count);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mtasts_diag *x = &d->items[i];
		const struct want_diag *w = &want[i];

		if (x->code != w->code || x->severity != w->severity ||
		    x->record != w->record || x->line != w->line ||
		    x->column != w->column) {
			print_error("  diagnostic %zu: expected %s %s record=%ld "
				    "line=%u column=%u\n", i,
				    mtasts_severity_name(w->severity),
				    mtasts_code_name(w->code), w->record, w->line,
				    w->column);
			return false;
		}
		if (x->message[0] == '\0' ||
		    memchr(x->message, '\0', sizeof(x->message)) == NULL) {
			print_error("  diagnostic %zu has no message\n", i);
			return false;
		}
		/* mtasts_diags_find() gives the first one with the code. */
		const struct mtasts_diag *first = mtasts_diags_find(d, w->code);
		if (first == NULL || first > x || first->code != w->code) {
			print_error("  mtasts_diags_find(%s) is wrong\n",
				    mtasts_code_name(w->code));
			return false;
		}
	}
	return true;
}

/*
 * What every parser promises about its outcome: the status expected, the
 * diagnostics expected, errors exactly when it fails, and the result
 * pointer untouched on failure (wrote is whether it changed).
 */
static inline bool outcome_matches(int rc, int want_rc, const struct mtasts_diags *d,
				   const struct want_diag *want, bool wrote)
{
	if (rc != want_rc) {
		print_error("  expected status %d, got %d\n", want_rc, rc);
		return false;
	}
	if (!diags_match(d, want))
		return false;
	if ((rc == MTASTS_OK) != (mtasts_diags_count(d, MTASTS_SEVERITY_ERROR) == 0)) {
		print_error("  status and error count disagree\n");
		return false;
	}
	if (rc != MTASTS_OK && wrote) {
		print_error("  the result was written on failure\n");
		return false;
	}
	return true;
}

/* Extensions against a NULL-terminated list of name, value, name, value... */
static inline bool extensions_match(const struct mtasts_extension *ext, size_t count,
				    const char *const *want)
{
	size_t n = 0;

	while (want[2 * n] != NULL)
		n++;
	if (count != n) {
		print_error("  got %zu extensions, expected %zu\n", count, n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ext[i].name, want[2 * i]) != 0 ||
		    strcmp(ext[i].value, want[2 * i + 1]) != 0) {
			print_error("  extension %zu is %s: %s\n", i, ext[i].name,
				    escape(ext[i].value, strlen(ext[i].value)));
			return false;
		}
	}
	return true;
}

#endif
