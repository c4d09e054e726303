/*
 * http.c — what the server and browser tests share: a minimal HTTP/1.1
 * client and `nerve serve` started on a free port.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"
#include "../serve/http_host.h"

extern char **environ;

/* GET path with the given Host header; the reply's headers in *headers
 * (malloc'd) when headers is not NULL. Declared in tests/serve/http_host.h. */
int http_get_host(http_reply *r, int port, const char *path, const char *host, char **headers)
{
    memset(r, 0, sizeof *r);
    if (headers)
        *headers = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[4096];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (ssize_t got; (got = read(fd, buf + len, cap - len)) > 0;) {
        len += (size_t)got;
        if (len == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    }
    close(fd);
    buf[len] = 0;
    char *body = strstr(buf, "\r\n\r\n");
    if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1 || !body) {
        free(buf);
        return -1;
    }
    if (headers)
        *headers = strndup(buf, (size_t)(body - buf));
    r->len = len - (size_t)(body + 4 - buf);
    r->body = malloc(r->len + 1);
    memcpy(r->body, body + 4, r->len + 1);
    free(buf);
    return 0;
}

int http_get(http_reply *r, int port, const char *path)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);   /* the server checks it */
    return http_get_host(r, port, path, host, NULL);
}

pid_t spawn_server(const char **args, int *port)
{
    int pipe_fd[2];
    cr_assert_eq(pipe(pipe_fd), 0);
    const char *bin = getenv("NERVE_BIN") ? getenv("NERVE_BIN") : "build/nerve";
    char *argv[32] = { (char *)bin };
    for (int i = 0; args[i] && i < 30; i++)
        argv[i + 1] = (char *)args[i];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipe_fd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pipe_fd[0]);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pipe_fd[1]);
    char line[512];
    const char *at = NULL;
    FILE *f = fdopen(pipe_fd[0], "r");
    while (!at && fgets(line, sizeof line, f))
        at = strstr(line, "http://127.0.0.1:");
    fclose(f);
    cr_assert(at && sscanf(at, "http://127.0.0.1:%d", port) == 1, "nerve %s printed no address", args[0]);
    return pid;
}

pid_t serve_study(const char *study, int *port)
{
    return spawn_server((const char *[]){ "serve", "--port", "0", study, NULL }, port);
}

int stop_serving(pid_t pid)
{
    kill(pid, SIGINT);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
