// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pause.c - the pod sandbox process of the test containerd (its sandbox_image).
 *
 * A pod sandbox needs one process that holds the pod's namespaces open and does nothing else.
 * No registry is reachable here, so the test builds its own: it waits for SIGTERM or SIGINT and
 * exits 0, and as PID 1 of the pod it reaps whatever is reparented to it (SIGCHLD).
 * Built static, so the image is this one file.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction sa = { 0 };
	sigset_t mask, old;

	sa.sa_handler = on_stop;
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return 1;
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	if (sigaction(SIGCHLD, &sa, NULL))
		return 1;

	/* Block the stop signals between the check and the wait, so none is lost in between. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	while (!stop)
		sigsuspend(&old);
	return 0;
}
