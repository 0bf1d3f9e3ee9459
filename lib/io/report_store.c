/*
 * report_store.c - the report store's interface over its backends: the
 * location read, a report stored in one transaction and pruned, and the
 * helpers the backends and report_store_query.c share (gzip of the JSON
 * text, its SHA-256, the UTC day, values read back, freeing rows).
 *
 * Tables (the same in both backends; see report_store_sqlite.c and
 * report_store_postgres.c for the DDL):
 *   report          one row a report: its fields, how it came, the JSON
 *                   text gzip-compressed (the gzip member it came in, when
 *                   it came as one) and the text's SHA-256
 *   report_policy   one row a policy, with the report's day, start, end and
 *                   organization copied in so the summaries read one index
 *   report_failure  one row a failure detail, with the policy's domain and
 *                   the report's day, start and organization copied in
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
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
/*
 * zlib level of the stored JSON texts.  Reports are small (700 octets
 * typical): level 1 makes them 2 % larger than level 6 and saves no time
 * that can be measured beside the rest of a report's storing
 * (docs/PERFORMANCE.md).
 */
#define RAW_GZIP_LEVEL 6

void rs_error(struct report_store *store, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store->error, sizeof(store->error), fmt, ap);
	va_end(ap);
}

void rs_say(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
}

/* Opening and closing */

struct report_store *report_store_open(const char *location,
				       const struct report_store_options *options,
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
		rs_say(why, why_size, "the report store's location is empty or longer than %d octets",
		    LOCATION_MAX);
		errno = EINVAL;
		return NULL;
	}
	if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
		rc = report_store_postgres_open(location, &opts, &store, why, why_size);
	else if (strncmp(location, "sqlite:", 7) == 0 && location[7] != '\0')
		rc = report_store_sqlite_open(location + 7, &opts, &store, why, why_size);
	else if (strncmp(location, "sqlite:", 7) == 0 || strstr(location, "://") != NULL) {
		rs_say(why, why_size, "%.200s: not a report store location (postgresql://..., "
		    "sqlite:PATH or a path)", location);
		errno = EINVAL;
		return NULL;
	} else
		rc = report_store_sqlite_open(location, &opts, &store, why, why_size);
	return rc == 0 ? store : NULL;
}

struct report_store *report_store_close(struct report_store *store)
{
	if (store != NULL) {
		report_store_batch_abort(store);
		if (store->deflater != NULL)
			deflateEnd(store->deflater);
		free(store->deflater);
		free(store->gz);
		EVP_MD_free(store->sha256);
		store->ops->free(store);
	}
	return NULL;
}

const char *report_store_backend(const struct report_store *store)
{
	return store->ops->name;
}

/* The result of a query as a store status, with the reason in why. */
enum store_status rs_status(struct report_store *store, int rc, char *why, size_t why_size)
{
	if (rc == RS_OK)
		return STORE_ADDED;
	if (rc == RS_NOMEM)
		rs_say(why, why_size, "out of memory");
	else
		rs_say(why, why_size, "%s", store->error);
	/*
	 * A statement that fails is the store's fault, never the report's
	 * (report_storable() judged the report before): permissions, a
	 * read-only standby, a damaged file, out of memory.  Retrying later
	 * loses nothing; refusing would make the sender drop a valid report.
	 */
	return STORE_UNAVAILABLE;
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
	rs_status(store, rc == RS_OK ? RS_FAILED : rc, why, why_size);
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

enum dkim_verdict rs_dkim_from(const struct rs_value *v)
{
	for (size_t i = 0; v->type == RS_TEXT && i < sizeof(dkim_names) / sizeof(dkim_names[0]); i++)
		if (strlen(dkim_names[i]) == v->len && memcmp(dkim_names[i], v->s, v->len) == 0)
			return (enum dkim_verdict)i;
	return DKIM_VERDICT_NONE;
}

/* "YYYY-MM-DD" of the UTC day of t. */
void rs_day_text(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "0000-00-00");
}

/* The SHA-256 of data, hex; the digest is fetched once a store. */
static int sha256_hex(struct report_store *store, const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;

	if (store->sha256 == NULL && (store->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return -1;
	if (!EVP_Digest(data, len, md, &md_len, store->sha256, NULL) || md_len != 32)
		return -1;
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < md_len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	return 0;
}

/*
 * data gzip-compressed into the store's buffer (valid until the next call).
 * One z_stream is kept and reset: a new one a report costs more than the
 * compression (its 256 KiB of tables allocated, zeroed and given back).
 */
static int gzip_data(struct report_store *store, const void *data, size_t len,
		     const unsigned char **ret_out, size_t *ret_len)
{
	z_stream *z = store->deflater;

	if (len > UINT_MAX / 2)
		return RS_FAILED;
	if (z == NULL) {
		if ((z = calloc(1, sizeof(*z))) == NULL)
			return RS_NOMEM;
		if (deflateInit2(z, RAW_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			free(z);
			return RS_NOMEM;
		}
		store->deflater = z;
	} else if (deflateReset(z) != Z_OK)
		return RS_FAILED;
	size_t bound = deflateBound(z, (uLong)len) + 32;
	if (bound > store->gz_cap) {
		unsigned char *bigger = realloc(store->gz, bound);
		if (bigger == NULL)
			return RS_NOMEM;
		store->gz = bigger;
		store->gz_cap = bound;
	}
	z->next_in = (unsigned char *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	z->next_out = store->gz;
	z->avail_out = (uInt)store->gz_cap;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return RS_FAILED;
	*ret_out = store->gz;
	*ret_len = z->total_out;
	return RS_OK;
}

/* A gzip member back to its text (NUL-terminated), at most RAW_MAX octets. */
int rs_gunzip(const void *data, size_t len, char **ret_out, size_t *ret_len)
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

/*
 * strings as a compact JSON array of strings, written directly (jansson's
 * tree and dump cost more than the rest of a policy's row).  The strings are
 * UTF-8 (read by jansson): only '"', '\\' and control characters are escaped.
 */
static char *strings_json(char *const *strings, size_t count)
{
	size_t size = 3;	/* [ ] NUL */
	char *text, *at;

	for (size_t i = 0; i < count; i++) {
		size_t len = strings[i] != NULL ? strlen(strings[i]) : 0;
		if (len > (SIZE_MAX - size) / 6 - 3)
			return NULL;
		size += len * 6 + 3;	/* at worst \u00XX each, quotes and a comma */
	}
	if ((text = malloc(size)) == NULL)
		return NULL;
	at = text;
	*at++ = '[';
	for (size_t i = 0; i < count; i++) {
		static const char hex[] = "0123456789abcdef";
		const unsigned char *c = (const unsigned char *)(strings[i] != NULL ? strings[i] : "");

		if (i > 0)
			*at++ = ',';
		*at++ = '"';
		for (; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\') {
				*at++ = '\\';
				*at++ = (char)*c;
			} else if (*c < 0x20) {
				memcpy(at, "\\u00", 4);
				at[4] = hex[*c >> 4];
				at[5] = hex[*c & 0xf];
				at += 6;
			} else
				*at++ = (char)*c;
		}
		*at++ = '"';
	}
	*at++ = ']';
	*at = '\0';
	return text;
}

/* A JSON array of strings back into a new array. */
int rs_strings_from_json(const struct rs_value *v, char ***ret_strings, size_t *ret_count)
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
int rs_text_dup(const struct rs_value *v, char **ret)
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

int64_t rs_int_of(const struct rs_value *v)
{
	return v->type == RS_INT ? v->i : 0;
}

uint64_t rs_count_of(const struct rs_value *v)
{
	return v->type == RS_INT && v->i > 0 ? (uint64_t)v->i : 0;
}

/* Room for one more item in a growing array. */
int rs_grow(void **items, size_t count, size_t *cap, size_t size)
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

/* Parameters */

struct rs_value rs_text_param(const char *s)
{
	if (s == NULL)
		return (struct rs_value){ .type = RS_NULL };
	return (struct rs_value){ .type = RS_TEXT, .s = s, .len = strlen(s) };
}

struct rs_value rs_int_param(int64_t i)
{
	return (struct rs_value){ .type = RS_INT, .i = i };
}

/* Adding a report */

#define SQL_FIND "SELECT id FROM report WHERE organization_name = ?1 AND report_id = ?2"

#define SQL_ADD_REPORT \
	"INSERT INTO report (organization_name, report_id, contact_info, range_start, range_end, " \
	"day, received_at, source, origin, dkim, dkim_domain, successes, failures, sha256, raw) " \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) " \
	"ON CONFLICT (organization_name, report_id) DO NOTHING"
#define SQL_ADD_POLICY \
	"INSERT INTO report_policy (report, organization_name, day, range_start, range_end, " \
	"policy_type, policy_domain, policy_strings, mx_hosts, successes, failures, " \
	"first_in_report, first_for_domain) " \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"

/* Each INSERT whose id is needed, without and with RETURNING (ops->last_id). */
static const char sql_add_report[] = SQL_ADD_REPORT;
static const char sql_add_report_returning[] = SQL_ADD_REPORT " RETURNING id";
static const char sql_add_policy[] = SQL_ADD_POLICY;
static const char sql_add_policy_returning[] = SQL_ADD_POLICY " RETURNING id";
static const char sql_add_failure[] =
	"INSERT INTO report_failure (policy, report, organization_name, policy_domain, day, "
	"range_start, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, "
	"receiving_ip, failed_session_count, additional_information, failure_reason_code) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

/* What a report must be to be stored: its strings present, its counts in range. */
/*
 * The longest text an indexed column takes.  PostgreSQL refuses an index
 * entry past about 2,700 octets, whatever the row: three such columns in
 * one index stay well below.  Names, types and ids of real reports are far
 * shorter (a domain name is at most 253 octets).
 */
#define INDEXED_TEXT_MAX 512

static bool indexed_text_fits(const char *text, const char *what, char *why, size_t why_size)
{
	if (text == NULL || strlen(text) <= INDEXED_TEXT_MAX)
		return true;
	rs_say(why, why_size, "%s is longer than the %d octets a store keeps", what, INDEXED_TEXT_MAX);
	return false;
}

static bool report_storable(const struct tlsrpt_report *r, char *why, size_t why_size)
{
	if (r->organization_name == NULL || r->report_id == NULL) {
		rs_say(why, why_size, "the report has no organization-name or report-id");
		return false;
	}
	if (!indexed_text_fits(r->organization_name, "organization-name", why, why_size) ||
	    !indexed_text_fits(r->report_id, "report-id", why, why_size))
		return false;

	uint64_t successes = 0, failures = 0;

	for (size_t i = 0; i < r->policy_count; i++) {
		const struct tlsrpt_policy *p = &r->policies[i];
		if (p->policy_type == NULL || p->total_successful > INT64_MAX ||
		    p->total_failure > INT64_MAX) {
			rs_say(why, why_size, "policies[%zu]: no policy-type, or a count past 2^63", i);
			return false;
		}
		if (!indexed_text_fits(p->policy_domain, "a policy-domain", why, why_size))
			return false;
		for (size_t j = 0; j < p->failure_count; j++) {
			const struct tlsrpt_failure *f = &p->failures[j];

			if (f->result_type == NULL || f->failed_session_count > INT64_MAX) {
				rs_say(why, why_size, "policies[%zu].failure-details[%zu]: no result-type, "
				    "or a count past 2^63", i, j);
				return false;
			}
			if (!indexed_text_fits(f->result_type, "a result-type", why, why_size) ||
			    !indexed_text_fits(f->receiving_mx_hostname, "a receiving-mx-hostname", why,
					       why_size))
				return false;
		}
		successes += p->total_successful;
		failures += p->total_failure;
		/* each term is at most 2^63 - 1, so the sum cannot wrap before this test */
		if (successes > INT64_MAX || failures > INT64_MAX) {
			rs_say(why, why_size, "the session counts of the policies add up past 2^63");
			return false;
		}
	}
	return true;
}

bool report_store_accepts(const struct tlsrpt_report *report, char *why, size_t why_size)
{
	return report != NULL && report_storable(report, why, why_size);
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

/*
 * Whether policy i is the report's first with its domain.  The summaries
 * count reports as sums of these flags (and of i == 0), not as distinct
 * ids, so that they read an index in order and sort nothing.
 */
static bool first_for_domain(const struct tlsrpt_report *r, size_t i)
{
	const char *domain = r->policies[i].policy_domain != NULL ? r->policies[i].policy_domain : "";

	for (size_t j = 0; j < i; j++)
		if (strcmp(r->policies[j].policy_domain != NULL ? r->policies[j].policy_domain : "",
			   domain) == 0)
			return false;
	return true;
}

/*
 * Run an INSERT of one row: *ret_id is its id, or -1 when it added none (a
 * conflict done nothing).
 */
static int insert_row(struct report_store *store, const char *what, const char *sql,
		      const char *sql_returning, const struct rs_value *params, size_t nparams,
		      int64_t *ret_id)
{
	uint64_t changes = 0;
	int64_t id = -1;
	int rc;

	if (store->ops->last_id == NULL)
		rc = store->ops->query(store, what, sql_returning, params, nparams, one_int, &id, NULL);
	else if ((rc = store->ops->query(store, what, sql, params, nparams, NULL, NULL,
					 &changes)) == RS_OK && changes > 0)
		id = store->ops->last_id(store);
	if (rc == RS_OK)
		*ret_id = id;
	return rc;
}

static int add_policy(struct report_store *store, int64_t report_id, const struct tlsrpt_report *r,
		      size_t index, const char *day)
{
	const struct tlsrpt_policy *p = &r->policies[index];
	char *strings = strings_json(p->policy_strings, p->policy_string_count);
	char *mx = strings_json(p->mx_hosts, p->mx_host_count);
	int64_t policy_id = 0;
	int rc = RS_NOMEM;

	if (strings == NULL || mx == NULL)
		goto out;
	struct rs_value params[] = {
		rs_int_param(report_id), rs_text_param(r->organization_name), rs_text_param(day),
		rs_int_param(r->start), rs_int_param(r->end), rs_text_param(p->policy_type),
		rs_text_param(p->policy_domain != NULL ? p->policy_domain : ""),
		rs_text_param(strings), rs_text_param(mx),
		rs_int_param((int64_t)p->total_successful), rs_int_param((int64_t)p->total_failure),
		rs_int_param(index == 0), rs_int_param(first_for_domain(r, index)),
	};
	rc = insert_row(store, "storing a policy", sql_add_policy, sql_add_policy_returning, params,
			sizeof(params) / sizeof(params[0]), &policy_id);
	for (size_t j = 0; rc == RS_OK && j < p->failure_count; j++) {
		const struct tlsrpt_failure *f = &p->failures[j];
		struct rs_value fp[] = {
			rs_int_param(policy_id), rs_int_param(report_id), rs_text_param(r->organization_name),
			rs_text_param(p->policy_domain != NULL ? p->policy_domain : ""), rs_text_param(day),
			rs_int_param(r->start), rs_text_param(f->result_type), rs_text_param(f->sending_mta_ip),
			rs_text_param(f->receiving_mx_hostname), rs_text_param(f->receiving_mx_helo),
			rs_text_param(f->receiving_ip), rs_int_param((int64_t)f->failed_session_count),
			rs_text_param(f->additional_information), rs_text_param(f->failure_reason_code),
		};
		rc = store->ops->query(store, "storing a failure detail", sql_add_failure, fp,
				       sizeof(fp) / sizeof(fp[0]), NULL, NULL, NULL);
	}
out:
	free(strings);
	free(mx);
	return rc;
}

/*
 * In the open transaction: the report's row, or the earlier one's id (returns
 * 1).  *ret_added: the id of the report's row as soon as it is added, even
 * when something after fails.
 */
static int add_rows(struct report_store *store, const struct tlsrpt_report *r,
		    const struct report_meta *meta, int64_t *ret_id, int64_t *ret_added)
{
	const unsigned char *gz = NULL;
	size_t gz_len = 0;
	char day[16], sha[65];
	struct report_sums sums;
	int64_t id = -1;
	int rc;

	rs_day_text(r->start, day);
	if (meta->raw_gzip != NULL) {
		gz = meta->raw_gzip;
		gz_len = meta->raw_gzip_len;
	}
	if (!sums_of(r, &sums) || sha256_hex(store, meta->raw, meta->raw_len, sha) != 0 ||
	    (gz == NULL && (rc = gzip_data(store, meta->raw, meta->raw_len, &gz, &gz_len)) != RS_OK)) {
		rs_error(store, "compressing the report or summing its counts failed");
		return RS_FAILED;
	}
	struct rs_value params[] = {
		rs_text_param(r->organization_name), rs_text_param(r->report_id), rs_text_param(r->contact_info),
		rs_int_param(r->start), rs_int_param(r->end), rs_text_param(day), rs_int_param(meta->received_at),
		rs_text_param(meta->source != NULL ? meta->source : "file"), rs_text_param(meta->origin),
		rs_text_param(dkim_text(meta->dkim)), rs_text_param(meta->dkim_domain),
		rs_int_param((int64_t)sums.successes), rs_int_param((int64_t)sums.failures), rs_text_param(sha),
		{ .type = RS_BLOB, .s = (const char *)gz, .len = gz_len },
	};
	rc = insert_row(store, "storing the report", sql_add_report, sql_add_report_returning, params,
			sizeof(params) / sizeof(params[0]), &id);
	if (rc != RS_OK)
		return rc;
	if (id >= 0)
		*ret_added = id;
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
		rc = add_policy(store, id, r, i, day);
	if (rc == RS_OK)
		*ret_id = id;
	return rc;
}

/* Run sql, keeping the reason of the failure that led to it. */
static void run_keeping_error(struct report_store *store, const char *what, const char *sql)
{
	char saved[sizeof(store->error)];

	memcpy(saved, store->error, sizeof(saved));
	store->ops->query(store, what, sql, NULL, 0, NULL, NULL, NULL);
	memcpy(store->error, saved, sizeof(saved));
}

static void rollback(struct report_store *store)
{
	run_keeping_error(store, "rolling back", "ROLLBACK");
}

/*
 * In a batch, each report has a savepoint of its own, so that a duplicate
 * or a failure takes back that report's rows only.
 */
static int begin_report(struct report_store *store)
{
	if (store->in_batch && store->batch_lost) {
		rs_error(store, "%s", store->batch_error);
		return RS_UNAVAILABLE;
	}
	if (store->in_batch && store->ops->in_transaction != NULL)
		return RS_OK;
	if (store->in_batch)
		return store->ops->query(store, "starting a report", "SAVEPOINT report", NULL, 0,
					 NULL, NULL, NULL);
	return store->ops->query(store, "starting a transaction", store->ops->begin_sql, NULL, 0,
				 NULL, NULL, NULL);
}

static int end_report(struct report_store *store)
{
	if (store->in_batch && store->ops->in_transaction != NULL)
		return RS_OK;
	if (store->in_batch)
		return store->ops->query(store, "ending a report", "RELEASE SAVEPOINT report", NULL, 0,
					 NULL, NULL, NULL);
	return store->ops->query(store, "committing the report", "COMMIT", NULL, 0, NULL, NULL, NULL);
}

/*
 * Take back the report's rows (added_id: its row, or -1 when none was added).
 * In a batch, with a savepoint a report, a savepoint that cannot be rolled
 * back to means the whole transaction ended (a PostgreSQL connection broke);
 * without (SQLite), the rows are deleted unless the transaction ended (SQLite
 * rolls it back itself on a full disk or an I/O error).  Then the batch is
 * lost, and the reports after it must not start a transaction of their own.
 */
static void undo_report(struct report_store *store, int64_t added_id)
{
	char saved[sizeof(store->error)];
	int rc = RS_OK;

	if (!store->in_batch) {
		rollback(store);
		return;
	}
	memcpy(saved, store->error, sizeof(saved));
	if (store->ops->in_transaction == NULL) {
		rc = store->ops->query(store, "taking back a report", "ROLLBACK TO SAVEPOINT report",
				       NULL, 0, NULL, NULL, NULL);
		if (rc == RS_OK)
			rc = store->ops->query(store, "ending a report", "RELEASE SAVEPOINT report",
					       NULL, 0, NULL, NULL, NULL);
	} else if (!store->ops->in_transaction(store)) {
		rs_error(store, "the transaction ended");
		rc = RS_UNAVAILABLE;
	} else if (added_id >= 0) {
		/* the report's policies and failure details go with it (ON DELETE CASCADE) */
		struct rs_value id = rs_int_param(added_id);
		rc = store->ops->query(store, "taking back a report", "DELETE FROM report WHERE id = ?1",
				       &id, 1, NULL, NULL, NULL);
	}
	if (rc != RS_OK && !store->batch_lost) {
		store->batch_lost = true;
		snprintf(store->batch_error, sizeof(store->batch_error),
			 "the batch was taken back (%.100s) after: %.180s", store->error, saved);
	}
	memcpy(store->error, saved, sizeof(saved));
}

enum store_status report_store_add(struct report_store *store, const struct tlsrpt_report *report,
				   const struct report_meta *meta, int64_t *ret_id,
				   char *why, size_t why_size)
{
	int64_t id = -1, added_id = -1;
	int rc;

	if (report == NULL || meta == NULL || (meta->raw == NULL && meta->raw_len > 0)) {
		rs_say(why, why_size, "no report to store");
		return STORE_FAILED;
	}
	/* 18 octets: a gzip header and trailer around nothing. */
	if (meta->raw_gzip != NULL && (meta->raw_gzip_len < 18 || meta->raw_gzip[0] != 0x1f ||
				       meta->raw_gzip[1] != 0x8b)) {
		rs_say(why, why_size, "the report's compressed copy is not gzip");
		return STORE_FAILED;
	}
	if (!report_storable(report, why, why_size))
		return STORE_FAILED;
	if (store->read_only) {
		rs_say(why, why_size, "the report store is open for queries only");
		return STORE_FAILED;
	}
	rc = begin_report(store);
	if (rc != RS_OK)
		return rs_status(store, rc, why, why_size);
	rc = add_rows(store, report, meta, &id, &added_id);
	if (rc == 1) {
		undo_report(store, added_id);
		*ret_id = id;
		return STORE_DUPLICATE;
	}
	if (rc == RS_OK)
		rc = end_report(store);
	if (rc != RS_OK) {
		undo_report(store, added_id);
		return rs_status(store, rc, why, why_size);
	}
	*ret_id = id;
	return STORE_ADDED;
}

int report_store_batch_begin(struct report_store *store, char *why, size_t why_size)
{
	int rc;

	if (store->in_batch || store->read_only) {
		rs_say(why, why_size, store->in_batch ? "a batch is already open"
						      : "the report store is open for queries only");
		return -1;
	}
	if (store->ops->batch != NULL)
		store->ops->batch(store, true);
	rc = store->ops->query(store, "starting a transaction", store->ops->begin_sql, NULL, 0,
			       NULL, NULL, NULL);
	if (rc != RS_OK) {
		rs_status(store, rc, why, why_size);
		if (store->ops->batch != NULL)
			store->ops->batch(store, false);
		return -1;
	}
	store->in_batch = true;
	return 0;
}

enum store_status report_store_batch_commit(struct report_store *store, char *why, size_t why_size)
{
	int rc;

	if (!store->in_batch) {
		rs_say(why, why_size, "no batch is open");
		return STORE_FAILED;
	}
	store->in_batch = false;
	if (store->batch_lost) {
		store->batch_lost = false;
		rs_error(store, "%s", store->batch_error);
		rc = RS_UNAVAILABLE;
	} else
		rc = store->ops->query(store, "committing the reports", "COMMIT", NULL, 0, NULL, NULL,
				       NULL);
	if (rc != RS_OK)
		rollback(store);
	if (store->ops->batch != NULL)
		store->ops->batch(store, false);
	if (rc != RS_OK)
		return rs_status(store, rc, why, why_size);
	return STORE_ADDED;
}

void report_store_batch_abort(struct report_store *store)
{
	if (!store->in_batch)
		return;
	store->in_batch = false;
	store->batch_lost = false;
	rollback(store);
	if (store->ops->batch != NULL)
		store->ops->batch(store, false);
}

int report_store_prune(struct report_store *store, int64_t before, uint64_t *ret_removed,
		       char *why, size_t why_size)
{
	struct rs_value params[] = { rs_int_param(before) };
	uint64_t removed = 0;
	int rc;

	if (store->read_only) {
		rs_say(why, why_size, "the report store is open for queries only");
		return -1;
	}
	/*
	 * A report starts before it ends: the start bounds the rows to look at
	 * by the index the list reads (report_newest), so that no index on the
	 * end is kept up to date at every report for this statement alone.
	 */
	rc = store->ops->query(store, "removing old reports",
			       "DELETE FROM report WHERE range_start < ?1 AND range_end < ?1", params,
			       1, NULL, NULL, &removed);

	if (rc != RS_OK) {
		rs_status(store, rc, why, why_size);
		return -1;
	}
	if (ret_removed != NULL)
		*ret_removed = removed;
	return 0;
}
