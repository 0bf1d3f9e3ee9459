/*
 * util.h - the two small things every adapter needs: a clock that never
 * jumps, and an address as text.
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

#endif
