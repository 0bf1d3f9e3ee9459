/*
 * output.c - diagnostics for people (with the offending line and a caret)
 * and for programs (JSON), and reading bounded input.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/*
 * Length of the UTF-8 sequence at s (at most len octets) that is safe to
 * show: a printable character; 0 for an octet that must be escaped (C0 and
 * C1 controls, DEL, and what is not valid UTF-8).
 */
static size_t safe_char(const unsigned char *s, size_t len)
{
	size_t need;
	unsigned cp;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond Unicode, and C1 controls. */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	/* Zero-width and bidirectional controls make text read as other text. */
	if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
		return 0;
	return need;
}

char *text_escape(const char *text)
{
	const unsigned char *s = (const unsigned char *)(text != NULL ? text : "");
	size_t len = strlen((const char *)s), pos = 0;
	char *out = malloc(len * 4 + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = safe_char(s + i, len - i);

		if (n == 0) {
			pos += (size_t)sprintf(out + pos, "\\x%02x", s[i]);
			i++;
			continue;
		}
		memcpy(out + pos, s + i, n);
		pos += n;
		i += n;
	}
	out[pos] = '\0';
	return out;
}

void text_shown(const char *text, char *buf, size_t size, size_t max)
{
	char *safe = text_escape(text);
	const char *s = safe != NULL ? safe : "?";
	size_t len = strlen(s), cut;

	if (max < 4)
		max = 4;
	if (len <= max) {
		snprintf(buf, size, "%s", s);
		free(safe);
		return;
	}
	/* Cut on a character, and never inside a \xHH escape. */
	cut = max - 3;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	for (size_t back = 1; back <= 3 && back <= cut; back++)
		if (s[cut - back] == '\\' && s[cut - back + 1] == 'x') {
			cut -= back;
			break;
		}
	snprintf(buf, size, "%.*s...", (int)cut, s);
	free(safe);
}

void print_text(FILE *out, const char *text)
{
	char *safe = text_escape(text);

	fputs(safe != NULL ? safe : "?", out);
	free(safe);
}

json_t *json_text(const char *text)
{
	json_t *value;
	char *safe;

	if (text == NULL)
		return json_null();
	if ((value = json_string(text)) != NULL)
		return value;	/* valid UTF-8: jansson escapes the controls */
	safe = text_escape(text);
	value = safe != NULL ? json_string(safe) : NULL;
	free(safe);
	return value != NULL ? value : json_null();
}

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
	for (size_t i = 0; i < len && i < 200;) {
		size_t n = safe_char((const unsigned char *)text + i, len - i);

		if (n > 0) {
			fwrite(text + i, 1, n, out);
			if (i + 1 < column)
				caret++;	/* one column a character */
			i += n;
		} else {
			fprintf(out, "\\x%02x", (unsigned char)text[i]);
			if (i + 1 < column)
				caret += 4;
			i++;
		}
	}
	if (len > 200)
		fputs("...", out);
	fprintf(out, "\n%*s| %*s^\n", width - 2, "", (int)caret, "");
}

bool print_source_line(FILE *out, const char *source, size_t source_len,
		       unsigned line, unsigned column, const char *indent)
{
	const char *text;
	size_t len;
	char label[48];

	if (source == NULL || line == 0 || !find_line(source, source_len, line, &text, &len))
		return false;
	snprintf(label, sizeof(label), "%s%4u", indent, line);
	print_excerpt(out, label, text, len, column);
	return true;
}

void print_diags_human(FILE *out, const struct mtasts_diags *diags,
		       const char *source, size_t source_len,
		       const struct mtasts_bytes *records, size_t record_count)
{
	static const enum mtasts_severity order[] = {
		MTASTS_SEVERITY_ERROR, MTASTS_SEVERITY_WARNING, MTASTS_SEVERITY_INFO,
	};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
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

void print_option_error(const struct command *cmd, const struct option *options,
			const char *word, int code, bool missing_value)
{
	char *shown = text_escape(word != NULL ? word : "?");
	const char *name = word != NULL && strncmp(word, "--", 2) == 0 ? word + 2 : NULL;
	size_t len = name != NULL ? strcspn(name, "=") : 0, matches = 0;
	const struct option *exact = NULL;
	const char *near;
	char list[256] = "";

	for (const struct option *o = options; name != NULL && o->name != NULL; o++) {
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			exact = o;
		else if (len > 0 && strncmp(o->name, name, len) == 0 && matches++ < 6)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s--%s",
				 matches > 1 ? ", " : "", o->name);
	}
	if (missing_value)
		print_usage_error(cmd, "'%s' needs a value", shown);
	else if (exact != NULL && exact->has_arg == no_argument && name[len] == '=')
		print_usage_error(cmd, "'--%s' takes no value", exact->name);
	else if (exact == NULL && matches > 1)
		print_usage_error(cmd, "'%s' is ambiguous: %s", shown, list);
	else if ((near = suggest_long_option(options, word)) != NULL)
		print_usage_error(cmd, "unknown option '%s'; did you mean '--%s'?", shown, near);
	else if (name == NULL && code != 0)
		print_usage_error(cmd, "unknown option '-%c'", code);
	else
		print_usage_error(cmd, "unknown option '%s'", shown);
	free(shown);
}

/* The errno of the first write to standard output that failed. */
static int output_errno;

static void note_output_failure(void)
{
	if (output_errno == 0 && (fflush(stdout) != 0 || ferror(stdout)))
		output_errno = errno != 0 ? errno : EIO;
}

bool output_failed(void)
{
	note_output_failure();
	return output_errno != 0 || ferror(stdout);
}

bool output_written(const char *command)
{
	int err;

	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return true;
	/* After a failed flush glibc drops the buffer and a later flush
	 * "succeeds": the first failure is the one to report. */
	err = output_errno != 0 ? output_errno : errno != 0 ? errno : EIO;
	/* A reader that stopped (| head) needs no message. */
	if (err != EPIPE)
		fprintf(stderr, PROGRAM_NAME "%s%s: standard output: %s\n",
			command != NULL ? " " : "", command != NULL ? command : "",
			strerror(err));
	return false;
}

void json_stream_item(struct json_stream *stream, json_t *value)
{
	fputs(stream->items++ == 0 ? "[" : ",\n", stdout);
	/* A value that could not be built (no memory) is still one element. */
	if (value == NULL)
		fputs("{}", stdout);
	else
		json_dumpf(value, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(value);
	note_output_failure();
}

void json_stream_end(struct json_stream *stream)
{
	fputs(stream->items == 0 ? "[]\n" : "]\n", stdout);
	note_output_failure();
}

/*
 * A regular file's buffer is sized by its length (a report is a few hundred
 * octets; allocating the limit each time cost an mmap and a munmap a file);
 * standard input, a pipe or a file that grows while read is read in
 * doubling chunks, never past the limit.
 */
#define READ_CHUNK ((size_t)64 << 10)

int read_input(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	/* One octet more than allowed, so the caller can tell "too large". */
	size_t limit = max < SIZE_MAX - 2 ? max + 1 : SIZE_MAX - 1, cap = READ_CHUNK, len = 0;
	struct stat st;
	char *data = NULL;
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0)
		cap = (uintmax_t)st.st_size < limit ? (size_t)st.st_size + 1 : limit;
	if (cap > limit)
		cap = limit;
	if ((data = malloc(cap + 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap == limit)
				break;
			size_t bigger = cap < limit / 2 ? cap * 2 : limit;
			char *more = realloc(data, bigger + 1);
			if (more == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			data = more;
			cap = bigger;
		}
		ssize_t n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	*ret_data = data;
	*ret_len = len;
	data = NULL;
out:
	if (!is_stdin)
		close(fd);
	free(data);
	return rc;
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
	while ((c = getopt_long(*argc, *argv, ":jh", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json_output = true;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			return EXIT_VALID;
		default:
			print_option_error(cmd, options, (*argv)[optind - 1], optopt, c == ':');
			return EXIT_USAGE_ERROR;
		}
	}
	*argc -= optind;
	*argv += optind;
	return -1;
}
