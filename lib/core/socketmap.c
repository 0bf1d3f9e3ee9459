/*
 * socketmap.c - the Postfix socketmap protocol for an MTA-STS policy
 * server: netstrings, requests, next-hop keys, TLS policy replies.  What
 * Postfix does with each reply is in mtasts/socketmap.h.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mtasts/mx.h>
#include <mtasts/socketmap.h>

#include "core.h"

/* ---- netstrings ---- */

enum { ST_LENGTH, ST_DATA, ST_COMMA, ST_DONE };

void mtasts_netstring_reader_init(struct mtasts_netstring_reader *reader,
				  char *buf, size_t buf_size)
{
	memset(reader, 0, sizeof(*reader));
	reader->buf = buf;
	reader->max = buf_size > 0 ? buf_size - 1 : 0;
	reader->state = ST_LENGTH;
	if (buf == NULL || buf_size == 0)
		reader->error = MTASTS_NETSTRING_ARGUMENT;
}

static int reader_fail(struct mtasts_netstring_reader *r, int error,
		       size_t offset, size_t *ret_used)
{
	r->error = error;
	*ret_used = offset;
	return error;
}

/* One octet of the length, or its ":". */
static int read_length_octet(struct mtasts_netstring_reader *r, unsigned char c)
{
	if (c == ':') {
		if (r->digits == 0)
			return MTASTS_NETSTRING_NOT_DIGIT;
		r->state = r->len == 0 ? ST_COMMA : ST_DATA;
		return MTASTS_NETSTRING_MORE;
	}
	if (!is_digit(c))
		return r->digits == 0 ? MTASTS_NETSTRING_NOT_DIGIT :
					MTASTS_NETSTRING_NO_COLON;
	if (r->digits == 1 && r->len == 0)
		return MTASTS_NETSTRING_LEADING_ZERO;

	size_t d = (size_t)(c - '0');

	/* r->len * 10 + d <= r->max, said without wrapping around. */
	if (d > r->max || r->len > (r->max - d) / 10)
		return MTASTS_NETSTRING_TOO_LONG;
	r->len = r->len * 10 + d;
	r->digits++;
	return MTASTS_NETSTRING_MORE;
}

int mtasts_netstring_read(struct mtasts_netstring_reader *r,
			  const char *data, size_t len, size_t *ret_used,
			  struct mtasts_bytes *ret_payload)
{
	size_t i = 0;
	int rc;

	if (r == NULL || ret_used == NULL || ret_payload == NULL ||
	    (data == NULL && len > 0))
		return MTASTS_NETSTRING_ARGUMENT;
	if (r->error != 0) {
		*ret_used = 0;
		return r->error;
	}
	if (r->state == ST_DONE) {
		r->state = ST_LENGTH;
		r->len = r->got = 0;
		r->digits = 0;
	}
	while (i < len) {
		switch (r->state) {
		case ST_LENGTH:
			rc = read_length_octet(r, (unsigned char)data[i]);
			if (rc != MTASTS_NETSTRING_MORE)
				return reader_fail(r, rc, i, ret_used);
			i++;
			break;
		case ST_DATA: {
			size_t n = r->len - r->got;

			if (n > len - i)
				n = len - i;
			memcpy(r->buf + r->got, data + i, n);
			r->got += n;
			i += n;
			if (r->got == r->len)
				r->state = ST_COMMA;
			break;
		}
		default:	/* ST_COMMA */
			if (data[i] != ',')
				return reader_fail(r, MTASTS_NETSTRING_NO_COMMA, i,
						   ret_used);
			r->state = ST_DONE;
			r->buf[r->len] = '\0';
			ret_payload->data = r->buf;
			ret_payload->len = r->len;
			*ret_used = i + 1;
			return MTASTS_NETSTRING_DONE;
		}
	}
	*ret_used = len;
	return MTASTS_NETSTRING_MORE;
}

const char *mtasts_netstring_status_message(int status)
{
	switch (status) {
	case MTASTS_NETSTRING_DONE:
		return "a whole netstring was read";
	case MTASTS_NETSTRING_MORE:
		return "the netstring is not complete yet";
	case MTASTS_NETSTRING_NOT_DIGIT:
		return "the netstring does not begin with a digit of its length";
	case MTASTS_NETSTRING_LEADING_ZERO:
		return "the netstring length has a leading zero";
	case MTASTS_NETSTRING_NO_COLON:
		return "the netstring length is not followed by \":\"";
	case MTASTS_NETSTRING_TOO_LONG:
		return "the netstring is longer than the limit";
	case MTASTS_NETSTRING_NO_COMMA:
		return "the netstring data is not followed by \",\"";
	case MTASTS_NETSTRING_ARGUMENT:
		return "invalid argument";
	}
	return "unknown netstring status";
}

int mtasts_netstring_write(const char *data, size_t len, char *out,
			   size_t out_size, size_t *ret_len)
{
	char digits[24];
	int n;

	if ((data == NULL && len > 0) || out == NULL || ret_len == NULL)
		return MTASTS_ERR_ARGUMENT;
	n = snprintf(digits, sizeof(digits), "%zu:", len);
	/* digits, data, "," and the NUL */
	if (n < 0 || len > out_size || out_size - len < (size_t)n + 2)
		return MTASTS_ERR_TOO_LARGE;
	memcpy(out, digits, (size_t)n);
	if (len > 0)
		memcpy(out + n, data, len);
	out[(size_t)n + len] = ',';
	out[(size_t)n + len + 1] = '\0';
	*ret_len = (size_t)n + len + 1;
	return MTASTS_OK;
}

/* ---- requests and keys ---- */

static int fail(char *why, size_t why_size, const char *message)
{
	if (why != NULL && why_size > 0)
		snprintf(why, why_size, "%s", message);
	return MTASTS_ERR_INVALID;
}

int mtasts_socketmap_request_parse(const char *payload, size_t len,
				   struct mtasts_socketmap_request *ret_request,
				   char *why, size_t why_size)
{
	const char *space;
	size_t name_len, key_len;

	if ((payload == NULL && len > 0) || ret_request == NULL)
		return MTASTS_ERR_ARGUMENT;
	if (len > 0 && memchr(payload, '\0', len) != NULL)
		return fail(why, why_size, "the request has a NUL octet");
	space = len > 0 ? memchr(payload, ' ', len) : NULL;
	if (space == NULL)
		return fail(why, why_size, "the request has no space between "
			    "the map name and the key");
	name_len = (size_t)(space - payload);
	key_len = len - name_len - 1;
	if (name_len == 0)
		return fail(why, why_size, "the map name is empty");
	if (name_len > MTASTS_SOCKETMAP_NAME_MAX)
		return fail(why, why_size, "the map name is longer than 255 octets");
	for (size_t i = 0; i < name_len; i++)
		if (!is_vchar((unsigned char)payload[i]) || payload[i] == ':')
			return fail(why, why_size, "the map name has an octet other "
				    "than visible ASCII, or a \":\"");
	if (key_len == 0)
		return fail(why, why_size, "the key is empty");
	if (space[1] == ' ')
		return fail(why, why_size, "more than one space separates the map "
			    "name from the key");
	if (key_len > MTASTS_SOCKETMAP_QUERY_MAX)
		return fail(why, why_size, "the key is longer than 10000 octets");
	ret_request->name.data = payload;
	ret_request->name.len = name_len;
	ret_request->key.data = space + 1;
	ret_request->key.len = key_len;
	return MTASTS_OK;
}

static enum mtasts_socketmap_key_kind key_is(enum mtasts_socketmap_key_kind kind,
					     char *why, size_t why_size,
					     const char *message)
{
	fail(why, why_size, message);
	return kind;
}

/* A port (1-65535) or a service name such as "smtp". */
static bool port_valid(const char *s, size_t len)
{
	unsigned long port = 0;

	if (len == 0 || len > 32)
		return false;
	if (is_digit((unsigned char)s[0])) {
		if (len > 5 || s[0] == '0')
			return false;
		for (size_t i = 0; i < len; i++) {
			if (!is_digit((unsigned char)s[i]))
				return false;
			port = port * 10 + (unsigned long)(s[i] - '0');
		}
		return port <= 65535;
	}
	if (!is_alpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alpha((unsigned char)s[i]) && !is_digit((unsigned char)s[i]) &&
		    s[i] != '-')
			return false;
	return s[len - 1] != '-';
}

/* "[anything but brackets]" or the same and ":port". */
static bool bracket_form_valid(const char *key, size_t len)
{
	const char *close = memchr(key, ']', len);
	size_t after;

	if (close == NULL || close == key + 1 ||
	    memchr(key + 1, '[', (size_t)(close - key - 1)) != NULL)
		return false;
	after = (size_t)(close + 1 - key);
	if (after == len)
		return true;
	return key[after] == ':' && port_valid(key + after + 1, len - after - 1);
}

static bool is_address(int family, const char *s, size_t len)
{
	unsigned char address[16];
	char text[64];

	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	return inet_pton(family, text, address) == 1;
}

/* The host part of a key, without port: an address, a name, or neither. */
static enum mtasts_socketmap_key_kind classify_host(const char *host, size_t len,
						    char *out, size_t out_size,
						    char *why, size_t why_size)
{
	char name[MTASTS_HOST_NAME_MAX + 1], sentence[128];
	bool ascii = true;
	size_t offset;

	if (len > 1 && host[len - 1] == '.')
		len--;
	if (host[len - 1] == '.')
		return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
			      "the key is not a domain: it ends with two dots");
	for (size_t i = 0; i < len; i++)
		ascii &= (unsigned char)host[i] < 0x80;
	if (!ascii) {
		if (len + 1 > out_size)
			return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
				      "the key does not fit in the buffer given");
		memcpy(out, host, len);
		out[len] = '\0';
		return MTASTS_SOCKETMAP_KEY_NEEDS_IDNA;
	}
	if (is_address(AF_INET, host, len))
		return key_is(MTASTS_SOCKETMAP_KEY_NOT_APPLICABLE, why, why_size,
			      "the key is an IPv4 address, not a domain");
	if (len > MTASTS_HOST_NAME_MAX)
		return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
			      "the domain is longer than 253 octets");
	for (size_t i = 0; i < len; i++)
		name[i] = (char)to_lower((unsigned char)host[i]);
	name[len] = '\0';
	if (!mtasts_mx_host_check(name, len, &offset, sentence, sizeof(sentence))) {
		if (why != NULL && why_size > 0)
			snprintf(why, why_size, "the key is not a domain: %s", sentence);
		return MTASTS_SOCKETMAP_KEY_INVALID;
	}
	if (last_label_numeric(name, len))
		return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
			      "the key is neither an address nor a domain (its "
			      "last label is all digits)");
	if (len + 1 > out_size)
		return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
			      "the domain does not fit in the buffer given");
	memcpy(out, name, len + 1);
	return MTASTS_SOCKETMAP_KEY_DOMAIN;
}

enum mtasts_socketmap_key_kind
mtasts_socketmap_key_classify(const char *key, size_t len, char *out,
			      size_t out_size, char *why, size_t why_size)
{
	const char *colon;
	size_t colons = 0;

	if (key == NULL || len == 0 || out == NULL)
		return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
			      "the key is empty");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c <= 0x20 || c == 0x7f)
			return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
				      "the key has a control octet or white space");
		colons += c == ':';
	}
	if (key[0] == '[')
		return bracket_form_valid(key, len) ?
		       key_is(MTASTS_SOCKETMAP_KEY_NOT_APPLICABLE, why, why_size,
			      "a next hop in brackets has no MX lookup, so no "
			      "MTA-STS policy") :
		       key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
			      "the key is not \"[host]\" or \"[host]:port\"");
	if (key[0] == '.')
		return key_is(MTASTS_SOCKETMAP_KEY_NOT_APPLICABLE, why, why_size,
			      "a parent-domain key: an MTA-STS policy covers "
			      "its own domain only");
	if (colons > 1)
		return is_address(AF_INET6, key, len) ?
		       key_is(MTASTS_SOCKETMAP_KEY_NOT_APPLICABLE, why, why_size,
			      "the key is an IPv6 address, not a domain") :
		       key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
			      "the key has more than one \":\" and is not an "
			      "IPv6 address");
	if (colons == 1) {
		colon = memchr(key, ':', len);
		if (!port_valid(colon + 1, len - (size_t)(colon + 1 - key)))
			return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
				      "the port after \":\" is not a number from 1 "
				      "to 65535 or a service name");
		len = (size_t)(colon - key);
		if (len == 0)
			return key_is(MTASTS_SOCKETMAP_KEY_INVALID, why, why_size,
				      "the key has no domain before \":\"");
	}
	return classify_host(key, len, out, out_size, why, why_size);
}

/* ---- replies ---- */

/* A reply being written: never more than max octets, then a NUL. */
struct reply {
	char *buf;
	size_t len, max;
	bool overflow;
};

static void reply_init(struct reply *r, char *out, size_t out_size, size_t reply_max)
{
	r->buf = out;
	r->len = 0;
	r->max = out_size - 1;
	if (reply_max == 0)
		reply_max = MTASTS_SOCKETMAP_REPLY_MAX;
	if (r->max > reply_max)
		r->max = reply_max;
	r->overflow = false;
}

static void put_n(struct reply *r, const char *s, size_t n)
{
	if (r->overflow || n > r->max - r->len) {
		r->overflow = true;
		return;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

static void put(struct reply *r, const char *s)
{
	put_n(r, s, strlen(s));
}

static int reply_end(struct reply *r, size_t *ret_len)
{
	if (r->overflow) {
		r->buf[0] = '\0';
		return MTASTS_ERR_TOO_LARGE;
	}
	r->buf[r->len] = '\0';
	*ret_len = r->len;
	return MTASTS_OK;
}

/* Printable ASCII kept, every other octet "?", at most REASON_MAX octets. */
static void put_reason(struct reply *r, const char *reason)
{
	char clean[MTASTS_SOCKETMAP_REASON_MAX];
	size_t n = 0;

	for (; reason != NULL && reason[n] != '\0' && n < sizeof(clean); n++) {
		unsigned char c = (unsigned char)reason[n];

		clean[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	put_n(r, clean, n);
}

static const char *const reply_words[] = {
	[MTASTS_SOCKETMAP_OK] = "OK",
	[MTASTS_SOCKETMAP_NOTFOUND] = "NOTFOUND",
	[MTASTS_SOCKETMAP_TEMP] = "TEMP",
	[MTASTS_SOCKETMAP_TIMEOUT] = "TIMEOUT",
	[MTASTS_SOCKETMAP_PERM] = "PERM",
};

static const char *const failure_names[] = {
	[MTASTS_SOCKETMAP_FETCH_ERROR] = "sts-policy-fetch-error",
	[MTASTS_SOCKETMAP_POLICY_INVALID] = "sts-policy-invalid",
	[MTASTS_SOCKETMAP_WEBPKI_INVALID] = "sts-webpki-invalid",
	[MTASTS_SOCKETMAP_VALIDATION_FAILURE] = "validation-failure",
};

const char *mtasts_socketmap_failure_name(enum mtasts_socketmap_failure failure)
{
	if ((unsigned)failure >= ARRAY_SIZE(failure_names))
		return NULL;
	return failure_names[failure];
}

int mtasts_socketmap_reply_error(enum mtasts_socketmap_reply_kind kind,
				 const char *reason, char *out, size_t out_size,
				 size_t *ret_len)
{
	struct reply r;

	if (kind == MTASTS_SOCKETMAP_OK || (unsigned)kind >= ARRAY_SIZE(reply_words) ||
	    out == NULL || out_size == 0 || ret_len == NULL)
		return MTASTS_ERR_ARGUMENT;
	reply_init(&r, out, out_size, 0);
	put(&r, reply_words[kind]);
	put(&r, " ");
	if (kind != MTASTS_SOCKETMAP_NOTFOUND)
		put_reason(&r, reason);
	return reply_end(&r, ret_len);
}

/*
 * A policy domain Postfix takes (valid_hostname()) and that names what
 * mtasts_socketmap_key_classify() gives: lower case, no final dot.
 */
static bool domain_valid(const char *domain)
{
	size_t len;

	if (domain == NULL)
		return false;
	len = strlen(domain);
	if (len == 0 || domain[len - 1] == '.' ||
	    !mtasts_mx_host_check(domain, len, NULL, NULL, 0) ||
	    last_label_numeric(domain, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if (domain[i] >= 'A' && domain[i] <= 'Z')
			return false;
	return true;
}

/* policy_type and policy_domain: what every STS attribute needs beside it. */
static void put_sts_type(struct reply *r, const char *domain)
{
	put(r, " policy_type=sts policy_domain=");
	put(r, domain);
}

/*
 * Can text go inside "{ policy_string = ... }"?  Postfix's tokenizer
 * counts braces (util/mystrtok.c, mystrtokq()) and its extpar() wants the
 * group to close at the very end, so the braces of text must nest.
 */
static bool braces_nest(const char *text)
{
	long level = 0;

	for (; *text != '\0'; text++) {
		if (*text == '{')
			level++;
		else if (*text == '}' && --level < 0)
			return false;
	}
	return level == 0;
}

static void put_policy_string(struct reply *r, const char *name, const char *value)
{
	put(r, " { policy_string = ");
	put(r, name);
	put(r, ": ");
	put(r, value);
	put(r, " }");
}

/* Extensions as the parser keeps them: a name, then a value of no controls. */
static bool extension_sendable(const struct mtasts_extension *e)
{
	if (e->name == NULL || e->value == NULL || e->value[0] == '\0' ||
	    !is_ext_name(e->name, strlen(e->name)))
		return false;
	for (const char *v = e->value; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	return true;
}

static void put_policy_strings(struct reply *r, const struct mtasts_policy *policy)
{
	char max_age[16];

	snprintf(max_age, sizeof(max_age), "%u", (unsigned)policy->max_age);
	put_policy_string(r, "version", "STSv1");
	put_policy_string(r, "mode", mtasts_mode_name(policy->mode));
	for (size_t i = 0; i < policy->mx_count; i++)
		put_policy_string(r, "mx", policy->mx[i]);
	put_policy_string(r, "max_age", max_age);
	for (size_t i = 0; i < policy->extension_count; i++) {
		const struct mtasts_extension *e = &policy->extensions[i];

		if (braces_nest(e->value))
			put_policy_string(r, e->name, e->value);
	}
}

/* "*.example.net" is ".example.net" to match=; the rest as written. */
static void put_match(struct reply *r, const struct mtasts_policy *policy)
{
	put(r, " match=");
	for (size_t i = 0; i < policy->mx_count; i++) {
		const char *p = policy->mx[i];

		if (i > 0)
			put(r, ":");
		put(r, p[0] == '*' ? p + 1 : p);
	}
}

/* Can the reply be written at all?  MTASTS_OK or why not. */
static int policy_sendable(const struct mtasts_policy *policy)
{
	if (mtasts_mode_name(policy->mode) == NULL ||
	    (policy->mx_count > 0 && policy->mx == NULL) ||
	    (policy->extension_count > 0 && policy->extensions == NULL))
		return MTASTS_ERR_INVALID;
	for (size_t i = 0; i < policy->mx_count; i++)
		if (policy->mx[i] == NULL ||
		    !mtasts_mx_pattern_check(policy->mx[i], strlen(policy->mx[i]),
					     NULL, NULL, 0))
			return MTASTS_ERR_INVALID;
	for (size_t i = 0; i < policy->extension_count; i++)
		if (!extension_sendable(&policy->extensions[i]))
			return MTASTS_ERR_INVALID;
	return MTASTS_OK;
}

int mtasts_socketmap_reply_policy(const struct mtasts_policy *policy,
				  const char *domain,
				  const struct mtasts_socketmap_options *options,
				  char *out, size_t out_size, size_t *ret_len)
{
	static const struct mtasts_socketmap_options defaults;
	struct reply r;
	bool enforce;
	int rc;

	if (options == NULL)
		options = &defaults;
	if (policy == NULL || !domain_valid(domain) || out == NULL ||
	    out_size == 0 || ret_len == NULL)
		return MTASTS_ERR_ARGUMENT;
	if ((rc = policy_sendable(policy)) != MTASTS_OK)
		return rc;
	enforce = policy->mode == MTASTS_MODE_ENFORCE ||
		  (policy->mode == MTASTS_MODE_TESTING && options->strict_testing);
	reply_init(&r, out, out_size, options->reply_max);
	if (!enforce && policy->mode == MTASTS_MODE_TESTING && options->tlsrpt &&
	    options->testing_level != NULL) {
		if (strcmp(options->testing_level, "may") != 0 &&
		    strcmp(options->testing_level, "encrypt") != 0 &&
		    strcmp(options->testing_level, "dane") != 0)
			return MTASTS_ERR_ARGUMENT;
		put(&r, "OK ");
		put(&r, options->testing_level);
		if (options->servername)
			put(&r, " servername=hostname");
		put_sts_type(&r, domain);
		put_policy_strings(&r, policy);
		for (size_t i = 0; i < policy->mx_count; i++) {
			put(&r, " mx_host_pattern=");
			put(&r, policy->mx[i]);
		}
		return reply_end(&r, ret_len);
	}
	if (!enforce) {
		put(&r, "NOTFOUND ");
		return reply_end(&r, ret_len);
	}
	if (policy->mx_count == 0)
		return MTASTS_ERR_INVALID;
	put(&r, "OK secure");
	put_match(&r, policy);
	if (options->servername)
		put(&r, " servername=hostname");
	if (options->tlsrpt || options->mx_host_pattern) {
		put_sts_type(&r, domain);
		if (options->policy_ttl) {
			char ttl[24];

			snprintf(ttl, sizeof(ttl), " policy_ttl=%u",
				 (unsigned)policy->max_age);
			put(&r, ttl);
		}
		if (options->tlsrpt)
			put_policy_strings(&r, policy);
		for (size_t i = 0; i < policy->mx_count; i++) {
			put(&r, " mx_host_pattern=");
			put(&r, policy->mx[i]);
		}
	}
	return reply_end(&r, ret_len);
}

int mtasts_socketmap_reply_failure(enum mtasts_socketmap_failure failure,
				   const char *domain, const char *reason,
				   const struct mtasts_socketmap_options *options,
				   char *out, size_t out_size, size_t *ret_len)
{
	static const struct mtasts_socketmap_options defaults;
	const char *name = mtasts_socketmap_failure_name(failure);
	struct reply r;

	if (options == NULL)
		options = &defaults;
	if (name == NULL || !domain_valid(domain) || out == NULL ||
	    out_size == 0 || ret_len == NULL)
		return MTASTS_ERR_ARGUMENT;
	reply_init(&r, out, out_size, options->reply_max);
	if (!options->fail_closed) {
		put(&r, "NOTFOUND ");
	} else if (options->tlsrpt) {
		put(&r, "OK secure");
		if (options->servername)
			put(&r, " servername=hostname");
		put_sts_type(&r, domain);
		put(&r, " policy_failure=");
		put(&r, name);
	} else if (reason != NULL) {
		put(&r, "TEMP ");
		put_reason(&r, reason);
	} else {
		put(&r, "TEMP MTA-STS policy of ");
		put(&r, domain);
		put(&r, ": ");
		put(&r, name);
	}
	return reply_end(&r, ret_len);
}
