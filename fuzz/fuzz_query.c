/*
 * fuzz_query.c — an HTTP request target as it comes on the wire, through
 * the server's parser (path and query percent-decoded, route picked, every
 * parameter bounded): no daemon and no study needed.
 */
#include <stdlib.h>

#include "serve_internal.h"
#include "support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *target = fuzz_string(data, size);
    if (!target)
        return 0;
    serve_request r;
    serve_error e;
    if (serve_request_parse(&r, target, &e) == 0)
        serve_route_is_heavy(r.route);
    free(target);
    return 0;
}
