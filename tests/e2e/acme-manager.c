/*
 * acme-manager.c - the certificate manager of `mtasts serve`
 * (src/serve_acme.c) with the least around it, for tests/e2e/test-acme:
 * the challenge table answered on a plain HTTP port (http-01) and a TLS
 * port (tls-alpn-01) as serve answers them, and a registry to fill.
 *
 *   acme-manager add REGISTRY DOMAIN...
 *   acme-manager run REGISTRY CERT_DIR DIRECTORY CA_FILE CHALLENGES HTTP_PORT TLS_PORT INTERVAL
 *
 * run prints "installed NAME" for each certificate installed; SIGUSR1
 * wakes the manager, SIGTERM stops it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "daemon_log.h"
#include "domain_registry.h"
#include "serve.h"

static struct serve_challenges *challenges;
static volatile sig_atomic_t got_term, got_wake;

static void on_http(struct evhttp_request *req, void *arg)
{
	static const char prefix[] = "/.well-known/acme-challenge/";
	const char *uri = evhttp_request_get_uri(req);
	char answer[SERVE_KEY_AUTHZ_MAX + 1];
	struct evbuffer *body = evbuffer_new();

	(void)arg;
	if (strncmp(uri, prefix, sizeof(prefix) - 1) == 0 &&
	    serve_challenges_http01(challenges, uri + sizeof(prefix) - 1, answer,
				    sizeof(answer))) {
		evbuffer_add(body, answer, strlen(answer));
		evhttp_send_reply(req, 200, "OK", body);
		fprintf(stderr, "acme-manager: http-01 answered\n");
	} else {
		evhttp_send_reply(req, 404, "Not Found", body);
	}
	evbuffer_free(body);
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char acme[] = "\x0a" "acme-tls/1";

	(void)ssl, (void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, acme, sizeof(acme) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

static int on_servername(SSL *ssl, int *alert, void *arg)
{
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	X509 *cert;
	EVP_PKEY *key;
	int ok;

	(void)alert, (void)arg;
	if (name == NULL || !serve_challenges_alpn01(challenges, name, &cert, &key))
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	ok = SSL_use_certificate(ssl, cert) == 1 && SSL_use_PrivateKey(ssl, key) == 1;
	X509_free(cert);
	EVP_PKEY_free(key);
	return ok ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* tls-alpn-01 handshakes, one at a time: all a validation needs. */
static void *tls_responder(void *arg)
{
	int listener = *(int *)arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	for (;;) {
		struct timeval timeout = { 5, 0 };
		int fd = accept(listener, NULL, NULL);
		SSL *ssl;

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			fprintf(stderr, "acme-manager: tls-alpn-01 answered\n");
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
	}
	return NULL;
}

static int listen_on(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 64) != 0) {
		fprintf(stderr, "acme-manager: port %u: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

static void installed(void *arg, const char *name)
{
	(void)arg;
	printf("installed %s\n", name);
	fflush(stdout);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_wake = 1;
	else
		got_term = 1;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	if (got_term)
		event_base_loopbreak(arg);
}

static int add(int argc, char **argv)
{
	struct domain_registry *registry;
	char why[512];
	char *mx[] = { "mx.example.net" };

	if (domain_registry_open(argv[2], &registry, why, sizeof(why)) != 0) {
		fprintf(stderr, "acme-manager: %s\n", why);
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		struct hosted_domain domain = {
			.mode = MTASTS_MODE_TESTING, .mx = mx, .mx_count = 1, .max_age = 86400,
		};

		snprintf(domain.name, sizeof(domain.name), "%s", argv[i]);
		if (domain_registry_add(registry, &domain, time(NULL), why, sizeof(why)) != 0) {
			fprintf(stderr, "acme-manager: %s\n", why);
			return 1;
		}
	}
	domain_registry_close(registry);
	return 0;
}

static int run(char **argv)
{
	struct serve_config config;
	struct serve_acme *acme;
	struct event_base *base = event_base_new();
	struct evhttp *http = evhttp_new(base);
	struct timeval tick = { 0, 100 * 1000 };
	struct event *timer;
	pthread_t tls_thread;
	char why[SERVE_WHY_SIZE];
	char *types = argv[6], *type;
	int tls_listener;

	serve_config_defaults(&config);
	config.registry = argv[2];
	config.cert_dir = argv[3];
	config.acme_directory = argv[4];
	config.acme_ca_file = argv[5];
	config.acme_email = "hostmaster@example.com";
	config.acme_interval = (unsigned)atoi(argv[9]);
	config.listen_http_count = 1;	/* the plain port below */
	while ((type = strsep(&types, ",")) != NULL)
		config.acme_challenges[config.acme_challenge_count++] = type;
	if (evhttp_bind_socket(http, "127.0.0.1", (uint16_t)atoi(argv[7])) != 0) {
		fprintf(stderr, "acme-manager: port %s taken\n", argv[7]);
		return 1;
	}
	evhttp_set_gencb(http, on_http, NULL);
	tls_listener = listen_on((uint16_t)atoi(argv[8]));
	pthread_create(&tls_thread, NULL, tls_responder, &tls_listener);
	challenges = serve_challenges_new();
	daemon_log_open("mtasts-serve", false, true);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (serve_acme_start(&config, challenges, installed, NULL, &acme, why, sizeof(why)) != 0) {
		fprintf(stderr, "acme-manager: %s\n", why);
		return 1;
	}
	timer = event_new(base, -1, EV_PERSIST, on_tick, base);
	event_add(timer, &tick);
	while (!got_term) {
		event_base_loop(base, EVLOOP_ONCE);
		if (got_wake) {
			got_wake = 0;
			serve_acme_wake(acme);
		}
	}
	serve_acme_stop(acme);
	printf("stopped\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "add") == 0)
		return add(argc, argv);
	if (argc == 10 && strcmp(argv[1], "run") == 0)
		return run(argv);
	fprintf(stderr, "usage: acme-manager add REGISTRY DOMAIN... | run REGISTRY CERT_DIR "
		"DIRECTORY CA_FILE CHALLENGES HTTP_PORT TLS_PORT INTERVAL\n");
	return 2;
}
