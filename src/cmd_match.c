/*
 * cmd_match.c - mtasts match: does an MX host name match a policy's mx
 * pattern (RFC 8461 4.1)?
 */
#include <string.h>

#include "cli.h"

static const char match_usage[] =
	"usage: mtasts match [--json] PATTERN HOST\n"
	"\n"
	"Tell whether HOST, an MX host name, matches PATTERN, an mx line of an\n"
	"MTA-STS policy, as a sending MTA decides it (RFC 8461 section 4.1):\n"
	"without regard to case; \"*.example.com\" matches exactly one label in\n"
	"place of \"*\"; a trailing dot on HOST is ignored; an invalid pattern\n"
	"never matches.\n"
	"\n"
	"Options:\n"
	"  -j, --json   print {\"match\":true} or {\"match\":false, ...}\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 match, 1 no match (or an invalid pattern or host),\n"
	"2 usage error.\n";

/* Why the pair cannot match at all, if one of them is not a valid name. */
static bool explain_invalid(const char *pattern, const char *host,
			    struct mtasts_diags *diags)
{
	char why[128];
	size_t offset;
	bool ok = true;

	if (!mtasts_mx_pattern_check(pattern, strlen(pattern), &offset, why,
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
	if (!mtasts_mx_host_check(host, strlen(host), &offset, why, sizeof(why))) {
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
	bool json_output = false, match;
	int rc;

	if ((rc = parse_json_option(&cmd_match, &argc, &argv, &json_output)) >= 0)
		return rc;
	if (argc != 2) {
		print_usage_error(&cmd_match, "give a PATTERN and a HOST");
		return EXIT_USAGE;
	}
	mtasts_diags_init(&diags);
	explain_invalid(argv[0], argv[1], &diags);
	match = mtasts_mx_matches(argv[0], argv[1]);
	if (json_output) {
		json_t *o = json_pack("{s:b}", "match", match);

		if (diags.count > 0)
			json_object_set_new(o, "errors",
					    diags_to_json(&diags, MTASTS_SEVERITY_ERROR));
		rc = print_json(o) ? EXIT_VALID : EXIT_USAGE;
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
