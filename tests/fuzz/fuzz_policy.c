/*
 * fuzz_policy.c - fuzz target for the MTA-STS policy parser
 * (mtasts_policy_parse), its serializer and mtasts_policy_matches.
 *
 * An accepted policy must serialize, and the serialized text must parse
 * back to the same mode, max_age, mx list and extensions.  Every mx
 * pattern must match a host built from it.
 */
#include <ctype.h>
#include <stdio.h>

#include <mtasts/mx.h>
#include <mtasts/policy.h>

#include "fuzz.h"

#define HOST_BUF (MTASTS_HOST_NAME_MAX + 8)

static void check_policy(const struct mtasts_policy *p)
{
	if (mtasts_mode_name(p->mode) == NULL || p->max_age > MTASTS_MAX_AGE_MAX ||
	    p->mx_count > MTASTS_POLICY_MX_MAX ||
	    (p->mx_count == 0 && p->mode != MTASTS_MODE_NONE))
		abort();
	for (size_t i = 0; i < p->mx_count; i++)
		if (!mtasts_mx_pattern_check(p->mx[i], strlen(p->mx[i]), NULL, NULL, 0))
			abort();
}

static void same_policy(const struct mtasts_policy *a, const struct mtasts_policy *b)
{
	if (a->mode != b->mode || a->max_age != b->max_age ||
	    a->mx_count != b->mx_count || a->extension_count != b->extension_count)
		abort();
	for (size_t i = 0; i < a->mx_count; i++)
		if (strcmp(a->mx[i], b->mx[i]) != 0)
			abort();
	for (size_t i = 0; i < a->extension_count; i++)
		if (strcmp(a->extensions[i].name, b->extensions[i].name) != 0 ||
		    strcmp(a->extensions[i].value, b->extensions[i].value) != 0)
			abort();
}

static void check_round_trip(const struct mtasts_policy *p)
{
	struct mtasts_policy *back = NULL;
	struct mtasts_diags diags;
	char *text = NULL;
	size_t len = 0;

	if (mtasts_policy_serialize(p, &text, &len) != MTASTS_OK)
		abort();
	if (strlen(text) != len)
		abort();
	mtasts_diags_init(&diags);
	if (mtasts_policy_parse(text, len, &back, &diags) != MTASTS_OK)
		abort();
	same_policy(p, back);
	if (back->lf_only_lines != 0)
		abort();
	mtasts_policy_free(back);
	free(text);
}

/* "*.example.com" gives "mx.example.com"; a plain name gives itself. */
static bool host_for(const char *pattern, char *host, size_t size)
{
	int n = pattern[0] == '*' ? snprintf(host, size, "mx%s", pattern + 1) :
		snprintf(host, size, "%s", pattern);

	return n > 0 && (size_t)n <= MTASTS_HOST_NAME_MAX;
}

static void check_matching(const struct mtasts_policy *p, const uint8_t *data,
			   size_t size)
{
	char host[HOST_BUF];
	size_t n = 0;

	/* The first line of the input as a host: anything goes, nothing breaks. */
	while (n < size && n < sizeof(host) - 1 && data[n] != '\n' && data[n] != '\0')
		n++;
	memcpy(host, data, n);
	host[n] = '\0';
	(void)mtasts_policy_matches(p, host);
	(void)mtasts_policy_matches(p, NULL);

	for (size_t i = 0; i < p->mx_count && i < 16; i++) {
		if (!host_for(p->mx[i], host, sizeof(host)))
			continue;
		if (!mtasts_policy_matches(p, host))
			abort();
		for (char *c = host; *c != '\0'; c++)
			*c = (char)toupper((unsigned char)*c);
		if (!mtasts_policy_matches(p, host))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_policy *p = NULL;
	struct mtasts_diags diags;
	int rc;

	mtasts_diags_init(&diags);
	rc = mtasts_policy_parse((const char *)data, size, &p, &diags);
	fuzz_check_diags(&diags, rc);
	if ((rc == MTASTS_OK) != (p != NULL))
		abort();
	if (p == NULL)
		return 0;
	check_policy(p);
	check_round_trip(p);
	check_matching(p, data, size);
	mtasts_policy_free(p);
	return 0;
}
