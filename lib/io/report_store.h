/*
 * report_store.h - where received TLS reports are kept and asked about: one
 * interface (a table of functions), a file per backend.
 *
 *   report_store_sqlite.c    an SQLite file in WAL mode (the default), safe
 *                            under concurrent writers in several processes
 *   report_store_postgres.c  PostgreSQL (libpq), for several receivers
 *
 * Each report is kept as normalised rows (the report, its policies, their
 * failure details) with indexes for the queries below, and its JSON text
 * whole, gzip-compressed, with its SHA-256.  A report is stored whole or
 * not at all (one transaction).  The same submitter and report-id twice is
 * a duplicate: recognised, not stored again, not counted twice.  Schemas
 * are versioned and migrated at open.  Time is always passed in.
 *
 * Dates: a report belongs to the UTC day its date-range starts on; "since"
 * and "until" in a filter are seconds since the epoch compared with that
 * start (since inclusive, until exclusive; 0 for no bound).
 */
#ifndef MTASTS_IO_REPORT_STORE_H
#define MTASTS_IO_REPORT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim_verify.h"
#include "tlsrpt_report.h"

struct report_store;

struct report_store_options {
	unsigned timeout_ms;		/* busy wait (SQLite) or connect/statement timeout (PostgreSQL); default 5000 */
	bool read_only;			/* open for queries only (no migration, no writes) */
};

/*
 * Open the store at location: "postgresql://..." or "postgres://..." (a
 * libpq URI), "sqlite:PATH", or a plain path of an SQLite file (created with
 * its directory's permissions, mode 0640).  Returns NULL with a reason in
 * why; errno EAGAIN when the store is unreachable now (a server down, a
 * locked file), ENOMEM, or EINVAL (a bad location, a schema newer than this
 * program).
 */
struct report_store *report_store_open(const char *location, const struct report_store_options *options,
				       char *why, size_t why_size);
/* Accepts NULL; returns NULL. */
struct report_store *report_store_close(struct report_store *store);

/* "sqlite" or "postgresql". */
const char *report_store_backend(const struct report_store *store);

/* Whether the store answers now (a trivial query); false with a reason. */
bool report_store_ping(struct report_store *store, char *why, size_t why_size);

/* How a report reached us, kept with it. */
struct report_meta {
	int64_t received_at;		/* seconds since the epoch */
	const char *source;		/* "https", "mail", "imap" or "file" */
	const char *origin;		/* client address, file path, mailbox; may be NULL */
	enum dkim_verdict dkim;		/* DKIM_VERDICT_NONE for HTTPS and files */
	const char *dkim_domain;	/* d= of the signature judged, or NULL */
	const char *raw;		/* the report's JSON text as received */
	size_t raw_len;
	/*
	 * Optional: raw as one gzip member (as received, when it came so),
	 * stored as it is instead of compressing raw again; NULL to have the
	 * store compress raw.  It must inflate to raw exactly: the store
	 * checks only that it is gzip.
	 */
	const unsigned char *raw_gzip;
	size_t raw_gzip_len;
};

enum store_status {
	STORE_ADDED = 0,
	STORE_DUPLICATE,		/* this submitter's report-id is already stored */
	STORE_UNAVAILABLE,		/* try again later: server down, file locked, disk full, any failed statement */
	STORE_FAILED,			/* the report cannot be stored here (past the store's limits), or the store is read-only */
};

/*
 * Whether a store can keep the report at all (the limits of its columns:
 * counts and their sums below 2^63, the fields a row needs); false with
 * the reason.  report_store_add() refuses such a report with STORE_FAILED.
 */
bool report_store_accepts(const struct tlsrpt_report *report, char *why, size_t why_size);

/*
 * Store one report.  On STORE_ADDED and STORE_DUPLICATE *ret_id is the
 * report's row id (the earlier one for a duplicate).  Returns only after the
 * transaction is committed (SQLite: synchronous=FULL in WAL mode).
 */
enum store_status report_store_add(struct report_store *store, const struct tlsrpt_report *report,
				   const struct report_meta *meta, int64_t *ret_id,
				   char *why, size_t why_size);

/*
 * A batch: the reports added between report_store_batch_begin() and
 * report_store_batch_commit() are committed together, for bulk intake, where
 * a commit a report would cost a flush to disk each.  Each is still whole or
 * absent (a duplicate or a failure takes back only its own rows: a
 * savepoint each on PostgreSQL, its rows deleted on SQLite), but none is
 * stored until the commit returns STORE_ADDED; on any
 * other status, none of them is.  When the transaction ends under the batch
 * (SQLite rolls it back itself on a full disk or an I/O error; a PostgreSQL
 * connection breaks), the reports after are refused with STORE_UNAVAILABLE
 * and so is the commit.  report_store_batch_abort() takes them all
 * back.  A store holds at most one batch, and a batch holds the SQLite write
 * lock: keep it short.
 */
int report_store_batch_begin(struct report_store *store, char *why, size_t why_size);
enum store_status report_store_batch_commit(struct report_store *store, char *why, size_t why_size);
void report_store_batch_abort(struct report_store *store);

/* Remove reports whose date-range ended before `before`. Returns 0 or -1. */
int report_store_prune(struct report_store *store, int64_t before, uint64_t *ret_removed,
		       char *why, size_t why_size);

struct report_filter {
	const char *domain;		/* policy-domain, lower case; NULL for all */
	const char *reporter;		/* organization-name; NULL for all */
	int64_t since;			/* date-range start >= since; 0: no bound */
	int64_t until;			/* date-range start < until; 0: no bound */
};

enum report_group {
	GROUP_NONE = 0,			/* only the total */
	GROUP_DAY,			/* key "YYYY-MM-DD" */
	GROUP_REPORTER,			/* key organization-name */
	GROUP_DOMAIN,			/* key policy-domain */
	GROUP_MX,			/* key receiving-mx-hostname of failure details ("" when absent) */
	GROUP_RESULT_TYPE,		/* key result-type of failure details */
	GROUP_DOMAIN_DAY,		/* key policy-domain, key2 day */
	GROUP_DOMAIN_RESULT_TYPE,	/* key policy-domain, key2 result-type */
	GROUP_DOMAIN_MX,		/* key policy-domain, key2 receiving-mx-hostname */
};

/*
 * One group of a summary.  Groups by day, reporter or domain count the
 * policies' session totals; groups by MX or result type can only count the
 * failure details (reporters give no per-MX successes), so there
 * successes_known is false, successes 0 and sessions == failures.
 */
struct summary_row {
	char *key;
	char *key2;			/* NULL unless a two-key group */
	uint64_t reports;		/* distinct reports in the group */
	uint64_t sessions;		/* successes + failures */
	uint64_t successes;
	uint64_t failures;
	bool successes_known;
};

/*
 * Sessions, successes and failures per group (rows sorted by key, key2),
 * and over everything matched (ret_total: every report and policy matched,
 * whatever the group).  Release rows with summary_rows_free().
 */
int report_store_summary(struct report_store *store, const struct report_filter *filter,
			 enum report_group group, struct summary_row **ret_rows, size_t *ret_count,
			 struct summary_row *ret_total, char *why, size_t why_size);
void summary_rows_free(struct summary_row *rows, size_t count);
void summary_row_clear(struct summary_row *row);

/* A stored report in a list. */
struct report_entry {
	int64_t id;
	char *organization_name;
	char *report_id;
	char *domains;			/* its policy-domains, "," between, sorted */
	int64_t start, end;
	int64_t received_at;
	char *source;
	enum dkim_verdict dkim;
	char *dkim_domain;		/* or NULL */
	uint64_t successes, failures;
	char sha256[65];		/* of the JSON text, hex */
};

/*
 * Reports matched, newest date-range first, at most limit (0: all).
 * Release with report_entries_free().
 */
int report_store_list(struct report_store *store, const struct report_filter *filter, size_t limit,
		      struct report_entry **ret_entries, size_t *ret_count, char *why, size_t why_size);
void report_entries_free(struct report_entry *entries, size_t count);
void report_entry_clear(struct report_entry *entry);

/*
 * One report by id: its entry, the report read back from the stored rows,
 * and its JSON text as received (decompressed; NUL-terminated).  Returns 0,
 * 1 when there is no such id, or -1.
 */
int report_store_get(struct report_store *store, int64_t id, struct report_entry *ret_entry,
		     struct tlsrpt_report **ret_report, char **ret_raw, size_t *ret_raw_len,
		     char *why, size_t why_size);

/* A reporter and when it last reported (for silence alerts and the page). */
struct reporter_row {
	char *organization_name;
	char *domain;			/* a policy-domain it reported on */
	uint64_t reports;
	int64_t first_start;		/* earliest date-range start */
	int64_t last_end;		/* latest date-range end */
};
int report_store_reporters(struct report_store *store, const struct report_filter *filter,
			   struct reporter_row **ret_rows, size_t *ret_count, char *why, size_t why_size);
void reporter_rows_free(struct reporter_row *rows, size_t count);

/*
 * When each (domain, result type) or (domain, MX host) first and last
 * failed: group is GROUP_DOMAIN_RESULT_TYPE or GROUP_DOMAIN_MX.  Only the
 * filter's domain and reporter apply (first seen means over all time
 * before filter->until).
 */
struct first_seen_row {
	char *domain;
	char *key;
	int64_t first_start;		/* start of the first report with it */
	int64_t last_start;
	uint64_t failures;
};
int report_store_first_seen(struct report_store *store, const struct report_filter *filter,
			    enum report_group group, struct first_seen_row **ret_rows, size_t *ret_count,
			    char *why, size_t why_size);
void first_seen_rows_free(struct first_seen_row *rows, size_t count);

/* Failure details matched, newest first, at most limit. */
struct failure_row {
	int64_t report;			/* row id of its report */
	char *organization_name;
	char *domain;
	int64_t start;
	char *result_type;
	char *sending_mta_ip;
	char *receiving_mx_hostname;
	char *receiving_ip;
	uint64_t failed_session_count;
	char *additional_information;
	char *failure_reason_code;
};
int report_store_failures(struct report_store *store, const struct report_filter *filter, size_t limit,
			  struct failure_row **ret_rows, size_t *ret_count, char *why, size_t why_size);
void failure_rows_free(struct failure_row *rows, size_t count);

#endif
