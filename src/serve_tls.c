/*
 * serve_tls.c - the certificates of `mtasts serve`: a TLS context per
 * configured certificate and key pair (TLS 1.2 at least), the one for a
 * connection chosen by the name the client asks for (SNI) among each
 * certificate's DNS names, wildcards included (X509_check_host), the
 * first pair when none matches.  A reload builds a whole new set before
 * it replaces the one in use, so a broken file changes nothing.
 *
 * The hosted names (thousands) get no context each: their chains and keys
 * are kept in a hash table by name, and the ClientHello callback puts the
 * one the SNI names into the connection itself.  The same callback
 * answers TLS-ALPN-01 (RFC 8737): a ClientHello offering "acme-tls/1"
 * gets the challenge's certificate, or a handshake failure.  Without a
 * configured pair the base context has no certificate at all: a name
 * without one of its own fails its handshake with an alert.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "daemon_log.h"
#include "serve.h"

#define NAME_MAX_OCTETS 253
#define ACME_TLS_ALPN "acme-tls/1"
#define HTTP11_ALPN "http/1.1"
#define CHAIN_MAX 10			/* certificates of one chain file */

struct cert_set {
	SSL_CTX *ctx[SERVE_CERTS_MAX];
	size_t count;			/* 0: ctx[0] is bare, without a certificate */
};

/*
 * Which version of a certificate file was read: the manager replaces
 * files by rename, so a new inode or time says another worker (or an
 * operator) put a new certificate there.
 */
struct file_identity {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
};

static bool file_identity_read(const char *path, struct file_identity *ret)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return false;
	ret->dev = st.st_dev;
	ret->ino = st.st_ino;
	ret->mtime = st.st_mtim;
	ret->size = st.st_size;
	return true;
}

static bool file_identity_same(const struct file_identity *x, const struct file_identity *y)
{
	return x->dev == y->dev && x->ino == y->ino && x->size == y->size &&
	       x->mtime.tv_sec == y->mtime.tv_sec && x->mtime.tv_nsec == y->mtime.tv_nsec;
}

/* The pair of one hosted name. */
struct hosted_pair {
	char *name;			/* lower case; NULL: an empty slot */
	X509 *cert;
	STACK_OF(X509) *chain;		/* the intermediates */
	EVP_PKEY *key;
	struct file_identity file;	/* of the certificate file, when read */
};

struct pair_table {
	struct hosted_pair *slots;	/* open addressing; slot_count a power of two */
	size_t slot_count, count;
};

struct serve_tls {
	struct cert_set *current;	/* what new handshakes use */
	struct pair_table hosted;
	char *cert_dir;			/* NULL: hosting is off */
	struct serve_challenges *challenges;
	int installed_pipe[2];		/* names from the certificate manager's thread */
	struct event *installed_event;
};

/* What the ClientHello decided for a connection (ex_data of its SSL). */
enum hello_choice {
	HELLO_CONFIGURED = 0,		/* a configured pair, by the servername callback */
	HELLO_HOSTED = 1,		/* the hosted name's own pair */
	HELLO_ACME = 2,			/* a TLS-ALPN-01 challenge: no HTTP */
};

static int choice_index = -1;

static void set_free(struct cert_set *set)
{
	if (set == NULL)
		return;
	/* Connections hold their own references to their contexts. */
	for (size_t i = 0; i < SERVE_CERTS_MAX; i++)
		SSL_CTX_free(set->ctx[i]);
	free(set);
}

/* The last OpenSSL error as text, the queue emptied. */
static void ssl_error(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, size, "unknown error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
}

static enum hello_choice choice_of(const SSL *ssl)
{
	return (enum hello_choice)(intptr_t)SSL_get_ex_data(ssl, choice_index);
}

bool serve_tls_is_acme(const SSL *ssl)
{
	return ssl != NULL && choice_index >= 0 && choice_of(ssl) == HELLO_ACME;
}

/* Pick the context whose certificate names the SNI host (unless the ClientHello chose). */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
	struct serve_tls *tls = arg;
	struct cert_set *set = tls->current;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)alert;
	if (name == NULL || set == NULL || set->count == 0 || choice_of(ssl) != HELLO_CONFIGURED)
		return SSL_TLSEXT_ERR_NOACK;
	for (size_t i = 0; i < set->count; i++) {
		X509 *cert = SSL_CTX_get0_certificate(set->ctx[i]);

		if (cert != NULL && X509_check_host(cert, name, 0,
						    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
						    NULL) == 1) {
			if (SSL_get_SSL_CTX(ssl) != set->ctx[i])
				SSL_set_SSL_CTX(ssl, set->ctx[i]);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* The default (first) pair: whichever set the connection started with. */
	if (SSL_get_SSL_CTX(ssl) != set->ctx[0])
		SSL_set_SSL_CTX(ssl, set->ctx[0]);
	return SSL_TLSEXT_ERR_OK;
}

/* Whether path can be read, with why in buf when not (OpenSSL says "system lib"). */
static bool readable(const char *path, const char *what, char *why, size_t why_size)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(why, why_size, "%s: cannot read the %s: %s", path, what, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

/* ------------------------------------------------------ hosted pairs */

static uint64_t name_hash(const char *name)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a over the lower case name */

	for (; *name != '\0'; name++) {
		unsigned char c = (unsigned char)*name;

		h ^= (c >= 'A' && c <= 'Z') ? c + 32 : c;
		h *= 1099511628211ull;
	}
	return h;
}

static void pair_clear(struct hosted_pair *p)
{
	free(p->name);
	X509_free(p->cert);
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
	memset(p, 0, sizeof(*p));
}

static void table_clear(struct pair_table *t)
{
	for (size_t i = 0; i < t->slot_count; i++)
		pair_clear(&t->slots[i]);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static struct hosted_pair *table_find(const struct pair_table *t, const char *name)
{
	size_t at;

	if (t->slot_count == 0)
		return NULL;
	at = name_hash(name) & (t->slot_count - 1);
	for (; t->slots[at].name != NULL; at = (at + 1) & (t->slot_count - 1))
		if (strcasecmp(t->slots[at].name, name) == 0)
			return &t->slots[at];
	return NULL;
}

/* Take p (name and references) into t; t has room (slot_count > 2 count). */
static void table_put(struct pair_table *t, struct hosted_pair *p)
{
	struct hosted_pair *old = table_find(t, p->name);
	size_t at;

	if (old != NULL) {
		pair_clear(old);
		*old = *p;
	} else {
		at = name_hash(p->name) & (t->slot_count - 1);
		while (t->slots[at].name != NULL)
			at = (at + 1) & (t->slot_count - 1);
		t->slots[at] = *p;
		t->count++;
	}
	memset(p, 0, sizeof(*p));
}

static int table_init(struct pair_table *t, size_t names)
{
	memset(t, 0, sizeof(*t));
	t->slot_count = 16;
	while (t->slot_count < 2 * names + 2)
		t->slot_count *= 2;
	t->slots = calloc(t->slot_count, sizeof(*t->slots));
	return t->slots != NULL ? 0 : -1;
}

/* Room for one more in t: the slots doubled when half full. */
static int table_room(struct pair_table *t)
{
	struct pair_table bigger;

	if (2 * (t->count + 1) < t->slot_count)
		return 0;
	if (table_init(&bigger, t->count + 1) != 0)
		return -1;
	for (size_t i = 0; i < t->slot_count; i++)
		if (t->slots[i].name != NULL)
			table_put(&bigger, &t->slots[i]);
	free(t->slots);
	*t = bigger;
	return 0;
}

void serve_cert_paths(const char *cert_dir, const char *name, char *cert_path,
		      char *key_path, size_t size)
{
	snprintf(cert_path, size, "%s/%s.pem", cert_dir, name);
	snprintf(key_path, size, "%s/%s.key", cert_dir, name);
}

/* The key file's mode: readable by its owner alone, else refused. */
static bool key_private(FILE *f, const char *path, char *why, size_t why_size)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0) {
		snprintf(why, why_size, "%.300s: %s", path, strerror(errno));
		return false;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(why, why_size, "%.300s: the key is readable by others (mode %03o): "
			 "refused; make it 0600", path, (unsigned)(st.st_mode & 0777));
		return false;
	}
	return true;
}

/* Read name's chain and key from cert_dir into *p; 0, 1 when there are no files, -1 with why. */
static int pair_read(const char *cert_dir, const char *name, struct hosted_pair *p,
		     char *why, size_t why_size)
{
	char cert_path[4096], key_path[4096], error[256];
	FILE *cf = NULL, *kf = NULL;
	X509 *extra;
	int status = -1;

	memset(p, 0, sizeof(*p));
	serve_cert_paths(cert_dir, name, cert_path, key_path, sizeof(cert_path));
	if ((cf = fopen(cert_path, "r")) == NULL || (kf = fopen(key_path, "r")) == NULL) {
		if (errno == ENOENT)
			status = 1;
		else
			snprintf(why, why_size, "%.300s: %s", cf == NULL ? cert_path : key_path,
				 strerror(errno));
		goto out;
	}
	if (!key_private(kf, key_path, why, why_size))
		goto out;
	/* Before reading: a file replaced meanwhile is read again next time. */
	(void)file_identity_read(cert_path, &p->file);
	if ((p->cert = PEM_read_X509(cf, NULL, NULL, NULL)) == NULL ||
	    (p->chain = sk_X509_new_null()) == NULL) {
		ssl_error(error, sizeof(error));
		snprintf(why, why_size, "%.300s: cannot read the certificate: %s", cert_path, error);
		goto out;
	}
	while (sk_X509_num(p->chain) < CHAIN_MAX &&
	       (extra = PEM_read_X509(cf, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(p->chain, extra) == 0)
			X509_free(extra);
	ERR_clear_error();		/* the end of the file */
	if ((p->key = PEM_read_PrivateKey(kf, NULL, NULL, NULL)) == NULL) {
		ssl_error(error, sizeof(error));
		snprintf(why, why_size, "%.300s: cannot read the private key: %s", key_path, error);
		goto out;
	}
	if (X509_check_private_key(p->cert, p->key) != 1) {
		ERR_clear_error();
		snprintf(why, why_size, "%.300s: the key does not belong to the certificate in %.300s",
			 key_path, cert_path);
		goto out;
	}
	if (X509_check_host(p->cert, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1) {
		snprintf(why, why_size, "%.300s: the certificate is not for %.253s", cert_path, name);
		goto out;
	}
	if ((p->name = strdup(name)) == NULL) {
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	status = 0;
out:
	if (cf != NULL)
		fclose(cf);
	if (kf != NULL)
		fclose(kf);
	if (status != 0)
		pair_clear(p);
	return status;
}

/* t without name's pair: the others moved into a new table (probe chains stay whole). */
static void table_drop(struct pair_table *t, const char *name)
{
	struct pair_table rest;

	if (table_init(&rest, t->count) != 0)
		return;		/* out of memory: the pair stays */
	for (size_t i = 0; i < t->slot_count; i++)
		if (t->slots[i].name != NULL && strcasecmp(t->slots[i].name, name) != 0)
			table_put(&rest, &t->slots[i]);
	table_clear(t);
	*t = rest;
}

/* Read name's pair into t: held when read, dropped when its files are gone. */
static void pair_load(struct serve_tls *tls, struct pair_table *t, const char *name)
{
	struct hosted_pair p;
	char why[1024], shown[SERVE_WHY_SIZE];	/* why: two paths and a reason */
	int status = pair_read(tls->cert_dir, name, &p, why, sizeof(why));

	if (status == 0 && table_room(t) == 0) {
		table_put(t, &p);
		daemon_log(LOG_DEBUG, "certificate of %s read", name);
		return;
	}
	pair_clear(&p);
	if (status == 0) {
		daemon_log(LOG_ERR, "certificate of %s: out of memory", name);
	} else if (status == 1) {
		if (table_find(t, name) != NULL) {
			table_drop(t, name);
			daemon_log(LOG_INFO, "certificate of %s: its files are gone", name);
		}
	} else {
		text_shown(why, shown, sizeof(shown), 400);
		daemon_log(LOG_WARNING, "certificate of %s: %s; %s", name, shown,
			   table_find(t, name) != NULL ? "keeping the one in use" :
			   "the default certificate is used");
	}
}

struct sync {
	struct serve_tls *tls;
	struct pair_table *fresh;
	bool reread;
	bool out_of_memory;
};

static void sync_name(void *arg, const char *name)
{
	struct sync *s = arg;
	struct hosted_pair *held = table_find(&s->tls->hosted, name);

	if (s->out_of_memory)
		return;
	if (held != NULL) {
		struct hosted_pair copy = {
			.name = strdup(held->name), .cert = held->cert,
			.chain = X509_chain_up_ref(held->chain), .key = held->key,
			.file = held->file,
		};
		char cert_path[4096], key_path[4096];
		struct file_identity now;

		if (copy.name == NULL || copy.chain == NULL || table_room(s->fresh) != 0) {
			free(copy.name);
			sk_X509_pop_free(copy.chain, X509_free);
			s->out_of_memory = true;
			return;
		}
		X509_up_ref(copy.cert);
		EVP_PKEY_up_ref(copy.key);
		table_put(s->fresh, &copy);
		serve_cert_paths(s->tls->cert_dir, name, cert_path, key_path, sizeof(cert_path));
		if (!s->reread && file_identity_read(cert_path, &now) &&
		    file_identity_same(&now, &copy.file))
			return;
	}
	/* Read: replaces the copy, or keeps it when the files are broken. */
	pair_load(s->tls, s->fresh, name);
}

void serve_tls_hosted_sync(struct serve_tls *tls,
			   void (*each)(void *source, serve_name_fn *fn, void *arg),
			   void *source, bool reread)
{
	struct pair_table fresh;
	struct sync s = { .tls = tls, .fresh = &fresh, .reread = reread };

	if (tls->cert_dir == NULL || table_init(&fresh, tls->hosted.count) != 0)
		return;
	each(source, sync_name, &s);
	if (s.out_of_memory) {
		table_clear(&fresh);	/* the pairs in use stay */
		daemon_log(LOG_ERR, "certificates of the hosted names: out of memory");
		return;
	}
	table_clear(&tls->hosted);
	tls->hosted = fresh;
}

size_t serve_tls_hosted_count(const struct serve_tls *tls)
{
	return tls->hosted.count;
}

/* ---------------------------------------------------- installed names */

void serve_tls_installed(void *arg, const char *name)
{
	struct serve_tls *tls = arg;
	char line[NAME_MAX_OCTETS + 2];
	size_t len = strlen(name);
	ssize_t written;

	if (len == 0 || len > NAME_MAX_OCTETS || tls->installed_pipe[1] < 0)
		return;
	memcpy(line, name, len);
	line[len] = '\n';
	/* Under PIPE_BUF: one write, whole.  A full pipe loses it until SIGHUP. */
	do
		written = write(tls->installed_pipe[1], line, len + 1);
	while (written < 0 && errno == EINTR);
}

static void on_installed(evutil_socket_t fd, short what, void *arg)
{
	struct serve_tls *tls = arg;
	char buf[4096], *line, *end;
	ssize_t got;

	(void)what;
	while ((got = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[got] = '\0';
		/* Whole lines only: each write was whole and under PIPE_BUF. */
		for (line = buf; (end = strchr(line, '\n')) != NULL; line = end + 1) {
			*end = '\0';
			if (*line != '\0' && strlen(line) <= NAME_MAX_OCTETS)
				pair_load(tls, &tls->hosted, line);
		}
	}
}

int serve_tls_hosting(struct serve_tls *tls, struct event_base *base, const char *cert_dir,
		      struct serve_challenges *challenges)
{
	tls->challenges = challenges;
	if ((tls->cert_dir = strdup(cert_dir)) == NULL ||
	    pipe2(tls->installed_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	tls->installed_event = event_new(base, tls->installed_pipe[0], EV_READ | EV_PERSIST,
					 on_installed, tls);
	if (tls->installed_event == NULL || event_add(tls->installed_event, NULL) != 0)
		return -1;
	return 0;
}

/* --------------------------------------------------------- ClientHello */

/* The host name of the server_name extension into name; false when there is none. */
static bool hello_server_name(SSL *ssl, char *name, size_t size)
{
	const unsigned char *p;
	size_t len, list, name_len;

	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) || len < 5)
		return false;
	list = ((size_t)p[0] << 8) | p[1];
	if (list + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name)
		return false;
	name_len = ((size_t)p[3] << 8) | p[4];
	if (name_len == 0 || name_len + 5 > len || name_len >= size)
		return false;
	memcpy(name, p + 5, name_len);
	name[name_len] = '\0';
	/* A name with a NUL or anything but a host name's characters is none. */
	for (size_t i = 0; i < name_len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

/* Whether the protocol list (RFC 7301 3.1, without its length) names proto. */
static bool alpn_offers(const unsigned char *list, size_t len, const char *proto)
{
	size_t want = strlen(proto);

	while (len > 0) {
		size_t n = list[0];

		if (n == 0 || n + 1 > len)
			return false;
		if (n == want && memcmp(list + 1, proto, n) == 0)
			return true;
		list += n + 1;
		len -= n + 1;
	}
	return false;
}

static bool hello_offers(SSL *ssl, const char *proto)
{
	const unsigned char *p;
	size_t len;

	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
				       &p, &len) || len < 2 || (((size_t)p[0] << 8) | p[1]) != len - 2)
		return false;
	return alpn_offers(p + 2, len - 2, proto);
}

static int on_client_hello(SSL *ssl, int *alert, void *arg)
{
	struct serve_tls *tls = arg;
	char name[NAME_MAX_OCTETS + 1];
	bool named = hello_server_name(ssl, name, sizeof(name));
	struct hosted_pair *pair;
	X509 *cert;
	EVP_PKEY *key;
	int ok;

	SSL_set_ex_data(ssl, choice_index, (void *)(intptr_t)HELLO_CONFIGURED);
	if (tls->challenges != NULL && hello_offers(ssl, ACME_TLS_ALPN)) {
		/* RFC 8737 3: the validation's handshake, for a name with a challenge open. */
		if (!named || !serve_challenges_alpn01(tls->challenges, name, &cert, &key)) {
			*alert = SSL_AD_HANDSHAKE_FAILURE;
			return SSL_CLIENT_HELLO_ERROR;
		}
		ok = SSL_use_cert_and_key(ssl, cert, key, NULL, 1);
		X509_free(cert);
		EVP_PKEY_free(key);
		if (ok != 1) {
			ERR_clear_error();
			*alert = SSL_AD_INTERNAL_ERROR;
			return SSL_CLIENT_HELLO_ERROR;
		}
		SSL_set_ex_data(ssl, choice_index, (void *)(intptr_t)HELLO_ACME);
		return SSL_CLIENT_HELLO_SUCCESS;
	}
	if (named && (pair = table_find(&tls->hosted, name)) != NULL) {
		if (SSL_use_cert_and_key(ssl, pair->cert, pair->key, pair->chain, 1) != 1) {
			ERR_clear_error();
			*alert = SSL_AD_INTERNAL_ERROR;
			return SSL_CLIENT_HELLO_ERROR;
		}
		SSL_set_ex_data(ssl, choice_index, (void *)(intptr_t)HELLO_HOSTED);
		return SSL_CLIENT_HELLO_SUCCESS;
	}
	if (tls->current->count == 0) {
		/* No configured pair: nothing to answer with. */
		*alert = named ? SSL_AD_UNRECOGNIZED_NAME : SSL_AD_HANDSHAKE_FAILURE;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* acme-tls/1 for a challenge's handshake, else http/1.1 when offered. */
static int on_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *out_len,
			  const unsigned char *in, unsigned in_len, void *arg)
{
	const char *proto = choice_of(ssl) == HELLO_ACME ? ACME_TLS_ALPN : HTTP11_ALPN;

	(void)arg;
	for (size_t at = 0; at < in_len && in[at] > 0 && at + 1 + in[at] <= in_len;
	     at += 1 + (size_t)in[at]) {
		if (in[at] == strlen(proto) && memcmp(in + at + 1, proto, in[at]) == 0) {
			*out = in + at + 1;
			*out_len = in[at];
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* A challenge's handshake must agree on acme-tls/1 (RFC 8737 3). */
	return choice_of(ssl) == HELLO_ACME ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

static void context_settings(SSL_CTX *ctx)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

static void context_callbacks(SSL_CTX *ctx, struct serve_tls *tls)
{
	SSL_CTX_set_client_hello_cb(ctx, on_client_hello, tls);
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(ctx, tls);
	SSL_CTX_set_alpn_select_cb(ctx, on_alpn_select, tls);
}

static SSL_CTX *context_new(struct serve_tls *tls, const struct serve_cert_pair *pair,
			    char *why, size_t why_size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char error[256];

	if (ctx == NULL) {
		snprintf(why, why_size, "cannot make a TLS context: out of memory");
		return NULL;
	}
	context_settings(ctx);
	if (!readable(pair->cert, "certificate", why, why_size) ||
	    !readable(pair->key, "private key", why, why_size))
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, pair->cert) != 1) {
		ssl_error(error, sizeof(error));
		snprintf(why, why_size, "%s: cannot read the certificate: %s", pair->cert, error);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, pair->key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(why, why_size, "%s: the key does not belong to the "
				 "certificate in %s", pair->key, pair->cert);
			goto fail;
		}
		ssl_error(error, sizeof(error));
		snprintf(why, why_size, "%s: cannot read the private key: %s", pair->key, error);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(why, why_size, "%s: the key does not belong to the certificate in %s",
			 pair->key, pair->cert);
		goto fail;
	}
	context_callbacks(ctx, tls);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The base context when no pair is configured: hosted names bring their own. */
static SSL_CTX *context_bare(struct serve_tls *tls, char *why, size_t why_size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		snprintf(why, why_size, "cannot make a TLS context: out of memory");
		return NULL;
	}
	context_settings(ctx);
	context_callbacks(ctx, tls);
	return ctx;
}

static struct cert_set *set_new(struct serve_tls *tls, const struct serve_config *config,
				char *why, size_t why_size)
{
	struct cert_set *set = calloc(1, sizeof(*set));

	if (set == NULL) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < config->cert_count; i++) {
		if ((set->ctx[i] = context_new(tls, &config->certs[i], why, why_size)) == NULL) {
			set_free(set);
			return NULL;
		}
		set->count++;
	}
	if (set->count == 0 && (set->ctx[0] = context_bare(tls, why, why_size)) == NULL) {
		free(set);
		return NULL;
	}
	return set;
}

int serve_tls_new(const struct serve_config *config, struct serve_tls **ret_tls,
		  char *why, size_t why_size)
{
	struct serve_tls *tls = calloc(1, sizeof(*tls));

	if (tls == NULL) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	tls->installed_pipe[0] = tls->installed_pipe[1] = -1;
	if (choice_index < 0)
		choice_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((tls->current = set_new(tls, config, why, why_size)) == NULL) {
		free(tls);
		return -1;
	}
	*ret_tls = tls;
	return 0;
}

int serve_tls_reload(struct serve_tls *tls, const struct serve_config *config,
		     char *why, size_t why_size)
{
	struct cert_set *fresh = set_new(tls, config, why, why_size);

	if (fresh == NULL)
		return -1;
	set_free(tls->current);
	tls->current = fresh;
	return 0;
}

SSL *serve_tls_new_ssl(struct serve_tls *tls)
{
	return SSL_new(tls->current->ctx[0]);
}

void serve_tls_describe(const struct serve_tls *tls, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < tls->current->count && used < size; i++) {
		X509 *cert = SSL_CTX_get0_certificate(tls->current->ctx[i]);
		char subject[256] = "?", serial[80] = "?";
		BIGNUM *bn;
		char *hex;

		if (cert != NULL) {
			X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
			bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
			if (bn != NULL && (hex = BN_bn2hex(bn)) != NULL) {
				snprintf(serial, sizeof(serial), "%s", hex);
				OPENSSL_free(hex);
			}
			BN_free(bn);
		}
		used += (size_t)snprintf(buf + used, size - used, "%s%s serial %s",
					 i > 0 ? "; " : "", subject, serial);
	}
}

void serve_tls_free(struct serve_tls *tls)
{
	if (tls == NULL)
		return;
	set_free(tls->current);
	table_clear(&tls->hosted);
	if (tls->installed_event != NULL)
		event_free(tls->installed_event);
	for (size_t i = 0; i < 2; i++)
		if (tls->installed_pipe[i] >= 0)
			close(tls->installed_pipe[i]);
	free(tls->cert_dir);
	free(tls);
}
