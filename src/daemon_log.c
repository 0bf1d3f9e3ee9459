/*
 * daemon_log.c - see daemon_log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon_log.h"

static bool log_to_syslog;
static bool log_verbose;
static bool log_journal;	/* stderr goes to systemd's journal */
static char log_prefix[64] = "mtasts";	/* "mtasts policyd" for "mtasts-policyd" */

void daemon_log_open(const char *ident, bool to_syslog, bool verbose)
{
	log_to_syslog = to_syslog;
	log_verbose = verbose;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	snprintf(log_prefix, sizeof(log_prefix), "%s", ident);
	for (char *p = log_prefix; *p != '\0'; p++)
		if (*p == '-')
			*p = ' ';
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

bool daemon_log_debugging(void)
{
	return log_verbose;
}

void daemon_log_set_verbose(bool verbose)
{
	log_verbose = verbose;
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

void daemon_log(int priority, const char *fmt, ...)
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
		fprintf(stderr, "%s: %s: %s\n", log_prefix, level_name(priority), line);
}

void daemon_log_close(void)
{
	if (log_to_syslog)
		closelog();
}
