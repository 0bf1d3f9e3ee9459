/*
 * fuzz_hostname.c - fuzz target for host name normalisation
 * (hostname_normalize, libidn2 for U-labels).  The input is one name; a
 * NUL in it ends it.
 */
#include <strings.h>

#include <mtasts/mx.h>

#include "fuzz.h"
#include "hostname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[HOSTNAME_INPUT_MAX + 2];
	char out[HOSTNAME_BUF], again[HOSTNAME_BUF], why[200] = "";
	size_t len = size < sizeof(in) - 1 ? size : sizeof(in) - 1;

	memcpy(in, data, len);
	in[len] = '\0';
	memset(out, 'z', sizeof(out));
	if (hostname_normalize(in, out, sizeof(out), why, sizeof(why)) != 0) {
		if (why[0] == '\0' || out[0] != 'z')
			abort();
		return 0;
	}
	len = strlen(out);
	/* A host name, in lower case, without a final dot... */
	if (!mtasts_mx_host_check(out, len, NULL, NULL, 0) || out[len - 1] == '.')
		abort();
	for (size_t i = 0; i < len; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			abort();
	/* ...that is its own normal form. */
	if (hostname_normalize(out, again, sizeof(again), NULL, 0) != 0 ||
	    strcmp(out, again) != 0)
		abort();
	/* ASCII input changes only in case and one final dot. */
	if (hostname_is_ascii(in)) {
		size_t in_len = strlen(in);

		if (in_len > 1 && in[in_len - 1] == '.')
			in_len--;
		if (in_len != len || strncasecmp(in, out, len) != 0)
			abort();
	}
	return 0;
}
