/*
 * util.h - the small things every adapter needs: a clock that never
 * jumps, an address as text, a reason written for the caller.
 */
#ifndef MTASTS_IO_UTIL_H
#define MTASTS_IO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Milliseconds of CLOCK_MONOTONIC: for deadlines, never for dates. */
long long monotonic_ms(void);

/* The address of ss (IPv4 or IPv6) as text; false (out "") when it is neither. */
bool address_text(const struct sockaddr_storage *ss, char *out, size_t size);

/* Write the reason of a failure into why (may be NULL or of size 0) as printf does. */
void say_why(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
