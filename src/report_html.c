/*
 * report_html.c - the stored TLS reports as one self-contained HTML page
 * (report_html.h): a style sheet and SVG charts written inline, no script.
 *
 * Layout: a header with the period and totals, a list of domains with
 * their verdicts, then a section per domain.  The CSS adapts to narrow
 * screens (tables scroll inside their box, charts scale through their
 * viewBox and enlarge their text) and to a dark colour scheme.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_analysis.h"
#include "report_html.h"
#include "util.h"

#define DAY_SECONDS 86400
#define MAX_DAYS 36600
#define SILENT_DAYS 3			/* a reporter quiet this long is marked */

/* The day chart's drawing box (user units); the plot sits inside margins. */
#define DAY_W 640
#define DAY_H 280
#define DAY_LEFT 56
#define DAY_RIGHT 8
#define DAY_TOP 12
#define DAY_BOTTOM 30
#define MIN_SEGMENT 2.0			/* a non-zero part of a bar stays visible */

/* The horizontal bar charts: a label line above each bar. */
#define HBAR_W 360
#define HBAR_ROW 38
#define HBAR_NUMBER 72			/* room at the right for the number */
#define HBAR_LABEL_MAX 44		/* characters of a label drawn; the rest in its title */

static const char page_style[] =
	":root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--fg:#1f2328;--muted:#57606a;"
	"--line:#d0d7de;--grid:#e4e8ec;--ok:#1a7f37;--fail:#cf222e;--ok-bg:#e6f6ea;--fail-bg:#fdecea;"
	"--none-bg:#eef1f4;--warn:#9a6700}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;"
	"--muted:#9198a1;--line:#30363d;--grid:#262c36;--ok:#3fb950;--fail:#f85149;--ok-bg:#12261b;"
	"--fail-bg:#2f1517;--none-bg:#1c2128;--warn:#d29922}}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:var(--bg);color:var(--fg);"
	"font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;"
	"-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
	".page{max-width:1040px;margin:0 auto;padding:28px 20px 48px}\n"
	"h1{font-size:1.65rem;line-height:1.25;margin:0 0 6px}\n"
	"h2{font-size:1.35rem;line-height:1.3;margin:0 0 12px;overflow-wrap:anywhere}\n"
	"h3{font-size:1rem;margin:24px 0 8px}\n"
	".meta,.note{color:var(--muted);margin:0}\n"
	".note{font-size:.9rem;margin-top:6px}\n"
	".totals{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;"
	"margin:20px 0 8px;padding:0;list-style:none}\n"
	".totals li{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}\n"
	".totals b{display:block;font-size:1.45rem;font-variant-numeric:tabular-nums;line-height:1.2}\n"
	".totals span{color:var(--muted);font-size:.85rem}\n"
	".totals .ok b{color:var(--ok)}.totals .fail b{color:var(--fail)}\n"
	".card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 22px;"
	"margin:22px 0}\n"
	".domains{list-style:none;padding:0;margin:0}\n"
	".domains li{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:baseline;padding:8px 0;"
	"border-bottom:1px solid var(--line)}\n"
	".domains li:last-child{border-bottom:0}\n"
	".domains a{color:inherit;font-weight:600;overflow-wrap:anywhere}\n"
	".chip{font-size:.85rem;border-radius:999px;padding:1px 10px;background:var(--none-bg)}\n"
	".chip.ready{background:var(--ok-bg);color:var(--ok)}.chip.fix{background:var(--fail-bg);color:var(--fail)}\n"
	".verdict{border-left:6px solid var(--muted);background:var(--none-bg);border-radius:8px;"
	"padding:12px 16px;margin:0 0 16px}\n"
	".verdict strong{display:block;font-size:1.1rem}\n"
	".verdict.ready{border-color:var(--ok);background:var(--ok-bg)}\n"
	".verdict.fix{border-color:var(--fail);background:var(--fail-bg)}\n"
	".figures{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0;color:var(--muted)}\n"
	".figures b{color:var(--fg);font-variant-numeric:tabular-nums}\n"
	".chart{margin:0}\n"
	".chart svg{display:block;width:100%;height:auto}\n"
	".chart text{fill:var(--muted);font-size:13px}\n"
	".day-chart text{font-size:12px}\n"
	".chart .label{fill:var(--fg)}\n"
	".chart .grid{stroke:var(--grid);stroke-width:1}\n"
	".chart .axis{stroke:var(--line);stroke-width:1}\n"
	".chart .ok{fill:var(--ok)}.chart .fail{fill:var(--fail)}\n"
	".chart .bar:hover rect{opacity:.8}\n"
	".legend{display:flex;gap:18px;font-size:.9rem;color:var(--muted);margin:6px 0 0}\n"
	".legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px;"
	"vertical-align:-1px}\n"
	".legend .ok{background:var(--ok)}.legend .fail{background:var(--fail)}\n"
	".pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:0 28px}\n"
	".table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);"
	"border-radius:8px}\n"
	"table{border-collapse:collapse;width:100%;font-size:.875rem}\n"
	"th,td{padding:7px 12px;text-align:left;white-space:nowrap;border-bottom:1px solid var(--line)}\n"
	"tr:last-child td{border-bottom:0}\n"
	"th{color:var(--muted);font-weight:600;background:var(--none-bg)}\n"
	".num{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td.long{white-space:normal;min-width:18em;overflow-wrap:anywhere}\n"
	".silent{color:var(--warn);font-weight:600}\n"
	".empty{text-align:center;padding:40px 20px}\n"
	".empty strong{display:block;font-size:1.2rem;margin-bottom:6px}\n"
	"footer{color:var(--muted);font-size:.85rem;margin-top:32px}\n"
	"@media (max-width:640px){.page{padding:18px 12px 36px}.card{padding:16px 14px}"
	"h1{font-size:1.4rem}.day-chart text{font-size:22px}.day-chart .minor{display:none}}\n";

/* ------------------------------------------------------------ writing */

/* Length of the UTF-8 character at s (1 to 4), or 0 when it is not one. */
static size_t utf8_length(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Write at most max characters of text escaped (0: all); true when cut. */
static bool escape_cut(FILE *out, const char *text, size_t max)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t shown = 0;

	while (*s != '\0') {
		size_t n = utf8_length(s);

		if (max > 0 && shown == max)
			return true;
		shown++;
		if (n == 0 || *s < 0x20 || *s == 0x7f || (s[0] == 0xc2 && s[1] < 0xa0)) {
			/* control characters and broken UTF-8, shown rather than obeyed */
			size_t octets = n ? n : 1;

			for (size_t i = 0; i < octets; i++)
				fprintf(out, "\\x%02X", s[i]);
			s += octets;
			continue;
		}
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fwrite(s, 1, n, out);
		}
		s += n;
	}
	return false;
}

void report_html_escape(FILE *out, const char *text)
{
	escape_cut(out, text, 0);
}

/* n with thousands separators. */
static const char *count_text(uint64_t n, char buf[32])
{
	char digits[24];
	size_t len, o = 0;

	len = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, n);
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* A short axis number: 950, 1.2k, 15k, 3.4M. */
static const char *short_count(double n, char buf[32])
{
	if (n >= 1e6)
		snprintf(buf, 32, n >= 1e7 ? "%.0fM" : "%.1fM", n / 1e6);
	else if (n >= 1e3)
		snprintf(buf, 32, n >= 1e4 ? "%.0fk" : "%.1fk", n / 1e3);
	else
		snprintf(buf, 32, "%.0f", n);
	return buf;
}

static const char *percent_text(uint64_t part, uint64_t whole, char buf[32])
{
	double p;

	if (whole == 0)
		return "\xe2\x80\x93";	/* an en dash: nothing to divide */
	p = 100.0 * (double)part / (double)whole;
	/* never round a failure up to 100% or down to 0% */
	if (part < whole && p > 99.9)
		snprintf(buf, 32, "%.2f%%", p > 99.99 ? 99.99 : p);
	else if (part > 0 && p < 0.1)
		snprintf(buf, 32, "%.2f%%", p < 0.01 ? 0.01 : p);
	else
		snprintf(buf, 32, "%.1f%%", p);
	return buf;
}

static int64_t day_floor(int64_t t)
{
	int64_t day = t / DAY_SECONDS;

	if (t % DAY_SECONDS < 0)
		day--;
	return day * DAY_SECONDS;
}

enum time_form {
	AS_DAY,				/* 2026-11-30 */
	AS_MINUTE,			/* 2026-11-30 14:05 UTC */
	AS_AXIS,			/* Nov 30 */
};

static const char *time_text(int64_t t, enum time_form form, char buf[40])
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&tt, &tm) != NULL) {
		if (form == AS_DAY)
			n = strftime(buf, 40, "%Y-%m-%d", &tm);
		else if (form == AS_MINUTE)
			n = strftime(buf, 40, "%Y-%m-%d %H:%M UTC", &tm);
		else
			n = strftime(buf, 40, "%b %e", &tm);
	}
	if (n == 0)
		snprintf(buf, 40, "%" PRId64, t);
	return buf;
}

/* ------------------------------------------------------- the queries */

/* What a domain's section shows, gathered before anything is written. */
struct domain_data {
	struct domain_verdict verdict;
	struct summary_row *days, *types, *mxs, total;
	size_t day_count, type_count, mx_count;
	struct reporter_row *reporters;
	size_t reporter_count;
	struct failure_row *failures;
	size_t failure_count;
};

static void domain_data_clear(struct domain_data *d)
{
	summary_rows_free(d->days, d->day_count);
	summary_rows_free(d->types, d->type_count);
	summary_rows_free(d->mxs, d->mx_count);
	summary_row_clear(&d->total);
	reporter_rows_free(d->reporters, d->reporter_count);
	failure_rows_free(d->failures, d->failure_count);
	memset(d, 0, sizeof(*d));
}

static int summary(struct report_store *store, const struct report_filter *filter, enum report_group group,
		   struct summary_row **ret_rows, size_t *ret_count, char *why, size_t why_size)
{
	struct summary_row total = { 0 };
	int rc = report_store_summary(store, filter, group, ret_rows, ret_count, &total, why, why_size);

	summary_row_clear(&total);
	return rc;
}

static int domain_data_load(struct report_store *store, const struct report_filter *period, unsigned days,
			    int64_t now, struct domain_data *d, char *why, size_t why_size)
{
	struct report_filter all_time = { .domain = period->domain, .reporter = period->reporter,
					  .until = period->until };

	memset(d, 0, sizeof(*d));
	if (report_domain_verdict(store, period, days, now, &d->verdict, why, why_size) < 0 ||
	    report_store_summary(store, period, GROUP_DAY, &d->days, &d->day_count, &d->total,
				 why, why_size) < 0 ||
	    summary(store, period, GROUP_RESULT_TYPE, &d->types, &d->type_count, why, why_size) < 0 ||
	    summary(store, period, GROUP_MX, &d->mxs, &d->mx_count, why, why_size) < 0 ||
	    report_store_reporters(store, &all_time, &d->reporters, &d->reporter_count, why, why_size) < 0 ||
	    report_store_failures(store, period, REPORT_HTML_MAX_FAILURES, &d->failures, &d->failure_count,
				  why, why_size) < 0) {
		domain_data_clear(d);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------- the charts */

/*
 * The step between the four grid lines above zero, so that 4 * step >= n:
 * a whole number up to 10, then 1, 2, 2.5 or 5 times a power of ten.
 */
static double axis_step(double n)
{
	static const double steps[] = { 1, 2, 2.5, 5, 10 };
	double quarter = n / 4, scale = 10;

	if (quarter <= 10)
		return quarter < 1 ? 1 : (double)(uint64_t)(quarter + 0.999999);
	while (scale * 10 < quarter)
		scale *= 10;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] * scale >= quarter)
			return steps[i] * scale;
	return 10 * scale;
}

static void day_chart_axes(FILE *out, double top, int64_t first_day, size_t slots, double slot_w)
{
	const double plot_h = DAY_H - DAY_TOP - DAY_BOTTOM;
	size_t step = slots <= 8 ? 1 : (slots + 5) / 6;
	char buf[32], day[40];

	for (int i = 0; i <= 4; i++) {
		double y = DAY_TOP + plot_h - plot_h * i / 4;

		fprintf(out, "<line class=\"%s\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>",
			i == 0 ? "axis" : "grid", DAY_LEFT, DAY_W - DAY_RIGHT, y, y);
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\"%s>%s</text>\n",
			DAY_LEFT - 8, y, i % 2 || i == 0 ? " class=\"minor\"" : "", short_count(top * i / 4, buf));
	}
	for (size_t i = 0; i < slots; i += step) {
		/* every other label goes on narrow screens, where the text is larger */
		bool minor = (i / step) % 2 == 1 && slots > 4;

		fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\"%s>%s</text>\n",
			DAY_LEFT + slot_w * ((double)i + 0.5), DAY_H - 8, minor ? " class=\"minor\"" : "",
			time_text(first_day + (int64_t)i * DAY_SECONDS, AS_AXIS, day));
	}
}

static void day_chart_bar(FILE *out, const struct summary_row *r, double x, double width, double top)
{
	const double plot_h = DAY_H - DAY_TOP - DAY_BOTTOM, base = DAY_TOP + plot_h;
	double ok_h = plot_h * (double)r->successes / top, fail_h = plot_h * (double)r->failures / top;
	char a[32], b[32];

	if (r->successes > 0 && ok_h < MIN_SEGMENT)
		ok_h = MIN_SEGMENT;
	if (r->failures > 0 && fail_h < MIN_SEGMENT)
		fail_h = MIN_SEGMENT;
	fputs("<g class=\"bar\" data-day=\"", out);
	report_html_escape(out, r->key);
	fprintf(out, "\" data-success=\"%" PRIu64 "\" data-failure=\"%" PRIu64 "\"><title>", r->successes,
		r->failures);
	report_html_escape(out, r->key);
	fprintf(out, ": %s successful, %s failed sessions</title>", count_text(r->successes, a),
		count_text(r->failures, b));
	fprintf(out, "<rect class=\"ok\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>", x,
		base - ok_h, width, ok_h);
	fprintf(out, "<rect class=\"fail\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/></g>\n", x,
		base - ok_h - fail_h, width, fail_h);
}

/* Days are keyed "YYYY-MM-DD"; the slot of one in the period, or -1. */
static long day_slot(const char *key, int64_t first_day, size_t slots)
{
	unsigned y, m, d;
	int64_t yy, era, day;
	unsigned yoe, doy;
	char rest;

	if (key == NULL || sscanf(key, "%4u-%2u-%2u%c", &y, &m, &d, &rest) != 3 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	/* days since 1970-01-01 (H. Hinnant's days_from_civil) */
	yy = (int64_t)y - (m <= 2);
	era = yy / 400;
	yoe = (unsigned)(yy - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	day = (era * 146097 + (int64_t)(yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468) * DAY_SECONDS;
	if (day < first_day || (uint64_t)(day - first_day) / DAY_SECONDS >= slots)
		return -1;
	return (long)((day - first_day) / DAY_SECONDS);
}

static void day_chart(FILE *out, const struct domain_data *d, int64_t since, int64_t now)
{
	int64_t first_day = day_floor(since);
	size_t slots = (size_t)((day_floor(now - 1) - first_day) / DAY_SECONDS + 1);
	double slot_w = (double)(DAY_W - DAY_LEFT - DAY_RIGHT) / (double)slots, most = 0, top;

	for (size_t i = 0; i < d->day_count; i++)
		if ((double)d->days[i].sessions > most)
			most = (double)d->days[i].sessions;
	top = 4 * axis_step(most);
	fprintf(out, "<figure class=\"chart day-chart\"><svg viewBox=\"0 0 %d %d\" width=\"100%%\" "
		"role=\"img\" aria-label=\"Successful and failed sessions per day\">\n", DAY_W, DAY_H);
	day_chart_axes(out, top, first_day, slots, slot_w);
	for (size_t i = 0; i < d->day_count; i++) {
		long slot = day_slot(d->days[i].key, first_day, slots);

		if (slot >= 0)
			day_chart_bar(out, &d->days[i], DAY_LEFT + slot_w * ((double)slot + 0.15),
				      slot_w * 0.7, top);
	}
	fputs("</svg><figcaption class=\"legend\"><span><i class=\"ok\"></i>successful</span>"
	      "<span><i class=\"fail\"></i>failed</span></figcaption></figure>\n", out);
}

static int by_failures(const void *x, const void *y)
{
	const struct summary_row *a = *(const struct summary_row *const *)x;
	const struct summary_row *b = *(const struct summary_row *const *)y;

	if (a->failures != b->failures)
		return a->failures > b->failures ? -1 : 1;
	return strcmp(a->key ? a->key : "", b->key ? b->key : "");
}

/* Failures by a key, most first, as labelled horizontal bars. */
static int failure_bars(FILE *out, const char *heading, const char *absent, const struct summary_row *rows,
			size_t count)
{
	const struct summary_row **sorted = NULL;
	size_t shown = 0;
	double most;
	char buf[32];

	fprintf(out, "<div><h3>%s</h3>\n", heading);
	if (count > 0 && (sorted = calloc(count, sizeof(*sorted))) == NULL)
		return -1;
	for (size_t i = 0; i < count; i++)
		if (rows[i].failures > 0)
			sorted[shown++] = &rows[i];
	if (shown == 0) {
		fputs("<p class=\"note\">No failures.</p></div>\n", out);
		free(sorted);
		return 0;
	}
	qsort(sorted, shown, sizeof(*sorted), by_failures);
	most = (double)sorted[0]->failures;
	count = shown < REPORT_HTML_MAX_BARS ? shown : REPORT_HTML_MAX_BARS;
	fprintf(out, "<figure class=\"chart\"><svg viewBox=\"0 0 %d %zu\" width=\"100%%\" role=\"img\" "
		"aria-label=\"%s\">\n", HBAR_W, count * HBAR_ROW, heading);
	for (size_t i = 0; i < count; i++) {
		const struct summary_row *r = sorted[i];
		const char *label = r->key && r->key[0] ? r->key : absent;
		double y = (double)(i * HBAR_ROW), width = (HBAR_W - HBAR_NUMBER) * (double)r->failures / most;

		fputs("<g><title>", out);
		report_html_escape(out, label);
		fprintf(out, ": %s failed sessions</title><text class=\"label\" x=\"0\" y=\"%.0f\">", count_text(r->failures, buf), y + 14);
		if (escape_cut(out, label, HBAR_LABEL_MAX))
			fputs("\xe2\x80\xa6", out);
		fprintf(out, "</text><rect class=\"fail\" x=\"0\" y=\"%.0f\" rx=\"2\" width=\"%.2f\" height=\"14\"/>",
			y + 20, width < 2 ? 2 : width);
		fprintf(out, "<text x=\"%.2f\" y=\"%.0f\">%s</text></g>\n", (width < 2 ? 2 : width) + 6, y + 32,
			count_text(r->failures, buf));
	}
	fputs("</svg></figure>\n", out);
	if (shown > count)
		fprintf(out, "<p class=\"note\">and %zu more</p>\n", shown - count);
	fputs("</div>\n", out);
	free(sorted);
	return 0;
}

/* ------------------------------------------------------- the tables */

static void reporters_table(FILE *out, const struct domain_data *d, int64_t now)
{
	char buf[32], first[40], last[40];

	fputs("<h3>Reporters</h3>\n", out);
	if (d->reporter_count == 0) {
		fputs("<p class=\"note\">No reporter has sent a report on this domain.</p>\n", out);
		return;
	}
	fputs("<div class=\"table-wrap\"><table><thead><tr><th>Reporter</th><th class=\"num\">Reports</th>"
	      "<th>First report</th><th>Last report ended</th><th>Since then</th></tr></thead><tbody>\n", out);
	for (size_t i = 0; i < d->reporter_count; i++) {
		const struct reporter_row *r = &d->reporters[i];
		int64_t quiet = now > r->last_end ? (now - r->last_end) / DAY_SECONDS : 0;

		fputs("<tr><td>", out);
		report_html_escape(out, r->organization_name);
		fprintf(out, "</td><td class=\"num\">%s</td><td>%s</td><td>%s</td>", count_text(r->reports, buf),
			time_text(r->first_start, AS_DAY, first),
			time_text(r->last_end, AS_MINUTE, last));
		if (quiet >= SILENT_DAYS)
			fprintf(out, "<td class=\"silent\">silent for %" PRId64 " days</td></tr>\n", quiet);
		else if (quiet == 0)
			fputs("<td>less than a day</td></tr>\n", out);
		else
			fprintf(out, "<td>%" PRId64 " %s</td></tr>\n", quiet, quiet == 1 ? "day" : "days");
	}
	fputs("</tbody></table></div>\n", out);
}

static void cell(FILE *out, const char *class, const char *text)
{
	fprintf(out, "<td%s%s%s>", class ? " class=\"" : "", class ? class : "", class ? "\"" : "");
	report_html_escape(out, text);
	fputs("</td>", out);
}

static void failures_table(FILE *out, const struct domain_data *d)
{
	char buf[32], day[40];

	fputs("<h3>Latest failures</h3>\n", out);
	if (d->failure_count == 0) {
		fputs("<p class=\"note\">No failure details in this period.</p>\n", out);
		return;
	}
	fputs("<div class=\"table-wrap\"><table><thead><tr><th>Day</th><th>Reporter</th><th>Result type</th>"
	      "<th>MX host</th><th>Receiving IP</th><th>Sending MTA</th><th class=\"num\">Sessions</th>"
	      "<th>Reason code</th><th>Additional information</th></tr></thead><tbody>\n", out);
	for (size_t i = 0; i < d->failure_count; i++) {
		const struct failure_row *f = &d->failures[i];

		fprintf(out, "<tr><td>%s</td>", time_text(f->start, AS_DAY, day));
		cell(out, NULL, f->organization_name);
		cell(out, NULL, f->result_type);
		cell(out, NULL, f->receiving_mx_hostname);
		cell(out, NULL, f->receiving_ip);
		cell(out, NULL, f->sending_mta_ip);
		fprintf(out, "<td class=\"num\">%s</td>", count_text(f->failed_session_count, buf));
		cell(out, NULL, f->failure_reason_code);
		cell(out, "long", f->additional_information);
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n", out);
	if (d->failure_count == REPORT_HTML_MAX_FAILURES)
		fprintf(out, "<p class=\"note\">The latest %d are shown.</p>\n", REPORT_HTML_MAX_FAILURES);
}

/* ------------------------------------------------------- the page */

static const char *verdict_class(enum verdict_kind kind)
{
	return kind == VERDICT_READY ? "ready" : kind == VERDICT_FIX_FIRST ? "fix" : "nodata";
}

static const char *verdict_title(enum verdict_kind kind)
{
	return kind == VERDICT_READY ? "Ready for enforce" : kind == VERDICT_FIX_FIRST ? "Fix first" : "No data";
}

static int domain_section(FILE *out, size_t index, const char *domain, const struct domain_data *d,
			  int64_t since, int64_t now)
{
	char a[32], b[32], c[32];

	fprintf(out, "<section class=\"card domain\" id=\"domain-%zu\" data-domain=\"", index);
	report_html_escape(out, domain);
	fputs("\">\n<h2>", out);
	report_html_escape(out, domain[0] ? domain : "(no policy domain)");
	fprintf(out, "</h2>\n<div class=\"verdict %s\"><strong>%s</strong><span class=\"sentence\">",
		verdict_class(d->verdict.kind), verdict_title(d->verdict.kind));
	report_html_escape(out, d->verdict.sentence);
	fputs("</span></div>\n", out);
	fprintf(out, "<p class=\"figures\"><span><b>%s</b> sessions</span>", count_text(d->total.sessions, a));
	fprintf(out, "<span><b>%s</b> failed</span>", count_text(d->total.failures, b));
	fprintf(out, "<span><b>%s</b> successful</span>", percent_text(d->total.successes, d->total.sessions, c));
	fprintf(out, "<span><b>%s</b> %s</span></p>\n", count_text(d->total.reports, a),
		d->total.reports == 1 ? "report" : "reports");
	fputs("<h3>Sessions per day</h3>\n", out);
	day_chart(out, d, since, now);
	fputs("<div class=\"pair\">\n", out);
	if (failure_bars(out, "Failures by result type", "(none given)", d->types, d->type_count) < 0 ||
	    failure_bars(out, "Failures by MX host", "(no MX host given)", d->mxs, d->mx_count) < 0)
		return -1;
	fputs("</div>\n", out);
	reporters_table(out, d, now);
	failures_table(out, d);
	fputs("</section>\n", out);
	return 0;
}

static void page_head(FILE *out, const struct report_filter *filter, unsigned days, int64_t since, int64_t now)
{
	char from[40], to[40], generated[40];

	time_text(since, AS_DAY, from);
	time_text(now - 1, AS_DAY, to);
	time_text(now, AS_MINUTE, generated);
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"referrer\" content=\"no-referrer\">\n", out);
	fprintf(out, "<title>TLS reports %s to %s</title>\n<style>\n%s</style>\n</head>\n<body>\n"
		"<main class=\"page\">\n<header>\n<h1>SMTP TLS reports</h1>\n", from, to, page_style);
	fprintf(out, "<p class=\"meta\">%s to %s (%u %s) &middot; generated %s", from, to, days,
		days == 1 ? "day" : "days", generated);
	if (filter->domain != NULL) {
		fputs(" &middot; domain ", out);
		report_html_escape(out, filter->domain);
	}
	if (filter->reporter != NULL) {
		fputs(" &middot; reporter ", out);
		report_html_escape(out, filter->reporter);
	}
	fputs("</p>\n", out);
}

static void page_totals(FILE *out, const struct summary_row *total, size_t domains)
{
	char a[32];

	fprintf(out, "<ul class=\"totals\"><li><b>%s</b><span>%s</span></li>", count_text(domains, a),
		domains == 1 ? "domain" : "domains");
	fprintf(out, "<li><b>%s</b><span>%s</span></li>", count_text(total->reports, a),
		total->reports == 1 ? "report" : "reports");
	fprintf(out, "<li><b>%s</b><span>sessions</span></li>\n", count_text(total->sessions, a));
	fprintf(out, "<li%s><b>%s</b><span>successful</span></li>", total->successes ? " class=\"ok\"" : "",
		count_text(total->successes, a));
	fprintf(out, "<li%s><b>%s</b><span>failed</span></li>", total->failures ? " class=\"fail\"" : "",
		count_text(total->failures, a));
	fprintf(out, "<li><b>%s</b><span>success rate</span></li></ul>\n</header>\n",
		percent_text(total->successes, total->sessions, a));
}

/* The list of domains at the top, each with its verdict and a link. */
static void domain_index(FILE *out, const struct summary_row *domains, const struct domain_verdict *verdicts,
			 size_t count, size_t total_count)
{
	fputs("<nav class=\"card\" aria-label=\"Domains\"><ul class=\"domains\">\n", out);
	for (size_t i = 0; i < count; i++) {
		fprintf(out, "<li><a href=\"#domain-%zu\">", i + 1);
		report_html_escape(out, domains[i].key[0] ? domains[i].key : "(no policy domain)");
		fprintf(out, "</a><span class=\"chip %s\">%s</span><span class=\"note\">",
			verdict_class(verdicts[i].kind), verdict_title(verdicts[i].kind));
		report_html_escape(out, verdicts[i].sentence);
		fputs("</span></li>\n", out);
	}
	fputs("</ul>", out);
	if (total_count > count)
		fprintf(out, "<p class=\"note\">%zu more domains are not shown; ask for one with a domain filter.</p>",
			total_count - count);
	fputs("</nav>\n", out);
}

static int page_domains(FILE *out, struct report_store *store, const struct report_filter *period,
			const struct summary_row *domains, size_t count, unsigned days, int64_t now,
			char *why, size_t why_size)
{
	size_t shown = count < REPORT_HTML_MAX_DOMAINS ? count : REPORT_HTML_MAX_DOMAINS;
	struct domain_verdict *verdicts = calloc(shown ? shown : 1, sizeof(*verdicts));
	int rc = -1;

	if (verdicts == NULL) {
		say_why(why, why_size, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < shown; i++) {
		struct report_filter one = *period;

		one.domain = domains[i].key;
		if (report_domain_verdict(store, &one, days, now, &verdicts[i], why, why_size) < 0)
			goto out;
	}
	domain_index(out, domains, verdicts, shown, count);
	for (size_t i = 0; i < shown; i++) {
		struct report_filter one = *period;
		struct domain_data d;

		one.domain = domains[i].key;
		if (domain_data_load(store, &one, days, now, &d, why, why_size) < 0)
			goto out;
		if (domain_section(out, i + 1, domains[i].key, &d, period->since, now) < 0) {
			domain_data_clear(&d);
			say_why(why, why_size, "out of memory");
			errno = ENOMEM;
			goto out;
		}
		domain_data_clear(&d);
	}
	rc = 0;
out:
	free(verdicts);
	return rc;
}

int report_html_write(FILE *out, struct report_store *store, const struct report_filter *filter,
		      unsigned days, int64_t now, char *why, size_t why_size)
{
	struct report_filter everything = { 0 }, period;
	struct summary_row *domains = NULL, total = { 0 };
	size_t domain_count = 0;
	int rc = -1;

	if (days == 0 || days > MAX_DAYS) {
		say_why(why, why_size, "a period of 1 to %u days is required, not %u", MAX_DAYS, days);
		errno = EINVAL;
		return -1;
	}
	period = filter ? *filter : everything;
	report_period(now, days, &period.since, &period.until);
	if (report_store_summary(store, &period, GROUP_DOMAIN, &domains, &domain_count, &total, why, why_size) < 0)
		return -1;
	page_head(out, &period, days, period.since, now);
	page_totals(out, &total, domain_count);
	if (domain_count == 0)
		fputs("<section class=\"card empty\"><strong>There are no reports for this period.</strong>"
		      "<p class=\"note\">Reports appear here once reporters send them to the address in the "
		      "domain's TLSRPT record and they are received into the store.</p></section>\n", out);
	else if (page_domains(out, store, &period, domains, domain_count, days, now, why, why_size) < 0)
		goto out;
	fputs("<footer>Times are UTC. A report counts on the day its date range starts. "
	      "Made by mtasts.</footer>\n</main>\n</body>\n</html>\n", out);
	if (fflush(out) != 0 || ferror(out)) {
		say_why(why, why_size, "writing the page: %s", strerror(errno ? errno : EIO));
		goto out;
	}
	rc = 0;
out:
	summary_rows_free(domains, domain_count);
	summary_row_clear(&total);
	return rc;
}
