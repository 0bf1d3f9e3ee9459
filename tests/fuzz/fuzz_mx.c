/*
 * fuzz_mx.c - fuzz target for MX pattern and host checks and matching
 * (mtasts_mx_matches, mtasts_mx_pattern_check, mtasts_mx_host_check).
 *
 * The input is "pattern" LF-or-NUL "host"; with no separator the pattern
 * is also the host.  Besides surviving any input, matching must agree with
 * the checks, ignore case, and follow RFC 8461 4.1 for names built from a
 * valid pattern.
 */
#include <ctype.h>
#include <stdio.h>

#include <mtasts/mx.h>

#include "fuzz.h"

#define NAME_BUF 512

static void set_case(char *dst, const char *src, int (*conv)(int))
{
	for (; *src != '\0'; src++)
		*dst++ = (char)conv((unsigned char)*src);
	*dst = '\0';
}

/* A failed check names an offset inside the name and says why. */
static bool check_explains(bool (*check)(const char *, size_t, size_t *, char *, size_t),
			   const char *name)
{
	size_t len = strlen(name), offset = (size_t)-1;
	char why[128], tiny[4] = { 'x', 'x', 'x', 'x' };
	bool ok = check(name, len, &offset, why, sizeof(why));

	if (check(name, len, NULL, NULL, 0) != ok ||
	    check(name, len, NULL, tiny, sizeof(tiny)) != ok)
		abort();
	if (!ok && (offset > len || why[0] == '\0' ||
		    memchr(tiny, '\0', sizeof(tiny)) == NULL))
		abort();
	return ok;
}

static void check_case(const char *pattern, const char *host, bool match)
{
	char p[NAME_BUF], h[NAME_BUF];

	set_case(p, pattern, toupper);
	set_case(h, host, toupper);
	if (mtasts_mx_matches(p, h) != match)
		abort();
	set_case(h, host, tolower);
	if (mtasts_mx_matches(p, h) != match)
		abort();
}

/* Hosts built from a valid pattern match, or do not, as RFC 8461 4.1 says. */
static void check_built_hosts(const char *pattern)
{
	size_t len = strlen(pattern);
	char host[NAME_BUF + 8];

	if (pattern[0] != '*') {
		snprintf(host, sizeof(host), "%s.", pattern);
		if (!mtasts_mx_matches(pattern, pattern) ||
		    !mtasts_mx_matches(pattern, host))
			abort();
		return;
	}
	/* "*.example.com": "example.com" and "a.b.example.com" never match. */
	if (mtasts_mx_matches(pattern, pattern + 2))
		abort();
	snprintf(host, sizeof(host), "a.b%s", pattern + 1);
	if (mtasts_mx_matches(pattern, host))
		abort();
	snprintf(host, sizeof(host), "a%s", pattern + 1);
	if (len <= MTASTS_HOST_NAME_MAX && !mtasts_mx_matches(pattern, host))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char pattern[NAME_BUF], host[NAME_BUF];
	size_t cut = 0, plen, hlen;
	bool match, pattern_ok, host_ok;

	if (size > 2 * NAME_BUF)
		return 0;	/* nothing to learn past the name limits */
	while (cut < size && data[cut] != '\n' && data[cut] != '\0')
		cut++;
	plen = cut < NAME_BUF - 1 ? cut : NAME_BUF - 1;
	memcpy(pattern, data, plen);
	pattern[plen] = '\0';
	if (cut < size) {
		hlen = size - cut - 1 < NAME_BUF - 1 ? size - cut - 1 : NAME_BUF - 1;
		memcpy(host, data + cut + 1, hlen);
		host[hlen] = '\0';
	} else {
		memcpy(host, pattern, plen + 1);
	}

	/* Both names as C strings: the host stops at its first NUL. */
	pattern_ok = check_explains(mtasts_mx_pattern_check, pattern);
	host_ok = check_explains(mtasts_mx_host_check, host);
	match = mtasts_mx_matches(pattern, host);
	if (match && (!pattern_ok || !host_ok))
		abort();
	check_case(pattern, host, match);
	if (pattern_ok)
		check_built_hosts(pattern);
	if (mtasts_mx_matches(NULL, host) || mtasts_mx_matches(pattern, NULL))
		abort();
	return 0;
}
