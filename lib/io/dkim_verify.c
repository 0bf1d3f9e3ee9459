/*
 * dkim_verify.c - the DKIM verdict (RFC 6376) of a mail message, judged by
 * libopendkim.
 *
 * DESCRIPTION
 *	The message is brought to CRLF line ends (bare LF and bare CR become
 *	CRLF) and fed to libopendkim as it is meant to be: each header field
 *	with its continuation lines (folding kept), the end of the header,
 *	the body, the end of the message.  One library handle per call, so
 *	that calls share nothing.
 *
 *	The verdict: no signature is NONE; a verified one is PASS, with d= and
 *	s= of the signature libopendkim chose; a signature whose body hash or
 *	header signature does not match is FAIL; a key that could not be
 *	fetched for a temporary reason (a DNS failure or timeout) is
 *	TEMPERROR; anything else (a key absent or revoked, a signature that
 *	cannot be parsed or used) is PERMERROR, as RFC 6376 6.1.2 and 6.1.3
 *	sort them.
 *
 *	Name servers: libopendkim passes dns_servers to its resolver; the
 *	stock resolver of glibc has no way to set them (no res_setservers), so
 *	there the system's are used whatever is asked.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "dkim_verify.h"

#define HEADER_FIELD_MAX (64 * 1024)	/* octets of one field with its folding */

const char *dkim_verdict_name(enum dkim_verdict verdict)
{
	switch (verdict) {
	case DKIM_VERDICT_NONE: return "none";
	case DKIM_VERDICT_PASS: return "pass";
	case DKIM_VERDICT_FAIL: return "fail";
	case DKIM_VERDICT_TEMPERROR: return "temperror";
	case DKIM_VERDICT_PERMERROR: return "permerror";
	}
	return "unknown";
}

/* A copy of message with every line end CRLF; *ret_len its length. */
static unsigned char *to_crlf(const unsigned char *message, size_t len, size_t *ret_len)
{
	unsigned char *out;
	size_t o = 0;

	if (len > (SIZE_MAX - 3) / 2)
		return NULL;
	out = malloc(len * 2 + 3);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = message[i];

		if (c == '\r') {
			out[o++] = '\r';
			out[o++] = '\n';
			if (i + 1 < len && message[i + 1] == '\n')
				i++;
		} else if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
		} else {
			out[o++] = c;
		}
	}
	*ret_len = o;
	return out;
}

static int set_up(DKIM_LIB *lib, const struct dkim_options *options, char *why, size_t why_size)
{
	unsigned timeout_ms = options != NULL && options->timeout_ms > 0 ? options->timeout_ms : 5000;
	unsigned int timeout_s = (timeout_ms + 999) / 1000;

	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout_s, sizeof(timeout_s)) !=
	    DKIM_STAT_OK) {
		snprintf(why, why_size, "dkim: the lookup timeout cannot be set");
		return -1;
	}
	if (options != NULL && options->key_file != NULL && options->key_file[0] != '\0') {
		dkim_query_t method = DKIM_QUERY_FILE;

		if (strlen(options->key_file) >= 1024 ||
		    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &method,
				 sizeof(method)) != DKIM_STAT_OK ||
		    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, (void *)options->key_file,
				 strlen(options->key_file)) != DKIM_STAT_OK) {
			snprintf(why, why_size, "dkim: the key file %.200s cannot be used",
				 options->key_file);
			return -1;
		}
	} else if (options != NULL && options->dns_servers != NULL &&
		   options->dns_servers[0] != '\0') {
		/* the resolver takes its servers once it is set up */
		if (dkim_dns_init(lib) != DKIM_DNS_SUCCESS ||
		    dkim_dns_nslist(lib, options->dns_servers) != DKIM_DNS_SUCCESS) {
			snprintf(why, why_size, "dkim: the name servers %.200s cannot be used",
				 options->dns_servers);
			return -1;
		}
	}
	return 0;
}

/*
 * Feed the header fields of msg (CRLF line ends) to dkim, each with its
 * continuation lines; *ret_body is where the body begins.
 */
static DKIM_STAT feed_header(DKIM *dkim, const unsigned char *msg, size_t len, size_t *ret_body)
{
	size_t pos = 0;

	while (pos < len) {
		size_t start = pos, end;

		if (len - pos >= 2 && msg[pos] == '\r' && msg[pos + 1] == '\n') {
			pos += 2;	/* the empty line */
			break;
		}
		/* the field runs until a line that does not start with white space */
		for (;;) {
			const unsigned char *crlf = memmem(msg + pos, len - pos, "\r\n", 2);

			pos = crlf == NULL ? len : (size_t)(crlf - msg) + 2;
			if (pos >= len || (msg[pos] != ' ' && msg[pos] != '\t'))
				break;
		}
		end = pos;
		if (end - start >= 2 && msg[end - 2] == '\r' && msg[end - 1] == '\n')
			end -= 2;
		if (end - start > HEADER_FIELD_MAX)
			return DKIM_STAT_SYNTAX;
		DKIM_STAT status = dkim_header(dkim, (unsigned char *)(msg + start), end - start);

		if (status != DKIM_STAT_OK)
			return status;
	}
	*ret_body = pos;
	return DKIM_STAT_OK;
}

static void copy_field(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src != NULL ? (const char *)src : "");
}

/* The verdict of the signature libopendkim judged, from status and its error. */
static void judge(DKIM *dkim, DKIM_STAT status, struct dkim_outcome *outcome)
{
	DKIM_SIGINFO *sig = dkim_getsignature(dkim);
	int sig_error = sig != NULL ? dkim_sig_geterror(sig) : DKIM_SIGERROR_OK;
	const char *detail = dkim_geterror(dkim);

	if (sig != NULL) {
		copy_field(outcome->domain, sizeof(outcome->domain), dkim_sig_getdomain(sig));
		copy_field(outcome->selector, sizeof(outcome->selector), dkim_sig_getselector(sig));
	}
	if (status == DKIM_STAT_NOSIG) {
		outcome->verdict = DKIM_VERDICT_NONE;
		return;
	}
	if (status == DKIM_STAT_OK && sig != NULL && DKIM_SIG_CHECK(sig)) {
		outcome->verdict = DKIM_VERDICT_PASS;
		return;
	}
	if (status == DKIM_STAT_KEYFAIL || sig_error == DKIM_SIGERROR_KEYFAIL)
		outcome->verdict = DKIM_VERDICT_TEMPERROR;
	else if (status == DKIM_STAT_BADSIG || sig_error == DKIM_SIGERROR_BADSIG ||
		 (sig != NULL && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH))
		outcome->verdict = DKIM_VERDICT_FAIL;
	else
		outcome->verdict = DKIM_VERDICT_PERMERROR;
	if (sig != NULL && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
		snprintf(outcome->reason, sizeof(outcome->reason), "body hash mismatch");
	else if (sig_error != DKIM_SIGERROR_OK && dkim_sig_geterrorstr(sig_error) != NULL)
		snprintf(outcome->reason, sizeof(outcome->reason), "%s",
			 dkim_sig_geterrorstr(sig_error));
	else if (detail != NULL && detail[0] != '\0')
		snprintf(outcome->reason, sizeof(outcome->reason), "%s", detail);
	else
		snprintf(outcome->reason, sizeof(outcome->reason), "%s", dkim_getresultstr(status));
}

int dkim_verify_message(const unsigned char *message, size_t len, const struct dkim_options *options,
			struct dkim_outcome *ret_outcome, char *why, size_t why_size)
{
	struct dkim_outcome outcome = { .verdict = DKIM_VERDICT_NONE };
	DKIM_LIB *lib = NULL;
	DKIM *dkim = NULL;
	unsigned char *crlf = NULL;
	size_t crlf_len = 0, body = 0;
	DKIM_STAT status;
	char scratch[1];
	int rc = -1;

	if (why == NULL || why_size == 0) {
		why = scratch;
		why_size = sizeof(scratch);
	}
	if (ret_outcome == NULL || (message == NULL && len > 0)) {
		snprintf(why, why_size, "dkim: no message");
		errno = EINVAL;
		return -1;
	}
	crlf = to_crlf(message != NULL ? message : (const unsigned char *)"", len, &crlf_len);
	if (crlf == NULL) {
		snprintf(why, why_size, "dkim: out of memory");
		errno = ENOMEM;
		goto out;
	}
	lib = dkim_init(NULL, NULL);
	if (lib == NULL) {
		snprintf(why, why_size, "dkim: libopendkim could not be set up");
		errno = ENOMEM;
		goto out;
	}
	if (set_up(lib, options, why, why_size) < 0) {
		errno = EINVAL;
		goto out;
	}
	dkim = dkim_verify(lib, (const unsigned char *)"mtasts", NULL, &status);
	if (dkim == NULL) {
		snprintf(why, why_size, "dkim: a verifier could not be made (%s)",
			 dkim_getresultstr(status));
		errno = status == DKIM_STAT_NORESOURCE ? ENOMEM : EINVAL;
		goto out;
	}
	status = feed_header(dkim, crlf, crlf_len, &body);
	if (status == DKIM_STAT_OK)
		status = dkim_eoh(dkim);
	if (status == DKIM_STAT_OK && crlf_len > body)
		status = dkim_body(dkim, crlf + body, crlf_len - body);
	if (status == DKIM_STAT_OK)
		status = dkim_eom(dkim, NULL);
	if (status == DKIM_STAT_NORESOURCE) {
		snprintf(why, why_size, "dkim: out of memory");
		errno = ENOMEM;
		goto out;
	}
	judge(dkim, status, &outcome);
	*ret_outcome = outcome;
	rc = 0;
out:
	if (dkim != NULL)
		dkim_free(dkim);
	if (lib != NULL)
		dkim_close(lib);
	free(crlf);
	return rc;
}
