/*
 * smtp_reply.h - SMTP replies (RFC 5321 4.2) read from bytes: the code, the
 * first line for people, and the EHLO keywords a server announces.
 *
 * SYNOPSIS
 *	struct smtp_reply reply;
 *	size_t used;
 *	int rc;
 *
 *	smtp_reply_init(&reply);
 *	rc = smtp_reply_read(&reply, buf, len, &used);
 *	drain(used);
 *	if (rc == 1 && reply.code == 250 &&
 *	    (reply.extensions & SMTP_EXT_STARTTLS))
 *		send("STARTTLS\r\n");
 *	else if (rc < 0)
 *		fail(smtp_reply_error_text(rc));
 *
 * DESCRIPTION
 *	A reply is one or more lines "CODE-text" ending with one "CODE text"
 *	(or the bare "CODE"), each ended by CRLF, all with the same code.
 *	smtp_reply_line() adds one line (without its CRLF) to the reply;
 *	smtp_reply_read() splits a buffer into lines and adds them until
 *	the reply is complete, so that a reader only has to pass what has
 *	arrived.  Neither does any I/O.
 *
 *	The code must be three digits, the first 2 to 5 (RFC 5321 4.2.1), the
 *	second 0 to 9: codes outside that are not SMTP.
 *
 *	The lines after the first of a reply are taken as EHLO keywords
 *	(RFC 5321 4.1.1.1): the first word of the text, compared without
 *	regard to case and followed by the end of the line or a space.  Those
 *	this module knows set a bit in `extensions`; the others are ignored.
 *	The first line is a greeting, never a keyword.  A caller that did not
 *	send EHLO ignores `extensions`.
 *
 *	A complete reply takes no more lines: smtp_reply_init() it again.  A
 *	reply that was refused (a negative return) stays refused.
 *
 * LIMITS
 *	Lines of at most SMTP_REPLY_LINE_MAX octets without their CRLF (the
 *	512 of RFC 5321 4.5.3.1.5, read leniently: it counts the CRLF), and
 *	at most SMTP_REPLY_LINES_MAX lines in one reply.
 */
#ifndef MTASTS_SMTP_REPLY_H
#define MTASTS_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_REPLY_LINE_MAX 512		/* octets of one line, without CRLF */
#define SMTP_REPLY_LINES_MAX 100	/* lines of one reply */
#define SMTP_REPLY_TEXT_MAX 256		/* the first line kept, with its NUL */

/* The EHLO keywords known here, as bits of struct smtp_reply.extensions. */
enum smtp_extension {
	SMTP_EXT_STARTTLS = 1u << 0,		/* RFC 3207 */
	SMTP_EXT_SIZE = 1u << 1,		/* RFC 1870 */
	SMTP_EXT_PIPELINING = 1u << 2,		/* RFC 2920 */
	SMTP_EXT_8BITMIME = 1u << 3,		/* RFC 6152 */
	SMTP_EXT_SMTPUTF8 = 1u << 4,		/* RFC 6531 */
	SMTP_EXT_REQUIRETLS = 1u << 5,		/* RFC 8689 */
	SMTP_EXT_CHUNKING = 1u << 6,		/* RFC 3030 */
	SMTP_EXT_BINARYMIME = 1u << 7,		/* RFC 3030 */
	SMTP_EXT_DSN = 1u << 8,			/* RFC 3461 */
	SMTP_EXT_ENHANCEDSTATUSCODES = 1u << 9,	/* RFC 2034 */
	SMTP_EXT_AUTH = 1u << 10,		/* RFC 4954 */
};

/* Why a line or a reply was refused: the negative returns below. */
enum smtp_reply_error {
	SMTP_REPLY_BAD_CODE = -1,	/* not three digits, 2xx to 5xx */
	SMTP_REPLY_CODE_MISMATCH = -2,	/* a line with another code than the first */
	SMTP_REPLY_BAD_SEPARATOR = -3,	/* neither "-", " " nor the end after the code */
	SMTP_REPLY_TOO_MANY_LINES = -4,	/* more than SMTP_REPLY_LINES_MAX lines */
	SMTP_REPLY_LINE_TOO_LONG = -5,	/* more than SMTP_REPLY_LINE_MAX octets */
	SMTP_REPLY_COMPLETE = -6,	/* a line added to a complete reply */
	SMTP_REPLY_REFUSED = -7,	/* a line added to a refused reply */
};

struct smtp_reply {
	int code;			/* 200 to 599, once a line was added */
	unsigned lines;			/* lines added so far */
	bool complete;			/* the last line was added */
	bool refused;			/* a line was refused */
	unsigned extensions;		/* enum smtp_extension bits */
	char first[SMTP_REPLY_TEXT_MAX];	/* the first line, code included;
					 * octets outside 0x20-0x7e as '?' */
};

void smtp_reply_init(struct smtp_reply *reply);

/*
 * Adds one line, len octets without its CRLF (NUL octets allowed).
 * Returns 1 when the line ends the reply, 0 when more lines follow, or a
 * negative enum smtp_reply_error; the reply is then refused.
 */
int smtp_reply_line(struct smtp_reply *reply, const char *line, size_t len);

/*
 * The first line of buf (len octets): 1 with its length without the line
 * end in *ret_line_len and with it in *ret_used; 0 when buf holds no line
 * end yet but may once more arrives; SMTP_REPLY_LINE_TOO_LONG when the
 * line is already too long to be one.  A line ends at LF, with or without
 * a CR before it: RFC 5321 wants CRLF, but Postfix and other senders
 * accept a bare LF, so a probe that refused it would judge a server they
 * can use unusable.  On 0 or an error the ret_ parameters are untouched.
 */
int smtp_reply_next_line(const char *buf, size_t len, size_t *ret_line_len,
			 size_t *ret_used);

/*
 * Adds the lines of buf until the reply is complete (1), buf holds no
 * complete line more (0), or a line is refused (negative).  Unlike a ret_
 * parameter, *used is set on every return: the octets of buf read, that
 * is every line added (or refused) with its line end.  On 0 the caller
 * drops them and calls again once more has arrived; on 1 what follows
 * them is the next reply (or, after a 220 to STARTTLS, bytes that must not
 * be trusted).
 */
int smtp_reply_read(struct smtp_reply *reply, const char *buf, size_t len,
		    size_t *used);

/* A sentence for an enum smtp_reply_error; "unknown error" for others. */
const char *smtp_reply_error_text(int error);

/* The keyword of an enum smtp_extension bit ("STARTTLS"), or NULL. */
const char *smtp_extension_name(unsigned bit);

#endif
