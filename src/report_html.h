/*
 * report_html.h - the stored TLS reports as one self-contained HTML page.
 *
 * The page needs nothing from the network: no external style sheet,
 * script, font or image (a Content-Security-Policy of default-src 'none'
 * says so to the browser), and charts are inline SVG drawn here.  For the
 * period [now - days * 86400, now) and the reports the filter's domain and
 * reporter match (its since and until are replaced by the period), it
 * shows the totals and, per domain: the verdict (report_domain_verdict()),
 * successful and failed sessions per day (one element of class "bar" per
 * day with reports, carrying data-day, data-success and data-failure),
 * failures by result type and by MX host, the reporters and when each
 * last reported, and the latest failure details (at most 50).  Every
 * string from a report is escaped for HTML text and attributes.
 */
#ifndef MTASTS_REPORT_HTML_H
#define MTASTS_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report_store.h"

#define REPORT_HTML_MAX_DOMAINS 100	/* domains shown in detail; the rest are counted */
#define REPORT_HTML_MAX_FAILURES 50	/* failure details listed per domain */
#define REPORT_HTML_MAX_BARS 12		/* result types or MX hosts charted per domain */

/*
 * Write the page to out.  Returns 0, or -1 with a reason in why when the
 * store failed, memory ran out or out could not be written (errno set).
 * days is 1 to 36600.
 */
int report_html_write(FILE *out, struct report_store *store, const struct report_filter *filter,
		      unsigned days, int64_t now, char *why, size_t why_size);

/* text escaped for HTML text and attribute values (& < > " '), with
 * control characters and octets that are not UTF-8 shown as \xHH. */
void report_html_escape(FILE *out, const char *text);

#endif
