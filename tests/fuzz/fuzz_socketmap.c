/*
 * fuzz_socketmap.c - fuzz target for what a socketmap server reads from
 * Postfix: netstrings (mtasts_netstring_read), the request in each
 * (mtasts_socketmap_request_parse) and its key
 * (mtasts_socketmap_key_classify), and the replies made from them.
 *
 * The input is the byte stream of a connection.  It is read twice, in
 * chunks of one octet and in chunks whose size the first octet picks;
 * both reads must give the same netstrings and end the same way.  Each
 * netstring is written back and read again unchanged; a key that is a
 * domain classifies again to itself and makes replies Postfix can take.
 */
#include <mtasts/mx.h>
#include <mtasts/socketmap.h>

#include "fuzz.h"

/* FNV-1a over the payloads read, to compare two reads of one stream. */
struct trace {
	uint64_t hash;
	size_t count;
	int status;
	size_t stop;		/* where an error stopped the read */
};

static void trace_add(struct trace *t, const char *data, size_t len)
{
	t->hash ^= len;
	for (size_t i = 0; i < len; i++)
		t->hash = (t->hash ^ (unsigned char)data[i]) * 1099511628211u;
	t->count++;
}

static bool printable_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* A domain key: normalized, stable, and good for every reply. */
static void check_domain(const char *domain)
{
	static const struct mtasts_socketmap_options closed = {
		.fail_closed = true, .tlsrpt = true, .servername = true,
	};
	size_t len = strlen(domain), out_len;
	char again[MTASTS_HOST_NAME_MAX + 1], reply[1024];

	if (len == 0 || len > MTASTS_HOST_NAME_MAX || domain[len - 1] == '.' ||
	    !mtasts_mx_host_check(domain, len, NULL, NULL, 0))
		abort();
	for (size_t i = 0; i < len; i++)
		if (domain[i] >= 'A' && domain[i] <= 'Z')
			abort();
	if (mtasts_socketmap_key_classify(domain, len, again, sizeof(again), NULL, 0) !=
	    MTASTS_SOCKETMAP_KEY_DOMAIN || strcmp(again, domain) != 0)
		abort();
	if (mtasts_socketmap_reply_failure(MTASTS_SOCKETMAP_WEBPKI_INVALID, domain,
					   NULL, &closed, reply, sizeof(reply),
					   &out_len) != MTASTS_OK ||
	    out_len != strlen(reply) || !printable_ascii(reply, out_len))
		abort();
}

static void check_request(const char *payload, size_t len)
{
	struct mtasts_socketmap_request req;
	char out[MTASTS_SOCKETMAP_QUERY_MAX + 1], why[160], reply[512];
	enum mtasts_socketmap_key_kind kind;
	size_t reply_len;

	if (mtasts_socketmap_request_parse(payload, len, &req, why, sizeof(why)) !=
	    MTASTS_OK) {
		if (why[0] == '\0')
			abort();
		return;
	}
	if (req.name.data != payload || req.name.len + 1 + req.key.len != len ||
	    req.name.len == 0 || req.key.len == 0 || req.key.data[0] == ' ' ||
	    memchr(req.name.data, ':', req.name.len) != NULL ||
	    memchr(req.name.data, ' ', req.name.len) != NULL)
		abort();
	memset(out, 'Z', sizeof(out));
	kind = mtasts_socketmap_key_classify(req.key.data, req.key.len, out,
					     sizeof(out), why, sizeof(why));
	switch (kind) {
	case MTASTS_SOCKETMAP_KEY_DOMAIN:
		check_domain(out);
		break;
	case MTASTS_SOCKETMAP_KEY_NEEDS_IDNA: {
		size_t n = strlen(out);
		bool wide = false;

		for (size_t i = 0; i < n; i++)
			wide |= (unsigned char)out[i] >= 0x80;
		if (!wide || n > req.key.len)
			abort();
		break;
	}
	case MTASTS_SOCKETMAP_KEY_NOT_APPLICABLE:
	case MTASTS_SOCKETMAP_KEY_INVALID:
		if (out[0] != 'Z' || why[0] == '\0')
			abort();
		break;
	default:
		abort();
	}
	/* Whatever the key, a reason made of it is a clean reply. */
	if (mtasts_socketmap_reply_error(MTASTS_SOCKETMAP_TEMP, req.key.data, reply,
					 sizeof(reply), &reply_len) != MTASTS_OK ||
	    reply_len > 5 + MTASTS_SOCKETMAP_REASON_MAX ||
	    !printable_ascii(reply, reply_len))
		abort();
}

/* What the writer makes of a payload, the reader reads back the same. */
static void check_round_trip(const char *payload, size_t len)
{
	static char wire[MTASTS_SOCKETMAP_REQUEST_MAX + MTASTS_NETSTRING_OVERHEAD + 1];
	static char buf[MTASTS_SOCKETMAP_REQUEST_MAX + 1];
	struct mtasts_netstring_reader r;
	struct mtasts_bytes back;
	size_t wire_len, used;

	if (mtasts_netstring_write(payload, len, wire, sizeof(wire), &wire_len) !=
	    MTASTS_OK)
		abort();
	mtasts_netstring_reader_init(&r, buf, len + 1);
	if (mtasts_netstring_read(&r, wire, wire_len, &used, &back) !=
	    MTASTS_NETSTRING_DONE || used != wire_len || back.len != len ||
	    memcmp(back.data, payload, len) != 0)
		abort();
}

static struct trace read_stream(const uint8_t *data, size_t size, size_t chunk,
				bool deep)
{
	static char buf[MTASTS_SOCKETMAP_REQUEST_MAX + 1];
	struct trace t = { .hash = 14695981039346656037u, .status = MTASTS_NETSTRING_MORE };
	struct mtasts_netstring_reader r;
	struct mtasts_bytes payload;
	size_t pos = 0, used;

	mtasts_netstring_reader_init(&r, buf, sizeof(buf));
	while (pos < size) {
		size_t take = size - pos < chunk ? size - pos : chunk;

		t.status = mtasts_netstring_read(&r, (const char *)data + pos, take,
						 &used, &payload);
		if (used > take)
			abort();
		if (t.status < 0) {
			t.stop = pos + used;
			if (strcmp(mtasts_netstring_status_message(t.status),
				   "unknown netstring status") == 0)
				abort();
			break;
		}
		pos += used;
		if (t.status == MTASTS_NETSTRING_MORE) {
			if (used != take)
				abort();
			continue;
		}
		if (payload.len > MTASTS_SOCKETMAP_REQUEST_MAX ||
		    payload.data[payload.len] != '\0')
			abort();
		trace_add(&t, payload.data, payload.len);
		if (deep) {
			check_request(payload.data, payload.len);
			check_round_trip(payload.data, payload.len);
		}
	}
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace one, many;
	size_t chunk;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] % 64 + 1;
	one = read_stream(data + 1, size - 1, 1, false);
	many = read_stream(data + 1, size - 1, chunk, true);
	if (one.hash != many.hash || one.count != many.count ||
	    one.status != many.status || (one.status < 0 && one.stop != many.stop))
		abort();
	return 0;
}
