/*
 * fuzz.h - the one entry point every fuzz target defines.
 *
 * DESCRIPTION
 *	Each fuzz_<target>.c defines LLVMFuzzerTestOneInput() and nothing
 *	else global.  It is linked either with libFuzzer (the fuzz-<target>
 *	programs of a -Dfuzzing=true build) or with replay.c, which feeds it
 *	every file of a corpus so that corpora run as regression tests.
 *
 *	A target aborts when an invariant of the library does not hold; a
 *	sanitizer report or an abort is a finding.
 */
#ifndef MTASTS_FUZZ_H
#define MTASTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts/diag.h>
#include <mtasts/txt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Split data into TXT records at each LF or NUL, at most max of them; the
 * last record takes whatever is left.  The records point into data.
 */
static inline size_t fuzz_split_records(const uint8_t *data, size_t size,
					struct mtasts_bytes *records, size_t max)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i < size && n + 1 < max; i++) {
		if (data[i] != '\n' && data[i] != '\0')
			continue;
		records[n].data = (const char *)data + start;
		records[n].len = i - start;
		n++;
		start = i + 1;
	}
	records[n].data = (const char *)data + start;
	records[n].len = size - start;
	return n + 1;
}

/*
 * What diag.h promises of every parse: known codes and severities, messages
 * that are NUL-terminated strings, at least one error when the input is
 * rejected and none when it is accepted.
 */
static inline void fuzz_check_diags(const struct mtasts_diags *diags, int rc)
{
	size_t errors;

	if (diags->count > MTASTS_DIAGS_MAX)
		abort();
	for (size_t i = 0; i < diags->count; i++) {
		const struct mtasts_diag *d = &diags->items[i];

		if ((unsigned)d->code >= MTASTS_CODE_COUNT ||
		    d->code == MTASTS_CODE_NONE ||
		    strcmp(mtasts_code_name(d->code), "unknown") == 0)
			abort();
		if (d->severity != MTASTS_SEVERITY_ERROR &&
		    d->severity != MTASTS_SEVERITY_WARNING &&
		    d->severity != MTASTS_SEVERITY_INFO)
			abort();
		if (memchr(d->message, '\0', sizeof(d->message)) == NULL ||
		    d->message[0] == '\0')
			abort();
	}
	errors = mtasts_diags_count(diags, MTASTS_SEVERITY_ERROR);
	if (rc == MTASTS_OK && errors > 0)
		abort();
	if ((rc == MTASTS_ERR_INVALID || rc == MTASTS_ERR_NO_RECORD) &&
	    errors == 0 && diags->dropped == 0)
		abort();
}

#endif
