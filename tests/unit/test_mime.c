/*
 * test_mime.c - the parts of mail messages (mime_parse): the real reports of
 * tests/unit/data/tlsrpt, and messages written here for each tolerance and
 * each limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "unit.h"

#include "mime.h"

static const char *data_dir = "tests/unit/data/tlsrpt";

static const struct mime_limits limits = { .max_parts = 32, .max_depth = 4,
					   .max_decoded = 1024 * 1024 };

static unsigned char *read_sample(const char *name, size_t *ret_len)
{
	char path[512];
	FILE *f;
	unsigned char *data;
	long size;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	data = malloc((size_t)size);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*ret_len = (size_t)size;
	return data;
}

static int parse_text(const char *text, const struct mime_limits *lim, struct mime_message *m,
		      char *why, size_t why_size)
{
	return mime_parse((const unsigned char *)text, strlen(text), lim, m, why, why_size);
}

struct sample {
	const char *file;
	const char *message_id;
	const char *attachment;		/* file name of the report part */
	size_t parts;
};

static const struct sample samples[] = {
	{ "google-1.eml", "<66e813b9.050a0220.395bc2.4615tls@google.com>",
	  "google.com!krvtz.net!1726358400!1726444799!001.json.gz", 2 },
	{ "google-2.eml", "<6a049c05.00000000.3554e0.3524tls@google.com>",
	  "google.com!example.com!1778544000!1778630399!001.json.gz", 2 },
	{ "google-no-policy.eml", "<66d83c20.050a0220.a0566.1e8dtls@google.com>",
	  "google.com!cardinalhealth.ca!1725321600!1725407999!001.json.gz", 2 },
	{ "microsoft-2.eml", "<133198585438131172+test.xmox.nl@test.xmox.nl>",
	  "microsoft.com!test.xmox.nl!1673308800!1673395199!133198585438131172.json.gz", 2 },
	{ "microsoft-sts-tlsa.eml", "<133708152202987951+krvtz.net@krvtz.net>",
	  "microsoft.com!krvtz.net!1726185600!1726271999!133708152202987951.json.gz", 2 },
	{ "microsoft-success.eml", "<134232617934286362+example.com@example.com>",
	  "microsoft.com!example.com!1778630400!1778716799!134232617934286362.json.gz", 2 },
};

static void test_samples(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(samples); i++) {
		struct mime_message m;
		char why[160] = "";
		size_t len;
		unsigned char *data = read_sample(samples[i].file, &len);

		assert_true(mime_looks_like_message(data, len));
		assert_int_equal(mime_parse(data, len, &limits, &m, why, sizeof(why)), 0);
		assert_int_equal(m.part_count, samples[i].parts);
		assert_string_equal(m.report_type, "tlsrpt");
		assert_string_equal(m.message_id, samples[i].message_id);
		assert_true(strstr(m.from, "@microsoft.com") != NULL ||
			    strstr(m.from, "@google.com") != NULL);
		assert_non_null(strstr(m.subject, "Report Domain: "));
		assert_memory_equal(m.parts[0].media_type, "text/", 5);
		assert_string_equal(m.parts[1].media_type, "application/tlsrpt+gzip");
		assert_string_equal(m.parts[1].file_name, samples[i].attachment);
		assert_true(m.parts[1].body_len > 100);
		assert_int_equal(m.parts[1].body[0], 0x1f);
		assert_int_equal(m.parts[1].body[1], 0x8b);
		mime_message_clear(&m);
		free(data);
	}
}

/* The same message with CRLF and with LF line ends: the same parts. */
#define REPORT_MAIL(nl) \
	"From: reporter@example.net" nl \
	"Subject: Report Domain: example.com" nl \
	"  Submitter: example.net" nl \
	"Message-ID: <1@example.net>" nl \
	"MIME-Version: 1.0" nl \
	"Content-Type: multipart/report; report-type=\"TLSRPT\";" nl \
	"\tboundary=\"b1\"" nl \
	nl \
	"This is the preamble." nl \
	"--b1" nl \
	"Content-Type: text/plain" nl \
	nl \
	"A report." nl \
	"--b1" nl \
	"Content-Type: application/tlsrpt+json" nl \
	"Content-Transfer-Encoding: base64" nl \
	"Content-Disposition: attachment; filename=\"r.json\"" nl \
	nl \
	"eyJyZXBvcnQt" nl \
	"aWQiOiAieCJ9" nl \
	"--b1--" nl \
	"The epilogue." nl

static void check_report_mail(const struct mime_message *m)
{
	assert_string_equal(m->from, "reporter@example.net");
	assert_string_equal(m->subject, "Report Domain: example.com  Submitter: example.net");
	assert_string_equal(m->message_id, "<1@example.net>");
	assert_string_equal(m->report_type, "tlsrpt");
	assert_int_equal(m->part_count, 2);
	assert_string_equal(m->parts[0].media_type, "text/plain");
	assert_null(m->parts[0].file_name);
	assert_int_equal(m->parts[0].body_len, strlen("A report."));
	assert_memory_equal(m->parts[0].body, "A report.", m->parts[0].body_len);
	assert_string_equal(m->parts[1].media_type, "application/tlsrpt+json");
	assert_string_equal(m->parts[1].file_name, "r.json");
	assert_int_equal(m->parts[1].body_len, strlen("{\"report-id\": \"x\"}"));
	assert_memory_equal(m->parts[1].body, "{\"report-id\": \"x\"}", m->parts[1].body_len);
}

static void test_line_ends_and_folding(void **state)
{
	struct mime_message m;
	char why[160];

	(void)state;
	assert_int_equal(parse_text(REPORT_MAIL("\r\n"), &limits, &m, why, sizeof(why)), 0);
	check_report_mail(&m);
	mime_message_clear(&m);
	assert_int_equal(parse_text(REPORT_MAIL("\n"), &limits, &m, why, sizeof(why)), 0);
	check_report_mail(&m);
	mime_message_clear(&m);
}

static void test_quirks(void **state)
{
	struct mime_message m;
	char why[160];

	(void)state;
	/* "ContentType", a bare boundary, junk after the base64 padding, no close delimiter */
	assert_int_equal(parse_text(
		"Subject: x\nContentType: multipart/mixed; boundary=zz\n\n"
		"--zz\nContentType: application/octet-stream; name=a.json.gz\n"
		"Content-Transfer-Encoding: BASE64\n\nH4sI\nAA==\n-- junk\n", &limits, &m, why,
		sizeof(why)), 0);
	assert_int_equal(m.part_count, 1);
	assert_null(m.report_type);
	assert_null(m.from);
	assert_string_equal(m.parts[0].media_type, "application/octet-stream");
	assert_string_equal(m.parts[0].file_name, "a.json.gz");
	assert_int_equal(m.parts[0].body_len, 4);
	assert_memory_equal(m.parts[0].body, "\x1f\x8b\x08\x00", 4);
	mime_message_clear(&m);

	/* quoted-printable JSON with a soft line break, =XX and a lone "=" */
	assert_int_equal(parse_text(
		"Content-Type: application/tlsrpt+json\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		"{\"organization-name\":=20\"Ex=\r\nample\", \"a\": \"1=2\"}", &limits, &m, why,
		sizeof(why)), 0);
	assert_int_equal(m.part_count, 1);
	assert_string_equal((char *)m.parts[0].body,
			    "{\"organization-name\": \"Example\", \"a\": \"1=2\"}");
	mime_message_clear(&m);

	/* a single-part message without Content-Type: text/plain, body as it is */
	assert_int_equal(parse_text("Subject: hello\n\n{}\n", &limits, &m, why, sizeof(why)), 0);
	assert_int_equal(m.part_count, 1);
	assert_string_equal(m.parts[0].media_type, "text/plain");
	assert_string_equal((char *)m.parts[0].body, "{}\n");
	mime_message_clear(&m);

	/* RFC 2231 file name; Content-Disposition beats Content-Type name= */
	assert_int_equal(parse_text(
		"Content-Type: application/gzip; name=\"other.gz\"\n"
		"Content-Disposition: attachment; filename*=utf-8''r%C3%A9port.json.gz\n\nx",
		&limits, &m, why, sizeof(why)), 0);
	assert_string_equal(m.parts[0].file_name, "r\xc3\xa9port.json.gz");
	mime_message_clear(&m);
}

static void test_nested(void **state)
{
	struct mime_message m;
	char why[160];

	(void)state;
	assert_int_equal(parse_text(
		"Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
		"--outer\nContent-Type: text/plain\n\nhello\n"
		"--outer\nContent-Type: multipart/report; report-type=tlsrpt; boundary=inner\n\n"
		"--inner\nContent-Type: text/plain\n\nreport text\n"
		"--inner\nContent-Type: application/tlsrpt+gzip\n\nGZ\n"
		"--inner--\n"
		"--outer\nContent-Type: message/rfc822\n\n"
		"Subject: forwarded\nContent-Type: application/json\n\n{\"a\":1}\n"
		"--outer--\n", &limits, &m, why, sizeof(why)), 0);
	assert_int_equal(m.part_count, 4);
	assert_string_equal(m.report_type, "tlsrpt");
	assert_string_equal((char *)m.parts[0].body, "hello");
	assert_string_equal((char *)m.parts[1].body, "report text");
	assert_string_equal(m.parts[2].media_type, "application/tlsrpt+gzip");
	assert_string_equal((char *)m.parts[2].body, "GZ");
	assert_string_equal(m.parts[3].media_type, "application/json");
	assert_string_equal((char *)m.parts[3].body, "{\"a\":1}");
	/* the forwarded message's Subject is not the message's */
	assert_null(m.subject);
	mime_message_clear(&m);
}

static void test_limits(void **state)
{
	struct mime_limits small = { .max_parts = 3, .max_depth = 2, .max_decoded = 8 };
	struct mime_message m = { .part_count = 99 };
	char why[160];

	(void)state;
	/* four parts */
	assert_int_equal(parse_text("Content-Type: multipart/mixed; boundary=b\n\n"
				    "--b\n\n1\n--b\n\n2\n--b\n\n3\n--b\n\n4\n--b--\n",
				    &small, &m, why, sizeof(why)), -1);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(why, "mime: more than 3 parts");
	assert_int_equal(m.part_count, 0);
	assert_null(m.parts);

	/* three levels of multipart */
	assert_int_equal(parse_text("Content-Type: multipart/mixed; boundary=a\n\n"
				    "--a\nContent-Type: multipart/mixed; boundary=b\n\n"
				    "--b\nContent-Type: multipart/mixed; boundary=c\n\n"
				    "--c\n\nx\n--c--\n--b--\n--a--\n",
				    &small, &m, why, sizeof(why)), -1);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(why, "mime: multipart nested deeper than 2");

	/* a body that decodes to 9 octets */
	assert_int_equal(parse_text("Content-Type: text/plain\n\n123456789", &small, &m, why,
				    sizeof(why)), -1);
	assert_int_equal(errno, EFBIG);
	assert_non_null(strstr(why, "more than 8 octets"));
	assert_int_equal(parse_text("Content-Type: text/plain\n\n12345678", &small, &m, why,
				    sizeof(why)), 0);
	mime_message_clear(&m);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A Content-Type of "application/json" followed by count times parameter. */
static char *flooded_message(size_t count, const char *parameter)
{
	size_t size = 128 + count * strlen(parameter), len;
	char *text = malloc(size);

	assert_non_null(text);
	len = (size_t)snprintf(text, size, "From: a@example.net\r\nContent-Type: application/json");
	for (size_t i = 0; i < count; i++) {
		memcpy(text + len, parameter, strlen(parameter));
		len += strlen(parameter);
	}
	snprintf(text + len, size - len, "\r\n\r\n{}\r\n");
	return text;
}

/*
 * Parameters are scanned in place and bounded: a header of 100,000 of them
 * (5 MB) is refused at once, not copied once for each (which took
 * seconds).
 */
static void test_parameter_flood(void **state)
{
	struct mime_message m = { .part_count = 99 };
	struct timespec start;
	char why[160];
	char *text;
	int rc;

	(void)state;
	text = flooded_message(100000, "; filler=\"a value long enough to make it 5 MB\"");
	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = parse_text(text, &limits, &m, why, sizeof(why));
	assert_true(seconds_since(&start) < 1.0);
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(m.part_count, 0);
	free(text);

	/* 64 parameters are read, the last one found; 65 are refused, saying so */
	text = flooded_message(63, "; a=x");
	strcpy(strstr(text, "\r\n\r\n"), "; name=r.json\r\n\r\n{}\r\n");
	assert_int_equal(parse_text(text, &limits, &m, why, sizeof(why)), 0);
	assert_string_equal(m.parts[0].file_name, "r.json");
	mime_message_clear(&m);
	free(text);
	text = flooded_message(65, "; a=x");
	assert_int_equal(parse_text(text, &limits, &m, why, sizeof(why)), -1);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(why, "mime: a Content-Type field with more than 64 parameters");
	free(text);
	assert_int_equal(parse_text("Content-Type: text/plain\n"
				    "Content-Disposition: attachment"
				    "; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1"
				    "; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1"
				    "; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1"
				    "; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1"
				    "; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1; a=1"
				    "\n\nx", &limits, &m, why, sizeof(why)), -1);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(why, "mime: a Content-Disposition field with more than 64 parameters");
}

/* A header block past 256 KiB is refused, however its fields are cut. */
static void test_header_block_limit(void **state)
{
	size_t size = 300 * 1024, len = 0;
	char *text = malloc(size + 64);
	struct mime_message m = { .part_count = 99 };
	char why[160];
	struct timespec start;

	(void)state;
	assert_non_null(text);
	while (len < size)
		len += (size_t)sprintf(text + len, "X-Filler: %08zu\n", len);
	strcpy(text + len, "\n{}\n");
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(parse_text(text, &limits, &m, why, sizeof(why)), -1);
	assert_true(seconds_since(&start) < 1.0);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(why, "mime: a header block of more than 262144 octets");
	assert_int_equal(m.part_count, 0);
	/* just under the limit is read */
	len = 0;
	while (len + 20 < 256 * 1024)
		len += (size_t)sprintf(text + len, "X-Filler: %08zu\n", len);
	strcpy(text + len, "\n{}\n");
	assert_int_equal(parse_text(text, &limits, &m, why, sizeof(why)), 0);
	assert_string_equal((char *)m.parts[0].body, "{}\n");
	mime_message_clear(&m);
	free(text);
}

static void test_looks_like_message(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "From: a@b\nSubject: x\n\nbody", 1 },
		{ "From sender Mon Jan  1 00:00:00 2024\nFrom: a@b\n\n", 1 },
		{ "Received: from x\n\tby y\nTo: z\n", 1 },
		{ "{\"report-id\": 1}", 0 },
		{ "\tcontinuation first\n", 0 },
		{ "no colon here\n", 0 },
		{ "", 0 },
		{ ": empty name\n", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		assert_int_equal(mime_looks_like_message((const unsigned char *)cases[i].text,
							 strlen(cases[i].text)), cases[i].want);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_line_ends_and_folding),
		cmocka_unit_test(test_quirks),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_parameter_flood),
		cmocka_unit_test(test_header_block_limit),
		cmocka_unit_test(test_looks_like_message),
	};

	if (argc > 1)
		data_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
