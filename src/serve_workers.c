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
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "daemon_log.h"
#include "serve.h"

#define RESTARTS_MAX 5			/* deaths in RESTART_WINDOW_S before giving up */
#define RESTART_WINDOW_S 60
#define EXIT_CONFIG 78			/* EX_CONFIG */

struct worker {
	pid_t pid;			/* 0: not running */
	unsigned index;
};

/*
 * In a worker: the signals it was forked with blocked (until it has its
 * handlers), and the pipe on which it tells the supervisor it serves.
 */
static sigset_t worker_saved_mask;
static int worker_ready_fd = -1;

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

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

void serve_signals_hold(void)
{
	sigset_t set;

	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

void serve_signals_release(void)
{
	sigset_t set;

	stop_signals(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void serve_workers_serving(void)
{
	/* The signals held since the fork reach the handlers now set. */
	sigprocmask(SIG_SETMASK, &worker_saved_mask, NULL);
	daemon_ready(&worker_ready_fd);
}

static pid_t start_worker(struct worker *w, const sigset_t *old_mask, int ready_pipe[2],
			  int (*worker_main)(void *arg, unsigned index), void *arg)
{
	pid_t supervisor = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		/*
		 * A supervisor killed outright (SIGKILL, the OOM killer) must not
		 * leave workers holding the ports.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != supervisor)
			_exit(EXIT_LOCAL_ERROR);
		/* Only the supervisor talks to systemd (NotifyAccess=main). */
		unsetenv("NOTIFY_SOCKET");
		/*
		 * SIGHUP and SIGTERM stay blocked until the worker has its
		 * handlers (serve_workers_serving()): their default action
		 * would kill it while it reads the registry.
		 */
		worker_saved_mask = *old_mask;
		close(ready_pipe[0]);
		worker_ready_fd = ready_pipe[1];
		_exit(worker_main(arg, w->index));
	}
	if (pid < 0) {
		daemon_log(LOG_ERR, "cannot start worker %u: %s", w->index, strerror(errno));
	} else {
		w->pid = pid;
	}
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

/*
 * Read the bytes the workers write once they serve (one each, and one
 * from each worker started again); true when count have come.
 */
static bool note_ready(int fd, unsigned count, unsigned *ready_count)
{
	unsigned char buf[SERVE_WORKERS_MAX];
	ssize_t got;

	while ((got = read(fd, buf, sizeof(buf))) > 0)
		*ready_count += (unsigned)got;
	return *ready_count >= count;
}

int serve_workers_run(unsigned count, int (*worker_main)(void *arg, unsigned index), void *arg,
		      void (*all_serving)(void *arg))
{
	struct worker workers[SERVE_WORKERS_MAX] = { 0 };
	time_t deaths[RESTARTS_MAX] = { 0 };
	sigset_t wanted, old_mask, worker_mask;
	bool stopping = false, announced = false;
	int status = 0, ready_pipe[2];
	unsigned ready_count = 0;
	size_t death_count = 0;
	const struct timespec tick = { 0, 100 * 1000 * 1000 };

	if (count > SERVE_WORKERS_MAX)
		count = SERVE_WORKERS_MAX;
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGHUP);
	sigaddset(&wanted, SIGTERM);
	sigaddset(&wanted, SIGINT);
	sigaddset(&wanted, SIGCHLD);
	if (pipe2(ready_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		daemon_log(LOG_ERR, "cannot start the workers: %s", strerror(errno));
		return EXIT_LOCAL_ERROR;
	}
	sigprocmask(SIG_BLOCK, &wanted, &old_mask);
	/*
	 * Held since the start (serve_signals_hold()): the workers take them
	 * once they serve.  The supervisor keeps its own mask to the end, so
	 * that a signal after the last worker is gone cannot kill it before
	 * the caller has removed the pid file.
	 */
	worker_mask = old_mask;
	sigdelset(&worker_mask, SIGHUP);
	sigdelset(&worker_mask, SIGTERM);
	sigdelset(&worker_mask, SIGINT);
	sigdelset(&worker_mask, SIGCHLD);
	for (unsigned i = 0; i < count; i++) {
		workers[i].index = i;
		if (start_worker(&workers[i], &worker_mask, ready_pipe, worker_main, arg) < 0) {
			signal_all(workers, count, SIGTERM);
			stopping = true;
			status = EXIT_LOCAL_ERROR;
			break;
		}
	}
	while (running(workers, count) > 0) {
		siginfo_t info;
		int sig = sigtimedwait(&wanted, &info, &tick);

		/* Ready once every worker of the first start said it serves. */
		if (note_ready(ready_pipe[0], count, &ready_count) && !announced &&
		    !stopping) {
			announced = true;
			daemon_log(LOG_INFO, "%u workers serving", count);
			daemon_notify("READY=1\nSTATUS=serving");
			if (all_serving != NULL)
				all_serving(arg);
		}
		if (sig < 0)
			continue;
		if (sig == SIGHUP && !stopping) {
			if (announced)
				daemon_notify_reloading();
			signal_all(workers, count, SIGHUP);
			if (announced)
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
			describe_exit(wstatus, how, sizeof(how));
			if (stopping) {
				if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
					daemon_log(LOG_ERR, "worker %u %s while stopping", w->index, how);
					if (status == 0)
						status = EXIT_LOCAL_ERROR;
				}
				continue;
			}
			/* Wrong settings (a registry that cannot be opened): no restart mends them. */
			if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == EXIT_CONFIG) {
				daemon_log(LOG_ERR, "worker %u %s: the settings are wrong; stopping",
					   w->index, how);
				stopping = true;
				status = EXIT_CONFIG;
				signal_all(workers, count, SIGTERM);
				continue;
			}
			/* Dying over and over is a fault no restart mends: the sixth death in a minute stops. */
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
			if (start_worker(w, &worker_mask, ready_pipe, worker_main, arg) < 0) {
				stopping = true;
				status = EXIT_LOCAL_ERROR;
				signal_all(workers, count, SIGTERM);
			}
		}
	}
	/* Stopped before all served: still a clean start and stop for the starter. */
	if (!announced && status == 0 && all_serving != NULL)
		all_serving(arg);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	close(ready_pipe[0]);
	close(ready_pipe[1]);
	return status;
}
