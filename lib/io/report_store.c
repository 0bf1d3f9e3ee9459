/*
 * report_store.c - the report store's interface over its backends: the
 * location read, the queries written once in SQL both backends run, the
 * report stored in one transaction and read back, and the helpers they
 * share (gzip of the JSON text, its SHA-256, the UTC day, freeing rows).
 *
 * Tables (the same in both backends; see report_store_sqlite.c and
 * report_store_postgres.c for the DDL):
 *   report          one row a report: its fields, how it came, the JSON
 *                   text gzip-compressed and its SHA-256
 *   report_policy   one row a policy, with the report's day, start, end and
 *                   organization copied in so the summaries read one index
 *   report_failure  one row a failure detail, with the policy's domain and
 *                   the report's day, start and organization copied in
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "report_store.h"
#include "report_store_internal.h"

#define RAW_MAX ((size_t)64 << 20)	/* a JSON text read back, decompressed */
#define STRING_MAX ((size_t)1 << 20)	/* one text column read back */
#define LOCATION_MAX 4096

void rs_error(struct report_store *store, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store->error, sizeof(store->error), fmt, ap);
	va_end(ap);
}

static void say(char *why, size_t why_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
}

/* Opening and closing */

struct report_store *report_store_open(const char *location, const struct report_store_options *options,
				       char *why, size_t why_size)
{
	static const struct report_store_options defaults = { .timeout_ms = 5000 };
	struct report_store_options opts = options != NULL ? *options : defaults;
	struct report_store *store = NULL;
	int rc;

	if (opts.timeout_ms == 0)
		opts.timeout_ms = defaults.timeout_ms;
	if (location == NULL || location[0] == '\0' ||
	    strnlen(location, LOCATION_MAX + 1) > LOCATION_MAX) {
		say(why, why_size, "the report store's location is empty or longer than %d octets",
		    LOCATION_MAX);
		errno = EINVAL;
		return NULL;
	}
	if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
		rc = report_store_postgres_open(location, &opts, &store, why, why_size);
	else if (strncmp(location, "sqlite:", 7) == 0 && location[7] != '\0')
		rc = report_store_sqlite_open(location + 7, &opts, &store, why, why_size);
	else if (strncmp(location, "sqlite:", 7) == 0 || strstr(location, "://") != NULL) {
		say(why, why_size, "%.200s: not a report store location (postgresql://..., "
		    "sqlite:PATH or a path)", location);
		errno = EINVAL;
		return NULL;
	} else
		rc = report_store_sqlite_open(location, &opts, &store, why, why_size);
	return rc == 0 ? store : NULL;
}

struct report_store *report_store_close(struct report_store *store)
{
	if (store != NULL)
		store->ops->free(store);
	return NULL;
}

const char *report_store_backend(const struct report_store *store)
{
	return store->ops->name;
}

/* The result of a query as a store status, with the reason in why. */
static enum store_status status_of(struct report_store *store, int rc, char *why, size_t why_size)
{
	if (rc == RS_OK)
		return STORE_ADDED;
	if (rc == RS_NOMEM)
		say(why, why_size, "out of memory");
	else
		say(why, why_size, "%s", store->error);
	return rc == RS_UNAVAILABLE ? STORE_UNAVAILABLE : STORE_FAILED;
}

static int one_int(const struct rs_value *columns, size_t count, void *arg)
{
	if (count < 1 || columns[0].type != RS_INT)
		return RS_FAILED;
	*(int64_t *)arg = columns[0].i;
	return RS_OK;
}

bool report_store_ping(struct report_store *store, char *why, size_t why_size)
{
	int64_t one = 0;
	int rc = store->ops->query(store, "ping", "SELECT 1", NULL, 0, one_int, &one, NULL);

	if (rc == RS_OK && one == 1)
		return true;
	if (rc == RS_OK)
		rs_error(store, "ping: an unexpected answer");
	status_of(store, rc == RS_OK ? RS_FAILED : rc, why, why_size);
	return false;
}

/* Shared helpers */

static const char *const dkim_names[] = {
	[DKIM_VERDICT_NONE] = "none",
	[DKIM_VERDICT_PASS] = "pass",
	[DKIM_VERDICT_FAIL] = "fail",
	[DKIM_VERDICT_TEMPERROR] = "temperror",
	[DKIM_VERDICT_PERMERROR] = "permerror",
};

static const char *dkim_text(enum dkim_verdict verdict)
{
	if ((unsigned)verdict < sizeof(dkim_names) / sizeof(dkim_names[0]))
		return dkim_names[verdict];
	return "none";
}

static enum dkim_verdict dkim_from(const struct rs_value *v)
{
	for (size_t i = 0; v->type == RS_TEXT && i < sizeof(dkim_names) / sizeof(dkim_names[0]); i++)
		if (strlen(dkim_names[i]) == v->len && memcmp(dkim_names[i], v->s, v->len) == 0)
			return (enum dkim_verdict)i;
	return DKIM_VERDICT_NONE;
}

/* "YYYY-MM-DD" of the UTC day of t. */
static void day_text(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "0000-00-00");
}

/* The SHA-256 of data, hex. */
static int sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;

	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
		return -1;
	for (unsigned i = 0; i < md_len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* data gzip-compressed, in a new buffer. */
static int gzip_data(const void *data, size_t len, unsigned char **ret_out, size_t *ret_len)
{
	z_stream z = { 0 };
	unsigned char *out = NULL;
	int rc = RS_NOMEM;

	if (len > UINT_MAX || deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return RS_NOMEM;
	size_t bound = deflateBound(&z, (uLong)len) + 32;
	if ((out = malloc(bound)) == NULL)
		goto out;
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		goto out;
	*ret_len = z.total_out;
	*ret_out = out;
	out = NULL;
	rc = RS_OK;
out:
	deflateEnd(&z);
	free(out);
	return rc;
}

/* A gzip member back to its text (NUL-terminated), at most RAW_MAX octets. */
static int gunzip_data(const void *data, size_t len, char **ret_out, size_t *ret_len)
{
	z_stream z = { 0 };
	size_t cap = len * 4 + 256, used = 0;
	char *out = NULL;
	int rc = RS_FAILED, zrc = Z_OK;

	if (len > UINT_MAX || inflateInit2(&z, 15 + 16) != Z_OK)
		return RS_NOMEM;
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	while (zrc != Z_STREAM_END) {
		if (cap > RAW_MAX + 1)
			cap = RAW_MAX + 1;
		char *bigger = realloc(out, cap);
		if (bigger == NULL) {
			rc = RS_NOMEM;
			goto out;
		}
		out = bigger;
		z.next_out = (unsigned char *)out + used;
		z.avail_out = (uInt)(cap - used);
		zrc = inflate(&z, Z_NO_FLUSH);
		used = z.total_out;
		if (zrc != Z_OK && zrc != Z_STREAM_END)
			goto out;
		if (zrc == Z_OK && used == cap) {
			if (cap > RAW_MAX)
				goto out;
			cap *= 2;
		} else if (zrc == Z_OK && z.avail_in == 0)
			goto out;	/* truncated */
	}
	if (used == cap) {
		char *bigger = realloc(out, used + 1);
		if (bigger == NULL) {
			rc = RS_NOMEM;
			goto out;
		}
		out = bigger;
	}
	out[used] = '\0';
	*ret_out = out;
	*ret_len = used;
	out = NULL;
	rc = RS_OK;
out:
	inflateEnd(&z);
	free(out);
	return rc;
}

/* strings as a JSON array of strings (compact). */
static char *strings_json(char *const *strings, size_t count)
{
	json_t *array = json_array();
	char *text = NULL;

	if (array == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++)
		if (json_array_append_new(array, json_string(strings[i] != NULL ? strings[i] : "")) != 0)
			goto out;
	text = json_dumps(array, JSON_COMPACT);
out:
	json_decref(array);
	return text;
}

/* A JSON array of strings back into a new array. */
static int strings_from_json(const struct rs_value *v, char ***ret_strings, size_t *ret_count)
{
	json_t *array;
	char **strings = NULL;
	size_t count = 0;
	int rc = RS_FAILED;

	if (v->type == RS_NULL) {
		*ret_strings = NULL;
		*ret_count = 0;
		return RS_OK;
	}
	if (v->type != RS_TEXT || (array = json_loadb(v->s, v->len, 0, NULL)) == NULL)
		return RS_FAILED;
	if (!json_is_array(array))
		goto out;
	count = json_array_size(array);
	if (count > 0 && (strings = calloc(count, sizeof(*strings))) == NULL) {
		rc = RS_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const char *s = json_string_value(json_array_get(array, i));
		if (s == NULL)
			goto out;
		if ((strings[i] = strdup(s)) == NULL) {
			rc = RS_NOMEM;
			goto out;
		}
	}
	*ret_strings = strings;
	*ret_count = count;
	strings = NULL;
	rc = RS_OK;
out:
	if (strings != NULL)
		for (size_t i = 0; i < count; i++)
			free(strings[i]);
	free(strings);
	json_decref(array);
	return rc;
}

/* A text column (or NULL) copied; RS_NOMEM, or RS_FAILED for another type. */
static int text_dup(const struct rs_value *v, char **ret)
{
	if (v->type == RS_NULL || v->type == RS_NULL_INT) {
		*ret = NULL;
		return RS_OK;
	}
	if (v->type != RS_TEXT || v->len > STRING_MAX || memchr(v->s, '\0', v->len) != NULL)
		return RS_FAILED;
	if ((*ret = strndup(v->s, v->len)) == NULL)
		return RS_NOMEM;
	return RS_OK;
}

static int64_t int_of(const struct rs_value *v)
{
	return v->type == RS_INT ? v->i : 0;
}

static uint64_t count_of(const struct rs_value *v)
{
	return v->type == RS_INT && v->i > 0 ? (uint64_t)v->i : 0;
}

/* Room for one more item in a growing array. */
static int grow(void **items, size_t count, size_t *cap, size_t size)
{
	if (count < *cap)
		return RS_OK;
	size_t bigger = *cap == 0 ? 16 : *cap * 2;
	void *p = realloc(*items, bigger * size);
	if (p == NULL)
		return RS_NOMEM;
	memset((char *)p + *cap * size, 0, (bigger - *cap) * size);
	*items = p;
	*cap = bigger;
	return RS_OK;
}

static void report_release(struct tlsrpt_report *report)
{
	if (report == NULL)
		return;
	for (size_t i = 0; i < report->policy_count; i++) {
		struct tlsrpt_policy *p = &report->policies[i];
		free(p->policy_type);
		free(p->policy_domain);
		for (size_t j = 0; j < p->policy_string_count; j++)
			free(p->policy_strings[j]);
		free(p->policy_strings);
		for (size_t j = 0; j < p->mx_host_count; j++)
			free(p->mx_hosts[j]);
		free(p->mx_hosts);
		for (size_t j = 0; j < p->failure_count; j++) {
			struct tlsrpt_failure *f = &p->failures[j];
			free(f->result_type);
			free(f->sending_mta_ip);
			free(f->receiving_mx_hostname);
			free(f->receiving_mx_helo);
			free(f->receiving_ip);
			free(f->additional_information);
			free(f->failure_reason_code);
		}
		free(p->failures);
	}
	free(report->policies);
	free(report->organization_name);
	free(report->report_id);
	free(report->contact_info);
	free(report);
}

void summary_row_clear(struct summary_row *row)
{
	if (row == NULL)
		return;
	free(row->key);
	free(row->key2);
	memset(row, 0, sizeof(*row));
}

void summary_rows_free(struct summary_row *rows, size_t count)
{
	for (size_t i = 0; rows != NULL && i < count; i++)
		summary_row_clear(&rows[i]);
	free(rows);
}

void report_entry_clear(struct report_entry *entry)
{
	if (entry == NULL)
		return;
	free(entry->organization_name);
	free(entry->report_id);
	free(entry->domains);
	free(entry->source);
	free(entry->dkim_domain);
	memset(entry, 0, sizeof(*entry));
}

void report_entries_free(struct report_entry *entries, size_t count)
{
	for (size_t i = 0; entries != NULL && i < count; i++)
		report_entry_clear(&entries[i]);
	free(entries);
}

void reporter_rows_free(struct reporter_row *rows, size_t count)
{
	for (size_t i = 0; rows != NULL && i < count; i++) {
		free(rows[i].organization_name);
		free(rows[i].domain);
	}
	free(rows);
}

void first_seen_rows_free(struct first_seen_row *rows, size_t count)
{
	for (size_t i = 0; rows != NULL && i < count; i++) {
		free(rows[i].domain);
		free(rows[i].key);
	}
	free(rows);
}

static void failure_row_clear(struct failure_row *r)
{
	free(r->organization_name);
	free(r->domain);
	free(r->result_type);
	free(r->sending_mta_ip);
	free(r->receiving_mx_hostname);
	free(r->receiving_ip);
	free(r->additional_information);
	free(r->failure_reason_code);
}

void failure_rows_free(struct failure_row *rows, size_t count)
{
	for (size_t i = 0; rows != NULL && i < count; i++)
		failure_row_clear(&rows[i]);
	free(rows);
}

/* Parameters */

static struct rs_value text_param(const char *s)
{
	if (s == NULL)
		return (struct rs_value){ .type = RS_NULL };
	return (struct rs_value){ .type = RS_TEXT, .s = s, .len = strlen(s) };
}

static struct rs_value int_param(int64_t i)
{
	return (struct rs_value){ .type = RS_INT, .i = i };
}

/* Adding a report */

#define SQL_FIND "SELECT id FROM report WHERE organization_name = ?1 AND report_id = ?2"

static const char sql_add_report[] =
	"INSERT INTO report (organization_name, report_id, contact_info, range_start, range_end, "
	"day, received_at, source, origin, dkim, dkim_domain, successes, failures, sha256, raw) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
	"ON CONFLICT (organization_name, report_id) DO NOTHING RETURNING id";
static const char sql_add_policy[] =
	"INSERT INTO report_policy (report, organization_name, day, range_start, range_end, "
	"policy_type, policy_domain, policy_strings, mx_hosts, successes, failures) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id";
static const char sql_add_failure[] =
	"INSERT INTO report_failure (policy, report, organization_name, policy_domain, day, "
	"range_start, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, "
	"receiving_ip, failed_session_count, additional_information, failure_reason_code) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

/* What a report must be to be stored: its strings present, its counts in range. */
static bool report_storable(const struct tlsrpt_report *r, char *why, size_t why_size)
{
	if (r->organization_name == NULL || r->report_id == NULL) {
		say(why, why_size, "the report has no organization-name or report-id");
		return false;
	}
	for (size_t i = 0; i < r->policy_count; i++) {
		const struct tlsrpt_policy *p = &r->policies[i];
		if (p->policy_type == NULL || p->total_successful > INT64_MAX ||
		    p->total_failure > INT64_MAX) {
			say(why, why_size, "policies[%zu]: no policy-type, or a count past 2^63", i);
			return false;
		}
		for (size_t j = 0; j < p->failure_count; j++)
			if (p->failures[j].result_type == NULL ||
			    p->failures[j].failed_session_count > INT64_MAX) {
				say(why, why_size, "policies[%zu].failure-details[%zu]: no result-type, "
				    "or a count past 2^63", i, j);
				return false;
			}
	}
	return true;
}

struct report_sums {
	uint64_t successes, failures;
};

static bool sums_of(const struct tlsrpt_report *r, struct report_sums *ret)
{
	uint64_t s = 0, f = 0;

	for (size_t i = 0; i < r->policy_count; i++) {
		s += r->policies[i].total_successful;
		f += r->policies[i].total_failure;
		if (s > INT64_MAX || f > INT64_MAX)
			return false;
	}
	ret->successes = s;
	ret->failures = f;
	return true;
}

static int add_policy(struct report_store *store, int64_t report_id, const struct tlsrpt_report *r,
		      const struct tlsrpt_policy *p, const char *day)
{
	char *strings = strings_json(p->policy_strings, p->policy_string_count);
	char *mx = strings_json(p->mx_hosts, p->mx_host_count);
	int64_t policy_id = 0;
	int rc = RS_NOMEM;

	if (strings == NULL || mx == NULL)
		goto out;
	struct rs_value params[] = {
		int_param(report_id), text_param(r->organization_name), text_param(day),
		int_param(r->start), int_param(r->end), text_param(p->policy_type),
		text_param(p->policy_domain != NULL ? p->policy_domain : ""),
		text_param(strings), text_param(mx),
		int_param((int64_t)p->total_successful), int_param((int64_t)p->total_failure),
	};
	rc = store->ops->query(store, "storing a policy", sql_add_policy, params,
			       sizeof(params) / sizeof(params[0]), one_int, &policy_id, NULL);
	for (size_t j = 0; rc == RS_OK && j < p->failure_count; j++) {
		const struct tlsrpt_failure *f = &p->failures[j];
		struct rs_value fp[] = {
			int_param(policy_id), int_param(report_id), text_param(r->organization_name),
			text_param(p->policy_domain != NULL ? p->policy_domain : ""), text_param(day),
			int_param(r->start), text_param(f->result_type), text_param(f->sending_mta_ip),
			text_param(f->receiving_mx_hostname), text_param(f->receiving_mx_helo),
			text_param(f->receiving_ip), int_param((int64_t)f->failed_session_count),
			text_param(f->additional_information), text_param(f->failure_reason_code),
		};
		rc = store->ops->query(store, "storing a failure detail", sql_add_failure, fp,
				       sizeof(fp) / sizeof(fp[0]), NULL, NULL, NULL);
	}
out:
	free(strings);
	free(mx);
	return rc;
}

/* In the open transaction: the report's row, or the earlier one's id (returns 1). */
static int add_rows(struct report_store *store, const struct tlsrpt_report *r,
		    const struct report_meta *meta, int64_t *ret_id)
{
	unsigned char *gz = NULL;
	size_t gz_len = 0;
	char day[16], sha[65];
	struct report_sums sums;
	int64_t id = -1;
	int rc;

	day_text(r->start, day);
	if (!sums_of(r, &sums) || sha256_hex(meta->raw, meta->raw_len, sha) != 0 ||
	    (rc = gzip_data(meta->raw, meta->raw_len, &gz, &gz_len)) != RS_OK) {
		rs_error(store, "compressing the report or summing its counts failed");
		return RS_FAILED;
	}
	struct rs_value params[] = {
		text_param(r->organization_name), text_param(r->report_id), text_param(r->contact_info),
		int_param(r->start), int_param(r->end), text_param(day), int_param(meta->received_at),
		text_param(meta->source != NULL ? meta->source : "file"), text_param(meta->origin),
		text_param(dkim_text(meta->dkim)), text_param(meta->dkim_domain),
		int_param((int64_t)sums.successes), int_param((int64_t)sums.failures), text_param(sha),
		{ .type = RS_BLOB, .s = (const char *)gz, .len = gz_len },
	};
	rc = store->ops->query(store, "storing the report", sql_add_report, params,
			       sizeof(params) / sizeof(params[0]), one_int, &id, NULL);
	free(gz);
	if (rc != RS_OK)
		return rc;
	if (id < 0) {
		rc = store->ops->query(store, "finding the earlier report", SQL_FIND, params, 2,
				       one_int, &id, NULL);
		if (rc == RS_OK && id < 0) {
			rs_error(store, "the report was neither stored nor found");
			rc = RS_FAILED;
		}
		if (rc == RS_OK) {
			*ret_id = id;
			return 1;
		}
		return rc;
	}
	for (size_t i = 0; rc == RS_OK && i < r->policy_count; i++)
		rc = add_policy(store, id, r, &r->policies[i], day);
	if (rc == RS_OK)
		*ret_id = id;
	return rc;
}

static void rollback(struct report_store *store)
{
	char saved[sizeof(store->error)];

	memcpy(saved, store->error, sizeof(saved));
	store->ops->query(store, "rolling back", "ROLLBACK", NULL, 0, NULL, NULL, NULL);
	memcpy(store->error, saved, sizeof(saved));
}

enum store_status report_store_add(struct report_store *store, const struct tlsrpt_report *report,
				   const struct report_meta *meta, int64_t *ret_id,
				   char *why, size_t why_size)
{
	int64_t id = -1;
	int rc;

	if (report == NULL || meta == NULL || (meta->raw == NULL && meta->raw_len > 0)) {
		say(why, why_size, "no report to store");
		return STORE_FAILED;
	}
	if (!report_storable(report, why, why_size))
		return STORE_FAILED;
	rc = store->ops->query(store, "starting a transaction", store->ops->begin_sql, NULL, 0,
			       NULL, NULL, NULL);
	if (rc != RS_OK)
		return status_of(store, rc, why, why_size);
	rc = add_rows(store, report, meta, &id);
	if (rc == 1) {
		rollback(store);
		*ret_id = id;
		return STORE_DUPLICATE;
	}
	if (rc == RS_OK)
		rc = store->ops->query(store, "committing the report", "COMMIT", NULL, 0, NULL, NULL,
				       NULL);
	if (rc != RS_OK) {
		rollback(store);
		return status_of(store, rc, why, why_size);
	}
	*ret_id = id;
	return STORE_ADDED;
}

int report_store_prune(struct report_store *store, int64_t before, uint64_t *ret_removed,
		       char *why, size_t why_size)
{
	struct rs_value params[] = { int_param(before) };
	uint64_t removed = 0;
	int rc = store->ops->query(store, "removing old reports",
				   "DELETE FROM report WHERE range_end < ?1", params, 1, NULL, NULL,
				   &removed);

	if (rc != RS_OK) {
		status_of(store, rc, why, why_size);
		return -1;
	}
	if (ret_removed != NULL)
		*ret_removed = removed;
	return 0;
}

/* Filters: ?1 domain, ?2 reporter, ?3 since, ?4 until, always bound. */

enum filter_on { ON_REPORT, ON_POLICY, ON_FAILURE };

#define FILTER_PARAMS 4

static void filter_params(const struct report_filter *f, struct rs_value params[FILTER_PARAMS])
{
	params[0] = text_param(f->domain);
	params[1] = text_param(f->reporter);
	params[2] = f->since != 0 ? int_param(f->since) : (struct rs_value){ .type = RS_NULL_INT };
	params[3] = f->until != 0 ? int_param(f->until) : (struct rs_value){ .type = RS_NULL_INT };
}

/* " WHERE ..." for the filter (dates only when with_since). */
static void filter_where(char *out, size_t size, const struct report_filter *f, enum filter_on on,
			 bool with_since)
{
	size_t used = (size_t)snprintf(out, size, " WHERE 1 = 1");

	if (f->domain != NULL && on == ON_REPORT)
		used += (size_t)snprintf(out + used, size - used, " AND id IN (SELECT report FROM "
					 "report_policy WHERE policy_domain = ?1)");
	else if (f->domain != NULL)
		used += (size_t)snprintf(out + used, size - used, " AND policy_domain = ?1");
	if (f->reporter != NULL)
		used += (size_t)snprintf(out + used, size - used, " AND organization_name = ?2");
	if (f->since != 0 && with_since)
		used += (size_t)snprintf(out + used, size - used, " AND range_start >= ?3");
	if (f->until != 0)
		snprintf(out + used, size - used, " AND range_start < ?4");
}

/* Summary */

struct row_list {
	void *items;
	size_t count, cap;
};

static int summary_row(const struct rs_value *c, size_t n, void *arg)
{
	struct row_list *list = arg;
	int rc;

	if (n != 6 || (rc = grow(&list->items, list->count, &list->cap, sizeof(struct summary_row))) != RS_OK)
		return n != 6 ? RS_FAILED : rc;
	struct summary_row *row = (struct summary_row *)list->items + list->count;
	if ((rc = text_dup(&c[0], &row->key)) != RS_OK || (rc = text_dup(&c[1], &row->key2)) != RS_OK) {
		summary_row_clear(row);
		return rc;
	}
	if (row->key == NULL && (row->key = strdup("")) == NULL)
		return RS_NOMEM;
	row->reports = count_of(&c[2]);
	row->successes = count_of(&c[3]);
	row->failures = count_of(&c[4]);
	row->sessions = row->successes + row->failures;
	row->successes_known = int_of(&c[5]) != 0;
	list->count++;
	return RS_OK;
}

static int total_row(const struct rs_value *c, size_t n, void *arg)
{
	struct summary_row *row = arg;

	if (n != 3)
		return RS_FAILED;
	row->reports = count_of(&c[0]);
	row->successes = count_of(&c[1]);
	row->failures = count_of(&c[2]);
	row->sessions = row->successes + row->failures;
	row->successes_known = true;
	return RS_OK;
}

static int cmp_text(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int summary_cmp(const void *a, const void *b)
{
	const struct summary_row *x = a, *y = b;
	int c = cmp_text(x->key, y->key);

	return c != 0 ? c : cmp_text(x->key2, y->key2);
}

/* The group's SELECT list head and its table: key, key2, reports, successes, failures, known. */
static bool group_sql(enum report_group group, const char **ret_keys, enum filter_on *ret_on)
{
	static const struct { const char *keys; enum filter_on on; } groups[] = {
		[GROUP_DAY] = { "day, NULL", ON_POLICY },
		[GROUP_REPORTER] = { "organization_name, NULL", ON_POLICY },
		[GROUP_DOMAIN] = { "policy_domain, NULL", ON_POLICY },
		[GROUP_MX] = { "coalesce(receiving_mx_hostname, ''), NULL", ON_FAILURE },
		[GROUP_RESULT_TYPE] = { "result_type, NULL", ON_FAILURE },
		[GROUP_DOMAIN_DAY] = { "policy_domain, day", ON_POLICY },
		[GROUP_DOMAIN_RESULT_TYPE] = { "policy_domain, result_type", ON_FAILURE },
		[GROUP_DOMAIN_MX] = { "policy_domain, coalesce(receiving_mx_hostname, '')", ON_FAILURE },
	};

	if (group <= GROUP_NONE || (size_t)group >= sizeof(groups) / sizeof(groups[0]))
		return false;
	*ret_keys = groups[group].keys;
	*ret_on = groups[group].on;
	return true;
}

int report_store_summary(struct report_store *store, const struct report_filter *filter,
			 enum report_group group, struct summary_row **ret_rows, size_t *ret_count,
			 struct summary_row *ret_total, char *why, size_t why_size)
{
	static const struct report_filter everything;
	struct rs_value params[FILTER_PARAMS];
	struct row_list list = { 0 };
	struct summary_row total = { 0 };
	char where[320], sql[1024];
	const char *keys = NULL;
	enum filter_on on = ON_POLICY;
	int rc = RS_OK;

	if (filter == NULL)
		filter = &everything;
	if (group != GROUP_NONE && !group_sql(group, &keys, &on)) {
		say(why, why_size, "not a summary group: %d", (int)group);
		return -1;
	}
	filter_params(filter, params);
	filter_where(where, sizeof(where), filter, ON_POLICY, true);
	snprintf(sql, sizeof(sql), "SELECT count(DISTINCT report), CAST(coalesce(sum(successes), 0) "
		 "AS bigint), CAST(coalesce(sum(failures), 0) AS bigint) FROM report_policy%s", where);
	rc = store->ops->query(store, "summing the reports", sql, params, FILTER_PARAMS, total_row,
			       &total, NULL);
	if (rc == RS_OK && keys != NULL) {
		filter_where(where, sizeof(where), filter, on, true);
		if (on == ON_POLICY)
			snprintf(sql, sizeof(sql), "SELECT %s, count(DISTINCT report), CAST(sum(successes) "
				 "AS bigint), CAST(sum(failures) AS bigint), 1 FROM report_policy%s "
				 "GROUP BY 1, 2", keys, where);
		else
			snprintf(sql, sizeof(sql), "SELECT %s, count(DISTINCT report), 0, "
				 "CAST(sum(failed_session_count) AS bigint), 0 FROM report_failure%s "
				 "GROUP BY 1, 2", keys, where);
		rc = store->ops->query(store, "summing the reports by group", sql, params,
				       FILTER_PARAMS, summary_row, &list, NULL);
	}
	if (rc != RS_OK) {
		summary_rows_free(list.items, list.count);
		status_of(store, rc, why, why_size);
		return -1;
	}
	if (list.count > 1)
		qsort(list.items, list.count, sizeof(struct summary_row), summary_cmp);
	if (ret_rows != NULL)
		*ret_rows = list.items;
	else
		summary_rows_free(list.items, list.count);
	if (ret_count != NULL)
		*ret_count = list.count;
	if (ret_total != NULL)
		*ret_total = total;
	return 0;
}

/* Listing and getting */

#define ENTRY_COLUMNS "id, organization_name, report_id, range_start, range_end, received_at, " \
	"source, dkim, dkim_domain, successes, failures, sha256"
#define ENTRY_COUNT 12

static int entry_row(const struct rs_value *c, size_t n, void *arg)
{
	struct row_list *list = arg;
	int rc;

	if (n < ENTRY_COUNT)
		return RS_FAILED;
	if ((rc = grow(&list->items, list->count, &list->cap, sizeof(struct report_entry))) != RS_OK)
		return rc;
	struct report_entry *e = (struct report_entry *)list->items + list->count;
	e->id = int_of(&c[0]);
	if ((rc = text_dup(&c[1], &e->organization_name)) != RS_OK ||
	    (rc = text_dup(&c[2], &e->report_id)) != RS_OK ||
	    (rc = text_dup(&c[6], &e->source)) != RS_OK ||
	    (rc = text_dup(&c[8], &e->dkim_domain)) != RS_OK) {
		report_entry_clear(e);
		return rc;
	}
	e->start = int_of(&c[3]);
	e->end = int_of(&c[4]);
	e->received_at = int_of(&c[5]);
	e->dkim = dkim_from(&c[7]);
	e->successes = count_of(&c[9]);
	e->failures = count_of(&c[10]);
	if (c[11].type == RS_TEXT && c[11].len == 64) {
		memcpy(e->sha256, c[11].s, 64);
		e->sha256[64] = '\0';
	}
	list->count++;
	return RS_OK;
}

static int domain_row(const struct rs_value *c, size_t n, void *arg)
{
	struct row_list *list = arg;
	int rc;

	if (n != 1)
		return RS_FAILED;
	if ((rc = grow(&list->items, list->count, &list->cap, sizeof(char *))) != RS_OK)
		return rc;
	char **slot = (char **)list->items + list->count;
	if ((rc = text_dup(&c[0], slot)) != RS_OK)
		return rc;
	if (*slot == NULL && (*slot = strdup("")) == NULL)
		return RS_NOMEM;
	list->count++;
	return RS_OK;
}

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entry's policy-domains, sorted, "," between. */
static int entry_domains(struct report_store *store, struct report_entry *e)
{
	struct rs_value params[] = { int_param(e->id) };
	struct row_list list = { 0 };
	size_t len = 1;
	int rc = store->ops->query(store, "reading a report's domains",
				   "SELECT DISTINCT policy_domain FROM report_policy WHERE report = ?1",
				   params, 1, domain_row, &list, NULL);
	char **domains = list.items;

	if (rc == RS_OK) {
		if (list.count > 1)
			qsort(domains, list.count, sizeof(char *), cmp_strings);
		for (size_t i = 0; i < list.count; i++)
			len += strlen(domains[i]) + 1;
		if ((e->domains = malloc(len)) == NULL)
			rc = RS_NOMEM;
	}
	if (rc == RS_OK) {
		e->domains[0] = '\0';
		for (size_t i = 0; i < list.count; i++) {
			if (i > 0)
				strcat(e->domains, ",");
			strcat(e->domains, domains[i]);
		}
	}
	for (size_t i = 0; i < list.count; i++)
		free(domains[i]);
	free(domains);
	return rc;
}

int report_store_list(struct report_store *store, const struct report_filter *filter, size_t limit,
		      struct report_entry **ret_entries, size_t *ret_count, char *why, size_t why_size)
{
	static const struct report_filter everything;
	struct rs_value params[FILTER_PARAMS + 1];
	struct row_list list = { 0 };
	char where[320], sql[1024];
	int rc;

	if (filter == NULL)
		filter = &everything;
	filter_params(filter, params);
	params[FILTER_PARAMS] = int_param(limit == 0 || limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	filter_where(where, sizeof(where), filter, ON_REPORT, true);
	snprintf(sql, sizeof(sql), "SELECT " ENTRY_COLUMNS " FROM report%s "
		 "ORDER BY range_start DESC, id DESC LIMIT ?5", where);
	rc = store->ops->query(store, "listing reports", sql, params, FILTER_PARAMS + 1, entry_row,
			       &list, NULL);
	for (size_t i = 0; rc == RS_OK && i < list.count; i++)
		rc = entry_domains(store, (struct report_entry *)list.items + i);
	if (rc != RS_OK) {
		report_entries_free(list.items, list.count);
		status_of(store, rc, why, why_size);
		return -1;
	}
	*ret_entries = list.items;
	*ret_count = list.count;
	return 0;
}

/* Reading a report back from its rows */

struct rebuild {
	struct tlsrpt_report *report;
	int64_t *policy_ids;		/* policy_count of them */
	size_t policy_cap;
	char *raw;
	size_t raw_len;
};

static int report_head_row(const struct rs_value *c, size_t n, void *arg)
{
	struct rebuild *b = arg;
	int rc;

	if (n != 6 || c[5].type != RS_BLOB)
		return RS_FAILED;
	if ((rc = text_dup(&c[0], &b->report->organization_name)) != RS_OK ||
	    (rc = text_dup(&c[1], &b->report->report_id)) != RS_OK ||
	    (rc = text_dup(&c[2], &b->report->contact_info)) != RS_OK)
		return rc;
	b->report->start = int_of(&c[3]);
	b->report->end = int_of(&c[4]);
	return gunzip_data(c[5].s, c[5].len, &b->raw, &b->raw_len);
}

static int policy_row(const struct rs_value *c, size_t n, void *arg)
{
	struct rebuild *b = arg;
	struct tlsrpt_report *r = b->report;
	size_t cap = b->policy_cap;
	int rc;

	if (n != 7)
		return RS_FAILED;
	if ((rc = grow((void **)&r->policies, r->policy_count, &b->policy_cap,
		       sizeof(*r->policies))) != RS_OK ||
	    (rc = grow((void **)&b->policy_ids, r->policy_count, &cap, sizeof(int64_t))) != RS_OK)
		return rc;
	struct tlsrpt_policy *p = &r->policies[r->policy_count];
	b->policy_ids[r->policy_count] = int_of(&c[0]);
	r->policy_count++;		/* from here on report_release() frees what it holds */
	if ((rc = text_dup(&c[1], &p->policy_type)) != RS_OK ||
	    (rc = text_dup(&c[2], &p->policy_domain)) != RS_OK ||
	    (rc = strings_from_json(&c[3], &p->policy_strings, &p->policy_string_count)) != RS_OK ||
	    (rc = strings_from_json(&c[4], &p->mx_hosts, &p->mx_host_count)) != RS_OK)
		return rc;
	p->total_successful = count_of(&c[5]);
	p->total_failure = count_of(&c[6]);
	return RS_OK;
}

struct failure_fill {
	struct tlsrpt_policy *policy;
	size_t cap;
};

static int failure_detail_row(const struct rs_value *c, size_t n, void *arg)
{
	struct failure_fill *fill = arg;
	struct tlsrpt_policy *p = fill->policy;
	int rc;

	if (n != 8)
		return RS_FAILED;
	if ((rc = grow((void **)&p->failures, p->failure_count, &fill->cap, sizeof(*p->failures))) != RS_OK)
		return rc;
	struct tlsrpt_failure *f = &p->failures[p->failure_count++];
	if ((rc = text_dup(&c[0], &f->result_type)) != RS_OK ||
	    (rc = text_dup(&c[1], &f->sending_mta_ip)) != RS_OK ||
	    (rc = text_dup(&c[2], &f->receiving_mx_hostname)) != RS_OK ||
	    (rc = text_dup(&c[3], &f->receiving_mx_helo)) != RS_OK ||
	    (rc = text_dup(&c[4], &f->receiving_ip)) != RS_OK ||
	    (rc = text_dup(&c[6], &f->additional_information)) != RS_OK ||
	    (rc = text_dup(&c[7], &f->failure_reason_code)) != RS_OK)
		return rc;
	f->failed_session_count = count_of(&c[5]);
	return RS_OK;
}

static int rebuild_report(struct report_store *store, int64_t id, struct rebuild *b)
{
	struct rs_value params[] = { int_param(id) };
	int rc;

	if ((b->report = calloc(1, sizeof(*b->report))) == NULL)
		return RS_NOMEM;
	rc = store->ops->query(store, "reading a report", "SELECT organization_name, report_id, "
			       "contact_info, range_start, range_end, raw FROM report WHERE id = ?1",
			       params, 1, report_head_row, b, NULL);
	if (rc == RS_OK)
		rc = store->ops->query(store, "reading a report's policies", "SELECT id, policy_type, "
				       "policy_domain, policy_strings, mx_hosts, successes, failures "
				       "FROM report_policy WHERE report = ?1 ORDER BY id",
				       params, 1, policy_row, b, NULL);
	for (size_t i = 0; rc == RS_OK && i < b->report->policy_count; i++) {
		struct rs_value policy[] = { int_param(b->policy_ids[i]) };
		struct failure_fill fill = { .policy = &b->report->policies[i] };
		rc = store->ops->query(store, "reading a policy's failure details",
				       "SELECT result_type, sending_mta_ip, receiving_mx_hostname, "
				       "receiving_mx_helo, receiving_ip, failed_session_count, "
				       "additional_information, failure_reason_code FROM report_failure "
				       "WHERE policy = ?1 ORDER BY id", policy, 1, failure_detail_row,
				       &fill, NULL);
	}
	return rc;
}

int report_store_get(struct report_store *store, int64_t id, struct report_entry *ret_entry,
		     struct tlsrpt_report **ret_report, char **ret_raw, size_t *ret_raw_len,
		     char *why, size_t why_size)
{
	struct rs_value params[] = { int_param(id) };
	struct row_list list = { 0 };
	struct rebuild b = { 0 };
	int rc = store->ops->query(store, "reading a report",
				   "SELECT " ENTRY_COLUMNS " FROM report WHERE id = ?1", params, 1,
				   entry_row, &list, NULL);
	int result = -1;

	if (rc == RS_OK && list.count == 0) {
		result = 1;
		goto out;
	}
	if (rc == RS_OK)
		rc = entry_domains(store, list.items);
	if (rc == RS_OK && (ret_report != NULL || ret_raw != NULL))
		rc = rebuild_report(store, id, &b);
	if (rc != RS_OK) {
		status_of(store, rc, why, why_size);
		goto out;
	}
	if (ret_entry != NULL) {
		*ret_entry = *(struct report_entry *)list.items;
		list.count = 0;
	}
	if (ret_report != NULL) {
		*ret_report = b.report;
		b.report = NULL;
	}
	if (ret_raw != NULL) {
		*ret_raw = b.raw;
		b.raw = NULL;
		if (ret_raw_len != NULL)
			*ret_raw_len = b.raw_len;
	}
	result = 0;
out:
	report_entries_free(list.items, list.count);
	report_release(b.report);
	free(b.policy_ids);
	free(b.raw);
	return result;
}

/* Reporters, first seen, failures */

static int reporter_row(const struct rs_value *c, size_t n, void *arg)
{
	struct row_list *list = arg;
	int rc;

	if (n != 5)
		return RS_FAILED;
	if ((rc = grow(&list->items, list->count, &list->cap, sizeof(struct reporter_row))) != RS_OK)
		return rc;
	struct reporter_row *r = (struct reporter_row *)list->items + list->count;
	if ((rc = text_dup(&c[0], &r->organization_name)) != RS_OK ||
	    (rc = text_dup(&c[1], &r->domain)) != RS_OK) {
		free(r->organization_name);
		free(r->domain);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	r->reports = count_of(&c[2]);
	r->first_start = int_of(&c[3]);
	r->last_end = int_of(&c[4]);
	list->count++;
	return RS_OK;
}

static int reporter_cmp(const void *a, const void *b)
{
	const struct reporter_row *x = a, *y = b;
	int c = cmp_text(x->organization_name, y->organization_name);

	return c != 0 ? c : cmp_text(x->domain, y->domain);
}

int report_store_reporters(struct report_store *store, const struct report_filter *filter,
			   struct reporter_row **ret_rows, size_t *ret_count, char *why, size_t why_size)
{
	static const struct report_filter everything;
	struct rs_value params[FILTER_PARAMS];
	struct row_list list = { 0 };
	char where[320], sql[1024];
	int rc;

	if (filter == NULL)
		filter = &everything;
	filter_params(filter, params);
	filter_where(where, sizeof(where), filter, ON_POLICY, true);
	snprintf(sql, sizeof(sql), "SELECT organization_name, policy_domain, count(DISTINCT report), "
		 "min(range_start), max(range_end) FROM report_policy%s GROUP BY 1, 2", where);
	rc = store->ops->query(store, "listing reporters", sql, params, FILTER_PARAMS, reporter_row,
			       &list, NULL);
	if (rc != RS_OK) {
		reporter_rows_free(list.items, list.count);
		status_of(store, rc, why, why_size);
		return -1;
	}
	if (list.count > 1)
		qsort(list.items, list.count, sizeof(struct reporter_row), reporter_cmp);
	*ret_rows = list.items;
	*ret_count = list.count;
	return 0;
}

static int first_seen_row(const struct rs_value *c, size_t n, void *arg)
{
	struct row_list *list = arg;
	int rc;

	if (n != 5)
		return RS_FAILED;
	if ((rc = grow(&list->items, list->count, &list->cap, sizeof(struct first_seen_row))) != RS_OK)
		return rc;
	struct first_seen_row *r = (struct first_seen_row *)list->items + list->count;
	if ((rc = text_dup(&c[0], &r->domain)) != RS_OK || (rc = text_dup(&c[1], &r->key)) != RS_OK) {
		free(r->domain);
		free(r->key);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	r->first_start = int_of(&c[2]);
	r->last_start = int_of(&c[3]);
	r->failures = count_of(&c[4]);
	list->count++;
	return RS_OK;
}

static int first_seen_cmp(const void *a, const void *b)
{
	const struct first_seen_row *x = a, *y = b;
	int c = cmp_text(x->domain, y->domain);

	return c != 0 ? c : cmp_text(x->key, y->key);
}

int report_store_first_seen(struct report_store *store, const struct report_filter *filter,
			    enum report_group group, struct first_seen_row **ret_rows, size_t *ret_count,
			    char *why, size_t why_size)
{
	static const struct report_filter everything;
	struct rs_value params[FILTER_PARAMS];
	struct row_list list = { 0 };
	char where[320], sql[1024];
	const char *key;
	int rc;

	if (group == GROUP_DOMAIN_RESULT_TYPE)
		key = "result_type";
	else if (group == GROUP_DOMAIN_MX)
		key = "coalesce(receiving_mx_hostname, '')";
	else {
		say(why, why_size, "first seen is by domain and result type or MX host, not group %d",
		    (int)group);
		return -1;
	}
	if (filter == NULL)
		filter = &everything;
	filter_params(filter, params);
	filter_where(where, sizeof(where), filter, ON_FAILURE, false);
	snprintf(sql, sizeof(sql), "SELECT policy_domain, %s, min(range_start), max(range_start), "
		 "CAST(sum(failed_session_count) AS bigint) FROM report_failure%s GROUP BY 1, 2",
		 key, where);
	rc = store->ops->query(store, "finding first failures", sql, params, FILTER_PARAMS,
			       first_seen_row, &list, NULL);
	if (rc != RS_OK) {
		first_seen_rows_free(list.items, list.count);
		status_of(store, rc, why, why_size);
		return -1;
	}
	if (list.count > 1)
		qsort(list.items, list.count, sizeof(struct first_seen_row), first_seen_cmp);
	*ret_rows = list.items;
	*ret_count = list.count;
	return 0;
}

static int failure_list_row(const struct rs_value *c, size_t n, void *arg)
{
	struct row_list *list = arg;
	int rc;

	if (n != 11)
		return RS_FAILED;
	if ((rc = grow(&list->items, list->count, &list->cap, sizeof(struct failure_row))) != RS_OK)
		return rc;
	struct failure_row *r = (struct failure_row *)list->items + list->count;
	r->report = int_of(&c[0]);
	r->start = int_of(&c[3]);
	r->failed_session_count = count_of(&c[8]);
	if ((rc = text_dup(&c[1], &r->organization_name)) != RS_OK ||
	    (rc = text_dup(&c[2], &r->domain)) != RS_OK ||
	    (rc = text_dup(&c[4], &r->result_type)) != RS_OK ||
	    (rc = text_dup(&c[5], &r->sending_mta_ip)) != RS_OK ||
	    (rc = text_dup(&c[6], &r->receiving_mx_hostname)) != RS_OK ||
	    (rc = text_dup(&c[7], &r->receiving_ip)) != RS_OK ||
	    (rc = text_dup(&c[9], &r->additional_information)) != RS_OK ||
	    (rc = text_dup(&c[10], &r->failure_reason_code)) != RS_OK) {
		failure_row_clear(r);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	list->count++;
	return RS_OK;
}

int report_store_failures(struct report_store *store, const struct report_filter *filter, size_t limit,
			  struct failure_row **ret_rows, size_t *ret_count, char *why, size_t why_size)
{
	static const struct report_filter everything;
	struct rs_value params[FILTER_PARAMS + 1];
	struct row_list list = { 0 };
	char where[320], sql[1024];
	int rc;

	if (filter == NULL)
		filter = &everything;
	filter_params(filter, params);
	params[FILTER_PARAMS] = int_param(limit == 0 || limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	filter_where(where, sizeof(where), filter, ON_FAILURE, true);
	snprintf(sql, sizeof(sql), "SELECT report, organization_name, policy_domain, range_start, "
		 "result_type, sending_mta_ip, receiving_mx_hostname, receiving_ip, "
		 "failed_session_count, additional_information, failure_reason_code "
		 "FROM report_failure%s ORDER BY range_start DESC, id DESC LIMIT ?5", where);
	rc = store->ops->query(store, "listing failure details", sql, params, FILTER_PARAMS + 1,
			       failure_list_row, &list, NULL);
	if (rc != RS_OK) {
		failure_rows_free(list.items, list.count);
		status_of(store, rc, why, why_size);
		return -1;
	}
	*ret_rows = list.items;
	*ret_count = list.count;
	return 0;
}
