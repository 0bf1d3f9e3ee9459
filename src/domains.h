/*
 * domains.h - what the three files of `mtasts domains` share: the command
 * line and the registry (cmd_domains.c), the exit statuses, the records
 * a hosted domain needs published (cmd_domains_view.c), and the verbs that
 * look at the DNS, add --from-dns and verify (cmd_domains_dns.c).
 */
#ifndef MTASTS_DOMAINS_H
#define MTASTS_DOMAINS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "config.h"
#include "domain_registry.h"
#include "hosted_policy.h"
#include "serve.h"

/* Exit statuses (sysexits.h values), as mtasts-domains(1) lists them. */
#define DOMAINS_EXIT_PROBLEM 1		/* verify: a record differs; list: a row unreadable */
#define DOMAINS_EXIT_INVALID 65		/* EX_DATAERR: a value the registry refuses */
#define DOMAINS_EXIT_NOT_HOSTED 66	/* EX_NOINPUT: no such domain (or no registry yet) */
#define DOMAINS_EXIT_NO_MX 68		/* EX_NOHOST: --from-dns found no MX host */
#define DOMAINS_EXIT_EXISTS 73		/* EX_CANTCREAT: add: the domain is hosted already */
#define DOMAINS_EXIT_TEMPFAIL 75	/* EX_TEMPFAIL: the registry or the DNS failed for now */
#define DOMAINS_EXIT_CONFIG 78		/* EX_CONFIG: the settings file, or a setting missing */

#define DOMAINS_DEFAULT_MAX_AGE 1209600u	/* two weeks: what mtasts check asks at least */
#define DOMAINS_RECORD_TTL 3600
#define DOMAINS_RECORDS_MAX (2 + SERVE_LISTEN_MAX)

extern const struct command cmd_domains;

/* Everything the command line said, for whichever verb. */
struct domains_args {
	const char *verb;
	const char *registry;		/* NULL: the settings', else the default */
	const char *config_path;	/* NULL: SERVE_CONFIG_DEFAULT_PATH when it exists */
	bool json;
	int64_t now;
	enum mtasts_mode mode;
	bool mode_given;
	const char *mx[HOSTED_MX_MAX];
	size_t mx_count;
	uint32_t max_age;
	bool max_age_given;
	const char *rua;
	bool no_rua;
	bool from_dns;
	struct net_config net;		/* --dns-server, --ca-file */
	bool dns_server_given;
	char *domain;			/* the operand, lower case, no final dot */
	json_t *proposal;		/* add --from-dns --json: the MX hosts and patterns */
	struct serve_config settings;
};

/* One record to publish, as a zone-file line says it. */
struct domains_record {
	char name[HOSTED_NAME_MAX + 32];	/* with the final dot */
	const char *type;		/* "TXT", "CNAME", "A", "AAAA" */
	char data[HOSTED_RUA_MAX + 32];	/* TXT: the text, unquoted; else the target/address */
};

struct domains_records {
	struct domains_record items[DOMAINS_RECORDS_MAX];
	size_t count;
	bool no_rua;			/* no TLSRPT record: neither --rua nor tlsrpt_rua */
};

/*
 * The records domain needs (its policy id from policy): the _mta-sts TXT,
 * the policy host's CNAME or addresses, the _smtp._tls TXT.  0, or
 * DOMAINS_EXIT_CONFIG with a message printed when the settings name no
 * target for the policy host.
 */
int domains_records_make(const struct domains_args *args, const struct hosted_domain *domain,
			 const struct hosted_policy *policy, struct domains_records *ret_records);

/* t as 2026-12-02T05:19:20Z (UTC). */
void domains_format_time(int64_t t, char *buf, size_t size);

/* cmd_domains_view.c: the verbs that read the registry. */
int domains_run_list(struct domains_args *args);
int domains_run_show(struct domains_args *args);
int domains_run_dns(struct domains_args *args);

/* "v=TLSRPTv1; rua=RUA" */
void domains_tlsrpt_text(const char *rua, char *buf, size_t size);

/* One record as a zone-file line on stdout (TXT data quoted and split). */
void domains_print_record(const struct domains_record *r);

/* The registry (opened for reading only when it must exist); NULL after printing why. */
struct domain_registry *domains_open(const struct domains_args *args, bool must_exist,
				     int *ret_status);

/* A registry failure said on standard error; the exit status it calls for. */
int domains_registry_error(const struct domains_args *args, int rc, const char *why);

struct public_suffixes;

/*
 * cmd_domains_dns.c: the MX hosts of args->domain made into patterns (to
 * free; no wildcard over one of suffixes), the proposal printed; 0, or an
 * exit status after saying why.
 */
int domains_propose_from_dns(struct domains_args *args, struct public_suffixes *suffixes,
			     char ***ret_patterns, size_t *ret_count);
int domains_run_verify(struct domains_args *args);

#endif
