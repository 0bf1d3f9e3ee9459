/*
 * daemon.c - see daemon.h.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "daemon_log.h"

void daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';	/* an abstract socket */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
	close(fd);
}

void daemon_notify_reloading(void)
{
	struct timespec ts;
	char state[80];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
		 (unsigned long long)ts.tv_nsec / 1000);
	daemon_notify(state);
}

bool daemon_supervised(void)
{
	return getenv("NOTIFY_SOCKET") != NULL || getenv("INVOCATION_ID") != NULL;
}

int daemon_detach(int *ret_ready_fd)
{
	int ready[2], fd;
	pid_t pid;
	char byte = 0;
	ssize_t n;

	if (pipe2(ready, O_CLOEXEC) != 0 || (pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		sigset_t none;

		/* The starter waits: Ctrl-C may end its wait, whatever the daemon holds. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(ready[1]);
		do
			n = read(ready[0], &byte, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && byte == 'R' ? 0 : EXIT_LOCAL_ERROR);
	}
	close(ready[0]);
	*ret_ready_fd = ready[1];
	if (setsid() < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

void daemon_ready(int *ready_fd)
{
	if (*ready_fd < 0)
		return;
	/* The process that started this one may exit now, with 0. */
	(void)!write(*ready_fd, "R", 1);
	close(*ready_fd);
	*ready_fd = -1;
}

int daemon_drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL)
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		daemon_log(LOG_ERR, "user %s: %s", user,
			   errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (getuid() != 0 && getuid() == pw->pw_uid)
		return 0;
	/* The user's own groups stay: one may open a Redis socket or a directory. */
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		daemon_log(LOG_ERR, "cannot become user %s: %s", user, strerror(errno));
		return -1;
	}
	/* Never root again. */
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		daemon_log(LOG_ERR, "could become root again after dropping "
			   "privileges; refusing to run");
		return -1;
	}
	return 0;
}

int daemon_write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");
	bool written;

	if (f == NULL) {
		daemon_log(LOG_ERR, "%s: %s", path, strerror(errno));
		return -1;
	}
	written = fprintf(f, "%ld\n", (long)getpid()) > 0;
	if (fclose(f) != 0 || !written) {
		daemon_log(LOG_ERR, "%s: %s", path, strerror(errno));
		(void)unlink(path);	/* no half-written pid file left behind */
		return -1;
	}
	return 0;
}

const char *daemon_absolute_path(const char *path, char *buf, size_t size)
{
	char cwd[2048];

	if (path == NULL || path[0] == '/' || strcmp(path, "-") == 0 ||
	    getcwd(cwd, sizeof(cwd)) == NULL ||
	    (size_t)snprintf(buf, size, "%s/%s", cwd, path) >= size)
		return path;
	return buf;
}
