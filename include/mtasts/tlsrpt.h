/*
 * mtasts/tlsrpt.h - the TLSRPT TXT record at _smtp._tls.<domain> (RFC 8460 3).
 *
 * SYNOPSIS
 *	struct mtasts_tlsrpt_record *rec;
 *	rc = mtasts_tlsrpt_record_parse(records, count, &rec, &diags);
 *	for (size_t i = 0; i < rec->rua_count; i++)
 *		send_report_to(rec->rua[i]);
 *	rec = mtasts_tlsrpt_record_free(rec);
 *
 * DESCRIPTION
 *	Input as for mtasts_sts_record_parse(): every TXT record at the name,
 *	each the concatenation of its character-strings.  Records that do not
 *	begin with exactly "v=TLSRPTv1;" (the tag, case-sensitive, and the
 *	semicolon at once) are discarded before counting (RFC 8460 3), each
 *	with the warning MTASTS_TLSRPT_UNRELATED_RECORD, which says what is
 *	wrong with a near miss such as "v=TLSRPTv1 ;".  Not exactly one left
 *	means the domain does not take reports (MTASTS_ERR_NO_RECORD when
 *	none, MTASTS_ERR_INVALID when several).
 *
 *	The record must match the ABNF exactly.  "rua" holds one or more
 *	URIs separated by commas (white space allowed around them); each must
 *	be a URI (RFC 3986), with "," and "!" percent-encoded (RFC 8460 3).
 *	Only mailto: and https: destinations are usable; others draw a
 *	warning (MTASTS_TLSRPT_UNSUPPORTED_SCHEME) and are left out of rua[].
 *	A record with no usable destination is invalid.
 *
 *	A usable destination must also be one a sender can deliver to.  An
 *	https: URI needs "//" and a host.  The addresses of a mailto: URI
 *	(RFC 6068: before any "?", separated by %2C) are checked once
 *	percent-decoded, each an addr-spec of RFC 5322: a dot-atom or quoted
 *	local part, "@", and a domain with no empty label, no ":" (no port)
 *	and no address literal.  An invalid one makes the record invalid
 *	(MTASTS_TLSRPT_INVALID_URI), its column pointing at the problem.
 *
 *	An extension's value is one or more visible ASCII characters other
 *	than "=" and ";".
 */
#ifndef MTASTS_TLSRPT_H
#define MTASTS_TLSRPT_H

#include <stddef.h>

#include <mtasts/diag.h>
#include <mtasts/txt.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_TLSRPT_RUA_MAX 32

struct mtasts_tlsrpt_record {
	size_t record_index;
	size_t rua_count;
	char **rua;			/* usable destinations, in record order */
	size_t extension_count;
	struct mtasts_extension *extensions;
};

int mtasts_tlsrpt_record_parse(const struct mtasts_bytes *records, size_t count,
			       struct mtasts_tlsrpt_record **ret_record,
			       struct mtasts_diags *diags);

/* Accepts NULL; returns NULL. */
struct mtasts_tlsrpt_record *
mtasts_tlsrpt_record_free(struct mtasts_tlsrpt_record *record);

/*
 * Where an https: report destination (RFC 8460 3, "https://host[:port]/...")
 * is to be delivered: the host (a name in lower case without a final dot,
 * or an IP address as text, an IPv6 one without its brackets, and in
 * binary) and the port.
 */
#define MTASTS_RUA_HOST_MAX 253

enum mtasts_rua_host_kind {
	MTASTS_RUA_HOST_NAME,
	MTASTS_RUA_HOST_IPV4,
	MTASTS_RUA_HOST_IPV6,
};

struct mtasts_rua_endpoint {
	char host[MTASTS_RUA_HOST_MAX + 1];
	unsigned port;				/* 1 to 65535; 443 unless given */
	enum mtasts_rua_host_kind kind;
	unsigned char address[16];		/* an IP address in network order
						 * (IPv4: the first 4 octets) */
};

/*
 * Reads the endpoint of an https: URI.  The scheme is compared without
 * regard to case; a userinfo ("user@") is skipped; the path, query and
 * fragment are ignored.  A host name must be a host name in A-label form
 * (letters, digits, hyphens) whose last label is not all digits; an
 * IPv4 address is four decimal numbers; an IPv6 address is in brackets,
 * without a zone.  A port, when given, is 1 to 65535 ("host:" is 443).
 *
 * Returns MTASTS_OK, or MTASTS_ERR_INVALID with a sentence in why (when
 * not NULL) for anything else: another scheme, no host, a percent-encoded
 * or non-ASCII host, two "@", a bad port.  *ret_endpoint is untouched
 * on failure.
 */
int mtasts_rua_endpoint_parse(const char *uri, struct mtasts_rua_endpoint *ret_endpoint,
			      char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif
