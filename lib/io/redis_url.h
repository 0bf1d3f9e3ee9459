/*
 * redis_url.h - where a Redis server is and how to log in, from the URL of
 * the cache configuration.
 *
 *	redis://[[user]:password@]host[:port][/db][?db=N]
 *	unix://[[user]:password@]/path[?db=N]
 *
 * host is a name, an IPv4 address or an IPv6 one in brackets (default
 * localhost); port 6379 and db 0 by default; user, password and path are
 * %-encoded.  A user without a password, rediss:// (TLS) and any parameter
 * but db are refused.
 */
#ifndef MTASTS_IO_REDIS_URL_H
#define MTASTS_IO_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define REDIS_URL_HOST_MAX 255			/* octets of a host or a socket path */
#define REDIS_URL_SECRET_MAX 512		/* octets of a user name or password */

struct redis_target {
	bool unix_socket;
	char host[REDIS_URL_HOST_MAX + 1];	/* or the socket's path */
	int port;
	unsigned db;
	char user[REDIS_URL_SECRET_MAX + 1];	/* "": AUTH with the password alone */
	char password[REDIS_URL_SECRET_MAX + 1];	/* "": no AUTH */
};

/*
 * Read url (at most POLICY_CACHE_URL_MAX octets) into *t: MTASTS_OK, or
 * MTASTS_ERR_ARGUMENT / MTASTS_ERR_TOO_LARGE with a sentence in err.
 */
int redis_url_parse(const char *url, struct redis_target *t, char *err, size_t err_size);

#endif
