/*
 * cmd_domains_view.c - the verbs of mtasts domains that read the registry:
 * list, show, and dns with the records a hosted domain needs published
 * (also what verify compares with the DNS).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts/mx.h>
#include <mtasts/tlsrpt.h>

#include "domains.h"

#define CERT_WARN_DAYS 14
#define TXT_STRING_MAX 255		/* octets of one character-string (RFC 1035 3.3) */
#define SECONDS_PER_DAY 86400

/* ---- records ------------------------------------------------------------- */

void domains_tlsrpt_text(const char *rua, char *buf, size_t size)
{
	snprintf(buf, size, "v=TLSRPTv1; rua=%s", rua);
}

/* The settings that go into the records, checked as the records would be read. */
static bool settings_valid(const struct domains_args *args)
{
	const struct serve_config *s = &args->settings;
	char why[320], shown[120];
	size_t offset = 0;

	if (s->policy_cname != NULL) {
		size_t len = strlen(s->policy_cname);

		if (len > 0 && s->policy_cname[len - 1] == '.')
			len--;
		if (len == 0 || !mtasts_mx_host_check(s->policy_cname, len, &offset, why,
						       sizeof(why))) {
			text_shown(s->policy_cname, shown, sizeof(shown), 100);
			fprintf(stderr, PROGRAM_NAME " domains: %s: the policy_cname setting '%s' is "
				"not a host name: %s (octet %zu)\n", args->verb, shown,
				len == 0 ? "it is empty" : why, offset + 1);
			return false;
		}
	}
	if (s->tlsrpt_rua != NULL &&
	    !domain_registry_rua_check(s->tlsrpt_rua, why, sizeof(why))) {
		text_shown(s->tlsrpt_rua, shown, sizeof(shown), 100);
		fprintf(stderr, PROGRAM_NAME " domains: %s: the tlsrpt_rua setting '%s' is not a "
			"TLSRPT rua: it %s\n", args->verb, shown, why);
		return false;
	}
	return true;
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

	if (!settings_valid(args))
		return DOMAINS_EXIT_CONFIG;
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

/*
 * TXT data as zone-file character-strings: at most 255 octets each, quoted,
 * with '"' and '\\' escaped and any octet that is not printable as \DDD.
 */
static void print_txt_strings(const char *data)
{
	size_t len = strlen(data), start = 0;

	do {
		size_t end = len - start > TXT_STRING_MAX ? start + TXT_STRING_MAX : len;

		fputs(start == 0 ? "\"" : " \"", stdout);
		for (size_t i = start; i < end; i++) {
			unsigned char c = (unsigned char)data[i];

			if (c == '"' || c == '\\')
				printf("\\%c", c);
			else if (c < 0x20 || c >= 0x7f)
				printf("\\%03u", c);
			else
				putchar(c);
		}
		putchar('"');
		start = end;
	} while (start < len);
}

void domains_print_record(const struct domains_record *r)
{
	printf("%s %d IN %s ", r->name, DOMAINS_RECORD_TTL, r->type);
	if (strcmp(r->type, "TXT") == 0)
		print_txt_strings(r->data);
	else
		fputs(r->data, stdout);
	putchar('\n');
}

static json_t *record_json(const struct domains_record *r)
{
	return json_pack("{s:s, s:i, s:s, s:s}", "name", r->name, "ttl", DOMAINS_RECORD_TTL,
			 "type", r->type, "data", r->data);
}

/* ---- list and show ------------------------------------------------------- */

/* The status of mta-sts.<domain>'s certificate; false when the registry failed. */
static bool cert_status(struct domain_registry *registry, const char *domain,
			struct hosted_cert_status *ret_status, bool *ret_known,
			char *why, size_t why_size)
{
	char host[HOSTED_NAME_MAX + 16];
	int rc;

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
		domains_format_time(c->not_after, day, sizeof(day));
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
	if (!cert_status(run->registry, domain->name, &cert, &known, run->why,
			 sizeof(run->why))) {
		run->failed = true;
		hosted_policy_release(&policy);
		return 1;
	}
	if (domain->removed_at != 0) {
		char until[32];

		domains_format_time(domain->removed_at + domain->removed_max_age, until, sizeof(until));
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

int domains_run_list(struct domains_args *args)
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
		domains_format_time(d->removed_at + d->removed_max_age, t, sizeof(t));
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
	domains_format_time(d->created, t, sizeof(t));
	print_field("added:", t);
	domains_format_time(d->updated, t, sizeof(t));
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

int domains_run_show(struct domains_args *args)
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
	    (rc = cert_status(registry, domain.name, &cert, &known, why, sizeof(why)) ?
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

int domains_run_dns(struct domains_args *args)
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
			domains_print_record(&records.items[i]);
		if (records.no_rua)
			printf("; no TLSRPT rua: set --rua or tlsrpt_rua\n");
	}
out:
	hosted_policy_release(&policy);
	hosted_domain_release(&domain);
	domain_registry_close(registry);
	return rc;
}

