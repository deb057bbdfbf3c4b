/*
 * heartbeat: the akka-firehose task's sidecar, a stand-in for an agent that runs
 * beside the application (a log router, a metrics agent) and ships as an image of
 * its own, built and pinned separately from the application's.
 *
 *   heartbeat [NAME]   prints "NAME alive (revision R), beat N" every
 *                      $HEARTBEAT_SECONDS (default 10) to stdout
 *
 * On SIGTERM/SIGINT it prints "NAME stopping" and exits 0 (the task definition
 * declares that code to the sandbox with the docker label
 * release.sandbox.stop-exit-code). Static and dependency-free, so a FROM-scratch
 * image can run it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_stop(int sig) {
    stopping = sig;
}

static long seconds_from(const char *text, long fallback) {
    char *end = NULL;
    long value = text ? strtol(text, &end, 10) : 0;
    return (text && end && *end == '\0' && value > 0 && value <= 86400) ? value : fallback;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "heartbeat";
    const char *revision = getenv("APP_REVISION");
    long every = seconds_from(getenv("HEARTBEAT_SECONDS"), 10);
    struct sigaction stop = {0};
    stop.sa_handler = on_stop;
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("%s started (revision %s, every %ld s)\n", name, revision ? revision : "unknown",
           every);
    for (unsigned long beat = 1; !stopping; beat++) {
        printf("%s alive (revision %s), beat %lu\n", name, revision ? revision : "unknown",
               beat);
        for (long slept = 0; slept < every && !stopping; slept++) sleep(1);
    }
    printf("%s stopping\n", name);
    return 0;
}
