/*
 * fuzz_report_unpack.c - fuzz target for unpacking reports (report_unpack):
 * JSON, gzip, zip or a mail message, recognised from the bytes.  The first
 * octet picks the caller's hint, the rest is the input.
 */
#include <errno.h>

#include "fuzz.h"
#include "report_unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpack_limits limits;
	struct unpack_result result = { .member_count = 1 };
	enum unpack_format hint = UNPACK_AUTO;
	char why[200] = "";
	int rc;

	if (size > 0) {
		hint = (enum unpack_format)(data[0] % 5);
		data++;
		size--;
	}
	unpack_limits_default(&limits);
	limits.max_output = 256 * 1024;	/* bombs stop early, the fuzzer stays fast */
	limits.max_total_output = 512 * 1024;	/* less than max_members of max_output */
	limits.max_members = 4;
	limits.max_mime_parts = 16;
	limits.max_mime_depth = 4;
	/* the input's start as a media type and a file name too */
	char text[128];
	size_t text_len = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	if (text_len > 0)
		memcpy(text, data, text_len);
	text[text_len] = '\0';
	(void)unpack_format_from_media_type(text);
	(void)unpack_format_from_file_name(text);
	rc = report_unpack(data, size, hint, &limits, &result, why, sizeof(why));
	if (rc == 0) {
		size_t total = 0;

		if (result.member_count == 0 || result.member_count > limits.max_members)
			abort();
		for (size_t i = 0; i < result.member_count; i++) {
			const struct unpack_member *m = &result.members[i];

			total += m->json_len;
			if (m->json == NULL || m->json_len > limits.max_output ||
			    total > limits.max_total_output || m->json[m->json_len] != '\0')
				abort();
			if (m->carrier != UNPACK_JSON && m->carrier != UNPACK_GZIP &&
			    m->carrier != UNPACK_ZIP)
				abort();
		}
		if (result.format == UNPACK_AUTO)
			abort();
		if (result.format != UNPACK_MAIL &&
		    (result.mail_from != NULL || result.mail_subject != NULL))
			abort();
	} else {
		if (rc != -1 || why[0] == '\0' || result.members != NULL ||
		    result.member_count != 0 ||
		    (errno != ENOMEM && errno != EFBIG && errno != EINVAL))
			abort();
	}
	unpack_result_clear(&result);
	return 0;
}
