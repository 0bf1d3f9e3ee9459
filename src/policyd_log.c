/*
 * policyd_log.c - see policyd_log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "policyd_log.h"

static bool log_to_syslog;
static bool log_verbose;
static bool log_journal;	/* stderr goes to systemd's journal */

void policyd_log_open(const char *ident, bool to_syslog, bool verbose)
{
	log_to_syslog = to_syslog;
	log_verbose = verbose;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static const char *level_name(int priority)
{
	switch (priority) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: return "fatal";
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void policyd_log(int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (priority == LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_to_syslog)
		syslog(priority, "%s", line);
	else if (log_journal)
		/* The journal reads the priority from the <N> prefix. */
		fprintf(stderr, "<%d>%s: %s\n", priority, level_name(priority), line);
	else
		fprintf(stderr, "mtasts policyd: %s: %s\n", level_name(priority), line);
}

void policyd_log_close(void)
{
	if (log_to_syslog)
		closelog();
}
