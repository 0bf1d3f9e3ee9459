/*
 * imap_fetch.h - TLS reports mailed to an IMAP mailbox, fetched over TLS
 * with libcurl's IMAP, and what becomes of each message once it is taken.
 *
 * The messages not yet taken are searched for (UNSEEN, or all when asked),
 * fetched one at a time by UID (each bounded by max_message), handed to the
 * caller, and then, according to what the caller says: moved to another
 * mailbox, flagged \Seen (and the keyword $TLSRPT-stored), or left as they
 * were so that a later run tries again.  A message whose fetch fails is
 * left as it was too (marked unseen again, on a new connection if need be)
 * and the run ends with the error; when that cannot be done, the error names
 * the message's UID: it is then \Seen but not stored ("--all" finds it).
 */
#ifndef MTASTS_IO_IMAP_FETCH_H
#define MTASTS_IO_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_options {
	const char *url;		/* "imaps://host[:port]/MAILBOX" (imap:// only with starttls) */
	const char *user;
	const char *password;
	const char *ca_file;		/* trust store for the server's certificate, or NULL for the system's */
	bool all;			/* every message, not only UNSEEN */
	const char *move_to;		/* mailbox to move taken messages to, or NULL to flag them */
	unsigned timeout_ms;		/* connect and each command (default 30000) */
	size_t max_message;		/* octets of one message (default 32 MiB); larger ones are skipped and flagged */
	size_t max_messages;		/* per run (default 10,000) */
};

/* What the caller made of one message. */
enum imap_disposition {
	IMAP_TAKEN,			/* stored, duplicate or rejected for good: move or flag it */
	IMAP_LEAVE,			/* leave it for a later run, go on with the next */
	IMAP_STOP,			/* leave it and stop (the store is unavailable) */
};

typedef enum imap_disposition (*imap_message_fn)(void *ctx, uint32_t uid,
						 const unsigned char *message, size_t len);

struct imap_totals {
	size_t found;			/* messages the search returned */
	size_t fetched;
	size_t taken;			/* moved or flagged */
	size_t left;
	size_t too_large;
};

/*
 * Fetch and hand over every message.  Returns 0 when the mailbox was
 * read through (or the caller stopped), -1 with a reason (connection, login,
 * TLS, a command refused, a fetch cut short) in why; *ret_totals is filled either way.  On
 * 0, why holds a note of the messages skipped as too large, or "".
 */
int imap_fetch(const struct imap_options *options, imap_message_fn each, void *ctx,
	       struct imap_totals *ret_totals, char *why, size_t why_size);

#endif
