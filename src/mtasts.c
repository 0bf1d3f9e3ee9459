/*
 * mtasts.c - the mtasts program: global options and dispatch to the
 * git-style subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command *const commands[] = {
	&cmd_parse,
	&cmd_match,
	&cmd_fetch,
	&cmd_check,
};

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM_NAME " [--version] [--help] COMMAND [ARGS]\n"
		"\n"
		"MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460) toolkit.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out,
		"\n"
		"'" PROGRAM_NAME " help COMMAND' or '" PROGRAM_NAME
		" COMMAND --help' shows the usage of a command;\n"
		"man " PROGRAM_NAME "-COMMAND has the whole story.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int run_help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		print_help(stdout);
		return EXIT_VALID;
	}
	if ((cmd = find_command(argv[1])) == NULL) {
		fprintf(stderr, PROGRAM_NAME ": no such command '%s'; see '"
			PROGRAM_NAME " --help'\n", argv[1]);
		return EXIT_USAGE;
	}
	fputs(cmd->usage, stdout);
	return EXIT_VALID;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(stdout);
		return EXIT_VALID;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf(PROGRAM_NAME " %s\n", MTASTS_VERSION);
		return EXIT_VALID;
	}
	if (strcmp(argv[1], "help") == 0)
		return run_help(argc - 1, argv + 1);
	if ((cmd = find_command(argv[1])) == NULL) {
		fprintf(stderr, PROGRAM_NAME ": '%s' is not a command; see '"
			PROGRAM_NAME " --help'\n", argv[1]);
		return EXIT_USAGE;
	}
	return cmd->run(argc - 1, argv + 1);
}
