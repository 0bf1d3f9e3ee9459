/*
 * policyd_log.h - the daemon's log: syslog (facility mail, as Postfix logs)
 * or standard error, one line a message.  What came from the network is
 * escaped by the caller (text_escape()) before it gets here.
 */
#ifndef MTASTS_POLICYD_LOG_H
#define MTASTS_POLICYD_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* To syslog as ident, or to standard error; LOG_DEBUG lines only when verbose. */
void policyd_log_open(const char *ident, bool to_syslog, bool verbose);

void policyd_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void policyd_log_close(void);

#endif
