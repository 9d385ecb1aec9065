/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommands: `gprofiler <name> ...`; argv[0] is the subcommand name.
 * Each returns the process exit status. */
#ifndef GP_COMMANDS_H
#define GP_COMMANDS_H

int cmd_flamegraph(int argc, char **argv);
/* `gprofiler upload-file --file-path F.col` with the parsed arguments. */
struct args;
int cmd_upload_file(struct args *a);

#endif
