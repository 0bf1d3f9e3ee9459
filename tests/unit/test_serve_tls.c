/*
 * test_serve_tls.c - the certificates of `mtasts serve` for hosted names
 * and TLS-ALPN-01, by whole handshakes in memory (a BIO pair) against the
 * server objects serve_tls_new_ssl() makes: the pair of cert_dir chosen by
 * SNI, no configured pair (a name without one fails), a key readable by
 * others refused, ALPN http/1.1 chosen, acme-tls/1 answered with the
 * challenge's certificate or refused, and a name the certificate manager
 * installed (told from another thread) read on the loop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "unit.h"

#include "serve.h"

struct fixture {
	char dir[64];
	struct serve_config config;
	struct event_base *base;
	struct serve_challenges *challenges;
	struct serve_tls *tls;
};

/* A self-signed certificate for name, and its key. */
static void make_pair(const char *name, X509 **ret_cert, EVP_PKEY **ret_key)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_NAME *subject = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *san;
	char value[300];

	assert_non_null(key);
	assert_non_null(cert);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)random());
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)name, -1,
				   -1, 0);
	X509_set_subject_name(cert, subject);
	X509_set_issuer_name(cert, subject);
	X509_set_pubkey(cert, key);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	snprintf(value, sizeof(value), "DNS:%s", name);
	assert_non_null(san = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, value));
	X509_add_ext(cert, san, -1);
	X509_EXTENSION_free(san);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	X509_NAME_free(subject);
	*ret_cert = cert;
	*ret_key = key;
}

/* name's pair in cert_dir, the key with mode key_mode; the certificate returned. */
static X509 *write_pair(const struct fixture *f, const char *name, mode_t key_mode)
{
	char cert_path[256], key_path[256];
	X509 *cert;
	EVP_PKEY *key;
	FILE *out;

	make_pair(name, &cert, &key);
	serve_cert_paths(f->dir, name, cert_path, key_path, sizeof(cert_path));
	assert_non_null(out = fopen(cert_path, "w"));
	assert_true(PEM_write_X509(out, cert));
	fclose(out);
	assert_non_null(out = fopen(key_path, "w"));
	assert_true(PEM_write_PrivateKey(out, key, NULL, NULL, 0, NULL, NULL));
	fclose(out);
	assert_int_equal(chmod(key_path, key_mode), 0);
	EVP_PKEY_free(key);
	return cert;
}

static const char *const *hosted_names;

static void each_hosted(void *source, serve_name_fn *fn, void *arg)
{
	(void)source;
	for (size_t i = 0; hosted_names[i] != NULL; i++)
		fn(arg, hosted_names[i]);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char why[SERVE_WHY_SIZE] = "";

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mtasts-tls.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(f->base = event_base_new());
	assert_non_null(f->challenges = serve_challenges_new());
	/* No configured pair: every certificate comes from cert_dir. */
	if (serve_tls_new(&f->config, &f->tls, why, sizeof(why)) != 0)
		fail_msg("serve_tls_new: %s", why);
	assert_int_equal(serve_tls_hosting(f->tls, f->base, f->dir, f->challenges), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	serve_tls_free(f->tls);
	serve_challenges_free(f->challenges);
	event_base_free(f->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

struct outcome {
	bool done;
	X509 *peer;			/* the certificate the server sent; free it */
	char alpn[32];
	bool acme;			/* serve_tls_is_acme() of the server's side */
};

/* A whole handshake in memory for sni, offering the ALPN list (wire format) alpn. */
static struct outcome handshake(struct fixture *f, const char *sni, const unsigned char *alpn,
				size_t alpn_len)
{
	SSL_CTX *client_ctx = SSL_CTX_new(TLS_client_method());
	SSL *client = SSL_new(client_ctx), *server = serve_tls_new_ssl(f->tls);
	BIO *client_bio, *server_bio;
	struct outcome o = { 0 };
	const unsigned char *selected;
	unsigned selected_len;

	assert_non_null(client);
	assert_non_null(server);
	assert_int_equal(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
	SSL_set_bio(client, client_bio, client_bio);
	SSL_set_bio(server, server_bio, server_bio);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	if (sni != NULL)
		SSL_set_tlsext_host_name(client, sni);
	if (alpn != NULL)
		assert_int_equal(SSL_set_alpn_protos(client, alpn, (unsigned)alpn_len), 0);
	for (int round = 0; round < 20 && !o.done; round++) {
		int c = SSL_do_handshake(client), s = SSL_do_handshake(server);

		if ((c <= 0 && SSL_get_error(client, c) != SSL_ERROR_WANT_READ) ||
		    (s <= 0 && SSL_get_error(server, s) != SSL_ERROR_WANT_READ))
			break;
		o.done = c == 1 && s == 1;
	}
	ERR_clear_error();
	if (o.done) {
		o.peer = SSL_get1_peer_certificate(client);
		SSL_get0_alpn_selected(client, &selected, &selected_len);
		if (selected != NULL && selected_len < sizeof(o.alpn))
			memcpy(o.alpn, selected, selected_len);
		o.acme = serve_tls_is_acme(server);
	}
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(client_ctx);
	return o;
}

/* Whether the handshake completes (its outcome dropped). */
static bool handshake_ok(struct fixture *f, const char *sni, const unsigned char *alpn,
			 size_t alpn_len)
{
	struct outcome o = handshake(f, sni, alpn, alpn_len);

	X509_free(o.peer);
	return o.done;
}

static const unsigned char alpn_http[] = "\x02h2\x08http/1.1";
static const unsigned char alpn_acme[] = "\x0a" "acme-tls/1";

static void hosted_pair_by_sni(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "mta-sts.a.example", "mta-sts.b.example", NULL };
	X509 *a = write_pair(f, "mta-sts.a.example", 0600);
	struct outcome o;

	hosted_names = names;
	serve_tls_hosted_sync(f->tls, each_hosted, NULL, false);
	assert_int_equal(serve_tls_hosted_count(f->tls), 1);
	o = handshake(f, "mta-sts.a.example", alpn_http, sizeof(alpn_http) - 1);
	assert_true(o.done);
	assert_int_equal(X509_cmp(o.peer, a), 0);
	assert_string_equal(o.alpn, "http/1.1");
	assert_false(o.acme);
	X509_free(o.peer);
	o = handshake(f, "MTA-STS.A.EXAMPLE", NULL, 0);
	assert_true(o.done);
	assert_int_equal(X509_cmp(o.peer, a), 0);
	assert_string_equal(o.alpn, "");
	X509_free(o.peer);
	/* No certificate of its own and no configured pair: no handshake. */
	assert_false(handshake_ok(f, "mta-sts.b.example", NULL, 0));
	assert_false(handshake_ok(f, NULL, NULL, 0));
	X509_free(a);
}

static void key_readable_by_others(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "mta-sts.a.example", NULL };
	X509 *a = write_pair(f, "mta-sts.a.example", 0644);

	hosted_names = names;
	serve_tls_hosted_sync(f->tls, each_hosted, NULL, false);
	assert_int_equal(serve_tls_hosted_count(f->tls), 0);
	assert_false(handshake_ok(f, "mta-sts.a.example", NULL, 0));
	X509_free(a);
}

static void names_follow_the_registry(void **state)
{
	struct fixture *f = *state;
	static const char *const both[] = { "mta-sts.a.example", "mta-sts.b.example", NULL };
	static const char *const one[] = { "mta-sts.b.example", NULL };
	X509 *a = write_pair(f, "mta-sts.a.example", 0600);
	X509 *b = write_pair(f, "mta-sts.b.example", 0600);

	hosted_names = both;
	serve_tls_hosted_sync(f->tls, each_hosted, NULL, false);
	assert_int_equal(serve_tls_hosted_count(f->tls), 2);
	hosted_names = one;		/* a.example left the registry */
	serve_tls_hosted_sync(f->tls, each_hosted, NULL, false);
	assert_int_equal(serve_tls_hosted_count(f->tls), 1);
	assert_false(handshake_ok(f, "mta-sts.a.example", NULL, 0));
	assert_true(handshake_ok(f, "mta-sts.b.example", NULL, 0));
	X509_free(a);
	X509_free(b);
}

static void tls_alpn_01(void **state)
{
	struct fixture *f = *state;
	X509 *challenge;
	EVP_PKEY *key;
	struct outcome o;

	make_pair("mta-sts.c.example", &challenge, &key);
	assert_int_equal(serve_challenges_put_alpn01(f->challenges, "mta-sts.c.example",
						     challenge, key), 0);
	o = handshake(f, "mta-sts.c.example", alpn_acme, sizeof(alpn_acme) - 1);
	assert_true(o.done);
	assert_int_equal(X509_cmp(o.peer, challenge), 0);
	assert_string_equal(o.alpn, "acme-tls/1");
	assert_true(o.acme);
	X509_free(o.peer);
	/* No challenge open for that name: the handshake fails. */
	assert_false(handshake_ok(f, "mta-sts.d.example", alpn_acme, sizeof(alpn_acme) - 1));
	serve_challenges_drop_alpn01(f->challenges, "mta-sts.c.example");
	assert_false(handshake_ok(f, "mta-sts.c.example", alpn_acme, sizeof(alpn_acme) - 1));
	/* Without acme-tls/1 the challenge's certificate is not used. */
	assert_int_equal(serve_challenges_put_alpn01(f->challenges, "mta-sts.c.example",
						     challenge, key), 0);
	assert_false(handshake_ok(f, "mta-sts.c.example", alpn_http, sizeof(alpn_http) - 1));
	X509_free(challenge);
	EVP_PKEY_free(key);
}

struct installer {
	struct serve_tls *tls;
	const char *name;
};

static void *install_from_thread(void *arg)
{
	struct installer *i = arg;

	serve_tls_installed(i->tls, i->name);
	return NULL;
}

static void installed_from_another_thread(void **state)
{
	struct fixture *f = *state;
	struct installer installer = { f->tls, "mta-sts.e.example" };
	struct timeval shortly = { 0, 200000 };
	pthread_t thread;
	X509 *e = write_pair(f, "mta-sts.e.example", 0600);
	struct outcome o;

	assert_false(handshake_ok(f, "mta-sts.e.example", NULL, 0));
	assert_int_equal(pthread_create(&thread, NULL, install_from_thread, &installer), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(serve_tls_hosted_count(f->tls), 0);	/* not before the loop runs */
	event_base_loopexit(f->base, &shortly);
	event_base_dispatch(f->base);
	assert_int_equal(serve_tls_hosted_count(f->tls), 1);
	o = handshake(f, "mta-sts.e.example", NULL, 0);
	assert_true(o.done);
	assert_int_equal(X509_cmp(o.peer, e), 0);
	X509_free(o.peer);
	X509_free(e);
}

static void cert_paths(void **state)
{
	char cert[64], key[64];

	(void)state;
	serve_cert_paths("/var/lib/mtasts/certs", "mta-sts.example.com", cert, key, sizeof(cert));
	assert_string_equal(cert, "/var/lib/mtasts/certs/mta-sts.example.com.pem");
	assert_string_equal(key, "/var/lib/mtasts/certs/mta-sts.example.com.key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hosted_pair_by_sni, setup, teardown),
		cmocka_unit_test_setup_teardown(key_readable_by_others, setup, teardown),
		cmocka_unit_test_setup_teardown(names_follow_the_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(tls_alpn_01, setup, teardown),
		cmocka_unit_test_setup_teardown(installed_from_another_thread, setup, teardown),
		cmocka_unit_test(cert_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
