/*
 * cmd_domains.c - mtasts domains: the domains whose MTA-STS policies
 * `mtasts serve` hosts, kept in the registry (domain_registry.h): add,
 * set, remove (RFC 8461 8.3), purge, list, show, and the DNS records
 * each needs published (dns).  add --from-dns and verify, which look at
 * the DNS, are in cmd_domains_dns.c.
 *
 * The policy body and its id are hosted_policy.c's; the values are checked
 * by the registry.  This file owns options, output and exit statuses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mtasts/tlsrpt.h>
#include <mtasts/txt.h>

#include "domains.h"

#define CERT_WARN_DAYS 14
#define SECONDS_PER_DAY 86400

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
	"                             exit status 1 when any is not\n"
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
	"      --max-age SECONDS      (add: default 604800, a week)\n"
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

static void format_time(int64_t t, char *buf, size_t size)
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
	size_t len = strlen(text);

	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len > HOSTED_NAME_MAX) {
		char shown[80];

		text_shown(text, shown, sizeof(shown), 60);
		fprintf(stderr, PROGRAM_NAME " domains: %s: '%s': a domain name is 1 to %d "
			"octets\n", args->verb, shown, HOSTED_NAME_MAX);
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

/* ---- records ------------------------------------------------------------- */

void domains_tlsrpt_text(const char *rua, char *buf, size_t size)
{
	snprintf(buf, size, "v=TLSRPTv1; rua=%s", rua);
}

static void add_record(struct domains_records *records, const char *name, const char *type,
		       const char *data)
{
	struct domains_record *r = &records->items[records->count++];

	snprintf(r->name, sizeof(r->name), "%s.", name);
	r->type = type;
	snprintf(r->data, sizeof(r->data), "%s", data);
}

int domains_records_make(const struct domains_args *args, const struct hosted_domain *domain,
			 const struct hosted_policy *policy, struct domains_records *ret_records)
{
	const struct serve_config *s = &args->settings;
	const char *rua = domain->tlsrpt_rua != NULL ? domain->tlsrpt_rua : s->tlsrpt_rua;
	char name[HOSTED_NAME_MAX + 16], text[HOSTED_RUA_MAX + 32];
	unsigned char probe[16];

	if (s->policy_cname == NULL && s->policy_address_count == 0) {
		fprintf(stderr, PROGRAM_NAME " domains: %s: the settings say nowhere for "
			"mta-sts.%s to point: give policy_cname (the server's host name) or "
			"policy_addresses (its addresses) in the serve settings (-c FILE)\n",
			args->verb, domain->name);
		return DOMAINS_EXIT_CONFIG;
	}
	memset(ret_records, 0, sizeof(*ret_records));
	snprintf(name, sizeof(name), "_mta-sts.%s", domain->name);
	hosted_policy_txt(policy, text, sizeof(text));
	add_record(ret_records, name, "TXT", text);
	snprintf(name, sizeof(name), "mta-sts.%s", domain->name);
	if (s->policy_cname != NULL) {
		size_t len = strlen(s->policy_cname);

		snprintf(text, sizeof(text), "%.*s.", (int)(len > 0 && s->policy_cname[len - 1] ==
			 '.' ? len - 1 : len), s->policy_cname);
		add_record(ret_records, name, "CNAME", text);
	} else {
		for (size_t i = 0; i < s->policy_address_count; i++)
			add_record(ret_records, name, inet_pton(AF_INET, s->policy_addresses[i],
				   probe) == 1 ? "A" : "AAAA", s->policy_addresses[i]);
	}
	if (rua == NULL) {
		ret_records->no_rua = true;
		return 0;
	}
	snprintf(name, sizeof(name), "_smtp._tls.%s", domain->name);
	domains_tlsrpt_text(rua, text, sizeof(text));
	add_record(ret_records, name, "TXT", text);
	return 0;
}

static void print_record_line(const struct domains_record *r)
{
	if (strcmp(r->type, "TXT") == 0)
		printf("%s %d IN TXT \"%s\"\n", r->name, DOMAINS_RECORD_TTL, r->data);
	else
		printf("%s %d IN %s %s\n", r->name, DOMAINS_RECORD_TTL, r->type, r->data);
}

static json_t *record_json(const struct domains_record *r)
{
	return json_pack("{s:s, s:i, s:s, s:s}", "name", r->name, "ttl", DOMAINS_RECORD_TTL,
			 "type", r->type, "data", r->data);
}

/* ---- add and set --------------------------------------------------------- */

/* --rua checked as the record it makes would be read (mtasts/tlsrpt.h). */
static bool rua_valid(const struct domains_args *args, const char *rua)
{
	char text[HOSTED_RUA_MAX + 32];
	struct mtasts_tlsrpt_record *record = NULL;
	struct mtasts_diags diags;
	struct mtasts_bytes bytes;
	const struct mtasts_diag *first;
	bool ok;

	if (strlen(rua) > HOSTED_RUA_MAX) {
		fprintf(stderr, PROGRAM_NAME " domains: %s: --rua: longer than %d octets\n",
			args->verb, HOSTED_RUA_MAX);
		return false;
	}
	domains_tlsrpt_text(rua, text, sizeof(text));
	bytes = (struct mtasts_bytes){ text, strlen(text) };
	mtasts_diags_init(&diags);
	ok = mtasts_tlsrpt_record_parse(&bytes, 1, &record, &diags) == MTASTS_OK;
	mtasts_tlsrpt_record_free(record);
	if (!ok) {
		char shown[120];

		first = mtasts_diags_first_error(&diags);
		text_shown(rua, shown, sizeof(shown), 100);
		fprintf(stderr, PROGRAM_NAME " domains: %s: --rua '%s': %s\n", args->verb, shown,
			first != NULL ? first->message : "not a TLSRPT rua");
	}
	return ok;
}

/* What the registry now holds for the domain: its policy, said. */
static int print_hosted(const struct domains_args *args, struct domain_registry *registry,
			const char *old_id)
{
	struct hosted_domain domain = { 0 };
	struct hosted_policy policy = { 0 };
	char why[SERVE_WHY_SIZE], txt[HOSTED_ID_LEN + 32];
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
			printf("the policy is unchanged: the TXT record stays as it is\n");
	}
	hosted_policy_release(&policy);
	hosted_domain_release(&domain);
	return EXIT_VALID;
}

static int run_add(struct domains_args *args)
{
	struct hosted_domain domain = { 0 };
	struct domain_registry *registry;
	char **proposed = NULL;
	size_t proposed_count = 0;
	char why[SERVE_WHY_SIZE];
	int rc;

	if (args->from_dns && (args->mx_count > 0 || args->mode_given)) {
		print_usage_error(&cmd_domains, "--from-dns proposes the mx patterns and starts in "
				  "testing: give no --mx or --mode with it ('domains set' later)");
		return EXIT_USAGE_ERROR;
	}
	if (!args->from_dns && args->mx_count == 0) {
		print_usage_error(&cmd_domains, "add needs an --mx PATTERN (one for each mx line), "
				  "or --from-dns");
		return EXIT_USAGE_ERROR;
	}
	if (args->rua != NULL && !rua_valid(args, args->rua))
		return DOMAINS_EXIT_INVALID;
	if ((registry = domains_open(args, false, &rc)) == NULL)
		return rc;
	if (args->from_dns && (rc = domains_propose_from_dns(args, &proposed, &proposed_count)) != 0)
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
	format_time(domain.removed_at + domain.removed_max_age, until, sizeof(until));
	if (args->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "domain", domain.name, "id", policy.id,
				      "txt", txt, "served_until", until);

		print_json(o);
		json_decref(o);
	} else {
		printf("%s: removal begun: mode none is served until %s (max_age %u of the last "
		       "policy)\n", domain.name, until, domain.removed_max_age);
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
	int rc;

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

/* ---- list and show ------------------------------------------------------- */

/* The certificate of mta-sts.<domain>, in words; false when the registry failed. */
static bool cert_status(const struct domains_args *args, struct domain_registry *registry,
			const char *domain, struct hosted_cert_status *ret_status, bool *ret_known,
			char *why, size_t why_size)
{
	char host[HOSTED_NAME_MAX + 16];
	int rc;

	(void)args;
	snprintf(host, sizeof(host), "mta-sts.%s", domain);
	memset(ret_status, 0, sizeof(*ret_status));
	rc = domain_registry_cert_get(registry, host, ret_status, why, why_size);
	*ret_known = rc == 0 && ret_status->not_after != 0;
	return rc == 0 || rc == REGISTRY_NOT_FOUND;
}

static void cert_words(const struct domains_args *args, const struct hosted_cert_status *c,
		       bool known, char *buf, size_t size)
{
	char day[32], error[HOSTED_ERROR_MAX + 8];
	size_t n;

	if (!known)
		n = (size_t)snprintf(buf, size, "certificate none");
	else {
		format_time(c->not_after, day, sizeof(day));
		n = (size_t)snprintf(buf, size, "certificate until %s%s", day,
				     c->not_after <= args->now ? " EXPIRED" :
				     c->not_after - args->now <= CERT_WARN_DAYS * SECONDS_PER_DAY ?
				     " EXPIRES SOON" : "");
	}
	if (c->failures > 0 && n < size) {
		text_shown(c->last_error, error, sizeof(error), HOSTED_ERROR_MAX);
		snprintf(buf + n, size - n, ", %u failure%s: %s", c->failures,
			 c->failures == 1 ? "" : "s", error);
	}
}

static json_t *cert_json(const struct hosted_cert_status *c, bool known)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "not_after", known ? json_integer(c->not_after) : json_null());
	json_object_set_new(o, "not_before", known ? json_integer(c->not_before) : json_null());
	json_object_set_new(o, "failures", json_integer(c->failures));
	json_object_set_new(o, "last_error", c->failures > 0 ? json_text(c->last_error) : json_null());
	return o;
}

struct list_run {
	const struct domains_args *args;
	struct domain_registry *registry;
	struct json_stream stream;
	bool corrupt, failed;
	char why[SERVE_WHY_SIZE];
};

static int list_one(void *arg, const struct hosted_domain *domain, const char *name,
		    const char *error)
{
	struct list_run *run = arg;
	struct hosted_policy policy = { 0 };
	struct hosted_cert_status cert;
	char why[SERVE_WHY_SIZE], mode[64], words[HOSTED_ERROR_MAX + 96];
	bool known;

	if (domain == NULL || hosted_policy_render(domain, &policy, why, sizeof(why)) != 0) {
		char *shown = text_escape(name);

		run->corrupt = true;
		if (run->args->json)
			json_stream_item(&run->stream, json_pack("{s:o, s:o}", "name", json_text(name),
				"error", json_text(domain == NULL ? error : why)));
		fprintf(stderr, PROGRAM_NAME " domains: list: %s: %s\n", shown != NULL ? shown : "?",
			domain == NULL ? error : why);
		free(shown);
		return 0;
	}
	if (!cert_status(run->args, run->registry, domain->name, &cert, &known, run->why,
			 sizeof(run->why))) {
		run->failed = true;
		hosted_policy_release(&policy);
		return 1;
	}
	if (domain->removed_at != 0) {
		char until[32];

		format_time(domain->removed_at + domain->removed_max_age, until, sizeof(until));
		snprintf(mode, sizeof(mode), "removing until %s", until);
	} else
		snprintf(mode, sizeof(mode), "%s", mtasts_mode_name(domain->mode));
	if (run->args->json) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:s, s:o}", "name", domain->name,
				      "mode", mtasts_mode_name(policy.mode), "mx_count",
				      (int)domain->mx_count, "max_age", (json_int_t)policy.max_age,
				      "id", policy.id, "certificate", cert_json(&cert, known));

		if (o != NULL && domain->removed_at != 0)
			json_object_set_new(o, "served_until", json_integer(domain->removed_at +
					    domain->removed_max_age));
		json_stream_item(&run->stream, o);
	} else {
		cert_words(run->args, &cert, known, words, sizeof(words));
		printf("%s  %s  %zu mx  max_age %u  id %s  %s\n", domain->name, mode,
		       domain->mx_count, policy.max_age, policy.id, words);
	}
	hosted_policy_release(&policy);
	return output_failed() ? 1 : 0;
}

static int run_list(struct domains_args *args)
{
	struct list_run run = { .args = args };
	int rc;

	if ((run.registry = domains_open(args, true, &rc)) == NULL)
		return rc;
	rc = domain_registry_each(run.registry, list_one, &run, run.why, sizeof(run.why));
	if (args->json)
		json_stream_end(&run.stream);
	domain_registry_close(run.registry);
	if (rc < 0 || run.failed)
		return domains_registry_error(args, rc < 0 ? rc : REGISTRY_UNAVAILABLE, run.why);
	return run.corrupt ? DOMAINS_EXIT_PROBLEM : EXIT_VALID;
}

static void print_field(const char *label, const char *value)
{
	printf("%-13s ", label);
	print_text(stdout, value);
	putchar('\n');
}

/* The body, a line at a time, CRLF dropped, escaped. */
static void print_body(const struct hosted_policy *policy)
{
	const char *p = policy->body, *end = policy->body + policy->body_len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((eol != NULL ? eol : end) - p);
		char *line = strndup(p, len > 0 && p[len - 1] == '\r' ? len - 1 : len);

		fputs("  ", stdout);
		print_text(stdout, line != NULL ? line : "?");
		putchar('\n');
		free(line);
		p += len + (eol != NULL ? 1 : 0);
	}
}

static void show_human(const struct domains_args *args, const struct hosted_domain *d,
		       const struct hosted_policy *policy, const struct hosted_cert_status *cert,
		       bool known)
{
	char t[32], line[HOSTED_RUA_MAX + 64];

	print_field("domain:", d->name);
	if (d->removed_at != 0) {
		format_time(d->removed_at + d->removed_max_age, t, sizeof(t));
		snprintf(line, sizeof(line), "none (removal begun; served until %s)", t);
		print_field("mode:", line);
	} else
		print_field("mode:", mtasts_mode_name(d->mode));
	for (size_t i = 0; i < d->mx_count; i++)
		print_field(i == 0 ? "mx:" : "", d->mx[i]);
	snprintf(line, sizeof(line), "%u", policy->max_age);
	print_field("max_age:", line);
	if (d->tlsrpt_rua != NULL)
		print_field("tlsrpt rua:", d->tlsrpt_rua);
	else if (args->settings.tlsrpt_rua != NULL) {
		snprintf(line, sizeof(line), "%s (the tlsrpt_rua setting)", args->settings.tlsrpt_rua);
		print_field("tlsrpt rua:", line);
	} else
		print_field("tlsrpt rua:", "none (no --rua, no tlsrpt_rua setting)");
	format_time(d->created, t, sizeof(t));
	print_field("added:", t);
	format_time(d->updated, t, sizeof(t));
	print_field("changed:", t);
	print_field("policy id:", policy->id);
	cert_words(args, cert, known, line, sizeof(line));
	print_field("certificate:", line + strlen("certificate "));
	printf("policy as served at https://mta-sts.%s/.well-known/mta-sts.txt:\n", d->name);
	print_body(policy);
}

static json_t *show_json(const struct domains_args *args, const struct hosted_domain *d,
			 const struct hosted_policy *policy, const struct hosted_cert_status *cert,
			 bool known)
{
	json_t *mx = json_array();
	json_t *o;

	for (size_t i = 0; mx != NULL && i < d->mx_count; i++)
		json_array_append_new(mx, json_text(d->mx[i]));
	o = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:o, s:o}", "name", d->name,
		      "mode", mtasts_mode_name(policy->mode), "mx", mx,
		      "max_age", (json_int_t)policy->max_age, "created", (json_int_t)d->created,
		      "updated", (json_int_t)d->updated, "id", policy->id,
		      "policy", json_text(policy->body), "certificate", cert_json(cert, known));
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "tlsrpt_rua", d->tlsrpt_rua != NULL ? json_text(d->tlsrpt_rua) :
			    json_null());
	json_object_set_new(o, "tlsrpt_rua_in_use", d->tlsrpt_rua != NULL ? json_text(d->tlsrpt_rua) :
			    args->settings.tlsrpt_rua != NULL ? json_text(args->settings.tlsrpt_rua) :
			    json_null());
	json_object_set_new(o, "served_until", d->removed_at != 0 ?
			    json_integer(d->removed_at + d->removed_max_age) : json_null());
	return o;
}

static int run_show(struct domains_args *args)
{
	struct hosted_domain domain = { 0 };
	struct hosted_policy policy = { 0 };
	struct hosted_cert_status cert;
	struct domain_registry *registry;
	char why[SERVE_WHY_SIZE];
	bool known;
	int rc;

	if ((registry = domains_open(args, true, &rc)) == NULL)
		return rc;
	if ((rc = domain_registry_get(registry, args->domain, &domain, why, sizeof(why))) != 0 ||
	    (rc = hosted_policy_render(&domain, &policy, why, sizeof(why)) != 0 ?
	     REGISTRY_INVALID : 0) != 0 ||
	    (rc = cert_status(args, registry, domain.name, &cert, &known, why, sizeof(why)) ?
	     0 : REGISTRY_UNAVAILABLE) != 0) {
		rc = domains_registry_error(args, rc, why);
		goto out;
	}
	if (args->json) {
		json_t *o = show_json(args, &domain, &policy, &cert, known);

		print_json(o);
		json_decref(o);
	} else
		show_human(args, &domain, &policy, &cert, known);
out:
	hosted_policy_release(&policy);
	hosted_domain_release(&domain);
	domain_registry_close(registry);
	return rc;
}

/* ---- dns ----------------------------------------------------------------- */

static int run_dns(struct domains_args *args)
{
	struct hosted_domain domain = { 0 };
	struct hosted_policy policy = { 0 };
	struct domains_records records;
	struct domain_registry *registry;
	char why[SERVE_WHY_SIZE];
	int rc;

	if ((registry = domains_open(args, true, &rc)) == NULL)
		return rc;
	if ((rc = domain_registry_get(registry, args->domain, &domain, why, sizeof(why))) != 0 ||
	    (rc = hosted_policy_render(&domain, &policy, why, sizeof(why)) != 0 ?
	     REGISTRY_INVALID : 0) != 0) {
		rc = domains_registry_error(args, rc, why);
		goto out;
	}
	if ((rc = domains_records_make(args, &domain, &policy, &records)) != 0)
		goto out;
	if (args->json) {
		json_t *list = json_array();

		for (size_t i = 0; list != NULL && i < records.count; i++)
			json_array_append_new(list, record_json(&records.items[i]));
		json_t *o = json_pack("{s:s, s:o, s:b}", "domain", domain.name, "records", list,
				      "tlsrpt", !records.no_rua);

		print_json(o);
		json_decref(o);
	} else {
		for (size_t i = 0; i < records.count; i++)
			print_record_line(&records.items[i]);
		if (records.no_rua)
			printf("; no TLSRPT rua: set --rua or tlsrpt_rua\n");
	}
out:
	hosted_policy_release(&policy);
	hosted_domain_release(&domain);
	domain_registry_close(registry);
	return rc;
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
		{ "purge", run_purge, 0 }, { "list", run_list, 0 }, { "show", run_show, 1 },
		{ "dns", run_dns, 1 }, { "verify", domains_run_verify, 1 },
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
