/*
 * output.c - diagnostics for people (with the offending line and a caret)
 * and for programs (JSON), and reading bounded input.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void print_usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROGRAM_NAME " %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee '" PROGRAM_NAME " help %s'\n", cmd->name);
}

/* The text of line `number` (1-based) of source. */
static bool find_line(const char *source, size_t len, unsigned number,
		      const char **ret_text, size_t *ret_len)
{
	const char *p = source, *end = source + len;

	for (unsigned n = 1; n < number; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return false;
		p = nl + 1;
	}
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
	if (l > 0 && p[l - 1] == '\r')
		l--;
	*ret_text = p;
	*ret_len = l;
	return true;
}

/* Show a line with control octets made visible, and a caret under column. */
static void print_excerpt(FILE *out, const char *label, const char *text,
			  size_t len, unsigned column)
{
	size_t caret = 0;
	int width;

	width = fprintf(out, "  %s | ", label);
	for (size_t i = 0; i < len && i < 200; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x20 && c != 0x7f) {
			fputc(c, out);
			if (i + 1 < column)
				caret++;
		} else {
			fprintf(out, "\\x%02x", c);
			if (i + 1 < column)
				caret += 4;
		}
	}
	if (len > 200)
		fputs("...", out);
	fprintf(out, "\n%*s| %*s^\n", width - 2, "", (int)caret, "");
}

void print_diags_human(FILE *out, const struct mtasts_diags *diags,
		       const char *source, size_t source_len,
		       const struct mtasts_bytes *records, size_t record_count)
{
	static const enum mtasts_severity order[] = {
		MTASTS_SEVERITY_ERROR, MTASTS_SEVERITY_WARNING,
	};

	for (size_t o = 0; o < 2; o++) {
		for (size_t i = 0; i < diags->count; i++) {
			const struct mtasts_diag *d = &diags->items[i];
			const char *text;
			size_t len;
			char label[32];

			if (d->severity != order[o])
				continue;
			fprintf(out, "%s: ", mtasts_severity_name(d->severity));
			if (d->record >= 0)
				fprintf(out, "record %ld: ", d->record + 1);
			fprintf(out, "%s [%s]\n", d->message, mtasts_code_name(d->code));
			if (d->line > 0 && source != NULL &&
			    find_line(source, source_len, d->line, &text, &len)) {
				snprintf(label, sizeof(label), "%4u", d->line);
				print_excerpt(out, label, text, len, d->column);
			} else if (d->line == 0 && d->column > 0 && d->record >= 0 &&
				   (size_t)d->record < record_count) {
				print_excerpt(out, "   ", records[d->record].data,
					      records[d->record].len, d->column);
			}
		}
	}
	if (diags->dropped > 0)
		fprintf(out, "note: %zu more problems not shown\n", diags->dropped);
}

json_t *diags_to_json(const struct mtasts_diags *diags,
		      enum mtasts_severity severity)
{
	json_t *array = json_array();

	for (size_t i = 0; array != NULL && i < diags->count; i++) {
		const struct mtasts_diag *d = &diags->items[i];
		json_t *o;

		if (d->severity != severity)
			continue;
		o = json_pack("{s:s, s:s}", "code", mtasts_code_name(d->code),
			      "message", d->message);
		if (o == NULL)
			continue;
		if (d->record >= 0)
			json_object_set_new(o, "record", json_integer(d->record + 1));
		if (d->line > 0)
			json_object_set_new(o, "line", json_integer(d->line));
		if (d->column > 0)
			json_object_set_new(o, "column", json_integer(d->column));
		json_array_append_new(array, o);
	}
	return array;
}

bool print_json(json_t *value)
{
	if (value == NULL ||
	    json_dumpf(value, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) != 0)
		return false;
	putchar('\n');
	return fflush(stdout) == 0;
}

int read_input(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *data;
	size_t len;
	int saved;

	if (f == NULL)
		return -errno;
	data = malloc(max + 2);
	if (data == NULL) {
		if (f != stdin)
			fclose(f);
		return -ENOMEM;
	}
	/* One octet more than allowed, so the caller can tell "too large". */
	errno = 0;
	len = fread(data, 1, max + 1, f);
	saved = ferror(f) ? (errno != 0 ? errno : EIO) : 0;
	if (f != stdin)
		fclose(f);
	if (saved != 0) {
		free(data);
		return -saved;
	}
	data[len] = '\0';
	*ret_data = data;
	*ret_len = len;
	return 0;
}

int parse_json_option(const struct command *cmd, int *argc, char ***argv,
		      bool *json_output)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(*argc, *argv, "jh", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json_output = true;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			return EXIT_VALID;
		default:
			if (optopt != 0)
				print_usage_error(cmd, "unknown option '-%c'", optopt);
			else
				print_usage_error(cmd, "unknown option '%s'",
						  (*argv)[optind - 1]);
			return EXIT_USAGE;
		}
	}
	*argc -= optind;
	*argv += optind;
	return -1;
}
