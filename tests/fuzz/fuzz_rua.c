/*
 * fuzz_rua.c - fuzz target for the https: report destination reader
 * (mtasts_rua_endpoint_parse).  The input is one URI; a NUL in it ends it.
 */
#include <arpa/inet.h>

#include <mtasts/mx.h>
#include <mtasts/tlsrpt.h>

#include "fuzz.h"

#define URI_MAX 2048

/* What tlsrpt.h promises of an endpoint read. */
static void check_endpoint(const struct mtasts_rua_endpoint *e)
{
	size_t len = strnlen(e->host, sizeof(e->host));
	unsigned char address[16];
	char text[INET6_ADDRSTRLEN];

	if (len == 0 || len > MTASTS_RUA_HOST_MAX || e->port < 1 || e->port > 65535)
		abort();
	for (size_t i = 0; i < len; i++)
		if (e->host[i] >= 'A' && e->host[i] <= 'Z')
			abort();
	switch (e->kind) {
	case MTASTS_RUA_HOST_NAME:
		if (e->host[len - 1] == '.' ||
		    !mtasts_mx_host_check(e->host, len, NULL, NULL, 0) ||
		    inet_pton(AF_INET, e->host, address) == 1)
			abort();
		break;
	case MTASTS_RUA_HOST_IPV4:
	case MTASTS_RUA_HOST_IPV6: {
		int af = e->kind == MTASTS_RUA_HOST_IPV4 ? AF_INET : AF_INET6;

		if (inet_pton(af, e->host, address) != 1 ||
		    memcmp(address, e->address, af == AF_INET ? 4 : 16) != 0 ||
		    inet_ntop(af, e->address, text, sizeof(text)) == NULL)
			abort();
		break;
	}
	default:
		abort();
	}
}

static bool same_endpoint(const struct mtasts_rua_endpoint *a,
			  const struct mtasts_rua_endpoint *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port &&
	       a->kind == b->kind && memcmp(a->address, b->address, sizeof(a->address)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char uri[URI_MAX + 8];
	struct mtasts_rua_endpoint e, other, untouched;
	char why[160] = "";
	size_t len = size < URI_MAX ? size : URI_MAX;
	int rc;

	memcpy(uri, data, len);
	uri[len] = '\0';
	len = strlen(uri);
	memset(&e, 0xa5, sizeof(e));
	untouched = e;
	rc = mtasts_rua_endpoint_parse(uri, &e, why, sizeof(why));
	if (rc != MTASTS_OK) {
		if (rc != MTASTS_ERR_INVALID || why[0] == '\0' ||
		    memcmp(&e, &untouched, sizeof(e)) != 0)
			abort();
		return 0;
	}
	check_endpoint(&e);
	/* The scheme in another case reads the same. */
	memcpy(uri, "HtTpS", 5);
	if (mtasts_rua_endpoint_parse(uri, &other, NULL, 0) != MTASTS_OK ||
	    !same_endpoint(&e, &other))
		abort();
	/* A path added to a URI without one changes nothing. */
	if (strpbrk(uri + 8, "/?#") == NULL) {
		memcpy(uri + len, "/x@y", 5);
		if (mtasts_rua_endpoint_parse(uri, &other, NULL, 0) != MTASTS_OK ||
		    !same_endpoint(&e, &other))
			abort();
	}
	return 0;
}
