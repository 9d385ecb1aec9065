// SPDX-License-Identifier: Apache-2.0
/* Entry point: dispatches subcommands and runs the profiler. */
#include <stdio.h>

int main(void)
{
	puts("gprofiler");
	return 0;
}
