/*
 * report_parse.c - the ceiling of bench/bench-reports: read every report
 * file named (or every file of the directories named), unpack it and read
 * the report JSON, and store nothing.  What `mtasts reports ingest` does
 * less the store; prints files, reports, octets, seconds, rates and peak
 * memory.
 *
 * usage: report-parse PATH...
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report_unpack.h"
#include "tlsrpt_report.h"
#include "util.h"

struct totals {
	unsigned long files, reports, failed;
	unsigned long long octets;
};

static struct unpack_limits unpack_limits;
static struct tlsrpt_limits report_limits;

static void parse_file(const char *path, struct totals *t)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *data;
	size_t len = 0, cap;
	struct stat st;
	char why[300];
	struct unpack_result unpacked;

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "report-parse: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		t->failed++;
		return;
	}
	/* Sized by the file, as mtasts's read_input() does; one octet more tells "too large". */
	cap = (uintmax_t)st.st_size < unpack_limits.max_input ? (size_t)st.st_size + 1
							       : unpack_limits.max_input + 1;
	data = malloc(cap);
	for (ssize_t n = 1; data != NULL && len < cap && n > 0; len += n > 0 ? (size_t)n : 0)
		n = read(fd, data + len, cap - len);
	close(fd);
	t->files++;
	t->octets += len;
	if (data == NULL || report_unpack(data, len, unpack_format_from_file_name(path), &unpack_limits,
					  &unpacked, why, sizeof(why)) != 0) {
		t->failed++;
		free(data);
		return;
	}
	for (size_t i = 0; i < unpacked.member_count; i++) {
		struct tlsrpt_report *report;

		if (tlsrpt_report_read(unpacked.members[i].json, unpacked.members[i].json_len,
				       &report_limits, &report, why, sizeof(why)) != 0) {
			t->failed++;
			continue;
		}
		t->reports++;
		tlsrpt_report_free(report);
	}
	unpack_result_clear(&unpacked);
	free(data);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void parse_path(const char *path, struct totals *t)
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		parse_file(path, t);
		return;
	}
	DIR *dir = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t count = 0, cap = 0;

	if (dir == NULL)
		return;
	/* The same order as the ingest, which sorts the names. */
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				abort();
		}
		if (asprintf(&names[count++], "%s/%s", path, de->d_name) < 0)
			abort();
	}
	closedir(dir);
	if (names != NULL)
		qsort(names, count, sizeof(*names), compare_names);
	for (size_t i = 0; i < count; i++) {
		parse_file(names[i], t);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	struct totals t = { 0 };
	struct rusage ru;

	if (argc < 2) {
		fprintf(stderr, "usage: report-parse PATH...\n");
		return 2;
	}
	unpack_limits_default(&unpack_limits);
	tlsrpt_limits_default(&report_limits);
	long long start = monotonic_ms();

	for (int i = 1; i < argc; i++)
		parse_path(argv[i], &t);
	double seconds = (double)(monotonic_ms() - start) / 1000.0;

	getrusage(RUSAGE_SELF, &ru);
	printf("files %lu reports %lu failed %lu octets %llu seconds %.3f "
	       "reports/s %.0f MB/s %.2f peak_rss_kb %ld\n",
	       t.files, t.reports, t.failed, t.octets, seconds,
	       seconds > 0 ? (double)t.reports / seconds : 0.0,
	       seconds > 0 ? (double)t.octets / 1e6 / seconds : 0.0, ru.ru_maxrss);
	return t.failed == 0 ? 0 : 1;
}
