/*
 * cli.h - what the mtasts subcommands share: exit codes, the command table,
 * and printing of diagnostics.
 */
#ifndef MTASTS_CLI_H
#define MTASTS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include <mtasts/mtasts.h>

enum exit_code {
	EXIT_VALID = 0,
	EXIT_INVALID = 1,
	EXIT_USAGE = 2,
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *usage;		/* full help text */
};

extern const struct command cmd_parse;
extern const struct command cmd_match;
extern const struct command cmd_fetch;
extern const struct command cmd_check;
extern const struct command cmd_policyd;
extern const struct command cmd_query;
extern const struct command cmd_serve;
extern const struct command cmd_reports;
extern const struct command cmd_domains;

/* Name the program reports itself as in messages. */
#define PROGRAM_NAME "mtasts"

void print_usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Print diagnostics for people.  source/source_len is the text positions
 * refer to (a policy body, or one TXT record), so the offending line can be
 * shown with a caret; records/record_count for TXT input.
 */
void print_diags_human(FILE *out, const struct mtasts_diags *diags,
		       const char *source, size_t source_len,
		       const struct mtasts_bytes *records, size_t record_count);

/*
 * Line `line` of source, control octets made visible, with a caret under
 * column, each output line after indent; false when there is no such line.
 */
bool print_source_line(FILE *out, const char *source, size_t source_len,
		       unsigned line, unsigned column, const char *indent);

/* {"code":..,"message":..,"line":..,"column":..,"record":..} for each. */
json_t *diags_to_json(const struct mtasts_diags *diags,
		      enum mtasts_severity severity);

/*
 * Handle the options every simple command takes: -j/--json and -h/--help,
 * anywhere among the arguments ("--" ends them).  On return argc and argv hold
 * the operands.  Returns -1 to go on, or an exit code to return at once.
 */
int parse_json_option(const struct command *cmd, int *argc, char ***argv,
		      bool *json_output);

/*
 * Text from the network, made safe for a terminal: control characters (C0,
 * DEL, C1) and octets that are not UTF-8 become \xHH.  text_escape()
 * returns a copy to free (NULL when out of memory); json_text() a JSON
 * string (valid UTF-8 as it is, since JSON escapes controls itself).
 */
char *text_escape(const char *text);
/* text escaped for a message, cut to at most max octets and "..." (on a
 * character, never inside an escape), into buf. */
void text_shown(const char *text, char *buf, size_t size, size_t max);
void print_text(FILE *out, const char *text);
json_t *json_text(const char *text);

/*
 * An option getopt_long() refused, said precisely: a value missing, a value
 * given to a flag, an ambiguous abbreviation (the candidates listed), or an
 * unknown option with the nearest known one.  word is argv[optind - 1],
 * code optopt, missing_value whether getopt returned ':'.
 */
void print_option_error(const struct command *cmd, const struct option *options,
			const char *word, int code, bool missing_value);

/*
 * Whether everything printed on standard output was written; when not, says
 * why on standard error (not for a reader that stopped, EPIPE) naming the
 * command.  Every command's exit passes through it.
 */
bool output_written(const char *command);

/* Flushes standard output: true once a write to it has failed. */
bool output_failed(void);

/* Print a JSON value on one line followed by a newline; false on failure. */
bool print_json(json_t *value);

/*
 * A JSON array printed an element at a time, each as soon as it is known
 * (one a line): always an array, whatever the number of elements.
 * json_stream_item() takes the reference of value.
 */
struct json_stream {
	size_t items;
};
void json_stream_item(struct json_stream *stream, json_t *value);
void json_stream_end(struct json_stream *stream);

/* Read all of a file ("-" for standard input), at most max octets + 1. */
int read_input(const char *path, size_t max, char **ret_data, size_t *ret_len);

/*
 * Exit statuses that mean the same in every subcommand, above every
 * command's own scale of results (0 to 3), so that a script tells "mtasts
 * did not do the work" from any verdict.  The values are those of
 * sysexits.h.
 *
 * EXIT_USAGE_ERROR: the command line (or a file named on it) is wrong: an
 * unknown command or option, a missing, extra or invalid argument or
 * setting, an input or domain file that cannot be read.  Nothing was done.
 * EXIT_LOCAL_ERROR: this machine could not do the work: too few file
 * descriptors, the event loop or a library could not be set up, out of
 * memory.  What could be done may have been printed.
 */
#define EXIT_USAGE_ERROR 64		/* EX_USAGE */
#define EXIT_LOCAL_ERROR 71		/* EX_OSERR */

struct option;

/*
 * suggest.c - a likely meant word for a mistyped one.  The candidate
 * nearest to word by Damerau-Levenshtein distance (optimal string
 * alignment: insertions, deletions, substitutions and swaps of neighbours),
 * without regard to ASCII case, when that distance is at most 2 and less
 * than the length of word; the first such candidate in table order on a
 * tie.  NULL when none is near enough, or word is the empty string or
 * longer than 64 octets.
 *
 * suggest_word() looks among words[0..count-1] and returns one of them.
 * suggest_long_option() looks among the long names of a getopt_long()
 * table (ended by an entry with a NULL name); arg is the argument as
 * given, "--jsn" or "--dns-sever=192.0.2.1" (the leading dashes and any
 * "=VALUE" are not compared).  It returns the bare option name, without
 * "--":
 *
 *	const char *near = suggest_long_option(options, argv[optind - 1]);
 *
 *	if (near != NULL)
 *		print_usage_error(cmd, "unknown option '%s'; did you mean "
 *				  "'--%s'?", argv[optind - 1], near);
 */
const char *suggest_word(const char *const *words, size_t count, const char *word);
const char *suggest_long_option(const struct option *options, const char *arg);

/*
 * terminal.c - whether to colour what is written to fd: only when fd is a
 * terminal, the NO_COLOR environment variable is unset or empty
 * (no-color.org) and TERM is set to something other than "" or "dumb".
 */
bool output_color_wanted(int fd);

#endif
