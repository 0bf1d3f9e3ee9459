/*
 * domain_registry.c - the registry of hosted domains, whatever the store:
 * the location decides the backend (a path: SQLite; a postgresql:// URL:
 * PostgreSQL), and everything else is decided here once - the checks of
 * every value before it is written and of every row read back, the
 * statements, the write transactions and the generation each of them
 * moves on.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts/diag.h>
#include <mtasts/mx.h>
#include <mtasts/policy.h>
#include <mtasts/tlsrpt.h>

#include "domain_registry_internal.h"
#include "hostname.h"
#include "util.h"

#define SHOWN_MAX 80			/* octets of a bad value quoted in a sentence */
#define SHOWN_BUF (SHOWN_MAX * 4 + 8)
#define SENTENCE_MAX 512

enum domain_column {
	COL_NAME, COL_MODE, COL_MX, COL_MAX_AGE, COL_RUA, COL_CREATED, COL_UPDATED,
	COL_REMOVED_AT, COL_REMOVED_MAX_AGE, COL_SERVED_UNTIL, DOMAIN_COLUMNS
};

static const char *const domain_column_names[DOMAIN_COLUMNS] = {
	"name", "mode", "mx", "max_age", "tlsrpt_rua", "created", "updated", "removed_at",
	"removed_max_age", "served_until",
};

#define DOMAIN_SELECT \
	"SELECT name, mode, mx, max_age, tlsrpt_rua, created, updated, removed_at, " \
	"removed_max_age, served_until FROM domains"

enum cert_column {
	CERT_NAME, CERT_NOT_BEFORE, CERT_NOT_AFTER, CERT_ISSUED_AT, CERT_LAST_ATTEMPT,
	CERT_NEXT_ATTEMPT, CERT_FAILURES, CERT_LAST_ERROR, CERT_COLUMNS
};

static const char *const cert_column_names[CERT_COLUMNS] = {
	"name", "not_before", "not_after", "issued_at", "last_attempt", "next_attempt",
	"failures", "last_error",
};

/* Values in sentences */

/*
 * value as it may be shown in a sentence: printable ASCII as it is, a
 * quote or backslash escaped, any other octet as \xNN; at most SHOWN_MAX
 * octets of it, then "...".
 */
static const char *shown(const char *value, char *buf, size_t size)
{
	size_t out = 0, i;

	for (i = 0; value[i] != '\0' && i < SHOWN_MAX && out + 5 < size; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '"' || c == '\\')
			out += (size_t)snprintf(buf + out, size - out, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			buf[out++] = (char)c;
		else
			out += (size_t)snprintf(buf + out, size - out, "\\x%02x", c);
	}
	if (value[i] != '\0' && out + 4 <= size)
		out += (size_t)snprintf(buf + out, size - out, "...");
	buf[out] = '\0';
	return buf;
}

/* Checks of values, for writing and for reading back */

/* A lower-case A-label host name of two labels or more, no final dot. */
static bool host_name_ok(const char *name, const char *field, char *why, size_t why_size)
{
	char normal[HOSTNAME_BUF], reason[160], buf[SHOWN_BUF];

	if (strnlen(name, HOSTED_NAME_MAX + 1) > HOSTED_NAME_MAX) {
		say_why(why, why_size, "%s \"%s\" is longer than %d octets", field,
			shown(name, buf, sizeof(buf)), HOSTED_NAME_MAX);
		return false;
	}
	if (hostname_normalize(name, normal, sizeof(normal), reason, sizeof(reason)) != 0) {
		say_why(why, why_size, "%s \"%s\" is not a host name: %s", field,
			shown(name, buf, sizeof(buf)), reason);
		return false;
	}
	if (strcmp(normal, name) != 0) {
		say_why(why, why_size, "%s \"%s\" is not in lower-case A-label form without a "
			"final dot (\"%s\")", field, shown(name, buf, sizeof(buf)), normal);
		return false;
	}
	if (strchr(name, '.') == NULL) {
		say_why(why, why_size, "%s \"%s\" has one label; a hosted domain has two or more",
			field, shown(name, buf, sizeof(buf)));
		return false;
	}
	return true;
}

/* A hosted domain's name: a host name short enough for _mta-sts.<name> to be one. */
static bool name_ok(const char *name, const char *field, char *why, size_t why_size)
{
	char buf[SHOWN_BUF];
	size_t len = strnlen(name, HOSTED_NAME_MAX + 1);

	if (len > HOSTED_DOMAIN_MAX && len <= HOSTED_NAME_MAX) {
		say_why(why, why_size, "%s \"%s\" is %zu octets; a hosted domain has at most %d, "
			"for _mta-sts.<domain> must stay within the %d octets of a host name",
			field, shown(name, buf, sizeof(buf)), len, HOSTED_DOMAIN_MAX,
			HOSTED_NAME_MAX);
		return false;
	}
	return host_name_ok(name, field, why, why_size);
}

static bool mx_ok(char *const *mx, size_t count, char *why, size_t why_size)
{
	char reason[160], buf[SHOWN_BUF];

	if (count == 0 || count > HOSTED_MX_MAX || mx == NULL) {
		say_why(why, why_size, "mx: %zu patterns; a hosted policy has 1 to %d", count,
			HOSTED_MX_MAX);
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		if (mx[i] == NULL) {
			say_why(why, why_size, "mx: pattern %zu is missing", i + 1);
			return false;
		}
		if (!mtasts_mx_pattern_check(mx[i], strlen(mx[i]), NULL, reason, sizeof(reason))) {
			say_why(why, why_size, "mx \"%s\": %s", shown(mx[i], buf, sizeof(buf)),
				reason);
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(mx[i], mx[j]) == 0) {
				say_why(why, why_size, "mx \"%s\" is given twice",
					shown(mx[i], buf, sizeof(buf)));
				return false;
			}
	}
	return true;
}

/*
 * The record `mtasts domains dns` prints for rua, read back by the core's
 * parser: it must parse, and as one rua tag (no "; tag=" smuggled in).
 */
bool domain_registry_rua_check(const char *rua, char *why, size_t why_size)
{
	char text[HOSTED_RUA_MAX + 32];
	size_t len = strnlen(rua, HOSTED_RUA_MAX + 1), extensions;
	struct mtasts_tlsrpt_record *record = NULL;
	struct mtasts_diags diags;
	const struct mtasts_diag *first;
	int rc;

	if (len == 0 || len > HOSTED_RUA_MAX) {
		say_why(why, why_size, "has %zu%s octets; a rua has 1 to %d", len,
			len > HOSTED_RUA_MAX ? " or more" : "", HOSTED_RUA_MAX);
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if (rua[i] < 0x20 || rua[i] > 0x7e) {
			say_why(why, why_size, "has an octet that is not printable ASCII at "
				"offset %zu", i);
			return false;
		}
	snprintf(text, sizeof(text), "v=TLSRPTv1; rua=%s", rua);
	struct mtasts_bytes bytes = { text, strlen(text) };
	mtasts_diags_init(&diags);
	rc = mtasts_tlsrpt_record_parse(&bytes, 1, &record, &diags);
	extensions = record != NULL ? record->extension_count : 0;
	mtasts_tlsrpt_record_free(record);
	if (rc == MTASTS_ERR_NOMEM) {
		say_why(why, why_size, "could not be checked: out of memory");
		return false;
	}
	if (rc != MTASTS_OK) {
		first = mtasts_diags_first_error(&diags);
		say_why(why, why_size, "does not make a TLSRPT record: %s",
			first != NULL ? first->message : mtasts_status_message(rc));
		return false;
	}
	if (extensions > 0 || strchr(rua, ';') != NULL) {
		say_why(why, why_size, "has a \";\"; it is the value of rua= alone");
		return false;
	}
	return true;
}

static bool rua_ok(const char *rua, char *why, size_t why_size)
{
	char buf[SHOWN_BUF], reason[256];

	if (domain_registry_rua_check(rua, reason, sizeof(reason)))
		return true;
	say_why(why, why_size, "tlsrpt_rua \"%s\" %s", shown(rua, buf, sizeof(buf)), reason);
	return false;
}

/* A time to write: after 1970, and small enough that adding an age to it never overflows. */
static bool time_ok(int64_t now, const char *what, char *why, size_t why_size)
{
	if (now <= 0 || now > HOSTED_TIME_MAX) {
		say_why(why, why_size, "the time of %s %" PRId64 " is not from 1970 to 9999", what,
			now);
		return false;
	}
	return true;
}

/* The values of a hosted policy: what add and update write, what reading back must find. */
static bool domain_ok(const struct hosted_domain *d, char *why, size_t why_size)
{
	if (memchr(d->name, '\0', sizeof(d->name)) == NULL) {
		say_why(why, why_size, "name is not terminated within %d octets", HOSTED_NAME_MAX);
		return false;
	}
	if (!name_ok(d->name, "name", why, why_size))
		return false;
	if (d->mode != MTASTS_MODE_TESTING && d->mode != MTASTS_MODE_ENFORCE) {
		const char *mode = mtasts_mode_name(d->mode);
		say_why(why, why_size, "mode %s%s%s: a hosted domain is testing or enforce",
			mode != NULL ? "\"" : "", mode != NULL ? mode : "out of range",
			mode != NULL ? "\"" : "");
		return false;
	}
	if (!mx_ok(d->mx, d->mx_count, why, why_size))
		return false;
	if (d->max_age < 1 || d->max_age > MTASTS_MAX_AGE_MAX) {
		say_why(why, why_size, "max_age %" PRIu32 ": it is 1 to %u seconds", d->max_age,
			MTASTS_MAX_AGE_MAX);
		return false;
	}
	return d->tlsrpt_rua == NULL || rua_ok(d->tlsrpt_rua, why, why_size);
}

void hosted_domain_release(struct hosted_domain *domain)
{
	if (domain == NULL)
		return;
	for (size_t i = 0; domain->mx != NULL && i < domain->mx_count; i++)
		free(domain->mx[i]);
	free(domain->mx);
	free(domain->tlsrpt_rua);
	domain->mx = NULL;
	domain->mx_count = 0;
	domain->tlsrpt_rua = NULL;
}

/* The patterns joined by newlines (none of them has one: mx_ok()); NULL without memory. */
static char *mx_joined(const struct hosted_domain *d)
{
	size_t len = 0;
	char *text;

	for (size_t i = 0; i < d->mx_count; i++)
		len += strlen(d->mx[i]) + 1;
	if ((text = malloc(len + 1)) == NULL)
		return NULL;
	len = 0;
	for (size_t i = 0; i < d->mx_count; i++) {
		size_t n = strlen(d->mx[i]);
		memcpy(text + len, d->mx[i], n);
		len += n;
		text[len++] = '\n';
	}
	text[len > 0 ? len - 1 : 0] = '\0';
	return text;
}

/* Reading rows back */

/* A decimal integer, all of text, in [min, max]. */
static bool integer_ok(const char *text, int64_t min, int64_t max, int64_t *ret_value)
{
	char *end;
	long long value;

	if (text == NULL || text[0] == '\0' || isspace((unsigned char)text[0]))
		return false;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max)
		return false;
	*ret_value = value;
	return true;
}

static void bad_column(const char *const *columns, const char *const *names, int column,
		       const char *expected, char *error, size_t error_size)
{
	char buf[SHOWN_BUF];

	if (columns[column] == NULL)
		say_why(error, error_size, "column %s is NULL; it holds %s", names[column], expected);
	else
		say_why(error, error_size, "column %s is \"%s\"; it holds %s", names[column],
			shown(columns[column], buf, sizeof(buf)), expected);
}

/* The patterns of a row, split at newlines; false without memory. */
static bool mx_split(const char *text, struct hosted_domain *d)
{
	size_t count = 1;

	for (const char *p = text; *p != '\0'; p++)
		count += *p == '\n';
	if (count > HOSTED_MX_MAX)
		count = HOSTED_MX_MAX + 1;	/* enough for mx_ok() to refuse */
	if ((d->mx = calloc(count, sizeof(*d->mx))) == NULL)
		return false;
	for (const char *p = text; d->mx_count < count; d->mx_count++) {
		size_t len = strcspn(p, "\n");
		if ((d->mx[d->mx_count] = strndup(p, len)) == NULL)
			return false;
		p += len + (p[len] == '\n');
	}
	return true;
}

static bool mode_parse(const char *text, enum mtasts_mode *ret_mode)
{
	if (text != NULL && strcmp(text, "testing") == 0)
		*ret_mode = MTASTS_MODE_TESTING;
	else if (text != NULL && strcmp(text, "enforce") == 0)
		*ret_mode = MTASTS_MODE_ENFORCE;
	else
		return false;
	return true;
}

/* Integer columns of a domain row: index, least and greatest value. */
static const struct {
	int column;
	int64_t min, max;
} domain_integers[] = {
	{ COL_MAX_AGE, 1, MTASTS_MAX_AGE_MAX },
	{ COL_CREATED, 0, HOSTED_TIME_MAX },
	{ COL_UPDATED, 0, HOSTED_TIME_MAX },
	{ COL_REMOVED_AT, 0, HOSTED_TIME_MAX },
	{ COL_REMOVED_MAX_AGE, 0, UINT32_MAX },
	{ COL_SERVED_UNTIL, 0, HOSTED_TIME_MAX + MTASTS_MAX_AGE_MAX },
};

/*
 * One row into *d: 0; -1 with a sentence naming the column in error (d
 * released); -2 without memory.
 */
static int domain_decode(const char *const *columns, struct hosted_domain *d, char *error,
			 size_t error_size)
{
	char reason[SENTENCE_MAX];
	int64_t values[DOMAIN_COLUMNS] = { 0 };

	memset(d, 0, sizeof(*d));
	if (columns[COL_NAME] == NULL || !name_ok(columns[COL_NAME], "name", reason, sizeof(reason))) {
		if (columns[COL_NAME] == NULL)
			say_why(error, error_size, "column name is NULL");
		else
			say_why(error, error_size, "column %s", reason);
		return -1;
	}
	snprintf(d->name, sizeof(d->name), "%s", columns[COL_NAME]);
	if (!mode_parse(columns[COL_MODE], &d->mode)) {
		bad_column(columns, domain_column_names, COL_MODE, "testing or enforce", error,
			   error_size);
		return -1;
	}
	for (size_t i = 0; i < sizeof(domain_integers) / sizeof(domain_integers[0]); i++) {
		int column = domain_integers[i].column;
		char expected[96];

		if (!integer_ok(columns[column], domain_integers[i].min, domain_integers[i].max,
				&values[column])) {
			snprintf(expected, sizeof(expected), "an integer from %" PRId64 " to %" PRId64,
				 domain_integers[i].min, domain_integers[i].max);
			bad_column(columns, domain_column_names, column, expected, error, error_size);
			return -1;
		}
	}
	d->max_age = (uint32_t)values[COL_MAX_AGE];
	d->created = values[COL_CREATED];
	d->updated = values[COL_UPDATED];
	d->removed_at = values[COL_REMOVED_AT];
	d->removed_max_age = (uint32_t)values[COL_REMOVED_MAX_AGE];
	if (d->removed_at != 0 && d->removed_max_age == 0) {
		say_why(error, error_size, "column removed_max_age is 0 while removed_at is set; "
			"it holds the seconds the removal lasts");
		return -1;
	}
	if (columns[COL_MX] == NULL) {
		bad_column(columns, domain_column_names, COL_MX, "mx patterns", error, error_size);
		return -1;
	}
	if (!mx_split(columns[COL_MX], d) ||
	    (columns[COL_RUA] != NULL && (d->tlsrpt_rua = strdup(columns[COL_RUA])) == NULL)) {
		hosted_domain_release(d);
		return -2;
	}
	if (!domain_ok(d, reason, sizeof(reason))) {
		say_why(error, error_size, "column %s", reason);
		hosted_domain_release(d);
		return -1;
	}
	return 0;
}

/* Running statements */

static int unavailable(struct domain_registry *r, char *why, size_t why_size)
{
	say_why(why, why_size, "%s", r->error[0] != '\0' ? r->error : "the store failed");
	return REGISTRY_UNAVAILABLE;
}

static int query(struct domain_registry *r, const char *what, const char *sql,
		 const struct registry_value *params, size_t nparams, registry_row_fn *fn,
		 void *arg, uint64_t *ret_changes)
{
	r->error[0] = '\0';
	return r->ops->query(r, what, sql, params, nparams, fn, arg, ret_changes);
}

static int write_begin(struct domain_registry *r, char *why, size_t why_size)
{
	if (query(r, "starting a write", r->ops->begin_sql, NULL, 0, NULL, NULL, NULL) != 0)
		return unavailable(r, why, why_size);
	return 0;
}

/*
 * End the write begun: rc 0 commits it, with the generation moved on when
 * changed; any other rc rolls it back and is returned.
 */
static int write_end(struct domain_registry *r, int rc, bool changed, char *why, size_t why_size)
{
	uint64_t moved = 0;

	if (rc == 0 && changed &&
	    query(r, "moving the generation on",
		  "UPDATE meta SET value = value + 1 WHERE name = 'generation'", NULL, 0, NULL,
		  NULL, &moved) != 0)
		rc = unavailable(r, why, why_size);
	else if (rc == 0 && changed && moved != 1) {
		/* other servers would never see this write: refuse it */
		snprintf(r->error, sizeof(r->error), "the registry's generation row is missing "
			 "(table meta), so no write can be announced; the registry is damaged");
		rc = unavailable(r, why, why_size);
	}
	if (rc == 0 && query(r, "committing", "COMMIT", NULL, 0, NULL, NULL, NULL) != 0)
		rc = unavailable(r, why, why_size);
	if (rc != 0) {
		char kept[REGISTRY_ERROR_MAX];
		snprintf(kept, sizeof(kept), "%s", r->error);
		query(r, "rolling back", "ROLLBACK", NULL, 0, NULL, NULL, NULL);
		snprintf(r->error, sizeof(r->error), "%s", kept);
	}
	return rc;
}

#define TEXT(s) { REGISTRY_TEXT, (s), 0 }
#define INT(n) { REGISTRY_INT, NULL, (int64_t)(n) }
#define TEXT_OR_NULL(s) { (s) != NULL ? REGISTRY_TEXT : REGISTRY_NULL, (s), 0 }

/* The interface */

int domain_registry_open(const char *location, struct domain_registry **ret_registry,
			 char *why, size_t why_size)
{
	if (location == NULL || location[0] == '\0') {
		say_why(why, why_size, "the registry's location is empty");
		return REGISTRY_INVALID;
	}
	if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
		return domain_registry_postgres_open(location, ret_registry, why, why_size);
	return domain_registry_sqlite_open(location, ret_registry, why, why_size);
}

void domain_registry_close(struct domain_registry *registry)
{
	if (registry != NULL)
		registry->ops->close(registry);
}

/* add and update: the checked values, with the patterns joined. */
static int write_domain(struct domain_registry *r, const struct hosted_domain *d, int64_t now,
			bool adding, char *why, size_t why_size)
{
	uint64_t changes = 0;
	char *mx;
	int rc;

	if (!domain_ok(d, why, why_size) || !time_ok(now, adding ? "adding" : "updating", why,
						     why_size))
		return REGISTRY_INVALID;
	if ((mx = mx_joined(d)) == NULL) {
		say_why(why, why_size, "out of memory");
		return REGISTRY_UNAVAILABLE;
	}
	const struct registry_value params[] = {
		TEXT(d->name), TEXT(mtasts_mode_name(d->mode)), TEXT(mx), INT(d->max_age),
		TEXT_OR_NULL(d->tlsrpt_rua), INT(now),
	};
	if ((rc = write_begin(r, why, why_size)) != 0)
		goto out;
	if (adding)
		rc = query(r, "adding a domain",
			   "INSERT INTO domains (name, mode, mx, max_age, tlsrpt_rua, created, "
			   "updated, removed_at, removed_max_age, served_until) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0, 0, ?6 + ?4) "
			   "ON CONFLICT (name) DO NOTHING",
			   params, 6, NULL, NULL, &changes);
	else	/* served_until: the greatest of itself, the policy replaced's and the new one's */
		rc = query(r, "updating a domain",
			   "UPDATE domains SET mode = ?2, mx = ?3, max_age = ?4, tlsrpt_rua = ?5, "
			   "updated = ?6, served_until = CASE "
			   "WHEN served_until >= ?6 + max_age AND served_until >= ?6 + ?4 "
			   "THEN served_until WHEN max_age >= ?4 THEN ?6 + max_age ELSE ?6 + ?4 END "
			   "WHERE name = ?1 AND removed_at = 0",
			   params, 6, NULL, NULL, &changes);
	if (rc != 0)
		rc = unavailable(r, why, why_size);
	else if (changes == 0) {
		char buf[SHOWN_BUF];
		rc = adding ? REGISTRY_EXISTS : REGISTRY_NOT_FOUND;
		say_why(why, why_size, adding ? "%s is in the registry already"
					      : "%s is not hosted (or is being removed)",
			shown(d->name, buf, sizeof(buf)));
	}
	rc = write_end(r, rc, true, why, why_size);
out:
	free(mx);
	return rc;
}

int domain_registry_add(struct domain_registry *registry, const struct hosted_domain *domain,
			int64_t now, char *why, size_t why_size)
{
	return write_domain(registry, domain, now, true, why, why_size);
}

int domain_registry_update(struct domain_registry *registry, const struct hosted_domain *domain,
			   int64_t now, char *why, size_t why_size)
{
	return write_domain(registry, domain, now, false, why, why_size);
}

struct get_state {
	struct hosted_domain *domain;
	char error[SENTENCE_MAX];
	bool found;
	int decoded;			/* domain_decode()'s answer */
};

static int get_row(void *arg, const char *const *columns, size_t count)
{
	struct get_state *g = arg;

	if (count < DOMAIN_COLUMNS)
		return REGISTRY_UNAVAILABLE;
	g->found = true;
	g->decoded = domain_decode(columns, g->domain, g->error, sizeof(g->error));
	return 0;
}

int domain_registry_get(struct domain_registry *registry, const char *name,
			struct hosted_domain *ret_domain, char *why, size_t why_size)
{
	struct hosted_domain domain;
	struct get_state g = { .domain = &domain };
	const struct registry_value params[] = { TEXT(name) };
	char buf[SHOWN_BUF];

	if (!name_ok(name, "name", why, why_size))
		return REGISTRY_INVALID;
	if (query(registry, "reading a domain", DOMAIN_SELECT " WHERE name = ?1", params, 1,
		  get_row, &g, NULL) != 0) {
		if (g.found && g.decoded == 0)
			hosted_domain_release(&domain);
		return unavailable(registry, why, why_size);
	}
	if (!g.found) {
		say_why(why, why_size, "%s is not in the registry", shown(name, buf, sizeof(buf)));
		return REGISTRY_NOT_FOUND;
	}
	if (g.decoded == -2) {
		say_why(why, why_size, "out of memory");
		return REGISTRY_UNAVAILABLE;
	}
	if (g.decoded != 0) {
		say_why(why, why_size, "the registry's row of %s cannot be read: %s",
			shown(name, buf, sizeof(buf)), g.error);
		return REGISTRY_INVALID;
	}
	*ret_domain = domain;
	return 0;
}

int domain_registry_remove(struct domain_registry *registry, const char *name, int64_t now,
			   char *why, size_t why_size)
{
	const struct registry_value params[] = { TEXT(name), INT(now) };
	uint64_t changes = 0;
	char buf[SHOWN_BUF];
	int rc;

	if (!name_ok(name, "name", why, why_size))
		return REGISTRY_INVALID;
	if (!time_ok(now, "removal", why, why_size))
		return REGISTRY_INVALID;
	if ((rc = write_begin(registry, why, why_size)) != 0)
		return rc;
	/*
	 * The removal lasts until the policies served so far may have expired
	 * (served_until, with the current one's from now), in seconds from now;
	 * beyond UINT32_MAX (clocks far apart) purge waits for served_until.
	 */
	if (query(registry, "removing a domain",
		  "UPDATE domains SET removed_at = ?2, "
		  "served_until = CASE WHEN served_until > ?2 + max_age THEN served_until "
		  "ELSE ?2 + max_age END, "
		  "removed_max_age = CASE WHEN served_until - ?2 > 4294967295 THEN 4294967295 "
		  "WHEN served_until - ?2 > max_age THEN served_until - ?2 ELSE max_age END "
		  "WHERE name = ?1 AND removed_at = 0", params, 2, NULL, NULL, &changes) != 0)
		rc = unavailable(registry, why, why_size);
	else if (changes == 0) {
		say_why(why, why_size, "%s is not hosted (or is being removed already)",
			shown(name, buf, sizeof(buf)));
		rc = REGISTRY_NOT_FOUND;
	}
	return write_end(registry, rc, true, why, why_size);
}

/*
 * The rows whose removal is over; %s is the backend's test that their
 * removal columns hold integers.  No stored value is added to: a corrupt
 * one must not overflow and fail the purge of all the others (the guard
 * keeps ?1 - removed_max_age in range, ?1 being checked by time_ok()).
 */
#define PURGEABLE \
	"%s AND removed_at > 0 AND CASE WHEN removed_max_age BETWEEN 0 AND 4294967295 " \
	"THEN removed_at <= ?1 - removed_max_age AND served_until <= ?1 ELSE 0 = 1 END"

int domain_registry_purge(struct domain_registry *registry, int64_t now, size_t *ret_count,
			  char *why, size_t why_size)
{
	const struct registry_value params[] = { INT(now) };
	char certificates_sql[640], domains_sql[512];
	uint64_t changes = 0;
	int rc;

	if (!time_ok(now, "purging", why, why_size))
		return REGISTRY_INVALID;
	snprintf(certificates_sql, sizeof(certificates_sql), "DELETE FROM certificates WHERE name "
		 "IN (SELECT 'mta-sts.' || name FROM domains WHERE " PURGEABLE ")",
		 registry->ops->integers_sql);
	snprintf(domains_sql, sizeof(domains_sql), "DELETE FROM domains WHERE " PURGEABLE,
		 registry->ops->integers_sql);
	if ((rc = write_begin(registry, why, why_size)) != 0)
		return rc;
	if (query(registry, "purging certificates", certificates_sql, params, 1, NULL, NULL,
		  NULL) != 0 ||
	    query(registry, "purging domains", domains_sql, params, 1, NULL, NULL, &changes) != 0)
		rc = unavailable(registry, why, why_size);
	if ((rc = write_end(registry, rc, changes > 0, why, why_size)) == 0)
		*ret_count = (size_t)changes;
	return rc;
}

struct each_state {
	domain_registry_each_fn *fn;
	void *arg;
	int result;			/* fn's value that stopped the walk */
	bool nomem;
};

static int each_row(void *arg, const char *const *columns, size_t count)
{
	struct each_state *e = arg;
	struct hosted_domain domain;
	char error[SENTENCE_MAX];
	int rc;

	if (count < DOMAIN_COLUMNS)
		return REGISTRY_UNAVAILABLE;
	switch (domain_decode(columns, &domain, error, sizeof(error))) {
	case 0:
		rc = e->fn(e->arg, &domain, domain.name, NULL);
		hosted_domain_release(&domain);
		break;
	case -1:
		rc = e->fn(e->arg, NULL, columns[COL_NAME] != NULL ? columns[COL_NAME] : "", error);
		break;
	default:
		e->nomem = true;
		return REGISTRY_UNAVAILABLE;
	}
	if (rc != 0) {
		e->result = rc;
		return 1;
	}
	return 0;
}

int domain_registry_each(struct domain_registry *registry, domain_registry_each_fn *fn,
			 void *arg, char *why, size_t why_size)
{
	struct each_state e = { .fn = fn, .arg = arg };
	int rc = query(registry, "reading the domains", DOMAIN_SELECT " ORDER BY name", NULL, 0,
		       each_row, &e, NULL);

	if (rc == 1)
		return e.result;
	if (e.nomem) {
		say_why(why, why_size, "out of memory");
		return REGISTRY_UNAVAILABLE;
	}
	return rc != 0 ? unavailable(registry, why, why_size) : 0;
}

struct generation_state {
	uint64_t value;
	bool found;
};

static int generation_row(void *arg, const char *const *columns, size_t count)
{
	struct generation_state *g = arg;
	int64_t value;

	if (count < 1 || !integer_ok(columns[0], INT64_MIN, INT64_MAX, &value))
		return REGISTRY_INVALID;
	g->value = (uint64_t)value;
	g->found = true;
	return 0;
}

int domain_registry_generation(struct domain_registry *registry, uint64_t *ret_generation,
			       char *why, size_t why_size)
{
	struct generation_state g = { 0 };
	int rc = query(registry, "reading the generation",
		       "SELECT value FROM meta WHERE name = 'generation'", NULL, 0, generation_row,
		       &g, NULL);

	if (rc == REGISTRY_INVALID) {
		say_why(why, why_size, "the registry's generation is not an integer");
		return REGISTRY_INVALID;
	}
	if (rc != 0)
		return unavailable(registry, why, why_size);
	if (!g.found) {
		/* a number that never moves would hide every change from the servers */
		say_why(why, why_size, "the registry's generation row is missing (table meta); "
			"the registry is damaged");
		return REGISTRY_INVALID;
	}
	*ret_generation = g.value;
	return 0;
}

/*
 * last_error as it is stored: printable ASCII as it is, any other octet as
 * \xHH, cut before an escape that would not fit in HOSTED_ERROR_MAX.
 */
static void error_stored(const char *error, char out[HOSTED_ERROR_MAX])
{
	size_t used = 0;

	for (const unsigned char *p = (const unsigned char *)error; *p != '\0'; p++) {
		bool plain = *p >= 0x20 && *p < 0x7f;
		size_t need = plain ? 1 : 4;

		if (used + need > HOSTED_ERROR_MAX - 1)
			break;
		if (plain)
			out[used] = (char)*p;
		else
			snprintf(out + used, HOSTED_ERROR_MAX - used, "\\x%02x", *p);
		used += need;
	}
	out[used] = '\0';
}

/* What error_stored() makes: printable ASCII, shorter than HOSTED_ERROR_MAX. */
static bool error_readable(const char *error)
{
	size_t len = strnlen(error, HOSTED_ERROR_MAX);

	if (len >= HOSTED_ERROR_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (error[i] < 0x20 || error[i] > 0x7e)
			return false;
	return true;
}

int domain_registry_cert_put(struct domain_registry *registry,
			     const struct hosted_cert_status *status, bool announce, char *why,
			     size_t why_size)
{
	int rc;

	if (memchr(status->name, '\0', sizeof(status->name)) == NULL) {
		say_why(why, why_size, "certificate name is not terminated within %d octets",
			HOSTED_NAME_MAX);
		return REGISTRY_INVALID;
	}
	if (!host_name_ok(status->name, "certificate name", why, why_size))
		return REGISTRY_INVALID;
	if (memchr(status->last_error, '\0', sizeof(status->last_error)) == NULL) {
		say_why(why, why_size, "last_error is not terminated within %d octets",
			HOSTED_ERROR_MAX);
		return REGISTRY_INVALID;
	}
	char error[HOSTED_ERROR_MAX];
	error_stored(status->last_error, error);
	const struct registry_value params[] = {
		TEXT(status->name), INT(status->not_before), INT(status->not_after),
		INT(status->issued_at), INT(status->last_attempt), INT(status->next_attempt),
		INT(status->failures), TEXT(error),
	};
	if ((rc = write_begin(registry, why, why_size)) != 0)
		return rc;
	if (query(registry, "writing a certificate's status",
		  "INSERT INTO certificates (name, not_before, not_after, issued_at, last_attempt, "
		  "next_attempt, failures, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
		  "ON CONFLICT (name) DO UPDATE SET not_before = excluded.not_before, "
		  "not_after = excluded.not_after, issued_at = excluded.issued_at, "
		  "last_attempt = excluded.last_attempt, next_attempt = excluded.next_attempt, "
		  "failures = excluded.failures, last_error = excluded.last_error",
		  params, 8, NULL, NULL, NULL) != 0)
		rc = unavailable(registry, why, why_size);
	return write_end(registry, rc, announce, why, why_size);
}

struct cert_state {
	struct hosted_cert_status *status;
	char error[SENTENCE_MAX];
	bool found, bad;
};

static int cert_row(void *arg, const char *const *columns, size_t count)
{
	struct cert_state *c = arg;
	struct hosted_cert_status *s = c->status;
	int64_t values[CERT_COLUMNS] = { 0 };

	if (count < CERT_COLUMNS)
		return REGISTRY_UNAVAILABLE;
	c->found = true;
	for (int i = CERT_NOT_BEFORE; i <= CERT_FAILURES; i++)
		if (!integer_ok(columns[i], i == CERT_FAILURES ? 0 : INT64_MIN,
				i == CERT_FAILURES ? UINT32_MAX : INT64_MAX, &values[i])) {
			bad_column(columns, cert_column_names, i, "an integer", c->error,
				   sizeof(c->error));
			c->bad = true;
			return 0;
		}
	if (columns[CERT_LAST_ERROR] == NULL || !error_readable(columns[CERT_LAST_ERROR])) {
		char expected[64];
		snprintf(expected, sizeof(expected), "printable ASCII, under %d octets",
			 HOSTED_ERROR_MAX);
		bad_column(columns, cert_column_names, CERT_LAST_ERROR, expected, c->error,
			   sizeof(c->error));
		c->bad = true;
		return 0;
	}
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", columns[CERT_NAME]);
	s->not_before = values[CERT_NOT_BEFORE];
	s->not_after = values[CERT_NOT_AFTER];
	s->issued_at = values[CERT_ISSUED_AT];
	s->last_attempt = values[CERT_LAST_ATTEMPT];
	s->next_attempt = values[CERT_NEXT_ATTEMPT];
	s->failures = (unsigned)values[CERT_FAILURES];
	snprintf(s->last_error, sizeof(s->last_error), "%s", columns[CERT_LAST_ERROR]);
	return 0;
}

int domain_registry_cert_get(struct domain_registry *registry, const char *name,
			     struct hosted_cert_status *ret_status, char *why, size_t why_size)
{
	struct hosted_cert_status status;
	struct cert_state c = { .status = &status };
	const struct registry_value params[] = { TEXT(name) };
	char buf[SHOWN_BUF];

	if (!host_name_ok(name, "certificate name", why, why_size))
		return REGISTRY_INVALID;
	if (query(registry, "reading a certificate's status",
		  "SELECT name, not_before, not_after, issued_at, last_attempt, next_attempt, "
		  "failures, last_error FROM certificates WHERE name = ?1", params, 1, cert_row, &c,
		  NULL) != 0)
		return unavailable(registry, why, why_size);
	if (!c.found) {
		say_why(why, why_size, "no certificate status of %s is kept",
			shown(name, buf, sizeof(buf)));
		return REGISTRY_NOT_FOUND;
	}
	if (c.bad) {
		say_why(why, why_size, "the registry's certificate row of %s cannot be read: %s",
			shown(name, buf, sizeof(buf)), c.error);
		return REGISTRY_INVALID;
	}
	*ret_status = status;
	return 0;
}
