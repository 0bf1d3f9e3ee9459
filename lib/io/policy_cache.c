/*
 * policy_cache.c - the entries of the policy cache: made, copied, checked
 * against the limits every backend holds them to, and parsed again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "policy_cache.h"

static const char *const kind_names[] = {
	[POLICY_CACHE_POLICY] = "policy",
	[POLICY_CACHE_NO_POLICY] = "no-policy",
	[POLICY_CACHE_TEMP_FAIL] = "temp-fail",
};

const char *policy_cache_kind_name(enum policy_cache_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return NULL;
	return kind_names[kind];
}

static bool domain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

int policy_cache_domain_check(const char *domain)
{
	if (domain == NULL)
		return MTASTS_ERR_ARGUMENT;
	size_t len = strnlen(domain, POLICY_CACHE_DOMAIN_MAX + 1);
	if (len > POLICY_CACHE_DOMAIN_MAX)
		return MTASTS_ERR_TOO_LARGE;
	if (len == 0)
		return MTASTS_ERR_ARGUMENT;
	for (size_t i = 0; i < len; i++)
		if (!domain_char(domain[i]))
			return MTASTS_ERR_ARGUMENT;
	return MTASTS_OK;
}

static int id_check(const char *id, size_t size)
{
	size_t len = strnlen(id, size);

	if (len == size)		/* no NUL inside the array */
		return MTASTS_ERR_TOO_LARGE;
	for (size_t i = 0; i < len; i++)
		if (!id_char(id[i]))
			return MTASTS_ERR_ARGUMENT;
	return MTASTS_OK;
}

static int text_check(const struct policy_cache_entry *entry)
{
	if (entry->kind != POLICY_CACHE_POLICY)
		return entry->policy_text == NULL && entry->policy_len == 0
		       ? MTASTS_OK : MTASTS_ERR_ARGUMENT;
	if (entry->policy_text == NULL || entry->policy_len == 0)
		return MTASTS_ERR_ARGUMENT;
	if (entry->policy_len > MTASTS_POLICY_BODY_MAX)
		return MTASTS_ERR_TOO_LARGE;
	if (memchr(entry->policy_text, '\0', entry->policy_len) != NULL ||
	    entry->policy_text[entry->policy_len] != '\0')
		return MTASTS_ERR_ARGUMENT;
	return MTASTS_OK;
}

static int times_check(const struct policy_cache_entry *entry)
{
	if (entry->fetched_at < 0 || entry->expires_at < entry->fetched_at)
		return MTASTS_ERR_ARGUMENT;
	/* expires_at - fetched_at cannot overflow: both are >= 0 */
	if ((uintmax_t)(entry->expires_at - entry->fetched_at) > MTASTS_MAX_AGE_MAX)
		return MTASTS_ERR_TOO_LARGE;
	return MTASTS_OK;
}

int policy_cache_entry_check(const struct policy_cache_entry *entry)
{
	int rc;

	if (entry == NULL || policy_cache_kind_name(entry->kind) == NULL)
		return MTASTS_ERR_ARGUMENT;
	if (memchr(entry->domain, '\0', sizeof(entry->domain)) == NULL)
		return MTASTS_ERR_TOO_LARGE;
	if ((rc = policy_cache_domain_check(entry->domain)) != MTASTS_OK)
		return rc;
	if ((rc = id_check(entry->id, sizeof(entry->id))) != MTASTS_OK)
		return rc;
	if (entry->kind == POLICY_CACHE_POLICY && entry->id[0] == '\0')
		return MTASTS_ERR_ARGUMENT;
	if ((rc = text_check(entry)) != MTASTS_OK)
		return rc;
	return times_check(entry);
}

struct policy_cache_entry *policy_cache_entry_free(struct policy_cache_entry *entry)
{
	if (entry != NULL) {
		free(entry->policy_text);
		free(entry);
	}
	return NULL;
}

_Static_assert(sizeof(time_t) == sizeof(int64_t), "time_t of 64 bits");

/* A time an entry may start at: not before 1970, nor so late its end overflows. */
static bool time_ok(time_t now)
{
	return now >= 0 && now <= (time_t)(INT64_MAX - MTASTS_MAX_AGE_MAX);
}

/* An entry with domain and id copied in, checked for length and form. */
static int entry_start(enum policy_cache_kind kind, const char *domain,
		       const char *id, struct policy_cache_entry **ret_entry)
{
	struct policy_cache_entry *entry;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	if (id == NULL)
		id = "";
	if (strnlen(id, MTASTS_STS_ID_MAX + 1) > MTASTS_STS_ID_MAX)
		return MTASTS_ERR_TOO_LARGE;
	entry = calloc(1, sizeof(*entry));
	if (entry == NULL)
		return MTASTS_ERR_NOMEM;
	entry->kind = kind;
	strcpy(entry->domain, domain);
	strcpy(entry->id, id);
	*ret_entry = entry;
	return MTASTS_OK;
}

/* Check a finished entry; hand it over, or free it. */
static int entry_finish(struct policy_cache_entry *entry,
			struct policy_cache_entry **ret_entry)
{
	int rc = policy_cache_entry_check(entry);

	if (rc != MTASTS_OK) {
		policy_cache_entry_free(entry);
		return rc;
	}
	*ret_entry = entry;
	return MTASTS_OK;
}

int policy_cache_entry_policy(const char *domain, const char *id,
			      const struct mtasts_policy *policy, time_t now,
			      struct policy_cache_entry **ret_entry)
{
	struct policy_cache_entry *entry = NULL;
	int rc;

	if (policy == NULL || !time_ok(now))
		return MTASTS_ERR_ARGUMENT;
	if ((rc = entry_start(POLICY_CACHE_POLICY, domain, id, &entry)) != MTASTS_OK)
		return rc;
	rc = mtasts_policy_serialize(policy, &entry->policy_text, &entry->policy_len);
	if (rc != MTASTS_OK) {
		policy_cache_entry_free(entry);
		return rc;
	}
	entry->fetched_at = now;
	entry->expires_at = now + (time_t)policy->max_age;
	return entry_finish(entry, ret_entry);
}

int policy_cache_entry_negative(enum policy_cache_kind kind, const char *domain,
				const char *id, time_t now, unsigned ttl,
				struct policy_cache_entry **ret_entry)
{
	struct policy_cache_entry *entry = NULL;
	int rc;

	if ((kind != POLICY_CACHE_NO_POLICY && kind != POLICY_CACHE_TEMP_FAIL) ||
	    !time_ok(now))
		return MTASTS_ERR_ARGUMENT;
	if (ttl > MTASTS_MAX_AGE_MAX)
		return MTASTS_ERR_TOO_LARGE;
	if ((rc = entry_start(kind, domain, id, &entry)) != MTASTS_OK)
		return rc;
	entry->fetched_at = now;
	entry->expires_at = now + (time_t)ttl;
	return entry_finish(entry, ret_entry);
}

int policy_cache_entry_copy(const struct policy_cache_entry *entry,
			    struct policy_cache_entry **ret_entry)
{
	struct policy_cache_entry *copy;
	int rc;

	if ((rc = policy_cache_entry_check(entry)) != MTASTS_OK)
		return rc;
	copy = malloc(sizeof(*copy));
	if (copy == NULL)
		return MTASTS_ERR_NOMEM;
	*copy = *entry;
	copy->policy_text = NULL;
	if (entry->policy_text != NULL) {
		copy->policy_text = malloc(entry->policy_len + 1);
		if (copy->policy_text == NULL) {
			free(copy);
			return MTASTS_ERR_NOMEM;
		}
		memcpy(copy->policy_text, entry->policy_text, entry->policy_len + 1);
	}
	*ret_entry = copy;
	return MTASTS_OK;
}

int policy_cache_entry_parse(const struct policy_cache_entry *entry,
			     struct mtasts_policy **ret_policy,
			     struct mtasts_diags *diags)
{
	if (entry == NULL || entry->kind != POLICY_CACHE_POLICY ||
	    entry->policy_text == NULL)
		return MTASTS_ERR_ARGUMENT;
	return mtasts_policy_parse(entry->policy_text, entry->policy_len,
				   ret_policy, diags);
}

int policy_cache_claim_token(char *token, size_t size)
{
	unsigned char bytes[16];

	if (size < 2 * sizeof(bytes) + 1 ||
	    getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return -1;
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(token + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}
