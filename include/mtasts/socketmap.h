/*
 * mtasts/socketmap.h - the Postfix socketmap protocol as an MTA-STS policy
 * server speaks it: netstrings, requests, next-hop keys and the TLS policy
 * replies smtp_tls_policy_maps reads.
 *
 * SYNOPSIS
 *	struct mtasts_netstring_reader reader;
 *	char buf[MTASTS_SOCKETMAP_REQUEST_MAX + 1];
 *	mtasts_netstring_reader_init(&reader, buf, sizeof(buf));
 *	rc = mtasts_netstring_read(&reader, bytes, n, &used, &payload);
 *
 *	rc = mtasts_socketmap_request_parse(payload.data, payload.len,
 *	    &request, why, sizeof(why));
 *	kind = mtasts_socketmap_key_classify(request.key.data,
 *	    request.key.len, domain, sizeof(domain), why, sizeof(why));
 *
 *	rc = mtasts_socketmap_reply_policy(policy, domain, &options,
 *	    reply, sizeof(reply), &reply_len);
 *	rc = mtasts_netstring_write(reply, reply_len, out, sizeof(out),
 *	    &out_len);
 *
 * DESCRIPTION
 *	Postfix (src/util/dict_sockmap.c) sends one request and reads one
 *	reply, each a netstring "LEN:DATA," (D. J. Bernstein).  The request
 *	is "NAME KEY": NAME is what follows the last ":" of the table
 *	"socketmap:unix:/path:NAME", KEY the next-hop destination.  The reply
 *	is "OK data", "NOTFOUND ", or "TEMP reason", "TIMEOUT reason",
 *	"PERM reason": Postfix splits it at the first space and compares the
 *	word before it case-sensitively.  Postfix refuses replies over
 *	100,000 octets (socketmap_max_reply_size, Postfix 3.10) and sends no
 *	key over 10,000 octets (socketmap_max_query_size, 3.12).  An "OK"
 *	with empty data is a table configuration error (global/maps.c,
 *	maps_find()), so a reply without a policy is "NOTFOUND ".
 *
 *	Netstrings.  mtasts_netstring_read() takes bytes as they arrive, in
 *	chunks of any size, and returns MTASTS_NETSTRING_DONE when one whole
 *	netstring is in, with *ret_used the octets of this chunk it took (the
 *	rest belong to the next netstring: call again with them) and
 *	*ret_payload its data, in the caller's buffer and NUL-terminated;
 *	MTASTS_NETSTRING_MORE when all of the chunk is taken and more is
 *	needed.  The length is read strictly as djb wrote it: digits only, no
 *	leading zero ("0:," is the empty string, "01:" is refused), and no
 *	more than the buffer holds, refused as soon as its digits say so.
 *	Postfix (util/netstring.c) writes lengths with "%ld", so it never
 *	sends a leading zero, although its own reader would take one.  An
 *	error is final: the reader keeps returning it, and the connection
 *	is to be closed; *ret_used is then the offset of the offending octet
 *	in this chunk.  mtasts_netstring_status_message() says what went
 *	wrong in a sentence.
 *
 *	mtasts_netstring_write() writes data as one netstring into out,
 *	NUL-terminated, or returns MTASTS_ERR_TOO_LARGE when it would not fit
 *	in out_size.
 *
 *	Requests.  mtasts_socketmap_request_parse() splits a request payload
 *	at its first space.  The name is 1 to MTASTS_SOCKETMAP_NAME_MAX
 *	visible ASCII octets other than ":" (Postfix takes the name after
 *	the last ":", and its configuration lists end a name at white space
 *	or ","); the key is 1 to MTASTS_SOCKETMAP_QUERY_MAX octets, neither
 *	beginning with a space (one space separates) nor holding a NUL.
 *	name and key point into the payload.
 *
 *	Keys.  smtp_tls_policy_maps is asked for the next hop as written in
 *	the transport (src/smtp/smtp_tls_policy.c, tls_policy_lookup()): a
 *	domain, "domain:port", "[host]", "[host]:port", "[address]", and,
 *	after a NOTFOUND for a valid host name, each parent domain with a
 *	leading dot (".example.com", then ".com").  The key arrives in any
 *	case (a socketmap is a pattern table, so Postfix folds nothing) and,
 *	with SMTPUTF8, possibly in UTF-8.  mtasts_socketmap_key_classify()
 *	says what the key is:
 *	  MTASTS_SOCKETMAP_KEY_DOMAIN: a domain whose MTA-STS policy applies;
 *	    out holds it in lower case without a final dot (and without the
 *	    ":port" or ":service" of "domain:port").  xn-- labels are kept as
 *	    written.  It fits in MTASTS_HOST_NAME_MAX + 1 octets.
 *	  MTASTS_SOCKETMAP_KEY_NEEDS_IDNA: the same, but with octets beyond
 *	    ASCII; out holds the name (no port, no final dot) as sent, for
 *	    the caller to convert to A-labels (IDNA2008, libidn2) and
 *	    classify again.  It needs at most len + 1 octets of out.
 *	  MTASTS_SOCKETMAP_KEY_NOT_APPLICABLE: a next hop MTA-STS does not
 *	    govern: a name or address in brackets (no MX lookup), an IPv4 or
 *	    IPv6 address, a parent-domain key; answered "NOTFOUND ".
 *	  MTASTS_SOCKETMAP_KEY_INVALID: none of these (a bad host name, a
 *	    bad port, an all-digit last label, controls or white space).
 *	For the last two, why (when not NULL) gets a sentence and out is
 *	left alone.
 *
 *	Replies.  mtasts_socketmap_reply_policy() writes the reply for a
 *	domain's policy, NUL-terminated, and returns its length (without the
 *	NUL) in *ret_len.  A policy in mode enforce, or testing when
 *	options->strict_testing is set, gives
 *	    OK secure match=P1:P2... [servername=hostname]
 *	       [policy_type=sts policy_domain=D [policy_ttl=N]
 *	        { policy_string = LINE }... mx_host_pattern=PATTERN...]
 *	any other policy "NOTFOUND ": an "OK" would override the security
 *	level Postfix has for the destination anyway (smtp_tls_security_level).
 *	Except, with options->tlsrpt and options->testing_level, a policy in
 *	mode testing:
 *	    OK LEVEL policy_type=sts policy_domain=D { policy_string = LINE }...
 *	       mx_host_pattern=PATTERN...
 *	which Postfix 3.10 reports on (TLSRPT policy type sts) and, without
 *	match=, does not enforce.
 *	match= lists every mx pattern, "*.example.net" written ".example.net".
 *	With options->tlsrpt, the policy_type, policy_domain, policy_string
 *	(the policy's lines in canonical order: version, mode, each mx,
 *	max_age, extensions; one whose braces would not nest is left out)
 *	and mx_host_pattern attributes are added, for Postfix 3.10 and later;
 *	options->mx_host_pattern adds policy_type, policy_domain and
 *	mx_host_pattern alone.  Postfix 3.9 and earlier refuse both ("invalid
 *	attribute name") and defer the mail.  options->policy_ttl adds
 *	policy_ttl=max_age (an attribute Postfix now calls deprecated).
 *
 *	mtasts_socketmap_reply_failure() writes the reply for a domain whose
 *	policy could not be had, by the zone's choice: fail open ("NOTFOUND
 *	"), or fail closed: "TEMP reason" (Postfix defers with "4.7.5 client
 *	TLS configuration problem"), or, with options->tlsrpt,
 *	    OK secure [servername=hostname] policy_type=sts policy_domain=D
 *	       policy_failure=FAILURE
 *	so that Postfix connects, reports FAILURE to TLSRPT, and fails the
 *	TLS handshake as if the certificate had not verified (defer).
 *
 *	mtasts_socketmap_reply_error() writes "NOTFOUND " (reason ignored),
 *	"TEMP reason", "TIMEOUT reason" or "PERM reason" (PERM is a table
 *	configuration error in Postfix).  The reason is cleaned: each octet
 *	outside printable ASCII becomes "?", and it is cut to
 *	MTASTS_SOCKETMAP_REASON_MAX octets (Postfix logs 200 of it).
 *
 *	Each reply function refuses (MTASTS_ERR_TOO_LARGE) a reply longer
 *	than options->reply_max (MTASTS_SOCKETMAP_REPLY_MAX when 0) or than
 *	out holds; out is then left holding an empty string.
 *
 * POSTFIX MATCHING
 *	What "match=" means (src/tls/tls_client.c, add_namechecks()): each
 *	value is a name the server certificate must carry, given to OpenSSL
 *	(X509_VERIFY_PARAM_add1_host, partial wildcards off).  A value with a
 *	leading dot matches a certificate name in any subdomain, at any
 *	depth: ".example.com" accepts "a.example.com" and "a.b.example.com".
 *	"*.example.com" is no wildcard there, only a name no certificate
 *	matches.  "hostname" and "nexthop" stand for the MX host and the next
 *	hop.  match= constrains the certificate, not the MX host name.
 *
 *	Since Postfix 3.10, with smtp_tls_enforce_sts_mx_patterns = yes (the
 *	default), a reply with policy_type=sts, at least one mx_host_pattern
 *	and a match= replaces the match list with "hostname" and accepts an
 *	MX host only when its name equals a pattern (without regard to case)
 *	or the pattern is "*." and the part after the host's first dot
 *	(src/smtp/smtp_tls_policy.c, tls_policy_lookup_one() and
 *	match_sts_mx_host_pattern()).  That is RFC 8461 4.1: for
 *	"*.example.com", "a.example.com" yes, "a.b.example.com" and
 *	"example.com" no.  It needs match= present, which is why match= is
 *	always sent.  Without mx_host_pattern (Postfix 3.9, or the parameter
 *	off) no reply can say "one label": the ".example.com" form is the
 *	nearest, and accepts deeper names too.
 *
 *	Attribute syntax (tls_policy_lookup_one()): tokens are separated by
 *	spaces, tabs, CR, LF or commas outside braces; "{ name = value }"
 *	keeps white space in the value (trimmed at both ends, controls made
 *	spaces), so every policy_string is sent in braces.  Names are
 *	case-insensitive; policy_type is "sts" or "no-policy-found";
 *	policy_failure one of "sts-policy-fetch-error", "sts-policy-invalid",
 *	"sts-webpki-invalid", "validation-failure"; policy_domain must pass
 *	valid_hostname(); policy_ttl must be all digits.  These attributes
 *	without policy_type=sts make the policy invalid.
 */
#ifndef MTASTS_SOCKETMAP_H
#define MTASTS_SOCKETMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <mtasts/diag.h>
#include <mtasts/policy.h>
#include <mtasts/txt.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_SOCKETMAP_QUERY_MAX 10000	/* a key, Postfix's default */
#define MTASTS_SOCKETMAP_NAME_MAX 255
/* A request payload: name, space, key. */
#define MTASTS_SOCKETMAP_REQUEST_MAX \
	(MTASTS_SOCKETMAP_NAME_MAX + 1 + MTASTS_SOCKETMAP_QUERY_MAX)
#define MTASTS_SOCKETMAP_REPLY_MAX 100000	/* a reply, Postfix's default */
#define MTASTS_SOCKETMAP_REASON_MAX 200
/* The most a netstring adds to its data: 20 digits, ":" and ",". */
#define MTASTS_NETSTRING_OVERHEAD 22

enum mtasts_netstring_status {
	MTASTS_NETSTRING_DONE = 0,
	MTASTS_NETSTRING_MORE = 1,
	MTASTS_NETSTRING_NOT_DIGIT = -1,	/* the length is not digits */
	MTASTS_NETSTRING_LEADING_ZERO = -2,
	MTASTS_NETSTRING_NO_COLON = -3,		/* digits, then not ":" */
	MTASTS_NETSTRING_TOO_LONG = -4,		/* over the reader's maximum */
	MTASTS_NETSTRING_NO_COMMA = -5,		/* the data is not followed by "," */
	MTASTS_NETSTRING_ARGUMENT = -6,		/* NULL pointers */
};

/* Its members are the reader's own. */
struct mtasts_netstring_reader {
	char *buf;
	size_t max;		/* buf holds max octets and a NUL */
	size_t len;		/* the length read so far */
	size_t got;		/* data octets in buf */
	unsigned digits;
	int state;
	int error;
};

/* buf_size >= 1; the reader takes netstrings of at most buf_size - 1 octets. */
void mtasts_netstring_reader_init(struct mtasts_netstring_reader *reader,
				  char *buf, size_t buf_size);

int mtasts_netstring_read(struct mtasts_netstring_reader *reader,
			  const char *data, size_t len, size_t *ret_used,
			  struct mtasts_bytes *ret_payload);

/* A sentence for each status; "unknown netstring status" otherwise. */
const char *mtasts_netstring_status_message(int status);

int mtasts_netstring_write(const char *data, size_t len, char *out,
			   size_t out_size, size_t *ret_len);

struct mtasts_socketmap_request {
	struct mtasts_bytes name;
	struct mtasts_bytes key;
};

int mtasts_socketmap_request_parse(const char *payload, size_t len,
				   struct mtasts_socketmap_request *ret_request,
				   char *why, size_t why_size);

enum mtasts_socketmap_key_kind {
	MTASTS_SOCKETMAP_KEY_DOMAIN,
	MTASTS_SOCKETMAP_KEY_NEEDS_IDNA,
	MTASTS_SOCKETMAP_KEY_NOT_APPLICABLE,
	MTASTS_SOCKETMAP_KEY_INVALID,
};

enum mtasts_socketmap_key_kind
mtasts_socketmap_key_classify(const char *key, size_t len, char *out,
			      size_t out_size, char *why, size_t why_size);

/* What Postfix does when a domain's policy cannot be had. */
enum mtasts_socketmap_failure {
	MTASTS_SOCKETMAP_FETCH_ERROR,		/* sts-policy-fetch-error */
	MTASTS_SOCKETMAP_POLICY_INVALID,	/* sts-policy-invalid */
	MTASTS_SOCKETMAP_WEBPKI_INVALID,	/* sts-webpki-invalid */
	MTASTS_SOCKETMAP_VALIDATION_FAILURE,	/* validation-failure */
};

enum mtasts_socketmap_reply_kind {
	MTASTS_SOCKETMAP_OK,
	MTASTS_SOCKETMAP_NOTFOUND,
	MTASTS_SOCKETMAP_TEMP,
	MTASTS_SOCKETMAP_TIMEOUT,
	MTASTS_SOCKETMAP_PERM,
};

/* The settings of a zone (a socketmap name); all false is a safe default. */
struct mtasts_socketmap_options {
	bool strict_testing;	/* enforce a policy in mode testing */
	bool servername;	/* servername=hostname: SNI is the MX host */
	bool tlsrpt;		/* TLSRPT attributes (Postfix 3.10+) */
	bool mx_host_pattern;	/* RFC 8461 MX matching (Postfix 3.10+) */
	bool policy_ttl;	/* policy_ttl=max_age, with tlsrpt or mx_host_pattern */
	bool fail_closed;	/* no policy: defer rather than send in the clear */
	/*
	 * With tlsrpt, a policy in mode testing (not strict_testing) is sent
	 * at this level ("may", "encrypt", "dane"), without match=, so that
	 * Postfix reports on it (RFC 8460) without enforcing it; NULL:
	 * "NOTFOUND ".
	 */
	const char *testing_level;
	size_t reply_max;	/* 0: MTASTS_SOCKETMAP_REPLY_MAX */
};

/*
 * domain: the policy domain, a host name in lower-case A-labels without a
 * final dot (what mtasts_socketmap_key_classify() gives).  options may be
 * NULL for the defaults.  MTASTS_ERR_ARGUMENT for a bad domain or NULL
 * pointers, MTASTS_ERR_INVALID for a policy struct that would not parse
 * back (an invalid pattern, no mx in enforce), MTASTS_ERR_TOO_LARGE.
 */
int mtasts_socketmap_reply_policy(const struct mtasts_policy *policy,
				  const char *domain,
				  const struct mtasts_socketmap_options *options,
				  char *out, size_t out_size, size_t *ret_len);

/* reason (may be NULL) goes with "TEMP"; the rest as for _reply_policy(). */
int mtasts_socketmap_reply_failure(enum mtasts_socketmap_failure failure,
				   const char *domain, const char *reason,
				   const struct mtasts_socketmap_options *options,
				   char *out, size_t out_size, size_t *ret_len);

/* kind is not MTASTS_SOCKETMAP_OK; reason may be NULL. */
int mtasts_socketmap_reply_error(enum mtasts_socketmap_reply_kind kind,
				 const char *reason, char *out, size_t out_size,
				 size_t *ret_len);

/* "sts-policy-fetch-error" and so on; NULL for an out-of-range value. */
const char *mtasts_socketmap_failure_name(enum mtasts_socketmap_failure failure);

#ifdef __cplusplus
}
#endif

#endif
