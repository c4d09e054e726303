/*
 * lazy_mhd.c — libmicrohttpd, loaded by the first call into it (nerve/internal/library.h): the functions server.c uses, forwarded. The
 * library brings GnuTLS and its chain, 3 MB at start-up for every
 * command, though only `nerve serve` needs it.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>

#include "nerve/core.h"
#include "nerve/internal/library.h"
#include "serve_internal.h"

#define MHD "libmicrohttpd.so.12"

#define FIND(f) NERVE_LIBRARY_FIND(&mhd_lib, mhd, f)

static struct {
    __typeof__(MHD_start_daemon_va) *MHD_start_daemon_va;
    __typeof__(MHD_stop_daemon) *MHD_stop_daemon;
    __typeof__(MHD_get_daemon_info) *MHD_get_daemon_info;
    __typeof__(MHD_lookup_connection_value) *MHD_lookup_connection_value;
    __typeof__(MHD_get_connection_info) *MHD_get_connection_info;
    __typeof__(MHD_create_response_from_buffer) *MHD_create_response_from_buffer;
    __typeof__(MHD_create_response_from_fd) *MHD_create_response_from_fd;
    __typeof__(MHD_add_response_header) *MHD_add_response_header;
    __typeof__(MHD_queue_response) *MHD_queue_response;
    __typeof__(MHD_destroy_response) *MHD_destroy_response;
} mhd;

static nerve_library mhd_lib = { .soname = MHD };
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;

static void load_mhd(void)
{
    FIND(MHD_start_daemon_va);
    FIND(MHD_stop_daemon);
    FIND(MHD_get_daemon_info);
    FIND(MHD_lookup_connection_value);
    FIND(MHD_get_connection_info);
    FIND(MHD_create_response_from_buffer);
    FIND(MHD_create_response_from_fd);
    FIND(MHD_add_response_header);
    FIND(MHD_queue_response);
    FIND(MHD_destroy_response);
}

int nerve_mhd_require(void)
{
    return nerve_library_load(&mhd_lib, &mhd_once, load_mhd);
}

#define MHD_ (NERVE_LIBRARY_USE(nerve_mhd_require, &mhd_lib), mhd)

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls,
                                    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    va_list options;
    va_start(options, dh_cls);
    struct MHD_Daemon *d = MHD_.MHD_start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, options);
    va_end(options);
    return d;
}

void MHD_stop_daemon(struct MHD_Daemon *d)
{
    MHD_.MHD_stop_daemon(d);
}

/* Only the info types without arguments (nerve asks for the bound port). */
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *d, enum MHD_DaemonInfoType type, ...)
{
    return MHD_.MHD_get_daemon_info(d, type);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key)
{
    return MHD_.MHD_lookup_connection_value(c, kind, key);
}

/* Only the info types without arguments (the client's address). */
const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *c, enum MHD_ConnectionInfoType type,
                                                        ...)
{
    return MHD_.MHD_get_connection_info(c, type);
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer, enum MHD_ResponseMemoryMode mode)
{
    return MHD_.MHD_create_response_from_buffer(size, buffer, mode);
}

struct MHD_Response *MHD_create_response_from_fd(size_t size, int fd)
{
    return MHD_.MHD_create_response_from_fd(size, fd);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r, const char *header, const char *content)
{
    return MHD_.MHD_add_response_header(r, header, content);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c, unsigned int status, struct MHD_Response *r)
{
    return MHD_.MHD_queue_response(c, status, r);
}

void MHD_destroy_response(struct MHD_Response *r)
{
    MHD_.MHD_destroy_response(r);
}
