/*
 * serve_config.c - the settings of `mtasts serve`: defaults, the YAML file
 * (read strictly by config_fields.h), and the checks every source passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config_fields.h"
#include "policyd_config.h"
#include "serve.h"
#include "yaml_tree.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1024u * 1024u)

void serve_config_defaults(struct serve_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_body = 10 * MIB;		/* real reports are kilobytes */
	c->max_inflated = 64 * MIB;
	c->max_headers = 16384;
	c->timeout = 60;
	c->max_connections = 1024;
	c->shutdown_timeout = 10;
	c->prune_interval = SERVE_PRUNE_INTERVAL_DEFAULT;
	c->workers = 1;
	c->registry_poll = SERVE_REGISTRY_POLL_DEFAULT;
	c->acme_interval = SERVE_ACME_INTERVAL_DEFAULT;
	c->acme_orders_per_hour = SERVE_ACME_ORDERS_PER_HOUR_DEFAULT;
}

int serve_config_set(char **value, const char *text)
{
	char *copy = strdup(text);

	if (copy == NULL)
		return -1;
	free(*value);
	*value = copy;
	return 0;
}

int serve_config_append(char **list, size_t *count, size_t max, const char *text)
{
	char *copy;

	if (*count >= max || (copy = strdup(text)) == NULL)
		return -1;
	list[(*count)++] = copy;
	return 0;
}

void serve_config_clear_list(char **list, size_t *count)
{
	for (size_t i = 0; i < *count; i++) {
		free(list[i]);
		list[i] = NULL;
	}
	*count = 0;
}

void serve_config_release(struct serve_config *c)
{
	if (c == NULL)
		return;
	free(c->store);
	for (size_t i = 0; i < c->cert_count; i++) {
		free(c->certs[i].cert);
		free(c->certs[i].key);
	}
	serve_config_clear_list(c->listen, &c->listen_count);
	serve_config_clear_list(c->listen_plain, &c->listen_plain_count);
	serve_config_clear_list(c->metrics_allow, &c->metrics_allow_count);
	free(c->report_path);
	free(c->user);
	free(c->pid_file);
	free(c->registry);
	serve_config_clear_list(c->listen_http, &c->listen_http_count);
	free(c->policy_cname);
	serve_config_clear_list(c->policy_addresses, &c->policy_address_count);
	free(c->tlsrpt_rua);
	free(c->cert_dir);
	free(c->acme_directory);
	free(c->acme_email);
	free(c->acme_ca_file);
	serve_config_clear_list(c->acme_challenges, &c->acme_challenge_count);
	memset(c, 0, sizeof(*c));
}

/* ---- the file ---- */

/* A string or a sequence of strings into list (replacing it), at most max. */
static int read_list(struct reader *r, const char *name, const struct yaml_node *v,
		     char **list, size_t *count, size_t max)
{
	static const struct field item = { "item", F_STRING, 0, 0, 4096, F_NONEMPTY, NULL };
	const struct yaml_node *const *items = &v;
	size_t n = 1;

	if (v->kind == YAML_KIND_MAPPING)
		return config_fail(r, v, "%s: a mapping where a string or a list of "
				   "strings goes", name);
	if (v->kind == YAML_KIND_SEQUENCE) {
		items = (const struct yaml_node *const *)v->items;
		n = v->count;
	}
	if (n > max)
		return config_fail(r, v, "%s: %zu entries; at most %zu", name, n, max);
	serve_config_clear_list(list, count);
	for (size_t i = 0; i < n; i++) {
		if (items[i]->kind != YAML_KIND_SCALAR)
			return config_fail(r, items[i], "%s: %s where a string goes",
					   name, config_what_is(items[i]));
		if (config_read_string(r, &item, name, items[i], &list[*count]) != 0)
			return -1;
		(*count)++;
	}
	return 0;
}

static int read_listen(struct reader *r, const struct yaml_node *v, void *base)
{
	struct serve_config *c = base;

	return read_list(r, "listen", v, c->listen, &c->listen_count, SERVE_LISTEN_MAX);
}

static int read_listen_plain(struct reader *r, const struct yaml_node *v, void *base)
{
	struct serve_config *c = base;

	return read_list(r, "listen_plain", v, c->listen_plain, &c->listen_plain_count, SERVE_LISTEN_MAX);
}

static int read_metrics_allow(struct reader *r, const struct yaml_node *v, void *base)
{
	struct serve_config *c = base;

	return read_list(r, "metrics_allow", v, c->metrics_allow, &c->metrics_allow_count, SERVE_ALLOW_MAX);
}

static int read_listen_http(struct reader *r, const struct yaml_node *v, void *base)
{
	struct serve_config *c = base;

	return read_list(r, "listen_http", v, c->listen_http, &c->listen_http_count, SERVE_LISTEN_MAX);
}

static int read_policy_addresses(struct reader *r, const struct yaml_node *v, void *base)
{
	struct serve_config *c = base;

	return read_list(r, "policy_addresses", v, c->policy_addresses,
			 &c->policy_address_count, SERVE_LISTEN_MAX);
}

static int read_acme_challenges(struct reader *r, const struct yaml_node *v, void *base)
{
	struct serve_config *c = base;

	return read_list(r, "acme_challenges", v, c->acme_challenges,
			 &c->acme_challenge_count, SERVE_ACME_CHALLENGES_MAX);
}

#define PAIR(key, member) \
	{ key, F_STRING, offsetof(struct serve_cert_pair, member), 0, 4096, F_NONEMPTY, NULL }

static const struct field pair_fields[] = {
	PAIR("cert", cert),
	PAIR("key", key),
};

/* certificates: a list of {cert: FILE, key: FILE}. */
static int read_certificates(struct reader *r, const struct yaml_node *v, void *base)
{
	struct serve_config *c = base;
	char saved[sizeof(r->path)];
	uint32_t seen;
	int rc = 0;

	if (v->kind != YAML_KIND_SEQUENCE)
		return config_fail(r, v, "certificates: %s where a list of {cert: FILE, "
				   "key: FILE} goes", config_what_is(v));
	if (v->count > SERVE_CERTS_MAX)
		return config_fail(r, v, "certificates: %zu pairs; at most %d", v->count,
				   SERVE_CERTS_MAX);
	for (size_t i = 0; i < c->cert_count; i++) {
		free(c->certs[i].cert);
		free(c->certs[i].key);
	}
	memset(c->certs, 0, sizeof(c->certs));
	c->cert_count = 0;
	memcpy(saved, r->path, sizeof(saved));
	for (size_t i = 0; i < v->count && rc == 0; i++) {
		struct serve_cert_pair *pair = &c->certs[c->cert_count++];

		snprintf(r->path, sizeof(r->path), "certificates[%zu]", i);
		if (v->items[i]->kind != YAML_KIND_MAPPING)
			rc = config_fail(r, v->items[i], "%s: %s where {cert: FILE, key: "
					 "FILE} goes", r->path, config_what_is(v->items[i]));
		else if (config_read_fields(r, v->items[i], pair_fields,
					    ARRAY_COUNT(pair_fields), pair, &seen) != 0)
			rc = -1;
		else if (seen != 3)
			rc = config_fail(r, v->items[i], "%s: give both cert and key", r->path);
	}
	memcpy(r->path, saved, sizeof(saved));
	return rc;
}

#define TOP(key, type, member, min, max, flags) \
	{ key, type, offsetof(struct serve_config, member), min, max, flags, NULL }
#define SECTION(key, fn) { key, F_SECTION, 0, 0, 0, 0, fn }

static const struct field top_fields[] = {
	TOP("store", F_STRING, store, 0, 4096, F_NONEMPTY),
	SECTION("certificates", read_certificates),
	SECTION("listen", read_listen),
	SECTION("listen_plain", read_listen_plain),
	TOP("report_path", F_STRING, report_path, 0, 255, F_NONEMPTY),
	TOP("max_body", F_UINT, max_body, 1024, 1024.0 * MIB, 0),
	TOP("max_inflated", F_UINT, max_inflated, 1024, 1024.0 * MIB, 0),
	TOP("max_headers", F_UINT, max_headers, 1024, MIB, 0),
	TOP("timeout", F_UINT, timeout, 1, 3600, 0),
	TOP("max_connections", F_UINT, max_connections, 1, 1000000, 0),
	TOP("shutdown_timeout", F_UINT, shutdown_timeout, 0, 3600, 0),
	TOP("user", F_STRING, user, 0, 32, F_NULLABLE | F_NONEMPTY),
	TOP("pid_file", F_STRING, pid_file, 0, 4096, F_NULLABLE | F_NONEMPTY),
	SECTION("metrics_allow", read_metrics_allow),
	TOP("retention_days", F_UINT, retention_days, 0, SERVE_RETENTION_DAYS_MAX, 0),
	TOP("prune_interval", F_UINT, prune_interval, 1, 86400, 0),
	TOP("verbose", F_BOOL, verbose, 0, 0, 0),
	TOP("workers", F_UINT, workers, 0, SERVE_WORKERS_MAX, 0),
	TOP("registry", F_STRING, registry, 0, 4096, F_NULLABLE | F_NONEMPTY),
	TOP("registry_poll", F_UINT, registry_poll, 1, 3600, 0),
	SECTION("listen_http", read_listen_http),
	TOP("policy_cname", F_STRING, policy_cname, 0, 253, F_NULLABLE | F_NONEMPTY),
	SECTION("policy_addresses", read_policy_addresses),
	TOP("tlsrpt_rua", F_STRING, tlsrpt_rua, 0, 2048, F_NULLABLE | F_NONEMPTY),
	TOP("cert_dir", F_STRING, cert_dir, 0, 4096, F_NULLABLE | F_NONEMPTY),
	TOP("acme_directory", F_STRING, acme_directory, 0, 2048, F_NULLABLE | F_NONEMPTY),
	TOP("acme_email", F_STRING, acme_email, 0, 254, F_NULLABLE | F_NONEMPTY),
	TOP("acme_ca_file", F_STRING, acme_ca_file, 0, 4096, F_NULLABLE | F_NONEMPTY),
	SECTION("acme_challenges", read_acme_challenges),
	TOP("acme_interval", F_UINT, acme_interval, 1, 86400, 0),
	TOP("acme_orders_per_hour", F_UINT, acme_orders_per_hour, 1, 100000, 0),
};

int serve_config_load(const char *path, struct serve_config *c, char *why, size_t why_size)
{
	static const struct yaml_limits limits = {
		.depth = POLICYD_CONFIG_DEPTH_MAX,
		.nodes = POLICYD_CONFIG_NODES_MAX,
		.anchors = POLICYD_CONFIG_ANCHORS_MAX,
		.scalar = POLICYD_CONFIG_STRING_MAX,
	};
	char message[SERVE_WHY_SIZE];
	struct reader r = { .why = message, .why_size = sizeof(message) };
	struct yaml_tree tree;
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (config_read_file(path, &text, &len, why, why_size) != 0)
		return -1;
	if (yaml_tree_parse(text, len, &limits, &tree, message, sizeof(message)) != 0)
		goto out;
	if (tree.root != NULL && tree.root->kind != YAML_KIND_MAPPING &&
	    !yaml_scalar_is_null(tree.root))
		rc = config_fail(&r, tree.root, "the file is %s; it must be a mapping of "
				 "keys such as \"report_path: /tlsrpt\"",
				 config_what_is(tree.root));
	else if (tree.root == NULL || yaml_scalar_is_null(tree.root))
		rc = 0;
	else
		rc = config_read_fields(&r, tree.root, top_fields, ARRAY_COUNT(top_fields), c,
					NULL);
	yaml_tree_free(&tree);
out:
	if (rc != 0)
		snprintf(why, why_size, "%s:%s", path, message);
	free(text);
	return rc;
}

/* ---- checks ---- */

bool serve_split_address(const char *address, char *host, size_t host_size,
			 uint16_t *ret_port)
{
	const char *colon = strrchr(address, ':');
	unsigned char probe[16];
	size_t host_len;
	unsigned long port;
	char *end;

	if (colon == NULL || colon[1] == '\0')
		return false;
	host_len = (size_t)(colon - address);
	if (address[0] == '[') {
		if (host_len < 3 || address[host_len - 1] != ']')
			return false;
		address++;
		host_len -= 2;
	} else if (memchr(address, ':', host_len) != NULL) {
		return false;	/* IPv6 goes in brackets: "::1:443" is ambiguous */
	}
	if (host_len == 0 || host_len >= host_size)
		return false;
	memcpy(host, address, host_len);
	host[host_len] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port == 0 || port > 65535 || colon[1] == '+' ||
	    colon[1] == '-' || colon[1] == ' ')
		return false;
	if (inet_pton(AF_INET, host, probe) != 1 && inet_pton(AF_INET6, host, probe) != 1)
		return false;
	*ret_port = (uint16_t)port;
	return true;
}

bool serve_parse_cidr(const char *text, struct serve_cidr *ret)
{
	struct serve_cidr c = { 0 };
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned long bits;
	char *end;

	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, c.addr) == 1)
		c.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, c.addr) == 1)
		c.family = AF_INET6;
	else
		return false;
	c.bits = c.family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno != 0 ||
		    bits > c.bits)
			return false;
		c.bits = (unsigned)bits;
	}
	*ret = c;
	return true;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

bool serve_cidr_contains(const struct serve_cidr *cidr, const char *address)
{
	static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char addr[16];

	if (inet_pton(AF_INET6, address, addr) == 1) {
		if (cidr->family == AF_INET6)
			return prefix_equal(addr, cidr->addr, cidr->bits);
		/* An IPv4 client of a [::] listener. */
		return memcmp(addr, v4_mapped, 12) == 0 &&
		       prefix_equal(addr + 12, cidr->addr, cidr->bits);
	}
	if (inet_pton(AF_INET, address, addr) == 1 && cidr->family == AF_INET)
		return prefix_equal(addr, cidr->addr, cidr->bits);
	return false;
}

static int check_addresses(char *const *list, size_t count, const char *option, char *why,
			   size_t why_size)
{
	char host[64];
	uint16_t port;

	for (size_t i = 0; i < count; i++) {
		if (!serve_split_address(list[i], host, sizeof(host), &port)) {
			snprintf(why, why_size, "%s: '%.80s' is not an IP address and port "
				 "(IPV4:PORT or [IPV6]:PORT)", option, list[i]);
			return -1;
		}
	}
	return 0;
}

int serve_config_check(const struct serve_config *c, char *why, size_t why_size)
{
	struct serve_cidr cidr;

	if (c->listen_count > 0 && c->cert_count == 0 && c->registry == NULL) {
		snprintf(why, why_size, "listen: HTTPS needs a certificate: give --cert and "
			 "--key (or certificates: in the file), or host policies (--registry)");
		return -1;
	}
	if (c->listen_count == 0 && c->listen_plain_count == 0 && c->cert_count == 0 &&
	    c->registry == NULL) {
		snprintf(why, why_size, "nothing to serve: give --cert and --key (HTTPS on "
			 "%s), or --listen-plain behind a proxy", SERVE_LISTEN_DEFAULT);
		return -1;
	}
	for (size_t i = 0; i < c->cert_count; i++) {
		if (c->certs[i].cert == NULL || c->certs[i].key == NULL) {
			snprintf(why, why_size, "certificate %zu: give a key for every "
				 "certificate (--cert FILE --key FILE)", i + 1);
			return -1;
		}
	}
	if (check_addresses(c->listen, c->listen_count, "listen", why, why_size) != 0 ||
	    check_addresses(c->listen_plain, c->listen_plain_count, "listen-plain", why,
			    why_size) != 0 ||
	    check_addresses(c->listen_http, c->listen_http_count, "listen-http", why,
			    why_size) != 0)
		return -1;
	if (c->acme_directory != NULL && c->registry == NULL) {
		snprintf(why, why_size, "acme-directory: ACME asks certificates for the hosted "
			 "names: give the registry too (--registry)");
		return -1;
	}
	if (c->acme_directory != NULL &&
	    strncmp(c->acme_directory, "https://", 8) != 0) {
		snprintf(why, why_size, "acme-directory: '%.80s' is not an https:// URL",
			 c->acme_directory);
		return -1;
	}
	for (size_t i = 0; i < c->acme_challenge_count; i++) {
		if (strcmp(c->acme_challenges[i], "http-01") != 0 &&
		    strcmp(c->acme_challenges[i], "tls-alpn-01") != 0) {
			snprintf(why, why_size, "acme-challenges: '%.40s' is neither http-01 "
				 "nor tls-alpn-01", c->acme_challenges[i]);
			return -1;
		}
	}
	for (size_t i = 0; i < c->policy_address_count; i++) {
		unsigned char probe[16];

		if (inet_pton(AF_INET, c->policy_addresses[i], probe) != 1 &&
		    inet_pton(AF_INET6, c->policy_addresses[i], probe) != 1) {
			snprintf(why, why_size, "policy-addresses: '%.80s' is not an IPv4 or "
				 "IPv6 address", c->policy_addresses[i]);
			return -1;
		}
	}
	if (c->policy_cname != NULL && c->policy_address_count > 0) {
		snprintf(why, why_size, "policy-cname and policy-addresses: give one; "
			 "mta-sts.<domain> is either a CNAME or has addresses");
		return -1;
	}
	if (c->report_path != NULL && (c->report_path[0] != '/' ||
	    strpbrk(c->report_path, "?# \t\r\n") != NULL)) {
		snprintf(why, why_size, "report-path: '%.80s' must be a path starting with "
			 "'/', without a query", c->report_path);
		return -1;
	}
	for (size_t i = 0; i < c->metrics_allow_count; i++) {
		if (!serve_parse_cidr(c->metrics_allow[i], &cidr)) {
			snprintf(why, why_size, "metrics-allow: '%.80s' is not an address or "
				 "ADDRESS/BITS", c->metrics_allow[i]);
			return -1;
		}
	}
	if (c->max_inflated < c->max_body) {
		snprintf(why, why_size, "max-inflated (%u) is below max-body (%u)",
			 c->max_inflated, c->max_body);
		return -1;
	}
	return 0;
}
