/*
 * cmd_check.c - mtasts check: validate how domains publish MTA-STS and
 * TLSRPT, end to end, and report every finding.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "checker.h"
#include "cli.h"
#include "config.h"
#include "domain_args.h"
#include "domain_queue.h"
#include "hostname.h"
#include "public_suffix.h"

enum check_exit {
	CHECK_EXIT_PASS = 0,
	CHECK_EXIT_WARN = 1,
	CHECK_EXIT_FAIL = 2,
	CHECK_EXIT_INCOMPLETE = 3,
	CHECK_EXIT_USAGE = EXIT_USAGE_ERROR,
	CHECK_EXIT_LOCAL = EXIT_LOCAL_ERROR,	/* out of descriptors, memory */
};

/* Descriptors one domain's check may hold at once: 8 fetches, 12 probes. */
#define CHECK_FDS_PER_DOMAIN 24

/* Certificate names shown in JSON; the rest are counted. */
#define CHECK_NAMES_SHOWN 64

static const char check_usage[] =
	"usage: mtasts check [OPTIONS] [-f FILE] DOMAIN...\n"
	"\n"
	"Validate the MTA-STS and TLSRPT deployment of each DOMAIN: the TXT\n"
	"records, the policy host on each of its addresses, the policy, the MX\n"
	"hosts (STARTTLS and certificates on each address), TLSRPT and DANE.\n"
	"\n"
	"Options:\n"
	"  -f, --file FILE            read domains from FILE (- for standard input),\n"
	"                             one a line, # comments (repeatable)\n"
	"  -j, --json                 print a JSON array, an object a domain\n"
	"      --only CATEGORY        report only this category (repeatable):\n"
	"                             dns-txt policy-fetch policy-host-tls\n"
	"                             policy-syntax policy-semantics mx-dns\n"
	"                             mx-coverage mx-starttls mx-certificate\n"
	"                             tlsrpt dane\n"
	"      --skip-smtp            do not connect to the MX hosts\n"
	"  -q, --quiet                print only the verdict line and the findings\n"
	"      --probe-rua            make a TLS handshake with https: rua hosts\n"
	"      --dns-server ADDR[:PORT]  ask this resolver (repeatable)\n"
	"      --ca-file FILE         trust these CA certificates (PEM)\n"
	"      --timeout SECONDS      limit for each domain, DNS included (60)\n"
	"      --connect-timeout SECONDS  limit for one TCP connect (10)\n"
	"      --dns-timeout SECONDS  limit for one DNS try of one server (5)\n"
	"      --concurrency N        domains in flight at once (64)\n"
	"      --helo NAME            EHLO name for the SMTP probes\n"
	"      --config FILE          read settings (default " CONFIG_DEFAULT_PATH ")\n"
	"      --list-findings        list every finding id and exit\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Exit status: 0 pass (or partial), 1 warnings only, 3 could not complete\n"
	"(temporary failures, time limit), 2 errors (even where another domain\n"
	"could not complete), 64 usage error, 71 a local problem (too few file\n"
	"descriptors, a resolver that answers nothing).\n";

struct check_run {
	struct net_session net;
	struct domain_queue queue;
	struct checker_options options;
	bool json, color, progress, quiet;
	unsigned only;			/* bit per category; 0: all */
	struct json_stream out;
	int status;			/* the exit status so far */
};

/*
 * Findings grouped by category; the categories with errors come first, then
 * those with warnings; within a category errors, warnings, information.
 */
static enum mtasts_finding_severity category_worst[MTASTS_CAT_COUNT];

static int finding_order(const void *a, const void *b)
{
	const struct mtasts_finding *x = a, *y = b;
	enum mtasts_finding_severity wx = category_worst[x->def->category];
	enum mtasts_finding_severity wy = category_worst[y->def->category];

	if (wx != wy)
		return wx < wy ? -1 : 1;
	if (x->def->category != y->def->category)
		return x->def->category < y->def->category ? -1 : 1;
	if (x->severity != y->severity)
		return x->severity < y->severity ? -1 : 1;
	/* qsort is not stable: order the rest too, for the same output each run */
	int by_id = strcmp(x->def->id, y->def->id);
	return by_id != 0 ? by_id : strcmp(x->message, y->message);
}

static bool in_categories(const struct mtasts_finding *f, void *arg)
{
	const unsigned *only = arg;

	return *only == 0 || (*only & (1u << f->def->category)) != 0;
}

/* Keep only the categories asked for, then order what is left. */
static void arrange(struct check_run *run, struct mtasts_report *report)
{
	mtasts_report_filter(report, in_categories, &run->only);
	for (size_t c = 0; c < MTASTS_CAT_COUNT; c++)
		category_worst[c] = MTASTS_FINDING_INFO;
	for (size_t i = 0; i < report->count; i++) {
		const struct mtasts_finding *f = &report->findings[i];

		if (f->severity < category_worst[f->def->category])
			category_worst[f->def->category] = f->severity;
	}
	if (report->count > 1)		/* findings is NULL when there are none */
		qsort(report->findings, report->count, sizeof(*report->findings),
		      finding_order);
}

/*
 * The verdict, "partial" when nothing wrong was found in a check that left
 * something out (--skip-smtp, --only, https: endpoints not probed): a pass
 * would claim what was not checked.
 */
static bool partial(const struct check_run *run, const struct check_result *r)
{
	return mtasts_report_verdict(&r->report) == MTASTS_VERDICT_PASS &&
	       (r->not_checked != 0 || run->only != 0);
}

/* Nothing wrong found, but the check could not be made whole: no pass. */
static bool unfinished(const struct check_result *r)
{
	return mtasts_report_verdict(&r->report) == MTASTS_VERDICT_PASS &&
	       mtasts_report_incomplete(&r->report);
}

static const char *verdict_name(const struct check_run *run, const struct check_result *r)
{
	return unfinished(r) ? "incomplete" : partial(run, r) ? "partial" :
	       mtasts_verdict_name(mtasts_report_verdict(&r->report));
}

/* What was left out, each as "what (why)"; count of them. */
static size_t not_checked(const struct check_run *run, const struct check_result *r,
			  const char *parts[], size_t max)
{
	size_t n = 0;

	if ((r->not_checked & CHECK_PART_SMTP) && n < max)
		parts[n++] = "the MX hosts' STARTTLS and certificates (skipped by --skip-smtp)";
	if ((r->not_checked & CHECK_PART_RUA) && n < max)
		parts[n++] = "the TLS of the https: report endpoints (made by --probe-rua)";
	if (run->only != 0 && n < max)
		parts[n++] = "the categories not named by --only";
	if (r->timed_out && n < max)
		parts[n++] = "what was still running at the time limit (--timeout)";
	if (r->resolver_silent && n < max)
		parts[n++] = "anything: the resolver does not answer, not even for the "
			     "root zone (see --dns-server and /etc/resolv.conf)";
	else if (r->local_error && n < max)
		parts[n++] = "what this machine lacked the resources for";
	return n;
}

static json_t *evidence_json(const struct mtasts_finding *f)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < f->evidence_count; i++) {
		const struct mtasts_evidence *e = &f->evidence[i];

		json_object_set_new(o, e->key,
			e->kind == MTASTS_EVIDENCE_STRING ? json_text(e->string) :
			e->kind == MTASTS_EVIDENCE_BOOL ? json_boolean(e->number) :
			json_integer(e->number));
	}
	return o;
}

static void iso_time(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "?");
}

static json_t *mx_json(const struct check_result *r)
{
	json_t *list = json_array();

	for (size_t i = 0; i < r->mx_count; i++) {
		json_t *addresses = json_array();

		for (size_t j = 0; j < r->mx[i].address_count; j++) {
			const struct checked_address *a = &r->mx[i].addresses[j];
			json_t *o = json_pack("{s:s}", "ip", a->ip), *names;

			char when[32];

			if (a->probed) {
				json_object_set_new(o, "starttls", json_boolean(a->starttls));
				json_object_set_new(o, "tls_version", a->tls_version != NULL ?
						    json_string(a->tls_version) : json_null());
				json_object_set_new(o, "cipher", a->cipher != NULL ?
						    json_string(a->cipher) : json_null());
			}
			if (a->has_certificate) {
				names = json_array();
				for (size_t k = 0; k < a->name_count && k < CHECK_NAMES_SHOWN; k++)
					json_array_append_new(names, json_text(a->names[k]));
				iso_time(a->not_after, when, sizeof(when));
				json_object_set_new(o, "certificate", json_pack(
					"{s:o, s:I, s:o, s:s, s:b}", "subject_names", names,
					"subject_names_more", (json_int_t)(a->name_count >
					CHECK_NAMES_SHOWN ? a->name_count - CHECK_NAMES_SHOWN : 0),
					"issuer", json_text(a->issuer), "not_after", when,
					"valid", a->certificate_valid));
			}
			json_array_append_new(addresses, o);
		}
		json_array_append_new(list, json_pack("{s:o, s:i, s:o}", "host",
			json_text(r->mx[i].host), "preference", (int)r->mx[i].preference,
			"addresses", addresses));
	}
	return list;
}

static json_t *policy_json(const struct mtasts_policy *p)
{
	json_t *mx;

	if (p == NULL)
		return json_null();
	mx = json_array();
	for (size_t i = 0; i < p->mx_count; i++)
		json_array_append_new(mx, json_string(p->mx[i]));
	return json_pack("{s:s, s:s, s:I, s:o}", "version", "STSv1", "mode",
			 mtasts_mode_name(p->mode), "max_age", (json_int_t)p->max_age,
			 "mx", mx);
}

/* What a sender's discovery concluded, and what each address gave. */
static json_t *discovery_json(const struct fetch_result *d)
{
	json_t *addresses;
	const char *type;

	if (d == NULL)
		return json_null();
	addresses = json_array();
	for (size_t i = 0; i < d->attempt_count; i++) {
		const struct fetch_outcome *o = &d->attempts[i].outcome;

		type = mtasts_result_type_name(o->result_type);
		json_array_append_new(addresses, json_pack("{s:s, s:s, s:o, s:s?, s:o}",
			"address", d->attempts[i].address, "status",
			mtasts_fetch_status_name(o->status), "result_type",
			type != NULL ? json_string(type) : json_null(), "check", o->check,
			"reason", json_text(o->reason)));
	}
	type = mtasts_result_type_name(d->result_type);
	return json_pack("{s:s, s:o, s:s?, s:o, s:o}", "status",
			 mtasts_fetch_status_name(d->status), "result_type",
			 type != NULL ? json_string(type) : json_null(), "check", d->check,
			 "reason", json_text(d->reason), "addresses", addresses);
}

static json_t *result_json(const struct check_run *run, const struct check_result *r)
{
	json_t *findings = json_array();

	for (size_t i = 0; i < r->report.count; i++) {
		const struct mtasts_finding *f = &r->report.findings[i];

		json_array_append_new(findings, json_pack(
			"{s:s, s:s, s:s, s:o, s:s, s:s, s:o}", "id", f->def->id,
			"severity", mtasts_finding_severity_name(f->severity),
			"category", mtasts_category_name(f->def->category),
			"message", json_text(f->message), "remedy", f->def->remedy,
			"rfc", f->def->rfc, "evidence", evidence_json(f)));
		if (f->temporary)
			json_object_set_new(json_array_get(findings,
				json_array_size(findings) - 1), "temporary", json_true());
	}
	const char *parts[8];
	size_t n = not_checked(run, r, parts, 8);
	json_t *skipped = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(skipped, json_string(parts[i]));
	return json_pack("{s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:o, s:o, s:o, s:o, s:o}",
			 "domain", r->domain, "verdict", verdict_name(run, r),
			 "not_checked", skipped,
			 "complete", !mtasts_report_incomplete(&r->report),
			 "timed_out", r->timed_out, "local_error", r->local_error,
			 "resolver_silent", r->resolver_silent,
			 "txt_id", r->txt_id != NULL ? json_string(r->txt_id) : json_null(),
			 "discovery", discovery_json(r->discovery),
			 "findings", findings, "policy", policy_json(r->policy),
			 "mx", mx_json(r));
}

static const char *paint(const struct check_run *run, enum mtasts_finding_severity s)
{
	if (!run->color)
		return "";
	return s == MTASTS_FINDING_ERROR ? "\033[31m" :
	       s == MTASTS_FINDING_WARNING ? "\033[33m" : "\033[36m";
}

static void print_date(time_t t)
{
	char when[32];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	fputs(when, stdout);
}

/* One line on the policy and its host, one on the MX hosts: what passed. */
static void print_checked(const struct check_run *run, const struct check_result *r,
			  bool only_not_checked)
{
	const struct mtasts_policy *p = r->policy;
	const char *parts[8];
	size_t n, covered = 0;

	/* --quiet keeps what explains a PARTIAL or INCOMPLETE verdict. */
	if (only_not_checked)
		p = NULL;
	if (p != NULL) {
		printf("  policy: id ");
		print_text(stdout, r->txt_id != NULL ? r->txt_id : "?");
		printf(", %s, max_age %u (%u day%s)", mtasts_mode_name(p->mode),
		       (unsigned)p->max_age, (unsigned)(p->max_age / 86400),
		       p->max_age / 86400 == 1 ? "" : "s");
		if (r->host_certificate_seen) {
			printf("; certificate of mta-sts.%s until ", r->domain);
			print_date(r->host_certificate_not_after);
		}
		putchar('\n');
	}
	if (r->mx_count > 0 && !only_not_checked) {
		printf("  mx:");
		for (size_t i = 0; i < r->mx_count; i++) {
			const struct checked_mx *mx = &r->mx[i];
			const struct checked_address *a = NULL;

			/* The first address that got as far as TLS speaks for the host. */
			for (size_t k = 0; k < mx->address_count && a == NULL; k++)
				if (mx->addresses[k].tls_version != NULL)
					a = &mx->addresses[k];

			printf("%s ", i > 0 ? "," : "");
			print_text(stdout, mx->host);
			if (a != NULL && a->tls_version != NULL) {
				printf(" (%s", a->tls_version);
				if (a->has_certificate) {
					printf(", certificate until ");
					print_date(a->not_after);
				}
				putchar(')');
			}
			if (p != NULL && mtasts_policy_matches(p, mx->host))
				covered++;
		}
		if (p != NULL)
			printf("; %zu of %zu covered by the policy", covered, r->mx_count);
		putchar('\n');
	}
	n = not_checked(run, r, parts, 8);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i == 0 ? "  not checked: " : "; ", parts[i]);
	if (n > 0)
		putchar('\n');
}

static long long evidence_number(const struct mtasts_finding *f, const char *key)
{
	for (size_t i = 0; i < f->evidence_count; i++)
		if (strcmp(f->evidence[i].key, key) == 0 &&
		    f->evidence[i].kind == MTASTS_EVIDENCE_NUMBER)
			return f->evidence[i].number;
	return 0;
}

/* A finding about a line of the policy shows the line, as parse does. */
static void show_policy_line(const struct check_result *r, const struct mtasts_finding *f)
{
	long long line = evidence_number(f, "line"), column = evidence_number(f, "column");

	if (line > 0 && line <= 100000 && column >= 0 && column <= 100000)
		print_source_line(stdout, r->policy_body, r->policy_body_len,
				  (unsigned)line, (unsigned)column, "          ");
}

static void print_human(const struct check_run *run, const struct check_result *r)
{
	enum mtasts_verdict verdict = mtasts_report_verdict(&r->report);
	static const char *const verdicts[] = { "PASS", "WARN", "FAIL" };
	const char *reset = run->color ? "\033[0m" : "";
	int last_category = -1;

	printf("%s%s%s %s: %zu error%s, %zu warning%s, %zu info%s\n",
	       /* Only a whole pass is green: PARTIAL and INCOMPLETE are not one. */
	       verdict == MTASTS_VERDICT_PASS && !unfinished(r) && !partial(run, r) ?
	       (run->color ? "\033[32m" : "") :
	       paint(run, verdict == MTASTS_VERDICT_FAIL ? MTASTS_FINDING_ERROR :
		     MTASTS_FINDING_WARNING), unfinished(r) ? "INCOMPLETE" :
	       partial(run, r) ? "PARTIAL" : verdicts[verdict], reset, r->domain,
	       mtasts_report_count(&r->report, MTASTS_FINDING_ERROR),
	       mtasts_report_count(&r->report, MTASTS_FINDING_ERROR) == 1 ? "" : "s",
	       mtasts_report_count(&r->report, MTASTS_FINDING_WARNING),
	       mtasts_report_count(&r->report, MTASTS_FINDING_WARNING) == 1 ? "" : "s",
	       mtasts_report_count(&r->report, MTASTS_FINDING_INFO),
	       r->resolver_silent ? " (incomplete: the resolver does not answer)" :
	       r->local_error ? " (incomplete: this machine ran out of resources)" :
	       r->timed_out ? " (incomplete: the time limit was reached)" :
	       mtasts_report_incomplete(&r->report) ? " (incomplete: some lookups "
	       "failed temporarily)" : "");
	print_checked(run, r, run->quiet);
	for (size_t i = 0; i < r->report.count; i++) {
		const struct mtasts_finding *f = &r->report.findings[i];

		if ((int)f->def->category != last_category) {
			last_category = (int)f->def->category;
			printf("  %s\n", mtasts_category_name(f->def->category));
		}
		printf("    %s%-7s%s %s: ", paint(run, f->severity),
		       mtasts_finding_severity_name(f->severity), reset, f->def->id);
		/* Messages quote certificates and servers: no control byte gets out. */
		print_text(stdout, f->message);
		putchar('\n');
		show_policy_line(r, f);
		if (f->severity != MTASTS_FINDING_INFO)
			printf("            fix: %s (%s)\n", f->def->remedy, f->def->rfc);
	}
}

static int combined_status(int status, const struct check_result *r);

/*
 * Each result as soon as those before it are in, in argument order; freed
 * once printed, so memory stays flat in the number of domains.
 */
static void print_ready(void *ctx, size_t index, void *result)
{
	struct check_run *run = ctx;
	struct check_result *r = result;

	arrange(run, &r->report);
	if (run->json) {
		json_stream_item(&run->out, result_json(run, r));
	} else {
		if (run->progress)
			fputs("\r\033[K", stderr);
		print_human(run, r);
	}
	/* A reader that went away (| head) wants nothing more: stop. */
	if (output_failed())
		event_base_loopbreak(run->net.base);
	run->status = combined_status(run->status, r);
	check_result_free(r);
}

static void show_progress(void *ctx, size_t done, size_t running)
{
	struct check_run *run = ctx;

	if (run->progress && done < run->queue.count)
		fprintf(stderr, "\rchecking: %zu of %zu done, %zu running", done,
			run->queue.count, running);
}

static void on_checked(void *arg, struct check_result *result)
{
	domain_queue_done(arg, result);
}

static int start_check(void *ctx, const char *domain, struct domain_slot *slot)
{
	struct check_run *run = ctx;

	return check_domain(run->net.base, run->net.resolver, run->net.http,
			    &run->options, domain, on_checked, slot);
}

/* A domain whose check could not even start: a local failure. */
static void *check_not_started(void *ctx, const char *domain, int err)
{
	struct check_result *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->domain = strdup(domain)) == NULL) {
		free(r);
		return NULL;
	}
	mtasts_report_init(&r->report);
	r->report.incomplete = true;
	r->local_error = true;
	fprintf(stderr, PROGRAM_NAME " check: %s: cannot start: %s\n", domain,
		strerror(-err));
	return r;
}

/*
 * The worst so far, worst first: a local problem, errors (something to fix,
 * whatever else could not complete), incomplete (run again), warnings.
 */
static int status_rank(int status)
{
	switch (status) {
	case CHECK_EXIT_LOCAL:
		return 4;
	case CHECK_EXIT_FAIL:
		return 3;
	case CHECK_EXIT_INCOMPLETE:
		return 2;
	case CHECK_EXIT_WARN:
		return 1;
	default:
		return 0;
	}
}

/* An error that a later run would find again: not a lookup that may pass. */
static bool definite_error(const struct mtasts_report *report)
{
	for (size_t i = 0; i < report->count; i++)
		if (report->findings[i].severity == MTASTS_FINDING_ERROR &&
		    !report->findings[i].temporary)
			return true;
	return false;
}

static int combined_status(int status, const struct check_result *r)
{
	enum mtasts_verdict verdict = mtasts_report_verdict(&r->report);
	int one;

	if (r->local_error)
		one = CHECK_EXIT_LOCAL;
	else if (verdict == MTASTS_VERDICT_FAIL && definite_error(&r->report))
		one = CHECK_EXIT_FAIL;
	else if (mtasts_report_incomplete(&r->report))
		one = CHECK_EXIT_INCOMPLETE;
	else
		one = verdict == MTASTS_VERDICT_WARN ? CHECK_EXIT_WARN : CHECK_EXIT_PASS;
	return status_rank(one) > status_rank(status) ? one : status;
}

static int exit_status(const struct check_run *run)
{
	return domain_queue_complete(&run->queue) ? run->status : CHECK_EXIT_LOCAL;
}

static const struct option check_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "only", required_argument, NULL, 'o' },
	{ "skip-smtp", no_argument, NULL, 's' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "probe-rua", no_argument, NULL, 'r' },
	{ "helo", required_argument, NULL, 'H' },
	{ "dns-server", required_argument, NULL, 'D' },
	{ "ca-file", required_argument, NULL, 'C' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "connect-timeout", required_argument, NULL, 'c' },
	{ "dns-timeout", required_argument, NULL, 'd' },
	{ "concurrency", required_argument, NULL, 'n' },
	{ "config", required_argument, NULL, 'F' },
	{ "list-findings", no_argument, NULL, 'L' },
	{ "file", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

/* id, category, usual severity and summary of every finding, one a line. */
static void list_findings(void)
{
	for (size_t i = 0; i < mtasts_finding_def_count; i++) {
		const struct mtasts_finding_def *d = &mtasts_finding_defs[i];

		printf("%-26s %-17s %-8s %s\n", d->id, mtasts_category_name(d->category),
		       mtasts_finding_severity_name(d->severity), d->summary);
	}
}

static bool add_category(struct check_run *run, const char *name)
{
	for (unsigned c = 0; c < MTASTS_CAT_COUNT; c++) {
		if (strcmp(mtasts_category_name((enum mtasts_category)c), name) == 0) {
			run->only |= 1u << c;
			return true;
		}
	}
	return false;
}

static int read_options(int argc, char **argv, struct net_config *config,
			struct check_run *run, const char **files, size_t *file_count)
{
	char why[512];
	int c;

	if (net_config_wants(argc, argv, "--help") || net_config_wants(argc, argv, "-h")) {
		fputs(check_usage, stdout);
		return CHECK_EXIT_PASS;
	}
	if (net_config_wants(argc, argv, "--list-findings")) {
		list_findings();
		return CHECK_EXIT_PASS;
	}
	if (!net_config_load(config, argc, argv, check_options, 'F', why, sizeof(why))) {
		fprintf(stderr, PROGRAM_NAME " check: %s\n", why);
		return CHECK_EXIT_USAGE;
	}
	while ((c = getopt_long(argc, argv, ":" NET_SHORT_OPTIONS "q", check_options,
				NULL)) != -1) {
		switch (c) {
		case 'j':
			run->json = true;
			break;
		case 'f':
			if (*file_count == DOMAIN_FILES_MAX) {
				print_usage_error(&cmd_check, "at most %d -f", DOMAIN_FILES_MAX);
				return CHECK_EXIT_USAGE;
			}
			files[(*file_count)++] = optarg;
			break;
		case 'h':
			fputs(check_usage, stdout);
			return CHECK_EXIT_PASS;
		case 'o':
			if (!add_category(run, optarg)) {
				print_usage_error(&cmd_check, "--only: unknown category "
						  "'%s'", optarg);
				return CHECK_EXIT_USAGE;
			}
			break;
		case 'q':
			run->quiet = true;
			break;
		case 's':
			run->options.skip_smtp = true;
			break;
		case 'r':
			run->options.probe_rua = true;
			break;
		case 'H':
			if (optarg[0] == '\0' || strlen(optarg) > 255 ||
			    strpbrk(optarg, " \t\r\n") != NULL) {
				print_usage_error(&cmd_check, "--helo: \"%s\" is not a "
						  "host name", optarg);
				return CHECK_EXIT_USAGE;
			}
			run->options.helo_name = optarg;
			break;
		case 'F':
			break;
		case 'L':
			list_findings();
			return CHECK_EXIT_PASS;
		case '?':
		case ':':
			print_option_error(&cmd_check, check_options, argv[optind - 1], optopt, c == ':');
			return CHECK_EXIT_USAGE;
		default:
			if (!net_config_option(config, check_options, c, optarg, why,
					       sizeof(why))) {
				print_usage_error(&cmd_check, "--%s", why);
				return CHECK_EXIT_USAGE;
			}
		}
	}
	return -1;
}

static int run_check(int argc, char **argv)
{
	struct check_run run = { 0 };
	struct domain_list domains = { 0 };
	const char *files[DOMAIN_FILES_MAX];
	size_t file_count = 0;
	struct public_suffixes *suffixes;
	struct net_config config;
	char hostname[256] = "localhost";
	int rc;

	net_config_defaults(&config);
	if ((rc = read_options(argc, argv, &config, &run, files, &file_count)) >= 0)
		goto out;
	rc = domain_list_collect(&domains, &cmd_check, files, file_count, argc - optind,
				 argv + optind);
	if (rc != 0)
		goto out;
	run.queue = (struct domain_queue){
		.domains = domains.names,
		.count = domains.count,
		.ctx = &run,
		.start = start_check,
		.failed = check_not_started,
		.ready = print_ready,
		.progress = show_progress,
	};
	if (run.options.helo_name == NULL) {
		gethostname(hostname, sizeof(hostname) - 1);
		run.options.helo_name = hostname;
	}
	suffixes = public_suffixes_load(PUBLIC_SUFFIX_PATH);
	run.options.is_public_suffix = public_suffix_is;
	run.options.public_suffix_arg = suffixes;
	/* NO_COLOR: any value but the empty string turns colour off. */
	run.color = !run.json && output_color_wanted(STDOUT_FILENO);
	/* The progress line moves the cursor: only on a terminal that can. */
	run.progress = !run.json && run.queue.count > 3 && output_color_wanted(STDERR_FILENO);
	run.options.ca_file = config.ca_file;
	run.options.timeout_ms = config.timeout_ms;
	run.options.connect_timeout_ms = config.connect_timeout_ms;
	if (net_session_open(&run.net, &config, "check", CHECK_FDS_PER_DOMAIN) != 0) {
		rc = CHECK_EXIT_LOCAL;
		goto close;
	}
	run.options.probes = &run.net.probes;
	run.options.store = run.net.store;
	run.queue.concurrency = run.net.concurrency;
	run.queue.base = run.net.base;
	if (domain_queue_start(&run.queue) != 0) {
		fprintf(stderr, PROGRAM_NAME " check: out of memory\n");
		rc = CHECK_EXIT_LOCAL;
	} else {
		if (!domain_queue_complete(&run.queue) && !run.queue.stalled)
			event_base_dispatch(run.net.base);
		if (run.progress)
			fputs("\r\033[K", stderr);
		if (run.json)
			json_stream_end(&run.out);
		rc = exit_status(&run);
	}
close:
	net_session_close(&run.net);
	for (size_t i = 0; run.queue.results != NULL && i < run.queue.count; i++)
		check_result_free(run.queue.results[i]);
	free(run.queue.results);
	public_suffixes_free(suffixes);
out:
	domain_list_release(&domains);
	net_config_release(&config);
	return rc;
}

const struct command cmd_check = {
	.name = "check",
	.run = run_check,
	.summary = "validate a domain's whole MTA-STS and TLSRPT deployment",
	.usage = check_usage,
};
