/*
 * test-imap-fetch.c - imap_fetch() (lib/io/imap_fetch.c) run once against a
 * server, its decisions made by a scenario on the command line; the totals
 * and each message are written out for tests/e2e/test-reports-imap to check.
 *
 * usage: test-imap-fetch URL USER PASSWORD [--ca-file F] [--all]
 *        [--move-to MAILBOX] [--max-message N] [--take TEXT] [--stop-at N]
 *        [--dump DIR]
 *
 * A message is taken when it contains TEXT (default "report-type=tlsrpt"),
 * otherwise left; the Nth message handed over (--stop-at) stops the run.
 * Each message handed over is written to DIR/UID.eml.  Prints
 * "uid=N octets=N taken|left|stop" for each message, then
 * "found=N fetched=N taken=N left=N too_large=N" and "note: ..." or
 * "error: ..."; exits 0 when imap_fetch() returned 0, else 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_fetch.h"

struct scenario {
	const char *take;
	long stop_at;
	const char *dump;
	long handed;
};

static bool contains(const unsigned char *data, size_t len, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(data + i, text, n) == 0)
			return true;
	return false;
}

static enum imap_disposition on_message(void *arg, uint32_t uid, const unsigned char *message,
					size_t len)
{
	struct scenario *sc = arg;
	enum imap_disposition disposition;
	const char *shown;

	sc->handed++;
	if (sc->dump != NULL) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%" PRIu32 ".eml", sc->dump, uid);
		if ((f = fopen(path, "wb")) == NULL || fwrite(message, 1, len, f) != len || fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", path);
			exit(2);
		}
	}
	if (sc->stop_at > 0 && sc->handed == sc->stop_at) {
		disposition = IMAP_STOP;
		shown = "stop";
	} else if (contains(message, len, sc->take)) {
		disposition = IMAP_TAKEN;
		shown = "taken";
	} else {
		disposition = IMAP_LEAVE;
		shown = "left";
	}
	printf("uid=%" PRIu32 " octets=%zu %s\n", uid, len, shown);
	return disposition;
}

int main(int argc, char **argv)
{
	struct imap_options options = { 0 };
	struct scenario sc = { .take = "report-type=tlsrpt" };
	struct imap_totals totals;
	char why[1024];
	int ret;

	if (argc < 4) {
		fprintf(stderr, "usage: %s URL USER PASSWORD [options]\n", argv[0]);
		return 2;
	}
	options.url = argv[1];
	options.user = argv[2];
	options.password = argv[3];
	options.timeout_ms = 5000;
	for (int i = 4; i < argc; i++) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--all") == 0) {
			options.all = true;
			continue;
		}
		if (value == NULL) {
			fprintf(stderr, "%s needs a value\n", argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "--ca-file") == 0)
			options.ca_file = value;
		else if (strcmp(argv[i], "--move-to") == 0)
			options.move_to = value;
		else if (strcmp(argv[i], "--max-message") == 0)
			options.max_message = strtoul(value, NULL, 10);
		else if (strcmp(argv[i], "--take") == 0)
			sc.take = value;
		else if (strcmp(argv[i], "--stop-at") == 0)
			sc.stop_at = strtol(value, NULL, 10);
		else if (strcmp(argv[i], "--dump") == 0)
			sc.dump = value;
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
		i++;
	}
	ret = imap_fetch(&options, on_message, &sc, &totals, why, sizeof(why));
	printf("found=%zu fetched=%zu taken=%zu left=%zu too_large=%zu\n", totals.found,
	       totals.fetched, totals.taken, totals.left, totals.too_large);
	if (ret < 0) {
		printf("error: %s\n", why);
		return 1;
	}
	if (why[0] != '\0')
		printf("note: %s\n", why);
	return 0;
}
