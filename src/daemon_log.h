/*
 * daemon_log.h - the log of the daemons (policyd, serve): syslog (facility
 * mail, as Postfix logs) or standard error, one line a message.  What came from the network is
 * escaped by the caller (text_escape()) before it gets here.
 */
#ifndef MTASTS_DAEMON_LOG_H
#define MTASTS_DAEMON_LOG_H

#include <stdbool.h>
#include <syslog.h>

/*
 * To syslog as ident ("mtasts-policyd"), or to standard error after ident
 * with spaces for dashes ("mtasts policyd: "); LOG_DEBUG lines only when
 * verbose.
 */
void daemon_log_open(const char *ident, bool to_syslog, bool verbose);

/* Log LOG_DEBUG lines or not from now on (a reload). */
void daemon_log_set_verbose(bool verbose);

/* Whether LOG_DEBUG lines are written: costly arguments are made only then. */
bool daemon_log_debugging(void);

void daemon_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void daemon_log_close(void);

#endif
