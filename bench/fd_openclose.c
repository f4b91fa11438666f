// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* open+close loop; prints nanoseconds per pair (best of ROUNDS).
 * "tick SECONDS": open+close /dev/null about every millisecond for at most
 * SECONDS (an attach target that makes events at a steady rate).
 */
#include <fcntl.h>
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

static int use_fd; /* "rw": also read and write the fd (last-touch cost) */

__attribute__((noinline)) static void open_close(int n)
{
	char b = 0;

	for (int i = 0; i < n; i++) {
		int fd = open("/dev/null", use_fd ? O_RDWR : O_RDONLY);

		if (fd < 0)
			exit(1);
		if (use_fd && (read(fd, &b, 1) < 0 || write(fd, &b, 1) != 1))
			exit(1);
		close(fd);
	}
}

static int tick(double seconds)
{
	struct timespec ms = {.tv_nsec = 1000000};
	double end = now_ns() + seconds * 1e9;

	while (now_ns() < end) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd < 0)
			return 1;
		close(fd);
		nanosleep(&ms, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "tick"))
		return tick(atof(argv[2]));
	int n = argc > 1 ? atoi(argv[1]) : 200000;

	use_fd = argc > 2;
	double best = 1e30;

	for (int r = 0; r < 5; r++) {
		double t0 = now_ns();

		open_close(n);
		double t = (now_ns() - t0) / n;
		if (t < best)
			best = t;
	}
	printf("%.1f\n", best);
	return 0;
}
