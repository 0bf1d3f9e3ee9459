/*
 * replay.c - run a fuzz target over files, without libFuzzer.
 *
 * SYNOPSIS
 *	fuzz-replay-<target> PATH...
 *
 * DESCRIPTION
 *	Each PATH is a file or a directory; every regular file of a directory
 *	(not recursively, dot files skipped) is read and passed once to
 *	LLVMFuzzerTestOneInput(), in name order.  Each input is copied into a
 *	buffer of exactly its size so that a sanitizer sees any overread.
 *
 * DIAGNOSTICS
 *	Exit 0 after at least one input ran; 1 when a path cannot be read or
 *	none of them holds an input.  A target that finds a broken invariant
 *	aborts; the name of the input it was running is printed first.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_FILE_MAX (1024 * 1024)

static int read_file(const char *path, uint8_t **ret_data, size_t *ret_size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t size = 0;
	long end;
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < 0 ||
	    end > REPLAY_FILE_MAX || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	size = (size_t)end;
	/* malloc(0) may return NULL; one spare octet keeps it a real buffer. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		goto out;
	if (size > 0 && fread(buf, 1, size, f) != size)
		goto out;
	*ret_data = buf;
	*ret_size = size;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int run_file(const char *path)
{
	uint8_t *data;
	size_t size;

	if (read_file(path, &data, &size) != 0) {
		fprintf(stderr, "replay: %s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(stderr, "replay: %s (%zu octets)\n", path, size);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; returns how many ran, or -1. */
static long run_dir(const char *dir)
{
	char **names = NULL, path[4096];
	size_t count = 0, cap = 0;
	struct dirent *e;
	long ran = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			char **grown = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (grown == NULL)
				abort();
			names = grown;
		}
		if ((names[count++] = strdup(e->d_name)) == NULL)
			abort();
	}
	closedir(d);
	qsort(names, count, sizeof(*names), by_name);
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) != 0)
				ran = -1;
			else if (ran >= 0)
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	long total = 0;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		long ran;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			status = 1;
			continue;
		}
		ran = S_ISDIR(st.st_mode) ? run_dir(argv[i]) :
		      run_file(argv[i]) == 0 ? 1 : -1;
		if (ran < 0)
			status = 1;
		else
			total += ran;
	}
	if (total == 0) {
		fprintf(stderr, "replay: no input to run\n");
		status = 1;
	}
	printf("replayed %ld inputs\n", total);
	return status;
}
