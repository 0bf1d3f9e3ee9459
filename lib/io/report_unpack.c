/*
 * report_unpack.c - the JSON text of TLS reports out of JSON, gzip, zip or
 * a mail message, every step bounded.
 *
 * DESCRIPTION
 *	gzip is inflated with zlib in chunks into a buffer that stops at
 *	max_output, or sooner at what is left of max_total_output for all the
 *	members together: the size the trailer claims (ISIZE) is never
 *	trusted.
 *	Concatenated gzip members (RFC 1952 2.2) are inflated one after the
 *	other into one text, as gunzip does; NUL octets after the last member
 *	are ignored, anything else after it is refused.
 *
 *	zip is read by libzip from memory with its consistency checks on;
 *	directories are skipped, every other member counts against
 *	max_members and is read in chunks up to the same caps; an encrypted
 *	member is refused.  A member that is itself gzip is inflated.
 *
 *	A mail message is split into parts by mime_parse(); the parts that may
 *	hold a report (by media type or file name, see part_may_hold_report())
 *	are unpacked by their bytes: gzip, zip or JSON.  A part that says it
 *	is JSON is returned whatever its bytes; the report reader judges it.
 *
 *	Names from the input (attachment and member names) are written into
 *	error messages with anything but printable ASCII replaced by "?".
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zip.h>
#include <zlib.h>

#include "mime.h"
#include "report_unpack.h"

#define MIB ((size_t)1024 * 1024)
#define CHUNK ((size_t)64 * 1024)

struct unpacker {
	const struct unpack_limits *limits;
	struct unpack_result *result;
	size_t capacity;
	size_t total_output;		/* octets of the members so far */
	char *why;
	size_t why_size;
};

/* A growing buffer that refuses to pass its cap. */
struct capped_buffer {
	unsigned char *data;
	size_t len;
	size_t capacity;
	size_t cap;
	bool cap_is_total;		/* the cap is what is left of max_total_output */
};

void unpack_limits_default(struct unpack_limits *ret_limits)
{
	if (ret_limits == NULL)
		return;
	*ret_limits = (struct unpack_limits){
		.max_input = 32 * MIB,
		.max_output = 16 * MIB,
		.max_total_output = 32 * MIB,
		.max_members = 16,
		.max_mime_parts = 256,
		.max_mime_depth = 8,
	};
}

static int fail(struct unpacker *u, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct unpacker *u, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->why, u->why_size, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/* A name from the input, fit for a message: printable ASCII, at most 80 octets. */
static const char *printable(const char *name, char *buf, size_t size)
{
	size_t o = 0;

	if (name == NULL)
		return "(unnamed)";
	for (size_t i = 0; name[i] != '\0' && o + 1 < size; i++) {
		unsigned char c = (unsigned char)name[i];

		buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[o] = '\0';
	return buf;
}

/* A size for messages: "16 MiB" when it is a whole number of MiB. */
static const char *size_text(size_t n, char *buf, size_t size)
{
	if (n >= MIB && n % MIB == 0)
		snprintf(buf, size, "%zu MiB", n / MIB);
	else
		snprintf(buf, size, "%zu octets", n);
	return buf;
}

/*
 * An empty buffer for the next member's text, capped at max_output or, when
 * less, at what is left of max_total_output.
 */
static struct capped_buffer member_buffer(const struct unpacker *u)
{
	size_t left = u->limits->max_total_output > u->total_output ?
		      u->limits->max_total_output - u->total_output : 0;

	if (left < u->limits->max_output)
		return (struct capped_buffer){ .cap = left, .cap_is_total = true };
	return (struct capped_buffer){ .cap = u->limits->max_output };
}

/*
 * Why a member's text passed the cap of b, inflated or copied: "the report
 * inflates past 16 MiB", "the reports are larger than 32 MiB in all".
 */
static const char *past_cap(const struct unpacker *u, const struct capped_buffer *b,
			    bool inflating, char *buf, size_t size)
{
	char size_buf[32];

	if (b->cap_is_total)
		snprintf(buf, size, "the reports %s %s in all",
			 inflating ? "inflate past" : "are larger than",
			 size_text(u->limits->max_total_output, size_buf, sizeof(size_buf)));
	else
		snprintf(buf, size, "the report %s %s",
			 inflating ? "inflates past" : "is larger than",
			 size_text(b->cap, size_buf, sizeof(size_buf)));
	return buf;
}

/* Room for want more octets (and a NUL); 1 when that passes the cap. */
static int buffer_reserve(struct capped_buffer *b, size_t want)
{
	size_t need, capacity;
	unsigned char *grown;

	if (want > b->cap - b->len)
		return 1;
	need = b->len + want + 1;
	if (need <= b->capacity)
		return 0;
	capacity = b->capacity == 0 ? CHUNK : b->capacity;
	while (capacity < need)
		capacity = capacity > SIZE_MAX / 2 ? need : capacity * 2;
	if (capacity > b->cap + 1)
		capacity = b->cap + 1;
	grown = realloc(b->data, capacity);
	if (grown == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->data = grown;
	b->capacity = capacity;
	return 0;
}

static bool is_gzip(const unsigned char *data, size_t len)
{
	return len >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

static bool is_zip(const unsigned char *data, size_t len)
{
	/* a local file header, or the end record of an empty archive */
	return len >= 4 && data[0] == 'P' && data[1] == 'K' &&
	       ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6));
}

static bool is_json(const unsigned char *data, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)	/* a UTF-8 byte order mark */
		i = 3;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	return i < len && data[i] == '{';
}

static enum unpack_format sniff(const unsigned char *data, size_t len)
{
	if (is_gzip(data, len))
		return UNPACK_GZIP;
	if (is_zip(data, len))
		return UNPACK_ZIP;
	if (is_json(data, len))
		return UNPACK_JSON;
	if (mime_looks_like_message(data, len))
		return UNPACK_MAIL;
	return UNPACK_AUTO;
}

static const char *format_name(enum unpack_format format)
{
	switch (format) {
	case UNPACK_JSON: return "JSON";
	case UNPACK_GZIP: return "gzip";
	case UNPACK_ZIP: return "zip";
	case UNPACK_MAIL: return "a mail message";
	case UNPACK_AUTO: break;
	}
	return "a report";
}

/*
 * Room in *out for the next step: *ret_room octets (0 when out is at its
 * cap, so that one more octet, if any, proves it passes).  -1 on ENOMEM.
 */
static int buffer_room(struct capped_buffer *out, size_t *ret_room)
{
	int reserved = buffer_reserve(out, CHUNK);

	if (reserved > 0)	/* the last room up to the cap */
		reserved = buffer_reserve(out, out->cap - out->len);
	if (reserved < 0)
		return -1;
	*ret_room = out->capacity - 1 - out->len;
	if (*ret_room > CHUNK)
		*ret_room = CHUNK;
	return 0;
}

/* One inflate() into *out; 1 when the output passes the cap, -1 on ENOMEM. */
static int inflate_step(z_stream *zs, struct capped_buffer *out, int *ret_zrc)
{
	unsigned char probe;
	size_t room;
	uInt before;

	if (buffer_room(out, &room) < 0)
		return -1;
	zs->next_out = room == 0 ? &probe : out->data + out->len;
	zs->avail_out = room == 0 ? 1 : (uInt)room;
	before = zs->avail_out;
	*ret_zrc = inflate(zs, Z_NO_FLUSH);
	if (room == 0)
		return zs->avail_out == 0 ? 1 : 0;
	out->len += before - zs->avail_out;
	return 0;
}

/*
 * Where the next gzip member starts after one ended at *at: 1 when there
 * is one, 0 at the end (NUL padding skipped), -1 for anything else.
 */
static int next_member(const unsigned char *data, size_t len, size_t *at)
{
	while (*at < len && data[*at] == 0)
		(*at)++;
	if (*at == len)
		return 0;
	return is_gzip(data + *at, len - *at) ? 1 : -1;
}

/*
 * Inflate the gzip data into *out (capped, see member_buffer()).  where
 * prefixes the messages ("gzip", "zip: member x.gz: gzip").  *ret_single_len:
 * the length of the one gzip member when the data is one (and NUL padding),
 * else 0.
 */
static int inflate_gzip(struct unpacker *u, const unsigned char *data, size_t len,
			const char *where, struct capped_buffer *out, size_t *ret_single_len)
{
	bool single = true;	/* one member so far */
	size_t member_end = 0;
	z_stream zs = { 0 };
	char reason[80];
	int zrc = Z_OK, step, rc = -1;

	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return fail(u, ENOMEM, "%s: zlib could not be set up", where);
	zs.next_in = (unsigned char *)(uintptr_t)data;
	for (;;) {
		size_t at = (size_t)(zs.next_in - data);

		/* zlib counts in uInt: fed a chunk at a time */
		if (zs.avail_in == 0)
			zs.avail_in = (uInt)(len - at < CHUNK ? len - at : CHUNK);
		step = inflate_step(&zs, out, &zrc);
		at = (size_t)(zs.next_in - data);
		if (step != 0) {
			fail(u, step < 0 ? ENOMEM : EFBIG, "%s: %s", where, step < 0 ?
			     "out of memory" : past_cap(u, out, true, reason, sizeof(reason)));
			goto out;
		}
		if (zrc == Z_STREAM_END) {
			if (single && member_end == 0)
				member_end = at;
			int next = next_member(data, len, &at);

			if (next == 0)
				break;
			if (next < 0) {
				fail(u, EINVAL, "%s: %zu octets of trailing data after the "
				     "compressed stream", where, len - at);
				goto out;
			}
			/* another member: inflated after the first, as gunzip does */
			single = false;
			inflateReset(&zs);
			zs.next_in = (unsigned char *)(uintptr_t)(data + at);
			zs.avail_in = 0;
			continue;
		}
		if (zrc == Z_MEM_ERROR) {
			fail(u, ENOMEM, "%s: out of memory", where);
			goto out;
		}
		if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
			fail(u, EINVAL, "%s: corrupt compressed data (%s)", where,
			     zs.msg != NULL ? zs.msg : "inflate failed");
			goto out;
		}
		/* all the input read, room left, and the stream not ended */
		if (zs.avail_in == 0 && at == len && zs.avail_out != 0) {
			fail(u, EINVAL, "%s: the data ends before the compressed stream does "
			     "(truncated)", where);
			goto out;
		}
	}
	/* 15 + 32 takes a zlib stream too: only a gzip one is kept as received. */
	*ret_single_len = single && is_gzip(data, member_end) ? member_end : 0;
	rc = 0;
out:
	inflateEnd(&zs);
	return rc;
}

/* Add a member, taking the text of *text (NUL-terminated there). */
static int add_member(struct unpacker *u, struct capped_buffer *text, const char *name,
		      enum unpack_format carrier)
{
	struct unpack_result *r = u->result;
	struct unpack_member member = { 0 };

	if (r->member_count >= u->limits->max_members)
		return fail(u, EFBIG, "%s: more than %zu reports", format_name(r->format),
			    u->limits->max_members);
	if (r->member_count == u->capacity) {
		size_t capacity = u->capacity == 0 ? 2 : u->capacity * 2;
		struct unpack_member *grown = realloc(r->members, capacity * sizeof(*grown));

		if (grown == NULL)
			return fail(u, ENOMEM, "out of memory");
		r->members = grown;
		u->capacity = capacity;
	}
	if (name != NULL && (member.name = strdup(name)) == NULL)
		return fail(u, ENOMEM, "out of memory");
	if (text->data == NULL && (text->data = malloc(1)) == NULL) {
		free(member.name);
		return fail(u, ENOMEM, "out of memory");
	}
	text->data[text->len] = '\0';
	member.json = (char *)text->data;
	member.json_len = text->len;
	member.carrier = carrier;
	*text = (struct capped_buffer){ 0 };
	r->members[r->member_count++] = member;
	u->total_output += member.json_len;	/* within what was left: see member_buffer() */
	return 0;
}

static int add_copy(struct unpacker *u, const unsigned char *data, size_t len, const char *name,
		    enum unpack_format carrier, const char *where)
{
	struct capped_buffer text = member_buffer(u);
	char reason[80];
	int rc;

	if (len > text.cap)
		return fail(u, EFBIG, "%s: %s", where, past_cap(u, &text, false, reason,
								 sizeof(reason)));
	if (buffer_reserve(&text, len) < 0)
		return fail(u, ENOMEM, "out of memory");
	if (len > 0)
		memcpy(text.data, data, len);
	text.len = len;
	rc = add_member(u, &text, name, carrier);
	free(text.data);
	return rc;
}

static int add_gzip(struct unpacker *u, const unsigned char *data, size_t len, const char *name,
		    enum unpack_format carrier, const char *where)
{
	struct capped_buffer text = member_buffer(u);
	size_t single_len = 0;
	int rc = inflate_gzip(u, data, len, where, &text, &single_len);

	if (rc == 0)
		rc = add_member(u, &text, name, carrier);
	free(text.data);
	if (rc == 0 && single_len > 0) {
		/* Without the copy the member is still whole: the store compresses the text. */
		struct unpack_member *m = &u->result->members[u->result->member_count - 1];
		if ((m->gzip = malloc(single_len)) != NULL) {
			memcpy(m->gzip, data, single_len);
			m->gzip_len = single_len;
		}
	}
	return rc;
}

/*
 * Read one zip member in chunks, up to the cap of *out.  A member that
 * turns out to be gzip may take max_output: it is only read to be
 * inflated, and its text is capped then.
 */
static int read_zip_member(struct unpacker *u, zip_t *archive, zip_uint64_t index,
			   const char *where, struct capped_buffer *out)
{
	zip_file_t *file = zip_fopen_index(archive, index, 0);
	char reason[80];
	int rc = -1;

	if (file == NULL)
		return fail(u, EINVAL, "%s: cannot be read (%s)", where, zip_strerror(archive));
	for (;;) {
		unsigned char probe;
		size_t room;
		zip_int64_t n;

		if (buffer_room(out, &room) < 0) {
			fail(u, ENOMEM, "%s: out of memory", where);
			goto out;
		}
		n = zip_fread(file, room == 0 ? &probe : out->data + out->len, room == 0 ? 1 : room);
		if (n < 0) {
			fail(u, EINVAL, "%s: corrupt data (%s)", where, zip_file_strerror(file));
			goto out;
		}
		if (n == 0)
			break;
		if (room == 0) {
			fail(u, EFBIG, "%s: %s", where, past_cap(u, out, true, reason,
								  sizeof(reason)));
			goto out;
		}
		out->len += (size_t)n;
		if (out->cap_is_total && is_gzip(out->data, out->len)) {
			out->cap = u->limits->max_output;
			out->cap_is_total = false;
		}
	}
	rc = 0;
out:
	zip_fclose(file);
	return rc;
}

static int unpack_zip_member(struct unpacker *u, zip_t *archive, zip_uint64_t index,
			     const char *context)
{
	struct capped_buffer raw = member_buffer(u);
	zip_stat_t st;
	char where[192], name_buf[96];
	const char *name;
	int rc = -1;

	zip_stat_init(&st);
	if (zip_stat_index(archive, index, 0, &st) < 0)
		return fail(u, EINVAL, "%szip: member %llu cannot be read (%s)", context,
			    (unsigned long long)index, zip_strerror(archive));
	name = (st.valid & ZIP_STAT_NAME) != 0 ? st.name : NULL;
	if (name != NULL && name[0] != '\0' && name[strlen(name) - 1] == '/')
		return 0;	/* a directory */
	snprintf(where, sizeof(where), "%szip: member %s", context,
		 printable(name, name_buf, sizeof(name_buf)));
	if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && st.encryption_method != ZIP_EM_NONE)
		return fail(u, EINVAL, "%s is encrypted", where);
	if (u->result->member_count >= u->limits->max_members)
		return fail(u, EFBIG, "%szip: more than %zu members", context, u->limits->max_members);
	if (read_zip_member(u, archive, index, where, &raw) < 0)
		goto out;
	if (is_gzip(raw.data, raw.len)) {
		char gzip_where[224];

		snprintf(gzip_where, sizeof(gzip_where), "%s: gzip", where);
		rc = add_gzip(u, raw.data, raw.len, name, UNPACK_ZIP, gzip_where);
	} else {
		rc = add_member(u, &raw, name, UNPACK_ZIP);
	}
out:
	free(raw.data);
	return rc;
}

/* context prefixes the messages ("mail: attachment x.zip: "). */
static int unpack_zip(struct unpacker *u, const unsigned char *data, size_t len,
		      const char *context)
{
	zip_error_t error;
	zip_source_t *source;
	zip_t *archive = NULL;
	zip_int64_t entries;
	size_t before = u->result->member_count;
	int rc = -1;

	zip_error_init(&error);
	source = zip_source_buffer_create(data, len, 0, &error);
	if (source == NULL) {
		fail(u, ENOMEM, "%szip: %s", context, zip_error_strerror(&error));
		goto out;
	}
	archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
	if (archive == NULL) {
		zip_source_free(source);
		fail(u, zip_error_code_zip(&error) == ZIP_ER_MEMORY ? ENOMEM : EINVAL,
		     "%szip: not a readable archive (%s)", context, zip_error_strerror(&error));
		goto out;
	}
	entries = zip_get_num_entries(archive, 0);
	for (zip_int64_t i = 0; i < entries; i++) {
		if (unpack_zip_member(u, archive, (zip_uint64_t)i, context) < 0)
			goto out;
	}
	if (u->result->member_count == before) {
		fail(u, EINVAL, "%szip: the archive holds no file", context);
		goto out;
	}
	rc = 0;
out:
	if (archive != NULL)
		zip_discard(archive);
	zip_error_fini(&error);
	return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t len = strlen(s), suffix_len = strlen(suffix);

	return len >= suffix_len && strcasecmp(s + len - suffix_len, suffix) == 0;
}

enum unpack_format unpack_format_from_media_type(const char *media_type)
{
	static const struct {
		const char *type;
		enum unpack_format format;
	} types[] = {
		{ "application/tlsrpt+json", UNPACK_JSON },
		{ "application/json", UNPACK_JSON },
		{ "application/tlsrpt+gzip", UNPACK_GZIP },
		{ "application/gzip", UNPACK_GZIP },
		{ "application/x-gzip", UNPACK_GZIP },
		{ "application/zip", UNPACK_ZIP },
		{ "application/x-zip-compressed", UNPACK_ZIP },
		{ "message/rfc822", UNPACK_MAIL },
	};
	size_t start = 0, end;

	if (media_type == NULL)
		return UNPACK_AUTO;
	while (media_type[start] == ' ' || media_type[start] == '\t')
		start++;
	end = start + strcspn(media_type + start, ";");
	while (end > start && isspace((unsigned char)media_type[end - 1]))
		end--;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strlen(types[i].type) == end - start &&
		    strncasecmp(media_type + start, types[i].type, end - start) == 0)
			return types[i].format;
	}
	return UNPACK_AUTO;
}

enum unpack_format unpack_format_from_file_name(const char *name)
{
	if (name == NULL)
		return UNPACK_AUTO;
	if (ends_with(name, ".gz"))		/* .json.gz included */
		return UNPACK_GZIP;
	if (ends_with(name, ".json"))
		return UNPACK_JSON;
	if (ends_with(name, ".zip"))
		return UNPACK_ZIP;
	if (ends_with(name, ".eml"))
		return UNPACK_MAIL;
	return UNPACK_AUTO;
}

/* The parts RFC 8460 5.3 and real senders use for the report. */
static bool part_may_hold_report(const struct mime_part *part)
{
	enum unpack_format by_type = unpack_format_from_media_type(part->media_type);
	enum unpack_format by_name = unpack_format_from_file_name(part->file_name);

	if (by_type == UNPACK_JSON || by_type == UNPACK_GZIP || by_type == UNPACK_ZIP)
		return true;
	if (strcmp(part->media_type, "application/octet-stream") == 0)
		return true;
	return by_name == UNPACK_JSON || by_name == UNPACK_GZIP || by_name == UNPACK_ZIP;
}

/* Unpack one part; *ret_taken tells whether it held a report. */
static int unpack_part(struct unpacker *u, const struct mime_part *part, bool *ret_taken)
{
	char context[160], name_buf[96], where[192];
	bool says_json = unpack_format_from_media_type(part->media_type) == UNPACK_JSON ||
			 unpack_format_from_file_name(part->file_name) == UNPACK_JSON;

	*ret_taken = false;
	if (!part_may_hold_report(part))
		return 0;
	snprintf(context, sizeof(context), "mail: attachment %s: ",
		 printable(part->file_name != NULL ? part->file_name : part->media_type,
			   name_buf, sizeof(name_buf)));
	if (is_gzip(part->body, part->body_len)) {
		*ret_taken = true;
		snprintf(where, sizeof(where), "%sgzip", context);
		return add_gzip(u, part->body, part->body_len, part->file_name, UNPACK_GZIP, where);
	}
	if (is_zip(part->body, part->body_len)) {
		*ret_taken = true;
		return unpack_zip(u, part->body, part->body_len, context);
	}
	if (says_json || is_json(part->body, part->body_len)) {
		*ret_taken = true;
		snprintf(where, sizeof(where), "%sJSON", context);
		return add_copy(u, part->body, part->body_len, part->file_name, UNPACK_JSON, where);
	}
	return 0;	/* an octet stream or a label that does not hold a report */
}

static int keep_mail_fields(struct unpacker *u, const struct mime_message *message)
{
	struct unpack_result *r = u->result;

	if ((message->from != NULL && (r->mail_from = strdup(message->from)) == NULL) ||
	    (message->subject != NULL && (r->mail_subject = strdup(message->subject)) == NULL) ||
	    (message->message_id != NULL &&
	     (r->mail_message_id = strdup(message->message_id)) == NULL))
		return fail(u, ENOMEM, "mail: out of memory");
	return 0;
}

static int unpack_mail(struct unpacker *u, const unsigned char *data, size_t len)
{
	struct mime_limits limits = {
		.max_parts = u->limits->max_mime_parts,
		.max_depth = u->limits->max_mime_depth,
		/* a part decodes to less than the input, which is bounded already */
		.max_decoded = u->limits->max_input,
	};
	struct mime_message message;
	char mime_why[160];
	bool any = false;
	int rc = -1;

	if (mime_parse(data, len, &limits, &message, mime_why, sizeof(mime_why)) < 0)
		return fail(u, errno, "mail: %s", mime_why);
	if (keep_mail_fields(u, &message) < 0)
		goto out;
	for (size_t i = 0; i < message.part_count; i++) {
		bool taken;

		if (unpack_part(u, &message.parts[i], &taken) < 0)
			goto out;
		any = any || taken;
	}
	if (!any) {
		fail(u, EINVAL, "mail: no part holds a TLS report");
		goto out;
	}
	rc = 0;
out:
	mime_message_clear(&message);
	return rc;
}

int report_unpack(const unsigned char *data, size_t len, enum unpack_format hint,
		  const struct unpack_limits *limits, struct unpack_result *ret_result,
		  char *why, size_t why_size)
{
	struct unpack_limits defaults;
	struct unpack_result result = { 0 };
	char scratch[1], size_buf[32];
	struct unpacker u = { .result = &result, .why = why, .why_size = why_size };
	int rc = -1;

	if (why == NULL || why_size == 0) {
		u.why = scratch;
		u.why_size = sizeof(scratch);
	}
	if (limits == NULL) {
		unpack_limits_default(&defaults);
		limits = &defaults;
	}
	u.limits = limits;
	if (ret_result != NULL)
		*ret_result = (struct unpack_result){ 0 };
	if (ret_result == NULL || (data == NULL && len > 0))
		return fail(&u, EINVAL, "unpack: no input");
	if (len > limits->max_input)
		return fail(&u, EFBIG, "the input is larger than %s",
			    size_text(limits->max_input, size_buf, sizeof(size_buf)));
	result.format = sniff(data, len);
	if (result.format == UNPACK_AUTO && hint == UNPACK_JSON)
		result.format = UNPACK_JSON;	/* the report reader judges it */
	switch (result.format) {
	case UNPACK_JSON:
		rc = add_copy(&u, data, len, NULL, UNPACK_JSON, "JSON");
		break;
	case UNPACK_GZIP:
		rc = add_gzip(&u, data, len, NULL, UNPACK_GZIP, "gzip");
		break;
	case UNPACK_ZIP:
		rc = unpack_zip(&u, data, len, "");
		break;
	case UNPACK_MAIL:
		rc = unpack_mail(&u, data, len);
		break;
	case UNPACK_AUTO:
		if (hint != UNPACK_AUTO)
			fail(&u, EINVAL, "expected %s, but the data is none of JSON, gzip, zip "
			     "or a mail message", format_name(hint));
		else
			fail(&u, EINVAL, "the data is none of JSON, gzip, zip or a mail message");
		break;
	}
	if (rc < 0) {
		int saved = errno;

		unpack_result_clear(&result);
		errno = saved;
		return -1;
	}
	*ret_result = result;
	return 0;
}

void unpack_result_clear(struct unpack_result *result)
{
	if (result == NULL)
		return;
	for (size_t i = 0; i < result->member_count; i++) {
		free(result->members[i].json);
		free(result->members[i].name);
		free(result->members[i].gzip);
	}
	free(result->members);
	free(result->mail_from);
	free(result->mail_subject);
	free(result->mail_message_id);
	*result = (struct unpack_result){ 0 };
}
