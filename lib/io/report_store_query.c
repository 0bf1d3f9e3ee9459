/*
 * report_store_query.c - the report store's questions, written once in SQL
 * both backends run: summaries by group under a filter, the list of
 * reports, one report read back from its rows, reporters, first failures,
 * failure details.  Rows are sorted here (by octets, the same in both
 * backends whatever the database's collation).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_store.h"
#include "report_store_internal.h"

/*
 * Filters: ?1 domain, ?2 reporter, ?3 since, ?4 until, always bound.  The
 * day of a row is the day of its start, so since and until also bound the
 * day (?5, ?6): the indexes led by the day are then read only in part.
 */

enum filter_on { ON_REPORT, ON_POLICY, ON_FAILURE };

#define FILTER_PARAMS 6
#define LIMIT_PARAM "?7"

/* The filter's parameters: ?5 and ?6 the days of since and until, in days (16 octets each). */
static void filter_params(const struct report_filter *f, struct rs_value params[FILTER_PARAMS],
			  char days[2][16])
{
	params[0] = rs_text_param(f->domain);
	params[1] = rs_text_param(f->reporter);
	params[2] = f->since != 0 ? rs_int_param(f->since) : (struct rs_value){ .type = RS_NULL_INT };
	params[3] = f->until != 0 ? rs_int_param(f->until) : (struct rs_value){ .type = RS_NULL_INT };
	rs_day_text(f->since, days[0]);
	rs_day_text(f->until, days[1]);
	params[4] = rs_text_param(f->since != 0 ? days[0] : NULL);
	params[5] = rs_text_param(f->until != 0 ? days[1] : NULL);
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
		used += (size_t)snprintf(out + used, size - used,
					 " AND range_start >= ?3 AND day >= ?5");
	if (f->until != 0)
		snprintf(out + used, size - used, " AND range_start < ?4 AND day <= ?6");
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

	if (n != 6)
		return RS_FAILED;
	if ((rc = rs_grow(&list->items, list->count, &list->cap,
			   sizeof(struct summary_row))) != RS_OK)
		return rc;
	struct summary_row *row = (struct summary_row *)list->items + list->count;
	if ((rc = rs_text_dup(&c[0], &row->key)) != RS_OK ||
	    (rc = rs_text_dup(&c[1], &row->key2)) != RS_OK) {
		summary_row_clear(row);
		return rc;
	}
	if (row->key == NULL && (row->key = strdup("")) == NULL)
		return RS_NOMEM;
	row->reports = rs_count_of(&c[2]);
	row->successes = rs_count_of(&c[3]);
	row->failures = rs_count_of(&c[4]);
	row->sessions = row->successes + row->failures;
	row->successes_known = rs_int_of(&c[5]) != 0;
	list->count++;
	return RS_OK;
}

static int total_row(const struct rs_value *c, size_t n, void *arg)
{
	struct summary_row *row = arg;

	if (n != 3)
		return RS_FAILED;
	row->reports = rs_count_of(&c[0]);
	row->successes = rs_count_of(&c[1]);
	row->failures = rs_count_of(&c[2]);
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
	char days[2][16];
	struct row_list list = { 0 };
	struct summary_row total = { 0 };
	char where[320], sql[1024];
	const char *keys = NULL;
	enum filter_on on = ON_POLICY;
	int rc = RS_OK;

	if (filter == NULL)
		filter = &everything;
	if (group != GROUP_NONE && !group_sql(group, &keys, &on)) {
		rs_say(why, why_size, "not a summary group: %d", (int)group);
		return -1;
	}
	/* a report is counted once: by its first policy, or its first with the domain */
	const char *first = filter->domain != NULL || group == GROUP_DOMAIN ||
			    group == GROUP_DOMAIN_DAY ? "first_for_domain" : "first_in_report";
	filter_params(filter, params, days);
	filter_where(where, sizeof(where), filter, ON_POLICY, true);
	snprintf(sql, sizeof(sql), "SELECT CAST(coalesce(sum(%s), 0) AS bigint), "
		 "CAST(coalesce(sum(successes), 0) AS bigint), CAST(coalesce(sum(failures), 0) "
		 "AS bigint) FROM report_policy%s",
		 filter->domain != NULL ? "first_for_domain" : "first_in_report", where);
	/* a report is in one day and of one reporter: those groups add up to the total */
	bool total_from_rows = group == GROUP_DAY || group == GROUP_REPORTER;
	if (!total_from_rows)
		rc = store->ops->query(store, "summing the reports", sql, params, FILTER_PARAMS,
				       total_row, &total, NULL);
	if (rc == RS_OK && keys != NULL) {
		filter_where(where, sizeof(where), filter, on, true);
		if (on == ON_POLICY)
			snprintf(sql, sizeof(sql), "SELECT %s, CAST(sum(%s) AS bigint), "
				 "CAST(sum(successes) AS bigint), CAST(sum(failures) AS bigint), 1 "
				 "FROM report_policy%s GROUP BY 1, 2", keys, first, where);
		else
			snprintf(sql, sizeof(sql), "SELECT %s, count(DISTINCT report), 0, "
				 "CAST(sum(failed_session_count) AS bigint), 0 FROM report_failure%s "
				 "GROUP BY 1, 2", keys, where);
		rc = store->ops->query(store, "summing the reports by group", sql, params,
				       FILTER_PARAMS, summary_row, &list, NULL);
	}
	if (rc != RS_OK) {
		summary_rows_free(list.items, list.count);
		rs_status(store, rc, why, why_size);
		return -1;
	}
	total.successes_known = true;
	for (size_t i = 0; total_from_rows && i < list.count; i++) {
		const struct summary_row *row = (const struct summary_row *)list.items + i;
		total.reports += row->reports;
		total.successes += row->successes;
		total.failures += row->failures;
		total.sessions += row->sessions;
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
	if ((rc = rs_grow(&list->items, list->count, &list->cap, sizeof(struct report_entry))) != RS_OK)
		return rc;
	struct report_entry *e = (struct report_entry *)list->items + list->count;
	e->id = rs_int_of(&c[0]);
	if ((rc = rs_text_dup(&c[1], &e->organization_name)) != RS_OK ||
	    (rc = rs_text_dup(&c[2], &e->report_id)) != RS_OK ||
	    (rc = rs_text_dup(&c[6], &e->source)) != RS_OK ||
	    (rc = rs_text_dup(&c[8], &e->dkim_domain)) != RS_OK) {
		report_entry_clear(e);
		return rc;
	}
	e->start = rs_int_of(&c[3]);
	e->end = rs_int_of(&c[4]);
	e->received_at = rs_int_of(&c[5]);
	e->dkim = rs_dkim_from(&c[7]);
	e->successes = rs_count_of(&c[9]);
	e->failures = rs_count_of(&c[10]);
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
	if ((rc = rs_grow(&list->items, list->count, &list->cap, sizeof(char *))) != RS_OK)
		return rc;
	char **slot = (char **)list->items + list->count;
	if ((rc = rs_text_dup(&c[0], slot)) != RS_OK)
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
	struct rs_value params[] = { rs_int_param(e->id) };
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
	char days[2][16];
	struct row_list list = { 0 };
	char where[320], sql[1024];
	int rc;

	if (filter == NULL)
		filter = &everything;
	filter_params(filter, params, days);
	params[FILTER_PARAMS] = rs_int_param(limit == 0 || limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	filter_where(where, sizeof(where), filter, ON_REPORT, true);
	snprintf(sql, sizeof(sql), "SELECT " ENTRY_COLUMNS " FROM report%s "
		 "ORDER BY range_start DESC, id DESC LIMIT " LIMIT_PARAM, where);
	rc = store->ops->query(store, "listing reports", sql, params, FILTER_PARAMS + 1, entry_row,
			       &list, NULL);
	for (size_t i = 0; rc == RS_OK && i < list.count; i++)
		rc = entry_domains(store, (struct report_entry *)list.items + i);
	if (rc != RS_OK) {
		report_entries_free(list.items, list.count);
		rs_status(store, rc, why, why_size);
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
	if ((rc = rs_text_dup(&c[0], &b->report->organization_name)) != RS_OK ||
	    (rc = rs_text_dup(&c[1], &b->report->report_id)) != RS_OK ||
	    (rc = rs_text_dup(&c[2], &b->report->contact_info)) != RS_OK)
		return rc;
	b->report->start = rs_int_of(&c[3]);
	b->report->end = rs_int_of(&c[4]);
	return rs_gunzip(c[5].s, c[5].len, &b->raw, &b->raw_len);
}

static int policy_row(const struct rs_value *c, size_t n, void *arg)
{
	struct rebuild *b = arg;
	struct tlsrpt_report *r = b->report;
	size_t cap = b->policy_cap;
	int rc;

	if (n != 7)
		return RS_FAILED;
	if ((rc = rs_grow((void **)&r->policies, r->policy_count, &b->policy_cap,
		       sizeof(*r->policies))) != RS_OK ||
	    (rc = rs_grow((void **)&b->policy_ids, r->policy_count, &cap, sizeof(int64_t))) != RS_OK)
		return rc;
	struct tlsrpt_policy *p = &r->policies[r->policy_count];
	b->policy_ids[r->policy_count] = rs_int_of(&c[0]);
	r->policy_count++;		/* from here on tlsrpt_report_free() frees what it holds */
	if ((rc = rs_text_dup(&c[1], &p->policy_type)) != RS_OK ||
	    (rc = rs_text_dup(&c[2], &p->policy_domain)) != RS_OK ||
	    (rc = rs_strings_from_json(&c[3], &p->policy_strings, &p->policy_string_count)) != RS_OK ||
	    (rc = rs_strings_from_json(&c[4], &p->mx_hosts, &p->mx_host_count)) != RS_OK)
		return rc;
	p->total_successful = rs_count_of(&c[5]);
	p->total_failure = rs_count_of(&c[6]);
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
	if ((rc = rs_grow((void **)&p->failures, p->failure_count, &fill->cap,
			   sizeof(*p->failures))) != RS_OK)
		return rc;
	struct tlsrpt_failure *f = &p->failures[p->failure_count++];
	if ((rc = rs_text_dup(&c[0], &f->result_type)) != RS_OK ||
	    (rc = rs_text_dup(&c[1], &f->sending_mta_ip)) != RS_OK ||
	    (rc = rs_text_dup(&c[2], &f->receiving_mx_hostname)) != RS_OK ||
	    (rc = rs_text_dup(&c[3], &f->receiving_mx_helo)) != RS_OK ||
	    (rc = rs_text_dup(&c[4], &f->receiving_ip)) != RS_OK ||
	    (rc = rs_text_dup(&c[6], &f->additional_information)) != RS_OK ||
	    (rc = rs_text_dup(&c[7], &f->failure_reason_code)) != RS_OK)
		return rc;
	f->failed_session_count = rs_count_of(&c[5]);
	return RS_OK;
}

static int rebuild_report(struct report_store *store, int64_t id, struct rebuild *b)
{
	struct rs_value params[] = { rs_int_param(id) };
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
		struct rs_value policy[] = { rs_int_param(b->policy_ids[i]) };
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
	struct rs_value params[] = { rs_int_param(id) };
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
		rs_status(store, rc, why, why_size);
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
	tlsrpt_report_free(b.report);
	free(b.policy_ids);
	free(b.raw);
	return result;
}

/* Reporters, first seen, failures */

/*
 * Reporters and first-seen rows have one shape: two text keys (columns 0
 * and 1, sorted by), then three numbers (columns 2 to 4) that numbers()
 * reads.  keys: the offsets of the two char * fields.
 */
struct keyed_shape {
	size_t size;
	size_t keys[2];
	void (*numbers)(void *row, const struct rs_value *c);
};

struct keyed_list {
	struct row_list rows;
	const struct keyed_shape *shape;
};

static char **key_of(void *row, const struct keyed_shape *shape, int which)
{
	return (char **)((char *)row + shape->keys[which]);
}

static void keyed_rows_free(void *rows, size_t count, const struct keyed_shape *shape)
{
	for (size_t i = 0; rows != NULL && i < count; i++) {
		void *row = (char *)rows + i * shape->size;
		free(*key_of(row, shape, 0));
		free(*key_of(row, shape, 1));
	}
	free(rows);
}

static int keyed_row(const struct rs_value *c, size_t n, void *arg)
{
	struct keyed_list *list = arg;
	const struct keyed_shape *shape = list->shape;
	int rc;

	if (n != 5)
		return RS_FAILED;
	if ((rc = rs_grow(&list->rows.items, list->rows.count, &list->rows.cap,
			   shape->size)) != RS_OK)
		return rc;
	void *row = (char *)list->rows.items + list->rows.count * shape->size;
	if ((rc = rs_text_dup(&c[0], key_of(row, shape, 0))) != RS_OK ||
	    (rc = rs_text_dup(&c[1], key_of(row, shape, 1))) != RS_OK) {
		free(*key_of(row, shape, 0));
		free(*key_of(row, shape, 1));
		memset(row, 0, shape->size);
		return rc;
	}
	shape->numbers(row, c);
	list->rows.count++;
	return RS_OK;
}

static const char *key_in(const void *row, const struct keyed_shape *shape, int which)
{
	return *(char *const *)((const char *)row + shape->keys[which]);
}

static int keyed_cmp(const void *a, const void *b, void *arg)
{
	const struct keyed_shape *shape = arg;
	int c = cmp_text(key_in(a, shape, 0), key_in(b, shape, 0));

	return c != 0 ? c : cmp_text(key_in(a, shape, 1), key_in(b, shape, 1));
}

/* Run sql for rows of shape, sorted by their keys: 0, or -1 with why. */
static int keyed_query(struct report_store *store, const char *what, const char *sql,
		       const struct rs_value *params, const struct keyed_shape *shape,
		       void **ret_rows, size_t *ret_count, char *why, size_t why_size)
{
	struct keyed_list list = { .shape = shape };
	int rc = store->ops->query(store, what, sql, params, FILTER_PARAMS, keyed_row, &list, NULL);

	if (rc != RS_OK) {
		keyed_rows_free(list.rows.items, list.rows.count, shape);
		rs_status(store, rc, why, why_size);
		return -1;
	}
	if (list.rows.count > 1)
		qsort_r(list.rows.items, list.rows.count, shape->size, keyed_cmp, (void *)(uintptr_t)shape);
	*ret_rows = list.rows.items;
	*ret_count = list.rows.count;
	return 0;
}

static void reporter_numbers(void *row, const struct rs_value *c)
{
	struct reporter_row *r = row;

	r->reports = rs_count_of(&c[2]);
	r->first_start = rs_int_of(&c[3]);
	r->last_end = rs_int_of(&c[4]);
}

static const struct keyed_shape reporter_shape = {
	sizeof(struct reporter_row),
	{ offsetof(struct reporter_row, organization_name), offsetof(struct reporter_row, domain) },
	reporter_numbers,
};

int report_store_reporters(struct report_store *store, const struct report_filter *filter,
			   struct reporter_row **ret_rows, size_t *ret_count, char *why, size_t why_size)
{
	static const struct report_filter everything;
	struct rs_value params[FILTER_PARAMS];
	char days[2][16];
	char where[320], sql[1024];
	void *rows = NULL;
	size_t count = 0;

	if (filter == NULL)
		filter = &everything;
	filter_params(filter, params, days);
	filter_where(where, sizeof(where), filter, ON_POLICY, true);
	snprintf(sql, sizeof(sql), "SELECT organization_name, policy_domain, count(DISTINCT report), "
		 "min(range_start), max(range_end) FROM report_policy%s GROUP BY 1, 2", where);
	if (keyed_query(store, "listing reporters", sql, params, &reporter_shape, &rows, &count, why,
			why_size) != 0)
		return -1;
	*ret_rows = rows;
	*ret_count = count;
	return 0;
}

static void first_seen_numbers(void *row, const struct rs_value *c)
{
	struct first_seen_row *r = row;

	r->first_start = rs_int_of(&c[2]);
	r->last_start = rs_int_of(&c[3]);
	r->failures = rs_count_of(&c[4]);
}

static const struct keyed_shape first_seen_shape = {
	sizeof(struct first_seen_row),
	{ offsetof(struct first_seen_row, domain), offsetof(struct first_seen_row, key) },
	first_seen_numbers,
};

int report_store_first_seen(struct report_store *store, const struct report_filter *filter,
			    enum report_group group, struct first_seen_row **ret_rows, size_t *ret_count,
			    char *why, size_t why_size)
{
	static const struct report_filter everything;
	struct rs_value params[FILTER_PARAMS];
	char days[2][16];
	char where[320], sql[1024];
	const char *key;
	void *rows = NULL;
	size_t count = 0;

	if (group == GROUP_DOMAIN_RESULT_TYPE)
		key = "result_type";
	else if (group == GROUP_DOMAIN_MX)
		key = "coalesce(receiving_mx_hostname, '')";
	else {
		rs_say(why, why_size, "first seen is by domain and result type or MX host, not group %d",
		    (int)group);
		return -1;
	}
	if (filter == NULL)
		filter = &everything;
	filter_params(filter, params, days);
	filter_where(where, sizeof(where), filter, ON_FAILURE, false);
	snprintf(sql, sizeof(sql), "SELECT policy_domain, %s, min(range_start), max(range_start), "
		 "CAST(sum(failed_session_count) AS bigint) FROM report_failure%s GROUP BY 1, 2",
		 key, where);
	if (keyed_query(store, "finding first failures", sql, params, &first_seen_shape, &rows,
			&count, why, why_size) != 0)
		return -1;
	*ret_rows = rows;
	*ret_count = count;
	return 0;
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

static int failure_list_row(const struct rs_value *c, size_t n, void *arg)
{
	struct row_list *list = arg;
	int rc;

	if (n != 11)
		return RS_FAILED;
	if ((rc = rs_grow(&list->items, list->count, &list->cap, sizeof(struct failure_row))) != RS_OK)
		return rc;
	struct failure_row *r = (struct failure_row *)list->items + list->count;
	r->report = rs_int_of(&c[0]);
	r->start = rs_int_of(&c[3]);
	r->failed_session_count = rs_count_of(&c[8]);
	if ((rc = rs_text_dup(&c[1], &r->organization_name)) != RS_OK ||
	    (rc = rs_text_dup(&c[2], &r->domain)) != RS_OK ||
	    (rc = rs_text_dup(&c[4], &r->result_type)) != RS_OK ||
	    (rc = rs_text_dup(&c[5], &r->sending_mta_ip)) != RS_OK ||
	    (rc = rs_text_dup(&c[6], &r->receiving_mx_hostname)) != RS_OK ||
	    (rc = rs_text_dup(&c[7], &r->receiving_ip)) != RS_OK ||
	    (rc = rs_text_dup(&c[9], &r->additional_information)) != RS_OK ||
	    (rc = rs_text_dup(&c[10], &r->failure_reason_code)) != RS_OK) {
		failure_row_clear(r);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	list->count++;
	return RS_OK;
}

int report_store_failures(struct report_store *store, const struct report_filter *filter,
			  size_t limit, struct failure_row **ret_rows, size_t *ret_count, char *why, size_t why_size)
{
	static const struct report_filter everything;
	struct rs_value params[FILTER_PARAMS + 1];
	char days[2][16];
	struct row_list list = { 0 };
	char where[320], sql[1024];
	int rc;

	if (filter == NULL)
		filter = &everything;
	filter_params(filter, params, days);
	params[FILTER_PARAMS] = rs_int_param(limit == 0 || limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	filter_where(where, sizeof(where), filter, ON_FAILURE, true);
	snprintf(sql, sizeof(sql), "SELECT report, organization_name, policy_domain, range_start, "
		 "result_type, sending_mta_ip, receiving_mx_hostname, receiving_ip, "
		 "failed_session_count, additional_information, failure_reason_code "
		 "FROM report_failure%s ORDER BY range_start DESC, id DESC LIMIT " LIMIT_PARAM, where);
	rc = store->ops->query(store, "listing failure details", sql, params, FILTER_PARAMS + 1,
			       failure_list_row, &list, NULL);
	if (rc != RS_OK) {
		failure_rows_free(list.items, list.count);
		rs_status(store, rc, why, why_size);
		return -1;
	}
	*ret_rows = list.items;
	*ret_count = list.count;
	return 0;
}
