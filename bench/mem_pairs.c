// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* malloc+free pairs: prints ns per pair (best of 5 rounds).
 * "N maps": then a second line, whether a [uprobes] page was mapped into it.
 * "N reallocarray": reallocarray(NULL, 8, 8)+free pairs instead.
 * "live N [READY_FILE]": keep N blocks live, write READY_FILE, wait for SIGTERM.
 */
#define _GNU_SOURCE /* reallocarray */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

__attribute__((noinline)) static void pairs(int n)
{
	for (int i = 0; i < n; i++) {
		void *volatile p = malloc(64);

		free(p);
	}
}

__attribute__((noinline)) static void array_pairs(int n)
{
	for (int i = 0; i < n; i++) {
		void *volatile p = reallocarray(NULL, 8, 8);

		free(p);
	}
}

/* The kernel maps a [uprobes] page (the out-of-line single-step slots)
 * into a process the first time one of its probes is hit there.
 */
static int uprobes_mapped(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "[uprobes]") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* global: the compiler may not drop allocations whose results escape */
void **held;

__attribute__((noinline)) static void hold(long n)
{
	held = malloc(n * sizeof(*held));
	for (long i = 0; i < n; i++)
		held[i] = malloc(32);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "live")) {
		sigset_t m;
		int sig;
		FILE *f;

		sigemptyset(&m);
		sigaddset(&m, SIGTERM);
		sigaddset(&m, SIGUSR1);
		sigprocmask(SIG_BLOCK, &m, NULL);
		if (argc > 3 && (f = fopen(argv[3], "w"))) {
			fprintf(f, "waiting %d\n", getpid());
			fclose(f);
		}
		sigwait(&m, &sig); /* SIGUSR1: attached, allocate */
		hold(atol(argv[2]));
		if (argc > 3 && (f = fopen(argv[3], "a"))) {
			fprintf(f, "live\n");
			fclose(f);
		}
		sigwait(&m, &sig);
		return 0;
	}
	int n = argc > 1 ? atoi(argv[1]) : 200000;
	bool array = argc > 2 && !strcmp(argv[2], "reallocarray");
	double best = 1e30;

	for (int r = 0; r < 5; r++) {
		double t0 = now_ns();

		if (array)
			array_pairs(n);
		else
			pairs(n);
		double t = (now_ns() - t0) / n;
		if (t < best)
			best = t;
	}
	printf("%.1f\n", best);
	if (argc > 2 && !strcmp(argv[2], "maps"))
		printf("%s\n", uprobes_mapped() ? "uprobes-page" : "no-uprobes-page");
	return 0;
}
