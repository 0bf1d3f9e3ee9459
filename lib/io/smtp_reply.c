/*
 * smtp_reply.c - SMTP replies (RFC 5321 4.2) read from bytes, line by line,
 * with the EHLO keywords they announce.
 *
 * DESCRIPTION
 *	Pure: no sockets, no allocation, libc only, so that the probe feeds it
 *	what its socket delivered and a fuzz target feeds it anything.
 *
 *	A line is refused as soon as it cannot belong to a valid reply, and
 *	the reply with it: a server that breaks the framing once cannot be
 *	trusted to frame what follows.
 */
#include <string.h>
#include <strings.h>

#include "smtp_reply.h"

struct keyword {
	const char *name;
	size_t len;
	unsigned bit;
};

#define KEYWORD(name, bit) { name, sizeof(name) - 1, bit }

static const struct keyword keywords[] = {
	KEYWORD("STARTTLS", SMTP_EXT_STARTTLS),
	KEYWORD("SIZE", SMTP_EXT_SIZE),
	KEYWORD("PIPELINING", SMTP_EXT_PIPELINING),
	KEYWORD("8BITMIME", SMTP_EXT_8BITMIME),
	KEYWORD("SMTPUTF8", SMTP_EXT_SMTPUTF8),
	KEYWORD("REQUIRETLS", SMTP_EXT_REQUIRETLS),
	KEYWORD("CHUNKING", SMTP_EXT_CHUNKING),
	KEYWORD("BINARYMIME", SMTP_EXT_BINARYMIME),
	KEYWORD("DSN", SMTP_EXT_DSN),
	KEYWORD("ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES),
	KEYWORD("AUTH", SMTP_EXT_AUTH),
};

#define KEYWORD_COUNT (sizeof(keywords) / sizeof(keywords[0]))

void smtp_reply_init(struct smtp_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
}

/* Copies at most len octets of s, printable ASCII only (others as '?'). */
static void copy_printable(char *dst, size_t size, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < size; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The code of a line, or -1 when it does not begin with one. */
static int line_code(const char *line, size_t len)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) ||
	    !is_digit(line[2]))
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* The bit of the keyword that begins text, ended by its end or a space. */
static unsigned keyword_bit(const char *text, size_t len)
{
	const char *space = memchr(text, ' ', len);
	size_t word = space != NULL ? (size_t)(space - text) : len;

	for (size_t i = 0; i < KEYWORD_COUNT; i++)
		if (keywords[i].len == word &&
		    strncasecmp(text, keywords[i].name, word) == 0)
			return keywords[i].bit;
	return 0;
}

static int refuse(struct smtp_reply *reply, int error)
{
	reply->refused = true;
	return error;
}

int smtp_reply_line(struct smtp_reply *reply, const char *line, size_t len)
{
	char sep;
	int code;

	if (reply->refused)
		return SMTP_REPLY_REFUSED;
	if (reply->complete)
		return refuse(reply, SMTP_REPLY_COMPLETE);
	if (len > SMTP_REPLY_LINE_MAX)
		return refuse(reply, SMTP_REPLY_LINE_TOO_LONG);
	if ((code = line_code(line, len)) < 0)
		return refuse(reply, SMTP_REPLY_BAD_CODE);
	sep = len > 3 ? line[3] : ' ';
	if (sep != ' ' && sep != '-')
		return refuse(reply, SMTP_REPLY_BAD_SEPARATOR);
	if (reply->lines > 0 && code != reply->code)
		return refuse(reply, SMTP_REPLY_CODE_MISMATCH);
	/* The last line allowed must end the reply: fail now, not later. */
	if (sep == '-' && reply->lines + 1 >= SMTP_REPLY_LINES_MAX)
		return refuse(reply, SMTP_REPLY_TOO_MANY_LINES);
	reply->code = code;
	if (++reply->lines == 1)
		copy_printable(reply->first, sizeof(reply->first), line, len);
	else if (len > 4)
		reply->extensions |= keyword_bit(line + 4, len - 4);
	reply->complete = sep == ' ';
	return reply->complete ? 1 : 0;
}

int smtp_reply_next_line(const char *buf, size_t len, size_t *ret_line_len,
			 size_t *ret_used)
{
	/* The longest line allowed and its CRLF are all there is to look at. */
	size_t window = len < SMTP_REPLY_LINE_MAX + 2 ? len : SMTP_REPLY_LINE_MAX + 2;
	const char *lf = memchr(buf, '\n', window);
	size_t line_len;

	if (lf == NULL)
		return len >= SMTP_REPLY_LINE_MAX + 2 ? SMTP_REPLY_LINE_TOO_LONG : 0;
	line_len = (size_t)(lf - buf);
	if (line_len > 0 && buf[line_len - 1] == '\r')
		line_len--;
	if (line_len > SMTP_REPLY_LINE_MAX)
		return SMTP_REPLY_LINE_TOO_LONG;
	*ret_line_len = line_len;
	*ret_used = (size_t)(lf - buf) + 1;
	return 1;
}

int smtp_reply_read(struct smtp_reply *reply, const char *buf, size_t len,
		    size_t *used)
{
	size_t pos = 0, line_len, line_used;
	int rc;

	for (;;) {
		rc = smtp_reply_next_line(buf + pos, len - pos, &line_len, &line_used);
		if (rc <= 0) {
			if (rc < 0)
				refuse(reply, rc);
			break;
		}
		rc = smtp_reply_line(reply, buf + pos, line_len);
		pos += line_used;
		if (rc != 0)
			break;
	}
	*used = pos;
	return rc;
}

const char *smtp_reply_error_text(int error)
{
	switch (error) {
	case SMTP_REPLY_BAD_CODE:
		return "the line does not begin with a reply code from 200 to 599";
	case SMTP_REPLY_CODE_MISMATCH:
		return "a line of the reply has another code than the first";
	case SMTP_REPLY_BAD_SEPARATOR:
		return "the reply code is followed by neither a space nor a hyphen";
	case SMTP_REPLY_TOO_MANY_LINES:
		return "the reply is longer than 100 lines";
	case SMTP_REPLY_LINE_TOO_LONG:
		return "a reply line is longer than 512 octets";
	case SMTP_REPLY_COMPLETE:
		return "a line follows the last line of the reply";
	case SMTP_REPLY_REFUSED:
		return "a line follows a malformed line of the reply";
	default:
		return "unknown error";
	}
}

const char *smtp_extension_name(unsigned bit)
{
	for (size_t i = 0; i < KEYWORD_COUNT; i++)
		if (keywords[i].bit == bit)
			return keywords[i].name;
	return NULL;
}
