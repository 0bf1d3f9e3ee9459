/*
 * acme-client.c - lib/io/acme.c driven from the command line, for
 * tests/e2e/test-acme: deactivate the account of a key file (as an
 * operator or a CA would), or order one certificate answering http-01
 * from files under a directory another server publishes.
 *
 *   acme-client DIRECTORY CA_FILE ACCOUNT_KEY deactivate
 *   acme-client DIRECTORY CA_FILE ACCOUNT_KEY order NAME WEBROOT OUT_PEM
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "acme.h"

static int publish(void *arg, const struct acme_challenge_answer *answer)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", (const char *)arg, answer->token);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(answer->key_authorization, f);
	return fclose(f) == 0 ? 0 : -1;
}

static void withdraw(void *arg, const struct acme_challenge_answer *answer)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", (const char *)arg, answer->token);
	unlink(path);
}

static EVP_PKEY *account_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *key;

	if (f != NULL) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		return key;
	}
	if ((key = acme_key_new()) == NULL || (f = fopen(path, "w")) == NULL)
		return NULL;
	PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	return key;
}

int main(int argc, char **argv)
{
	struct acme_client_config config = { 0 };
	struct acme_client *client = NULL;
	char why[1024] = "";
	EVP_PKEY *key;
	int rc = 1;

	if (argc < 5) {
		fprintf(stderr, "usage: acme-client DIRECTORY CA_FILE ACCOUNT_KEY deactivate|order "
			"[NAME WEBROOT OUT_PEM]\n");
		return 2;
	}
	config.directory_url = argv[1];
	config.ca_file = argv[2];
	if ((key = account_key(argv[3])) == NULL) {
		fprintf(stderr, "acme-client: %s: no EC key\n", argv[3]);
		return 1;
	}
	if (acme_client_new(&config, key, &client, why, sizeof(why)) != 0)
		goto out;
	if (strcmp(argv[4], "deactivate") == 0) {
		rc = acme_account_deactivate(client, why, sizeof(why)) == 0 ? 0 : 1;
	} else if (strcmp(argv[4], "order") == 0 && argc == 8) {
		const char *types[] = { "http-01" };
		struct acme_responder responder = { publish, withdraw, argv[6] };
		EVP_PKEY *cert_key = acme_key_new();
		char *chain = NULL;
		FILE *f;

		if (acme_order(client, argv[5], cert_key, types, 1, &responder, &chain, why,
			       sizeof(why)) == 0 && (f = fopen(argv[7], "w")) != NULL) {
			fputs(chain, f);
			rc = fclose(f) == 0 ? 0 : 1;
		}
		free(chain);
		EVP_PKEY_free(cert_key);
	} else {
		snprintf(why, sizeof(why), "unknown command '%s'", argv[4]);
	}
out:
	if (rc != 0)
		fprintf(stderr, "acme-client: %s\n", why);
	acme_client_free(client);
	EVP_PKEY_free(key);
	return rc;
}
