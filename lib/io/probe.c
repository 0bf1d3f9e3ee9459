/*
 * probe.c - one connection to one address: SMTP up to STARTTLS (as a
 * sending MTA would) or TLS at once, then the handshake and what the
 * server's certificate says, on a libevent bufferevent.
 *
 * DESCRIPTION
 *	The socket is a plain bufferevent.  TLS runs over it through a pair
 *	of memory BIOs: bytes read from the socket are written into the
 *	SSL's read BIO, and what OpenSSL writes is moved to the socket's
 *	output.  So STARTTLS is only a change of who reads the input, and
 *	the library needs nothing beyond libevent and OpenSSL.
 *
 *	The handshake accepts TLS 1.0 and up at security level 0 without
 *	verifying, so that an old or weak server can still be described;
 *	the certificate is then judged by tls_verify_judge(), the judgement
 *	every command shares, so that a bad certificate is a finding, not a
 *	failed probe.
 *
 *	All results are delivered from an event callback: the timer (also
 *	used with a zero delay to report a failure found while starting or
 *	a connection that is already closed) or a bufferevent callback once
 *	the last bytes (QUIT, close_notify) have left.
 *
 *	A timeout_ms of 0 means 10 seconds.  Writing to a connection the peer
 *	has closed raises SIGPIPE: programs using probes ignore it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "probe.h"
#include "resources.h"
#include "smtp_reply.h"
#include "util.h"

#define PROBE_DEFAULT_TIMEOUT_MS 10000
#define PROBE_DEFAULT_HELO "mtasts.invalid"

enum probe_phase {
	PHASE_START_FAILED,	/* nothing to do but report */
	PHASE_CONNECT,
	PHASE_SMTP,		/* reading replies */
	PHASE_TLS,		/* handshaking */
	PHASE_CLOSING,		/* sending the last bytes, then report */
};

struct probe {
	struct probe_list *list;
	struct probe *prev, *next;	/* in list */
	struct event_base *base;
	struct bufferevent *bev;
	struct event *timer;
	SSL_CTX *ctx;
	SSL *ssl;
	enum probe_phase phase;
	bool smtp;
	unsigned timeout_ms;
	unsigned connect_timeout_ms;	/* the limit while connecting */
	long long started_ms;		/* monotonic, when the probe started */
	time_t now;
	char *server_name;
	char *helo_name;
	struct sockaddr_storage address;
	struct smtp_reply reply;
	probe_done_fn *fn;
	void *arg;
	struct probe_result result;
};

static void set_error(struct probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->result.error, sizeof(p->result.error), fmt, ap);
	va_end(ap);
}

static void certificate_clear(struct probe_certificate *c)
{
	free(c->subject);
	free(c->issuer);
	tls_names_free(c->names);
	memset(c, 0, sizeof(*c));
}

static void probe_free(struct probe *p)
{
	if (p->list != NULL) {
		if (p->prev != NULL)
			p->prev->next = p->next;
		else
			p->list->head = p->next;
		if (p->next != NULL)
			p->next->prev = p->prev;
	}
	certificate_clear(&p->result.certificate);
	SSL_free(p->ssl);
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	if (p->timer != NULL)
		event_free(p->timer);
	SSL_CTX_free(p->ctx);
	free(p->server_name);
	free(p->helo_name);
	free(p);
}

/* The end: the callback, then nothing of the probe is left. */
static void deliver(struct probe *p)
{
	p->fn(p->arg, &p->result);
	probe_free(p);
}

void probe_list_cancel(struct probe_list *list)
{
	while (list->head != NULL) {
		struct probe *p = list->head;

		set_error(p, "cancelled: the program is ending");
		deliver(p);
	}
}

/* Has the timer fire at once, so that deliver() runs from the loop. */
static void deliver_soon(struct probe *p)
{
	static const struct timeval now = { 0, 0 };

	evtimer_del(p->timer);
	evtimer_add(p->timer, &now);
}

/* Stops reading; reports once what was written has left (or at once). */
static void close_politely(struct probe *p, bool usable)
{
	p->phase = PHASE_CLOSING;
	bufferevent_disable(p->bev, EV_READ);
	if (!usable || evbuffer_get_length(bufferevent_get_output(p->bev)) == 0)
		deliver_soon(p);
}

/* Sends "COMMAND ARG\r\n" (or "COMMAND\r\n" when arg is NULL). */
static void smtp_send(struct probe *p, const char *command, const char *arg)
{
	struct evbuffer *out = bufferevent_get_output(p->bev);

	if (arg != NULL)
		evbuffer_add_printf(out, "%s %s\r\n", command, arg);
	else
		evbuffer_add_printf(out, "%s\r\n", command);
}

static void smtp_quit(struct probe *p)
{
	smtp_send(p, "QUIT", NULL);
	close_politely(p, true);
}

/* ---- SMTP replies ---- */

/* Reads a whole reply: 1 when read, 0 when more input is needed, -1 bad. */
static int reply_read(struct probe *p, struct evbuffer *in)
{
	/* A whole reply at its longest, and a little more. */
	size_t len = evbuffer_get_length(in), used = 0;
	const size_t most = (size_t)SMTP_REPLY_LINES_MAX * (SMTP_REPLY_LINE_MAX + 2) + 2;
	const char *data;
	int rc;

	if (len == 0)
		return 0;
	if (len > most)
		len = most;
	if ((data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len)) == NULL) {
		set_error(p, "out of memory reading a reply");
		return -1;
	}
	rc = smtp_reply_read(&p->reply, data, len, &used);
	evbuffer_drain(in, used);
	if (rc < 0) {
		set_error(p, "malformed reply: %s%s%s", smtp_reply_error_text(rc),
			  p->reply.first[0] != '\0' ? ", after " : "", p->reply.first);
		return -1;
	}
	return rc;
}

static void tls_begin(struct probe *p);

static void on_greeting(struct probe *p)
{
	struct probe_result *res = &p->result;

	snprintf(res->greeting, sizeof(res->greeting), "%s", p->reply.first);
	if (p->reply.code != 220) {
		set_error(p, "greeting: %s", p->reply.first);
		smtp_quit(p);
		return;
	}
	res->stage = PROBE_STAGE_EHLO;
	smtp_send(p, "EHLO", p->helo_name);
}

static void on_ehlo(struct probe *p)
{
	struct probe_result *res = &p->result;

	if (p->reply.code != 250) {
		set_error(p, "EHLO refused: %s", p->reply.first);
		smtp_quit(p);
		return;
	}
	res->stage = PROBE_STAGE_STARTTLS;
	res->starttls_offered = (p->reply.extensions & SMTP_EXT_STARTTLS) != 0;
	if (!res->starttls_offered) {
		set_error(p, "STARTTLS not offered");
		smtp_quit(p);
		return;
	}
	smtp_send(p, "STARTTLS", NULL);
}

static void on_starttls(struct probe *p)
{
	struct evbuffer *in = bufferevent_get_input(p->bev);

	p->result.starttls_reply = p->reply.code;
	if (p->reply.code != 220) {
		set_error(p, "STARTTLS refused: %s", p->reply.first);
		smtp_quit(p);
		return;
	}
	/* Anything sent before our ClientHello was injected: drop it. */
	evbuffer_drain(in, evbuffer_get_length(in));
	p->result.stage = PROBE_STAGE_HANDSHAKE;
	tls_begin(p);
}

static void smtp_read(struct probe *p)
{
	struct evbuffer *in = bufferevent_get_input(p->bev);
	int rc;

	while (p->phase == PHASE_SMTP) {
		rc = reply_read(p, in);
		if (rc == 0)
			return;
		if (rc < 0) {
			close_politely(p, false);
			return;
		}
		if (p->result.stage == PROBE_STAGE_GREETING)
			on_greeting(p);
		else if (p->result.stage == PROBE_STAGE_EHLO)
			on_ehlo(p);
		else
			on_starttls(p);
		smtp_reply_init(&p->reply);
	}
}

/* ---- the certificate ---- */

static char *name_text(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *text = NULL;
	long len;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(bio, &data);
		if (len >= 0)
			text = strndup(data, (size_t)len);
	}
	BIO_free(bio);
	return text;
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static long days_until(time_t then, time_t now)
{
	long long diff = (long long)then - (long long)now;
	long long days = diff / 86400;

	if (diff % 86400 != 0 && diff < 0)
		days--;		/* rounded down, not towards zero */
	return (long)days;
}

static bool is_ip_literal(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* The one judgement (tls_verify.c), then its parts as the probe reports them. */
static void cert_judge(struct probe *p, X509 *cert, struct probe_certificate *c)
{
	const char *host = p->server_name != NULL && *p->server_name != '\0' &&
			   !is_ip_literal(p->server_name) ? p->server_name : NULL;
	struct tls_judgement *j = &c->judgement;

	if (tls_verify_judge(SSL_CTX_get_cert_store(p->ctx), cert,
			     SSL_get_peer_cert_chain(p->ssl), host, p->now, j) != 0) {
		j->valid = false;
		j->error_count = 1;
		j->errors[0] = j->first_error = X509_V_ERR_OUT_OF_MEM;
	}
	c->chain_valid = true;
	c->verify_error = X509_V_OK;
	for (size_t i = 0; i < j->error_count; i++) {
		if (j->errors[i] == X509_V_ERR_HOSTNAME_MISMATCH)
			continue;
		c->chain_valid = false;
		c->verify_error = j->errors[i];
		break;
	}
	c->verify_message = tls_cert_error_text(c->verify_error);
	/* An IP address is no DNS-ID: an address literal is checked as such. */
	c->name_matches = host != NULL ? j->name_matches :
		p->server_name != NULL && *p->server_name != '\0' &&
		X509_check_ip_asc(cert, p->server_name, 0) == 1;
	if (host == NULL && !c->name_matches && j->valid) {
		j->valid = false;
		j->errors[j->error_count++] = j->first_error = X509_V_ERR_IP_ADDRESS_MISMATCH;
	}
	c->self_signed = j->self_signed;
}

static void cert_describe(struct probe *p, X509 *cert)
{
	struct probe_certificate *c = &p->result.certificate;
	time_t now = p->now != 0 ? p->now : time(NULL);

	c->subject = name_text(X509_get_subject_name(cert));
	c->issuer = name_text(X509_get_issuer_name(cert));
	if (tls_cert_dns_names(cert, &c->names, &c->name_count) != 0) {
		c->names = NULL;
		c->name_count = 0;
	}
	c->not_before = asn1_time(X509_get0_notBefore(cert));
	c->not_after = asn1_time(X509_get0_notAfter(cert));
	/* An unreadable date says nothing of expiry (the chain check does). */
	c->days_to_expiry = c->not_after != 0 ? days_until(c->not_after, now) : LONG_MAX;
	cert_judge(p, cert, c);
	ERR_clear_error();
}

/* ---- TLS over the bufferevent ---- */

/* Moves what OpenSSL wrote to the socket. */
static void tls_flush(struct probe *p)
{
	BIO *wbio = SSL_get_wbio(p->ssl);
	char buf[4096];
	int n;

	while ((n = BIO_read(wbio, buf, sizeof(buf))) > 0)
		bufferevent_write(p->bev, buf, (size_t)n);
}

/* Moves what the socket received to OpenSSL; false when out of memory. */
static bool tls_feed(struct probe *p)
{
	struct evbuffer *in = bufferevent_get_input(p->bev);
	size_t len = evbuffer_get_length(in);
	unsigned char *data;

	if (len == 0)
		return true;
	if (len > INT32_MAX)
		len = INT32_MAX;
	data = evbuffer_pullup(in, (ev_ssize_t)len);
	if (data == NULL || BIO_write(SSL_get_rbio(p->ssl), data, (int)len) != (int)len)
		return false;
	evbuffer_drain(in, len);
	return true;
}

static void tls_error(struct probe *p, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char text[200];

	if (e != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		set_error(p, "%s: %s", what, text);
	} else {
		set_error(p, "%s", what);
	}
	ERR_clear_error();
}

static void tls_done(struct probe *p)
{
	struct probe_result *res = &p->result;
	X509 *cert = SSL_get0_peer_certificate(p->ssl);

	res->stage = PROBE_STAGE_DONE;
	res->tls_version = SSL_get_version(p->ssl);
	res->cipher = SSL_get_cipher_name(p->ssl);
	if (cert != NULL) {
		res->has_certificate = true;
		cert_describe(p, cert);
	}
	ERR_clear_error();
	if (p->smtp)
		SSL_write(p->ssl, "QUIT\r\n", 6);
	SSL_shutdown(p->ssl);
	ERR_clear_error();
	tls_flush(p);
	close_politely(p, true);
}

static void tls_step(struct probe *p)
{
	int rc;

	if (!tls_feed(p)) {
		set_error(p, "TLS handshake: out of memory");
		close_politely(p, false);
		return;
	}
	ERR_clear_error();
	rc = SSL_do_handshake(p->ssl);
	if (rc == 1) {
		tls_flush(p);
		tls_done(p);
		return;
	}
	if (SSL_get_error(p->ssl, rc) == SSL_ERROR_WANT_READ) {
		tls_flush(p);
		return;
	}
	tls_error(p, "TLS handshake failed");
	tls_flush(p);		/* the alert, if OpenSSL made one */
	close_politely(p, true);
}

static void tls_begin(struct probe *p)
{
	BIO *rbio, *wbio;

	p->phase = PHASE_TLS;
	p->ssl = SSL_new(p->ctx);
	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(BIO_s_mem());
	if (p->ssl == NULL || rbio == NULL || wbio == NULL) {
		BIO_free(rbio);
		BIO_free(wbio);
		tls_error(p, "TLS setup failed");
		close_politely(p, false);
		return;
	}
	BIO_set_mem_eof_return(rbio, -1);	/* empty means "wait", not EOF */
	SSL_set_bio(p->ssl, rbio, wbio);
	SSL_set_connect_state(p->ssl);
	if (p->server_name != NULL && *p->server_name != '\0' &&
	    !is_ip_literal(p->server_name) &&
	    SSL_set_tlsext_host_name(p->ssl, p->server_name) != 1) {
		tls_error(p, "TLS setup failed (server name)");
		close_politely(p, false);
		return;
	}
	tls_step(p);
}

/* ---- events ---- */

static void on_connected(struct probe *p);

static void on_read(struct bufferevent *bev, void *arg)
{
	struct probe *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (p->phase == PHASE_CONNECT)
		on_connected(p);
	if (p->phase == PHASE_SMTP)
		smtp_read(p);
	else if (p->phase == PHASE_TLS)
		tls_step(p);
	else
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct probe *p = arg;

	if (p->phase == PHASE_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		deliver(p);
}

static void arm_timer(struct probe *p, unsigned ms)
{
	struct timeval limit = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(p->timer, &limit);
}

/* Reading waits for this: a greeting can arrive with the connect. */
static void on_connected(struct probe *p)
{
	/* Connected: the dialogue has what is left of the one time limit. */
	if (p->connect_timeout_ms < p->timeout_ms) {
		long long left = p->started_ms + p->timeout_ms - monotonic_ms();

		arm_timer(p, left > 0 ? (unsigned)left : 0);
	}
	bufferevent_enable(p->bev, EV_READ);
	if (p->smtp) {
		p->phase = PHASE_SMTP;
		p->result.stage = PROBE_STAGE_GREETING;
	} else {
		p->result.stage = PROBE_STAGE_HANDSHAKE;
		tls_begin(p);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct probe *p = arg;
	int err = errno;

	if (what & BEV_EVENT_CONNECTED) {
		if (p->phase == PHASE_CONNECT)
			on_connected(p);
		return;
	}
	if (p->phase == PHASE_CLOSING) {
		deliver(p);
		return;
	}
	if (p->phase == PHASE_CONNECT) {
		set_error(p, "connect: %s", err != 0 ? strerror(err) : "failed");
		p->result.local_error = resources_errno_is_local(err);
	}
	else if (what & BEV_EVENT_EOF)
		set_error(p, "connection closed by the server%s",
			  p->phase == PHASE_TLS ? " during the TLS handshake" : "");
	else
		set_error(p, "connection error: %s", err != 0 ? strerror(err) : "unknown");
	deliver(p);
}

static const char *stage_name(enum probe_stage stage)
{
	static const char *const names[] = {
		"connect", "greeting", "EHLO", "STARTTLS", "TLS handshake", "done",
	};

	return (unsigned)stage < sizeof(names) / sizeof(names[0]) ? names[stage] : "?";
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	if (p->phase != PHASE_START_FAILED && p->phase != PHASE_CLOSING) {
		p->result.timed_out = true;
		set_error(p, "timed out after %u ms (%s)",
			  p->result.stage == PROBE_STAGE_CONNECT ?
			  p->connect_timeout_ms : p->timeout_ms,
			  stage_name(p->result.stage));
	}
	deliver(p);
}

/* ---- starting ---- */

static int make_context(struct probe *p, X509_STORE *shared, const char *ca_file)
{
	X509_STORE *store;

	p->ctx = SSL_CTX_new(TLS_client_method());
	if (p->ctx == NULL)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(p->ctx, TLS1_VERSION);
	SSL_CTX_set_security_level(p->ctx, 0);
	SSL_CTX_set_options(p->ctx, SSL_OP_LEGACY_SERVER_CONNECT);
	SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
	/* The store every judgement uses (tls_verify.c), read once when shared. */
	if (shared != NULL && X509_STORE_up_ref(shared) == 1) {
		store = shared;
	} else {
		if (ca_file != NULL && access(ca_file, R_OK) != 0)
			return -errno;
		if ((store = tls_verify_store_new(ca_file)) == NULL)
			return -EINVAL;
	}
	SSL_CTX_set_cert_store(p->ctx, store);
	return 0;
}

static int check_request(const struct probe_request *req)
{
	const char *helo = req->helo_name;
	int family;

	if (req->address == NULL)
		return -EINVAL;
	family = req->address->ss_family;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (helo != NULL && (*helo == '\0' || strlen(helo) > 255 ||
			     strpbrk(helo, " \t\r\n") != NULL))
		return -EINVAL;
	if (req->server_name != NULL && strlen(req->server_name) > 255)
		return -EINVAL;
	return 0;
}

static void set_address(struct probe *p, const struct sockaddr_storage *ss,
			uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&p->address;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->address;

	p->address = *ss;
	if (ss->ss_family == AF_INET)
		sin->sin_port = htons(port);
	else
		sin6->sin6_port = htons(port);
	address_text(ss, p->result.address, sizeof(p->result.address));
}

static struct probe *probe_new(struct event_base *base,
			       const struct probe_request *req)
{
	struct probe *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->base = base;
	p->smtp = req->smtp;
	p->now = req->now;
	p->timeout_ms = req->timeout_ms != 0 ? req->timeout_ms : PROBE_DEFAULT_TIMEOUT_MS;
	p->connect_timeout_ms = req->connect_timeout_ms != 0 &&
				req->connect_timeout_ms < p->timeout_ms ?
				req->connect_timeout_ms : p->timeout_ms;
	p->phase = PHASE_CONNECT;
	p->started_ms = monotonic_ms();
	p->result.stage = PROBE_STAGE_CONNECT;
	set_address(p, req->address, req->port);
	p->helo_name = strdup(req->helo_name != NULL ? req->helo_name : PROBE_DEFAULT_HELO);
	if (req->server_name != NULL)
		p->server_name = strdup(req->server_name);
	p->timer = evtimer_new(base, on_timer, p);
	p->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (p->helo_name == NULL || (req->server_name != NULL && p->server_name == NULL) ||
	    p->timer == NULL || p->bev == NULL) {
		probe_free(p);
		return NULL;
	}
	return p;
}

static socklen_t address_length(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
					: sizeof(struct sockaddr_in6);
}

int probe_start(struct event_base *base, const struct probe_request *request,
		probe_done_fn *fn, void *arg)
{
	struct timeval limit;
	struct probe *p;
	int rc;

	if (base == NULL || request == NULL || fn == NULL)
		return -EINVAL;
	rc = check_request(request);
	if (rc != 0)
		return rc;
	p = probe_new(base, request);
	if (p == NULL)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	if ((p->list = request->list) != NULL) {
		p->next = p->list->head;
		if (p->next != NULL)
			p->next->prev = p;
		p->list->head = p;
	}
	rc = make_context(p, request->store, request->ca_file);
	if (rc != 0) {
		probe_free(p);
		return rc;
	}
	limit.tv_sec = p->connect_timeout_ms / 1000;
	limit.tv_usec = (p->connect_timeout_ms % 1000) * 1000;
	if (evtimer_add(p->timer, &limit) != 0) {
		probe_free(p);
		return -ENOMEM;
	}
	/* Callbacks only after the connect: a synchronous failure is reported
	 * from the loop like any other. */
	errno = 0;
	if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&p->address,
				       (int)address_length(&p->address)) != 0) {
		set_error(p, "connect: %s", errno != 0 ? strerror(errno) : "failed");
		p->result.local_error = resources_errno_is_local(errno);
		p->phase = PHASE_START_FAILED;
		deliver_soon(p);
		return 0;
	}
	bufferevent_setcb(p->bev, on_read, on_write, on_event, p);
	return 0;
}
