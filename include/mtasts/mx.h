/*
 * mtasts/mx.h - MX host names and policy patterns (RFC 8461 4.1).
 *
 * DESCRIPTION
 *	A pattern is a host name, or "*." followed by a host name, in
 *	A-label form: labels of letters, digits and hyphens (not first or
 *	last), 1-63 octets each, the name at most 253 octets, no trailing
 *	dot.
 *
 *	mtasts_mx_matches() compares without regard to case.  A "*." pattern
 *	matches exactly one leftmost label: "*.example.com" matches
 *	"mx.example.com" but neither "example.com" nor "a.b.example.com".
 *	One trailing dot on the host is ignored.  An invalid pattern or host
 *	never matches.
 *
 *	mtasts_mx_pattern_check() and mtasts_mx_host_check() say why a name
 *	is invalid: on failure they write a sentence to why (when not NULL)
 *	and the 0-based offset of the offending octet to ret_offset.
 */
#ifndef MTASTS_MX_H
#define MTASTS_MX_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_HOST_NAME_MAX 253
#define MTASTS_LABEL_MAX 63

bool mtasts_mx_matches(const char *pattern, const char *host);

bool mtasts_mx_pattern_check(const char *pattern, size_t len,
			     size_t *ret_offset, char *why, size_t why_size);

/* A host name as found in an MX record: one trailing dot allowed. */
bool mtasts_mx_host_check(const char *host, size_t len,
			  size_t *ret_offset, char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif
