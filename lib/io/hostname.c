/*
 * hostname.c - host names made into lower-case A-label form, with libidn2
 * for the internationalized ones.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include <mtasts/mx.h>

#include "hostname.h"

static int fail(char *why, size_t why_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && why_size > 0) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

bool hostname_a_label(void *arg, const char *name, char *out, size_t out_size)
{
	return hostname_normalize(name, out, out_size, NULL, 0) == 0;
}

bool hostname_is_ascii(const char *name)
{
	for (; *name != '\0'; name++)
		if ((unsigned char)*name >= 0x80)
			return false;
	return true;
}

/* In place; ASCII only, whatever the locale. */
static void lower_ascii(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* U-labels to A-labels; *ret_name is the caller's to free(). */
static int to_a_labels(const char *in, char **ret_name, char *why, size_t why_size)
{
	uint8_t *lookup = NULL;
	int rc;

	rc = idn2_lookup_u8((const uint8_t *)in, &lookup,
			    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		return fail(why, why_size, "the name is not a valid internationalized "
			    "domain name: %s", idn2_strerror(rc));
	/* libidn2 allocates with its own allocator: copy to ours. */
	*ret_name = strdup((const char *)lookup);
	idn2_free(lookup);
	if (*ret_name == NULL)
		return fail(why, why_size, "out of memory");
	return 0;
}

int hostname_normalize(const char *in, char *out, size_t out_size,
		       char *why, size_t why_size)
{
	char *name = NULL, reason[128];
	size_t len, offset;
	bool had_dot;
	int rc = -1;

	if (in == NULL || (len = strnlen(in, HOSTNAME_INPUT_MAX + 1)) == 0)
		return fail(why, why_size, "the name is empty");
	if (len > HOSTNAME_INPUT_MAX)
		return fail(why, why_size, "the name is longer than %d octets",
			    HOSTNAME_INPUT_MAX);
	if (strcmp(in, ".") == 0)
		return fail(why, why_size, "the name is the root, \".\", not a host name");
	if ((name = strndup(in, len)) == NULL)
		return fail(why, why_size, "out of memory");
	if ((had_dot = len > 1 && name[len - 1] == '.'))
		name[--len] = '\0';
	if (!hostname_is_ascii(name)) {
		char *converted = NULL;

		if (to_a_labels(name, &converted, why, why_size) != 0)
			goto out;
		free(name);
		name = converted;
		len = strlen(name);
		/* A final ideographic full stop (U+3002) became a dot. */
		if (!had_dot && len > 1 && name[len - 1] == '.')
			name[--len] = '\0';
	}
	lower_ascii(name);
	if (len > 0 && name[len - 1] == '.') {
		fail(why, why_size, "the name ends with more than one dot");
		goto out;
	}
	if (!mtasts_mx_host_check(name, len, &offset, reason, sizeof(reason))) {
		if (hostname_is_ascii(in))
			fail(why, why_size, "%s (octet %zu)", reason, offset + 1);
		else
			fail(why, why_size, "in A-label form, \"%.*s\", %s", 80, name,
			     reason);
		goto out;
	}
	if (len + 1 > out_size) {
		fail(why, why_size, "the name does not fit in %zu octets", out_size);
		goto out;
	}
	memcpy(out, name, len + 1);
	rc = 0;
out:
	free(name);
	return rc;
}
