/* fake_node: a switch node for the unit tests of the node layer — a thread
 * on a loopback port that answers every netstring JSON-RPC request with one
 * call record (local_tag "tag-<request id>") and counts the requests. Each
 * reply first calls fake_node_hold (a test's own function, or NULL), so a
 * test can hold replies back until the state it wants to observe is
 * reached: every case is decided by synchronisation, never by timing.
 * Include after cmocka.h. */
#ifndef AC_TESTS_FAKE_NODE_H
#define AC_TESTS_FAKE_NODE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listen_fd = -1;
static char endpoint[64];
static atomic_int requests;
static atomic_bool stopping;
static void (*fake_node_hold)(void);

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* One connection: netstring requests in, one-call replies out, until EOF. */
static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char in[4096];
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, in + have, sizeof in - 1 - have);
        if (r <= 0) break;
        have += (size_t)r;
        in[have] = '\0';
        char *colon = strchr(in, ':');
        if (!colon) continue;
        size_t len = strtoul(in, NULL, 10);
        size_t total = (size_t)(colon - in) + 1 + len + 1;
        if (have < total) continue;
        const char *idp = strstr(in, "\"id\":");
        long long id = idp ? strtoll(idp + 5, NULL, 10) : 0;
        atomic_fetch_add(&requests, 1);
        if (fake_node_hold) fake_node_hold();
        char json[256], out[300];
        int jn = snprintf(json, sizeof json,
                          "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":"
                          "[{\"local_tag\":\"tag-%lld\",\"duration\":1.5}]}",
                          id, id);
        int on = snprintf(out, sizeof out, "%d:%s,", jn, json);
        if (write(fd, out, (size_t)on) != on) break;
        memmove(in, in + total, have - total);
        have -= total;
    }
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void)arg;
    while (!atomic_load(&stopping)) {
        struct pollfd p = {listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

static pthread_t acceptor;

/* Listens on 127.0.0.1:0 (endpoint) and starts the accepting thread. */
static int fake_node_start(void)
{
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(listen_fd, 64) != 0 || getsockname(listen_fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    snprintf(endpoint, sizeof endpoint, "127.0.0.1:%u", ntohs(a.sin_port));
    return pthread_create(&acceptor, NULL, accept_loop, NULL) == 0 ? 0 : -1;
}

static void fake_node_stop(void)
{
    atomic_store(&stopping, true);
    pthread_join(acceptor, NULL);
    close(listen_fd);
}

#endif
