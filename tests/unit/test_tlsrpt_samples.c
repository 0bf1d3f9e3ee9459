/*
 * test_tlsrpt_samples.c - the real reports of data/tlsrpt/ taken the whole
 * way: unpacked (report_unpack(): a mail message, or JSON as it is), then
 * read (tlsrpt_report_read()), with every figure of tlsrpt_samples.h.
 *
 * For a mail sample, the JSON unpacked must also be, octet for octet, the
 * NAME.eml.json taken out of it once with Python, which test_tlsrpt_report
 * reads on its own.
 *
 * Usage: test_tlsrpt_samples DATA_DIR (tests/unit/data/tlsrpt).
 */
#include <stdlib.h>

#include "unit.h"

#include "report_unpack.h"
#include "tlsrpt_report.h"
#include "tlsrpt_samples.h"

static const char *data_dir = "tests/unit/data/tlsrpt";

static char *read_file(const char *name, size_t *ret_len)
{
	char path[512];
	FILE *f;
	char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	*ret_len = (size_t)size;
	return buf;
}

static bool is_mail(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && strcmp(name + len - 4, ".eml") == 0;
}

static void test_unpack_and_read(void **state)
{
	(void)state;
	for (size_t i = 0; i < SAMPLE_COUNT; i++) {
		const struct sample *w = &samples[i];
		struct unpack_result unpacked;
		struct tlsrpt_report *report = NULL;
		char why[256] = "";
		size_t len;
		char *data = read_file(w->file, &len);

		memset(&unpacked, 0, sizeof(unpacked));
		if (report_unpack((const unsigned char *)data, len, UNPACK_AUTO, NULL, &unpacked,
				  why, sizeof(why)) != 0)
			fail_msg("%s: not unpacked: %s", w->file, why);
		assert_int_equal(unpacked.format, is_mail(w->file) ? UNPACK_MAIL : UNPACK_JSON);
		assert_int_equal(unpacked.member_count, 1);
		if (is_mail(w->file)) {
			size_t json_len;
			char *json = read_file(w->json_file, &json_len);

			assert_int_equal(unpacked.members[0].carrier, UNPACK_GZIP);
			assert_int_equal(unpacked.members[0].json_len, json_len);
			assert_memory_equal(unpacked.members[0].json, json, json_len);
			free(json);
		}
		if (tlsrpt_report_read(unpacked.members[0].json, unpacked.members[0].json_len,
				       NULL, &report, why, sizeof(why)) != 0)
			fail_msg("%s: refused: %s", w->file, why);
		if (!same_report(report, w))
			fail_msg("%s: a figure is wrong", w->file);
		tlsrpt_report_free(report);
		unpack_result_clear(&unpacked);
		free(data);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unpack_and_read),
	};

	if (argc > 1)
		data_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
