/*
 * test_tls_verify.c - the one certificate judgement (lib/io/tls_verify.c),
 * table-driven.
 *
 * A small PKI is made in memory at start: a trusted root, intermediates
 * under it (a sound one, one signed with SHA-1, one with an RSA 1024-bit
 * key), a second root the store does not hold, and the keys the leaves use.  Each case makes a leaf with the names, key, digest, issuer and
 * validity it asks for, judges it with tls_verify_judge() and then lets a
 * client whose context tls_verify_configure_ctx() set up shake hands with a
 * server presenting it: the handshake must fail exactly when the judgement
 * is not valid, with the judgement's first error as its verify result.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "unit.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls_verify.h"

#define NOW ((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define DAY 86400L
#define YEAR (365 * DAY)

enum key_choice { KEY_EC, KEY_RSA2048, KEY_RSA1024 };

enum issuer_choice {
	BY_ROOT,		/* the trusted root */
	BY_INTERMEDIATE,	/* the intermediate, which the server sends */
	BY_INTERMEDIATE_UNSENT,	/* the intermediate, which the server leaves out */
	BY_SHA1_INTERMEDIATE,	/* an intermediate the root signed with SHA-1 */
	BY_WEAK_INTERMEDIATE,	/* an intermediate with an RSA 1024-bit key */
	BY_SELF,		/* the leaf itself */
	BY_UNKNOWN_CA,		/* a root the store does not hold */
	BY_IMPOSTOR,		/* names the trusted root, signed by another key */
};

/* One subjectAltName entry: type, and value of len octets. */
struct san {
	int type;
	const char *value;
	size_t len;
};

#define DNS(s) { GEN_DNS, (s), sizeof(s) - 1 }
#define IP4(s) { GEN_IPADD, (s), 4 }
#define EMAIL(s) { GEN_EMAIL, (s), sizeof(s) - 1 }
#define SANS(...) ((const struct san[]){ __VA_ARGS__, { 0, NULL, 0 } })

struct period {
	long from, until;	/* seconds from NOW */
};

#define PERIOD(f, u) (&(const struct period){ (f), (u) })

struct leaf_spec {
	const char *cn;		/* subject CN; NULL: "leaf" */
	const struct san *sans;	/* NULL: no subjectAltName extension */
	enum key_choice key;
	enum issuer_choice issuer;
	bool sha1;		/* signed with SHA-1 rather than SHA-256 */
	const char *eku;	/* an extendedKeyUsage value, or none */
	const struct period *period;	/* NULL: from a day ago for 90 days */
};

struct want {
	bool valid;
	enum tls_cert_kind kind;	/* of the first error */
	long first;			/* the first error */
	bool name_matches;
	bool self_signed;
	long also[3];			/* more errors it records, ended by 0 */
};

#define VALID { .valid = true, .kind = TLS_CERT_OK, .first = X509_V_OK, \
		.name_matches = true }
#define BAD(k, err, names, ...) { .valid = false, .kind = TLS_CERT_##k, \
		.first = X509_V_ERR_##err, .name_matches = (names), __VA_ARGS__ }

struct judge_case {
	const char *what;
	const char *host;	/* NULL: no name check */
	struct leaf_spec leaf;
	struct want want;
};

static const struct judge_case judge_cases[] = {
	{ "SAN: the exact name", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")) }, VALID },
	{ "SAN: names compare without case", "MX.Example.COM",
	  { .sans = SANS(DNS("mx.example.com")) }, VALID },
	{ "SAN: the host is the second of three", "mx2.example.com",
	  { .sans = SANS(DNS("mx1.example.com"), DNS("mx2.example.com"),
			 DNS("mx3.example.com")) }, VALID },
	{ "SAN: a trailing dot on the host does not match (callers strip it)",
	  "mx.example.com.",
	  { .sans = SANS(DNS("mx.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "SAN: a sibling name does not match", "mx.example.com",
	  { .sans = SANS(DNS("mx1.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "SAN: an RSA 2048-bit key is enough", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .key = KEY_RSA2048 }, VALID },
	{ "wildcard: *.example.com matches one label", "a.example.com",
	  { .sans = SANS(DNS("*.example.com")) }, VALID },
	{ "wildcard: not two labels", "a.b.example.com",
	  { .sans = SANS(DNS("*.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "wildcard: not the bare domain", "example.com",
	  { .sans = SANS(DNS("*.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "wildcard: a partial wildcard never matches", "foo.example.com",
	  { .sans = SANS(DNS("f*.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "wildcard: a partial wildcard never matches (suffix)", "foo.example.com",
	  { .sans = SANS(DNS("*o.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "wildcard: only as the left-most label", "mx.a.example.com",
	  { .sans = SANS(DNS("mx.*.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "wildcard: not over a single label", "example.com",
	  { .sans = SANS(DNS("*.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "CN only, no SAN extension: the CN is never used", "mx.example.com",
	  { .cn = "mx.example.com" },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "CN names the host, SAN does not", "mx.example.com",
	  { .cn = "mx.example.com", .sans = SANS(DNS("other.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "SAN: an email address is no DNS-ID", "mx.example.com",
	  { .sans = SANS(EMAIL("postmaster@mx.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "SAN: a DNS-ID among an IP address and an email address", "mx.example.com",
	  { .sans = SANS(IP4("\xc0\x00\x02\x01"), EMAIL("a@example.com"),
			 DNS("mx.example.com")) }, VALID },
	{ "SAN: an embedded NUL names nothing", "evil.example",
	  { .sans = SANS(DNS("evil.example\0.mx.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "SAN: an embedded NUL names nothing (the whole name)", "mx.example.com",
	  { .sans = SANS(DNS("evil.example\0.mx.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "SAN: control characters do not match the visible name", "mx.example.com",
	  { .sans = SANS(DNS("\x1b[2Jmx.example.com")) },
	  BAD(NAME, HOSTNAME_MISMATCH, false) },
	{ "no host: no name check", NULL,
	  { .sans = SANS(DNS("anything.example")) }, VALID },
	{ "weak: an RSA 1024-bit key", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .key = KEY_RSA1024 },
	  BAD(WEAK, EE_KEY_TOO_SMALL, true) },
	{ "weak: signed with SHA-1", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .sha1 = true },
	  BAD(WEAK, CA_MD_TOO_WEAK, true) },
	{ "weak: an intermediate signed with SHA-1", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .issuer = BY_SHA1_INTERMEDIATE },
	  BAD(WEAK, CA_MD_TOO_WEAK, true) },
	{ "weak: an intermediate with an RSA 1024-bit key", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .issuer = BY_WEAK_INTERMEDIATE },
	  BAD(WEAK, CA_KEY_TOO_SMALL, true) },
	{ "expired: notAfter a day before now", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .period = PERIOD(-90 * DAY, -DAY) },
	  BAD(EXPIRED, CERT_HAS_EXPIRED, true) },
	{ "expired: notAfter a second before now", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .period = PERIOD(-90 * DAY, -1) },
	  BAD(EXPIRED, CERT_HAS_EXPIRED, true) },
	{ "valid: notAfter a second after now", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .period = PERIOD(-90 * DAY, 1) },
	  VALID },
	{ "valid: notBefore is now", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .period = PERIOD(0, 90 * DAY) },
	  VALID },
	{ "not yet valid: notBefore a day after now", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .period = PERIOD(DAY, 90 * DAY) },
	  BAD(NOT_YET_VALID, CERT_NOT_YET_VALID, true) },
	{ "self-signed, not in the store", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .issuer = BY_SELF },
	  BAD(SELF_SIGNED, DEPTH_ZERO_SELF_SIGNED_CERT, true, .self_signed = true) },
	{ "untrusted: an unknown CA", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .issuer = BY_UNKNOWN_CA },
	  BAD(UNTRUSTED, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, true) },
	{ "untrusted: the root's name, another key", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .issuer = BY_IMPOSTOR },
	  BAD(UNTRUSTED, CERT_SIGNATURE_FAILURE, true) },
	{ "intermediate sent by the server", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .issuer = BY_INTERMEDIATE }, VALID },
	{ "intermediate left out by the server", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .issuer = BY_INTERMEDIATE_UNSENT },
	  BAD(UNTRUSTED, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, true) },
	{ "purpose: a TLS server certificate, not a client's", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .eku = "clientAuth" },
	  BAD(UNTRUSTED, INVALID_PURPOSE, true) },
	{ "purpose: serverAuth", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .eku = "serverAuth" }, VALID },
	/*
	 * Every error is recorded.  OpenSSL 3.0's verify_chain() checks the
	 * host (check_id) before the signatures and the times
	 * (internal_verify), and a leaf's key before building the chain: the
	 * handshake below confirms that the first error is the one it stops at.
	 */
	{ "expired and the wrong name: both, the name first", "mx.example.com",
	  { .sans = SANS(DNS("other.example.com")), .period = PERIOD(-90 * DAY, -DAY) },
	  BAD(NAME, HOSTNAME_MISMATCH, false, .also = { X509_V_ERR_CERT_HAS_EXPIRED }) },
	{ "self-signed, expired, wrong name: chain, then name, then time",
	  "mx.example.com",
	  { .cn = "mx.example.com", .issuer = BY_SELF, .period = PERIOD(-90 * DAY, -DAY) },
	  BAD(SELF_SIGNED, DEPTH_ZERO_SELF_SIGNED_CERT, false, .self_signed = true,
	      .also = { X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_CERT_HAS_EXPIRED }) },
	{ "a weak key comes before everything else", "mx.example.com",
	  { .sans = SANS(DNS("other.example.com")), .key = KEY_RSA1024,
	    .period = PERIOD(-90 * DAY, -DAY) },
	  BAD(WEAK, EE_KEY_TOO_SMALL, false,
	      .also = { X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_CERT_HAS_EXPIRED }) },
	{ "unknown CA and not yet valid", "mx.example.com",
	  { .sans = SANS(DNS("mx.example.com")), .issuer = BY_UNKNOWN_CA,
	    .period = PERIOD(DAY, 90 * DAY) },
	  BAD(UNTRUSTED, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, true,
	      .also = { X509_V_ERR_CERT_NOT_YET_VALID }) },
};

/* The PKI, made once for all cases. */
static struct {
	EVP_PKEY *root_key, *inter_key, *unknown_key, *impostor_key;
	EVP_PKEY *ec, *rsa2048, *rsa1024;
	X509 *root, *inter, *inter_sha1, *inter_weak, *unknown;
	X509_STORE *store;
	long serial;
} pki;

static void add_name(X509_NAME *name, const char *cn)
{
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
						    (const unsigned char *)cn, -1, -1, 0), 1);
}

/* An unsigned certificate for cn and key, issued by issuer_cn, valid from..until. */
static X509 *cert_begin(const char *cn, EVP_PKEY *key, const char *issuer_cn,
			time_t from, time_t until)
{
	X509 *x = X509_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), ++pki.serial), 1);
	add_name(X509_get_subject_name(x), cn);
	add_name(X509_get_issuer_name(x), issuer_cn);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), from));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), until));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	return x;
}

static void add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, NULL, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A subjectAltName of exactly the octets given (a NUL or ESC included). */
static void add_sans(X509 *x, const struct san *sans)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();

	assert_non_null(gens);
	for (const struct san *s = sans; s->value != NULL; s++) {
		ASN1_STRING *v = s->type == GEN_IPADD ? ASN1_OCTET_STRING_new() :
			ASN1_IA5STRING_new();
		GENERAL_NAME *g = GENERAL_NAME_new();

		assert_non_null(v);
		assert_non_null(g);
		assert_int_equal(ASN1_STRING_set(v, s->value, (int)s->len), 1);
		GENERAL_NAME_set0_value(g, s->type, v);
		assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
	}
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
				       X509V3_ADD_DEFAULT), 1);
	GENERAL_NAMES_free(gens);
}

static void cert_sign(X509 *x, EVP_PKEY *key, const EVP_MD *md)
{
	assert_true(X509_sign(x, key, md) > 0);
}

static X509 *ca_new(const char *cn, EVP_PKEY *key, const char *issuer_cn,
		    EVP_PKEY *issuer_key, const EVP_MD *md)
{
	X509 *x = cert_begin(cn, key, issuer_cn, NOW - 10 * YEAR, NOW + 20 * YEAR);

	add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign");
	cert_sign(x, issuer_key, md);
	return x;
}

static EVP_PKEY *leaf_key(enum key_choice key)
{
	switch (key) {
	case KEY_RSA2048:
		return pki.rsa2048;
	case KEY_RSA1024:
		return pki.rsa1024;
	case KEY_EC:
		break;
	}
	return pki.ec;
}

/* A leaf as spec asks, valid from from..until when spec gives no period. */
static X509 *leaf_new_at(const struct leaf_spec *spec, time_t from, time_t until)
{
	const char *cn = spec->cn != NULL ? spec->cn : "leaf";
	EVP_PKEY *key = leaf_key(spec->key), *signer = pki.root_key;
	const char *issuer_cn = "Test Root CA";
	X509 *x;

	if (spec->period != NULL) {
		from = NOW + spec->period->from;
		until = NOW + spec->period->until;
	}
	switch (spec->issuer) {
	case BY_INTERMEDIATE:
	case BY_INTERMEDIATE_UNSENT:
		issuer_cn = "Test Intermediate CA";
		signer = pki.inter_key;
		break;
	case BY_SHA1_INTERMEDIATE:
		issuer_cn = "Test SHA-1 Intermediate CA";
		signer = pki.inter_key;
		break;
	case BY_WEAK_INTERMEDIATE:
		issuer_cn = "Test Weak Intermediate CA";
		signer = pki.rsa1024;
		break;
	case BY_SELF:
		issuer_cn = cn;
		signer = key;
		break;
	case BY_UNKNOWN_CA:
		issuer_cn = "Unknown Root CA";
		signer = pki.unknown_key;
		break;
	case BY_IMPOSTOR:
		signer = pki.impostor_key;
		break;
	case BY_ROOT:
		break;
	}
	x = cert_begin(cn, key, issuer_cn, from, until);
	if (spec->sans != NULL)
		add_sans(x, spec->sans);
	if (spec->eku != NULL)
		add_ext(x, NID_ext_key_usage, spec->eku);
	cert_sign(x, signer, spec->sha1 ? EVP_sha1() : EVP_sha256());
	return x;
}

static X509 *leaf_new(const struct leaf_spec *spec)
{
	return leaf_new_at(spec, NOW - DAY, NOW + 90 * DAY);
}

/* What the server sends after its leaf. */
static STACK_OF(X509) *chain_new(const struct leaf_spec *spec)
{
	STACK_OF(X509) *chain = sk_X509_new_null();

	assert_non_null(chain);
	if (spec->issuer == BY_INTERMEDIATE)
		assert_true(sk_X509_push(chain, pki.inter) > 0);
	if (spec->issuer == BY_SHA1_INTERMEDIATE)
		assert_true(sk_X509_push(chain, pki.inter_sha1) > 0);
	if (spec->issuer == BY_WEAK_INTERMEDIATE)
		assert_true(sk_X509_push(chain, pki.inter_weak) > 0);
	return chain;
}

static int pki_setup(void **state)
{
	(void)state;
	pki.root_key = EVP_RSA_gen(2048);
	pki.impostor_key = EVP_RSA_gen(2048);
	pki.rsa1024 = EVP_RSA_gen(1024);
	pki.rsa2048 = pki.root_key;	/* a leaf may share it: only its size counts */
	EVP_PKEY_up_ref(pki.rsa2048);
	pki.inter_key = EVP_EC_gen("P-256");
	pki.unknown_key = EVP_EC_gen("P-256");
	pki.ec = EVP_EC_gen("P-256");
	if (pki.root_key == NULL || pki.impostor_key == NULL || pki.rsa1024 == NULL ||
	    pki.inter_key == NULL || pki.unknown_key == NULL || pki.ec == NULL)
		return -1;
	pki.root = ca_new("Test Root CA", pki.root_key, "Test Root CA", pki.root_key,
			  EVP_sha256());
	pki.inter = ca_new("Test Intermediate CA", pki.inter_key, "Test Root CA",
			   pki.root_key, EVP_sha256());
	pki.inter_sha1 = ca_new("Test SHA-1 Intermediate CA", pki.inter_key,
				"Test Root CA", pki.root_key, EVP_sha1());
	pki.inter_weak = ca_new("Test Weak Intermediate CA", pki.rsa1024,
				"Test Root CA", pki.root_key, EVP_sha256());
	pki.unknown = ca_new("Unknown Root CA", pki.unknown_key, "Unknown Root CA",
			     pki.unknown_key, EVP_sha256());
	pki.store = X509_STORE_new();
	if (pki.store == NULL || X509_STORE_add_cert(pki.store, pki.root) != 1)
		return -1;
	return 0;
}

static int pki_teardown(void **state)
{
	(void)state;
	X509_STORE_free(pki.store);
	X509_free(pki.root);
	X509_free(pki.inter);
	X509_free(pki.inter_sha1);
	X509_free(pki.inter_weak);
	X509_free(pki.unknown);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.impostor_key);
	EVP_PKEY_free(pki.rsa1024);
	EVP_PKEY_free(pki.rsa2048);
	EVP_PKEY_free(pki.inter_key);
	EVP_PKEY_free(pki.unknown_key);
	EVP_PKEY_free(pki.ec);
	return 0;
}

/* ---- the handshake ---- */

static SSL_CTX *server_ctx_new(X509 *leaf, EVP_PKEY *key, STACK_OF(X509) *chain)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	assert_non_null(ctx);
	/* The server presents whatever it is given, weak keys included. */
	SSL_CTX_set_security_level(ctx, 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, leaf), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	for (int i = 0; i < sk_X509_num(chain); i++)
		assert_int_equal(SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)), 1);
	return ctx;
}

static SSL_CTX *client_ctx_new(X509_STORE *store, const char *host, time_t now)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	assert_non_null(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set1_cert_store(ctx, store);
	assert_int_equal(tls_verify_configure_ctx(ctx, host, now), 1);
	return ctx;
}

/* 1 when the client's handshake completes, 0 when it fails, -1 when stuck. */
static int handshake_run(SSL *client, SSL *server)
{
	bool server_done = false;

	for (int round = 0; round < 32; round++) {
		int rc = SSL_do_handshake(client), err;

		if (rc == 1)
			return 1;
		err = SSL_get_error(client, rc);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			return 0;
		if (!server_done && (rc = SSL_do_handshake(server)) <= 0) {
			err = SSL_get_error(server, rc);
			server_done = err != SSL_ERROR_WANT_READ &&
				      err != SSL_ERROR_WANT_WRITE;
		}
	}
	return -1;
}

/*
 * A client trusting store, configured by tls_verify_configure_ctx() for host
 * at now, against a server presenting leaf and chain over a BIO pair:
 * whether the handshake completed, and the client's verify result.
 */
static long handshake_verify_with(X509_STORE *store, X509 *leaf, EVP_PKEY *key,
				  STACK_OF(X509) *chain, const char *host, time_t now,
				  int *ret_completed)
{
	SSL_CTX *sctx = server_ctx_new(leaf, key, chain);
	SSL_CTX *cctx = client_ctx_new(store, host, now);
	SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
	BIO *cbio = NULL, *sbio = NULL;
	long result;

	assert_non_null(server);
	assert_non_null(client);
	assert_int_equal(BIO_new_bio_pair(&cbio, 0, &sbio, 0), 1);
	SSL_set_bio(client, cbio, cbio);
	SSL_set_bio(server, sbio, sbio);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	*ret_completed = handshake_run(client, server);
	result = SSL_get_verify_result(client);
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	ERR_clear_error();
	return result;
}

static long handshake_verify(X509 *leaf, EVP_PKEY *key, STACK_OF(X509) *chain,
			     const char *host, time_t now, int *ret_completed)
{
	return handshake_verify_with(pki.store, leaf, key, chain, host, now,
				     ret_completed);
}

/* ---- checking a judgement ---- */

static bool has_error(const struct tls_judgement *j, long err)
{
	for (size_t i = 0; i < j->error_count; i++)
		if (j->errors[i] == err)
			return true;
	return false;
}

static void print_judgement(const struct tls_judgement *j)
{
	print_error("  got valid=%d name_matches=%d self_signed=%d first=%ld, "
		    "%zu errors:", j->valid, j->name_matches, j->self_signed,
		    j->first_error, j->error_count);
	for (size_t i = 0; i < j->error_count && i < TLS_VERIFY_ERRORS_MAX; i++)
		print_error(" %ld (%s)", j->errors[i],
			    X509_verify_cert_error_string(j->errors[i]));
	print_error("\n");
}

/* The invariants of every judgement: errors exactly when not valid, distinct. */
static bool judgement_consistent(const struct tls_judgement *j)
{
	if (j->error_count > TLS_VERIFY_ERRORS_MAX || j->valid != (j->error_count == 0))
		return false;
	if (j->first_error != (j->valid ? X509_V_OK : j->errors[0]))
		return false;
	for (size_t i = 0; i < j->error_count; i++) {
		if (j->errors[i] == X509_V_OK)
			return false;
		for (size_t k = 0; k < i; k++)
			if (j->errors[k] == j->errors[i])
				return false;
	}
	return true;
}

static bool judgement_matches(const struct tls_judgement *j, const struct want *w)
{
	if (!judgement_consistent(j)) {
		print_error("  the judgement is inconsistent\n");
		return false;
	}
	if (j->valid != w->valid || j->first_error != w->first ||
	    tls_cert_kind_of(j->first_error) != w->kind ||
	    j->name_matches != w->name_matches || j->self_signed != w->self_signed) {
		print_error("  expected valid=%d name_matches=%d self_signed=%d "
			    "first=%ld (%s)\n", w->valid, w->name_matches,
			    w->self_signed, w->first, tls_cert_kind_name(w->kind));
		return false;
	}
	for (size_t i = 0; i < ARRAY_LEN(w->also) && w->also[i] != X509_V_OK; i++) {
		if (!has_error(j, w->also[i])) {
			print_error("  expected error %ld (%s) as well\n", w->also[i],
				    X509_verify_cert_error_string(w->also[i]));
			return false;
		}
	}
	return true;
}

static bool run_judge_case(size_t i, const struct judge_case *c)
{
	X509 *leaf = leaf_new(&c->leaf);
	STACK_OF(X509) *chain = chain_new(&c->leaf);
	struct tls_judgement j;
	bool ok = true;
	int completed;
	long result;

	memset(&j, 0xa5, sizeof(j));
	assert_int_equal(tls_verify_judge(pki.store, leaf, chain, c->host, NOW, &j), 0);
	if (!judgement_matches(&j, &c->want)) {
		print_judgement(&j);
		ok = false;
	}
	/* The handshake fails exactly when the judgement is not valid, and
	 * with its first error. */
	result = handshake_verify(leaf, leaf_key(c->leaf.key), chain, c->host, NOW,
				  &completed);
	if (completed != (j.valid ? 1 : 0) || result != j.first_error) {
		print_error("  handshake: completed=%d verify result %ld (%s), "
			    "judgement first error %ld\n", completed, result,
			    X509_verify_cert_error_string(result), j.first_error);
		ok = false;
	}
	if (!ok)
		print_error("FAILED judge case %zu: %s\n", i, c->what);
	sk_X509_free(chain);
	X509_free(leaf);
	return ok;
}

static void test_judge(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(judge_cases); i++)
		failed += !run_judge_case(i, &judge_cases[i]);
	if (failed > 0)
		fail_msg("%zu of %zu judge cases failed", failed, ARRAY_LEN(judge_cases));
}

/* now == 0 judges at the clock. */
static void test_judge_clock(void **state)
{
	const struct leaf_spec spec = { .sans = SANS(DNS("mx.example.com")) };
	time_t t = time(NULL);
	X509 *current = leaf_new_at(&spec, t - DAY, t + DAY);
	X509 *expired = leaf_new_at(&spec, t - 2 * DAY, t - DAY);
	X509 *future = leaf_new_at(&spec, t + DAY, t + 2 * DAY);
	struct tls_judgement j;

	(void)state;
	assert_int_equal(tls_verify_judge(pki.store, current, NULL, "mx.example.com", 0,
					  &j), 0);
	assert_true(j.valid);
	assert_int_equal(tls_verify_judge(pki.store, expired, NULL, "mx.example.com", 0,
					  &j), 0);
	assert_false(j.valid);
	assert_int_equal(j.first_error, X509_V_ERR_CERT_HAS_EXPIRED);
	assert_int_equal(tls_verify_judge(pki.store, future, NULL, "mx.example.com", 0,
					  &j), 0);
	assert_int_equal(j.first_error, X509_V_ERR_CERT_NOT_YET_VALID);
	/* and a fixed time overrides the clock */
	assert_int_equal(tls_verify_judge(pki.store, expired, NULL, "mx.example.com",
					  t - DAY - DAY / 2, &j), 0);
	assert_true(j.valid);
	X509_free(current);
	X509_free(expired);
	X509_free(future);
}

/* The same store and leaf judged many times: no state carried over. */
static void test_judge_repeatable(void **state)
{
	const struct leaf_spec spec = { .sans = SANS(DNS("mx.example.com")) };
	X509 *leaf = leaf_new(&spec);
	struct tls_judgement j;

	(void)state;
	for (int round = 0; round < 3; round++) {
		assert_int_equal(tls_verify_judge(pki.store, leaf, NULL, "other.example",
						  NOW, &j), 0);
		assert_int_equal(j.first_error, X509_V_ERR_HOSTNAME_MISMATCH);
		assert_int_equal(j.error_count, 1);
		assert_int_equal(tls_verify_judge(pki.store, leaf, NULL, "mx.example.com",
						  NOW, &j), 0);
		assert_true(j.valid);
		assert_int_equal(ERR_peek_error(), 0);
	}
	X509_free(leaf);
}

/* ---- what the judgement must not lose ---- */

/*
 * A weak leaf key must not hide the chain's own error.  In OpenSSL 3.0,
 * build_chain() ends an untrusted chain by re-reporting a pending
 * ctx->error ("a preliminary error has become final") in place of
 * DEPTH_ZERO_SELF_SIGNED_CERT or UNABLE_TO_GET_ISSUER_CERT_LOCALLY; the
 * EE_KEY_TOO_SMALL that collect_errors() let pass would still be pending
 * then, were it not cleared once recorded.
 */
static void test_weak_key_keeps_chain_errors(void **state)
{
	static const struct {
		enum issuer_choice issuer;
		long chain_error;
	} cases[] = {
		{ BY_SELF, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT },
		{ BY_UNKNOWN_CA, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	};
	size_t missing = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct leaf_spec spec = { .sans = SANS(DNS("mx.example.com")),
						.key = KEY_RSA1024,
						.issuer = cases[i].issuer };
		X509 *leaf = leaf_new(&spec);
		struct tls_judgement j;

		assert_int_equal(tls_verify_judge(pki.store, leaf, NULL, "mx.example.com",
						  NOW, &j), 0);
		X509_free(leaf);
		assert_false(j.valid);
		assert_int_equal(j.first_error, X509_V_ERR_EE_KEY_TOO_SMALL);
		if (!has_error(&j, cases[i].chain_error)) {
			print_error("  case %zu: no error %ld (%s) after the weak key\n", i,
				    cases[i].chain_error,
				    X509_verify_cert_error_string(cases[i].chain_error));
			print_judgement(&j);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

/*
 * A root whose trust settings reject serverAuth (a "TRUSTED CERTIFICATE"
 * read from a CA file) fails the handshake with CERT_REJECTED: the
 * handshake's X509_STORE_CTX_set_default(ctx, "ssl_server") sets the trust
 * X509_TRUST_SSL_SERVER; the judgement after a handshake must set the same
 * trust, or it would call valid what the handshake rejects.
 */
static void test_trust_settings_agree(void **state)
{
	const struct leaf_spec spec = { .sans = SANS(DNS("mx.example.com")) };
	X509 *leaf = leaf_new(&spec), *root = X509_dup(pki.root);
	X509_STORE *store = X509_STORE_new();
	struct tls_judgement j;
	int completed;
	long result;

	(void)state;
	assert_non_null(root);
	assert_non_null(store);
	assert_int_equal(X509_add1_reject_object(root, OBJ_nid2obj(NID_server_auth)), 1);
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	result = handshake_verify_with(store, leaf, pki.ec, NULL, "mx.example.com", NOW,
				       &completed);
	assert_int_equal(completed, 0);
	assert_int_equal(result, X509_V_ERR_CERT_REJECTED);
	assert_int_equal(tls_verify_judge(store, leaf, NULL, "mx.example.com", NOW, &j), 0);
	X509_STORE_free(store);
	X509_free(root);
	X509_free(leaf);
	assert_false(j.valid);
	assert_int_equal(j.first_error, X509_V_ERR_CERT_REJECTED);
	assert_int_equal(tls_cert_kind_of(j.first_error), TLS_CERT_UNTRUSTED);
}

/* ---- the names of a certificate ---- */

struct names_case {
	const char *what;
	const struct san *sans;		/* NULL: no subjectAltName extension */
	const char *want[4];		/* ended by NULL */
};

static const struct names_case names_cases[] = {
	{ "no subjectAltName extension", NULL, { NULL } },
	{ "one name", SANS(DNS("mx.example.com")), { "mx.example.com", NULL } },
	{ "names in order, a wildcard as written",
	  SANS(DNS("b.example.com"), DNS("*.example.com"), DNS("a.example.com")),
	  { "b.example.com", "*.example.com", "a.example.com", NULL } },
	{ "only dNSNames: no IP address, no email",
	  SANS(IP4("\xc0\x00\x02\x01"), DNS("mx.example.com"), EMAIL("a@example.com")),
	  { "mx.example.com", NULL } },
	{ "a name with an embedded NUL is left out",
	  SANS(DNS("a.example.com"), DNS("evil.example\0.mx.example.com"),
	       DNS("b.example.com")),
	  { "a.example.com", "b.example.com", NULL } },
	{ "a NUL as the last octet is left out too",
	  SANS(DNS("mx.example.com\0")), { NULL } },
	{ "control characters are kept: escaping is the printer's",
	  SANS(DNS("\x1b[2Jmx.example.com"), DNS("tab\there.example")),
	  { "\x1b[2Jmx.example.com", "tab\there.example", NULL } },
	{ "an empty name is kept", SANS(DNS(""), DNS("mx.example.com")),
	  { "", "mx.example.com", NULL } },
};

static bool names_match(char **names, size_t count, const char *const *want)
{
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	if (names == NULL || count != n || names[count] != NULL) {
		print_error("  got %zu names, expected %zu\n", count, n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], want[i]) != 0) {
			print_error("  name %zu is \"%s\"\n", i,
				    escape(names[i], strlen(names[i])));
			return false;
		}
	}
	return true;
}

static void test_dns_names(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(names_cases); i++) {
		const struct names_case *c = &names_cases[i];
		const struct leaf_spec spec = { .sans = c->sans };
		X509 *leaf = leaf_new(&spec);
		char **names = NULL;
		size_t count = 999;

		assert_int_equal(tls_cert_dns_names(leaf, &names, &count), 0);
		if (!names_match(names, count, c->want)) {
			print_error("FAILED names case %zu: %s\n", i, c->what);
			failed++;
		}
		assert_null(tls_names_free(names));
		X509_free(leaf);
	}
	assert_null(tls_names_free(NULL));
	if (failed > 0)
		fail_msg("%zu of %zu names cases failed", failed, ARRAY_LEN(names_cases));
}

#define MANY_NAMES 150

/* 150 names, the host the last of them: it matches, and all are listed. */
static void test_many_names(void **state)
{
	struct san sans[MANY_NAMES + 1] = { { 0, NULL, 0 } };
	char text[MANY_NAMES][48];
	const struct leaf_spec spec = { .sans = sans };
	struct tls_judgement j;
	char **names = NULL;
	size_t count = 0;
	X509 *leaf;
	int completed;

	(void)state;
	for (size_t i = 0; i < MANY_NAMES; i++) {
		int n = snprintf(text[i], sizeof(text[i]), "mx%03zu.example.com", i);

		sans[i] = (struct san){ GEN_DNS, text[i], (size_t)n };
	}
	leaf = leaf_new(&spec);
	assert_int_equal(tls_verify_judge(pki.store, leaf, NULL, text[MANY_NAMES - 1],
					  NOW, &j), 0);
	assert_true(j.valid);
	assert_true(j.name_matches);
	assert_int_equal(handshake_verify(leaf, pki.ec, NULL, text[MANY_NAMES - 1], NOW,
					  &completed), X509_V_OK);
	assert_int_equal(completed, 1);
	assert_int_equal(tls_verify_judge(pki.store, leaf, NULL, "mx150.example.com",
					  NOW, &j), 0);
	assert_int_equal(j.first_error, X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(tls_cert_dns_names(leaf, &names, &count), 0);
	assert_int_equal(count, MANY_NAMES);
	for (size_t i = 0; i < MANY_NAMES; i++)
		assert_string_equal(names[i], text[i]);
	assert_null(names[MANY_NAMES]);
	tls_names_free(names);
	X509_free(leaf);
}

/* ---- kinds, checks and sentences ---- */

struct kind_case {
	long error;
	enum tls_cert_kind kind;
	const char *kind_name;
	const char *check;	/* NULL for X509_V_OK */
};

static const struct kind_case kind_cases[] = {
	{ X509_V_OK, TLS_CERT_OK, "ok", NULL },
	{ X509_V_ERR_HOSTNAME_MISMATCH, TLS_CERT_NAME, "name", "tls-cert-name" },
	{ X509_V_ERR_CERT_HAS_EXPIRED, TLS_CERT_EXPIRED, "expired", "tls-cert-expired" },
	{ X509_V_ERR_CRL_HAS_EXPIRED, TLS_CERT_EXPIRED, "expired", "tls-cert-expired" },
	{ X509_V_ERR_CERT_NOT_YET_VALID, TLS_CERT_NOT_YET_VALID, "not-yet-valid",
	  "tls-cert-not-yet-valid" },
	{ X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, TLS_CERT_SELF_SIGNED, "self-signed",
	  "tls-cert-self-signed" },
	{ X509_V_ERR_EE_KEY_TOO_SMALL, TLS_CERT_WEAK, "weak", "tls-cert-weak" },
	{ X509_V_ERR_CA_KEY_TOO_SMALL, TLS_CERT_WEAK, "weak", "tls-cert-weak" },
	{ X509_V_ERR_CA_MD_TOO_WEAK, TLS_CERT_WEAK, "weak", "tls-cert-weak" },
	{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, TLS_CERT_UNTRUSTED, "untrusted",
	  "tls-cert-untrusted" },
	{ X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, TLS_CERT_UNTRUSTED, "untrusted",
	  "tls-cert-untrusted" },
	{ X509_V_ERR_CERT_SIGNATURE_FAILURE, TLS_CERT_UNTRUSTED, "untrusted",
	  "tls-cert-untrusted" },
	{ X509_V_ERR_INVALID_PURPOSE, TLS_CERT_UNTRUSTED, "untrusted",
	  "tls-cert-untrusted" },
	{ X509_V_ERR_IP_ADDRESS_MISMATCH, TLS_CERT_NAME, "name", "tls-cert-name" },
	{ X509_V_ERR_EMAIL_MISMATCH, TLS_CERT_NAME, "name", "tls-cert-name" },
	{ X509_V_ERR_UNSPECIFIED, TLS_CERT_UNTRUSTED, "untrusted", "tls-cert-untrusted" },
	{ 99999, TLS_CERT_UNTRUSTED, "untrusted", "tls-cert-untrusted" },
};

static void test_kinds(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(kind_cases); i++) {
		const struct kind_case *c = &kind_cases[i];
		const char *text = tls_cert_error_text(c->error);

		assert_int_equal(tls_cert_kind_of(c->error), c->kind);
		assert_string_equal(tls_cert_kind_name(c->kind), c->kind_name);
		if (c->check == NULL)
			assert_null(tls_cert_check_name(c->error));
		else
			assert_string_equal(tls_cert_check_name(c->error), c->check);
		assert_non_null(text);
		assert_true(text[0] != '\0');
	}
	/* names are never checked in the CN: the sentence says so */
	assert_non_null(strstr(tls_cert_error_text(X509_V_ERR_HOSTNAME_MISMATCH),
			       "subjectAltName"));
	assert_non_null(strstr(tls_cert_error_text(X509_V_ERR_EE_KEY_TOO_SMALL), "2048"));
	assert_string_equal(tls_cert_kind_name((enum tls_cert_kind)99), "untrusted");
}

/* ---- the parameters ---- */

static void test_param_setup(void **state)
{
	X509_VERIFY_PARAM *param = X509_VERIFY_PARAM_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	(void)state;
	assert_non_null(param);
	assert_non_null(ctx);
	assert_int_equal(tls_verify_param_setup(param, "mx.example.com", NOW), 1);
	assert_string_equal(X509_VERIFY_PARAM_get0_host(param, 0), "mx.example.com");
	assert_null(X509_VERIFY_PARAM_get0_host(param, 1));
	assert_int_equal(X509_VERIFY_PARAM_get_hostflags(param),
			 X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
			 X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	assert_int_equal(X509_VERIFY_PARAM_get_auth_level(param),
			 TLS_VERIFY_SECURITY_LEVEL);
	assert_int_equal(X509_VERIFY_PARAM_get_time(param), NOW);
	assert_true((X509_VERIFY_PARAM_get_flags(param) & X509_V_FLAG_USE_CHECK_TIME) != 0);
	/* a second setup replaces the host, and NULL clears it */
	assert_int_equal(tls_verify_param_setup(param, "other.example", 0), 1);
	assert_string_equal(X509_VERIFY_PARAM_get0_host(param, 0), "other.example");
	assert_null(X509_VERIFY_PARAM_get0_host(param, 1));
	assert_int_equal(tls_verify_param_setup(param, NULL, 0), 1);
	assert_null(X509_VERIFY_PARAM_get0_host(param, 0));
	X509_VERIFY_PARAM_free(param);

	/* the context: its security level and its parameters */
	SSL_CTX_set_security_level(ctx, 0);
	assert_int_equal(tls_verify_configure_ctx(ctx, "mx.example.com", 0), 1);
	assert_int_equal(SSL_CTX_get_security_level(ctx), TLS_VERIFY_SECURITY_LEVEL);
	param = SSL_CTX_get0_param(ctx);
	assert_string_equal(X509_VERIFY_PARAM_get0_host(param, 0), "mx.example.com");
	assert_int_equal(X509_VERIFY_PARAM_get_auth_level(param),
			 TLS_VERIFY_SECURITY_LEVEL);
	/* now == 0: the clock, no fixed time */
	assert_true((X509_VERIFY_PARAM_get_flags(param) & X509_V_FLAG_USE_CHECK_TIME) == 0);
	SSL_CTX_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_judge_clock),
		cmocka_unit_test(test_judge_repeatable),
		cmocka_unit_test(test_weak_key_keeps_chain_errors),
		cmocka_unit_test(test_trust_settings_agree),
		cmocka_unit_test(test_dns_names),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_param_setup),
	};

	return cmocka_run_group_tests_name("tls_verify", tests, pki_setup, pki_teardown);
}
