/*
 * test_report_html.c - the HTML page of the reports (src/report_html.c):
 * every string from a report escaped, a page with no way to reach the
 * network, one bar per day with reports carrying the exact figures, the
 * verdicts, the limits on what is listed, and an empty store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report_fixture.h"
#include "report_html.h"

#define DAY 86400
#define NOW (fixture_day(2026, 12, 2) + 10 * 3600)

static int setup(void **state)
{
	static struct fixture f;

	if (fixture_open(&f) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fixture_close(*state);
	return 0;
}

static void add(void **state, const char *org, const char *id, const char *domain, int64_t start,
		uint64_t successes, uint64_t failures, const struct fixture_failure *details, size_t count)
{
	assert_int_equal(fixture_report(*state, org, id, domain, start, successes, failures, details, count),
			 STORE_ADDED);
}

/* The page for filter over days; a string to free. */
static char *page(void **state, const struct report_filter *filter, unsigned days)
{
	struct fixture *f = *state;
	char why[512] = "", *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	if (report_html_write(out, f->store, filter, days, NOW, why, sizeof(why)) < 0)
		fail_msg("report_html_write: %s", why);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static size_t occurrences(const char *text, const char *what)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

static char *escaped(const char *text)
{
	char *result = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&result, &len);

	assert_non_null(out);
	report_html_escape(out, text);
	assert_int_equal(fclose(out), 0);
	return result;
}

static void assert_escaped(const char *text, const char *expected)
{
	char *result = escaped(text);

	assert_string_equal(result, expected);
	free(result);
}

static void test_escape(void **state)
{
	(void)state;
	assert_escaped("plain text", "plain text");
	assert_escaped("<a href=\"x\">&'", "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
	assert_escaped("\x01\x1b[31mred\x7f", "\\x01\\x1B[31mred\\x7F");
	assert_escaped("tab\there\nline", "tab\\x09here\\x0Aline");
	assert_escaped("c1 \xc2\x85 nel", "c1 \\xC2\\x85 nel");
	assert_escaped("bad \xff \xc3 \xe0\x80\x80", "bad \\xFF \\xC3 \\xE0\\x80\\x80");
	assert_escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0");
	assert_escaped("", "");
	assert_escaped(NULL, "");
}

/* What every page must hold, and never hold: nothing that reaches the network or runs. */
static void assert_self_contained(const char *html)
{
	assert_true(strncmp(html, "<!DOCTYPE html>\n", 16) == 0);
	assert_non_null(strstr(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
				     "style-src 'unsafe-inline'; img-src data:\">"));
	assert_non_null(strstr(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
	assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(html, "prefers-color-scheme:dark"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "http:"));
	assert_null(strstr(html, "https:"));
	assert_null(strstr(html, "url("));
	assert_null(strstr(html, "@import"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<iframe"));
	assert_null(strstr(html, "<object"));
	assert_null(strstr(html, "<embed"));
	assert_null(strstr(html, "<link"));
	assert_true(strlen(html) > 100 && strcmp(html + strlen(html) - 8, "</html>\n") == 0);
}

static void test_empty_store(void **state)
{
	char *html = page(state, NULL, 30);

	assert_self_contained(html);
	assert_non_null(strstr(html, "There are no reports for this period."));
	assert_non_null(strstr(html, "2026-11-03 to 2026-12-02 (30 days)"));
	assert_non_null(strstr(html, "generated 2026-12-02 10:00 UTC"));
	assert_int_equal(occurrences(html, "class=\"bar\""), 0);
	assert_int_equal(occurrences(html, "<section class=\"card domain\""), 0);
	free(html);
}

/* The section of one domain, cut out of the page (to free). */
static char *section(const char *html, const char *domain)
{
	char start[300];
	const char *from, *to;

	snprintf(start, sizeof(start), "data-domain=\"%s\"", domain);
	from = strstr(html, start);
	assert_non_null(from);
	to = strstr(from, "</section>");
	assert_non_null(to);
	return strndup(from, (size_t)(to - from));
}

static void test_bars_and_verdicts(void **state)
{
	static const struct fixture_failure f1[] = {
		{ "certificate-expired", "mx1.a.example", 3, NULL },
		{ "starttls-not-supported", "mx2.a.example", 1, NULL },
	};
	static const struct fixture_failure f2[] = { { "certificate-expired", "mx1.a.example", 2, NULL } };
	char *html, *a, *b;

	add(state, "Org One", "1", "a.example", fixture_day(2026, 11, 20), 1000, 4, f1, 2);
	add(state, "Org Two", "2", "a.example", fixture_day(2026, 11, 20), 500, 2, f2, 1);
	add(state, "Org One", "3", "a.example", fixture_day(2026, 11, 28), 1200, 0, NULL, 0);
	add(state, "Org One", "4", "a.example", fixture_day(2026, 12, 1), 900, 0, NULL, 0);
	add(state, "Org One", "5", "b.example", fixture_day(2026, 12, 1), 40, 0, NULL, 0);
	add(state, "Org One", "6", "c.example", fixture_day(2026, 10, 1), 40, 0, NULL, 0);	/* before */
	html = page(state, NULL, 30);
	assert_self_contained(html);
	assert_int_equal(occurrences(html, "<section class=\"card domain\""), 2);
	assert_null(strstr(html, "c.example"));
	assert_int_equal(occurrences(html, "class=\"bar\""), 4);
	/* the header's totals */
	assert_non_null(strstr(html, "<b>2</b><span>domains</span>"));
	assert_non_null(strstr(html, "<b>5</b><span>reports</span>"));
	assert_non_null(strstr(html, "<b>3,646</b><span>sessions</span>"));
	assert_non_null(strstr(html, "<b>6</b><span>failed</span>"));

	a = section(html, "a.example");
	assert_int_equal(occurrences(a, "class=\"bar\""), 3);
	assert_non_null(strstr(a, "data-day=\"2026-11-20\" data-success=\"1500\" data-failure=\"6\"><title>"
				  "2026-11-20: 1,500 successful, 6 failed sessions</title>"));
	assert_non_null(strstr(a, "data-day=\"2026-11-28\" data-success=\"1200\" data-failure=\"0\""));
	assert_non_null(strstr(a, "data-day=\"2026-12-01\" data-success=\"900\" data-failure=\"0\""));
	assert_non_null(strstr(a, "<div class=\"verdict fix\"><strong>Fix first</strong><span class=\"sentence\">"
				  "6 failures from 2 reporters: fix certificate-expired on mx1.a.example first</span>"));
	assert_non_null(strstr(a, "certificate-expired: 5 failed sessions</title>"));
	assert_non_null(strstr(a, "mx1.a.example: 5 failed sessions</title>"));
	assert_non_null(strstr(a, "<td>Org Two</td><td class=\"num\">1</td>"));
	assert_int_equal(occurrences(a, "<td>192.0.2.25</td>"), 3);	/* the failure details */
	b = section(html, "b.example");
	assert_int_equal(occurrences(b, "class=\"bar\""), 1);
	assert_non_null(strstr(b, "data-day=\"2026-12-01\" data-success=\"40\" data-failure=\"0\""));
	assert_non_null(strstr(b, "no failures in 30 days: ready for enforce"));
	assert_non_null(strstr(b, "No failure details in this period."));
	free(a);
	free(b);
	free(html);

	/* a domain filter leaves one section; a week leaves out Nov 20 */
	html = page(state, &(struct report_filter){ .domain = "a.example" }, 7);
	assert_int_equal(occurrences(html, "<section class=\"card domain\""), 1);
	assert_int_equal(occurrences(html, "class=\"bar\""), 2);
	assert_non_null(strstr(html, "no failures in 7 days: ready for enforce"));
	free(html);
}

/* Strings from the network, hostile ones included, reach the page only escaped. */
static void test_hostile_strings(void **state)
{
	static const struct fixture_failure evil[] = {
		{ "\"><img src=x onerror=alert(1)>", "mx.evil.example\" onmouseover=\"x", 2,
		  "</td></tr><script>alert(2)</script>\x1b[2J" },
	};
	char *html;

	add(state, "<script>alert(0)</script> & 'Co'", "evil", "evil.example", fixture_day(2026, 12, 1),
	    10, 2, evil, 1);
	html = page(state, NULL, 30);
	assert_self_contained(html);
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "\" onmouseover"));
	assert_null(strstr(html, "\x1b"));
	assert_non_null(strstr(html, "<td>&lt;script&gt;alert(0)&lt;/script&gt; &amp; &#39;Co&#39;</td>"));
	assert_non_null(strstr(html, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(html, "mx.evil.example&quot; onmouseover=&quot;x"));
	assert_non_null(strstr(html, "&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(2)&lt;/script&gt;\\x1B[2J"));
	free(html);
}

/* At most 50 failure details and 12 bars of causes; long labels cut on a character. */
static void test_limits(void **state)
{
	static char info[60][32], types[60][32];
	struct fixture_failure details[60];
	char *html, label[200];

	for (int i = 0; i < 60; i++) {
		snprintf(info[i], sizeof(info[i]), "detail-%02d", i);
		snprintf(types[i], sizeof(types[i]), "type-%02d", i);
		details[i] = (struct fixture_failure){ types[i], "mx.many.example", (uint64_t)i + 1, info[i] };
	}
	add(state, "Org", "many", "many.example", fixture_day(2026, 12, 1), 100, 1830, details, 60);
	memset(label, 0, sizeof(label));
	memset(label, 'm', 60);
	memcpy(label + 60, ".example", 8);
	add(state, "Org", "long", "long.example", fixture_day(2026, 12, 1), 100, 1,
	    &(struct fixture_failure){ "validation-failure", label, 1, NULL }, 1);
	html = page(state, NULL, 30);
	assert_int_equal(occurrences(html, "<td class=\"long\">detail-"), 50);
	assert_non_null(strstr(html, "The latest 50 are shown."));
	assert_int_equal(occurrences(html, " failed sessions</title><text class=\"label\""), 12 + 1 + 2);
	assert_non_null(strstr(html, "and 48 more"));
	/* the busiest cause first */
	assert_true(strstr(html, "type-59: 60 failed") < strstr(html, "type-58: 59 failed"));
	/* the full name in the title, 44 characters and an ellipsis drawn */
	assert_non_null(strstr(html, ">mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\xe2\x80\xa6</text>"));
	free(html);
}

static void test_failures(void **state)
{
	struct fixture *f = *state;
	char why[200] = "";
	FILE *full;

	assert_int_equal(report_html_write(stdout, f->store, NULL, 0, NOW, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "days"));
	full = fopen("/dev/full", "w");
	if (full == NULL)
		skip();
	add(state, "Org", "1", "a.example", fixture_day(2026, 12, 1), 10, 0, NULL, 0);
	why[0] = '\0';
	assert_int_equal(report_html_write(full, f->store, NULL, 30, NOW, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "writing the page"));
	fclose(full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bars_and_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
