/*
 * report_intake.h - the one path every received TLS report takes into the
 * store, whether it came over HTTPS (mtasts serve), in a mail message or a
 * file (mtasts reports ingest) or from an IMAP mailbox (mtasts reports
 * fetch): unpack, verify DKIM (mail only), read, store.
 *
 * Each report is stored whole or not at all.  An input holding several
 * reports (a zip, a message with several attachments) is judged whole
 * first: when one of them is not a valid report, none is stored, each
 * saying why.  A store that fails halfway through such an input may leave
 * the reports before the failure stored; taken again, they are duplicates.
 */
#ifndef MTASTS_IO_REPORT_INTAKE_H
#define MTASTS_IO_REPORT_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim_verify.h"
#include "report_store.h"
#include "report_unpack.h"
#include "tlsrpt_report.h"

/* What to do with mailed reports by their DKIM verdict. */
enum dkim_requirement {
	DKIM_ACCEPT_ANY = 0,		/* verify, store the verdict, refuse nothing */
	DKIM_REQUIRE_SIGNED,		/* refuse messages without a signature */
	DKIM_REQUIRE_PASS,		/* refuse messages without a verified signature */
};

struct intake_options {
	struct unpack_limits unpack;
	struct tlsrpt_limits report;
	bool verify_dkim;		/* for mail */
	struct dkim_options dkim;
	enum dkim_requirement dkim_requirement;
	const char *source;		/* "https", "imap", ...; NULL: "mail" or "file" by what the input is */
	const char *origin;		/* client address, path, mailbox; may be NULL */
	int64_t received_at;
};

void intake_options_default(struct intake_options *ret_options);

enum intake_status {
	INTAKE_STORED = 0,
	INTAKE_DUPLICATE,		/* already stored: nothing to do */
	INTAKE_REJECTED,		/* not a valid report (or refused by DKIM policy): never retry */
	INTAKE_TOO_LARGE,		/* past a size limit (HTTP 413) */
	INTAKE_DEFERRED,		/* this input cannot be judged now (a DKIM key out of reach): retry it later */
	INTAKE_UNAVAILABLE,		/* the store failed for now: retry later, nothing lost */
};

/* What happened to one report of the input. */
struct intake_report {
	enum intake_status status;
	int64_t id;			/* row id when stored or duplicate */
	char organization_name[128];	/* as read (may hold control characters), or "" */
	char report_id[256];
	char domains[256];		/* its policy-domains, "," between */
	uint64_t successes, failures;
	char why[320];			/* the reason when not stored */
};

struct intake_outcome {
	enum intake_status status;	/* the worst over the input: UNAVAILABLE > DEFERRED > TOO_LARGE > REJECTED > DUPLICATE > STORED */
	enum unpack_format format;
	struct dkim_outcome dkim;	/* for mail when verified */
	struct intake_report *reports;	/* one per report found, or one describing the whole input */
	size_t report_count;
	char why[320];			/* the first reason of the worst status, or "" */
};

/* Take one input.  Returns 0 with *ret_outcome filled, -1 only when out of memory. */
int report_intake(struct report_store *store, const unsigned char *data, size_t len,
		  enum unpack_format hint, const struct intake_options *options,
		  struct intake_outcome *ret_outcome);

void intake_outcome_clear(struct intake_outcome *outcome);

const char *intake_status_name(enum intake_status status);

#endif
