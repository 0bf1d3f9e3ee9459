/*
 * fuzz_mime.c - fuzz target for the parts of a mail message (mime_parse,
 * mime_looks_like_message).  The input is a whole message.
 */
#include <ctype.h>
#include <errno.h>

#include "fuzz.h"
#include "mime.h"

static const struct mime_limits limits = { .max_parts = 16, .max_depth = 4,
					   .max_decoded = 64 * 1024 };

/* What mime.h promises of a part. */
static void check_part(const struct mime_part *part)
{
	if (part->media_type == NULL || part->media_type[0] == '\0' ||
	    strchr(part->media_type, ';') != NULL)
		abort();
	for (const char *c = part->media_type; *c != '\0'; c++)
		if (isupper((unsigned char)*c))
			abort();
	if (part->body == NULL || part->body_len > limits.max_decoded ||
	    part->body[part->body_len] != '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_message message = { .part_count = 1 };
	char why[160] = "";
	int rc;

	(void)mime_looks_like_message(data, size);
	rc = mime_parse(data, size, &limits, &message, why, sizeof(why));
	if (rc == 0) {
		/* a multipart body without a delimiter has no part */
		if (message.part_count > limits.max_parts)
			abort();
		for (size_t i = 0; i < message.part_count; i++)
			check_part(&message.parts[i]);
		if (message.report_type != NULL)
			for (const char *c = message.report_type; *c != '\0'; c++)
				if (isupper((unsigned char)*c))
					abort();
	} else {
		if (rc != -1 || why[0] == '\0' || message.parts != NULL || message.part_count != 0 ||
		    (errno != ENOMEM && errno != EFBIG && errno != EINVAL))
			abort();
	}
	mime_message_clear(&message);
	mime_message_clear(&message);
	return 0;
}
