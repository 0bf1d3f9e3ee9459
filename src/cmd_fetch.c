/*
 * cmd_fetch.c - mtasts fetch: discover the MTA-STS policy of domains as a
 * sending MTA does, concurrently, on one event loop.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli.h"
#include "config.h"
#include "domain_args.h"
#include "domain_queue.h"
#include "fetcher.h"

enum fetch_exit {
	FETCH_EXIT_ALL_POLICY = 0,
	FETCH_EXIT_SOME_MISSING = 1,
	FETCH_EXIT_TEMPORARY = 3,
	FETCH_EXIT_USAGE = EXIT_USAGE_ERROR,
	FETCH_EXIT_LOCAL = EXIT_LOCAL_ERROR,	/* out of descriptors, memory */
};

/* Descriptors one discovery may hold at once: its connection, a spare. */
#define FETCH_FDS_PER_DOMAIN 2

static const char fetch_usage[] =
	"usage: mtasts fetch [OPTIONS] [-f FILE] DOMAIN...\n"
	"\n"
	"Discover the MTA-STS policy of each DOMAIN as a sending MTA does\n"
	"(RFC 8461): the TXT record at _mta-sts.DOMAIN, then\n"
	"https://mta-sts.DOMAIN/.well-known/mta-sts.txt, validated.\n"
	"\n"
	"Options:\n"
	"  -f, --file FILE            read domains from FILE (- for standard input),\n"
	"                             one a line, # comments (repeatable)\n"
	"  -j, --json                 print a JSON array, an object a domain\n"
	"      --dns-server ADDR[:PORT]  ask this resolver (repeatable)\n"
	"      --ca-file FILE         trust these CA certificates (PEM)\n"
	"      --timeout SECONDS      limit for each domain, DNS included (60)\n"
	"      --connect-timeout SECONDS  limit for one TCP connect (10)\n"
	"      --dns-timeout SECONDS  limit for one DNS try of one server (5)\n"
	"      --concurrency N        domains in flight at once (64)\n"
	"      --proxy URL            fetch through this HTTP or SOCKS proxy\n"
	"      --config FILE          read settings (default " CONFIG_DEFAULT_PATH ")\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Exit status: 0 every domain has a usable policy, 1 some domain has none\n"
	"or an invalid one, 3 some lookup failed temporarily, 64 usage error, 71 a\n"
	"local problem (too few file descriptors, a resolver that answers nothing).\n";

struct fetch_run {
	struct net_session net;
	struct domain_queue queue;
	struct fetch_options options;
	struct json_stream out;
	bool json;
	bool any_local, any_temporary, any_missing;
};

static json_t *result_json(const struct fetch_result *r)
{
	json_t *o = json_pack("{s:o, s:s}", "domain", json_text(r->domain), "status",
			      mtasts_fetch_status_name(r->status));

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "txt_id", r->txt_id != NULL ?
			    json_string(r->txt_id) : json_null());
	if (r->policy != NULL) {
		json_t *mx = json_array();

		for (size_t i = 0; i < r->policy->mx_count; i++)
			json_array_append_new(mx, json_string(r->policy->mx[i]));
		json_object_set_new(o, "policy", json_pack(
			"{s:b, s:s, s:s, s:I, s:o, s:o, s:o}", "valid", 1,
			"version", "STSv1", "mode", mtasts_mode_name(r->policy->mode),
			"max_age", (json_int_t)r->policy->max_age, "mx", mx,
			"warnings", diags_to_json(r->diags, MTASTS_SEVERITY_WARNING),
			"info", diags_to_json(r->diags, MTASTS_SEVERITY_INFO)));
		json_object_set_new(o, "failure", json_null());
	} else {
		const char *type = mtasts_result_type_name(r->result_type);

		json_object_set_new(o, "policy", json_null());
		json_object_set_new(o, "failure", json_pack("{s:o, s:o, s:s?, s:b}",
			"result_type", type != NULL ? json_string(type) : json_null(),
			"reason", json_text(r->reason), "check", r->check,
			"local", r->local));
		if (r->check != NULL && strcmp(r->check, "policy-syntax") == 0)
			json_object_set_new(json_object_get(o, "failure"), "errors",
					    diags_to_json(r->diags, MTASTS_SEVERITY_ERROR));
	}
	return o;
}

static void print_human(const struct fetch_result *r)
{
	const char *type = mtasts_result_type_name(r->result_type);

	if (r->policy != NULL) {
		printf("%s: policy (id %s)\n  mode: %s\n  max_age: %u\n", r->domain,
		       r->txt_id, mtasts_mode_name(r->policy->mode),
		       (unsigned)r->policy->max_age);
		for (size_t i = 0; i < r->policy->mx_count; i++)
			printf("  mx: %s\n", r->policy->mx[i]);
		for (size_t i = 0; i < r->diags->count; i++)
			if (r->diags->items[i].severity != MTASTS_SEVERITY_ERROR)
				printf("  %s: %s [%s]\n",
				       mtasts_severity_name(r->diags->items[i].severity),
				       r->diags->items[i].message,
				       mtasts_code_name(r->diags->items[i].code));
		return;
	}
	print_text(stdout, r->domain);
	printf(": %s", r->local ? "local error" : mtasts_fetch_status_name(r->status));
	if (type != NULL)
		printf(" (%s)", type);
	printf("\n  %s%s", r->check != NULL ? r->check : "", r->check != NULL ? ": " : "");
	/* The reason quotes what servers said: no control byte gets through. */
	print_text(stdout, r->reason);
	putchar('\n');
}

static void on_fetched(void *arg, struct fetch_result *result)
{
	domain_queue_done(arg, result);
}

static int start_fetch(void *ctx, const char *domain, struct domain_slot *slot)
{
	struct fetch_run *run = ctx;

	return fetch_policy(run->net.base, run->net.resolver, run->net.http, domain,
			    &run->options, on_fetched, slot);
}

/* A domain whose discovery could not even start: a local failure. */
static void *fetch_not_started(void *ctx, const char *domain, int err)
{
	struct fetch_result *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->domain = strdup(domain)) == NULL) {
		free(r);
		return NULL;
	}
	r->status = MTASTS_FETCH_TEMP_FAIL;
	r->check = "local";
	r->local = true;
	snprintf(r->reason, sizeof(r->reason), "the discovery could not start: %s",
		 strerror(-err));
	return r;
}

/*
 * Results print in argument order, each as soon as those before it are in,
 * and are freed then: memory stays flat in the number of domains.
 */
static void print_ready(void *ctx, size_t index, void *result)
{
	struct fetch_run *run = ctx;
	struct fetch_result *r = result;

	if (run->json)
		json_stream_item(&run->out, result_json(r));
	else
		print_human(r);
	/* A reader that went away (| head) wants nothing more: stop. */
	if (output_failed())
		event_base_loopbreak(run->net.base);
	run->any_local |= r->local;
	run->any_temporary |= r->status == MTASTS_FETCH_TEMP_FAIL;
	run->any_missing |= r->status != MTASTS_FETCH_POLICY;
	fetch_result_free(r);
}

/* A local problem first, then a temporary failure, then a missing policy. */
static int exit_status(const struct fetch_run *run)
{
	if (!domain_queue_complete(&run->queue) || run->any_local)
		return FETCH_EXIT_LOCAL;
	if (run->any_temporary)
		return FETCH_EXIT_TEMPORARY;
	return run->any_missing ? FETCH_EXIT_SOME_MISSING : FETCH_EXIT_ALL_POLICY;
}

static const struct option fetch_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "dns-server", required_argument, NULL, 'D' },
	{ "ca-file", required_argument, NULL, 'C' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "connect-timeout", required_argument, NULL, 'c' },
	{ "dns-timeout", required_argument, NULL, 'd' },
	{ "concurrency", required_argument, NULL, 'n' },
	{ "proxy", required_argument, NULL, 'P' },
	{ "config", required_argument, NULL, 'F' },
	{ "file", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

/* Settings come from the file first, then from the command line. */
static int read_options(int argc, char **argv, struct net_config *config,
			bool *json, const char **files, size_t *file_count)
{
	char why[512];
	int c;

	if (net_config_wants(argc, argv, "--help") || net_config_wants(argc, argv, "-h")) {
		fputs(fetch_usage, stdout);
		return FETCH_EXIT_ALL_POLICY;
	}
	if (!net_config_load(config, argc, argv, fetch_options, 'F', why, sizeof(why))) {
		fprintf(stderr, PROGRAM_NAME " fetch: %s\n", why);
		return FETCH_EXIT_USAGE;
	}
	while ((c = getopt_long(argc, argv, ":" NET_SHORT_OPTIONS, fetch_options, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'f':
			if (*file_count == DOMAIN_FILES_MAX) {
				print_usage_error(&cmd_fetch, "at most %d -f", DOMAIN_FILES_MAX);
				return FETCH_EXIT_USAGE;
			}
			files[(*file_count)++] = optarg;
			break;
		case 'h':
			fputs(fetch_usage, stdout);
			return FETCH_EXIT_ALL_POLICY;
		case 'F':
			break;
		case '?':
		case ':':
			print_option_error(&cmd_fetch, fetch_options, argv[optind - 1], optopt, c == ':');
			return FETCH_EXIT_USAGE;
		default:
			if (!net_config_option(config, fetch_options, c, optarg, why,
					       sizeof(why))) {
				print_usage_error(&cmd_fetch, "--%s", why);
				return FETCH_EXIT_USAGE;
			}
		}
	}
	return -1;
}

static int run_fetch(int argc, char **argv)
{
	struct fetch_run run = { 0 };
	struct domain_list domains = { 0 };
	const char *files[DOMAIN_FILES_MAX];
	size_t file_count = 0;
	struct net_config config;
	int rc;

	net_config_defaults(&config);
	if ((rc = read_options(argc, argv, &config, &run.json, files, &file_count)) >= 0)
		goto out;
	rc = domain_list_collect(&domains, &cmd_fetch, files, file_count, argc - optind,
				 argv + optind);
	if (rc != 0)
		goto out;
	run.options.timeout_ms = config.timeout_ms;
	if (net_session_open(&run.net, &config, "fetch", FETCH_FDS_PER_DOMAIN) != 0) {
		rc = FETCH_EXIT_LOCAL;
		goto close;
	}
	run.queue = (struct domain_queue){
		.domains = domains.names,
		.count = domains.count,
		.concurrency = run.net.concurrency,
		.ctx = &run,
		.start = start_fetch,
		.failed = fetch_not_started,
		.ready = print_ready,
		.base = run.net.base,
	};
	if (domain_queue_start(&run.queue) != 0) {
		fprintf(stderr, PROGRAM_NAME " fetch: out of memory\n");
		rc = FETCH_EXIT_LOCAL;
	} else {
		if (!domain_queue_complete(&run.queue) && !run.queue.stalled)
			event_base_dispatch(run.net.base);
		if (run.json)
			json_stream_end(&run.out);
		rc = exit_status(&run);
	}
close:
	net_session_close(&run.net);
	for (size_t i = 0; run.queue.results != NULL && i < run.queue.count; i++)
		fetch_result_free(run.queue.results[i]);
	free(run.queue.results);
out:
	domain_list_release(&domains);
	net_config_release(&config);
	return rc;
}

const struct command cmd_fetch = {
	.name = "fetch",
	.run = run_fetch,
	.summary = "discover domains' MTA-STS policies as a sending MTA does",
	.usage = fetch_usage,
};
