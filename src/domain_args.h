/*
 * domain_args.h - the domains a network command (fetch, check) works on,
 * from its operands and from files given with -f, each checked and written
 * in the form that is looked up.
 *
 * SYNOPSIS
 *	struct domain_list domains = { 0 };
 *	const char *files[DOMAIN_FILES_MAX];	// the -f options, in order
 *	int rc = 0;
 *
 *	// after the option loop, so that a wrong option is told before any
 *	// file (standard input too) is read:
 *	for (size_t i = 0; rc == 0 && i < file_count; i++)
 *		rc = domain_list_add_file(&domains, &cmd_check, files[i]);
 *	if (rc == 0)
 *		rc = domain_list_add_args(&domains, &cmd_check, argc - optind,
 *					  argv + optind);
 *	if (rc == 0 && domains.count == 0) {
 *		print_usage_error(&cmd_check, "give at least one DOMAIN or -f FILE");
 *		rc = EXIT_USAGE_ERROR;
 *	}
 *	if (rc != 0)
 *		goto out;
 *	queue.domains = domains.names;
 *	queue.count = domains.count;
 *	...
 * out:
 *	domain_list_release(&domains);
 *
 * DESCRIPTION
 *	A struct domain_list set to { 0 } is empty.  Each call appends, in the
 *	order of its input, the names it is given; names are not merged, so a
 *	domain given twice is worked on twice.  names[i] is the A-label form
 *	of a domain (hostname_normalize() of hostname.h: U-labels converted
 *	by IDNA2008, lower case, no final dot), owned by the list.
 *
 *	domain_list_add_args() takes the operands argv[0..argc-1].
 *	domain_list_add_file() reads the file at path, or standard input for
 *	"-": one domain a line; "#" starts a comment that runs to the end of
 *	the line; white space around a domain and blank lines are ignored; a
 *	line holds at most DOMAIN_LINE_MAX octets (its newline not counted)
 *	and no NUL, a file at most DOMAIN_FILE_LINES_MAX lines.
 *
 *	A word that is not a domain name is refused with a sentence that says
 *	what it is instead and, when it can, which domain was meant:
 *
 *	    '192.0.2.1' is an IP address; MTA-STS applies to domain names
 *	    'https://mta-sts.example.com/.well-known/mta-sts.txt' is a URL;
 *	        give the domain: example.com
 *	    'postmaster@example.com' is an e-mail address; give the domain: ...
 *	    'exa_mple.com' is not a domain name: '_' (octet 4) is not a
 *	        letter, digit, hyphen or dot
 *	    'help' is not a domain; did you mean 'mtasts help check'?
 *
 *	(the last for operands only: .help is a top-level domain, and a file
 *	may name it).  A domain longer than DOMAIN_NAME_MAX octets is refused
 *	too: "_smtp._tls." in front of it would not be a DNS name.
 *
 * DIAGNOSTICS
 *	Both return 0, or an exit status after printing why on standard error:
 *	EXIT_USAGE_ERROR with print_usage_error(cmd, ...) for a word that is
 *	not a domain name (a file's message starts with "FILE:LINE: ", FILE
 *	being "standard input" for "-"), a file that cannot be read, a line
 *	too long, or more than DOMAIN_LIST_MAX domains in the list;
 *	EXIT_LOCAL_ERROR when out of memory.  On error the list keeps the
 *	names added before the one refused; release it all the same.
 */
#ifndef MTASTS_DOMAIN_ARGS_H
#define MTASTS_DOMAIN_ARGS_H

#include <stddef.h>

#include "cli.h"

#define DOMAIN_LIST_MAX 1000000		/* domains in one list */
#define DOMAIN_LINE_MAX 1024		/* octets of a line of a domain file */
#define DOMAIN_FILE_LINES_MAX 10000000	/* lines of a domain file, comments too */
#define DOMAIN_NAME_MAX 242		/* 253 less "_smtp._tls." */
#define DOMAIN_FILES_MAX 64		/* -f options a command takes (a suggestion) */

struct domain_list {
	char **names;			/* count domains, A-label form; owned */
	size_t count;
	size_t capacity;		/* of names; the list's own business */
};

int domain_list_add_args(struct domain_list *list, const struct command *cmd,
			 int argc, char *const *argv);
int domain_list_add_file(struct domain_list *list, const struct command *cmd,
			 const char *path);

/*
 * What a network command works on: the domains of each of the files, then
 * those of the operands; none at all is a usage error too.  0, or the exit
 * status after the error was said.
 */
int domain_list_collect(struct domain_list *list, const struct command *cmd,
			const char *const *files, size_t file_count,
			int argc, char *const *argv);

/* Free the names and empty the list; accepts NULL. */
void domain_list_release(struct domain_list *list);

/*
 * One word as a person may write a domain, into ret_name (HOSTNAME_BUF
 * octets): 0, or -1 with a sentence as above in why and ret_name
 * untouched.  command (NULL for none) is the subcommand that a stray
 * "help" is answered with.
 */
int domain_normalize(const char *word, const char *command, char *ret_name,
		     size_t name_size, char *why, size_t why_size);

#endif
