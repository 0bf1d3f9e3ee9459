/*
 * dkim-sign.c - signs a mail message with DKIM (RFC 6376, rsa-sha256,
 * relaxed/relaxed) through libopendkim, for tests/e2e/test-reports-mail.
 *
 * usage: dkim-sign KEY_FILE DOMAIN SELECTOR < MESSAGE > SIGNED
 *
 * KEY_FILE is a PEM private key (opendkim-genkey's SELECTOR.private).  The
 * message is read whole (LF or CRLF lines, at most 32 MiB) and written back
 * with a DKIM-Signature header field first, its lines ending as the
 * message's first line does.  Exits 0, or 1 with the reason on stderr.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#define MAX_MESSAGE ((size_t)32 * 1024 * 1024)

/* A copy of data with every bare LF made CRLF, as libopendkim reads lines. */
static unsigned char *with_crlf(const unsigned char *data, size_t len, size_t *ret_len)
{
	unsigned char *out = malloc(len * 2 + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = data[i];
	}
	*ret_len = o;
	return out;
}

/* The whole of f, NUL-terminated; NULL when it cannot be read or passes max. */
static unsigned char *read_all(FILE *f, size_t max, size_t *ret_len)
{
	size_t len = 0, cap = 64 * 1024;
	unsigned char *data = malloc(cap + 1);

	while (data != NULL) {
		size_t got = fread(data + len, 1, cap - len, f);

		len += got;
		if (got == 0)
			break;
		if (len == cap) {
			unsigned char *grown;

			if (cap >= max || (grown = realloc(data, cap * 2 + 1)) == NULL) {
				free(data);
				return NULL;
			}
			data = grown;
			cap *= 2;
		}
	}
	if (data == NULL || ferror(f)) {
		free(data);
		return NULL;
	}
	data[len] = '\0';
	*ret_len = len;
	return data;
}

int main(int argc, char **argv)
{
	DKIM_LIB *lib = NULL;
	DKIM *dkim = NULL;
	DKIM_STAT status;
	FILE *key_file = NULL;
	unsigned char *key = NULL, *message = NULL, *canonical = NULL;
	unsigned char header[8192];
	size_t key_len, message_len, canonical_len;
	bool crlf;
	int ret = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: dkim-sign KEY_FILE DOMAIN SELECTOR < MESSAGE\n");
		return 2;
	}
	if ((key_file = fopen(argv[1], "rb")) == NULL || (key = read_all(key_file, 65536, &key_len)) == NULL) {
		fprintf(stderr, "dkim-sign: cannot read the key %s\n", argv[1]);
		goto out;
	}
	if ((message = read_all(stdin, MAX_MESSAGE, &message_len)) == NULL) {
		fprintf(stderr, "dkim-sign: cannot read the message (at most 32 MiB)\n");
		goto out;
	}
	if ((canonical = with_crlf(message, message_len, &canonical_len)) == NULL) {
		fprintf(stderr, "dkim-sign: out of memory\n");
		goto out;
	}
	if ((lib = dkim_init(NULL, NULL)) == NULL) {
		fprintf(stderr, "dkim-sign: dkim_init failed\n");
		goto out;
	}
	dkim = dkim_sign(lib, (const unsigned char *)"e2e", NULL, (dkim_sigkey_t)key,
			 (const unsigned char *)argv[3], (const unsigned char *)argv[2],
			 DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1L, &status);
	if (dkim == NULL || status != DKIM_STAT_OK) {
		fprintf(stderr, "dkim-sign: dkim_sign: %s\n", dkim_getresultstr(status));
		goto out;
	}
	if ((status = dkim_chunk(dkim, canonical, canonical_len)) != DKIM_STAT_OK ||
	    (status = dkim_chunk(dkim, NULL, 0)) != DKIM_STAT_OK ||
	    (status = dkim_eom(dkim, NULL)) != DKIM_STAT_OK ||
	    (status = dkim_getsighdr(dkim, header, sizeof(header), strlen(DKIM_SIGNHEADER ": "))) != DKIM_STAT_OK) {
		fprintf(stderr, "dkim-sign: signing failed: %s (%s)\n", dkim_getresultstr(status),
			dkim_geterror(dkim) != NULL ? dkim_geterror(dkim) : "");
		goto out;
	}
	{
		const unsigned char *lf = memchr(message, '\n', message_len);

		crlf = lf != NULL && lf > message && lf[-1] == '\r';
	}
	/* The header comes folded with bare LFs; written with the message's line ends. */
	fputs(DKIM_SIGNHEADER ": ", stdout);
	for (const unsigned char *p = header; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n' && crlf)
			fputc('\r', stdout);
		fputc(*p, stdout);
	}
	fputs(crlf ? "\r\n" : "\n", stdout);
	if (fwrite(message, 1, message_len, stdout) != message_len || fflush(stdout) != 0) {
		fprintf(stderr, "dkim-sign: cannot write the signed message\n");
		goto out;
	}
	ret = 0;
out:
	if (dkim != NULL)
		dkim_free(dkim);
	if (lib != NULL)
		dkim_close(lib);
	if (key_file != NULL)
		fclose(key_file);
	free(key);
	free(message);
	free(canonical);
	return ret;
}
