/*
 * test_report_unpack.c - report JSON out of JSON, gzip, zip and mail
 * (report_unpack): the real reports of tests/unit/data/tlsrpt, archives
 * and messages made here, bombs stopped at the cap, and what is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <zip.h>
#include <zlib.h>

#include "unit.h"

#include "report_unpack.h"

static const char *data_dir = "tests/unit/data/tlsrpt";

#define MIB ((size_t)1024 * 1024)

struct bytes {
	unsigned char *data;
	size_t len;
};

static struct bytes read_file(const char *path)
{
	struct bytes b;
	FILE *f = fopen(path, "rb");
	long size;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	b.len = (size_t)size;
	b.data = malloc(b.len + 1);
	assert_non_null(b.data);
	assert_int_equal(fread(b.data, 1, b.len, f), b.len);
	fclose(f);
	return b;
}

static struct bytes read_sample(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	return read_file(path);
}

/* gzip of len octets of data repeated times times, deflated in a loop. */
static struct bytes gzip_repeat(const void *data, size_t len, size_t times)
{
	struct bytes out = { NULL, 0 };
	size_t capacity = 64 * 1024;
	z_stream zs = { 0 };

	out.data = malloc(capacity);
	assert_non_null(out.data);
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
	for (size_t i = 0; i <= times; i++) {
		int flush = i == times ? Z_FINISH : Z_NO_FLUSH;
		int zrc;

		zs.next_in = (unsigned char *)(i == times ? (const void *)"" : data);
		zs.avail_in = i == times ? 0 : (uInt)len;
		do {
			if (capacity - out.len < 64 * 1024) {
				capacity *= 2;
				out.data = realloc(out.data, capacity);
				assert_non_null(out.data);
			}
			zs.next_out = out.data + out.len;
			zs.avail_out = (uInt)(capacity - out.len);
			zrc = deflate(&zs, flush);
			out.len = capacity - zs.avail_out;
		} while (zs.avail_in > 0 || (flush == Z_FINISH && zrc != Z_STREAM_END));
	}
	deflateEnd(&zs);
	return out;
}

static struct bytes gzip_text(const char *text)
{
	return gzip_repeat(text, strlen(text), 1);
}

struct zip_entry {
	const char *name;		/* ends in "/" for a directory */
	const void *data;
	size_t len;
	bool encrypt;
};

/* A zip archive of the entries, made by libzip in a temporary file. */
static struct bytes make_zip(const struct zip_entry *entries, size_t count)
{
	char path[] = "/tmp/test_report_unpack.XXXXXX";
	int fd = mkstemp(path), error = 0;
	zip_t *za;
	struct bytes b;

	assert_true(fd >= 0);
	close(fd);
	za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &error);
	assert_non_null(za);
	for (size_t i = 0; i < count; i++) {
		const struct zip_entry *e = &entries[i];
		zip_int64_t index;

		if (e->name[strlen(e->name) - 1] == '/') {
			assert_true(zip_dir_add(za, e->name, ZIP_FL_ENC_UTF_8) >= 0);
			continue;
		}
		zip_source_t *src = zip_source_buffer(za, e->data, e->len, 0);

		assert_non_null(src);
		index = zip_file_add(za, e->name, src, ZIP_FL_ENC_UTF_8);
		assert_true(index >= 0);
		assert_int_equal(zip_set_file_compression(za, (zip_uint64_t)index, ZIP_CM_DEFLATE, 9),
				 0);
		if (e->encrypt) {
			zip_uint16_t method = zip_encryption_method_supported(ZIP_EM_AES_256, 1) ?
					      ZIP_EM_AES_256 : ZIP_EM_TRAD_PKWARE;

			assert_int_equal(zip_file_set_encryption(za, (zip_uint64_t)index, method,
								 "secret"), 0);
		}
	}
	assert_int_equal(zip_close(za), 0);
	b = read_file(path);
	unlink(path);
	return b;
}

static char *base64(const unsigned char *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(len / 3 * 4 + len / 57 * 2 + 8);
	size_t o = 0;

	assert_non_null(out);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)data[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
		if ((i / 3 + 1) % 19 == 0)
			out[o++] = '\n';
	}
	out[o] = '\0';
	return out;
}

/* A mail message with one attachment of the given type, name and bytes. */
static struct bytes mail_with(const char *media_type, const char *file_name,
			      const unsigned char *data, size_t len)
{
	char *encoded = base64(data, len);
	size_t size = strlen(encoded) + 1024;
	struct bytes b = { malloc(size), 0 };
	int n;

	assert_non_null(b.data);
	n = snprintf((char *)b.data, size,
		     "From: tlsrpt@example.net\nSubject: Report Domain: example.com\n"
		     "Message-ID: <m@example.net>\n"
		     "Content-Type: multipart/report; report-type=tlsrpt; boundary=\"B\"\n\n"
		     "--B\nContent-Type: text/plain\n\nThis is a report.\n"
		     "--B\nContent-Type: %s\nContent-Transfer-Encoding: base64\n"
		     "Content-Disposition: attachment; filename=\"%s\"\n\n%s\n--B--\n",
		     media_type, file_name, encoded);
	assert_true(n > 0 && (size_t)n < size);
	b.len = (size_t)n;
	free(encoded);
	return b;
}

static int unpack(struct bytes in, enum unpack_format hint, const struct unpack_limits *limits,
		  struct unpack_result *result, char *why, size_t why_size)
{
	return report_unpack(in.data, in.len, hint, limits, result, why, why_size);
}

/* A failure: -1, errno, the reason, and the result left empty. */
static void expect_failure(struct bytes in, enum unpack_format hint,
			   const struct unpack_limits *limits, int err, const char *reason)
{
	struct unpack_result r = { .member_count = 7 };
	char why[200] = "";

	assert_int_equal(unpack(in, hint, limits, &r, why, sizeof(why)), -1);
	if (strstr(why, reason) == NULL)
		fail_msg("reason \"%s\" does not hold \"%s\"", why, reason);
	assert_int_equal(errno, err);
	assert_int_equal(r.member_count, 0);
	assert_null(r.members);
	assert_null(r.mail_from);
}

struct sample {
	const char *file;
	size_t reports;
	const char *report_id;
	const char *message_id;
};

/* The report-ids as read from the samples (Python's email and gzip modules). */
static const struct sample samples[] = {
	{ "google-1.eml", 1, "2024-09-15T00:00:00Z_krvtz.net",
	  "<66e813b9.050a0220.395bc2.4615tls@google.com>" },
	{ "google-2.eml", 1, "2026-05-12T00:00:00Z_example.com",
	  "<6a049c05.00000000.3554e0.3524tls@google.com>" },
	{ "google-no-policy.eml", 1, "2024-09-03T00:00:00Z_cardinalhealth.ca",
	  "<66d83c20.050a0220.a0566.1e8dtls@google.com>" },
	{ "microsoft-2.eml", 1, "133198585438131172+test.xmox.nl",
	  "<133198585438131172+test.xmox.nl@test.xmox.nl>" },
	{ "microsoft-sts-tlsa.eml", 1, "133708152202987951+krvtz.net",
	  "<133708152202987951+krvtz.net@krvtz.net>" },
	{ "microsoft-success.eml", 1, "134232617934286362+example.com",
	  "<134232617934286362+example.com@example.com>" },
};

static void test_samples(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(samples); i++) {
		struct bytes in = read_sample(samples[i].file);
		struct unpack_result r;
		char why[200] = "";

		if (unpack(in, UNPACK_AUTO, NULL, &r, why, sizeof(why)) != 0)
			fail_msg("%s: %s", samples[i].file, why);
		assert_int_equal(r.format, UNPACK_MAIL);
		assert_int_equal(r.member_count, samples[i].reports);
		for (size_t m = 0; m < r.member_count; m++) {
			assert_int_equal(r.members[m].json[0], '{');
			assert_int_equal(strlen(r.members[m].json), r.members[m].json_len);
			assert_int_equal(r.members[m].carrier, UNPACK_GZIP);
			assert_non_null(strstr(r.members[m].name, ".json.gz"));
			assert_non_null(strstr(r.members[m].json, "\"report-id\""));
			if (strstr(r.members[m].json, samples[i].report_id) == NULL)
				fail_msg("%s: no report-id %s", samples[i].file, samples[i].report_id);
		}
		assert_string_equal(r.mail_message_id, samples[i].message_id);
		assert_non_null(strstr(r.mail_subject, "Report Domain:"));
		assert_non_null(strstr(r.mail_from, "tls"));
		unpack_result_clear(&r);
		unpack_result_clear(&r);	/* twice is harmless */
		free(in.data);
	}
}

static void test_json_and_gzip(void **state)
{
	static const char json[] = "{\"report-id\": \"r1\"}";
	struct unpack_result r;
	char why[200];
	struct bytes in = { (unsigned char *)"\xef\xbb\xbf \n{\"report-id\": \"r1\"}", 0 };
	struct bytes gz = gzip_text(json);

	(void)state;
	in.len = strlen((char *)in.data);
	assert_int_equal(unpack(in, UNPACK_AUTO, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.format, UNPACK_JSON);
	assert_int_equal(r.member_count, 1);
	assert_int_equal(r.members[0].carrier, UNPACK_JSON);
	assert_int_equal(r.members[0].json_len, in.len);
	assert_null(r.members[0].name);
	assert_null(r.mail_subject);
	assert_null(r.members[0].gzip);		/* nothing compressed to keep */
	unpack_result_clear(&r);

	/* the hint does not overrule the bytes */
	assert_int_equal(unpack(gz, UNPACK_JSON, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.format, UNPACK_GZIP);
	assert_int_equal(r.member_count, 1);
	assert_string_equal(r.members[0].json, json);
	/* one member: kept as received, for the store */
	assert_int_equal(r.members[0].gzip_len, gz.len);
	assert_memory_equal(r.members[0].gzip, gz.data, gz.len);
	unpack_result_clear(&r);

	/* NUL padding after the one member is not part of it */
	struct bytes padded = { malloc(gz.len + 3), gz.len + 3 };

	assert_non_null(padded.data);
	memcpy(padded.data, gz.data, gz.len);
	memset(padded.data + gz.len, 0, 3);
	assert_int_equal(unpack(padded, UNPACK_AUTO, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.members[0].gzip_len, gz.len);
	assert_memory_equal(r.members[0].gzip, gz.data, gz.len);
	unpack_result_clear(&r);
	free(padded.data);

	/* two gzip members one after the other: one text, as gunzip makes */
	struct bytes two = { malloc(gz.len * 2 + 4), gz.len * 2 + 4 };

	assert_non_null(two.data);
	memcpy(two.data, gz.data, gz.len);
	memcpy(two.data + gz.len, gz.data, gz.len);
	memset(two.data + 2 * gz.len, 0, 4);	/* NUL padding is ignored */
	assert_int_equal(unpack(two, UNPACK_AUTO, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.members[0].json_len, 2 * strlen(json));
	assert_null(r.members[0].gzip);		/* no one member holds the whole text */
	unpack_result_clear(&r);

	/* anything else after the end is refused */
	two.data[2 * gz.len + 1] = 'x';
	expect_failure(two, UNPACK_AUTO, NULL, EINVAL, "gzip: 3 octets of trailing data");

	/* truncated: every cut short of the trailer */
	for (size_t cut = 2; cut < gz.len; cut += 3) {
		struct bytes part = { gz.data, cut };

		expect_failure(part, UNPACK_AUTO, NULL, EINVAL, "gzip: ");
	}
	struct bytes short_by_one = { gz.data, gz.len - 1 };

	expect_failure(short_by_one, UNPACK_AUTO, NULL, EINVAL,
		       "gzip: the data ends before the compressed stream does (truncated)");

	/* a corrupt stream */
	gz.data[12] ^= 0xff;
	gz.data[13] ^= 0xff;
	expect_failure(gz, UNPACK_AUTO, NULL, EINVAL, "gzip: corrupt compressed data");
	free(two.data);
	free(gz.data);
}

static void test_gzip_bomb(void **state)
{
	static unsigned char zeros[1024 * 1024];
	struct unpack_limits limits;
	struct bytes bomb = gzip_repeat(zeros, sizeof(zeros), 1024);	/* 1 GiB of zeros */

	(void)state;
	assert_true(bomb.len < 2 * MIB);
	expect_failure(bomb, UNPACK_AUTO, NULL, EFBIG, "gzip: the report inflates past 16 MiB");
	free(bomb.data);

	/* exactly the cap is accepted, one octet more is not */
	unpack_limits_default(&limits);
	limits.max_output = 1000;
	bomb = gzip_repeat(zeros, 1000, 1);
	struct unpack_result r;
	char why[200];

	assert_int_equal(unpack(bomb, UNPACK_AUTO, &limits, &r, why, sizeof(why)), 0);
	assert_int_equal(r.members[0].json_len, 1000);
	unpack_result_clear(&r);
	free(bomb.data);
	bomb = gzip_repeat(zeros, 1001, 1);
	expect_failure(bomb, UNPACK_AUTO, &limits, EFBIG,
		       "gzip: the report inflates past 1000 octets");
	free(bomb.data);
}

static const char report_a[] = "{\"report-id\": \"a\"}";
static const char report_b[] = "{\"report-id\": \"b\"}";

static void test_zip(void **state)
{
	struct bytes gz_b = gzip_text(report_b);
	const struct zip_entry entries[] = {
		{ "reports/", NULL, 0, false },
		{ "reports/a.json", report_a, strlen(report_a), false },
		{ "reports/b.json.gz", gz_b.data, gz_b.len, false },
	};
	struct bytes zip = make_zip(entries, ARRAY_LEN(entries));
	struct unpack_result r;
	char why[200];

	(void)state;
	assert_int_equal(unpack(zip, UNPACK_AUTO, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.format, UNPACK_ZIP);
	assert_int_equal(r.member_count, 2);
	assert_string_equal(r.members[0].name, "reports/a.json");
	assert_string_equal(r.members[0].json, report_a);
	assert_int_equal(r.members[0].carrier, UNPACK_ZIP);
	assert_string_equal(r.members[1].name, "reports/b.json.gz");
	assert_string_equal(r.members[1].json, report_b);
	unpack_result_clear(&r);

	/* members beyond max_members */
	struct unpack_limits limits;

	unpack_limits_default(&limits);
	limits.max_members = 1;
	expect_failure(zip, UNPACK_AUTO, &limits, EFBIG, "zip: more than 1 members");

	/* a zip in a mail attachment */
	struct bytes mail = mail_with("application/zip", "reports.zip", zip.data, zip.len);

	assert_int_equal(unpack(mail, UNPACK_AUTO, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.format, UNPACK_MAIL);
	assert_int_equal(r.member_count, 2);
	assert_string_equal(r.members[1].json, report_b);
	assert_string_equal(r.mail_message_id, "<m@example.net>");
	unpack_result_clear(&r);
	free(mail.data);

	/* truncated archive: libzip finds no central directory */
	struct bytes cut = { zip.data, zip.len - 30 };

	expect_failure(cut, UNPACK_AUTO, NULL, EINVAL, "zip: not a readable archive");
	free(zip.data);
	free(gz_b.data);
}

static void test_zip_refused(void **state)
{
	const struct zip_entry encrypted[] = {
		{ "report.json", report_a, strlen(report_a), true },
	};
	struct bytes zip = make_zip(encrypted, 1);
	size_t big = 32 * MIB;
	unsigned char *zeros = calloc(big, 1);

	(void)state;
	expect_failure(zip, UNPACK_AUTO, NULL, EINVAL, "zip: member report.json is encrypted");
	free(zip.data);

	/* a zip bomb: 32 MiB of zeros, some kilobytes compressed */
	assert_non_null(zeros);
	const struct zip_entry bomb[] = { { "bomb.json", zeros, big, false } };

	zip = make_zip(bomb, 1);
	free(zeros);
	assert_true(zip.len < MIB);
	expect_failure(zip, UNPACK_AUTO, NULL, EFBIG,
		       "zip: member bomb.json: the report inflates past 16 MiB");
	free(zip.data);

	/* only a directory */
	const struct zip_entry dir[] = { { "empty/", NULL, 0, false } };

	zip = make_zip(dir, 1);
	expect_failure(zip, UNPACK_AUTO, NULL, EINVAL, "zip: the archive holds no file");
	free(zip.data);
}

/*
 * The members of a zip, each within max_output, are bounded together too:
 * 16 members of 2.5 MiB (40 MiB) pass the 32 MiB of max_total_output.
 */
static void test_zip_total_output(void **state)
{
	size_t each = 5 * MIB / 2;
	unsigned char *zeros = calloc(each, 1);
	struct zip_entry entries[16];
	char names[16][16];
	struct unpack_limits limits;
	struct unpack_result r;
	char why[200];
	struct bytes zip;

	(void)state;
	assert_non_null(zeros);
	for (size_t i = 0; i < ARRAY_LEN(entries); i++) {
		snprintf(names[i], sizeof(names[i]), "m%02zu.json", i);
		entries[i] = (struct zip_entry){ names[i], zeros, each, false };
	}
	zip = make_zip(entries, ARRAY_LEN(entries));
	assert_true(zip.len < MIB);
	unpack_limits_default(&limits);
	assert_int_equal(limits.max_total_output, 32 * MIB);
	assert_true(each < limits.max_output);
	assert_true(ARRAY_LEN(entries) <= limits.max_members);
	/* 12 members make 30 MiB, the 13th passes 32 MiB */
	expect_failure(zip, UNPACK_AUTO, NULL, EFBIG,
		       "zip: member m12.json: the reports inflate past 32 MiB in all");

	/* with a total of 40 MiB they are read */
	limits.max_total_output = 40 * MIB;
	assert_int_equal(unpack(zip, UNPACK_AUTO, &limits, &r, why, sizeof(why)), 0);
	assert_int_equal(r.member_count, 16);
	unpack_result_clear(&r);
	free(zip.data);
	free(zeros);

	/* small: exactly the total is accepted, one octet more is not */
	struct bytes gz = gzip_text(report_a);
	const struct zip_entry two[] = {
		{ "a.json", report_a, strlen(report_a), false },
		{ "b.json.gz", gz.data, gz.len, false },
	};

	zip = make_zip(two, ARRAY_LEN(two));
	limits.max_total_output = 2 * strlen(report_a);
	assert_int_equal(unpack(zip, UNPACK_AUTO, &limits, &r, why, sizeof(why)), 0);
	assert_int_equal(r.member_count, 2);
	unpack_result_clear(&r);
	limits.max_total_output = 2 * strlen(report_a) - 1;
	expect_failure(zip, UNPACK_AUTO, &limits, EFBIG,
		       "zip: member b.json.gz: gzip: the reports inflate past 35 octets in all");

	/* attachments of a mail message count together too */
	struct bytes inner = zip;

	zip = mail_with("application/zip", "r.zip", inner.data, inner.len);
	expect_failure(zip, UNPACK_AUTO, &limits, EFBIG,
		       "mail: attachment r.zip: zip: member b.json.gz: gzip: the reports inflate "
		       "past 35 octets in all");
	free(zip.data);
	free(inner.data);
	free(gz.data);
}

static void test_mail(void **state)
{
	struct bytes gz = gzip_text(report_a);
	struct unpack_result r;
	char why[200];

	(void)state;
	/* application/octet-stream: recognised by its bytes */
	struct bytes mail = mail_with("application/octet-stream", "report", gz.data, gz.len);

	assert_int_equal(unpack(mail, UNPACK_AUTO, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.member_count, 1);
	assert_string_equal(r.members[0].json, report_a);
	assert_int_equal(r.members[0].carrier, UNPACK_GZIP);
	assert_string_equal(r.members[0].name, "report");
	unpack_result_clear(&r);
	free(mail.data);

	/* a file name is enough when the media type says nothing */
	mail = mail_with("application/x-unknown", "r.json.gz", gz.data, gz.len);
	assert_int_equal(unpack(mail, UNPACK_AUTO, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.member_count, 1);
	unpack_result_clear(&r);
	free(mail.data);

	/* a truncated gzip attachment */
	mail = mail_with("application/tlsrpt+gzip", "r.json.gz", gz.data, gz.len - 4);
	expect_failure(mail, UNPACK_AUTO, NULL, EINVAL,
		       "mail: attachment r.json.gz: gzip: the data ends before");
	free(mail.data);

	/* an octet stream that is no report, and no other part */
	mail = mail_with("application/octet-stream", "x.pdf", (const unsigned char *)"%PDF-1.4", 8);
	expect_failure(mail, UNPACK_AUTO, NULL, EINVAL, "mail: no part holds a TLS report");
	free(mail.data);

	/* LF-only, folded headers, ContentType, quoted-printable JSON */
	static const char qp[] =
		"From: <tlsrpt@example.net>\n"
		"Subject: Report Domain: example.com\n"
		"\tSubmitter: example.net\n"
		"ContentType: multipart/report; report-type=tlsrpt;\n"
		" boundary=\"x\"\n\n"
		"--x\nContent-Type: text/plain\n\nhi\n"
		"--x\nContent-Type: application/tlsrpt+json\n"
		"Content-Transfer-Encoding: quoted-printable\n\n"
		"{\"report-id\":=20\"q=\np\"}\n"
		"--x--\n";
	struct bytes in = { (unsigned char *)qp, strlen(qp) };

	assert_int_equal(unpack(in, UNPACK_AUTO, NULL, &r, why, sizeof(why)), 0);
	assert_int_equal(r.member_count, 1);
	assert_string_equal(r.members[0].json, "{\"report-id\": \"qp\"}");
	assert_int_equal(r.members[0].carrier, UNPACK_JSON);
	assert_string_equal(r.mail_subject, "Report Domain: example.com\tSubmitter: example.net");
	assert_string_equal(r.mail_from, "<tlsrpt@example.net>");
	assert_null(r.mail_message_id);
	unpack_result_clear(&r);

	/* a mail without a report part */
	static const char plain[] = "From: a@example.net\nSubject: hello\n\nJust text.\n";

	in = (struct bytes){ (unsigned char *)plain, strlen(plain) };
	expect_failure(in, UNPACK_AUTO, NULL, EINVAL, "mail: no part holds a TLS report");
	free(gz.data);
}

static void test_mail_limits(void **state)
{
	struct unpack_limits limits;
	char text[4096];
	size_t o = 0;

	(void)state;
	unpack_limits_default(&limits);
	limits.max_mime_parts = 4;
	limits.max_mime_depth = 3;
	o += (size_t)snprintf(text + o, sizeof(text) - o,
			      "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 5; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "--b\nContent-Type: application/json\n\n{}\n");
	struct bytes in = { (unsigned char *)text, o };

	expect_failure(in, UNPACK_AUTO, &limits, EFBIG, "mail: mime: more than 4 parts");

	o = (size_t)snprintf(text, sizeof(text), "Subject: deep\n");
	for (int i = 0; i < 5; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "Content-Type: multipart/mixed; boundary=l%d\n\n--l%d\n", i, i);
	o += (size_t)snprintf(text + o, sizeof(text) - o,
			      "Content-Type: application/json\n\n{}\n");
	in.len = o;
	expect_failure(in, UNPACK_AUTO, &limits, EFBIG, "mail: mime: multipart nested deeper than 3");
	limits.max_mime_depth = 8;
	limits.max_mime_parts = 16;
	struct unpack_result r;
	char why[200];

	assert_int_equal(unpack(in, UNPACK_AUTO, &limits, &r, why, sizeof(why)), 0);
	assert_int_equal(r.member_count, 1);
	/* no close delimiter: the part runs to the end, its line end included */
	assert_string_equal(r.members[0].json, "{}\n");
	unpack_result_clear(&r);

	/* reports beyond max_members in one message */
	limits.max_members = 2;
	o = (size_t)snprintf(text, sizeof(text), "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 3; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "--b\nContent-Type: application/json\n\n{}\n");
	in.len = o;
	expect_failure(in, UNPACK_AUTO, &limits, EFBIG, "a mail message: more than 2 reports");
}

static void test_refused(void **state)
{
	static const char pdf[] = "%PDF-1.4 not a report";
	struct bytes in = { (unsigned char *)pdf, strlen(pdf) };
	struct unpack_limits limits;
	struct unpack_result r;
	char why[200];

	(void)state;
	expect_failure(in, UNPACK_AUTO, NULL, EINVAL,
		       "the data is none of JSON, gzip, zip or a mail message");
	expect_failure(in, UNPACK_GZIP, NULL, EINVAL, "expected gzip, but the data is none of");
	in.len = 0;
	expect_failure(in, UNPACK_AUTO, NULL, EINVAL, "none of JSON");

	/* told it is JSON: returned for the report reader to judge */
	static const char array[] = "[1, 2]";

	in = (struct bytes){ (unsigned char *)array, strlen(array) };
	assert_int_equal(unpack(in, UNPACK_JSON, NULL, &r, why, sizeof(why)), 0);
	assert_string_equal(r.members[0].json, array);
	unpack_result_clear(&r);

	unpack_limits_default(&limits);
	limits.max_input = 5;
	expect_failure(in, UNPACK_AUTO, &limits, EFBIG, "the input is larger than 5 octets");
}

static void test_format_names(void **state)
{
	static const struct {
		const char *text;
		enum unpack_format by_type, by_name;
	} cases[] = {
		{ "application/tlsrpt+gzip", UNPACK_GZIP, UNPACK_AUTO },
		{ "Application/TLSRPT+JSON; charset=utf-8", UNPACK_JSON, UNPACK_AUTO },
		{ " application/gzip ", UNPACK_GZIP, UNPACK_AUTO },
		{ "application/json", UNPACK_JSON, UNPACK_AUTO },
		{ "application/zip", UNPACK_ZIP, UNPACK_AUTO },
		{ "application/x-zip-compressed", UNPACK_ZIP, UNPACK_AUTO },
		{ "message/rfc822", UNPACK_MAIL, UNPACK_AUTO },
		{ "application/octet-stream", UNPACK_AUTO, UNPACK_AUTO },
		{ "report.json.gz", UNPACK_AUTO, UNPACK_GZIP },
		{ "REPORT.JSON", UNPACK_AUTO, UNPACK_JSON },
		{ "x.gz", UNPACK_AUTO, UNPACK_GZIP },
		{ "reports.zip", UNPACK_AUTO, UNPACK_ZIP },
		{ "x.eml", UNPACK_AUTO, UNPACK_MAIL },
		{ "json", UNPACK_AUTO, UNPACK_AUTO },
		{ "", UNPACK_AUTO, UNPACK_AUTO },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(unpack_format_from_media_type(cases[i].text), cases[i].by_type);
		assert_int_equal(unpack_format_from_file_name(cases[i].text), cases[i].by_name);
	}
	assert_int_equal(unpack_format_from_media_type(NULL), UNPACK_AUTO);
	assert_int_equal(unpack_format_from_file_name(NULL), UNPACK_AUTO);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_json_and_gzip),
		cmocka_unit_test(test_gzip_bomb),
		cmocka_unit_test(test_zip),
		cmocka_unit_test(test_zip_refused),
		cmocka_unit_test(test_zip_total_output),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_mail_limits),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_format_names),
	};

	if (argc > 1)
		data_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
