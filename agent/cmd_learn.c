// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Placeholder until learn lands: reports that it is not built, exit 1. */
#include <stdio.h>

#include "commands.h"

int bg_cmd_learn(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "bindguard: learn is not built yet\n");
	return EXIT_RUNTIME;
}
