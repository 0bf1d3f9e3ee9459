/*
 * test_terminal.c - colour only for a terminal that can show it
 * (src/terminal.c): a pseudo-terminal and a pipe, under each TERM and
 * NO_COLOR.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"

#include "cli.h"

struct env_case {
	const char *term;	/* NULL: unset */
	const char *no_color;	/* NULL: unset */
	bool on_terminal;	/* what a terminal gets; a pipe never has colour */
};

static const struct env_case env_cases[] = {
	{ "xterm-256color", NULL, true },
	{ "vt100", "", true },		/* NO_COLOR empty: as if unset */
	{ "xterm", "1", false },
	{ "xterm", "0", false },		/* any value but the empty one */
	{ "dumb", NULL, false },
	{ "", NULL, false },
	{ NULL, NULL, false },
};

static void set(const char *name, const char *value)
{
	if (value != NULL)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

/* A pseudo-terminal's subsidiary side, or -1 where there is none. */
static int open_terminal(int *ret_main)
{
	int main_fd = posix_openpt(O_RDWR | O_NOCTTY), fd;
	const char *name;

	if (main_fd < 0 || grantpt(main_fd) != 0 || unlockpt(main_fd) != 0 ||
	    (name = ptsname(main_fd)) == NULL || (fd = open(name, O_RDWR | O_NOCTTY)) < 0) {
		if (main_fd >= 0)
			close(main_fd);
		return -1;
	}
	*ret_main = main_fd;
	return fd;
}

static void test_pipe(void **state)
{
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	for (size_t i = 0; i < ARRAY_LEN(env_cases); i++) {
		set("TERM", env_cases[i].term);
		set("NO_COLOR", env_cases[i].no_color);
		assert_false(output_color_wanted(fds[1]));
	}
	close(fds[0]);
	close(fds[1]);
	set("TERM", "xterm");
	set("NO_COLOR", NULL);
	assert_false(output_color_wanted(-1));
}

static void test_terminal(void **state)
{
	int main_fd = -1, fd = open_terminal(&main_fd);

	(void)state;
	if (fd < 0)
		skip();
	for (size_t i = 0; i < ARRAY_LEN(env_cases); i++) {
		const struct env_case *c = &env_cases[i];

		set("TERM", c->term);
		set("NO_COLOR", c->no_color);
		if (output_color_wanted(fd) != c->on_terminal)
			fail_msg("TERM=%s NO_COLOR=%s: colour %s", c->term ? c->term : "(unset)",
				 c->no_color ? c->no_color : "(unset)",
				 c->on_terminal ? "off, want on" : "on, want off");
	}
	close(fd);
	close(main_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_terminal),
	};

	return cmocka_run_group_tests_name("terminal", tests, NULL, NULL);
}
