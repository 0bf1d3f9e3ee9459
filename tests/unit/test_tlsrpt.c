/*
 * test_tlsrpt.c - the TLSRPT TXT record parser (RFC 8460 3), table-driven.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "unit.h"

#include <mtasts/tlsrpt.h>

#define RECORDS_PER_CASE 3
#define RUA_PER_CASE 4
#define EXTS_PER_CASE 3

struct tlsrpt_case {
	const char *records[RECORDS_PER_CASE];	/* NULL ends the list */
	int rc;
	struct want_diag diags[WANT_DIAGS_MAX];
	size_t index;				/* on success */
	const char *rua[RUA_PER_CASE + 1];	/* on success; NULL ends */
	const char *ext[2 * EXTS_PER_CASE + 1];	/* name, value, ...; NULL ends */
};

#define OK MTASTS_OK
#define INVALID MTASTS_ERR_INVALID
#define NO_RECORD MTASTS_ERR_NO_RECORD
#define NO_DIAGS { { 0 } }
#define NO_EXT { NULL }
#define FAILS 0, { NULL }, NO_EXT

/* "v=TLSRPTv1; rua=" is 16 octets: a rua value starts at column 17. */
#define RUA "v=TLSRPTv1; rua="
#define A "mailto:a@example.com"		/* 20 octets */
#define H "https://r.example.com/x"		/* 23 octets */

static const struct tlsrpt_case cases[] = {
	/* --- the version tag and record selection --- */
	/* RFC 8460 3 example: no white space after ";" */
	{ { "v=TLSRPTv1;rua=mailto:reports@example.com" }, OK, NO_DIAGS, 0,
	  { "mailto:reports@example.com", NULL }, NO_EXT },
	/* RFC 8460 3 example: an https destination */
	{ { "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt" }, OK, NO_DIAGS, 0,
	  { "https://reporting.example.com/v1/tlsrpt", NULL }, NO_EXT },
	/* field delimiter: WSP before ";", between two fields */
	{ { RUA A " ; x=1" }, OK, NO_DIAGS, 0, { A, NULL }, { "x", "1", NULL } },
	/* optional trailing delimiter */
	{ { RUA A ";" }, OK, NO_DIAGS, 0, { A, NULL }, NO_EXT },
	/* optional trailing delimiter with WSP around it */
	{ { RUA A " ; " }, OK, NO_DIAGS, 0, { A, NULL }, NO_EXT },
	/* trailing WSP without ";" is a syntax error */
	{ { RUA A " " }, INVALID, { TE(TLSRPT_SYNTAX, 0, 37) }, FAILS },
	/* fields are separated by ";" */
	{ { RUA A " x=1" }, INVALID, { TE(TLSRPT_SYNTAX, 0, 38) }, FAILS },
	/* an empty field */
	{ { "v=TLSRPTv1;; rua=" A }, INVALID, { TE(TLSRPT_SYNTAX, 0, 12) }, FAILS },
	/* a field without "=" */
	{ { "v=TLSRPTv1; rua" }, INVALID, { TE(TLSRPT_SYNTAX, 0, 16) }, FAILS },
	/* unrelated records are discarded; the TLSRPT one is used */
	{ { "v=spf1 -all", RUA A }, OK, { TW(TLSRPT_UNRELATED_RECORD, 0, 1) }, 1,
	  { A, NULL }, NO_EXT },
	/* an MTA-STS record is unrelated here */
	{ { RUA A, "v=STSv1; id=abc" }, OK, { TW(TLSRPT_UNRELATED_RECORD, 1, 1) }, 0,
	  { A, NULL }, NO_EXT },
	/* only unrelated records: tlsrpt-no-record */
	{ { "v=spf1 -all" }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 1), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },

	/* --- RFC 8460 3: records not beginning with "v=TLSRPTv1;" are discarded --- */
	/* WSP before ";" fits the ABNF, but the record is discarded (column 11) */
	{ { "v=TLSRPTv1 ; rua=" A }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 11), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* white space instead of ";": discarded */
	{ { "v=TLSRPTv1 rua=" A }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 11), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* the version alone, without ";": discarded, so no record */
	{ { "v=TLSRPTv1" }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 11), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* the version tag is case-sensitive (column of the first difference) */
	{ { "v=tlsrptv1; rua=" A }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 3), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* the version tag is case-sensitive: "V=" */
	{ { "V=TLSRPTv1; rua=" A }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 1), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* a near miss is discarded before counting: the exact record is the one */
	{ { "v=TLSRPTv1 ;rua=" H, RUA A }, OK, { TW(TLSRPT_UNRELATED_RECORD, 0, 11) }, 1,
	  { A, NULL }, NO_EXT },
	/* "v=TLSRPTv1" followed by end, WSP or ";" only: "v=TLSRPTv10" */
	{ { "v=TLSRPTv10; rua=" A }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 1), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* "v=TLSRPTv1" followed by end, WSP or ";" only: "v=TLSRPTv1," */
	{ { "v=TLSRPTv1,rua=" A }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 1), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* "v=TLSRPTv1" first: leading white space (a near miss, at column 1) */
	{ { " " RUA A }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 1), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* "v=TLSRPTv1" first: after the rua */
	{ { "rua=" A "; v=TLSRPTv1" }, NO_RECORD,
	  { TW(TLSRPT_UNRELATED_RECORD, 0, 1), TE(TLSRPT_NO_RECORD, -1, 0) }, FAILS },
	/* more than one TLSRPT record: tlsrpt-multiple-records */
	{ { RUA A, RUA H }, INVALID, { TE(TLSRPT_MULTIPLE_RECORDS, -1, 0) }, FAILS },
	/* more than one TLSRPT record, among others */
	{ { RUA A, "x", "v=TLSRPTv1;" }, INVALID,
	  { TW(TLSRPT_UNRELATED_RECORD, 1, 1), TE(TLSRPT_MULTIPLE_RECORDS, -1, 0) }, FAILS },
	/* a bare "v=TLSRPTv1" does not make a second record */
	{ { RUA A, "x", "v=TLSRPTv1" }, OK,
	  { TW(TLSRPT_UNRELATED_RECORD, 1, 1), TW(TLSRPT_UNRELATED_RECORD, 2, 11) }, 0,
	  { A, NULL }, NO_EXT },

	/* --- rua = URI *(*WSP "," *WSP URI) --- */
	/* the version and a delimiter: selected, but no rua */
	{ { "v=TLSRPTv1;" }, INVALID, { TE(TLSRPT_MISSING_RUA, 0, 0) }, FAILS },
	/* field names are case-sensitive: "RUA" is an extension */
	{ { "v=TLSRPTv1; RUA=" A }, INVALID, { TE(TLSRPT_MISSING_RUA, 0, 0) }, FAILS },
	/* "ruf" is not "rua" */
	{ { "v=TLSRPTv1; ruf=" A }, INVALID, { TE(TLSRPT_MISSING_RUA, 0, 0) }, FAILS },
	/* two URIs, kept in order */
	{ { RUA A "," H }, OK, NO_DIAGS, 0, { A, H, NULL }, NO_EXT },
	/* WSP around the comma */
	{ { RUA H " , " A }, OK, NO_DIAGS, 0, { H, A, NULL }, NO_EXT },
	/* tabs and spaces around the comma */
	{ { RUA A "\t,\t " H }, OK, NO_DIAGS, 0, { A, H, NULL }, NO_EXT },
	/* three URIs */
	{ { RUA A ",mailto:b@example.net," H }, OK, NO_DIAGS, 0,
	  { A, "mailto:b@example.net", H, NULL }, NO_EXT },
	/* an empty rua: an empty URI */
	{ { RUA }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 17) }, FAILS },
	/* an empty rua before the next field */
	{ { RUA "; x=1" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 17) }, FAILS },
	/* a trailing comma leaves an empty URI */
	{ { RUA A "," }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 38) }, FAILS },
	/* a leading comma leaves an empty URI */
	{ { RUA "," A }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 17) }, FAILS },
	/* two commas leave an empty URI */
	{ { RUA A ",," H }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 38) }, FAILS },
	/* no WSP before the first URI */
	{ { RUA " " A }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 17), TE(TLSRPT_SYNTAX, 0, 18) },
	  FAILS },
	/* URIs are separated by commas, not by white space */
	{ { RUA A " " H }, INVALID, { TE(TLSRPT_SYNTAX, 0, 38) }, FAILS },

	/* --- each URI: RFC 3986, "," and "!" percent-encoded --- */
	/* an unencoded "," splits the URI in two invalid ones (the second a bare
	 * address, pointed at from its start) */
	{ { RUA "mailto:a,b@example.com" }, INVALID,
	  { TE(TLSRPT_INVALID_URI, 0, 25), TE(TLSRPT_INVALID_URI, 0, 26) }, FAILS },
	/* "," percent-encoded is fine, and separates addresses (RFC 6068) */
	{ { RUA "mailto:a@example.com%2Cb@example.net" }, OK, NO_DIAGS, 0,
	  { "mailto:a@example.com%2Cb@example.net", NULL }, NO_EXT },
	/* ... so "a%2Cb@example.com" is the address "a", which has no domain */
	{ { RUA "mailto:a%2Cb@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) },
	  FAILS },
	/* an unencoded "!" is invalid */
	{ { RUA "mailto:a!b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) }, FAILS },
	/* "!" percent-encoded is fine (lower-case hex too) */
	{ { RUA "mailto:a%21b%2ec@example.com" }, OK, NO_DIAGS, 0,
	  { "mailto:a%21b%2ec@example.com", NULL }, NO_EXT },
	/* a URI needs a scheme: a bare address is pointed at from its start */
	{ { RUA "reports@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 17) }, FAILS },
	/* a URI needs a scheme: something else without one, where it goes wrong */
	{ { RUA "reports.example.com/v1" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 36) },
	  FAILS },
	/* a scheme starts with a letter */
	{ { RUA "1mailto:a@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 17) }, FAILS },
	/* "%" needs two hex digits: one */
	{ { RUA "mailto:a%2@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) }, FAILS },
	/* "%" needs two hex digits: not hex */
	{ { RUA "mailto:a%zz@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) }, FAILS },
	/* "%" needs two hex digits: at the end */
	{ { RUA A "%" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 37) }, FAILS },
	/* at most one "#" */
	{ { RUA "https://r.example.com/a#b#c" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 42) },
	  FAILS },
	/* "<" is not a URI character */
	{ { RUA "https://r.example.com/<x>" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 39) }, FAILS },
	/* a double quote is not a URI character */
	{ { RUA "mailto:a\"b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) }, FAILS },
	/* non-ASCII must be percent-encoded */
	{ { RUA "https://r.example.com/\xc3\xa9" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 39) },
	  FAILS },
	/* a full https URI: port, path, query and fragment */
	{ { RUA "https://r.example.com:8443/p/q?a=b&c=d#frag" }, OK, NO_DIAGS, 0,
	  { "https://r.example.com:8443/p/q?a=b&c=d#frag", NULL }, NO_EXT },
	/* an https URI with an IPv6 literal */
	{ { RUA "https://[2001:db8::1]/tlsrpt" }, OK, NO_DIAGS, 0,
	  { "https://[2001:db8::1]/tlsrpt", NULL }, NO_EXT },
	/* a mailto URI with a query */
	{ { RUA "mailto:a@example.com?subject=tlsrpt" }, OK, NO_DIAGS, 0,
	  { "mailto:a@example.com?subject=tlsrpt", NULL }, NO_EXT },

	/* --- usable schemes: mailto: and https: only --- */
	/* schemes are case-insensitive: MAILTO */
	{ { RUA "MAILTO:a@example.com" }, OK, NO_DIAGS, 0, { "MAILTO:a@example.com", NULL },
	  NO_EXT },
	/* schemes are case-insensitive: HTTPS */
	{ { RUA "HTTPS://r.example.com/" }, OK, NO_DIAGS, 0, { "HTTPS://r.example.com/", NULL },
	  NO_EXT },
	/* http: is not usable: warning, left out */
	{ { RUA "http://r.example.com/x," A }, OK, { TW(TLSRPT_UNSUPPORTED_SCHEME, 0, 17) }, 0,
	  { A, NULL }, NO_EXT },
	/* ftp: is not usable: warning, left out, order of the rest kept */
	{ { RUA H ",ftp://f.example.com/x," A }, OK,
	  { TW(TLSRPT_UNSUPPORTED_SCHEME, 0, 41) }, 0, { H, A, NULL }, NO_EXT },
	/* tel: is not usable */
	{ { RUA A ",tel:+1-555-0100" }, OK, { TW(TLSRPT_UNSUPPORTED_SCHEME, 0, 38) }, 0,
	  { A, NULL }, NO_EXT },
	/* no usable URI: tlsrpt-no-usable-rua at the rua value */
	{ { RUA "http://r.example.com/x" }, INVALID,
	  { TW(TLSRPT_UNSUPPORTED_SCHEME, 0, 17), TE(TLSRPT_NO_USABLE_RUA, 0, 17) }, FAILS },
	/* no usable URI among several */
	{ { RUA "http://a.example,ftp://b.example" }, INVALID,
	  { TW(TLSRPT_UNSUPPORTED_SCHEME, 0, 17), TW(TLSRPT_UNSUPPORTED_SCHEME, 0, 34),
	    TE(TLSRPT_NO_USABLE_RUA, 0, 17) }, FAILS },
	/* https needs "//" and a host */
	{ { RUA "https:r.example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 23) }, FAILS },
	/* https needs a host */
	{ { RUA "https://" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 23) }, FAILS },
	/* https needs a host, not a path */
	{ { RUA "https:///tlsrpt" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 23) }, FAILS },
	/* mailto needs an address */
	{ { RUA "mailto:" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 24) }, FAILS },
	/* mailto needs a local part */
	{ { RUA "mailto:@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 24) }, FAILS },
	/* mailto needs a domain (column just past the "@") */
	{ { RUA "mailto:a@" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 26) }, FAILS },
	/* mailto needs a domain before the query */
	{ { RUA "mailto:a@?subject=x" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 26) }, FAILS },
	/* mailto needs "@" before the query (column of the "?") */
	{ { RUA "mailto:a?to=b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) },
	  FAILS },
	/* mailto needs an address before the query */
	{ { RUA "mailto:?to=b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 24) },
	  FAILS },
	/* an invalid URI next to an unsupported one: both reported */
	{ { RUA "gopher://g.example,mailto:a!b@example.com" }, INVALID,
	  { TW(TLSRPT_UNSUPPORTED_SCHEME, 0, 17), TE(TLSRPT_INVALID_URI, 0, 44) }, FAILS },
	/* an invalid URI next to a good one still fails the record */
	{ { RUA A ",mailto:" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 45) }, FAILS },

	/* --- mailto: addresses, RFC 6068 2 and RFC 5322 3.4.1 addr-spec --- */
	/* (the address begins at column 24, after "mailto:") */
	/* dot-atom local part and domain */
	{ { RUA "mailto:first.last@mail.example.com" }, OK, NO_DIAGS, 0,
	  { "mailto:first.last@mail.example.com", NULL }, NO_EXT },
	/* a single-label domain is a dot-atom */
	{ { RUA "mailto:a@localhost" }, OK, NO_DIAGS, 0, { "mailto:a@localhost", NULL },
	  NO_EXT },
	/* atext that a URI may hold as it is */
	{ { RUA "mailto:a&b'c*d+e=f$g~h_i-j/k@example.com" }, OK, NO_DIAGS, 0,
	  { "mailto:a&b'c*d+e=f$g~h_i-j/k@example.com", NULL }, NO_EXT },
	/* atext that a URI must percent-encode: decoded before the check */
	{ { RUA "mailto:%7B%7C%7D%5E%60%23%3F%21@example.com" }, OK, NO_DIAGS, 0,
	  { "mailto:%7B%7C%7D%5E%60%23%3F%21@example.com", NULL }, NO_EXT },
	/* percent-encoded letters and dots are the letters and dots */
	{ { RUA "mailto:%61%2Eb@example%2Ecom" }, OK, NO_DIAGS, 0,
	  { "mailto:%61%2Eb@example%2Ecom", NULL }, NO_EXT },
	/* a quoted local part may hold a space and an "@" */
	{ { RUA "mailto:%22a%20b@c%22@example.com" }, OK, NO_DIAGS, 0,
	  { "mailto:%22a%20b@c%22@example.com", NULL }, NO_EXT },
	/* a quoted local part may hold a quoted-pair */
	{ { RUA "mailto:%22a%5C%22b%22@example.com" }, OK, NO_DIAGS, 0,
	  { "mailto:%22a%5C%22b%22@example.com", NULL }, NO_EXT },
	/* local part: no leading dot */
	{ { RUA "mailto:.a@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 24) }, FAILS },
	/* local part: no trailing dot */
	{ { RUA "mailto:a.@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) }, FAILS },
	/* local part: no two dots in a row (column of the second) */
	{ { RUA "mailto:a..b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 26) },
	  FAILS },
	/* local part: a decoded dot counts as a dot */
	{ { RUA "mailto:a.%2Eb@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 26) },
	  FAILS },
	/* local part: a space only inside quotes (column of the "%") */
	{ { RUA "mailto:a%20b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) },
	  FAILS },
	/* local part: no comments */
	{ { RUA "mailto:a(b)@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) },
	  FAILS },
	/* local part: ":" is not atext */
	{ { RUA "mailto:a:b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) },
	  FAILS },
	/* local part: a backslash only inside quotes */
	{ { RUA "mailto:a%5Cb@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) },
	  FAILS },
	/* local part: a NUL octet, percent-encoded */
	{ { RUA "mailto:a%00@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) },
	  FAILS },
	/* local part: non-ASCII (UTF-8, percent-encoded) is not atext */
	{ { RUA "mailto:a%C3%A9@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 25) },
	  FAILS },
	/* quoted local part: unterminated (column of the opening quote) */
	{ { RUA "mailto:%22ab@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 24) },
	  FAILS },
	/* quoted local part: something between the closing quote and "@" */
	{ { RUA "mailto:%22a%22b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 31) },
	  FAILS },
	/* quoted local part: no control octet */
	{ { RUA "mailto:%22a%01%22@example.com" }, INVALID,
	  { TE(TLSRPT_INVALID_URI, 0, 28) }, FAILS },
	/* quoted local part: a backslash needs something to quote */
	{ { RUA "mailto:%22a%5C%01%22@example.com" }, INVALID,
	  { TE(TLSRPT_INVALID_URI, 0, 28) }, FAILS },
	/* domain: no leading dot */
	{ { RUA "mailto:a@.example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 26) }, FAILS },
	/* domain: no trailing dot */
	{ { RUA "mailto:a@example.com." }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 37) }, FAILS },
	/* domain: no empty label */
	{ { RUA "mailto:a@example..com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 34) }, FAILS },
	/* domain: no ":" (no port) */
	{ { RUA "mailto:a@example.com:25" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 37) },
	  FAILS },
	/* domain: a second "@" */
	{ { RUA "mailto:a@b@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 27) }, FAILS },
	/* domain: an address literal names no domain */
	{ { RUA "mailto:a@[192.0.2.1]" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 26) }, FAILS },
	/* domain: a percent-encoded space */
	{ { RUA "mailto:a@exa%20mple.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 29) },
	  FAILS },
	/* domain: non-ASCII (a U-label) */
	{ { RUA "mailto:a@b%C3%BCcher.example" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 27) },
	  FAILS },
	/* domain: a fragment is no part of a mailto URI */
	{ { RUA "mailto:a@example.com#x" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 37) }, FAILS },
	/* a list of addresses: an empty one at the end */
	{ { RUA "mailto:a@example.com%2C" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 40) },
	  FAILS },
	/* a list of addresses: an empty one in the middle */
	{ { RUA "mailto:a@example.com%2C%2Cb@example.net" }, INVALID,
	  { TE(TLSRPT_INVALID_URI, 0, 40) }, FAILS },
	/* a list of addresses: an empty one first */
	{ { RUA "mailto:%2Ca@example.com" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 24) },
	  FAILS },
	/* a list of addresses: every one is checked */
	{ { RUA "mailto:a@example.com%2Cb@" }, INVALID, { TE(TLSRPT_INVALID_URI, 0, 42) },
	  FAILS },

	/* --- extensions: ext-name "=" ext-value --- */
	/* an extension after rua, kept */
	{ { RUA A "; ext=1" }, OK, NO_DIAGS, 0, { A, NULL }, { "ext", "1", NULL } },
	/* an extension before rua, several in order */
	{ { "v=TLSRPTv1; b=2; rua=" A "; a_b-c.d=x" }, OK, NO_DIAGS, 0, { A, NULL },
	  { "b", "2", "a_b-c.d", "x", NULL } },
	/* ext-value: every printable but "=" and ";" */
	{ { RUA A "; x=!\"#$%&'()*+,-./09:<>?@AZ[\\]^_`az{|}~" }, OK, NO_DIAGS, 0,
	  { A, NULL }, { "x", "!\"#$%&'()*+,-./09:<>?@AZ[\\]^_`az{|}~", NULL } },
	/* ext-name: 32 characters is the most */
	{ { RUA A "; abcdefghijABCDEFGHIJ0123456789xy=1" }, OK, NO_DIAGS, 0, { A, NULL },
	  { "abcdefghijABCDEFGHIJ0123456789xy", "1", NULL } },
	/* ext-name: 33 characters is too many */
	{ { RUA A "; abcdefghijABCDEFGHIJ0123456789xyz=1" }, INVALID,
	  { TE(TLSRPT_INVALID_EXTENSION, 0, 39) }, FAILS },
	/* ext-name: may not start with "_" */
	{ { RUA A "; _x=1" }, INVALID, { TE(TLSRPT_INVALID_EXTENSION, 0, 39) }, FAILS },
	/* ext-name: "/" is not allowed */
	{ { RUA A "; a/b=1" }, INVALID, { TE(TLSRPT_INVALID_EXTENSION, 0, 39) }, FAILS },
	/* ext-value: empty */
	{ { RUA A "; x=" }, INVALID, { TE(TLSRPT_INVALID_EXTENSION, 0, 41) }, FAILS },
	/* ext-value: "=" is excluded */
	{ { RUA A "; x=a=b" }, INVALID, { TE(TLSRPT_INVALID_EXTENSION, 0, 42) }, FAILS },
	/* ext-value: internal white space is excluded */
	{ { RUA A "; x=a b" }, INVALID, { TE(TLSRPT_INVALID_EXTENSION, 0, 42) }, FAILS },
	/* ext-value: non-ASCII is excluded */
	{ { RUA A "; x=\xc3\xa9" }, INVALID, { TE(TLSRPT_INVALID_EXTENSION, 0, 41) }, FAILS },
	/* a bad extension and a missing rua: both reported */
	{ { "v=TLSRPTv1; x=" }, INVALID,
	  { TE(TLSRPT_INVALID_EXTENSION, 0, 15), TE(TLSRPT_MISSING_RUA, 0, 0) }, FAILS },

	/* --- duplicated fields: the first wins, with a warning --- */
	/* a repeated rua: the first list is used */
	{ { RUA A "; rua=" H }, OK, { TW(TLSRPT_DUPLICATE_FIELD, 0, 39) }, 0, { A, NULL },
	  NO_EXT },
	/* a repeated rua that is a URI list with white space: only a warning */
	{ { RUA A "; rua=" H " , " A }, OK, { TW(TLSRPT_DUPLICATE_FIELD, 0, 39) }, 0,
	  { A, NULL }, NO_EXT },
	/* a repeated rua that fits only the extension grammar: only a warning */
	{ { RUA A "; rua=none" }, OK, { TW(TLSRPT_DUPLICATE_FIELD, 0, 39) }, 0, { A, NULL },
	  NO_EXT },
	/* a repeated rua that fits no grammar: its URI problem is reported */
	{ { RUA A "; rua=a b" }, INVALID,
	  { TW(TLSRPT_DUPLICATE_FIELD, 0, 39), TE(TLSRPT_INVALID_URI, 0, 44),
	    TE(TLSRPT_SYNTAX, 0, 45) }, FAILS },
	/* the first rua wins even when it is bad */
	{ { RUA "mailto:nobody; rua=" A }, INVALID,
	  { TE(TLSRPT_INVALID_URI, 0, 30), TW(TLSRPT_DUPLICATE_FIELD, 0, 32) }, FAILS },
	/* a repeated extension: the first value kept, once */
	{ { RUA A "; x=1; x=2" }, OK, { TW(TLSRPT_DUPLICATE_FIELD, 0, 44) }, 0, { A, NULL },
	  { "x", "1", NULL } },
	/* a repeated extension must still fit the grammar */
	{ { RUA A "; x=1; x=" }, INVALID,
	  { TW(TLSRPT_DUPLICATE_FIELD, 0, 44), TE(TLSRPT_INVALID_EXTENSION, 0, 46) }, FAILS },
	/* a repeated "v" field is a duplicate */
	{ { "v=TLSRPTv1; v=TLSRPTv1; rua=" A }, OK, { TW(TLSRPT_DUPLICATE_FIELD, 0, 13) }, 0,
	  { A, NULL }, NO_EXT },
};

static bool run_case(size_t i, const struct tlsrpt_case *c)
{
	struct mtasts_bytes records[RECORDS_PER_CASE];
	struct mtasts_tlsrpt_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	size_t count = 0, n = 0;
	bool ok = true;
	int rc;

	while (count < RECORDS_PER_CASE && c->records[count] != NULL) {
		records[count].data = c->records[count];
		records[count].len = strlen(c->records[count]);
		count++;
	}
	mtasts_diags_init(&diags);
	rc = mtasts_tlsrpt_record_parse(records, count, &rec, &diags);
	ok = outcome_matches(rc, c->rc, &diags, c->diags, rec != &sentinel);
	if (rc == MTASTS_OK && rec != &sentinel) {
		while (c->rua[n] != NULL)
			n++;
		if (ok && (rec->record_index != c->index || rec->rua_count != n)) {
			print_error("  got index %zu, %zu rua\n", rec->record_index,
				    rec->rua_count);
			ok = false;
		}
		for (size_t u = 0; ok && u < n; u++) {
			if (strcmp(rec->rua[u], c->rua[u]) != 0) {
				print_error("  rua %zu is \"%s\"\n", u, rec->rua[u]);
				ok = false;
			}
		}
		ok = ok && extensions_match(rec->extensions, rec->extension_count, c->ext);
		rec = mtasts_tlsrpt_record_free(rec);
	}
	if (!ok) {
		print_diags(&diags);
		print_error("FAILED case %zu: first record \"%s\"\n", i,
			    count > 0 ? escape(records[0].data, records[0].len) : "");
	}
	return ok;
}

static void test_table(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		failed += !run_case(i, &cases[i]);
	if (failed > 0)
		fail_msg("%zu of %zu cases failed", failed, ARRAY_LEN(cases));
}

static void test_no_records(void **state)
{
	struct mtasts_tlsrpt_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	const struct want_diag want[] = { TE(TLSRPT_NO_RECORD, -1, 0), { 0 } };

	(void)state;
	/* no TXT record at all: tlsrpt-no-record */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(NULL, 0, &rec, &diags),
			 MTASTS_ERR_NO_RECORD);
	assert_true(diags_match(&diags, want));
	assert_ptr_equal(rec, &sentinel);
}

static void test_rua_count(void **state)
{
	char buf[2048];
	size_t pos;
	struct mtasts_bytes r = { buf, 0 };
	struct mtasts_tlsrpt_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;

	(void)state;
	pos = (size_t)snprintf(buf, sizeof(buf), "v=TLSRPTv1; rua=mailto:r0@example.com");
	for (int i = 1; i < MTASTS_TLSRPT_RUA_MAX; i++)
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos,
					",mailto:r%d@example.com", i);
	r.len = pos;

	/* MTASTS_TLSRPT_RUA_MAX usable URIs are kept, in order */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(&r, 1, &rec, &diags), MTASTS_OK);
	assert_int_equal(rec->rua_count, MTASTS_TLSRPT_RUA_MAX);
	assert_string_equal(rec->rua[0], "mailto:r0@example.com");
	assert_string_equal(rec->rua[MTASTS_TLSRPT_RUA_MAX - 1], "mailto:r31@example.com");
	rec = mtasts_tlsrpt_record_free(rec);

	/* one more is rejected, not truncated */
	rec = &sentinel;
	pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, ",https://r.example.com/");
	r.len = pos;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(&r, 1, &rec, &diags), MTASTS_ERR_INVALID);
	assert_int_equal(diags.count, 1);
	assert_int_equal(diags.items[0].code, MTASTS_TLSRPT_SYNTAX);
	assert_int_equal(diags.items[0].column, pos - strlen("https://r.example.com/") + 1);
	assert_ptr_equal(rec, &sentinel);

	/* unusable URIs do not count against the limit */
	pos = (size_t)snprintf(buf, sizeof(buf), "v=TLSRPTv1; rua=mailto:r@example.com");
	for (int i = 0; i < MTASTS_TLSRPT_RUA_MAX; i++)
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, ",http://h%d.example", i);
	r.len = pos;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(&r, 1, &rec, &diags), MTASTS_OK);
	assert_int_equal(rec->rua_count, 1);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_WARNING),
			 MTASTS_TLSRPT_RUA_MAX);
	rec = mtasts_tlsrpt_record_free(rec);
}

static void test_limits(void **state)
{
	struct mtasts_bytes r[MTASTS_TXT_RECORDS_MAX + 1];
	struct mtasts_tlsrpt_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	char *buf = malloc(MTASTS_TXT_RECORD_MAX + 1);
	const char *head = RUA A "; x=";
	const struct want_diag too_long[] = { TE(TLSRPT_TOO_LONG, 0, 0), { 0 } };
	const struct want_diag too_many[] = { TE(TLSRPT_MULTIPLE_RECORDS, -1, 0), { 0 } };

	(void)state;
	assert_non_null(buf);
	memset(buf, 'y', MTASTS_TXT_RECORD_MAX + 1);
	memcpy(buf, head, strlen(head));
	r[0].data = buf;

	/* a record of MTASTS_TXT_RECORD_MAX octets is accepted */
	r[0].len = MTASTS_TXT_RECORD_MAX;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(r, 1, &rec, &diags), MTASTS_OK);
	assert_int_equal(strlen(rec->extensions[0].value),
			 MTASTS_TXT_RECORD_MAX - strlen(head));
	rec = mtasts_tlsrpt_record_free(rec);

	/* one octet more: tlsrpt-too-long */
	rec = &sentinel;
	r[0].len = MTASTS_TXT_RECORD_MAX + 1;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(r, 1, &rec, &diags), MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, too_long));
	assert_ptr_equal(rec, &sentinel);
	free(buf);

	/* more than MTASTS_TXT_RECORDS_MAX records: rejected */
	for (size_t i = 0; i < MTASTS_TXT_RECORDS_MAX + 1; i++) {
		r[i].data = "other";
		r[i].len = 5;
	}
	r[0].data = RUA A;
	r[0].len = strlen(RUA A);
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(r, MTASTS_TXT_RECORDS_MAX + 1, &rec,
						    &diags), MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, too_many));
	assert_ptr_equal(rec, &sentinel);
	/* MTASTS_TXT_RECORDS_MAX is fine */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(r, MTASTS_TXT_RECORDS_MAX, &rec, &diags),
			 MTASTS_OK);
	assert_int_equal(rec->rua_count, 1);
	rec = mtasts_tlsrpt_record_free(rec);
}

static void test_embedded_nul(void **state)
{
	static const char in_mailto[] = RUA "mailto:a\0b@example.com";
	static const char in_https[] = RUA "https://r.example.com/\0x";
	const struct mtasts_bytes records[] = {
		{ in_mailto, sizeof(in_mailto) - 1 },
		{ in_https, sizeof(in_https) - 1 },
	};
	struct mtasts_tlsrpt_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	const struct want_diag want_mailto[] = { TE(TLSRPT_INVALID_URI, 0, 25), { 0 } };
	const struct want_diag want_https[] = { TE(TLSRPT_INVALID_URI, 0, 39), { 0 } };

	(void)state;
	/* a NUL octet is no URI character: it would cut the copy short */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(&records[0], 1, &rec, &diags),
			 MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, want_mailto));
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_tlsrpt_record_parse(&records[1], 1, &rec, &diags),
			 MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, want_https));
	assert_ptr_equal(rec, &sentinel);
}

static void test_arguments(void **state)
{
	struct mtasts_bytes bad = { NULL, 4 }, good = { RUA A, strlen(RUA A) };
	struct mtasts_tlsrpt_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;

	(void)state;
	/* _free(NULL) returns NULL */
	assert_null(mtasts_tlsrpt_record_free(NULL));
	mtasts_diags_init(&diags);
	/* API preconditions */
	assert_int_equal(mtasts_tlsrpt_record_parse(&bad, 1, &rec, &diags),
			 MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_tlsrpt_record_parse(NULL, 2, &rec, &diags),
			 MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_tlsrpt_record_parse(&good, 1, NULL, &diags),
			 MTASTS_ERR_ARGUMENT);
	assert_ptr_equal(rec, &sentinel);
	/* diagnostics are optional */
	assert_int_equal(mtasts_tlsrpt_record_parse(&good, 1, &rec, NULL), MTASTS_OK);
	assert_string_equal(rec->rua[0], A);
	rec = mtasts_tlsrpt_record_free(rec);
	good.data = RUA "http://x.example";
	good.len = strlen(good.data);
	rec = &sentinel;
	assert_int_equal(mtasts_tlsrpt_record_parse(&good, 1, &rec, NULL), MTASTS_ERR_INVALID);
	assert_ptr_equal(rec, &sentinel);
	/* what to write instead, said in the message */
	{
		static const struct {
			const char *record, *says;
		} hints[] = {
			{ RUA "tlsrpt@example.com", "write \"mailto:tlsrpt@example.com\"" },
			{ "v=TLSRPTV1; rua=" A, "the tag is case-sensitive: write \"v=TLSRPTv1;\"" },
			{ "\"" RUA A "\"", "remove the quotes" },
		};

		for (size_t i = 0; i < ARRAY_LEN(hints); i++) {
			struct mtasts_bytes r = { hints[i].record, strlen(hints[i].record) };

			mtasts_diags_init(&diags);
			rec = &sentinel;
			assert_int_not_equal(mtasts_tlsrpt_record_parse(&r, 1, &rec, &diags),
					     MTASTS_OK);
			assert_true(diags.count >= 1);
			if (strstr(diags.items[0].message, hints[i].says) == NULL)
				fail_msg("%s: \"%s\" lacks \"%s\"", hints[i].record,
					 diags.items[0].message, hints[i].says);
		}
	}
	/* names of the TLSRPT codes are part of the contract */
	assert_string_equal(mtasts_code_name(MTASTS_TLSRPT_NO_USABLE_RUA),
			    "tlsrpt-no-usable-rua");
	assert_string_equal(mtasts_code_name(MTASTS_TLSRPT_UNSUPPORTED_SCHEME),
			    "tlsrpt-unsupported-scheme");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_no_records),
		cmocka_unit_test(test_rua_count),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_arguments),
	};

	return cmocka_run_group_tests_name("tlsrpt", tests, NULL, NULL);
}
