/*
 * test_report_store.c - the report store: one table of behaviours run over
 * SQLite (a file under a mkdtemp() directory) and over PostgreSQL when a
 * server is given, then what only one backend promises (writers in several
 * processes, a lock held by another connection, a server stopped).
 *
 * Reports are built here by hand (no JSON reader): three reports from two
 * reporters over two days and two domains, with failure details, so that
 * every summary has exact numbers to meet.  tests/e2e/test-report-stores
 * starts a PostgreSQL cluster and says where it is:
 *
 *	MTASTS_TEST_POSTGRES_DSN	a database the test may drop tables in
 *					(a libpq URI or "key=value ..." text)
 *	MTASTS_TEST_POSTGRES_STOP, _START	shell commands that stop and start it
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <zlib.h>

#include "unit.h"

#include "report_store.h"
#include "util.h"

#define T0 ((int64_t)1704067200)	/* 2024-01-01T00:00:00Z */
#define DAY 86400

/* The reports */

static struct tlsrpt_failure r1_failures[] = {
	{ "certificate-expired", "192.0.2.1", "mx1.example.com", "mx1.example.com", "198.51.100.1",
	  3, "the certificate expired", "X509_V_ERR_CERT_HAS_EXPIRED" },
	{ "starttls-not-supported", NULL, "mx2.example.com", NULL, NULL, 2, NULL, NULL },
};
static struct tlsrpt_policy r1_policies[] = {
	{ "sts", "example.com",
	  /* the last one as JSON must escape a quote, a backslash, controls; UTF-8 stays */
	  (char *[]){ "version: STSv1", "mode: enforce", "mx: mx1.example.com", "max_age: 86400",
		      "x: \"q\" \\ \t\x01\x1f b\xc3\xbc" "cher /" }, 5,
	  (char *[]){ "mx1.example.com", "mx2.example.com" }, 2, 100, 5, r1_failures, 2 },
	{ "no-policy-found", "example.net", NULL, 0, NULL, 0, 10, 0, NULL, 0 },
};
static struct tlsrpt_report r1 = {
	"google.com", "2024-01-01T00:00:00Z_example.com", "smtp-tls-reporting@google.com",
	T0, T0 + DAY - 1, r1_policies, 2,
};

static struct tlsrpt_failure r2_failures[] = {
	{ "certificate-expired", "203.0.113.9", "mx1.example.com", NULL, "198.51.100.1", 1, NULL, NULL },
};
static struct tlsrpt_policy r2_policies[] = {
	{ "sts", "example.com", (char *[]){ "version: STSv1", "mode: testing" }, 2,
	  (char *[]){ "*.example.com" }, 1, 50, 1, r2_failures, 1 },
};
static struct tlsrpt_report r2 = {
	"microsoft.com", "133486272000000000+example.com", NULL, T0 + DAY, T0 + 2 * DAY - 1,
	r2_policies, 1,
};

static struct tlsrpt_policy r3_policies[] = {
	{ "tlsa", "example.net", (char *[]){ "3 1 1 0123abcd" }, 1, NULL, 0, 20, 0, NULL, 0 },
};
static struct tlsrpt_report r3 = {
	"google.com", "2024-01-02T00:00:00Z_example.net", "smtp-tls-reporting@google.com",
	T0 + DAY, T0 + 2 * DAY - 1, r3_policies, 1,
};

static const char r1_json[] = "{\"organization-name\":\"google.com\",\"report-id\":\"r1\"}";
static const char r2_json[] = "{\"organization-name\":\"microsoft.com\",\"report-id\":\"r2\"}\n";
static const char r3_json[] = "{\"organization-name\":\"google.com\",\"report-id\":\"r3\"}";

/* Backends and fixtures */

struct fixture;
struct behaviour;

struct backend {
	const char *name;
	const char *needs;		/* the environment variable it needs, or NULL */
	void (*reset)(void);
};

struct fixture {
	const struct backend *backend;
	const struct behaviour *behaviour;
	struct report_store *store;
	char dir[64];
	char path[128];
	char location[1024];
	int64_t ids[3];
};

static const char *env(const char *name)
{
	const char *value = getenv(name);

	return value != NULL && value[0] != '\0' ? value : NULL;
}

/* The test's DSN as a location report_store_open() takes: a URI. */
static void postgres_location(char *out, size_t size)
{
	const char *dsn = env("MTASTS_TEST_POSTGRES_DSN");
	size_t used;

	if (strncmp(dsn, "postgres", 8) == 0) {
		snprintf(out, size, "%s", dsn);
		return;
	}
	used = (size_t)snprintf(out, size, "postgresql:///?");
	for (const char *p = dsn; *p != '\0' && used + 2 < size; p++) {
		if (*p == ' ') {
			while (p[1] == ' ')
				p++;
			out[used++] = '&';
		} else
			out[used++] = *p;
	}
	out[used] = '\0';
}

static void quiet(void *arg, const char *message)
{
}

static PGconn *raw_postgres(void)
{
	PGconn *conn = PQconnectdb(env("MTASTS_TEST_POSTGRES_DSN"));

	if (PQstatus(conn) != CONNECTION_OK)
		fail_msg("postgres: %s", PQerrorMessage(conn));
	PQsetNoticeProcessor(conn, quiet, NULL);
	return conn;
}

static void raw_postgres_exec(const char *sql)
{
	PGconn *conn = raw_postgres();
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(conn);
}

static void postgres_reset(void)
{
	raw_postgres_exec("SET client_min_messages = warning;"
			  "DROP TABLE IF EXISTS report_failure, report_policy, report, report_schema");
}

static const struct backend backends[] = {
	{ "sqlite", NULL, NULL },
	{ "postgres", "MTASTS_TEST_POSTGRES_DSN", postgres_reset },
};

static bool is_sqlite(const struct fixture *f)
{
	return strcmp(f->backend->name, "sqlite") == 0;
}

static struct report_store *open_store(const struct fixture *f, unsigned timeout_ms)
{
	struct report_store_options options = { .timeout_ms = timeout_ms };
	char why[256] = "";
	struct report_store *store = report_store_open(f->location, &options, why, sizeof(why));

	if (store == NULL)
		fail_msg("opening %s: %s", f->location, why);
	return store;
}

static void raw_sqlite_exec(const struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

/* Helpers */

static enum store_status add(struct report_store *store, const struct tlsrpt_report *report,
			     const char *raw, size_t raw_len, int64_t *ret_id)
{
	struct report_meta meta = {
		.received_at = report->end + 3600, .source = "mail", .origin = "imap://inbox/7",
		.dkim = DKIM_VERDICT_PASS, .dkim_domain = report->organization_name,
		.raw = raw, .raw_len = raw_len,
	};
	char why[256] = "";
	enum store_status status = report_store_add(store, report, &meta, ret_id, why, sizeof(why));

	if (status != STORE_ADDED && status != STORE_DUPLICATE)
		print_message("  add: %s\n", why);
	return status;
}

static void add_three(struct fixture *f)
{
	assert_int_equal(add(f->store, &r1, r1_json, sizeof(r1_json) - 1, &f->ids[0]), STORE_ADDED);
	assert_int_equal(add(f->store, &r2, r2_json, sizeof(r2_json) - 1, &f->ids[1]), STORE_ADDED);
	assert_int_equal(add(f->store, &r3, r3_json, sizeof(r3_json) - 1, &f->ids[2]), STORE_ADDED);
	assert_true(f->ids[0] < f->ids[1] && f->ids[1] < f->ids[2]);
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned md_len = 0;

	assert_true(EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL));
	for (unsigned i = 0; i < md_len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void assert_text(const char *want, const char *got)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(want, got);
	}
}

static void free_report(struct tlsrpt_report *r)
{
	for (size_t i = 0; i < r->policy_count; i++) {
		struct tlsrpt_policy *p = &r->policies[i];
		for (size_t j = 0; j < p->policy_string_count; j++)
			free(p->policy_strings[j]);
		for (size_t j = 0; j < p->mx_host_count; j++)
			free(p->mx_hosts[j]);
		for (size_t j = 0; j < p->failure_count; j++) {
			struct tlsrpt_failure *x = &p->failures[j];
			free(x->result_type);
			free(x->sending_mta_ip);
			free(x->receiving_mx_hostname);
			free(x->receiving_mx_helo);
			free(x->receiving_ip);
			free(x->additional_information);
			free(x->failure_reason_code);
		}
		free(p->policy_type);
		free(p->policy_domain);
		free(p->policy_strings);
		free(p->mx_hosts);
		free(p->failures);
	}
	free(r->policies);
	free(r->organization_name);
	free(r->report_id);
	free(r->contact_info);
	free(r);
}

static void assert_reports_equal(const struct tlsrpt_report *a, const struct tlsrpt_report *b)
{
	assert_text(a->organization_name, b->organization_name);
	assert_text(a->report_id, b->report_id);
	assert_text(a->contact_info, b->contact_info);
	assert_int_equal(a->start, b->start);
	assert_int_equal(a->end, b->end);
	assert_int_equal(a->policy_count, b->policy_count);
	for (size_t i = 0; i < a->policy_count; i++) {
		const struct tlsrpt_policy *p = &a->policies[i], *q = &b->policies[i];
		assert_text(p->policy_type, q->policy_type);
		assert_text(p->policy_domain, q->policy_domain);
		assert_int_equal(p->policy_string_count, q->policy_string_count);
		for (size_t j = 0; j < p->policy_string_count; j++)
			assert_text(p->policy_strings[j], q->policy_strings[j]);
		assert_int_equal(p->mx_host_count, q->mx_host_count);
		for (size_t j = 0; j < p->mx_host_count; j++)
			assert_text(p->mx_hosts[j], q->mx_hosts[j]);
		assert_int_equal(p->total_successful, q->total_successful);
		assert_int_equal(p->total_failure, q->total_failure);
		assert_int_equal(p->failure_count, q->failure_count);
		for (size_t j = 0; j < p->failure_count; j++) {
			const struct tlsrpt_failure *x = &p->failures[j], *y = &q->failures[j];
			assert_text(x->result_type, y->result_type);
			assert_text(x->sending_mta_ip, y->sending_mta_ip);
			assert_text(x->receiving_mx_hostname, y->receiving_mx_hostname);
			assert_text(x->receiving_mx_helo, y->receiving_mx_helo);
			assert_text(x->receiving_ip, y->receiving_ip);
			assert_int_equal(x->failed_session_count, y->failed_session_count);
			assert_text(x->additional_information, y->additional_information);
			assert_text(x->failure_reason_code, y->failure_reason_code);
		}
	}
}

/* A summary's total and rows against want (key, key2, reports, successes, failures). */
struct want_row {
	const char *key, *key2;
	uint64_t reports, successes, failures;
};

static void assert_summary(struct report_store *store, const struct report_filter *filter,
			   enum report_group group, const struct want_row *total,
			   const struct want_row *want, size_t want_count)
{
	struct summary_row *rows = NULL, tot = { 0 };
	size_t count = 99;
	char why[256] = "";
	bool known = group == GROUP_DAY || group == GROUP_REPORTER || group == GROUP_DOMAIN ||
		     group == GROUP_DOMAIN_DAY || group == GROUP_NONE;

	if (report_store_summary(store, filter, group, &rows, &count, &tot, why, sizeof(why)) != 0)
		fail_msg("summary: %s", why);
	assert_int_equal(tot.reports, total->reports);
	assert_int_equal(tot.successes, total->successes);
	assert_int_equal(tot.failures, total->failures);
	assert_int_equal(tot.sessions, total->successes + total->failures);
	assert_true(tot.successes_known);
	if (count != want_count)
		fail_msg("group %d: %zu rows, not %zu", (int)group, count, want_count);
	for (size_t i = 0; i < count; i++) {
		assert_text(want[i].key, rows[i].key);
		assert_text(want[i].key2, rows[i].key2);
		assert_int_equal(rows[i].reports, want[i].reports);
		assert_int_equal(rows[i].successes, want[i].successes);
		assert_int_equal(rows[i].failures, want[i].failures);
		assert_int_equal(rows[i].sessions, want[i].successes + want[i].failures);
		assert_int_equal(rows[i].successes_known, known);
	}
	summary_rows_free(rows, count);
}

static uint64_t total_reports(struct report_store *store)
{
	struct summary_row total = { 0 };
	char why[256] = "";

	if (report_store_summary(store, NULL, GROUP_NONE, NULL, NULL, &total, why, sizeof(why)) != 0)
		fail_msg("summary: %s", why);
	return total.reports;
}

static size_t listed(struct report_store *store)
{
	struct report_entry *entries = NULL;
	size_t count = 0;
	char why[256] = "";

	if (report_store_list(store, NULL, 0, &entries, &count, why, sizeof(why)) != 0)
		fail_msg("list: %s", why);
	report_entries_free(entries, count);
	return count;
}

/* Behaviours */

/* Added, read back field by field, the JSON text and its SHA-256 as received. */
static void round_trip(struct fixture *f)
{
	const struct tlsrpt_report *want[] = { &r1, &r2, &r3 };
	const char *raws[] = { r1_json, r2_json, r3_json };
	const char *domains[] = { "example.com,example.net", "example.com", "example.net" };

	add_three(f);
	for (size_t i = 0; i < 3; i++) {
		struct report_entry entry;
		struct tlsrpt_report *got = NULL;
		char *raw = NULL, sha[65], why[256] = "";
		size_t raw_len = 0;

		if (report_store_get(f->store, f->ids[i], &entry, &got, &raw, &raw_len, why,
				     sizeof(why)) != 0)
			fail_msg("get: %s", why);
		assert_reports_equal(want[i], got);
		assert_int_equal(raw_len, strlen(raws[i]));
		assert_memory_equal(raw, raws[i], raw_len);
		assert_int_equal(raw[raw_len], '\0');
		sha256_hex(raws[i], raw_len, sha);
		assert_string_equal(entry.sha256, sha);
		assert_int_equal(entry.id, f->ids[i]);
		assert_string_equal(entry.organization_name, want[i]->organization_name);
		assert_string_equal(entry.report_id, want[i]->report_id);
		assert_string_equal(entry.domains, domains[i]);
		assert_int_equal(entry.start, want[i]->start);
		assert_int_equal(entry.end, want[i]->end);
		assert_int_equal(entry.received_at, want[i]->end + 3600);
		assert_string_equal(entry.source, "mail");
		assert_int_equal(entry.dkim, DKIM_VERDICT_PASS);
		assert_string_equal(entry.dkim_domain, want[i]->organization_name);
		report_entry_clear(&entry);
		report_entry_clear(&entry);	/* cleared twice: harmless */
		free_report(got);
		free(raw);
	}
	struct report_entry untouched = { .id = 42 };
	assert_int_equal(report_store_get(f->store, f->ids[2] + 1000, &untouched, NULL, NULL, NULL,
					  NULL, 0), 1);
	assert_int_equal(untouched.id, 42);
	assert_true(report_store_ping(f->store, NULL, 0));
	assert_string_equal(report_store_backend(f->store), is_sqlite(f) ? "sqlite" : "postgresql");
}

/* A large JSON text (compressed far below its size) comes back whole. */
static void large_text(struct fixture *f)
{
	enum { SIZE = 3 << 20 };
	char *text = malloc(SIZE), *raw = NULL;
	size_t raw_len = 0;
	int64_t id = 0;

	assert_non_null(text);
	for (size_t i = 0; i < SIZE; i++)
		text[i] = (char)(' ' + (i * 7 + i / 4096) % 90);
	assert_int_equal(add(f->store, &r1, text, SIZE, &id), STORE_ADDED);
	assert_int_equal(report_store_get(f->store, id, NULL, NULL, &raw, &raw_len, NULL, 0), 0);
	assert_int_equal(raw_len, SIZE);
	assert_memory_equal(raw, text, SIZE);
	free(raw);
	free(text);
}

/* text as one gzip member with a file name in its header (a store never writes one). */
static unsigned char *gzip_named(const char *text, size_t *ret_len)
{
	gz_header header = { .name = (Bytef *)"report.json" };
	z_stream z = { 0 };
	size_t cap = strlen(text) + 256;
	unsigned char *out = malloc(cap);

	assert_non_null(out);
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	assert_int_equal(deflateSetHeader(&z, &header), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)text;
	z.avail_in = (uInt)strlen(text);
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*ret_len = z.total_out;
	deflateEnd(&z);
	return out;
}

/*
 * A report that came as one gzip member is stored as received (not
 * compressed again), and read back as its JSON text, with the text's
 * SHA-256; a copy that is not gzip is refused.
 */
static void raw_gzip_kept(struct fixture *f)
{
	static const char text[] = "{\"organization-name\": \"Example\", \"kept\": \"as received\"}";
	size_t gz_len = 0, raw_len = 0;
	unsigned char *gz = gzip_named(text, &gz_len);
	struct report_meta meta = {
		.source = "file", .raw = text, .raw_len = sizeof(text) - 1,
		.raw_gzip = gz, .raw_gzip_len = gz_len,
	};
	char why[256] = "", *raw = NULL;
	int64_t id = -5;

	assert_int_equal(report_store_add(f->store, &r1, &meta, &id, why, sizeof(why)), STORE_ADDED);
	assert_int_equal(report_store_get(f->store, id, NULL, NULL, &raw, &raw_len, why, sizeof(why)), 0);
	assert_int_equal(raw_len, sizeof(text) - 1);
	assert_memory_equal(raw, text, raw_len);
	free(raw);
	if (is_sqlite(f)) {
		sqlite3 *db = NULL;
		sqlite3_stmt *stmt = NULL;
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned md_len = 0;
		char hex[65];

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT raw, sha256 FROM report WHERE id = ?1",
						    -1, &stmt, NULL), SQLITE_OK);
		sqlite3_bind_int64(stmt, 1, id);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		assert_int_equal(sqlite3_column_bytes(stmt, 0), (int)gz_len);
		assert_memory_equal(sqlite3_column_blob(stmt, 0), gz, gz_len);
		assert_true(EVP_Digest(text, sizeof(text) - 1, md, &md_len, EVP_sha256(), NULL));
		for (unsigned i = 0; i < md_len; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		assert_string_equal((const char *)sqlite3_column_text(stmt, 1), hex);
		sqlite3_finalize(stmt);
		sqlite3_close(db);
	}
	/* not gzip: refused before any statement, nothing stored */
	struct tlsrpt_report other = r2;
	id = -5;
	other.report_id = "not gzip";
	meta.raw_gzip = (const unsigned char *)text;
	meta.raw_gzip_len = sizeof(text) - 1;
	assert_int_equal(report_store_add(f->store, &other, &meta, &id, why, sizeof(why)), STORE_FAILED);
	assert_non_null(strstr(why, "not gzip"));
	assert_int_equal(id, -5);
	assert_int_equal(total_reports(f->store), 1);
	free(gz);
}

/* A stored text that is not gzip any more is an error, not a report. */
static void bad_raw(struct fixture *f)
{
	struct report_entry entry = { .id = 42 };
	struct tlsrpt_report *report = NULL;
	char *raw = NULL, why[256] = "";

	add_three(f);
	raw_sqlite_exec(f, "UPDATE report SET raw = x'1f8b0800deadbeef' "
			"WHERE report_id LIKE '2024-01-01%'");
	assert_int_equal(report_store_get(f->store, f->ids[0], &entry, &report, &raw, NULL, why,
					  sizeof(why)), -1);
	assert_int_equal(entry.id, 42);
	assert_null(report);
	assert_null(raw);
	assert_int_equal(report_store_get(f->store, f->ids[0], &entry, NULL, NULL, NULL, NULL, 0), 0);
	assert_int_equal(entry.id, f->ids[0]);
	report_entry_clear(&entry);
}

/* The same submitter and report-id again: the earlier id, nothing counted twice. */
static void duplicate(struct fixture *f)
{
	int64_t id = -1;
	struct tlsrpt_report other = r3;

	add_three(f);
	assert_int_equal(add(f->store, &r1, r1_json, sizeof(r1_json) - 1, &id), STORE_DUPLICATE);
	assert_int_equal(id, f->ids[0]);
	assert_int_equal(add(f->store, &r2, r1_json, 3, &id), STORE_DUPLICATE);
	assert_int_equal(id, f->ids[1]);
	assert_int_equal(total_reports(f->store), 3);
	assert_int_equal(listed(f->store), 3);
	/* the same report-id from another submitter is another report */
	other.organization_name = "mail.ru";
	other.report_id = r1.report_id;
	assert_int_equal(add(f->store, &other, r3_json, sizeof(r3_json) - 1, &id), STORE_ADDED);
	assert_true(id > f->ids[2]);
	assert_int_equal(total_reports(f->store), 4);
}

static void summaries(struct fixture *f)
{
	struct report_filter all = { 0 };
	struct report_filter com = { .domain = "example.com" };
	struct report_filter google = { .reporter = "google.com" };
	struct report_filter later = { .since = T0 + DAY };
	struct report_filter earlier = { .until = T0 + DAY };
	struct report_filter none = { .domain = "example.org" };
	const struct want_row total = { NULL, NULL, 3, 180, 6 };

	add_three(f);
	assert_summary(f->store, &all, GROUP_NONE, &total, NULL, 0);
	assert_summary(f->store, NULL, GROUP_DAY, &total, (const struct want_row[]){
		{ "2024-01-01", NULL, 1, 110, 5 }, { "2024-01-02", NULL, 2, 70, 1 } }, 2);
	assert_summary(f->store, &all, GROUP_REPORTER, &total, (const struct want_row[]){
		{ "google.com", NULL, 2, 130, 5 }, { "microsoft.com", NULL, 1, 50, 1 } }, 2);
	assert_summary(f->store, &all, GROUP_DOMAIN, &total, (const struct want_row[]){
		{ "example.com", NULL, 2, 150, 6 }, { "example.net", NULL, 2, 30, 0 } }, 2);
	assert_summary(f->store, &all, GROUP_MX, &total, (const struct want_row[]){
		{ "mx1.example.com", NULL, 2, 0, 4 }, { "mx2.example.com", NULL, 1, 0, 2 } }, 2);
	assert_summary(f->store, &all, GROUP_RESULT_TYPE, &total, (const struct want_row[]){
		{ "certificate-expired", NULL, 2, 0, 4 },
		{ "starttls-not-supported", NULL, 1, 0, 2 } }, 2);
	assert_summary(f->store, &all, GROUP_DOMAIN_DAY, &total, (const struct want_row[]){
		{ "example.com", "2024-01-01", 1, 100, 5 }, { "example.com", "2024-01-02", 1, 50, 1 },
		{ "example.net", "2024-01-01", 1, 10, 0 }, { "example.net", "2024-01-02", 1, 20, 0 } },
		4);
	assert_summary(f->store, &all, GROUP_DOMAIN_RESULT_TYPE, &total, (const struct want_row[]){
		{ "example.com", "certificate-expired", 2, 0, 4 },
		{ "example.com", "starttls-not-supported", 1, 0, 2 } }, 2);
	assert_summary(f->store, &all, GROUP_DOMAIN_MX, &total, (const struct want_row[]){
		{ "example.com", "mx1.example.com", 2, 0, 4 },
		{ "example.com", "mx2.example.com", 1, 0, 2 } }, 2);
	/* filters */
	assert_summary(f->store, &com, GROUP_DAY, &(struct want_row){ NULL, NULL, 2, 150, 6 },
		       (const struct want_row[]){ { "2024-01-01", NULL, 1, 100, 5 },
						  { "2024-01-02", NULL, 1, 50, 1 } }, 2);
	assert_summary(f->store, &google, GROUP_DOMAIN, &(struct want_row){ NULL, NULL, 2, 130, 5 },
		       (const struct want_row[]){ { "example.com", NULL, 1, 100, 5 },
						  { "example.net", NULL, 2, 30, 0 } }, 2);
	assert_summary(f->store, &later, GROUP_RESULT_TYPE, &(struct want_row){ NULL, NULL, 2, 70, 1 },
		       (const struct want_row[]){ { "certificate-expired", NULL, 1, 0, 1 } }, 1);
	assert_summary(f->store, &earlier, GROUP_REPORTER, &(struct want_row){ NULL, NULL, 1, 110, 5 },
		       (const struct want_row[]){ { "google.com", NULL, 1, 110, 5 } }, 1);
	assert_summary(f->store, &none, GROUP_DAY, &(struct want_row){ NULL, NULL, 0, 0, 0 }, NULL, 0);
	/* a group that is not one */
	struct summary_row *rows = NULL;
	size_t count = 7;
	char why[128] = "";
	assert_int_equal(report_store_summary(f->store, NULL, (enum report_group)99, &rows, &count,
					      NULL, why, sizeof(why)), -1);
	assert_null(rows);
	assert_int_equal(count, 7);
	assert_non_null(strstr(why, "group"));
}

/* A report with two policies for one domain is one report of that domain. */
static void one_domain_twice(struct fixture *f)
{
	struct tlsrpt_policy policies[] = {
		{ "sts", "example.org", NULL, 0, NULL, 0, 1, 0, NULL, 0 },
		{ "tlsa", "example.org", NULL, 0, NULL, 0, 2, 1, NULL, 0 },
		{ "sts", "example.com", NULL, 0, NULL, 0, 4, 0, NULL, 0 },
	};
	struct tlsrpt_report report = r2;
	struct report_filter org = { .domain = "example.org" };
	int64_t id;

	report.policies = policies;
	report.policy_count = 3;
	assert_int_equal(add(f->store, &report, r2_json, 5, &id), STORE_ADDED);
	assert_summary(f->store, NULL, GROUP_DOMAIN, &(struct want_row){ NULL, NULL, 1, 7, 1 },
		       (const struct want_row[]){ { "example.com", NULL, 1, 4, 0 },
						  { "example.org", NULL, 1, 3, 1 } }, 2);
	assert_summary(f->store, &org, GROUP_REPORTER, &(struct want_row){ NULL, NULL, 1, 3, 1 },
		       (const struct want_row[]){ { "microsoft.com", NULL, 1, 3, 1 } }, 1);
	assert_summary(f->store, NULL, GROUP_DAY, &(struct want_row){ NULL, NULL, 1, 7, 1 },
		       (const struct want_row[]){ { "2024-01-02", NULL, 1, 7, 1 } }, 1);
	assert_summary(f->store, NULL, GROUP_DOMAIN_DAY, &(struct want_row){ NULL, NULL, 1, 7, 1 },
		       (const struct want_row[]){ { "example.com", "2024-01-02", 1, 4, 0 },
						  { "example.org", "2024-01-02", 1, 3, 1 } }, 2);
}

static void list(struct fixture *f)
{
	struct report_filter net = { .domain = "example.net" };
	struct report_filter ms = { .reporter = "microsoft.com" };
	struct report_entry *e = NULL;
	size_t n = 0;

	add_three(f);
	assert_int_equal(report_store_list(f->store, NULL, 0, &e, &n, NULL, 0), 0);
	assert_int_equal(n, 3);
	assert_int_equal(e[0].id, f->ids[2]);	/* same start: the later row first */
	assert_int_equal(e[1].id, f->ids[1]);
	assert_int_equal(e[2].id, f->ids[0]);
	assert_int_equal(e[2].successes, 110);
	assert_int_equal(e[2].failures, 5);
	report_entries_free(e, n);
	assert_int_equal(report_store_list(f->store, NULL, 2, &e, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[1].id, f->ids[1]);
	report_entries_free(e, n);
	assert_int_equal(report_store_list(f->store, &net, 0, &e, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].id, f->ids[2]);
	assert_int_equal(e[1].id, f->ids[0]);
	assert_string_equal(e[1].domains, "example.com,example.net");
	report_entries_free(e, n);
	assert_int_equal(report_store_list(f->store, &ms, 0, &e, &n, NULL, 0), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].id, f->ids[1]);
	assert_null(e[0].domains == NULL ? NULL : strchr(e[0].domains, ','));
	report_entries_free(e, n);
}

static void reporters(struct fixture *f)
{
	struct reporter_row *rows = NULL;
	size_t n = 0;

	add_three(f);
	assert_int_equal(report_store_reporters(f->store, NULL, &rows, &n, NULL, 0), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].organization_name, "google.com");
	assert_string_equal(rows[0].domain, "example.com");
	assert_int_equal(rows[0].reports, 1);
	assert_int_equal(rows[0].first_start, T0);
	assert_int_equal(rows[0].last_end, T0 + DAY - 1);
	assert_string_equal(rows[1].organization_name, "google.com");
	assert_string_equal(rows[1].domain, "example.net");
	assert_int_equal(rows[1].reports, 2);
	assert_int_equal(rows[1].first_start, T0);
	assert_int_equal(rows[1].last_end, T0 + 2 * DAY - 1);
	assert_string_equal(rows[2].organization_name, "microsoft.com");
	assert_int_equal(rows[2].reports, 1);
	assert_int_equal(rows[2].first_start, T0 + DAY);
	reporter_rows_free(rows, n);
	struct report_filter com = { .domain = "example.com" };
	assert_int_equal(report_store_reporters(f->store, &com, &rows, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[1].organization_name, "microsoft.com");
	reporter_rows_free(rows, n);
}

static void first_seen(struct fixture *f)
{
	struct first_seen_row *rows = NULL;
	size_t n = 0;
	struct report_filter before = { .until = T0 + DAY, .since = T0 + DAY };

	add_three(f);
	assert_int_equal(report_store_first_seen(f->store, NULL, GROUP_DOMAIN_RESULT_TYPE, &rows, &n,
						 NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].domain, "example.com");
	assert_string_equal(rows[0].key, "certificate-expired");
	assert_int_equal(rows[0].first_start, T0);
	assert_int_equal(rows[0].last_start, T0 + DAY);
	assert_int_equal(rows[0].failures, 4);
	assert_string_equal(rows[1].key, "starttls-not-supported");
	assert_int_equal(rows[1].first_start, T0);
	assert_int_equal(rows[1].last_start, T0);
	assert_int_equal(rows[1].failures, 2);
	first_seen_rows_free(rows, n);
	/* since does not apply: first seen is over all time before until */
	assert_int_equal(report_store_first_seen(f->store, &before, GROUP_DOMAIN_MX, &rows, &n,
						 NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].key, "mx1.example.com");
	assert_int_equal(rows[0].last_start, T0);
	assert_int_equal(rows[0].failures, 3);
	assert_string_equal(rows[1].key, "mx2.example.com");
	first_seen_rows_free(rows, n);
	rows = NULL;
	n = 5;
	assert_int_equal(report_store_first_seen(f->store, NULL, GROUP_DAY, &rows, &n, NULL, 0), -1);
	assert_null(rows);
	assert_int_equal(n, 5);
}

static void failures(struct fixture *f)
{
	struct failure_row *rows = NULL;
	size_t n = 0;
	struct report_filter google = { .reporter = "google.com" };

	add_three(f);
	assert_int_equal(report_store_failures(f->store, NULL, 2, &rows, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].report, f->ids[1]);
	assert_string_equal(rows[0].organization_name, "microsoft.com");
	assert_string_equal(rows[0].domain, "example.com");
	assert_int_equal(rows[0].start, T0 + DAY);
	assert_string_equal(rows[0].sending_mta_ip, "203.0.113.9");
	assert_int_equal(rows[0].failed_session_count, 1);
	assert_string_equal(rows[1].result_type, "starttls-not-supported");
	assert_null(rows[1].sending_mta_ip);
	failure_rows_free(rows, n);
	assert_int_equal(report_store_failures(f->store, &google, 0, &rows, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[1].result_type, "certificate-expired");
	assert_string_equal(rows[1].receiving_mx_hostname, "mx1.example.com");
	assert_string_equal(rows[1].receiving_ip, "198.51.100.1");
	assert_string_equal(rows[1].additional_information, "the certificate expired");
	assert_string_equal(rows[1].failure_reason_code, "X509_V_ERR_CERT_HAS_EXPIRED");
	failure_rows_free(rows, n);
}

/* Reports that ended before the time go, with their policies and failure details. */
static void prune(struct fixture *f)
{
	struct failure_row *rows = NULL;
	size_t n = 0;
	uint64_t removed = 99;

	add_three(f);
	assert_int_equal(report_store_prune(f->store, T0 + DAY - 1, &removed, NULL, 0), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(report_store_prune(f->store, T0 + DAY, &removed, NULL, 0), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(report_store_get(f->store, f->ids[0], NULL, NULL, NULL, NULL, NULL, 0), 1);
	assert_summary(f->store, NULL, GROUP_DOMAIN, &(struct want_row){ NULL, NULL, 2, 70, 1 },
		       (const struct want_row[]){ { "example.com", NULL, 1, 50, 1 },
						  { "example.net", NULL, 1, 20, 0 } }, 2);
	assert_int_equal(report_store_failures(f->store, NULL, 0, &rows, &n, NULL, 0), 0);
	assert_int_equal(n, 1);
	failure_rows_free(rows, n);
	/* the pruned report can come again */
	int64_t id = 0;
	assert_int_equal(add(f->store, &r1, r1_json, sizeof(r1_json) - 1, &id), STORE_ADDED);
	assert_int_equal(total_reports(f->store), 3);
}

/* A report stored again after the store is reopened; the schema version recorded. */
static void reopen_and_schema(struct fixture *f)
{
	char why[256] = "";
	int64_t id = 0;

	add_three(f);
	f->store = report_store_close(f->store);
	f->store = open_store(f, 2000);
	assert_int_equal(add(f->store, &r2, r2_json, sizeof(r2_json) - 1, &id), STORE_DUPLICATE);
	assert_int_equal(id, f->ids[1]);
	f->store = report_store_close(f->store);
	if (is_sqlite(f))
		raw_sqlite_exec(f, "PRAGMA user_version = 99");
	else
		raw_postgres_exec("UPDATE report_schema SET version = 99");
	errno = 0;
	assert_null(report_store_open(f->location, NULL, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(why, "schema version 99"));
	if (is_sqlite(f))
		raw_sqlite_exec(f, "PRAGMA user_version = 1");
	else
		raw_postgres_exec("UPDATE report_schema SET version = 1");
	f->store = open_store(f, 2000);
	assert_int_equal(total_reports(f->store), 3);
}

/* A statement failing halfway through a report (a trigger's doing) leaves nothing of it. */
static void all_or_nothing(struct fixture *f)
{
	int64_t id = -5;
	char why[256] = "";
	struct report_meta meta = { .source = "https", .raw = r1_json, .raw_len = 3 };
	struct tlsrpt_failure boom = { .result_type = "boom" };
	struct tlsrpt_policy policies[] = { r1_policies[0], r1_policies[1] };
	struct tlsrpt_report report = r1;

	add_three(f);
	policies[1].failures = &boom;
	policies[1].failure_count = 1;
	report.report_id = "another";
	report.policies = policies;
	if (is_sqlite(f))
		raw_sqlite_exec(f, "CREATE TRIGGER boom BEFORE INSERT ON report_failure "
				"WHEN NEW.result_type = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");
	else
		raw_postgres_exec("CREATE OR REPLACE FUNCTION report_test_boom() RETURNS trigger "
				  "LANGUAGE plpgsql AS $$ BEGIN IF NEW.result_type = 'boom' THEN "
				  "RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;"
				  "CREATE TRIGGER boom BEFORE INSERT ON report_failure FOR EACH ROW "
				  "EXECUTE FUNCTION report_test_boom()");
	/* a failed statement is the store's fault, not the report's: try again later */
	assert_int_equal(report_store_add(f->store, &report, &meta, &id, why, sizeof(why)),
			 STORE_UNAVAILABLE);
	assert_int_equal(id, -5);
	assert_non_null(strstr(why, "boom"));
	assert_int_equal(total_reports(f->store), 3);
	assert_int_equal(listed(f->store), 3);
	if (is_sqlite(f))
		raw_sqlite_exec(f, "DROP TRIGGER boom");
	else
		raw_postgres_exec("DROP TRIGGER boom ON report_failure;"
				  "DROP FUNCTION report_test_boom()");
	assert_int_equal(report_store_add(f->store, &report, &meta, &id, why, sizeof(why)),
			 STORE_ADDED);
	assert_int_equal(total_reports(f->store), 4);
}

/* A store opened read-only answers and refuses to add. */
static void read_only(struct fixture *f)
{
	struct report_store_options options = { .timeout_ms = 500, .read_only = true };
	char why[256] = "";
	int64_t id = -5;

	add_three(f);
	struct report_store *reader = report_store_open(f->location, &options, why, sizeof(why));
	if (reader == NULL)
		fail_msg("read-only open: %s", why);
	assert_int_equal(total_reports(reader), 3);
	struct tlsrpt_report report = r1;
	report.report_id = "read-only";
	struct report_meta meta = { .source = "file", .raw = "{}", .raw_len = 2 };
	assert_int_equal(report_store_add(reader, &report, &meta, &id, why, sizeof(why)),
			 STORE_FAILED);
	assert_int_equal(id, -5);
	assert_non_null(strstr(why, "queries only"));
	assert_int_equal(report_store_prune(reader, T0 + 10 * DAY, NULL, why, sizeof(why)), -1);
	report_store_close(reader);
	assert_int_equal(total_reports(f->store), 3);
}

/*
 * Four processes adding 200 reports each to one store: all 800 there, no
 * error.  They also race to add the same 50 reports: each is stored once,
 * the others are told it is a duplicate.
 */
static void concurrent_writers(struct fixture *f)
{
	enum { WRITERS = 4, EACH = 200, SHARED = 50 };
	pid_t pids[WRITERS];

	f->store = report_store_close(f->store);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] > 0)
			continue;
		struct report_store_options options = { .timeout_ms = 60000 };
		struct report_store *store = report_store_open(f->location, &options, NULL, 0);
		char org[32], id_text[32];
		int bad = store == NULL;

		for (int i = 0; !bad && i < EACH; i++) {
			struct tlsrpt_report report = r2;
			enum store_status status;
			int64_t id;
			snprintf(org, sizeof(org), "writer%d.example", w);
			snprintf(id_text, sizeof(id_text), "%d", i);
			report.organization_name = org;
			report.report_id = id_text;
			report.start = T0 + i * 600;
			bad = add(store, &report, r2_json, sizeof(r2_json) - 1, &id) != STORE_ADDED;
			if (bad || i >= SHARED)
				continue;
			snprintf(id_text, sizeof(id_text), "shared-%d", i);
			report.organization_name = "shared.example";
			status = add(store, &report, r2_json, sizeof(r2_json) - 1, &id);
			bad = status != STORE_ADDED && status != STORE_DUPLICATE;
		}
		report_store_close(store);
		_exit(bad);
	}
	for (int w = 0; w < WRITERS; w++) {
		int status = 0;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	f->store = open_store(f, 2000);
	assert_int_equal(total_reports(f->store), WRITERS * EACH + SHARED);
	assert_int_equal(listed(f->store), WRITERS * EACH + SHARED);
	struct report_filter shared = { .reporter = "shared.example" };
	struct summary_row total = { 0 };
	assert_int_equal(report_store_summary(f->store, &shared, GROUP_NONE, NULL, NULL, &total,
					      NULL, 0), 0);
	assert_int_equal(total.reports, SHARED);
	assert_int_equal(total.successes, SHARED * 50);
}

/*
 * Another connection holds the write lock: the add waits the timeout, says
 * try later, leaves nothing; a path that cannot be opened is refused.
 */
static void sqlite_unavailable(struct fixture *f)
{
	sqlite3 *db = NULL;
	int64_t id = -5;
	char why[256] = "";
	long long start;

	add_three(f);
	f->store = report_store_close(f->store);
	f->store = open_store(f, 200);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	struct tlsrpt_report report = r3;
	report.report_id = "later";
	struct report_meta meta = { .source = "file", .raw = r3_json, .raw_len = 4 };
	start = monotonic_ms();
	assert_int_equal(report_store_add(f->store, &report, &meta, &id, why, sizeof(why)),
			 STORE_UNAVAILABLE);
	assert_true(monotonic_ms() - start >= 150);
	assert_int_equal(id, -5);
	assert_non_null(strstr(why, "locked"));
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(total_reports(f->store), 3);
	assert_int_equal(report_store_add(f->store, &report, &meta, &id, why, sizeof(why)), STORE_ADDED);
	assert_int_equal(total_reports(f->store), 4);
	/* a file this process may not open: as another user, or chmod 000 */
	f->store = report_store_close(f->store);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		bool root = getuid() == 0;
		if (root && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		if (!root && chmod(f->path, 0) != 0)
			_exit(3);
		errno = 0;
		struct report_store *store = report_store_open(f->location, NULL, why, sizeof(why));
		_exit(store != NULL ? 1 : errno == EAGAIN || errno == EINVAL ? 0 : 2);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(f->path, 0640), 0);
	f->store = open_store(f, 200);
	assert_int_equal(total_reports(f->store), 4);
	/* a file in a directory that is not there */
	char missing[200];
	snprintf(missing, sizeof(missing), "sqlite:%s/no/such/dir/reports.db", f->dir);
	errno = 0;
	assert_null(report_store_open(missing, NULL, why, sizeof(why)));
	assert_int_equal(errno, EAGAIN);
	errno = 0;
	assert_null(report_store_open("sqlite:", NULL, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_null(report_store_open("redis://localhost", NULL, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
}

/*
 * A store whose directory and files are read-only (its -wal and -shm there,
 * another connection has it open): the open fails, try later, and says
 * what could not be done, not SQLite's "not an error" of the ROLLBACK
 * after it.  As another user when root (root may write anyway).
 */
static void sqlite_read_only_directory(struct fixture *f)
{
	const char *suffixes[] = { "", "-wal", "-shm" };
	char path[160];
	int fds[2];

	add_three(f);		/* f->store stays open: -wal and -shm stay */
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char why[256] = "";
		bool root = getuid() == 0;

		close(fds[0]);
		if (root && chown(f->dir, 65534, 65534) != 0)
			_exit(3);
		for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
			snprintf(path, sizeof(path), "%s%s", f->path, suffixes[i]);
			if (access(path, F_OK) != 0 || (root && chown(path, 65534, 65534) != 0) ||
			    chmod(path, 0440) != 0)
				_exit(3);
		}
		if (chmod(f->dir, 0555) != 0 || (root && (setgid(65534) != 0 || setuid(65534) != 0)))
			_exit(3);
		errno = 0;
		struct report_store *store = report_store_open(f->location, NULL, why, sizeof(why));
		int saved = errno;
		if (write(fds[1], why, strlen(why)) < 0)
			_exit(3);
		_exit(store != NULL ? 1 : saved == EAGAIN ? 0 : 2);
	}
	close(fds[1]);
	char why[300] = "";
	ssize_t n, used = 0;
	while (used < (ssize_t)sizeof(why) - 1 &&
	       (n = read(fds[0], why + used, sizeof(why) - 1 - (size_t)used)) > 0)
		used += n;
	close(fds[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_true(WIFEXITED(status));
	print_message("  read-only directory: %s\n", why);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_null(strstr(why, "not an error"));
	assert_non_null(strstr(why, f->path));
	assert_non_null(strstr(why, "writing the schema version: attempt to write a readonly database"));
	for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
		snprintf(path, sizeof(path), "%s%s", f->path, suffixes[i]);
		assert_int_equal(chmod(path, 0640), 0);
	}
	assert_int_equal(total_reports(f->store), 3);
}

static void harness(const char *name)
{
	const char *command = env(name);

	if (command == NULL)
		fail_msg("%s is not set", name);
	if (system(command) != 0)
		fail_msg("%s failed: %s", name, command);
}

/* The server stops: adds say try later, quickly; it starts: the same handle works again. */
static void postgres_down(struct fixture *f)
{
	int64_t id = -5;
	char why[256] = "";
	struct tlsrpt_report report = r3;
	struct report_meta meta = { .source = "https", .raw = r3_json, .raw_len = 4 };

	if (env("MTASTS_TEST_POSTGRES_STOP") == NULL || env("MTASTS_TEST_POSTGRES_START") == NULL) {
		print_message("  (MTASTS_TEST_POSTGRES_STOP/START unset: the server stays up)\n");
		return;
	}
	add_three(f);
	report.report_id = "while-down";
	harness("MTASTS_TEST_POSTGRES_STOP");
	for (int i = 0; i < 3; i++) {
		long long start = monotonic_ms();
		assert_int_equal(report_store_add(f->store, &report, &meta, &id, why, sizeof(why)),
				 STORE_UNAVAILABLE);
		assert_true(monotonic_ms() - start < 3000);
		assert_false(report_store_ping(f->store, NULL, 0));
	}
	print_message("  server down: %s\n", why);
	assert_int_equal(id, -5);
	harness("MTASTS_TEST_POSTGRES_START");
	usleep(1100 * 1000);		/* the reconnect interval */
	assert_int_equal(report_store_add(f->store, &report, &meta, &id, why, sizeof(why)), STORE_ADDED);
	assert_int_equal(total_reports(f->store), 4);
	assert_int_equal(listed(f->store), 4);
}

/* Batches */

/* Another handle on the same store, for queries only (it takes no lock to open). */
static struct report_store *observer(const struct fixture *f)
{
	struct report_store_options options = { .timeout_ms = 2000, .read_only = true };
	char why[256] = "";
	struct report_store *store = report_store_open(f->location, &options, why, sizeof(why));

	if (store == NULL)
		fail_msg("opening an observer: %s", why);
	return store;
}

/* A copy of r2 under another report-id (the buffer outlives the report). */
static struct tlsrpt_report report_named(char *buf, size_t size, const char *name)
{
	struct tlsrpt_report report = r2;

	snprintf(buf, size, "%s", name);
	report.report_id = buf;
	return report;
}

static void batch_begin(struct report_store *store)
{
	char why[256] = "";

	if (report_store_batch_begin(store, why, sizeof(why)) != 0)
		fail_msg("batch begin: %s", why);
}

/* A trigger that fails the insert of a failure detail whose result type is "boom". */
static void install_boom(const struct fixture *f, const char *sqlite_raise)
{
	char sql[256];

	if (is_sqlite(f)) {
		snprintf(sql, sizeof(sql), "CREATE TRIGGER boom BEFORE INSERT ON report_failure "
			 "WHEN NEW.result_type = 'boom' BEGIN SELECT RAISE(%s, 'boom'); END", sqlite_raise);
		raw_sqlite_exec(f, sql);
	} else
		raw_postgres_exec("CREATE OR REPLACE FUNCTION report_test_boom() RETURNS trigger "
				  "LANGUAGE plpgsql AS $$ BEGIN IF NEW.result_type = 'boom' THEN "
				  "RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;"
				  "CREATE TRIGGER boom BEFORE INSERT ON report_failure FOR EACH ROW "
				  "EXECUTE FUNCTION report_test_boom()");
}

/* Reports added in a batch: none seen by another connection until the commit, all after. */
static void batch_visible_at_commit(struct fixture *f)
{
	struct report_store *other = observer(f);
	int64_t ids[3] = { 0 };
	char why[256] = "";
	struct tlsrpt_report *back = NULL;

	batch_begin(f->store);
	assert_int_equal(add(f->store, &r1, r1_json, sizeof(r1_json) - 1, &ids[0]), STORE_ADDED);
	assert_int_equal(add(f->store, &r2, r2_json, sizeof(r2_json) - 1, &ids[1]), STORE_ADDED);
	assert_int_equal(add(f->store, &r3, r3_json, sizeof(r3_json) - 1, &ids[2]), STORE_ADDED);
	assert_true(ids[0] > 0 && ids[0] < ids[1] && ids[1] < ids[2]);
	assert_int_equal(total_reports(other), 0);
	assert_int_equal(listed(other), 0);
	assert_int_equal(report_store_get(other, ids[1], NULL, NULL, NULL, NULL, why, sizeof(why)), 1);
	assert_int_equal(report_store_batch_commit(f->store, why, sizeof(why)), STORE_ADDED);
	assert_int_equal(total_reports(other), 3);
	assert_int_equal(listed(other), 3);
	assert_int_equal(report_store_get(other, ids[1], NULL, &back, NULL, NULL, why, sizeof(why)), 0);
	assert_reports_equal(&r2, back);
	free_report(back);
	/* the store goes on adding alone, each report committed at once */
	struct tlsrpt_report later = r3;
	later.report_id = "after the batch";
	assert_int_equal(add(f->store, &later, r3_json, sizeof(r3_json) - 1, &ids[0]), STORE_ADDED);
	assert_int_equal(total_reports(other), 4);
	report_store_close(other);
}

/*
 * A duplicate in a batch, of a stored report and of one added earlier in
 * the same batch: told apart, its earlier id, nothing of it stored twice,
 * and the reports around it kept.
 */
static void batch_duplicates(struct fixture *f)
{
	char a_name[32], b_name[32], why[256] = "";
	struct tlsrpt_report a = report_named(a_name, sizeof(a_name), "in-batch-a");
	struct tlsrpt_report b = report_named(b_name, sizeof(b_name), "in-batch-b");
	int64_t id_a = 0, id_b = 0, id = -1;
	struct summary_row total = { 0 };

	add_three(f);
	batch_begin(f->store);
	assert_int_equal(add(f->store, &a, r2_json, sizeof(r2_json) - 1, &id_a), STORE_ADDED);
	assert_int_equal(add(f->store, &r2, r2_json, sizeof(r2_json) - 1, &id), STORE_DUPLICATE);
	assert_int_equal(id, f->ids[1]);
	assert_int_equal(add(f->store, &a, r1_json, 3, &id), STORE_DUPLICATE);
	assert_int_equal(id, id_a);
	assert_int_equal(add(f->store, &b, r2_json, sizeof(r2_json) - 1, &id_b), STORE_ADDED);
	assert_true(id_b > id_a);
	assert_int_equal(report_store_batch_commit(f->store, why, sizeof(why)), STORE_ADDED);
	assert_int_equal(total_reports(f->store), 5);
	assert_int_equal(listed(f->store), 5);
	/* r2 three times (itself, a, b): its 50 successes and its failure detail three times */
	struct report_filter microsoft = { .reporter = "microsoft.com" };
	assert_int_equal(report_store_summary(f->store, &microsoft, GROUP_NONE, NULL, NULL, &total,
					      why, sizeof(why)), 0);
	assert_int_equal(total.reports, 3);
	assert_int_equal(total.successes, 150);
	assert_int_equal(total.failures, 3);
	struct failure_row *rows = NULL;
	size_t count = 0;
	assert_int_equal(report_store_failures(f->store, &microsoft, 0, &rows, &count, why,
					       sizeof(why)), 0);
	assert_int_equal(count, 3);
	failure_rows_free(rows, count);
}

/*
 * Reports that fail in a batch (one refused before any statement, one whose
 * failure detail a trigger refuses halfway through) take back only their
 * own rows: the others are committed.
 */
static void batch_failure_keeps_others(struct fixture *f)
{
	char a_name[32], b_name[32], why[256] = "";
	struct tlsrpt_report a = report_named(a_name, sizeof(a_name), "kept-a");
	struct tlsrpt_report b = report_named(b_name, sizeof(b_name), "kept-b");
	struct tlsrpt_report no_org = r3;
	struct tlsrpt_failure boom = { .result_type = "boom", .failed_session_count = 1 };
	struct tlsrpt_policy policies[] = { r1_policies[0], r1_policies[1] };
	struct tlsrpt_report boomed = r1;
	struct report_meta meta = { .source = "file", .raw = r1_json, .raw_len = 3 };
	int64_t id_a = 0, id_b = 0, id = -5;
	struct summary_row total = { 0 };

	install_boom(f, "ABORT");
	policies[1].failures = &boom;
	policies[1].failure_count = 1;
	boomed.policies = policies;
	no_org.organization_name = NULL;
	batch_begin(f->store);
	assert_int_equal(add(f->store, &a, r2_json, sizeof(r2_json) - 1, &id_a), STORE_ADDED);
	assert_int_equal(report_store_add(f->store, &no_org, &meta, &id, why, sizeof(why)),
			 STORE_FAILED);
	assert_non_null(strstr(why, "organization-name"));
	/* a failed statement: the store's fault, to be retried */
	assert_int_equal(report_store_add(f->store, &boomed, &meta, &id, why, sizeof(why)),
			 STORE_UNAVAILABLE);
	assert_non_null(strstr(why, "boom"));
	assert_int_equal(id, -5);
	assert_int_equal(add(f->store, &b, r2_json, sizeof(r2_json) - 1, &id_b), STORE_ADDED);
	assert_int_equal(report_store_batch_commit(f->store, why, sizeof(why)), STORE_ADDED);
	assert_int_equal(total_reports(f->store), 2);
	assert_int_equal(listed(f->store), 2);
	/* nothing of the report refused halfway: its first policy's rows were taken back too */
	assert_int_equal(report_store_summary(f->store, NULL, GROUP_NONE, NULL, NULL, &total, why,
					      sizeof(why)), 0);
	assert_int_equal(total.successes, 100);
	assert_int_equal(total.failures, 2);
	struct report_filter google = { .reporter = "google.com" };
	assert_int_equal(report_store_summary(f->store, &google, GROUP_NONE, NULL, NULL, &total, why,
					      sizeof(why)), 0);
	assert_int_equal(total.reports, 0);
	assert_int_equal(total.sessions, 0);
	struct failure_row *rows = NULL;
	size_t count = 0;
	assert_int_equal(report_store_failures(f->store, &google, 0, &rows, &count, why,
					       sizeof(why)), 0);
	assert_int_equal(count, 0);
	failure_rows_free(rows, count);
}

/* Abort takes back all of a batch, and closing with a batch open does too. */
static void batch_abort_and_close(struct fixture *f)
{
	struct report_store *other = observer(f);
	int64_t id = 0, again = 0;
	char why[256] = "";

	batch_begin(f->store);
	assert_int_equal(report_store_batch_begin(f->store, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "already open"));
	assert_int_equal(add(f->store, &r1, r1_json, sizeof(r1_json) - 1, &id), STORE_ADDED);
	assert_int_equal(add(f->store, &r2, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	report_store_batch_abort(f->store);
	assert_int_equal(total_reports(f->store), 0);
	assert_int_equal(total_reports(other), 0);
	assert_int_equal(report_store_batch_commit(f->store, why, sizeof(why)), STORE_FAILED);
	assert_non_null(strstr(why, "no batch"));
	/* taken back whole: added again, it is new */
	assert_int_equal(add(f->store, &r1, r1_json, sizeof(r1_json) - 1, &again), STORE_ADDED);
	assert_int_equal(total_reports(other), 1);

	batch_begin(f->store);
	assert_int_equal(add(f->store, &r2, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	assert_int_equal(add(f->store, &r3, r3_json, sizeof(r3_json) - 1, &id), STORE_ADDED);
	f->store = report_store_close(f->store);
	assert_int_equal(total_reports(other), 1);
	f->store = open_store(f, 2000);
	assert_int_equal(total_reports(f->store), 1);
	assert_int_equal(add(f->store, &r2, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	assert_int_equal(add(f->store, &r1, r1_json, sizeof(r1_json) - 1, &id), STORE_DUPLICATE);
	assert_int_equal(id, again);
	/* a store open for queries only has no batch */
	assert_int_equal(report_store_batch_begin(other, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "queries only"));
	report_store_close(other);
}

/*
 * SQLite ends the whole transaction on its own (here a trigger's
 * RAISE(ROLLBACK); a full disk or an I/O error does the same): the reports
 * after it are refused, not committed alone, and the commit says try
 * later: nothing of the batch is stored.
 */
static void batch_lost_sqlite(struct fixture *f)
{
	char a_name[32], b_name[32], why[256] = "";
	struct tlsrpt_report a = report_named(a_name, sizeof(a_name), "lost-a");
	struct tlsrpt_report b = report_named(b_name, sizeof(b_name), "lost-b");
	struct tlsrpt_failure boom = { .result_type = "boom", .failed_session_count = 1 };
	struct tlsrpt_policy policies[] = { r1_policies[0] };
	struct tlsrpt_report boomed = r1;
	struct report_meta meta = { .source = "file", .raw = r1_json, .raw_len = 3 };
	int64_t id = -5;

	add_three(f);
	install_boom(f, "ROLLBACK");
	policies[0].failures = &boom;
	policies[0].failure_count = 1;
	boomed.policies = policies;
	boomed.policy_count = 1;
	boomed.report_id = "rolls back";
	batch_begin(f->store);
	assert_int_equal(add(f->store, &a, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	/* a failed statement: the store's fault, to be retried */
	assert_int_equal(report_store_add(f->store, &boomed, &meta, &id, why, sizeof(why)),
			 STORE_UNAVAILABLE);
	assert_non_null(strstr(why, "boom"));
	id = -5;
	assert_int_equal(report_store_add(f->store, &b, &meta, &id, why, sizeof(why)),
			 STORE_UNAVAILABLE);
	assert_int_equal(id, -5);
	assert_non_null(strstr(why, "taken back"));
	assert_int_equal(report_store_batch_commit(f->store, why, sizeof(why)), STORE_UNAVAILABLE);
	assert_non_null(strstr(why, "boom"));
	assert_int_equal(total_reports(f->store), 3);
	assert_int_equal(listed(f->store), 3);
	/* the store is whole again: a new batch commits */
	raw_sqlite_exec(f, "DROP TRIGGER boom");
	batch_begin(f->store);
	assert_int_equal(add(f->store, &a, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	assert_int_equal(add(f->store, &b, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	assert_int_equal(report_store_batch_commit(f->store, why, sizeof(why)), STORE_ADDED);
	assert_int_equal(total_reports(f->store), 5);
}

/* The server stops between the adds and the commit: try later, and nothing is stored. */
static void batch_commit_fails_postgres(struct fixture *f)
{
	char a_name[32], b_name[32], why[256] = "";
	struct tlsrpt_report a = report_named(a_name, sizeof(a_name), "down-a");
	struct tlsrpt_report b = report_named(b_name, sizeof(b_name), "down-b");
	int64_t id = 0;

	if (env("MTASTS_TEST_POSTGRES_STOP") == NULL || env("MTASTS_TEST_POSTGRES_START") == NULL) {
		print_message("  (MTASTS_TEST_POSTGRES_STOP/START unset: the server stays up)\n");
		return;
	}
	add_three(f);
	batch_begin(f->store);
	assert_int_equal(add(f->store, &a, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	assert_int_equal(add(f->store, &b, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	harness("MTASTS_TEST_POSTGRES_STOP");
	assert_int_equal(report_store_batch_commit(f->store, why, sizeof(why)), STORE_UNAVAILABLE);
	print_message("  commit with the server down: %s\n", why);
	harness("MTASTS_TEST_POSTGRES_START");
	usleep(1100 * 1000);		/* the reconnect interval */
	assert_int_equal(total_reports(f->store), 3);
	assert_int_equal(listed(f->store), 3);
	/* both again, now stored: they were not there */
	batch_begin(f->store);
	assert_int_equal(add(f->store, &a, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	assert_int_equal(add(f->store, &b, r2_json, sizeof(r2_json) - 1, &id), STORE_ADDED);
	assert_int_equal(report_store_batch_commit(f->store, why, sizeof(why)), STORE_ADDED);
	assert_int_equal(total_reports(f->store), 5);
}

/* The table */

struct behaviour {
	const char *name;
	void (*run)(struct fixture *f);
	const char *only;		/* the one backend it is for, or NULL: all */
};

static const struct behaviour behaviours[] = {
	{ "round_trip", round_trip, NULL },
	{ "large_text", large_text, NULL },
	{ "raw_gzip_kept", raw_gzip_kept, NULL },
	{ "duplicate", duplicate, NULL },
	{ "summaries", summaries, NULL },
	{ "one_domain_twice", one_domain_twice, NULL },
	{ "list", list, NULL },
	{ "reporters", reporters, NULL },
	{ "first_seen", first_seen, NULL },
	{ "failures", failures, NULL },
	{ "prune", prune, NULL },
	{ "reopen_and_schema", reopen_and_schema, NULL },
	{ "all_or_nothing", all_or_nothing, NULL },
	{ "read_only", read_only, NULL },
	{ "bad_raw", bad_raw, "sqlite" },
	{ "concurrent_writers", concurrent_writers, NULL },
	{ "sqlite_unavailable", sqlite_unavailable, "sqlite" },
	{ "sqlite_read_only_directory", sqlite_read_only_directory, "sqlite" },
	{ "postgres_down", postgres_down, "postgres" },
	{ "batch_visible_at_commit", batch_visible_at_commit, NULL },
	{ "batch_duplicates", batch_duplicates, NULL },
	{ "batch_failure_keeps_others", batch_failure_keeps_others, NULL },
	{ "batch_abort_and_close", batch_abort_and_close, NULL },
	{ "batch_lost_sqlite", batch_lost_sqlite, "sqlite" },
	{ "batch_commit_fails_postgres", batch_commit_fails_postgres, "postgres" },
};

struct pairing {
	const struct backend *backend;
	const struct behaviour *behaviour;
};

static int setup(void **state)
{
	const struct pairing *p = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	f->backend = p->backend;
	f->behaviour = p->behaviour;
	if (is_sqlite(f)) {
		snprintf(f->dir, sizeof(f->dir), "%s/report_store.XXXXXX",
			 tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->path, sizeof(f->path), "%s/reports.db", f->dir);
		snprintf(f->location, sizeof(f->location), "sqlite:%s", f->path);
	} else {
		postgres_location(f->location, sizeof(f->location));
		f->backend->reset();
	}
	f->store = open_store(f, 2000);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *suffixes[] = { "", "-wal", "-shm", "-journal" };
	char path[160];

	report_store_close(f->store);
	if (f->dir[0] != '\0') {
		for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
			snprintf(path, sizeof(path), "%s%s", f->path, suffixes[i]);
			unlink(path);
		}
		assert_int_equal(rmdir(f->dir), 0);
	}
	free(f);
	return 0;
}

static void run(void **state)
{
	struct fixture *f = *state;

	f->behaviour->run(f);
}

int main(void)
{
	enum { MAX = ARRAY_LEN(backends) * ARRAY_LEN(behaviours) };
	static struct pairing pairings[MAX];
	static struct CMUnitTest tests[MAX];
	static char names[MAX][64];
	size_t n = 0;

	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		if (backends[b].needs != NULL && env(backends[b].needs) == NULL) {
			print_message("[ SKIPPED  ] %s: no server (%s unset; tests/e2e/test-report-stores "
				      "runs these)\n", backends[b].name, backends[b].needs);
			continue;
		}
		for (size_t i = 0; i < ARRAY_LEN(behaviours); i++) {
			const struct behaviour *h = &behaviours[i];

			if (h->only != NULL && strcmp(h->only, backends[b].name) != 0)
				continue;
			pairings[n] = (struct pairing){ &backends[b], h };
			snprintf(names[n], sizeof(names[n]), "%s: %s", backends[b].name, h->name);
			tests[n] = (struct CMUnitTest){
				.name = names[n],
				.test_func = run,
				.setup_func = setup,
				.teardown_func = teardown,
				.initial_state = &pairings[n],
			};
			n++;
		}
	}
	return _cmocka_run_group_tests("report_store", tests, n, NULL, NULL);
}
