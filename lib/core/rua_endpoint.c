/*
 * rua_endpoint.c - the host and port an https: TLSRPT report destination
 * (RFC 8460 3) is delivered to, read from its URI (RFC 3986 3.2).
 *
 * DESCRIPTION
 *	The URI comes from a DNS record anyone can publish, and what is read
 *	here is where a report sender connects to and the name its TLS
 *	certificate must match.  So whatever could be read two ways is
 *	refused rather than guessed at: two "@" (is the host before or after
 *	the second?), a percent-encoded host (decoded or not?), a name whose
 *	last label is all digits (a resolver may take "10.1" for an address),
 *	a host or port octet a URI does not allow.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mtasts/mx.h>
#include <mtasts/tlsrpt.h>

#include "core.h"

#define HTTPS_PREFIX "https://"
#define HTTPS_DEFAULT_PORT 443
/* The longest IPv6 address in text, "ffff:...:255.255.255.255", and more. */
#define IP_TEXT_MAX 64

static int fail(char *why, size_t why_size, const char *message)
{
	if (why != NULL && why_size > 0)
		snprintf(why, why_size, "%s", message);
	return MTASTS_ERR_INVALID;
}

/* ASCII only: the locale must not decide what a host name is. */
/* userinfo = *( unreserved / pct-encoded / sub-delims / ":" ) */
static bool userinfo_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= len || !is_hex((unsigned char)s[i + 1]) ||
			    !is_hex((unsigned char)s[i + 2]))
				return false;
			i += 2;
		} else if (!is_alpha(c) && !is_digit(c) &&
			   strchr("-._~!$&'()*+,;=:", c) == NULL) {
			return false;
		}
	}
	return true;
}

/* ":" port, where port may be empty (the default, RFC 3986 6.2.3). */
static int read_port(const char *s, const char *end, unsigned *ret_port,
		     char *why, size_t why_size)
{
	unsigned port = 0;

	if (s == end) {
		*ret_port = HTTPS_DEFAULT_PORT;
		return MTASTS_OK;
	}
	if (*s != ':')
		return fail(why, why_size, "the host is followed by something other "
			    "than a port");
	if (++s == end) {
		*ret_port = HTTPS_DEFAULT_PORT;
		return MTASTS_OK;
	}
	for (; s < end; s++) {
		if (!is_digit((unsigned char)*s))
			return fail(why, why_size, "the port is not a decimal number");
		port = port * 10 + (unsigned)(*s - '0');
		if (port > 65535)
			return fail(why, why_size, "the port is greater than 65535");
	}
	if (port == 0)
		return fail(why, why_size, "the port is 0");
	*ret_port = port;
	return MTASTS_OK;
}

/* "[" IPv6address "]"; s is past the "[", end at the end of the authority. */
static int read_ipv6(const char *s, const char *end, struct mtasts_rua_endpoint *e,
		     const char **ret_after, char *why, size_t why_size)
{
	const char *close = memchr(s, ']', (size_t)(end - s));
	char text[IP_TEXT_MAX];
	size_t len;

	if (close == NULL)
		return fail(why, why_size, "the IPv6 address has no closing \"]\"");
	len = (size_t)(close - s);
	if (len == 0 || len >= sizeof(text))
		return fail(why, why_size, "the host in brackets is not an IPv6 address");
	for (size_t i = 0; i < len; i++)
		text[i] = (char)to_lower((unsigned char)s[i]);
	text[len] = '\0';
	if (inet_pton(AF_INET6, text, e->address) != 1)
		return fail(why, why_size, memchr(text, '%', len) != NULL ?
			    "an IPv6 address with a zone cannot be a report "
			    "destination" : "the host in brackets is not an IPv6 address");
	memcpy(e->host, text, len + 1);
	e->kind = MTASTS_RUA_HOST_IPV6;
	*ret_after = close + 1;
	return MTASTS_OK;
}

/* reg-name or IPv4address, up to ":" or the end of the authority. */
static int read_host(const char *s, const char *end, struct mtasts_rua_endpoint *e,
		     const char **ret_after, char *why, size_t why_size)
{
	const char *colon = memchr(s, ':', (size_t)(end - s));
	size_t len = (size_t)((colon != NULL ? colon : end) - s), offset;
	const char *after;
	char name[MTASTS_RUA_HOST_MAX + 2], sentence[128];

	if (len == 0)
		return fail(why, why_size, "the URI has no host");
	if (memchr(s, '%', len) != NULL)
		return fail(why, why_size, "the host is percent-encoded");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return fail(why, why_size, "the host has a non-ASCII octet; "
				    "internationalized names must be in A-label "
				    "(xn--) form");
	if (len > MTASTS_RUA_HOST_MAX + 1)
		return fail(why, why_size, "the host is longer than 253 octets");
	for (size_t i = 0; i < len; i++)
		name[i] = (char)to_lower((unsigned char)s[i]);
	name[len] = '\0';
	after = s + len;
	if (inet_pton(AF_INET, name, e->address) == 1) {
		e->kind = MTASTS_RUA_HOST_IPV4;
	} else {
		if (!mtasts_mx_host_check(name, len, &offset, sentence, sizeof(sentence))) {
			if (why != NULL && why_size > 0)
				snprintf(why, why_size, "the host is not a host name: %s",
					 sentence);
			return MTASTS_ERR_INVALID;
		}
		if (name[len - 1] == '.')
			name[--len] = '\0';
		if (last_label_numeric(name, len))
			return fail(why, why_size, "the host is neither an IPv4 address "
				    "nor a host name (its last label is all digits)");
		e->kind = MTASTS_RUA_HOST_NAME;
	}
	memcpy(e->host, name, len + 1);
	*ret_after = after;
	return MTASTS_OK;
}

int mtasts_rua_endpoint_parse(const char *uri, struct mtasts_rua_endpoint *ret_endpoint,
			      char *why, size_t why_size)
{
	struct mtasts_rua_endpoint e = { .port = HTTPS_DEFAULT_PORT };
	const char *authority, *end, *at, *host, *after = NULL;
	int rc;

	if (uri == NULL || ret_endpoint == NULL)
		return MTASTS_ERR_ARGUMENT;
	if (strncasecmp(uri, HTTPS_PREFIX, strlen(HTTPS_PREFIX)) != 0)
		return fail(why, why_size, "the URI does not begin with \"https://\"");
	authority = uri + strlen(HTTPS_PREFIX);
	end = authority + strcspn(authority, "/?#");
	host = authority;
	if ((at = memchr(authority, '@', (size_t)(end - authority))) != NULL) {
		if (memchr(at + 1, '@', (size_t)(end - at - 1)) != NULL)
			return fail(why, why_size, "the URI has more than one \"@\" "
				    "before its path");
		if (!userinfo_valid(authority, (size_t)(at - authority)))
			return fail(why, why_size, "the user information before \"@\" "
				    "has a character a URI does not allow there");
		host = at + 1;
	}
	if (host < end && *host == '[')
		rc = read_ipv6(host + 1, end, &e, &after, why, why_size);
	else
		rc = read_host(host, end, &e, &after, why, why_size);
	if (rc != MTASTS_OK)
		return rc;
	if ((rc = read_port(after, end, &e.port, why, why_size)) != MTASTS_OK)
		return rc;
	*ret_endpoint = e;
	return MTASTS_OK;
}
