/*
 * policy_cache_redis.c - the policy cache in a Redis database: one string
 * key an entry, each with a TTL, read back in bounded pieces and checked;
 * a fleet lock per domain with SET NX PX; synchronous hiredis calls under
 * timeouts, and a circuit breaker so that a dead server costs one connect
 * a second, not one a lookup.
 *
 * Keys, under the prefix (default "mtasts:"):
 *	<prefix>policy:<domain>	"mtasts1 <kind> <id or -> <fetched_at> <expires_at>\n<text>"
 *	<prefix>lock:<domain>	the token of the cache that holds the claim
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <hiredis/hiredis.h>

#include "policy_cache.h"
#include "redis_url.h"
#include "util.h"

#define DEFAULT_PREFIX "mtasts:"
#define DEFAULT_TIMEOUT 5.0		/* seconds, as the peer's defaults */
#define TIMEOUT_MAX 3600.0
#define RECONNECT_INTERVAL_MS 1000	/* the breaker stays open this long */
#define SCAN_BATCH "500"		/* keys asked for by one SCAN */
#define SCAN_KEYS_MAX (1u << 24)	/* keys a count, iterate or purge visits */
#define HEADER_MAX 128			/* the value's first line, with its \n */
#define VALUE_MAX (HEADER_MAX + MTASTS_POLICY_BODY_MAX)
#define VALUE_MAGIC "mtasts1"

/* The value of KEYS[1], at most ARGV[1] + 1 octets of it; nil when missing. */
static const char read_script[] =
	"if redis.call('EXISTS', KEYS[1]) == 0 then return false end "
	"return redis.call('GETRANGE', KEYS[1], 0, ARGV[1])";

/* Delete KEYS[1] when its entry expired at ARGV[1]; a value not ours stays. */
static const char purge_script[] =
	"local v = redis.call('GETRANGE', KEYS[1], 0, 127) "
	"local e = string.match(v, '^" VALUE_MAGIC " %S+ %S+ %d+ (%d+)\\n') "
	"if e and tonumber(e) <= tonumber(ARGV[1]) then "
	"return redis.call('DEL', KEYS[1]) end return 0";

/* Delete the lock KEYS[1] when ARGV[1] holds it. */
static const char unclaim_script[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('DEL', KEYS[1]) end return 0";

struct redis_cache {
	struct policy_cache base;
	redisContext *ctx;		/* NULL while not connected */
	bool answered;			/* ctx has answered a command */
	long long retry_at;		/* no connect before (monotonic ms) */
	struct redis_target target;
	char where[REDIS_URL_HOST_MAX + 32];	/* the server, for messages */
	struct timeval command_timeout;
	struct timeval connect_timeout;
	char prefix[POLICY_CACHE_REDIS_PREFIX_MAX + 1];
	char pattern[2 * POLICY_CACHE_REDIS_PREFIX_MAX + 16];	/* SCAN MATCH */
	char token[33];			/* this cache's name in the locks */
};

/* The connection */

/*
 * hiredis writes with write(), and a server gone away would raise SIGPIPE
 * and end the program: the library blocks it in the calling thread around
 * its writes and takes back a signal they raised, leaving the program's
 * own disposition alone.
 */
struct pipe_guard {
	sigset_t old_mask;
	bool was_pending;
};

static void pipe_guard_begin(struct pipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &g->old_mask);
}

static void pipe_guard_end(struct pipe_guard *g)
{
	sigset_t set, pending;
	const struct timespec now = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &now) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
}

/* Record why the store failed; returns POLICY_CACHE_ERR_STORE. */
static int store_error(struct redis_cache *r, const char *what, const char *why)
{
	snprintf(r->base.error, sizeof(r->base.error), "Redis at %.120s: %.20s: %.100s",
		 r->where, what, why);
	return POLICY_CACHE_ERR_STORE;
}

static void disconnect(struct redis_cache *r)
{
	if (r->ctx != NULL)
		redisFree(r->ctx);
	r->ctx = NULL;
	r->answered = false;
}

/* The connection failed: drop it, and make none again for a while. */
static int broken(struct redis_cache *r, const char *what, const char *why)
{
	int rc = store_error(r, what, why);

	disconnect(r);
	r->retry_at = monotonic_ms() + RECONNECT_INTERVAL_MS;
	return rc;
}

/* One command on a fresh connection (AUTH, SELECT); its reply must be OK. */
static int setup_command(struct redis_cache *r, int argc, const char **argv,
			 const char *what)
{
	redisReply *reply = redisCommandArgv(r->ctx, argc, argv, NULL);
	int rc = MTASTS_OK;

	if (reply == NULL)
		return broken(r, what, r->ctx->errstr);
	if (reply->type == REDIS_REPLY_ERROR)
		rc = broken(r, what, reply->str);
	freeReplyObject(reply);
	return rc;
}

/* Connected, or POLICY_CACHE_ERR_STORE at once while the breaker is open. */
static int connection(struct redis_cache *r)
{
	const struct redis_target *t = &r->target;
	long long now = monotonic_ms();
	char db[16];

	if (r->ctx != NULL)
		return MTASTS_OK;
	if (now < r->retry_at) {
		/* base.error still says why the last try failed */
		return POLICY_CACHE_ERR_STORE;
	}
	r->ctx = t->unix_socket ? redisConnectUnixWithTimeout(t->host, r->connect_timeout)
				: redisConnectWithTimeout(t->host, t->port, r->connect_timeout);
	if (r->ctx == NULL)
		return MTASTS_ERR_NOMEM;
	if (r->ctx->err != 0)
		return broken(r, "connecting", r->ctx->errstr);
	if (redisSetTimeout(r->ctx, r->command_timeout) != REDIS_OK)
		return broken(r, "setting the timeout", r->ctx->errstr);
	if (t->password[0] != '\0') {
		const char *with_user[] = { "AUTH", t->user, t->password };
		const char *alone[] = { "AUTH", t->password };
		int rc = t->user[0] != '\0' ? setup_command(r, 3, with_user, "AUTH")
					    : setup_command(r, 2, alone, "AUTH");
		if (rc != MTASTS_OK)
			return rc;
	}
	if (t->db != 0) {
		snprintf(db, sizeof(db), "%u", t->db);
		return setup_command(r, 2, (const char *[]){ "SELECT", db }, "SELECT");
	}
	return MTASTS_OK;
}

/*
 * Whether the connection failed because the server closed it, not because
 * it stopped answering: only then is a new one worth trying at once.
 */
static bool closed_by_server(const redisContext *ctx, int saved_errno)
{
	return ctx->err == REDIS_ERR_EOF ||
	       (ctx->err == REDIS_ERR_IO && (saved_errno == ECONNRESET || saved_errno == EPIPE));
}

/*
 * The reply to one command, or POLICY_CACHE_ERR_STORE.  A connection that
 * has worked and then is closed by the server (an idle client's timeout, a
 * restart) is made again at once for one more try; a connection that fails
 * to come up, or a server that does not answer in time, opens the breaker.  An error reply is a store error,
 * except WRONGTYPE: a value that is not ours (MTASTS_ERR_INVALID).
 */
static int command_unguarded(struct redis_cache *r, int argc, const char **argv,
			     const size_t *lens, redisReply **ret_reply)
{
	for (int tries = 0;; tries++) {
		int rc = connection(r);

		if (rc != MTASTS_OK)
			return rc;
		bool answered = r->answered;
		errno = 0;
		redisReply *reply = redisCommandArgv(r->ctx, argc, argv, lens);

		if (reply == NULL) {
			int saved_errno = errno;

			if (answered && tries == 0 && closed_by_server(r->ctx, saved_errno)) {
				disconnect(r);
				continue;
			}
			return broken(r, argv[0], r->ctx->err == REDIS_ERR_IO &&
				      (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)
				      ? "no answer within the socket timeout" : r->ctx->errstr);
		}
		r->answered = true;
		if (reply->type == REDIS_REPLY_ERROR) {
			rc = strstr(reply->str, "WRONGTYPE") != NULL ? MTASTS_ERR_INVALID : store_error(r, argv[0], reply->str);
			freeReplyObject(reply);
			return rc;
		}
		*ret_reply = reply;
		return MTASTS_OK;
	}
}

static int command(struct redis_cache *r, int argc, const char **argv,
		   const size_t *lens, redisReply **ret_reply)
{
	struct pipe_guard guard;
	int rc;

	pipe_guard_begin(&guard);
	rc = command_unguarded(r, argc, argv, lens, ret_reply);
	pipe_guard_end(&guard);
	return rc;
}

/* Values */

/* A decimal time of 1 to 19 digits. */
static bool parse_time(const char *s, size_t len, time_t *ret)
{
	long long v = 0;

	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');	/* 19 digits fit in 63 bits */
	}
	*ret = (time_t)v;
	return true;
}

/* Split the header "magic kind id fetched expires" into its five fields. */
static bool header_fields(const char *s, size_t len, const char *field[5],
			  size_t field_len[5])
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		if (n == 5 || i == start)
			return false;
		field[n] = s + start;
		field_len[n++] = i - start;
		start = i + 1;
	}
	return n == 5;
}

static bool field_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* The entry in value[0..len), for domain, checked as put() checks it. */
static int value_entry(const char *domain, const char *value, size_t len,
		       struct policy_cache_entry **ret_entry)
{
	const char *newline = memchr(value, '\n', len < HEADER_MAX ? len : HEADER_MAX);
	const char *field[5];
	size_t field_len[5], text_len;
	struct policy_cache_entry *entry;
	int kind = -1;

	if (len > VALUE_MAX || newline == NULL || strlen(domain) >= sizeof(entry->domain) ||
	    !header_fields(value, (size_t)(newline - value), field, field_len) ||
	    !field_is(field[0], field_len[0], VALUE_MAGIC) ||
	    field_len[2] >= sizeof(entry->id))
		return MTASTS_ERR_INVALID;
	for (int k = POLICY_CACHE_POLICY; k <= POLICY_CACHE_TEMP_FAIL; k++)
		if (field_is(field[1], field_len[1], policy_cache_kind_name(k)))
			kind = k;
	if (kind < 0)
		return MTASTS_ERR_INVALID;
	if ((entry = calloc(1, sizeof(*entry))) == NULL)
		return MTASTS_ERR_NOMEM;
	entry->kind = (enum policy_cache_kind)kind;
	strcpy(entry->domain, domain);
	if (!field_is(field[2], field_len[2], "-"))
		memcpy(entry->id, field[2], field_len[2]);
	text_len = len - (size_t)(newline + 1 - value);
	if (text_len > 0) {
		if ((entry->policy_text = malloc(text_len + 1)) == NULL) {
			policy_cache_entry_free(entry);
			return MTASTS_ERR_NOMEM;
		}
		memcpy(entry->policy_text, newline + 1, text_len);
		entry->policy_text[text_len] = '\0';
		entry->policy_len = text_len;
	}
	if (!parse_time(field[3], field_len[3], &entry->fetched_at) ||
	    !parse_time(field[4], field_len[4], &entry->expires_at) ||
	    policy_cache_entry_check(entry) != MTASTS_OK) {
		policy_cache_entry_free(entry);
		return MTASTS_ERR_INVALID;
	}
	*ret_entry = entry;
	return MTASTS_OK;
}

/* The reply of read_script: 0 when missing, 1 and the entry, or an error. */
static int reply_entry(struct redis_cache *r, const char *domain, redisReply *reply,
		       struct policy_cache_entry **ret_entry)
{
	if (reply->type == REDIS_REPLY_NIL)
		return 0;
	if (reply->type == REDIS_REPLY_ERROR)
		return strstr(reply->str, "WRONGTYPE") != NULL
		       ? MTASTS_ERR_INVALID : store_error(r, "reading", reply->str);
	if (reply->type != REDIS_REPLY_STRING)
		return MTASTS_ERR_INVALID;
	int rc = value_entry(domain, reply->str, reply->len, ret_entry);
	return rc == MTASTS_OK ? 1 : rc;
}

static void key_name(const struct redis_cache *r, const char *kind, const char *domain,
		     char *key, size_t key_size)
{
	snprintf(key, key_size, "%s%s:%s", r->prefix, kind, domain);
}

#define KEY_SIZE (POLICY_CACHE_REDIS_PREFIX_MAX + 8 + POLICY_CACHE_DOMAIN_MAX + 1)
/* GETRANGE's last index: one octet past the limit shows a value too long. */
#define VALUE_MAX_TEXT "65664"
_Static_assert(VALUE_MAX == 65664, "VALUE_MAX_TEXT is VALUE_MAX");

/* The operations */

static int redis_get(struct policy_cache *cache, const char *domain, time_t now,
		     struct policy_cache_entry **ret_entry)
{
	struct redis_cache *r = (struct redis_cache *)cache;
	struct policy_cache_entry *entry = NULL;
	char key[KEY_SIZE];
	redisReply *reply = NULL;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	key_name(r, "policy", domain, key, sizeof(key));
	const char *argv[] = { "EVAL", read_script, "1", key, VALUE_MAX_TEXT };
	if ((rc = command(r, 5, argv, NULL, &reply)) != MTASTS_OK)
		return rc;
	rc = reply_entry(r, domain, reply, &entry);
	freeReplyObject(reply);
	if (rc == 1 && now >= entry->expires_at) {
		entry = policy_cache_entry_free(entry);
		rc = 0;
	}
	if (rc == 1)
		*ret_entry = entry;
	return rc;
}

/*
 * The key lives as long as the entry did when it was found (expires_at -
 * fetched_at, at least a second): no clock is read here, and since an
 * entry is put after it was found the key outlives expires_at a little,
 * never the reverse; get() judges expiry by the time it is given.
 */
static int redis_put(struct policy_cache *cache, const struct policy_cache_entry *entry)
{
	struct redis_cache *r = (struct redis_cache *)cache;
	char key[KEY_SIZE], header[HEADER_MAX], ttl[24];
	char *value;
	redisReply *reply = NULL;
	int rc, header_len;

	if ((rc = policy_cache_entry_check(entry)) != MTASTS_OK)
		return rc;
	header_len = snprintf(header, sizeof(header), VALUE_MAGIC " %s %s %lld %lld\n",
			      policy_cache_kind_name(entry->kind),
			      entry->id[0] != '\0' ? entry->id : "-",
			      (long long)entry->fetched_at, (long long)entry->expires_at);
	if (header_len < 0 || (size_t)header_len >= sizeof(header))
		return MTASTS_ERR_TOO_LARGE;	/* cannot happen: the check bounds each field */
	if ((value = malloc((size_t)header_len + entry->policy_len)) == NULL)
		return MTASTS_ERR_NOMEM;
	memcpy(value, header, (size_t)header_len);
	if (entry->policy_len > 0)
		memcpy(value + header_len, entry->policy_text, entry->policy_len);
	time_t lifetime = entry->expires_at - entry->fetched_at;
	snprintf(ttl, sizeof(ttl), "%lld", (long long)(lifetime > 0 ? lifetime : 1));
	key_name(r, "policy", entry->domain, key, sizeof(key));
	const char *argv[] = { "SET", key, value, "EX", ttl };
	size_t lens[] = { 3, strlen(key), (size_t)header_len + entry->policy_len, 2,
			  strlen(ttl) };
	rc = command(r, 5, argv, lens, &reply);
	free(value);
	if (rc != MTASTS_OK)
		return rc;
	if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "OK") != 0)
		rc = store_error(r, "SET", "an unexpected reply");
	freeReplyObject(reply);
	return rc;
}

/* An integer command on one key of domain; its value in *ret_value. */
static int integer_command(struct redis_cache *r, int argc, const char **argv,
			   long long *ret_value)
{
	redisReply *reply = NULL;
	int rc = command(r, argc, argv, NULL, &reply);

	if (rc != MTASTS_OK)
		return rc;
	if (reply->type == REDIS_REPLY_INTEGER)
		*ret_value = reply->integer;
	else
		rc = store_error(r, argv[0], "an unexpected reply");
	freeReplyObject(reply);
	return rc;
}

static int redis_delete(struct policy_cache *cache, const char *domain)
{
	struct redis_cache *r = (struct redis_cache *)cache;
	char key[KEY_SIZE];
	long long removed = 0;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	key_name(r, "policy", domain, key, sizeof(key));
	rc = integer_command(r, 2, (const char *[]){ "DEL", key }, &removed);
	return rc != MTASTS_OK ? rc : removed > 0;
}

/* Scanning the entries */

/* What to do with one SCAN batch of keys; nonzero stops the scan. */
typedef int batch_fn(struct redis_cache *r, const redisReply *keys, void *arg);

/* Whether a SCAN reply is [cursor, [keys...]]; the cursor copied out. */
static bool scan_reply(const redisReply *reply, char *cursor, size_t cursor_size)
{
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[0]->len == 0 || reply->element[0]->len >= cursor_size ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < reply->element[1]->elements; i++)
		if (reply->element[1]->element[i]->type != REDIS_REPLY_STRING)
			return false;
	memcpy(cursor, reply->element[0]->str, reply->element[0]->len);
	cursor[reply->element[0]->len] = '\0';
	return true;
}

/*
 * Call batch with the entry keys, SCAN after SCAN: at most SCAN_KEYS_MAX
 * of them.  A key may come twice when the table grows during the scan
 * (SCAN's promise is "at least once").
 */
static int scan_entries(struct redis_cache *r, batch_fn *batch, void *arg)
{
	char cursor[32] = "0";
	size_t visited = 0;
	int rc;

	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", r->pattern, "COUNT",
				       SCAN_BATCH };
		redisReply *reply = NULL;

		if ((rc = command(r, 6, argv, NULL, &reply)) != MTASTS_OK)
			return rc;
		if (!scan_reply(reply, cursor, sizeof(cursor))) {
			freeReplyObject(reply);
			return store_error(r, "SCAN", "an unexpected reply");
		}
		visited += reply->element[1]->elements;
		if (visited > SCAN_KEYS_MAX)
			rc = store_error(r, "SCAN", "more keys than the limit");
		else {
			struct pipe_guard guard;

			pipe_guard_begin(&guard);
			rc = batch(r, reply->element[1], arg);
			pipe_guard_end(&guard);
		}
		freeReplyObject(reply);
		if (rc != 0)
			return rc;
	} while (strcmp(cursor, "0") != 0);
	return MTASTS_OK;
}

/* Send script once for each key, pipelined (arg: its ARGV[1]). */
static int send_scripts(struct redis_cache *r, const char *script, const redisReply *keys,
			const char *arg)
{
	for (size_t i = 0; i < keys->elements; i++) {
		const char *argv[] = { "EVAL", script, "1", keys->element[i]->str, arg };
		size_t lens[] = { 4, strlen(script), 1, keys->element[i]->len, strlen(arg) };

		if (redisAppendCommandArgv(r->ctx, 5, argv, lens) != REDIS_OK) {
			disconnect(r);	/* the replies of those sent would be out of step */
			return MTASTS_ERR_NOMEM;
		}
	}
	return MTASTS_OK;
}

/* The next pipelined reply, or the connection is broken. */
static int next_reply(struct redis_cache *r, redisReply **ret_reply)
{
	void *reply = NULL;

	if (redisGetReply(r->ctx, &reply) != REDIS_OK || reply == NULL)
		return broken(r, "EVAL", r->ctx->err != 0 ? r->ctx->errstr : "no reply");
	r->answered = true;
	*ret_reply = reply;
	return MTASTS_OK;
}

struct count_state {
	size_t count;
};

static int count_batch(struct redis_cache *r, const redisReply *keys, void *arg)
{
	struct count_state *state = arg;

	state->count += keys->elements;
	return 0;
}

static int redis_count(struct policy_cache *cache, size_t *ret_count)
{
	struct count_state state = { 0 };
	int rc = scan_entries((struct redis_cache *)cache, count_batch, &state);

	if (rc == MTASTS_OK)
		*ret_count = state.count;
	return rc;
}

struct purge_state {
	char now[24];
	size_t purged;
};

static int purge_batch(struct redis_cache *r, const redisReply *keys, void *arg)
{
	struct purge_state *state = arg;
	int rc = send_scripts(r, purge_script, keys, state->now);

	for (size_t i = 0; i < keys->elements && rc == MTASTS_OK; i++) {
		redisReply *reply = NULL;

		if ((rc = next_reply(r, &reply)) != MTASTS_OK)
			return rc;
		if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
			state->purged++;
		else if (reply->type == REDIS_REPLY_ERROR &&
			 strstr(reply->str, "WRONGTYPE") == NULL)
			rc = store_error(r, "purging", reply->str);
		freeReplyObject(reply);
	}
	return rc;
}

/*
 * Redis drops each key some time after its entry expires, by the TTL; this
 * removes at once, by the time given, the expired entries still there.
 * Each key is judged and deleted by a script, so an entry another daemon
 * has just put is never lost.  A value that is not an entry is left.
 */
static int redis_purge_expired(struct policy_cache *cache, time_t now, size_t *ret_count)
{
	struct purge_state state = { .purged = 0 };
	int rc;

	snprintf(state.now, sizeof(state.now), "%lld", (long long)now);
	rc = scan_entries((struct redis_cache *)cache, purge_batch, &state);
	if (rc == MTASTS_OK && ret_count != NULL)
		*ret_count = state.purged;
	return rc;
}

struct iterate_state {
	policy_cache_visit_fn *fn;
	void *arg;
};

/* The domain of an entry key, or NULL for a name that is not one. */
static const char *key_domain(const struct redis_cache *r, const redisReply *key)
{
	size_t skip = strlen(r->prefix) + strlen("policy:");

	if (key->len <= skip || key->len - skip > POLICY_CACHE_DOMAIN_MAX ||
	    memchr(key->str, '\0', key->len) != NULL)
		return NULL;
	return key->str + skip;
}

/* Visit each entry of the batch; every reply is read, even after a stop. */
static int iterate_batch(struct redis_cache *r, const redisReply *keys, void *arg)
{
	struct iterate_state *state = arg;
	int rc = send_scripts(r, read_script, keys, VALUE_MAX_TEXT), stop = 0;

	for (size_t i = 0; i < keys->elements && rc == MTASTS_OK; i++) {
		struct policy_cache_entry *entry = NULL;
		redisReply *reply = NULL;
		const char *domain = key_domain(r, keys->element[i]);
		int got;

		if ((rc = next_reply(r, &reply)) != MTASTS_OK)
			return rc;
		if (stop == 0) {
			got = domain == NULL ? MTASTS_ERR_INVALID
					     : reply_entry(r, domain, reply, &entry);
			if (got == 1)
				stop = state->fn(state->arg, entry);
			else if (got < 0)
				stop = got;
		}
		policy_cache_entry_free(entry);
		freeReplyObject(reply);
	}
	return rc != MTASTS_OK ? rc : stop;
}

static int redis_iterate(struct policy_cache *cache, policy_cache_visit_fn *fn, void *arg)
{
	struct iterate_state state = { fn, arg };

	return scan_entries((struct redis_cache *)cache, iterate_batch, &state);
}

/* The lock */

static int redis_claim(struct policy_cache *cache, const char *domain, unsigned ttl_ms)
{
	struct redis_cache *r = (struct redis_cache *)cache;
	char key[KEY_SIZE], ttl[16];
	redisReply *reply = NULL;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	if (ttl_ms == 0 || ttl_ms > POLICY_CACHE_CLAIM_TTL_MAX)
		return ttl_ms == 0 ? MTASTS_ERR_ARGUMENT : MTASTS_ERR_TOO_LARGE;
	key_name(r, "lock", domain, key, sizeof(key));
	snprintf(ttl, sizeof(ttl), "%u", ttl_ms);
	const char *argv[] = { "SET", key, r->token, "NX", "PX", ttl };
	if ((rc = command(r, 6, argv, NULL, &reply)) != MTASTS_OK)
		return rc;
	if (reply->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0)
		rc = 1;
	else
		rc = store_error(r, "SET NX", "an unexpected reply");
	freeReplyObject(reply);
	return rc;
}

static int redis_unclaim(struct policy_cache *cache, const char *domain)
{
	struct redis_cache *r = (struct redis_cache *)cache;
	char key[KEY_SIZE];
	long long removed = 0;
	int rc;

	if ((rc = policy_cache_domain_check(domain)) != MTASTS_OK)
		return rc;
	key_name(r, "lock", domain, key, sizeof(key));
	const char *argv[] = { "EVAL", unclaim_script, "1", key, r->token };
	rc = integer_command(r, 5, argv, &removed);
	return rc != MTASTS_OK ? rc : removed > 0;
}

static void redis_free(struct policy_cache *cache)
{
	struct redis_cache *r = (struct redis_cache *)cache;

	disconnect(r);
	explicit_bzero(&r->target, sizeof(r->target));
	free(r);
}

static const struct policy_cache_ops redis_ops = {
	.name = "redis",
	.get = redis_get,
	.put = redis_put,
	.delete = redis_delete,
	.purge_expired = redis_purge_expired,
	.count = redis_count,
	.iterate = redis_iterate,
	.free = redis_free,
	.claim = redis_claim,
	.unclaim = redis_unclaim,
};

/* Opening */

/* seconds (0: the default) as a timeval, or false when out of range. */
static bool timeout_value(double seconds, struct timeval *ret)
{
	if (seconds == 0)
		seconds = DEFAULT_TIMEOUT;
	if (!(seconds >= 0.001 && seconds <= TIMEOUT_MAX))
		return false;
	long long us = (long long)(seconds * 1e6);
	ret->tv_sec = (time_t)(us / 1000000);
	ret->tv_usec = (suseconds_t)(us % 1000000);
	return true;
}

/* The prefix, and the SCAN pattern of entry keys with its glob characters escaped. */
static int set_prefix(struct redis_cache *r, const char *prefix, char *err, size_t err_size)
{
	size_t len = strnlen(prefix, POLICY_CACHE_REDIS_PREFIX_MAX + 1), o = 0;

	if (len > POLICY_CACHE_REDIS_PREFIX_MAX) {
		snprintf(err, err_size, "the Redis key prefix is longer than %d octets",
			 POLICY_CACHE_REDIS_PREFIX_MAX);
		return MTASTS_ERR_TOO_LARGE;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)prefix[i] <= ' ' || (unsigned char)prefix[i] >= 0x7f) {
			snprintf(err, err_size, "the Redis key prefix has a space or a "
				 "control character");
			return MTASTS_ERR_ARGUMENT;
		}
		if (strchr("*?[]\\", prefix[i]) != NULL)
			r->pattern[o++] = '\\';
		r->pattern[o++] = prefix[i];
	}
	memcpy(r->prefix, prefix, len + 1);
	memcpy(r->pattern + o, "policy:*", sizeof("policy:*"));
	return MTASTS_OK;
}

int policy_cache_redis_open(const struct policy_cache_redis_options *opt,
			    struct policy_cache **ret_cache,
			    char *err, size_t err_size)
{
	struct redis_cache *r;
	int rc;

	if (opt == NULL || opt->url == NULL || ret_cache == NULL || err == NULL ||
	    err_size == 0)
		return MTASTS_ERR_ARGUMENT;
	err[0] = '\0';
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MTASTS_ERR_NOMEM;
	r->base.ops = &redis_ops;
	if ((rc = redis_url_parse(opt->url, &r->target, err, err_size)) != MTASTS_OK ||
	    (rc = set_prefix(r, opt->key_prefix != NULL ? opt->key_prefix : DEFAULT_PREFIX,
			     err, err_size)) != MTASTS_OK)
		goto out;
	if (!timeout_value(opt->socket_timeout, &r->command_timeout) ||
	    !timeout_value(opt->socket_connect_timeout, &r->connect_timeout)) {
		snprintf(err, err_size, "a Redis timeout is not between 0.001 and %g seconds",
			 TIMEOUT_MAX);
		rc = MTASTS_ERR_ARGUMENT;
		goto out;
	}
	if (policy_cache_claim_token(r->token, sizeof(r->token)) != 0) {
		snprintf(err, err_size, "getrandom: %s", strerror(errno));
		rc = POLICY_CACHE_ERR_STORE;
		goto out;
	}
	if (r->target.unix_socket)
		snprintf(r->where, sizeof(r->where), "unix:%s db %u", r->target.host,
			 r->target.db);
	else
		snprintf(r->where, sizeof(r->where), "%s port %d db %u", r->target.host,
			 r->target.port, r->target.db);
	*ret_cache = &r->base;
	r = NULL;
out:
	if (r != NULL)
		redis_free(&r->base);
	return rc;
}
