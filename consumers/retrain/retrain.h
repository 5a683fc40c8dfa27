/* retrain.h - the two commands of the `ferry retrain` family, for cmd_retrain (command.c):
 * the worker (worker.c) and `ferry retrain dispatch` (dispatch.c). Each takes argv with
 * argv[0] = "ferry retrain" or "ferry retrain dispatch" and returns the exit status. */
#ifndef FERRY_RETRAIN_RETRAIN_H
#define FERRY_RETRAIN_RETRAIN_H

int retrain_worker_main(int argc, char **argv);
int retrain_dispatch_main(int argc, char **argv);

#endif
