/*
 * terminal.c - whether output to a descriptor may carry colour.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

bool output_color_wanted(int fd)
{
	const char *no_color = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	/* no-color.org: present and not empty, whatever its value. */
	if (no_color != NULL && no_color[0] != '\0')
		return false;
	/* No terminal type, or one that knows no escape sequences. */
	if (term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0)
		return false;
	return isatty(fd) == 1;
}
