/*
 * serve_workers.c - the worker processes of `mtasts serve`: a supervisor
 * that forks them once the listeners are bound and privileges dropped,
 * passes SIGHUP, SIGTERM and SIGINT on to them, starts another when one
 * dies, and returns once all have stopped.
 *
 * Processes rather than threads: a worker is the whole single-threaded
 * server (its loop, its store and registry handles, its TLS objects), so
 * nothing in it needs a lock; what the workers share (the metrics, the
 * ACME challenge answers) lives in memory mapped before the fork.  The
 * listening sockets are inherited; the kernel hands each connection to
 * one worker.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "daemon_log.h"
#include "serve.h"

#define RESTARTS_MAX 5			/* deaths in RESTART_WINDOW_S before giving up */
#define RESTART_WINDOW_S 60
#define EXIT_LOCAL_ERROR 71

struct worker {
	pid_t pid;			/* 0: not running */
	unsigned index;
};

struct serve_metrics *serve_metrics_shared(size_t count)
{
	void *slots = mmap(NULL, count * sizeof(struct serve_metrics), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return slots == MAP_FAILED ? NULL : slots;
}

void serve_metrics_shared_free(struct serve_metrics *slots, size_t count)
{
	if (slots != NULL)
		munmap(slots, count * sizeof(struct serve_metrics));
}

unsigned serve_workers_count(unsigned setting)
{
	long online;

	if (setting > 0)
		return setting;
	online = sysconf(_SC_NPROCESSORS_ONLN);
	if (online < 1)
		return 1;
	return online > SERVE_WORKERS_MAX ? SERVE_WORKERS_MAX : (unsigned)online;
}

static pid_t start_worker(struct worker *w, const sigset_t *old_mask,
			  int (*worker_main)(void *arg, unsigned index), void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* Only the supervisor talks to systemd (NotifyAccess=main). */
		unsetenv("NOTIFY_SOCKET");
		sigprocmask(SIG_SETMASK, old_mask, NULL);
		_exit(worker_main(arg, w->index));
	}
	if (pid < 0)
		daemon_log(LOG_ERR, "cannot start worker %u: %s", w->index, strerror(errno));
	else
		w->pid = pid;
	return pid;
}

static void signal_all(struct worker *workers, unsigned count, int sig)
{
	for (unsigned i = 0; i < count; i++)
		if (workers[i].pid > 0)
			kill(workers[i].pid, sig);
}

static unsigned running(const struct worker *workers, unsigned count)
{
	unsigned n = 0;

	for (unsigned i = 0; i < count; i++)
		n += workers[i].pid > 0;
	return n;
}

static void describe_exit(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "stopped (status %d)", status);
}

int serve_workers_run(unsigned count, int (*worker_main)(void *arg, unsigned index), void *arg)
{
	struct worker workers[SERVE_WORKERS_MAX] = { 0 };
	time_t deaths[RESTARTS_MAX] = { 0 };
	sigset_t wanted, old_mask;
	bool stopping = false;
	int status = 0;
	size_t death_count = 0;

	if (count > SERVE_WORKERS_MAX)
		count = SERVE_WORKERS_MAX;
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGHUP);
	sigaddset(&wanted, SIGTERM);
	sigaddset(&wanted, SIGINT);
	sigaddset(&wanted, SIGCHLD);
	sigprocmask(SIG_BLOCK, &wanted, &old_mask);
	for (unsigned i = 0; i < count; i++) {
		workers[i].index = i;
		if (start_worker(&workers[i], &old_mask, worker_main, arg) < 0) {
			signal_all(workers, count, SIGTERM);
			stopping = true;
			status = EXIT_LOCAL_ERROR;
			break;
		}
	}
	if (!stopping) {
		daemon_log(LOG_INFO, "%u workers started", count);
		daemon_notify("READY=1\nSTATUS=serving");
	}
	while (running(workers, count) > 0) {
		siginfo_t info;
		int sig = sigwaitinfo(&wanted, &info);

		if (sig < 0)
			continue;
		if (sig == SIGHUP && !stopping) {
			daemon_notify_reloading();
			signal_all(workers, count, SIGHUP);
			daemon_notify("READY=1");
		} else if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping)
				daemon_notify("STOPPING=1");
			/* A second signal makes the workers stop at once, as it does one. */
			stopping = true;
			signal_all(workers, count, sig);
		}
		for (;;) {
			char how[64];
			int wstatus;
			pid_t pid = waitpid(-1, &wstatus, WNOHANG);
			struct worker *w = NULL;

			if (pid <= 0)
				break;
			for (unsigned i = 0; i < count; i++)
				if (workers[i].pid == pid)
					w = &workers[i];
			if (w == NULL)
				continue;
			w->pid = 0;
			if (stopping) {
				if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
					status = EXIT_LOCAL_ERROR;
				continue;
			}
			describe_exit(wstatus, how, sizeof(how));
			/* Dying over and over is a fault no restart mends. */
			if (death_count == RESTARTS_MAX &&
			    time(NULL) - deaths[0] < RESTART_WINDOW_S) {
				daemon_log(LOG_ERR, "worker %u %s; %d deaths in %d s: stopping",
					   w->index, how, RESTARTS_MAX, RESTART_WINDOW_S);
				stopping = true;
				status = EXIT_LOCAL_ERROR;
				signal_all(workers, count, SIGTERM);
				continue;
			}
			if (death_count == RESTARTS_MAX) {
				memmove(deaths, deaths + 1, sizeof(deaths) - sizeof(deaths[0]));
				death_count--;
			}
			deaths[death_count++] = time(NULL);
			daemon_log(LOG_ERR, "worker %u %s; starting another", w->index, how);
			if (start_worker(w, &old_mask, worker_main, arg) < 0) {
				stopping = true;
				status = EXIT_LOCAL_ERROR;
				signal_all(workers, count, SIGTERM);
			}
		}
	}
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return status;
}
