/* lifecycle.c - signal handling and the stop it requests (see include/ferry/lifecycle.h). */
#include "ferry/lifecycle.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop = 0;
static volatile sig_atomic_t g_signal = 0;

static void on_signal(int sig)
{
    if (g_stop) {
        /* Second signal: the user insists. */
        _exit(128 + sig);
    }
    g_signal = sig;
    g_stop = 1;
}

void ferry_lifecycle_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int ferry_lifecycle_running(void)
{
    return !g_stop;
}

void ferry_lifecycle_request_stop(void)
{
    g_stop = 1;
}

int ferry_lifecycle_stop_signal(void)
{
    return g_signal;
}

int ferry_lifecycle_sleep_ms(int64_t ms)
{
    int64_t end = ferry_clock_mono_ms() + ms;
    while (!g_stop) {
        int64_t left = end - ferry_clock_mono_ms();
        if (left <= 0)
            return 0;
        if (left > 100)
            left = 100;
        struct timespec ts = {left / 1000, (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}
