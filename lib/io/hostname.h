/*
 * hostname.h - host names as people write them, made into the A-label form
 * that DNS, certificates and MTA-STS policies use (RFC 5890, RFC 6125 6.4.2).
 *
 * SYNOPSIS
 *	char name[HOSTNAME_BUF], why[160];
 *
 *	if (hostname_normalize("MX.Bücher.Example.", name, sizeof(name),
 *			       why, sizeof(why)) != 0)
 *		die("%s", why);
 *	// name is "mx.xn--bcher-kva.example"
 *
 * DESCRIPTION
 *	hostname_normalize() drops one trailing dot and writes the name in
 *	lower case.  A name with a non-ASCII octet is taken as UTF-8 and its
 *	U-labels are converted to A-labels by IDNA2008 with the mapping of
 *	UTS #46, non-transitional (libidn2: idn2_lookup_u8() with
 *	IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL), so "Straße" becomes
 *	"xn--strae-oqa", not "strasse".  A name of ASCII only is not given to
 *	libidn2 and changes only in case: its xn-- labels are taken as they
 *	are, as a resolver would take them.
 *
 *	The result must be a host name (RFC 5321 4.1.2, as in mtasts/mx.h):
 *	letters, digits and hyphens, labels of 1 to 63 octets, at most 253
 *	in all.  "_mta-sts"-style labels are not host names and are refused.
 *	A wildcard "*." is not a host name either: callers that take
 *	patterns convert what follows it.
 *
 *	Returns 0, or -1 with a sentence in why (when not NULL) and out
 *	untouched.
 */
#ifndef MTASTS_HOSTNAME_H
#define MTASTS_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTNAME_MAX 253		/* octets of a host name, no final dot */
#define HOSTNAME_BUF (HOSTNAME_MAX + 1)
#define HOSTNAME_INPUT_MAX 1024		/* octets of input looked at */

int hostname_normalize(const char *in, char *out, size_t out_size,
		       char *why, size_t why_size);

/* mtasts_a_label_fn (mtasts/policy.h) over hostname_normalize(). */
bool hostname_a_label(void *arg, const char *name, char *out, size_t out_size);

/* True when name has no octet above 0x7f (so has no U-label). */
bool hostname_is_ascii(const char *name);

#endif
