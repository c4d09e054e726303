/*
 * http_host.h — the HTTP client of tests/support/http.c with a Host header
 * of the test's choosing and the reply's headers (the server and browser
 * tests; it belongs in support.h, which another room owns at the moment).
 */
#ifndef NERVE_TEST_HTTP_HOST_H
#define NERVE_TEST_HTTP_HOST_H

#include "../support/support.h"

/* GET path from 127.0.0.1:port with "Host: host"; the reply's status line
 * and headers in *headers (malloc'd) when headers is not NULL. */
int http_get_host(http_reply *r, int port, const char *path, const char *host, char **headers);

#endif
