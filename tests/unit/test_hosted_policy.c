/*
 * test_hosted_policy.c - the policy file served for a hosted domain: the
 * exact bytes, the id (the SHA-256 of those bytes, here computed apart by
 * sha256sum), the body of a domain being removed, the TXT record.
 */
#include <stdlib.h>

#include "unit.h"

#include <mtasts/policy.h>

#include "hosted_policy.h"

#define T0 ((int64_t)1704067200)

static char *example_mx[] = { "mx1.example.com", "*.example.net" };

static struct hosted_domain example(void)
{
	struct hosted_domain d = {
		.name = "example.com", .mode = MTASTS_MODE_ENFORCE, .mx = example_mx,
		.mx_count = 2, .max_age = 604800, .created = T0, .updated = T0,
	};
	return d;
}

static void render_ok(const struct hosted_domain *d, struct hosted_policy *p)
{
	char why[256] = "";

	if (hosted_policy_render(d, p, why, sizeof(why)) != 0)
		fail_msg("render: %s", why);
	assert_int_equal(strlen(p->body), p->body_len);
}

static void enforce_body_exact(void **state)
{
	struct hosted_domain d = example();
	struct hosted_policy p;
	char txt[64];

	render_ok(&d, &p);
	assert_string_equal(p.body, "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
			    "mx: *.example.net\r\nmax_age: 604800\r\n");
	/* printf 'version: STSv1\r\n...' | sha256sum */
	assert_string_equal(p.id, "d0594ec30a38ea91dec7d1bc3d2f4e3d");
	assert_string_equal(p.etag, "\"d0594ec30a38ea91dec7d1bc3d2f4e3d\"");
	assert_int_equal(p.mode, MTASTS_MODE_ENFORCE);
	assert_int_equal(p.max_age, 604800);
	hosted_policy_txt(&p, txt, sizeof(txt));
	assert_string_equal(txt, "v=STSv1; id=d0594ec30a38ea91dec7d1bc3d2f4e3d;");
	hosted_policy_release(&p);
	assert_null(p.body);
	hosted_policy_release(&p);
	hosted_policy_release(NULL);
}

static void id_follows_content(void **state)
{
	struct hosted_domain d = example();
	struct hosted_policy a, b, c;

	render_ok(&d, &a);
	/* the dates and the rua are not in the body: same content, same id */
	d.updated = T0 + 999;
	d.tlsrpt_rua = "mailto:tlsrpt@example.com";
	render_ok(&d, &b);
	assert_string_equal(a.id, b.id);
	assert_string_equal(a.body, b.body);

	d.mode = MTASTS_MODE_TESTING;
	render_ok(&d, &c);
	assert_string_equal(c.id, "a107dccbce8e0c7b68844590cb5b6c9d");
	assert_string_not_equal(c.id, a.id);
	hosted_policy_release(&c);

	d.mode = MTASTS_MODE_ENFORCE;
	d.max_age = 604801;
	render_ok(&d, &c);
	assert_string_not_equal(c.id, a.id);
	hosted_policy_release(&c);

	d.max_age = 604800;
	char *swapped[] = { "*.example.net", "mx1.example.com" };
	d.mx = swapped;
	render_ok(&d, &c);
	assert_string_not_equal(c.id, a.id);
	hosted_policy_release(&c);
	hosted_policy_release(&a);
	hosted_policy_release(&b);
}

static void removal_body(void **state)
{
	struct hosted_domain d = example();
	struct hosted_policy p;
	char txt[64];

	d.removed_at = T0 + 100;
	d.removed_max_age = 604800;
	render_ok(&d, &p);
	assert_string_equal(p.body, "version: STSv1\r\nmode: none\r\nmx: mx1.example.com\r\n"
			    "mx: *.example.net\r\nmax_age: 86400\r\n");
	assert_string_equal(p.id, "e711828de1108eefb8c7e20f8a6107a3");
	assert_int_equal(p.mode, MTASTS_MODE_NONE);
	assert_int_equal(p.max_age, HOSTED_REMOVAL_MAX_AGE);
	hosted_policy_txt(&p, txt, sizeof(txt));
	assert_string_equal(txt, "v=STSv1; id=e711828de1108eefb8c7e20f8a6107a3;");
	hosted_policy_release(&p);
}

static void refusals(void **state)
{
	struct hosted_domain d = example();
	struct hosted_policy p = { 0 };
	char *bad[] = { "mx..example.com" };
	char why[256] = "";

	d.mode = MTASTS_MODE_NONE;
	assert_int_equal(hosted_policy_render(&d, &p, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "mode none"));

	d = example();
	d.max_age = MTASTS_MAX_AGE_MAX + 1;
	assert_int_equal(hosted_policy_render(&d, &p, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "example.com: the mode, mx or max_age cannot make a policy"));

	d = example();
	d.mx = bad;
	d.mx_count = 1;
	assert_int_equal(hosted_policy_render(&d, &p, why, sizeof(why)), -1);

	d = example();
	d.mx_count = 0;
	assert_int_equal(hosted_policy_render(&d, &p, why, sizeof(why)), -1);
	assert_null(p.body);
}

/* Every body rendered is a policy the parser takes, with the same values. */
static void bodies_parse_back(void **state)
{
	struct hosted_domain d = example();
	struct hosted_policy p;
	struct mtasts_policy *parsed = NULL;
	struct mtasts_diags diags;

	for (int removed = 0; removed < 2; removed++) {
		d.removed_at = removed ? T0 : 0;
		d.removed_max_age = removed ? 604800 : 0;
		render_ok(&d, &p);
		mtasts_diags_init(&diags);
		assert_int_equal(mtasts_policy_parse(p.body, p.body_len, &parsed, &diags), MTASTS_OK);
		assert_int_equal(parsed->mode, p.mode);
		assert_int_equal(parsed->max_age, p.max_age);
		assert_int_equal(parsed->mx_count, 2);
		assert_int_equal(parsed->lf_only_lines, 0);
		parsed = mtasts_policy_free(parsed);
		hosted_policy_release(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(enforce_body_exact),
		cmocka_unit_test(id_follows_content),
		cmocka_unit_test(removal_body),
		cmocka_unit_test(refusals),
		cmocka_unit_test(bodies_parse_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
