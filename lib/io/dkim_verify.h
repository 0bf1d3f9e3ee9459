/*
 * dkim_verify.h - the DKIM signatures (RFC 6376) of a mailed TLS report,
 * checked with libopendkim.
 *
 * RFC 8460 3 asks reporters to sign their mail; the verdict is stored with
 * each report and shown, and the program's policy may refuse unsigned or
 * failing reports.  Keys are looked up in the DNS through the servers given
 * (or resolv.conf's), each bounded by a timeout and all of them by another;
 * only the first 8 signatures of a message are examined.
 */
#ifndef MTASTS_IO_DKIM_VERIFY_H
#define MTASTS_IO_DKIM_VERIFY_H

#include <stddef.h>

enum dkim_verdict {
	DKIM_VERDICT_NONE = 0,		/* no signature */
	DKIM_VERDICT_PASS,		/* a signature verified */
	DKIM_VERDICT_FAIL,		/* signatures present, none verified (body or header changed, bad key) */
	DKIM_VERDICT_TEMPERROR,		/* the key could not be fetched now */
	DKIM_VERDICT_PERMERROR,		/* a signature or key that cannot be used */
};

struct dkim_options {
	const char *dns_servers;	/* "addr[,addr...]" or NULL for the system's */
	unsigned timeout_ms;		/* per key lookup (default 5000) */
	unsigned total_timeout_ms;	/* for all the lookups of a message (default twice timeout_ms) */
	const char *key_file;		/* for tests: "selector._domainkey.domain key-record" lines, no DNS */
};

struct dkim_outcome {
	enum dkim_verdict verdict;
	char domain[256];		/* d= of the signature judged, or "" */
	char selector[64];		/* s= of it, or "" */
	char reason[160];		/* why it failed, or "" */
};

/* "pass", "fail", "none", "temperror", "permerror". */
const char *dkim_verdict_name(enum dkim_verdict verdict);

/*
 * Verify message/len (the whole message as received, CRLF or LF).
 * Returns 0 with *ret_outcome filled (whatever the verdict), or -1 when
 * libopendkim could not be set up (errno set, reason in why).
 */
int dkim_verify_message(const unsigned char *message, size_t len, const struct dkim_options *options,
			struct dkim_outcome *ret_outcome, char *why, size_t why_size);

#endif
