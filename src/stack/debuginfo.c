// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Separate and embedded debug information: build-id files, MiniDebugInfo
 * (.gnu_debugdata, liblzma) and debuginfod (libdebuginfod, dlopen'ed).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <elfutils/debuginfod.h>
#include "stack/debuginfo.h"

#define MINI_MAX	   (256u << 20) /* decompressed .gnu_debugdata, at most */
#define MINI_MEMLIMIT	   (64u << 20)	/* xz decoder memory */
#define LIBDEBUGINFOD_NAME "libdebuginfod.so.1"

Elf *debuginfo__open_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;

	if (fd < 0)
		return NULL;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && (elf_kind(elf) != ELF_K_ELF || elf_cntl(elf, ELF_C_FDREAD))) {
		elf_end(elf);
		elf = NULL;
	}
	close(fd);
	return elf;
}

Elf_Scn *debuginfo__section(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name) && sh.sh_type != SHT_NOBITS)
			return scn;
	}
	return NULL;
}

bool debuginfo__has_symtab(Elf *elf)
{
	for (Elf_Scn *scn = NULL; elf && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			return true;
	}
	return false;
}

bool debuginfo__build_id(Elf *elf, const uint8_t **id, size_t *len)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff, next;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		while (d && (next = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			off = next;
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((const char *)d->d_buf + noff, "GNU", 4) || nh.n_descsz < 2 ||
			    nh.n_descsz > 64)
				continue;
			*id = (const uint8_t *)d->d_buf + doff;
			*len = nh.n_descsz;
			return true;
		}
	}
	return false;
}

static void hex(char *out, const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

Elf *debuginfo__build_id_file(Elf *elf, const char *dir)
{
	char path[4096], idhex[2 * 64 + 1];
	const uint8_t *id;
	size_t len;

	if (!debuginfo__build_id(elf, &id, &len))
		return NULL;
	hex(idhex, id, len);
	if (snprintf(path, sizeof(path), "%s/%.2s/%s.debug", dir, idhex, idhex + 2) >=
	    (int)sizeof(path))
		return NULL;
	return debuginfo__open_path(path);
}

/* The whole xz stream in, the whole ELF out (its size is not stored up
 * front): grow the output until the stream ends, up to MINI_MAX.
 */
static void *xz_decode(const uint8_t *in, size_t len, size_t *out_len)
{
	lzma_stream z = LZMA_STREAM_INIT;
	size_t cap = len < MINI_MAX / 4 ? 4 * len + 4096 : MINI_MAX;
	uint8_t *buf = NULL, *nb;
	lzma_ret r;

	if (lzma_stream_decoder(&z, MINI_MEMLIMIT, 0) != LZMA_OK)
		return NULL;
	z.next_in = in;
	z.avail_in = len;
	do {
		if (!buf || z.avail_out == 0) {
			if (buf)
				cap = cap < MINI_MAX / 2 ? 2 * cap : MINI_MAX;
			if (buf && z.total_out >= cap)
				break; /* over MINI_MAX */
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
			z.next_out = buf + z.total_out;
			z.avail_out = cap - z.total_out;
		}
		r = lzma_code(&z, LZMA_FINISH);
	} while (r == LZMA_OK);
	*out_len = z.total_out;
	lzma_end(&z);
	if (r != LZMA_STREAM_END) {
		free(buf);
		return NULL;
	}
	return buf;
}

Elf *debuginfo__mini(Elf *elf, void **image)
{
	Elf_Scn *scn = debuginfo__section(elf, ".gnu_debugdata");
	Elf_Data *d = scn ? elf_rawdata(scn, NULL) : NULL;
	size_t n = 0;
	void *buf;
	Elf *mini;

	*image = NULL;
	if (!d || !d->d_buf || !d->d_size)
		return NULL;
	buf = xz_decode(d->d_buf, d->d_size, &n);
	if (!buf)
		return NULL;
	mini = elf_memory(buf, n);
	if (mini && elf_kind(mini) != ELF_K_ELF) {
		elf_end(mini);
		mini = NULL;
	}
	if (!mini) {
		free(buf);
		return NULL;
	}
	*image = buf;
	return mini;
}

/* ---- debuginfod ---- */

struct lw_debuginfod {
	void *dl;
	debuginfod_client *client;
	__typeof__(debuginfod_begin) *begin;
	__typeof__(debuginfod_end) *end;
	__typeof__(debuginfod_find_debuginfo) *find;
	__typeof__(debuginfod_set_progressfn) *set_progressfn;
	__typeof__(debuginfod_set_user_data) *set_user_data;
	bool verbose;
	bool budgeted;	  /* ours, not the user's DEBUGINFOD_TIMEOUT/MAXTIME */
	double left_s;	  /* of the budget */
	double deadline;  /* of the query under way */
	bool out_of_time; /* said once */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Called about once a second while a query runs: nonzero cancels it. The
 * client is the only way back to our state, through the library's own
 * accessor (already loaded: RTLD_NOLOAD only takes another reference).
 */
static int on_progress(debuginfod_client *c, long a, long b)
{
	void *dl = dlopen(LIBDEBUGINFOD_NAME, RTLD_NOW | RTLD_NOLOAD);
	__typeof__(debuginfod_get_user_data) *get;
	struct lw_debuginfod *d = NULL;

	(void)a;
	(void)b;
	if (!dl)
		return 0;
	get = (__typeof__(get))dlsym(dl, "debuginfod_get_user_data");
	if (get)
		d = get(c);
	dlclose(dl);
	return d && d->budgeted && now_s() > d->deadline;
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

struct lw_debuginfod *debuginfod__new(bool verbose)
{
	struct lw_debuginfod *d;

	if (!env_set("DEBUGINFOD_URLS"))
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->verbose = verbose;
	d->dl = dlopen(LIBDEBUGINFOD_NAME, RTLD_NOW | RTLD_LOCAL);
	if (!d->dl) {
		if (verbose)
			fprintf(stderr, "leakwatch: debuginfod: %s\n", dlerror());
		free(d);
		return NULL;
	}
	d->begin = (__typeof__(d->begin))dlsym(d->dl, "debuginfod_begin");
	d->end = (__typeof__(d->end))dlsym(d->dl, "debuginfod_end");
	d->find = (__typeof__(d->find))dlsym(d->dl, "debuginfod_find_debuginfo");
	d->set_progressfn =
	    (__typeof__(d->set_progressfn))dlsym(d->dl, "debuginfod_set_progressfn");
	d->set_user_data = (__typeof__(d->set_user_data))dlsym(d->dl, "debuginfod_set_user_data");
	if (!d->begin || !d->end || !d->find || !d->set_progressfn || !d->set_user_data ||
	    !(d->client = d->begin())) {
		if (verbose)
			fprintf(stderr, "leakwatch: debuginfod: cannot start a client\n");
		debuginfod__free(d);
		return NULL;
	}
	d->budgeted = !env_set("DEBUGINFOD_TIMEOUT") && !env_set("DEBUGINFOD_MAXTIME");
	d->left_s = LW_DEBUGINFOD_BUDGET_S;
	d->set_user_data(d->client, d);
	d->set_progressfn(d->client, on_progress);
	return d;
}

void debuginfod__free(struct lw_debuginfod *d)
{
	if (!d)
		return;
	if (d->client)
		d->end(d->client);
	if (d->dl)
		dlclose(d->dl);
	free(d);
}

Elf *debuginfod__find(struct lw_debuginfod *d, Elf *elf, const char *shown)
{
	char idhex[2 * 64 + 1], *path = NULL;
	const uint8_t *id;
	double t0;
	size_t len;
	Elf *dbg;
	int fd;

	if (!d || !debuginfo__build_id(elf, &id, &len))
		return NULL;
	if (d->budgeted && d->left_s <= 0) {
		if (d->verbose && !d->out_of_time)
			fprintf(stderr, "leakwatch: debuginfod: %d s spent, no more lookups\n",
				LW_DEBUGINFOD_BUDGET_S);
		d->out_of_time = true;
		return NULL;
	}
	hex(idhex, id, len);
	t0 = now_s();
	d->deadline = t0 + d->left_s;
	fd = d->find(d->client, id, (int)len, &path);
	if (d->budgeted)
		d->left_s -= now_s() - t0;
	if (d->verbose)
		fprintf(stderr, "leakwatch: debuginfod: %s (build id %s): %s%s (%.1f s)\n", shown,
			idhex, fd >= 0 ? "found " : "", fd >= 0 ? path : strerror(-fd),
			now_s() - t0);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	close(fd);
	dbg = path ? debuginfo__open_path(path) : NULL;
	free(path);
	return dbg;
}
