/*
 * fuzz_smtp.c - fuzz target for SMTP reply reading (smtp_reply_read,
 * smtp_reply_line).  The input is what a server sends: replies one after
 * the other, read until one is refused or no complete line is left.
 */
#include "fuzz.h"
#include "smtp_reply.h"

#define REPLIES_MAX 64

/* What the replies read from the input were, to compare two readings. */
struct reading {
	size_t count;
	int rc[REPLIES_MAX];
	int code[REPLIES_MAX];
	unsigned lines[REPLIES_MAX];
	unsigned extensions[REPLIES_MAX];
	size_t used;		/* octets read in all */
	int last_rc;
};

/* What smtp_reply.h promises of a reply once read. */
static void check_reply(const struct smtp_reply *r, int rc)
{
	size_t first_len = strnlen(r->first, sizeof(r->first));

	if (first_len == sizeof(r->first) || r->lines > SMTP_REPLY_LINES_MAX ||
	    r->complete != (rc == 1) || r->refused != (rc < 0))
		abort();
	for (size_t i = 0; i < first_len; i++)
		if (r->first[i] < 0x20 || r->first[i] > 0x7e)
			abort();
	if (rc < 0 && strcmp(smtp_reply_error_text(rc), "unknown error") == 0)
		abort();
	if (r->lines == 0) {
		if (rc == 1 || first_len != 0 || r->extensions != 0)
			abort();
		return;
	}
	if (r->code < 200 || r->code > 599 || first_len < 3 ||
	    (r->first[0] - '0') * 100 + (r->first[1] - '0') * 10 +
	    (r->first[2] - '0') != r->code)
		abort();
	/* Every bit set is one of a known keyword. */
	for (unsigned bit = 1; bit != 0; bit <<= 1)
		if ((r->extensions & bit) != 0 && smtp_extension_name(bit) == NULL)
			abort();
	if (rc == 1 && r->lines == 1 && r->extensions != 0)
		abort();
}

/* Reads replies from data, given in pieces of at most `piece` octets. */
static void read_all(const uint8_t *data, size_t size, size_t piece, struct reading *out)
{
	const char *buf = (const char *)data;
	struct smtp_reply r;
	size_t pos = 0, avail, used;
	int rc;

	memset(out, 0, sizeof(*out));
	smtp_reply_init(&r);
	for (avail = piece < size ? piece : size;;) {
		rc = smtp_reply_read(&r, buf + pos, avail - pos, &used);
		if (used > avail - pos)
			abort();
		pos += used;
		check_reply(&r, rc);
		if (rc == 0 && avail < size) {
			avail = avail + piece < size ? avail + piece : size;
			continue;
		}
		if (rc != 0 && out->count < REPLIES_MAX) {
			out->rc[out->count] = rc;
			out->code[out->count] = r.code;
			out->lines[out->count] = r.lines;
			out->extensions[out->count] = r.extensions;
			out->count++;
		}
		if (rc != 1)
			break;
		smtp_reply_init(&r);
	}
	out->used = pos;
	out->last_rc = rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reading whole, pieces;
	size_t line_len = 0, line_used = 0;

	read_all(data, size, size, &whole);
	/* Left unread at the end: no complete line, and not too long for one. */
	if (whole.last_rc == 0 &&
	    smtp_reply_next_line((const char *)data + whole.used, size - whole.used,
				 &line_len, &line_used) != 0)
		abort();
	/* However the bytes arrive, the replies are the same. */
	read_all(data, size, size > 7 ? size / 7 : 1, &pieces);
	if (whole.count != pieces.count || whole.used != pieces.used ||
	    whole.last_rc != pieces.last_rc ||
	    memcmp(whole.rc, pieces.rc, whole.count * sizeof(whole.rc[0])) != 0 ||
	    memcmp(whole.code, pieces.code, whole.count * sizeof(whole.code[0])) != 0 ||
	    memcmp(whole.lines, pieces.lines, whole.count * sizeof(whole.lines[0])) != 0 ||
	    memcmp(whole.extensions, pieces.extensions,
		   whole.count * sizeof(whole.extensions[0])) != 0)
		abort();
	return 0;
}
