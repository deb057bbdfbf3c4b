/*
 * audit-worker: the sandbox's second application, a stand-in for a worker with no
 * load balancer (it reads work, it serves no requests): its own task definition,
 * service spec and ECR repository, released beside akka-firehose.
 *
 * Every $AUDIT_SECONDS (default 15) it "audits" a batch and prints
 * "audited batch N of stream S (revision R)" to stdout. On SIGTERM/SIGINT it
 * finishes the batch, prints "audit-worker stopping after N batches" and exits 0.
 * Static and dependency-free, so a FROM-scratch image can run it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_stop(int sig) {
    stopping = sig;
}

static const char *env_or(const char *name, const char *fallback) {
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

int main(void) {
    const char *revision = env_or("APP_REVISION", "unknown");
    const char *stream = env_or("FIREHOSE_STREAM", "-");
    long every = strtol(env_or("AUDIT_SECONDS", "15"), NULL, 10);
    unsigned long batches = 0;
    struct sigaction stop = {0};
    if (every <= 0 || every > 86400) every = 15;
    stop.sa_handler = on_stop;
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("audit-worker started (revision %s, stream %s, every %ld s)\n", revision, stream,
           every);
    while (!stopping) {
        for (long slept = 0; slept < every && !stopping; slept++) sleep(1);
        batches++;
        printf("audited batch %lu of stream %s (revision %s)\n", batches, stream, revision);
    }
    printf("audit-worker stopping after %lu batches\n", batches);
    return 0;
}
