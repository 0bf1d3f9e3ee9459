/*
 * cmd_parse.c - mtasts parse: check an MTA-STS TXT record, a policy file or
 * a TLSRPT record, and show what it means or what is wrong with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hostname.h"
#include "public_suffix.h"

static const char parse_usage[] =
	"usage: mtasts parse txt [--json] RECORD...\n"
	"       mtasts parse policy [--json] [FILE|-]\n"
	"       mtasts parse tlsrpt [--json] RECORD...\n"
	"\n"
	"Check MTA-STS and TLSRPT data against RFC 8461 and RFC 8460.\n"
	"\n"
	"  txt      the TXT records found at _mta-sts.<domain>, one argument each\n"
	"           (character-strings of one record already joined)\n"
	"  policy   a policy body, the bytes served at\n"
	"           https://mta-sts.<domain>/.well-known/mta-sts.txt\n"
	"           (standard input when FILE is - or missing)\n"
	"  tlsrpt   the TXT records found at _smtp._tls.<domain>\n"
	"\n"
	"Options:\n"
	"  -j, --json   print one JSON object\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 valid, 1 invalid, 64 usage error (an unreadable FILE\n"
	"too), 71 a local problem (out of memory, output not written).\n";

/* "  name: value", both shown safe: values are any UTF-8 from the network. */
static void print_field(const char *name, const char *value)
{
	printf("  ");
	print_text(stdout, name);
	printf(": ");
	print_text(stdout, value);
	putchar('\n');
}

static json_t *extensions_json(const struct mtasts_extension *ext, size_t count)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < count; i++)
		json_object_set_new(o, ext[i].name, json_string(ext[i].value));
	return o;
}

static json_t *invalid_json(const struct mtasts_diags *diags)
{
	return json_pack("{s:b, s:o, s:o}", "valid", 0,
			 "errors", diags_to_json(diags, MTASTS_SEVERITY_ERROR),
			 "warnings", diags_to_json(diags, MTASTS_SEVERITY_WARNING));
}

static int finish(bool json_output, json_t *json, int rc)
{
	if (json_output && !print_json(json)) {
		fprintf(stderr, PROGRAM_NAME " parse: cannot write output\n");
		rc = EXIT_LOCAL_ERROR;
	}
	json_decref(json);
	return rc;
}

static int report_failure(int status, const struct mtasts_diags *diags,
			  bool json_output, const char *source, size_t source_len,
			  const struct mtasts_bytes *records, size_t count)
{
	if (status == MTASTS_ERR_NOMEM || status == MTASTS_ERR_ARGUMENT) {
		fprintf(stderr, PROGRAM_NAME " parse: %s\n",
			mtasts_status_message(status));
		return status == MTASTS_ERR_NOMEM ? EXIT_LOCAL_ERROR : EXIT_USAGE_ERROR;
	}
	if (json_output)
		return finish(true, invalid_json(diags), EXIT_INVALID);
	printf("invalid\n");
	print_diags_human(stdout, diags, source, source_len, records, count);
	return EXIT_INVALID;
}

static struct mtasts_bytes *records_from_args(int argc, char **argv)
{
	struct mtasts_bytes *records = calloc((size_t)argc + 1, sizeof(*records));

	for (int i = 0; records != NULL && i < argc; i++) {
		records[i].data = argv[i];
		records[i].len = strlen(argv[i]);
	}
	return records;
}

static int parse_txt(int argc, char **argv, bool json_output)
{
	struct mtasts_bytes *records = records_from_args(argc, argv);
	struct mtasts_sts_record *rec = NULL;
	struct mtasts_diags diags;
	int status, rc;

	if (records == NULL) {
		fprintf(stderr, PROGRAM_NAME " parse: out of memory\n");
		return EXIT_LOCAL_ERROR;
	}
	mtasts_diags_init(&diags);
	status = mtasts_sts_record_parse(records, (size_t)argc, &rec, &diags);
	if (status != MTASTS_OK) {
		rc = report_failure(status, &diags, json_output, NULL, 0, records,
				    (size_t)argc);
		free(records);
		return rc;
	}
	if (json_output) {
		rc = finish(true, json_pack("{s:b, s:s, s:o, s:o}", "valid", 1,
					    "id", rec->id, "extensions",
					    extensions_json(rec->extensions,
							    rec->extension_count),
					    "warnings", diags_to_json(&diags,
							  MTASTS_SEVERITY_WARNING)),
			    EXIT_VALID);
	} else {
		printf("valid MTA-STS record (record %zu of %d)\n  id: %s\n",
		       rec->record_index + 1, argc, rec->id);
		for (size_t i = 0; i < rec->extension_count; i++)
			print_field(rec->extensions[i].name, rec->extensions[i].value);
		print_diags_human(stdout, &diags, NULL, 0, records, (size_t)argc);
		rc = EXIT_VALID;
	}
	mtasts_sts_record_free(rec);
	free(records);
	return rc;
}

static json_t *policy_json(const struct mtasts_policy *p,
			   const struct mtasts_diags *diags)
{
	json_t *mx = json_array();

	for (size_t i = 0; mx != NULL && i < p->mx_count; i++)
		json_array_append_new(mx, json_string(p->mx[i]));
	return json_pack("{s:b, s:s, s:s, s:I, s:o, s:o, s:o, s:o}", "valid", 1,
			 "version", "STSv1", "mode", mtasts_mode_name(p->mode),
			 "max_age", (json_int_t)p->max_age, "mx", mx,
			 "extensions", extensions_json(p->extensions,
						       p->extension_count),
			 "warnings", diags_to_json(diags, MTASTS_SEVERITY_WARNING),
			 "info", diags_to_json(diags, MTASTS_SEVERITY_INFO));
}

/*
 * Errors and warnings with their lines, then information ("info: ..."),
 * then the count of what did not fit.  print_diags_human() shows errors and
 * warnings, so it gets the list without the information.
 */
static void print_policy_diags(const struct mtasts_diags *diags, const char *body,
			       size_t len)
{
	struct mtasts_diags *shown = malloc(sizeof(*shown));

	if (shown == NULL) {
		print_diags_human(stdout, diags, body, len, NULL, 0);
		return;
	}
	mtasts_diags_init(shown);
	for (size_t i = 0; i < diags->count; i++)
		if (diags->items[i].severity != MTASTS_SEVERITY_INFO)
			shown->items[shown->count++] = diags->items[i];
	print_diags_human(stdout, shown, body, len, NULL, 0);
	free(shown);
	for (size_t i = 0; i < diags->count; i++)
		if (diags->items[i].severity == MTASTS_SEVERITY_INFO)
			printf("info: %s [%s]\n", diags->items[i].message,
			       mtasts_code_name(diags->items[i].code));
	if (diags->dropped > 0)
		printf("note: %zu more problems not shown\n", diags->dropped);
}

/* The parse, with the helpers of the program: the Public Suffix List, IDNA. */
static int parse_policy_body(const char *body, size_t len, struct mtasts_policy **ret_policy,
			     struct mtasts_diags *diags)
{
	struct public_suffixes *suffixes = public_suffixes_load(PUBLIC_SUFFIX_PATH);
	const struct mtasts_policy_helpers helpers = {
		.is_public_suffix = suffixes != NULL ? public_suffix_is : NULL,
		.public_suffix_arg = suffixes,
		.to_a_label = hostname_a_label,
	};
	int status = mtasts_policy_parse_with(body, len, &helpers, ret_policy, diags);

	public_suffixes_free(suffixes);
	return status;
}

static int parse_policy(int argc, char **argv, bool json_output)
{
	const char *path = argc > 0 ? argv[0] : "-";
	struct mtasts_policy *policy = NULL;
	struct mtasts_diags diags;
	char *body;
	size_t len;
	int status, rc;

	if (argc > 1) {
		print_usage_error(&cmd_parse, "parse policy takes one FILE");
		return EXIT_USAGE_ERROR;
	}
	/* Someone at a terminal who gave no file should know why nothing happens. */
	if (strcmp(path, "-") == 0 && isatty(STDIN_FILENO))
		fprintf(stderr, PROGRAM_NAME " parse: reading the policy from standard "
			"input (end with Ctrl-D)\n");
	if ((rc = read_input(path, MTASTS_POLICY_BODY_MAX, &body, &len)) != 0) {
		fprintf(stderr, PROGRAM_NAME " parse: ");
		print_text(stderr, strcmp(path, "-") == 0 ? "standard input" : path);
		fprintf(stderr, ": %s\n", strerror(-rc));
		return rc == -ENOMEM ? EXIT_LOCAL_ERROR : EXIT_USAGE_ERROR;
	}
	mtasts_diags_init(&diags);
	status = parse_policy_body(body, len, &policy, &diags);
	if (status != MTASTS_OK) {
		rc = report_failure(status, &diags, json_output, body, len, NULL, 0);
		free(body);
		return rc;
	}
	if (json_output) {
		rc = finish(true, policy_json(policy, &diags), EXIT_VALID);
	} else {
		printf("valid MTA-STS policy\n  version: STSv1\n  mode: %s\n"
		       "  max_age: %u\n", mtasts_mode_name(policy->mode),
		       (unsigned)policy->max_age);
		for (size_t i = 0; i < policy->mx_count; i++)
			printf("  mx: %s\n", policy->mx[i]);
		for (size_t i = 0; i < policy->extension_count; i++)
			print_field(policy->extensions[i].name, policy->extensions[i].value);
		print_policy_diags(&diags, body, len);
		rc = EXIT_VALID;
	}
	mtasts_policy_free(policy);
	free(body);
	return rc;
}

static int parse_tlsrpt(int argc, char **argv, bool json_output)
{
	struct mtasts_bytes *records = records_from_args(argc, argv);
	struct mtasts_tlsrpt_record *rec = NULL;
	struct mtasts_diags diags;
	int status, rc;

	if (records == NULL) {
		fprintf(stderr, PROGRAM_NAME " parse: out of memory\n");
		return EXIT_LOCAL_ERROR;
	}
	mtasts_diags_init(&diags);
	status = mtasts_tlsrpt_record_parse(records, (size_t)argc, &rec, &diags);
	if (status != MTASTS_OK) {
		rc = report_failure(status, &diags, json_output, NULL, 0, records,
				    (size_t)argc);
		free(records);
		return rc;
	}
	if (json_output) {
		json_t *rua = json_array();

		for (size_t i = 0; rua != NULL && i < rec->rua_count; i++)
			json_array_append_new(rua, json_string(rec->rua[i]));
		rc = finish(true, json_pack("{s:b, s:o, s:o, s:o}", "valid", 1,
					    "rua", rua, "extensions",
					    extensions_json(rec->extensions,
							    rec->extension_count),
					    "warnings", diags_to_json(&diags,
							  MTASTS_SEVERITY_WARNING)),
			    EXIT_VALID);
	} else {
		printf("valid TLSRPT record (record %zu of %d)\n",
		       rec->record_index + 1, argc);
		for (size_t i = 0; i < rec->rua_count; i++)
			print_field("rua", rec->rua[i]);
		for (size_t i = 0; i < rec->extension_count; i++)
			print_field(rec->extensions[i].name, rec->extensions[i].value);
		print_diags_human(stdout, &diags, NULL, 0, records, (size_t)argc);
		rc = EXIT_VALID;
	}
	mtasts_tlsrpt_record_free(rec);
	free(records);
	return rc;
}

static int run_parse(int argc, char **argv)
{
	bool json_output = false;
	const char *kind;
	int rc;

	if ((rc = parse_json_option(&cmd_parse, &argc, &argv, &json_output)) >= 0)
		return rc;
	if (argc == 0) {
		print_usage_error(&cmd_parse, "what to parse: txt, policy or tlsrpt");
		return EXIT_USAGE_ERROR;
	}
	kind = argv[0];
	argc--;
	argv++;
	if (strcmp(kind, "policy") == 0)
		return parse_policy(argc, argv, json_output);
	if (strcmp(kind, "txt") != 0 && strcmp(kind, "tlsrpt") != 0) {
		print_usage_error(&cmd_parse, "unknown kind '%s': txt, policy or "
				  "tlsrpt", kind);
		return EXIT_USAGE_ERROR;
	}
	if (argc == 0) {
		print_usage_error(&cmd_parse, "give at least one RECORD");
		return EXIT_USAGE_ERROR;
	}
	if (strcmp(kind, "txt") == 0)
		return parse_txt(argc, argv, json_output);
	return parse_tlsrpt(argc, argv, json_output);
}

const struct command cmd_parse = {
	.name = "parse",
	.run = run_parse,
	.summary = "check an MTA-STS TXT record, policy file or TLSRPT record",
	.usage = parse_usage,
};
