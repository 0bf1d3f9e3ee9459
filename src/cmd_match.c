/*
 * cmd_match.c - mtasts match: does an MX host name match a policy's mx
 * pattern (RFC 8461 4.1)?  Names given with U-labels are converted to
 * A-labels first (RFC 6125 6.4.2).
 */
#include <stdarg.h>
#include <string.h>

#include "cli.h"
#include "hostname.h"

static const char match_usage[] =
	"usage: mtasts match [--json] PATTERN HOST\n"
	"\n"
	"Tell whether HOST, an MX host name, matches PATTERN, an mx line of an\n"
	"MTA-STS policy, as a sending MTA decides it (RFC 8461 section 4.1):\n"
	"without regard to case; \"*.example.com\" matches exactly one label in\n"
	"place of \"*\"; a trailing dot on HOST is ignored; an invalid pattern\n"
	"never matches.  Internationalized names may be given with U-labels\n"
	"(\"*.b\xc3\xbc" "cher.example\", UTF-8): they are converted to A-labels\n"
	"(\"*.xn--bcher-kva.example\") before matching.\n"
	"\n"
	"Options:\n"
	"  -j, --json   print {\"match\":true} or {\"match\":false, ...}\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 match, 1 no match (or an invalid pattern or host),\n"
	"64 usage error.\n";

static void add_error(struct mtasts_diags *diags, enum mtasts_code code,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An error without a column, for a name that could not be converted. */
static void add_error(struct mtasts_diags *diags, enum mtasts_code code,
		      const char *fmt, ...)
{
	struct mtasts_diag *d = &diags->items[diags->count++];
	va_list ap;

	d->code = code;
	d->severity = MTASTS_SEVERITY_ERROR;
	d->record = -1;
	d->line = 0;
	d->column = 0;
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
}

/*
 * The name to match: name itself when it is ASCII (the checks of
 * mtasts/mx.h then say where it goes wrong, if it does), else its A-label
 * form in buf, with a pattern's "*." kept; NULL with an error in diags when
 * it cannot be converted.
 */
static const char *a_label_form(const char *name, bool is_pattern, char *buf,
				 size_t size, struct mtasts_diags *diags)
{
	size_t prefix = is_pattern && strncmp(name, "*.", 2) == 0 ? 2 : 0;
	size_t len = strlen(name);
	char why[200];

	if (hostname_is_ascii(name))
		return name;
	if (is_pattern && name[len - 1] == '.') {
		add_error(diags, MTASTS_MX_INVALID_PATTERN, "the pattern is not valid, "
			  "so it matches nothing: the name ends with a dot");
		return NULL;
	}
	memcpy(buf, name, prefix);
	if (hostname_normalize(name + prefix, buf + prefix, size - prefix, why,
			       sizeof(why)) != 0) {
		if (is_pattern)
			add_error(diags, MTASTS_MX_INVALID_PATTERN, "the pattern is not "
				  "valid, so it matches nothing: %s", why);
		else
			add_error(diags, MTASTS_MX_INVALID_HOST, "the host name is not "
				  "valid: %s", why);
		return NULL;
	}
	return buf;
}

/*
 * Why the pair cannot match at all, if one of them is not a valid name;
 * a NULL name was found invalid already.
 */
static bool explain_invalid(const char *pattern, const char *host,
			    struct mtasts_diags *diags)
{
	char why[128];
	size_t offset;
	bool ok = pattern != NULL && host != NULL;

	if (pattern != NULL && !mtasts_mx_pattern_check(pattern, strlen(pattern), &offset, why,
				     sizeof(why))) {
		struct mtasts_diag *d = &diags->items[diags->count++];

		d->code = MTASTS_MX_INVALID_PATTERN;
		d->severity = MTASTS_SEVERITY_ERROR;
		d->record = -1;
		d->line = 0;
		d->column = (unsigned)offset + 1;
		snprintf(d->message, sizeof(d->message), "the pattern is not "
			 "valid, so it matches nothing: %s (column %zu)", why,
			 offset + 1);
		ok = false;
	}
	if (host != NULL &&
	    !mtasts_mx_host_check(host, strlen(host), &offset, why, sizeof(why))) {
		struct mtasts_diag *d = &diags->items[diags->count++];

		d->code = MTASTS_MX_INVALID_HOST;
		d->severity = MTASTS_SEVERITY_ERROR;
		d->record = -1;
		d->line = 0;
		d->column = (unsigned)offset + 1;
		snprintf(d->message, sizeof(d->message), "the host name is not "
			 "valid: %s (column %zu)", why, offset + 1);
		ok = false;
	}
	return ok;
}

static int run_match(int argc, char **argv)
{
	struct mtasts_diags diags;
	char pattern_buf[HOSTNAME_BUF + 2], host_buf[HOSTNAME_BUF];
	const char *pattern, *host;
	bool json_output = false, match;
	int rc;

	if ((rc = parse_json_option(&cmd_match, &argc, &argv, &json_output)) >= 0)
		return rc;
	if (argc != 2) {
		print_usage_error(&cmd_match, "give a PATTERN and a HOST");
		return EXIT_USAGE_ERROR;
	}
	mtasts_diags_init(&diags);
	pattern = a_label_form(argv[0], true, pattern_buf, sizeof(pattern_buf), &diags);
	host = a_label_form(argv[1], false, host_buf, sizeof(host_buf), &diags);
	match = explain_invalid(pattern, host, &diags) && mtasts_mx_matches(pattern, host);
	if (json_output) {
		json_t *o = json_pack("{s:b}", "match", match);

		if (diags.count > 0)
			json_object_set_new(o, "errors",
					    diags_to_json(&diags, MTASTS_SEVERITY_ERROR));
		rc = print_json(o) ? EXIT_VALID : EXIT_LOCAL_ERROR;
		json_decref(o);
		if (rc != EXIT_VALID)
			return rc;
	} else {
		printf("%s\n", match ? "match" : "no match");
		for (size_t i = 0; i < diags.count; i++)
			printf("error: %s [%s]\n", diags.items[i].message,
			       mtasts_code_name(diags.items[i].code));
	}
	return match ? EXIT_VALID : EXIT_INVALID;
}

const struct command cmd_match = {
	.name = "match",
	.run = run_match,
	.summary = "tell whether an MX host matches a policy mx pattern",
	.usage = match_usage,
};
