/*
 * mime.h - the parts of a mail message (RFC 5322, RFC 2045-2047) that may hold
 * a TLS report, with their bodies decoded.  Bytes in, parts out: no I/O.
 *
 * Tolerant of what senders do: CRLF or LF line ends, folded headers, header
 * names in any case (and "ContentType" for "Content-Type"), quoted or bare
 * boundary parameters, base64 with line breaks or junk after the padding,
 * quoted-printable, a single-part message whose body is the report.
 * Bounded: parts, nesting depth, the decoded size of each part, the header
 * block of each entity (256 KiB) and the parameters of a header field (64).
 */
#ifndef MTASTS_IO_MIME_H
#define MTASTS_IO_MIME_H

#include <stddef.h>

struct mime_limits {
	size_t max_parts;
	size_t max_depth;
	size_t max_decoded;		/* octets of one decoded body */
};

/* A leaf part: its media type (lower case, no parameters) and decoded body. */
struct mime_part {
	char *media_type;		/* "application/tlsrpt+gzip"; "text/plain" when absent */
	char *file_name;		/* from Content-Disposition filename= or Content-Type name=, or NULL */
	unsigned char *body;		/* decoded (base64, quoted-printable, or as it was) */
	size_t body_len;
};

struct mime_message {
	char *report_type;		/* report-type= of a multipart/report, lower case, or NULL */
	char *from;			/* header field values, unfolded, or NULL */
	char *subject;
	char *message_id;
	struct mime_part *parts;	/* every leaf part, in order */
	size_t part_count;
};

/* Whether data looks like a mail message: a header block of "Name: value" lines. */
int mime_looks_like_message(const unsigned char *data, size_t len);

/*
 * Parse data/len into *ret_message.  Returns 0, or -1 with errno ENOMEM,
 * EFBIG (a limit) or EINVAL and a reason in why; *ret_message is then empty.
 */
int mime_parse(const unsigned char *data, size_t len, const struct mime_limits *limits,
	       struct mime_message *ret_message, char *why, size_t why_size);

void mime_message_clear(struct mime_message *message);

#endif
