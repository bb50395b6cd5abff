/* test_cli.c: lib/cli.c, the command-line helpers every program shares. */
#include <criterion/criterion.h>
#include <string.h>

#include "rq.h"

Test(cli, range_single_number)
{
	double lo = -1, hi = -1;

	cr_assert_eq(rq_cli_range("0.5", &lo, &hi), 0);
	cr_assert_eq(lo, 0.5);
	cr_assert_eq(hi, 0.5);
	cr_assert_eq(rq_cli_range("-9", &lo, &hi), 0);
	cr_assert_eq(lo, -9);
	cr_assert_eq(hi, -9);
}

Test(cli, range_lo_hi)
{
	double lo = 0, hi = 0;

	cr_assert_eq(rq_cli_range("-9:9", &lo, &hi), 1);
	cr_assert_eq(lo, -9);
	cr_assert_eq(hi, 9);
	cr_assert_eq(rq_cli_range("0.2:0.2", &lo, &hi), 1);
	cr_assert_eq(lo, 0.2);
	cr_assert_eq(hi, 0.2);
}

Test(cli, range_bad_left_untouched)
{
	static const char *bad[] = {"", ":", "1:", ":1", "2:1", "1:2:3", "x",
	    "1:x", " 1", "1 ", "nan", "inf:1", "1e999"};
	char big[200];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		double lo = 7, hi = 8;

		cr_assert_eq(rq_cli_range(bad[i], &lo, &hi), -1, "'%s'",
		    bad[i]);
		cr_assert(lo == 7 && hi == 8, "'%s' changed the outputs",
		    bad[i]);
	}
	memset(big, '1', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cr_assert_eq(rq_cli_range(big, &(double){0}, &(double){0}), -1);
	cr_assert_eq(rq_cli_range(NULL, &(double){0}, &(double){0}), -1);
}

Test(cli, init_names_the_program)
{
	char a0[] = "./bin/rq-cat", a1[] = "-x", b0[] = "rq-info";
	char *argv[] = {a0, a1, NULL}, *argv2[] = {b0, NULL};

	rq_cli_init(2, argv);
	cr_assert_str_eq(argv[0], "rq-cat");
	cr_assert_str_eq(argv[1], "-x");
	rq_cli_init(1, argv2);
	cr_assert_str_eq(argv2[0], "rq-info");
}

Test(cli, version_is_release_and_commit)
{
	const char *v = rq_cli_version(), *p = strchr(v, ' ');

	cr_assert_not_null(p, "'%s'", v);
	cr_assert(p > v && p[1] == '(' && v[strlen(v) - 1] == ')', "'%s'", v);
}
