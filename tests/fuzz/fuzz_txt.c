/*
 * fuzz_txt.c - fuzz target for the MTA-STS TXT record parser
 * (mtasts_sts_record_parse).  The input is split into records at each LF
 * or NUL, at most MTASTS_TXT_RECORDS_MAX of them.
 */
#include <ctype.h>

#include <mtasts/txt.h>

#include "fuzz.h"

static bool is_ext_name_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* What an accepted record must look like. */
static void check_record(const struct mtasts_sts_record *rec, size_t count)
{
	size_t id_len = strlen(rec->id);

	if (rec->record_index >= count || id_len == 0 || id_len > MTASTS_STS_ID_MAX)
		abort();
	for (size_t i = 0; i < id_len; i++)
		if (!isalnum((unsigned char)rec->id[i]))
			abort();
	if (rec->extension_count > 0 && rec->extensions == NULL)
		abort();
	for (size_t i = 0; i < rec->extension_count; i++) {
		const struct mtasts_extension *e = &rec->extensions[i];
		size_t name_len = strlen(e->name);

		if (name_len == 0 || name_len > 32 || e->value[0] == '\0' ||
		    strcmp(e->name, "id") == 0 || strcmp(e->name, "v") == 0)
			abort();
		for (size_t j = 0; j < name_len; j++)
			if (!is_ext_name_char((unsigned char)e->name[j]))
				abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(rec->extensions[j].name, e->name) == 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_bytes records[MTASTS_TXT_RECORDS_MAX];
	struct mtasts_sts_record *rec = NULL, *again = NULL;
	struct mtasts_diags diags;
	size_t count;
	int rc, rc_quiet;

	count = fuzz_split_records(data, size, records, MTASTS_TXT_RECORDS_MAX);
	mtasts_diags_init(&diags);
	rc = mtasts_sts_record_parse(records, count, &rec, &diags);
	fuzz_check_diags(&diags, rc);
	if ((rc == MTASTS_OK) != (rec != NULL))
		abort();
	if (rec != NULL)
		check_record(rec, count);

	/* Without a diagnostics list the verdict is the same. */
	rc_quiet = mtasts_sts_record_parse(records, count, &again, NULL);
	if (rc_quiet != rc)
		abort();
	if (rec != NULL && (again == NULL || strcmp(rec->id, again->id) != 0 ||
			    rec->extension_count != again->extension_count))
		abort();
	mtasts_sts_record_free(again);
	mtasts_sts_record_free(rec);
	return 0;
}
