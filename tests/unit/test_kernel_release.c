// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kernel_release__at_least on the shapes uname -r takes. */
#include "harness.h"
#include "base/kernel_release.h"

LW_TEST(kernel_release_at_least)
{
	ASSERT_TRUE(kernel_release__at_least("6.18.44-fc-v1252", 6, 18), "same minor");
	ASSERT_TRUE(kernel_release__at_least("6.19", 6, 18), "later minor, no patch level");
	ASSERT_TRUE(kernel_release__at_least("7.0.1", 6, 18), "later major, lower minor");
	ASSERT_TRUE(!kernel_release__at_least("6.9.12-amd64", 6, 18), "6.9 is before 6.18");
	ASSERT_TRUE(!kernel_release__at_least("6.1.0-27-amd64", 6, 18), "Debian 12's");
	ASSERT_TRUE(!kernel_release__at_least("5.19", 6, 0), "earlier major");
	ASSERT_TRUE(!kernel_release__at_least("", 6, 18), "empty");
	ASSERT_TRUE(!kernel_release__at_least("v6.18", 6, 18), "no leading digit");
	ASSERT_TRUE(!kernel_release__at_least("6", 6, 0), "no minor");
	ASSERT_TRUE(!kernel_release__at_least(NULL, 6, 18), "NULL");
}
