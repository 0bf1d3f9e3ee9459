/*
 * fuzz_tlsrpt.c - fuzz target for the TLSRPT TXT record parser
 * (mtasts_tlsrpt_record_parse).  The input is split into records at each
 * LF or NUL, at most MTASTS_TXT_RECORDS_MAX of them.
 */
#include <strings.h>

#include <mtasts/tlsrpt.h>

#include "fuzz.h"

/* What an accepted record must look like. */
static void check_record(const struct mtasts_tlsrpt_record *rec, size_t count)
{
	if (rec->record_index >= count || rec->rua_count == 0 ||
	    rec->rua_count > MTASTS_TLSRPT_RUA_MAX || rec->rua == NULL)
		abort();
	for (size_t i = 0; i < rec->rua_count; i++) {
		const char *u = rec->rua[i];

		if (u == NULL || (strncasecmp(u, "mailto:", 7) != 0 &&
				  strncasecmp(u, "https://", 8) != 0))
			abort();
		/* Separators and white space never end up inside a URI. */
		if (strpbrk(u, ", \t") != NULL)
			abort();
	}
	for (size_t i = 0; i < rec->extension_count; i++) {
		const struct mtasts_extension *e = &rec->extensions[i];

		if (e->name[0] == '\0' || e->value[0] == '\0' ||
		    strcmp(e->name, "rua") == 0 || strcmp(e->name, "v") == 0)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(rec->extensions[j].name, e->name) == 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX];
	struct mtasts_tlsrpt_record *rec = NULL, *again = NULL;
	struct mtasts_diags diags;
	size_t count;
	int rc;

	count = fuzz_split_records(data, size, records, MTASTS_TXT_RECORDS_MAX);
	mtasts_diags_init(&diags);
	rc = mtasts_tlsrpt_record_parse(records, count, &rec, &diags);
	fuzz_check_diags(&diags, rc);
	if ((rc == MTASTS_OK) != (rec != NULL))
		abort();
	if (rec != NULL)
		check_record(rec, count);

	/* Without a diagnostics list the verdict is the same. */
	if (mtasts_tlsrpt_record_parse(records, count, &again, NULL) != rc)
		abort();
	if (rec != NULL) {
		if (again == NULL || again->rua_count != rec->rua_count)
			abort();
		for (size_t i = 0; i < rec->rua_count; i++)
			if (strcmp(rec->rua[i], again->rua[i]) != 0)
				abort();
	}
	mtasts_tlsrpt_record_free(again);
	mtasts_tlsrpt_record_free(rec);
	return 0;
}
