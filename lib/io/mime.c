/*
 * mime.c - the leaf parts of a mail message (RFC 5322, RFC 2045-2047),
 * their bodies decoded, for finding the TLS report attached to it.
 *
 * DESCRIPTION
 *	An entity is a header block, an empty line and a body.  A multipart
 *	body (RFC 2046 5.1) is split at its delimiter lines: the preamble
 *	before the first and the epilogue after the close delimiter are
 *	ignored, a missing close delimiter ends the last part at the end of
 *	the data.  A message/rfc822 part is parsed as a nested entity.  Every
 *	other part is a leaf, decoded from base64 or quoted-printable (any
 *	other transfer encoding is taken as it is).
 *
 *	Nesting counts multipart and message/rfc822 levels; parts count every
 *	entity below the message.  Header values are unfolded (the line breaks
 *	removed, the white space kept) and trimmed; encoded-words (RFC 2047)
 *	are left as they are.  The header block of an entity is at most 256
 *	KiB, and Content-Type and Content-Disposition hold at most 64
 *	parameters, read in place (only the value wanted is copied), so that
 *	no header costs more than one pass over it.
 *
 *	libc only, so that a fuzz target builds it on its own.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"

#define PARAMETERS_MAX 64		/* of one Content-Type or Content-Disposition */
#define HEADER_BLOCK_MAX (256 * 1024)	/* octets of the header block of one entity */

/* A range of the input: bytes are never copied until a value is kept. */
struct span {
	const unsigned char *p;
	size_t len;
};

/* The header fields of one entity that matter here. */
struct entity_headers {
	struct span content_type;
	struct span transfer_encoding;
	struct span disposition;
	struct span from;
	struct span subject;
	struct span message_id;
	bool has_content_type;
	bool has_transfer_encoding;
	bool has_disposition;
	bool has_from;
	bool has_subject;
	bool has_message_id;
};

struct parser {
	const struct mime_limits *limits;
	struct mime_message *message;
	size_t parts_seen;		/* entities below the message */
	size_t parts_capacity;
	char *why;
	size_t why_size;
};

static int fail(struct parser *ps, int err, const char *reason)
{
	snprintf(ps->why, ps->why_size, "%s", reason);
	errno = err;
	return -1;
}

/* The length of the line at p (without its end) and where the next begins. */
static size_t line_at(const unsigned char *p, size_t len, size_t *ret_next)
{
	const unsigned char *nl = memchr(p, '\n', len);
	size_t end;

	if (nl == NULL) {
		*ret_next = len;
		end = len;
	} else {
		*ret_next = (size_t)(nl - p) + 1;
		end = (size_t)(nl - p);
	}
	if (end > 0 && p[end - 1] == '\r')
		end--;
	return end;
}

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* A header field name: printable US-ASCII except ":" (RFC 5322 2.2). */
static size_t field_name_len(const unsigned char *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] > 0x20 && line[i] < 0x7f && line[i] != ':')
		i++;
	/* "Name :" is obsolete syntax (RFC 5322 4.5) but still sent */
	size_t name_end = i;

	while (i < len && is_wsp(line[i]))
		i++;
	if (name_end == 0 || i >= len || line[i] != ':')
		return 0;
	return name_end;
}

/* Letters, digits and "-": what real header field names are made of. */
static bool is_plain_name(const unsigned char *name, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum(name[i]) && name[i] != '-' && name[i] != '_')
			return false;
	}
	return true;
}

int mime_looks_like_message(const unsigned char *data, size_t len)
{
	size_t pos = 0, fields = 0;

	if (data == NULL)
		return 0;
	/* an mbox "From " line before the header is tolerated */
	if (len >= 5 && memcmp(data, "From ", 5) == 0)
		(void)line_at(data, len, &pos);
	while (pos < len && fields < 3) {
		size_t next, line_len = line_at(data + pos, len - pos, &next);

		if (line_len == 0)
			break;
		if (is_wsp(data[pos])) {
			if (fields == 0)
				return 0;
		} else if (!is_plain_name(data + pos, field_name_len(data + pos, line_len))) {
			return 0;
		} else {
			fields++;
		}
		pos += next;
	}
	return fields > 0;
}

static bool name_is(struct span name, const char *want)
{
	return name.len == strlen(want) && strncasecmp((const char *)name.p, want, name.len) == 0;
}

static void keep_field(struct entity_headers *h, struct span name, struct span value)
{
	/* "ContentType" is what one sender writes for Content-Type */
	if (name_is(name, "Content-Type") || name_is(name, "ContentType")) {
		h->content_type = value;
		h->has_content_type = true;
	} else if (name_is(name, "Content-Transfer-Encoding")) {
		h->transfer_encoding = value;
		h->has_transfer_encoding = true;
	} else if (name_is(name, "Content-Disposition")) {
		h->disposition = value;
		h->has_disposition = true;
	} else if (name_is(name, "From") && !h->has_from) {
		h->from = value;
		h->has_from = true;
	} else if (name_is(name, "Subject") && !h->has_subject) {
		h->subject = value;
		h->has_subject = true;
	} else if (name_is(name, "Message-ID") && !h->has_message_id) {
		h->message_id = value;
		h->has_message_id = true;
	}
}

/*
 * Read the header block of entity, keep the fields that matter (their
 * values still folded) and set *ret_body to where the body begins.  A line
 * that is no header field ends the block there (it is taken as the body).
 * A block past HEADER_BLOCK_MAX is refused (EFBIG).
 */
static int read_headers(struct parser *ps, struct span entity, struct entity_headers *ret_headers,
			size_t *ret_body)
{
	struct entity_headers h = { 0 };
	size_t pos = 0;

	if (entity.len >= 5 && memcmp(entity.p, "From ", 5) == 0)
		(void)line_at(entity.p, entity.len, &pos);
	while (pos < entity.len && pos <= HEADER_BLOCK_MAX) {
		size_t next, line_len = line_at(entity.p + pos, entity.len - pos, &next);
		size_t name_len;
		struct span name, value;

		if (line_len == 0) {
			pos += next;
			break;
		}
		name_len = field_name_len(entity.p + pos, line_len);
		if (name_len == 0) {
			if (is_wsp(entity.p[pos])) {	/* a stray continuation */
				pos += next;
				continue;
			}
			break;
		}
		name = (struct span){ entity.p + pos, name_len };
		value.p = memchr(entity.p + pos, ':', line_len);
		value.p++;
		pos += next;
		/* the continuation lines belong to the value */
		while (pos < entity.len && is_wsp(entity.p[pos])) {
			(void)line_at(entity.p + pos, entity.len - pos, &next);
			pos += next;
		}
		value.len = (size_t)(entity.p + pos - value.p);
		keep_field(&h, name, value);
	}
	if (pos > HEADER_BLOCK_MAX) {
		snprintf(ps->why, ps->why_size, "mime: a header block of more than %d octets",
			 HEADER_BLOCK_MAX);
		errno = EFBIG;
		return -1;
	}
	*ret_headers = h;
	*ret_body = pos;
	return 0;
}

/* A copy of a folded header value: line breaks removed, trimmed. */
static char *unfold(struct span value)
{
	char *out = malloc(value.len + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < value.len; i++) {
		if (value.p[i] == '\r' || value.p[i] == '\n')
			continue;
		out[o++] = (char)value.p[i];
	}
	while (o > 0 && is_wsp((unsigned char)out[o - 1]))
		o--;
	out[o] = '\0';
	size_t lead = strspn(out, " \t");

	memmove(out, out + lead, o - lead + 1);
	return out;
}

/* The media type of a Content-Type value, lower case, without parameters. */
static char *media_type_of(const char *value)
{
	size_t len = strcspn(value, ";");
	char *out;

	while (len > 0 && isspace((unsigned char)value[len - 1]))
		len--;
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)value[i]);
	out[len] = '\0';
	return out;
}

/* Decode %XX of an RFC 2231 extended value in place after its charset''. */
static void rfc2231_decode(char *value)
{
	char *q1 = strchr(value, '\''), *q2 = q1 != NULL ? strchr(q1 + 1, '\'') : NULL;
	char *src = q2 != NULL ? q2 + 1 : value, *dst = value;

	while (*src != '\0') {
		if (src[0] == '%' && isxdigit((unsigned char)src[1]) &&
		    isxdigit((unsigned char)src[2])) {
			char hex[3] = { src[1], src[2], '\0' };

			*dst++ = (char)strtol(hex, NULL, 16);
			src += 3;
		} else {
			*dst++ = *src++;
		}
	}
	*dst = '\0';
}

/* One parameter of an unfolded header value, pointing into it. */
struct parameter_view {
	const char *key;
	size_t key_len;
	const char *value;		/* after the opening quote when quoted; NULL without "=" */
	size_t value_len;		/* up to the closing quote, escapes still in */
	bool quoted;
};

/*
 * Read the parameter after the ";" at *p in place and move *p to the next
 * ";" or to the end; false when *p is at the end.  Nothing is copied, so
 * that a value of many parameters is read in one pass.
 */
static bool next_parameter(const char **p, struct parameter_view *ret)
{
	const char *s = *p;
	struct parameter_view v = { 0 };

	if (*s == '\0')
		return false;
	s++;			/* the ";" */
	while (isspace((unsigned char)*s))
		s++;
	v.key = s;
	while (*s != '\0' && *s != '=' && *s != ';' && !isspace((unsigned char)*s))
		s++;
	v.key_len = (size_t)(s - v.key);
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '=') {
		s++;
		while (isspace((unsigned char)*s))
			s++;
		v.quoted = *s == '"';
		if (v.quoted) {
			v.value = ++s;
			while (*s != '\0' && *s != '"') {
				if (*s == '\\' && s[1] != '\0')
					s++;
				s++;
			}
			v.value_len = (size_t)(s - v.value);
		} else {
			v.value = s;
			while (*s != '\0' && *s != ';' && !isspace((unsigned char)*s))
				s++;
			v.value_len = (size_t)(s - v.value);
		}
	}
	while (*s != '\0' && *s != ';')
		s++;
	*p = s;
	*ret = v;
	return true;
}

/* Where the parameters of an unfolded header value begin: its first ";". */
static const char *parameters_of(const char *value)
{
	return value + strcspn(value, ";");
}

/* Refuse a header value of more than PARAMETERS_MAX parameters (field names it). */
static int check_parameters(struct parser *ps, const char *value, const char *field)
{
	const char *p = parameters_of(value);
	struct parameter_view v;
	size_t count = 0;

	while (next_parameter(&p, &v)) {
		if (++count > PARAMETERS_MAX) {
			snprintf(ps->why, ps->why_size, "mime: a %s field with more than %d "
				 "parameters", field, PARAMETERS_MAX);
			errno = EFBIG;
			return -1;
		}
	}
	return 0;
}

/* A copy of a parameter's value, unquoted. */
static char *copy_parameter(const struct parameter_view *v)
{
	char *out = malloc(v->value_len + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < v->value_len; i++) {
		if (v->quoted && v->value[i] == '\\' && i + 1 < v->value_len)
			i++;
		out[o++] = v->value[i];
	}
	out[o] = '\0';
	return out;
}

/*
 * The value of parameter name in an unfolded header value, unquoted, or
 * NULL (errno ENOMEM when memory ran out, 0 when absent).  name* (RFC 2231)
 * is accepted for name when name itself is absent.  Only the value found
 * is copied.
 */
static char *parameter(const char *value, const char *name)
{
	size_t name_len = strlen(name);
	const char *p = parameters_of(value);
	struct parameter_view v, found = { 0 };
	bool exact = false, extended = false;
	char *out;

	errno = 0;
	while (next_parameter(&p, &v)) {
		if (v.value == NULL || v.key_len < name_len ||
		    strncasecmp(v.key, name, name_len) != 0)
			continue;
		if (v.key_len == name_len) {
			found = v;
			exact = true;
			break;
		}
		if (!extended && v.key_len == name_len + 1 && v.key[name_len] == '*') {
			found = v;
			extended = true;
		}
	}
	if (!exact && !extended)
		return NULL;
	if ((out = copy_parameter(&found)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (!exact)
		rfc2231_decode(out);
	return out;
}

static void decode_base64(struct span in, unsigned char *out, size_t *ret_len)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < in.len; i++) {
		unsigned char c = in.p[i];
		unsigned v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')	/* "-" and "_": the URL alphabet, seen too */
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == '=')
			break;		/* the padding ends the data; what follows is junk */
		else
			continue;	/* line breaks and white space */
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*ret_len = o;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void decode_quoted_printable(struct span in, unsigned char *out, size_t *ret_len)
{
	size_t o = 0, i = 0;

	while (i < in.len) {
		unsigned char c = in.p[i];

		if (c != '=') {
			out[o++] = c;
			i++;
			continue;
		}
		/* a soft line break: "=" then optional white space and the line end */
		size_t j = i + 1;

		while (j < in.len && is_wsp(in.p[j]))
			j++;
		if (j < in.len && in.p[j] == '\r')
			j++;
		if (j < in.len && in.p[j] == '\n') {
			i = j + 1;
			continue;
		}
		if (j >= in.len) {
			i = j;
			continue;
		}
		if (i + 2 < in.len && hex_value(in.p[i + 1]) >= 0 && hex_value(in.p[i + 2]) >= 0) {
			out[o++] = (unsigned char)(hex_value(in.p[i + 1]) * 16 + hex_value(in.p[i + 2]));
			i += 3;
			continue;
		}
		out[o++] = c;	/* a lone "=": kept as it is (RFC 2045 6.7 note 1) */
		i++;
	}
	*ret_len = o;
}

static int add_leaf(struct parser *ps, const struct entity_headers *h, const char *content_type,
		    struct span body)
{
	struct mime_message *m = ps->message;
	struct mime_part part = { 0 };
	char *encoding = NULL, *disposition = NULL;
	int rc = -1;

	if (m->part_count == ps->parts_capacity) {
		size_t capacity = ps->parts_capacity == 0 ? 4 : ps->parts_capacity * 2;
		struct mime_part *grown = realloc(m->parts, capacity * sizeof(*grown));

		if (grown == NULL)
			return fail(ps, ENOMEM, "mime: out of memory");
		m->parts = grown;
		ps->parts_capacity = capacity;
	}
	part.media_type = content_type != NULL ? media_type_of(content_type) : strdup("text/plain");
	if (part.media_type == NULL)
		goto out_nomem;
	if (part.media_type[0] == '\0') {
		free(part.media_type);
		part.media_type = strdup("text/plain");
		if (part.media_type == NULL)
			goto out_nomem;
	}
	if (h->has_disposition) {
		disposition = unfold(h->disposition);
		if (disposition == NULL)
			goto out_nomem;
		if (check_parameters(ps, disposition, "Content-Disposition") < 0)
			goto out;
		part.file_name = parameter(disposition, "filename");
		if (part.file_name == NULL && errno == ENOMEM)
			goto out_nomem;
	}
	if (part.file_name == NULL && content_type != NULL) {
		part.file_name = parameter(content_type, "name");
		if (part.file_name == NULL && errno == ENOMEM)
			goto out_nomem;
	}
	if (h->has_transfer_encoding) {
		encoding = unfold(h->transfer_encoding);
		if (encoding == NULL)
			goto out_nomem;
	}
	/* decoding never grows the data, so the body's size bounds the copy */
	bool base64 = encoding != NULL && strncasecmp(encoding, "base64", 6) == 0;
	bool qp = encoding != NULL && strncasecmp(encoding, "quoted-printable", 16) == 0;
	size_t bound = base64 ? body.len / 4 * 3 + 3 : body.len;

	part.body = malloc(bound + 1);
	if (part.body == NULL)
		goto out_nomem;
	if (base64)
		decode_base64(body, part.body, &part.body_len);
	else if (qp)
		decode_quoted_printable(body, part.body, &part.body_len);
	else {
		memcpy(part.body, body.p, body.len);
		part.body_len = body.len;
	}
	part.body[part.body_len] = '\0';
	if (part.body_len > ps->limits->max_decoded) {
		snprintf(ps->why, ps->why_size, "mime: part %zu decodes to more than %zu octets",
			 m->part_count + 1, ps->limits->max_decoded);
		errno = EFBIG;
		goto out;
	}
	m->parts[m->part_count++] = part;
	part = (struct mime_part){ 0 };
	rc = 0;
	goto out;
out_nomem:
	fail(ps, ENOMEM, "mime: out of memory");
out:
	free(part.media_type);
	free(part.file_name);
	free(part.body);
	free(encoding);
	free(disposition);
	return rc;
}

static int parse_entity(struct parser *ps, struct span entity, size_t depth, bool top);

/*
 * Whether the line is a delimiter of boundary ("--boundary", white space
 * allowed after it); *ret_close tells the close delimiter ("--boundary--").
 */
static bool is_delimiter(const unsigned char *line, size_t len, const char *boundary,
			 size_t boundary_len, bool *ret_close)
{
	size_t i;

	if (len < boundary_len + 2 || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, boundary, boundary_len) != 0)
		return false;
	i = boundary_len + 2;
	*ret_close = len >= i + 2 && line[i] == '-' && line[i + 1] == '-';
	if (*ret_close)
		i += 2;
	while (i < len && is_wsp(line[i]))
		i++;
	return i == len;
}

static int parse_multipart(struct parser *ps, struct span body, const char *boundary,
			   size_t depth)
{
	size_t boundary_len = strlen(boundary), pos = 0;
	const unsigned char *part_start = NULL;

	while (pos < body.len) {
		size_t next, line_len = line_at(body.p + pos, body.len - pos, &next);
		bool close = false;

		if (!is_delimiter(body.p + pos, line_len, boundary, boundary_len, &close)) {
			pos += next;
			continue;
		}
		if (part_start != NULL) {
			/* the line end before the delimiter belongs to it (RFC 2046 5.1.1) */
			const unsigned char *end = body.p + pos;

			if (end > part_start && end[-1] == '\n')
				end--;
			if (end > part_start && end[-1] == '\r')
				end--;
			if (parse_entity(ps, (struct span){ part_start, (size_t)(end - part_start) },
					 depth, false) < 0)
				return -1;
		}
		pos += next;
		if (close)
			return 0;	/* the epilogue is ignored */
		part_start = body.p + pos;
	}
	/* no close delimiter: the last part runs to the end */
	if (part_start != NULL)
		return parse_entity(ps, (struct span){ part_start,
				    (size_t)(body.p + body.len - part_start) }, depth, false);
	return 0;
}

static int keep_message_fields(struct parser *ps, const struct entity_headers *h)
{
	struct mime_message *m = ps->message;

	if (h->has_from && (m->from = unfold(h->from)) == NULL)
		return fail(ps, ENOMEM, "mime: out of memory");
	if (h->has_subject && (m->subject = unfold(h->subject)) == NULL)
		return fail(ps, ENOMEM, "mime: out of memory");
	if (h->has_message_id && (m->message_id = unfold(h->message_id)) == NULL)
		return fail(ps, ENOMEM, "mime: out of memory");
	return 0;
}

static int parse_entity(struct parser *ps, struct span entity, size_t depth, bool top)
{
	struct entity_headers h;
	size_t body_start;
	struct span body;
	char *content_type = NULL, *media_type = NULL, *boundary = NULL;
	int rc = -1;

	if (read_headers(ps, entity, &h, &body_start) < 0)
		return -1;
	body = (struct span){ entity.p + body_start, entity.len - body_start };
	if (!top && ++ps->parts_seen > ps->limits->max_parts) {
		snprintf(ps->why, ps->why_size, "mime: more than %zu parts", ps->limits->max_parts);
		errno = EFBIG;
		return -1;
	}
	if (top && keep_message_fields(ps, &h) < 0)
		return -1;
	if (h.has_content_type) {
		content_type = unfold(h.content_type);
		if (content_type == NULL || (media_type = media_type_of(content_type)) == NULL)
			goto out_nomem;
		if (check_parameters(ps, content_type, "Content-Type") < 0)
			goto out;
	}
	if (media_type != NULL && strncmp(media_type, "multipart/", 10) == 0) {
		boundary = parameter(content_type, "boundary");
		if (boundary == NULL && errno == ENOMEM)
			goto out_nomem;
	}
	if (boundary != NULL && boundary[0] != '\0') {
		if (depth >= ps->limits->max_depth) {
			snprintf(ps->why, ps->why_size, "mime: multipart nested deeper than %zu",
				 ps->limits->max_depth);
			errno = EFBIG;
			goto out;
		}
		if (ps->message->report_type == NULL && strcmp(media_type, "multipart/report") == 0) {
			ps->message->report_type = parameter(content_type, "report-type");
			if (ps->message->report_type == NULL && errno == ENOMEM)
				goto out_nomem;
			for (char *c = ps->message->report_type; c != NULL && *c != '\0'; c++)
				*c = (char)tolower((unsigned char)*c);
		}
		rc = parse_multipart(ps, body, boundary, depth + 1);
	} else if (media_type != NULL && strcmp(media_type, "message/rfc822") == 0 &&
		   !h.has_transfer_encoding) {
		if (depth >= ps->limits->max_depth) {
			snprintf(ps->why, ps->why_size, "mime: messages nested deeper than %zu",
				 ps->limits->max_depth);
			errno = EFBIG;
			goto out;
		}
		rc = parse_entity(ps, body, depth + 1, false);
	} else {
		rc = add_leaf(ps, &h, content_type, body);
	}
	goto out;
out_nomem:
	fail(ps, ENOMEM, "mime: out of memory");
out:
	free(content_type);
	free(media_type);
	free(boundary);
	return rc;
}

int mime_parse(const unsigned char *data, size_t len, const struct mime_limits *limits,
	       struct mime_message *ret_message, char *why, size_t why_size)
{
	struct mime_message message = { 0 };
	struct parser ps = { .limits = limits, .message = &message, .why = why,
			     .why_size = why_size };
	char scratch[1];

	if (why == NULL || why_size == 0) {
		ps.why = scratch;
		ps.why_size = sizeof(scratch);
	}
	if (ret_message != NULL)
		*ret_message = (struct mime_message){ 0 };
	if (data == NULL || limits == NULL || ret_message == NULL) {
		snprintf(ps.why, ps.why_size, "mime: no message");
		errno = EINVAL;
		return -1;
	}
	if (parse_entity(&ps, (struct span){ data, len }, 0, true) < 0) {
		int saved = errno;

		mime_message_clear(&message);
		errno = saved;
		return -1;
	}
	*ret_message = message;
	return 0;
}

void mime_message_clear(struct mime_message *message)
{
	if (message == NULL)
		return;
	for (size_t i = 0; i < message->part_count; i++) {
		free(message->parts[i].media_type);
		free(message->parts[i].file_name);
		free(message->parts[i].body);
	}
	free(message->parts);
	free(message->report_type);
	free(message->from);
	free(message->subject);
	free(message->message_id);
	*message = (struct mime_message){ 0 };
}
