// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "session/ring_reader.h"

/* Published at least this often within a batch, so that producers see the
 * space a long drain frees.
 */
#define RING_PUBLISH_SHIFT 4 /* 1/16 of the ring */

struct ring_reader {
	int map_fd;
	size_t page;
	uint64_t mask;
	uint64_t *consumer_pos; /* ours to write */
	const uint64_t *producer_pos;
	const uint8_t *data;
	ring_record_fn fn;
	void *ctx;
};

struct ring_reader *ring_reader__new(int map_fd, ring_record_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct ring_reader *r;
	void *p;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->map_fd = map_fd;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->mask = info.max_entries - 1;
	r->fn = fn;
	r->ctx = ctx;
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto err;
	r->consumer_pos = p;
	/* the producer page, then the data twice */
	p = mmap(NULL, r->page + 2 * (size_t)info.max_entries, PROT_READ, MAP_SHARED, map_fd,
		 (off_t)r->page);
	if (p == MAP_FAILED)
		goto err;
	r->producer_pos = p;
	r->data = (const uint8_t *)p + r->page;
	return r;
err:
	ring_reader__free(r);
	return NULL;
}

void ring_reader__free(struct ring_reader *r)
{
	int e = errno;

	if (!r)
		return;
	if (r->consumer_pos)
		munmap(r->consumer_pos, r->page);
	if (r->producer_pos)
		munmap((void *)r->producer_pos, r->page + 2 * (r->mask + 1));
	free(r);
	errno = e;
}

int ring_reader__consume(struct ring_reader *r)
{
	struct ring_walk w = {.cons = *r->consumer_pos};
	uint64_t limit = (r->mask + 1) >> RING_PUBLISH_SHIFT;
	int n = 0;

	for (;;) {
		uint64_t prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);

		if (w.cons >= prod)
			break;
		ring_records__walk(&w, r->data, r->mask, prod, limit, r->fn, r->ctx);
		/* release: the kernel may reuse the space once it sees this */
		__atomic_store_n(r->consumer_pos, w.cons, __ATOMIC_RELEASE);
		n += w.nr;
		if (w.err)
			return w.err;
		if (w.busy)
			break;
	}
	return n;
}

int ring_reader__fd(const struct ring_reader *r)
{
	return r->map_fd;
}
