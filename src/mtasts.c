/*
 * mtasts.c - the mtasts program: global options and dispatch to the
 * git-style subcommands, with a guess at what a mistyped name meant.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct command *const commands[] = {
	&cmd_parse,
	&cmd_match,
	&cmd_fetch,
	&cmd_check,
	&cmd_policyd,
	&cmd_query,
	&cmd_serve,
	&cmd_reports,
	&cmd_domains,
};

/* Words that are not in the table but are commands all the same. */
static const char *const builtin_words[] = { "help", "version" };

/* The options that come before the command, as getopt_long() lists them. */
static const struct option global_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM_NAME " [--version] [--help] COMMAND [ARGS]\n"
		"\n"
		"MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460) toolkit.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out,
		"\n"
		"'" PROGRAM_NAME " help COMMAND' or '" PROGRAM_NAME
		" COMMAND --help' shows the usage of a command;\n"
		"man " PROGRAM_NAME "-COMMAND has the whole story.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/* The command a mistyped name most likely meant, or NULL. */
static const char *suggest_command(const char *name, bool with_builtins)
{
	const char *names[COMMAND_COUNT + sizeof(builtin_words) / sizeof(builtin_words[0])];
	size_t count = 0;

	for (size_t i = 0; i < COMMAND_COUNT; i++)
		names[count++] = commands[i]->name;
	for (size_t i = 0; with_builtins && i < sizeof(builtin_words) /
	     sizeof(builtin_words[0]); i++)
		names[count++] = builtin_words[i];
	return suggest_word(names, count, name);
}

/* "'NAME' is not a command", with a guess when there is one. */
static int not_a_command(const char *name, bool with_builtins)
{
	const char *near = suggest_command(name, with_builtins);
	char *shown = text_escape(name);

	fprintf(stderr, PROGRAM_NAME ": '%s' is not a command", shown != NULL ? shown : "?");
	if (near != NULL)
		fprintf(stderr, "; did you mean '%s'?", near);
	fprintf(stderr, "\nsee '" PROGRAM_NAME " --help'\n");
	free(shown);
	return EXIT_USAGE_ERROR;
}

static int unknown_option(const char *arg)
{
	const char *near = suggest_long_option(global_options, arg);
	char *shown = text_escape(arg);

	fprintf(stderr, PROGRAM_NAME ": unknown option '%s'", shown != NULL ? shown : "?");
	if (near != NULL)
		fprintf(stderr, "; did you mean '--%s'?", near);
	else
		fprintf(stderr, " (a command's options come after its name)");
	fprintf(stderr, "\nsee '" PROGRAM_NAME " --help'\n");
	free(shown);
	return EXIT_USAGE_ERROR;
}

static int run_help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "version") == 0) {
		print_help(stdout);
		return EXIT_VALID;
	}
	if ((cmd = find_command(argv[1])) == NULL)
		return not_a_command(argv[1], false);
	fputs(cmd->usage, stdout);
	return EXIT_VALID;
}

static int print_version(void)
{
	printf(PROGRAM_NAME " %s\n", MTASTS_VERSION);
	return EXIT_VALID;
}

static int dispatch(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(stdout);
		return EXIT_VALID;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "version") == 0)
		return print_version();
	if (strcmp(argv[1], "help") == 0)
		return run_help(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return unknown_option(argv[1]);
	if ((cmd = find_command(argv[1])) == NULL)
		return not_a_command(argv[1], true);
	return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	int rc = dispatch(argc, argv);

	/* Output that was not written is a result that was not given. */
	if (!output_written(argc > 1 ? argv[1] : NULL))
		return EXIT_LOCAL_ERROR;
	return rc;
}
