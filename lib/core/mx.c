/*
 * mx.c - MX host names and policy patterns, and matching one against the
 * other (RFC 8461 4.1).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mtasts/mx.h>

#include "core.h"

static bool fail(size_t *ret_offset, size_t offset, char *why, size_t why_size,
		 const char *message)
{
	if (ret_offset != NULL)
		*ret_offset = offset;
	if (why != NULL && why_size > 0)
		snprintf(why, why_size, "%s", message);
	return false;
}

/*
 * Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 4.1.2), with the label and name lengths of RFC 1035.
 */
static bool domain_check(const char *name, size_t len, size_t base,
			 size_t *ret_offset, char *why, size_t why_size)
{
	size_t label_start = 0;

	if (len == 0)
		return fail(ret_offset, base, why, why_size, "the name is empty");
	if (len > MTASTS_HOST_NAME_MAX)
		return fail(ret_offset, base + MTASTS_HOST_NAME_MAX, why, why_size,
			    "the name is longer than 253 octets");
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';

		if (c == '.') {
			size_t label_len = i - label_start;

			/* The offending octet: the dot after the empty
			 * label, or the final dot of the name. */
			if (label_len == 0 && i == len)
				return fail(ret_offset, base + i - 1, why, why_size,
					    "the name ends with a dot");
			if (label_len == 0)
				return fail(ret_offset, base + i, why, why_size,
					    "the name has an empty label");
			if (label_len > MTASTS_LABEL_MAX)
				return fail(ret_offset, base + label_start + MTASTS_LABEL_MAX,
					    why, why_size,
					    "a label is longer than 63 octets");
			if (name[i - 1] == '-')
				return fail(ret_offset, base + i - 1, why, why_size,
					    "a label ends with a hyphen");
			label_start = i + 1;
			continue;
		}
		if (c >= 0x80)
			return fail(ret_offset, base + i, why, why_size,
				    "the name has a non-ASCII octet; write "
				    "internationalized labels in A-label (xn--) form");
		if (c == '-' && i == label_start)
			return fail(ret_offset, base + i, why, why_size,
				    "a label starts with a hyphen");
		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return fail(ret_offset, base + i, why, why_size,
				    c == '*' ? "\"*\" is allowed only as the whole "
				    "leftmost label, written \"*.\"" :
				    "the name has a character other than a letter, "
				    "digit, hyphen or dot");
	}
	return true;
}

bool mtasts_mx_pattern_check(const char *pattern, size_t len,
			     size_t *ret_offset, char *why, size_t why_size)
{
	if (pattern == NULL)
		return fail(ret_offset, 0, why, why_size, "the pattern is missing");
	if (len >= 2 && pattern[0] == '*' && pattern[1] == '.')
		return domain_check(pattern + 2, len - 2, 2, ret_offset, why, why_size);
	return domain_check(pattern, len, 0, ret_offset, why, why_size);
}

bool mtasts_mx_host_check(const char *host, size_t len,
			  size_t *ret_offset, char *why, size_t why_size)
{
	if (host == NULL)
		return fail(ret_offset, 0, why, why_size, "the host name is missing");
	if (len > 1 && host[len - 1] == '.')
		len--;
	return domain_check(host, len, 0, ret_offset, why, why_size);
}

bool mtasts_mx_matches(const char *pattern, const char *host)
{
	size_t pattern_len, host_len;

	if (pattern == NULL || host == NULL)
		return false;
	pattern_len = strlen(pattern);
	host_len = strlen(host);
	if (!mtasts_mx_pattern_check(pattern, pattern_len, NULL, NULL, 0) ||
	    !mtasts_mx_host_check(host, host_len, NULL, NULL, 0))
		return false;
	if (host[host_len - 1] == '.')
		host_len--;

	if (pattern[0] != '*')
		return host_len == pattern_len &&
		       strncasecmp(host, pattern, host_len) == 0;

	/* "*.example.com": one label, then ".example.com" exactly. */
	const char *suffix = pattern + 1;
	size_t suffix_len = pattern_len - 1;

	if (host_len <= suffix_len)
		return false;
	size_t label_len = host_len - suffix_len;
	if (memchr(host, '.', label_len) != NULL)
		return false;
	return strncasecmp(host + label_len, suffix, suffix_len) == 0;
}
