/*
 * report_unpack.h - the JSON text of TLS reports, out of whatever carried
 * them: JSON as it is, gzip, zip, or a mail message (RFC 5322 + MIME) with
 * the report attached (RFC 8460 5.3).
 *
 * The format is recognised from the bytes themselves (gzip and zip magic
 * numbers, "{" after optional white space, or mail headers); the caller's
 * hint (a media type or a file name) only breaks ties and names what was
 * expected in errors.  Every step is bounded: the input, what any one
 * member decompresses to and what all of them do together (a gzip or zip
 * bomb stops at the cap, it is never inflated whole), the number of members
 * and parts, MIME nesting.
 */
#ifndef MTASTS_IO_REPORT_UNPACK_H
#define MTASTS_IO_REPORT_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

enum unpack_format {
	UNPACK_AUTO = 0,	/* recognise from the bytes */
	UNPACK_JSON,
	UNPACK_GZIP,
	UNPACK_ZIP,
	UNPACK_MAIL,
};

struct unpack_limits {
	size_t max_input;		/* octets in (default 32 MiB) */
	size_t max_output;		/* octets out of one member or part (default 16 MiB) */
	size_t max_total_output;	/* octets out of all of them together (default 32 MiB) */
	size_t max_members;		/* reports in one zip or one message (default 16) */
	size_t max_mime_parts;		/* MIME parts in one message (default 256) */
	size_t max_mime_depth;		/* multipart nesting (default 8) */
};

void unpack_limits_default(struct unpack_limits *ret_limits);

/* One report's JSON text and where it came from. */
struct unpack_member {
	char *json;			/* NUL-terminated copy; json_len excludes the NUL */
	size_t json_len;
	char *name;			/* attachment or zip member name, or NULL */
	enum unpack_format carrier;	/* what it was inside: JSON, GZIP or ZIP */
	/*
	 * When the text is exactly what one gzip member inflates to (no other
	 * member after it, NUL padding aside): a copy of that member as
	 * received, so a store can keep it without compressing the text again;
	 * NULL otherwise.
	 */
	unsigned char *gzip;
	size_t gzip_len;
};

struct unpack_result {
	enum unpack_format format;	/* what the input was */
	struct unpack_member *members;
	size_t member_count;
	/* For mail: the header fields, unfolded, or NULL (values may hold any octet). */
	char *mail_from;
	char *mail_subject;
	char *mail_message_id;
};

/*
 * The format a media type or file name suggests ("application/tlsrpt+gzip",
 * "report.json.gz", "x.eml"); UNPACK_AUTO when it suggests none.
 * Parameters after ";" and case are ignored.
 */
enum unpack_format unpack_format_from_media_type(const char *media_type);
enum unpack_format unpack_format_from_file_name(const char *name);

/*
 * Unpack data/len.  On success returns 0 and fills *ret_result (at least one
 * member; release with unpack_result_clear()).  On failure returns -1,
 * leaves *ret_result empty and writes a reason into why ("gzip: the report
 * inflates past 16 MiB", "mail: no part holds a TLS report"); errno is
 * ENOMEM when memory ran out, EFBIG when a size limit was hit (the HTTP
 * intake answers 413), EINVAL otherwise.
 */
int report_unpack(const unsigned char *data, size_t len, enum unpack_format hint,
		  const struct unpack_limits *limits, struct unpack_result *ret_result,
		  char *why, size_t why_size);

void unpack_result_clear(struct unpack_result *result);

#endif
