/*
 * test_txt.c - the MTA-STS TXT record parser (RFC 8461 3.1), table-driven.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "unit.h"

#include <mtasts/txt.h>

#define RECORDS_PER_CASE 4
#define EXTS_PER_CASE 4

struct txt_case {
	const char *records[RECORDS_PER_CASE];	/* NULL ends the list */
	int rc;
	struct want_diag diags[WANT_DIAGS_MAX];
	const char *id;				/* on success */
	size_t index;				/* on success */
	const char *ext[2 * EXTS_PER_CASE + 1];	/* name, value, ...; NULL ends */
};

#define OK MTASTS_OK
#define INVALID MTASTS_ERR_INVALID
#define NO_RECORD MTASTS_ERR_NO_RECORD

static const char id32[] = "abcdefghijABCDEFGHIJ0123456789xy";

static const struct txt_case cases[] = {
	/* --- the version tag and record selection --- */
	/* sts-version first, then one field: the minimal record */
	{ { "v=STSv1; id=abc" }, OK, { { 0 } }, "abc", 0, { NULL } },
	/* RFC 8461 3.1 example record, with its trailing delimiter */
	{ { "v=STSv1; id=20160831085700Z;" }, OK, { { 0 } }, "20160831085700Z", 0, { NULL } },
	/* sts-field-delim: no white space is needed around ";" */
	{ { "v=STSv1;id=abc" }, OK, { { 0 } }, "abc", 0, { NULL } },
	/* sts-field-delim: several WSP, tabs included, on both sides */
	{ { "v=STSv1; id=abc \t;\t  x=1" }, OK, { { 0 } }, "abc", 0, { "x", "1", NULL } },
	/* sts-field-delim: *WSP before ";", between two fields */
	{ { "v=STSv1;id=abc ;x=1" }, OK, { { 0 } }, "abc", 0, { "x", "1", NULL } },
	/* optional trailing sts-field-delim: ";" */
	{ { "v=STSv1; id=abc;" }, OK, { { 0 } }, "abc", 0, { NULL } },
	/* optional trailing sts-field-delim: WSP ";" WSP */
	{ { "v=STSv1; id=abc ; " }, OK, { { 0 } }, "abc", 0, { NULL } },
	/* optional trailing sts-field-delim: ";" then a tab */
	{ { "v=STSv1; id=abc;\t" }, OK, { { 0 } }, "abc", 0, { NULL } },
	/* only ONE trailing delimiter: ";;" is an empty field */
	{ { "v=STSv1; id=abc;;" }, INVALID, { TE(TXT_SYNTAX, 0, 17) }, NULL, 0, { NULL } },
	/* only ONE trailing delimiter: "; ;" is an empty field */
	{ { "v=STSv1; id=abc; ;" }, INVALID, { TE(TXT_SYNTAX, 0, 18) }, NULL, 0, { NULL } },
	/* trailing white space without ";" is a syntax error */
	{ { "v=STSv1; id=abc " }, INVALID, { TE(TXT_SYNTAX, 0, 16) }, NULL, 0, { NULL } },
	/* trailing tab without ";" is a syntax error */
	{ { "v=STSv1; id=abc\t" }, INVALID, { TE(TXT_SYNTAX, 0, 16) }, NULL, 0, { NULL } },
	/* fields are separated by ";", not by white space alone: the id takes the rest */
	{ { "v=STSv1; id=abc x=1" }, INVALID, { TE(TXT_INVALID_ID, 0, 16) }, NULL, 0,
	  { NULL } },
	/* an empty field between delimiters */
	{ { "v=STSv1;; id=abc" }, INVALID, { TE(TXT_SYNTAX, 0, 9) }, NULL, 0, { NULL } },
	/* a field needs "=" */
	{ { "v=STSv1; id" }, INVALID, { TE(TXT_SYNTAX, 0, 12) }, NULL, 0, { NULL } },
	/* no white space between a field name and "=" */
	{ { "v=STSv1; id =abc" }, INVALID, { TE(TXT_SYNTAX, 0, 12) }, NULL, 0, { NULL } },
	/* a field needs a name before "=" */
	{ { "v=STSv1; =abc; id=abc" }, INVALID, { TE(TXT_SYNTAX, 0, 10) }, NULL, 0, { NULL } },
	/* sts-version and a lone delimiter: selected, but it has no id */
	{ { "v=STSv1;" }, INVALID, { TE(TXT_MISSING_ID, 0, 0) }, NULL, 0, { NULL } },

	/* --- RFC 8461 3.1: records not beginning with "v=STSv1;" are discarded --- */
	/* WSP before ";" fits the ABNF, but the record is discarded (at column 8) */
	{ { "v=STSv1 ; id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 8), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* a tab before ";": discarded too */
	{ { "v=STSv1\t;id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 8), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* sts-version alone, without ";": discarded, so no record at all */
	{ { "v=STSv1" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 8), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* sts-version and white space: discarded */
	{ { "v=STSv1 " }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 8), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* fields after white space instead of ";": discarded */
	{ { "v=STSv1 id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 8), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* the version tag is case-sensitive: "v=stsv1;" (column of the first "s") */
	{ { "v=stsv1; id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 3), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* the version tag is case-sensitive: "V=STSv1;" */
	{ { "V=STSv1; id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* the version tag is case-sensitive: "v=STSV1;" */
	{ { "v=STSV1; id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 6), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* the record in its zone-file quotes: discarded, "remove the quotes" (column 1) */
	{ { "\"v=STSv1; id=abc\"" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* quotes on one side only are no zone-file quotes: a plain unrelated record */
	{ { "\"v=STSv1; id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* a discarded near miss is not counted: the exact record is the one */
	{ { "v=STSv1 ; id=old", "v=STSv1; id=new" }, OK,
	  { TW(TXT_UNRELATED_RECORD, 0, 8) }, "new", 1, { NULL } },
	/* a bare "v=STSv1" next to a record makes no second record */
	{ { "v=STSv1", "v=STSv1; id=abc" }, OK,
	  { TW(TXT_UNRELATED_RECORD, 0, 8) }, "abc", 1, { NULL } },
	/* two exact records and a near miss: the two still count as several */
	{ { "v=STSv1; id=a", "v=stsv1; id=b", "v=STSv1;id=c" }, INVALID,
	  { TW(TXT_UNRELATED_RECORD, 1, 3), TE(TXT_MULTIPLE_RECORDS, -1, 0) }, NULL, 0,
	  { NULL } },
	/* "v=STSv10" is no near miss: a plain unrelated record, at column 1 */
	{ { "v=STSv10; id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* "v=STSv1x" is no near miss either */
	{ { "v=STSv1x" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* a leading tab makes another record too */
	{ { "\tv=STSv1; id=abc", "v=spf1 -all" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TW(TXT_UNRELATED_RECORD, 1, 1),
	    TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* "v=STSv1" must come first: leading white space makes another record */
	{ { " v=STSv1; id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* "v=STSv1" must come first: after another field it does not count */
	{ { "id=abc; v=STSv1" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* an empty TXT record is unrelated */
	{ { "" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* a TLSRPT record at the wrong name is unrelated */
	{ { "v=TLSRPTv1; rua=mailto:a@example.com" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* unrelated records are discarded; the STS one is used (record index 1) */
	{ { "v=spf1 -all", "v=STSv1; id=abc" }, OK,
	  { TW(TXT_UNRELATED_RECORD, 0, 1) }, "abc", 1, { NULL } },
	/* each unrelated record draws its own warning, with its index */
	{ { "google-site-verification=x", "v=STSv1; id=xyz", "hello" }, OK,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TW(TXT_UNRELATED_RECORD, 2, 1) }, "xyz", 1,
	  { NULL } },
	/* only unrelated records: none left, txt-no-record */
	{ { "v=spf1 -all", "v=STSv2; id=abc" }, NO_RECORD,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TW(TXT_UNRELATED_RECORD, 1, 1),
	    TE(TXT_NO_RECORD, -1, 0) }, NULL, 0, { NULL } },
	/* more than one STS record: txt-multiple-records */
	{ { "v=STSv1; id=abc", "v=STSv1; id=def" }, INVALID,
	  { TE(TXT_MULTIPLE_RECORDS, -1, 0) }, NULL, 0, { NULL } },
	/* more than one STS record, even when they are identical */
	{ { "v=STSv1; id=abc", "v=STSv1; id=abc" }, INVALID,
	  { TE(TXT_MULTIPLE_RECORDS, -1, 0) }, NULL, 0, { NULL } },
	/* more than one STS record, even when one is broken */
	{ { "v=STSv1;", "v=spf1", "v=STSv1; id=abc" }, INVALID,
	  { TW(TXT_UNRELATED_RECORD, 1, 1), TE(TXT_MULTIPLE_RECORDS, -1, 0) }, NULL, 0,
	  { NULL } },
	/* a broken record still counts as the STS record: its errors are reported */
	{ { "v=spf1", "v=STSv1; id=a b" }, INVALID,
	  { TW(TXT_UNRELATED_RECORD, 0, 1), TE(TXT_INVALID_ID, 1, 14) }, NULL, 0, { NULL } },

	/* --- sts-id = %s"id=" 1*32(ALPHA / DIGIT) --- */
	/* sts-id: one character */
	{ { "v=STSv1; id=1" }, OK, { { 0 } }, "1", 0, { NULL } },
	/* sts-id: letters of both cases and digits, kept as written */
	{ { "v=STSv1; id=AbC019xyZ" }, OK, { { 0 } }, "AbC019xyZ", 0, { NULL } },
	/* sts-id: empty is invalid */
	{ { "v=STSv1; id=" }, INVALID, { TE(TXT_INVALID_ID, 0, 13) }, NULL, 0, { NULL } },
	/* sts-id: empty before a delimiter is invalid */
	{ { "v=STSv1; id=;" }, INVALID, { TE(TXT_INVALID_ID, 0, 13) }, NULL, 0, { NULL } },
	/* sts-id: hyphen is not ALPHA / DIGIT */
	{ { "v=STSv1; id=abc-def" }, INVALID, { TE(TXT_INVALID_ID, 0, 16) }, NULL, 0, { NULL } },
	/* sts-id: underscore is not ALPHA / DIGIT */
	{ { "v=STSv1; id=abc_def" }, INVALID, { TE(TXT_INVALID_ID, 0, 16) }, NULL, 0, { NULL } },
	/* sts-id: dot is not ALPHA / DIGIT */
	{ { "v=STSv1; id=2024.01" }, INVALID, { TE(TXT_INVALID_ID, 0, 17) }, NULL, 0, { NULL } },
	/* sts-id: internal white space is not allowed */
	{ { "v=STSv1; id=abc def" }, INVALID, { TE(TXT_INVALID_ID, 0, 16) }, NULL, 0, { NULL } },
	/* sts-id: non-ASCII (UTF-8) is not ALPHA */
	{ { "v=STSv1; id=caf\xc3\xa9" }, INVALID, { TE(TXT_INVALID_ID, 0, 16) }, NULL, 0, { NULL } },
	/* sts-id: "=" is not ALPHA / DIGIT */
	{ { "v=STSv1; id=a=b" }, INVALID, { TE(TXT_INVALID_ID, 0, 14) }, NULL, 0, { NULL } },
	/* sts-id: 33 characters is one too many (column of the 33rd) */
	{ { "v=STSv1; id=abcdefghijABCDEFGHIJ0123456789xyz" }, INVALID,
	  { TE(TXT_INVALID_ID, 0, 45) }, NULL, 0, { NULL } },
	/* sts-id: %s"id=" is case-sensitive: "ID=" is an extension, id is missing */
	{ { "v=STSv1; ID=abc" }, INVALID, { TE(TXT_MISSING_ID, 0, 0) }, NULL, 0, { NULL } },
	/* sts-id: "Id=" is not "id=" either */
	{ { "v=STSv1; Id=abc" }, INVALID, { TE(TXT_MISSING_ID, 0, 0) }, NULL, 0, { NULL } },
	/* sts-id: "iD=" is not "id=" either */
	{ { "v=STSv1; iD=abc; foo=bar" }, INVALID, { TE(TXT_MISSING_ID, 0, 0) }, NULL, 0,
	  { NULL } },
	/* a record with only extensions lacks the id */
	{ { "v=STSv1; foo=bar" }, INVALID, { TE(TXT_MISSING_ID, 0, 0) }, NULL, 0, { NULL } },
	/* "idx=" is an extension, not the id */
	{ { "v=STSv1; idx=abc" }, INVALID, { TE(TXT_MISSING_ID, 0, 0) }, NULL, 0, { NULL } },

	/* --- sts-extension = sts-ext-name "=" sts-ext-value --- */
	/* extension after the id, kept */
	{ { "v=STSv1; id=abc; foo=bar" }, OK, { { 0 } }, "abc", 0, { "foo", "bar", NULL } },
	/* fields in any order: extension before the id */
	{ { "v=STSv1; foo=bar; id=abc" }, OK, { { 0 } }, "abc", 0, { "foo", "bar", NULL } },
	/* several extensions, kept in record order */
	{ { "v=STSv1; b=2; id=abc; a=1; c=3" }, OK, { { 0 } }, "abc", 0,
	  { "b", "2", "a", "1", "c", "3", NULL } },
	/* sts-ext-name: may start with a digit */
	{ { "v=STSv1; id=abc; 9x=1" }, OK, { { 0 } }, "abc", 0, { "9x", "1", NULL } },
	/* sts-ext-name: "_", "-" and "." after the first character */
	{ { "v=STSv1; id=abc; a_b-c.d=1" }, OK, { { 0 } }, "abc", 0, { "a_b-c.d", "1", NULL } },
	/* sts-ext-name: 32 characters is the most */
	{ { "v=STSv1; id=abc; abcdefghijABCDEFGHIJ0123456789xy=1" }, OK, { { 0 } }, "abc", 0,
	  { id32, "1", NULL } },
	/* sts-ext-name: 33 characters is too many */
	{ { "v=STSv1; id=abc; abcdefghijABCDEFGHIJ0123456789xyz=1" }, INVALID,
	  { TE(TXT_INVALID_EXTENSION, 0, 18) }, NULL, 0, { NULL } },
	/* sts-ext-name: may not start with "_" */
	{ { "v=STSv1; id=abc; _x=1" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 18) }, NULL, 0,
	  { NULL } },
	/* sts-ext-name: may not start with "-" */
	{ { "v=STSv1; id=abc; -x=1" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 18) }, NULL, 0,
	  { NULL } },
	/* sts-ext-name: may not start with "." */
	{ { "v=STSv1; id=abc; .x=1" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 18) }, NULL, 0,
	  { NULL } },
	/* sts-ext-name: "!" is not allowed */
	{ { "v=STSv1; id=abc; x!=1" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 18) }, NULL, 0,
	  { NULL } },
	/* sts-ext-name: non-ASCII is not allowed */
	{ { "v=STSv1; id=abc; \xc3\xa9t\xc3\xa9=1" }, INVALID,
	  { TE(TXT_INVALID_EXTENSION, 0, 18) }, NULL, 0, { NULL } },
	/* sts-ext-value: every printable but "=" and ";" is allowed */
	{ { "v=STSv1; id=abc; x=!\"#$%&'()*+,-./09:<>?@AZ[\\]^_`az{|}~" }, OK, { { 0 } },
	  "abc", 0, { "x", "!\"#$%&'()*+,-./09:<>?@AZ[\\]^_`az{|}~", NULL } },
	/* sts-ext-value: 1*: an empty value is invalid */
	{ { "v=STSv1; id=abc; x=" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 20) }, NULL, 0,
	  { NULL } },
	/* sts-ext-value: "=" (%x3D) is excluded */
	{ { "v=STSv1; id=abc; x=a=b" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 21) }, NULL, 0,
	  { NULL } },
	/* sts-ext-value: internal space is excluded */
	{ { "v=STSv1; id=abc; x=a b" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 21) }, NULL, 0,
	  { NULL } },
	/* sts-ext-value: internal tab is excluded */
	{ { "v=STSv1; id=abc; x=a\tb" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 21) }, NULL, 0,
	  { NULL } },
	/* sts-ext-value: DEL (%x7F) is excluded */
	{ { "v=STSv1; id=abc; x=a\x7f" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 21) }, NULL, 0,
	  { NULL } },
	/* sts-ext-value: a control character is excluded */
	{ { "v=STSv1; id=abc; x=\x01" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 20) }, NULL, 0,
	  { NULL } },
	/* sts-ext-value: non-ASCII octets are excluded */
	{ { "v=STSv1; id=abc; x=caf\xc3\xa9" }, INVALID, { TE(TXT_INVALID_EXTENSION, 0, 23) },
	  NULL, 0, { NULL } },
	/* a bad extension and a bad id are both reported */
	{ { "v=STSv1; x=; id=a-b" }, INVALID,
	  { TE(TXT_INVALID_EXTENSION, 0, 12), TE(TXT_INVALID_ID, 0, 18) }, NULL, 0, { NULL } },
	/* a bad extension and a missing id are both reported */
	{ { "v=STSv1; _x=1" }, INVALID,
	  { TE(TXT_INVALID_EXTENSION, 0, 10), TE(TXT_MISSING_ID, 0, 0) }, NULL, 0, { NULL } },

	/* --- duplicated fields: the first wins, a warning names the others --- */
	/* a duplicated id: the first is used */
	{ { "v=STSv1; id=first; id=second" }, OK,
	  { TW(TXT_DUPLICATE_FIELD, 0, 20) }, "first", 0, { NULL } },
	/* a duplicated id: the winning (first) value must be valid */
	{ { "v=STSv1; id=a-b; id=good" }, INVALID,
	  { TE(TXT_INVALID_ID, 0, 14), TW(TXT_DUPLICATE_FIELD, 0, 18) }, NULL, 0, { NULL } },
	/* a duplicated id: the later one still has to fit sts-extension */
	{ { "v=STSv1; id=good; id=" }, INVALID,
	  { TE(TXT_SYNTAX, 0, 22), TW(TXT_DUPLICATE_FIELD, 0, 19) }, NULL, 0, { NULL } },
	/* a duplicated id whose later value fits sts-ext-value: only a warning */
	{ { "v=STSv1; id=good; id=a-b" }, OK,
	  { TW(TXT_DUPLICATE_FIELD, 0, 19) }, "good", 0, { NULL } },
	/* a duplicated extension: the first value is kept, once */
	{ { "v=STSv1; id=abc; x=1; x=2" }, OK,
	  { TW(TXT_DUPLICATE_FIELD, 0, 23) }, "abc", 0, { "x", "1", NULL } },
	/* a repeated "v" field is a duplicate */
	{ { "v=STSv1; v=STSv1; id=abc" }, OK,
	  { TW(TXT_DUPLICATE_FIELD, 0, 10) }, "abc", 0, { NULL } },
	/* three ids: one warning for each of the later two */
	{ { "v=STSv1; id=a; id=b; id=c" }, OK,
	  { TW(TXT_DUPLICATE_FIELD, 0, 16), TW(TXT_DUPLICATE_FIELD, 0, 22) }, "a", 0,
	  { NULL } },
	/* names differing in case are different fields, not duplicates */
	{ { "v=STSv1; id=abc; x=1; X=2" }, OK, { { 0 } }, "abc", 0,
	  { "x", "1", "X", "2", NULL } },
};

static bool run_case(size_t i, const struct txt_case *c)
{
	struct mtasts_bytes records[RECORDS_PER_CASE];
	struct mtasts_sts_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	size_t count = 0;
	bool ok = true;
	int rc;

	while (count < RECORDS_PER_CASE && c->records[count] != NULL) {
		records[count].data = c->records[count];
		records[count].len = strlen(c->records[count]);
		count++;
	}
	mtasts_diags_init(&diags);
	rc = mtasts_sts_record_parse(records, count, &rec, &diags);
	ok = outcome_matches(rc, c->rc, &diags, c->diags, rec != &sentinel);
	if (ok && rc == MTASTS_OK) {
		if (strcmp(rec->id, c->id) != 0 || rec->record_index != c->index) {
			print_error("  got id \"%s\" at index %zu\n", rec->id,
				    rec->record_index);
			ok = false;
		}
		ok = ok && extensions_match(rec->extensions, rec->extension_count, c->ext);
		rec = mtasts_sts_record_free(rec);
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
	struct mtasts_sts_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	const struct want_diag want[] = { TE(TXT_NO_RECORD, -1, 0), { 0 } };

	(void)state;
	/* no TXT record at all: txt-no-record */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_sts_record_parse(NULL, 0, &rec, &diags),
			 MTASTS_ERR_NO_RECORD);
	assert_true(diags_match(&diags, want));
	assert_ptr_equal(rec, &sentinel);
}

static void test_record_length(void **state)
{
	struct mtasts_bytes r[2];
	struct mtasts_sts_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	char *buf = malloc(MTASTS_TXT_RECORD_MAX + 2);
	const char *head = "v=STSv1; id=abc; x=";
	const struct want_diag too_long[] = { TE(TXT_TOO_LONG, 1, 0), { 0 } };

	(void)state;
	assert_non_null(buf);
	memset(buf, 'y', MTASTS_TXT_RECORD_MAX + 1);
	memcpy(buf, head, strlen(head));
	r[0].data = "unrelated";
	r[0].len = 9;
	r[1].data = buf;

	/* a record of exactly MTASTS_TXT_RECORD_MAX octets is accepted */
	r[1].len = MTASTS_TXT_RECORD_MAX;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_sts_record_parse(r, 2, &rec, &diags), MTASTS_OK);
	assert_string_equal(rec->id, "abc");
	assert_int_equal(rec->extension_count, 1);
	assert_int_equal(strlen(rec->extensions[0].value),
			 MTASTS_TXT_RECORD_MAX - strlen(head));
	rec = mtasts_sts_record_free(rec);

	/* one octet more is rejected with txt-too-long, not truncated */
	rec = &sentinel;
	r[1].len = MTASTS_TXT_RECORD_MAX + 1;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_sts_record_parse(r, 2, &rec, &diags), MTASTS_ERR_INVALID);
	assert_non_null(mtasts_diags_find(&diags, MTASTS_TXT_UNRELATED_RECORD));
	assert_non_null(mtasts_diags_find(&diags, MTASTS_TXT_TOO_LONG));
	assert_int_equal(diags.count, 2);
	assert_true(diags.items[1].code == too_long[0].code &&
		    diags.items[1].record == too_long[0].record &&
		    diags.items[1].severity == MTASTS_SEVERITY_ERROR);
	assert_ptr_equal(rec, &sentinel);
	free(buf);
}

static void test_record_count(void **state)
{
	struct mtasts_bytes r[MTASTS_TXT_RECORDS_MAX + 1];
	struct mtasts_sts_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	const struct want_diag want[] = { TE(TXT_MULTIPLE_RECORDS, -1, 0), { 0 } };

	(void)state;
	for (size_t i = 0; i < MTASTS_TXT_RECORDS_MAX + 1; i++) {
		r[i].data = "v=spf1 -all";
		r[i].len = 11;
	}
	r[MTASTS_TXT_RECORDS_MAX - 1].data = "v=STSv1; id=last";
	r[MTASTS_TXT_RECORDS_MAX - 1].len = 16;

	/* MTASTS_TXT_RECORDS_MAX records are examined; the one STS record wins */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_sts_record_parse(r, MTASTS_TXT_RECORDS_MAX, &rec, &diags),
			 MTASTS_OK);
	assert_string_equal(rec->id, "last");
	assert_int_equal(rec->record_index, MTASTS_TXT_RECORDS_MAX - 1);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_WARNING),
			 MTASTS_TXT_RECORDS_MAX - 1);
	assert_int_equal(diags.count + diags.dropped, MTASTS_TXT_RECORDS_MAX - 1);
	rec = mtasts_sts_record_free(rec);

	/* one more record is rejected */
	rec = &sentinel;
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_sts_record_parse(r, MTASTS_TXT_RECORDS_MAX + 1, &rec,
						 &diags), MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, want));
	assert_ptr_equal(rec, &sentinel);
}

/* The warning for a discarded record says why, when it looks like a typo. */
static void test_discarded_messages(void **state)
{
	static const struct {
		const char *record;
		const char *says;	/* in the message */
	} discarded[] = {
		{ "v=STSv1 ; id=abc", "\";\" must follow the tag at once" },
		{ "v=STSv1", "\";\" must follow the tag at once" },
		{ "v=stsv1; id=abc", "the tag is case-sensitive: write \"v=STSv1;\"" },
		{ "V=STSV1; id=abc", "the tag is case-sensitive: write \"v=STSv1;\"" },
		{ "\"v=STSv1; id=abc\"", "remove the quotes" },
		{ "\"v=stsv1; id=abc\"", "remove the quotes" },
		{ " v=STSv1; id=abc", "white space comes before the tag" },
		{ "v=spf1 -all", "does not begin with \"v=STSv1;\" and is ignored" },
		{ "v=STSv10; id=abc", "does not begin with \"v=STSv1;\" and is ignored" },
	};
	struct mtasts_sts_record *rec = NULL;
	struct mtasts_diags diags;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(discarded); i++) {
		struct mtasts_bytes r = { discarded[i].record, strlen(discarded[i].record) };
		const struct mtasts_diag *d;

		mtasts_diags_init(&diags);
		assert_int_equal(mtasts_sts_record_parse(&r, 1, &rec, &diags),
				 MTASTS_ERR_NO_RECORD);
		d = mtasts_diags_find(&diags, MTASTS_TXT_UNRELATED_RECORD);
		assert_non_null(d);
		if (strstr(d->message, discarded[i].says) == NULL)
			fail_msg("record \"%s\": message \"%s\" lacks \"%s\"",
				 discarded[i].record, d->message, discarded[i].says);
		/* a near miss names the rule; a plain unrelated record does not */
		assert_true((strstr(d->message, "RFC 8461 3.1") != NULL) ==
			    (strstr(discarded[i].says, "ignored") == NULL));
	}
}

/*
 * Warnings that fill the list do not crowd out the error that decides the
 * outcome: it takes the place of the latest warning.
 */
static void test_full_list_keeps_error(void **state)
{
	struct mtasts_bytes r[MTASTS_TXT_RECORDS_MAX];
	struct mtasts_sts_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;

	(void)state;
	assert_true(MTASTS_TXT_RECORDS_MAX >= MTASTS_DIAGS_MAX);
	for (size_t i = 0; i < MTASTS_TXT_RECORDS_MAX; i++) {
		r[i].data = "v=spf1 -all";
		r[i].len = 11;
	}
	/* as many unrelated records as the list holds, then txt-no-record */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_sts_record_parse(r, MTASTS_DIAGS_MAX, &rec, &diags),
			 MTASTS_ERR_NO_RECORD);
	assert_int_equal(diags.count, MTASTS_DIAGS_MAX);
	assert_int_equal(diags.dropped, 1);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR), 1);
	/* the error comes last, after the warnings kept in their order */
	assert_int_equal(diags.items[MTASTS_DIAGS_MAX - 1].code, MTASTS_TXT_NO_RECORD);
	for (size_t i = 0; i + 1 < MTASTS_DIAGS_MAX; i++) {
		assert_int_equal(diags.items[i].code, MTASTS_TXT_UNRELATED_RECORD);
		assert_int_equal(diags.items[i].record, (long)i);
	}
	assert_ptr_equal(rec, &sentinel);

	/* a list already full of errors: a new error is dropped, not a warning */
	mtasts_diags_init(&diags);
	for (size_t i = 0; i < MTASTS_DIAGS_MAX; i++)
		assert_int_equal(mtasts_sts_record_parse(NULL, 0, &rec, &diags),
				 MTASTS_ERR_NO_RECORD);
	assert_int_equal(mtasts_sts_record_parse(r, 1, &rec, &diags),
			 MTASTS_ERR_NO_RECORD);
	assert_int_equal(diags.count, MTASTS_DIAGS_MAX);
	assert_int_equal(diags.dropped, 2);
	assert_int_equal(mtasts_diags_count(&diags, MTASTS_SEVERITY_ERROR),
			 MTASTS_DIAGS_MAX);
	assert_ptr_equal(rec, &sentinel);
}

static void test_arguments(void **state)
{
	struct mtasts_bytes r = { NULL, 5 };
	struct mtasts_bytes good = { "v=STSv1; id=abc", 15 };
	struct mtasts_sts_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;

	(void)state;
	/* _free(NULL) returns NULL */
	assert_null(mtasts_sts_record_free(NULL));
	/* a record with NULL data and a length breaks the API contract */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_sts_record_parse(&r, 1, &rec, &diags), MTASTS_ERR_ARGUMENT);
	assert_ptr_equal(rec, &sentinel);
	/* NULL records with a count, or no place for the result */
	assert_int_equal(mtasts_sts_record_parse(NULL, 1, &rec, &diags), MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_sts_record_parse(&good, 1, NULL, &diags),
			 MTASTS_ERR_ARGUMENT);
	/* diagnostics are optional */
	assert_int_equal(mtasts_sts_record_parse(&good, 1, &rec, NULL), MTASTS_OK);
	assert_string_equal(rec->id, "abc");
	rec = mtasts_sts_record_free(rec);
	r.data = "v=STSv1; id=";
	r.len = 12;
	rec = &sentinel;
	assert_int_equal(mtasts_sts_record_parse(&r, 1, &rec, NULL), MTASTS_ERR_INVALID);
	assert_ptr_equal(rec, &sentinel);
}

static void test_embedded_nul(void **state)
{
	static const char data[] = "v=STSv1; id=ab\0cd";
	struct mtasts_bytes r = { data, sizeof(data) - 1 };
	struct mtasts_sts_record sentinel, *rec = &sentinel;
	struct mtasts_diags diags;
	const struct want_diag want[] = { TE(TXT_INVALID_ID, 0, 15), { 0 } };

	(void)state;
	/* a NUL octet inside the id is not ALPHA / DIGIT */
	mtasts_diags_init(&diags);
	assert_int_equal(mtasts_sts_record_parse(&r, 1, &rec, &diags), MTASTS_ERR_INVALID);
	assert_true(diags_match(&diags, want));
	assert_ptr_equal(rec, &sentinel);
}

static void test_code_names(void **state)
{
	(void)state;
	/* every code in range has a distinct name that is not "unknown" */
	for (int i = 0; i < MTASTS_CODE_COUNT; i++) {
		const char *name = mtasts_code_name((enum mtasts_code)i);

		assert_non_null(name);
		assert_string_not_equal(name, "unknown");
		assert_true(name[0] != '\0');
		for (int j = 0; j < i; j++)
			assert_string_not_equal(name, mtasts_code_name((enum mtasts_code)j));
	}
	/* out-of-range codes are "unknown" */
	assert_string_equal(mtasts_code_name(MTASTS_CODE_COUNT), "unknown");
	assert_string_equal(mtasts_code_name((enum mtasts_code)-1), "unknown");
	/* a few names are part of the contract */
	assert_string_equal(mtasts_code_name(MTASTS_TXT_NO_RECORD), "txt-no-record");
	assert_string_equal(mtasts_code_name(MTASTS_TXT_DUPLICATE_FIELD),
			    "txt-duplicate-field");
	assert_string_equal(mtasts_severity_name(MTASTS_SEVERITY_ERROR), "error");
	assert_string_equal(mtasts_severity_name(MTASTS_SEVERITY_WARNING), "warning");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_no_records),
		cmocka_unit_test(test_record_length),
		cmocka_unit_test(test_record_count),
		cmocka_unit_test(test_discarded_messages),
		cmocka_unit_test(test_full_list_keeps_error),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_code_names),
	};

	return cmocka_run_group_tests_name("txt", tests, NULL, NULL);
}
