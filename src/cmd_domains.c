/*
 * cmd_domains.c - mtasts domains: the domains whose MTA-STS policies
 * `mtasts serve` hosts, kept in the registry (domain_registry.h): the
 * command line, and the verbs that change the registry: add, set, remove
 * (RFC 8461 8.3) and purge.  list, show and dns, which read it, are in
 * cmd_domains_view.c; add --from-dns and verify, which look at the DNS,
 * in cmd_domains_dns.c.
 *
 * The policy body and its id are hosted_policy.c's; the values are checked
 * by the registry.  This file owns options, output and exit statuses.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mtasts/mx.h>
#include <mtasts/tlsrpt.h>
#include <mtasts/txt.h>

#include "domains.h"
#include "public_suffix.h"


static const char domains_usage[] =
	"usage: mtasts domains COMMAND [OPTIONS]\n"
	"\n"
	"The domains whose MTA-STS policies 'mtasts serve' hosts.\n"
	"\n"
	"Commands:\n"
	"  add DOMAIN --mx PATTERN... [--mode M] [--max-age S] [--rua URI]\n"
	"  add DOMAIN --from-dns      patterns proposed from the domain's MX hosts\n"
	"  set DOMAIN [--mode M] [--mx PATTERN...] [--max-age S] [--rua URI|--no-rua]\n"
	"  remove DOMAIN              begin removal: mode none served for a max_age\n"
	"  purge                      drop the domains whose removal is over\n"
	"  list                       one line per domain\n"
	"  show DOMAIN                every field, and the policy as served\n"
	"  dns DOMAIN                 the records to publish, as zone-file lines\n"
	"  verify DOMAIN              whether those records are published;\n"
	"                             exit status 1 when any is not, 75 when\n"
	"                             only lookups failed for now\n"
	"\n"
	"Options of every command:\n"
	"  -R, --registry LOCATION    an SQLite file or a postgresql:// URL (default:\n"
	"                             the registry setting, else " SERVE_REGISTRY_DEFAULT ")\n"
	"  -c, --config FILE          the serve settings (default " SERVE_CONFIG_DEFAULT_PATH "\n"
	"                             when it exists)\n"
	"  -j, --json                 JSON output\n"
	"  -h, --help                 show this help\n"
	"\n"
	"add and set:\n"
	"      --mode testing|enforce (add: default testing)\n"
	"      --mx PATTERN           an mx line; give one for each (set: replaces all)\n"
	"      --max-age SECONDS      (add: default 1209600, two weeks)\n"
	"      --rua URI[,URI]        the TLSRPT rua (default: the tlsrpt_rua setting)\n"
	"      --no-rua               set: back to the tlsrpt_rua setting\n"
	"add --from-dns and verify:\n"
	"      --dns-server ADDR[:PORT]   ask this name server\n"
	"      --ca-file FILE         verify: trust these CAs for the policy host\n"
	"\n"
	"Exit status: 0 done; 1 verify found a record not published as printed,\n"
	"or list a row it cannot read; 64 usage error; 65 a value refused;\n"
	"66 no such domain (or no registry); 68 --from-dns: no MX host;\n"
	"71 local error; 73 add: hosted already; 75 the registry or the DNS\n"
	"failed for now (try again); 78 the settings are wrong or lack a value.\n";

enum {
	OPT_MODE = 256, OPT_MX, OPT_MAX_AGE, OPT_RUA, OPT_NO_RUA, OPT_FROM_DNS, OPT_DNS_SERVER,
	OPT_CA_FILE, OPT_NOW,
};

static const struct option domains_options[] = {
	{ "registry", required_argument, NULL, 'R' },
	{ "config", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "mx", required_argument, NULL, OPT_MX },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "rua", required_argument, NULL, OPT_RUA },
	{ "no-rua", no_argument, NULL, OPT_NO_RUA },
	{ "from-dns", no_argument, NULL, OPT_FROM_DNS },
	{ "dns-server", required_argument, NULL, OPT_DNS_SERVER },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "now", required_argument, NULL, OPT_NOW },	/* tests: the clock */
	{ NULL, 0, NULL, 0 },
};

/* Which options each verb takes (the rest are refused by name). */
static bool option_fits(const char *verb, int code)
{
	static const struct { const char *verb; const int codes[10]; } allowed[] = {
		{ "add", { OPT_MODE, OPT_MX, OPT_MAX_AGE, OPT_RUA, OPT_FROM_DNS, OPT_DNS_SERVER } },
		{ "set", { OPT_MODE, OPT_MX, OPT_MAX_AGE, OPT_RUA, OPT_NO_RUA } },
		{ "verify", { OPT_DNS_SERVER, OPT_CA_FILE } },
	};

	if (code == 'R' || code == 'c' || code == 'j' || code == 'h' || code == OPT_NOW)
		return true;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (strcmp(allowed[i].verb, verb) != 0)
			continue;
		for (size_t j = 0; j < 10 && allowed[i].codes[j] != 0; j++)
			if (allowed[i].codes[j] == code)
				return true;
	}
	return false;
}

void domains_format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "?");
}

static bool parse_number(const char *text, unsigned long long max, unsigned long long *ret_value)
{
	char *end;
	unsigned long long value;

	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || value > max)
		return false;
	*ret_value = value;
	return true;
}

/* One option's value into args; returns -1 to go on, or an exit status. */
static int take_option(struct domains_args *args, int c, const char *word, const char *value)
{
	unsigned long long n;
	char why[300];

	switch (c) {
	case 'R': args->registry = value; break;
	case 'c': args->config_path = value; break;
	case 'j': args->json = true; break;
	case OPT_NO_RUA: args->no_rua = true; break;
	case OPT_FROM_DNS: args->from_dns = true; break;
	case OPT_RUA: args->rua = value; break;
	case OPT_MODE:
		if (strcmp(value, "testing") == 0)
			args->mode = MTASTS_MODE_TESTING;
		else if (strcmp(value, "enforce") == 0)
			args->mode = MTASTS_MODE_ENFORCE;
		else {
			print_usage_error(&cmd_domains, "--mode '%s': give testing or enforce "
					  "(removal serves none: 'mtasts domains remove')", value);
			return EXIT_USAGE_ERROR;
		}
		args->mode_given = true;
		break;
	case OPT_MX:
		if (args->mx_count == HOSTED_MX_MAX) {
			print_usage_error(&cmd_domains, "at most %d --mx", HOSTED_MX_MAX);
			return EXIT_USAGE_ERROR;
		}
		args->mx[args->mx_count++] = value;
		break;
	case OPT_MAX_AGE:
		if (!parse_number(value, UINT32_MAX, &n)) {
			print_usage_error(&cmd_domains, "%s '%s': a number of seconds", word, value);
			return EXIT_USAGE_ERROR;
		}
		args->max_age = (uint32_t)n;
		args->max_age_given = true;
		break;
	case OPT_NOW:
		if (!parse_number(value, INT64_MAX / 2, &n)) {
			print_usage_error(&cmd_domains, "%s '%s': Unix seconds", word, value);
			return EXIT_USAGE_ERROR;
		}
		args->now = (int64_t)n;
		break;
	case OPT_DNS_SERVER:
		args->dns_server_given = true;
		/* fall through */
	case OPT_CA_FILE:
		if (!net_config_option(&args->net, domains_options, c, value, why, sizeof(why))) {
			print_usage_error(&cmd_domains, "--%s", why);
			return EXIT_USAGE_ERROR;
		}
		break;
	}
	return -1;
}

/* The operand: lower case, one final dot dropped, bounded. */
static int take_domain(struct domains_args *args, const char *text)
{
	size_t len = strlen(text), offset = 0;
	char why[200];

	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len > HOSTED_NAME_MAX) {
		char shown[80];

		text_shown(text, shown, sizeof(shown), 60);
		fprintf(stderr, PROGRAM_NAME " domains: %s: '%s': a domain name is 1 to %d "
			"octets\n", args->verb, shown, HOSTED_NAME_MAX);
		return DOMAINS_EXIT_INVALID;
	}
	/* Checked before any lookup is made for it or it is printed. */
	if (!mtasts_mx_host_check(text, len, &offset, why, sizeof(why))) {
		char shown[80];

		text_shown(text, shown, sizeof(shown), 60);
		fprintf(stderr, PROGRAM_NAME " domains: %s: '%s' is not a domain name: %s "
			"(octet %zu)\n", args->verb, shown, why, offset + 1);
		return DOMAINS_EXIT_INVALID;
	}
	if ((args->domain = strndup(text, len)) == NULL)
		return EXIT_LOCAL_ERROR;
	for (char *p = args->domain; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return -1;
}

/* The serve settings: -c FILE, else the default file when it exists. */
static int load_settings(struct domains_args *args)
{
	const char *path = args->config_path;
	char why[SERVE_WHY_SIZE];
	struct stat st;

	serve_config_defaults(&args->settings);
	if (path == NULL && stat(SERVE_CONFIG_DEFAULT_PATH, &st) == 0)
		path = SERVE_CONFIG_DEFAULT_PATH;
	if (path != NULL && serve_config_load(path, &args->settings, why, sizeof(why)) != 0) {
		fprintf(stderr, PROGRAM_NAME " domains: %s\n", why);
		return DOMAINS_EXIT_CONFIG;
	}
	return -1;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct domains_args *args, int operands)
{
	int c, rc;

	args->verb = argv[0];
	args->now = (int64_t)time(NULL);
	net_config_defaults(&args->net);
	optind = 1;
	opterr = 0;
	for (;;) {
		int long_index = -1;
		char word[40];

		if ((c = getopt_long(argc, argv, ":R:c:jh", domains_options, &long_index)) == -1)
			break;
		if (c == '?' || c == ':') {
			print_option_error(&cmd_domains, domains_options, argv[optind - 1], optopt,
					   c == ':');
			return EXIT_USAGE_ERROR;
		}
		if (long_index >= 0)
			snprintf(word, sizeof(word), "--%s", domains_options[long_index].name);
		else
			snprintf(word, sizeof(word), "-%c", c);
		if (c == 'h') {
			fputs(domains_usage, stdout);
			return EXIT_VALID;
		}
		if (!option_fits(args->verb, c)) {
			print_usage_error(&cmd_domains, "'domains %s' takes no option '%s'", args->verb,
					  word);
			return EXIT_USAGE_ERROR;
		}
		if ((rc = take_option(args, c, word, optarg)) != -1)
			return rc;
	}
	if (argc - optind != operands) {
		print_usage_error(&cmd_domains, operands == 0 ? "'domains %s' takes no operands" :
				  "'domains %s' takes one DOMAIN", args->verb);
		return EXIT_USAGE_ERROR;
	}
	if (args->rua != NULL && args->no_rua) {
		print_usage_error(&cmd_domains, "give --rua or --no-rua, not both");
		return EXIT_USAGE_ERROR;
	}
	if (operands == 1 && (rc = take_domain(args, argv[optind])) != -1)
		return rc;
	return load_settings(args);
}

static void release_args(struct domains_args *args)
{
	free(args->domain);
	json_decref(args->proposal);
	net_config_release(&args->net);
	serve_config_release(&args->settings);
}

/* ---- the registry -------------------------------------------------------- */

static const char *registry_location(const struct domains_args *args)
{
	if (args->registry != NULL)
		return args->registry;
	if (args->settings.registry != NULL)
		return args->settings.registry;
	return SERVE_REGISTRY_DEFAULT;
}

int domains_registry_error(const struct domains_args *args, int rc, const char *why)
{
	fprintf(stderr, PROGRAM_NAME " domains: %s: %s\n", args->verb, why);
	switch (rc) {
	case REGISTRY_NOT_FOUND: return DOMAINS_EXIT_NOT_HOSTED;
	case REGISTRY_EXISTS: return DOMAINS_EXIT_EXISTS;
	case REGISTRY_INVALID: return DOMAINS_EXIT_INVALID;
	case REGISTRY_UNAVAILABLE: return DOMAINS_EXIT_TEMPFAIL;
	default: return EXIT_LOCAL_ERROR;
	}
}

struct domain_registry *domains_open(const struct domains_args *args, bool must_exist,
				     int *ret_status)
{
	const char *location = registry_location(args);
	struct domain_registry *registry = NULL;
	char why[SERVE_WHY_SIZE];
	struct stat st;
	int rc;

	/* Reading a registry never written: say so, rather than create an empty one. */
	if (must_exist && strstr(location, "://") == NULL && stat(location, &st) != 0 &&
	    errno == ENOENT) {
		char *shown = text_escape(location);

		fprintf(stderr, PROGRAM_NAME " domains: %s: no registry at %s: no domain has been "
			"added there yet ('mtasts domains add'), or give --registry\n", args->verb,
			shown != NULL ? shown : "");
		free(shown);
		*ret_status = DOMAINS_EXIT_NOT_HOSTED;
		return NULL;
	}
	if ((rc = domain_registry_open(location, &registry, why, sizeof(why))) != 0) {
		char *shown = text_escape(location);
		char message[SERVE_WHY_SIZE + 300];

		snprintf(message, sizeof(message), "registry %s: %s", shown != NULL ? shown : "", why);
		free(shown);
		*ret_status = domains_registry_error(args, rc == REGISTRY_INVALID ?
						     REGISTRY_UNAVAILABLE : rc, message);
		return NULL;
	}
	return registry;
}

/* ---- add and set --------------------------------------------------------- */

/* --rua checked as the record it makes would be read (mtasts/tlsrpt.h). */
static bool rua_valid(const struct domains_args *args, const char *rua)
{
	char why[320], shown[120];

	if (domain_registry_rua_check(rua, why, sizeof(why)))
		return true;
	text_shown(rua, shown, sizeof(shown), 100);
	fprintf(stderr, PROGRAM_NAME " domains: %s: --rua '%s' %s\n", args->verb, shown, why);
	return false;
}

/*
 * The _smtp._tls record after set --rua or --no-rua: the zone-file line
 * (or, with no rua left, that the record goes), or its JSON.
 */
static void print_tlsrpt_change(const struct domains_args *args, const struct hosted_domain *d,
				json_t *o)
{
	const char *rua = d->tlsrpt_rua != NULL ? d->tlsrpt_rua : args->settings.tlsrpt_rua;
	struct domains_record r = { .type = "TXT" };

	snprintf(r.name, sizeof(r.name), "_smtp._tls.%s.", d->name);
	if (rua != NULL)
		domains_tlsrpt_text(rua, r.data, sizeof(r.data));
	if (o != NULL) {
		json_object_set_new(o, "tlsrpt_txt", rua != NULL ? json_text(r.data) : json_null());
		return;
	}
	if (rua == NULL) {
		printf("no TLSRPT rua now (no --rua, no tlsrpt_rua setting): remove the TXT record "
		       "at _smtp._tls.%s.\n", d->name);
		return;
	}
	printf("update the TLSRPT record to the new rua:\n");
	domains_print_record(&r);
}

/* What the registry now holds for the domain: its policy, said. */
static int print_hosted(const struct domains_args *args, struct domain_registry *registry,
			const char *old_id)
{
	struct hosted_domain domain = { 0 };
	struct hosted_policy policy = { 0 };
	char why[SERVE_WHY_SIZE], txt[HOSTED_ID_LEN + 32];
	bool rua_set = old_id != NULL && (args->rua != NULL || args->no_rua);
	int rc;

	if ((rc = domain_registry_get(registry, args->domain, &domain, why, sizeof(why))) != 0)
		return domains_registry_error(args, rc, why);
	if (hosted_policy_render(&domain, &policy, why, sizeof(why)) != 0) {
		hosted_domain_release(&domain);
		return domains_registry_error(args, REGISTRY_INVALID, why);
	}
	hosted_policy_txt(&policy, txt, sizeof(txt));
	bool changed = old_id == NULL || strcmp(old_id, policy.id) != 0;

	if (args->json) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:s, s:b, s:s}", "domain", domain.name,
				      "mode", mtasts_mode_name(policy.mode), "mx_count",
				      (int)domain.mx_count, "max_age", (json_int_t)policy.max_age,
				      "id", policy.id, "id_changed", changed, "txt", txt);

		if (o != NULL && args->proposal != NULL)
			json_object_set(o, "from_dns", args->proposal);
		if (o != NULL && rua_set)
			print_tlsrpt_change(args, &domain, o);
		print_json(o);
		json_decref(o);
	} else {
		printf("%s: mode %s, %zu mx, max_age %u, policy id %s\n", domain.name,
		       mtasts_mode_name(policy.mode), domain.mx_count, policy.max_age, policy.id);
		if (old_id == NULL)
			printf("publish its records: 'mtasts domains dns %s'\n", domain.name);
		else if (changed)
			printf("update the TXT record to the new id:\n_mta-sts.%s. %d IN TXT \"%s\"\n",
			       domain.name, DOMAINS_RECORD_TTL, txt);
		else
			printf("the policy is unchanged: the _mta-sts TXT record stays as it is\n");
		if (rua_set)
			print_tlsrpt_change(args, &domain, NULL);
	}
	hosted_policy_release(&policy);
	hosted_domain_release(&domain);
	return EXIT_VALID;
}

/*
 * A name a policy can be hosted for: short enough for its records, not a public suffix (co.uk), whose
 * mta-sts host would be anyone's, and not ending in a numeric label
 * (1.2.3.4), which is an address.  -1 to go on, or an exit status.
 */
static int name_hostable(const struct domains_args *args, struct public_suffixes *suffixes)
{
	const char *last = strrchr(args->domain, '.');
	bool suffix;

	if (strlen(args->domain) > HOSTED_DOMAIN_MAX) {
		fprintf(stderr, PROGRAM_NAME " domains: add: %.40s...: a hosted domain name is at "
			"most %d octets, so that _mta-sts.<domain> is a DNS name; this one has %zu\n",
			args->domain, HOSTED_DOMAIN_MAX, strlen(args->domain));
		return DOMAINS_EXIT_INVALID;
	}
	last = last != NULL ? last + 1 : args->domain;
	if (strspn(last, "0123456789") == strlen(last)) {
		fprintf(stderr, PROGRAM_NAME " domains: add: %s is not a domain name: its last "
			"label is numeric (an address?)\n", args->domain);
		return DOMAINS_EXIT_INVALID;
	}
	suffix = public_suffix_is(suffixes, args->domain);
	if (suffix) {
		fprintf(stderr, PROGRAM_NAME " domains: add: %s is a public suffix, under which "
			"others register their domains: no policy is hosted for it\n", args->domain);
		return DOMAINS_EXIT_INVALID;
	}
	return -1;
}

static int run_add(struct domains_args *args)
{
	struct hosted_domain domain = { 0 };
	struct domain_registry *registry;
	struct public_suffixes *suffixes;
	char **proposed = NULL;
	size_t proposed_count = 0;
	char why[SERVE_WHY_SIZE];
	int rc;

	if (args->from_dns && (args->mx_count > 0 || args->mode_given)) {
		print_usage_error(&cmd_domains, "--from-dns proposes the mx patterns and starts in "
				  "testing: give no --mx or --mode with it ('domains set' later)");
		return EXIT_USAGE_ERROR;
	}
	if (!args->from_dns && args->dns_server_given) {
		print_usage_error(&cmd_domains, "--dns-server is for --from-dns: give both, or "
				  "neither");
		return EXIT_USAGE_ERROR;
	}
	if (!args->from_dns && args->mx_count == 0) {
		print_usage_error(&cmd_domains, "add needs an --mx PATTERN (one for each mx line), "
				  "or --from-dns");
		return EXIT_USAGE_ERROR;
	}
	if (args->rua != NULL && !rua_valid(args, args->rua))
		return DOMAINS_EXIT_INVALID;
	suffixes = public_suffixes_load(PUBLIC_SUFFIX_PATH);
	if ((rc = name_hostable(args, suffixes)) != -1 ||
	    (registry = domains_open(args, false, &rc)) == NULL) {
		public_suffixes_free(suffixes);
		return rc;
	}
	/* Hosted already: said before any MX lookup is made for it. */
	if (args->from_dns && (rc = domain_registry_get(registry, args->domain, &domain, why,
							 sizeof(why))) != REGISTRY_NOT_FOUND) {
		hosted_domain_release(&domain);
		memset(&domain, 0, sizeof(domain));
		if (rc == 0) {
			fprintf(stderr, PROGRAM_NAME " domains: add: %s is in the registry already: "
				"nothing looked up ('domains set' changes it)\n", args->domain);
			rc = DOMAINS_EXIT_EXISTS;
		} else
			rc = domains_registry_error(args, rc, why);
		goto out;
	}
	if (args->from_dns &&
	    (rc = domains_propose_from_dns(args, suffixes, &proposed, &proposed_count)) != 0)
		goto out;
	snprintf(domain.name, sizeof(domain.name), "%s", args->domain);
	domain.mode = args->mode_given ? args->mode : MTASTS_MODE_TESTING;
	domain.mx = args->from_dns ? proposed : (char **)args->mx;
	domain.mx_count = args->from_dns ? proposed_count : args->mx_count;
	domain.max_age = args->max_age_given ? args->max_age : DOMAINS_DEFAULT_MAX_AGE;
	domain.tlsrpt_rua = (char *)args->rua;
	if ((rc = domain_registry_add(registry, &domain, args->now, why, sizeof(why))) != 0)
		rc = domains_registry_error(args, rc, why);
	else
		rc = print_hosted(args, registry, NULL);
out:
	for (size_t i = 0; i < proposed_count; i++)
		free(proposed[i]);
	free(proposed);
	domain_registry_close(registry);
	public_suffixes_free(suffixes);
	return rc;
}

static int run_set(struct domains_args *args)
{
	struct hosted_domain domain = { 0 };
	struct hosted_policy before = { 0 };
	struct domain_registry *registry;
	char why[SERVE_WHY_SIZE];
	char **old_mx;
	size_t old_mx_count;
	char *old_rua;
	int rc;

	if (!args->mode_given && args->mx_count == 0 && !args->max_age_given && args->rua == NULL &&
	    !args->no_rua) {
		print_usage_error(&cmd_domains, "set needs something to change: --mode, --mx, "
				  "--max-age, --rua or --no-rua");
		return EXIT_USAGE_ERROR;
	}
	if (args->rua != NULL && !rua_valid(args, args->rua))
		return DOMAINS_EXIT_INVALID;
	if ((registry = domains_open(args, true, &rc)) == NULL)
		return rc;
	if ((rc = domain_registry_get(registry, args->domain, &domain, why, sizeof(why))) != 0) {
		rc = domains_registry_error(args, rc, why);
		goto out;
	}
	if (domain.removed_at != 0) {
		fprintf(stderr, PROGRAM_NAME " domains: set: %s is being removed: it can be added "
			"again once purged\n", domain.name);
		rc = DOMAINS_EXIT_NOT_HOSTED;
		goto out;
	}
	if (hosted_policy_render(&domain, &before, why, sizeof(why)) != 0)
		before.id[0] = '\0';
	old_mx = domain.mx;
	old_mx_count = domain.mx_count;
	old_rua = domain.tlsrpt_rua;
	if (args->mode_given)
		domain.mode = args->mode;
	if (args->max_age_given)
		domain.max_age = args->max_age;
	if (args->mx_count > 0) {
		domain.mx = (char **)args->mx;
		domain.mx_count = args->mx_count;
	}
	if (args->rua != NULL || args->no_rua)
		domain.tlsrpt_rua = (char *)args->rua;
	rc = domain_registry_update(registry, &domain, args->now, why, sizeof(why));
	/* Give back what the registry allocated, to be released. */
	domain.mx = old_mx;
	domain.mx_count = old_mx_count;
	domain.tlsrpt_rua = old_rua;
	if (rc != 0)
		rc = domains_registry_error(args, rc, why);
	else
		rc = print_hosted(args, registry, before.id);
out:
	hosted_policy_release(&before);
	hosted_domain_release(&domain);
	domain_registry_close(registry);
	return rc;
}

/* ---- remove and purge ---------------------------------------------------- */

static int run_remove(struct domains_args *args)
{
	struct hosted_domain domain = { 0 };
	struct hosted_policy policy = { 0 };
	struct domain_registry *registry;
	char why[SERVE_WHY_SIZE], until[32], txt[HOSTED_ID_LEN + 32];
	int rc;

	if ((registry = domains_open(args, true, &rc)) == NULL)
		return rc;
	if ((rc = domain_registry_remove(registry, args->domain, args->now, why, sizeof(why))) != 0 ||
	    (rc = domain_registry_get(registry, args->domain, &domain, why, sizeof(why))) != 0) {
		rc = domains_registry_error(args, rc, why);
		goto out;
	}
	if (hosted_policy_render(&domain, &policy, why, sizeof(why)) != 0) {
		rc = domains_registry_error(args, REGISTRY_INVALID, why);
		goto out;
	}
	hosted_policy_txt(&policy, txt, sizeof(txt));
	domains_format_time(domain.removed_at + domain.removed_max_age, until, sizeof(until));
	if (args->json) {
		/* Unix seconds, as list and show give it. */
		json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "domain", domain.name, "id", policy.id,
				      "txt", txt, "served_until",
				      (json_int_t)(domain.removed_at + domain.removed_max_age));

		print_json(o);
		json_decref(o);
	} else {
		printf("%s: removal begun: mode none is served until %s, when every policy "
		       "served so far may have left senders' caches\n", domain.name, until);
		printf("update the TXT record to the new id now, so that senders see mode none:\n"
		       "_mta-sts.%s. %d IN TXT \"%s\"\n", domain.name, DOMAINS_RECORD_TTL, txt);
		printf("after %s, remove the _mta-sts, mta-sts and _smtp._tls records of %s;\n"
		       "'mtasts domains purge' (or mtasts serve) then drops it\n", until, domain.name);
	}
out:
	hosted_policy_release(&policy);
	hosted_domain_release(&domain);
	domain_registry_close(registry);
	return rc;
}

static int run_purge(struct domains_args *args)
{
	struct domain_registry *registry;
	char why[SERVE_WHY_SIZE];
	size_t count = 0;
	int rc = EXIT_VALID;

	if ((registry = domains_open(args, true, &rc)) == NULL)
		return rc;
	if ((rc = domain_registry_purge(registry, args->now, &count, why, sizeof(why))) != 0)
		rc = domains_registry_error(args, rc, why);
	domain_registry_close(registry);
	if (rc != 0)
		return rc;
	if (args->json) {
		json_t *o = json_pack("{s:I}", "purged", (json_int_t)count);

		print_json(o);
		json_decref(o);
	} else
		printf("%zu domain%s purged\n", count, count == 1 ? "" : "s");
	return EXIT_VALID;
}

/* ---- dispatch ------------------------------------------------------------ */

static int run_domains(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct domains_args *);
		int operands;
	} verbs[] = {
		{ "add", run_add, 1 }, { "set", run_set, 1 }, { "remove", run_remove, 1 },
		{ "purge", run_purge, 0 }, { "list", domains_run_list, 0 }, { "show", domains_run_show, 1 },
		{ "dns", domains_run_dns, 1 }, { "verify", domains_run_verify, 1 },
	};
	static const char *const verb_names[] = {
		"add", "set", "remove", "purge", "list", "show", "dns", "verify",
	};
	struct domains_args args;
	int rc;

	if (argc < 2) {
		print_usage_error(&cmd_domains, "which command: add, set, remove, purge, list, show, "
				  "dns or verify");
		return EXIT_USAGE_ERROR;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(domains_usage, stdout);
		return EXIT_VALID;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		memset(&args, 0, sizeof(args));
		if ((rc = parse_args(argc - 1, argv + 1, &args, verbs[i].operands)) == -1)
			rc = verbs[i].run(&args);
		release_args(&args);
		return rc;
	}
	const char *near = suggest_word(verb_names, sizeof(verb_names) / sizeof(verb_names[0]), argv[1]);
	char *shown = text_escape(argv[1]);

	if (argv[1][0] == '-')
		print_usage_error(&cmd_domains, "'%s': the command comes first, then its options "
				  "(mtasts domains COMMAND [OPTIONS])", shown != NULL ? shown : "");
	else if (near != NULL)
		print_usage_error(&cmd_domains, "'%s' is not a domains command; did you mean '%s'?",
				  shown != NULL ? shown : "", near);
	else
		print_usage_error(&cmd_domains, "'%s' is not a domains command", shown != NULL ? shown : "");
	free(shown);
	return EXIT_USAGE_ERROR;
}

const struct command cmd_domains = {
	.name = "domains",
	.run = run_domains,
	.summary = "manage the domains whose MTA-STS policies serve hosts",
	.usage = domains_usage,
};
