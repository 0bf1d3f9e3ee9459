/*
 * resources.h - telling a local shortage from a remote failure.
 *
 * DESCRIPTION
 *	Libraries report a socket or file they could not open as a failure
 *	to connect or to read (c-ares: "connection refused"; libcurl: "error
 *	setting certificate file").  Blaming a domain for this machine's
 *	open-files limit would be wrong, so after such a failure the adapters
 *	ask whether descriptors have run out, and say so instead.
 */
#ifndef MTASTS_IO_RESOURCES_H
#define MTASTS_IO_RESOURCES_H

#include <stdbool.h>

/* True for the errno values that say this machine ran out of something. */
bool resources_errno_is_local(int err);

/* True when no descriptor can be opened now (EMFILE, ENFILE). */
bool resources_descriptors_exhausted(void);

#endif
