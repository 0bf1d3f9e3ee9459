/*
 * serve_acme.c - the certificate manager of `mtasts serve` (serve.h): a
 * thread that takes every hosted name of the registry, mta-sts.<domain>,
 * to a certificate from the ACME server (lib/io/acme.c) and keeps it
 * renewed, answering the challenges through the loop's challenge table.
 *
 * DESCRIPTION
 *	The registry is the allow-list: no name is ordered that is not
 *	"mta-sts." + a domain hosted (or still being removed).  A name needs
 *	a certificate when its file is missing, does not name it, or is two
 *	thirds through its lifetime; it is ordered when its next_attempt has
 *	come, no rate limit pause is on, and fewer than acme_orders_per_hour
 *	orders were begun in the last hour.  A failure backs off (5 minutes
 *	doubled per failure in a row, a day at most, +-10%); a rate limit
 *	pauses every order until the server's Retry-After (at most a day); an
 *	ACME server that does not answer pauses every order, 1 minute at
 *	first, doubled each time it still does not, at most acme_interval.
 *	A failure's status is kept without moving the registry's generation:
 *	only a new certificate is announced to the workers.  An account the
 *	server says is gone is set aside as account.key.revoked-<time>[-<n>]
 *	and a new one made.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "acme.h"
#include "daemon_log.h"
#include "domain_registry.h"
#include "serve.h"
#include "util.h"

#define PATH_SIZE 1024
#define NAMES_MAX 100000		/* hosted names looked at in one round */
#define CERT_FILE_MAX (1024 * 1024)	/* octets of a certificate chain file */
#define EXPIRY_WARNING_S (14 * 86400)
#define WARNING_EVERY_S 86400
#define HOUR_S 3600
#define ORDERS_PER_HOUR_MAX 10000
#define NAME_PREFIX "mta-sts."
#define TEMP_INFIX ".tmp-"		/* in the names of files being written */
#define UNREACHABLE_PAUSE_S 60		/* the first pause when the server does not answer */

struct name_state {
	char name[HOSTED_NAME_MAX + 1];
	int64_t warned_at;		/* last expiry warning */
};

struct serve_acme {
	/* settings, copied: the thread outlives a reload of the config */
	char *directory, *email, *ca_file, *cert_dir, *registry_location;
	const char *types[SERVE_ACME_CHALLENGES_MAX];
	size_t type_count;
	unsigned interval, orders_per_hour;

	struct serve_challenges *challenges;
	void (*installed)(void *arg, const char *name);
	void *arg;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool woken;			/* under lock */
	atomic_bool stopping;

	/* the thread's own */
	struct domain_registry *registry;
	struct acme_client *client;
	int64_t *order_times;		/* ring of when orders were begun */
	size_t order_next;
	int64_t paused_until;		/* rate limit: no order before */
	int64_t unreachable_until;	/* the server did not answer: no order before */
	int64_t unreachable_pause;	/* the last such pause, seconds; 0: it answers */
	struct name_state *names;
	size_t name_count, name_cap;

	/* for /metrics */
	atomic_uint_fast64_t orders_ok, orders_failed, rate_limited, accounts_replaced;
	atomic_uint expiring;
};

static const char *const challenge_types[] = { "tls-alpn-01", "http-01" };

/* ------------------------------------------------------------------ files */

/*
 * data written to a new temporary file beside path (its name in tmp),
 * synced; the caller renames it into place or unlinks it.
 */
static int write_temp(const char *path, const char *data, size_t len, mode_t mode,
		      char tmp[PATH_SIZE], char *why, size_t why_size)
{
	int fd;
	size_t done = 0;

	if ((size_t)snprintf(tmp, PATH_SIZE, "%s" TEMP_INFIX "XXXXXX", path) >= PATH_SIZE) {
		say_why(why, why_size, "%s: the path is too long", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		say_why(why, why_size, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	say_why(why, why_size, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The renames into dir made durable. */
static int sync_dir(const char *dir, char *why, size_t why_size)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		say_why(why, why_size, "%s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* data written to path through a temporary file, synced, renamed, the directory synced. */
static int write_file(const char *dir, const char *path, const char *data, size_t len,
		      mode_t mode, char *why, size_t why_size)
{
	char tmp[PATH_SIZE];

	if (write_temp(path, data, len, mode, tmp, why, why_size) != 0)
		return -1;
	if (rename(tmp, path) != 0) {
		say_why(why, why_size, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return sync_dir(dir, why, why_size);
}

/* A key in PEM in a new string (OPENSSL_clear_free it), or NULL. */
static char *key_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy = NULL;
	long len;

	if (bio != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0 &&
	    (copy = OPENSSL_malloc((size_t)len + 1)) != NULL) {
		memcpy(copy, data, (size_t)len);
		copy[len] = '\0';
	}
	BIO_free(bio);
	return copy;
}

static int write_key(const char *dir, const char *path, EVP_PKEY *key, char *why,
		     size_t why_size)
{
	char *pem = key_pem(key);
	int rc = -1;

	if (pem != NULL)
		rc = write_file(dir, path, pem, strlen(pem), 0600, why, why_size);
	else
		say_why(why, why_size, "%s: the key could not be written out", path);
	if (pem != NULL)
		OPENSSL_clear_free(pem, strlen(pem));
	return rc;
}

/*
 * Temporary files left in cert_dir by a write that was cut short (a crash,
 * a full disk): removed at start, when no write of ours is under way.
 */
static void remove_stale_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, TEMP_INFIX) != NULL && unlinkat(dirfd(d), e->d_name, 0) == 0)
			daemon_log(LOG_INFO, "acme: %s/%s: a temporary file left over, removed",
				   dir, e->d_name);
	closedir(d);
}

/* The first certificate of a PEM file, or NULL. */
static X509 *read_leaf(const char *path)
{
	struct stat st;
	FILE *f = fopen(path, "r");
	X509 *cert = NULL;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size <= CERT_FILE_MAX)
		cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return cert;
}

static int64_t time_of(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* ---------------------------------------------------------------- account */

static bool is_stopping(void *arg)
{
	struct serve_acme *acme = arg;

	return atomic_load(&acme->stopping);
}

/* The account key at <cert_dir>/account.key, made on first use. */
static EVP_PKEY *account_key(struct serve_acme *acme, char *why, size_t why_size)
{
	char path[PATH_SIZE];
	FILE *f;
	EVP_PKEY *key;

	snprintf(path, sizeof(path), "%s/account.key", acme->cert_dir);
	if ((f = fopen(path, "r")) != NULL) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (key == NULL)
			say_why(why, why_size, "%s: not a PEM private key", path);
		return key;
	}
	if (errno != ENOENT) {
		say_why(why, why_size, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((key = acme_key_new()) == NULL) {
		say_why(why, why_size, "no new account key (out of memory?)");
		return NULL;
	}
	if (write_key(acme->cert_dir, path, key, why, why_size) != 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	daemon_log(LOG_INFO, "acme: new account key %s", path);
	return key;
}

/* The client, its account registered; made when there is none. */
static int ensure_client(struct serve_acme *acme, char *why, size_t why_size)
{
	struct acme_client_config config = {
		.directory_url = acme->directory,
		.ca_file = acme->ca_file,
		.email = acme->email,
		.cancelled = is_stopping,
		.cancel_arg = acme,
	};
	EVP_PKEY *key;
	int rc;

	if (acme->client != NULL)
		return 0;
	if ((key = account_key(acme, why, why_size)) == NULL)
		return ACME_FAILED;
	rc = acme_client_new(&config, key, &acme->client, why, why_size);
	EVP_PKEY_free(key);
	if (rc != 0)
		return rc;
	if ((rc = acme_account_register(acme->client, why, why_size)) != 0) {
		acme_client_free(acme->client);
		acme->client = NULL;
	}
	return rc;
}

/* The server says the account is no more: keep its key aside, a new one comes next. */
static void retire_account(struct serve_acme *acme, const char *why)
{
	char path[PATH_SIZE], kept[PATH_SIZE + 32];

	acme_client_free(acme->client);
	acme->client = NULL;
	snprintf(path, sizeof(path), "%s/account.key", acme->cert_dir);
	/* a name no key was kept under yet: two retirements in a second keep both */
	int rc = -1;
	for (unsigned n = 0; n < 100 && rc != 0; n++) {
		snprintf(kept, sizeof(kept), "%s.revoked-%lld%s%.0u", path, (long long)time(NULL),
			 n ? "-" : "", n);
		if ((rc = link(path, kept)) != 0 && errno != EEXIST)
			break;
	}
	if (rc == 0 && unlink(path) != 0)
		rc = -1;
	if (rc != 0)
		daemon_log(LOG_ERR, "acme: the account is gone (%s) and %s could not be moved "
			   "aside: %s", why, path, strerror(errno));
	else
		daemon_log(LOG_ERR, "acme: the account is gone (%s); its key is kept as %s and a "
			   "new account is made", why, kept);
	atomic_fetch_add(&acme->accounts_replaced, 1);
}

/* ------------------------------------------------------------ challenges */

static int publish(void *arg, const struct acme_challenge_answer *answer)
{
	struct serve_acme *acme = arg;

	if (strcmp(answer->type, "http-01") == 0)
		return serve_challenges_put_http01(acme->challenges, answer->token,
						   answer->key_authorization);
	return serve_challenges_put_alpn01(acme->challenges, answer->name, answer->cert,
					   answer->key);
}

static void withdraw(void *arg, const struct acme_challenge_answer *answer)
{
	struct serve_acme *acme = arg;

	if (strcmp(answer->type, "http-01") == 0)
		serve_challenges_drop_http01(acme->challenges, answer->token);
	else
		serve_challenges_drop_alpn01(acme->challenges, answer->name);
}

/* ------------------------------------------------------------------ names */

struct name_list {
	char (*names)[HOSTED_NAME_MAX + 1];
	size_t count, cap;
	int64_t now;
	bool truncated;
};

static int collect_name(void *arg, const struct hosted_domain *domain, const char *name,
			const char *error)
{
	struct name_list *list = arg;
	char (*grown)[HOSTED_NAME_MAX + 1];

	if (domain == NULL) {
		daemon_log(LOG_WARNING, "acme: registry: %s: %s; no certificate for it", name,
			   error);
		return 0;
	}
	if (domain->removed_at != 0 &&
	    domain->removed_at + (int64_t)domain->removed_max_age <= list->now)
		return 0;	/* its removal is over */
	if (strlen(NAME_PREFIX) + strlen(domain->name) > HOSTED_NAME_MAX)
		return 0;	/* mta-sts.<domain> is no host name */
	if (list->count >= NAMES_MAX) {
		list->truncated = true;
		return 1;
	}
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;

		if ((grown = realloc(list->names, cap * sizeof(*grown))) == NULL)
			return -1;
		list->names = grown;
		list->cap = cap;
	}
	/* it fits: checked above */
	snprintf(list->names[list->count++], HOSTED_NAME_MAX + 1, NAME_PREFIX "%.*s",
		 HOSTED_NAME_MAX - (int)strlen(NAME_PREFIX), domain->name);
	return 0;
}

/* t as 2026-12-02T06:17:50Z, for the log. */
static const char *utc_text(int64_t t, char *buf, size_t size)
{
	time_t when = (time_t)t;
	struct tm tm;

	if (gmtime_r(&when, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
	return buf;
}

static struct name_state *state_of(struct serve_acme *acme, const char *name)
{
	struct name_state *grown;

	for (size_t i = 0; i < acme->name_count; i++)
		if (strcmp(acme->names[i].name, name) == 0)
			return &acme->names[i];
	if (acme->name_count == acme->name_cap) {
		size_t cap = acme->name_cap ? acme->name_cap * 2 : 64;

		if (cap > NAMES_MAX ||
		    (grown = realloc(acme->names, cap * sizeof(*grown))) == NULL)
			return NULL;
		acme->names = grown;
		acme->name_cap = cap;
	}
	memset(&acme->names[acme->name_count], 0, sizeof(*acme->names));
	snprintf(acme->names[acme->name_count].name, HOSTED_NAME_MAX + 1, "%s", name);
	return &acme->names[acme->name_count++];
}

/*
 * Whether orders_per_hour orders were begun in the last hour: the ring
 * holds the times of the last orders_per_hour, and the slot written next
 * is the oldest of them.
 */
static bool hourly_limit_reached(const struct serve_acme *acme, int64_t now)
{
	int64_t oldest = acme->order_times[acme->order_next];

	return oldest != 0 && oldest > now - HOUR_S;
}

static double jitter(void)
{
	unsigned char b[2];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return 1.0;
	return 0.9 + 0.2 * (double)((b[0] << 8) | b[1]) / 65535.0;
}

/* The certificate in the file: what it covers and when, or none. */
struct cert_facts {
	bool present, covers;
	int64_t not_before, not_after;
};

static struct cert_facts cert_facts(const char *path, const char *name)
{
	struct cert_facts facts = { 0 };
	X509 *cert = read_leaf(path);

	if (cert == NULL)
		return facts;
	facts.present = true;
	facts.covers = X509_check_host(cert, name, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1;
	facts.not_before = time_of(X509_get0_notBefore(cert));
	facts.not_after = time_of(X509_get0_notAfter(cert));
	X509_free(cert);
	return facts;
}

/*
 * The chain checked against key and name, both written to temporary
 * files, then renamed: the key first, then the chain.  A worker re-reads
 * a pair when the chain file changes (serve_tls.c), so one that reads
 * between the two renames (new key, old chain) sees a mismatch, keeps
 * what it has and reads again once the chain is renamed; the other order
 * could leave it with the new chain's change already seen.
 */
static int install(struct serve_acme *acme, const char *name, EVP_PKEY *key,
		   const char *chain, struct hosted_cert_status *status, char *why,
		   size_t why_size)
{
	char cert_path[PATH_SIZE], key_path[PATH_SIZE], cert_tmp[PATH_SIZE], key_tmp[PATH_SIZE];
	BIO *bio = BIO_new_mem_buf(chain, -1);
	X509 *leaf = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	char *pem = key_pem(key);
	int rc = -1;

	BIO_free(bio);
	serve_cert_paths(acme->cert_dir, name, cert_path, key_path, sizeof(cert_path));
	if (leaf == NULL || pem == NULL) {
		say_why(why, why_size, "certificate: what the server issued for %s cannot be read",
			name);
		goto out;
	}
	if (X509_check_private_key(leaf, key) != 1 ||
	    X509_check_host(leaf, name, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1) {
		ERR_clear_error();
		say_why(why, why_size, "certificate: what the server issued does not name %s "
			"or is not for the key ordered with", name);
		goto out;
	}
	if (write_temp(key_path, pem, strlen(pem), 0600, key_tmp, why, why_size) != 0)
		goto out;
	if (write_temp(cert_path, chain, strlen(chain), 0644, cert_tmp, why, why_size) != 0) {
		unlink(key_tmp);
		goto out;
	}
	if (rename(key_tmp, key_path) != 0) {
		say_why(why, why_size, "%s: %s", key_path, strerror(errno));
		unlink(key_tmp);
		unlink(cert_tmp);
		goto out;
	}
	if (rename(cert_tmp, cert_path) != 0) {
		say_why(why, why_size, "%s: %s", cert_path, strerror(errno));
		unlink(cert_tmp);
		goto out;
	}
	if (sync_dir(acme->cert_dir, why, why_size) != 0)
		goto out;
	status->not_before = time_of(X509_get0_notBefore(leaf));
	status->not_after = time_of(X509_get0_notAfter(leaf));
	rc = 0;
out:
	X509_free(leaf);
	if (pem != NULL)
		OPENSSL_clear_free(pem, strlen(pem));
	return rc;
}

/*
 * announce: only for a new certificate, so that every worker reads it; a
 * failure's status moves no generation, else each would wake the manager
 * into the next attempt at once.
 */
static void save_status(struct serve_acme *acme, const struct hosted_cert_status *status,
			bool announce)
{
	char why[SERVE_WHY_SIZE];

	if (domain_registry_cert_put(acme->registry, status, announce, why, sizeof(why)) != 0)
		daemon_log(LOG_ERR, "acme: %s: the status could not be kept: %s", status->name,
			   why);
}

/* why as the status's last_error, cut to its size. */
static void keep_error(struct hosted_cert_status *status, const char *why)
{
	size_t len = strnlen(why, sizeof(status->last_error) - 1);

	memcpy(status->last_error, why, len);
	status->last_error[len] = '\0';
}

enum round_step { ROUND_GO_ON, ROUND_END };

/* One order for name, its outcome kept in status. */
static enum round_step order_one(struct serve_acme *acme, struct hosted_cert_status *status,
				 int64_t now)
{
	struct acme_responder responder = { publish, withdraw, acme };
	char why[SERVE_WHY_SIZE] = "", until[32];
	char *chain = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = ensure_client(acme, why, sizeof(why))) == 0) {
			acme->order_times[acme->order_next] = now;
			acme->order_next = (acme->order_next + 1) % acme->orders_per_hour;
			status->last_attempt = now;
			EVP_PKEY_free(key);
			if ((key = acme_key_new()) == NULL) {
				say_why(why, sizeof(why), "no new key (out of memory?)");
				rc = ACME_FAILED;
				break;
			}
			rc = acme_order(acme->client, status->name, key, acme->types,
					acme->type_count, &responder, &chain, why, sizeof(why));
		}
		if (rc != ACME_ACCOUNT_GONE)
			break;
		retire_account(acme, why);
	}
	if (rc != ACME_UNREACHABLE && rc != ACME_CANCELLED)
		acme->unreachable_pause = 0;	/* it answered */
	if (rc == 0 && install(acme, status->name, key, chain, status, why, sizeof(why)) != 0)
		rc = ACME_FAILED;
	free(chain);
	EVP_PKEY_free(key);
	switch (rc) {
	case 0:
		status->issued_at = now;
		status->failures = 0;
		status->next_attempt = 0;
		status->last_error[0] = '\0';
		save_status(acme, status, true);
		atomic_fetch_add(&acme->orders_ok, 1);
		daemon_log(LOG_INFO, "acme: %s: certificate installed, valid until %s",
			   status->name, utc_text(status->not_after, until, sizeof(until)));
		acme->installed(acme->arg, status->name);
		return ROUND_GO_ON;
	case ACME_CANCELLED:
		return ROUND_END;
	case ACME_RATE_LIMITED:
		acme->paused_until = acme->client != NULL ? acme_retry_at(acme->client)
							  : now + ACME_RETRY_AFTER_DEFAULT;
		if (acme->paused_until <= now)
			acme->paused_until = now + ACME_RETRY_AFTER_DEFAULT;
		status->next_attempt = acme->paused_until;
		keep_error(status, why);
		save_status(acme, status, false);
		atomic_fetch_add(&acme->rate_limited, 1);
		daemon_log(LOG_WARNING, "acme: %s: rate limited, no order before %" PRId64 ": %s",
			   status->name, acme->paused_until, why);
		return ROUND_END;
	case ACME_UNREACHABLE:
		/* the server's trouble, not the name's: every order waits, longer each time */
		acme->unreachable_pause = acme->unreachable_pause == 0 ? UNREACHABLE_PAUSE_S
					  : acme->unreachable_pause * 2;
		if (acme->unreachable_pause > acme->interval)
			acme->unreachable_pause = acme->interval;
		acme->unreachable_until = now + acme->unreachable_pause;
		keep_error(status, why);
		save_status(acme, status, false);
		daemon_log(LOG_ERR, "acme: the ACME server does not answer (%s); trying again "
			   "in %" PRId64 " seconds", why, acme->unreachable_pause);
		return ROUND_END;
	default:
		status->failures++;
		status->next_attempt = now + acme_backoff_seconds(status->failures, jitter());
		keep_error(status, why);
		save_status(acme, status, false);
		atomic_fetch_add(&acme->orders_failed, 1);
		daemon_log(LOG_ERR, "acme: %s: no certificate (failure %u, next attempt in %"
			   PRId64 " s): %s", status->name, status->failures,
			   status->next_attempt - now, why);
		return ROUND_GO_ON;
	}
}

/* What one round has seen so far. */
struct round {
	unsigned expiring;		/* names within 14 days of expiry, or none after failures */
	bool orders_over;		/* the server is away, rate limited, or we stop */
	bool hourly_said;		/* the hourly limit was logged */
};

/* Look at one name: count and warn of an expiry near, order when it needs it and may. */
static void look_at(struct serve_acme *acme, const char *name, int64_t now,
		    struct round *round)
{
	char cert_path[PATH_SIZE], key_path[PATH_SIZE], why[SERVE_WHY_SIZE];
	struct hosted_cert_status status = { 0 };
	struct cert_facts facts;
	struct name_state *state = state_of(acme, name);
	int rc;

	rc = domain_registry_cert_get(acme->registry, name, &status, why, sizeof(why));
	if (rc == REGISTRY_NOT_FOUND) {
		memset(&status, 0, sizeof(status));
		snprintf(status.name, sizeof(status.name), "%s", name);
	} else if (rc != 0) {
		daemon_log(LOG_ERR, "acme: registry: %s", why);
		round->orders_over = true;
		return;
	}
	serve_cert_paths(acme->cert_dir, name, cert_path, key_path, sizeof(cert_path));
	facts = cert_facts(cert_path, name);
	if ((!facts.present && status.failures > 0) ||
	    (facts.present && facts.not_after - now < EXPIRY_WARNING_S)) {
		round->expiring++;
		if (state != NULL && now - state->warned_at >= WARNING_EVERY_S) {
			state->warned_at = now;
			daemon_log(LOG_WARNING, "acme: %s: %s (%u failures in a row; last: %s)",
				   name, facts.present ? "the certificate expires within 14 days"
				   : "still no certificate", status.failures,
				   status.last_error[0] ? status.last_error : "none");
		}
	}
	if (round->orders_over || (facts.present && facts.covers &&
				   now < acme_renewal_time(facts.not_before, facts.not_after)))
		return;
	if (now < status.next_attempt || now < acme->paused_until ||
	    now < acme->unreachable_until)
		return;
	if (hourly_limit_reached(acme, now)) {
		if (!round->hourly_said)
			daemon_log(LOG_INFO, "acme: %u orders in the last hour "
				   "(acme_orders_per_hour); the other names wait",
				   acme->orders_per_hour);
		round->hourly_said = true;
		return;
	}
	if (order_one(acme, &status, now) == ROUND_END)
		round->orders_over = true;
}

static void round_of_names(struct serve_acme *acme)
{
	struct name_list list = { .now = time(NULL) };
	char why[SERVE_WHY_SIZE];
	struct round round = { 0 };

	if (acme->registry == NULL &&
	    domain_registry_open(acme->registry_location, &acme->registry, why,
				 sizeof(why)) != 0) {
		daemon_log(LOG_ERR, "acme: the registry cannot be opened: %s", why);
		return;
	}
	if (domain_registry_each(acme->registry, collect_name, &list, why, sizeof(why)) < 0) {
		daemon_log(LOG_ERR, "acme: the registry cannot be read: %s", why);
		domain_registry_close(acme->registry);
		acme->registry = NULL;
		free(list.names);
		return;
	}
	if (list.truncated)
		daemon_log(LOG_WARNING, "acme: more than %d hosted names; the others wait",
			   NAMES_MAX);
	for (size_t i = 0; i < list.count && !atomic_load(&acme->stopping); i++)
		look_at(acme, list.names[i], time(NULL), &round);
	atomic_store(&acme->expiring, round.expiring);
	free(list.names);
}

/* ----------------------------------------------------------------- thread */

static void *manager(void *arg)
{
	struct serve_acme *acme = arg;

	remove_stale_temps(acme->cert_dir);
	while (!atomic_load(&acme->stopping)) {
		struct timespec until;

		round_of_names(acme);
		pthread_mutex_lock(&acme->lock);
		int64_t wait = acme->interval, now = time(NULL);
		if (acme->unreachable_until > now && acme->unreachable_until - now < wait)
			wait = acme->unreachable_until - now;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait;
		while (!acme->woken && !atomic_load(&acme->stopping))
			if (pthread_cond_timedwait(&acme->cond, &acme->lock, &until) == ETIMEDOUT)
				break;
		acme->woken = false;
		pthread_mutex_unlock(&acme->lock);
	}
	acme_client_free(acme->client);
	acme->client = NULL;
	domain_registry_close(acme->registry);
	acme->registry = NULL;
	return NULL;
}

static void acme_free(struct serve_acme *acme)
{
	free(acme->directory);
	free(acme->email);
	free(acme->ca_file);
	free(acme->cert_dir);
	free(acme->registry_location);
	free(acme->order_times);
	free(acme->names);
	free(acme);
}

/* The challenge types to answer, in order; false with why when one cannot be. */
static bool choose_types(struct serve_acme *acme, const struct serve_config *config,
			 char *why, size_t why_size)
{
	if (config->acme_challenge_count == 0) {
		acme->types[acme->type_count++] = challenge_types[0];
		if (config->listen_http_count > 0)
			acme->types[acme->type_count++] = challenge_types[1];
		return true;
	}
	for (size_t i = 0; i < config->acme_challenge_count; i++) {
		const char *type = config->acme_challenges[i];

		if (strcmp(type, "tls-alpn-01") == 0) {
			acme->types[acme->type_count++] = challenge_types[0];
		} else if (strcmp(type, "http-01") == 0 && config->listen_http_count > 0) {
			acme->types[acme->type_count++] = challenge_types[1];
		} else if (strcmp(type, "http-01") == 0) {
			say_why(why, why_size, "acme_challenges: http-01 needs a listen_http "
				"listener on port 80");
			return false;
		} else {
			say_why(why, why_size, "acme_challenges: '%s' is neither tls-alpn-01 nor "
				"http-01", type);
			return false;
		}
	}
	return true;
}

static char *copy_or_null(const char *text)
{
	return text != NULL ? strdup(text) : NULL;
}

int serve_acme_start(const struct serve_config *config, struct serve_challenges *challenges,
		     void (*installed)(void *arg, const char *name), void *arg,
		     struct serve_acme **ret_acme, char *why, size_t why_size)
{
	struct serve_acme *acme = calloc(1, sizeof(*acme));
	pthread_condattr_t attr;
	const char *cert_dir = config->cert_dir ? config->cert_dir : SERVE_CERT_DIR_DEFAULT;

	if (acme == NULL) {
		say_why(why, why_size, "out of memory");
		return -1;
	}
	if (config->acme_directory == NULL || strncmp(config->acme_directory, "https://", 8) != 0 ||
	    config->registry == NULL) {
		say_why(why, why_size, "ACME needs an https:// acme_directory and a registry");
		goto fail;
	}
	if (!choose_types(acme, config, why, why_size))
		goto fail;
	acme->directory = strdup(config->acme_directory);
	acme->email = copy_or_null(config->acme_email);
	acme->ca_file = copy_or_null(config->acme_ca_file);
	acme->cert_dir = strdup(cert_dir);
	acme->registry_location = strdup(config->registry);
	acme->interval = config->acme_interval ? config->acme_interval
					       : SERVE_ACME_INTERVAL_DEFAULT;
	acme->orders_per_hour = config->acme_orders_per_hour ? config->acme_orders_per_hour
							     : SERVE_ACME_ORDERS_PER_HOUR_DEFAULT;
	if (acme->orders_per_hour > ORDERS_PER_HOUR_MAX)
		acme->orders_per_hour = ORDERS_PER_HOUR_MAX;
	acme->order_times = calloc(acme->orders_per_hour, sizeof(*acme->order_times));
	if (acme->directory == NULL || acme->cert_dir == NULL || acme->registry_location == NULL ||
	    acme->order_times == NULL || (config->acme_email && acme->email == NULL) ||
	    (config->acme_ca_file && acme->ca_file == NULL)) {
		say_why(why, why_size, "out of memory");
		goto fail;
	}
	if (mkdir(acme->cert_dir, 0700) != 0 && errno != EEXIST) {
		say_why(why, why_size, "cert_dir %s: %s", acme->cert_dir, strerror(errno));
		goto fail;
	}
	acme->challenges = challenges;
	acme->installed = installed;
	acme->arg = arg;
	atomic_init(&acme->stopping, false);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&acme->lock, NULL);
	pthread_cond_init(&acme->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&acme->thread, NULL, manager, acme) != 0) {
		say_why(why, why_size, "the certificate manager's thread: %s", strerror(errno));
		pthread_cond_destroy(&acme->cond);
		pthread_mutex_destroy(&acme->lock);
		goto fail;
	}
	*ret_acme = acme;
	return 0;
fail:
	acme_free(acme);
	return -1;
}

void serve_acme_wake(struct serve_acme *acme)
{
	if (acme == NULL)
		return;
	pthread_mutex_lock(&acme->lock);
	acme->woken = true;
	pthread_cond_signal(&acme->cond);
	pthread_mutex_unlock(&acme->lock);
}

void serve_acme_stop(struct serve_acme *acme)
{
	if (acme == NULL)
		return;
	pthread_mutex_lock(&acme->lock);
	atomic_store(&acme->stopping, true);
	pthread_cond_signal(&acme->cond);
	pthread_mutex_unlock(&acme->lock);
	pthread_join(acme->thread, NULL);
	pthread_cond_destroy(&acme->cond);
	pthread_mutex_destroy(&acme->lock);
	acme_free(acme);
}

void serve_acme_counters(const struct serve_acme *acme, struct serve_acme_counters *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (acme == NULL)
		return;
	ret->orders_ok = atomic_load(&acme->orders_ok);
	ret->orders_failed = atomic_load(&acme->orders_failed);
	ret->rate_limited = atomic_load(&acme->rate_limited);
	ret->accounts_replaced = atomic_load(&acme->accounts_replaced);
	ret->expiring = atomic_load(&acme->expiring);
}
