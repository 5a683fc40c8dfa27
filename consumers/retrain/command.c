/* command.c - `ferry retrain`: the worker, or with `dispatch` the webhook dispatcher. */
#include <string.h>

#include "ferry/command.h"
#include "retrain.h"

int cmd_retrain(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "dispatch") == 0) {
        char prog[] = "ferry retrain dispatch";
        argv[1] = prog;
        return retrain_dispatch_main(argc - 1, argv + 1);
    }
    return retrain_worker_main(argc, argv);
}
