/*
 * util.c - the monotonic clock, addresses as text and reasons written, for the
 * adapters.
 */
#include <stdarg.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include "util.h"

long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool address_text(const struct sockaddr_storage *ss, char *out, size_t size)
{
	const void *raw = ss->ss_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (size > 0)
		out[0] = '\0';
	return (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) &&
	       inet_ntop(ss->ss_family, raw, out, (socklen_t)size) != NULL;
}

void say_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}
