/*
 * fuzz_dns.c - fuzz target for the DNS message decoder
 * (mtasts_dns_message_parse) and for what is read from a decoded answer
 * (mtasts_dns_message_final_name, mtasts_dns_message_txt_records).  The
 * input is one message as it comes off the wire.
 */
#include <mtasts/dns.h>

#include "fuzz.h"

/* A decoded name: lower case, no empty label, no final dot, fits 253. */
static void check_name(const char *name)
{
	size_t len = strnlen(name, MTASTS_DNS_NAME_MAX + 1);

	if (len > MTASTS_DNS_NAME_MAX - 2)
		abort();
	if (len > 0 && (name[0] == '.' || name[len - 1] == '.' ||
			strstr(name, "..") != NULL))
		abort();
	for (size_t i = 0; i < len; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			abort();
}

/* What dns.h promises of one decoded answer record. */
static void check_rr(const struct mtasts_dns_message *m, const struct mtasts_dns_rr *rr)
{
	check_name(rr->name);
	check_name(rr->target);
	if (rr->rdata < m->raw || rr->rdata_len > m->raw_len ||
	    rr->rdata - m->raw > (ptrdiff_t)(m->raw_len - rr->rdata_len))
		abort();
	switch (rr->type) {
	case MTASTS_DNS_TYPE_A:
	case MTASTS_DNS_TYPE_AAAA:
		if (rr->rdata_len != (rr->type == MTASTS_DNS_TYPE_A ? 4 : 16) ||
		    memcmp(rr->address, rr->rdata, rr->rdata_len) != 0)
			abort();
		break;
	case MTASTS_DNS_TYPE_MX:
		if (rr->rdata_len < 3 || rr->preference != ((rr->rdata[0] << 8) | rr->rdata[1]))
			abort();
		break;
	case MTASTS_DNS_TYPE_TXT:
		if (rr->text == NULL || rr->text_len >= rr->rdata_len ||
		    rr->text[rr->text_len] != '\0')
			abort();
		break;
	case MTASTS_DNS_TYPE_TLSA:
		if (rr->rdata_len < 3 || rr->tlsa_data != rr->rdata + 3 ||
		    rr->tlsa_data_len != (size_t)rr->rdata_len - 3 ||
		    rr->tlsa_usage != rr->rdata[0])
			abort();
		break;
	default:
		if (rr->text != NULL)
			abort();
	}
}

static void check_message(const struct mtasts_dns_message *m,
			  const uint8_t *data, size_t size)
{
	if (m->raw == NULL || m->raw == data || m->raw_len != size ||
	    memcmp(m->raw, data, size) != 0)
		abort();
	if (m->answer_count > MTASTS_DNS_RR_MAX ||
	    m->answer_count != (size_t)((data[6] << 8) | data[7]) ||
	    (m->answer_count > 0 && m->answers == NULL))
		abort();
	if (m->id != ((data[0] << 8) | data[1]) || (unsigned)m->rcode != (data[3] & 0x0fu) ||
	    m->authenticated != ((data[3] & 0x20) != 0))
		abort();
	check_name(m->question);
	for (size_t i = 0; i < m->answer_count; i++)
		check_rr(m, &m->answers[i]);
}

/* Same verdict, same records. */
static void check_same(const struct mtasts_dns_message *a, const struct mtasts_dns_message *b)
{
	if (strcmp(a->question, b->question) != 0 || a->answer_count != b->answer_count)
		abort();
	for (size_t i = 0; i < a->answer_count; i++)
		if (strcmp(a->answers[i].name, b->answers[i].name) != 0 ||
		    strcmp(a->answers[i].target, b->answers[i].target) != 0 ||
		    a->answers[i].ttl != b->answers[i].ttl ||
		    a->answers[i].text_len != b->answers[i].text_len)
			abort();
}

#define TXT_MAX 4

/* The final name is the question or a CNAME target; its TXT records are. */
static void check_txt(const struct mtasts_dns_message *m)
{
	const char *final = mtasts_dns_message_final_name(m);
	struct mtasts_bytes records[TXT_MAX];
	size_t total, at_final = 0;

	if (final != NULL && final != m->question) {
		bool is_target = false;

		for (size_t i = 0; i < m->answer_count; i++)
			if (final == m->answers[i].target &&
			    m->answers[i].type == MTASTS_DNS_TYPE_CNAME)
				is_target = true;
		if (!is_target)
			abort();
	}
	total = mtasts_dns_message_txt_records(m, records, TXT_MAX);
	if (mtasts_dns_message_txt_records(m, NULL, 0) != total)
		abort();
	if (final == NULL) {
		if (total != 0)
			abort();
		return;
	}
	for (size_t i = 0; i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];

		if (rr->type != MTASTS_DNS_TYPE_TXT || rr->rclass != MTASTS_DNS_CLASS_IN ||
		    strcmp(rr->name, final) != 0)
			continue;
		if (at_final < TXT_MAX && (records[at_final].data != rr->text ||
					   records[at_final].len != rr->text_len))
			abort();
		at_final++;
	}
	if (at_final != total)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_dns_message *m = NULL, *again = NULL, *other = NULL;
	uint8_t *longer;
	int rc;

	rc = mtasts_dns_message_parse(data, size, &m);
	if ((rc == MTASTS_OK) != (m != NULL) ||
	    (rc != MTASTS_OK && rc != MTASTS_ERR_INVALID && rc != MTASTS_ERR_NOMEM))
		abort();
	if (m == NULL)
		return 0;
	check_message(m, data, size);
	check_txt(m);
	if (mtasts_dns_message_parse(data, size, &again) != MTASTS_OK)
		abort();
	check_same(m, again);

	/* A message ends with its last record: one octet less or more is not one. */
	if (mtasts_dns_message_parse(data, size - 1, &other) != MTASTS_ERR_INVALID ||
	    other != NULL)
		abort();
	if ((longer = malloc(size + 1)) != NULL) {
		memcpy(longer, data, size);
		longer[size] = 0;
		if (mtasts_dns_message_parse(longer, size + 1, &other) != MTASTS_ERR_INVALID)
			abort();
		free(longer);
	}
	mtasts_dns_message_free(again);
	mtasts_dns_message_free(m);
	return 0;
}
