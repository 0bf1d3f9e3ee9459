/*
 * cmd_reports.c - mtasts reports: TLS reports (RFC 8460) received by a
 * domain owner, taken in (ingest, fetch), kept (prune) and read (summary,
 * list, show, alerts, html).
 *
 * Every report, from whatever path, goes through report_intake(); every
 * question is one of the store's queries (report_store.h); alerts and
 * verdicts are decided by report_analysis.c.  This file owns only options,
 * output and exit statuses.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "imap_fetch.h"
#include "report_analysis.h"
#include "report_html.h"
#include "report_intake.h"
#include "report_store.h"
#include "util.h"

#define REPORTS_DEFAULT_STORE "/var/lib/mtasts/reports.db"
#define REPORTS_STORE_ENV "MTASTS_REPORTS_STORE"
#define SECONDS_PER_DAY 86400

/* Exit statuses of ingest and fetch, those Postfix's pipe(8) understands. */
#define EXIT_DATAERR 65			/* EX_DATAERR: an input is not a valid report: bounce */
#define EXIT_NOINPUT 66			/* EX_NOINPUT: an input could not be read */
#define EXIT_TEMPFAIL 75		/* EX_TEMPFAIL: the store failed for now: try again */

static const char reports_usage[] =
	"usage: mtasts reports COMMAND [OPTIONS]\n"
	"\n"
	"TLS reports (RFC 8460) sent to a domain owner: take them in, keep them,\n"
	"read them.\n"
	"\n"
	"Commands:\n"
	"  ingest [PATH...|-]   store reports from files (.json, .json.gz, .gz, .zip,\n"
	"                       .eml), maildir folders or standard input\n"
	"  fetch                store reports from an IMAP mailbox (--imap URL)\n"
	"  summary              sessions, successes and failures per group\n"
	"  list                 the stored reports, newest first\n"
	"  show ID              one report in full\n"
	"  alerts               what needs attention; exit status 1 when anything does\n"
	"  html -o FILE         one self-contained HTML page of the period\n"
	"  prune                remove reports past the retention (--older-than DAYS)\n"
	"\n"
	"Options of every command:\n"
	"  -S, --store LOCATION an SQLite file, or a postgresql:// URI (default\n"
	"                       $" REPORTS_STORE_ENV ", else " REPORTS_DEFAULT_STORE ")\n"
	"  -j, --json           JSON output (summary, list, show, alerts, ingest, fetch)\n"
	"  -h, --help           show this help\n"
	"\n"
	"Which reports (summary, list, alerts, html):\n"
	"  -d, --domain DOMAIN  one policy domain\n"
	"      --reporter NAME  one reporting organisation\n"
	"      --since DATE     reports whose period starts on or after DATE (YYYY-MM-DD)\n"
	"      --until DATE     ... on or before DATE\n"
	"      --now DATE       the day to judge alerts and verdicts at (default today)\n"
	"\n"
	"summary: --by day|reporter|domain|mx|result-type, --csv\n"
	"list:    --limit N (default 50, 0 for all)\n"
	"show:    --raw (the report's JSON as received)\n"
	"alerts:  --ratio R (default 0.01), --min-sessions N (10), --window DAYS (1),\n"
	"         --silent-days N (3)\n"
	"html:    -o, --output FILE, --days N (default 30)\n"
	"prune:   --older-than DAYS\n"
	"ingest and fetch:\n"
	"      --no-dkim        do not verify DKIM signatures of mailed reports\n"
	"      --require-dkim none|signed|pass   refuse mail that is not (default none)\n"
	"      --dkim-dns-servers ADDR[,ADDR]    name servers for DKIM keys\n"
	"      --dkim-key-file FILE              DKIM keys from a file, not the DNS\n"
	"  -q, --quiet          print nothing for reports stored\n"
	"fetch:\n"
	"      --imap URL       imaps://HOST[:PORT]/MAILBOX\n"
	"      --user NAME      the IMAP login\n"
	"      --password-file FILE   the IMAP password (first line), or $MTASTS_IMAP_PASSWORD\n"
	"      --move-to MAILBOX      move taken messages there (default: flag them \\Seen)\n"
	"      --all            every message, not only the unseen ones\n"
	"      --ca-file FILE   trust these CAs for the IMAP server\n"
	"\n"
	"Exit status: 0 done; 1 alerts fired (alerts), no such report (show);\n"
	"65 an input is not a valid report; 66 an input or the store could not be read;\n"
	"75 the store is unavailable now, or a DKIM key out of reach (nothing lost:\n"
	"try again); 64 usage error;\n"
	"71 local error.\n";

const struct command cmd_reports;

enum {
	OPT_REPORTER = 256, OPT_SINCE, OPT_UNTIL, OPT_NOW, OPT_BY, OPT_CSV, OPT_LIMIT, OPT_RAW,
	OPT_RATIO, OPT_MIN_SESSIONS, OPT_WINDOW, OPT_SILENT_DAYS, OPT_DAYS, OPT_OLDER_THAN,
	OPT_NO_DKIM, OPT_REQUIRE_DKIM, OPT_DKIM_DNS, OPT_DKIM_KEY_FILE, OPT_IMAP, OPT_USER,
	OPT_PASSWORD_FILE, OPT_MOVE_TO, OPT_ALL, OPT_CA_FILE,
};

static const struct option reports_options[] = {
	{ "store", required_argument, NULL, 'S' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "domain", required_argument, NULL, 'd' },
	{ "reporter", required_argument, NULL, OPT_REPORTER },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "by", required_argument, NULL, OPT_BY },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "ratio", required_argument, NULL, OPT_RATIO },
	{ "min-sessions", required_argument, NULL, OPT_MIN_SESSIONS },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "silent-days", required_argument, NULL, OPT_SILENT_DAYS },
	{ "output", required_argument, NULL, 'o' },
	{ "days", required_argument, NULL, OPT_DAYS },
	{ "older-than", required_argument, NULL, OPT_OLDER_THAN },
	{ "no-dkim", no_argument, NULL, OPT_NO_DKIM },
	{ "require-dkim", required_argument, NULL, OPT_REQUIRE_DKIM },
	{ "dkim-dns-servers", required_argument, NULL, OPT_DKIM_DNS },
	{ "dkim-key-file", required_argument, NULL, OPT_DKIM_KEY_FILE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "imap", required_argument, NULL, OPT_IMAP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "move-to", required_argument, NULL, OPT_MOVE_TO },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ NULL, 0, NULL, 0 },
};

/* Everything the command line said, for whichever subcommand. */
struct reports_args {
	const char *verb;
	const char *store;
	bool json, csv, raw, quiet, all, dkim;
	struct report_filter filter;
	int64_t now;
	enum report_group group;
	size_t limit;
	struct alert_settings alerts;
	const char *output;
	unsigned days;
	unsigned older_than;
	bool older_than_given;
	enum dkim_requirement dkim_requirement;
	const char *dkim_dns, *dkim_key_file;
	const char *imap, *user, *password_file, *move_to, *ca_file;
	char **operands;
	int operand_count;
};

/* Which options each subcommand takes (the rest are refused by name). */
static bool option_fits(const char *verb, int code)
{
	static const struct { const char *verb; const int codes[24]; } allowed[] = {
		{ "ingest", { OPT_NO_DKIM, OPT_REQUIRE_DKIM, OPT_DKIM_DNS, OPT_DKIM_KEY_FILE, 'q' } },
		{ "fetch", { OPT_NO_DKIM, OPT_REQUIRE_DKIM, OPT_DKIM_DNS, OPT_DKIM_KEY_FILE, 'q',
			     OPT_IMAP, OPT_USER, OPT_PASSWORD_FILE, OPT_MOVE_TO, OPT_ALL, OPT_CA_FILE } },
		{ "summary", { 'd', OPT_REPORTER, OPT_SINCE, OPT_UNTIL, OPT_BY, OPT_CSV } },
		{ "list", { 'd', OPT_REPORTER, OPT_SINCE, OPT_UNTIL, OPT_LIMIT } },
		{ "show", { OPT_RAW } },
		{ "alerts", { 'd', OPT_REPORTER, OPT_NOW, OPT_RATIO, OPT_MIN_SESSIONS, OPT_WINDOW,
			      OPT_SILENT_DAYS } },
		{ "html", { 'd', OPT_REPORTER, OPT_NOW, 'o', OPT_DAYS } },
		{ "prune", { OPT_OLDER_THAN, OPT_NOW } },
	};

	if (code == 'S' || code == 'j' || code == 'h')
		return true;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (strcmp(allowed[i].verb, verb) != 0)
			continue;
		for (size_t j = 0; j < 24 && allowed[i].codes[j] != 0; j++)
			if (allowed[i].codes[j] == code)
				return true;
	}
	return false;
}

/* "YYYY-MM-DD" as seconds since the epoch at 00:00 UTC; false when not a date. */
static bool parse_day(const char *text, int64_t *ret_time)
{
	struct tm tm = { 0 };
	const char *end;

	if (strlen(text) != 10 || (end = strptime(text, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return false;
	int mday = tm.tm_mday, mon = tm.tm_mon;
	time_t t = timegm(&tm);

	/* timegm() normalises 2024-02-30 to March: such a day does not exist. */
	if (t == (time_t)-1 || tm.tm_mday != mday || tm.tm_mon != mon)
		return false;
	*ret_time = (int64_t)t;
	return true;
}

static void format_day(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, size, "?");
}

static void format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "?");
}

static bool parse_count(const char *text, unsigned long max, unsigned long *ret_value)
{
	char *end;
	unsigned long value;

	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || value > max)
		return false;
	*ret_value = value;
	return true;
}

static const struct { const char *name; enum report_group group; } group_names[] = {
	{ "day", GROUP_DAY },
	{ "reporter", GROUP_REPORTER },
	{ "domain", GROUP_DOMAIN },
	{ "mx", GROUP_MX },
	{ "result-type", GROUP_RESULT_TYPE },
};

static const char *group_name(enum report_group group)
{
	for (size_t i = 0; i < sizeof(group_names) / sizeof(group_names[0]); i++)
		if (group_names[i].group == group)
			return group_names[i].name;
	return "total";
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct reports_args *args)
{
	unsigned long n;
	int c;

	memset(args, 0, sizeof(*args));
	args->verb = argv[0];
	args->store = getenv(REPORTS_STORE_ENV);
	if (args->store == NULL || args->store[0] == '\0')
		args->store = REPORTS_DEFAULT_STORE;
	args->limit = 50;
	args->days = 30;
	args->dkim = true;
	args->now = (int64_t)time(NULL);
	alert_settings_default(&args->alerts);

	optind = 1;
	opterr = 0;
	for (;;) {
		int long_index = -1;
		char word[40];		/* the option as named, without its value */

		if ((c = getopt_long(argc, argv, ":S:jhd:o:q", reports_options, &long_index)) == -1)
			break;
		if (c == '?' || c == ':') {
			print_option_error(&cmd_reports, reports_options, argv[optind - 1], optopt,
					   c == ':');
			return EXIT_USAGE_ERROR;
		}
		/* argv[optind - 1] is the value when it was a word of its own */
		if (long_index >= 0)
			snprintf(word, sizeof(word), "--%s", reports_options[long_index].name);
		else
			snprintf(word, sizeof(word), "-%c", c);
		if (!option_fits(args->verb, c)) {
			print_usage_error(&cmd_reports, "'reports %s' takes no option '%s'", args->verb,
					  word);
			return EXIT_USAGE_ERROR;
		}
		switch (c) {
		case 'S': args->store = optarg; break;
		case 'j': args->json = true; break;
		case 'h': fputs(reports_usage, stdout); return EXIT_VALID;
		case 'd':
			/* Policy domains are stored in lower case. */
			for (char *p = optarg; *p != '\0'; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			args->filter.domain = optarg;
			break;
		case 'q': args->quiet = true; break;
		case 'o': args->output = optarg; break;
		case OPT_REPORTER: args->filter.reporter = optarg; break;
		case OPT_CSV: args->csv = true; break;
		case OPT_RAW: args->raw = true; break;
		case OPT_ALL: args->all = true; break;
		case OPT_NO_DKIM: args->dkim = false; break;
		case OPT_DKIM_DNS: args->dkim_dns = optarg; break;
		case OPT_DKIM_KEY_FILE: args->dkim_key_file = optarg; break;
		case OPT_IMAP: args->imap = optarg; break;
		case OPT_USER: args->user = optarg; break;
		case OPT_PASSWORD_FILE: args->password_file = optarg; break;
		case OPT_MOVE_TO: args->move_to = optarg; break;
		case OPT_CA_FILE: args->ca_file = optarg; break;
		case OPT_SINCE:
		case OPT_UNTIL:
		case OPT_NOW: {
			int64_t t;

			if (!parse_day(optarg, &t)) {
				print_usage_error(&cmd_reports, "%s '%s': a date is YYYY-MM-DD", word, optarg);
				return EXIT_USAGE_ERROR;
			}
			if (c == OPT_SINCE)
				args->filter.since = t;
			else if (c == OPT_UNTIL)
				args->filter.until = t + SECONDS_PER_DAY;	/* the whole day */
			else
				args->now = t + SECONDS_PER_DAY;	/* judged at the day's end */
			break;
		}
		case OPT_BY: {
			size_t i, count = sizeof(group_names) / sizeof(group_names[0]);

			for (i = 0; i < count; i++)
				if (strcmp(group_names[i].name, optarg) == 0)
					break;
			if (i == count) {
				print_usage_error(&cmd_reports, "--by '%s': give day, reporter, domain, mx "
						  "or result-type", optarg);
				return EXIT_USAGE_ERROR;
			}
			args->group = group_names[i].group;
			break;
		}
		case OPT_REQUIRE_DKIM:
			if (strcmp(optarg, "none") == 0)
				args->dkim_requirement = DKIM_ACCEPT_ANY;
			else if (strcmp(optarg, "signed") == 0)
				args->dkim_requirement = DKIM_REQUIRE_SIGNED;
			else if (strcmp(optarg, "pass") == 0)
				args->dkim_requirement = DKIM_REQUIRE_PASS;
			else {
				print_usage_error(&cmd_reports, "--require-dkim '%s': give none, signed "
						  "or pass", optarg);
				return EXIT_USAGE_ERROR;
			}
			break;
		case OPT_RATIO: {
			char *end;
			double r;

			errno = 0;
			r = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(r >= 0 && r <= 1)) {
				print_usage_error(&cmd_reports, "--ratio '%s': a number from 0 to 1",
						  optarg);
				return EXIT_USAGE_ERROR;
			}
			args->alerts.failure_ratio = r;
			break;
		}
		case OPT_LIMIT:
		case OPT_MIN_SESSIONS:
		case OPT_WINDOW:
		case OPT_SILENT_DAYS:
		case OPT_DAYS:
		case OPT_OLDER_THAN: {
			bool days = c != OPT_LIMIT && c != OPT_MIN_SESSIONS;

			/* Days up to 100 years keep every date arithmetic in range. */
			if (!parse_count(optarg, days ? 36500 : 1000000000UL, &n) ||
			    (days && c != OPT_OLDER_THAN && n == 0)) {
				print_usage_error(&cmd_reports, "%s '%s': %s", word, optarg,
						  days ? "a number of days from 1 to 36500"
						       : "a whole number up to 1000000000");
				return EXIT_USAGE_ERROR;
			}
			if (c == OPT_LIMIT)
				args->limit = n;
			else if (c == OPT_MIN_SESSIONS)
				args->alerts.min_sessions = n;
			else if (c == OPT_WINDOW)
				args->alerts.window_days = (unsigned)n;
			else if (c == OPT_SILENT_DAYS)
				args->alerts.silent_days = (unsigned)n;
			else if (c == OPT_DAYS)
				args->days = (unsigned)n;
			else {
				args->older_than = (unsigned)n;
				args->older_than_given = true;
			}
			break;
		}
		}
	}
	args->operands = argv + optind;
	args->operand_count = argc - optind;
	if (args->json && args->csv) {
		print_usage_error(&cmd_reports, "give --json or --csv, not both");
		return EXIT_USAGE_ERROR;
	}
	if (args->filter.since != 0 && args->filter.until != 0 &&
	    args->filter.until <= args->filter.since) {
		print_usage_error(&cmd_reports, "--until is before --since");
		return EXIT_USAGE_ERROR;
	}
	return -1;
}

/* The store, or NULL with a message; *ret_status the exit status then. */
static struct report_store *open_store(const struct reports_args *args, bool read_only,
				       int *ret_status)
{
	struct report_store_options options = { .timeout_ms = 5000, .read_only = read_only };
	char why[300];
	const char *path = strncmp(args->store, "sqlite:", 7) == 0 ? args->store + 7 : args->store;
	struct stat st;

	/* Reading a store that was never written: say so, rather than SQLite's "unable to open". */
	if (read_only && strstr(args->store, "://") == NULL && stat(path, &st) != 0 &&
	    errno == ENOENT) {
		char *shown = text_escape(path);

		fprintf(stderr, PROGRAM_NAME " reports: no report store at %s: no report has been "
			"taken in there yet ('mtasts reports ingest', 'mtasts serve'), or give "
			"--store\n", shown != NULL ? shown : "");
		free(shown);
		*ret_status = EXIT_NOINPUT;
		return NULL;
	}
	struct report_store *store = report_store_open(args->store, &options, why, sizeof(why));

	if (store == NULL) {
		int saved = errno;
		char *shown = text_escape(args->store);

		fprintf(stderr, PROGRAM_NAME " reports: store %s: %s\n", shown != NULL ? shown : "",
			why);
		free(shown);
		/*
		 * Intake defers on any store failure: a mail delivery agent
		 * retries, and no report is lost to a mistake in the set-up.
		 */
		if (strcmp(args->verb, "ingest") == 0 || strcmp(args->verb, "fetch") == 0)
			*ret_status = EXIT_TEMPFAIL;
		else
			*ret_status = saved == ENOMEM ? EXIT_LOCAL_ERROR :
				      saved == EAGAIN ? EXIT_TEMPFAIL : EXIT_USAGE_ERROR;
	}
	return store;
}

/* ---- ingest and fetch ---------------------------------------------------- */

/* An input taken while a batch is open: printed once the batch is committed. */
struct pending_input {
	char *input;
	struct intake_outcome outcome;
};

/*
 * Bulk intake commits in batches (report_store.h): a commit a report would
 * cost a flush to disk each.  What a batch took is printed, and counted,
 * only once its commit says whether it was stored.
 */
#define BATCH_REPORTS 5000
#define BATCH_MS 1000

struct intake_run {
	const struct reports_args *args;
	struct report_store *store;
	struct intake_options options;
	struct json_stream stream;
	unsigned stored, duplicates, rejected, unavailable, unreadable;
	bool out_of_memory;
	bool batching;			/* commit in batches (ingest), not each input (fetch) */
	bool in_batch;
	long long batch_started;
	size_t batch_reports;
	struct pending_input *pending;
	size_t pending_count, pending_cap;
};

static void print_outcome_item(struct intake_run *run, const char *input,
			       const struct intake_outcome *outcome, const struct intake_report *r)
{
	if (run->args->json) {
		json_t *item = json_pack("{s:o, s:s, s:s}", "input", json_text(input),
					 "status", intake_status_name(r->status),
					 "format", outcome->format == UNPACK_MAIL ? "mail" :
						   outcome->format == UNPACK_GZIP ? "gzip" :
						   outcome->format == UNPACK_ZIP ? "zip" :
						   outcome->format == UNPACK_JSON ? "json" : "unknown");

		if (item == NULL)
			return;
		if (r->id > 0)
			json_object_set_new(item, "id", json_integer(r->id));
		if (r->organization_name[0] != '\0') {
			json_object_set_new(item, "organization_name", json_text(r->organization_name));
			json_object_set_new(item, "report_id", json_text(r->report_id));
			json_object_set_new(item, "domains", json_text(r->domains));
			json_object_set_new(item, "successes", json_integer((json_int_t)r->successes));
			json_object_set_new(item, "failures", json_integer((json_int_t)r->failures));
		}
		if (outcome->format == UNPACK_MAIL && run->options.verify_dkim)
			json_object_set_new(item, "dkim", json_string(dkim_verdict_name(outcome->dkim.verdict)));
		if (r->why[0] != '\0')
			json_object_set_new(item, "reason", json_text(r->why));
		json_stream_item(&run->stream, item);
		return;
	}
	bool bad = r->status != INTAKE_STORED && r->status != INTAKE_DUPLICATE;

	if (!bad && run->args->quiet)
		return;
	FILE *out = bad ? stderr : stdout;
	char *in = text_escape(input);
	char *org = text_escape(r->organization_name);
	char *id = text_escape(r->report_id);
	char *why = text_escape(r->why);

	if (in == NULL || org == NULL || id == NULL || why == NULL)
		run->out_of_memory = true;
	else if (bad)
		fprintf(out, PROGRAM_NAME " reports: %s: %s: %s\n", in, intake_status_name(r->status),
			why);
	else {
		unsigned long long sessions = r->successes + r->failures;

		fprintf(out, "%s: %s report %lld from %s (%s), %llu session%s, %llu failed", in,
			r->status == INTAKE_STORED ? "stored" : "duplicate of", (long long)r->id, org, id,
			sessions, sessions == 1 ? "" : "s", (unsigned long long)r->failures);
		if (outcome->format == UNPACK_MAIL && run->options.verify_dkim)
			fprintf(out, ", dkim %s%s%s", dkim_verdict_name(outcome->dkim.verdict),
				outcome->dkim.domain[0] != '\0' ? " d=" : "", outcome->dkim.domain);
		fputc('\n', out);
	}
	free(in);
	free(org);
	free(id);
	free(why);
}

/* Print and count what one input became. */
static void report_input(struct intake_run *run, const char *input, const struct intake_outcome *outcome)
{
	for (size_t i = 0; i < outcome->report_count; i++) {
		const struct intake_report *r = &outcome->reports[i];

		switch (r->status) {
		case INTAKE_STORED: run->stored++; break;
		case INTAKE_DUPLICATE: run->duplicates++; break;
		case INTAKE_REJECTED:
		case INTAKE_TOO_LARGE: run->rejected++; break;
		case INTAKE_DEFERRED:
		case INTAKE_UNAVAILABLE: run->unavailable++; break;
		}
		print_outcome_item(run, input, outcome, r);
	}
}

/*
 * Commit the open batch, then print what it took.  When the commit fails,
 * nothing of the batch was stored: each report it held is unavailable.
 */
static void end_batch(struct intake_run *run)
{
	char why[300];
	bool committed = true;

	if (run->in_batch) {
		run->in_batch = false;
		committed = report_store_batch_commit(run->store, why, sizeof(why)) == STORE_ADDED;
	}
	for (size_t i = 0; i < run->pending_count; i++) {
		struct pending_input *p = &run->pending[i];

		for (size_t j = 0; !committed && j < p->outcome.report_count; j++) {
			struct intake_report *r = &p->outcome.reports[j];

			if (r->status != INTAKE_STORED)
				continue;
			r->status = INTAKE_UNAVAILABLE;
			snprintf(r->why, sizeof(r->why), "store unavailable: %s", why);
		}
		report_input(run, p->input, &p->outcome);
		intake_outcome_clear(&p->outcome);
		free(p->input);
	}
	run->pending_count = 0;
	run->batch_reports = 0;
}

/* Open a batch when none is; without one (the store refused), each input commits alone. */
static void begin_batch(struct intake_run *run)
{
	char why[300];

	if (!run->batching || run->in_batch)
		return;
	run->in_batch = report_store_batch_begin(run->store, why, sizeof(why)) == 0;
	run->batch_started = monotonic_ms();
}

/* Take one input's bytes; returns the intake status of the worst report in it. */
static enum intake_status take_bytes(struct intake_run *run, const char *input, const char *origin,
				     const unsigned char *data, size_t len, enum unpack_format hint)
{
	struct intake_outcome outcome;

	begin_batch(run);
	run->options.origin = origin;
	run->options.received_at = (int64_t)time(NULL);
	if (report_intake(run->store, data, len, hint, &run->options, &outcome) != 0) {
		run->out_of_memory = true;
		return INTAKE_UNAVAILABLE;
	}
	enum intake_status status = outcome.status;

	if (!run->in_batch) {
		report_input(run, input, &outcome);
		intake_outcome_clear(&outcome);
		return status;
	}
	if (run->pending_count == run->pending_cap) {
		size_t cap = run->pending_cap == 0 ? 64 : run->pending_cap * 2;
		struct pending_input *grown = realloc(run->pending, cap * sizeof(*grown));

		if (grown == NULL) {
			run->out_of_memory = true;
			intake_outcome_clear(&outcome);
			return INTAKE_UNAVAILABLE;
		}
		run->pending = grown;
		run->pending_cap = cap;
	}
	struct pending_input *p = &run->pending[run->pending_count];

	if ((p->input = strdup(input)) == NULL) {
		run->out_of_memory = true;
		intake_outcome_clear(&outcome);
		return INTAKE_UNAVAILABLE;
	}
	p->outcome = outcome;
	run->pending_count++;
	run->batch_reports += outcome.report_count;
	if (run->batch_reports >= BATCH_REPORTS || monotonic_ms() - run->batch_started >= BATCH_MS)
		end_batch(run);
	return status;
}

static void take_file(struct intake_run *run, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	int rc = read_input(path, run->options.unpack.max_input, &data, &len);
	const char *shown_name = strcmp(path, "-") == 0 ? "(standard input)" : path;

	if (rc == 0 && len > run->options.unpack.max_input) {
		struct intake_report r = { .status = INTAKE_TOO_LARGE };
		struct intake_outcome outcome = { .status = INTAKE_TOO_LARGE };

		snprintf(r.why, sizeof(r.why), "larger than %zu octets", run->options.unpack.max_input);
		outcome.reports = &r;
		outcome.report_count = 1;
		end_batch(run);		/* printed in the order of the inputs */
		report_input(run, shown_name, &outcome);
	} else if (rc == 0) {
		take_bytes(run, shown_name, strcmp(path, "-") == 0 ? NULL : path,
			   (const unsigned char *)data, len,
			   strcmp(path, "-") == 0 ? UNPACK_AUTO : unpack_format_from_file_name(path));
	} else {
		char *shown = text_escape(shown_name);

		fprintf(stderr, PROGRAM_NAME " reports: %s: %s\n", shown != NULL ? shown : "",
			strerror(-rc));
		free(shown);
		if (rc == -ENOMEM)
			run->out_of_memory = true;
		run->unreadable++;
	}
	free(data);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The regular files of a directory, sorted, joined to its path; a maildir
 * (cur/, new/ and tmp/) is read as its new/ and cur/ messages.
 */
static void take_directory(struct intake_run *run, const char *path, int depth)
{
	char sub[PATH_MAX];
	struct stat st;

	if (depth == 0) {
		bool maildir = true;
		static const char *const parts[] = { "cur", "new", "tmp" };

		for (size_t i = 0; i < 3 && maildir; i++) {
			snprintf(sub, sizeof(sub), "%s/%s", path, parts[i]);
			maildir = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
		}
		if (maildir) {
			snprintf(sub, sizeof(sub), "%s/new", path);
			take_directory(run, sub, 1);
			snprintf(sub, sizeof(sub), "%s/cur", path);
			take_directory(run, sub, 1);
			return;
		}
	}

	DIR *dir = opendir(path);
	char **names = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;

	if (dir == NULL) {
		char *shown = text_escape(path);

		fprintf(stderr, PROGRAM_NAME " reports: %s: %s\n", shown != NULL ? shown : "",
			strerror(errno));
		free(shown);
		run->unreadable++;
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		/* The entry's type when the file system tells it: a stat a file less. */
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= (int)sizeof(sub) ||
		    (de->d_type != DT_REG && (stat(sub, &st) != 0 || !S_ISREG(st.st_mode))))
			continue;
		if (count == cap) {
			size_t grown_cap = cap == 0 ? 64 : cap * 2;
			char **grown = realloc(names, grown_cap * sizeof(*grown));

			if (grown == NULL)
				break;
			names = grown;
			cap = grown_cap;
		}
		if ((names[count] = strdup(sub)) == NULL)
			break;
		count++;
	}
	closedir(dir);
	if (names != NULL)
		qsort(names, count, sizeof(*names), compare_names);
	for (size_t i = 0; i < count; i++) {
		take_file(run, names[i]);
		free(names[i]);
	}
	free(names);
}

static void intake_setup(struct intake_run *run, const struct reports_args *args,
			 struct report_store *store, const char *source)
{
	memset(run, 0, sizeof(*run));
	run->args = args;
	run->store = store;
	intake_options_default(&run->options);
	run->options.source = source;
	run->options.verify_dkim = args->dkim;
	run->options.dkim.dns_servers = args->dkim_dns;
	run->options.dkim.key_file = args->dkim_key_file;
	run->options.dkim_requirement = args->dkim_requirement;
	run->batching = strcmp(args->verb, "ingest") == 0;
}

static void intake_finish(struct intake_run *run)
{
	end_batch(run);
	free(run->pending);
	run->pending = NULL;
	if (run->args->json)
		json_stream_end(&run->stream);
}

/* The exit status of an intake run: deferral outranks bounce outranks success. */
static int intake_status(const struct intake_run *run)
{
	if (run->out_of_memory)
		return EXIT_LOCAL_ERROR;
	if (run->unavailable > 0)
		return EXIT_TEMPFAIL;
	if (run->rejected > 0)
		return EXIT_DATAERR;
	if (run->unreadable > 0)
		return EXIT_NOINPUT;
	return EXIT_VALID;
}

static int run_ingest(const struct reports_args *args)
{
	struct intake_run run;
	int status;
	struct report_store *store;

	if (args->dkim_requirement != DKIM_ACCEPT_ANY && !args->dkim) {
		print_usage_error(&cmd_reports, "--require-dkim needs DKIM verified: drop --no-dkim");
		return EXIT_USAGE_ERROR;
	}
	if ((store = open_store(args, false, &status)) == NULL)
		return status;
	intake_setup(&run, args, store, NULL);
	if (args->operand_count == 0)
		take_file(&run, "-");
	for (int i = 0; i < args->operand_count; i++) {
		struct stat st;
		const char *path = args->operands[i];

		if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			take_directory(&run, path, 0);
		else
			take_file(&run, path);
	}
	intake_finish(&run);
	report_store_close(store);
	return intake_status(&run);
}

/*
 * Hands each fetched message to the intake; leaves a message that cannot be
 * judged now for a later run, and stops when the store fails.
 */
static enum imap_disposition take_imap_message(void *ctx, uint32_t uid, const unsigned char *message,
					       size_t len)
{
	struct intake_run *run = ctx;
	char name[64];

	snprintf(name, sizeof(name), "uid %u", uid);
	switch (take_bytes(run, name, run->args->imap, message, len, UNPACK_MAIL)) {
	case INTAKE_STORED:
	case INTAKE_DUPLICATE:
	case INTAKE_REJECTED:
	case INTAKE_TOO_LARGE:
		return IMAP_TAKEN;
	case INTAKE_DEFERRED:
		/* This message only (its DKIM key is out of reach): the others go on. */
		return IMAP_LEAVE;
	case INTAKE_UNAVAILABLE:
		break;
	}
	return IMAP_STOP;
}

/* The password: the first line of --password-file, or $MTASTS_IMAP_PASSWORD. */
static char *read_password(const struct reports_args *args)
{
	char *data = NULL;
	size_t len = 0;

	if (args->password_file == NULL) {
		const char *env = getenv("MTASTS_IMAP_PASSWORD");

		return strdup(env != NULL ? env : "");
	}
	int rc = read_input(args->password_file, 4096, &data, &len);

	if (rc != 0 || len > 4096) {
		fprintf(stderr, PROGRAM_NAME " reports: --password-file: %s\n",
			rc != 0 ? strerror(-rc) : "longer than 4096 octets");
		free(data);
		return NULL;
	}
	data[strcspn(data, "\r\n")] = '\0';
	return data;
}

static int run_fetch(const struct reports_args *args)
{
	struct intake_run run;
	struct imap_totals totals;
	char why[400] = "";
	int status;
	struct report_store *store;
	char *password;

	if (args->imap == NULL || args->user == NULL) {
		print_usage_error(&cmd_reports, "fetch needs --imap URL and --user NAME");
		return EXIT_USAGE_ERROR;
	}
	if (args->operand_count > 0) {
		print_usage_error(&cmd_reports, "fetch takes no operands");
		return EXIT_USAGE_ERROR;
	}
	if ((password = read_password(args)) == NULL)
		return EXIT_USAGE_ERROR;
	if ((store = open_store(args, false, &status)) == NULL) {
		free(password);
		return status;
	}
	intake_setup(&run, args, store, "imap");

	struct imap_options imap = {
		.url = args->imap,
		.user = args->user,
		.password = password,
		.ca_file = args->ca_file,
		.all = args->all,
		.move_to = args->move_to,
		.timeout_ms = 30000,
		.max_message = run.options.unpack.max_input,
		.max_messages = 10000,
	};
	int rc = imap_fetch(&imap, take_imap_message, &run, &totals, why, sizeof(why));

	intake_finish(&run);
	if (rc != 0) {
		char *shown = text_escape(why);

		fprintf(stderr, PROGRAM_NAME " reports: %s\n", shown != NULL ? shown : "");
		free(shown);
	} else {
		if (why[0] != '\0') {
			char *shown = text_escape(why);

			fprintf(stderr, PROGRAM_NAME " reports: %s\n", shown != NULL ? shown : "");
			free(shown);
		}
		if (!args->quiet && !args->json)
			printf("imap: %zu messages found, %zu taken, %zu left, %zu too large\n",
			       totals.found, totals.taken, totals.left, totals.too_large);
	}
	report_store_close(store);
	free(password);
	status = intake_status(&run);
	/* A mailbox that could not be read is a failure for now: run again later. */
	return rc != 0 && status == EXIT_VALID ? EXIT_TEMPFAIL : status;
}

/* ---- summary, list, show ------------------------------------------------- */

static json_t *count_or_null(uint64_t value, bool known)
{
	return known ? json_integer((json_int_t)value) : json_null();
}

static json_t *summary_row_json(const struct summary_row *row, const char *key_name)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (row->key != NULL)
		json_object_set_new(o, key_name, json_text(row->key));
	if (row->key2 != NULL)
		json_object_set_new(o, "key2", json_text(row->key2));
	json_object_set_new(o, "reports", json_integer((json_int_t)row->reports));
	json_object_set_new(o, "sessions", json_integer((json_int_t)row->sessions));
	json_object_set_new(o, "successes", count_or_null(row->successes, row->successes_known));
	json_object_set_new(o, "failures", json_integer((json_int_t)row->failures));
	json_object_set_new(o, "success_ratio",
			    row->successes_known && row->sessions > 0
				    ? json_real((double)row->successes / (double)row->sessions)
				    : json_null());
	return o;
}

/* A CSV field: quoted when needed, and never read as a formula by a spreadsheet. */
static void print_csv_quoted(const char *text)
{
	bool formula = strchr("=+-@\t\r", text[0]) != NULL && text[0] != '\0';
	bool quote = formula || strpbrk(text, ",\"\r\n") != NULL;

	if (!quote) {
		fputs(text, stdout);
		return;
	}
	putchar('"');
	if (formula)
		putchar('\'');
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}

static void print_csv_field(const char *raw)
{
	/* Report strings come from the network: escaped, as everywhere else. */
	char *text = text_escape(raw);

	if (text == NULL)
		return;
	print_csv_quoted(text);
	free(text);
}

static void print_ratio(const struct summary_row *row, char *buf, size_t size)
{
	if (!row->successes_known || row->sessions == 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.2f%%", 100.0 * (double)row->successes / (double)row->sessions);
}

static int run_summary(const struct reports_args *args)
{
	struct summary_row *rows = NULL, total = { 0 };
	size_t count = 0;
	char why[300];
	int status;
	struct report_store *store;
	const char *key_name = group_name(args->group);

	if (args->operand_count > 0) {
		print_usage_error(&cmd_reports, "summary takes no operands");
		return EXIT_USAGE_ERROR;
	}
	if ((store = open_store(args, true, &status)) == NULL)
		return status;
	if (report_store_summary(store, &args->filter, args->group, &rows, &count, &total, why,
				 sizeof(why)) != 0) {
		fprintf(stderr, PROGRAM_NAME " reports: summary: %s\n", why);
		report_store_close(store);
		return errno == ENOMEM ? EXIT_LOCAL_ERROR : EXIT_TEMPFAIL;
	}
	if (args->json) {
		json_t *list = json_array();

		for (size_t i = 0; i < count; i++)
			json_array_append_new(list, summary_row_json(&rows[i], key_name));
		json_t *o = json_pack("{s:s, s:o, s:o}", "by",
				      args->group == GROUP_NONE ? "none" : key_name, "rows", list,
				      "total", summary_row_json(&total, "total"));

		print_json(o);		/* it does not take the value */
		json_decref(o);
	} else if (args->csv) {
		printf("%s,reports,sessions,successes,failures,success_ratio\n", key_name);
		for (size_t i = 0; i <= count; i++) {
			const struct summary_row *row = i < count ? &rows[i] : &total;

			print_csv_field(i < count ? (row->key != NULL ? row->key : "") : "total");
			printf(",%llu,%llu,", (unsigned long long)row->reports,
			       (unsigned long long)row->sessions);
			if (row->successes_known)
				printf("%llu", (unsigned long long)row->successes);
			printf(",%llu,", (unsigned long long)row->failures);
			if (row->successes_known && row->sessions > 0)
				printf("%.6f", (double)row->successes / (double)row->sessions);
			putchar('\n');
		}
	} else {
		int width = (int)strlen(key_name);

		for (size_t i = 0; i < count; i++) {
			char shown[80];

			text_shown(rows[i].key != NULL ? rows[i].key : "", shown, sizeof(shown), 60);
			if ((int)strlen(shown) > width)
				width = (int)strlen(shown);
		}
		if (width < 5)
			width = 5;
		printf("%-*s %8s %10s %10s %10s %8s\n", width, key_name, "REPORTS", "SESSIONS", "SUCCESS",
		       "FAILURE", "SUCCESS%");
		for (size_t i = 0; i <= count; i++) {
			const struct summary_row *row = i < count ? &rows[i] : &total;
			char shown[80], ratio[16], successes[24];

			text_shown(i < count ? (row->key != NULL && row->key[0] != '\0' ? row->key : "(none)")
					     : "total", shown, sizeof(shown), 60);
			print_ratio(row, ratio, sizeof(ratio));
			if (row->successes_known)
				snprintf(successes, sizeof(successes), "%llu",
					 (unsigned long long)row->successes);
			else
				snprintf(successes, sizeof(successes), "-");
			printf("%-*s %8llu %10llu %10s %10llu %8s\n", width, shown,
			       (unsigned long long)row->reports, (unsigned long long)row->sessions,
			       successes, (unsigned long long)row->failures, ratio);
		}
		if (args->group == GROUP_MX || args->group == GROUP_RESULT_TYPE)
			printf("(reporters count successes per policy only: per %s, the failure details)\n",
			       key_name);
	}
	summary_rows_free(rows, count);
	summary_row_clear(&total);
	report_store_close(store);
	return EXIT_VALID;
}

static json_t *entry_json(const struct report_entry *e)
{
	char start[32], end[32], received[32];

	format_time(e->start, start, sizeof(start));
	format_time(e->end, end, sizeof(end));
	format_time(e->received_at, received, sizeof(received));
	return json_pack("{s:I, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:s, s:o, s:I, s:I, s:s}",
			 "id", (json_int_t)e->id,
			 "organization_name", json_text(e->organization_name),
			 "report_id", json_text(e->report_id),
			 "domains", json_text(e->domains),
			 "start", start, "end", end, "received", received,
			 "source", json_text(e->source),
			 "dkim", dkim_verdict_name(e->dkim),
			 "dkim_domain", e->dkim_domain != NULL ? json_text(e->dkim_domain) : json_null(),
			 "successes", (json_int_t)e->successes,
			 "failures", (json_int_t)e->failures,
			 "sha256", e->sha256);
}

static int run_list(const struct reports_args *args)
{
	struct report_entry *entries = NULL;
	size_t count = 0;
	char why[300];
	int status;
	struct report_store *store;

	if (args->operand_count > 0) {
		print_usage_error(&cmd_reports, "list takes no operands");
		return EXIT_USAGE_ERROR;
	}
	if ((store = open_store(args, true, &status)) == NULL)
		return status;
	if (report_store_list(store, &args->filter, args->limit, &entries, &count, why,
			      sizeof(why)) != 0) {
		fprintf(stderr, PROGRAM_NAME " reports: list: %s\n", why);
		report_store_close(store);
		return errno == ENOMEM ? EXIT_LOCAL_ERROR : EXIT_TEMPFAIL;
	}
	if (args->json) {
		struct json_stream stream = { 0 };

		for (size_t i = 0; i < count; i++)
			json_stream_item(&stream, entry_json(&entries[i]));
		json_stream_end(&stream);
	} else {
		if (count > 0)
			printf("%6s  %-10s  %-24s  %-30s %9s %8s  %s\n", "ID", "DATE", "REPORTER",
			       "DOMAINS", "SESSIONS", "FAILED", "DKIM");
		for (size_t i = 0; i < count; i++) {
			const struct report_entry *e = &entries[i];
			char day[16], org[40], domains[48];

			format_day(e->start, day, sizeof(day));
			text_shown(e->organization_name, org, sizeof(org), 24);
			text_shown(e->domains, domains, sizeof(domains), 30);
			printf("%6lld  %-10s  %-24s  %-30s %9llu %8llu  %s\n", (long long)e->id, day, org,
			       domains, (unsigned long long)(e->successes + e->failures),
			       (unsigned long long)e->failures,
			       strcmp(e->source, "https") == 0 || strcmp(e->source, "file") == 0
				       ? "-" : dkim_verdict_name(e->dkim));
		}
		if (count == 0)
			printf("no reports\n");
	}
	report_entries_free(entries, count);
	report_store_close(store);
	return EXIT_VALID;
}

static void print_field(const char *label, const char *value)
{
	printf("  %-22s ", label);
	print_text(stdout, value != NULL ? value : "-");
	putchar('\n');
}

static void print_report_human(const struct report_entry *e, const struct tlsrpt_report *r)
{
	char start[32], end[32], received[32], id[32], counts[64];

	format_time(r->start, start, sizeof(start));
	format_time(r->end, end, sizeof(end));
	format_time(e->received_at, received, sizeof(received));
	snprintf(id, sizeof(id), "%lld", (long long)e->id);
	printf("report %s\n", id);
	print_field("organization", r->organization_name);
	print_field("report-id", r->report_id);
	print_field("contact", r->contact_info);
	printf("  %-22s %s to %s\n", "period", start, end);
	printf("  %-22s %s by ", "received", received);
	print_text(stdout, e->source);
	if (e->source != NULL && strcmp(e->source, "https") != 0 && strcmp(e->source, "file") != 0) {
		printf(", dkim %s", dkim_verdict_name(e->dkim));
		if (e->dkim_domain != NULL) {
			printf(" d=");
			print_text(stdout, e->dkim_domain);
		}
	}
	printf("\n  %-22s %s\n", "sha256", e->sha256);
	for (size_t i = 0; i < r->policy_count; i++) {
		const struct tlsrpt_policy *p = &r->policies[i];

		printf("\npolicy %zu\n", i + 1);
		print_field("type", p->policy_type);
		print_field("domain", p->policy_domain[0] != '\0' ? p->policy_domain : NULL);
		for (size_t j = 0; j < p->policy_string_count; j++)
			print_field(j == 0 ? "policy" : "", p->policy_strings[j]);
		for (size_t j = 0; j < p->mx_host_count; j++)
			print_field(j == 0 ? "mx-host" : "", p->mx_hosts[j]);
		snprintf(counts, sizeof(counts), "%llu successful, %llu failed",
			 (unsigned long long)p->total_successful, (unsigned long long)p->total_failure);
		print_field("sessions", counts);
		for (size_t j = 0; j < p->failure_count; j++) {
			const struct tlsrpt_failure *f = &p->failures[j];

			printf("  failure %zu\n", j + 1);
			print_field("  result-type", f->result_type);
			snprintf(counts, sizeof(counts), "%llu", (unsigned long long)f->failed_session_count);
			print_field("  failed sessions", counts);
			print_field("  sending-mta-ip", f->sending_mta_ip);
			print_field("  receiving-mx", f->receiving_mx_hostname);
			if (f->receiving_mx_helo != NULL)
				print_field("  receiving-mx-helo", f->receiving_mx_helo);
			print_field("  receiving-ip", f->receiving_ip);
			if (f->failure_reason_code != NULL)
				print_field("  reason-code", f->failure_reason_code);
			if (f->additional_information != NULL)
				print_field("  additional-info", f->additional_information);
		}
	}
}

static int run_show(const struct reports_args *args)
{
	struct report_entry entry = { 0 };
	struct tlsrpt_report *report = NULL;
	char *raw = NULL, *end;
	size_t raw_len = 0;
	char why[300];
	int status, rc;
	long long id;
	struct report_store *store;

	if (args->operand_count != 1) {
		print_usage_error(&cmd_reports, "show takes one report ID");
		return EXIT_USAGE_ERROR;
	}
	errno = 0;
	id = strtoll(args->operands[0], &end, 10);
	if (errno != 0 || end == args->operands[0] || *end != '\0' || id <= 0) {
		print_usage_error(&cmd_reports, "'%s': a report ID is a positive number (see 'reports list')",
				  args->operands[0]);
		return EXIT_USAGE_ERROR;
	}
	if ((store = open_store(args, true, &status)) == NULL)
		return status;
	rc = report_store_get(store, id, &entry, &report, &raw, &raw_len, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, PROGRAM_NAME " reports: show: %s\n", why);
		report_store_close(store);
		return errno == ENOMEM ? EXIT_LOCAL_ERROR : EXIT_TEMPFAIL;
	}
	if (rc == 1) {
		fprintf(stderr, PROGRAM_NAME " reports: no report %lld\n", id);
		report_store_close(store);
		return EXIT_INVALID;
	}
	if (args->raw) {
		/* JSON holds no raw control octet, but a terminal is never trusted with it. */
		if (isatty(STDOUT_FILENO)) {
			print_text(stdout, raw);
			if (raw_len == 0 || raw[raw_len - 1] != '\n')
				putchar('\n');
		} else {
			/* as received, byte for byte: its sha256 is the one listed */
			fwrite(raw, 1, raw_len, stdout);
		}
	} else if (args->json) {
		json_t *o = entry_json(&entry);
		json_error_t error;
		json_t *parsed = json_loadb(raw, raw_len, 0, &error);

		json_object_set_new(o, "report", parsed != NULL ? parsed : json_null());
		print_json(o);
		json_decref(o);
	} else {
		print_report_human(&entry, report);
	}
	report_entry_clear(&entry);
	tlsrpt_report_free(report);
	free(raw);
	report_store_close(store);
	return EXIT_VALID;
}

/* ---- alerts, html, prune ------------------------------------------------- */

static int run_alerts(const struct reports_args *args)
{
	struct alert *alerts = NULL;
	size_t count = 0;
	char why[300];
	int status;
	struct report_store *store;

	if (args->operand_count > 0) {
		print_usage_error(&cmd_reports, "alerts takes no operands");
		return EXIT_USAGE_ERROR;
	}
	if ((store = open_store(args, true, &status)) == NULL)
		return status;
	if (report_alerts(store, &args->filter, &args->alerts, args->now, &alerts, &count, why,
			  sizeof(why)) != 0) {
		fprintf(stderr, PROGRAM_NAME " reports: alerts: %s\n", why);
		report_store_close(store);
		return errno == ENOMEM ? EXIT_LOCAL_ERROR : EXIT_TEMPFAIL;
	}
	if (args->json) {
		struct json_stream stream = { 0 };

		for (size_t i = 0; i < count; i++) {
			char since[32];

			format_time(alerts[i].since, since, sizeof(since));
			json_stream_item(&stream,
					 json_pack("{s:s, s:o, s:o, s:s, s:I, s:I, s:o}",
						   "alert", alert_kind_name(alerts[i].kind),
						   "domain", json_text(alerts[i].domain),
						   "key", json_text(alerts[i].key), "since", since,
						   "failures", (json_int_t)alerts[i].failures,
						   "sessions", (json_int_t)alerts[i].sessions,
						   "message", json_text(alerts[i].message)));
		}
		json_stream_end(&stream);
	} else {
		for (size_t i = 0; i < count; i++) {
			printf("%s: ", alert_kind_name(alerts[i].kind));
			print_text(stdout, alerts[i].message);
			putchar('\n');
		}
	}
	alerts_free(alerts, count);
	report_store_close(store);
	return count > 0 ? EXIT_INVALID : EXIT_VALID;
}

static int run_html(const struct reports_args *args)
{
	char why[300], tmp[PATH_MAX];
	int status, fd;
	FILE *out;
	struct report_store *store;
	struct report_filter filter = args->filter;

	if (args->output == NULL || args->operand_count > 0) {
		print_usage_error(&cmd_reports, "html needs -o FILE and no operands");
		return EXIT_USAGE_ERROR;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", args->output) >= (int)sizeof(tmp)) {
		print_usage_error(&cmd_reports, "-o: the path is too long");
		return EXIT_USAGE_ERROR;
	}
	if ((store = open_store(args, true, &status)) == NULL)
		return status;
	/* Written beside the target and renamed: a reader never sees half a page. */
	if ((fd = mkstemp(tmp)) < 0 || (out = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, PROGRAM_NAME " reports: %s: %s\n", args->output, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		report_store_close(store);
		return EXIT_USAGE_ERROR;
	}
	int rc = report_html_write(out, store, &filter, args->days, args->now, why, sizeof(why));
	bool written = fflush(out) == 0 && !ferror(out) && fchmod(fd, 0644) == 0;

	if (fclose(out) != 0)
		written = false;
	report_store_close(store);
	if (rc != 0 || !written || rename(tmp, args->output) != 0) {
		fprintf(stderr, PROGRAM_NAME " reports: html: %s\n",
			rc != 0 ? why : strerror(errno));
		unlink(tmp);
		return rc != 0 ? EXIT_TEMPFAIL : EXIT_LOCAL_ERROR;
	}
	if (!args->json)
		printf("%s\n", args->output);
	return EXIT_VALID;
}

static int run_prune(const struct reports_args *args)
{
	uint64_t removed = 0;
	char why[300];
	int status;
	struct report_store *store;

	if (!args->older_than_given || args->operand_count > 0) {
		print_usage_error(&cmd_reports, "prune needs --older-than DAYS and no operands");
		return EXIT_USAGE_ERROR;
	}
	if ((store = open_store(args, false, &status)) == NULL)
		return status;
	if (report_store_prune(store, args->now - (int64_t)args->older_than * SECONDS_PER_DAY, &removed,
			       why, sizeof(why)) != 0) {
		fprintf(stderr, PROGRAM_NAME " reports: prune: %s\n", why);
		report_store_close(store);
		return errno == ENOMEM ? EXIT_LOCAL_ERROR : EXIT_TEMPFAIL;
	}
	report_store_close(store);
	if (args->json) {
		json_t *o = json_pack("{s:I}", "removed", (json_int_t)removed);

		print_json(o);
		json_decref(o);
	} else
		printf("%llu reports removed\n", (unsigned long long)removed);
	return EXIT_VALID;
}

static int run_reports(int argc, char **argv)
{
	static const struct { const char *name; int (*run)(const struct reports_args *); } verbs[] = {
		{ "ingest", run_ingest }, { "fetch", run_fetch }, { "summary", run_summary },
		{ "list", run_list }, { "show", run_show }, { "alerts", run_alerts },
		{ "html", run_html }, { "prune", run_prune },
	};
	static const char *const verb_names[] = {
		"ingest", "fetch", "summary", "list", "show", "alerts", "html", "prune",
	};
	struct reports_args args;
	int rc;

	if (argc < 2) {
		print_usage_error(&cmd_reports, "which command: ingest, fetch, summary, list, show, "
				  "alerts, html or prune");
		return EXIT_USAGE_ERROR;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(reports_usage, stdout);
		return EXIT_VALID;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		if ((rc = parse_args(argc - 1, argv + 1, &args)) != -1)
			return rc;
		return verbs[i].run(&args);
	}
	const char *near = suggest_word(verb_names, sizeof(verb_names) / sizeof(verb_names[0]), argv[1]);
	char *shown = text_escape(argv[1]);

	if (argv[1][0] == '-')
		print_usage_error(&cmd_reports, "'%s': the command comes first, then its options "
				  "(mtasts reports COMMAND [OPTIONS])", shown != NULL ? shown : "");
	else if (near != NULL)
		print_usage_error(&cmd_reports, "'%s' is not a reports command; did you mean '%s'?",
				  shown != NULL ? shown : "", near);
	else
		print_usage_error(&cmd_reports, "'%s' is not a reports command", shown != NULL ? shown : "");
	free(shown);
	return EXIT_USAGE_ERROR;
}

const struct command cmd_reports = {
	.name = "reports",
	.run = run_reports,
	.summary = "take in, keep and read TLS reports (RFC 8460) for a domain",
	.usage = reports_usage,
};
