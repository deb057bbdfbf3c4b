/*
 * A stand-in for the akka-firehose Scala service: the same HTTP interface,
 * small enough to compile statically and run in a FROM-scratch image.
 *
 *   GET  /api/healthcheck  200 {"status":"ok","revision":"..."}
 *   POST /api/user         body {"userId":<number>,"userName":"<text>"}
 *                          200 {"accepted":true,"userId":...}; anything else 400
 *
 * Listens on $HTTP_PORT (default 8080); logs one line per request to stdout;
 * on SIGTERM/SIGINT it stops accepting, finishes and exits 128 + the signal
 * (143 for SIGTERM), as the JVM of the real service does after its shutdown
 * hooks: what ECS reports for a task it stopped is what the real service gives.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_REQUEST 65536

static volatile sig_atomic_t stopping = 0;

static void on_stop(int sig) {
    stopping = sig;
}

/* ---- a minimal JSON reader: enough to validate the body and pick two fields ---- */

struct json {
    const char *p;
    const char *end;
};

static void skip_ws(struct json *j) {
    while (j->p < j->end && isspace((unsigned char)*j->p)) j->p++;
}

/* Reads a string; copies up to cap-1 bytes into out (when out is not NULL). */
static int read_string(struct json *j, char *out, size_t cap) {
    size_t n = 0;
    if (j->p >= j->end || *j->p != '"') return 0;
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if ((unsigned char)c < 0x20) return 0;
        if (c == '\\') {
            if (j->p >= j->end) return 0;
            c = *j->p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++, j->p++)
                    if (j->p >= j->end || !isxdigit((unsigned char)*j->p)) return 0;
                c = '?';
            } else if (!strchr("\"\\/bfnrt", c)) {
                return 0;
            }
        }
        if (out && n + 1 < cap) out[n++] = c;
    }
    if (j->p >= j->end) return 0;
    j->p++;
    if (out) out[n] = '\0';
    return 1;
}

static int read_number(struct json *j, long long *out, int *is_integer) {
    const char *start = j->p;
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end || !isdigit((unsigned char)*j->p)) return 0;
    while (j->p < j->end && isdigit((unsigned char)*j->p)) j->p++;
    *is_integer = 1;
    if (j->p < j->end && *j->p == '.') {
        *is_integer = 0;
        j->p++;
        if (j->p >= j->end || !isdigit((unsigned char)*j->p)) return 0;
        while (j->p < j->end && isdigit((unsigned char)*j->p)) j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        *is_integer = 0;
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->end || !isdigit((unsigned char)*j->p)) return 0;
        while (j->p < j->end && isdigit((unsigned char)*j->p)) j->p++;
    }
    if (out) *out = strtoll(start, NULL, 10);
    return 1;
}

static int read_value(struct json *j, int depth);

static int read_literal(struct json *j, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || strncmp(j->p, word, n) != 0) return 0;
    j->p += n;
    return 1;
}

static int read_container(struct json *j, int depth, char close, int keyed) {
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 1;
    }
    for (;;) {
        skip_ws(j);
        if (keyed) {
            if (!read_string(j, NULL, 0)) return 0;
            skip_ws(j);
            if (j->p >= j->end || *j->p++ != ':') return 0;
        }
        if (!read_value(j, depth + 1)) return 0;
        skip_ws(j);
        if (j->p >= j->end) return 0;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p++ == close) return 1;
        return 0;
    }
}

static int read_value(struct json *j, int depth) {
    long long ignored;
    int integer;
    if (depth > 32) return 0;
    skip_ws(j);
    if (j->p >= j->end) return 0;
    switch (*j->p) {
    case '{': return read_container(j, depth, '}', 1);
    case '[': return read_container(j, depth, ']', 0);
    case '"': return read_string(j, NULL, 0);
    case 't': return read_literal(j, "true");
    case 'f': return read_literal(j, "false");
    case 'n': return read_literal(j, "null");
    default: return read_number(j, &ignored, &integer);
    }
}

struct user {
    long long id;
    char name[256];
    int has_id, has_name;
};

/* The body must be one JSON object with an integer userId and a string userName. */
static int parse_user(const char *body, size_t len, struct user *u) {
    struct json j = {body, body + len};
    char key[64];
    memset(u, 0, sizeof *u);
    skip_ws(&j);
    if (j.p >= j.end || *j.p != '{') return 0;
    j.p++;
    skip_ws(&j);
    if (j.p < j.end && *j.p == '}') return 0;
    for (;;) {
        skip_ws(&j);
        if (!read_string(&j, key, sizeof key)) return 0;
        skip_ws(&j);
        if (j.p >= j.end || *j.p++ != ':') return 0;
        skip_ws(&j);
        if (strcmp(key, "userId") == 0) {
            int integer = 0;
            if (!read_number(&j, &u->id, &integer) || !integer) return 0;
            u->has_id = 1;
        } else if (strcmp(key, "userName") == 0) {
            if (!read_string(&j, u->name, sizeof u->name)) return 0;
            u->has_name = 1;
        } else if (!read_value(&j, 1)) {
            return 0;
        }
        skip_ws(&j);
        if (j.p >= j.end) return 0;
        if (*j.p == ',') {
            j.p++;
            continue;
        }
        if (*j.p++ != '}') return 0;
        break;
    }
    skip_ws(&j);
    return j.p == j.end && u->has_id && u->has_name;
}

/* ---- HTTP ---- */

static void respond(int fd, int status, const char *reason, const char *body) {
    char head[256];
    size_t len = strlen(body);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason, len);
    if (write(fd, head, (size_t)n) < 0 || write(fd, body, len) < 0) {
        /* the client went away; nothing to do */
    }
}

static const char *header_value(const char *headers, const char *name) {
    size_t n = strlen(name);
    for (const char *line = headers; line && *line; line = strstr(line, "\r\n")) {
        if (line[0] == '\r') line += 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t') v++;
            return v;
        }
    }
    return NULL;
}

static void handle(int fd, const char *revision) {
    static char buf[MAX_REQUEST + 1];
    size_t got = 0;
    char *body = NULL;
    while (got < MAX_REQUEST) {
        ssize_t r = read(fd, buf + got, MAX_REQUEST - got);
        if (r <= 0) return;
        got += (size_t)r;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        body = end + 4;
        const char *cl = header_value(buf, "Content-Length");
        size_t want = cl ? strtoul(cl, NULL, 10) : 0;
        if (want > MAX_REQUEST - (size_t)(body - buf)) {
            respond(fd, 413, "Payload Too Large", "{\"error\":\"body too large\"}");
            return;
        }
        while ((size_t)(buf + got - body) < want) {
            r = read(fd, buf + got, MAX_REQUEST - got);
            if (r <= 0) return;
            got += (size_t)r;
        }
        buf[got] = '\0';
        break;
    }
    if (!body) {
        respond(fd, 400, "Bad Request", "{\"error\":\"malformed request\"}");
        return;
    }
    char method[8] = {0}, path[256] = {0};
    if (sscanf(buf, "%7s %255s", method, path) != 2) {
        respond(fd, 400, "Bad Request", "{\"error\":\"malformed request line\"}");
        return;
    }
    size_t body_len = (size_t)(buf + got - body);
    char out[512];
    int status = 200;
    if (strcmp(path, "/api/healthcheck") == 0 && strcmp(method, "GET") == 0) {
        snprintf(out, sizeof out, "{\"status\":\"ok\",\"revision\":\"%s\"}", revision);
        respond(fd, 200, "OK", out);
    } else if (strcmp(path, "/api/user") == 0 && strcmp(method, "POST") == 0) {
        struct user u;
        if (parse_user(body, body_len, &u)) {
            snprintf(out, sizeof out, "{\"accepted\":true,\"userId\":%lld}", u.id);
            respond(fd, 200, "OK", out);
        } else {
            status = 400;
            respond(fd, 400, "Bad Request",
                    "{\"error\":\"expected a JSON object with an integer userId and a string "
                    "userName\"}");
        }
    } else if (strcmp(path, "/api/healthcheck") == 0 || strcmp(path, "/api/user") == 0) {
        status = 405;
        respond(fd, 405, "Method Not Allowed", "{\"error\":\"method not allowed\"}");
    } else {
        status = 404;
        respond(fd, 404, "Not Found", "{\"error\":\"not found\"}");
    }
    printf("%s %s %d\n", method, path, status);
    fflush(stdout);
}

int main(void) {
    const char *port_text = getenv("HTTP_PORT");
    const char *revision = getenv("APP_REVISION");
    int port = port_text && *port_text ? atoi(port_text) : 8080;
    if (!revision) revision = "unknown";
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "HTTP_PORT must be a port number, got %s\n", port_text);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: accept() returns EINTR and the loop ends */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int server = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons((unsigned short)port);
    if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(server, 64) < 0) {
        fprintf(stderr, "cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    printf("akka-firehose stand-in listening on port %d (revision %s, stream %s)\n", port,
           revision, getenv("FIREHOSE_STREAM") ? getenv("FIREHOSE_STREAM") : "-");
    fflush(stdout);

    while (!stopping) {
        int client = accept(server, NULL, NULL);
        if (client < 0) continue;
        struct timeval timeout = {5, 0};
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        handle(client, revision);
        close(client);
    }
    printf("stopping\n");
    close(server);
    return 128 + stopping;
}
