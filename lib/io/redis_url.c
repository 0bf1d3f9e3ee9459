/*
 * redis_url.c - the Redis URL as redis-py reads it: redis://, unix://, a
 * %-encoded user and password, a database in the path or in "?db=".
 */
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <mtasts/diag.h>

#include "policy_cache.h"
#include "redis_url.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..len) %-decoded into out (out_size octets with the NUL); no NUL inside. */
static bool percent_decode(const char *s, size_t len, char *out, size_t out_size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = hex_value(s[i + 1])) < 0 ||
			    (lo = hex_value(s[i + 2])) < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= out_size)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

/* A decimal number of 1 to 10 digits, at most max. */
static bool parse_number(const char *s, size_t len, unsigned long max,
			 unsigned long *ret)
{
	unsigned long v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

/* "[user]:password" before an '@'; user alone is refused (nothing to AUTH with). */
static int parse_userinfo(const char *s, size_t len, struct redis_target *t,
			  char *err, size_t err_size)
{
	const char *colon = memchr(s, ':', len);

	if (colon == NULL) {
		snprintf(err, err_size, "the Redis URL has a user name but no password");
		return MTASTS_ERR_ARGUMENT;
	}
	if (!percent_decode(s, (size_t)(colon - s), t->user, sizeof(t->user)) ||
	    !percent_decode(colon + 1, len - (size_t)(colon - s) - 1, t->password,
			    sizeof(t->password))) {
		snprintf(err, err_size, "the Redis URL's user or password is malformed "
			 "or longer than %d octets", REDIS_URL_SECRET_MAX);
		return MTASTS_ERR_ARGUMENT;
	}
	return MTASTS_OK;
}

/* "host[:port]" or "[v6][:port]". */
static int parse_hostport(const char *s, size_t len, struct redis_target *t,
			  char *err, size_t err_size)
{
	const char *host = s, *port = NULL;
	size_t host_len;
	unsigned long value = 6379;

	if (len > 0 && s[0] == '[') {
		const char *end = memchr(s, ']', len);

		if (end == NULL)
			goto bad;
		host = s + 1;
		host_len = (size_t)(end - host);
		if (end + 1 < s + len) {
			if (end[1] != ':')
				goto bad;
			port = end + 2;
		}
	} else {
		const char *colon = memchr(s, ':', len);

		host_len = colon != NULL ? (size_t)(colon - s) : len;
		if (colon != NULL)
			port = colon + 1;
	}
	if (port != NULL && (!parse_number(port, (size_t)(s + len - port), 65535, &value) ||
			     value == 0))
		goto bad;
	if (host_len == 0) {		/* redis-py's default host */
		host = "localhost";
		host_len = strlen(host);
	}
	if (host_len > REDIS_URL_HOST_MAX)
		goto bad;
	for (size_t i = 0; i < host_len; i++)
		if (host[i] == '%' || host[i] == '@' || host[i] == '/')
			goto bad;
	memcpy(t->host, host, host_len);
	t->host[host_len] = '\0';
	t->port = (int)value;
	return MTASTS_OK;
bad:
	snprintf(err, err_size, "the Redis URL's host or port is malformed");
	return MTASTS_ERR_ARGUMENT;
}

/* "db=N" is the one parameter taken; redis-py's others are not settings here. */
static int parse_query(const char *s, size_t len, struct redis_target *t,
		       char *err, size_t err_size)
{
	unsigned long db;

	if (len == 0)
		return MTASTS_OK;
	if (len > 3 && memcmp(s, "db=", 3) == 0 && parse_number(s + 3, len - 3, 0x7fffffff, &db)) {
		t->db = (unsigned)db;
		return MTASTS_OK;
	}
	snprintf(err, err_size, "the Redis URL's parameters are not \"db=NUMBER\"");
	return MTASTS_ERR_ARGUMENT;
}

int redis_url_parse(const char *url, struct redis_target *t, char *err, size_t err_size)
{
	size_t len = strnlen(url, POLICY_CACHE_URL_MAX + 1);
	const char *rest, *end, *query, *at, *path;
	unsigned long db;
	int rc;

	if (len > POLICY_CACHE_URL_MAX) {
		snprintf(err, err_size, "the Redis URL is longer than %d octets",
			 POLICY_CACHE_URL_MAX);
		return MTASTS_ERR_TOO_LARGE;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)url[i] <= ' ' || (unsigned char)url[i] >= 0x7f) {
			snprintf(err, err_size, "the Redis URL has a space or a control "
				 "character at octet %zu", i + 1);
			return MTASTS_ERR_ARGUMENT;
		}
	}
	memset(t, 0, sizeof(*t));
	if (strncmp(url, "redis://", 8) == 0) {
		rest = url + 8;
	} else if (strncmp(url, "unix://", 7) == 0) {
		rest = url + 7;
		t->unix_socket = true;
	} else {
		snprintf(err, err_size, strncmp(url, "rediss://", 9) == 0
			 ? "Redis over TLS (rediss://) is not supported"
			 : "the Redis URL does not begin with redis:// or unix://");
		return MTASTS_ERR_ARGUMENT;
	}
	end = url + len;
	query = memchr(rest, '?', (size_t)(end - rest));
	if (query == NULL)
		query = end;
	if ((rc = parse_query(query == end ? end : query + 1,
			      query == end ? 0 : (size_t)(end - query - 1), t, err,
			      err_size)) != MTASTS_OK)
		return rc;
	path = memchr(rest, '/', (size_t)(query - rest));
	if (path == NULL)
		path = query;
	at = NULL;
	for (const char *p = rest; p < path; p++)	/* the last '@' of the authority */
		if (*p == '@')
			at = p;
	if (at != NULL) {
		if ((rc = parse_userinfo(rest, (size_t)(at - rest), t, err, err_size)) != MTASTS_OK)
			return rc;
		rest = at + 1;
	}
	if (t->unix_socket) {
		if (rest != path || path == query ||
		    !percent_decode(path, (size_t)(query - path), t->host,
				    sizeof(((struct sockaddr_un *)0)->sun_path))) {
			snprintf(err, err_size, "the Redis URL's socket path is missing, "
				 "malformed or too long");
			return MTASTS_ERR_ARGUMENT;
		}
		return MTASTS_OK;
	}
	if ((rc = parse_hostport(rest, (size_t)(path - rest), t, err, err_size)) != MTASTS_OK)
		return rc;
	if (query - path > 1) {
		if (!parse_number(path + 1, (size_t)(query - path - 1), 0x7fffffff, &db)) {
			snprintf(err, err_size, "the Redis URL's database is not a number");
			return MTASTS_ERR_ARGUMENT;
		}
		t->db = (unsigned)db;
	}
	return MTASTS_OK;
}
