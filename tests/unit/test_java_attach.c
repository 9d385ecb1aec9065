// SPDX-License-Identifier: Apache-2.0
/* HotSpot attach replies, byte for byte as each JDK family sends them
 * (JDK 17 and 25 recorded on this machine; JDK 8 per its attachListener),
 * and the request encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "java/attach.h"

static struct jattach_reply parse_ok(const char *buf, bool load)
{
	struct jattach_reply r;

	assert_int_equal(jattach_parse_reply(buf, strlen(buf), load, &r), 0);
	return r;
}

static void test_jcmd(void **state)
{
	(void)state;
	struct jattach_reply r = parse_ok("0\nOpenJDK 64-Bit Server VM version "
					  "17.0.15+6-Debian-1deb12u1\nJDK 17.0.15\n", false);

	assert_int_equal(r.status, 0);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.text, "OpenJDK 64-Bit Server VM version 17.0.15+6-Debian-1deb12u1\n"
				    "JDK 17.0.15\n");
	jattach_reply__clear(&r);

	r = parse_ok("-1\njava.lang.IllegalArgumentException: Unknown diagnostic command\n", false);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.text, "java.lang.IllegalArgumentException: Unknown diagnostic command\n");
	jattach_reply__clear(&r);

	/* an unknown operation: no newline after the text */
	r = parse_ok("-1\nOperation bogus not recognized!", false);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.text, "Operation bogus not recognized!");
	jattach_reply__clear(&r);

	/* a status line alone, without a newline */
	r = parse_ok("0", false);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.text, "");
	jattach_reply__clear(&r);
}

static void test_load_jdk9_to_20(void **state)
{
	(void)state;
	struct jattach_reply r = parse_ok("0\nreturn code: 0\n", true);

	assert_int_equal(r.status, 0);
	assert_int_equal(r.code, 0);
	assert_false(r.load_failed);
	assert_string_equal(r.text, "");
	jattach_reply__clear(&r);

	r = parse_ok("0\nreturn code: 99\n", true);
	assert_int_equal(r.code, 99);
	jattach_reply__clear(&r);

	r = parse_ok("0\nreturn code: -1\n", true);
	assert_int_equal(r.code, -1);
	assert_false(r.load_failed);
	jattach_reply__clear(&r);

	/* JDK 17: the library cannot be opened */
	r = parse_ok("-1\n/tmp/exp/nonexist.so was not loaded.\n/tmp/exp/nonexist.so: cannot open "
		     "shared object file: No such file or directory\n", true);
	assert_int_equal(r.status, -1);
	assert_int_equal(r.code, -1);
	assert_non_null(strstr(r.text, "was not loaded."));
	jattach_reply__clear(&r);
}

static void test_load_jdk8(void **state)
{
	(void)state;
	/* JDK 8 prints the agent's result as a bare number */
	struct jattach_reply r = parse_ok("0\n0\n", true);

	assert_int_equal(r.code, 0);
	assert_false(r.load_failed);
	jattach_reply__clear(&r);
	r = parse_ok("0\n200\n", true);
	assert_int_equal(r.code, 200);
	jattach_reply__clear(&r);
}

static void test_load_jdk21(void **state)
{
	(void)state;
	/* JDK 21+ (recorded on 25): status 0, the error text on line 2 */
	struct jattach_reply r = parse_ok(
		"0\n/tmp/exp/nonexist.so was not loaded.\n/tmp/exp/nonexist.so: cannot open shared "
		"object file: No such file or directory\n", true);

	assert_int_equal(r.status, 0);
	assert_true(r.load_failed);
	assert_int_equal(r.code, -1);
	assert_non_null(strstr(r.text, "/tmp/exp/nonexist.so was not loaded."));
	jattach_reply__clear(&r);
	/* and its successes look like JDK 9-20's */
	r = parse_ok("0\nreturn code: 7\n", true);
	assert_int_equal(r.code, 7);
	assert_false(r.load_failed);
	jattach_reply__clear(&r);
}

static void test_bad_replies(void **state)
{
	(void)state;
	struct jattach_reply r;

	assert_int_equal(jattach_parse_reply("", 0, false, &r), -EPROTO);
	assert_int_equal(jattach_parse_reply("x\n", 2, false, &r), -EPROTO);
	assert_int_equal(jattach_parse_reply("12a\n", 4, true, &r), -EPROTO);
	assert_int_equal(jattach_parse_reply("99999999999\n", 12, true, &r), -EPROTO);
}

static void test_request(void **state)
{
	(void)state;
	size_t len;
	char *req = jattach_request("jcmd", "VM.version", NULL, NULL, &len);
	static const char want[] = "1\0jcmd\0VM.version\0\0\0";

	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(req, want, len);
	free(req);

	req = jattach_request("load", "/abs/libasyncProfiler.so", "true",
			      "start,event=itimer,interval=10ms,file=/tmp/x.txt,collapsed", &len);
	static const char want2[] = "1\0load\0/abs/libasyncProfiler.so\0true\0"
				    "start,event=itimer,interval=10ms,file=/tmp/x.txt,collapsed\0";
	assert_int_equal(len, sizeof(want2) - 1);
	assert_memory_equal(req, want2, len);
	free(req);

	char big[JATTACH_ARG_MAX + 2];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	errno = 0;
	assert_null(jattach_request("load", big, "true", "", &len));
	assert_int_equal(errno, E2BIG);
	assert_null(jattach_request("averyveryverylongname", "", "", "", &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jcmd),
		cmocka_unit_test(test_load_jdk9_to_20),
		cmocka_unit_test(test_load_jdk8),
		cmocka_unit_test(test_load_jdk21),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
