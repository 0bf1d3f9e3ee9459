/*
 * daemon.h - what the daemons (mtasts policyd, mtasts serve) share about
 * being a daemon: systemd's readiness protocol, detaching with a readiness
 * pipe, the pid file, dropping privileges, absolute paths.
 *
 * SYNOPSIS
 *	if (!foreground && daemon_detach(&ready_fd) != 0) ...
 *	daemon_log_open(...);
 *	if (daemon_write_pid_file(path) != 0) ...	(as root)
 *	if (daemon_drop_privileges(user) != 0) ...
 *	daemon_notify("READY=1");
 *	daemon_ready(&ready_fd);
 *
 * DIAGNOSTICS
 *	daemon_drop_privileges() and daemon_write_pid_file() log why they
 *	failed (daemon_log()) and return -1.
 */
#ifndef MTASTS_DAEMON_H
#define MTASTS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, if set. */
void daemon_notify(const char *state);

/* "RELOADING=1" with the MONOTONIC_USEC systemd 253 and later want. */
void daemon_notify_reloading(void);

/* Whether systemd runs us (then we stay in the foreground). */
bool daemon_supervised(void);

/*
 * Detach; the process that started it exits only once the daemon says it
 * serves (daemon_ready()), with 0, or with EXIT_LOCAL_ERROR when the daemon
 * ends first: so a start-up failure after detaching is not reported as
 * success.  *ret_ready_fd is the pipe to close or write to.
 */
int daemon_detach(int *ret_ready_fd);

/* Tell the starter of a detached daemon that it serves; accepts -1. */
void daemon_ready(int *ready_fd);

/*
 * Become user (its uid, gid and groups, initgroups(3)) for good; NULL or
 * already that user: nothing to do.
 */
int daemon_drop_privileges(const char *user);

/* Write the process id to path (created or truncated); removed on failure. */
int daemon_write_pid_file(const char *path);

/* path, or cwd/path when relative, in buf; path itself when it does not fit. */
const char *daemon_absolute_path(const char *path, char *buf, size_t size);

#endif
