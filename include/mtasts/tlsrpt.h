/*
 * mtasts/tlsrpt.h - the TLSRPT TXT record at _smtp._tls.<domain> (RFC 8460 3).
 *
 * SYNOPSIS
 *	struct mtasts_tlsrpt_record *rec;
 *	rc = mtasts_tlsrpt_record_parse(records, count, &rec, &diags);
 *	for (size_t i = 0; i < rec->rua_count; i++)
 *		send_report_to(rec->rua[i]);
 *	rec = mtasts_tlsrpt_record_free(rec);
 *
 * DESCRIPTION
 *	Input as for mtasts_sts_record_parse(): every TXT record at the name,
 *	each the concatenation of its character-strings.  Records that do not
 *	begin with "v=TLSRPTv1" are discarded; not exactly one left means the
 *	domain does not take reports (MTASTS_ERR_NO_RECORD when none,
 *	MTASTS_ERR_INVALID when several).
 *
 *	The record must match the ABNF exactly.  "rua" holds one or more
 *	URIs separated by commas (white space allowed around them); each must
 *	be a URI (RFC 3986).  Only mailto: and https: destinations are usable;
 *	others draw a warning and are left out of rua[].  A record with no
 *	usable destination is invalid.
 */
#ifndef MTASTS_TLSRPT_H
#define MTASTS_TLSRPT_H

#include <stddef.h>

#include <mtasts/diag.h>
#include <mtasts/txt.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_TLSRPT_RUA_MAX 32

struct mtasts_tlsrpt_record {
	size_t record_index;
	size_t rua_count;
	char **rua;			/* usable destinations, in record order */
	size_t extension_count;
	struct mtasts_extension *extensions;
};

int mtasts_tlsrpt_record_parse(const struct mtasts_bytes *records, size_t count,
			       struct mtasts_tlsrpt_record **ret_record,
			       struct mtasts_diags *diags);

/* Accepts NULL; returns NULL. */
struct mtasts_tlsrpt_record *
mtasts_tlsrpt_record_free(struct mtasts_tlsrpt_record *record);

#ifdef __cplusplus
}
#endif

#endif
