/*
 * mtasts/txt.h - the MTA-STS TXT record at _mta-sts.<domain> (RFC 8461 3.1).
 *
 * SYNOPSIS
 *	struct mtasts_bytes records[] = { { "v=STSv1; id=20240101", 20 } };
 *	struct mtasts_sts_record *rec;
 *	rc = mtasts_sts_record_parse(records, 1, &rec, &diags);
 *	...
 *	rec = mtasts_sts_record_free(rec);
 *
 * DESCRIPTION
 *	The input is every TXT record found at the name, each one the
 *	concatenation of its character-strings (joined without separator, as
 *	RFC 8461 3.1 requires); mtasts_dns_message_txt_records() gives them
 *	from a DNS answer, at the end of its CNAME chain.
 *
 *	Records that do not begin with exactly "v=STSv1;" (the tag, case-
 *	sensitive, and the semicolon at once) are discarded before counting,
 *	as RFC 8461 3.1 requires: even "v=STSv1 ;", a bare "v=STSv1",
 *	"v=stsv1;" and the record in quotes.  A warning,
 *	MTASTS_TXT_UNRELATED_RECORD, names each; for a record that looks like
 *	a mistyped MTA-STS record it says what is wrong, and its column
 *	points there.  When not exactly one record
 *	remains there is no policy: MTASTS_ERR_NO_RECORD when none remains,
 *	MTASTS_ERR_INVALID when several do.
 *
 *	The remaining record must match the ABNF exactly and carry a valid
 *	"id"; of a field given twice the first occurrence wins (a warning
 *	names the later ones).
 *
 *	On success *ret_record owns copies of everything it points to.  On
 *	failure *ret_record is untouched.
 *
 * LIMITS
 *	At most MTASTS_TXT_RECORDS_MAX records (more is MTASTS_ERR_INVALID), and
 *	a record in effect of at most MTASTS_TXT_RECORD_MAX octets; more is
 *	rejected, not truncated.
 */
#ifndef MTASTS_TXT_H
#define MTASTS_TXT_H

#include <stddef.h>

#include <mtasts/diag.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_TXT_RECORDS_MAX 64
#define MTASTS_TXT_RECORD_MAX 4096
#define MTASTS_STS_ID_MAX 32
#define MTASTS_EXTENSIONS_MAX 32

/* A counted byte string that the caller owns. */
struct mtasts_bytes {
	const char *data;
	size_t len;
};

/* An unrecognised field that fits the extension grammar, kept verbatim. */
struct mtasts_extension {
	char *name;
	char *value;
};

struct mtasts_sts_record {
	char id[MTASTS_STS_ID_MAX + 1];
	size_t record_index;		/* which input record was used */
	size_t extension_count;
	struct mtasts_extension *extensions;
};

int mtasts_sts_record_parse(const struct mtasts_bytes *records, size_t count,
			    struct mtasts_sts_record **ret_record,
			    struct mtasts_diags *diags);

/* Accepts NULL; returns NULL. */
struct mtasts_sts_record *mtasts_sts_record_free(struct mtasts_sts_record *record);

#ifdef __cplusplus
}
#endif

#endif
