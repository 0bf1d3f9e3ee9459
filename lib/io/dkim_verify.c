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
 *	The verdict: no DKIM-Signature field is NONE; a verified signature is
 *	PASS, with d= and s= of the signature libopendkim chose; a signature
 *	whose body hash or header signature does not match is FAIL; a key
 *	that could not be fetched for a temporary reason (a DNS failure or
 *	timeout) is TEMPERROR; anything else (a key absent or revoked, a
 *	signature that cannot be parsed or used, DKIM-Signature fields of
 *	which libopendkim kept none) is PERMERROR, as RFC 6376 6.1.1 to 6.1.3
 *	sort them.
 *
 *	Keys are looked up through a resolver of our own given to
 *	libopendkim (dkim_dns_set_query_*): a glibc res_state per call,
 *	its servers those of dns_servers (IPv4 addresses) or
 *	resolv.conf's, one try bounded by the timeout, and all of them by
 *	total_timeout_ms: a lookup is made only while there is time for
 *	it, so that a message of many signatures cannot hold the caller
 *	for a lookup timeout each.  Only the first 8 signatures are
 *	examined.  libopendkim's own way, dkim_dns_nslist(), cannot be
 *	used: in 2.11 its stock resolver ignores the list on glibc (there
 *	is no res_setservers) and, as Debian builds it, jumps through a
 *	function pointer dkim_init() never set.  A timeout or a server
 *	failure is temporary (TEMPERROR); a name that does not exist, or
 *	has no TXT record, is no key (PERMERROR).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>

#include <opendkim/dkim.h>

#include "dkim_verify.h"

#define HEADER_FIELD_MAX (64 * 1024)	/* octets of one field with its folding */
#define DNS_SERVERS_MAX 3		/* MAXNS of glibc */
#define SIGNATURES_MAX 8		/* examined of one message, the first ones */

/* The resolver handed to libopendkim: one query at a time, answered at once. */
struct key_resolver {
	struct __res_state state;
	bool state_ready;
	unsigned timeout_s;		/* of one lookup */
	unsigned long long total_ms;	/* for all the lookups, */
	struct timespec deadline;	/* ending then (CLOCK_MONOTONIC) */
	bool deadline_passed;		/* a lookup was refused for it */
	int reply_len;			/* of the last query, or -1 */
	int reply_error;		/* its h_errno */
};

static struct key_resolver *key_resolver_free(struct key_resolver *r)
{
	if (r == NULL)
		return NULL;
	if (r->state_ready)
		res_nclose(&r->state);
	free(r);
	return NULL;
}

/* Parse "addr[,addr...]" (IPv4) into the servers of state. */
static int set_servers(struct __res_state *state, const char *list)
{
	const char *p = list;
	int count = 0;

	while (*p != '\0') {
		char addr[64];
		size_t len = strcspn(p, ",");
		struct in_addr in;

		while (len > 0 && (*p == ' ' || *p == '\t'))
			p++, len--;
		if (len == 0 || len >= sizeof(addr) || count == DNS_SERVERS_MAX)
			return -1;
		memcpy(addr, p, len);
		addr[len] = '\0';
		addr[strcspn(addr, " \t")] = '\0';
		if (inet_pton(AF_INET, addr, &in) != 1)
			return -1;
		state->nsaddr_list[count] = (struct sockaddr_in){ .sin_family = AF_INET,
			.sin_port = htons(53), .sin_addr = in };
		count++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (count == 0)
		return -1;
	state->nscount = count;
	return 0;
}

static struct key_resolver *key_resolver_new(const char *servers, unsigned timeout_s,
					     unsigned long long total_ms)
{
	struct key_resolver *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if (res_ninit(&r->state) != 0)
		return key_resolver_free(r);
	r->state_ready = true;
	r->timeout_s = timeout_s;
	r->total_ms = total_ms;
	r->state.retrans = (int)timeout_s;
	r->state.retry = 1;
	clock_gettime(CLOCK_MONOTONIC, &r->deadline);
	r->deadline.tv_sec += (time_t)(total_ms / 1000);
	r->deadline.tv_nsec += (long)(total_ms % 1000) * 1000000;
	if (r->deadline.tv_nsec >= 1000000000) {
		r->deadline.tv_sec++;
		r->deadline.tv_nsec -= 1000000000;
	}
	if (servers != NULL && servers[0] != '\0' && set_servers(&r->state, servers) < 0) {
		errno = EINVAL;
		return key_resolver_free(r);
	}
	return r;
}

/* Whole seconds left before the deadline of r, 0 when it has passed. */
static long seconds_left(const struct key_resolver *r)
{
	struct timespec now;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (long)(r->deadline.tv_sec - now.tv_sec);
	if (r->deadline.tv_nsec < now.tv_nsec)
		left--;
	return left > 0 ? left : 0;
}

/*
 * Ask now; the reply is in buf when key_resolver_wait() is called.  glibc
 * waits whole seconds, up to nscount times retrans for one lookup (a try
 * of each server), so a lookup is only made with that much time left
 * before the deadline; past it the lookup fails at once, as a timeout.
 */
static int key_resolver_start(void *service, int type, unsigned char *query, unsigned char *buf,
			      size_t buf_len, void **ret_query)
{
	struct key_resolver *r = service;
	long per_server = seconds_left(r) / (r->state.nscount > 0 ? r->state.nscount : 1);
	int n;

	if (buf_len < HFIXEDSZ)
		return DKIM_DNS_ERROR;
	*ret_query = r;
	if (per_server < 1) {
		r->deadline_passed = true;
		r->reply_len = -1;
		r->reply_error = TRY_AGAIN;
		return DKIM_DNS_SUCCESS;
	}
	r->state.retrans = per_server < (long)r->timeout_s ? (int)per_server : (int)r->timeout_s;
	h_errno = 0;
	n = res_nquery(&r->state, (const char *)query, C_IN, type, buf,
		       buf_len > INT32_MAX ? INT32_MAX : (int)buf_len);
	r->reply_error = h_errno;
	r->reply_len = n;
	if (n < 0 && (r->reply_error == HOST_NOT_FOUND || r->reply_error == NO_DATA)) {
		/*
		 * No such name, or no TXT record at it: glibc gives no length,
		 * so the answer is remade, the question and an empty answer,
		 * which libopendkim reads as no key.
		 */
		n = res_nmkquery(&r->state, QUERY, (const char *)query, C_IN, type, NULL, 0, NULL,
				 buf, buf_len > INT32_MAX ? INT32_MAX : (int)buf_len);
		if (n >= HFIXEDSZ) {
			HEADER *header = (HEADER *)buf;

			header->qr = 1;
			header->rcode = r->reply_error == HOST_NOT_FOUND ? NXDOMAIN : NOERROR;
			r->reply_len = n;
		}
	}
	return DKIM_DNS_SUCCESS;
}

static int key_resolver_wait(void *service, void *query, struct timeval *timeout,
			     size_t *ret_bytes, int *ret_error, int *ret_dnssec)
{
	struct key_resolver *r = service;

	(void)query;
	(void)timeout;
	if (ret_dnssec != NULL)
		*ret_dnssec = DKIM_DNSSEC_UNKNOWN;
	if (ret_error != NULL)
		*ret_error = r->reply_error;
	if (r->reply_len < 0)
		return DKIM_DNS_ERROR;	/* a timeout or a server failure: temporary */
	if (ret_bytes != NULL)
		*ret_bytes = (size_t)r->reply_len;
	return DKIM_DNS_SUCCESS;
}

static int key_resolver_cancel(void *service, void *query)
{
	(void)service;
	(void)query;
	return DKIM_DNS_SUCCESS;
}

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

/* Only the first SIGNATURES_MAX signatures are examined (RFC 6376 6.1 allows a limit). */
static DKIM_CBSTAT examine_first_signatures(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	(void)dkim;
	for (int i = SIGNATURES_MAX; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* The time for all the lookups of a message: at least one lookup's time. */
static unsigned long long total_timeout_ms(const struct dkim_options *options, unsigned timeout_s)
{
	unsigned long long one = (unsigned long long)timeout_s * 1000;
	unsigned long long total = options != NULL && options->total_timeout_ms > 0 ?
				   options->total_timeout_ms : 2 * one;

	return total > one ? total : one;
}

static int set_up(DKIM_LIB *lib, const struct dkim_options *options,
		  struct key_resolver **ret_resolver, char *why, size_t why_size)
{
	unsigned timeout_ms = options != NULL && options->timeout_ms > 0 ? options->timeout_ms : 5000;
	unsigned int timeout_s = timeout_ms / 1000 + (timeout_ms % 1000 != 0);
	const char *servers = options != NULL ? options->dns_servers : NULL;
	struct key_resolver *resolver;

	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout_s, sizeof(timeout_s)) !=
	    DKIM_STAT_OK) {
		snprintf(why, why_size, "dkim: the lookup timeout cannot be set");
		errno = EINVAL;
		return -1;
	}
	(void)dkim_set_prescreen(lib, examine_first_signatures);
	if (options != NULL && options->key_file != NULL && options->key_file[0] != '\0') {
		dkim_query_t method = DKIM_QUERY_FILE;

		if (strlen(options->key_file) >= 1024 ||
		    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &method,
				 sizeof(method)) != DKIM_STAT_OK ||
		    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, (void *)options->key_file,
				 strlen(options->key_file)) != DKIM_STAT_OK) {
			snprintf(why, why_size, "dkim: the key file %.200s cannot be used",
				 options->key_file);
			errno = EINVAL;
			return -1;
		}
		return 0;
	}
	resolver = key_resolver_new(servers, timeout_s, total_timeout_ms(options, timeout_s));
	if (resolver == NULL) {
		if (errno == EINVAL)
			snprintf(why, why_size, "dkim: the name servers \"%.100s\" are not up to "
				 "%d IPv4 addresses", servers, DNS_SERVERS_MAX);
		else
			snprintf(why, why_size, "dkim: the resolver could not be set up");
		return -1;
	}
	/* ours from the start: libopendkim neither sets it up nor closes it */
	dkim_dns_set_init(lib, NULL);
	dkim_dns_set_close(lib, NULL);
	dkim_dns_set_nslist(lib, NULL);
	(void)dkim_dns_set_query_service(lib, resolver);
	dkim_dns_set_query_start(lib, key_resolver_start);
	dkim_dns_set_query_waitreply(lib, key_resolver_wait);
	dkim_dns_set_query_cancel(lib, key_resolver_cancel);
	*ret_resolver = resolver;
	return 0;
}

/* Whether the header field (name, colon, value) is a DKIM-Signature. */
static bool is_signature_field(const unsigned char *field, size_t len)
{
	static const char name[] = "DKIM-Signature";
	size_t i = sizeof(name) - 1;

	if (len < i || strncasecmp((const char *)field, name, i) != 0)
		return false;
	while (i < len && (field[i] == ' ' || field[i] == '\t'))
		i++;
	return i < len && field[i] == ':';
}

/*
 * Feed the header fields of msg (CRLF line ends) to dkim, each with its
 * continuation lines; *ret_body is where the body begins and
 * *ret_signature_fields counts the DKIM-Signature fields fed.
 */
static DKIM_STAT feed_header(DKIM *dkim, const unsigned char *msg, size_t len, size_t *ret_body,
			     size_t *ret_signature_fields)
{
	size_t pos = 0;

	*ret_signature_fields = 0;

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
		if (is_signature_field(msg + start, end - start))
			(*ret_signature_fields)++;
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

/* Octets that are not printable ASCII become '?': a reason may be printed. */
static void make_printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/*
 * The verdict of the signature libopendkim judged, from status and its
 * error; signature_fields is how many DKIM-Signature fields the header has.
 */
static void judge(DKIM *dkim, DKIM_STAT status, size_t signature_fields,
		  const struct key_resolver *resolver, struct dkim_outcome *outcome)
{
	DKIM_SIGINFO *sig = dkim_getsignature(dkim);
	int sig_error = sig != NULL ? dkim_sig_geterror(sig) : DKIM_SIGERROR_OK;
	const char *detail = dkim_geterror(dkim);

	if (sig != NULL) {
		copy_field(outcome->domain, sizeof(outcome->domain), dkim_sig_getdomain(sig));
		copy_field(outcome->selector, sizeof(outcome->selector), dkim_sig_getselector(sig));
	}
	DKIM_SIGINFO **sigs = NULL;
	int sig_count = 0;

	if (status == DKIM_STAT_NOSIG ||
	    dkim_getsiglist(dkim, &sigs, &sig_count) != DKIM_STAT_OK || sig_count == 0) {
		/* a message too broken to hold a header has no signature either */
		if (signature_fields == 0) {
			outcome->verdict = DKIM_VERDICT_NONE;
			return;
		}
		/*
		 * Fields libopendkim dropped as unusable (no b=, a d= that is
		 * no domain): a signature that cannot be used, RFC 6376 6.1.1.
		 */
		outcome->verdict = DKIM_VERDICT_PERMERROR;
		outcome->domain[0] = outcome->selector[0] = '\0';
		snprintf(outcome->reason, sizeof(outcome->reason), "%zu DKIM-Signature field%s, "
			 "none usable (%s)", signature_fields, signature_fields == 1 ? "" : "s",
			 detail != NULL && detail[0] != '\0' ? detail : dkim_getresultstr(status));
		make_printable(outcome->reason);
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
	if (outcome->verdict == DKIM_VERDICT_TEMPERROR && resolver != NULL &&
	    resolver->deadline_passed)
		snprintf(outcome->reason, sizeof(outcome->reason), "the key lookups took longer "
			 "than the %llu ms allowed for all of them", resolver->total_ms);
	else if (sig != NULL && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
		snprintf(outcome->reason, sizeof(outcome->reason), "body hash mismatch");
	else if (sig_error != DKIM_SIGERROR_OK && dkim_sig_geterrorstr(sig_error) != NULL)
		snprintf(outcome->reason, sizeof(outcome->reason), "%s",
			 dkim_sig_geterrorstr(sig_error));
	else if (detail != NULL && detail[0] != '\0')
		snprintf(outcome->reason, sizeof(outcome->reason), "%s", detail);
	else
		snprintf(outcome->reason, sizeof(outcome->reason), "%s", dkim_getresultstr(status));
	make_printable(outcome->reason);
}

int dkim_verify_message(const unsigned char *message, size_t len, const struct dkim_options *options,
			struct dkim_outcome *ret_outcome, char *why, size_t why_size)
{
	struct dkim_outcome outcome = { .verdict = DKIM_VERDICT_NONE };
	DKIM_LIB *lib = NULL;
	DKIM *dkim = NULL;
	struct key_resolver *resolver = NULL;
	unsigned char *crlf = NULL;
	size_t crlf_len = 0, body = 0, signature_fields = 0;
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
	if (set_up(lib, options, &resolver, why, why_size) < 0)
		goto out;
	dkim = dkim_verify(lib, (const unsigned char *)"mtasts", NULL, &status);
	if (dkim == NULL) {
		snprintf(why, why_size, "dkim: a verifier could not be made (%s)",
			 dkim_getresultstr(status));
		errno = status == DKIM_STAT_NORESOURCE ? ENOMEM : EINVAL;
		goto out;
	}
	status = feed_header(dkim, crlf, crlf_len, &body, &signature_fields);
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
	judge(dkim, status, signature_fields, resolver, &outcome);
	*ret_outcome = outcome;
	rc = 0;
out:
	if (dkim != NULL)
		dkim_free(dkim);
	if (lib != NULL)
		dkim_close(lib);
	key_resolver_free(resolver);
	free(crlf);
	return rc;
}
