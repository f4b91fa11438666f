/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The consumer of the events ring. libbpf's ring_buffer__consume() stores
 * consumer_pos after every record, and every store moves the cache line
 * each producer reads at its reserve over to this CPU: a traced thread
 * missed on it at every record while we drained. This one publishes the
 * position once per batch.
 */
#ifndef LW_RING_READER_H
#define LW_RING_READER_H

#include "base/ring_records.h"

struct ring_reader;

/* Map the ring of map_fd; NULL with errno set on failure. */
struct ring_reader *ring_reader__new(int map_fd, ring_record_fn fn, void *ctx);
void ring_reader__free(struct ring_reader *r);
/* Hand every submitted record to fn: how many, or fn's negative return. */
int ring_reader__consume(struct ring_reader *r);
/* Readable (EPOLLIN) while records wait. */
int ring_reader__fd(const struct ring_reader *r);

#endif
