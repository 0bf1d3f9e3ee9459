/*
 * dns_message.c - decoding DNS response messages (RFC 1035 4.1): header,
 * question, answer records with their RDATA, and a structural check of
 * the authority and additional sections; then what an answer says about
 * the question: the name its CNAME chain ends at, the TXT records there.
 *
 * DESCRIPTION
 *	Every read is bounded by the message, and names inside RDATA by the
 *	RDATA.  Compression pointers (RFC 1035 4.1.4) must point strictly
 *	before the start of the labels that led to them, so each jump goes
 *	backwards and no chain can loop; the number of jumps is bounded as
 *	well.
 *
 *	Where a name is written out as text (the question, owner names and
 *	CNAME and MX targets of answers) a label holding "." or NUL is
 *	refused: the text form could not be told apart from another name.
 *	Names in the other sections are only checked for structure.
 *
 *	A TTL with its top bit set counts as 0 (RFC 2181 8).  Octets after
 *	the last record, a TXT record without a character-string, and
 *	character-strings that do not fill the RDATA exactly are refused.
 */
#include <stdlib.h>
#include <string.h>

#include <mtasts/dns.h>

#define DNS_HEADER_LEN 12
#define DNS_MESSAGE_MAX 65535
#define DNS_LABEL_MAX 63
/* A name has at most 127 labels, so it never needs more jumps than that. */
#define DNS_JUMPS_MAX 127

/* The message being decoded and the read position in it. */
struct cursor {
	const uint8_t *msg;
	size_t len;
	size_t pos;
};

/* The fixed part of a resource record, after its owner name. */
struct rr_fixed {
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdata;		/* offset of the RDATA */
	uint16_t rdlen;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Append one label to out (at *o) in lower case; false for "." or NUL. */
static bool put_label(const uint8_t *label, size_t n, char *out, size_t *o)
{
	if (*o > 0)
		out[(*o)++] = '.';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = label[i];

		if (c == '.' || c == '\0')
			return false;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		out[(*o)++] = (char)c;
	}
	return true;
}

/*
 * Read the name at c->pos, whose uncompressed part must end by `limit`;
 * labels reached through pointers may lie anywhere before them in the
 * message.  Writes the text form into out when out is not NULL.  On
 * success c->pos is past the name's uncompressed part.
 */
static bool read_name(struct cursor *c, size_t limit, char *out)
{
	size_t p = c->pos, segment = c->pos, end = 0, wire = 1, o = 0;
	unsigned jumps = 0;

	for (;;) {
		size_t lim = jumps > 0 ? c->len : limit;
		uint8_t n;

		if (p >= lim)
			return false;
		n = c->msg[p];
		if (n == 0) {
			p++;
			break;
		}
		if ((n & 0xc0) == 0xc0) {
			size_t target;

			if (p + 2 > lim)
				return false;
			target = get16(c->msg + p) & 0x3fffu;
			if (target >= segment || ++jumps > DNS_JUMPS_MAX)
				return false;
			if (jumps == 1)
				end = p + 2;
			p = segment = target;
			continue;
		}
		if (n > DNS_LABEL_MAX)		/* label types 01 and 10 */
			return false;
		if (p + 1 + n > lim || (wire += 1u + n) > MTASTS_DNS_NAME_MAX)
			return false;
		if (out != NULL && !put_label(c->msg + p + 1, n, out, &o))
			return false;
		p += 1u + n;
	}
	if (out != NULL)
		out[o] = '\0';
	c->pos = jumps > 0 ? end : p;
	return true;
}

/* Read the type, class, TTL and RDLENGTH after an owner name. */
static bool read_rr_fixed(struct cursor *c, struct rr_fixed *f)
{
	const uint8_t *p = c->msg + c->pos;

	if (c->len - c->pos < 10)
		return false;
	f->type = get16(p);
	f->rclass = get16(p + 2);
	f->ttl = get32(p + 4);
	if (f->ttl & 0x80000000u)
		f->ttl = 0;
	f->rdlen = get16(p + 8);
	f->rdata = c->pos + 10;
	if (c->len - f->rdata < f->rdlen)
		return false;
	c->pos = f->rdata + f->rdlen;
	return true;
}

/* A name that fills the RDATA from `start` to its end exactly. */
static bool read_rdata_name(const struct cursor *msg, size_t start, size_t end,
			    char *out)
{
	struct cursor c = { msg->msg, msg->len, start };

	return read_name(&c, end, out) && c.pos == end;
}

/* TXT: one or more character-strings filling the RDATA, joined. */
static int decode_txt(struct mtasts_dns_rr *rr)
{
	size_t i = 0, n = 0;

	if (rr->rdata_len == 0)
		return MTASTS_ERR_INVALID;
	while (i < rr->rdata_len) {
		size_t len = rr->rdata[i];

		if (len > (size_t)rr->rdata_len - i - 1)
			return MTASTS_ERR_INVALID;
		i += 1 + len;
	}
	if ((rr->text = malloc((size_t)rr->rdata_len + 1)) == NULL)
		return MTASTS_ERR_NOMEM;
	for (i = 0; i < rr->rdata_len; i += 1u + rr->rdata[i]) {
		memcpy(rr->text + n, rr->rdata + i + 1, rr->rdata[i]);
		n += rr->rdata[i];
	}
	rr->text[n] = '\0';
	rr->text_len = n;
	return MTASTS_OK;
}

/* The RDATA of the types dns.h decodes; others keep only the raw RDATA. */
static int decode_rdata(const struct cursor *c, struct mtasts_dns_rr *rr,
			size_t start)
{
	size_t end = start + rr->rdata_len;

	switch (rr->type) {
	case MTASTS_DNS_TYPE_A:
	case MTASTS_DNS_TYPE_AAAA:
		if (rr->rdata_len != (rr->type == MTASTS_DNS_TYPE_A ? 4 : 16))
			return MTASTS_ERR_INVALID;
		memcpy(rr->address, rr->rdata, rr->rdata_len);
		return MTASTS_OK;
	case MTASTS_DNS_TYPE_CNAME:
		return read_rdata_name(c, start, end, rr->target) ?
		       MTASTS_OK : MTASTS_ERR_INVALID;
	case MTASTS_DNS_TYPE_MX:
		if (rr->rdata_len < 3)
			return MTASTS_ERR_INVALID;
		rr->preference = get16(rr->rdata);
		return read_rdata_name(c, start + 2, end, rr->target) ?
		       MTASTS_OK : MTASTS_ERR_INVALID;
	case MTASTS_DNS_TYPE_TXT:
		return decode_txt(rr);
	case MTASTS_DNS_TYPE_TLSA:
		if (rr->rdata_len < 3)
			return MTASTS_ERR_INVALID;
		rr->tlsa_usage = rr->rdata[0];
		rr->tlsa_selector = rr->rdata[1];
		rr->tlsa_matching = rr->rdata[2];
		rr->tlsa_data = rr->rdata + 3;
		rr->tlsa_data_len = (size_t)rr->rdata_len - 3;
		return MTASTS_OK;
	default:
		return MTASTS_OK;
	}
}

static int read_answer(struct cursor *c, struct mtasts_dns_rr *rr)
{
	struct rr_fixed f;

	if (!read_name(c, c->len, rr->name) || !read_rr_fixed(c, &f))
		return MTASTS_ERR_INVALID;
	rr->type = f.type;
	rr->rclass = f.rclass;
	rr->ttl = f.ttl;
	rr->rdata = c->msg + f.rdata;
	rr->rdata_len = f.rdlen;
	return decode_rdata(c, rr, f.rdata);
}

/* Authority and additional records: well formed, not kept. */
static bool skip_records(struct cursor *c, size_t count)
{
	struct rr_fixed f;

	for (size_t i = 0; i < count; i++)
		if (!read_name(c, c->len, NULL) || !read_rr_fixed(c, &f))
			return false;
	return true;
}

/* The questions; the first one is kept. */
static bool read_questions(struct cursor *c, size_t count,
			   struct mtasts_dns_message *m)
{
	for (size_t i = 0; i < count; i++) {
		if (!read_name(c, c->len, i == 0 ? m->question : NULL) ||
		    c->len - c->pos < 4)
			return false;
		if (i == 0)
			m->question_type = get16(c->msg + c->pos);
		c->pos += 4;
	}
	return true;
}

static void read_header(const uint8_t *h, struct mtasts_dns_message *m)
{
	m->id = get16(h);
	m->response = (h[2] & 0x80) != 0;
	m->authoritative = (h[2] & 0x04) != 0;
	m->truncated = (h[2] & 0x02) != 0;
	m->recursion_available = (h[3] & 0x80) != 0;
	m->authenticated = (h[3] & 0x20) != 0;
	m->rcode = (enum mtasts_dns_rcode)(h[3] & 0x0f);
}

/* Everything after the header, into m (whose raw copy c reads). */
static int read_sections(struct cursor *c, struct mtasts_dns_message *m)
{
	const uint8_t *h = c->msg;
	size_t qd = get16(h + 4), an = get16(h + 6);
	size_t ns = get16(h + 8), ar = get16(h + 10);
	int rc;

	if (an > MTASTS_DNS_RR_MAX)
		return MTASTS_ERR_INVALID;
	c->pos = DNS_HEADER_LEN;
	if (!read_questions(c, qd, m))
		return MTASTS_ERR_INVALID;
	if (an > 0 && (m->answers = calloc(an, sizeof(*m->answers))) == NULL)
		return MTASTS_ERR_NOMEM;
	for (; m->answer_count < an; m->answer_count++)
		if ((rc = read_answer(c, &m->answers[m->answer_count])) != MTASTS_OK) {
			m->answer_count++;	/* so that its text is freed */
			return rc;
		}
	if (!skip_records(c, ns) || !skip_records(c, ar) || c->pos != c->len)
		return MTASTS_ERR_INVALID;
	return MTASTS_OK;
}

int mtasts_dns_message_parse(const uint8_t *buf, size_t len,
			     struct mtasts_dns_message **ret_message)
{
	struct mtasts_dns_message *m = NULL;
	struct cursor c;
	int rc = MTASTS_ERR_INVALID;

	if (ret_message == NULL || (buf == NULL && len > 0))
		return MTASTS_ERR_ARGUMENT;
	if (len < DNS_HEADER_LEN || len > DNS_MESSAGE_MAX)
		return MTASTS_ERR_INVALID;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->raw = malloc(len)) == NULL) {
		rc = MTASTS_ERR_NOMEM;
		goto out;
	}
	memcpy(m->raw, buf, len);
	m->raw_len = len;
	read_header(m->raw, m);
	c = (struct cursor){ m->raw, len, 0 };
	if ((rc = read_sections(&c, m)) != MTASTS_OK)
		goto out;
	*ret_message = m;
	m = NULL;
out:
	mtasts_dns_message_free(m);
	return rc;
}

struct mtasts_dns_message *mtasts_dns_message_free(struct mtasts_dns_message *m)
{
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < m->answer_count; i++)
		free(m->answers[i].text);
	free(m->answers);
	free(m->raw);
	free(m);
	return NULL;
}

/* The CNAME record of class IN at name, or NULL. */
static const struct mtasts_dns_rr *cname_at(const struct mtasts_dns_message *m,
					    const char *name)
{
	for (size_t i = 0; i < m->answer_count; i++)
		if (m->answers[i].type == MTASTS_DNS_TYPE_CNAME &&
		    m->answers[i].rclass == MTASTS_DNS_CLASS_IN &&
		    strcmp(m->answers[i].name, name) == 0)
			return &m->answers[i];
	return NULL;
}

/*
 * Names are compared with strcmp: the decoder wrote them all in lower
 * case, so this is the case-insensitive comparison of RFC 4343 (octets
 * above 0x7f compare as themselves, as there).
 */
const char *mtasts_dns_message_final_name(const struct mtasts_dns_message *m)
{
	const struct mtasts_dns_rr *cname;
	const char *name;

	if (m == NULL)
		return NULL;
	name = m->question;
	/* Each step takes another record, so more steps than records is a loop. */
	for (size_t steps = 0; (cname = cname_at(m, name)) != NULL; steps++) {
		if (steps == m->answer_count)
			return NULL;
		name = cname->target;
	}
	return name;
}

size_t mtasts_dns_message_txt_records(const struct mtasts_dns_message *m,
				      struct mtasts_bytes *records, size_t max)
{
	const char *name = mtasts_dns_message_final_name(m);
	size_t n = 0;

	if (name == NULL)
		return 0;
	for (size_t i = 0; i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];

		if (rr->type != MTASTS_DNS_TYPE_TXT || rr->rclass != MTASTS_DNS_CLASS_IN ||
		    rr->text == NULL || strcmp(rr->name, name) != 0)
			continue;
		if (n < max) {
			records[n].data = rr->text;
			records[n].len = rr->text_len;
		}
		n++;
	}
	return n;
}
